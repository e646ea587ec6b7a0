"""Horn, Levy & Ruppin (1996) reproduced: synaptic deletion and neuronal compensation in an attractor memory.

Question (Horn, Levy & Ruppin 1996, Neural Comput 8:1227; Horn, Ruppin, Usher &
Herrmann 1993, Neural Comput 5:736): an associative memory stores sparse
patterns in Hebbian synapses; a growing fraction d of its synapses is deleted
at random, as in Alzheimer's disease. Does retrieval survive, and does it help
if every neuron scales its surviving input synapses up by (synapses it had) /
(synapses it kept), restoring its expected input?

Answer the figure gives: with deletion alone the overlap of the final state
with the cued pattern collapses to ~0 once d passes a modest value (the
pattern's field, scaled by 1 - d, no longer reaches threshold); with the
per-neuron compensation it stays near 1 over a wide range of d, until the
noise that deletion adds (growing as d / (1 - d)) finally destroys it. The same
holds in both systems, which share the weight matrix:

- ANN: the sparse Hopfield network of Tsodyks & Feigelman (1988) with binary
  threshold units (ann.hopfield), updated synchronously `steps` times.
- SNN: LIF neurons coupled by the same matrix (bio.attractor.attractor_spec,
  PSP = coupling_mv * W_ij), cued by a current, read out after the cue: a
  neuron is active if it fires at >= active_hz in the delay window.
  `attractor_horn1996_ephys` shows its first trial (cue, then delay): raster, population
  rate, ISI and CV distributions of the cued pattern's neurons and of the others, healthy
  and at the largest deletion with and without compensation, from the spike record each
  spiking point keeps (studies.ephys).

Both are lesioned by the project's named disorders (bridge.disorders):
"alzheimer" (random deletion of a fraction d = severity of the synapses) and
"alzheimer_compensated" (the same deletion with the per-neuron compensation of
Horn, Levy & Ruppin), applied to the torch model and to the NetworkSpec alike.
Horn et al.'s compensation was a slow, activity-dependent process that each
neuron runs; here its end point, had/kept, is applied at once.

Where we differ from the paper: we could not consult the paper's full text, so
its network size, memory load, threshold and retrieval criterion are not
copied; the ANN is the standard Tsodyks-Feigelman sparse network their
model builds on (N = n_units, P = n_patterns, coding level p = coding,
threshold theta = threshold, cue: a fraction cue_fraction of the pattern's
units on), and retrieval is the overlap m = sum_i (xi_i - p) S_i /
sum_i (xi_i - p) xi_i with the cued pattern. The claim checked is the
qualitative one. The ANN's nn.Linear holds the (zero) diagonal too, so its
compensation factor counts N inputs per unit where the spiking network's
counts N - 1 (a 1/N difference).

Sizes: `brainbridge run attractor_horn1996` is the full size (1000 neurons, ~1e6
synapses, 20 patterns, 10 deletion levels, 3 seeds, cython: seconds per spiking
point, about 15 minutes in all on 2 busy cores); `--quick` uses 400 neurons on
numpy; TINY (the tests) 200 neurons and 2 deletion levels.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis, param

LESIONS = ("alzheimer", "alzheimer_compensated")
RETRIEVED = 0.9  # a trial counts as retrieved when the overlap with the cued pattern reaches this


@dataclass(frozen=True)
class Params:
    system: tuple[str, ...] = axis("ann", "snn", choices=("ann", "snn"))
    lesion: tuple[str, ...] = axis(*LESIONS, choices=LESIONS)
    deletion: tuple[float, ...] = axis(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9,
                                       at_least=0.0, at_most=1.0)  # fraction of synapses deleted
    n_units: int = param(1000, at_least=10)
    n_patterns: int = param(20, at_least=1)
    coding: float = param(0.1, above=0.0, below=0.5)        # fraction of units active in a pattern
    cue_fraction: float = param(0.5, above=0.0, at_most=1.0)  # fraction of the pattern cued
    n_cues: int = param(5, at_least=1)                      # patterns cued per point (trials)
    threshold: float = 0.3            # ANN: theta, against a retrieved pattern's field 1 - p
    steps: int = param(10, at_least=1)                      # ANN: synchronous updates
    coupling_mv: float = param(40.0, above=0.0)             # SNN: PSP = coupling_mv * W_ij
    drive_na: float = 0.15            # SNN: constant current (R = 100 Mohm: 15 mV below threshold)
    noise_sigma: float = param(0.03, at_least=0.0)         # SNN: background noise (bio.spec)
    cue_current_na: float = 0.3       # SNN: current into the cued neurons during the cue
    cue_ms: float = param(100.0, above=0.0)
    period_ms: float = param(400.0, above=0.0)              # one trial: cue, then delay
    readout_start_ms: float = param(200.0, at_least=0.0)    # the delay window starts here
    active_hz: float = param(20.0, above=0.0)               # SNN: a neuron firing this fast is active
    dt_ms: float = param(0.1, above=0.0)
    target: str = param("cython", choices=("numpy", "cython", "cpp_standalone"))
    seeds: tuple[int, ...] = (0, 1, 2)


TINY = Params(deletion=(0.0, 0.5), n_units=200, n_patterns=4, n_cues=2, target="numpy", seeds=(0,))
QUICK = Params(deletion=(0.0, 0.2, 0.4, 0.6, 0.8), n_units=400, n_patterns=8, n_cues=3,
               target="numpy", seeds=(0, 1, 2))


def check(p: Params) -> None:
    if not p.cue_ms < p.readout_start_ms < p.period_ms:
        raise ValueError(f"need cue_ms < readout_start_ms < period_ms, got {p.cue_ms:g}, "
                         f"{p.readout_start_ms:g}, {p.period_ms:g}")
    if p.n_cues > p.n_patterns:
        raise ValueError(f"n_cues={p.n_cues} exceeds n_patterns={p.n_patterns}: each trial cues one "
                         "stored pattern")


def memory(p: Params, seed: int):
    """Patterns (P, N) bool, weights (N, N) and cues (S, N) bool: trial s cues a random
    cue_fraction of pattern s's units."""
    from ann.hopfield import hebbian_weights, sparse_patterns

    xi = sparse_patterns(p.n_units, p.n_patterns, p.coding, seed=seed)
    rng = np.random.default_rng([seed, 1])
    cues = np.zeros((p.n_cues, p.n_units), dtype=bool)
    for s in range(p.n_cues):
        on = np.flatnonzero(xi[s])
        cues[s, rng.choice(on, size=max(1, int(round(p.cue_fraction * len(on)))), replace=False)] = True
    return xi, hebbian_weights(xi, p.coding), cues


def _ann_states(p: Params, weights, cues, disorder, seed: int):
    """(S, N) final states of the lesioned Hopfield network from each cue; no rates."""
    from ann.hopfield import Hopfield

    net = disorder.apply(Hopfield(weights, p.threshold))
    return net.retrieve(cues.astype(np.float32), p.steps)[-1] > 0.5, {}


def _snn_states(p: Params, weights, cues, disorder, seed: int):
    """(S, N) active neurons (rate >= active_hz in the delay window) of the lesioned spiking
    network, and the mean rates of cued-pattern and other neurons."""
    import brian2 as b2
    from brian2 import mV, ms, nA

    import bio
    from bio.attractor import attractor_spec, delay_rates

    spec = attractor_spec(weights, cues, coupling=p.coupling_mv * mV, drive=p.drive_na * nA,
                          noise_sigma=p.noise_sigma, cue_current=p.cue_current_na * nA,
                          cue_time=p.cue_ms * ms, period=p.period_ms * ms)
    rec = bio.run(disorder.apply(spec), target=p.target, seed=seed, dt=p.dt_ms * b2.ms)
    rates = delay_rates(rec, p.period_ms * 1e-3, len(cues), p.readout_start_ms * 1e-3)  # (S, N)
    return rates >= p.active_hz, {"rates": rates, "record": rec}


SYSTEMS = {"ann": _ann_states, "snn": _snn_states}


def point(p: Params, seed: int) -> dict[str, float]:
    """Store the patterns, lesion the system with the named disorder, cue n_cues patterns.

    Returns the mean overlap of the final state with the cued pattern, the fraction of trials
    retrieved (overlap >= RETRIEVED), the fraction of units active, the fraction of units outside
    the cued pattern that are active (spurious), and for the SNN the mean delay-window rates of
    the cued pattern's neurons and of the others (Hz)."""
    from ann.hopfield import overlaps
    from bridge import disorders

    xi, weights, cues = memory(p, seed)
    disorder = disorders.get(p.lesion, p.deletion, seed=seed)
    states, extra = SYSTEMS[p.system](p, weights, cues, disorder, seed)
    trials = np.arange(len(cues))
    m = overlaps(states, xi, p.coding)[trials, trials]  # overlap of trial s with pattern s
    target = xi[: len(cues)]
    out = {"overlap": float(m.mean()), "retrieved": float(np.mean(m >= RETRIEVED)),
           "active_fraction": float(states.mean()), "spurious": float(states[~target].mean())}
    if "rates" in extra:
        out["pattern_rate_hz"] = float(extra["rates"][target].mean())
        out["other_rate_hz"] = float(extra["rates"][~target].mean())
    if "record" in extra:
        out |= _first_trial(extra["record"], xi[0], p)
    return out


def _first_trial(rec, pattern, p: Params) -> dict:
    """studies.ephys rows of trial 1 (pattern 1 cued, then the delay; at most 1 s): the pattern's
    neurons and as many others (the first ones by index) as populations "pattern" and "other"."""
    from . import ephys

    duration_s = min(p.period_ms * 1e-3, ephys.MAX_DURATION_S)
    on, off = np.flatnonzero(pattern), np.flatnonzero(~pattern)
    kept = [ephys.renamed(ephys.cut(rec, ["mem"], duration_s=duration_s, neurons={"mem": idx[:ephys.MAX_NEURONS]}),
                          {"mem": name})
            for name, idx in (("pattern", on), ("other", off[:max(len(on), 1)]))]
    return ephys.merge(*(ephys.rows(k, "trial 1") for k in kept))


def figures(table, out_dir: Path) -> list[Path]:
    """Overlap with the cued pattern against the fraction of synapses deleted, deletion alone
    versus deletion with compensation, mean and 95% bootstrap interval over seeds; the ANN
    (left) and the spiking network (right) share their axes."""
    from . import style

    systems = [s for s in ("ann", "snn") if s in set(table["system"])]
    fig, axes = style.figure(ncols=len(systems), squeeze=False, sharey=True)
    titles = {"ann": "Hopfield network (Tsodyks-Feigelman)", "snn": "Spiking attractor (LIF, Brian2)"}
    labels = {"alzheimer": "deletion only", "alzheimer_compensated": "deletion + compensation"}
    deletions = np.sort(table["deletion"].unique())
    for ax, system in zip(axes[0], systems):
        part = table[table["system"] == system]
        for lesion in LESIONS:
            rows = part[part["lesion"] == lesion]
            if len(rows):
                style.mean_spread(ax, rows, x="deletion", metric="overlap", label=labels[lesion],
                                  spread="boot95")
        ax.axhline(0, color="black", linewidth=0.6, linestyle=":")  # an unrelated or silent state
        ax.set(xlabel="fraction of synapses deleted d", ylabel="overlap with cued pattern",
               title=titles[system], ylim=(-0.1, 1.05))
        ax.set_xticks(deletions, [f"{d:g}" for d in deletions])
        ax.legend(title=f"mean, 95% CI over {part['seed'].nunique()} seed(s)", loc="upper center",
                  bbox_to_anchor=(0.5, -0.2), ncol=2)
    return style.save(fig, out_dir, "attractor_horn1996") + _ephys_figure(table, out_dir)


def _ephys_figure(table, out_dir: Path) -> list[Path]:
    """Trial 1 of the spiking network: healthy, and at the largest deletion with each lesion."""
    from . import ephys

    snn = table[table["system"] == "snn"]
    if snn.empty:
        return []
    d_max = float(snn["deletion"].max())
    picks = [("healthy", {"deletion": 0.0, "lesion": "alzheimer"})]
    if d_max > 0:
        names = {"alzheimer": "deletion only", "alzheimer_compensated": "deletion + compensation"}
        picks += [(f"{names[lesion]} d = {d_max:g}", {"deletion": d_max, "lesion": lesion}) for lesion in LESIONS]
    records, seeds = {}, set()
    for label, where in picks:
        found, seed = ephys.stored(snn, out_dir, **where)
        if "trial 1" in found:
            records[label] = found["trial 1"]  # populations "pattern" and "other"
            seeds.add(seed)
    if not records:
        return []
    rec = ephys.combine(records)
    n_units = int(snn["n_units"].iloc[0])
    title = (f"Spiking attractor memory ({n_units} LIF neurons; seed {', '.join(map(str, sorted(seeds)))}), "
             f"first trial: pattern 1 cued for {float(snn['cue_ms'].iloc[0]):g} ms, then the delay (readout from "
             f"{float(snn['readout_start_ms'].iloc[0]):g} ms), {rec.duration_s * 1e3:g} ms in all; 'pattern': the "
             "cued pattern's neurons, 'other': as many neurons outside it")
    return ephys.figure(rec, out_dir, "attractor_horn1996_ephys", title)


def breakdown(deletions: np.ndarray, overlap: np.ndarray, level: float = 0.5) -> float:
    """The smallest deletion at which the mean overlap falls below `level` (NaN if never)."""
    below = np.flatnonzero(np.asarray(overlap) < level)
    return float(np.asarray(deletions)[below[0]]) if len(below) else float("nan")


def summary(table) -> str:
    """Per system: the overlap at every deletion with and without compensation, and where each
    falls below 0.5 (Horn et al.: compensation moves that point far out)."""
    mean = table[table["metric"] == "overlap"].groupby(["system", "lesion", "deletion"])["value"].mean()
    lines = ["overlap with the cued pattern (mean over seeds) against deletion d; "
             "Horn et al.: deletion alone collapses retrieval, compensation preserves it over a range of d"]
    for system in mean.index.get_level_values(0).unique():
        for lesion in LESIONS:
            if (system, lesion) not in mean.index.droplevel(2):
                continue
            s = mean[system][lesion]
            d50 = breakdown(s.index.to_numpy(), s.to_numpy())
            cells = ", ".join(f"{d:g}: {v:.2f}" for d, v in s.items())
            where = f"falls below 0.5 at d = {d50:g}" if np.isfinite(d50) else "never below 0.5"
            lines.append(f"  {system} {lesion:<22} {cells}  ({where})")
    return "\n".join(lines)
