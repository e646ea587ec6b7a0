"""NIR interchange: brainbridge spiking networks <-> `nir.NIRGraph`, and any NIR graph run in Brian2.

    graph = to_nir(net)                    # SpikingMLP, BrianSNN, ConvertedSNN or a bio NetworkSpec
    graph = to_nir(snn, dt_s=1e-4)         # written for a consumer stepping at 0.1 ms (snnTorch)
    imported = from_nir(graph, dt=1*ms)    # a NIRNetwork: a bio NetworkSpec run by bio.run
    res = imported.run(x)                  # spikes (T, B, n) per spiking node, membranes of LI nodes
    module = to_snntorch(graph)            # the same graph as snnTorch modules (cross-checks)

NIR (the Neuromorphic Intermediate Representation; Pedersen et al. 2024, Nat. Commun.
15:8122) describes a network as continuous-time nodes joined by edges. Its conventions are
kept exactly:
- LIF: tau dv/dt = (v_leak - v) + R I, a spike when v > v_threshold, then v = v_reset;
  IF: dv/dt = R I with the same threshold and reset; LI: the LIF without spikes; CubaLIF:
  tau_syn dI/dt = -I + w_in S drives tau_mem dv/dt = (v_leak - v) + R I. Affine: W x + b;
  Linear: W x; Scale; Flatten; Conv2d (channels first); SumPool2d / AvgPool2d. A node's
  parameters are per-neuron arrays. Times are in seconds, as snnTorch, Norse and Rockpool
  write them (NIR's documentation table labels them ms); membrane values here are mV of
  the bio network (`UNIT`).
- A graph holds no time step. A simulator picks dt and a discretisation and holds every
  signal between nodes (a spike, an Affine output) for one step: a spike is a pulse of
  height 1 lasting dt, as in snnTorch, Norse and sinabs. `DISCRETISATIONS`:
  "euler" (forward Euler, what snnTorch's and Norse's importers step):
      v <- (1 - dt/tau) v + (dt/tau) (v_leak + R I);
  "exact" (the ODE solved over the step with I held): the same with exp(-dt/tau) for
  1 - dt/tau. IF under both: v <- v + dt R I. Either way a LIF step is
      v <- d v + (1 - d) (v_leak + R I),  d the per-step decay.
- Export writes, for a network whose step decays by beta and whose weights are membrane
  units per step, the parameters with which a consumer using `discretisation` at step
  dt_s recomputes that step: euler tau = dt_s / (1 - beta), exact tau = -dt_s / ln(beta),
  R = 1 / (1 - beta) (so (1 - d) R = 1: a unit input adds one unit), IF R = 1 / dt_s.
  snnTorch's importer steps at 1e-4 s whatever the graph says (snntorch/import_nir.py), so
  a graph for snnTorch is written with dt_s = 1e-4: the same discrete network, its time
  axis rescaled.
- Import builds a bio NetworkSpec of library models: each neuron node is a population of
  the library LIF (tau_m = -dt / ln(d), integrated exactly by bio.run, so it decays by d per
  step) or IF; the linear nodes between two neuron nodes are multiplied out into one weight
  matrix per pair (CurrentDelta jumps of (1 - d) R W, IF dt R W); biases and v_leak become
  constant currents; per-neuron R and v_leak fold into weights and currents, per-neuron
  thresholds into `thresh_shift`; tau and v_reset must be uniform within a node. Every
  state starts at 0 (as in snnTorch and Norse). The spec uses the layerwise schedule
  (bio/simulate.py): within a step a spike crosses every feed-forward edge, as a torch
  forward pass does, and an edge that closes a cycle (recurrence) delivers the spikes of
  the previous step, as snnTorch's RLeaky and nirtorch's recurrent inputs do.

Convention gaps, bridged and documented (tests/test_nir.py checks each):
- reset by subtraction (ours: Rueckauer et al. 2017, eq. 3) has no NIR primitive. Export
  writes v_reset plus node metadata {"reset": "subtract"}, and `from_nir` and
  `to_snntorch` honour it; a consumer that ignores it (NIR's documentation asks that
  metadata never be required) runs reset to v_reset, a different network.
- our IF fires at v >= v_th, NIR's at v > v_th: metadata {"threshold": ">="}, likewise.
- bio.layered networks (conversion) run in Brian2's default schedule, where a spike takes
  one step per layer; NIR has no such lag, so the exported graph is that network computed
  layer after layer within a step (the conversion's rate code barely notices).
- snnTorch 1.0's importer maps nir.IF to Leaky(beta=0.9) (snnTorch issue #416; PR #452
  maps it to beta = 1) and resets LIF to zero: `to_snntorch` builds snnTorch modules with
  beta = 1 for IF and the metadata's reset.
- CubaLIF is imported only with "exact": input spikes are impulses of area dt into the
  synaptic current (the library's CurrentExp, integrated with the membrane as one linear
  ODE), and an Affine bias reaches the membrane as its steady-state current w_in R b.
- not representable in NIR, so export raises: refractory periods, background noise,
  synaptic delays, max pooling, plasticity, conductance synapses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import brian2 as b2
import nir
import numpy as np
import torch
from brian2 import mV, ms, nA, second, volt
from nir.ir.graph import Identity as NIRIdentity

from ann.spiking import SpikingMLP
from bio import inputs, neurons, synapses
from bio.record import SpikeRecord
from bio.simulate import run as bio_run
from bio.spec import Connection, NetworkSpec, Population, Record

from . import torch_snn
from .convert import ConvertedSNN

__all__ = ["to_nir", "from_nir", "NIRNetwork", "NIRRun", "to_snntorch", "run_snntorch",
           "DISCRETISATIONS", "SUPPORTED_NODES", "UNIT"]

DISCRETISATIONS = ("euler", "exact")
UNIT = 1 * mV              # one NIR membrane unit in the bio network
_CURRENT = 1 * nA          # one NIR synaptic-current unit (CubaLIF) in the bio network
NEURON_NODES = (nir.IF, nir.LIF, nir.LI, nir.CubaLIF)
LINEAR_NODES = (nir.Affine, nir.Linear, nir.Scale, nir.Flatten, nir.Conv2d, nir.SumPool2d,
                nir.AvgPool2d, NIRIdentity)
SUPPORTED_NODES = tuple(t.__name__ for t in (nir.Input, nir.Output, nir.NIRGraph) + NEURON_NODES
                        + LINEAR_NODES)


def _check_discretisation(discretisation: str) -> str:
    if discretisation not in DISCRETISATIONS:
        raise ValueError(f"unknown discretisation {discretisation!r}; choose one of: "
                         f"{', '.join(DISCRETISATIONS)}")
    return discretisation


# --------------------------------------------------------------------------------------------
# export
# --------------------------------------------------------------------------------------------

def _as_spec(network, dt_ms):
    """(NetworkSpec, Brian2 step in ms, analog input rate or None) of what to_nir accepts."""
    if isinstance(network, SpikingMLP):
        network = torch_snn.to_brian(network)
    if isinstance(network, torch_snn.BrianSNN):
        spec = network.spec
        hidden = spec.populations["hidden1"].model
        dt = spec.meta["dt_ms"] * ms
        return spec, spec.meta["dt_ms"], 1.0 / (float(hidden.capacitance / b2.farad) *
                                                torch_snn.step_gain(hidden, dt))
    if isinstance(network, ConvertedSNN):
        network = network.net
    if not isinstance(network, NetworkSpec):
        raise ValueError(f"to_nir exports a SpikingMLP, BrianSNN, ConvertedSNN or bio NetworkSpec, "
                         f"got {type(network).__name__}")
    dt_ms = float(network.meta.get("dt_ms", 1.0 if dt_ms is None else dt_ms))
    analog = network.meta.get("input", "current") == "current"
    return network, dt_ms, (float(network.meta["rate_hz"]) if analog and "rate_hz" in network.meta
                            else None)


def _neuron_node(pop: Population, dt, dt_s: float, discretisation: str, name: str):
    """The NIR node of one bio population (its parameters per neuron) and its per-step gain."""
    m, n = pop.model, pop.n
    if pop.noise_sigma > 0:
        raise ValueError(f"population {name!r} has background noise, which NIR cannot represent")
    if isinstance(m, (neurons.LIF, neurons.IF)) and float(m.t_ref / second) > 0:
        raise ValueError(f"population {name!r} has a refractory period ({m.t_ref}), which NIR's "
                         "IF/LIF nodes do not have; export networks with t_ref = 0")
    unit = float(UNIT / volt)
    one = np.ones(n)
    meta = {}
    if isinstance(m, (neurons.IF, neurons.LIF)) and getattr(m, "spiking", True):
        spread = float((m.v_thresh - m.v_reset) / volt)
        thr = (float(m.v_thresh / volt) + pop.thresh_shift * spread) / unit
        thr = np.where(pop.alive, thr, np.inf)  # a removed neuron never fires
        if m.reset == "subtract":
            meta["reset"] = "subtract"
    if isinstance(m, neurons.IF):
        if not m.strict:
            meta["threshold"] = ">="
        return nir.IF(r=one / dt_s, v_threshold=thr, v_reset=one * float(m.v_reset / volt) / unit,
                      metadata=meta)
    if not isinstance(m, neurons.LIF):
        raise ValueError(f"population {name!r} is a {type(m).__name__}; NIR export supports the "
                         "library IF and LIF (spiking or not)")
    beta = math.exp(-float(dt / m.tau_m))
    tau = dt_s / (1.0 - beta) if discretisation == "euler" else -dt_s / math.log(beta)
    r, v_leak = one / (1.0 - beta), one * float(m.v_rest / volt) / unit
    if not m.spiking:
        return nir.LI(tau=one * tau, r=r, v_leak=v_leak, metadata=meta)
    return nir.LIF(tau=one * tau, r=r, v_leak=v_leak, v_threshold=thr,
                   v_reset=one * float(m.v_reset / volt) / unit, metadata=meta)


def to_nir(network, dt_s: float | None = None, discretisation: str = "euler",
           dt_ms: float | None = None) -> nir.NIRGraph:
    """A brainbridge spiking network as a NIR graph (conventions: module docstring).

    network:        an ann.spiking.SpikingMLP (feed-forward or recurrent), a
                    torch_snn.BrianSNN, a convert.ConvertedSNN or a bio NetworkSpec made of
                    IF/LIF populations and static CurrentDelta connections without delays.
    dt_s:           the step of the consumer that will run the graph (seconds); default the
                    network's own (1e-4 for snnTorch, whose importer assumes it).
    discretisation: the consumer's ("euler" for snnTorch and Norse, or "exact").
    dt_ms:          the Brian2 step the network runs at, when its spec does not say
                    (meta["dt_ms"]); default 1 ms (ConvertedSNN.evaluate's).
    Returns a nir.NIRGraph: an Input node per source population, one neuron node per
    population, one Affine/Linear node per connection ("<pre>_to_<post>"), an Output after
    the last layer; graph metadata {"dt_s", "discretisation", "input", "source"}.
    """
    _check_discretisation(discretisation)
    spec, dt_ms, rate_hz = _as_spec(network, dt_ms)
    dt = dt_ms * ms
    dt_s = dt_ms * 1e-3 if dt_s is None else float(dt_s)
    if not dt_s > 0:
        raise ValueError(f"dt_s must be > 0 seconds, got {dt_s}")
    unit = float(UNIT / volt)
    skip = {"in_neg"} if spec.meta.get("signed_input") else set()
    nodes, edges, gains = {}, [], {}
    for name, pop in spec.populations.items():
        if name in skip:
            continue
        if pop.is_source:
            nodes[name] = nir.Input(input_type={"input": np.array([pop.n])})
        else:
            nodes[name] = _neuron_node(pop, dt, dt_s, discretisation, name)
            gains[name] = torch_snn.step_gain(pop.model, dt)
    biased = set()
    for cname, c in spec.connections.items():
        if c.pre in skip:
            continue
        if type(c.model) is not synapses.CurrentDelta or c.normalize is not None:
            raise ValueError(f"connection {cname!r} uses {type(c.model).__name__}; NIR export supports "
                             "static CurrentDelta connections (Affine/Linear nodes)")
        keep = c.active(spec.populations)
        if np.any(c.delay_s[keep] > 0):
            raise ValueError(f"connection {cname!r} has synaptic delays, which this export does not "
                             "write (NIR Delay nodes); export networks without delays")
        pre, post = spec.populations[c.pre], spec.populations[c.post]
        w = np.zeros((post.n, pre.n))
        np.add.at(w, (c.j[keep], c.i[keep]), c.signed_w()[keep] / unit)  # units per spike
        if pre.is_source and rate_hz is not None:  # analog input: units per step per unit value
            w = w * rate_hz * float(post.model.capacitance / b2.farad) * gains[c.post]
        edge = f"{c.pre}_to_{c.post}"
        if c.post not in biased:
            biased.add(c.post)
            nodes[edge] = nir.Affine(weight=w, bias=post.i_ext_amp * gains[c.post] / unit)
        else:
            nodes[edge] = nir.Linear(weight=w)
        edges += [(c.pre, edge), (edge, c.post)]
    for name, pop in spec.populations.items():
        if not pop.is_source and name not in biased and np.any(pop.i_ext_amp != 0):
            raise ValueError(f"population {name!r} has a bias but no incoming connection to carry it")
    layers = spec.meta.get("layers")
    last = [layers[-1]] if layers else [p for p in nodes if not isinstance(nodes[p], nir.Input)
                                        and not any(c.pre == p for c in spec.connections.values())]
    for k, name in enumerate(last):
        out = "output" if len(last) == 1 else f"output_{name}"
        nodes[out] = nir.Output(output_type={"output": np.array([spec.populations[name].n])})
        edges.append((name, out))
    meta = {"source": "brainbridge", "dt_s": dt_s, "discretisation": discretisation,
            "input": "values" if rate_hz is not None else "spikes",
            "schedule": spec.meta.get("schedule", "default")}
    return nir.NIRGraph(nodes=nodes, edges=edges, metadata=meta)


# --------------------------------------------------------------------------------------------
# import
# --------------------------------------------------------------------------------------------

def _flatten(graph: nir.NIRGraph, prefix: str = ""):
    """Nested graphs -> one flat (nodes, edges, top-level inputs, top-level outputs).

    A subgraph's own Input/Output nodes become identities; an edge into (out of) a subgraph
    node goes to its Input (from its Output) nodes.
    """
    nodes, edges, ins, outs, alias_in, alias_out = {}, [], [], [], {}, {}
    for name, node in graph.nodes.items():
        full = prefix + name
        if isinstance(node, nir.NIRGraph):
            sub_nodes, sub_edges, sub_in, sub_out = _flatten(node, full + ".")
            nodes.update(sub_nodes)
            edges += sub_edges
            alias_in[name], alias_out[name] = sub_in, sub_out
        else:
            if not isinstance(node, NEURON_NODES + LINEAR_NODES + (nir.Input, nir.Output)):
                raise ValueError(f"NIR node {full!r} is a {type(node).__name__}, which bridge.nir cannot "
                                 f"import; supported nodes: {', '.join(SUPPORTED_NODES)}")
            nodes[full] = node
            if isinstance(node, nir.Input):
                ins.append(full)
            elif isinstance(node, nir.Output):
                outs.append(full)
    for a, b in graph.edges:
        for src in alias_out.get(a, [prefix + a]):
            for dst in alias_in.get(b, [prefix + b]):
                if src not in nodes or dst not in nodes:
                    raise ValueError(f"NIR edge ({a!r}, {b!r}) names a node the graph does not hold")
                edges.append((src, dst))
    return nodes, edges, ins, outs


def _shape(node) -> tuple:
    for attr in ("v_threshold", "tau", "tau_mem", "r"):
        if hasattr(node, attr):
            return tuple(np.shape(getattr(node, attr))) or (1,)
    raise ValueError(f"cannot tell the size of {type(node).__name__}")


def _dense(fn, shape: tuple) -> np.ndarray:
    """(n_out, n_in) matrix of a linear torch map `fn` on inputs of `shape` (identity basis)."""
    n = int(np.prod(shape))
    with torch.no_grad():
        out = fn(torch.eye(n, dtype=torch.float64).reshape((n,) + tuple(shape)))
    return out.reshape(n, -1).T.numpy(), tuple(out.shape[1:])


def _linear_map(node, shape: tuple):
    """(A (n_out, n_in), c (n_out,), out_shape) of a linear node applied to inputs of `shape`."""
    n = int(np.prod(shape))
    if isinstance(node, (nir.Input, nir.Output, NIRIdentity)):
        return np.eye(n), np.zeros(n), shape
    if isinstance(node, (nir.Affine, nir.Linear)):
        w = np.asarray(node.weight, dtype=np.float64)
        if w.ndim != 2 or w.shape[1] != n:
            raise ValueError(f"{type(node).__name__} weight {w.shape} does not take {n} inputs (shape {shape})")
        c = (np.asarray(node.bias, dtype=np.float64).ravel() if isinstance(node, nir.Affine)
             else np.zeros(w.shape[0]))
        return w, c, (w.shape[0],)
    if isinstance(node, nir.Scale):
        s = np.broadcast_to(np.asarray(node.scale, dtype=np.float64), shape).ravel()
        return np.diag(s), np.zeros(n), shape
    if isinstance(node, nir.Flatten):
        start, end = node.start_dim % len(shape), node.end_dim % len(shape)
        return np.eye(n), np.zeros(n), shape[:start] + (int(np.prod(shape[start:end + 1])),) + shape[end + 1:]
    if len(shape) != 3:
        raise ValueError(f"{type(node).__name__} needs (C, H, W) inputs, got shape {shape}")
    if isinstance(node, nir.Conv2d):
        w = torch.as_tensor(np.asarray(node.weight, dtype=np.float64))
        pad = node.padding if isinstance(node.padding, str) else tuple(int(p) for p in np.ravel(node.padding))
        a, out = _dense(lambda x: torch.nn.functional.conv2d(
            x, w, stride=tuple(np.ravel(node.stride)), padding=pad, dilation=tuple(np.ravel(node.dilation)),
            groups=int(node.groups)), shape)
        c = np.repeat(np.asarray(node.bias, dtype=np.float64).ravel(), int(np.prod(out[1:])))
        return a, c, out
    k, s, p = (tuple(int(v) for v in np.broadcast_to(np.ravel(x), 2)) for x in
               (node.kernel_size, node.stride, node.padding))
    a, out = _dense(lambda x: torch.nn.functional.avg_pool2d(x, k, s, p, count_include_pad=True), shape)
    return (a * (k[0] * k[1]) if isinstance(node, nir.SumPool2d) else a), np.zeros(a.shape[0]), out


def _params(node, name: str, dt_s: float, discretisation: str) -> dict:
    """Per-neuron parameters of a neuron node as flat float64 arrays, plus its step factors."""
    n = int(np.prod(_shape(node)))

    def get(attr, default=None):  # (n,) float64, broadcast from a scalar or the node's shape
        value = getattr(node, attr, None)
        if value is None:
            return np.full(n, default, dtype=np.float64)
        return np.broadcast_to(np.asarray(value, dtype=np.float64), _shape(node)).ravel().copy()

    p = {"n": n, "shape": _shape(node)}
    if isinstance(node, nir.IF):
        p.update(r=get("r"), v_leak=np.zeros(n), decay=1.0)
    elif isinstance(node, nir.CubaLIF):
        if discretisation != "exact":
            raise ValueError(f"CubaLIF node {name!r} is imported as its ODE: use discretisation='exact'")
        tau = get("tau_mem")
        p.update(r=get("r"), v_leak=get("v_leak"), tau=tau, tau_syn=get("tau_syn"), w_in=get("w_in", 1.0))
    else:
        tau = get("tau")
        p.update(r=get("r"), v_leak=get("v_leak"), tau=tau)
    if "tau" in p:
        for what in ("tau", "tau_syn"):
            if what in p and not np.allclose(p[what], p[what][0], rtol=1e-6):
                raise ValueError(f"node {name!r} has different {what} per neuron; bio populations share "
                                 "one time constant (split the node)")
        t = float(p["tau"][0])
        if not t > 0:
            raise ValueError(f"node {name!r} needs tau > 0, got {t}")
        if discretisation == "euler" and not dt_s < t:
            raise ValueError(f"node {name!r}: forward Euler needs dt < tau ({dt_s} s >= {t} s); "
                             "use a smaller dt or discretisation='exact'")
        p["decay"] = 1.0 - dt_s / t if discretisation == "euler" else math.exp(-dt_s / t)
    if not isinstance(node, nir.LI):
        thr = get("v_threshold")
        reset = get("v_reset", 0.0)
        if not np.allclose(reset, reset[0]):
            raise ValueError(f"node {name!r} has different v_reset per neuron; bio populations share one")
        p.update(v_threshold=thr, v_reset=float(reset[0]))
    return p


def _model(node, p: dict, dt, name: str):
    """(library model, alive, thresh_shift) of one neuron node."""
    meta = getattr(node, "metadata", None) or {}
    reset = "subtract" if meta.get("reset") == "subtract" else "zero"
    if isinstance(node, nir.LI):
        return neurons.LIF(tau_m=-dt / math.log(p["decay"]), v_rest=0 * mV, v_reset=0 * mV,
                           v_thresh=1 * UNIT, t_ref=0 * ms, spiking=False), np.ones(p["n"], bool), None
    thr = p["v_threshold"]
    alive = np.isfinite(thr)
    base = float(np.max(thr[alive])) if alive.any() else p["v_reset"] + 1.0
    if not base > p["v_reset"]:
        raise ValueError(f"node {name!r} has thresholds <= v_reset ({base} <= {p['v_reset']})")
    shift = np.where(alive, (thr - base) / (base - p["v_reset"]), 0.0)
    common = dict(v_thresh=base * UNIT, v_reset=p["v_reset"] * UNIT, t_ref=0 * ms, reset=reset)
    if isinstance(node, nir.IF):
        model = neurons.IF(strict=meta.get("threshold") != ">=", **common)
    elif isinstance(node, nir.CubaLIF):  # current in _CURRENT units, R I in UNIT
        model = neurons.LIF(tau_m=-dt / math.log(p["decay"]), v_rest=0 * mV, R=1 * UNIT / _CURRENT, **common)
    else:
        model = neurons.LIF(tau_m=-dt / math.log(p["decay"]), v_rest=0 * mV, **common)
    return model, alive, shift


@dataclass
class NIRRun:
    """What `NIRNetwork.run` returns.

    spikes: {population: (T, B, n) bool} of every spiking population.
    v:      {population: (T, B, n)} membrane of every non-spiking (LI) population, NIR units,
            at the end of every step.
    record: the SpikeRecord.
    """

    spikes: dict
    v: dict
    record: SpikeRecord


@dataclass
class NIRNetwork:
    """A NIR graph as a bio NetworkSpec (`spec`), with what running it needs.

    inputs:  {source population: input shape}; outputs: populations that feed Output nodes.
    names:   {population: NIR node name}; dt: the Brian2 step (= the NIR step).
    """

    spec: NetworkSpec
    inputs: dict
    outputs: list
    names: dict
    dt: object
    analog_scale: dict = field(repr=False, default_factory=dict)

    def run(self, x, n_steps: int | None = None, target: str = "numpy") -> NIRRun:
        """Simulate the network on input x (one source population).

        x: bool (T, B, *shape) spikes; or float (T, B, *shape) values held for one step each;
           or float (B, *shape) values held for n_steps. Values must be >= 0 (they enter as
           bio.inputs.Values); give signed analog input as currents through your own spec.
        Returns a NIRRun.
        """
        if len(self.inputs) != 1:
            raise ValueError(f"run feeds one input; this graph has {len(self.inputs)}: {list(self.inputs)}")
        (src, shape), = self.inputs.items()
        n = int(np.prod(shape))
        x = np.asarray(x)
        spikes = x.dtype == bool
        if x.ndim == len(shape) + 1 and not spikes:
            if n_steps is None:
                raise ValueError("static values (B, *shape) need n_steps")
            x = np.broadcast_to(x[None], (int(n_steps),) + x.shape)
        if x.ndim != len(shape) + 2 or tuple(x.shape[2:]) != tuple(shape):
            raise ValueError(f"input must be (T, B, {', '.join(map(str, shape))}), got shape {x.shape}")
        T, B = x.shape[:2]
        x = x.reshape(T, B, n)  # (T, B, n)
        dt_s = float(self.dt / second)
        spec = self.spec
        if spikes:
            spec = spec.with_inputs(inputs.Spikes.from_raster(src, x, dt_s))
        else:
            if np.any(x < 0) or not np.all(np.isfinite(x)):
                raise ValueError("analog inputs must be finite values >= 0 (spikes: pass a bool array)")
            conns = dict(spec.connections)
            for cname, scale in self.analog_scale.items():  # per-step jumps -> Values weights
                c = conns[cname]
                conns[cname] = Connection(c.pre, c.post, c.model, c.i, c.j, c.w * scale, c.kind)
            spec = NetworkSpec(spec.populations, conns, [inputs.Values(src, x, rate_hz=1.0 / dt_s)],
                               spec.record, self.dt, dict(spec.meta, reset=False))
        rec = bio_run(spec, T * self.dt, target=target, dt=self.dt)
        sp, v = {}, {}
        for name, pop in self.spec.populations.items():
            if pop.is_source:
                continue
            if getattr(pop.model, "spiking", True):
                sp[name] = torch_snn.raster(rec, name, pop.n, B, T, dt_s)
            else:
                v[name] = rec.traces[f"{name}.v"].reshape(T, B, pop.n) / float(UNIT / volt)
        return NIRRun(sp, v, rec)


def _order(pops: list, edges_between: list, sources: list) -> list:
    """Populations in the order a spike travels from the inputs.

    Reverse post-order of a depth-first search from the inputs: a topological order of the
    feed-forward edges, where an edge back to a node still on the search path (a cycle) is
    the one cut; it then delivers the previous step's spikes (layerwise schedule).
    """
    succ = {p: [b for a, b in edges_between if a == p] for p in list(sources) + list(pops)}
    seen, post = set(), []

    def visit(p):
        seen.add(p)
        for q in succ.get(p, []):
            if q not in seen:
                visit(q)
        post.append(p)

    for p in list(sources) + list(pops):
        if p not in seen:
            visit(p)
    return [p for p in reversed(post) if p in pops]


def from_nir(graph: nir.NIRGraph, dt=None, discretisation: str = "euler") -> NIRNetwork:
    """A NIR graph as a bio NetworkSpec run by bio.run (conventions: module docstring).

    graph:          a nir.NIRGraph of SUPPORTED_NODES (nested graphs, e.g. snnTorch's
                    recurrent subgraphs, are flattened).
    dt:             the step (Brian2 time); default the graph's metadata "dt_s" (our exports
                    write it), else a ValueError: a NIR graph does not say its step (snnTorch
                    exports assume 0.1 ms).
    discretisation: "euler" or "exact" (module docstring).
    Returns a NIRNetwork.
    """
    _check_discretisation(discretisation)
    if not isinstance(graph, nir.NIRGraph):
        raise ValueError(f"from_nir needs a nir.NIRGraph, got {type(graph).__name__}")
    if dt is None:
        dt_s = (graph.metadata or {}).get("dt_s") if isinstance(graph.metadata, dict) else None
        if dt_s is None:
            raise ValueError("this NIR graph does not state its time step; pass dt (e.g. 0.1*ms for "
                             "graphs exported by snnTorch, which steps at 1e-4 s)")
        dt = float(dt_s) * second
    inputs.check_time(dt, "dt", "0.1*ms")
    dt_s = float(dt / second)
    nodes, edges, ins, outs = _flatten(graph)
    if not ins:
        raise ValueError("the NIR graph has no Input node")
    kind = {n: ("input" if n in ins else "output" if n in outs else
                "neuron" if isinstance(v, NEURON_NODES) else "linear") for n, v in nodes.items()}
    params = {n: _params(v, n, dt_s, discretisation) for n, v in nodes.items() if kind[n] == "neuron"}
    shapes = {n: tuple(int(s) for s in np.ravel(nodes[n].input_type["input"])) for n in ins}
    shapes.update({n: p["shape"] for n, p in params.items()})
    memo, visiting = {}, set()

    def drive(name):
        """{source node: M (n, n_src)}, bias (n,), shape: what flows into node `name`."""
        terms, bias, shape = {}, None, None
        for a, b in edges:
            if b != name:
                continue
            got = out(a)
            bias = got[1] if bias is None else bias + got[1]
            shape = got[2] if shape is None else shape
            if got[2] != shape and int(np.prod(got[2])) != int(np.prod(shape)):
                raise ValueError(f"inputs of NIR node {name!r} have different sizes: {shape} and {got[2]}")
            for src, m in got[0].items():
                terms[src] = terms[src] + m if src in terms else m
        if shape is None:
            raise ValueError(f"NIR node {name!r} receives no edge")
        return terms, bias, shape

    def out(name):
        """What node `name` emits, as a linear map of the populations' outputs."""
        if kind[name] in ("input", "neuron"):
            n = int(np.prod(shapes[name]))
            return {name: np.eye(n)}, np.zeros(n), shapes[name]
        if name in memo:
            return memo[name]
        if name in visiting:
            raise ValueError(f"NIR node {name!r} lies on a cycle without a neuron node")
        visiting.add(name)
        terms, c_in, shape = drive(name)
        a, c, shape_out = _linear_map(nodes[name], shape)
        memo[name] = ({s: a @ m for s, m in terms.items()}, a @ c_in + c, shape_out)
        visiting.discard(name)
        return memo[name]

    pop_name = {n: n.replace(".", "_") for n in nodes}
    populations, connections, analog_scale, record_v = {}, {}, {}, {}
    for n in ins:
        populations[pop_name[n]] = Population(None, int(np.prod(shapes[n])))
    neuron_nodes = [n for n in nodes if kind[n] == "neuron"]
    incoming = {n: drive(n) for n in neuron_nodes}
    between = [(s, n) for n in neuron_nodes for s in incoming[n][0]]
    unit, cur = float(UNIT / volt), float(_CURRENT / b2.amp)
    for n in _order(neuron_nodes, between, ins):
        p, node = params[n], nodes[n]
        terms, bias, _ = incoming[n]
        if bias.shape != (p["n"],):
            raise ValueError(f"NIR node {n!r} has {p['n']} neurons but receives {bias.shape[0]} values")
        model, alive, shift = _model(node, p, dt, n)
        gain = torch_snn.step_gain(model, dt)
        if isinstance(node, nir.CubaLIF):  # impulses of area dt into I; bias as steady current
            jump = dt_s / p["tau_syn"] * p["w_in"] * p["r"] * cur  # amp per unit of NIR input
            i_ext = (p["v_leak"] + p["w_in"] * p["r"] * bias) * unit / float(model.R / b2.ohm)
            syn = synapses.CurrentExp(label="syn", tau=float(p["tau_syn"][0]) * second)
        elif isinstance(node, nir.IF):
            jump = dt_s * p["r"] * unit  # volt per unit of NIR input per step
            i_ext = jump * bias / gain
            syn = synapses.CurrentDelta()
        else:  # LIF, LI: v <- d v + (1 - d)(v_leak + R I)
            jump = (1.0 - p["decay"]) * p["r"] * unit
            i_ext = ((1.0 - p["decay"]) * p["v_leak"] * unit + jump * bias) / gain
            syn = synapses.CurrentDelta()
        populations[pop_name[n]] = Population(model, p["n"], alive=alive, thresh_shift=shift,
                                              i_ext_amp=i_ext)
        if not getattr(model, "spiking", True):
            record_v[f"{pop_name[n]}.v"] = True
        for src, m in terms.items():
            j, i = np.nonzero(m)
            cname = f"{pop_name[src]}->{pop_name[n]}"
            connections[cname] = Connection(pop_name[src], pop_name[n], syn, i, j, m[j, i] * jump[j],
                                            kind="signed")
            if src in ins:  # analog input (Values at rate 1/dt): the compiler delivers w * x / dt * C
                # amp for a CurrentDelta (a jump of w C gain / dt per step, so scale back) and the
                # mean w * x / dt * tau_syn of a CurrentExp (already the per-step jump's mean)
                analog_scale[cname] = 1.0 if isinstance(node, nir.CubaLIF) else \
                    dt_s / (float(model.capacitance / b2.farad) * gain)
    spec = NetworkSpec(populations, connections, record=Record(traces=record_v, when="end"),
                       meta={"schedule": "layerwise", "dt_ms": dt_s * 1e3, "source": "nir",
                             "discretisation": discretisation}).check()
    feeds = [pop_name[a] for a, b in edges if b in outs and kind.get(a) == "neuron"]
    return NIRNetwork(spec, {pop_name[n]: shapes[n] for n in ins}, feeds,
                      {pop_name[n]: n for n in nodes if kind[n] in ("input", "neuron")}, dt, analog_scale)


# --------------------------------------------------------------------------------------------
# snnTorch (a test and benchmark dependency: imported only when called)
# --------------------------------------------------------------------------------------------

def to_snntorch(graph: nir.NIRGraph, dt_s: float = 1e-4) -> torch.nn.Module:
    """A feed-forward NIR graph as snnTorch modules (nirtorch's graph executor).

    Affine/Linear/Conv2d/Flatten/AvgPool2d nodes map as in snntorch.import_nir; LIF nodes to
    snn.Leaky with beta = 1 - dt_s/tau and the input gain folded into the threshold (as
    snnTorch's importer does, dt_s = 1e-4 there); IF nodes to snn.Leaky(beta=1) (snnTorch
    1.0 uses beta = 0.9: issue #416); the reset is NIR's (to zero) unless the node's
    metadata says "subtract". Every Leaky keeps its state between calls (init_hidden):
    call `run_snntorch`. Needs snntorch and nirtorch (the dev extra).
    """
    try:
        import nirtorch
        import snntorch as snn
        from snntorch.import_nir import _nir_to_snntorch_module
    except ImportError as err:  # pragma: no cover - dev extra
        raise ImportError("to_snntorch needs snntorch and nirtorch (pip install -e '.[dev]')") from err

    def leaky(node, beta, threshold):
        meta = getattr(node, "metadata", None) or {}
        reset = "subtract" if meta.get("reset") == "subtract" else "zero"
        thr = np.unique(np.asarray(threshold, dtype=np.float64))
        if thr.size != 1 or not np.allclose(np.asarray(node.v_reset), 0.0):
            raise ValueError("to_snntorch needs one threshold and v_reset = 0 per node (snn.Leaky)")
        return snn.Leaky(beta=float(beta), threshold=float(thr[0]), reset_mechanism=reset,
                         init_hidden=True, reset_delay=False)

    def lif(node):
        if not np.allclose(node.v_leak, 0.0):
            raise ValueError("snn.Leaky has no v_leak; to_snntorch needs v_leak = 0")
        tau = np.unique(np.asarray(node.tau, dtype=np.float64))
        gain = np.asarray(node.r, dtype=np.float64) * dt_s / np.asarray(node.tau, dtype=np.float64)
        return leaky(node, 1.0 - dt_s / tau[0], np.asarray(node.v_threshold) / gain)

    def if_(node):
        return leaky(node, 1.0, np.asarray(node.v_threshold) / (np.asarray(node.r) * dt_s))

    plain = lambda node: _nir_to_snntorch_module(node, init_hidden=True)  # noqa: E731
    node_map = {nir.Affine: plain, nir.Linear: plain, nir.Conv2d: plain, nir.Flatten: plain,
                nir.AvgPool2d: plain, nir.LIF: lif, nir.IF: if_}
    return nirtorch.nir_to_torch(graph, node_map)


@torch.no_grad()
def run_snntorch(module: torch.nn.Module, x) -> dict:
    """Step a `to_snntorch` module through x (T, B, n_in); every Leaky starts at rest.

    Returns {"spikes": {module name: (T, B, n) bool} of every Leaky, "v": {name: (B, n)}
    the membranes after the last step}.
    """
    import snntorch as snn

    leaks = {name: m for name, m in module.named_modules() if isinstance(m, snn.Leaky)}
    for m in leaks.values():
        m.reset_mem()
    seen = {name: [] for name in leaks}
    hooks = [m.register_forward_hook(lambda mod, _i, o, name=name: seen[name].append(
        (o[0] if isinstance(o, tuple) else o).detach().cpu().numpy() > 0)) for name, m in leaks.items()]
    try:
        state = None
        for x_t in torch.as_tensor(np.array(x, dtype=np.float32)):
            _, state = module(x_t, state)
    finally:
        for h in hooks:
            h.remove()
    return {"spikes": {k: np.stack(v) for k, v in seen.items()},
            "v": {k: m.mem.detach().cpu().numpy() for k, m in leaks.items()}}
