"""The compared systems behind one protocol: what a study may ask of any learner.

A study holds a list of systems and never branches on their kind:

    for system in systems:
        score = system.evaluate(test, seed=seed)             # accuracy + spiking activity
        sick = disorders.get("stroke", 0.3, seed).apply(system)  # a lesioned copy
        reps = sick.representations(test.x)                  # {layer: (N, features)}

Every system has
- `kind` (a short name for tables: "ann", "converted", "stdp", ...) and `label`
  (for legends);
- `evaluate(split, seed=0) -> Score`: accuracy on a labelled split, and for
  spiking systems the rate, CV of inter-spike intervals and synchrony of the
  first hidden population (NaN for an ANN);
- `representations(x) -> {layer: (N, features)}`: activations (ANN) or spike
  counts per sample (SNNs), for CKA/RSA (bridge.compare);
- `substrate` ("torch" or "spec") and `core` (the nn.Module or the
  bio.NetworkSpec that a disorder's mechanism edits) with `with_core(new)`, a
  copy holding another core: `bridge.disorders` acts through these;
- `retrained(split, seed=0)`: a copy that learned more from `split` (the
  budget is the split's size) in the system's own way; lesions stay;
- `size() -> {"neurons": int, "synapses": int}`: hidden plus output units and
  weights (ANN parameters that are weights) or synapses.

Adapters: `ANNSystem` (a backprop-trained torch model), `ConvertedSystem`
(a `bridge.convert.ConvertedSNN`), `STDPSystem` (a Diehl & Cook network,
bio.diehl_cook / bio.stdp). New learners plug in by providing the same
attributes; `bridge.disorders` and the studies need no change.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass, field, replace

import numpy as np

NAN = float("nan")


@dataclass(frozen=True)
class Score:
    """What `System.evaluate` returns.

    accuracy:  fraction correct on the split.
    rate_hz, cv_isi, synchrony: activity of the first hidden population (NaN for an ANN).
    record:    the SpikeRecord behind those numbers (None for an ANN).
    """

    accuracy: float
    rate_hz: float = NAN
    cv_isi: float = NAN
    synchrony: float = NAN
    record: object = None

    def metrics(self) -> dict[str, float]:
        """Flat {metric: value} for a study's results table."""
        return {"accuracy": self.accuracy, "rate_hz": self.rate_hz, "cv_isi": self.cv_isi,
                "synchrony": self.synchrony}


def activity(rec, pop: str, t_start_s: float = 0.0) -> dict[str, float]:
    """Mean rate (Hz), CV of ISIs and Golomb's chi of one population of a SpikeRecord."""
    from bio import analysis

    if pop not in rec.n_neurons:
        return {"rate_hz": NAN, "cv_isi": NAN, "synchrony": NAN}
    return {"rate_hz": analysis.mean_rate(rec, pop, t_start_s=t_start_s),
            "cv_isi": analysis.cv_isi(rec, pop, t_start_s=t_start_s),
            "synchrony": analysis.synchrony(rec, pop, t_start_s=t_start_s)}


def is_system(obj) -> bool:
    """True for objects that follow the protocol (what bridge.disorders dispatches on)."""
    return all(hasattr(obj, a) for a in ("substrate", "core", "with_core", "evaluate"))


# ----------------------------------------------------------------------------- ANN

@dataclass(frozen=True)
class ANNSystem:
    """A torch model trained by backpropagation (ann.train).

    model: the nn.Module (lesions are ann.lesion masks and hooks on a copy).
    lr, epochs: fine-tuning settings of `retrained`.
    """

    model: object
    kind: str = "ann"
    label: str = "ANN (backprop)"
    lr: float = 1e-3
    epochs: int = 10
    device: str = "cpu"

    substrate = "torch"

    @property
    def core(self):
        return self.model

    def with_core(self, core) -> "ANNSystem":
        return replace(self, model=core)

    def evaluate(self, split, seed: int = 0) -> Score:
        from ann import train

        return Score(train.evaluate(self.model, split, device=self.device))

    def representations(self, x) -> dict[str, np.ndarray]:
        from ann import models

        return {k: v.reshape(len(v), -1) for k, v in models.record_activations(self.model, x).items()}

    def retrained(self, split, seed: int = 0) -> "ANNSystem":
        from ann import train

        model = copy.deepcopy(self.model)
        if len(split):
            train.fit(model, split, epochs=self.epochs, lr=self.lr, seed=seed, device=self.device,
                      val_fraction=0.0, progress=False)
        return replace(self, model=model)

    def size(self) -> dict[str, int]:
        from ann import lesion

        weights = [dict(self.model.named_modules())[name].weight for name in lesion.weighted_layers(self.model)]
        units = sum(int(w.shape[0]) for w in weights)
        return {"neurons": units, "synapses": int(sum(w.numel() for w in weights))}


# ----------------------------------------------------------------------------- converted SNN

@dataclass(frozen=True)
class ConvertedSystem:
    """An ANN converted to a spiking network run in Brian2 (bridge.convert.ConvertedSNN).

    duration_ms, dt_ms: simulated time per sample and step; target: Brian2 target.
    source: the ANNSystem it was converted from (its `retrained` fine-tunes the ANN
            and converts again, keeping the ANN's lesion masks; lesions made on the
            spiking side alone do not survive retraining and are refused).
    """

    snn: object
    duration_ms: float = 50.0
    dt_ms: float = 1.0
    target: str = "numpy"
    source: object = None
    kind: str = "converted"
    label: str = "converted SNN"
    calibration: np.ndarray = field(default=None, repr=False)
    options: dict = field(default_factory=dict)  # to_snn's keyword arguments, for `retrained`

    substrate = "spec"

    @property
    def core(self):
        return self.snn.net

    def with_core(self, core) -> "ConvertedSystem":
        return replace(self, snn=replace(self.snn, net=core), source=None)

    def evaluate(self, split, seed: int = 0) -> Score:
        res = self.snn.evaluate(split, duration_ms=self.duration_ms, dt_ms=self.dt_ms, target=self.target,
                                seed=seed)
        return Score(res.accuracy, record=res.record, **activity(res.record, self.snn.populations[0]))

    def representations(self, x) -> dict[str, np.ndarray]:
        rec = self.snn._simulate(np.asarray(x, dtype=np.float64), self.duration_ms, self.dt_ms, self.target,
                                 0, False)
        return {pop: rec.spike_counts(pop).reshape(len(x), -1).astype(float) for pop in self.snn.populations}

    def retrained(self, split, seed: int = 0) -> "ConvertedSystem":
        if self.source is None:
            raise ValueError("this converted SNN has no source ANN to retrain (or was lesioned on the "
                             "spiking side); retrain the ANNSystem and convert it again")
        from bridge import convert

        ann = self.source.retrained(split, seed=seed)
        snn = convert.to_snn(ann.model, calibration=self.calibration, **self.options)
        return replace(self, snn=snn, source=ann)

    def size(self) -> dict[str, int]:
        spec = self.snn.net
        neurons = sum(p.n for p in spec.populations.values() if not p.is_source)
        synapses = sum(int(c.active(spec.populations).sum()) for c in spec.connections.values())
        return {"neurons": neurons, "synapses": synapses}


# ----------------------------------------------------------------------------- STDP SNN

@dataclass(frozen=True)
class STDPSystem:
    """A Diehl & Cook (2015) network that learned by STDP (bio.diehl_cook, bio.stdp).

    spec:   the trained network (learned input weights and thresholds in the spec).
    labels: bio.stdp.Labels, the class each excitatory neuron stands for.
    label_split: the training data its neurons are relabelled on after retraining
            (None: the retraining split itself).
    n_record: test samples shown one after another for the activity measures (0: none).
    """

    spec: object
    labels: object
    target: str = "numpy"
    label_split: object = field(default=None, repr=False)
    n_record: int = 20
    kind: str = "stdp"
    label: str = "STDP SNN (Diehl & Cook)"

    substrate = "spec"

    @property
    def core(self):
        return self.spec

    def with_core(self, core) -> "STDPSystem":
        return replace(self, spec=core)

    def evaluate(self, split, seed: int = 0) -> Score:
        from bio import stdp

        acc = stdp.evaluate(self.spec, self.labels, split.x, split.y, target=self.target, seed=seed)
        if not self.n_record:
            return Score(acc)
        rec = stdp.record(self.spec, split.x[:self.n_record], target=self.target, seed=seed)
        return Score(acc, record=rec, **activity(rec, "exc"))

    def representations(self, x) -> dict[str, np.ndarray]:
        from bio import stdp

        return {"exc": stdp.responses(self.spec, x, target=self.target).astype(float)}

    def retrained(self, split, seed: int = 0) -> "STDPSystem":
        from bio import stdp

        spec = self.spec
        if len(split):
            spec = stdp.train(spec, split.x, epochs=1, target=self.target, seed=seed, progress=False)
        ref = self.label_split if self.label_split is not None else split
        return replace(self, spec=spec, labels=stdp.label(spec, ref.x, ref.y, target=self.target, seed=seed + 1))

    def size(self) -> dict[str, int]:
        neurons = sum(p.n for p in self.spec.populations.values() if not p.is_source)
        synapses = sum(int(c.active(self.spec.populations).sum()) for c in self.spec.connections.values())
        return {"neurons": neurons, "synapses": synapses}


def chance(y) -> float:
    """Accuracy of always answering the most frequent class of y."""
    _, counts = np.unique(np.asarray(y), return_counts=True)
    return float(counts.max() / counts.sum()) if len(counts) else math.nan
