"""Lesions of spiking networks, as edits of a `NetworkSpec` copy.

Every function takes a `NetworkSpec` (any network: a converted one, the STDP
learner, a Brunel network), deep-copies it, edits the copy's NumPy
arrays and returns it; the original is untouched, the same `seed` always gives
the same lesion, and no Brian2 object is involved: the network's builder reads
the edited fields (see `bio.spec` for what each field means).

What each lesion edits:
- `remove_neurons`:   Population.alive = False (the builder drops every
                      synapse into or out of a dead neuron, and it never spikes).
- `prune_synapses`:   Connection.transmits = False and w = 0 (the synapse is gone).
- `block_conduction`: Connection.transmits = False, weight kept (per synapse or per axon).
- `scale_weights`:    w of excitatory or inhibitory synapses.
- `slow_conduction`:  Connection.delay_s (longer and jittered, per synapse or per axon).
- `shift_thresholds`: Population.thresh_shift (fraction of v_thresh - v_reset).
- `add_noise`:        Population.noise_sigma (same unit).
- `underprune`:       w of the weakest synapses (replaced by draws from the connection's weights).
- `scale_incoming`:   w of each neuron's excitatory synapses, one factor per neuron.
- `deafferent`:       alive of input (source) neurons, and i_ext_amp of their targets
                      (the spontaneous drive they keep).

Populations default to every hidden population (one that both receives and
sends connections), never an input population; connections default to all.
"""
from __future__ import annotations

import copy

import numpy as np

from .spec import NetworkSpec

MODES = ("random", "patch")
METHODS = ("random", "magnitude")
SIGNS = ("exc", "inh")
PER = ("synapse", "axon")


# --------------------------------------------------------------------------- selection

def input_populations(spec: NetworkSpec) -> list[str]:
    """Source populations and populations no connection targets (the network's inputs)."""
    targets = {c.post for c in spec.connections.values()}
    return [p for p, pop in spec.populations.items() if pop.is_source or p not in targets]


def hidden_populations(spec: NetworkSpec) -> list[str]:
    """Populations that both receive and send connections, in the spec's order.

    Relays that only implement an operation of the modelled network rather than
    being its neurons (the max-pooling gates of a converted network, listed in
    `spec.meta["maxpool"]` or `spec.meta["relays"]`) are not hidden populations.
    """
    targets = {c.post for c in spec.connections.values()}
    sources = {c.pre for c in spec.connections.values()}
    relays = set(spec.meta.get("maxpool", ())) | set(spec.meta.get("relays", ()))
    return [p for p in spec.populations if p in targets and p in sources and p not in relays]


def _populations(spec: NetworkSpec, populations) -> list[str]:
    if populations is None:
        populations = hidden_populations(spec)
        if not populations:
            raise ValueError("the network has no hidden population to lesion; name populations "
                             f"explicitly from: {', '.join(spec.populations)}")
    elif isinstance(populations, str):
        populations = [populations]
    inputs = input_populations(spec)
    for name in populations:
        if name not in spec.populations:
            raise ValueError(f"unknown population {name!r}; choose from: {', '.join(spec.populations)}")
        if name in inputs:
            raise ValueError(f"population {name!r} is an input of the network and cannot be lesioned; "
                             f"hidden populations: {', '.join(hidden_populations(spec))}")
    return list(populations)


def _connections(spec: NetworkSpec, connections) -> list[str]:
    if connections is None:
        return list(spec.connections)
    if isinstance(connections, str):
        connections = [connections]
    for name in connections:
        if name not in spec.connections:
            raise ValueError(f"unknown connection {name!r}; choose from: {', '.join(spec.connections)}")
    return list(connections)


def _fraction(fraction) -> float:
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"fraction must lie in [0, 1], got {fraction}")
    return float(fraction)


def _rng(seed: int, key: int) -> np.random.Generator:
    # one independent stream per population/connection, so each lesion is reproducible alone
    return np.random.default_rng([int(seed), int(key)])


def _by_distance(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """All flat indices of a grid of `shape`, nearest to a random centre first.

    The first k of them form a contiguous patch; ties go to the lower index.
    """
    grid = np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), axis=1)  # (n, d)
    centre = np.array([rng.uniform(0, s - 1) if s > 1 else 0.0 for s in shape])
    return np.argsort(np.linalg.norm(grid - centre, axis=1), kind="stable")


def _geometry(spec: NetworkSpec, name: str) -> tuple[int, ...]:
    """Shape of a population's neurons: `Population.shape` when the network gives one.

    A channel-first (C, H, W) shape (a converted convolutional layer) means a
    patch takes the same positions in every channel.
    """
    pop = spec.populations[name]
    return tuple(pop.shape) if pop.shape is not None else (pop.n,)


# --------------------------------------------------------------------------- neurons

def remove_neurons(spec: NetworkSpec, fraction: float, populations=None, *, mode: str = "random",
                   seed: int = 0) -> NetworkSpec:
    """Remove round(fraction * n_alive) of each population's living neurons.

    mode: "random", or "patch": the living neurons nearest a random centre
          (in the population's geometry when it has one, `Population.shape`,
          otherwise along the index: a contiguous block).
          For a (C, H, W) geometry the patch is the round(fraction * H * W)
          positions nearest the centre, in every channel.
    Removed neurons never spike and lose all their synapses (builders honour
    `alive`). Returns an edited copy.
    """
    fraction = _fraction(fraction)
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; choose one of: {', '.join(MODES)}")
    names = _populations(spec, populations)
    spec = copy.deepcopy(spec)
    for key, name in enumerate(names):
        pop = spec.populations[name]
        alive = np.flatnonzero(pop.alive)
        k = int(round(fraction * len(alive)))
        if k == 0:
            continue
        rng = _rng(seed, key)
        if mode == "random":
            dead = rng.choice(alive, size=k, replace=False)
        else:
            shape = _geometry(spec, name)
            if len(shape) == 3:  # (C, H, W): the same patch of positions in every channel
                hw = shape[1] * shape[2]
                pos = _by_distance(shape[1:], rng)[:int(round(fraction * hw))]
                dead = (np.arange(shape[0])[:, None] * hw + pos[None, :]).ravel()
            else:  # the k living neurons nearest the centre
                order = _by_distance(shape, rng)
                dead = order[pop.alive[order]][:k]
        pop.alive[dead] = False
    return spec


def shift_thresholds(spec: NetworkSpec, shift: float, populations=None, *, sigma: float = 0.0,
                     seed: int = 0) -> NetworkSpec:
    """Add `shift` (+ per-neuron N(0, sigma)) to thresholds, in units of v_thresh - v_reset.

    shift > 0 makes neurons harder to fire. Returns an edited copy.
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    names = _populations(spec, populations)
    spec = copy.deepcopy(spec)
    for key, name in enumerate(names):
        pop = spec.populations[name]
        pop.thresh_shift = pop.thresh_shift + shift
        if sigma > 0:
            pop.thresh_shift = pop.thresh_shift + _rng(seed, key).normal(0, sigma, pop.n)
    return spec


def add_noise(spec: NetworkSpec, sigma: float, populations=None) -> NetworkSpec:
    """Add independent background noise of std `sigma` (fraction of v_thresh - v_reset).

    Independent noise sources add in variance: the new noise_sigma is
    sqrt(old**2 + sigma**2). Returns an edited copy.
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    names = _populations(spec, populations)
    spec = copy.deepcopy(spec)
    for name in names:
        pop = spec.populations[name]
        pop.noise_sigma = float(np.hypot(pop.noise_sigma, sigma))
    return spec


# --------------------------------------------------------------------------- synapses

def prune_synapses(spec: NetworkSpec, fraction: float, connections=None, *, method: str = "random",
                   compensate: bool = False, seed: int = 0) -> NetworkSpec:
    """Delete round(fraction * n) of the n synapses each connection still has.

    method:     "random", or "magnitude": the smallest |w| first (Hoffman &
                McGlashan 1997, Am J Psychiatry 154:1683, over-pruning of the
                weakest synapses).
    compensate: multiply each postsynaptic neuron's surviving synapses in the
                connection by (synapses it had) / (synapses it kept), keeping its
                expected input: the per-neuron compensation of Horn, Levy & Ruppin
                (1996), Neural Comput 8:1227 (Horn, Ruppin, Usher & Herrmann 1993,
                Neural Comput 5:736, used one global factor).
    A deleted synapse gets transmits = False and w = 0. Returns an edited copy.
    """
    fraction = _fraction(fraction)
    if method not in METHODS:
        raise ValueError(f"unknown pruning method {method!r}; choose one of: {', '.join(METHODS)}")
    names = _connections(spec, connections)
    spec = copy.deepcopy(spec)
    for key, name in enumerate(names):
        c = spec.connections[name]
        present = np.flatnonzero(c.transmits)
        k = int(round(fraction * len(present)))
        if k == 0:
            continue
        rng = _rng(seed, key)
        if method == "random":
            cut = rng.choice(present, size=k, replace=False)
        else:  # ties broken at random, so exactly k go
            cut = present[np.lexsort((rng.random(len(present)), np.abs(c.w[present])))[:k]]
        before = np.bincount(c.j[present], minlength=spec.populations[c.post].n)
        c.transmits[cut] = False
        c.w[cut] = 0.0
        if compensate:
            after = np.bincount(c.j[c.transmits], minlength=spec.populations[c.post].n)
            factor = before / np.maximum(after, 1)
            c.w = np.where(c.transmits, c.w * factor[c.j], c.w)
    return spec


def _axons(spec: NetworkSpec, names: list[str], fraction: float, seed: int) -> dict[str, np.ndarray]:
    """{presynaptic population: (n,) bool} the axons hit: round(fraction * n) neurons of each
    population that sends one of the connections `names`, drawn once per population."""
    hit = {}
    for key, pre in enumerate(sorted({spec.connections[n].pre for n in names})):
        n = spec.populations[pre].n
        mask = np.zeros(n, bool)
        mask[_rng(seed, 1000 + key).choice(n, size=int(round(fraction * n)), replace=False)] = True
        hit[pre] = mask
    return hit


def block_conduction(spec: NetworkSpec, fraction: float, connections=None, *, per: str = "synapse",
                     seed: int = 0) -> NetworkSpec:
    """Block conduction: a blocked synapse keeps its weight but delivers nothing (transmits = False).

    per: "synapse" blocks round(fraction * n) of the n transmitting synapses of each
         connection; "axon" blocks every synapse of round(fraction * n) presynaptic
         neurons (demyelination acts on an axon, so all its synapses fail together).
    Returns an edited copy.
    """
    fraction = _fraction(fraction)
    if per not in PER:
        raise ValueError(f"unknown unit of block {per!r}; choose one of: {', '.join(PER)}")
    names = _connections(spec, connections)
    spec = copy.deepcopy(spec)
    axons = _axons(spec, names, fraction, seed) if per == "axon" else {}
    for key, name in enumerate(names):
        c = spec.connections[name]
        if per == "axon":
            c.transmits = c.transmits & ~axons[c.pre][c.i]
            continue
        present = np.flatnonzero(c.transmits)
        k = int(round(fraction * len(present)))
        c.transmits[_rng(seed, key).choice(present, size=k, replace=False)] = False
    return spec


def scale_weights(spec: NetworkSpec, factor: float, which: str = "inh",
                  connections=None) -> NetworkSpec:
    """Multiply every excitatory or inhibitory weight by `factor` (>= 0).

    which: "exc" or "inh". In a "signed" connection (converted ANN weights)
           that means the w > 0 or the w < 0 entries; a connection of kind
           "exc" or "inh" is scaled whole when its kind matches.
    Returns an edited copy.
    """
    if which not in SIGNS:
        raise ValueError(f"unknown synapse sign {which!r}; choose one of: {', '.join(SIGNS)}")
    if factor < 0:
        raise ValueError(f"factor must be >= 0, got {factor}")
    names = _connections(spec, connections)
    spec = copy.deepcopy(spec)
    for name in names:
        c = spec.connections[name]
        if c.kind == "signed":
            sel = c.w > 0 if which == "exc" else c.w < 0
            c.w = np.where(sel, c.w * factor, c.w)
        elif c.kind == which:
            c.w = c.w * factor
    return spec


def slow_conduction(spec: NetworkSpec, extra_s: float = 0.0, jitter_s: float = 0.0,
                    connections=None, *, factor: float = 1.0, per: str = "synapse",
                    fraction: float = 1.0, seed: int = 0) -> NetworkSpec:
    """Lengthen and jitter conduction delays.

    New delay = factor * delay + extra_s + |N(0, jitter_s)|: demyelination slows
    conduction and disperses arrival times, and never speeds an axon up (Smith &
    McDonald 1999, Phil Trans R Soc B 354:1649).
    per:      "synapse": every synapse draws its own jitter; "axon": the jitter is
              drawn per presynaptic neuron and shared by all its synapses.
    fraction: with per="axon", the fraction of presynaptic neurons affected (the
              others keep their delays); with per="synapse" it must be 1.
    Returns an edited copy.
    """
    if extra_s < 0 or jitter_s < 0 or factor < 0:
        raise ValueError(f"extra_s, jitter_s and factor must be >= 0, got {extra_s}, {jitter_s}, {factor}")
    if per not in PER:
        raise ValueError(f"unknown unit of slowing {per!r}; choose one of: {', '.join(PER)}")
    fraction = _fraction(fraction)
    if per == "synapse" and fraction != 1.0:
        raise ValueError("fraction applies to per='axon' only")
    names = _connections(spec, connections)
    spec = copy.deepcopy(spec)
    axons = _axons(spec, names, fraction, seed) if per == "axon" else {}
    draws = {}
    for key, name in enumerate(names):
        c = spec.connections[name]
        if per == "axon":
            n_pre = spec.populations[c.pre].n
            if c.pre not in draws:  # one jitter per axon, shared by every connection it makes
                draws[c.pre] = np.abs(_rng(seed, 2000 + len(draws)).normal(0.0, jitter_s, n_pre)) \
                    if jitter_s > 0 else np.zeros(n_pre)
            hit = axons[c.pre][c.i]
            c.delay_s = np.where(hit, factor * c.delay_s + extra_s + draws[c.pre][c.i], c.delay_s)
            continue
        jitter = np.abs(_rng(seed, key).normal(0.0, jitter_s, c.n_syn)) if jitter_s > 0 else 0.0
        c.delay_s = factor * c.delay_s + extra_s + jitter
    return spec


def silent_fraction(spec: NetworkSpec, population: str) -> float:
    """Fraction of a population's neurons that are removed."""
    return float(1.0 - spec.populations[population].alive.mean())


def underprune(spec: NetworkSpec, fraction: float, connections=None, *, seed: int = 0) -> NetworkSpec:
    """Keep synapses that developmental pruning would have removed (under-pruning).

    In each connection, the round(fraction * n) weakest of its n transmitting synapses
    (smallest |w|, ties at random) get weights drawn at random, with replacement, from the
    connection's own transmitting weights (signs included in a "signed" connection):
    connections of typical strength whose targets learning did not select (Tang et al.
    2014, Neuron 83:1131: deficient spine pruning in ASD cortex). A connection whose
    weights are all equal is unchanged (its weakest synapses are typical ones).
    Returns an edited copy.
    """
    fraction = _fraction(fraction)
    names = _connections(spec, connections)
    spec = copy.deepcopy(spec)
    for key, name in enumerate(names):
        c = spec.connections[name]
        present = np.flatnonzero(c.transmits)
        k = int(round(fraction * len(present)))
        if k == 0:
            continue
        rng = _rng(seed, key)
        weakest = present[np.lexsort((rng.random(len(present)), np.abs(c.w[present])))[:k]]
        w = c.w.copy()
        w[weakest] = rng.choice(c.w[present], size=k, replace=True)
        c.w = w
    return spec


def scale_incoming(spec: NetworkSpec, connection: str, gains) -> NetworkSpec:
    """Multiply each postsynaptic neuron's excitatory synapses in `connection` by its own gain.

    gains: (n_post,) factors >= 0. Excitatory means w > 0 in a "signed" connection and the
    whole connection when its kind is "exc" (an "inh" connection is refused): homeostatic
    synaptic scaling, one factor for all excitatory synapses of a neuron (Turrigiano et
    al. 1998, Nature 391:892; `synapses.SynapticScaling` is the rule in time).
    Returns an edited copy.
    """
    name = _connections(spec, connection)[0]
    c = spec.connections[name]
    n_post = spec.populations[c.post].n
    gains = np.asarray(gains, dtype=float)
    if gains.shape != (n_post,) or np.any(gains < 0) or not np.all(np.isfinite(gains)):
        raise ValueError(f"gains must be ({n_post},) finite factors >= 0, one per neuron of {c.post!r}, "
                         f"got shape {gains.shape}")
    if c.kind == "inh":
        raise ValueError(f"connection {name!r} is inhibitory; synaptic scaling here acts on excitatory "
                         "synapses (kind 'exc' or the w > 0 entries of a 'signed' connection)")
    spec = copy.deepcopy(spec)
    c = spec.connections[name]
    c.w = np.where(c.w > 0, c.w * gains[c.j], c.w) if c.kind == "signed" else c.w * gains[c.j]
    return spec


def deafferent(spec: NetworkSpec, fraction: float, population: str | None = None, *,
               spont_hz: float = 0.0, seed: int = 0) -> NetworkSpec:
    """Deafferentation: round(fraction * n) input neurons (fibres), drawn at random, lose
    their stimulus-driven firing (alive = False: their synapses carry no input).

    spont_hz > 0: the lost fibres keep a spontaneous rate (auditory-nerve fibres keep
    theirs after cochlear damage; Schaette & Kempter 2006, Eur J Neurosci 23:3124): the
    mean current their synapses would carry at spont_hz is added to each target neuron's
    constant current (`Population.i_ext_amp`; current-based synapses, CurrentDelta or
    CurrentExp, only).
    population: the source population (default: the network's only source population).
    Returns an edited copy.
    """
    from .simulate import mean_drive

    fraction = _fraction(fraction)
    if spont_hz < 0 or not np.isfinite(spont_hz):
        raise ValueError(f"spont_hz must be a finite rate >= 0, got {spont_hz}")
    sources = [p for p, pop in spec.populations.items() if pop.is_source]
    if population is None:
        if len(sources) != 1:
            raise ValueError(f"name the input population to deafferent; source populations: "
                             f"{', '.join(sources) or 'none'}")
        population = sources[0]
    if population not in sources:
        raise ValueError(f"{population!r} is not a source (input) population; choose from: "
                         f"{', '.join(sources)}")
    spec = copy.deepcopy(spec)
    pop = spec.populations[population]
    alive = np.flatnonzero(pop.alive)
    lost = _rng(seed, 0).choice(alive, size=int(round(fraction * len(alive))), replace=False)
    if spont_hz > 0:
        for c in spec.connections.values():
            if c.pre != population:
                continue
            post = spec.populations[c.post]
            hit = np.isin(c.i, lost) & c.transmits
            drive = mean_drive(c.model, c.signed_w()[hit], spont_hz, post.model)  # (n_hit,) amp
            post.i_ext_amp = post.i_ext_amp + np.bincount(c.j[hit], weights=drive, minlength=post.n)
    pop.alive[lost] = False
    return spec
