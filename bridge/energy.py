"""An energy ledger: what one input costs an ANN (MACs) and an SNN (synaptic events).

An artificial layer does one multiply-accumulate (MAC) per synapse per input; a spiking layer
does one accumulate (AC) per synaptic event, i.e. per presynaptic spike and target synapse
(Merolla et al. 2014, Science 345:668; Rueckauer et al. 2017, Front. Neurosci. 11:682, sec.
2.3). Energy is those counts times a per-operation cost (`OpCosts`): arithmetic only — memory
traffic, which Horowitz (2014) shows can cost far more, neuron-state updates and spike
generation are not counted.

What is counted (`ann_ledger`, forward hooks on one input, actual shapes):

    Linear          in_features MACs per output value (bias additions not counted)
    Conv1d/2d/3d    (in_channels / groups) x kernel taps MACs per output value, counting only
                    taps that fall inside the input: a tap on zero padding multiplies a constant
                    0 (and has no synapse in a converted SNN). This is NeuroBench's dense count;
                    fvcore and thop count padded taps too.
    pooling         (window - 1) ACs per output value (the adds of a sum; a max pool's
                    comparisons are costed as adds); an average pool's 1 / window scale is
                    folded into the next layer's weights, as in conversion. Pooling padding
                    is ignored. Adaptive pools: inputs - outputs ACs (exact for
                    non-overlapping windows).
    RNN/LSTM/GRU    per step, per layer and direction: the MACs of W_ih x and W_hh h (and of
    (and *Cell)     an LSTM's projection W_hr), plus the gate products as MACs — LSTM f*c, i*g,
                    o*tanh(c) and GRU r*(W_hn h), (1 - z)*n, z*h: 3 per hidden unit — as
                    NeuroBench counts cells (neurobench.metrics.utils.layers.macs). The first
                    step's W_hh h is counted although h starts at zero (a dense count).
    MultiheadAttention  Q, K, V and output projections, Q K^T and the weighted sum of V
                    (softmax and scaling not counted).

Normalisation layers (BatchNorm folds into the previous layer's weights), embeddings,
activations, dropout and reshapes count nothing; any other module with parameters raises
ValueError rather than being silently left out.

An SNN's ACs come from a `bio.SpikeRecord` and each presynaptic neuron's fan-out
(`snn_ledger`); an analog (current) input layer costs MACs instead. Networks run B samples as
copies (neuron k of copy b has index b * n + k); the ledger keeps one column per copy.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

__all__ = ["OpCosts", "Ledger", "ann_ledger", "fan_out", "snn_ledger"]


@dataclass(frozen=True)
class OpCosts:
    """Energy of one arithmetic operation, in picojoules.

    Defaults: Horowitz (2014), "Computing's energy problem (and what we can do about it)",
    ISSCC Dig. Tech. Papers, pp. 10-14, energy table for 45 nm at 0.9 V: 32-bit float
    multiply 3.7 pJ, 32-bit float add 0.9 pJ. So a MAC (multiply + add) costs 4.6 pJ and an
    AC (add) 0.9 pJ. For 32-bit integers the same table gives 3.1 + 0.1 and 0.1 pJ.
    """

    mac_pj: float = 4.6
    ac_pj: float = 0.9
    source: str = "Horowitz 2014, ISSCC, 45 nm, 0.9 V, 32-bit float"

    def __post_init__(self):
        if not (self.mac_pj >= 0 and self.ac_pj >= 0):
            raise ValueError(f"operation costs must be >= 0 pJ, got mac_pj={self.mac_pj}, ac_pj={self.ac_pj}")


@dataclass(frozen=True, eq=False)
class Ledger:
    """Operations per layer (rows) and sample (columns), and their energy.

    layers:  (L,) layer names (module names of an ANN, connection names of an SNN).
    kinds:   (L,) what each layer is ("Linear", "Conv2d", "LSTM", ..., "synapses").
    macs:    (L, B) int64 multiply-accumulates; acs: (L, B) int64 accumulates.
    spikes:  {population: (B,) int64 spike counts} (empty for an ANN).
    costs:   the OpCosts behind `energy_pj`.
    An ANN ledger has B = 1 (one input; dense counts do not depend on its values).
    """

    layers: tuple
    kinds: tuple
    macs: np.ndarray
    acs: np.ndarray
    spikes: dict = field(default_factory=dict)
    costs: OpCosts = field(default_factory=OpCosts)

    @property
    def n_samples(self) -> int:
        return self.macs.shape[1]

    @property
    def energy_pj(self) -> np.ndarray:
        """(L, B) energy of each layer and sample in picojoules."""
        return self.macs * self.costs.mac_pj + self.acs * self.costs.ac_pj

    @property
    def total_macs(self) -> np.ndarray:
        """(B,) MACs per sample over all layers."""
        return self.macs.sum(axis=0)

    @property
    def total_acs(self) -> np.ndarray:
        """(B,) ACs per sample over all layers."""
        return self.acs.sum(axis=0)

    @property
    def total_energy_pj(self) -> np.ndarray:
        """(B,) energy per sample in picojoules."""
        return self.energy_pj.sum(axis=0)

    @property
    def total_spikes(self) -> np.ndarray:
        """(B,) spikes per sample over all populations (zeros for an ANN)."""
        return sum(self.spikes.values(), np.zeros(self.n_samples, dtype=np.int64))

    def totals(self) -> dict[str, float]:
        """Mean per sample of the totals: {"macs", "acs", "spikes", "energy_pj"} (a study's metrics)."""
        return {"macs": float(self.total_macs.mean()), "acs": float(self.total_acs.mean()),
                "spikes": float(self.total_spikes.mean()), "energy_pj": float(self.total_energy_pj.mean())}

    def to_frame(self) -> pd.DataFrame:
        """Tidy table: one row per (layer, sample, metric), columns layer, kind, sample, metric, value.

        Metrics: "macs", "acs", "energy_pj" per layer; "spikes" per population (kind
        "neurons"). Summing a metric over layers gives the totals.
        """
        rows = []
        for k, (name, kind) in enumerate(zip(self.layers, self.kinds)):
            for metric, values in (("macs", self.macs[k]), ("acs", self.acs[k]),
                                   ("energy_pj", self.energy_pj[k])):
                rows += [(name, kind, b, metric, float(v)) for b, v in enumerate(values)]
        for pop, counts in self.spikes.items():
            rows += [(pop, "neurons", b, "spikes", float(v)) for b, v in enumerate(counts)]
        return pd.DataFrame(rows, columns=["layer", "kind", "sample", "metric", "value"])


# --- ANN: multiply-accumulates from forward hooks --------------------------------------------

_NOT_COUNTED = (nn.modules.batchnorm._NormBase, nn.LayerNorm, nn.GroupNorm, nn.Embedding)
_POOLS = (nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d)
_ADAPTIVE_POOLS = (nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d,
                   nn.AdaptiveMaxPool1d, nn.AdaptiveMaxPool2d, nn.AdaptiveMaxPool3d)
_CONVS = {nn.Conv1d: F.conv1d, nn.Conv2d: F.conv2d, nn.Conv3d: F.conv3d}
_GATE_PRODUCTS = {"LSTM": 3, "GRU": 3, "RNN": 0}  # elementwise MACs per hidden unit and step
_COUNTED = ("Linear, Conv1d/2d/3d, Max/AvgPool, adaptive pools, RNN/LSTM/GRU (and their cells), "
            "MultiheadAttention")


def _conv_macs(module, inp, out) -> int:
    dims = len(module.kernel_size)
    per_tap = module.out_channels * (module.in_channels // module.groups)
    if module.padding_mode != "zeros":  # padded values are copies of real inputs: every tap counts
        return per_tap * math.prod(out.shape[-dims:]) * math.prod(module.kernel_size)
    ones = torch.ones((1, 1, *inp.shape[-dims:]), dtype=torch.float64)
    kernel = torch.ones((1, 1, *module.kernel_size), dtype=torch.float64)
    taps = _CONVS[type(module)](ones, kernel, stride=module.stride, padding=module.padding,
                                dilation=module.dilation)  # in-bounds taps per output position
    return per_tap * int(round(taps.sum().item()))


def _pool_acs(module, inp, out) -> int:
    if isinstance(module, _ADAPTIVE_POOLS):
        return max(inp.numel() - out.numel(), 0)
    dims = int(type(module).__name__[-2])
    k = module.kernel_size
    window = math.prod(k) if isinstance(k, tuple) else k ** dims
    return out.numel() * (window - 1)


def _recurrent_macs(module, inp) -> int:
    """MACs of one pass: per step, the weight products and gate products of every layer and direction."""
    if isinstance(module, nn.RNNCellBase):
        steps, weights = 1, [module.weight_ih, module.weight_hh]
        kind = type(module).__name__.removesuffix("Cell")
        units = module.hidden_size
    else:
        if isinstance(inp, nn.utils.rnn.PackedSequence):
            raise ValueError("ann_ledger cannot count a PackedSequence input; pass a padded tensor")
        steps = inp.shape[1] if module.batch_first and inp.dim() == 3 else inp.shape[0]
        weights = [w for name, w in module.named_parameters() if name.startswith("weight_")]
        kind = type(module).__name__
        units = module.hidden_size * module.num_layers * (2 if module.bidirectional else 1)
    return steps * (sum(w.numel() for w in weights) + _GATE_PRODUCTS[kind] * units)


def _length(t, batch_first):
    return t.shape[1] if t.dim() == 3 and batch_first else t.shape[0]  # (B, L, E), (L, B, E) or (L, E)


def _attention_macs(module, query, key) -> int:
    e = module.embed_dim
    lq, lk = _length(query, module.batch_first), _length(key, module.batch_first)
    projections = lq * e * e + lk * e * (module.kdim + module.vdim) + lq * e * e  # Q, K, V, output
    return projections + 2 * lq * lk * e  # Q K^T and the weighted sum of V, over all heads


def _counted_modules(model):
    """(name, module) whose operations are counted; modules counted whole hide their children."""
    chosen, whole = [], []
    for name, module in model.named_modules():
        if any(name.startswith(w + ".") for w in whole):
            continue
        if isinstance(module, (nn.RNNBase, nn.RNNCellBase, nn.MultiheadAttention)):
            chosen.append((name or "model", module))
            whole.append(name)
        elif next(module.children(), None) is None:
            if isinstance(module, (nn.Linear, *_CONVS, *_POOLS, *_ADAPTIVE_POOLS)):
                chosen.append((name or "model", module))
            elif not isinstance(module, _NOT_COUNTED) and next(module.parameters(recurse=False), None) is not None:
                raise ValueError(f"ann_ledger cannot count {name or 'the model'!r} "
                                 f"({type(module).__name__}); it counts: {_COUNTED}")
    return chosen


def _operations(module, args, kwargs, output) -> tuple[int, int]:
    """(MACs, ACs) of one call of a counted module."""
    inp = args[0] if args else kwargs.get("query", kwargs.get("input", next(iter(kwargs.values()), None)))
    out = output[0] if isinstance(output, (tuple, list)) else output
    if isinstance(module, nn.Linear):
        return module.in_features * out.numel(), 0
    if isinstance(module, tuple(_CONVS)):
        return _conv_macs(module, inp, out), 0
    if isinstance(module, (*_POOLS, *_ADAPTIVE_POOLS)):
        return 0, _pool_acs(module, inp, out)
    if isinstance(module, nn.MultiheadAttention):
        key = args[1] if len(args) > 1 else kwargs["key"]
        return _attention_macs(module, inp, key), 0
    return _recurrent_macs(module, inp), 0


@torch.no_grad()
def ann_ledger(model: nn.Module, x, costs: OpCosts = OpCosts()) -> Ledger:
    """MACs and ACs per layer for one input to a torch model (see the module docstring).

    x: (B, ...) inputs as the model's forward takes them; only x[:1] is run, in eval mode
    (dense counts depend on shapes, not values). Returns a Ledger with B = 1, rows in the
    order the layers first ran; a layer called several times (a cell in a loop) sums its calls.
    """
    x = torch.as_tensor(np.asarray(x, dtype=np.float32)) if not torch.is_tensor(x) else x
    if x.dim() < 1 or len(x) < 1:
        raise ValueError(f"x must hold at least one input along its first (batch) axis, got shape {tuple(x.shape)}")
    modules = _counted_modules(model)
    counts: dict[str, list] = {}

    def hook_for(name):
        def hook(module, args, kwargs, output):
            macs, acs = _operations(module, args, kwargs, output)
            total = counts.setdefault(name, [type(module).__name__, 0, 0])
            total[1] += macs
            total[2] += acs
        return hook

    handles = [m.register_forward_hook(hook_for(n), with_kwargs=True) for n, m in modules]
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters(), torch.empty(0)).device
        model(x[:1].to(device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    names = list(counts)
    return Ledger(tuple(names), tuple(counts[n][0] for n in names),
                  np.array([[counts[n][1]] for n in names], dtype=np.int64).reshape(len(names), 1),
                  np.array([[counts[n][2]] for n in names], dtype=np.int64).reshape(len(names), 1),
                  {}, costs)


# --- SNN: synaptic events from spikes and fan-out --------------------------------------------

def fan_out(network, n_neurons: Mapping | None = None) -> dict[str, tuple]:
    """Out-degree of every presynaptic neuron, per connection, from a network's synapse lists.

    network:   anything with `.connections`, a {name: connection} mapping or a sequence (named
               "<pre>-><post>"), where each connection has `.pre`, `.post` (population names),
               `.i` ((n_syn,) presynaptic indices within one copy) and optionally `.transmits`
               ((n_syn,) bool; blocked synapses carry no events). When `network` also has
               `.populations` (a bio NetworkSpec), only the synapses that exist after lesions
               count (`Connection.active`: both ends alive, not blocked): a dead neuron has
               lost its synapses, so spikes sent towards it cost nothing.
    n_neurons: {population: neurons in one copy}; for a population not in it a degree array
               ends at the last neuron that has a synapse (max(i) + 1 entries).
    Returns {name: (pre, post, out_degree (n_pre,) int64)}.
    """
    conns = getattr(network, "connections", None)
    if conns is None:
        raise ValueError(f"fan_out needs an object with .connections, got {type(network).__name__}")
    if not isinstance(conns, Mapping):
        items = [(f"{c.pre}->{c.post}", c) for c in conns]
        if len({n for n, _ in items}) < len(items):
            raise ValueError("several connections join the same populations; pass .connections "
                             "as a {name: connection} mapping to tell them apart")
        conns = dict(items)
    pops = getattr(network, "populations", None)
    result = {}
    for name, c in conns.items():
        i = np.asarray(c.i, dtype=np.int64)
        if pops is not None and hasattr(c, "active"):
            i = i[c.active(pops)]
        elif getattr(c, "transmits", None) is not None:
            i = i[np.asarray(c.transmits, dtype=bool)]
        size = (n_neurons or {}).get(c.pre)
        if size is not None and len(i) and i.max() >= size:
            raise ValueError(f"connection {name!r} has presynaptic index {i.max()} but one copy of "
                             f"{c.pre!r} has {size} neurons; check n_samples")
        result[name] = (c.pre, c.post, np.bincount(i, minlength=size or 0).astype(np.int64))
    return result


def _pre_names(network) -> set:
    conns = getattr(network, "connections", None)
    if conns is None:
        raise ValueError(f"snn_ledger needs a {{name: (pre, post, out_degree)}} mapping or an object "
                         f"with .connections, got {type(network).__name__}")
    return {c.pre for c in (conns.values() if isinstance(conns, Mapping) else conns)}


def _check_populations(names, record, analog):
    missing = sorted(set(names) - set(record.n_neurons) - set(analog))
    if missing:
        raise ValueError(f"connections start at population(s) {', '.join(map(repr, missing))}, which "
                         f"the record lacks (it has: {', '.join(record.n_neurons)}); an analog "
                         f"input population goes in analog={{name: evaluations per sample}}")


def _per_copy(record, pop, n_samples, t_start_s, t_stop_s):
    """(B, n) spike counts of population `pop`: neuron k of copy b is index b * n + k."""
    total = record.n_neurons[pop]
    if total % n_samples:
        raise ValueError(f"population {pop!r} has {total} neurons, not a multiple of "
                         f"n_samples={n_samples}; copies must have equal sizes")
    return record.spike_counts(pop, t_start_s, t_stop_s).reshape(n_samples, total // n_samples)  # (B, n)


def snn_ledger(record, network, n_samples: int = 1, t_start_s: float = 0.0, t_stop_s: float | None = None,
               analog: Mapping | None = None, costs: OpCosts = OpCosts()) -> Ledger:
    """Synaptic events (ACs) per connection and sample, and spike counts, of a spiking run.

    record:    a bio.SpikeRecord (times_s / indices / n_neurons per population).
    network:   the fan-out, either {name: (pre, post, out_degree (n_pre,))} with one degree
               per neuron of one copy, or an object with `.connections` (see `fan_out`; its
               degrees are sized from the record: n_pre = record.n_neurons[pre] / n_samples).
    n_samples: B, the copies the run held (each population has B * n neurons, copy b = indices
               b*n .. b*n + n - 1).
    Spikes in [t_start_s, t_stop_s) count (t_stop_s defaults to the record's duration).
    ACs of a connection in copy b = sum over its presynaptic neurons k of
    spikes[b, k] * out_degree[k].
    analog:    {population: evaluations per sample} for sources that drive their targets with
               an analog current instead of spikes (bio.Layered's "in" with input="current",
               which the record does not hold): each of their synapses costs one MAC per
               evaluation, the same in every copy. Rueckauer et al. (2017, sec. 2.3) count an
               analog first layer at every time step ({"in": n_steps}); {"in": 1} counts a
               current computed once, as a constant.
    Returns a Ledger with B = n_samples columns (MACs only for analog connections) and spikes
    for every population of the record.
    """
    if int(n_samples) != n_samples or n_samples < 1:
        raise ValueError(f"n_samples must be a positive integer, got {n_samples}")
    n_samples = int(n_samples)
    spikes = {p: _per_copy(record, p, n_samples, t_start_s, t_stop_s) for p in record.n_neurons}  # (B, n)
    analog = dict(analog or {})
    for p, times in analog.items():
        if p in record.n_neurons or int(times) != times or times < 0:
            raise ValueError(f"analog entry {p!r}: {times!r} must name a population the record does "
                             f"not hold and give a whole number of evaluations >= 0")
    if isinstance(network, Mapping):
        degrees = network
    else:
        pres = _pre_names(network) - set(analog)
        _check_populations(pres, record, analog)
        degrees = fan_out(network, {p: spikes[p].shape[1] for p in pres})
    names, kinds, macs, acs = [], [], [], []
    for name, entry in degrees.items():
        if not (isinstance(entry, tuple) and len(entry) == 3):
            raise ValueError(f"fan-out of {name!r} must be (pre, post, out_degree), got {entry!r:.80}")
        pre, _post, degree = entry
        degree = np.asarray(degree, dtype=np.int64).ravel()
        names.append(name)
        if pre in analog:
            kinds.append("analog synapses")
            macs.append(np.full(n_samples, int(degree.sum()) * int(analog[pre])))
            acs.append(np.zeros(n_samples, dtype=np.int64))
            continue
        _check_populations({pre}, record, analog)
        counts = spikes[pre]  # (B, n)
        if len(degree) != counts.shape[1] or (degree < 0).any():
            raise ValueError(f"out-degree of {name!r} must hold one count >= 0 per neuron of one copy "
                             f"of {pre!r} ({counts.shape[1]} with n_samples={n_samples}), got "
                             f"{len(degree)} values")
        kinds.append("synapses")
        macs.append(np.zeros(n_samples, dtype=np.int64))
        acs.append(counts @ degree)  # (B,)
    shape = (len(names), n_samples)
    return Ledger(tuple(names), tuple(kinds), np.array(macs, dtype=np.int64).reshape(shape),
                  np.array(acs, dtype=np.int64).reshape(shape),
                  {p: c.sum(axis=1) for p, c in spikes.items()}, costs)
