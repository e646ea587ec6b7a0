"""Flagship: train an ANN, convert it to spiking neurons, learn with STDP, compare, lesion.

Question: on the embedded 8×8 digits, how do an artificial network trained by
backprop, the same network converted into integrate-and-fire neurons simulated
in Brian2, and a spiking network that learns by itself with STDP (Diehl & Cook
2015) compare — in accuracy, in how the spiking network's accuracy builds up
over simulated time, in what each layer represents, and in how each degrades
as neurons die?

Answer the figure gives (`quickstart.png`, four panels): (a) the converted
network's accuracy climbs to the ANN's within a few tens of simulated
milliseconds; (b) per layer, the SNN's spike counts carry the same
representational geometry as the ANN's activations (linear CKA and RSA near 1
for hidden layers); (c) the three systems' test accuracies side by side, the
unsupervised STDP network below the supervised two; (d) accuracy versus the
fraction of neurons removed (neurodegeneration): all three fall to chance at
severity 1, and the figure shows which degrades more gracefully on the way.
The run prints the same findings as numbers. `quickstart_ephys` shows both spiking
networks at work (raster, population rate, ISI and CV distributions of every layer),
classifying test digits one after another, from the spike records the point keeps
(studies.ephys).
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

TIMES_MS = (2, 4, 8, 16, 32, 50)
VERSION = 2  # 2: the STDP record runs its test digits as network copies (bio.stdp.record)
STDP_RECORD = 5  # test digits the STDP network is recorded on (laid out one after another) for quickstart_ephys


@dataclass(frozen=True)
class Params:
    hidden: int = 128               # MLP hidden units
    epochs: int = 30                # ANN training epochs
    duration_ms: float = 50.0       # converted-SNN simulated time (dt = 1 ms)
    n_exc: int = 100                # STDP excitatory neurons
    stdp_epochs: int = 1            # passes over the STDP training samples
    stdp_train: int = 0             # STDP training samples (0: the whole training split)
    severities: tuple[float, ...] = (0.0, 0.25, 0.5, 0.75, 1.0)  # neuron loss
    n_test: int = 0                 # 0: the whole test split
    target: str = "cython"          # Brian2 code generation
    stdp_train_target: str = "cpp_standalone"  # the STDP training run: one long run, compiled whole
    seeds: tuple[int, ...] = (0,)


TINY = Params(hidden=16, epochs=3, duration_ms=16.0, n_exc=10, stdp_train=30, severities=(0.0, 1.0),
              n_test=30, target="numpy", stdp_train_target="numpy", seeds=(0,))


def _systems(p: Params, seed: int, n_train: int) -> dict:
    """The three compared systems (bridge.systems), trained on the seed's split, each in a
    named phase: a new user sees what the first minutes go to."""
    from . import progress, trained

    with progress.phase(f"training the ANN (backprop, {p.epochs} epochs)"):
        ann = trained.ann(p.hidden, p.epochs, seed)
    with progress.phase("converting it to IF neurons"):
        converted = trained.converted(p.hidden, p.epochs, "if", p.duration_ms, p.target, seed)
    with progress.phase(f"STDP learning ({n_train} training digits x {p.stdp_epochs} epoch(s); the first "
                        "run on a machine compiles the network's Brian2 code first)"):
        stdp = trained.stdp(p.n_exc, p.stdp_epochs, p.target, seed, p.stdp_train, n_record=STDP_RECORD,
                            progress=not progress.quiet(), train_target=p.stdp_train_target)
    return {"ann": ann, "converted": converted, "stdp": stdp}


def point(p: Params, seed: int) -> dict:
    """The whole comparison for one seed: accuracies, accuracy over time, CKA/RSA, lesions.

    Swept quantities are columns, not parts of metric names: a metric is a list of rows
    such as {"system": "ann", "severity": 0.5, "value": 0.91} (the runner writes each
    row of results.csv with those columns).
    """
    from bridge import compare, disorders

    from . import progress, trained

    ds = trained.digits(seed)
    test = ds.test if not p.n_test else ds.test.subset(np.arange(min(p.n_test, len(ds.test))))
    systems = _systems(p, seed, len(trained.training_subset(seed, p.stdp_train).x))
    accuracy, lesioned = [], []
    with progress.phase("simulating the healthy systems"):
        scores = {name: s.evaluate(test, seed=seed) for name, s in systems.items()}
    for name, score in scores.items():
        accuracy.append({"system": name, "value": score.accuracy})
    conv = systems["converted"].snn.evaluate(test, duration_ms=p.duration_ms, target=p.target, seed=seed)
    over_time = [{"system": "converted", "time_ms": float(t), "value": float(conv.accuracy_t[t - 1])}
                 for t in TIMES_MS if t <= p.duration_ms]
    from bridge import convert

    ann_acts = convert.ann_activations(systems["ann"].model, test.x)
    similarity = []
    for layer, sc in compare.compare_layers(ann_acts, conv.activations).items():
        similarity += [{"layer": layer, "measure": "cka", "value": sc["cka"]},
                       {"layer": layer, "measure": "rsa", "value": sc["rsa"]}]
    with progress.phase("lesions (neurodegeneration)", total=len(p.severities) * len(systems)) as bar:
        for sev in p.severities:
            lesion = disorders.get("neurodegeneration", severity=sev, seed=seed)
            for name, system in systems.items():
                lesioned.append({"system": name, "severity": float(sev),
                                 "value": lesion.apply(system).evaluate(test, seed=seed).accuracy})
                bar.update(1)
    from . import ephys

    # spike records for quickstart_ephys: the network's own layers, test digits one after another
    kept = [ephys.rows(ephys.cut(conv.record, systems["converted"].snn.populations, in_sequence=True),
                       "converted SNN (IF)")]
    stdp_rec = scores["stdp"].record
    if stdp_rec is not None:
        own = [q for q in stdp_rec.populations if not systems["stdp"].core.populations[q].is_source]
        kept.append(ephys.rows(ephys.cut(stdp_rec, own), "STDP SNN"))
    return {"accuracy": accuracy, "accuracy_over_time": over_time, "similarity": similarity,
            "lesioned_accuracy": lesioned, **ephys.merge(*kept)}


def _mean(table, metric: str, **where) -> float:
    rows = table[table["metric"] == metric]
    for col, val in where.items():
        rows = rows[rows[col] == val]
    return float(rows["value"].mean())


SYSTEMS = (("ann", "backprop ANN"), ("converted", "converted SNN (IF)"), ("stdp", "STDP SNN"))


def summary(table) -> str:
    ann, conv, stdp = (_mean(table, "accuracy", system=s) for s, _ in SYSTEMS)
    t = table[table["metric"] == "accuracy_over_time"].groupby("time_ms")["value"].mean()
    reach = next((int(tt) for tt, mm in t.items() if mm >= ann - 0.01), None)
    sim = table[table["metric"] == "similarity"].groupby(["layer", "measure"])["value"].mean()
    layers = sorted({k[0] for k in sim.index})
    lines = [f"test accuracy: backprop ANN {ann:.3f}, converted SNN {conv:.3f}, STDP SNN {stdp:.3f}",
             ("converted SNN within 1 point of the ANN after "
              + (f"{reach} ms of simulated time" if reach else "more time than simulated")),
             "per-layer CKA / RSA (ANN vs SNN): "
             + ", ".join(f"{k} {sim[(k, 'cka')]:.2f}/{sim[(k, 'rsa')]:.2f}" for k in layers)]
    les = table[table["metric"] == "lesioned_accuracy"].groupby(["severity", "system"])["value"].mean()
    for sev in sorted({k[0] for k in les.index}):
        lines.append(f"neuron loss {sev:.0%}: " + ", ".join(
            f"{label} {les[(sev, s)]:.3f}" for s, label in SYSTEMS if (sev, s) in les.index))
    return "\n".join(lines)


def figures(table, out_dir: Path) -> list[Path]:
    from . import style

    n_seeds = table["seed"].nunique()
    fig, axes = style.figure(2, 2)
    (a, b), (c, d) = axes

    t = table[table["metric"] == "accuracy_over_time"].groupby("time_ms")["value"]
    a.errorbar(t.mean().index, t.mean().values, yerr=t.std().fillna(0).values, marker="o", capsize=3,
               label="converted SNN")
    a.axhline(_mean(table, "accuracy", system="ann"), color="k", linestyle="--", label="ANN")
    a.axhline(0.1, color="grey", linestyle=":", label="chance")
    a.set(xscale="log", xlabel="simulated time (ms)", ylabel="test accuracy", ylim=(0, 1.02),
          title="(a) SNN accuracy builds up over time")
    a.set_xticks(t.mean().index, [f"{v:g}" for v in t.mean().index])  # the readout times
    a.minorticks_off()
    a.legend(fontsize="small")

    sim = table[table["metric"] == "similarity"].groupby(["layer", "measure"])["value"].mean()
    layers = sorted({k[0] for k in sim.index}, key=lambda k: (k == "out", k))
    x = np.arange(len(layers))
    b.bar(x - 0.2, [sim[(k, "cka")] for k in layers], 0.4, label="linear CKA")
    b.bar(x + 0.2, [sim[(k, "rsa")] for k in layers], 0.4, label="RSA (Spearman)")
    b.set(xticks=x, xticklabels=layers, ylim=(0, 1.3), yticks=np.linspace(0, 1, 6), xlabel="layer",
          ylabel="similarity", title="(b) ANN activations vs SNN rates")
    b.legend(fontsize="small", loc="upper center", ncols=2)

    names = [label.replace(" ", "\n", 1) for _, label in SYSTEMS]
    vals = [_mean(table, "accuracy", system=s) for s, _ in SYSTEMS]
    bars = c.bar(names, vals, color=["C0", "C1", "C2"])
    c.bar_label(bars, fmt="%.3f")
    c.set(ylim=(0, 1.1), ylabel="test accuracy", title="(c) The three systems on digits")
    c.tick_params(axis="x", labelsize="small")

    les = table[table["metric"] == "lesioned_accuracy"]
    for s, label in SYSTEMS:
        g = les[les["system"] == s].groupby("severity")["value"]
        if len(g):
            d.errorbar(g.mean().index, g.mean().values, yerr=g.std().fillna(0).values, marker="o",
                       capsize=3, label=label)
    d.axhline(0.1, color="grey", linestyle=":", label="chance")
    sev = sorted(les["severity"].dropna().unique())
    d.set(xlabel="fraction of neurons removed", ylabel="test accuracy", ylim=(0, 1.02), xticks=sev,
          title="(d) Neurodegeneration")
    d.legend(fontsize="small")
    spread = f"mean $\\pm$ SD over {n_seeds} seeds" if n_seeds > 1 else "one seed"
    fig.suptitle(f"brainbridge quickstart: digits 8×8, backprop ANN vs converted SNN vs STDP SNN ({spread})")
    return style.save(fig, out_dir, "quickstart") + _ephys_figure(table, out_dir)


def _ephys_figure(table, out_dir: Path) -> list[Path]:
    """Every layer of the converted SNN and of the STDP SNN while they classify test digits."""
    from . import ephys

    found, seed = ephys.stored(table, out_dir)
    if not found:
        return []
    rec = ephys.combine(found)
    duration_ms = float(table["duration_ms"].iloc[0])
    title = (f"The two spiking networks of the quickstart at work (seed {seed}), {rec.duration_s * 1e3:g} ms: the "
             f"converted SNN shown test digits one after another ({duration_ms:g} ms each), the STDP SNN its first "
             f"{STDP_RECORD} test digits (each shown, then a rest); first {ephys.MAX_NEURONS} neurons per layer at most")
    return ephys.figure(rec, out_dir, "quickstart_ephys", title)
