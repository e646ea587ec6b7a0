"""A vectorised NumPy simulation of a `bio.Layered` network, step by step.

The cross-check for the Brian2 run: the same IF/LIF equations, the same time
step, the same order of operations inside a step as Brian2's default schedule
(integrate -> threshold -> deliver this step's spikes -> reset by subtraction
-> record), the same max-pooling gate, the same delays, the same lesion fields
and, for Poisson input, the same input spikes (pass the (T, B, n_in) array).
The only difference by design is noise: with noise_sigma > 0 the draws differ
from Brian2's (same statistics).

All B samples advance together as (B, n) arrays per population; each
connection is a scipy sparse matrix (one per distinct delay), so a step costs
a few sparse products.
"""
from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from bio.layered import Layered, poisson_spikes
from bio.record import SpikeRecord

__all__ = ["simulate"]


def _matrices(net: Layered, dt_s: float):
    """{connection: [(delay_steps, csr (n_pre, n_post))]} over the active synapses."""
    out = {}
    for name, c in net.connections.items():
        keep = c.active(net.populations)
        steps = np.rint(c.delay_s[keep] / dt_s).astype(np.int64)
        mats = []
        for d in np.unique(steps):
            m = steps == d
            mats.append((int(d), sp.csr_matrix((c.w[keep][m], (c.i[keep][m], c.j[keep][m])),
                                               shape=(net.populations[c.pre].n, net.populations[c.post].n))))
        out[name] = (mats, c.i[keep], c.j[keep], c.w[keep], steps)
    return out


def simulate(net: Layered, inputs: np.ndarray, n_steps: int, dt_s: float = 1e-3, seed=None) -> SpikeRecord:
    """Run `net` for n_steps of dt_s seconds on a batch of inputs.

    inputs: (B, n_in) values in [0, 1], or bool (T, B, n_in) input spikes with
            net.input == "poisson" (values are drawn with bio.layered.poisson_spikes
            and `seed`, as Layered.run does).
    Returns a SpikeRecord laid out exactly as Layered.run's (index = copy * n + k,
    trace "<out>.v" (T, B * n_out) in volt at the end of every step).
    """
    inputs = np.asarray(inputs)
    spikes_in = None
    if net.input == "poisson":
        spikes_in = (inputs.astype(bool) if inputs.ndim == 3
                     else poisson_spikes(inputs, net.rate_hz, n_steps, dt_s, seed))
        spikes_in = spikes_in & net.populations["in"].alive[None, None, :]
        n_b = spikes_in.shape[1]
    else:
        n_b = inputs.shape[0]
    theta = float(net.v_thresh)
    rng = np.random.default_rng(seed)
    pops = net.populations
    layers = net.layers[1:]
    mats = _matrices(net, dt_s)
    into = {name: [c for c in net.connections if net.connections[c].post == name] for name in layers}
    current = {name: any(net.connections[c].pre == "in" for c in into[name]) and spikes_in is None
               for name in layers}

    # constant input currents (Hz), one (B, n) block per distinct delay (in steps)
    in_current = {p: [] for p in layers}
    for p in layers:
        for c in into[p]:
            if current[p] and net.connections[c].pre == "in":
                for d, m in mats[c][0]:
                    in_current[p].append((d, np.asarray((m.T @ inputs.astype(np.float64).T).T) * net.rate_hz))
    v = {p: np.zeros((n_b, pops[p].n)) for p in layers}
    v_th = {p: theta * (1 + pops[p].thresh_shift)[None, :] for p in layers}
    bias = {p: net.bias(p)[None, :] for p in layers}
    count = {p: np.zeros((n_b, pops[p].n)) for p in net.layers}
    wmax = {p: np.zeros((n_b, pops[p].n)) for p in layers}
    lif = net.neuron == "lif"
    tau = float(net.tau_m)
    decay = np.exp(-dt_s / tau)
    ref_steps = int(round(float(net.t_ref) / dt_s)) if lif else 0
    last = {p: np.full((n_b, pops[p].n), -10**9) for p in layers}
    not_ref = {p: np.ones((n_b, pops[p].n), dtype=bool) for p in layers}
    pending = {}  # (step, population) -> (B, n) charge in volt
    rec_t = {p: [] for p in net.layers}
    rec_i = {p: [] for p in net.layers}
    v_trace = np.empty((n_steps, n_b * pops[net.layers[-1]].n))

    for k in range(n_steps):
        t = k * dt_s
        spikes = {}
        # groups: integrate (refractory neurons hold v, as in Brian2's "unless refractory")
        for p in layers:
            drive = bias[p] + sum((I for d, I in in_current[p] if d <= k), 0.0)
            if lif:
                target = theta * drive * tau
                new = (v[p] - target) * decay + target
            else:
                new = v[p] + dt_s * theta * drive
            if pops[p].noise_sigma > 0:
                new = new + (pops[p].noise_sigma * theta * np.sqrt(dt_s / float(net.tau_noise))
                             * rng.standard_normal(new.shape))
            if ref_steps:  # Brian2: refractory while fewer than t_ref/dt steps since the spike
                not_ref[p] = (k - last[p]) >= ref_steps
                new = np.where(not_ref[p], new, v[p])
            v[p] = new
        # thresholds
        if spikes_in is not None:
            spikes["in"] = spikes_in[k]
        for p in layers:
            s = (v[p] >= v_th[p]) & pops[p].alive[None, :] & not_ref[p]
            if ref_steps:  # Brian2 also drops synaptic input while refractory, spike step included
                last[p][s] = k
                not_ref[p] = not_ref[p] & ~s
            spikes[p] = s
        # synapses: deliver now or after the delay
        for cname, c in net.connections.items():
            if c.pre not in spikes:
                continue
            s = spikes[c.pre]
            ms, i, j, w, steps = mats[cname]
            if c.post in net.maxpool:
                _maxpool_gate(s, count[c.pre], wmax[c.post], v[c.post], i, j, w, theta,
                              not_ref[c.post] if ref_steps else None)
                continue
            sf = s.astype(np.float64)
            for d, m in ms:
                charge = np.asarray((m.T @ sf.T).T) * theta
                if ref_steps and d == 0:
                    charge = charge * not_ref[c.post]
                if d == 0:
                    v[c.post] += charge
                else:
                    key = (k + d, c.post)
                    pending[key] = pending.get(key, 0) + charge
        for p in layers:
            if (k, p) in pending:
                v[p] += pending.pop((k, p)) * (not_ref[p] if ref_steps else 1.0)
        # resets by subtraction
        for p in spikes:
            s = spikes[p]
            count[p] += s
            if p != "in":
                v[p] -= np.where(s, v_th[p], 0.0)
            b, n = np.nonzero(s)
            rec_t[p].append(np.full(len(b), t))
            rec_i[p].append(b * pops[p].n + n)
        v_trace[k] = v[net.layers[-1]].ravel()

    shown = [p for p in net.layers if p != "in" or spikes_in is not None]
    times = {p: np.concatenate(rec_t[p]) if rec_t[p] else np.zeros(0) for p in shown}
    idx = {p: np.concatenate(rec_i[p]).astype(np.int64) if rec_i[p] else np.zeros(0, np.int64) for p in shown}
    sizes = {p: n_b * pops[p].n for p in shown}
    return SpikeRecord(times, idx, sizes, n_steps * dt_s, {f"{net.layers[-1]}.v": v_trace}, dt_s)


def _maxpool_gate(s, count_pre, wmax_post, v_post, i, j, w, theta, open_post=None):
    """The gate of bio.layered: a spike passes iff it raises its window's running maximum count.

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
    v_post += passed * first_w * theta * (1.0 if open_post is None else open_post)
    np.maximum.at(wmax_post, (bb, post), c_new)
