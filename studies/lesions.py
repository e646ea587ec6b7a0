"""Disorders in three systems: accuracy (and spiking activity) against severity for an ANN, its converted SNN and an STDP SNN.

Question: does a spiking network degrade like an artificial one when it loses
neurons, synapses, inhibition, gain or myelin? Each named disorder of
`bridge.disorders` is applied at a range of severities to three systems of
matched size that learned the same digits (ann.data.digits, the seed's split):
- "ann":       an MLP 64-100-10 trained by backpropagation;
- "converted": that MLP converted to integrate-and-fire neurons (bridge.convert),
               lesioned as a spiking network;
- "stdp":      a Diehl & Cook (2015) network of 100 excitatory neurons that learned
               the same training split by STDP.
The study only asks the `bridge.systems` protocol of them; a disorder that
cannot act on a system (e.g. a focal stroke on units without a spatial layout,
a uniform gain on ReLU units) is recorded as not applicable — `applies` = 0 and
no accuracy — and the figure says so instead of drawing a flat line.

Answer the figures give: `lesions_accuracy` has one panel per disorder with the
normalised accuracy (acc - chance) / (acc_healthy - chance) against severity,
mean and 95% bootstrap interval over seeds (>= 5 in the full preset), one line
per system; `lesions_auc` the area under each dose-response curve with its
interval; `lesions_activity` the firing rate, CV of inter-spike intervals and
synchrony of each spiking system's first hidden population and its energy bill
per sample (bridge.energy), one row per system on its own scale. `summary` prints the AUCs and the paired comparison of every
system with the ANN on the same seeds (mean difference, CI, d_z, Wilcoxon p).

The seed fixes the data split, the initialisation and training of every system
and the lesion. Full scale: `brainbridge run lesions --workers 2` (all disorders,
all systems, 5 seeds); the README's lesion findings come from
`docs/results/lesions.csv`, copied from that run's results.csv.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import trained
from .params import axis

VERSION = 2

DISORDERS = ("neurodegeneration", "alzheimer", "alzheimer_compensated", "schizophrenia", "epilepsy",
             "parkinson", "multiple_sclerosis", "stroke")
SYSTEMS = ("ann", "converted", "stdp")
SYSTEM_LABELS = {"ann": "ANN (backprop MLP)", "converted": "converted SNN (IF)",
                 "stdp": "STDP SNN (Diehl & Cook)"}
# one colour and dash per system in every figure (the converted SNN often sits on the ANN's line)
SYSTEM_STYLE = {"ann": {"color": "#0072B2", "linestyle": "-"},
                "converted": {"color": "#D55E00", "linestyle": "--"},
                "stdp": {"color": "#009E73", "linestyle": ":"}}
CHANCE = 0.1  # ten balanced classes


@dataclass(frozen=True)
class Params:
    disorder: tuple[str, ...] = axis(*DISORDERS)
    severity: tuple[float, ...] = axis(0.0, 0.1, 0.25, 0.5, 0.75, 1.0)
    system: tuple[str, ...] = axis(*SYSTEMS)
    hidden: int = 100               # MLP hidden units (ANN and converted SNN) = STDP exc neurons
    epochs: int = 20                # backprop epochs
    n_train: int = 0                # training samples every system learns from (0: the whole split)
    n_test: int = 300               # test samples each system is scored on (0: the whole split)
    duration_ms: float = 50.0       # simulated time per sample of the converted SNN (dt = 1 ms)
    neuron: str = "if"              # converted SNN neurons: if or lif
    stdp_epochs: int = 1
    stdp_present_ms: float = 150.0  # presentation, rest and step of the STDP network
    stdp_rest_ms: float = 50.0      # (bio.diehl_cook.DiehlCookParams' defaults)
    stdp_dt_ms: float = 0.5
    n_record: int = 20              # STDP test samples whose spikes give rate, CV and synchrony (0: none)
    target: str = "cython"          # Brian2 code generation for both spiking systems
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)


TINY = Params(disorder=("neurodegeneration", "stroke"), severity=(0.0, 1.0), hidden=10, epochs=40,
              n_train=200, n_test=40, duration_ms=20.0, n_record=0, stdp_present_ms=40.0,
              stdp_rest_ms=10.0, stdp_dt_ms=1.0, target="numpy", seeds=(0,))
QUICK = Params(severity=(0.0, 0.25, 0.5, 0.75, 1.0), n_test=200, hidden=50, n_train=500, seeds=(0, 1, 2))

# how each system is built from the parameters: one entry per system, no branching on kind
FACTORIES = {
    "ann": lambda p, seed: trained.ann(p.hidden, p.epochs, seed, p.n_train),
    "converted": lambda p, seed: trained.converted(p.hidden, p.epochs, p.neuron, p.duration_ms, p.target,
                                                   seed, p.n_train),
    "stdp": lambda p, seed: trained.stdp(p.hidden, p.stdp_epochs, p.target, seed, p.n_train, p.n_record,
                                         p.stdp_present_ms, p.stdp_rest_ms, p.stdp_dt_ms),
}


def test_split(p: Params, seed: int):
    test = trained.digits(seed).test
    return test if not p.n_test or p.n_test >= len(test) else test.subset(np.arange(p.n_test))


def point(p: Params, seed: int) -> dict[str, float]:
    """One disorder at one severity in one system: accuracy, activity, size, applicability."""
    import torch

    from bridge import disorders

    torch.set_num_threads(1)
    if p.system not in FACTORIES:
        raise ValueError(f"unknown system {p.system!r}; choose one of: {', '.join(FACTORIES)}")
    system = FACTORIES[p.system](p, seed)
    sick = disorders.get(p.disorder, severity=p.severity, seed=seed)
    nan = float("nan")
    if not sick.applies_to(system):
        return {"applies": 0.0, "accuracy": nan, "rate_hz": nan, "cv_isi": nan, "synchrony": nan,
                "energy_pj": nan}
    lesioned = sick.apply(system)
    test = test_split(p, seed)
    score = lesioned.evaluate(test, seed=seed)
    return {"applies": 1.0, **score.metrics(), "synapses": float(lesioned.size()["synapses"]),
            "energy_pj": _energy(lesioned, score, test)}


def _energy(system, score, test) -> float:
    """Energy per test sample (bridge.energy, Horowitz 2014 costs): synaptic events of a spiking
    system from the spikes its evaluation recorded, multiply-accumulates of an ANN (dense count,
    so the same for any lesion). NaN when the evaluation kept no record of every sample."""
    from bridge import energy

    if system.substrate == "torch":
        return float(energy.ann_ledger(system.core, test.x[:1]).total_energy_pj[0])
    rec = score.record
    if rec is None or rec.copies != len(test):
        return float("nan")  # e.g. the STDP network records a few samples shown in sequence
    spec = system.core
    analog = {p: 1 for p, pop in spec.populations.items() if pop.is_source and p not in rec.n_neurons}
    steps = int(round(rec.duration_s / 1e-3))
    return float(energy.snn_ledger(rec, spec, len(test), analog={k: steps for k in analog}).total_energy_pj.mean())


# ----------------------------------------------------------------------------- analysis

def normalised(table):
    """The table plus accuracy_norm rows (each point over its own healthy point)."""
    from .stats import with_normalised

    return with_normalised(table, CHANCE, keys=("system", "disorder"))


def aucs(table):
    """Per disorder, system and seed: the area under the normalised dose-response curve."""
    from .stats import auc

    return auc(normalised(table), "accuracy_norm", keys=("disorder", "system"))


def summary(table) -> str:
    from .stats import paired, summary as ci

    per_seed = aucs(table).dropna(subset=["auc"])
    if per_seed.empty:
        return "no dose-response curve with two severities yet"
    lines = ["area under the normalised accuracy curve (1 = no loss, 0 = chance), mean [95% CI] over seeds:"]
    for _, r in ci(per_seed, value="auc", by=("disorder", "system")).iterrows():
        lines.append(f"  {r['disorder']:22s} {r['system']:10s} {r['mean']:.3f} [{r['ci_low']:.3f}, "
                     f"{r['ci_high']:.3f}] (n={r['n']})")
    na = table[(table["metric"] == "applies") & (table["value"] == 0)][["disorder", "system"]].drop_duplicates()
    for _, r in na.iterrows():
        lines.append(f"  {r['disorder']:22s} {r['system']:10s} not applicable (bridge.disorders says why)")
    systems = sorted(set(per_seed["system"]) - {"ann"})
    for other in systems:
        res = paired(per_seed, other, "ann", value="auc", by=("disorder",))
        for _, r in res.dropna(subset=["mean_diff"]).iterrows():
            lines.append(f"  {r['disorder']:22s} {other} - ann: {r['mean_diff']:+.3f} [{r['ci_low']:+.3f}, "
                         f"{r['ci_high']:+.3f}], d_z {r['d_z']:.2f}, Wilcoxon p {r['p_wilcoxon']:.3g} "
                         f"({r['n_pairs']} paired seeds)")
    return "\n".join(lines)


# ----------------------------------------------------------------------------- figures

def _grid(n: int):
    ncols = min(n, 4)
    return (n + ncols - 1) // ncols, ncols


def _legend_entries(axes) -> tuple[list, list]:
    """One (handle, label) per distinct label over all panels, for a figure-level legend."""
    entries = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            entries.setdefault(lab, h)
    return list(entries.values()), list(entries)


def _n_seeds(table) -> int:
    return int(table["seed"].nunique())


def figures(table, out_dir: Path) -> list[Path]:
    """lesions_accuracy, lesions_auc and lesions_activity (see the module docstring)."""
    from . import style

    table = normalised(table)
    names = [d for d in DISORDERS if d in set(table["disorder"])] + \
        sorted(set(table["disorder"]) - set(DISORDERS))
    systems = [s for s in SYSTEMS if s in set(table["system"])]
    applies = table[table["metric"] == "applies"]
    nrows, ncols = _grid(len(names))
    fig, axes = style.figure(nrows, ncols, squeeze=False, width=ncols * 2.9, height=nrows * 2.5 + 0.7)
    severities = sorted(table["severity"].unique())
    for k, (ax, name) in enumerate(zip(axes.flat, names)):
        sub = table[table["disorder"] == name]
        missing = []
        for system in systems:
            ok = applies[(applies["disorder"] == name) & (applies["system"] == system)]["value"]
            part = sub[(sub["system"] == system) & (sub["metric"] == "accuracy_norm")]
            if len(ok) and ok.max() == 0:
                missing.append(SYSTEM_LABELS.get(system, system).split(" (")[0])
                continue
            if not part.empty and part["value"].notna().any():
                style.mean_spread(ax, part, x="severity", metric="accuracy_norm", spread="boot95",
                                  label=SYSTEM_LABELS.get(system, system), **SYSTEM_STYLE.get(system, {}))
        ax.axhline(0.0, color="0.5", ls=":", lw=1)
        ax.axhline(1.0, color="0.7", ls="-", lw=0.6)
        if missing:
            ax.text(0.03, 0.04, "does not apply to:\n" + "\n".join(missing), transform=ax.transAxes,
                    fontsize=7, color="0.35", va="bottom")
        ax.set(title=name.replace("_", " "), xlabel="severity", ylim=(-0.1, 1.15), xticks=severities,
               ylabel="normalised accuracy" if k % ncols == 0 else "")
        ax.tick_params(axis="x", labelsize=7)
        ax.get_legend() and ax.get_legend().remove()
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    handles, labels = _legend_entries(axes)
    fig.legend(handles, labels, loc="outside lower center", ncols=max(len(labels), 1), frameon=False)
    fig.suptitle("Does a spiking network degrade like an ANN? Normalised accuracy "
                 "(acc - chance)/(healthy - chance) against severity\n"
                 f"mean and 95% bootstrap CI over {_n_seeds(table)} seeds; dotted: chance, thin: healthy",
                 fontsize=10)
    paths = style.save(fig, out_dir, "lesions_accuracy")
    paths += _auc_figure(table, names, systems, out_dir)
    return paths + _activity_figure(table, names, systems, out_dir)


def _auc_figure(table, names, systems, out_dir):
    from . import style
    from .stats import auc, summary as ci

    per_seed = auc(table, "accuracy_norm", keys=("disorder", "system")).dropna(subset=["auc"])
    if per_seed.empty:
        return []
    summ = ci(per_seed, value="auc", by=("disorder", "system"))
    fig, ax = style.figure(width=max(4.0, 0.9 * len(names) + 1.5), height=3.0)
    width = 0.8 / max(len(systems), 1)
    for k, system in enumerate(systems):
        part = summ[summ["system"] == system].set_index("disorder").reindex(names)
        x = np.arange(len(names)) + (k - (len(systems) - 1) / 2) * width
        err = np.vstack([part["mean"] - part["ci_low"], part["ci_high"] - part["mean"]])
        ax.bar(x, part["mean"], width, yerr=err, label=SYSTEM_LABELS.get(system, system),
               color=SYSTEM_STYLE.get(system, {}).get("color"), capsize=2)
    ax.set_xticks(np.arange(len(names)), [n.replace("_", "\n") for n in names], fontsize=7)
    ax.set(ylabel="area under the curve", ylim=(0, 1.1),
           title=f"Robustness per disorder: AUC of normalised accuracy (95% CI, {_n_seeds(table)} seeds; "
                 "missing bar: does not apply)")
    ax.legend(fontsize=7)
    return style.save(fig, out_dir, "lesions_auc")


def _activity_figure(table, names, systems, out_dir):
    from . import style

    spiking = [s for s in systems if s != "ann"
               and table[(table["system"] == s) & (table["metric"] == "rate_hz")]["value"].notna().any()]
    if not spiking:
        return []
    metrics = [("rate_hz", "firing rate (Hz)"), ("cv_isi", "CV of ISIs"), ("synchrony", "synchrony $\\chi$"),
               ("energy_pj", "energy per sample (pJ)")]
    fig, axes = style.figure(len(spiking), len(metrics), squeeze=False, width=len(metrics) * 3.0,
                             height=len(spiking) * 2.4 + 0.6)
    for row, system in enumerate(spiking):
        sub = table[table["system"] == system]
        for col, (metric, label) in enumerate(metrics):
            ax = axes[row, col]
            for k, name in enumerate(names):
                part = sub[(sub["disorder"] == name) & (sub["metric"] == metric)]
                if not part.empty and part["value"].notna().any():
                    style.mean_spread(ax, part, x="severity", metric=metric, spread="boot95",
                                      label=name.replace("_", " "), color=style.PALETTE[k % len(style.PALETTE)])
            ax.get_legend() and ax.get_legend().remove()
            ax.set(xlabel="severity", ylabel=label,
                   title=f"{SYSTEM_LABELS.get(system, system)}" if col == 0 else "")
            if metric != "rate_hz":
                ax.set_ylim(bottom=0)
    handles, labels = _legend_entries(axes)
    fig.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 4), frameon=False)
    fig.suptitle("Spiking activity of the first hidden population and the energy bill (bridge.energy: "
                 "synaptic events x 0.9 pJ, Horowitz 2014) under each disorder\n"
                 f"(each system on its own scale; mean and 95% CI over {_n_seeds(table)} seeds)", fontsize=10)
    return style.save(fig, out_dir, "lesions_activity")
