"""Pfister & Gerstner (2006) reproduced: the triplet STDP rule and the frequency dependence of pairing.

Question (Pfister & Gerstner 2006, J Neurosci 26:9673): can a spike-timing rule
account for the frequency dependence of pairing protocols in visual cortex
(Sjöström, Turrigiano & Nelson 2001, Neuron 32:1149)? There, 60 pairings of a
presynaptic and a postsynaptic spike, 10 ms apart, depress the synapse at low
pairing frequency when post precedes pre (Δt = -10 ms) but potentiate it at 40-50
Hz whatever the order. A pair rule sums pair contributions and cannot: the
triplet rule's potentiation grows with the postsynaptic rate (its post-post-pre
term), so at high frequency potentiation wins for both orders.

The protocol: a presynaptic source spikes n_pairings times at the pairing
frequency; a second source kicks the LIF neuron (a 40 mV jump) one time step
before each wanted postsynaptic spike, so the neuron fires exactly Δt after (or
before) each presynaptic spike. Two plastic synapses carry the same spike
trains: `bio.synapses.TripletSTDP` (the paper's minimal all-to-all models,
presets "visual_cortex" and "hippocampal") and, as the contrast, the pair rule
`bio.synapses.STDP` with Song, Miller & Abbott's (2000) amplitudes (A_+ = 0.005,
A_-/A_+ = 1.05, tau = 20 ms). Their weights are too small to move the neuron.
The paper's weight change is Δw = A * w0 * trace with no bound; the library's
rules scale their updates by w_max and clip to [0, w_max], so the study sets
w_max = HEADROOM * w0 and divides every amplitude by HEADROOM: the update is the
paper's and the bound never binds. Metrics are Δw / w0 after the protocol.

Experimental points (the data the paper fits): Sjöström et al. (2001), 60
pairings at 0.1, 10, 20, 40 and 50 Hz, normalised weight change (mean ± SEM),
as tabulated in `SJOSTROM_2001` below.

Answer the figure gives: the triplet rule (visual-cortex fit) follows the data:
depression for post-pre pairing up to 20 Hz, potentiation for both orders at
40-50 Hz; the pair rule keeps the sign of the timing at low frequency and at
high frequency gives both orders the same small change, never potentiation for
both. `summary` prints our Δw beside the data at every measured frequency.

Sizes: `brainbridge run triplet_pfister2006` is the full size (8 frequencies, both
presets, 60 pairings, cython; the 0.1 Hz points simulate 10 minutes each);
`--quick` runs the five measured frequencies of the visual-cortex rule on numpy;
TINY (the tests) runs 10 pairings at 1 and 50 Hz.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis, param

TORCH = False  # plain Brian2: its points never use torch (studies.worker does not import it)

HEADROOM = 4.0  # w_max / w0: the bound [0, w_max] stays out of reach of the protocol's changes
W0_MV = 0.01    # the plastic synapses' initial weight (a 0.01 mV jump: far too small to matter)
KICK_MV = 40.0  # the jump that makes the neuron fire on the next step (threshold 20 mV above rest)
PAIR_RULE = dict(A_plus=0.005, A_minus=0.005 * 1.05, tau_ms=20.0)  # Song, Miller & Abbott (2000)

# Sjöström et al. (2001): pairing frequency (Hz), then Δw/w0 mean and SEM for Δt = +10 ms and
# for Δt = -10 ms (60 pairings), the points Pfister & Gerstner (2006) fit their visual-cortex model to.
# Values as tabulated in the VH-Lab toolbox (vlt.neuro.stdp.sjostrom_freq_stdp).
SJOSTROM_2001 = {
    "rate_hz": (0.1, 10.0, 20.0, 40.0, 50.0),
    10.0: ((-0.04, 0.14, 0.29, 0.53, 0.56), (0.05, 0.10, 0.14, 0.11, 0.26)),
    -10.0: ((-0.29, -0.41, -0.34, 0.56, 0.75), (0.08, 0.11, 0.10, 0.32, 0.19)),
}


@dataclass(frozen=True)
class Params:
    rate_hz: tuple[float, ...] = axis(0.1, 1.0, 5.0, 10.0, 20.0, 30.0, 40.0, 50.0, above=0.0,
                                      at_most=80.0)  # pairing frequency
    timing_ms: tuple[float, ...] = axis(10.0, -10.0)  # Δt = t_post - t_pre of each pairing
    rule: tuple[str, ...] = axis("visual_cortex", "hippocampal",
                                 choices=("visual_cortex", "hippocampal"))  # triplet preset
    n_pairings: int = param(60, at_least=1)
    dt_ms: float = param(1.0, above=0.0)  # the traces are event-driven: exact on any grid
    target: str = param("cython", choices=("numpy", "cython", "cpp_standalone"))
    seeds: tuple[int, ...] = (0,)


TINY = Params(rate_hz=(1.0, 50.0), rule=("visual_cortex",), n_pairings=10, target="numpy")
QUICK = Params(rate_hz=SJOSTROM_2001["rate_hz"], rule=("visual_cortex",), target="numpy")


def check(p: Params) -> None:
    period_ms = 1000.0 / p.rate_hz
    if not 0 < abs(p.timing_ms) <= period_ms / 2:
        raise ValueError(f"timing_ms={p.timing_ms:g} must be nonzero and at most half the pairing "
                         f"period ({period_ms / 2:g} ms at {p.rate_hz:g} Hz)")
    if abs(p.timing_ms / p.dt_ms - round(p.timing_ms / p.dt_ms)) > 1e-6:
        raise ValueError(f"timing_ms={p.timing_ms:g} must be a whole number of steps of dt_ms={p.dt_ms:g}")


def protocol_s(p: Params) -> tuple[np.ndarray, np.ndarray]:
    """(pre, post) spike times in seconds: n_pairings pairs, post = pre + timing exactly; the
    presynaptic times are rounded to the dt grid (at 30 Hz the period alternates 33 and 34 ms)."""
    t0 = 0.02 + abs(p.timing_ms) * 1e-3
    dt_s = p.dt_ms * 1e-3
    pre = np.round((t0 + np.arange(p.n_pairings) / p.rate_hz) / dt_s) * dt_s
    return pre, pre + np.round(p.timing_ms / p.dt_ms) * dt_s


def rules(rule: str, w0: float):
    """The triplet preset and the pair rule on CurrentDelta synapses, amplitudes divided by
    HEADROOM and w_max = HEADROOM * w0 (volt), so each update is the paper's A * w0 * trace."""
    from brian2 import ms, volt

    from bio import synapses

    w_max = HEADROOM * w0 * volt
    base = synapses.CurrentDelta("exc")
    triplet = synapses.TripletSTDP.preset(rule, base, w_max)
    triplet = dataclasses.replace(triplet, **{a: getattr(triplet, a) / HEADROOM
                                              for a in ("A2_plus", "A3_plus", "A2_minus", "A3_minus")})
    pair = synapses.STDP(base, w_max, A_plus=PAIR_RULE["A_plus"] / HEADROOM,
                         A_minus=PAIR_RULE["A_minus"] / HEADROOM, tau_plus=PAIR_RULE["tau_ms"] * ms,
                         tau_minus=PAIR_RULE["tau_ms"] * ms)
    return triplet, pair


def spec(p: Params):
    """Pre source -> LIF through both plastic rules; a kick source makes the LIF fire on time."""
    from brian2 import mV

    from bio import inputs, neurons, synapses
    from bio.spec import Connection, NetworkSpec, Population, Record

    w0 = float(W0_MV * mV)
    triplet, pair = rules(p.rule, w0)
    pre, post = protocol_s(p)
    zeros = np.zeros(len(pre), dtype=np.int64)
    one = dict(i=[0], j=[0], kind="exc")
    return NetworkSpec(
        {"pre": Population(None, 1), "kick": Population(None, 1), "post": Population(neurons.LIF(), 1)},
        {"triplet": Connection("pre", "post", triplet, w=[w0], **one),
         "pair": Connection("pre", "post", pair, w=[w0], **one),
         "drive": Connection("kick", "post", synapses.CurrentDelta("exc"), w=[float(KICK_MV * mV)], **one)},
        inputs=[inputs.Spikes("pre", pre, zeros),
                inputs.Spikes("kick", post - p.dt_ms * 1e-3, zeros)],  # the LIF fires one step later
        record=Record(spikes=("post",), final=("triplet.w", "pair.w")))


def point(p: Params, seed: int) -> dict[str, float]:
    """Run the pairing protocol once; returns Δw/w0 of the triplet and of the pair rule, and the
    largest error of the postsynaptic spike times (s) against the protocol (0 when on time)."""
    import brian2 as b2

    import bio

    pre, post = protocol_s(p)
    w0 = float(W0_MV * b2.mV)
    rec = bio.run(spec(p), (max(pre[-1], post[-1]) + 0.02) * b2.second, dt=p.dt_ms * b2.ms,
                  target=p.target, seed=seed)
    fired = rec.times_s["post"]
    timing_error = (float(np.max(np.abs(fired - post))) if len(fired) == len(post) else float("inf"))
    return {"dw_triplet": float(rec.final["triplet.w"][0] / w0 - 1.0),
            "dw_pair": float(rec.final["pair.w"][0] / w0 - 1.0),
            "post_timing_error_s": timing_error}


def _data(timing: float):
    if timing not in SJOSTROM_2001:
        return None
    mean, sem = SJOSTROM_2001[timing]
    return np.asarray(SJOSTROM_2001["rate_hz"]), np.asarray(mean), np.asarray(sem)


def figures(table, out_dir: Path) -> list[Path]:
    """Δw/w0 against pairing frequency for Δt = +10 ms (filled) and -10 ms (open), model lines
    beside the experimental points: the triplet rule (left) and the pair rule (right)."""
    from . import style

    fig, axes = style.figure(ncols=2, width=7.0, sharey=True)
    timings = sorted(table["timing_ms"].unique(), reverse=True)
    rates = np.union1d(table["rate_hz"].unique(), SJOSTROM_2001["rate_hz"])  # simulated and measured
    colors = {t: style.PALETTE[k] for k, t in enumerate(timings)}
    for ax, metric, title in ((axes[0], "dw_triplet", "Triplet rule (Pfister & Gerstner 2006)"),
                              (axes[1], "dw_pair", "Pair rule (Song et al. 2000 amplitudes)")):
        for t in timings:
            part = table[table["timing_ms"] == t]
            for k, rule in enumerate(sorted(part["rule"].unique(), reverse=True)):
                if metric == "dw_pair" and k > 0:
                    break  # the pair rule does not depend on the triplet preset
                label = f"Δt = {t:+g} ms" + (f", {rule}" if metric == "dw_triplet" else "")
                style.mean_spread(ax, part[part["rule"] == rule], x="rate_hz", metric=metric,
                                  label=label, color=colors[t], linestyle="-" if k == 0 else "--",
                                  spread="boot95")
            data = _data(float(t))
            if data is not None:
                x, mean, sem = data
                ax.errorbar(x, mean, yerr=sem, fmt="s", color=colors[t], capsize=2, markersize=6,
                            markerfacecolor=colors[t] if t > 0 else "white",
                            label=f"Sjöström et al. 2001, Δt = {t:+g} ms")
        ax.axhline(0, color="black", linewidth=0.6)
        ax.set(xlabel="pairing frequency (Hz)", ylabel="weight change Δw / w0", title=title)
        ax.set_xticks(rates, [f"{r:g}" if r < 1 or r >= 5 else "" for r in rates])  # 0.1 and 1 overlap
        ax.legend(fontsize=6, loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=2)
    return style.save(fig, out_dir, "triplet_pfister2006")


def summary(table) -> str:
    """Our Δw/w0 beside Sjöström et al.'s at each measured frequency, per order and rule."""
    mean = table.groupby(["metric", "rule", "timing_ms", "rate_hz"])["value"].mean()
    lines = [f"Δw/w0 after {int(table['n_pairings'].iloc[0])} pairings: model (data ± SEM, "
             "Sjöström et al. 2001, the points Pfister & Gerstner fit)"]
    for rule in sorted(table["rule"].unique(), reverse=True):
        for metric, name in (("dw_triplet", f"triplet/{rule}"), ("dw_pair", "pair (Song 2000)")):
            if metric == "dw_pair" and rule != sorted(table["rule"].unique(), reverse=True)[0]:
                continue
            for t in sorted(table["timing_ms"].unique(), reverse=True):
                series = mean[metric][rule][t]
                data = _data(float(t))
                cells, sq = [], []
                for f, v in series.items():
                    cell = f"{f:g} Hz {v:+.2f}"
                    if data is not None and np.any(np.isclose(data[0], f)):
                        k = int(np.flatnonzero(np.isclose(data[0], f))[0])
                        cell += f" ({data[1][k]:+.2f}±{data[2][k]:.2f})"
                        sq.append(((v - data[1][k]) / data[2][k]) ** 2)
                    cells.append(cell)
                fit = f"; rms error/SEM {np.sqrt(np.mean(sq)):.2f}" if sq else ""
                lines.append(f"  {name:<24} Δt={t:+g} ms: " + ", ".join(cells) + fit)
    err = table[table["metric"] == "post_timing_error_s"]["value"].max()
    lines.append(f"  postsynaptic spikes off the protocol by at most {err * 1e3:.3g} ms")
    return "\n".join(lines)
