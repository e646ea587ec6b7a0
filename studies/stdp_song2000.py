"""Song, Miller & Abbott (2000) reproduced: STDP makes weights bimodal and the output rate input-independent.

Question (Song, Miller & Abbott 2000, Nat Neurosci 3:919): a conductance-based
integrate-and-fire neuron receives 1000 excitatory Poisson inputs whose
synapses learn by additive pair STDP (depression slightly stronger than
potentiation, A_-/A_+ = 1.05) and 200 inhibitory, non-plastic ones. What
distribution of weights does STDP produce, and how does the neuron's output
rate then depend on the input rate?

The paper's answer: the weights split into two groups, near 0 and near g_max
(a bimodal distribution), and the output rate becomes nearly independent of the
input rate: STDP's competition between synapses keeps the neuron in a
balanced, fluctuation-driven regime whatever the input rate.

Model (the paper's Methods): tau_m 20 ms, V_rest -70 mV, threshold -54 mV,
reset -60 mV, no refractory period; E_ex 0 mV, E_in -70 mV, tau_ex = tau_in
= 5 ms; excitatory peak conductances in [0, g_max] with g_max = 0.015 and
inhibitory ones 0.05, in units of the leak conductance (R = 100 Mohm, so
g_L = 10 nS); inhibitory inputs at 10 Hz; STDP A_+ = 0.005, A_-/A_+ = 1.05,
tau_+ = tau_- = 20 ms, all-to-all pairing, weights clipped to [0, g_max]. Built
from bio.neurons.LIF, bio.synapses.CondExp and bio.synapses.STDP. Initial
weights are uniform in [0, g_max]. `plasticity="static"` keeps them there: the
control the output rate is compared with.

Measured: the fractions of weights in the bottom and top 10% of [0, g_max]
(0.1 each for the initial uniform distribution), and the output rate over the
last `tail_fraction` of the run. `summary` prints both beside the paper's
claims, and the slope of the output rate against the input rate with and
without STDP.

Answer the figure gives (left: a three-bin histogram of the weights after
learning per input rate; right: output rate against input rate, STDP versus
static weights): after 600 s with the paper's A_+ the weights have piled up at
both ends (at 10 Hz inputs 20% near 0 and 30% near g_max, a U-shaped
histogram; at 20-40 Hz 59-73% near 0 and 16-7% near g_max), and the output
rate rises only from 12 to 20 Hz while the input rate goes from 10 to 40 Hz,
where the same neuron with its initial static weights goes from 2 to 550 Hz.
At 10 Hz learning is slowest (the output rate was still creeping up at the end of
the run); see the README's "What the studies found".
`stdp_song2000_ephys` shows the output neuron's spike train at the end of the run (raster,
rate, ISI distribution and CV) with STDP and with static weights at the lowest and highest
input rate, from the spike record each point keeps (studies.ephys): the last
`EPHYS_S` seconds of the measured tail. The paper's fluctuation-driven regime shows as
irregular firing (CV near 1) at a similar rate whatever the input rate.

Sizes: `brainbridge run stdp_song2000` is the full size (1000 + 200 inputs,
the paper's A_+, 600 s per input rate, cython, 1 seed: tens of minutes);
`--quick` learns 4x faster (A_+ = 0.02) for 150 s; TINY (the tests) uses 200 +
40 inputs with 5x stronger synapses (the same mean drive), A_+ = 0.02 and 4 s,
on numpy: enough to see the trend, not the end point.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis, param

TORCH = False  # plain Brian2: its points never use torch (studies.worker does not import it)

EDGE = 0.1  # "near 0" and "near g_max": the bottom and top 10% of [0, g_max]
# the output neuron's spike train kept for stdp_song2000_ephys: one neuron, so ten seconds (a few
# hundred ISIs at the paper's ~15 Hz) cost less than the usual 200 neurons x 1 s
EPHYS_S = 10.0


@dataclass(frozen=True)
class Params:
    rate_in_hz: tuple[float, ...] = axis(10.0, 20.0, 30.0, 40.0, above=0.0)  # each excitatory input
    plasticity: tuple[str, ...] = axis("stdp", "static", choices=("stdp", "static"))
    n_exc: int = param(1000, at_least=1)
    n_inh: int = param(200, at_least=0)
    g_max: float = param(0.015, above=0.0)   # excitatory bound, units of the leak conductance
    g_inh: float = param(0.05, at_least=0.0)  # inhibitory peak conductance, same units
    rate_inh_hz: float = param(10.0, at_least=0.0)
    a_plus: float = param(0.005, above=0.0, below=1.0)
    a_ratio: float = param(1.05, above=0.0)  # A_- / A_+
    tau_stdp_ms: float = param(20.0, above=0.0)
    duration_s: float = param(600.0, above=0.0)         # learning time (plasticity="stdp")
    static_duration_s: float = param(20.0, above=0.0)   # plasticity="static": nothing to learn
    tail_fraction: float = param(0.2, above=0.0, at_most=1.0)  # output rate over this last part
    dt_ms: float = param(0.1, above=0.0)
    target: str = param("cython", choices=("numpy", "cython", "cpp_standalone"))
    seeds: tuple[int, ...] = (0,)


TINY = Params(rate_in_hz=(10.0, 40.0), n_exc=200, n_inh=40, g_max=0.075, g_inh=0.25, a_plus=0.02,
              duration_s=4.0, static_duration_s=2.0, dt_ms=0.25, target="numpy")
QUICK = Params(a_plus=0.02, duration_s=150.0, static_duration_s=10.0)


def spec(p: Params, seed: int):
    """The neuron, its plastic (or static) excitatory inputs and its inhibitory inputs."""
    from brian2 import Mohm, mV, ms, siemens

    from bio import inputs, neurons, synapses
    from bio.spec import Connection, NetworkSpec, Population, Record

    lif = neurons.LIF(tau_m=20 * ms, v_rest=-70 * mV, v_thresh=-54 * mV, v_reset=-60 * mV, t_ref=0 * ms,
                      R=100 * Mohm)
    g_leak = float(1 / lif.R / siemens)
    g_max = p.g_max * g_leak * siemens
    exc = synapses.CondExp("exc", tau=5 * ms, E_rev=0 * mV)
    inh = synapses.CondExp("inh", tau=5 * ms, E_rev=-70 * mV)
    model = exc if p.plasticity == "static" else synapses.STDP(
        exc, w_max=g_max, A_plus=p.a_plus, A_minus=p.a_ratio * p.a_plus,
        tau_plus=p.tau_stdp_ms * ms, tau_minus=p.tau_stdp_ms * ms)
    w0 = np.random.default_rng([seed, 7]).uniform(0.0, 1.0, p.n_exc) * float(g_max / siemens)
    return NetworkSpec(
        {"exc_in": Population(None, p.n_exc), "inh_in": Population(None, p.n_inh),
         "neuron": Population(lif, 1)},
        {"exc": Connection("exc_in", "neuron", model, np.arange(p.n_exc), np.zeros(p.n_exc), w0,
                           kind="exc"),
         "inh": Connection("inh_in", "neuron", inh, np.arange(p.n_inh), np.zeros(p.n_inh),
                           np.full(p.n_inh, p.g_inh * g_leak), kind="inh")},
        inputs=[inputs.Rates("exc_in", np.full(p.n_exc, p.rate_in_hz)),
                inputs.Rates("inh_in", np.full(p.n_inh, p.rate_inh_hz))],
        record=Record(spikes=("neuron",), final=("exc.w",)),
        meta={"g_max_siemens": float(g_max / siemens)})


def weight_fractions(w_over_gmax: np.ndarray) -> dict[str, float]:
    """Fractions of weights (units of g_max) in [0, EDGE), [EDGE, 1 - EDGE] and (1 - EDGE, 1]."""
    w = np.asarray(w_over_gmax)
    low, high = float(np.mean(w < EDGE)), float(np.mean(w > 1 - EDGE))
    return {"frac_low": low, "frac_high": high, "frac_mid": 1.0 - low - high}


def point(p: Params, seed: int) -> dict[str, float]:
    """Learn for duration_s (static: run static_duration_s); returns the output rate over the
    tail and over the first tenth of the run (Hz), the weight fractions near 0 / mid / near g_max,
    the mean weight (units of g_max) and the CV of the output ISIs over the tail."""
    import brian2 as b2

    import bio

    s = spec(p, seed)
    duration = p.duration_s if p.plasticity == "stdp" else p.static_duration_s
    rec = bio.run(s, duration * b2.second, target=p.target, seed=seed, dt=p.dt_ms * b2.ms)
    w = rec.final["exc.w"] / s.meta["g_max_siemens"]
    t = rec.times_s["neuron"]
    start = duration * (1.0 - p.tail_fraction)
    tail = t[t >= start]
    isi = np.diff(tail)
    from . import ephys

    length = min(EPHYS_S, duration - start)
    kept = ephys.cut(rec, ["neuron"], t_start_s=duration - length, duration_s=length)
    return {**ephys.rows(kept, f"last {length:g} s"),
            "rate_out_hz": float(len(tail) / (duration - start)),
            "rate_out_start_hz": float(np.sum(t < 0.1 * duration) / (0.1 * duration)),
            **weight_fractions(w), "mean_w": float(w.mean()),
            "cv_isi": float(isi.std() / isi.mean()) if len(isi) >= 3 else float("nan")}


def slope(rates_in: np.ndarray, rates_out: np.ndarray) -> float:
    """Least-squares slope of output rate against input rate (Hz per Hz)."""
    return float(np.polyfit(np.asarray(rates_in, float), np.asarray(rates_out, float), 1)[0])


def figures(table, out_dir: Path) -> list[Path]:
    """Left: weights after learning in three bins (near 0, middle, near g_max) per input rate,
    the coarse form of the paper's histogram. Right: output rate against input rate with STDP
    and with the static initial weights (mean, 95% bootstrap interval over seeds)."""
    from . import style

    fig, (ax_w, ax_r) = style.figure(ncols=2, width=7.0)
    stdp = table[table["plasticity"] == "stdp"]
    rates = np.sort(table["rate_in_hz"].unique())
    if len(stdp):
        mean = stdp.groupby(["metric", "rate_in_hz"])["value"].mean()
        bottom = np.zeros(len(rates))
        width = 0.7 * (np.min(np.diff(rates)) if len(rates) > 1 else 10.0)
        for metric, label, color in (("frac_low", f"w < {EDGE:g} g_max", style.PALETTE[0]),
                                     ("frac_mid", "in between", style.PALETTE[6]),
                                     ("frac_high", f"w > {1 - EDGE:g} g_max", style.PALETTE[1])):
            heights = mean[metric].reindex(rates).to_numpy()
            ax_w.bar(rates, heights, bottom=bottom, width=width, color=color, label=label)
            bottom = bottom + heights
    ax_w.set(xlabel="input rate (Hz)", ylabel="fraction of excitatory synapses", ylim=(0, 1),
             title="Weights after STDP")
    ax_w.set_xticks(rates, [f"{r:g}" for r in rates])
    ax_w.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3,
                title=f"uniform start: {EDGE:.0%} in each end bin", title_fontsize=7)
    labels = {"stdp": "with STDP (after learning)", "static": "static uniform weights"}
    for plasticity in ("stdp", "static"):
        part = table[table["plasticity"] == plasticity]
        if len(part):
            style.mean_spread(ax_r, part, x="rate_in_hz", metric="rate_out_hz", label=labels[plasticity],
                              spread="boot95")
    ax_r.set(xlabel="input rate (Hz)", ylabel="output rate (Hz)", yscale="log",
             title="Output rate against input rate")
    ax_r.set_xticks(rates, [f"{r:g}" for r in rates])
    return style.save(fig, out_dir, "stdp_song2000") + _ephys_figure(table, out_dir)


def _ephys_figure(table, out_dir: Path) -> list[Path]:
    """The output neuron at the end of the run: STDP and static weights, lowest and highest input rate."""
    from . import ephys

    rates = np.sort(table["rate_in_hz"].unique())
    records, seeds = {}, set()
    for plasticity, label in (("stdp", "with STDP"), ("static", "static weights")):
        for rate in dict.fromkeys((rates[0], rates[-1])):
            found, seed = ephys.stored(table, out_dir, plasticity=plasticity, rate_in_hz=rate)
            for rec in found.values():
                records[f"{label}, inputs at {rate:g} Hz"] = rec
                seeds.add(seed)
    if not records:
        return []
    length = min(r.duration_s for r in records.values())  # the last `length` seconds of every run
    rec = ephys.combine({k: ephys.cut(r, t_start_s=r.duration_s - length, duration_s=length)
                         for k, r in records.items()})
    n_exc, n_inh = int(table["n_exc"].iloc[0]), int(table["n_inh"].iloc[0])
    title = (f"Song et al. (2000): the output neuron ({n_exc} plastic excitatory and {n_inh} inhibitory Poisson "
             f"inputs; seed {', '.join(map(str, sorted(seeds)))}) over the last {rec.duration_s:g} s of each run "
             f"({float(table['duration_s'].iloc[0]):g} s of learning with STDP, "
             f"{float(table['static_duration_s'].iloc[0]):g} s with static weights)")
    return ephys.figure(rec, out_dir, "stdp_song2000_ephys", title, bin_s=0.05)


def summary(table) -> str:
    """Weight fractions near 0 and g_max, and output rates, per input rate; slopes with and
    without STDP (the paper: bimodal weights, output rate nearly independent of input rate)."""
    mean = table.groupby(["plasticity", "metric", "rate_in_hz"])["value"].mean()
    lines = ["Song et al. (2000): weights bimodal (most near 0 or g_max); output rate nearly "
             "independent of input rate"]
    for plasticity in ("stdp", "static"):
        if plasticity not in mean.index.get_level_values(0):
            continue
        m = mean[plasticity]
        rates = m["rate_out_hz"].index.to_numpy()
        cells = ", ".join(f"{r:g} Hz: out {m['rate_out_hz'][r]:.1f} Hz, near 0 {m['frac_low'][r]:.2f}, "
                          f"near g_max {m['frac_high'][r]:.2f}" for r in rates)
        lines.append(f"  {plasticity}: {cells}")
        if len(rates) > 1:
            lines.append(f"  {plasticity}: output/input slope {slope(rates, m['rate_out_hz'].to_numpy()):.2f} "
                         f"Hz/Hz; output range {m['rate_out_hz'].min():.1f}-{m['rate_out_hz'].max():.1f} Hz "
                         f"for inputs {rates.min():g}-{rates.max():g} Hz")
    return "\n".join(lines)
