"""A tiny study for the runner's tests: Poisson-driven LIF neurons in plain Brian2.

It follows the study interface (studies/__init__.py) but builds its network
with Brian2 directly, not through `bio`, so the runner's tests do not move when
`bio` does. Tests register it as study "fake" (`registry.STUDIES["fake"] =
"runnerstudy"`); Dask workers import it by module name, so its directory
(tests/) must be on their path. Knobs that exist only for the tests: a slow
point (`sleep_s`), a failing point (`fail_seed`, `fail_while`), a failing
summary (`summary_fails`), and allowed values of every kind (`param`/`axis`
choices and bounds, and a cross-field `check`).
"""
from __future__ import annotations

import os
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from studies import axis, param

VERSION = 1
TORCH = False  # plain Brian2: its points need no torch (studies.worker then does not import it)


@dataclass(frozen=True)
class Params:
    rate_in_hz: tuple[float, ...] = axis(5.0, 20.0, above=0.0)  # rate of each Poisson input
    n_neurons: int = param(10, at_least=1)
    n_inputs: int = param(100, at_least=1)
    w_mv: float = 2.0                # jump of the membrane potential per input spike
    duration_ms: float = param(100.0, above=0.0)
    warmup_ms: float = param(0.0, at_least=0.0)  # left out of the rate; must be < duration_ms
    target: str = param("numpy", choices=("numpy", "cython"))
    # "current": the neurons are driven by a constant current as strong as the inputs' mean
    # (no PoissonGroup, no Synapses: the fewest code objects, for tests that compile them)
    drive: str = param("poisson", choices=("poisson", "current"))
    seeds: tuple[int, ...] = (0, 1)
    sleep_s: float = param(0.0, at_least=0.0)
    fail_seed: int = -1              # the point with this seed raises
    fail_while: str = ""             # if set, fail_seed fails only while this file exists
    exit_seed: int = -1              # the process running the point with this seed dies at once
    summary_fails: bool = False


TINY = Params()


def check(p: Params) -> None:
    """A rule across fields: the warm-up must leave some time to measure."""
    if p.warmup_ms >= p.duration_ms:
        raise ValueError(f"warmup_ms ({p.warmup_ms}) must be shorter than duration_ms "
                         f"({p.duration_ms})")


def point(p: Params, seed: int) -> dict[str, float]:
    """Mean output rate (Hz) of LIF neurons (tau 20 ms, threshold 20 mV above rest) under
    p.n_inputs Poisson inputs at one rate (drive="current": a constant current, their mean)."""
    if seed == p.fail_seed and (not p.fail_while or Path(p.fail_while).exists()):
        raise RuntimeError(f"fake point with seed {seed} fails on purpose")
    if seed == p.exit_seed:
        os._exit(3)  # as a worker killed by the kernel (out of memory) or a crash in compiled code
    if p.sleep_s > 0:
        time.sleep(p.sleep_s)
    import brian2 as b2

    ms, mV, Hz = b2.ms, b2.mV, b2.Hz
    old_target = b2.prefs.codegen.target
    b2.prefs.codegen.target = p.target
    try:
        np.random.seed(seed)
        b2.seed(seed)
        # fixed names: the same code (and so the same compiled modules) for every point
        if p.drive == "current":  # the inputs' mean: half of them connected, each jumping v by w
            # spikes counted by the reset itself: no SpikeMonitor, whose cython module (typed
            # memoryviews) takes as long to compile as the rest of this network together
            drive = 0.5 * p.n_inputs * p.rate_in_hz * Hz * p.w_mv * mV
            lif = b2.NeuronGroup(p.n_neurons, "dv/dt = drive - v / (20*ms) : volt\n"
                                              "n_all : 1\nn_counted : 1",
                                 threshold="v > 20*mV", method="exact", name="lif",
                                 # t/ms against warmup_ms: the very comparison made of the
                                 # monitor's times below (at a spike on the boundary step,
                                 # t >= warmup can round the other way)
                                 reset="v = 0*mV; n_all += 1; n_counted += int(t/ms >= warmup_ms)",
                                 namespace={"ms": ms, "mV": mV, "drive": drive, "warmup_ms": p.warmup_ms})
            b2.Network(lif).run(p.duration_ms * ms, namespace={})
            counted, total = float(np.sum(lif.n_counted[:])), float(np.sum(lif.n_all[:]))
        else:
            inputs = b2.PoissonGroup(p.n_inputs, rates=p.rate_in_hz * Hz, name="inputs", namespace={})
            lif = b2.NeuronGroup(p.n_neurons, "dv/dt = -v / (20*ms) : volt", threshold="v > 20*mV",
                                 reset="v = 0*mV", method="exact", name="lif",
                                 namespace={"ms": ms, "mV": mV})
            syn = b2.Synapses(inputs, lif, on_pre="v_post += w", name="syn",
                              namespace={"w": p.w_mv * mV})
            syn.connect(p=0.5)
            spikes = b2.SpikeMonitor(lif, name="spikes")
            b2.Network(inputs, lif, syn, spikes).run(p.duration_ms * ms, namespace={})
            t_ms = np.asarray(spikes.t / ms)
            counted, total = float(np.sum(t_ms >= p.warmup_ms)), float(len(t_ms))
    finally:
        b2.prefs.codegen.target = old_target
    return {"rate_hz": float(counted / p.n_neurons / ((p.duration_ms - p.warmup_ms) / 1000.0)),
            "spikes": total}


def figures(table, out_dir: Path) -> list[Path]:
    from studies import style

    fig, ax = style.figure()
    style.mean_spread(ax, table, x="rate_in_hz", metric="rate_hz")
    ax.set(xlabel="input rate per synapse (Hz)", ylabel="output rate (Hz)")
    return style.save(fig, out_dir, "fake")


def summary(table) -> str:
    if bool(table["summary_fails"].iloc[0]):
        raise ZeroDivisionError("summary fails on purpose")
    rates = table[table.metric == "rate_hz"].groupby("rate_in_hz")["value"].mean()
    return "\n".join(f"input {r:g} Hz -> output {v:.1f} Hz" for r, v in rates.items())


# ------------------------------------------------------------------ helpers for the tests

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent


def register(monkeypatch) -> None:
    """Register this module as study "fake" for one test (undone after it)."""
    from studies import registry

    monkeypatch.setitem(registry.STUDIES, "fake", "runnerstudy")


def cli(*args: str) -> list[str]:
    """The argv of a separate `brainbridge` process that knows study "fake"."""
    import sys

    code = ("import sys; from studies import registry; registry.STUDIES['fake'] = 'runnerstudy'; "
            "from studies.cli import main; sys.exit(main(sys.argv[1:]))")
    return [sys.executable, "-c", code, *args]


def env(cache_dir) -> dict:
    """Environment for a separate process: this checkout and tests/ importable, its own cache."""
    import os

    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(TESTS)]),
            "BRAINBRIDGE_CACHE_DIR": str(cache_dir), "OMP_NUM_THREADS": "1"}
