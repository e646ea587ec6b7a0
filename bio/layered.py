"""A layered feed-forward spiking network: what a converted ANN runs as, as a `NetworkSpec`.

    spec = layered({"in": 64, "h1": 128, "out": 10}, {("in", "h1"): (i, j, w), ("h1", "out"): ...},
                   model=neuron_model("if"), bias_hz={"h1": b})
    rec = run(spec, x, 32 * ms)          # x (B, 64) in [0, 1]: B copies in one Brian2 run

Populations "in", "h1", ..., "out" (in the order of `sizes`), built only from
library models (bio/neurons.py, bio/synapses.py); the one compiler, `bio.run`,
turns the spec into Brian2 objects.

- "in" is a source. With `input="current"` its values x in [0, 1] drive the
  populations it projects to as constant currents (`bio.inputs.Values`: a
  synapse of weight w delivers w * x * rate_hz threshold crossings per second,
  the analog first layer of Rueckauer et al. 2017, Front. Neurosci. 11:682;
  the compiler computes these currents once in NumPy). With `input="poisson"`
  the inputs are spike trains (`Spikes`), drawn by `poisson_spikes` with rate
  x * rate_hz or given as a (T, B, n_in) bool raster.
- Every other population holds one `bio.neurons` model. Weights are given in
  units of the threshold distance of the target's model, D = v_thresh - v_reset
  (w = 0.5 moves the membrane half way from reset to threshold), and stored in
  volt (w * D) on `synapses.CurrentDelta` connections of kind "signed". A bias
  b (Hz, threshold crossings per second) becomes the constant current
  `Population.i_ext_amp` = b * D * C (C the model's capacitance), so an IF
  neuron driven by it alone fires b times per second.
- `neuron_model("if")` is the ideal IF of conversion: no leak, reset by
  subtraction (v -= v_th - v_reset keeps the surplus charge, Rueckauer et al.
  2017, eq. 3), threshold v >= v_th (an input of one threshold per step fires
  at every step), potentials measured from rest (v_reset = 0, v_thresh = 1 mV).
  `neuron_model("lif")` adds a leak tau_m and a refractory period t_ref (the
  library LIF, also reset by subtraction; while refractory, from the spike's
  step until t_ref has passed, it neither integrates nor takes synaptic input).
  Any other library model (AdEx, Izhikevich, ...) can be given as `model`.
- Max pooling (populations named in `maxpool`): their incoming connection is a
  `synapses.MaxPoolGate`: a spike passes only if it raises the running maximum
  of the spike counts in its window, so the pooled neuron's spike count equals
  the largest count in its window (after Rueckauer et al. 2017, sec. 2.2.6).
  Pooled neurons are ideal IF relays (`RELAY`, weight 1: a passed spike makes
  them fire on the next step), whatever the network's model.
- Lesion fields (bio/spec.py) are the compiler's: `alive`, `thresh_shift`,
  `noise_sigma`, `delay_s` (for current input the current of a delayed synapse
  switches on after its delay), `transmits`.

`run` simulates B copies of the network side by side, one per sample: in the
SpikeRecord, neuron k of copy b of a population of n is index b * n + k
(bio.spec.replicate), and the trace "out.v" holds the output layer's membrane
potential (volt) at the end of every step, (T, B * n_out), for a
membrane-potential tie-break between equal spike counts.
"""
from __future__ import annotations

import numpy as np
from brian2 import farad, mV, ms, second, volt

from . import inputs, neurons, synapses
from .record import SpikeRecord
from .simulate import run as _run
from .spec import Connection, NetworkSpec, Population, Record

__all__ = ["layered", "neuron_model", "run", "drive", "poisson_spikes", "threshold_distance",
           "layers", "bias_hz", "weights_in_thresholds", "NEURONS", "INPUTS", "RELAY"]

NEURONS = ("if", "lif")
INPUTS = ("current", "poisson")
RELAY = neurons.IF(v_thresh=1 * mV, v_reset=0 * mV)  # ideal IF relay of a max-pooling population


def neuron_model(neuron: str = "if", tau_m=20 * ms, t_ref=0 * ms):
    """The neuron of a converted network in the conversion's units (rest 0, threshold 1 mV).

    neuron: "if" (ideal IF; t_ref is its refractory period) or "lif" (leak tau_m,
            refractory t_ref); both reset by subtraction.
    Returns a bio.neurons IF or LIF.
    """
    if neuron == "if":
        return neurons.IF(v_thresh=1 * mV, v_reset=0 * mV, t_ref=t_ref)
    if neuron == "lif":
        return neurons.LIF(v_rest=0 * mV, v_reset=0 * mV, v_thresh=1 * mV, tau_m=tau_m, t_ref=t_ref,
                           reset="subtract")
    raise ValueError(f"unknown neuron {neuron!r}; choose one of: {', '.join(NEURONS)} "
                     "(or pass a bio.neurons model instance)")


def threshold_distance(model) -> float:
    """D = v_thresh - v_reset of a model, in volt (> 0): what a weight of 1 moves v by."""
    d = float((model.v_thresh - model.v_reset) / volt)
    if not d > 0:
        raise ValueError(f"{type(model).__name__} has v_thresh <= v_reset ({model.v_thresh} <= "
                         f"{model.v_reset}); a converted network needs a threshold above reset")
    return d


def _check_model(model, where: str):
    needed = ("equations", "threshold", "reset_code", "v_thresh", "v_reset", "capacitance")
    if isinstance(model, str) or not all(hasattr(model, a) for a in needed):
        raise ValueError(f"{where} must be a bio.neurons model instance (IF, LIF, AdEx, Izhikevich, ...), "
                         f"got {model!r}")
    threshold_distance(model)
    return model


def poisson_spikes(values: np.ndarray, rate_hz: float, n_steps: int, dt_s: float, seed=None) -> np.ndarray:
    """Bernoulli approximation of Poisson trains: P(spike in a step) = value * rate_hz * dt_s.

    values: (B, N) in [0, 1]. Returns bool (n_steps, B, N). bridge.coding.poisson
    draws with the same formula, so the same seed gives the same spikes.
    """
    p = np.clip(np.asarray(values, dtype=np.float64) * rate_hz * dt_s, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    return rng.random((n_steps,) + p.shape) < p[None]  # (T, B, N)


def layered(sizes: dict, weights: dict, *, model=None, bias_hz: dict | None = None, maxpool=(),
            shapes: dict | None = None, noise_sigma: float = 0.0, input: str = "current",
            rate_hz: float = 1000.0) -> NetworkSpec:
    """A feed-forward spiking network (see the module docstring), without inputs yet.

    sizes:       {population: n}, from "in" to the output layer, in order.
    weights:     {(pre, post): (i, j, w)}: (n_syn,) presynaptic and postsynaptic indices and
                 weights in units of the target model's threshold distance.
    model:       the bio.neurons model of every population but "in" and the max-pooling
                 relays (default: neuron_model("if")).
    bias_hz:     {population: (n,) bias in Hz} (0 where missing).
    maxpool:     populations whose incoming connection is a max-pooling gate.
    shapes:      {population: (C, H, W), (H, W) or (n,)} layout of the neurons (Population.shape).
    noise_sigma: background noise of every `model` population (bio.spec's one definition).
    input:       "current" or "poisson"; rate_hz: the rate that an input of 1 stands for.
    Returns a NetworkSpec; `meta` holds "layers", "input", "rate_hz", "maxpool", "model".
    """
    model = _check_model(neuron_model("if") if model is None else model, "model")
    if input not in INPUTS:
        raise ValueError(f"unknown input {input!r}; choose one of: {', '.join(INPUTS)}")
    if not (np.isfinite(rate_hz) and rate_hz > 0):
        raise ValueError(f"rate_hz must be a finite number > 0, got {rate_hz}")
    names = tuple(sizes)
    if len(names) < 2 or names[0] != "in":
        raise ValueError(f"sizes must start with 'in' and hold at least two populations, got {names}")
    bias_hz, shapes, maxpool = dict(bias_hz or {}), dict(shapes or {}), tuple(maxpool)
    for what, keys in (("bias_hz", bias_hz), ("shapes", shapes), ("maxpool", maxpool)):
        unknown = [k for k in keys if k not in sizes or (k == "in" and what != "shapes")]
        if unknown:
            raise ValueError(f"{what} names {unknown}, which are not spiking populations of "
                             f"{', '.join(names[1:])}")
    pops = {"in": Population(None, sizes["in"], shape=shapes.get("in"))}
    for name in names[1:]:
        m = RELAY if name in maxpool else model
        b = np.zeros(sizes[name]) if name not in bias_hz else np.asarray(bias_hz[name], dtype=float)
        if b.shape != (sizes[name],) or not np.all(np.isfinite(b)):
            raise ValueError(f"bias_hz[{name!r}] must be {sizes[name]} finite values, got shape {b.shape}")
        if name in maxpool and np.any(b != 0):
            raise ValueError(f"max-pooling population {name!r} cannot have a bias")
        amp = b * threshold_distance(m) * float(m.capacitance / farad)
        pops[name] = Population(m, sizes[name], i_ext_amp=amp, shape=shapes.get(name),
                                noise_sigma=0.0 if name in maxpool else noise_sigma)
    conns = {}
    for key, (i, j, w) in weights.items():
        pre, post = key
        if pre not in pops or post not in pops or post == "in":
            raise ValueError(f"weights {key} must join two populations of {', '.join(names)} "
                             "(never into 'in')")
        m = pops[post].model
        syn = synapses.MaxPoolGate() if post in maxpool else synapses.CurrentDelta()
        conns[f"{pre}->{post}"] = Connection(pre, post, syn, i, j,
                                             np.asarray(w, dtype=float) * threshold_distance(m),
                                             kind="signed")
    meta = {"layers": names, "input": input, "rate_hz": float(rate_hz), "maxpool": maxpool, "model": model}
    return NetworkSpec(pops, conns, record=Record(traces={f"{names[-1]}.v": True}, when="end"),
                       meta=meta).check()


def layers(spec: NetworkSpec) -> tuple:
    """Population names of a layered spec, input first."""
    if "layers" not in spec.meta:
        raise ValueError("this NetworkSpec was not built by bio.layered.layered (no meta['layers'])")
    return tuple(spec.meta["layers"])


def bias_hz(spec: NetworkSpec, pop: str) -> np.ndarray:
    """(n,) bias of population `pop` in Hz: its constant current over D * C."""
    p = spec.populations[pop]
    return p.i_ext_amp / (threshold_distance(p.model) * float(p.model.capacitance / farad))


def weights_in_thresholds(spec: NetworkSpec, name: str) -> np.ndarray:
    """(n_syn,) weights of connection `name` in units of its target's threshold distance."""
    c = spec.connections[name]
    return c.w / threshold_distance(spec.populations[c.post].model)


def drive(spec: NetworkSpec, x, n_steps: int, dt_s: float, seed=None) -> NetworkSpec:
    """`spec` with the inputs of one batch (a shallow copy: populations and connections shared).

    x: (B, n_in) values (finite, >= 0; in [0, 1] for Poisson input), or with
       input="poisson" a bool (T, B, n_in) raster of input spikes, T = n_steps.
    """
    n_in = spec.populations["in"].n
    mode, rate = spec.meta["input"], spec.meta["rate_hz"]
    x = np.asarray(x)
    if x.ndim == 3:
        if mode != "poisson" or x.shape[0] != n_steps or x.shape[2] != n_in:
            raise ValueError(f"input spikes must be bool (T={n_steps}, B, {n_in}) with input='poisson', "
                             f"got shape {x.shape} with input={mode!r}")
        return spec.with_inputs(inputs.Spikes.from_raster("in", x.astype(bool), dt_s))
    if x.ndim != 2 or x.shape[1] != n_in:
        raise ValueError(f"inputs must be (batch, {n_in}) values or (T, batch, {n_in}) spikes, "
                         f"got shape {x.shape}")
    if mode == "current":
        return spec.with_inputs(inputs.Values("in", x.astype(np.float64), rate_hz=rate))
    x = x.astype(np.float64)
    if not np.all(np.isfinite(x)) or x.size and (x.min() < 0 or x.max() > 1):
        raise ValueError("Poisson-coded inputs must be finite values in [0, 1]")
    return spec.with_inputs(inputs.Spikes.from_raster("in", poisson_spikes(x, rate, n_steps, dt_s, seed), dt_s))


def run(spec: NetworkSpec, x, duration, dt=1 * ms, target: str = "numpy", seed=None) -> SpikeRecord:
    """Simulate one copy of the network per sample, all in one Brian2 run (bio.run).

    x:        see `drive`. duration, dt: Brian2 times. target: "numpy", "cython" or
              "cpp_standalone". seed: seeds the Poisson draws and Brian2's noise.
    Returns a SpikeRecord: populations are the layer names (the input population
    only with Poisson input), index = copy * n + k, and the trace "<out>.v"
    (T, B * n_out) in volt at the end of every step.
    """
    inputs.check_time(duration, "duration", "32*ms")
    inputs.check_time(dt, "dt", "1*ms")
    n_steps = int(round(float(duration / dt)))
    if n_steps < 1:
        raise ValueError(f"duration {duration} is shorter than one step of dt = {dt}")
    return _run(drive(spec, x, n_steps, float(dt / second), seed), duration, target=target, seed=seed, dt=dt)
