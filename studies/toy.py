"""LIF neurons driven by Poisson input: output rate and ISI irregularity versus input rate.

Question: how do the firing rate and the irregularity (coefficient of variation
of the inter-spike intervals) of leaky integrate-and-fire neurons change as
their Poisson input grows?

Answer the figure gives: the output rate rises with the input rate; the CV is
highest where the mean input is near threshold (input fluctuations time the
threshold crossings, firing is irregular) and falls as stronger input drives
the membrane across threshold on its own (firing becomes regular) — the
fluctuation-driven versus mean-driven regimes (Gerstner et al. 2014, Neuronal
Dynamics, ch. 8).

A small, fast study: the tests and benchmarks/sweep_scaling.py use it to
exercise the runner. `sleep_s`, `fail_seed` and `fail_while` exist only for
those tests (a slow point, a failing point, a transient failure).
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis


@dataclass(frozen=True)
class Params:
    rate_in_hz: tuple[float, ...] = axis(2.5, 5.0, 10.0, 20.0, 40.0)  # rate of each Poisson input
    n_neurons: int = 100
    n_inputs: int = 1000
    p_connect: float = 0.1          # each input reaches a neuron with this probability
    w_mv: float = 2.0               # jump of the membrane potential per input spike
    duration_ms: float = 1000.0
    target: str = "numpy"           # Brian2 code generation: numpy, cython or cpp_standalone
    seeds: tuple[int, ...] = (0, 1, 2)
    sleep_s: float = 0.0            # extra wall time per point (tests of interruption)
    fail_seed: int = -1             # the point with this seed raises (tests of failures)
    fail_while: str = ""            # if set, fail_seed fails only while this file exists


# 100 inputs per neuron as in the defaults, so the same rates give the same regimes
TINY = Params(rate_in_hz=(5.0, 20.0), n_neurons=20, n_inputs=200, p_connect=0.5,
              duration_ms=200.0, seeds=(0, 1))
QUICK = Params(duration_ms=500.0, n_neurons=50)
TORCH = False  # plain Brian2: its points never use torch (studies.worker does not import it)

def spec(p: Params, seed: int):
    """The network as a bio NetworkSpec: library LIF neurons (Gerstner et al. 2014, ch. 1:
    threshold 20 mV above rest, 2 ms refractory) and delta synapses from Poisson sources."""
    from brian2 import mV

    from bio import inputs, neurons, synapses
    from bio.spec import Connection, NetworkSpec, Population

    rng = np.random.default_rng(seed)
    i, j = np.nonzero(rng.random((p.n_inputs, p.n_neurons)) < p.p_connect)
    w = np.full(len(i), float(p.w_mv * mV))
    return NetworkSpec(
        {"inputs": Population(None, p.n_inputs), "lif": Population(neurons.LIF(), p.n_neurons)},
        {"syn": Connection("inputs", "lif", synapses.CurrentDelta(), i, j, w, kind="exc")},
        inputs=[inputs.Rates("inputs", np.full(p.n_inputs, p.rate_in_hz))])


def point(p: Params, seed: int) -> dict[str, float]:
    """Simulate one input rate with one seed; returns rate_hz, cv_isi, active_fraction."""
    if seed == p.fail_seed and (not p.fail_while or Path(p.fail_while).exists()):
        raise RuntimeError(f"toy point with seed {seed} fails on purpose (fail_seed={p.fail_seed})")
    if p.sleep_s > 0:
        time.sleep(p.sleep_s)
    import brian2 as b2

    import bio

    rec = bio.run(spec(p, seed), p.duration_ms * b2.ms, target=p.target, seed=seed)
    rates = rec.rates_hz("lif")
    cvs = [np.std(np.diff(t)) / np.mean(np.diff(t)) for t in rec.spike_trains("lif") if len(t) >= 3]
    return {"rate_hz": float(rates.mean()),
            "cv_isi": float(np.mean(cvs)) if cvs else float("nan"),  # NaN: too few spikes
            "active_fraction": float(np.mean(rates > 0))}


def figures(table, out_dir: Path) -> list[Path]:
    """Output rate and CV of the ISIs against input rate, mean ± SD over seeds."""
    from . import style

    fig, (ax_rate, ax_cv) = style.figure(ncols=2)
    style.mean_spread(ax_rate, table, x="rate_in_hz", metric="rate_hz")
    ax_rate.set(xlabel="input rate per synapse (Hz)", ylabel="output rate (Hz)")
    style.mean_spread(ax_cv, table, x="rate_in_hz", metric="cv_isi")
    ax_cv.set(xlabel="input rate per synapse (Hz)", ylabel="CV of ISIs", ylim=(0, None))
    for ax in (ax_rate, ax_cv):
        ax.set_xscale("log")  # the default rates double from one to the next
    return style.save(fig, out_dir, "toy")
