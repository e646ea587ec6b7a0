"""Epilepsy as lost inhibition: from asynchronous firing to recurring seizures to tonic saturation.

Question: when a recurrent excitatory-inhibitory network loses inhibition (the
"epilepsy" disorder of bridge.disorders: every inhibitory weight times
1 - severity), does it produce seizure-like episodes - onset, sustained
high-rate hypersynchrony, spontaneous termination - and how do their rate and
duration grow with severity? And does a recurrent ANN lose stability under the
same lesion?

The spiking network is bio/seizure.py: 800 adaptive excitatory and 200
fast-spiking inhibitory AdEx neurons with conductance synapses and Poisson
drive; the slow negative feedback that ends an episode is the excitatory
cells' spike-triggered adaptation. Episodes are found by
`bio.seizure.detect_seizures` (population rate and recruitment thresholds with
hysteresis). The ANN is ann/rate_network.py: a rate network of excitatory and
inhibitory tanh units obeying Dale's law; the same disorder scales its
negative (inhibitory) weights.

Answer the figures give (`brainbridge run epilepsy --quick`: seeds 0-2, 6 s per
point; `summary` prints the numbers of a run):
- `epilepsy_examples`: raster and population rate of a healthy network
  (asynchronous irregular, ~5 Hz), a seizing one (episodes at 150-170 Hz that
  start abruptly, sag as adaptation builds and stop on their own, each
  followed by post-ictal silence) and a tonic one (~150 Hz without end), with
  the detected episodes shaded.
- `epilepsy_severity`, against severity with 95% bootstrap intervals over
  seeds: no episode up to severity 0.3; recurring episodes
  from 0.5 to 0.9, whose mean duration grows with severity (0.21, 0.31, 0.45,
  0.67, 1.3 s at 0.5-0.9: the adaptation current needed to end them grows as
  inhibition is lost) while their rate falls from 33-44 to 22 per minute
  (longer episodes, longer recoveries) and the time in seizure rises from 13%
  to 50%; tonic saturation (100% of the time, ~149 Hz) at severity 1. The
  firing rate jumps at the onset of seizures (6 -> 19 Hz), synchrony (Golomb's
  chi) jumps with it (0.09 -> 0.82) and falls again in the tonic state (0.2:
  firing near saturation is regular and unsynchronised). The ANN: the largest
  eigenvalue of its Jacobian at the healthy operating point crosses zero
  between severity 0.3 (-0.54) and 0.5 (+0.11), on the row-sum outlier that
  Rajan & Abbott (2006) predict, and its activity runs away from 0.10 to
  0.78 (0.5) and saturates (0.96-1.0 from 0.7).
- `epilepsy_ephys`: raster, population rate, ISI and CV distributions of the excitatory
  neurons (first 100) in 1 s of the healthy, a seizing and a tonic network (the same picks
  as `epilepsy_examples`), drawn from the spike record each point keeps (studies.ephys: 1 s
  from a quarter second before the first detected episode, or from the end of the warm-up).
Both systems leave their healthy state between 30% and 50% loss of inhibition;
only the spiking network, which has a slow negative feedback, ends its
episodes on its own (the rate network has none: it stays saturated).

Run-time: `--quick` (24 points, the table docs/results/epilepsy.csv) took 15 min of compute
in all, a median of 23 s per point (its elapsed_s column; cython).
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis, param

VERSION = 2
STATES = ("asynchronous", "seizures", "tonic")  # the `state` metric is an index into this
EPHYS_NEURONS = 100  # neurons per population kept for epilepsy_ephys (as many E as epilepsy_examples draws)


@dataclass(frozen=True)
class Params:
    severity: tuple[float, ...] = axis(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0,
                                       at_least=0.0, at_most=1.0)  # loss of inhibition
    n_exc: int = param(800, at_least=40)      # excitatory neurons (in-degree 40)
    n_inh: int = param(200, at_least=10)      # inhibitory neurons (in-degree 10)
    excitation: float = param(1.0, at_least=0.0)   # factor on recurrent E->E weights
    adaptation: float = param(1.0, at_least=0.0)   # factor on the adaptation increment b
    duration_ms: float = param(10000.0, above=0.0)
    warmup_ms: float = param(500.0, at_least=0.0)  # start-up transient left out of every measure
    dt_ms: float = param(0.1, above=0.0)
    bin_ms: float = param(10.0, above=0.0)         # detector bin
    on_hz: float = param(40.0, at_least=0.0)       # an episode starts above this population rate ...
    min_active: float = param(0.25, at_least=0.0, at_most=1.0)  # ... with this fraction of neurons firing
    off_hz: float = param(20.0, at_least=0.0)      # ... and lasts until the rate falls below this
    min_duration_ms: float = param(100.0, at_least=0.0)
    sync_bin_ms: float = param(5.0, above=0.0)     # bin of Golomb's synchrony chi
    example_ms: float = param(4000.0, above=0.0)   # length of the example rasters
    ann_steps: int = param(500, at_least=1)        # Euler steps (dt = 0.1 tau) of the rate network
    target: str = param("cython", choices=("numpy", "cython", "cpp_standalone"))
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)


TINY = Params(severity=(0.0, 0.7, 1.0), n_exc=200, n_inh=50, duration_ms=2500.0, warmup_ms=300.0,
              dt_ms=0.2, example_ms=1000.0, ann_steps=200, target="numpy", seeds=(0,))
QUICK = Params(severity=(0.0, 0.3, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0), duration_ms=6000.0, seeds=(0, 1, 2))


def check(p: Params) -> None:
    if p.off_hz > p.on_hz:
        raise ValueError(f"off_hz ({p.off_hz}) must not exceed on_hz ({p.on_hz}): the detector's "
                         "hysteresis keeps an episode on until the rate falls below the lower off_hz")
    if p.warmup_ms >= p.duration_ms:
        raise ValueError(f"warmup_ms ({p.warmup_ms}) must be shorter than duration_ms ({p.duration_ms})")


def _simulate(p: Params, severity: float, seed: int, duration_ms: float):
    """The spiking network with the epilepsy disorder at `severity`; its SpikeRecord."""
    import brian2 as b2

    import bio
    from bio.seizure import seizure_spec
    from bridge import disorders

    healthy = seizure_spec(p.n_exc, p.n_inh, excitation=p.excitation, adaptation=p.adaptation, seed=seed)
    sick = disorders.get("epilepsy", severity, seed=seed).apply(healthy)
    return bio.run(sick, duration_ms * b2.ms, target=p.target, seed=seed, dt=p.dt_ms * b2.ms)


def _detect(p: Params, rec, t_stop_s: float | None = None):
    from bio.seizure import detect_seizures

    return detect_seizures(rec, "exc", bin_ms=p.bin_ms, on_hz=p.on_hz, off_hz=p.off_hz,
                           min_active=p.min_active, min_duration_ms=p.min_duration_ms,
                           t_start_s=p.warmup_ms * 1e-3, t_stop_s=t_stop_s)


def _ann(p: Params, seed: int) -> dict[str, float]:
    """The rate network under the same disorder: stability at the healthy state, and where it goes."""
    import torch

    from ann.rate_network import RateNetwork, phi, phi_prime, spectral_abscissa
    from bridge import disorders

    net = RateNetwork(seed=seed)
    h0, _ = net.fixed_point()  # the healthy operating point
    sick = disorders.get("epilepsy", p.severity, seed=seed).apply(net)
    row_sum = float(sick.recurrent.weight.detach().double().sum(1).mean())
    gen = torch.Generator().manual_seed(seed)
    start = h0[None, :] + 0.01 * torch.randn(1, net.n, generator=gen)  # (B=1, N)
    with torch.no_grad():
        rates = sick(start, steps=p.ann_steps, dt=0.1)  # (T, 1, N)
    return {"ann_eig_max": spectral_abscissa(sick.jacobian(h0)),
            # Rajan & Abbott (2006): the uniform vector is an eigenvector with eigenvalue = row sum
            "ann_eig_theory": -1.0 + float(phi_prime(h0).mean()) * row_sum,
            "ann_activity": float(rates[-1].mean()),
            "ann_activity_healthy": float(phi(h0).mean())}


def point(p: Params, seed: int) -> dict[str, float]:
    """One severity and seed: the spiking network's activity and seizures, the ANN's stability,
    and 1 s of the spike record (studies.ephys; `_ephys_start` says which second)."""
    from bio import analysis

    rec = _simulate(p, p.severity, seed, p.duration_ms)
    t0 = p.warmup_ms * 1e-3
    found = _detect(p, rec)
    out = {"rate_hz": analysis.mean_rate(rec, "exc", t_start_s=t0),
           "rate_hz_inh": analysis.mean_rate(rec, "inh", t_start_s=t0),
           "cv_isi": analysis.cv_isi(rec, "exc", t_start_s=t0),
           "synchrony": analysis.synchrony(rec, "exc", bin_s=p.sync_bin_ms * 1e-3, t_start_s=t0),
           "seizures_per_min": found.per_minute,
           "seizure_duration_s": found.mean_duration_s,
           "seizure_fraction": found.fraction,
           "seizure_peak_hz": float(found.peak_rates_hz.mean()) if len(found.peak_rates_hz) else float("nan"),
           "state": float(STATES.index(found.state))}
    from . import ephys

    start = _ephys_start(p, found)
    kept = ephys.cut(rec, ["exc", "inh"], max_neurons=EPHYS_NEURONS, t_start_s=start)
    return out | _ann(p, seed) | ephys.rows(kept, f"{start:g}-{start + kept.duration_s:g} s")


def _ephys_start(p: Params, found) -> float:
    """Start (s) of the second of activity a point keeps: a quarter second before the first
    detected episode (its onset is in view), else the end of the warm-up; within the run."""
    start = found.onsets_s[0] - 0.25 if len(found.onsets_s) else p.warmup_ms * 1e-3
    start = min(max(start, p.warmup_ms * 1e-3), p.duration_ms * 1e-3 - _ephys_duration_s(p))
    return round(max(start, 0.0), 3)


def _ephys_duration_s(p: Params) -> float:
    """Length (s) of the kept cut: a second, or the whole run if shorter."""
    from . import ephys

    return min(ephys.MAX_DURATION_S, p.duration_ms * 1e-3)


# ---------------------------------------------------------------------------- figures

def _params(table) -> Params:
    """The run's Params (plain fields) read back from the table's columns."""
    values = {}
    for f in dataclasses.fields(Params):
        if f.name in table.columns and not f.metadata.get("axis") and f.name != "seeds":
            v = table[f.name].iloc[0]
            values[f.name] = type(f.default)(v)
    return dataclasses.replace(Params(), **values)


def _modal_state(table) -> dict[float, int]:
    """{severity: most frequent state index over seeds}."""
    rows = table[table["metric"] == "state"]
    return {float(s): int(part["value"].round().mode().iloc[0]) for s, part in rows.groupby("severity")}


def _examples(table) -> list[tuple[str, float]]:
    """(label, severity) of a healthy, a seizing and a tonic point of the run (by modal state)."""
    modal = _modal_state(table)
    sev = sorted(modal)
    seizing = [s for s in sev if modal[s] == 1]
    tonic = [s for s in sev if modal[s] == 2]
    picks = [("healthy", sev[0])]
    if seizing:
        picks.append(("seizures", seizing[len(seizing) // 2]))
    picks.append(("tonic" if tonic else "most severe", tonic[0] if tonic else sev[-1]))
    return picks


def _shade(ax, found, color="#D55E00"):
    for a, z in zip(found.onsets_s, found.offsets_s):
        ax.axvspan(a, z, color=color, alpha=0.18, linewidth=0)


def _examples_figure(table, out_dir: Path) -> list[Path]:
    from bio import analysis

    from . import style

    p = _params(table)
    seed = int(table["seed"].min())
    picks = _examples(table)
    fig, axes = style.figure(2, len(picks), width=3.6 * len(picks), height=4.6, squeeze=False,
                             gridspec_kw={"height_ratios": [2, 1]}, sharex=True)
    rate_axes = axes[1]
    top = 0.0
    for col, (label, severity) in enumerate(picks):
        duration_ms = min(p.example_ms, p.duration_ms)
        rec = _simulate(p, severity, seed, duration_ms)
        found = _detect(p, rec)
        ax_r, ax_p = axes[0, col], axes[1, col]
        for pop, color, offset in (("exc", style.PALETTE[0], 0), ("inh", style.PALETTE[1], 100)):
            keep = rec.indices[pop] < (100 if pop == "exc" else 25)
            ax_r.scatter(rec.times_s[pop][keep], rec.indices[pop][keep] + offset, s=0.6, marker=".",
                         linewidths=0, color=color, rasterized=True)
        _shade(ax_r, found)
        ax_r.set(ylim=(-1, 126), yticks=[50, 112], yticklabels=["E", "I"],
                 title=f"{label} (severity {severity:g}): {found.state}")
        t, r = analysis.population_rate(rec, "exc", p.bin_ms * 1e-3)
        ax_p.plot(t, r, color=style.PALETTE[0], linewidth=0.8)
        _shade(ax_p, found)
        ax_p.axhline(p.on_hz, color="0.3", linestyle="--", linewidth=0.7)
        ax_p.axhline(p.off_hz, color="0.3", linestyle=":", linewidth=0.7)
        ax_p.axvline(p.warmup_ms * 1e-3, color="0.5", linewidth=0.7)
        ax_p.set(xlabel="time (s)", xlim=(0, duration_ms * 1e-3))
        top = max(top, float(r.max()) if len(r) else 0.0)
    for ax in rate_axes:
        ax.set_ylim(0, 1.05 * max(top, p.on_hz))
    rate_axes[0].set_ylabel(f"E rate (Hz, {p.bin_ms:g} ms bins)")
    axes[0, 0].set_ylabel("neuron (100 E, 25 I)")
    fig.suptitle(f"Loss of inhibition in an adaptive E/I network (seed {seed}): shaded = detected "
                 f"episodes; dashed / dotted = onset / offset threshold; grey = end of warm-up",
                 fontsize=9)
    return style.save(fig, out_dir, "epilepsy_examples")


def _state_background(ax, modal: dict[float, int]):
    colors = {1: "#E69F00", 2: "#D55E00"}
    sev = sorted(modal)
    edges = np.concatenate([[sev[0]], (np.array(sev[1:]) + np.array(sev[:-1])) / 2, [sev[-1]]])
    for k, s in enumerate(sev):
        if modal[s] in colors:
            ax.axvspan(edges[k], edges[k + 1], color=colors[modal[s]], alpha=0.12, linewidth=0)


def _severity_figure(table, out_dir: Path) -> list[Path]:
    from . import style

    modal = _modal_state(table)
    sev = sorted(modal)
    n_seeds = table["seed"].nunique()
    fig, axes = style.figure(2, 3, width=10.5, height=6.0, sharex=True)
    panels = [("seizures_per_min", "seizures per minute", "(a) Seizure rate", None),
              ("seizure_duration_s", "mean episode duration (s)", "(b) Seizure duration", None),
              ("seizure_fraction", "fraction of time in seizure", "(c) Time in seizure", (0, 1.02)),
              ("rate_hz", "E firing rate (Hz)", "(d) Firing rate", None),
              ("synchrony", "Golomb's synchrony $\\chi$", "(e) Synchrony", (0, 1.02))]
    for ax, (metric, ylabel, title, ylim) in zip(axes.flat, panels):
        _state_background(ax, modal)
        style.mean_spread(ax, table, x="severity", metric=metric, spread="boot95", color=style.PALETTE[0])
        ax.set(ylabel=ylabel, title=title, xlabel="")
        if ylim:
            ax.set_ylim(*ylim)
    axes[1, 0].set_yscale("log")
    ax = axes[1, 2]
    _state_background(ax, modal)
    style.mean_spread(ax, table, x="severity", metric="ann_eig_max", spread="boot95",
                      color=style.PALETTE[2], label="largest eigenvalue")
    theory = table[table["metric"] == "ann_eig_theory"].groupby("severity")["value"].mean()
    ax.plot(theory.index, theory.values, color="black", linestyle=":", linewidth=1,
            label="row-sum outlier (theory)")
    ax.axhline(0, color="0.4", linewidth=0.8)
    ax.set(ylabel="max Re $\\lambda$ of Jacobian (1/$\\tau$)", title="(f) ANN: stability and runaway",
           xlabel="")
    twin = ax.twinx()
    style.mean_spread(twin, table, x="severity", metric="ann_activity", spread="boot95",
                      color=style.PALETTE[3], label="activity (rate)")
    twin.set(ylabel="mean activity after runaway", ylim=(0, 1.02), xlabel="")
    twin.spines["right"].set_visible(True)
    handles = ax.get_legend_handles_labels()[0] + twin.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=6, loc="upper left")
    twin.get_legend().remove()
    for ax in axes[1]:
        ax.set_xlabel("severity (loss of inhibition)")
    for ax in axes.flat:
        ax.set_xticks(sev, [f"{s:g}" for s in sev])
        ax.tick_params(axis="x", labelrotation=60, labelsize=7)
        if ax.get_legend() is not None and ax is not axes[1, 2]:
            ax.get_legend().remove()
    fig.suptitle(f"Epilepsy (loss of inhibition): mean and 95% bootstrap CI over {n_seeds} seed"
                 f"{'s' if n_seeds > 1 else ''}; background: modal state (light: seizures, dark: tonic)",
                 fontsize=9)
    return style.save(fig, out_dir, "epilepsy_severity")


def figures(table, out_dir: Path) -> list[Path]:
    """Examples (rerun from the spec: deterministic for a seed), the dose-response figure and the
    electrophysiology of the example states (from the stored spike records)."""
    return _examples_figure(table, out_dir) + _severity_figure(table, out_dir) + _ephys_figure(table, out_dir)


def _ephys_figure(table, out_dir: Path) -> list[Path]:
    from . import ephys

    records, seeds = {}, set()
    for label, severity in _examples(table):
        found, seed = ephys.stored(table, out_dir, severity=severity)
        for window, rec in found.items():
            records[f"{label} (severity {severity:g}), {window}"] = rec.select("exc", np.arange(rec.n_neurons["exc"]))
            seeds.add(seed)
    if not records:
        return []
    rec = ephys.combine(records)
    p = _params(table)
    title = (f"Loss of inhibition in an adaptive E/I network ({p.n_exc} E, {p.n_inh} I AdEx neurons; seed "
             f"{', '.join(map(str, sorted(seeds)))}): excitatory neurons (first {EPHYS_NEURONS}) over "
             f"{rec.duration_s:g} s of each state; the window starts 0.25 s before the first detected "
             f"episode, or at the end of the {p.warmup_ms:g} ms warm-up")
    return ephys.figure(rec, out_dir, "epilepsy_ephys", title)


def summary(table) -> str:
    """Per severity: modal state, seizures per minute, mean duration, time in seizure, rates,
    and the ANN's largest Jacobian eigenvalue and activity (means over seeds)."""
    means = table.groupby(["severity", "metric"])["value"].mean().unstack("metric")
    modal = _modal_state(table)
    lines = ["severity  state         seizures/min  duration_s  in_seizure  rate_hz  chi   | ANN eig  activity"]
    for s, row in means.iterrows():
        lines.append(f"{s:8.2f}  {STATES[modal[float(s)]]:12s}  {row['seizures_per_min']:12.1f}  "
                     f"{row['seizure_duration_s']:10.2f}  {row['seizure_fraction']:10.2f}  "
                     f"{row['rate_hz']:7.1f}  {row['synchrony']:4.2f}  | {row['ann_eig_max']:+7.2f}  "
                     f"{row['ann_activity']:8.2f}")
    return "\n".join(lines)
