"""ANN-to-SNN conversion: accuracy and per-layer similarity versus simulated time.

Question: a ReLU network trained by backprop on the digits is converted into
spiking neurons simulated in Brian2 (rate coding, reset by subtraction). How
fast does the spiking network reach the ANN's accuracy, and what does each
choice cost: the normalisation of the weights (max, 99.9th percentile,
per-channel percentile), ideal integrate-and-fire versus leaky neurons with a
refractory period, and constant-current versus Poisson input?

Answer the figures give: `conversion_accuracy` shows accuracy against
simulated time, one panel per model × neuron × input, a line per normalisation
(mean ± s.d. over seeds) and the ANN's accuracy dashed. With ideal IF neurons
and constant-current input the SNN reaches the ANN within tens of
milliseconds; percentile normalisation converges faster than max (Rueckauer et
al. 2017, Fig. 3); Poisson input and leak both slow convergence and leave a
gap. `conversion_cka` shows the linear CKA (Kornblith et al. 2019) between
each layer's ANN activations and SNN rates read out up to each time: it rises
towards 1 as rates converge, deeper layers later. `conversion_energy` puts accuracy against
energy per sample (bridge.energy). `conversion_ephys` shows the electrophysiology of one
converted network (raster, population rate, ISI and CV distributions per layer) while it
classifies test samples one after another, from the spike record each point keeps
(studies.ephys): regular firing (CV near 0) is what rate coding with constant-current input
and reset by subtraction produces.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis

TIMES_MS = (4, 8, 16, 32, 64, 100, 200)


@dataclass(frozen=True)
class Params:
    model: tuple[str, ...] = axis("mlp", "cnn")
    normalisation: tuple[str, ...] = axis("max", "percentile", "channel")
    neuron: tuple[str, ...] = axis("if", "lif")
    input: tuple[str, ...] = axis("current", "poisson")
    percentile: float = 99.9
    duration_ms: float = 100.0       # readouts at every TIMES_MS up to this
    dt_ms: float = 1.0
    max_rate_hz: float = 1000.0      # rate standing for an activation of lambda (Poisson: max pixel rate)
    epochs: int = 30                 # ANN training
    hidden: int = 128                # MLP hidden units
    n_test: int = 0                  # 0: the whole test split
    target: str = "cython"           # Brian2 code generation
    seeds: tuple[int, ...] = (0, 1, 2)


TINY = Params(model=("mlp",), normalisation=("max", "percentile"), neuron=("if",),
              input=("current",), duration_ms=32.0, epochs=3, hidden=32, n_test=40,
              target="numpy", seeds=(0,))
QUICK = Params(normalisation=("max", "percentile"), neuron=("if",), input=("current", "poisson"),
               epochs=15, n_test=180, seeds=(0, 1))


def _model(name: str, hidden: int, seed: int):
    import torch
    from ann import models

    torch.manual_seed(seed)  # the initial weights: fit() seeds only the training order

    if name == "mlp":
        return models.MLP(64, [hidden], 10)
    if name == "cnn":
        return models.CNN(side=8, channels=(16, 32), out_features=10, batch_norm=True, pool="avg")
    raise ValueError(f"unknown model {name!r}; choose one of: mlp, cnn")


def point(p: Params, seed: int) -> dict[str, float]:
    """Train one ANN, convert it with one setting, and read out accuracy/CKA over time."""
    from ann import data, train
    from bridge import compare, convert

    ds = data.digits(seed=seed)
    test = ds.test if not p.n_test else ds.test.subset(np.arange(min(p.n_test, len(ds.test))))
    net = _model(p.model, p.hidden, seed)
    train.fit(net, ds.train, epochs=p.epochs, seed=seed, device="cpu", progress=False)
    ann_acc = train.evaluate(net, test)
    snn = convert.to_snn(net, calibration=ds.train.x, neuron=p.neuron, normalisation=p.normalisation,
                         percentile=p.percentile, input=p.input, max_rate_hz=p.max_rate_hz)
    res = snn.evaluate(test, duration_ms=p.duration_ms, dt_ms=p.dt_ms, target=p.target, seed=seed)
    out = {"ann_acc": ann_acc, "snn_acc": res.accuracy, "gap_pp": 100 * (ann_acc - res.accuracy),
           "sim_wall_s": res.wall_s}
    from . import ephys

    # the copies (one per test sample) laid one after another: one network's activity, <= 1 s
    out |= ephys.rows(ephys.cut(res.record, snn.populations, in_sequence=True), "converted")
    times = [t for t in TIMES_MS if t <= p.duration_ms]
    out["accuracy_t"] = [{"time_ms": float(t), "value": float(res.accuracy_t[int(round(t / p.dt_ms)) - 1])}
                         for t in times]
    # energy per sample (bridge.energy, Horowitz 2014 costs): the ANN's MACs against the SNN's
    # synaptic events up to each readout time (analog input: one MAC per input synapse and step)
    from bridge import energy

    out["ann_energy_pj"] = float(energy.ann_ledger(net, test.x[:1]).total_energy_pj[0])
    analog = {"in": lambda t: int(round(t / p.dt_ms))} if snn.input == "current" else None
    out["snn_energy_pj"] = [
        {"time_ms": float(t), "value": float(energy.snn_ledger(
            res.record, snn.net, len(test.x), t_stop_s=t * 1e-3,
            analog=None if analog is None else {"in": analog["in"](t)}).total_energy_pj.mean())}
        for t in times]
    acts = convert.ann_activations(net, test.x)
    n = len(test.x)
    out["cka"] = []
    for t in times:
        for pop in snn.populations:
            counts = res.record.spike_counts(pop, 0.0, t * 1e-3).reshape(n, -1)  # (N, n) sample-major
            out["cka"].append({"time_ms": float(t), "layer": pop,
                               "value": compare.linear_cka(acts[pop], counts.astype(float))})
    return out


def figures(table, out_dir: Path) -> list[Path]:
    from . import style

    paths = []
    acc = table[table["metric"] == "accuracy_t"]
    combos = acc[["neuron", "input"]].drop_duplicates().sort_values(["neuron", "input"]).values.tolist()
    models = sorted(acc["model"].unique())
    fig, axes = style.figure(len(models), len(combos), squeeze=False)
    for r, model in enumerate(models):
        for c, (neuron, inp) in enumerate(combos):
            ax = axes[r][c]
            part = acc[(acc["model"] == model) & (acc["neuron"] == neuron) & (acc["input"] == inp)]
            if part.empty:
                ax.set_visible(False)
                continue
            style.mean_spread(ax, part, "time_ms", "accuracy_t", by="normalisation")
            ann = table[(table["metric"] == "ann_acc") & (table["model"] == model)]["value"].mean()
            ax.axhline(ann, color="k", linestyle="--", linewidth=1, label=f"ANN {ann:.3f}")
            ax.set_xscale("log")
            ticks = sorted(part["time_ms"].unique())
            ax.set_xticks(ticks, [f"{t:g}" for t in ticks])  # the readout times
            ax.minorticks_off()
            ax.set_xlabel("simulated time (ms)")
            ax.set_ylabel("test accuracy")
            ax.set_title(f"{model.upper()}, {neuron.upper()} neurons, {inp} input")
            ax.legend(fontsize="small")
    fig.suptitle("Converted SNN accuracy vs simulated time (mean ± s.d. over seeds; dashed: ANN)")
    paths += style.save(fig, out_dir, "conversion_accuracy")

    cka = table[table["metric"] == "cka"]
    ref = cka[(cka["neuron"] == cka["neuron"].min()) & (cka["input"] == cka["input"].min())]
    norm = "percentile" if "percentile" in set(ref["normalisation"]) else ref["normalisation"].min()
    ref = ref[ref["normalisation"] == norm]
    fig, axes = style.figure(1, len(models), squeeze=False)
    for c, model in enumerate(models):
        ax = axes[0][c]
        part = ref[ref["model"] == model]
        style.mean_spread(ax, part, "time_ms", "cka", by="layer")
        ax.set_xscale("log")
        ticks = sorted(part["time_ms"].unique())
        ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax.minorticks_off()
        ax.set_ylim(0, 1.02)
        ax.set_xlabel("simulated time (ms)")
        ax.set_ylabel("linear CKA (ANN activation vs SNN rate)")
        ax.set_title(f"{model.upper()}: {ref['neuron'].min().upper()}, {ref['input'].min()} input, {norm}")
    fig.suptitle("Per-layer representational similarity vs simulated time")
    paths += style.save(fig, out_dir, "conversion_cka")
    paths += _energy_figure(table, out_dir)
    paths += _ephys_figure(table, out_dir)
    return paths


def _ephys_figure(table, out_dir: Path) -> list[Path]:
    """Raster, population rate, ISI and CV distributions of every layer of one converted
    network: the first model, neuron and input, percentile normalisation if run, lowest seed."""
    from . import ephys

    first = table.sort_values(["model", "neuron", "input"]).iloc[0]
    norms = set(table["normalisation"])
    norm = "percentile" if "percentile" in norms else sorted(norms)[0]
    where = {"model": first["model"], "neuron": first["neuron"], "input": first["input"], "normalisation": norm}
    recs, seed = ephys.stored(table, out_dir, **where)
    if "converted" not in recs:
        return []
    rec = recs["converted"]
    duration_ms = float(table["duration_ms"].iloc[0])
    shown = int(round(rec.duration_s * 1e3 / duration_ms))
    title = (f"Converted {where['model'].upper()} ({where['neuron'].upper()} neurons, {where['input']} input, "
             f"{norm} normalisation; seed {seed}): {shown} test samples shown one after "
             f"another, {duration_ms:g} ms each ({rec.duration_s * 1e3:g} ms); first "
             f"{ephys.MAX_NEURONS} neurons of each layer at most")
    return ephys.figure(rec, out_dir, "conversion_ephys", title)


def _energy_figure(table, out_dir: Path) -> list[Path]:
    """Accuracy against energy per sample: the SNN at each readout time, the ANN as a point."""
    from . import style

    en = table[table["metric"] == "snn_energy_pj"]
    if en.empty:
        return []
    keys = ["model", "normalisation", "neuron", "input", "seed", "time_ms"]
    acc = table[table["metric"] == "accuracy_t"][keys + ["value"]].rename(columns={"value": "accuracy"})
    both = en.merge(acc, on=keys)
    fig, axes = style.figure(1, len(set(both["model"])), squeeze=False)
    for ax, (model, part) in zip(axes[0], both.groupby("model")):
        for (neuron, inp), sub in part[part["normalisation"] == part["normalisation"].min()].groupby(["neuron", "input"]):
            g = sub.groupby("time_ms")[["value", "accuracy"]].mean()
            ax.plot(g["value"] / 1e3, g["accuracy"], marker="o", label=f"SNN {neuron.upper()}, {inp}")
        ann = table[(table["metric"] == "ann_energy_pj") & (table["model"] == model)]["value"].mean()
        ann_acc = table[(table["metric"] == "ann_acc") & (table["model"] == model)]["value"].mean()
        ax.plot([ann / 1e3], [ann_acc], marker="*", markersize=12, color="k", linestyle="none", label="ANN")
        ax.set(xscale="log", xlabel="energy per sample (nJ; Horowitz 2014: MAC 4.6 pJ, AC 0.9 pJ)",
               ylabel="test accuracy", title=f"{model.upper()}: accuracy vs energy (points: readout times)")
        ax.legend(fontsize="small")
    return style.save(fig, out_dir, "conversion_energy")


def summary(table) -> str:
    """A few lines for the terminal: the best setting's gap at the longest readout."""
    gap = table[table["metric"] == "gap_pp"]
    keys = ["model", "normalisation", "neuron", "input"]
    mean = gap.groupby(keys)["value"].mean().sort_values()
    lines = ["ANN - SNN accuracy gap at the end of the run (percentage points, mean over seeds):"]
    lines += [f"  {' / '.join(k)}: {v:+.2f}" for k, v in mean.items()]
    return "\n".join(lines)
