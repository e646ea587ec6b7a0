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
- "stdp": continued unsupervised STDP (`bio.stdp.train`) on the same samples,
          after which the neurons are relabelled on the whole training split. Every point relabels, including retrain_samples = 0,
          so the curve isolates what plasticity adds beyond reading out the
          lesioned network anew.

Answer the figure gives: test accuracy against retraining samples, one panel
per disorder and system, mean +- SD over seeds, with the healthy accuracy
(dashed) and the accuracy straight after the lesion (dotted) as references.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from dataclasses import replace

from . import trained
from .lesions import SYSTEM_LABELS, SYSTEM_STYLE
from .params import axis

VERSION = 2
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
    n_train: int = 0                # training samples of the healthy systems (0: the whole split)
    stdp_epochs: int = 1
    stdp_present_ms: float = 150.0  # presentation, rest and step of the STDP network
    stdp_rest_ms: float = 50.0      # (bio.diehl_cook.DiehlCookParams' defaults)
    stdp_dt_ms: float = 0.5
    target: str = "cython"
    seeds: tuple[int, ...] = (0, 1, 2)


TINY = Params(disorder=("neurodegeneration",), retrain_samples=(0, 300), finetune_epochs=5, hidden=16,
              epochs=10, n_test=60, n_exc=8, n_train=200, stdp_present_ms=40.0, stdp_rest_ms=10.0,
              stdp_dt_ms=1.0, target="numpy", seeds=(0,))
QUICK = Params(retrain_samples=(0, 50, 200, 800), n_test=200, n_exc=50, n_train=500, seeds=(0, 1))

# each system with its own retraining budget settings; no branching on kind in `point`
FACTORIES = {
    "ann": lambda p, seed: replace(trained.ann(p.hidden, p.epochs, seed, p.n_train), lr=p.lr,
                                   epochs=p.finetune_epochs),
    "stdp": lambda p, seed: trained.stdp(p.n_exc, p.stdp_epochs, p.target, seed, p.n_train, 0,
                                         p.stdp_present_ms, p.stdp_rest_ms, p.stdp_dt_ms),
}


def _retrain_split(n: int, seed: int):
    train = trained.digits(seed).train
    order = np.random.default_rng(seed).permutation(len(train))  # nested: n samples extend n' < n
    return train.subset(order[:n])


def _test_split(p: Params, seed: int):
    test = trained.digits(seed).test
    return test if not p.n_test or p.n_test >= len(test) else test.subset(np.arange(p.n_test))


def point(p: Params, seed: int) -> dict[str, float]:
    """Lesion one system, retrain on `retrain_samples`; accuracy before, after lesion and after retraining."""
    from bridge import disorders

    if p.system not in FACTORIES:
        raise ValueError(f"unknown system {p.system!r}; choose one of: {', '.join(FACTORIES)}")
    healthy = FACTORIES[p.system](p, seed)
    sick = disorders.get(p.disorder, severity=p.severity, seed=seed).apply(healthy)
    test = _test_split(p, seed)
    after = sick.retrained(_retrain_split(p.retrain_samples, seed), seed=seed)
    return {"accuracy": after.evaluate(test, seed=seed).accuracy,
            "healthy_accuracy": healthy.evaluate(test, seed=seed).accuracy,
            "lesioned_accuracy": sick.evaluate(test, seed=seed).accuracy}


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
            style.mean_spread(ax, part, x="retrain_samples", metric="accuracy", spread="boot95",
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
                 f"(mean and 95% bootstrap CI over {table['seed'].nunique()} seeds)", fontsize=10)
    return style.save(fig, out_dir, "recovery")
