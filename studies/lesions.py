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
per sample (bridge.energy), one row per system on its own scale; `lesions_energy`, per
disorder, normalised accuracy against energy per sample (pJ; Horowitz 2014 costs: MAC 4.6 pJ
for the ANN, 0.9 pJ per synaptic event for the SNNs) along severity, and below it each
system's energy relative to its own healthy energy against severity (mean and 95% bootstrap
interval over seeds); `lesions_ephys` the electrophysiology (raster, population rate, ISI
and CV distributions) of each spiking system's first hidden population, healthy and at one
severity of the first disorder that applies to it, from the spike records the points keep
(studies.ephys). `summary` prints the AUCs and the paired comparison of every
system with the ANN on the same seeds (mean difference, CI, d_z, Wilcoxon p).

What the STDP network's activity and energy measure: `n_record` test digits shown once at
the base input rates (bio.stdp.record). Its classification (bio.stdp.responses) shows a digit
again at x`boost` rates when it evoked fewer than `min_spikes` spikes (Diehl & Cook 2015, Sec.
2.5); those repeats are not in the record, so its rates are those of one base presentation
(after training it often fires once per digit) and its energy bill is a lower bound.

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

VERSION = 4  # 4: the STDP network's record runs its test digits as network copies (bio.stdp.record)

DISORDERS = ("neurodegeneration", "alzheimer", "alzheimer_compensated", "schizophrenia", "epilepsy",
             "parkinson", "multiple_sclerosis", "stroke", "autism", "tinnitus")
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
              n_train=200, n_test=40, duration_ms=20.0, n_record=3, stdp_present_ms=40.0,
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
    """One disorder at one severity in one system: accuracy, activity, size, applicability,
    energy per sample, and (spiking systems) a cut of the spike record of its evaluation
    (studies.ephys: the network's own populations, not its inputs; copies that ran side by
    side laid one after another, at most 1 s)."""
    from bridge import disorders

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
    out = {"applies": 1.0, **score.metrics(), "synapses": float(lesioned.size()["synapses"]),
           "energy_pj": _energy(lesioned, score, test, min(p.n_record, len(test)))}
    rec = score.record
    if rec is not None:
        from . import ephys

        own = [name for name in rec.populations if not lesioned.core.populations[name].is_source]
        out |= ephys.rows(ephys.cut(rec, own, in_sequence=rec.copies > 1), SYSTEM_LABELS[p.system])
    return out


def _energy(system, score, test, n_in_sequence: int = 0) -> float:
    """Energy per test sample (bridge.energy, Horowitz 2014 costs): synaptic events of a spiking
    system from the spikes its evaluation recorded, multiply-accumulates of an ANN (dense count,
    so the same for any lesion). A record of one copy per test sample gives each sample's bill; a
    record of n_in_sequence samples laid out one after another as one network's (the STDP network's,
    bio.stdp.record)
    gives its whole bill over n_in_sequence, the rest between samples included. NaN when the
    evaluation kept no record."""
    from bridge import energy

    if system.substrate == "torch":
        return float(energy.ann_ledger(system.core, test.x[:1]).total_energy_pj[0])
    rec = score.record
    if rec is None or (rec.copies != len(test) and not (rec.copies == 1 and n_in_sequence)):
        return float("nan")
    spec = system.core
    analog = {p: 1 for p, pop in spec.populations.items() if pop.is_source and p not in rec.n_neurons}
    steps = int(round(rec.duration_s / 1e-3))
    if rec.copies == len(test):
        return float(energy.snn_ledger(rec, spec, len(test), analog={k: steps for k in analog})
                     .total_energy_pj.mean())
    return float(energy.snn_ledger(rec, spec, 1, analog={k: steps for k in analog}).total_energy_pj[0]
                 / n_in_sequence)


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
    paths += _activity_figure(table, names, systems, out_dir)
    paths += _energy_figure(table, names, systems, out_dir)
    return paths + _ephys_figure(table, names, systems, out_dir)


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


def energy_lines(table):
    """What `lesions_energy` draws: one line per (disorder, system) that applies and has an
    energy, one row per severity on it. Columns disorder, system, severity, n (seeds), and mean,
    low, high (95% bootstrap interval over seeds) of energy_pj (energy per sample, pJ),
    energy_rel (energy over the same system's healthy energy, severity 0, same disorder and
    seed) and accuracy_norm (normalised accuracy)."""
    import pandas as pd

    from .stats import bootstrap_ci

    table = normalised(table) if "accuracy_norm" not in set(table["metric"]) else table
    keys = ["disorder", "system", "seed"]
    wide = table[table["metric"].isin(["energy_pj", "accuracy_norm"])].pivot_table(
        index=keys + ["severity"], columns="metric", values="value", aggfunc="mean", dropna=False)
    wide = wide.reindex(columns=["energy_pj", "accuracy_norm"]).reset_index()
    wide = wide[np.isfinite(wide["energy_pj"].to_numpy(float))]
    healthy = wide[wide["severity"] == 0].set_index(keys)["energy_pj"].rename("healthy")
    wide = wide.join(healthy, on=keys)
    with np.errstate(divide="ignore", invalid="ignore"):
        wide["energy_rel"] = wide["energy_pj"] / wide["healthy"]
    rows = []
    for (disorder, system, severity), part in wide.groupby(["disorder", "system", "severity"], sort=True):
        row = {"disorder": disorder, "system": system, "severity": float(severity), "n": len(part)}
        for col in ("energy_pj", "energy_rel", "accuracy_norm"):
            mean, low, high = bootstrap_ci(part[col].to_numpy(float))
            row |= {f"{col}_mean": mean, f"{col}_low": low, f"{col}_high": high}
        rows.append(row)
    return pd.DataFrame(rows, columns=["disorder", "system", "severity", "n"] + [
        f"{c}_{s}" for c in ("energy_pj", "energy_rel", "accuracy_norm") for s in ("mean", "low", "high")])


def _energy_figure(table, names, systems, out_dir):
    from matplotlib.ticker import NullFormatter

    from . import style

    lines = energy_lines(table)
    if lines.empty:
        return []
    ncols = min(len(names), 4)
    nrows = (len(names) + ncols - 1) // ncols
    fig, axes = style.figure(2 * nrows, ncols, squeeze=False, width=ncols * 3.0, height=nrows * 5.0 + 0.9)
    severities = sorted(lines["severity"].unique())
    for k, name in enumerate(names):
        ax_e, ax_r = axes[2 * (k // ncols), k % ncols], axes[2 * (k // ncols) + 1, k % ncols]
        drawn = False
        for system in systems:
            line = lines[(lines["disorder"] == name) & (lines["system"] == system)].sort_values("severity")
            if line.empty:
                continue
            drawn = True
            st = SYSTEM_STYLE.get(system, {})
            x, y = line["energy_pj_mean"].to_numpy(), line["accuracy_norm_mean"].to_numpy()
            ax_e.errorbar(x, y, xerr=[x - line["energy_pj_low"], line["energy_pj_high"] - x],
                          yerr=[y - line["accuracy_norm_low"], line["accuracy_norm_high"] - y],
                          marker="o", markersize=3, capsize=2, label=SYSTEM_LABELS.get(system, system), **st)
            for xi, yi, sev in zip(x, y, line["severity"]):
                ax_e.annotate(f"{sev:g}", (xi, yi), textcoords="offset points", xytext=(3, 3), fontsize=6,
                              color=st.get("color", "0.3"))
            rel = line["energy_rel_mean"].to_numpy()
            ax_r.plot(line["severity"], rel, marker="o", markersize=3, **st)
            ax_r.fill_between(line["severity"], line["energy_rel_low"], line["energy_rel_high"],
                              color=st.get("color"), alpha=0.2, linewidth=0)
        ax_e.axhline(0.0, color="0.5", ls=":", lw=1)
        ax_e.axhline(1.0, color="0.7", ls="-", lw=0.6)
        ax_e.set(xscale="log", title=name.replace("_", " "), xlabel="energy per sample (pJ)",
                 ylabel="normalised accuracy" if k % ncols == 0 else "", ylim=(-0.1, 1.15))
        ax_e.xaxis.set_minor_formatter(NullFormatter())  # labels at decades only: no overprinting
        if not drawn:
            ax_e.text(0.5, 0.5, "does not apply to any system\n(or no energy recorded)",
                      transform=ax_e.transAxes, ha="center", va="center", fontsize=7, color="0.35")
        ax_r.axhline(1.0, color="0.5", ls="--", lw=0.8)
        ax_r.set(xlabel="severity", xticks=severities, ylim=(0, None),
                 ylabel="energy / healthy energy" if k % ncols == 0 else "")
        ax_r.tick_params(axis="x", labelsize=7)
    for k in range(len(names), nrows * ncols):
        axes[2 * (k // ncols), k % ncols].set_visible(False)
        axes[2 * (k // ncols) + 1, k % ncols].set_visible(False)
    handles, labels = _legend_entries(axes)
    fig.legend(handles, labels, loc="outside lower center", ncols=max(len(labels), 1), frameon=False)
    fig.suptitle("What does each disorder do to accuracy and to the energy bill? Top: normalised accuracy "
                 "against energy per sample (bridge.energy: ANN MACs x 4.6 pJ, SNN synaptic events x 0.9 pJ, "
                 "Horowitz 2014), numbers = severity;\nbottom: energy relative to the same system's healthy "
                 f"energy. Mean and 95% bootstrap CI over {_n_seeds(table)} seed(s)", fontsize=9)
    return style.save(fig, out_dir, "lesions_energy")


def _ephys_pick(table, names, system) -> tuple[str, float] | None:
    """(disorder, severity) of the lesioned network shown for `system`: the first disorder that
    applies to it, at the middle one of the grid's severities above 0."""
    applies = table[(table["metric"] == "applies") & (table["system"] == system) & (table["value"] == 1)]
    for name in names:
        sev = sorted(s for s in applies[applies["disorder"] == name]["severity"].unique() if s > 0)
        if sev:
            return name, float(sev[len(sev) // 2])
    return None


def _ephys_figure(table, names, systems, out_dir):
    from . import ephys

    records, what, seeds = {}, [], set()
    for system in systems:
        pick = _ephys_pick(table, names, system)
        if pick is None:
            continue
        disorder, severity = pick
        label = SYSTEM_LABELS.get(system, system)
        for sev, cond in ((0.0, "healthy"), (severity, f"{disorder.replace('_', ' ')} {severity:g}")):
            found, seed = ephys.stored(table, out_dir, system=system, disorder=disorder, severity=sev)
            rec = found.get(label)
            if rec is not None:
                seeds.add(seed)
                first = rec.populations[0]  # the first hidden population, as in lesions_activity
                records[f"{label.split(' (')[0]}, {cond}"] = rec.select(first, np.arange(rec.n_neurons[first]))
        if any(k.startswith(label.split(" (")[0]) for k in records):
            what.append(label)
    if not records:
        return []
    rec = ephys.combine(records)
    title = (f"Spiking activity of the first hidden population, healthy and lesioned ({'; '.join(what)}; "
             f"seed {', '.join(map(str, sorted(seeds)))}): {rec.duration_s * 1e3:g} ms of test samples shown one after another, "
             f"up to {ephys.MAX_NEURONS} neurons per row")
    return ephys.figure(rec, out_dir, "lesions_ephys", title)
