"""Brunel (2000) sparse excitatory-inhibitory network of LIF neurons, as a `NetworkSpec`.

Brunel N (2000) Dynamics of sparsely connected networks of excitatory and
inhibitory spiking neurons. J Comput Neurosci 8:183-208 (model "A").

N_E excitatory and N_I = gamma N_E inhibitory LIF neurons (tau = 20 ms,
theta = 20 mV, V_r = 10 mV, t_ref = 2 ms, rest 0 mV: `NEURON`). Every neuron
receives exactly C_E excitatory and C_I = gamma C_E inhibitory inputs, chosen
at random; a presynaptic spike moves v by J (excitatory) or -g J (inhibitory)
after a delay D. Each neuron also gets C_E external excitatory Poisson inputs
of rate nu_ext = eta nu_thr, where nu_thr = theta / (J C_E tau) is the rate
that brings the mean input to threshold. g (relative inhibition) and eta
(relative drive) select the state (Fig. 8): synchronous regular (A),
asynchronous irregular (C), and synchronous irregular states with fast (B) or
slow (D) population oscillations.

Scaling. The mean input and its variance depend on J C_E and J^2 C_E (Brunel's
eqs. 4-5), so a network keeps the paper's state only if it keeps C_E = 1000
and J = 0.1 mV. A network smaller than the paper's N_E = 10000 therefore keeps
the in-degree and raises the connection probability (epsilon = C_E / N_E).
The older alternative, shrinking C_E with epsilon and raising J to keep J C_E,
grows the input variance as 1/C_E and moves the network to another state (at
N_E = 2000, state C fired at 44.5 Hz with CV 1.23 instead of ~37 Hz, 0.4);
`benchmarks/brunel_scaling.py` measures both against N_E. Denser networks
share more inputs, which the sparse theory (bio/theory.py) neglects; the
benchmark shows what that costs.

Every model comes from the library: the neurons are `bio.neurons.LIF`, the
synapses `bio.synapses.CurrentDelta`, the drive a `bio.inputs.PoissonDrive`;
`bio.run` builds them. Lesions (bio/lesion.py) edit the spec with the
meanings of bio/spec.py. As in Brian2's own version, input that arrives
during the refractory period still moves v.
"""
from __future__ import annotations

import brian2 as b2
import numpy as np
from brian2 import Mohm, mV, ms, second

from . import neurons, synapses
from .inputs import PoissonDrive
from .record import SpikeRecord
from .simulate import run
from .spec import Connection, NetworkSpec, Population, Record, fixed_indegree

# Brunel (2000), Fig. 8: (g, eta) of the four example states.
STATES = {
    "A": (3.0, 2.0),   # synchronous regular (SR): excitation dominates, neurons fire near saturation
    "B": (6.0, 4.0),   # synchronous irregular with a fast global oscillation (SI fast)
    "C": (5.0, 2.0),   # asynchronous irregular (AI)
    "D": (4.5, 0.9),   # synchronous irregular with slow oscillation (SI slow)
}

# Brunel (2000), Sec. 2: neuron parameters (rest at 0 mV). R only turns currents into
# voltages (background noise); recurrent and external inputs are jumps of v.
NEURON = neurons.LIF(tau_m=20 * ms, v_rest=0 * mV, v_thresh=20 * mV, v_reset=10 * mV,
                     t_ref=2 * ms, R=100 * Mohm)
SYNAPSE = synapses.CurrentDelta("rec")
PAPER_C_E = 1000
PAPER_J = 0.1 * mV


def nu_thr(J=PAPER_J, C_E: int = PAPER_C_E, neuron=NEURON):
    """External rate per input that brings the mean free membrane potential to threshold (Hz)."""
    return (neuron.v_thresh - neuron.v_rest) / (J * C_E * neuron.tau_m)


def brunel_spec(g: float = 5.0, eta: float = 2.0, N_E: int = 10000, gamma: float = 0.25,
                C_E: int | None = None, J=PAPER_J, D=1.5 * ms, seed: int = 0,
                record_v: int = 0) -> NetworkSpec:
    """A Brunel (2000) network as a NetworkSpec (no Brian2 objects yet).

    g, eta:  relative inhibition and external drive (`STATES` has Fig. 8's A-D).
    N_E:     excitatory neurons; N_I = round(gamma N_E) inhibitory.
    C_E:     excitatory in-degree (default: the paper's 1000, or N_E if smaller);
             C_I = round(gamma C_E). Also the number of external Poisson inputs.
    J:       excitatory PSP (volt); inhibitory PSPs are -g J. D: delay (time).
    seed:    seeds connectivity and initial potentials (uniform in [rest, threshold)).
    record_v: neurons per population whose v is recorded (traces "exc.v", "inh.v").
    meta holds g, eta, J, C_E, nu_ext and nu_thr (the latter two in Hz).
    """
    for what, value in (("g", g), ("eta", eta), ("gamma", gamma)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{what} must be a finite number >= 0, got {value}")
    if int(N_E) != N_E or N_E < 1:
        raise ValueError(f"N_E must be a whole number >= 1, got {N_E}")
    if not isinstance(J, b2.Quantity) or not b2.have_same_dimensions(J, mV):
        raise ValueError(f"J must be a voltage (e.g. 0.1*mV), got {J!r}")
    if not isinstance(D, b2.Quantity) or not b2.have_same_dimensions(D, ms) or float(D / ms) < 0:
        raise ValueError(f"D must be a time >= 0 (e.g. 1.5*ms), got {D!r}")
    N_E = int(N_E)
    N_I = int(round(gamma * N_E))
    C_E = min(PAPER_C_E, N_E) if C_E is None else int(C_E)
    C_I = int(round(gamma * C_E))
    if not 1 <= C_E <= N_E or C_I > N_I:
        raise ValueError(f"in-degrees C_E = {C_E}, C_I = {C_I} need 1 <= C_E <= N_E = {N_E} "
                         f"and C_I <= N_I = {N_I}")
    rng = np.random.default_rng(seed)
    cell = NEURON
    pops = {name: Population(cell, n, init={"v": rng.uniform(float(cell.v_rest), float(cell.v_thresh), n)})
            for name, n in (("exc", N_E), ("inh", N_I))}
    conns = {}
    for pre, n_pre, k, w, kind in (("exc", N_E, C_E, float(J), "exc"), ("inh", N_I, C_I, float(g * J), "inh")):
        for post, n_post in (("exc", N_E), ("inh", N_I)):
            i, j = fixed_indegree(n_pre, n_post, k, rng)
            conns[f"{pre}_{post}"] = Connection(pre, post, SYNAPSE, i, j, np.full(len(i), w), kind=kind,
                                                delay_s=np.full(len(i), float(D / second)))
    rate_ext = eta * nu_thr(J, C_E, cell)
    drives = [PoissonDrive(name, C_E, rate_ext, J, SYNAPSE) for name in ("exc", "inh")]
    traces = {f"{name}.v": np.arange(min(record_v, pops[name].n)) for name in pops} if record_v else {}
    meta = dict(g=g, eta=eta, J=J, C_E=C_E, nu_ext_hz=float(rate_ext / b2.Hz),
                nu_thr_hz=float(nu_thr(J, C_E, cell) / b2.Hz))
    return NetworkSpec(pops, conns, drives, Record(traces=traces), meta=meta).check()


def simulate(spec: NetworkSpec, duration=1 * second, target: str = "numpy", seed: int = 0,
             dt=0.1 * ms) -> SpikeRecord:
    """Run a (possibly lesioned) Brunel spec; returns a SpikeRecord with "exc" and "inh".

    seed: the Poisson input (connectivity and initial potentials are in the spec).
    """
    return run(spec, duration, target=target, seed=seed, dt=dt)


def brunel(g: float = 5.0, eta: float = 2.0, duration=1 * second, N_E: int = 10000, gamma: float = 0.25,
           C_E: int | None = None, J=PAPER_J, D=1.5 * ms, target: str = "numpy", seed: int = 0,
           record_v: int = 0, dt=0.1 * ms) -> SpikeRecord:
    """Simulate a Brunel (2000) network; returns a SpikeRecord with populations "exc" and "inh".

    Arguments as in `brunel_spec` (the paper's values are the defaults); duration:
    simulated time; target: "numpy", "cython" or "cpp_standalone"; seed: connectivity,
    initial potentials and Poisson input. record_v: neurons per population whose v is
    recorded ("exc.v", "inh.v": (n_steps, record_v) volt).
    """
    spec = brunel_spec(g=g, eta=eta, N_E=N_E, gamma=gamma, C_E=C_E, J=J, D=D, seed=seed, record_v=record_v)
    return simulate(spec, duration, target=target, seed=seed, dt=dt)
