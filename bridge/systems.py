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
(a `bridge.convert.ConvertedSNN`), `RecurrentConvertedSystem` (a ReLU Elman RNN
converted to a recurrent IF network, `bridge.recurrent.RecurrentSNN`), `STDPSystem`
(a Diehl & Cook network,
bio.diehl_cook / bio.stdp), `SurrogateSystem` (a surrogate-gradient
ann.spiking.SpikingMLP, run in torch or in Brian2 via bridge.torch_snn). New
learners plug in by providing the same attributes; `bridge.disorders` and the
studies need no change.
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
        return _spec_size(self.snn.net)


def _spec_size(spec) -> dict[str, int]:
    """Neurons (every population that is not an input source) and active synapses of a spec."""
    neurons = sum(p.n for p in spec.populations.values() if not p.is_source)
    synapses = sum(int(c.active(spec.populations).sum()) for c in spec.connections.values())
    return {"neurons": neurons, "synapses": synapses}


# ----------------------------------------------------------------------------- converted RNN

@dataclass(frozen=True)
class RecurrentConvertedSystem:
    """A ReLU Elman RNN converted to a recurrent IF network run in Brian2
    (bridge.recurrent.RecurrentSNN: one window of `snn.step_ms` of simulated time per step,
    recurrent spikes acting one window later).

    Build it with `RecurrentConvertedSystem.of(source, calibration, step_ms=50)`.
    snn:     the RecurrentSNN; its spec (`core`) is what a disorder edits.
    source:  the ANNSystem holding the RNN it was converted from (`retrained` fine-tunes the
             RNN and converts again with the same `calibration` and `options`, keeping the
             RNN's lesion masks; a lesion made on the spiking side alone does not survive
             retraining, so `retrained` refuses a system lesioned there).
    calibration: (N, T, F) sequences that set the normalisation; options: to_snn's keyword
             arguments (step_ms, percentile, ...).
    batch_size: sequences per Brian2 run (None: all at once, as copies side by side).
    Split x: (N, T, F) sequences, or (N, T*F) read in rows of F (the RNN's input_size), values
    in [0, 1]; anything else raises a ValueError naming the expected shape. Activity (rate,
    CV of ISIs, synchrony) is that of "h1" in the first batch's record: all sequences side
    by side as copies, T windows of step_ms.
    """

    snn: object
    source: object = None
    calibration: np.ndarray = field(default=None, repr=False)
    options: dict = field(default_factory=dict)
    target: str = "numpy"
    batch_size: int | None = None
    kind: str = "converted"
    label: str = "converted RNN (IF)"

    substrate = "spec"

    @classmethod
    def of(cls, source, calibration, target: str = "numpy", batch_size: int | None = None,
           label: str = "converted RNN (IF)", **options) -> "RecurrentConvertedSystem":
        """Convert the RNN of `source` (an ANNSystem, or a bare ann.models.RNN that is wrapped in
        one) with bridge.recurrent.to_snn(model, calibration, **options)."""
        from bridge import recurrent

        if not isinstance(source, ANNSystem):
            source = ANNSystem(source)
        calibration = np.asarray(calibration.x if hasattr(calibration, "x") else calibration, dtype=np.float32)
        snn = recurrent.to_snn(source.model, calibration, **options)
        return cls(snn, source, calibration, dict(options), target, batch_size, label=label)

    @property
    def core(self):
        return self.snn.net

    def with_core(self, core) -> "RecurrentConvertedSystem":
        return replace(self, snn=replace(self.snn, net=core), source=None)

    @property
    def step_ms(self) -> float:
        return self.snn.step_ms

    def _check_core(self) -> None:
        # bio.run applies a delay on an analog (Values) input only when one sample is shown,
        # and a converted RNN shows each step as a sample of its own
        delayed = [n for n, c in self.snn.net.connections.items()
                   if self.snn.net.populations[c.pre].is_source and np.any(np.asarray(c.delay_s) > 0)]
        if delayed:
            raise ValueError(f"connection(s) {', '.join(delayed)} from the analog input carry delays (e.g. "
                             "multiple sclerosis): bio.run delays analog input for a single sample only, "
                             "and a converted RNN shows each step as one sample; delays on the spiking "
                             "pathways (h -> h, h -> out) are supported")

    def evaluate(self, split, seed: int = 0) -> Score:
        self._check_core()
        res = self.snn.evaluate(split, target=self.target, batch_size=self.batch_size, seed=seed)
        rec = res.records[0]
        return Score(res.accuracy, record=rec, **activity(rec, self.snn.populations[0]))

    def representations(self, x) -> dict[str, np.ndarray]:
        """{"h1": (N, T * H1), ..., "out": (N, T * n_out)}: each population's spike count in
        each window (step), flattened step-major like the RNN's (N, T, H) output sequence."""
        from bridge import recurrent

        self._check_core()
        x = recurrent._sequences(x, self.snn.input_size, "input")
        rec = self.snn.simulate(x, self.target, 0)
        window, (n, steps) = self.step_ms * 1e-3, x.shape[:2]
        return {p: rec.sample_counts(p, window, steps).transpose(1, 0, 2).reshape(n, -1).astype(float)
                for p in self.snn.populations}  # (T, N, n) -> (N, T * n)

    def retrained(self, split, seed: int = 0) -> "RecurrentConvertedSystem":
        if self.source is None:
            raise ValueError("this converted RNN has no source RNN to retrain (or was lesioned on the "
                             "spiking side); retrain the ANNSystem and convert it again")
        from bridge import recurrent

        ann = self.source.retrained(split, seed=seed)
        return replace(self, snn=recurrent.to_snn(ann.model, self.calibration, **self.options), source=ann)

    def size(self) -> dict[str, int]:
        return _spec_size(self.snn.net)


# ----------------------------------------------------------------------------- STDP SNN

@dataclass(frozen=True)
class STDPSystem:
    """A Diehl & Cook (2015) network that learned by STDP (bio.diehl_cook, bio.stdp).

    spec:   the trained network (learned input weights and thresholds in the spec).
    labels: bio.stdp.Labels, the class each excitatory neuron stands for.
    label_split: the training data its neurons are relabelled on after retraining
            (None: the retraining split itself).
    n_record: test samples whose spikes give the activity measures, laid out one after another
            (bio.stdp.record; 0: none).
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
        return _spec_size(self.spec)


# ----------------------------------------------------------------------------- surrogate-gradient SNN

def _output_lesions(model) -> list[str]:
    """Names of the modules of `model` that carry ann.lesion output hooks (silenced units,
    gain, activation noise): lesions that act on a module's output at every forward pass."""
    from ann import lesion

    return [name for name, m in model.named_modules()
            if any(isinstance(h, lesion.OutputLesion) for h in m._forward_hooks.values())]


@dataclass(frozen=True)
class SurrogateSystem:
    """A spiking network trained by backpropagation through time with surrogate gradients
    (ann.spiking.SpikingMLP), run in torch, or in Brian2 spike for spike (bridge.torch_snn).

    model:  the SpikingMLP (a disorder acts on it as on an ANN: ann.lesion masks and hooks on
            a copy; `substrate` is "torch").
    epochs, lr, batch_size: what `retrained` does: `epochs` more BPTT passes over the split
            (ann.train.fit, Adam, constant lr within a pass when epochs = 1).
    brian:  evaluate and read representations in Brian2 (bridge.torch_snn.to_brian, `target`)
            instead of torch; both give the same spikes (benchmarks/learners.py). Weight
            lesions (masks on `.weight`) carry over; output-hook lesions exist only in torch,
            so `brian=True` refuses them.
    Split x: (N, F) static samples, each held for the model's T steps, or (N, T', F)
    sequences, one step per row. Activity (rate, CV of ISIs, synchrony) is that of the
    first hidden layer "hidden1", all samples side by side as copies, one step = dt_ms;
    the Score's record holds every hidden layer ("hidden1", "hidden2", ...).

    ann.lesion's output hooks see one (batch, unit) current per sample only on the first
    layer's input weights (`hidden.0.fc`) with static input; elsewhere (a deeper layer, a
    recurrent `rec`, any layer under sequence input) they would see (time, batch, unit)
    tensors or another layer's units, so `evaluate` and `representations` refuse such a
    lesion with a ValueError rather than compute a wrong one.
    """

    model: object
    kind: str = "surrogate"
    label: str = "surrogate-gradient SNN"
    epochs: int = 1
    lr: float = 5e-3
    batch_size: int = 32
    brian: bool = False
    target: str = "numpy"
    device: str = "cpu"

    substrate = "torch"

    @property
    def core(self):
        return self.model

    def with_core(self, core) -> "SurrogateSystem":
        return replace(self, model=core)

    @property
    def dt_s(self) -> float:
        return self.model.config["dt_ms"] * 1e-3

    def _check(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=np.float32)
        hooked = _output_lesions(self.model)
        if hooked and self.brian:
            raise ValueError(f"this network carries output-hook lesions ({', '.join(hooked)}), which "
                             "bridge.torch_snn.to_brian cannot carry into Brian2; evaluate it in torch "
                             "(brian=False)")
        wrong = [n for n in hooked if n != "hidden.0.fc" or x.ndim == 3]
        if wrong:
            raise ValueError(f"ann.lesion output hooks on {', '.join(wrong)} of a SpikingMLP "
                             f"{'fed sequences ' if x.ndim == 3 else ''}would act on (time, batch, "
                             "unit) currents or on another layer's units; such lesions are defined "
                             "on the first layer's input weights ('hidden.0.fc') with static (N, F) "
                             "input only")
        return x

    def _run(self, x):
        """({"hidden1": (T, B, N1) bool, ...}, logits (B, n_out)) in torch or Brian2."""
        import torch

        if self.brian:
            from bridge import torch_snn

            res = torch_snn.to_brian(self.model, signed_input=bool(np.any(x < 0))).run(x, target=self.target)
            return res.spikes, res.logits
        was = self.model.training
        self.model.eval()
        try:
            with torch.no_grad():
                xt = torch.from_numpy(x).to(self.device)
                spikes = {k: s.cpu().numpy() > 0 for k, s in self.model.spikes(xt).items()}
                logits = self.model(xt).float().cpu().numpy()
        finally:
            self.model.train(was)
        return spikes, logits

    def evaluate(self, split, seed: int = 0) -> Score:
        from bio.record import SpikeRecord

        x = self._check(split.x)
        spikes, logits = self._run(x)
        acc = float(np.mean(np.argmax(logits, axis=1) == np.asarray(split.y)))
        times, indices, sizes = {}, {}, {}
        for pop, raster in spikes.items():  # every hidden layer, (T, B, N)
            n_steps, b, n = raster.shape
            step, index = np.nonzero(raster.reshape(n_steps, b * n))  # time-sorted; index = b * N + k
            times[pop], indices[pop], sizes[pop] = step * self.dt_s, index.astype(np.int64), b * n
        rec = SpikeRecord(times, indices, sizes, n_steps * self.dt_s, copies=b)
        return Score(acc, record=rec, **activity(rec, "hidden1"))

    def representations(self, x) -> dict[str, np.ndarray]:
        """{"hidden1": (N, N1), ...}: each hidden layer's spike count per sample."""
        spikes, _ = self._run(self._check(x))
        return {k: s.sum(axis=0).astype(float) for k, s in spikes.items()}

    def retrained(self, split, seed: int = 0) -> "SurrogateSystem":
        from ann import train

        model = copy.deepcopy(self.model)
        if len(split):
            train.fit(model, split, epochs=self.epochs, batch_size=self.batch_size, lr=self.lr, seed=seed,
                      device=self.device, val_fraction=0.0, progress=False)
        return replace(self, model=model)

    def size(self) -> dict[str, int]:
        """Hidden plus read-out neurons; synapses = weights not cut by a lesion."""
        from ann import lesion

        masks = lesion.weight_masks(self.model)
        modules = dict(self.model.named_modules())
        synapses = 0
        for name in lesion.weighted_layers(self.model):
            w = modules[name].weight
            synapses += int(masks[f"{name}.weight"].sum()) if f"{name}.weight" in masks else w.numel()
        cfg = self.model.config
        return {"neurons": int(sum(cfg["hidden_sizes"]) + cfg["out_features"]), "synapses": synapses}


def chance(y) -> float:
    """Accuracy of always answering the most frequent class of y."""
    _, counts = np.unique(np.asarray(y), return_counts=True)
    return float(counts.max() / counts.sum()) if len(counts) else math.nan
