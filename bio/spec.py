"""Network specifications: what a lesion edits before Brian2 ever sees it.

A `bio` network that can be lesioned (the layered network the bridge converts
to, the Diehl & Cook STDP learner) is a plain description: named populations
and named connections held as NumPy arrays. Brian2 objects are built from it at
run time, so a lesion is an edit of arrays on a copy, the original stays
untouched, and the same seed always gives the same lesion.

Conventions shared by every builder:
- `Population.alive` False means the neuron never spikes and all its synapses,
  incoming and outgoing, are gone.
- `Population.thresh_shift` and `Population.noise_sigma` are fractions of the
  population's threshold distance (v_thresh - v_reset), so "raise thresholds by
  10%" means the same for an IF unit of a converted network and an
  excitatory neuron of the STDP learner.
- `Connection.kind` says how to read the sign of `w`: "exc" and "inh"
  connections hold magnitudes (the synapse model gives the sign), "signed"
  connections (converted ANN weights) excite where w > 0 and inhibit where w < 0.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

KINDS = ("exc", "inh", "signed")


@dataclass
class Population:
    """Per-neuron state that lesions act on.

    n:            number of neurons (in one copy of the network).
    alive:        (n,) bool, False where a neuron is removed.
    thresh_shift: (n,) float, threshold offset as a fraction of v_thresh - v_reset.
    noise_sigma:  std of added background noise, as a fraction of v_thresh - v_reset
                  per sqrt(tau) (builders document their exact use); 0 for none.
    """

    n: int
    alive: np.ndarray = None
    thresh_shift: np.ndarray = None
    noise_sigma: float = 0.0

    def __post_init__(self):
        if self.alive is None:
            self.alive = np.ones(self.n, dtype=bool)
        if self.thresh_shift is None:
            self.thresh_shift = np.zeros(self.n)
        self.alive = np.asarray(self.alive, dtype=bool)
        self.thresh_shift = np.asarray(self.thresh_shift, dtype=float)
        if self.alive.shape != (self.n,) or self.thresh_shift.shape != (self.n,):
            raise ValueError(f"alive and thresh_shift must have shape ({self.n},), got "
                             f"{self.alive.shape} and {self.thresh_shift.shape}")


@dataclass
class Connection:
    """Synapses from population `pre` to population `post` (one copy).

    i, j:      (n_syn,) int64 presynaptic and postsynaptic neuron indices.
    w:         (n_syn,) float64 weights in the builder's unit (see `kind`).
    delay_s:   (n_syn,) float64 conduction delays in seconds.
    transmits: (n_syn,) bool, False where conduction is blocked.
    kind:      "exc", "inh" or "signed" (see the module docstring).
    """

    pre: str
    post: str
    i: np.ndarray
    j: np.ndarray
    w: np.ndarray
    kind: str = "signed"
    delay_s: np.ndarray = None
    transmits: np.ndarray = None

    def __post_init__(self):
        self.i = np.asarray(self.i, dtype=np.int64)
        self.j = np.asarray(self.j, dtype=np.int64)
        self.w = np.asarray(self.w, dtype=np.float64)
        n = len(self.i)
        if self.delay_s is None:
            self.delay_s = np.zeros(n)
        if self.transmits is None:
            self.transmits = np.ones(n, dtype=bool)
        self.delay_s = np.asarray(self.delay_s, dtype=np.float64)
        self.transmits = np.asarray(self.transmits, dtype=bool)
        if not (len(self.j) == len(self.w) == len(self.delay_s) == len(self.transmits) == n):
            raise ValueError("i, j, w, delay_s and transmits must all have the same length")
        if self.kind not in KINDS:
            raise ValueError(f"unknown connection kind {self.kind!r}; choose one of: {', '.join(KINDS)}")

    @property
    def n_syn(self) -> int:
        return len(self.i)

    def active(self, populations: dict[str, Population]) -> np.ndarray:
        """(n_syn,) bool: synapses that exist after lesions (both ends alive, not blocked)."""
        return (populations[self.pre].alive[self.i] & populations[self.post].alive[self.j]
                & self.transmits)


def replicate(i: np.ndarray, j: np.ndarray, n_pre: int, n_post: int, n_copies: int):
    """Index arrays for `n_copies` independent copies of one connection.

    Copy c's neurons are numbered c*n + k in a group of n_copies*n neurons, so a
    whole batch of samples runs in one Brian2 network without cross-talk.
    i, j: (n_syn,). Returns (i_all, j_all), each (n_copies * n_syn,) int64,
    copy-major (copy 0's synapses first).
    """
    c = np.arange(n_copies, dtype=np.int64)[:, None]  # (C, 1)
    return (c * n_pre + i[None, :]).ravel(), (c * n_post + j[None, :]).ravel()


@dataclass
class NetworkSpec:
    """Populations and connections of a network that `bio.lesion` can edit.

    Network types (the layered network, the STDP learner) subclass this or hold
    one; a lesion deep-copies the spec and edits the copy.
    """

    populations: dict[str, Population] = field(default_factory=dict)
    connections: dict[str, Connection] = field(default_factory=dict)

    def check(self) -> None:
        for name, c in self.connections.items():
            for end in (c.pre, c.post):
                if end not in self.populations:
                    raise ValueError(f"connection {name!r} refers to unknown population {end!r}; "
                                     f"populations: {', '.join(self.populations)}")
            if c.n_syn and (c.i.max() >= self.populations[c.pre].n or c.j.max() >= self.populations[c.post].n):
                raise ValueError(f"connection {name!r} has indices outside its populations")
