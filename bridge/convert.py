"""Trained torch network -> spiking network in Brian2 (any bio.neurons model), and back.

    snn = to_snn(net, calibration=ds.train.x, neuron="if", normalisation="percentile")
    res = snn.evaluate(ds.test, duration_ms=50)      # one Brian2 run for the whole batch
    res.accuracy, res.rates_hz["h1"], res.record
    to_snn(net, calibration, neuron=bio.neurons.AdEx())   # any library neuron
    to_snn(net, calibration, neuron="cortical")           # leaky, noisy, Poisson, <= 20 Hz

The method is rate-based conversion (Cao et al. 2015; Diehl et al. 2015;
Rueckauer et al. 2017, Front. Neurosci. 11:682):
- every Linear/Conv2d (with a following BatchNorm folded into it) and every
  pooling layer becomes a population; ReLU is the neurons' own rectification;
  Flatten/Unflatten only rename neurons (index = c*H*W + h*W + w, torch's order);
  Dropout disappears (it is the identity at inference).
- a unit's activation a stands for the rate a / lambda * rate_hz, where lambda
  is its layer's normalisation factor from calibration activations: the maximum
  ("max", Diehl et al. 2015), a percentile of the positive activations
  ("percentile", Rueckauer et al. 2017, sec. 2.3), or that percentile per channel
  / per unit ("channel", Kim et al. 2020, Spiking-YOLO). Weights become
  w * lambda_pre / lambda_post (threshold units), biases b / lambda * rate_hz
  constant currents. The output layer always gets one lambda, so channel-wise
  scaling cannot change its argmax. NaN or all-zero calibration data, or a layer
  with no positive activation on them, raise a ValueError; a channel silent on
  every calibration sample takes its layer's percentile.
- the network is a `bio.layered` NetworkSpec built from library models: weights
  in threshold units become volts (w * (v_thresh - v_reset) of the target model),
  biases constant currents. Ideal IF neurons reset by subtraction (Rueckauer et
  al. 2017, eq. 3); max pooling uses the spike-count gate `synapses.MaxPoolGate`;
  conv connectivity comes from vectorised index arithmetic (one synapse per
  kernel tap and position, weights shared).
- targets: "if" and "lif" (the conversion's units), any bio.neurons model
  instance (AdEx, Izhikevich, ...: the same threshold-unit weights on that
  model's own potentials), and the "cortical" regime (`CORTICAL`: library LIF
  with leak and refractoriness, background noise, Poisson input, a rate scale
  low enough for cortical rates and irregular firing).
- the class is the output neuron with the most spikes, ties broken by the
  higher membrane potential.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field

import brian2 as b2
import numpy as np
import torch
from torch import nn

from bio import layered, neurons
from bio.prepared import RUNTIME_TARGETS, Prepared, fingerprint
from bio.record import SpikeRecord
from bio.spec import NetworkSpec

from . import coding

__all__ = ["to_snn", "to_torch", "ConvertedSNN", "EvalResult", "Regime", "CORTICAL", "ann_activations",
           "SUPPORTED", "NORMALISATIONS", "NEURONS"]

SUPPORTED = (nn.Linear, nn.Conv2d, nn.AvgPool2d, nn.MaxPool2d, nn.Flatten, nn.Unflatten, nn.ReLU,
             nn.BatchNorm1d, nn.BatchNorm2d, nn.Dropout)
NORMALISATIONS = ("max", "percentile", "channel")


@dataclass
class _Stage:
    """One population of the converted network and the torch modules that compute it."""

    kind: str               # "linear", "conv", "avgpool" or "maxpool"
    modules: list           # torch modules from the previous population's output to this one's
    index: int              # position of the Linear/Conv2d/pool module in the Sequential
    in_shape: tuple         # (n,) or (C, H, W)
    out_shape: tuple
    kernel: int = 1
    stride: int = 1
    padding: int = 0
    relu: bool = False
    bn: object = None       # BatchNorm folded into this stage (for to_torch)

    @property
    def n(self) -> int:
        return int(np.prod(self.out_shape))


def _pair(v, what, layer):
    v = (v, v) if isinstance(v, int) else tuple(v)
    if v[0] != v[1]:
        raise ValueError(f"layer {layer}: only square {what} are supported, got {v}")
    return int(v[0])


def _parse(model, n_in: int) -> list[_Stage]:
    """Walk an nn.Sequential into stages; raise ValueError for anything not convertible."""
    if not isinstance(model, nn.Sequential):
        raise ValueError(f"to_snn converts a torch.nn.Sequential (ann.models.MLP and CNN are ones); "
                         f"got {type(model).__name__}")
    names = ", ".join(t.__name__ for t in SUPPORTED)
    stages, pending, shape = [], [], (n_in,)
    for idx, (name, m) in enumerate(model.named_children()):
        where = f"{idx} ({name}: {type(m).__name__})"
        if not isinstance(m, SUPPORTED):
            raise ValueError(f"layer {where} is not supported; supported layers: {names}")
        if isinstance(m, nn.Dropout):
            pending.append(m)
        elif isinstance(m, nn.Flatten):
            pending.append(m)
            shape = (int(np.prod(shape)),)
        elif isinstance(m, nn.Unflatten):
            new = tuple(int(s) for s in m.unflattened_size)
            if m.dim not in (1, -len(shape)) or len(shape) != 1 or int(np.prod(new)) != shape[0]:
                raise ValueError(f"layer {where}: can only unflatten a flat ({shape[0]},) sample, "
                                 f"got shape {shape} -> {new}")
            pending.append(m)
            shape = new
        elif isinstance(m, nn.Linear):
            if shape != (m.in_features,):
                raise ValueError(f"layer {where} expects {m.in_features} inputs, gets shape {shape}; "
                                 "flatten first or check the calibration data")
            shape_out = (m.out_features,)
            stages.append(_Stage("linear", pending + [m], idx, shape, shape_out))
            pending, shape = [], shape_out
        elif isinstance(m, nn.Conv2d):
            if len(shape) != 3 or shape[0] != m.in_channels:
                raise ValueError(f"layer {where} expects ({m.in_channels}, H, W) inputs, gets shape {shape}")
            if m.groups != 1 or _pair(m.dilation, "dilations", where) != 1 or m.padding_mode != "zeros":
                raise ValueError(f"layer {where}: only groups=1, dilation=1, zero padding are supported")
            if isinstance(m.padding, str):
                raise ValueError(f"layer {where}: give padding as a number, not {m.padding!r}")
            k, s, p = (_pair(m.kernel_size, "kernels", where), _pair(m.stride, "strides", where),
                       _pair(m.padding, "paddings", where))
            side = (shape[1] + 2 * p - k) // s + 1, (shape[2] + 2 * p - k) // s + 1
            shape_out = (m.out_channels,) + side
            stages.append(_Stage("conv", pending + [m], idx, shape, shape_out, k, s, p))
            pending, shape = [], shape_out
        elif isinstance(m, (nn.AvgPool2d, nn.MaxPool2d)):
            if len(shape) != 3:
                raise ValueError(f"layer {where} needs (C, H, W) inputs, gets shape {shape}")
            k = _pair(m.kernel_size, "kernels", where)
            s = _pair(m.stride if m.stride is not None else m.kernel_size, "strides", where)
            if _pair(m.padding, "paddings", where) != 0 or m.ceil_mode:
                raise ValueError(f"layer {where}: pooling with padding or ceil_mode is not supported")
            if isinstance(m, nn.MaxPool2d) and _pair(m.dilation, "dilations", where) != 1:
                raise ValueError(f"layer {where}: dilated max pooling is not supported")
            shape_out = (shape[0], (shape[1] - k) // s + 1, (shape[2] - k) // s + 1)
            kind = "maxpool" if isinstance(m, nn.MaxPool2d) else "avgpool"
            if not stages or not stages[-1].relu and not (kind == "maxpool" and stages[-1].kind != "avgpool"):
                raise ValueError(f"layer {where}: pooling must follow a rectified (ReLU) layer")
            stages.append(_Stage(kind, pending + [m], idx, shape, shape_out, k, s, 0, relu=True))
            pending, shape = [], shape_out
        elif isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            last = stages[-1] if stages else None
            if last is None or pending or last.relu or last.kind not in ("linear", "conv") or last.bn:
                raise ValueError(f"layer {where}: BatchNorm can only directly follow a Linear or Conv2d "
                                 "layer (it is folded into it)")
            last.bn = m
            last.modules.append(m)
        elif isinstance(m, nn.ReLU):
            if not stages:
                raise ValueError(f"layer {where}: a ReLU before any weight layer cannot be converted "
                                 "(inputs are already non-negative)")
            (pending if pending else stages[-1].modules).append(m)
            stages[-1].relu = True
            if stages[-1].kind == "maxpool" and len(stages) > 1:
                stages[-2].relu = True  # max pooling and ReLU commute
    if not stages or stages[-1].kind not in ("linear", "conv"):
        raise ValueError("the network must end with a Linear or Conv2d layer (the output layer)")
    stages[-1].modules += pending
    for st in stages[:-1]:
        if not st.relu:
            raise ValueError(f"layer {st.index} ({type(model[st.index]).__name__}) is not followed by a "
                             "ReLU; spiking neurons rectify every hidden layer, so only ReLU networks convert")
    return stages


def _folded(stage: _Stage):
    """(weight, bias) of a Linear/Conv2d with its BatchNorm folded in, as float64 arrays."""
    m = stage.modules[[isinstance(x, (nn.Linear, nn.Conv2d)) for x in stage.modules].index(True)]
    w = m.weight.detach().double().cpu().numpy()
    b = m.bias.detach().double().cpu().numpy() if m.bias is not None else np.zeros(w.shape[0])
    if stage.bn is not None:
        bn = stage.bn
        gamma = bn.weight.detach().double().cpu().numpy() if bn.affine else np.ones(w.shape[0])
        beta = bn.bias.detach().double().cpu().numpy() if bn.affine else np.zeros(w.shape[0])
        mean = bn.running_mean.detach().double().cpu().numpy()
        scale = gamma / np.sqrt(bn.running_var.detach().double().cpu().numpy() + bn.eps)
        w = w * scale.reshape((-1,) + (1,) * (w.ndim - 1))
        b = (b - mean) * scale + beta
    return w, b


def _window_index(c_in, h, w, c_out, k, stride, pad, diagonal=False):
    """Synapses of a conv (or, diagonal=True, a pooling) layer by index arithmetic.

    Returns (pre, post, tap), each (n_syn,) int64: presynaptic neuron c*H*W + h*W + w,
    postsynaptic neuron, and the flat kernel entry (c_out, c_in, kh, kw) it uses.
    """
    ho, wo = (h + 2 * pad - k) // stride + 1, (w + 2 * pad - k) // stride + 1
    co = np.arange(c_out).reshape(-1, 1, 1, 1, 1, 1)
    ci = co if diagonal else np.arange(c_in).reshape(1, 1, 1, -1, 1, 1)
    oy = np.arange(ho).reshape(1, -1, 1, 1, 1, 1)
    ox = np.arange(wo).reshape(1, 1, -1, 1, 1, 1)
    ky = np.arange(k).reshape(1, 1, 1, 1, -1, 1)
    kx = np.arange(k).reshape(1, 1, 1, 1, 1, -1)
    iy, ix = oy * stride - pad + ky, ox * stride - pad + kx
    co, ci, oy, ox, ky, kx, iy, ix = np.broadcast_arrays(co, ci, oy, ox, ky, kx, iy, ix)
    ok = (iy >= 0) & (iy < h) & (ix >= 0) & (ix < w)
    pre = (ci * h + iy) * w + ix
    post = (co * ho + oy) * wo + ox
    tap = ((co * (1 if diagonal else c_in) + (0 if diagonal else ci)) * k + ky) * k + kx
    return pre[ok].astype(np.int64), post[ok].astype(np.int64), tap[ok].astype(np.int64)


def _synapses(stage: _Stage):
    """(pre, post, tap) index arrays of one stage's incoming connection."""
    if stage.kind == "linear":
        n_out, n_in = stage.out_shape[0], stage.in_shape[0]
        post, pre = np.divmod(np.arange(n_out * n_in, dtype=np.int64), n_in)
        return pre, post, post * n_in + pre
    c, h, w = stage.in_shape
    if stage.kind == "conv":
        return _window_index(c, h, w, stage.out_shape[0], stage.kernel, stage.stride, stage.padding)
    return _window_index(c, h, w, c, stage.kernel, stage.stride, 0, diagonal=True)


@torch.no_grad()
def _stage_outputs(model, stages, x) -> list[np.ndarray]:
    """ANN activation of each stage: list of (N, n) float64 (post-ReLU for hidden stages)."""
    was = model.training
    model.eval()
    try:
        h = torch.as_tensor(np.asarray(x, dtype=np.float32))
        out = []
        for st in stages:
            for m in st.modules:
                h = m(h)
            out.append(h.reshape(len(h), -1).double().cpu().numpy())
        return out
    finally:
        model.train(was)


def _check_x(x, n_in=None, what="calibration") -> np.ndarray:
    """(N, n_in) finite float32 samples from an array or a split with .x; ValueError otherwise."""
    x = np.asarray(x.x if hasattr(x, "x") else x, dtype=np.float32)
    if x.ndim != 2 or (n_in is not None and x.shape[1] != n_in) or len(x) == 0:
        want = f"(samples, {n_in})" if n_in else "(samples, features)"
        raise ValueError(f"{what} data must be a non-empty {want} array of flat samples, got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        bad = int(np.sum(~np.isfinite(x).all(axis=1)))
        raise ValueError(f"{what} data hold NaN or infinite values (in {bad} of {len(x)} samples)")
    return x


def _check_labels(y, n: int, n_classes: int) -> np.ndarray:
    """(n,) int64 labels in [0, n_classes); ValueError otherwise."""
    y = np.asarray(y)
    if y.shape != (n,):
        raise ValueError(f"labels must be one per sample, shape ({n},), got shape {y.shape}")
    if n and not (np.issubdtype(y.dtype, np.integer) or np.all(np.mod(y, 1) == 0)):
        raise ValueError(f"labels must be whole class numbers, got dtype {y.dtype}")
    y = y.astype(np.int64)
    if n and (y.min() < 0 or y.max() >= n_classes):
        raise ValueError(f"labels must lie in 0..{n_classes - 1} (the output layer has {n_classes} "
                         f"neurons), got range {y.min()}..{y.max()}")
    return y


def ann_activations(model, x) -> dict[str, np.ndarray]:
    """The ANN's activation of every population of its converted network: {"h1": (N, n), ..., "out": ...}."""
    x = _check_x(x)
    stages = _parse(model, x.shape[1])
    return dict(zip(_names(len(stages)), _stage_outputs(model, stages, x)))


def _names(n_stages: int) -> list[str]:
    return [f"h{k}" for k in range(1, n_stages)] + ["out"]


def _lambda(acts: np.ndarray, stage: _Stage, name: str, how: str, percentile: float, last: bool) -> np.ndarray:
    """Per-neuron normalisation factor (n,) of one stage from its calibration activations (N, n).

    "max": the largest activation of the layer; "percentile": that percentile of the
    layer's positive activations; "channel": the percentile of each channel's positive
    activations (a channel silent on every calibration sample takes the layer's value).
    """
    pos = acts[acts > 0]
    if pos.size == 0:
        raise ValueError(f"layer {name} has no positive activation on the calibration data, so its "
                         "normalisation is undefined; calibrate with real samples (e.g. the training split)")
    if how == "max":
        return np.full(stage.n, pos.max())
    layer = np.percentile(pos, percentile)
    if how == "percentile" or last:
        return np.full(stage.n, layer)
    chans = stage.out_shape[0]
    per = acts.reshape(len(acts), chans, -1).transpose(1, 0, 2).reshape(chans, -1)  # (C, N*H*W)
    lam = np.array([np.percentile(c[c > 0], percentile) if np.any(c > 0) else layer for c in per])
    return np.repeat(lam, stage.n // chans)


@dataclass(frozen=True)
class Regime:
    """What a converted network runs on: a neuron model, background noise and the input code.

    model:       a bio.neurons model for every spiking layer (max-pooling relays stay ideal IF).
    noise_sigma: Population.noise_sigma of every spiking layer (bio.spec's one definition).
    input:       "current" or "poisson".
    max_rate_hz: the rate that an activation equal to a layer's lambda stands for.
    """

    name: str
    model: object
    noise_sigma: float = 0.0
    input: str = "current"
    max_rate_hz: float = 1000.0


# The cortical regime: leaky neurons at the library LIF's values (rest and reset -70 mV, threshold
# -50 mV, tau_m 20 ms, refractory 2 ms), Poisson input and background noise. Cortical neurons fire
# at a few Hz with Poisson-like irregularity (Softky & Koch 1993, J Neurosci 13:334; Shadlen &
# Newsome 1998, J Neurosci 18:3870). max_rate_hz and noise_sigma were chosen on a validation split
# (the last 200 digits of the training split, the MLP 64-128-10 trained on the rest; grid max rate
# 80/100/130/150 Hz x noise 0.10/0.12/0.15): the most accurate setting whose first hidden layer
# stays well under 20 Hz (15.7 Hz) with a CV of ISIs >= 0.7 (0.73); 87.5% after 1 s there against
# 96.5% for the ANN. Higher noise makes firing more irregular and costs accuracy.
CORTICAL = Regime("cortical", neurons.LIF(t_ref=2 * b2.ms), noise_sigma=0.12, input="poisson",
                  max_rate_hz=100.0)
# Forward Euler on the Izhikevich (2003) quadratic model goes wrong at coarse steps: a converted
# input of one threshold distance is a jump of ~95 mV, and the most driven neurons are silenced by
# their recovery variable. Measured on the digits MLP 64-32-10 (40 test samples, 50 ms): accuracy
# 0% at dt 1 ms, 38% at 0.5 ms, 90% at 0.25 ms and 90% at 0.1 ms (ANN 95%).
MAX_DT_MS = {neurons.Izhikevich: 0.25}
NEURONS = ("if", "lif", "cortical")


def _regime(neuron, tau_m_ms, t_ref_ms) -> Regime:
    if isinstance(neuron, Regime):
        regime = neuron
    elif neuron == "cortical":
        regime = CORTICAL
    elif neuron in layered.NEURONS:
        if neuron == "if" and tau_m_ms is not None:
            raise ValueError("tau_m_ms applies to neuron='lif'; the ideal IF has no leak")
        regime = Regime(neuron, layered.neuron_model(
            neuron, tau_m=(20.0 if tau_m_ms is None else tau_m_ms) * b2.ms,
            t_ref=(0.0 if t_ref_ms is None else t_ref_ms) * b2.ms))
    elif isinstance(neuron, str):
        raise ValueError(f"unknown neuron {neuron!r}; choose one of: {', '.join(NEURONS)}, or pass a "
                         "bio.neurons model instance (e.g. bio.neurons.AdEx())")
    else:
        regime = Regime(type(neuron).__name__, layered._check_model(neuron, "neuron"))
    if (tau_m_ms is not None or t_ref_ms is not None) and not (isinstance(neuron, str) and neuron in
                                                                layered.NEURONS):
        raise ValueError("tau_m_ms and t_ref_ms apply to neuron='if'/'lif'; set the time constants on "
                         "the model instance instead (e.g. bio.neurons.LIF(tau_m=10*ms))")
    return regime


@dataclass
class EvalResult:
    """What `ConvertedSNN.evaluate` returns.

    accuracy:     fraction of samples classified correctly.
    predictions:  (N,) int64 predicted classes; labels: (N,) int64.
    rates_hz:     {population: (N, n)} firing rates over the whole run.
    activations:  {population: (N, n)} decoded to ANN units (see ConvertedSNN.activations).
    out_counts:   (N, n_out) output spike counts; out_v: (N, n_out) final membrane potentials (volt).
    times_ms, accuracy_t: (T,) accuracy when reading out after each step.
    record:       the SpikeRecord (neuron index = sample * n + k).
    wall_s:       wall-clock seconds of the simulation(s).
    """

    accuracy: float
    predictions: np.ndarray
    labels: np.ndarray
    rates_hz: dict
    activations: dict
    out_counts: np.ndarray
    out_v: np.ndarray
    times_ms: np.ndarray
    accuracy_t: np.ndarray
    record: SpikeRecord
    wall_s: float


def _classify(counts, v_units):
    """Most spikes wins; 0.5 * tanh(v_units) lies in (-0.5, 0.5), so the potential only breaks ties."""
    return np.argmax(counts + 0.5 * np.tanh(v_units), axis=-1)


@dataclass
class ConvertedSNN:
    """A converted network: the bio spec plus what is needed to read it out and convert back.

    net:    the NetworkSpec of bio.layered (bio.lesion edits copies of it); its meta holds
            the layers, the input code and rate_hz.
    scales: {population: (n,) lambda}, the activation that rate_hz stands for.
    stages: per population, the torch layers it came from (internal).

    With current input on the numpy or cython target, `evaluate` keeps the Brian2 network it
    built for a batch size (bio.prepared: built, its code generated and compiled once) and
    runs it again for the next batches and calls of that size; a changed `net` is noticed
    and built anew. Copies and pickles leave these Brian2 networks behind.
    """

    net: NetworkSpec
    scales: dict
    stages: list = field(repr=False)
    _prepared: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __getstate__(self):
        return {**self.__dict__, "_prepared": {}}

    @property
    def populations(self) -> list[str]:
        return list(layered.layers(self.net)[1:])

    @property
    def rate_hz(self) -> float:
        return float(self.net.meta["rate_hz"])

    @property
    def input(self) -> str:
        return self.net.meta["input"]

    @property
    def n_in(self) -> int:
        return self.net.populations["in"].n

    @property
    def n_out(self) -> int:
        return self.net.populations[self.populations[-1]].n

    def _v_units(self, v):
        """Output membrane potentials (volt) in threshold distances above reset."""
        model = self.net.populations[self.populations[-1]].model
        return (v - float(model.v_reset / b2.volt)) / layered.threshold_distance(model)

    def _simulate(self, x, duration_ms, dt_ms, target, seed, reference):
        n_steps = int(round(duration_ms / dt_ms))
        inputs = x
        if self.input == "poisson":
            inputs = coding.poisson(x, self.rate_hz, duration_ms, dt_ms, seed)  # (T, B, n_in)
        if reference:
            from .reference import simulate
            return simulate(self.net, inputs, n_steps, dt_ms * 1e-3, seed)
        if self.input == "current" and target in RUNTIME_TARGETS:
            return self._run_prepared(x, n_steps, dt_ms, target, seed)
        return layered.run(self.net, inputs, n_steps * dt_ms * b2.ms, dt=dt_ms * b2.ms, target=target,
                           seed=seed)

    def _run_prepared(self, x, n_steps, dt_ms, target, seed):
        """Current input: the Brian2 network kept for this batch size, run on x (B, n_in)."""
        spec = layered.drive(self.net, x, n_steps, dt_ms * 1e-3)
        key = (len(x), n_steps, float(dt_ms), target)
        prepared, now = self._prepared.get(key), fingerprint(spec)
        if prepared is None or prepared.key != now:
            if key not in self._prepared and len(self._prepared) >= 2:
                self._prepared.pop(next(iter(self._prepared)))  # whole batches and a last, smaller one
            prepared = self._prepared[key] = Prepared(spec, n_steps * dt_ms * b2.ms, target=target,
                                                      dt=dt_ms * b2.ms)
        return prepared.run(spec, seed=seed, key=now)

    def evaluate(self, split, duration_ms: float = 50.0, dt_ms: float = 1.0, target: str = "numpy",
                 batch_size: int | None = None, seed: int = 0, reference: bool = False) -> EvalResult:
        """Classify every sample of `split` (.x (N, n_in) in [0, 1], .y (N,) in 0..n_out-1).

        All samples (or batch_size of them at a time) run as independent copies in
        one Brian2 run of duration_ms at step dt_ms. reference=True runs the NumPy
        reference simulation (bridge.reference; IF and LIF only) instead of Brian2.
        Poisson input is drawn with seed + (index of the batch's first sample).
        """
        if not (np.isfinite(dt_ms) and dt_ms > 0 and np.isfinite(duration_ms)
                and int(round(duration_ms / dt_ms)) >= 1):
            raise ValueError(f"need finite duration_ms >= dt_ms > 0, got duration_ms={duration_ms}, "
                             f"dt_ms={dt_ms}")
        for p in self.populations:
            limit = MAX_DT_MS.get(type(self.net.populations[p].model))
            if limit is not None and dt_ms > limit:
                raise ValueError(f"{type(self.net.populations[p].model).__name__} neurons need dt_ms <= "
                                 f"{limit:g} (forward Euler is unreliable above it), got dt_ms={dt_ms}")
        x = _check_x(split, self.n_in, "evaluation")
        if x.min() < 0 or x.max() > 1:
            raise ValueError(f"evaluation inputs must lie in [0, 1] (they stand for rates up to "
                             f"rate_hz = {self.rate_hz:g} Hz), got range [{x.min():.3g}, {x.max():.3g}]")
        if not hasattr(split, "y"):
            raise ValueError("evaluate needs a split with .x and .y (labels); use ann.data splits")
        y = _check_labels(split.y, len(x), self.n_out)
        batch_size = len(x) if batch_size is None else batch_size
        if int(batch_size) != batch_size or batch_size < 1:
            raise ValueError(f"batch_size must be a whole number >= 1, got {batch_size}")
        batch_size = int(batch_size)
        start = time.perf_counter()
        records = [self._simulate(x[s:s + batch_size], duration_ms, dt_ms, target, seed + s, reference)
                   for s in range(0, len(x), batch_size)]
        wall = time.perf_counter() - start
        names = layered.layers(self.net)
        rec = _merge(records, [min(batch_size, len(x) - s) for s in range(0, len(x), batch_size)],
                     {p: self.net.populations[p].n for p in names})
        return self._decode(rec, x.shape[0], y, dt_ms, wall)

    def accuracy_vs_time(self, split, duration_ms: float = 50.0, **kw):
        """(times_ms (T,), accuracy (T,)): accuracy when reading out after each step, from one run."""
        res = self.evaluate(split, duration_ms=duration_ms, **kw)
        return res.times_ms, res.accuracy_t

    def activations(self, rec: SpikeRecord, t_stop_ms: float | None = None, dt_ms: float = 1.0) -> dict:
        """SNN activations in ANN units from a record of this network: {population: (N, n)}.

        Hidden populations: rate over [0, t_stop_ms) / rate_hz * lambda. The output
        population: (spikes + (v - v_reset) / D) over the same window, i.e. the input it
        integrated (reset by subtraction keeps the rest in v), so negative logits show
        as negative membrane potentials rather than as silence.
        """
        t_stop_ms = rec.duration_s * 1e3 if t_stop_ms is None else t_stop_ms
        n_steps = int(round(t_stop_ms / dt_ms))
        out = self.populations[-1]
        n_samples = rec.n_neurons[out] // self.n_out
        acts = {}
        for p in self.populations:
            n = self.net.populations[p].n
            counts = rec.spike_counts(p, 0.0, (n_steps - 0.5) * dt_ms * 1e-3).reshape(n_samples, n)
            if p == out:
                counts = counts + self._v_units(rec.traces[f"{out}.v"][n_steps - 1].reshape(n_samples, n))
            rates = counts / (n_steps * dt_ms * 1e-3)
            acts[p] = coding.rates_to_values(rates, self.rate_hz, self.scales[p][None, :])
        return acts

    def _decode(self, rec: SpikeRecord, n_samples, y, dt_ms, wall) -> EvalResult:
        out, n_out = self.populations[-1], self.n_out
        n_steps = int(round(rec.duration_s * 1e3 / dt_ms))
        rates = {p: rec.rates_hz(p).reshape(n_samples, self.net.populations[p].n) for p in self.populations}
        counts = rec.spike_counts(out).reshape(n_samples, n_out)
        v_trace = rec.traces[f"{out}.v"]  # (T, N * n_out)
        pred = _classify(counts, self._v_units(v_trace[-1].reshape(n_samples, n_out)))
        # counts up to each step, for the accuracy-vs-time curve
        step = np.minimum(np.rint(rec.times_s[out] * 1e3 / dt_ms).astype(np.int64), n_steps - 1)
        cum = np.zeros((n_steps, n_samples * n_out))
        np.add.at(cum, (step, rec.indices[out]), 1.0)
        cum = np.cumsum(cum, axis=0).reshape(n_steps, n_samples, n_out)  # (T, N, n_out)
        pred_t = _classify(cum, self._v_units(v_trace.reshape(n_steps, n_samples, n_out)))  # (T, N)
        return EvalResult(
            accuracy=float(np.mean(pred == y)), predictions=pred, labels=y,
            rates_hz=rates, activations=self.activations(rec, dt_ms=dt_ms), out_counts=counts,
            out_v=v_trace[-1].reshape(n_samples, n_out), times_ms=(np.arange(n_steps) + 1) * dt_ms,
            accuracy_t=(pred_t == y[None, :]).mean(axis=1), record=rec, wall_s=wall)


def _merge(records: list[SpikeRecord], sizes: list[int], n_per_copy: dict) -> SpikeRecord:
    """Join records of consecutive sample batches into one (index = sample * n + k)."""
    if len(records) == 1:
        return records[0]
    pops = records[0].populations
    offsets = np.cumsum([0] + sizes[:-1])
    times = {p: np.concatenate([r.times_s[p] for r in records]) for p in pops}
    idx = {p: np.concatenate([r.indices[p] + o * n_per_copy[p] for r, o in zip(records, offsets)]) for p in pops}
    order = {p: np.argsort(times[p], kind="stable") for p in pops}
    traces = {k: np.concatenate([r.traces[k] for r in records], axis=1) for k in records[0].traces}
    return SpikeRecord({p: times[p][order[p]] for p in pops}, {p: idx[p][order[p]] for p in pops},
                       {p: sum(sizes) * n_per_copy[p] for p in pops}, records[0].duration_s,
                       traces, records[0].trace_dt_s, copies=sum(sizes))


def to_snn(model, calibration, neuron="if", normalisation: str = "percentile",
           percentile: float = 99.9, input: str | None = None, max_rate_hz: float | None = None,
           tau_m_ms: float | None = None, t_ref_ms: float | None = None,
           noise_sigma: float | None = None) -> ConvertedSNN:
    """Convert a trained ReLU network (nn.Sequential of SUPPORTED layers) to a spiking one.

    model:         e.g. ann.models.MLP / CNN, or any nn.Sequential of supported layers.
    calibration:   (N, n_in) inputs (or a split with .x) whose activations set the
                   normalisation; a few hundred training samples are enough.
    neuron:        "if" (ideal, non-leaky; t_ref_ms optional), "lif" (leak tau_m_ms,
                   default 20, refractory t_ref_ms, default 0), "cortical" (the CORTICAL
                   regime: leaky, refractory, noisy, Poisson input at cortical rates), a
                   `Regime`, or any bio.neurons model instance (IF, LIF, AdEx, Izhikevich, ...).
    normalisation: "max", "percentile" or "channel" (see the module docstring).
    percentile:    used by "percentile" and "channel" (e.g. 99, 99.9, 99.99; 100 = max).
    input:         "current" (values drive the first layer as constant currents) or
                   "poisson"; None: the regime's (current, except "cortical").
    max_rate_hz:   the rate an activation equal to lambda stands for (<= 1 / dt with
                   Poisson input); None: the regime's (1000 Hz, except "cortical").
    noise_sigma:   background noise of every spiking layer; None: the regime's (0, except "cortical").
    Returns a ConvertedSNN.
    """
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {normalisation!r}; choose one of: {', '.join(NORMALISATIONS)}")
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    for what, value in (("tau_m_ms", tau_m_ms), ("t_ref_ms", t_ref_ms)):
        if value is not None and not (np.isfinite(value) and value >= (0 if what == "t_ref_ms" else 1e-9)):
            raise ValueError(f"{what} must be a finite number {'>= 0' if what == 't_ref_ms' else '> 0'}, "
                             f"got {value}")
    regime = _regime(neuron, tau_m_ms, t_ref_ms)
    input = regime.input if input is None else input
    rate = regime.max_rate_hz if max_rate_hz is None else max_rate_hz
    noise = regime.noise_sigma if noise_sigma is None else noise_sigma
    if input not in layered.INPUTS:
        raise ValueError(f"unknown input {input!r}; choose one of: {', '.join(layered.INPUTS)}")
    if not (np.isfinite(rate) and rate > 0):
        raise ValueError(f"max_rate_hz must be a finite number > 0, got {rate}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise_sigma must be a finite number >= 0, got {noise}")
    first = next((m for m in model.children() if isinstance(m, (nn.Linear, nn.Conv2d))), None) \
        if isinstance(model, nn.Sequential) else None
    n_in = None
    if isinstance(model, nn.Sequential):
        unflat = next((m for m in model.children() if isinstance(m, nn.Unflatten)), None)
        n_in = (int(np.prod(unflat.unflattened_size)) if unflat is not None
                else first.in_features if isinstance(first, nn.Linear) else None)
    x = _check_x(calibration, n_in)
    if not np.any(x != 0):
        raise ValueError("calibration data are all zero, so no layer's normalisation can be measured; "
                         "calibrate with real samples (e.g. the training split)")
    stages = _parse(model, x.shape[1])
    acts = _stage_outputs(model, stages, x)
    names = _names(len(stages))
    sizes, weights, bias, scales, maxpool = {"in": x.shape[1]}, {}, {}, {}, []
    lam_prev, prev = np.ones(x.shape[1]), "in"
    for k, (st, a, name) in enumerate(zip(stages, acts, names)):
        pre, post, tap = _synapses(st)
        if st.kind in ("linear", "conv"):
            lam = _lambda(a, st, name, normalisation, percentile, k == len(stages) - 1)
            w, b = _folded(st)
            weights[(prev, name)] = (pre, post, w.ravel()[tap] * lam_prev[pre] / lam[post])
            bias[name] = np.repeat(b, st.n // len(b)) / lam * rate
        else:  # pooling keeps its input's scale
            lam = _pool_scale(lam_prev, pre, post, st.n)
            weights[(prev, name)] = (pre, post, np.ones(len(pre)) if st.kind == "maxpool"
                                     else np.full(len(pre), 1.0 / st.kernel ** 2) * lam_prev[pre] / lam[post])
            if st.kind == "maxpool":
                maxpool.append(name)
        sizes[name] = st.n
        scales[name] = lam
        lam_prev, prev = lam, name
    shapes = {"in": tuple(stages[0].in_shape), **{n: tuple(st.out_shape) for n, st in zip(names, stages)}}
    net = layered.layered(sizes, weights, model=regime.model, bias_hz=bias, maxpool=maxpool, shapes=shapes,
                          noise_sigma=noise, input=input, rate_hz=float(rate))
    net.meta["regime"] = regime.name
    return ConvertedSNN(net, scales, stages)


def _pool_scale(lam_prev, pre, post, n_post):
    """Scale of a pooling population: that of its inputs (one channel per window)."""
    lam = np.ones(n_post)
    lam[post] = lam_prev[pre]
    return lam


def to_torch(snn, template_model):
    """Weights of a converted (or any matching bio.layered) network back into a copy of template_model.

    snn: a ConvertedSNN (normalisation undone with its scales) or a NetworkSpec from
         bio.layered.layered whose connections are "in->h1", "h1->h2", ..., "->out"
         (scales taken as 1).
    template_model: an nn.Sequential with the same layers (e.g. the model converted).
    Lesioned synapses (dead ends, transmits=False) become zero weights; a conv kernel
    entry is the mean over its active synapses. BatchNorm layers become identities
    (their effect is already in the folded weights).
    Returns a new nn.Sequential; template_model is not changed.
    """
    net = snn.net if isinstance(snn, ConvertedSNN) else snn
    if not isinstance(net, NetworkSpec) or "layers" not in net.meta:
        raise ValueError(f"to_torch needs a ConvertedSNN or a bio.layered NetworkSpec, got {type(snn).__name__}")
    model = copy.deepcopy(template_model)
    n_in = net.populations["in"].n
    stages = _parse(model, n_in)
    names = _names(len(stages))
    have = list(layered.layers(net)[1:])
    if have != names or any(net.populations[n].n != st.n for n, st in zip(names, stages)):
        raise ValueError(f"template_model's layers {[(n, st.n) for n, st in zip(names, stages)]} do not match "
                         f"the network's {[(p, net.populations[p].n) for p in have]}")
    scales = snn.scales if isinstance(snn, ConvertedSNN) else {p: np.ones(net.populations[p].n) for p in names}
    rate_hz = float(net.meta["rate_hz"])
    lam_prev, prev = np.ones(n_in), "in"
    with torch.no_grad():
        for st, name in zip(stages, names):
            lam = scales[name]
            if st.kind in ("linear", "conv"):
                cname = f"{prev}->{name}"
                c = net.connections[cname]
                keep = c.active(net.populations)
                m = model[st.index]
                # each stored synapse's kernel entry, found by its (pre, post) key
                pre_all, post_all, tap_all = _synapses(st)
                n_pre = int(np.prod(st.in_shape))
                keys = post_all * n_pre + pre_all
                order = np.argsort(keys)
                pos = np.searchsorted(keys[order], c.j * n_pre + c.i)
                found = keys[order][np.minimum(pos, len(keys) - 1)] == c.j * n_pre + c.i
                if not found.all():
                    raise ValueError(f"connection {cname} has synapses that layer {st.index} "
                                     "of template_model cannot hold")
                tap = tap_all[order][pos]
                w_orig = layered.weights_in_thresholds(net, cname) * lam[c.j] / lam_prev[c.i] * keep
                size = m.weight.numel()
                total = np.bincount(tap, weights=w_orig, minlength=size)
                hits = np.bincount(tap[keep], minlength=size)
                w = np.where(hits > 0, total / np.maximum(hits, 1), 0.0)
                m.weight.copy_(torch.as_tensor(w.reshape(m.weight.shape), dtype=m.weight.dtype))
                b = layered.bias_hz(net, name) / rate_hz * lam
                per_channel = b.reshape(m.weight.shape[0], -1).mean(axis=1)
                if m.bias is None:
                    m.bias = nn.Parameter(torch.zeros(m.weight.shape[0]))
                m.bias.copy_(torch.as_tensor(per_channel, dtype=m.bias.dtype))
                if st.bn is not None:
                    bn = st.bn
                    bn.running_mean.zero_()
                    bn.running_var.fill_(1.0 - bn.eps)
                    if bn.affine:
                        bn.weight.fill_(1.0)
                        bn.bias.zero_()
            lam_prev, prev = lam, name
    return model
