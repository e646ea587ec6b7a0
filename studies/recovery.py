"""Recovery after a lesion: accuracy against retraining samples, backprop fine-tuning versus continued STDP.

Question: after a disorder has struck, how much of the lost accuracy comes
back with a little more learning, and does a network that learns by
backpropagation recover like one that learns by STDP?

Method: the trained systems of the `lesions` study (an MLP on the digits; a
Diehl & Cook (2015) STDP network) get one disorder of `bridge.disorders` at
`severity`; the lesion is permanent (dead units stay dead and cut synapses
stay cut through retraining: `ann.lesion` masks, `bio.lesion` edits). Then:
- "ann":  fine-tuning with backpropagation (`ann.train.fit`, `finetune_epochs`
          epochs at learning rate `lr`) on the first `retrain_samples` samples
          of a seeded shuffle of the training split;
- "stdp": continued unsupervised STDP (`DiehlCook.continue_training`) on the
          same samples, after which the neurons are relabelled on the whole
          training split. Every point relabels, including retrain_samples = 0,
          so the curve isolates what plasticity adds beyond reading out the
          lesioned network anew.

Answer the figure gives: test accuracy against retraining samples, one panel
per disorder and system, mean +- SD over seeds, with the healthy accuracy
(dashed) and the accuracy straight after the lesion (dotted) as references.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .lesions import (SYSTEM_LABELS, SYSTEM_STYLE, digits, stdp_for, stdp_key, test_split, trained_ann,
                      trained_stdp)
from .params import axis

VERSION = 1
SYSTEMS = ("ann", "stdp")


@dataclass(frozen=True)
class Params:
    disorder: tuple[str, ...] = axis("neurodegeneration", "alzheimer", "stroke")
    system: tuple[str, ...] = axis(*SYSTEMS)
    retrain_samples: tuple[int, ...] = axis(0, 25, 50, 100, 200, 400, 800)
    severity: float = 0.5
    finetune_epochs: int = 10       # backprop epochs over the retraining samples
    lr: float = 1e-3                # fine-tuning learning rate (training used 2e-3)
    stdp_retrain_epochs: int = 1
    hidden: int = 100               # as in the lesions study
    epochs: int = 20
    n_test: int = 300
    n_exc: int = 100
    stdp_train: int = 0
    stdp_epochs: int = 1
    stdp_present_ms: float = 200.0
    stdp_rest_ms: float = 100.0
    stdp_dt_ms: float = 0.5
    stdp_repeats: int = 3
    target: str = "cython"
    seeds: tuple[int, ...] = (0, 1, 2)


TINY = Params(disorder=("neurodegeneration",), retrain_samples=(0, 20), finetune_epochs=2, hidden=16,
              epochs=3, n_test=30, n_exc=8, stdp_train=10, stdp_present_ms=50.0, stdp_rest_ms=20.0,
              stdp_dt_ms=1.0, stdp_repeats=0, target="numpy", seeds=(0,))
QUICK = Params(retrain_samples=(0, 50, 200, 800), n_test=200, n_exc=50, stdp_train=500, seeds=(0, 1))


def _retrain_split(n: int, seed: int):
    train = digits().train
    order = np.random.default_rng(seed).permutation(len(train))  # nested: n samples extend n' < n
    return train.subset(order[:n])


@functools.lru_cache(maxsize=8)
def _healthy_stdp_accuracy(key: tuple, n_test: int) -> float:
    """Test accuracy of the trained STDP network `trained_stdp(*key)` (computed once)."""
    test = digits().test
    test = test if not n_test or n_test >= len(test) else test.subset(np.arange(n_test))
    target, seed = key[-2], key[-1]
    return trained_stdp(*key).evaluate(test.x, test.y, target=target, seed=seed)


def point(p: Params, seed: int) -> dict[str, float]:
    """Lesion one system, retrain on `retrain_samples`; accuracy before, after lesion and after retraining."""
    import torch

    from bridge import disorders

    torch.set_num_threads(1)
    if p.system not in SYSTEMS:
        raise ValueError(f"unknown system {p.system!r}; choose one of: {', '.join(SYSTEMS)}")
    sick = disorders.get(p.disorder, severity=p.severity, seed=seed)
    test, retrain = test_split(p), _retrain_split(p.retrain_samples, seed)
    if p.system == "ann":
        from ann import train

        healthy = trained_ann(p.hidden, p.epochs, seed)
        model = sick.apply(healthy)
        before = train.evaluate(healthy, test, device="cpu")
        lesioned = train.evaluate(model, test, device="cpu")
        if len(retrain):
            train.fit(model, retrain, epochs=p.finetune_epochs, lr=p.lr, val_fraction=0.0, seed=seed,
                      progress=False, device="cpu")
        return {"accuracy": train.evaluate(model, test, device="cpu"), "healthy_accuracy": before,
                "lesioned_accuracy": lesioned}
    healthy = stdp_for(p, seed)
    net = sick.apply(healthy)
    before = _healthy_stdp_accuracy(stdp_key(p, seed), p.n_test)
    lesioned = net.evaluate(test.x, test.y, target=p.target, seed=seed)
    if len(retrain):
        net.continue_training(retrain.x, retrain.y, epochs=p.stdp_retrain_epochs, target=p.target,
                              seed=seed, progress=False)
    full = digits().train
    n = p.stdp_train or len(full)
    net.label(full.x[:n], full.y[:n], target=p.target, seed=seed)  # the read-out, relearned
    return {"accuracy": net.evaluate(test.x, test.y, target=p.target, seed=seed),
            "healthy_accuracy": before, "lesioned_accuracy": lesioned}


def figures(table, out_dir: Path) -> list[Path]:
    """Accuracy against retraining samples, one panel per disorder, systems side by side."""
    from . import style

    names = list(dict.fromkeys(table["disorder"]))
    systems = [s for s in SYSTEMS if s in set(table["system"])]
    severity = table["severity"].iloc[0] if "severity" in table else None
    fig, axes = style.figure(1, len(names), squeeze=False, width=max(len(names) * 3.2, 6.0), height=3.2)
    for ax, name in zip(axes[0], names):
        sub = table[table["disorder"] == name]
        for system in systems:
            part = sub[sub["system"] == system]
            kw = SYSTEM_STYLE.get(system, {})
            style.mean_spread(ax, part, x="retrain_samples", metric="accuracy",
                              label=SYSTEM_LABELS.get(system, system), color=kw.get("color"))
            for metric, ls in (("healthy_accuracy", "--"), ("lesioned_accuracy", ":")):
                level = part[part["metric"] == metric]["value"].mean()
                ax.axhline(level, color=kw.get("color"), ls=ls, lw=1)
        ax.get_legend() and ax.get_legend().remove()
        ax.set(title=name.replace("_", " ") + (f" (severity {severity:g})" if severity is not None else ""),
               xlabel="retraining samples", ylabel="test accuracy" if ax is axes[0, 0] else "",
               ylim=(0, 1.02))
        ax.set_xscale("symlog", linthresh=25)  # 0 and the few-sample end both readable
        ticks = sorted(set(sub["retrain_samples"].astype(int)))
        ax.set_xticks(ticks, [str(t) for t in ticks], rotation=45 if len(ticks) > 5 else 0)
        ax.minorticks_off()
    from matplotlib.lines import Line2D

    handles, labels = axes[0, 0].get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", ls="--", lw=1), Line2D([], [], color="0.3", ls=":", lw=1)]
    labels += ["healthy", "just after the lesion"]
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
    fig.suptitle("Recovery with retraining: backprop fine-tuning vs continued STDP "
                 "(mean $\\pm$ SD over seeds)", fontsize=10)
    return style.save(fig, out_dir, "recovery")
