"""A surrogate-gradient spiking network (ann.spiking.SpikingMLP) in Brian2 with the same dynamics, and back.

    snn = to_brian(net)                  # a BrianSNN: net's weights as a bio NetworkSpec
    res = snn.run(x)                     # x (B, F) static or (B, T', F) a sequence; one bio.run
    res.spikes["hidden1"], res.readout, res.logits     # (T, B, N) bool, (T, B, n_out), (B, n_out)
    agreement(net, x, y)                 # torch and Brian2 side by side: same spike counts? accuracy?
    net2 = to_torch(snn, template)       # the spec's weights (lesioned, learned) back into torch

The torch network (ann/spiking.py, whose docstring fixes its discretisation) steps time
in units of dt = `dt_ms` with a dimensionless membrane: v[t] = beta v[t-1] + W x[t] + b
(+ V s[t-1]), a spike where v > threshold (strictly), then v -= threshold; layer l gets
layer l-1's spikes of the same step; the read-out u[t] = beta u[t-1] + W_out s_L[t] + b_out
never fires and the logits are its mean over the T steps. Brian2 computes exactly this
map when the spec is built as follows (Brian2 step = dt; one unit of the torch membrane
= `UNIT` = 1 mV):

- every hidden neuron is the library LIF (bio.neurons.LIF) with v_rest = v_reset = 0,
  v_thresh = threshold * UNIT, no refractory period, reset by subtraction (v -= v_th -
  v_reset) and tau_m = -dt / ln(beta). The compiler integrates its linear equation
  exactly, so between steps v decays by exp(-dt / tau_m) = beta; the library LIF's
  threshold is strict (v > v_th), as the torch one;
- a weight w is a `CurrentDelta` synapse of w * UNIT volt (kind "signed"): a spike moves
  the target's membrane by w units at once;
- a term added at every step (a bias b, or the first layer's W x[t] of analog input) is
  a current held over the step. The exact solution adds R I (1 - beta) at the end of a
  step (`step_gain`), so the bias is the constant current b * UNIT / (R (1 - beta))
  (`Population.i_ext_amp`) and the input is a `bio.inputs.Values` source whose rate_hz
  makes a value of 1 through weight w add w units per step. A static sample is held for
  T steps; a sequence (B, T', F) is T' samples of one step each, without a reset between
  them (meta["reset"] = False);
- the read-out is the same LIF with `spiking=False` (a leaky integrator), recorded as the
  trace "readout.v" at the end of every step; the logits are its time average (NumPy);
- the spec asks the compiler for the layerwise schedule (meta["schedule"], bio/simulate.py):
  within a step, after every state update, each population's incoming pathways run and
  then its threshold, so a spike of layer l-1 reaches layer l before layer l is tested
  (Brian2's default order would deliver it after, one step late). A recurrent pathway
  (population into itself) then runs before that population's threshold and delivers its
  spikes of the previous step, added after this step's decay: + V s[t-1], undecayed.

Both sides then compute the same sums in different precision (torch float32, Brian2
float64), so a spike can differ only where v lands within rounding of the threshold;
`agreement` measures how often that changes a neuron's spike count (on the digits: none
of 450 x 128 counts in any of 3 seeds, feed-forward or recurrent; benchmarks/learners.py).
beta must lie in (0, 1): a leaky membrane.
"""
from __future__ import annotations

import copy
import math
from dataclasses import dataclass

import brian2 as b2
import numpy as np
import torch
from brian2 import mV, ms, second, volt

from ann.spiking import SpikingMLP
from bio import inputs, neurons, synapses
from bio.record import SpikeRecord
from bio.simulate import run as bio_run
from bio.spec import Connection, NetworkSpec, Population, Record

__all__ = ["to_brian", "to_torch", "BrianSNN", "RunResult", "Agreement", "agreement", "raster",
           "step_gain", "UNIT"]

UNIT = 1 * mV  # one unit of the torch membrane (and of a weight) in Brian2


def step_gain(model, dt) -> float:
    """Volt added at the end of one step of `dt` by one amp of current held over it (ohm).

    LIF integrated exactly: R (1 - exp(-dt / tau_m)). IF (no leak): dt / C.
    """
    if isinstance(model, neurons.LIF):
        return float(model.R / b2.ohm) * (1.0 - math.exp(-float(dt / model.tau_m)))
    if isinstance(model, neurons.IF):
        return float(dt / model.C / b2.ohm)
    raise ValueError(f"step_gain is defined for bio.neurons.LIF and IF, not {type(model).__name__}")


def _layer_model(beta: float, threshold: float, dt, spiking: bool = True):
    """The library LIF whose exact step is v -> beta v, firing above threshold units."""
    return neurons.LIF(tau_m=-dt / math.log(beta), v_rest=0 * mV, v_reset=0 * mV,
                       v_thresh=threshold * UNIT, t_ref=0 * ms, reset="subtract", spiking=spiking)


def _numpy(t: torch.Tensor) -> np.ndarray:
    return t.detach().double().cpu().numpy()


def _dense(w: np.ndarray):
    """(n_out, n_in) matrix -> (i, j, w) synapse arrays (pre i, post j), one per entry."""
    j, i = np.divmod(np.arange(w.size, dtype=np.int64), w.shape[1])
    return i, j, w.ravel()


def to_brian(net: SpikingMLP, signed_input: bool = False) -> "BrianSNN":
    """The torch network as a bio NetworkSpec with the same discrete-time dynamics.

    net:          an ann.spiking.SpikingMLP (feed-forward or recurrent), 0 < beta < 1.
    signed_input: also accept negative input values: a second source "in_neg" carries
                  max(-x, 0) through the negated first-layer weights (bio.inputs.Values
                  stand for rates, which are never negative).
    Returns a BrianSNN. Populations "in" (source), "hidden1".., "readout"; connections
    "in->hidden1", "hidden1->hidden2", .., "hidden<L>->readout" and, if recurrent,
    "hidden<l>->hidden<l>".
    """
    if not isinstance(net, SpikingMLP):
        raise ValueError(f"to_brian converts an ann.spiking.SpikingMLP, got {type(net).__name__}")
    cfg = net.config
    beta, threshold = cfg["beta"], cfg["threshold"]
    if not 0.0 < beta < 1.0:
        raise ValueError(f"to_brian needs a leaky membrane, 0 < beta < 1 (tau_m = -dt/ln(beta)); "
                         f"got beta = {beta}")
    dt = cfg["dt_ms"] * ms
    hidden = _layer_model(beta, threshold, dt)
    readout = _layer_model(beta, threshold, dt, spiking=False)
    gain = step_gain(hidden, dt)
    unit = float(UNIT / volt)
    names = ["in"] + [f"hidden{k}" for k in range(1, len(net.hidden) + 1)] + ["readout"]
    pops = {"in": Population(None, cfg["in_features"])}
    if signed_input:
        pops["in_neg"] = Population(None, cfg["in_features"])
    conns = {}
    layers = list(net.hidden) + [net.readout]
    for k, (layer, name) in enumerate(zip(layers, names[1:])):
        w, b = _numpy(layer.fc.weight), _numpy(layer.fc.bias)
        model = readout if name == "readout" else hidden
        pops[name] = Population(model, w.shape[0], i_ext_amp=b * unit / gain)
        i, j, ww = _dense(w)
        conns[f"{names[k]}->{name}"] = Connection(names[k], name, synapses.CurrentDelta(), i, j,
                                                  ww * unit, kind="signed")
        if k == 0 and signed_input:
            conns[f"in_neg->{name}"] = Connection("in_neg", name, synapses.CurrentDelta(), i, j,
                                                  -ww * unit, kind="signed")
        if hasattr(layer, "rec"):
            i, j, ww = _dense(_numpy(layer.rec.weight))
            conns[f"{name}->{name}"] = Connection(name, name, synapses.CurrentDelta(), i, j,
                                                  ww * unit, kind="signed")
    meta = {"layers": tuple(names), "schedule": "layerwise", "beta": beta, "threshold": threshold,
            "dt_ms": cfg["dt_ms"], "T": cfg["T"], "recurrent": cfg["recurrent"],
            "signed_input": bool(signed_input), "unit_v": unit, "source": "ann.spiking.SpikingMLP"}
    spec = NetworkSpec(pops, conns, record=Record(traces={"readout.v": True}, when="end"),
                       meta=meta).check()
    return BrianSNN(spec)


def raster(rec: SpikeRecord, pop: str, n: int, copies: int, n_steps: int, dt_s: float) -> np.ndarray:
    """Spikes of population `pop` (n neurons per copy) as a bool raster (T, B, n)."""
    out = np.zeros((n_steps, copies * n), bool)
    step = np.rint(rec.times_s[pop] / dt_s).astype(np.int64)
    ok = step < n_steps
    out[step[ok], rec.indices[pop][ok]] = True
    return out.reshape(n_steps, copies, n)  # (T, B, N)


@dataclass
class RunResult:
    """What `BrianSNN.run` returns (the torch network's outputs, computed by Brian2).

    spikes:  {"hidden1": (T, B, N1) bool, ...} per hidden layer.
    readout: (T, B, n_out) read-out membrane u in torch units, at the end of every step.
    logits:  (B, n_out) its mean over the T steps.
    records: the SpikeRecords of the Brian2 runs (one per batch).
    """

    spikes: dict
    readout: np.ndarray
    logits: np.ndarray
    records: list


@dataclass
class BrianSNN:
    """A SpikingMLP as a bio NetworkSpec (`spec`; bio.lesion edits copies of it).

    run(x) simulates it in Brian2; evaluate(split) classifies; `to_torch` reads it back.
    """

    spec: NetworkSpec

    @property
    def layers(self) -> tuple:
        return tuple(self.spec.meta["layers"])

    @property
    def dt(self):
        return self.spec.meta["dt_ms"] * ms

    def _inputs(self, x: np.ndarray):
        """Values inputs, period and step count for a batch x (B, F) or (B, T', F)."""
        n_in = self.spec.populations["in"].n
        if x.ndim not in (2, 3) or x.shape[-1] != n_in or len(x) == 0:
            raise ValueError(f"inputs must be (batch, {n_in}) static samples or (batch, steps, {n_in}) "
                             f"sequences, got shape {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("inputs must be finite (no NaN or inf)")
        if np.any(x < 0) and not self.spec.meta["signed_input"]:
            raise ValueError("inputs hold negative values; build the network with "
                             "to_brian(net, signed_input=True) to accept them")
        hidden = self.spec.populations["hidden1"].model
        rate = 1.0 / (float(hidden.capacitance / b2.farad) * step_gain(hidden, self.dt))
        if x.ndim == 2:  # static: one sample held for T steps
            vals, n_steps, period = x[None], int(self.spec.meta["T"]), None
        else:  # a sequence: T' one-step samples, no reset between them
            vals, n_steps, period = x.transpose(1, 0, 2), x.shape[1], self.dt  # (T', B, F)
        made = [inputs.Values("in", np.maximum(vals, 0.0), rate_hz=rate)]
        if self.spec.meta["signed_input"]:
            made.append(inputs.Values("in_neg", np.maximum(-vals, 0.0), rate_hz=rate))
        return made, period, n_steps

    def run(self, x, target: str = "numpy", batch_size: int | None = None) -> RunResult:
        """Simulate the network on x: (B, F) static samples or (B, T', F) sequences.

        Every sample is one copy of the network in one Brian2 run (batch_size copies at a
        time). target: "numpy", "cython" or "cpp_standalone".
        """
        x = np.asarray(x.detach().cpu().numpy() if isinstance(x, torch.Tensor) else x, dtype=np.float64)
        batch_size = len(x) if batch_size is None else int(batch_size)
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        hidden = [p for p in self.layers[1:-1]]
        spikes, readout, records = {p: [] for p in hidden}, [], []
        for s in range(0, len(x), batch_size):
            made, period, n_steps = self._inputs(x[s:s + batch_size])
            b = len(x[s:s + batch_size])
            spec = self.spec.with_inputs(*made, period=period)
            spec.meta = dict(self.spec.meta, reset=False)  # a sequence's steps run on
            rec = bio_run(spec, n_steps * self.dt, target=target, dt=self.dt)
            for p in hidden:
                spikes[p].append(raster(rec, p, self.spec.populations[p].n, b, n_steps,
                                        float(self.dt / second)))
            n_out = self.spec.populations["readout"].n
            readout.append(rec.traces["readout.v"].reshape(n_steps, b, n_out) / self.spec.meta["unit_v"])
            records.append(rec)
        u = np.concatenate(readout, axis=1)  # (T, B, n_out)
        return RunResult({p: np.concatenate(v, axis=1) for p, v in spikes.items()}, u, u.mean(axis=0),
                         records)

    def evaluate(self, split, **kw) -> float:
        """Accuracy on a split (.x (N, F) or (N, T', F), .y (N,)); keywords as for `run`."""
        res = self.run(split.x, **kw)
        return float(np.mean(np.argmax(res.logits, axis=1) == np.asarray(split.y)))


@dataclass(frozen=True)
class Agreement:
    """Torch and Brian2 on the same inputs (what `agreement` returns).

    same_counts: fraction of (sample, hidden neuron) pairs with identical spike counts.
    same_spikes: fraction of (step, sample, hidden neuron) entries that agree.
    acc_torch, acc_brian: accuracies (None without labels); same_class: fraction of
    samples given the same class. max_readout_diff: largest |u_torch - u_brian| (units).
    n_samples, n_neurons: what was compared (neurons per sample, all hidden layers).
    """

    same_counts: float
    same_spikes: float
    acc_torch: float | None
    acc_brian: float | None
    same_class: float
    max_readout_diff: float
    n_samples: int
    n_neurons: int


def agreement(net: SpikingMLP, x, y=None, target: str = "numpy", batch_size: int | None = None,
              signed_input: bool | None = None) -> Agreement:
    """Run `net` in torch and (via to_brian) in Brian2 on the same x; compare spikes and classes.

    x: (B, F) or (B, T', F); y: optional (B,) labels. Returns an Agreement.
    """
    x = np.asarray(x, dtype=np.float32)
    signed = bool(np.any(x < 0)) if signed_input is None else signed_input
    snn = to_brian(net, signed_input=signed)
    was = net.training
    net.eval()
    try:
        with torch.no_grad():
            xt = torch.from_numpy(x)
            ref_spikes = {p: s.cpu().numpy() > 0 for p, s in net.spikes(xt).items()}
            ref_u = net.readout_potential(xt).double().cpu().numpy()
    finally:
        net.train(was)
    res = snn.run(x, target=target, batch_size=batch_size)
    counts_same = [np.mean(ref_spikes[p].sum(0) == res.spikes[p].sum(0)) * ref_spikes[p].shape[2]
                   for p in ref_spikes]
    n_neurons = sum(s.shape[2] for s in ref_spikes.values())
    same_spikes = np.mean(np.concatenate([(ref_spikes[p] == res.spikes[p]).ravel() for p in ref_spikes]))
    pred_t, pred_b = ref_u.mean(0).argmax(1), res.logits.argmax(1)
    acc = (None, None) if y is None else (float(np.mean(pred_t == np.asarray(y))),
                                          float(np.mean(pred_b == np.asarray(y))))
    return Agreement(float(sum(counts_same) / n_neurons), float(same_spikes), acc[0], acc[1],
                     float(np.mean(pred_t == pred_b)), float(np.abs(ref_u - res.readout).max()),
                     len(x), n_neurons)


def to_torch(snn, template: SpikingMLP) -> SpikingMLP:
    """The weights of a BrianSNN (or its NetworkSpec) in a copy of a SpikingMLP.

    snn:      a BrianSNN or a NetworkSpec made by `to_brian` (possibly lesioned by
              bio.lesion, or with weights learned in Brian2 written into its connections).
    template: a SpikingMLP of the same architecture, beta and threshold; not changed.
    Lesioned synapses (a dead end or transmits=False) become zero weights; a dead neuron
    keeps its bias (torch has no way to silence it). Returns a new SpikingMLP.
    """
    spec = snn.spec if isinstance(snn, BrianSNN) else snn
    if not isinstance(spec, NetworkSpec) or spec.meta.get("source") != "ann.spiking.SpikingMLP":
        raise ValueError(f"to_torch needs a BrianSNN or a NetworkSpec made by to_brian, got {type(snn).__name__}")
    if not isinstance(template, SpikingMLP):
        raise ValueError(f"template must be an ann.spiking.SpikingMLP, got {type(template).__name__}")
    cfg = template.config
    names = spec.meta["layers"]
    want = ["in"] + [f"hidden{k}" for k in range(1, len(template.hidden) + 1)] + ["readout"]
    sizes = [cfg["in_features"], *cfg["hidden_sizes"], cfg["out_features"]]
    have = [spec.populations[p].n for p in names]
    if list(names) != want or have != sizes or cfg["recurrent"] != spec.meta["recurrent"]:
        raise ValueError(f"template {want} {sizes} (recurrent={cfg['recurrent']}) does not match the "
                         f"network {list(names)} {have} (recurrent={spec.meta['recurrent']})")
    for what in ("beta", "threshold", "dt_ms"):
        if not math.isclose(cfg[what], spec.meta[what], rel_tol=1e-9):
            raise ValueError(f"template has {what} = {cfg[what]}, the network {spec.meta[what]}")
    unit = spec.meta["unit_v"]
    dt = spec.meta["dt_ms"] * ms
    model = copy.deepcopy(template)

    def matrix(cname, n_pre, n_post):
        c = spec.connections[cname]
        keep = c.active(spec.populations)
        w = np.zeros((n_post, n_pre))
        np.add.at(w, (c.j[keep], c.i[keep]), c.signed_w()[keep] / unit)
        return torch.as_tensor(w)

    layers = list(model.hidden) + [model.readout]
    with torch.no_grad():
        for k, (layer, name) in enumerate(zip(layers, names[1:])):
            pop = spec.populations[name]
            fc = layer.fc
            fc.weight.copy_(matrix(f"{names[k]}->{name}", spec.populations[names[k]].n, pop.n))
            fc.bias.copy_(torch.as_tensor(pop.i_ext_amp * step_gain(pop.model, dt) / unit))
            if hasattr(layer, "rec"):
                layer.rec.weight.copy_(matrix(f"{name}->{name}", pop.n, pop.n))
    return model
