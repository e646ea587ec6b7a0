"""A vectorised NumPy simulation of a layered network (`bio.layered`), step by step.

The cross-check for the Brian2 run (`bio.run` of the same NetworkSpec): the
same IF/LIF equations written the way Brian2's state updater writes them
(IF: forward Euler, v + I dt / C; LIF: its exact solution), the same time step,
the same order of operations inside a step as Brian2's default schedule
(integrate -> threshold -> deliver this step's spikes -> reset -> record), the
same constant input currents (computed as the compiler computes `Values`), the
same max-pooling gate, the same delays, the same lesion fields and, for Poisson
input, the same input spikes (pass the (T, B, n_in) raster). Noise is the one
difference by design: with noise_sigma > 0 the Ornstein-Uhlenbeck draws differ
from Brian2's (same statistics).

Neuron models: `bio.neurons.IF` and `bio.neurons.LIF` (reset "subtract" or
"zero"), each with or without a refractory period. All B copies
advance together as (B, n) arrays per population; each connection is a scipy
sparse matrix (one per distinct delay), so a step costs a few sparse products.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp
from brian2 import farad, ohm, second, volt

from bio import layered as L
from bio.neurons import IF, LIF
from bio.record import SpikeRecord
from bio.spec import NOISE_TAU, NetworkSpec
from bio.synapses import MaxPoolGate

__all__ = ["simulate", "MODELS"]

MODELS = (IF, LIF)


class _Pop:
    """The constants of one spiking population, as plain floats (SI units)."""

    def __init__(self, pop, n_b: int):
        m = pop.model
        if not isinstance(m, MODELS):
            raise ValueError(f"the reference simulates IF and LIF populations, not {type(m).__name__}; "
                             "run other models in Brian2 (reference=False)")
        self.lif = isinstance(m, LIF)
        self.v_thresh, self.v_reset = float(m.v_thresh / volt), float(m.v_reset / volt)
        spread = self.v_thresh - self.v_reset
        shift = pop.thresh_shift
        # the compiler's v_th: one constant when all shifts agree, else one per neuron
        self.v_th = (self.v_thresh + float(shift[0]) * spread if np.all(shift == shift[0])
                     else self.v_thresh + shift * spread)
        self.subtract = m.reset == "subtract"
        self.at_threshold = m.threshold == "v >= v_th"  # IF fires at v >= v_th, LIF above it
        if m.threshold not in ("v >= v_th", "v > v_th"):
            raise ValueError(f"unexpected threshold {m.threshold!r} of {type(m).__name__}")
        self.C = float(m.capacitance / farad)
        self.t_ref = float(m.t_ref / second)
        if self.lif:
            self.tau, self.R, self.v_rest = float(m.tau_m / second), float(m.R / ohm), float(m.v_rest / volt)
        self.sigma = pop.noise_sigma * spread * self.C / float(NOISE_TAU / second)
        self.alive = pop.alive[None, :]
        self.v0 = self.v_rest if self.lif else self.v_reset
        self.n_b, self.n = n_b, pop.n


def _matrices(spec: NetworkSpec, dt_s: float):
    """{connection: ([(delay_steps, csr (n_pre, n_post))], i, j, w, delay_steps)} of active synapses."""
    out = {}
    for name, c in spec.connections.items():
        keep = c.active(spec.populations)
        steps = np.rint(c.delay_s[keep] / dt_s).astype(np.int64)
        shape = (spec.populations[c.pre].n, spec.populations[c.post].n)
        mats = [(int(d), sp.csr_matrix((c.w[keep][steps == d], (c.i[keep][steps == d], c.j[keep][steps == d])),
                                       shape=shape)) for d in np.unique(steps)]
        out[name] = (mats, c.i[keep], c.j[keep], c.w[keep], steps)
    return out


def _value_currents(spec: NetworkSpec, x: np.ndarray, rate_hz: float):
    """{post: [(delay_s, (B, n_post) amp)]}: the currents of analog input, as bio.run computes them."""
    out = {}
    for c in spec.connections.values():
        if c.pre != "in":
            continue
        pre, post = spec.populations[c.pre], spec.populations[c.post]
        keep = c.active(spec.populations)
        drive = c.signed_w()[keep] * rate_hz * float(post.model.capacitance / farad)
        delays = c.delay_s[keep]
        for d in np.unique(delays):
            sel = delays == d
            W = sp.csr_matrix((drive[sel], (c.i[keep][sel], c.j[keep][sel])), shape=(pre.n, post.n))
            out.setdefault(c.post, []).append((float(d), (W.T @ x.T).T))  # (B, n_post)
    return out


def simulate(spec: NetworkSpec, inputs: np.ndarray, n_steps: int, dt_s: float = 1e-3, seed=None) -> SpikeRecord:
    """Run a layered spec for n_steps of dt_s seconds on a batch of inputs.

    spec:   a NetworkSpec from bio.layered.layered (IF or LIF populations).
    inputs: (B, n_in) values, or bool (T, B, n_in) input spikes when
            spec.meta["input"] == "poisson" (values are drawn with
            bio.layered.poisson_spikes and `seed`, as bio.layered.run does).
    Returns a SpikeRecord laid out exactly as bio.layered.run's (index = copy * n + k,
    trace "<out>.v" (T, B * n_out) in volt at the end of every step).
    """
    names = L.layers(spec)
    if spec.meta.get("schedule", "default") != "default":
        raise ValueError(f"the reference follows Brian2's default schedule, not "
                         f"{spec.meta['schedule']!r}")
    mode, rate_hz = spec.meta["input"], spec.meta["rate_hz"]
    inputs = np.asarray(inputs)
    spikes_in, currents = None, {}
    if mode == "poisson":
        spikes_in = (inputs.astype(bool) if inputs.ndim == 3
                     else L.poisson_spikes(inputs, rate_hz, n_steps, dt_s, seed))
        if spikes_in.shape[0] != n_steps:
            raise ValueError(f"input spikes hold {spikes_in.shape[0]} steps, the run {n_steps}")
        spikes_in = spikes_in & spec.populations["in"].alive[None, None, :]
        n_b = spikes_in.shape[1]
    else:
        x = inputs.astype(np.float64)
        n_b = x.shape[0]
        currents = _value_currents(spec, x, rate_hz)
    layers = names[1:]
    pops = {p: _Pop(spec.populations[p], n_b) for p in layers}
    rng = np.random.default_rng(seed)
    mats = _matrices(spec, dt_s)
    const = {}  # the compiler's I_const: bias plus undelayed analog input, (B, n) amp
    for p in layers:
        const[p] = np.broadcast_to(spec.populations[p].i_ext_amp[None, :], (n_b, pops[p].n)).copy()
        for d, cur in currents.get(p, []):
            if d == 0:
                const[p] = const[p] + cur
    v = {p: np.full((n_b, pops[p].n), pops[p].v0) for p in layers}
    noise = {p: np.zeros((n_b, pops[p].n)) for p in layers}
    count = {p: np.zeros((n_b, spec.populations[p].n)) for p in names}
    wmax = {p: np.zeros((n_b, pops[p].n)) for p in layers}
    ref_steps = {p: int((pops[p].t_ref + 1e-3 * dt_s) / dt_s) for p in layers}  # Brian2's timestep()
    last = {p: np.full((n_b, pops[p].n), -10**9) for p in layers}
    open_ = {p: np.ones((n_b, pops[p].n), dtype=bool) for p in layers}  # not refractory
    pending = {}  # (step, population) -> (B, n) charge in volt
    rec_t = {p: [] for p in names}
    rec_i = {p: [] for p in names}
    out = names[-1]
    v_trace = np.empty((n_steps, n_b * pops[out].n))

    for k in range(n_steps):
        t = k * dt_s
        spikes = {}
        # groups: integrate (refractory neurons hold v, as with Brian2's "unless refractory")
        for p in layers:
            q = pops[p]
            I = const[p]
            for d, cur in currents.get(p, []):
                if d > 0 and t >= d:
                    I = I + cur
            if q.sigma > 0:  # Euler-Maruyama, as Brian2 integrates a noisy group
                I = I + noise[p]
                noise[p] = (noise[p] - dt_s * noise[p] / float(NOISE_TAU / second)
                            + q.sigma * np.sqrt(2 / float(NOISE_TAU / second)) * np.sqrt(dt_s)
                            * rng.standard_normal(noise[p].shape))
                new = (v[p] + dt_s * (q.v_rest - v[p] + q.R * I) / q.tau if q.lif
                       else v[p] + dt_s * I / q.C)
            elif q.lif:  # Brian2's exact solution, term for term
                e = np.exp(-dt_s / q.tau)
                new = I * q.R + v[p] * e + q.v_rest + (-I * q.R - q.v_rest) * e
            else:
                new = v[p] + I * dt_s / q.C
            if ref_steps[p]:
                open_[p] = (k - last[p]) >= ref_steps[p]
                new = np.where(open_[p], new, v[p])
            v[p] = new
        # thresholds
        if spikes_in is not None:
            spikes["in"] = spikes_in[k]
        for p in layers:
            q = pops[p]
            s = ((v[p] >= q.v_th) if q.at_threshold else (v[p] > q.v_th)) & q.alive & open_[p]
            if ref_steps[p]:  # Brian2 drops synaptic input while refractory, spike step included
                last[p][s] = k
                open_[p] = open_[p] & ~s
            spikes[p] = s
        # synapses: deliver now or after the delay
        for cname, c in spec.connections.items():
            if c.pre not in spikes:
                continue
            s = spikes[c.pre]
            ms, i, j, w, steps = mats[cname]
            gate = open_[c.post] if ref_steps[c.post] else None
            if isinstance(c.model, MaxPoolGate):
                _maxpool_gate(s, count[c.pre], wmax[c.post], v[c.post], i, j, w, gate)
                continue
            sf = s.astype(np.float64)
            for d, m in ms:
                charge = np.asarray((m.T @ sf.T).T)
                if d == 0:
                    v[c.post] += charge if gate is None else charge * gate
                else:
                    key = (k + d, c.post)
                    pending[key] = pending.get(key, 0) + charge
        for p in layers:
            if (k, p) in pending:
                v[p] += pending.pop((k, p)) * (open_[p] if ref_steps[p] else 1.0)
        # resets
        for p, s in spikes.items():
            count[p] += s
            if p != "in":
                q = pops[p]
                if q.subtract:
                    v[p] = np.where(s, v[p] - (q.v_th - q.v_reset), v[p])
                else:
                    v[p] = np.where(s, q.v_reset, v[p])
            b, n = np.nonzero(s)
            rec_t[p].append(np.full(len(b), t))
            rec_i[p].append(b * spec.populations[p].n + n)
        v_trace[k] = v[out].ravel()

    shown = [p for p in names if p != "in" or spikes_in is not None]
    times = {p: np.concatenate(rec_t[p]) if rec_t[p] else np.zeros(0) for p in shown}
    idx = {p: np.concatenate(rec_i[p]).astype(np.int64) if rec_i[p] else np.zeros(0, np.int64) for p in shown}
    sizes = {p: n_b * spec.populations[p].n for p in shown}
    return SpikeRecord(times, idx, sizes, n_steps * dt_s, {f"{out}.v": v_trace}, dt_s, copies=n_b)


def _maxpool_gate(s, count_pre, wmax_post, v_post, i, j, w, open_post=None):
    """The gate of bio.synapses.MaxPoolGate: a spike passes iff it raises its window's running
    maximum count.

    Within one step every spike that raises the maximum raises it to the same
    value (max + 1), so at most one passes per window, whatever the order.
    """
    bb, syn = np.nonzero(s[:, i])  # spiking synapses, (n_events,)
    if not len(bb):
        return
    c_new = count_pre[bb, i[syn]] + 1
    post = j[syn]
    raises = c_new > wmax_post[bb, post]
    passed = np.zeros_like(wmax_post, dtype=bool)
    first_w = np.zeros_like(wmax_post)
    passed[bb[raises], post[raises]] = True
    first_w[bb[raises], post[raises]] = w[syn[raises]]
    v_post += passed * first_w * (1.0 if open_post is None else open_post)
    np.maximum.at(wmax_post, (bb, post), c_new)
