"""A trained Elman RNN with ReLU units -> a recurrent network of IF neurons in Brian2.

    rnn = ann.models.RNN(input_size=8, hidden_size=64, cell="elman", nonlinearity="relu")
    snn = to_snn(rnn, calibration=rows.train.x, step_ms=50)     # 50 ms of simulated time per step
    res = snn.evaluate(rows.test)        # accuracy, predictions, per-step hidden rates, SpikeRecord

The RNN computes, for layers k = 1..K and steps t = 1..T (h_0[t] = x[t], h_k[0] = 0),

    h_k[t] = relu(W_ih,k h_{k-1}[t] + b_ih,k + W_hh,k h_k[t-1] + b_hh,k),   logits = W h_K[T] + b.

Method (rate coding, Cao et al. 2015; Diehl et al. 2015; Rueckauer et al. 2017, Front.
Neurosci. 11:682, extended in time): every RNN step becomes a window of `step_ms` of
simulated time, and a unit's activation a stands for the firing rate a / lambda * rate_hz
of an ideal IF neuron (reset by subtraction) during that window.
- lambda is data-based, as in bridge/convert.py: the `percentile` of the positive
  activations over every step of the calibration sequences, per unit ("unit", the default:
  a unit that is never strongly active still gets a fine rate resolution; Kim et al. 2020
  do this per channel) or per layer ("layer"); weights become w * lambda_pre / lambda_post
  (threshold units), biases (b_ih + b_hh) / lambda * rate_hz constant currents, and the
  input row x[t] (values in [0, 1]) drives the first layer as a constant current during
  window t (`bio.inputs.Values`, one sample per step). The output layer has one lambda.
- the recurrent weights W_hh are synapses whose spikes act exactly one window later: the
  spec uses the layerwise schedule (bio/simulate.py), where a recurrent pathway delivers a
  spike of step k at step k + 1 + delay, so a delay of one window less one step makes the
  spikes a layer fires in window t-1 (its rate ~ h[t-1]) arrive in window t at the same
  offsets, none lost at a window's edge. Feed-forward pathways (input -> h1 -> h2 -> output)
  deliver within the step: window t of layer k sees window t of layer k-1.
- every membrane returns to rest at each window onset (the compiler's sample onset), so
  the charge of step t-1 is not counted in step t and a negative pre-activation is
  forgotten, as the ReLU forgets it; delayed spikes in flight are kept. A neuron then emits
  floor(charge) spikes in a window, half a spike too few on average; a bias of `shift`
  (0.5) threshold per window makes it round instead (the half-threshold shift of Bu et al.
  2022, ICLR, "Optimal ANN-SNN conversion for high-accuracy and ultra-low-latency SNNs").
- the output layer integrates the last layer's spikes within each window; the class is
  the output neuron with the most input in the last window: spike count plus the
  membrane left after reset by subtraction (in thresholds), i.e. the integrated logit,
  whose sign survives (a negative logit is a negative membrane, not silence).
The error falls with the window: a rate of at most rate_hz resolves an activation to
1 / (step_ms * rate_hz) of lambda per step, and errors grow through the recurrence when
W_hh expands (benchmarks/learners.py measures the gap against step_ms: within a point of
the RNN at 50 ms per step on the digits by rows).

Supported: ann.models.RNN(cell="elman", nonlinearity="relu"), any number of layers.
LSTM and GRU gates multiply two activities (sigmoid(.) * tanh(.)), tanh and sigmoid
saturate in both directions, and attention takes a softmax over the sequence: none is
the rectified sum an IF neuron's rate computes, so they are rejected by name.
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch
from brian2 import ms, volt

from ann.models import RNN
from bio import inputs, layered
from bio.record import SpikeRecord
from bio.simulate import run as bio_run

__all__ = ["to_snn", "RecurrentSNN", "RecurrentResult", "rnn_activations", "SUPPORTED", "NORMALISATIONS"]

SUPPORTED = "ann.models.RNN(cell='elman', nonlinearity='relu')"
NORMALISATIONS = ("unit", "layer")


def _check_model(model) -> None:
    name = type(model).__name__
    if isinstance(model, RNN):
        cfg = model.config
        if cfg["cell"] != "elman":
            raise ValueError(f"an RNN with {cfg['cell'].upper()} cells cannot be converted: its gates "
                             f"multiply activities, which rate-coded IF neurons cannot; supported: {SUPPORTED}")
        if cfg.get("nonlinearity", "tanh") != "relu":
            raise ValueError(f"an Elman RNN with {cfg.get('nonlinearity', 'tanh')} units cannot be "
                             f"converted: an IF neuron's rate is a rectified sum; supported: {SUPPORTED} "
                             "(train it with nonlinearity='relu')")
        return
    if "Attention" in name or any(isinstance(m, torch.nn.MultiheadAttention) for m in model.modules()):
        raise ValueError(f"{name} uses attention (a softmax over the sequence), which rate-coded IF "
                         f"neurons cannot compute; supported: {SUPPORTED}")
    raise ValueError(f"cannot convert {name} as a recurrent network; supported: {SUPPORTED} "
                     "(feed-forward networks: bridge.convert.to_snn)")


def _sequences(x, input_size: int, what: str) -> np.ndarray:
    """(N, T, F) float64 from (N, T, F), (N, T*F) or a split with .x; ValueError otherwise."""
    x = np.asarray(x.x if hasattr(x, "x") else x, dtype=np.float64)
    if x.ndim == 2 and x.shape[1] % input_size == 0:
        x = x.reshape(len(x), -1, input_size)  # (N, T*F) -> (N, T, F)
    if x.ndim != 3 or x.shape[2] != input_size or len(x) == 0 or x.shape[1] == 0:
        raise ValueError(f"{what} data must be non-empty (samples, steps, {input_size}) sequences, "
                         f"got shape {x.shape}")
    if not np.all(np.isfinite(x)):
        raise ValueError(f"{what} data hold NaN or infinite values")
    return x


def _params(model: RNN):
    """[(W_ih, W_hh, b) per layer] and (W_head, b_head) as float64 arrays."""
    rnn, layers = model.rnn, []
    for k in range(rnn.num_layers):
        get = lambda n: getattr(rnn, f"{n}_l{k}").detach().double().cpu().numpy()  # noqa: E731
        b = (get("bias_ih") + get("bias_hh")) if rnn.bias else np.zeros(rnn.hidden_size)
        layers.append((get("weight_ih"), get("weight_hh"), b))
    head = (model.head.weight.detach().double().cpu().numpy(), model.head.bias.detach().double().cpu().numpy())
    return layers, head


def rnn_activations(model: RNN, x) -> dict[str, np.ndarray]:
    """Every layer's activation at every step: {"h1": (N, T, H), ..., "out": (N, n_out) logits}.

    Computed in float64 from the RNN's weights (the recurrence of the module docstring).
    """
    _check_model(model)
    x = _sequences(x, model.config["input_size"], "input")
    layers, (w_head, b_head) = _params(model)
    acts, h_in = {}, x
    for k, (w_ih, w_hh, b) in enumerate(layers, 1):
        h, out = np.zeros((len(x), w_hh.shape[0])), []
        for t in range(x.shape[1]):
            h = np.maximum(h_in[:, t] @ w_ih.T + b + h @ w_hh.T, 0.0)
            out.append(h)
        acts[f"h{k}"] = h_in = np.stack(out, axis=1)  # (N, T, H)
    acts["out"] = h_in[:, -1] @ w_head.T + b_head
    return acts


def _lambda(a: np.ndarray, name: str, percentile: float, per_unit: bool) -> np.ndarray:
    """(n,) normalisation factors of a layer from its activations a (N, T, n) or (N, n)."""
    pos = a[a > 0]
    if pos.size == 0:
        raise ValueError(f"layer {name} has no positive activation on the calibration data, so its "
                         "normalisation is undefined; calibrate with real samples (e.g. the training split)")
    layer = float(np.percentile(pos, percentile))
    units = a.reshape(-1, a.shape[-1]).T  # (n, N*T)
    if not per_unit:
        return np.full(len(units), layer)
    return np.array([np.percentile(u[u > 0], percentile) if np.any(u > 0) else layer for u in units])


@dataclass
class RecurrentResult:
    """What `RecurrentSNN.evaluate` returns.

    accuracy; predictions, labels: (N,) int64.
    activations: {"h1": (N, T, H), ...} hidden rates per window decoded to RNN units
                 (rate / rate_hz * lambda), comparable with `rnn_activations`.
    out_input:   (N, n_out) output neurons' integrated input in the last window (thresholds).
    records:     the SpikeRecords, one per batch (copy-major: neuron k of sample b is b * n + k).
    step_ms, wall_s: simulated time per RNN step, wall-clock seconds.
    """

    accuracy: float
    predictions: np.ndarray
    labels: np.ndarray
    activations: dict
    out_input: np.ndarray
    records: list
    step_ms: float
    wall_s: float


@dataclass
class RecurrentSNN:
    """A converted Elman RNN: the bio.layered NetworkSpec with a delayed recurrent pathway per layer.

    net: the spec ("in", "h1".., "out"; connections "h<k>->h<k>" carry the recurrence, acting
         one window later; meta: schedule "layerwise", step_ms, dt_ms). scales: {population:
         (n,) lambda}. step_ms: window per RNN step. input_size: features per step.
    """

    net: object
    scales: dict
    step_ms: float
    input_size: int

    @property
    def populations(self) -> list[str]:
        return list(layered.layers(self.net)[1:])

    @property
    def dt_ms(self) -> float:
        return float(self.net.meta["dt_ms"])

    def simulate(self, x, target: str = "numpy", seed: int = 0) -> SpikeRecord:
        """Run sequences x (B, T, F) (values in [0, 1]) as B copies; one window per step.
        seed: the compiler's seed (matters only where a lesion added noise)."""
        x = _sequences(x, self.input_size, "input")
        if x.min() < 0 or x.max() > 1:
            raise ValueError(f"inputs must lie in [0, 1] (they stand for rates up to rate_hz), got range "
                             f"[{x.min():.3g}, {x.max():.3g}]")
        dt_ms = self.dt_ms
        spec = self.net.with_inputs(inputs.Values("in", x.transpose(1, 0, 2),  # (T, B, F): one sample per step
                                                  rate_hz=self.net.meta["rate_hz"]),
                                    period=self.step_ms * ms)
        return bio_run(spec, x.shape[1] * self.step_ms * ms, target=target, dt=dt_ms * ms, seed=seed)

    def evaluate(self, split, target: str = "numpy", batch_size: int | None = None,
                 seed: int = 0) -> RecurrentResult:
        """Classify every sequence of `split` (.x (N, T, F) or (N, T*F) in [0, 1], .y (N,)).
        Batch k runs with seed + k (see `simulate`)."""
        x = _sequences(split, self.input_size, "evaluation")
        y = np.asarray(split.y).astype(np.int64)
        if y.shape != (len(x),):
            raise ValueError(f"labels must be one per sample, shape ({len(x)},), got {y.shape}")
        batch_size = len(x) if batch_size is None else int(batch_size)
        n_steps, out = x.shape[1], self.populations[-1]
        sizes = {p: self.net.populations[p].n for p in self.populations}
        model = self.net.populations[out].model
        d = layered.threshold_distance(model)
        window = self.step_ms * 1e-3
        acts, out_input, records = {p: [] for p in self.populations[:-1]}, [], []
        start = time.perf_counter()
        for s in range(0, len(x), batch_size):
            xb = x[s:s + batch_size]
            b = len(xb)
            rec = self.simulate(xb, target, seed + s // batch_size)
            for p in acts:
                counts = rec.sample_counts(p, window, n_steps)  # (T, B, n)
                acts[p].append((counts / window / self.net.meta["rate_hz"] * self.scales[p]).transpose(1, 0, 2))
            last = rec.sample_counts(out, window, n_steps)[-1]  # (B, n_out): spikes in the last window
            v = rec.traces[f"{out}.v"]  # (steps, B * n_out) volt, at the end of every step
            k = int(round(self.step_ms / self.dt_ms))
            v0 = v[-k - 1] if self.net.meta.get("reset", True) is False and len(v) > k else \
                np.full(v.shape[1], float(model.v_reset / volt))
            out_input.append(last + ((v[-1] - v0) / d).reshape(b, sizes[out]))
            records.append(rec)
        wall = time.perf_counter() - start
        got = np.concatenate(out_input)
        pred = np.argmax(got, axis=1)
        return RecurrentResult(float(np.mean(pred == y)), pred, y,
                               {p: np.concatenate(v) for p, v in acts.items()}, got,
                               records, self.step_ms, wall)


def to_snn(model, calibration, step_ms: float = 50.0, percentile: float = 99.9,
           max_rate_hz: float = 1000.0, shift: float = 0.5, normalisation: str = "unit",
           dt_ms: float = 1.0) -> RecurrentSNN:
    """Convert a trained ReLU Elman RNN (see the module docstring) to a recurrent IF network.

    model:       ann.models.RNN(cell="elman", nonlinearity="relu"); anything else raises a
                 ValueError naming what is supported.
    calibration: (N, T, F) or (N, T*F) sequences (or a split with .x) whose activations set
                 the normalisation.
    step_ms:     simulated time per RNN step (the window): a whole number >= 2 of dt_ms.
    percentile:  of the positive activations (100 = the maximum).
    max_rate_hz: the rate an activation equal to lambda stands for (<= 1 / dt_ms).
    shift:       extra charge per window in thresholds (0.5: round instead of floor).
    normalisation: "unit" (a lambda per hidden unit) or "layer".
    dt_ms:       the simulation step the network is built for.
    Returns a RecurrentSNN.
    """
    _check_model(model)
    steps = step_ms / dt_ms if dt_ms > 0 else np.nan
    if not (np.isfinite(steps) and abs(steps - round(steps)) < 1e-9 and round(steps) >= 2):
        raise ValueError(f"step_ms must be a whole number >= 2 of steps of dt_ms; got step_ms = "
                         f"{step_ms}, dt_ms = {dt_ms}")
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must be in (0, 100], got {percentile}")
    if not (np.isfinite(max_rate_hz) and max_rate_hz > 0):
        raise ValueError(f"max_rate_hz must be a finite number > 0, got {max_rate_hz}")
    if normalisation not in NORMALISATIONS:
        raise ValueError(f"unknown normalisation {normalisation!r}; choose one of: {', '.join(NORMALISATIONS)}")
    if not (np.isfinite(shift) and 0 <= shift < 1):
        raise ValueError(f"shift must be in [0, 1) thresholds, got {shift}")
    acts = rnn_activations(model, calibration)
    layers, (w_head, b_head) = _params(model)
    names = [f"h{k}" for k in range(1, len(layers) + 1)]
    sizes, weights, bias, scales = {"in": model.config["input_size"]}, {}, {}, {}
    prev, lam_prev = "in", np.ones(model.config["input_size"])

    def scaled(w, lam_pre, lam_post):  # (n_post, n_pre) -> synapses in threshold units
        post, pre = np.divmod(np.arange(w.size, dtype=np.int64), w.shape[1])
        return pre, post, w.ravel() * lam_pre[pre] / lam_post[post]

    for name, (w_ih, w_hh, b) in zip(names, layers):
        lam = _lambda(acts[name], name, percentile, normalisation == "unit")
        weights[(prev, name)] = scaled(w_ih, lam_prev, lam)
        weights[(name, name)] = scaled(w_hh, lam, lam)
        sizes[name], scales[name] = w_hh.shape[0], lam
        bias[name] = b / lam * max_rate_hz + shift / (step_ms * 1e-3)
        prev, lam_prev = name, lam
    lam_out = _lambda(acts["out"], "out", percentile, False)  # one factor: argmax unchanged
    weights[(prev, "out")] = scaled(w_head, lam_prev, lam_out)
    sizes["out"], bias["out"], scales["out"] = w_head.shape[0], b_head / lam_out * max_rate_hz, lam_out
    net = layered.layered(sizes, weights, model=layered.neuron_model("if"), bias_hz=bias,
                          input="current", rate_hz=float(max_rate_hz))
    for name in names:  # the recurrence: a spike of step k acts at step k + 1 + delay = k + window
        c = net.connections[f"{name}->{name}"]
        c.delay_s = np.full(c.n_syn, (step_ms - dt_ms) * 1e-3)
    net.meta.update(schedule="layerwise", recurrent=tuple(names), step_ms=float(step_ms),
                    dt_ms=float(dt_ms), source="ann.models.RNN(elman, relu)")
    return RecurrentSNN(net, scales, float(step_ms), int(model.config["input_size"]))
