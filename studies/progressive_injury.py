"""Progressive injury of a trained CNN (Tuladhar et al. 2021): neuronal vs synaptic, with and without retraining.

Question (Tuladhar, Moore, Ismail & Forkert 2021, Front. Neuroinform. 15:748370;
Moore et al. 2022, Neuroinformatics 21:45; Moore et al. 2023, Front. Comput.
Neurosci. 17:1274824): a convolutional network trained for object recognition
is injured in steps, each step on the already injured network, as a model of
neurodegeneration. Does its accuracy fall gracefully? Is neuronal injury
(whole units lost) or synaptic injury (single weights lost) worse? Does
retraining between the steps (plasticity) slow the decline?

Method. A small CNN (ann.models.CNN: two conv blocks with max pooling,
`channels` feature maps, dropout 0.25; no BatchNorm, like the standard VGG-19
(Simonyan & Zisserman 2015) the papers injured)
learns the 8x8 digits (ann.data.digits, the split of the seed). With BatchNorm
(`--set batch_norm=true`) the injured network without retraining collapses much
faster: the frozen running statistics no longer match the injured layer's
output, so every random cut also shifts the normalisation of every unit.

Then injury in steps: after step k a cumulative fraction `fractions[k]` is
lost, and every loss is permanent (ann.lesion masks, which stay zero under
training):
- synaptic: the `alzheimer` disorder (bridge.disorders; ann.lesion.prune at
  random) cuts (F_k - F_{k-1}) / (1 - F_{k-1}) of the weights each weight
  matrix still has, so exactly F_k of every layer's weights are gone;
- neuronal: F_k of the units of every hidden layer (the feature maps of each
  conv layer) are removed, nested (the dead of step k stay dead at step k+1).
  A removed unit loses its outgoing weights (an ann.lesion weight mask), so it
  sends nothing and nothing can relearn to use it; in the ANN that is exactly
  silencing its output, and the conversion below sees it (the conversion reads
  weights, not output hooks).
- recovery "retrain": after each injury step the network is fine-tuned for
  `retrain_epochs` epochs on the training split (bridge.systems.ANNSystem.retrained:
  backprop, lr `retrain_lr`); "none": no retraining.
At every step the ANN's test accuracy is measured, and the injured (retrained)
CNN is converted to ideal integrate-and-fire neurons (bridge.convert.to_snn,
current input) and run in Brian2 on `snn_test` test samples: accuracy read out
at `duration_ms` of simulated time (dt = `dt_ms`).

One point = one injury kind x recovery x seed and computes its whole schedule
(the steps depend on each other); accuracy comes back as rows per step.

Answer the figure gives (accuracy against the fraction lost, one panel per
injury kind, ANN and converted SNN, with and without retraining, mean and 95%
bootstrap CI over seeds): see `summary` and the README for the numbers, beside
the papers' statements. `progressive_injury_ephys` shows the converted SNN's second
hidden layer, the first that receives from injured units (raster, population rate, ISI and CV distributions) healthy and after the
last step of each injury without retraining, from the spike records the points keep
(studies.ephys: the first and last step of each point, test samples one after another). Where we differ: the papers injured VGG-19 (ImageNet /
Imagenette) in many small steps; here a CNN of a few thousand weights on 8x8
digits, so the fractions at which accuracy breaks are not comparable, only the
shape of the curves and the order of the conditions.

Sizes: `brainbridge run progressive_injury` is the full study (5 seeds, 9
steps to 90%, converted SNN on 200 test samples, cython; 7 min of compute, 3.4 min on 2 workers
plus a one-off Brian2 compilation); `--quick` uses 3 seeds, 5 steps to 80% and
100 SNN test samples; TINY (the tests) 1 seed, 2 steps, a (4, 8) CNN, numpy.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import trained
from .params import axis, param

VERSION = 1
INJURIES = ("neuronal", "synaptic")
RECOVERIES = ("none", "retrain")
CHANCE = 0.1  # ten balanced digit classes


@dataclass(frozen=True)
class Params:
    injury: tuple[str, ...] = axis(*INJURIES, choices=INJURIES)
    recovery: tuple[str, ...] = axis(*RECOVERIES, choices=RECOVERIES)
    fractions: tuple[float, ...] = param((0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9),
                                         at_least=0.0, below=1.0)  # cumulative loss after each step
    channels: tuple[int, ...] = param((16, 32), at_least=1)  # feature maps of the conv blocks
    batch_norm: bool = False                                  # the papers' VGG-19 has none (see above)
    epochs: int = param(20, at_least=1)                       # training of the healthy CNN
    retrain_epochs: int = param(2, at_least=1)                # fine-tuning after each step
    retrain_lr: float = param(1e-3, above=0.0)
    snn: bool = True                                          # also run the converted SNN
    snn_test: int = param(200, at_least=1)                    # test samples the SNN classifies
    n_calibration: int = param(500, at_least=1)               # training samples for the conversion
    duration_ms: float = param(30.0, above=0.0)               # simulated time per sample
    dt_ms: float = param(1.0, above=0.0)
    target: str = param("cython", choices=("numpy", "cython", "cpp_standalone"))
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)


TINY = Params(fractions=(0.0, 0.4), channels=(4, 8), epochs=15, retrain_epochs=2, snn_test=20,
              n_calibration=100, duration_ms=20.0, target="numpy", seeds=(0,))
QUICK = Params(fractions=(0.0, 0.2, 0.4, 0.6, 0.7, 0.8), epochs=15, snn_test=100, seeds=(0, 1, 2))


def check(p: Params) -> None:
    f = np.asarray(p.fractions)
    if len(f) < 2 or f[0] != 0.0 or np.any(np.diff(f) <= 0):
        raise ValueError(f"fractions must start at 0 and increase (one value per injury step), "
                         f"got {p.fractions}")


@functools.lru_cache(maxsize=trained.KEEP)  # one per seed and setting: see studies.trained
def healthy(channels: tuple[int, ...], batch_norm: bool, epochs: int, seed: int):
    """The CNN trained on the digit split of `seed` (cached: the four conditions of a seed
    share it). Returns an ann model in eval mode."""
    import torch

    from ann import models, train

    from . import trained

    torch.manual_seed(seed)
    net = models.CNN(channels=channels, batch_norm=batch_norm)
    train.fit(net, trained.digits(seed).train, epochs=epochs, seed=seed, progress=False, device="cpu")
    return net.eval()


def removal_order(model, seed: int) -> list[np.ndarray]:
    """For each hidden layer, its units in the order they die: a seeded permutation of
    range(n units) per layer (feature maps of conv layers), so every step's dead units
    include the previous step's."""
    from ann import lesion

    modules = dict(model.named_modules())
    sizes = [modules[name].weight.shape[0] for name in lesion.weighted_layers(model)[:-1]]
    return [np.random.default_rng([seed, 17, k]).permutation(n) for k, n in enumerate(sizes)]


def remove_units(model, order: list[np.ndarray], fraction: float):
    """A copy of `model` without the first round(fraction * n) units of each hidden layer
    in `order`: their outgoing weights (the next weighted layer's input columns; all the
    positions of a feature map after a Flatten) are cut by an ann.lesion weight mask."""
    import copy

    import torch

    from ann import lesion

    model = copy.deepcopy(model)
    modules = dict(model.named_modules())
    names = lesion.weighted_layers(model)
    for k, units in enumerate(order):
        dead = units[:int(round(fraction * len(units)))]
        if not len(dead):
            continue
        nxt = modules[names[k + 1]]
        w = nxt.weight  # (out, in, ...) with in = n units (conv) or n units * positions (after Flatten)
        keep = torch.ones(w.shape, dtype=torch.bool)
        keep.view(w.shape[0], len(units), -1)[:, torch.as_tensor(dead), :] = False
        # the mask mechanism prune uses: combined with earlier masks, kept at zero under training
        lesion._add_weight_mask(nxt, {"weight": keep})
    return model


def injure(system, injury: str, order, before: float, after: float, seed: int, step: int):
    """One injury step: from a cumulative loss `before` to `after` (fractions in [0, 1))."""
    from bridge import disorders

    if injury == "neuronal":
        return system.with_core(remove_units(system.core, order, after))
    of_remaining = (after - before) / (1.0 - before)
    return disorders.get("alzheimer", of_remaining, seed=seed * 1000 + step).apply(system)


def cut_fraction(model) -> float:
    """Fraction of all weights (every weighted layer) held at zero by lesion masks."""
    from ann import lesion

    masks = lesion.weight_masks(model)
    modules = dict(model.named_modules())
    total = sum(modules[n].weight.numel() for n in lesion.weighted_layers(model))
    return float(sum((~m).sum().item() for m in masks.values()) / total)


def snn_accuracy(model, p: Params, seed: int, keep: str | None = None) -> tuple[float, float, dict]:
    """(SNN accuracy, ANN accuracy, record rows) on the first snn_test test samples: `model`
    converted to IF neurons and read out after duration_ms of simulated time, and `model`
    itself. keep: also return the SNN's spike record as studies.ephys rows of that network
    name (its layers, the samples laid one after another); else {}."""
    from ann import train
    from bridge import convert

    from . import trained

    ds = trained.digits(seed)
    snn = convert.to_snn(model, calibration=ds.train.x[:p.n_calibration], neuron="if")
    test = ds.test.subset(np.arange(min(p.snn_test, len(ds.test))))
    res = snn.evaluate(test, duration_ms=p.duration_ms, dt_ms=p.dt_ms, target=p.target, seed=seed)
    rows = {}
    if keep is not None:
        from . import ephys

        rows = ephys.rows(ephys.cut(res.record, snn.populations, in_sequence=True), keep)
    return float(res.accuracy), float(train.evaluate(model, test, device="cpu")), rows


def point(p: Params, seed: int) -> dict:
    """Injure the CNN of `seed` step by step. Per step (rows with columns step and fraction): the
    ANN's test accuracy, the converted SNN's accuracy on the first snn_test test samples and the
    ANN's on the same samples (ann_snn_subset), and the fraction of all weights cut; the converted
    SNN's spike records at the first and last step (studies.ephys, networks "step <k>")."""
    from bridge.systems import ANNSystem

    from . import trained

    ds = trained.digits(seed)
    system = ANNSystem(healthy(p.channels, p.batch_norm, p.epochs, seed), epochs=p.retrain_epochs,
                       lr=p.retrain_lr, label="CNN (backprop)")
    order = removal_order(system.core, seed)
    rows = {"accuracy": [], "snn_accuracy": [], "ann_snn_subset": [], "weights_cut": []}
    records = []
    for step, fraction in enumerate(p.fractions):
        if step > 0:
            system = injure(system, p.injury, order, p.fractions[step - 1], fraction, seed, step)
            if p.recovery == "retrain":
                system = system.retrained(ds.train, seed=seed * 1000 + step)
        model = system.core.eval()
        where = {"step": step, "fraction": float(fraction)}
        rows["accuracy"].append({**where, "value": system.evaluate(ds.test).accuracy})
        rows["weights_cut"].append({**where, "value": cut_fraction(model)})
        if p.snn:
            keep = f"step {step}" if step in (0, len(p.fractions) - 1) else None
            snn, ann, kept = snn_accuracy(model, p, seed, keep)
            rows["snn_accuracy"].append({**where, "value": snn})
            rows["ann_snn_subset"].append({**where, "value": ann})
            records.append(kept)
    from . import ephys

    return {k: v for k, v in rows.items() if v} | (ephys.merge(*records) if records else {})


# --------------------------------------------------------------------------- figures and summary

LABELS = {("accuracy", "none"): "ANN, no retraining", ("accuracy", "retrain"): "ANN, retraining",
          ("snn_accuracy", "none"): "converted SNN, no retraining",
          ("snn_accuracy", "retrain"): "converted SNN, retraining"}
COLORS = {"none": "#D55E00", "retrain": "#0072B2"}


def figures(table, out_dir: Path) -> list[Path]:
    """Accuracy against the fraction of units (neuronal) or weights (synaptic) lost, one panel per
    injury kind (shared axes), laid out like the accuracy-vs-injury curves of Tuladhar et al.
    (2021) and Moore et al. (2022, 2023); a third panel puts both kinds on one axis: the fraction of weights cut."""
    from . import style

    injuries = [i for i in INJURIES if i in set(table["injury"])]
    fig, axes = style.figure(ncols=len(injuries) + 1, squeeze=False, width=3.3 * (len(injuries) + 1))
    axes = axes[0]
    n_seeds = table["seed"].nunique()
    fractions = np.sort(table["fraction"].dropna().unique())
    n_snn = int(table["snn_test"].iloc[0]) if "snn_test" in table else "?"
    for ax, injury in zip(axes, injuries):
        part = table[table["injury"] == injury]
        for metric, dash in (("accuracy", "-"), ("snn_accuracy", "--")):
            for recovery in RECOVERIES:
                rows = part[(part["recovery"] == recovery) & (part["metric"] == metric)]
                if len(rows):
                    style.mean_spread(ax, rows, x="fraction", metric=metric, spread="boot95",
                                      label=LABELS[metric, recovery] + (f" ({n_snn} test samples)"
                                                                          if metric == "snn_accuracy" else ""),
                                      color=COLORS[recovery],
                                      linestyle=dash, markerfacecolor="white" if dash == "--" else None)
        ax.axhline(CHANCE, color="black", linewidth=0.6, linestyle=":", label="chance")
        what = "units (feature maps)" if injury == "neuronal" else "weights"
        ax.set(xlabel=f"fraction of {what} lost", ylabel="test accuracy", ylim=(0, 1.02),
               title=f"{injury} injury")
        ax.set_xticks(fractions, [f"{f:g}" for f in fractions], rotation=90 if len(fractions) > 6 else 0)
        if injury == injuries[0]:  # the panels share their lines: one legend
            ax.legend(title=f"mean, 95% CI over {n_seeds} seed(s)", loc="lower left", fontsize=6,
                      title_fontsize=7)
        elif ax.get_legend() is not None:  # style.mean_spread draws one on every panel
            ax.get_legend().remove()
    ax = axes[-1]
    acc = table[table["metric"] == "accuracy"]
    cut = table[table["metric"] == "weights_cut"].groupby(["injury", "fraction"])["value"].mean()
    for injury, marker in zip(INJURIES, ("o", "^")):
        for recovery in RECOVERIES:
            rows = acc[(acc["injury"] == injury) & (acc["recovery"] == recovery)]
            if rows.empty:
                continue
            mean = rows.groupby("fraction")["value"].mean()
            xs = [cut.get((injury, f), np.nan) for f in mean.index]
            ax.plot(xs, mean.to_numpy(), marker=marker, color=COLORS[recovery],
                    linestyle="-" if injury == "synaptic" else "-.", label=f"{injury}, {recovery}")
    ax.axhline(CHANCE, color="black", linewidth=0.6, linestyle=":")
    ax.set(xlabel="fraction of all weights cut", ylabel="ANN test accuracy (mean)",
           ylim=(0, 1.02), title="both injuries on one axis")
    ax.legend(fontsize=6, loc="lower left")
    fig.suptitle("Progressive injury of a trained CNN (digits): does retraining between steps slow "
                 "the decline?", fontsize=9)
    return style.save(fig, out_dir, "progressive_injury") + _ephys_figure(table, out_dir)


def _ephys_figure(table, out_dir: Path) -> list[Path]:
    """The converted SNN's second hidden layer: healthy (step 0) and after the last step of each
    injury without retraining. Not the first: a removed unit keeps firing and only its outgoing
    weights are cut, so neuronal injury shows downstream."""
    from . import ephys

    last = len(np.sort(table["step"].dropna().unique())) - 1 if "step" in table else 0
    records, seeds = {}, set()
    for injury in [i for i in INJURIES if i in set(table["injury"])]:
        found, seed = ephys.stored(table, out_dir, injury=injury, recovery="none")
        if not found:
            continue
        seeds.add(seed)
        pops = found["step 0"].populations
        first_pop = pops[1] if len(pops) > 2 else pops[0]
        if "healthy" not in records:
            records["healthy"] = found["step 0"].select(first_pop, np.arange(found["step 0"].n_neurons[first_pop]))
        end = found.get(f"step {last}")
        if end is not None and last > 0:
            f = float(table[(table["step"] == last)]["fraction"].iloc[0])
            records[f"{injury} injury, {f:g} lost"] = end.select(first_pop, np.arange(end.n_neurons[first_pop]))
    if not records:
        return []
    rec = ephys.combine(records)
    shown = int(round(rec.duration_s * 1e3 / float(table["duration_ms"].iloc[0])))
    title = (f"Converted CNN (IF neurons; seed {', '.join(map(str, sorted(seeds)))}), second hidden layer (first "
             f"{ephys.MAX_NEURONS} neurons at most): healthy and after the last injury step without retraining; "
             f"{shown} test samples shown one after another, {float(table['duration_ms'].iloc[0]):g} ms each "
             f"({rec.duration_s * 1e3:g} ms)")
    return ephys.figure(rec, out_dir, "progressive_injury_ephys", title)


def _per_seed_auc(table, metric: str):
    """Area under accuracy(fraction), divided by the fraction range, per injury, recovery, seed."""
    from .stats import auc

    return auc(table, metric, keys=("injury", "recovery"), x="fraction")


def summary(table) -> str:
    """Accuracy per step (mean over seeds) for each condition, then the papers' three claims
    beside ours: graceful decline, retraining slows it (paired AUC difference, 95% CI, Wilcoxon),
    neuronal vs synaptic, and how closely the converted SNN follows the ANN."""
    from .stats import bootstrap_ci, paired

    lines = []
    n_seeds = table["seed"].nunique()
    for metric in ("accuracy", "snn_accuracy"):
        rows = table[table["metric"] == metric]
        if rows.empty:
            continue
        mean = rows.groupby(["injury", "recovery", "fraction"])["value"].mean()
        lines.append(f"{'ANN' if metric == 'accuracy' else 'converted SNN'} test accuracy, mean over "
                     f"{n_seeds} seed(s), against the fraction lost:")
        for (injury, recovery), s in mean.groupby(level=[0, 1]):
            cells = "  ".join(f"{f:g}: {v:.3f}" for (_, _, f), v in s.items())
            lines.append(f"  {injury:<9} {recovery:<8} {cells}")
    acc = table[table["metric"] == "accuracy"]
    if acc.empty:
        return "\n".join(lines)
    per = _per_seed_auc(table, "accuracy")
    lines.append("")
    lines.append("claim (paper) | ours")
    # 1. graceful decline: the largest drop of one step, against the loss over the whole schedule
    mean = acc.groupby(["injury", "recovery", "fraction"])["value"].mean()
    for injury in INJURIES:
        if (injury, "none") not in mean.index.droplevel(2):
            continue
        s = mean[injury]["none"]
        drops = -np.diff(s.to_numpy())
        lines.append(f"progressive, graceful decline (Tuladhar et al. 2021: injured networks "
                     f"'progressively lost' recognition) | {injury}, no retraining: "
                     f"{s.iloc[0]:.3f} -> {s.iloc[-1]:.3f} over {len(s) - 1} steps, largest single-step "
                     f"drop {drops.max():.3f} (at {s.index[1 + int(np.argmax(drops))]:g})")
    # 2. retraining slows the decline
    for injury in INJURIES:
        part = per[per["injury"] == injury].rename(columns={"recovery": "system"})
        if set(part["system"]) >= set(RECOVERIES):
            d = paired(part, "retrain", "none", value="auc", by=()).iloc[0]
            lines.append(f"retraining between steps slows the decline (Moore et al. 2023) | {injury}: "
                         f"AUC retrain - none = {d.mean_diff:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}] "
                         f"(95% CI, {d.n_pairs} paired seeds, Wilcoxon p = {d.p_wilcoxon:.3g})")
    # 3. neuronal vs synaptic at equal fractions, without retraining
    part = per[per["recovery"] == "none"].rename(columns={"injury": "system"})
    if set(part["system"]) >= set(INJURIES):
        d = paired(part, "neuronal", "synaptic", value="auc", by=()).iloc[0]
        verdict = ("synaptic worse" if d.ci_low > 0 else "neuronal worse" if d.ci_high < 0
                   else "no clear difference")
        lines.append(f"synaptic injury hurts more than neuronal (Moore et al. 2022: 'much more pronounced "
                     f"for synaptic damage') | no retraining, same fraction lost: AUC neuronal - synaptic = "
                     f"{d.mean_diff:+.3f} [{d.ci_low:+.3f}, {d.ci_high:+.3f}] ({verdict})")
    # 4. the converted SNN follows the ANN
    snn = table[table["metric"] == "snn_accuracy"]
    ref = table[table["metric"] == "ann_snn_subset"]
    if len(snn) and len(ref):
        keys = ["injury", "recovery", "fraction", "seed"]
        both = ref.set_index(keys)["value"].to_frame("ann").join(snn.set_index(keys)["value"].rename("snn"),
                                                                  how="inner")
        gap = (both["snn"] - both["ann"]).to_numpy()
        m, lo, hi = bootstrap_ci(gap)
        lines.append(f"(ours only) the converted SNN follows its ANN through the schedule | SNN - ANN on the "
                     f"same test samples, every step and condition: {m:+.3f} [{lo:+.3f}, {hi:+.3f}], largest "
                     f"|gap| {np.nanmax(np.abs(gap)):.3f}")
    return "\n".join(lines)
