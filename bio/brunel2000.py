"""Brunel (2000) sparse excitatory-inhibitory network of LIF neurons.

Brunel N (2000) Dynamics of sparsely connected networks of excitatory and
inhibitory spiking neurons. J Comput Neurosci 8:183-208 (model "A").

N_E excitatory and N_I = gamma N_E inhibitory LIF neurons (tau = 20 ms,
theta = 20 mV, V_r = 10 mV, t_ref = 2 ms, rest 0 mV). Every neuron receives
exactly C_E = epsilon N_E excitatory and C_I = epsilon N_I inhibitory inputs,
chosen at random; a presynaptic spike moves v by J (excitatory) or -g J
(inhibitory) after a delay D. Each neuron also gets C_E external excitatory
Poisson inputs of rate nu_ext = eta nu_thr, where nu_thr = theta / (J C_E tau)
is the rate that brings the mean input to threshold. g (relative inhibition)
and eta (relative drive) select the state (Fig. 8): synchronous regular (A),
asynchronous irregular (C), and synchronous irregular states with fast (B)
or slow (D) population oscillations.

Scaling. A network smaller than the paper's N_E = 10000 keeps epsilon, so C_E
shrinks with N_E; with `J=None` the synaptic strength becomes
J = 0.1 mV * 1000 / C_E, which keeps J C_E (the mean recurrent input per unit
rate, and nu_thr) at the paper's values. The input fluctuations grow as
1/sqrt(C_E), so small networks are noisier versions of the same phase diagram.

The network is a `NetworkSpec` (`brunel_spec`) so that `bio.lesion` can edit it:
dead neurons never spike (their threshold is out of reach) and lose their
synapses, thresh_shift moves theta by a fraction of theta - V_r, noise_sigma
adds an Ornstein-Uhlenbeck current (1 ms correlation time) that gives a free
membrane a voltage std of noise_sigma (theta - V_r), delay_s and transmits are
honoured per synapse. External Poisson input reaches dead neurons too, but
they never fire. As in Brian2's own version, input that arrives during the
refractory period still moves v.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import brian2 as b2
import numpy as np
from brian2 import Mohm, Quantity, mV, ms, second

from . import neurons, synapses
from .record import SpikeRecord
from .simulate import Built, run
from .spec import Connection, NetworkSpec, Population

# Brunel (2000), Fig. 8: (g, eta) of the four example states.
STATES = {
    "A": (3.0, 2.0),   # synchronous regular (SR): excitation dominates, neurons fire near saturation
    "B": (6.0, 4.0),   # synchronous irregular with a fast global oscillation (SI fast)
    "C": (5.0, 2.0),   # asynchronous irregular (AI)
    "D": (4.5, 0.9),   # synchronous irregular with slow oscillation (SI slow)
}

# Brunel (2000), Sec. 2: neuron parameters (rest at 0 mV).
NEURON = neurons.LIF(tau_m=20 * ms, v_rest=0 * mV, v_thresh=20 * mV, v_reset=10 * mV,
                     t_ref=2 * ms, R=100 * Mohm)  # R only scales the noise current; inputs are jumps in v
PAPER_JC = 0.1 * mV * 1000  # J * C_E in the paper (N_E = 10000, epsilon = 0.1)


def _q(value):
    return field(default_factory=lambda: value)


@dataclass
class BrunelSpec(NetworkSpec):
    """Populations "exc" and "inh" and connections "<pre>_<post>" of a Brunel network.

    Connection weights are magnitudes in volt: J for "exc" connections, g J for
    "inh" connections (the kind gives the sign).
    J:   excitatory PSP size (volt).   C_E: excitatory in-degree (also the number
    eta: external drive / nu_thr.            of external Poisson inputs).
    """

    J: Quantity = _q(0.1 * mV)
    g: float = 5.0
    eta: float = 2.0
    C_E: int = 1000
    neuron: neurons.LIF = field(default_factory=lambda: NEURON)

    @property
    def nu_thr(self) -> Quantity:
        """External rate per input that brings the mean free membrane potential to threshold."""
        return self.neuron.v_thresh / (self.J * self.C_E * self.neuron.tau_m)

    @property
    def nu_ext(self) -> Quantity:
        return self.eta * self.nu_thr


def _fixed_indegree(n_pre: int, n_post: int, k: int, rng: np.random.Generator):
    """k distinct random presynaptic partners for each postsynaptic neuron. Returns (i, j) (n_post*k,)."""
    if k > n_pre:
        raise ValueError(f"in-degree {k} exceeds the {n_pre} available presynaptic neurons")
    i = np.concatenate([rng.choice(n_pre, k, replace=False) for _ in range(n_post)]) if k else np.zeros(0, int)
    j = np.repeat(np.arange(n_post), k)
    return i.astype(np.int64), j


def brunel_spec(g: float = 5.0, eta: float = 2.0, N_E: int = 10000, gamma: float = 0.25,
                epsilon: float = 0.1, J=None, D=1.5 * ms, seed: int = 0) -> BrunelSpec:
    """Build the connectivity of a Brunel (2000) network (no Brian2 objects yet).

    N_E: excitatory neurons; N_I = round(gamma N_E) inhibitory.
    epsilon: connection probability; in-degrees C_E = round(epsilon N_E), C_I = round(epsilon N_I).
    J: excitatory PSP (volt); None scales it to keep J C_E at the paper's 100 mV (module docstring).
    D: transmission delay (time). seed: seeds the connectivity.
    """
    if g < 0 or eta < 0:
        raise ValueError(f"g and eta must be non-negative, got g={g}, eta={eta}")
    if not 0 < epsilon <= 1:
        raise ValueError(f"epsilon is a connection probability in (0, 1], got {epsilon}")
    N_I = int(round(gamma * N_E))
    C_E, C_I = int(round(epsilon * N_E)), int(round(epsilon * N_I))
    if C_E < 1:
        raise ValueError(f"N_E = {N_E} with epsilon = {epsilon} leaves no excitatory inputs; use a larger network")
    J = PAPER_JC / C_E if J is None else J
    if not b2.have_same_dimensions(J, mV):
        raise ValueError(f"J must be a voltage (e.g. 0.1*mV), got {J!r}")
    rng = np.random.default_rng(seed)
    pops = {"exc": Population(N_E), "inh": Population(N_I)}
    conns = {}
    for pre, n_pre, k, w, kind in (("exc", N_E, C_E, float(J), "exc"), ("inh", N_I, C_I, float(g * J), "inh")):
        for post, n_post in (("exc", N_E), ("inh", N_I)):
            i, j = _fixed_indegree(n_pre, n_post, k, rng)
            conns[f"{pre}_{post}"] = Connection(pre, post, i, j, np.full(len(i), w), kind=kind,
                                                delay_s=np.full(len(i), float(D)))
    spec = BrunelSpec(pops, conns, J=J, g=g, eta=eta, C_E=C_E)
    spec.check()
    return spec


@dataclass(frozen=True)
class _Noise:
    """Background Ornstein-Uhlenbeck current, added to a neuron like a synapse model."""

    sigma: Quantity   # stationary std of the current (amp)
    tau: Quantity = _q(1 * ms)

    label = "noise"

    def post_equations(self) -> str:
        return "dI_noise/dt = -I_noise/tau_noise + sigma_noise*sqrt(2/tau_noise)*xi : amp"

    def current_term(self) -> str:
        return "I_noise"

    def namespace(self) -> dict:
        return {"tau_noise": self.tau, "sigma_noise": self.sigma}


def build(spec: BrunelSpec, record_v: int = 0):
    """Return a no-argument builder of the Brian2 network for `bio.run`.

    record_v: number of neurons per population whose v is recorded ("exc.v", "inh.v").
    """
    cell = spec.neuron
    spread = cell.v_thresh - cell.v_reset

    def _build() -> Built:
        delta = synapses.CurrentDelta("rec")
        groups, objects = {}, []
        for name, pop in spec.populations.items():
            syn_models = [delta]
            if pop.noise_sigma > 0:
                # free-membrane voltage std of an OU current: R sigma sqrt(tau_n / (tau_m + tau_n))
                tau_n = 1 * ms
                sigma = pop.noise_sigma * spread / cell.R * np.sqrt((cell.tau_m + tau_n) / tau_n)
                syn_models.append(_Noise(sigma, tau_n))
            grp = cell.group(pop.n, synapses=syn_models, name=f"brunel_{name}",
                             method="euler" if pop.noise_sigma > 0 else None)
            v_th = cell.v_thresh + pop.thresh_shift * spread
            grp.v_th = np.where(pop.alive, np.asarray(v_th), 1e9) * b2.volt  # dead: never reached
            # start spread below threshold so the network does not begin in lockstep
            grp.v = np.random.uniform(float(cell.v_rest), float(cell.v_thresh), pop.n) * b2.volt
            ext = b2.PoissonInput(grp, "v", N=spec.C_E, rate=spec.nu_ext, weight=spec.J)
            groups[name] = grp
            objects += [grp, ext]
        for cname, c in spec.connections.items():
            keep = c.active(spec.populations)
            sign = -1.0 if c.kind == "inh" else 1.0
            objects.append(delta.connect(groups[c.pre], groups[c.post], c.i[keep], c.j[keep],
                                         sign * c.w[keep] * b2.volt, delay=c.delay_s[keep] * second,
                                         name=f"brunel_{cname}"))
        spikes = {name: b2.SpikeMonitor(grp, name=f"brunel_{name}_spikes") for name, grp in groups.items()}
        traces = {}
        if record_v:
            for name, grp in groups.items():
                mon = b2.StateMonitor(grp, "v", record=np.arange(min(record_v, len(grp))),
                                      name=f"brunel_{name}_v")
                traces[f"{name}.v"] = (mon, "v")
        monitors = list(spikes.values()) + [m for m, _ in traces.values()]
        return Built(b2.Network(*objects, *monitors), spikes, traces)

    return _build


def simulate(spec: BrunelSpec, duration=1 * second, target: str = "numpy", seed: int = 0,
             record_v: bool | int = False, dt=0.1 * ms) -> SpikeRecord:
    """Run a (possibly lesioned) BrunelSpec; returns a SpikeRecord with "exc" and "inh".

    seed: initial potentials and Poisson input (the connectivity is in the spec).
    record_v: False, True (10 neurons per population) or a number of neurons;
              traces "exc.v" and "inh.v" are (n_samples, n_recorded) in volt.
    """
    n_rec = 10 if record_v is True else int(record_v)
    return run(build(spec, n_rec), duration, target=target, seed=seed, dt=dt)


def brunel(g: float = 5.0, eta: float = 2.0, duration=1 * second, N_E: int = 10000, gamma: float = 0.25,
           epsilon: float = 0.1, J=None, D=1.5 * ms, target: str = "numpy", seed: int = 0,
           record_v: bool | int = False, dt=0.1 * ms) -> SpikeRecord:
    """Simulate a Brunel (2000) network; returns a SpikeRecord with populations "exc" and "inh".

    g, eta:  relative inhibition and external drive (see `STATES` for Fig. 8's A-D).
    duration: simulated time. N_E, gamma, epsilon, J, D: see `brunel_spec`
             (J=None scales J with C_E; the paper's values are the defaults).
    target:  "numpy", "cython" or "cpp_standalone". seed: connectivity, initial
             potentials and Poisson input.
    record_v: False, True (10 neurons per population) or a number of neurons.
    """
    spec = brunel_spec(g=g, eta=eta, N_E=N_E, gamma=gamma, epsilon=epsilon, J=J, D=D, seed=seed)
    return simulate(spec, duration, target=target, seed=seed, record_v=record_v, dt=dt)
