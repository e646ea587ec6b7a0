"""Disorders in three systems: accuracy (and spiking activity) against severity for an ANN, its converted SNN and an STDP SNN.

Question: does a spiking network degrade like an artificial one when it loses
neurons, synapses, inhibition, gain or myelin? Each named disorder of
`bridge.disorders` is applied at a range of severities to three systems that
classify the same digits (ann.data.digits, one fixed split):
- "ann":       an MLP trained by backpropagation (`ann.models.MLP`);
- "converted": that MLP converted to integrate-and-fire neurons
               (`bridge.convert.to_snn`), lesioned as a spiking network;
- "stdp":      a Diehl & Cook (2015) network that learned the digits by STDP
               (`bio.stdp_learner.DiehlCook`).

Answer the figures give: `lesions_accuracy` has one panel per disorder with
test accuracy against severity, mean +- SD over seeds, the three systems
overlaid (chance = 0.1 dotted); `lesions_activity` shows for the two spiking
systems the mean firing rate, CV of inter-spike intervals and synchrony chi of
their first hidden population against severity. The seed draws the trained
networks (initial weights, STDP input spikes) and the lesion.

Activity measures: the converted network runs all test samples at once as
independent copies (constant-current input, so every copy starts in step);
rate, CV and chi are taken over its first hidden population across copies.
The STDP network's measures come from `n_record` test samples shown one after
another (with its rest periods) and its excitatory population.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis

VERSION = 1

DISORDERS = ("neurodegeneration", "alzheimer", "alzheimer_compensated", "schizophrenia", "epilepsy",
             "parkinson", "multiple_sclerosis", "stroke")
SYSTEMS = ("ann", "converted", "stdp")
SYSTEM_LABELS = {"ann": "ANN (backprop MLP)", "converted": "converted SNN (IF)",
                 "stdp": "STDP SNN (Diehl & Cook)"}
# one colour and dash per system in every figure (the converted SNN often sits on the ANN's line)
SYSTEM_STYLE = {"ann": {"color": "#0072B2", "linestyle": "-"},
                "converted": {"color": "#D55E00", "linestyle": "--"},
                "stdp": {"color": "#009E73", "linestyle": ":"}}


@dataclass(frozen=True)
class Params:
    disorder: tuple[str, ...] = axis(*DISORDERS)
    severity: tuple[float, ...] = axis(0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0)
    system: tuple[str, ...] = axis(*SYSTEMS)
    hidden: int = 100               # MLP hidden units (ANN and converted SNN)
    epochs: int = 20                # backprop epochs
    n_test: int = 300               # test samples each system is scored on (0: the whole split)
    duration_ms: float = 50.0       # simulated time per sample of the converted SNN (dt = 1 ms)
    neuron: str = "if"              # converted SNN neurons: if or lif
    n_exc: int = 100                # STDP excitatory neurons
    stdp_train: int = 0             # STDP training samples (0: the whole training split)
    stdp_epochs: int = 1
    stdp_present_ms: float = 200.0  # presentation and rest per sample (bio.stdp_learner defaults)
    stdp_rest_ms: float = 100.0
    stdp_dt_ms: float = 0.5
    stdp_repeats: int = 3           # re-showings of a sample that drew < 5 spikes (Diehl & Cook 2015)
    n_record: int = 20              # STDP test samples whose spikes give rate, CV and synchrony (0: none)
    target: str = "cython"          # Brian2 code generation for both spiking systems
    seeds: tuple[int, ...] = (0, 1, 2)


TINY = Params(disorder=("neurodegeneration", "epilepsy"), severity=(0.0, 1.0), hidden=16, epochs=3,
              n_test=30, duration_ms=20.0, n_exc=8, stdp_train=10, stdp_present_ms=50.0,
              stdp_rest_ms=20.0, stdp_dt_ms=1.0, stdp_repeats=0, n_record=0, target="numpy", seeds=(0,))
QUICK = Params(severity=(0.0, 0.25, 0.5, 0.75, 1.0), n_test=200, n_exc=50, stdp_train=500,
               seeds=(0, 1))


# ----------------------------------------------------------------------------- trained systems
# Kept per worker process: every disorder and severity of one seed reuses them.

@functools.lru_cache(maxsize=1)
def digits():
    from ann import data

    return data.digits(seed=0)


@functools.lru_cache(maxsize=4)
def trained_ann(hidden: int, epochs: int, seed: int):
    import torch

    from ann import models, train

    torch.manual_seed(seed)
    net = models.MLP(64, [hidden], 10)
    train.fit(net, digits().train, epochs=epochs, seed=seed, progress=False, device="cpu")
    return net


@functools.lru_cache(maxsize=4)
def converted(hidden: int, epochs: int, neuron: str, seed: int):
    from bridge import convert

    return convert.to_snn(trained_ann(hidden, epochs, seed), calibration=digits().train.x[:500],
                          neuron=neuron)


@functools.lru_cache(maxsize=2)
def trained_stdp(n_exc: int, n_train: int, epochs: int, present_ms: float, rest_ms: float,
                 dt_ms: float, repeats: int, target: str, seed: int):
    from brian2 import ms

    from bio.stdp_learner import DiehlCook, DiehlCookParams

    params = DiehlCookParams(t_present=present_ms * ms, t_rest=rest_ms * ms, dt=dt_ms * ms,
                             max_repeats=repeats)
    train = digits().train
    n = n_train or len(train)
    net = DiehlCook(n_exc=n_exc, n_input=64, params=params, seed=seed)
    return net.fit(train.x[:n], train.y[:n], epochs=epochs, target=target, seed=seed, progress=False)


def stdp_key(p, seed: int) -> tuple:
    """The arguments of `trained_stdp` that Params p and a seed stand for."""
    return (p.n_exc, p.stdp_train, p.stdp_epochs, p.stdp_present_ms, p.stdp_rest_ms, p.stdp_dt_ms,
            p.stdp_repeats, p.target, seed)


def stdp_for(p, seed: int):
    return trained_stdp(*stdp_key(p, seed))


def test_split(p):
    test = digits().test
    return test if not p.n_test or p.n_test >= len(test) else test.subset(np.arange(p.n_test))


def activity(rec, pop: str, t_start_s: float = 0.0) -> dict[str, float]:
    """Mean rate (Hz), CV of ISIs and Golomb's chi of one population of a SpikeRecord."""
    from bio import analysis

    return {"rate_hz": analysis.mean_rate(rec, pop, t_start_s=t_start_s),
            "cv_isi": analysis.cv_isi(rec, pop, t_start_s=t_start_s),
            "synchrony": analysis.synchrony(rec, pop, t_start_s=t_start_s)}


# ----------------------------------------------------------------------------- one point

def point(p: Params, seed: int) -> dict[str, float]:
    """One disorder at one severity in one system; accuracy (and activity for the SNNs)."""
    import torch

    from bridge import disorders

    torch.set_num_threads(1)
    if p.system not in SYSTEMS:
        raise ValueError(f"unknown system {p.system!r}; choose one of: {', '.join(SYSTEMS)}")
    sick = disorders.get(p.disorder, severity=p.severity, seed=seed)
    test = test_split(p)
    if p.system == "ann":
        from ann import train

        return {"accuracy": train.evaluate(sick.apply(trained_ann(p.hidden, p.epochs, seed)), test,
                                           device="cpu")}
    if p.system == "converted":
        snn = sick.apply(converted(p.hidden, p.epochs, p.neuron, seed))
        res = snn.evaluate(test, duration_ms=p.duration_ms, target=p.target, seed=seed)
        return {"accuracy": res.accuracy, **activity(res.record, snn.populations[0])}
    net = sick.apply(stdp_for(p, seed))
    out = {"accuracy": net.evaluate(test.x, test.y, target=p.target, seed=seed)}
    if not p.n_record:
        return {**out, "rate_hz": float("nan"), "cv_isi": float("nan"), "synchrony": float("nan")}
    rec = net.record(test.x[:p.n_record], target=p.target, seed=seed)
    return {**out, **activity(rec, "exc")}


# ----------------------------------------------------------------------------- figures

def _panel_grid(n: int):
    ncols = min(n, 4)
    return (n + ncols - 1) // ncols, ncols


def _by_system(ax, table, metric, systems):
    from . import style

    for system in systems:
        part = table[(table["system"] == system) & (table["metric"] == metric)]
        if not part.empty and part["value"].notna().any():
            style.mean_spread(ax, part, x="severity", metric=metric, label=SYSTEM_LABELS.get(system, system),
                              **SYSTEM_STYLE.get(system, {}))
    ax.set_xlim(-0.04, 1.04)


def figures(table, out_dir: Path) -> list[Path]:
    """lesions_accuracy (one panel per disorder) and lesions_activity (rate, CV, chi of the SNNs)."""
    from . import style

    names = [d for d in DISORDERS if d in set(table["disorder"])] + \
        sorted(set(table["disorder"]) - set(DISORDERS))
    systems = [s for s in SYSTEMS if s in set(table["system"])]
    nrows, ncols = _panel_grid(len(names))
    fig, axes = style.figure(nrows, ncols, squeeze=False, width=ncols * 2.9, height=nrows * 2.5 + 0.5)
    for k, (ax, name) in enumerate(zip(axes.flat, names)):
        _by_system(ax, table[table["disorder"] == name], "accuracy", systems)
        ax.axhline(0.1, color="0.5", ls=":", lw=1)
        ax.set(title=name.replace("_", " "), xlabel="severity", ylim=(0, 1.02),
               ylabel="test accuracy" if k % ncols == 0 else "")
        ax.get_legend() and ax.get_legend().remove()
    for ax in list(axes.flat)[len(names):]:
        ax.set_visible(False)
    handles, labels = axes.flat[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncols=len(labels), frameon=False)
    fig.suptitle("Accuracy of three systems under each disorder (mean $\\pm$ SD over seeds; "
                 "dotted: chance)", fontsize=10)
    paths = style.save(fig, out_dir, "lesions_accuracy")

    spiking = [s for s in systems if s != "ann"]
    if not spiking:
        return paths
    metrics = [("rate_hz", "firing rate (Hz)"), ("cv_isi", "CV of ISIs"), ("synchrony", "synchrony $\\chi$")]
    fig, axes = style.figure(len(metrics), len(names), squeeze=False, width=len(names) * 2.4,
                             height=len(metrics) * 2.1 + 0.5)
    for col, name in enumerate(names):
        sub = table[table["disorder"] == name]
        for row, (metric, label) in enumerate(metrics):
            ax = axes[row, col]
            _by_system(ax, sub, metric, spiking)
            ax.get_legend() and ax.get_legend().remove()
            ax.set(xlabel="severity" if row == len(metrics) - 1 else "", ylabel=label if col == 0 else "",
                   title=name.replace("_", " ") if row == 0 else "")
            if metric != "rate_hz":
                ax.set_ylim(bottom=0)
    handles, labels = [], []
    for ax in axes.flat:
        h, lab = ax.get_legend_handles_labels()
        for hh, ll in zip(h, lab):
            if ll not in labels:
                handles.append(hh)
                labels.append(ll)
    fig.legend(handles, labels, loc="outside lower center", ncols=max(len(labels), 1), frameon=False)
    fig.suptitle("Spiking activity of the first hidden population under each disorder "
                 "(mean $\\pm$ SD over seeds)", fontsize=10)
    return paths + style.save(fig, out_dir, "lesions_activity")
