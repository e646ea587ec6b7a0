"""Trained systems shared by the studies, built once per worker process.

Every study point of one seed reuses the same trained systems (training is the
expensive part), so they are cached here, keyed by everything that makes them
differ. Each function returns a `bridge.systems` system; a study only asks the
protocol of it (evaluate, lesion by a disorder, retrain, representations, size).

The seed fixes the data split (`ann.data.digits(seed=seed)`), the networks'
initialisation and their training order; a lesion drawn with the same seed is
the same lesion.

Each cache keeps up to KEEP systems per worker process. A study's grid puts the seed
innermost, so a worker meets the seeds in turn (0, 1, ..., S-1, 0, ...): an LRU cache
smaller than S evicts exactly the seed asked for next and retrains at every point (a
5-seed lesion study spent a median 41 s per STDP point instead of 1.1 s, 80 min of
compute instead of 15). KEEP is above the seed count of every preset; a trained system
of these sizes takes well under 100 MB.
"""
from __future__ import annotations

import functools

KEEP = 32


@functools.lru_cache(maxsize=KEEP)
def digits(seed: int = 0):
    from ann import data

    return data.digits(seed=seed)


def training_subset(seed: int, n: int):
    """The first n samples of the training split of seed (0: all of them)."""
    import numpy as np

    train = digits(seed).train
    return train if not n or n >= len(train) else train.subset(np.arange(n))


@functools.lru_cache(maxsize=KEEP)
def ann(hidden: int, epochs: int, seed: int, n_train: int = 0):
    """An MLP 64-hidden-10 trained by backpropagation (bridge.systems.ANNSystem)."""
    import torch

    from ann import models, train
    from bridge.systems import ANNSystem

    torch.manual_seed(seed)
    net = models.MLP(64, [hidden], 10)
    train.fit(net, training_subset(seed, n_train), epochs=epochs, seed=seed, progress=False, device="cpu")
    return ANNSystem(net, label=f"ANN (backprop MLP, {hidden} hidden)")


@functools.lru_cache(maxsize=KEEP)
def surrogate(hidden: int, epochs: int, T: int, seed: int, n_train: int = 0, brian: bool = False,
              target: str = "numpy"):
    """A spiking MLP 64-hidden-10 of LIF neurons trained by backpropagation through time with
    surrogate gradients (ann.spiking.SpikingMLP, a digit held for T steps of 1 ms;
    bridge.systems.SurrogateSystem). brian: evaluate it in Brian2 (bridge.torch_snn, target)."""
    import torch

    from ann import train
    from ann.spiking import SpikingMLP
    from bridge.systems import SurrogateSystem

    torch.manual_seed(seed)
    net = SpikingMLP(64, [hidden], 10, T=T)
    train.fit(net, training_subset(seed, n_train), epochs=epochs, seed=seed, progress=False, device="cpu")
    return SurrogateSystem(net, brian=brian, target=target,
                           label=f"surrogate-gradient SNN (LIF, {hidden} hidden, T={T})")


@functools.lru_cache(maxsize=KEEP)
def converted(hidden: int, epochs: int, neuron: str, duration_ms: float, target: str, seed: int,
              n_train: int = 0):
    """That MLP converted to spiking neurons (bridge.systems.ConvertedSystem)."""
    from bridge import convert
    from bridge.systems import ConvertedSystem

    source = ann(hidden, epochs, seed, n_train)
    calibration = training_subset(seed, n_train).x[:500]
    options = {"neuron": neuron}
    snn = convert.to_snn(source.model, calibration=calibration, **options)
    return ConvertedSystem(snn, duration_ms=duration_ms, target=target, source=source,
                           calibration=calibration, options=options,
                           label=f"converted SNN ({neuron.upper()}, {hidden} hidden)")


@functools.lru_cache(maxsize=KEEP)
def stdp(n_exc: int, epochs: int, target: str, seed: int, n_train: int = 0, n_record: int = 20,
         present_ms: float | None = None, rest_ms: float | None = None, dt_ms: float | None = None,
         progress: bool = False, train_target: str | None = None):
    """A Diehl & Cook (2015) network trained by STDP on the same training split
    (bridge.systems.STDPSystem). present_ms, rest_ms, dt_ms: presentation, rest and time
    step (None: bio.diehl_cook.DiehlCookParams' defaults). progress: a bar over the
    training samples. target: Brian2 code generation for labelling and evaluation;
    train_target: for the training run (None: `target`). Training is one long run of
    sample after sample (the whole split: 1.35 M steps at dt 0.5 ms), where cpp_standalone's
    compiled loop is several times faster than the runtime targets' per-step Python loop."""
    from brian2 import ms

    from bio import diehl_cook, stdp as learn
    from bridge.systems import STDPSystem

    split = training_subset(seed, n_train)
    timing = {k: v * ms for k, v in (("t_present", present_ms), ("t_rest", rest_ms), ("dt", dt_ms))
              if v is not None}
    spec = diehl_cook.diehl_cook_spec(n_exc=n_exc, params=diehl_cook.DiehlCookParams(**timing), seed=seed)
    spec = learn.train(spec, split.x, epochs=epochs, seed=seed, target=train_target or target, progress=progress)
    labels = learn.label(spec, split.x, split.y, seed=seed + 1, target=target)
    return STDPSystem(spec, labels, target=target, label_split=split, n_record=n_record,
                      label=f"STDP SNN (Diehl & Cook, {n_exc} exc)")
