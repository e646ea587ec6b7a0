"""Learning in the two systems: backprop ANN, STDP SNN and converted SNN versus samples seen.

Question: on the same digits, shown the same stream of training samples, how
quickly does each system learn? A backprop MLP (supervised, gradient descent),
an unsupervised spiking network learning by STDP (Diehl & Cook 2015; neurons
labelled afterwards from the same samples), and the spiking network converted
from the backprop MLP (it inherits the ANN's accuracy at every stage). And how
well does each transfer: trained on digits 0–4, how well does it do on 5–9
given a few samples of them?

Answer the figures give: `learning_curves` shows test accuracy against the
number of training samples seen (log axis; mean ± s.d. over seeds). STDP,
which only has to label features it found without labels, is competitive when
few samples have been seen; backprop overtakes it as samples accumulate and
ends higher; the converted SNN tracks the ANN. `learning_transfer` shows the
5–9 task: a backprop network whose hidden layer was trained on 0–4 (only a new
read-out trained) against one trained from scratch on the same 5–9 samples,
and the STDP network whose unsupervised features were learned on 0–4 and only
relabelled on 5–9.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis


@dataclass(frozen=True)
class Params:
    samples_seen: tuple[int, ...] = axis(100, 300, 1000, 3000)
    system: tuple[str, ...] = axis("backprop", "stdp", "transfer")
    hidden: int = 128               # MLP hidden units
    batch_size: int = 32
    lr: float = 2e-3
    n_exc: int = 100                # STDP excitatory neurons
    pretrain_samples: int = 1500    # transfer: samples of 0-4 seen before the switch
    duration_ms: float = 50.0       # converted-SNN readout time
    n_test: int = 0                 # 0: the whole test split
    target: str = "cython"          # Brian2 code generation
    seeds: tuple[int, ...] = (0, 1, 2)


TINY = Params(samples_seen=(30,), system=("backprop", "stdp", "transfer"), hidden=16, n_exc=10,
              pretrain_samples=30, duration_ms=20.0, n_test=30, target="numpy", seeds=(0,))
QUICK = Params(samples_seen=(100, 1000), n_exc=50, pretrain_samples=600, n_test=150, seeds=(0, 1))


def stream(split, n: int, seed: int):
    """The first n samples of a seeded stream cycling through `split` in fresh random orders."""
    rng = np.random.default_rng(seed)
    reps = -(-n // len(split))  # ceil
    order = np.concatenate([rng.permutation(len(split)) for _ in range(reps)])[:n]
    return split.subset(order)


def _mlp(hidden: int, out: int, seed: int):
    import torch
    from ann import models

    torch.manual_seed(seed)  # initial weights; fit() seeds only the batch order
    return models.MLP(64, [hidden], out)


def _fit(net, split, p: Params, seed: int):
    from ann import train

    # one pass over the stream at a constant rate: "samples seen" is all the training there is
    train.fit(net, split, epochs=1, batch_size=p.batch_size, lr=p.lr, schedule="constant",
              seed=seed, device="cpu", val_fraction=0.0, progress=False)


def _test(ds, n_test: int):
    return ds.test if not n_test else ds.test.subset(np.arange(min(n_test, len(ds.test))))


def point(p: Params, seed: int) -> dict[str, float]:
    """One system after `samples_seen` samples; returns its test accuracies."""
    from ann import data, train

    ds = data.digits(seed=seed)
    n = p.samples_seen
    if p.system == "backprop":
        from bridge import convert

        test = _test(ds, p.n_test)
        net = _mlp(p.hidden, 10, seed)
        _fit(net, stream(ds.train, n, seed), p, seed)
        snn = convert.to_snn(net, calibration=ds.train.x, neuron="if", normalisation="percentile")
        res = snn.evaluate(test, duration_ms=p.duration_ms, target=p.target, seed=seed)
        return {"ann_acc": train.evaluate(net, test), "converted_acc": res.accuracy}
    if p.system == "stdp":
        from bio.stdp_learner import DiehlCook

        test = _test(ds, p.n_test)
        seen = stream(ds.train, n, seed)
        # one pass over the stream; labels come from the samples seen (training data only)
        net = DiehlCook(n_exc=p.n_exc, seed=seed).fit(seen.x, seen.y, epochs=1, target=p.target,
                                                      seed=seed, progress=False)
        return {"stdp_acc": net.evaluate(test.x, test.y, target=p.target, seed=seed)}
    if p.system == "transfer":
        from bio.stdp_learner import DiehlCook

        old, new = ds.select_classes(range(5)), ds.select_classes(range(5, 10))
        test = _test(new, p.n_test)
        pre, seen = stream(old.train, p.pretrain_samples, seed), stream(new.train, n, seed)
        scratch = _mlp(p.hidden, 5, seed)
        _fit(scratch, seen, p, seed)
        transfer = _mlp(p.hidden, 5, seed)
        _fit(transfer, pre, p, seed)
        train.fine_tune(transfer, seen, freeze=[0], new_head=5, epochs=1, batch_size=p.batch_size,
                        lr=p.lr, schedule="constant", seed=seed, device="cpu", val_fraction=0.0,
                        progress=False)
        stdp = DiehlCook(n_exc=p.n_exc, seed=seed).fit(pre.x, pre.y, epochs=1, target=p.target,
                                                       seed=seed, progress=False)
        stdp.label(seen.x, seen.y, target=p.target, seed=seed)  # relabel on 5-9, weights kept
        return {"ann_scratch_acc": train.evaluate(scratch, test),
                "ann_transfer_acc": train.evaluate(transfer, test),
                "stdp_transfer_acc": stdp.evaluate(test.x, test.y, target=p.target, seed=seed)}
    raise ValueError(f"unknown system {p.system!r}; choose one of: backprop, stdp, transfer")


_LABELS = {"ann_acc": "backprop ANN", "converted_acc": "converted SNN (IF)", "stdp_acc": "STDP SNN",
           "ann_scratch_acc": "ANN from scratch on 5–9", "ann_transfer_acc": "ANN, hidden layer from 0–4",
           "stdp_transfer_acc": "STDP features from 0–4, relabelled"}


def _panel(ax, table, metrics, title, chance):
    from . import style

    for m in metrics:
        if (table["metric"] == m).any():
            style.mean_spread(ax, table, "samples_seen", m, label=_LABELS[m])
    ax.axhline(chance, color="grey", linestyle=":", linewidth=1, label=f"chance {chance:.1f}")
    ax.set_xscale("log")
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("training samples seen")
    ax.set_ylabel("test accuracy")
    ax.set_title(title)
    ax.legend(fontsize="small")


def figures(table, out_dir: Path) -> list[Path]:
    from . import style

    paths = []
    if table["metric"].isin(["ann_acc", "stdp_acc"]).any():
        fig, ax = style.figure()
        _panel(ax, table, ["ann_acc", "converted_acc", "stdp_acc"],
               "Digits 0–9: accuracy vs samples seen (mean ± s.d. over seeds)", 0.1)
        paths += style.save(fig, out_dir, "learning_curves")
    if (table["metric"] == "ann_transfer_acc").any():
        fig, ax = style.figure()
        _panel(ax, table, ["ann_scratch_acc", "ann_transfer_acc", "stdp_transfer_acc"],
               "Transfer 0–4 → 5–9: accuracy vs 5–9 samples seen", 0.2)
        paths += style.save(fig, out_dir, "learning_transfer")
    return paths


def summary(table) -> str:
    mean = table.groupby(["metric", "samples_seen"])["value"].mean().unstack()
    lines = ["mean test accuracy by samples seen:"]
    for metric, row in mean.iterrows():
        cells = "  ".join(f"{int(k)}: {v:.3f}" for k, v in row.dropna().items())
        lines.append(f"  {_LABELS.get(metric, metric):<36} {cells}")
    return "\n".join(lines)
