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
The run prints the same findings as numbers.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

TIMES_MS = (2, 4, 8, 16, 32, 50)


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
    seeds: tuple[int, ...] = (0,)


TINY = Params(hidden=16, epochs=3, duration_ms=16.0, n_exc=10, stdp_train=30, severities=(0.0, 1.0),
              n_test=30, target="numpy", seeds=(0,))


def _mlp(hidden: int, seed: int):
    import torch
    from ann import models

    torch.manual_seed(seed)  # initial weights; fit() seeds only the batch order
    return models.MLP(64, [hidden], 10)


def point(p: Params, seed: int) -> dict[str, float]:
    """The whole comparison for one seed: accuracies, accuracy over time, CKA/RSA, lesions."""
    from ann import data, train
    from bio.stdp_learner import DiehlCook
    from bridge import compare, convert, disorders

    ds = data.digits(seed=seed)
    test = ds.test if not p.n_test else ds.test.subset(np.arange(min(p.n_test, len(ds.test))))
    stdp_set = ds.train if not p.stdp_train else ds.train.subset(np.arange(min(p.stdp_train, len(ds.train))))

    net = _mlp(p.hidden, seed)
    train.fit(net, ds.train, epochs=p.epochs, seed=seed, device="cpu", progress=False)
    snn = convert.to_snn(net, calibration=ds.train.x, neuron="if", normalisation="percentile")
    res = snn.evaluate(test, duration_ms=p.duration_ms, target=p.target, seed=seed)
    out = {"ann_acc": train.evaluate(net, test), "converted_acc": res.accuracy}
    for t in (t for t in TIMES_MS if t <= p.duration_ms):
        out[f"converted_acc@t{t}ms"] = float(res.accuracy_t[t - 1])
    acts = convert.ann_activations(net, test.x)
    for layer, scores in compare.compare_layers(acts, res.activations).items():
        out[f"cka_{layer}"], out[f"rsa_{layer}"] = scores["cka"], scores["rsa"]

    stdp = DiehlCook(n_exc=p.n_exc, seed=seed).fit(stdp_set.x, stdp_set.y, epochs=p.stdp_epochs,
                                                  target=p.target, seed=seed, progress=True)
    out["stdp_acc"] = stdp.evaluate(test.x, test.y, target=p.target, seed=seed)

    for s in p.severities:
        lesion = disorders.get("neurodegeneration", severity=s, seed=seed)
        out[f"ann_acc@loss{s:g}"] = train.evaluate(lesion.apply(net), test)
        sick = lesion.apply(snn).evaluate(test, duration_ms=p.duration_ms, target=p.target, seed=seed)
        out[f"converted_acc@loss{s:g}"] = sick.accuracy
        out[f"stdp_acc@loss{s:g}"] = lesion.apply(stdp).evaluate(test.x, test.y, target=p.target, seed=seed)
    return out


def _series(table, prefix: str, tag: str):
    """(x, mean, sd) of metrics '<prefix>@<tag><x>' averaged over seeds."""
    rows = table[table["metric"].str.startswith(f"{prefix}@{tag}")]
    x = rows["metric"].str.slice(len(prefix) + 1 + len(tag)).str.replace("ms", "").astype(float)
    g = rows.assign(x=x).groupby("x")["value"]
    return g.mean().index.values, g.mean().values, g.std().fillna(0).values


def _mean(table, metric: str) -> float:
    return float(table.loc[table["metric"] == metric, "value"].mean())


SYSTEMS = (("ann_acc", "backprop ANN"), ("converted_acc", "converted SNN (IF)"), ("stdp_acc", "STDP SNN"))


def figures(table, out_dir: Path) -> list[Path]:
    from . import style

    fig, axes = style.figure(2, 2)
    (a, b), (c, d) = axes

    t, m, s = _series(table, "converted_acc", "t")
    a.errorbar(t, m, yerr=s, marker="o", capsize=3, label="converted SNN")
    a.axhline(_mean(table, "ann_acc"), color="k", linestyle="--", label="ANN")
    a.axhline(0.1, color="grey", linestyle=":", label="chance")
    a.set(xscale="log", xlabel="simulated time (ms)", ylabel="test accuracy", ylim=(0, 1.02),
          title="(a) SNN accuracy builds up over time")
    a.set_xticks(t, [f"{v:g}" for v in t])  # label the readout times, not log decades
    a.minorticks_off()
    a.legend(fontsize="small")

    layers = sorted({m[4:] for m in table["metric"] if m.startswith("cka_")}, key=lambda k: (k == "out", k))
    x = np.arange(len(layers))
    b.bar(x - 0.2, [_mean(table, f"cka_{k}") for k in layers], 0.4, label="linear CKA")
    b.bar(x + 0.2, [_mean(table, f"rsa_{k}") for k in layers], 0.4, label="RSA (Spearman)")
    b.set(xticks=x, xticklabels=layers, ylim=(0, 1.3), yticks=np.linspace(0, 1, 6), xlabel="layer",
          ylabel="similarity", title="(b) ANN activations vs SNN rates")
    b.legend(fontsize="small", loc="upper center", ncols=2)

    names = [label.replace(" ", "\n", 1) for _, label in SYSTEMS]
    vals = [_mean(table, m) for m, _ in SYSTEMS]
    bars = c.bar(names, vals, color=["C0", "C1", "C2"])
    c.bar_label(bars, fmt="%.3f")
    c.set(ylim=(0, 1.1), ylabel="test accuracy", title="(c) The three systems on digits")
    c.tick_params(axis="x", labelsize="small")

    for metric, label in SYSTEMS:
        sev, m, s = _series(table, metric, "loss")
        if len(sev):
            d.errorbar(sev, m, yerr=s, marker="o", capsize=3, label=label)
    d.axhline(0.1, color="grey", linestyle=":", label="chance")
    d.set(xlabel="fraction of neurons removed", ylabel="test accuracy", ylim=(0, 1.02),
          title="(d) Neurodegeneration")
    d.legend(fontsize="small")
    fig.suptitle("brainbridge quickstart: digits 8×8, backprop ANN vs converted SNN vs STDP SNN")
    return style.save(fig, out_dir, "quickstart")


def summary(table) -> str:
    ann, conv, stdp = (_mean(table, m) for m, _ in SYSTEMS)
    t, m, _ = _series(table, "converted_acc", "t")
    reach = next((int(tt) for tt, mm in zip(t, m) if mm >= ann - 0.01), None)
    layers = sorted({k[4:] for k in table["metric"] if k.startswith("cka_")})
    sev, _, _ = _series(table, "ann_acc", "loss")
    lines = [f"test accuracy: backprop ANN {ann:.3f}, converted SNN {conv:.3f}, STDP SNN {stdp:.3f}",
             ("converted SNN within 1 point of the ANN after "
              + (f"{reach} ms of simulated time" if reach else "more time than simulated")),
             "per-layer CKA / RSA (ANN vs SNN): "
             + ", ".join(f"{k} {_mean(table, 'cka_' + k):.2f}/{_mean(table, 'rsa_' + k):.2f}" for k in layers)]
    for s in sev:
        lines.append(f"neuron loss {s:.0%}: " + ", ".join(
            f"{label} {_mean(table, f'{metric}@loss{s:g}'):.3f}" for metric, label in SYSTEMS))
    return "\n".join(lines)
