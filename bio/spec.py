"""Network specifications: every `bio` network is one of these before Brian2 sees it.

A `NetworkSpec` is plain data: named populations (a `bio.neurons` model plus
per-neuron arrays), named connections (a `bio.synapses` model plus `i, j, w,
delay` arrays), what drives the network in a run (`inputs`, see bio/inputs.py)
and what to record. `bio.run(spec, duration)` (bio/simulate.py) is the one
compiler that turns any spec into Brian2 objects. A lesion (bio/lesion.py) is
an edit of these arrays on a copy, so the original is untouched and the same
seed always gives the same lesion.

One meaning per lesion field, in every network:
- `Population.alive` False: the neuron never spikes and all its synapses,
  incoming and outgoing, are gone (a source neuron stops driving).
- `Population.thresh_shift`: the threshold moves by this fraction of the
  model's threshold distance v_thresh - v_reset (+0.1 = 10% harder to fire).
- `Population.noise_sigma`: an Ornstein-Uhlenbeck background current of
  correlation time `NOISE_TAU` whose stationary std would move a membrane
  without leak by noise_sigma * (v_thresh - v_reset) in one NOISE_TAU
  (sigma_I = noise_sigma * (v_thresh - v_reset) * C / NOISE_TAU, C the
  model's capacitance). The same number means the same noise for every model.
- `Connection.w`: the weight in the synapse model's unit (volt, amp or
  siemens); `kind` says how to read its sign (below).
- `Connection.delay_s`: per-synapse conduction delay in seconds.
- `Connection.transmits` False: conduction block (the weight is kept).

`Connection.kind`: "exc" and "inh" connections hold magnitudes (an inhibitory
current-based synapse delivers -w; a conductance synapse's sign comes from its
reversal potential), "signed" connections (converted ANN weights) excite
where w > 0 and inhibit where w < 0.

Copies and samples. Inputs carry a sample axis S and a copy axis B
(`(S, B, n)`, see bio/inputs.py). B copies of the whole network run side by
side in one Brian2 network (neuron k of copy b of a population of n has index
b * n + k in the record: `replicate`); S samples run one after another, each
for `period`, with the neurons' state reset at every sample onset.
"""
from __future__ import annotations

import copy as _copy
from dataclasses import dataclass, field

import numpy as np
from brian2 import ms

KINDS = ("exc", "inh", "signed")
NOISE_TAU = 1 * ms  # correlation time of the one background-noise definition (module docstring)


@dataclass
class Population:
    """n neurons of one model, plus the per-neuron state lesions act on.

    model:        a `bio.neurons` model, or None for a source population (its
                  spikes or values come from an input in `NetworkSpec.inputs`).
    n:            number of neurons (in one copy of the network).
    alive:        (n,) bool, False where a neuron is removed.
    thresh_shift: (n,) float, threshold offset as a fraction of v_thresh - v_reset.
    noise_sigma:  background noise (one definition: module docstring); 0 for none.
    i_ext_amp:    (n,) float, constant current injected into each neuron, in amp.
    init:         {state variable: (n,) float in SI units} initial values that
                  replace the model's resting state (e.g. random potentials).
    shape:        layout of the neurons ((C, H, W) or (H, W) or (n,)), index
                  c*H*W + h*W + w; used by spatial lesions. Optional.
    """

    model: object
    n: int
    alive: np.ndarray = None
    thresh_shift: np.ndarray = None
    noise_sigma: float = 0.0
    i_ext_amp: np.ndarray = None
    init: dict = field(default_factory=dict)
    shape: tuple = None

    def __post_init__(self):
        if int(self.n) != self.n or self.n < 0:
            raise ValueError(f"a population needs a whole number of neurons >= 0, got {self.n}")
        self.n = int(self.n)
        self.alive = np.ones(self.n, bool) if self.alive is None else np.asarray(self.alive, bool)
        self.thresh_shift = (np.zeros(self.n) if self.thresh_shift is None
                             else np.asarray(self.thresh_shift, dtype=float))
        self.i_ext_amp = (np.zeros(self.n) if self.i_ext_amp is None
                          else np.asarray(self.i_ext_amp, dtype=float))
        for what, arr in (("alive", self.alive), ("thresh_shift", self.thresh_shift),
                          ("i_ext_amp", self.i_ext_amp)):
            if arr.shape != (self.n,):
                raise ValueError(f"{what} must have shape ({self.n},), got {arr.shape}")
        if not np.all(np.isfinite(self.thresh_shift)) or not np.all(np.isfinite(self.i_ext_amp)):
            raise ValueError("thresh_shift and i_ext_amp must be finite")
        if not np.isfinite(self.noise_sigma) or self.noise_sigma < 0:
            raise ValueError(f"noise_sigma must be a finite number >= 0, got {self.noise_sigma}")
        for var, value in self.init.items():
            if np.shape(value) != (self.n,):
                raise ValueError(f"init[{var!r}] must have shape ({self.n},), got {np.shape(value)}")
        if self.shape is not None and int(np.prod(self.shape)) != self.n:
            raise ValueError(f"shape {self.shape} does not hold {self.n} neurons")

    @property
    def is_source(self) -> bool:
        return self.model is None


def values_to_check(a: np.ndarray) -> np.ndarray:
    """The elements of a 1-D array worth checking: one for a broadcast view of one value
    (bio/fuse.py joins Brunel's equal weights and delays into such views), else all."""
    return a[:1] if a.ndim == 1 and len(a) and a.strides[0] == 0 else a


@dataclass
class Connection:
    """Synapses from population `pre` to population `post` (one copy).

    model:     a `bio.synapses` model (CurrentDelta, CurrentExp, CondExp, or a
               plasticity rule wrapping one).
    i, j:      (n_syn,) int64 presynaptic and postsynaptic neuron indices.
    w:         (n_syn,) float64 weights in the model's weight unit (see `kind`).
    kind:      "exc", "inh" or "signed" (module docstring).
    delay_s:   (n_syn,) float64 conduction delays in seconds.
    transmits: (n_syn,) bool, False where conduction is blocked.
    normalize: optional `bio.synapses.Normalize`: the incoming weights of each
               postsynaptic neuron are rescaled to a fixed total at every sample onset.
    """

    pre: str
    post: str
    model: object
    i: np.ndarray
    j: np.ndarray
    w: np.ndarray
    kind: str = "signed"
    delay_s: np.ndarray = None
    transmits: np.ndarray = None
    normalize: object = None

    def __post_init__(self):
        self.i = np.asarray(self.i, dtype=np.int64)
        self.j = np.asarray(self.j, dtype=np.int64)
        self.w = np.asarray(self.w, dtype=np.float64)
        n = len(self.i)
        self.delay_s = np.zeros(n) if self.delay_s is None else np.asarray(self.delay_s, dtype=np.float64)
        self.transmits = np.ones(n, bool) if self.transmits is None else np.asarray(self.transmits, bool)
        if self.delay_s.ndim == 0:
            self.delay_s = np.full(n, float(self.delay_s))
        if not (self.i.ndim == 1 and len(self.j) == len(self.w) == len(self.delay_s)
                == len(self.transmits) == n):
            raise ValueError(f"i, j, w, delay_s and transmits must be 1-D of one length, got "
                             f"{len(self.i)}, {len(self.j)}, {len(self.w)}, {len(self.delay_s)}, "
                             f"{len(self.transmits)}")
        if self.kind not in KINDS:
            raise ValueError(f"unknown connection kind {self.kind!r}; choose one of: {', '.join(KINDS)}")
        w, d = values_to_check(self.w), values_to_check(self.delay_s)
        if not np.all(np.isfinite(w)):
            raise ValueError("connection weights must be finite")
        if np.any(d < 0) or not np.all(np.isfinite(d)):
            raise ValueError("delays must be finite and >= 0 s")
        if self.kind != "signed" and np.any(w < 0):
            raise ValueError(f"a connection of kind {self.kind!r} holds weight magnitudes (>= 0); "
                             "use kind='signed' for weights of both signs")

    @property
    def n_syn(self) -> int:
        return len(self.i)

    def active(self, populations: dict[str, Population]) -> np.ndarray:
        """(n_syn,) bool: synapses that exist after lesions (both ends alive, not blocked)."""
        return (populations[self.pre].alive[self.i] & populations[self.post].alive[self.j]
                & self.transmits)

    def signed_w(self) -> np.ndarray:
        """(n_syn,) weights with their sign for current-based synapses (inhibitory = negative)."""
        if self.kind != "inh":
            return self.w
        return np.broadcast_to(-self.w[:1], self.w.shape) if values_to_check(self.w) is not self.w else -self.w


@dataclass
class Record:
    """What a run records.

    spikes: population names whose spikes are recorded; None records every population.
    traces: {"population.variable": neuron indices (of one copy) or True for all}; the
            record's trace holds those neurons in every copy.
    when:   Brian2 scheduling slot of the trace monitors ("end": after resets).
    final:  state read back at the end of the run: "population.variable" or
            "connection.w" (e.g. learned weights); (B * n,) or (B * n_syn,) arrays.
    """

    spikes: tuple | None = None
    traces: dict = field(default_factory=dict)
    when: str = "start"
    final: tuple = ()


def replicate(i: np.ndarray, j: np.ndarray, n_pre: int, n_post: int, n_copies: int):
    """Index arrays for `n_copies` independent copies of one connection.

    Copy c's neurons are numbered c*n + k in a group of n_copies*n neurons, so a
    whole batch of samples runs in one Brian2 network without cross-talk.
    i, j: (n_syn,). Returns (i_all, j_all), each (n_copies * n_syn,) int64,
    copy-major (copy 0's synapses first).
    """
    c = np.arange(n_copies, dtype=np.int64)[:, None]  # (C, 1)
    return (c * n_pre + i[None, :]).ravel(), (c * n_post + j[None, :]).ravel()


# a connection made of at most this many runs of non-decreasing presynaptic indices is left
# as it is by `source_major`: a spike's synapses already lie in that many contiguous stretches
MAX_RUNS = 8


def source_major(i: np.ndarray) -> np.ndarray | None:
    """The stable order that groups synapses by presynaptic neuron, or None if `i` (n_syn,)
    needs none: it is non-decreasing, or made of at most `MAX_RUNS` non-decreasing runs (a
    connection fused from a few source-major ones, bio/fuse.py).

    The compiler (bio/simulate.py) creates a connection's synapses in this order and reads
    per-synapse state back in the spec's order: a spike then reaches synapses that lie next
    to each other in memory, so Brian2 reads their weights and targets in one sweep instead of
    gathering them from all over the arrays. On a converted CNN's 3x3 convolution this halves
    the time per synaptic event (benchmarks/conversion.py, "Where Brian2's time goes"). Only
    the order in which one step's inputs to a neuron are summed changes.
    """
    if len(i) < 2 or np.count_nonzero(i[1:] < i[:-1]) < MAX_RUNS:
        return None
    return _by_value(i)


def _by_value(i: np.ndarray) -> np.ndarray:
    """np.argsort(i, kind="stable") for non-negative integers, faster."""
    # a stable sort of 16-bit keys is a radix sort in NumPy (linear, ~5x faster than sorting
    # int64 on ten million synapses); wider indices are split by their high digit first (a
    # stable partition per value of it: few on any network that fits in memory), then each
    # part is sorted by its low 16 bits
    if len(i) == 0 or i.max() < 1 << 16:
        return np.argsort(i.astype(np.uint16), kind="stable")
    high = i >> 16
    if high.max() >= 64:
        return np.argsort(i, kind="stable")
    parts = []
    for h in range(int(high.max()) + 1):
        at = np.flatnonzero(high == h)
        parts.append(at[np.argsort((i[at] & 0xFFFF).astype(np.uint16), kind="stable")])
    return np.concatenate(parts)


def fixed_indegree(n_pre: int, n_post: int, k: int, rng: np.random.Generator):
    """k distinct random presynaptic partners for every postsynaptic neuron (fixed in-degree,
    as in Brunel 2000 and most sparse cortical models).

    Postsynaptic neuron after postsynaptic neuron, the partners are the k smallest of n_pre
    uniform keys from `rng`. Returns (i, j), each (n_post * k,) int64, grouped by presynaptic
    neuron (ascending j within each), the layout the compiler runs fastest (`source_major`).
    """
    if k > n_pre:
        raise ValueError(f"in-degree {k} exceeds the {n_pre} available presynaptic neurons")
    if k == 0 or n_post == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    # keys in chunks of ~4 M (32 MB); the random stream is the same as one (n_post, n_pre) draw
    parts, chunk = [], max(1, 4_000_000 // n_pre)
    small = np.uint16 if n_pre <= 1 << 16 else np.int32  # indices < n_pre, in as few bytes as fit
    for start in range(0, n_post, chunk):
        keys = rng.random((min(chunk, n_post - start), n_pre))
        parts.append(np.argpartition(keys, k - 1, axis=1)[:, :k].astype(small) if k < n_pre
                     else np.tile(np.arange(n_pre, dtype=small), (len(keys), 1)))
    i = np.concatenate(parts).ravel()  # post-major: synapse s has j = s // k
    order = _by_value(i)
    return (np.repeat(np.arange(n_pre, dtype=np.int64), np.bincount(i, minlength=n_pre)),
            (order // k).astype(np.int64))


@dataclass
class NetworkSpec:
    """Populations, connections, inputs and recording of one network (plain data).

    populations: {name: Population}; connections: {name: Connection}.
    inputs:      list of inputs from bio/inputs.py (what drives a run).
    record:      a Record (every population's spikes by default).
    period:      time per sample when the inputs hold S > 1 samples (Brian2 time).
    meta:        free-form facts the network builder wants to keep (e.g. layer
                 names, scales). The compiler reads only these keys:
                 "present" (time a sample is shown, <= period), "reset" (False: no
                 state reset at sample onsets) and "schedule" ("default" or
                 "layerwise": the order of thresholds and synapses within a step,
                 bio/simulate.py `SCHEDULES`).
    """

    populations: dict = field(default_factory=dict)
    connections: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)
    record: Record = field(default_factory=Record)
    period: object = None
    meta: dict = field(default_factory=dict)

    def check(self) -> "NetworkSpec":
        """Raise a ValueError for any inconsistency; returns self."""
        for name, c in self.connections.items():
            for end in (c.pre, c.post):
                if end not in self.populations:
                    raise ValueError(f"connection {name!r} refers to unknown population {end!r}; "
                                     f"populations: {', '.join(self.populations)}")
            if self.populations[c.post].is_source:
                raise ValueError(f"connection {name!r} targets source population {c.post!r}; "
                                 "a source has no membrane to drive")
            if c.n_syn and (c.i.min() < 0 or c.j.min() < 0 or c.i.max() >= self.populations[c.pre].n
                            or c.j.max() >= self.populations[c.post].n):
                raise ValueError(f"connection {name!r} has indices outside its populations "
                                 f"({self.populations[c.pre].n} -> {self.populations[c.post].n})")
        for inp in self.inputs:
            if inp.target not in self.populations:
                raise ValueError(f"input {type(inp).__name__} targets unknown population "
                                 f"{inp.target!r}; populations: {', '.join(self.populations)}")
        return self

    def copy(self) -> "NetworkSpec":
        """A deep copy (what every lesion edits)."""
        return _copy.deepcopy(self)

    def with_inputs(self, *inputs, period=None, record: Record | None = None) -> "NetworkSpec":
        """A shallow copy of this spec with other inputs (and optionally period and record).

        Populations and connections are shared with self (not copied): use this to run
        one network on many inputs, and `copy()` before editing arrays.
        """
        new = _copy.copy(self)
        new.inputs = list(inputs)
        new.period = period
        if record is not None:
            new.record = record
        return new.check()
