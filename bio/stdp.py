"""Training, labelling and testing of the Diehl & Cook (2015) network (bio/diehl_cook.py).

    spec = diehl_cook_spec(n_exc=400)
    trained = train(spec, ds.train.x, epochs=3, seed=0, target="cython")  # unsupervised
    labels = label(trained, ds.train.x, ds.train.y, target="cython")     # training data only
    acc = evaluate(trained, labels, ds.test.x, ds.test.y, target="cython")

- `train`: STDP on the images shown one after another (a fresh random order each
  epoch) in ONE run of the compiler; the learned weights and thresholds are read back
  (`Record.final`) into a new spec. The input spec is left untouched.
- `responses`: excitatory spike counts per image with plasticity off, many images at
  once as independent copies of the network (`bio.spec.replicate`). An image that
  makes the layer fire fewer than `min_spikes` spikes is shown again with its rates
  x`boost`, up to `max_repeats` times (Diehl & Cook 2015, Sec. 2.5).
- `label`: each excitatory neuron gets the class it responded to most on average
  (Sec. 2.5); use training data. `Labels.vote` turns counts into classes: the class
  whose labelled neurons have the highest mean count.
- `predict`, `evaluate`: votes and accuracy on new images (never relabel).
- `record`: every population's spikes while images are shown once each (plasticity off),
  laid out one after another as one network's record.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import second

from .diehl_cook import check_images, frozen, params_of, with_samples
from .record import SpikeRecord
from .simulate import check_target, run
from .spec import NetworkSpec, Record

__all__ = ["Labels", "train", "responses", "label", "assign_labels", "predict", "evaluate", "record"]

MAX_SYNAPSES = 3_000_000  # synapses (all copies) per responses run: bounds memory and build time


@dataclass(frozen=True, eq=False)
class Labels:
    """The class each excitatory neuron stands for (Diehl & Cook 2015, Sec. 2.5).

    neuron:  (n_exc,) int64 class of each neuron, -1 where it never fired while labelling.
    classes: (C,) int64 the classes seen while labelling, sorted.
    """

    neuron: np.ndarray
    classes: np.ndarray

    def vote(self, counts) -> np.ndarray:
        """(N,) classes from spike counts (N, n_exc): the class whose labelled neurons have
        the highest mean count (ties and all-silent samples go to the lowest class)."""
        counts = np.asarray(counts, dtype=float)
        if counts.ndim != 2 or counts.shape[1] != len(self.neuron):
            raise ValueError(f"counts must be (samples, {len(self.neuron)}), got shape {counts.shape}")
        score = np.full((len(counts), len(self.classes)), -np.inf)  # (N, C)
        for k, c in enumerate(self.classes):
            members = self.neuron == c
            if members.any():
                score[:, k] = counts[:, members].mean(axis=1)
        return self.classes[score.argmax(axis=1)]


def _labels_of(y, n: int) -> np.ndarray:
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"y must be (samples,) = ({n},) class labels, got shape {y.shape}")
    if y.size and (not np.all(np.equal(np.mod(y, 1), 0)) or y.min() < 0):
        raise ValueError("y must hold whole class labels >= 0")
    return y.astype(np.int64)


def train(spec: NetworkSpec, x, epochs: int = 1, seed: int = 0, target: str = "cython",
          progress: bool = True) -> NetworkSpec:
    """STDP on the images x; returns a trained copy of `spec` (learned in_exc weights and theta).

    spec:   a plastic Diehl & Cook spec (`diehl_cook_spec(plastic=True)`), possibly trained
            or lesioned already (then training continues from its state).
    x:      (N, n_input) intensities in [0, 1], shown in a fresh random order each epoch.
    seed:   the order and the Poisson spikes.
    The weights read back are normalised as the next sample onset would normalise them,
    so every living neuron's incoming weights sum to w_total. meta["samples_trained"]
    grows by N * epochs.
    """
    p = params_of(spec)
    check_target(target)
    c = spec.connections["in_exc"]
    if not c.model.plastic:
        raise ValueError("spec has a static in_exc pathway; build it with diehl_cook_spec(plastic=True)")
    x = check_images(x, spec.populations["in"].n)
    if int(epochs) != epochs or epochs < 1:
        raise ValueError(f"epochs must be a whole number >= 1, got {epochs}")
    if not len(x):
        raise ValueError("x holds no images to train on")
    rng = np.random.default_rng(seed)
    order = np.concatenate([rng.permutation(len(x)) for _ in range(int(epochs))])
    shown = with_samples(spec, x[order], record=Record(spikes=("exc",), final=("in_exc.w", "exc.theta")))
    rec = run(shown, target=target, seed=seed, dt=p.dt, progress="STDP training" if progress else None)

    new = spec.copy()
    c, exc = new.connections["in_exc"], new.populations["exc"]
    act = c.active(new.populations)
    w = rec.final["in_exc.w"]  # active synapses, in the spec's order
    if c.normalize is not None:
        w = c.normalize.rescale(w, c.j[act], exc.n)
    c.w = c.w.copy()
    c.w[act] = w
    theta = np.array(exc.init.get("theta", np.zeros(exc.n)), dtype=float)
    theta[exc.alive] = rec.final["exc.theta"][exc.alive]  # a dead neuron keeps its value
    exc.init = {**exc.init, "theta": theta}
    new.meta["samples_trained"] = int(new.meta.get("samples_trained", 0)) + len(order)
    return new


def _copies(spec: NetworkSpec, n: int, batch: int | None) -> int:
    """Network copies per run: `batch`, or as many as keep the synapses under MAX_SYNAPSES,
    rounded down to a power of two (few distinct sizes: compiled code is reused)."""
    if batch is None:
        n_syn = sum(c.n_syn for c in spec.connections.values())
        batch = 1 << max(0, int(MAX_SYNAPSES // max(n_syn, 1)).bit_length() - 1)
    if int(batch) != batch or batch < 1:
        raise ValueError(f"batch must be a whole number >= 1, got {batch}")
    return int(min(batch, 1 << max(0, (n - 1).bit_length())))


def _counts(fz: NetworkSpec, x: np.ndarray, copies: int, scale: float, target: str, seed: int,
            progress: str | None) -> np.ndarray:
    """(N, n_exc) exc spike counts of the frozen spec fz for x, `copies` images at a time."""
    p = params_of(fz)
    shown = with_samples(fz, x, copies=copies, scale=scale, record=Record(spikes=("exc",)))
    rec = run(shown, target=target, seed=seed, dt=p.dt, progress=progress)
    rounds = -(-len(x) // copies)
    counts = rec.sample_counts("exc", float(p.period / second), rounds)  # (S, B, n)
    return counts.reshape(rounds * copies, -1)[:len(x)]  # sample k = round k // B, copy k % B


def responses(spec: NetworkSpec, x, seed: int = 0, target: str = "cython", progress: bool = False,
              batch: int | None = None) -> np.ndarray:
    """Excitatory spike counts per image with plasticity off: (N, n_exc) int64.

    spec: a Diehl & Cook spec (plastic or not, trained or lesioned: it is frozen here).
    x:    (N, n_input) intensities in [0, 1].
    batch: images per run as network copies (default: as many as keep the synapses of all
           copies under MAX_SYNAPSES). seed: the Poisson spikes (repeat r uses seed + 1000 r).
    Images with fewer than `min_spikes` exc spikes are shown again with rates x`boost`
    (Diehl & Cook 2015, Sec. 2.5), up to `max_repeats` times; their counts are replaced.
    """
    p = params_of(spec)
    check_target(target)
    x = check_images(x, spec.populations["in"].n)
    fz = frozen(spec)
    counts = np.zeros((len(x), spec.populations["exc"].n), dtype=np.int64)
    todo, scale = np.arange(len(x)), 1.0
    for repeat in range(p.max_repeats + 1):
        if not len(todo):
            break
        copies = _copies(fz, len(todo), batch)
        counts[todo] = _counts(fz, x[todo], copies, scale, target, seed + 1000 * repeat,
                               "responses" if progress else None)
        todo = todo[counts[todo].sum(axis=1) < p.min_spikes]
        scale *= p.boost
    return counts


def label(spec: NetworkSpec, x, y, seed: int = 0, target: str = "cython", progress: bool = False,
          batch: int | None = None) -> Labels:
    """Label each exc neuron with the class of its highest mean response on x (plasticity
    off; Diehl & Cook 2015, Sec. 2.5). Use TRAINING images x (N, n_input) and labels y (N,)."""
    params_of(spec)
    x = check_images(x, spec.populations["in"].n)
    y = _labels_of(y, len(x))
    return assign_labels(responses(spec, x, seed=seed, target=target, progress=progress, batch=batch), y)


def assign_labels(counts, y) -> Labels:
    """Labels from spike counts (N, n_exc) of labelled images y (N,): each neuron gets the
    class with its highest mean count, -1 if it never fired (what `label` does after
    `responses`; use it to reuse one pass of responses)."""
    counts = np.asarray(counts, dtype=float)
    if counts.ndim != 2:
        raise ValueError(f"counts must be (samples, n_exc), got shape {counts.shape}")
    y = _labels_of(y, len(counts))
    if not len(y):
        raise ValueError("labelling needs at least one image")
    classes = np.unique(y)
    mean = np.stack([counts[y == c].mean(axis=0) for c in classes])  # (C, n_exc)
    neuron = np.where(mean.max(axis=0) > 0, classes[mean.argmax(axis=0)], -1)
    return Labels(neuron.astype(np.int64), classes)


def predict(spec: NetworkSpec, labels: Labels, x, seed: int = 0, target: str = "cython",
            progress: bool = False, batch: int | None = None) -> np.ndarray:
    """(N,) predicted classes for images x (N, n_input) by the labelled neurons' votes."""
    if not isinstance(labels, Labels):
        raise ValueError(f"labels must be the Labels that label() returns, got {type(labels).__name__}")
    if len(labels.neuron) != spec.populations["exc"].n:
        raise ValueError(f"labels are for {len(labels.neuron)} neurons, the network has "
                         f"{spec.populations['exc'].n}")
    return labels.vote(responses(spec, x, seed=seed, target=target, progress=progress, batch=batch))


def evaluate(spec: NetworkSpec, labels: Labels, x, y, seed: int = 0, target: str = "cython",
             progress: bool = False, batch: int | None = None) -> float:
    """Fraction of images x (N, n_input) whose predicted class equals y (N,)."""
    x = check_images(x, spec.populations["in"].n)
    y = _labels_of(y, len(x))
    return float(np.mean(predict(spec, labels, x, seed=seed, target=target, progress=progress,
                                 batch=batch) == y))


def record(spec: NetworkSpec, x, seed: int = 0, target: str = "numpy", batch: int | None = None) -> SpikeRecord:
    """Spikes of "in", "exc" and "inh" while images x (N, n_input) are shown once each
    (plasticity off, no repeats), laid out one after another: image k occupies
    [k * period, (k + 1) * period) of the record, its neurons numbered as in one network.

    The images run side by side as network copies (`batch` at a time, default as in
    `responses`: many images per time step, which is what makes this fast). bio.run resets
    every copy's state at each image's onset and theta is frozen, so this is the run one
    network shown the images in a row would make, with other Poisson draws.
    """
    p = params_of(spec)
    check_target(target)
    x = check_images(x, spec.populations["in"].n)
    if not len(x):
        raise ValueError("record needs at least one image")
    fz = frozen(spec)
    copies = _copies(fz, len(x), batch)
    shown = with_samples(fz, x, copies=copies, record=Record())
    rec = run(shown, target=target, seed=seed, dt=p.dt)
    return rec.in_sequence(float(p.period / second), len(x))
