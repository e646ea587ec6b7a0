"""A layered feed-forward spiking network: what a converted ANN runs as.

Populations "in", "h1", ..., "out" (in `Layered.layers` order) joined by
`signed` connections whose weights are in units of the firing threshold
(w = 0.5 moves the membrane half way from reset to threshold). Every spiking
population is one of two documented neuron models, with the membrane potential
measured from rest (v_reset = v_rest = 0):

- "if"  — ideal (non-leaky) integrate-and-fire:
          dv/dt = v_thresh * (b + I_in)
- "lif" — leaky integrate-and-fire with refractory period t_ref:
          dv/dt = -v / tau_m + v_thresh * (b + I_in)        (unless refractory)

While refractory — from the spike's own step until t_ref has passed — a LIF
neuron neither integrates nor takes synaptic input (Brian2's `unless
refractory` also gates synaptic writes to v).

`b` (Hz) is the population's bias (`bias_hz`): on its own it makes the neuron
fire b times per second. A spike when v >= v_th (v_th = v_thresh * (1 +
thresh_shift)) is followed by reset by subtraction, v -= v_th, which keeps the
surplus charge and makes the IF rate proportional to the input (Rueckauer et
al. 2017, Front. Neurosci. 11:682, sec. 2.2). An incoming spike moves v by
w * v_thresh.

The input population "in" has no membrane. With `input="current"` input values
x in [0, 1] drive the populations it projects to as a constant current
I_in = sum_i w_i * x_i * rate_hz (Rueckauer et al. 2017: analog input to the
first layer); with `input="poisson"` the inputs are spike trains (drawn here
with rate x * rate_hz, or given as a (T, B, n_in) bool array).

Max pooling (populations listed in `maxpool`): a spike of an input neuron
passes the gate only if it raises the running maximum of the spike counts in
its pooling window, so the pooled neuron's spike count always equals the
largest spike count in its window — the gating idea of Rueckauer et al. (2017,
sec. 2.2.6: pass the spikes of the window's most active neuron), with one spike
counter per neuron and one running maximum per pooled neuron. Pooled neurons
are IF relays (weight 1: each passed spike makes them fire on the next step).

Lesion fields (bio/spec.py) are honoured: dead neurons never spike and lose
their synapses (a dead input stops driving), thresh_shift scales single
thresholds, noise_sigma adds white noise of std noise_sigma * v_thresh *
sqrt(dt / tau_noise) per step (so at dt = tau_noise = 1 ms, noise_sigma of the
threshold per step), delay_s delays single synapses (for current input the
current of a delayed synapse switches on after its delay), transmits=False
removes a synapse. The source population "in" has no threshold, so its
thresh_shift and noise_sigma do nothing.

`run(inputs, duration)` simulates B copies of the network, one per sample, in
one Brian2 run: in the SpikeRecord, neuron k of copy b of a population of n is
index b * n + k (bio.spec.replicate), and the trace "out.v" holds the output
layer's membrane potential (volt) at the end of every step, shape (T, B * n_out),
for a membrane-potential tie-break between equal spike counts.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

import brian2 as b2
import numpy as np
from brian2 import Quantity, mV, ms

from .simulate import Built, run as _run
from .spec import NetworkSpec, replicate

__all__ = ["Layered", "NEURONS", "INPUTS", "poisson_spikes"]

NEURONS = ("if", "lif")
INPUTS = ("current", "poisson")


def _q(value):
    # A Brian2 Quantity is an ndarray, so dataclasses reject it as a plain default.
    return field(default_factory=lambda: value)


def _name(*parts: str) -> str:
    # Fixed object names: Brian2's generated code contains them, so automatic names
    # (neurongroup_17, ...) would defeat the cython cache and recompile on every run.
    return "layered_" + "_".join(re.sub(r"\W", "_", p) for p in parts)


def poisson_spikes(values: np.ndarray, rate_hz: float, n_steps: int, dt_s: float, seed=None) -> np.ndarray:
    """Bernoulli approximation of Poisson trains: P(spike in a step) = value * rate_hz * dt_s.

    values: (B, N) in [0, 1]. Returns bool (n_steps, B, N). bridge.coding.poisson
    draws with the same formula, so the same seed gives the same spikes.
    """
    p = np.clip(np.asarray(values, dtype=np.float64) * rate_hz * dt_s, 0.0, 1.0)
    rng = np.random.default_rng(seed)
    return rng.random((n_steps,) + p.shape) < p[None]  # (T, B, N)


@dataclass
class Layered(NetworkSpec):
    """A feed-forward network of IF/LIF populations (see the module docstring).

    layers:    population names from input to output, e.g. ("in", "h1", "out").
    bias_hz:   {population: (n,) float} bias of each neuron in Hz (0 where missing).
    neuron:    "if" or "lif".
    input:     "current" or "poisson".
    rate_hz:   rate that an input (or activation) of 1 stands for; a current
               input x drives w * x * rate_hz threshold crossings per second.
    maxpool:   populations whose incoming connection is a max-pooling gate.
    shapes:    {population: (C, H, W) or (n,)} layout of the neurons (index c*H*W + h*W + w),
               used by spatial lesions (bio.lesion, mode="patch"); optional.
    v_thresh:  threshold distance above reset (volt).
    tau_m, t_ref: membrane time constant and refractory period ("lif" only).
    tau_noise: time scale of the noise_sigma convention (see module docstring).
    """

    layers: tuple = ()
    bias_hz: dict = field(default_factory=dict)
    neuron: str = "if"
    input: str = "current"
    rate_hz: float = 1000.0
    maxpool: tuple = ()
    shapes: dict = field(default_factory=dict)
    v_thresh: Quantity = _q(1 * mV)
    tau_m: Quantity = _q(20 * ms)
    t_ref: Quantity = _q(0 * ms)
    tau_noise: Quantity = _q(1 * ms)

    def __post_init__(self):
        if self.neuron not in NEURONS:
            raise ValueError(f"unknown neuron {self.neuron!r}; choose one of: {', '.join(NEURONS)}")
        if self.input not in INPUTS:
            raise ValueError(f"unknown input {self.input!r}; choose one of: {', '.join(INPUTS)}")
        self.layers = tuple(self.layers)
        if len(self.layers) < 2 or self.layers[0] != "in":
            raise ValueError(f"layers must start with 'in' and hold at least two populations, got {self.layers}")
        missing = [p for p in self.layers if p not in self.populations]
        if missing:
            raise ValueError(f"layers {missing} have no Population; populations: {', '.join(self.populations)}")
        self.check()

    @property
    def n_in(self) -> int:
        return self.populations["in"].n

    @property
    def n_out(self) -> int:
        return self.populations[self.layers[-1]].n

    def bias(self, pop: str) -> np.ndarray:
        """(n,) bias in Hz of population `pop` (zeros when none is set)."""
        b = self.bias_hz.get(pop)
        return np.zeros(self.populations[pop].n) if b is None else np.asarray(b, dtype=float)

    def run(self, inputs: np.ndarray, duration, dt=1 * ms, target: str = "numpy", seed=None):
        """Simulate one copy of the network per sample, all in one Brian2 run.

        inputs:   (B, n_in) values in [0, 1]; with input="poisson" also a bool
                  (T, B, n_in) array of input spikes (T = duration / dt steps).
        duration, dt: Brian2 times. target: Brian2 code-generation target.
        seed:     seeds the Poisson draws and Brian2's noise.
        Returns a SpikeRecord: populations are the layer names (the input
        population only with Poisson input), index = copy * n + k, and the
        trace "out.v" (T, B * n_out) in volt (see the module docstring).
        """
        n_steps = int(round(float(duration / dt)))
        inputs = np.asarray(inputs)
        if inputs.ndim == 3:
            if self.input != "poisson" or inputs.shape[0] != n_steps or inputs.shape[2] != self.n_in:
                raise ValueError(f"input spikes must be bool (T={n_steps}, B, {self.n_in}) with "
                                 f"input='poisson', got shape {inputs.shape} with input={self.input!r}")
            spikes = inputs.astype(bool)
        elif inputs.ndim == 2 and inputs.shape[1] == self.n_in:
            spikes = None
            if self.input == "poisson":
                spikes = poisson_spikes(inputs, self.rate_hz, n_steps, float(dt / b2.second), seed)
        else:
            raise ValueError(f"inputs must be (batch, {self.n_in}) values or (T, batch, {self.n_in}) "
                             f"spikes, got shape {inputs.shape}")
        n_copies = spikes.shape[1] if spikes is not None else inputs.shape[0]
        values = None if spikes is not None else inputs.astype(np.float64)
        return _run(lambda: self._build(n_copies, values, spikes, dt), duration, target=target,
                    seed=seed, dt=dt)

    # --- Brian2 objects -------------------------------------------------------------

    def _equations(self, noisy: bool) -> str:
        drive = "v_thresh * (b + I_in)"
        if noisy:
            drive += " + sigma * v_thresh * xi * tau_noise**-0.5"
        if self.neuron == "lif":
            eq = f"dv/dt = -v / tau_m + {drive} : volt"
            eq += " (unless refractory)" if self.t_ref > 0 * ms else ""
        else:
            eq = f"dv/dt = {drive} : volt"
        return "\n".join([eq, "v_th : volt (constant)", "alive : boolean (constant)",
                          "b : Hz (constant)", "I_in : Hz", "sigma : 1 (constant)",
                          "count : 1", "wmax : 1"])

    def _build(self, n_copies: int, values, spikes, dt) -> Built:
        ns = {"v_thresh": self.v_thresh, "tau_m": self.tau_m, "tau_noise": self.tau_noise,
              "rate_hz": self.rate_hz * b2.Hz}
        groups, monitors, objects = {}, {}, []
        in_pop = self.populations["in"]
        if spikes is not None:  # (T, B, n_in) -> flat generator indices copy*n + k
            t_idx, b_idx, k_idx = np.nonzero(spikes & in_pop.alive[None, None, :])
            src = b2.SpikeGeneratorGroup(n_copies * in_pop.n, b_idx * in_pop.n + k_idx, t_idx * dt,
                                         sorted=False, name=_name("in"))
            monitors["in"] = b2.SpikeMonitor(src, name=_name("in", "spikes"))
            objects.append(monitors["in"])
        else:
            src = b2.NeuronGroup(n_copies * in_pop.n, "x : 1 (constant)", namespace=ns, name=_name("in"))
            src.x = values.ravel()  # (B, n_in) -> copy-major
        groups["in"], objects = src, objects + [src]

        feeds_pool = {c.pre for c in self.connections.values() if c.post in self.maxpool}
        for name in self.layers[1:]:
            pop = self.populations[name]
            noisy = pop.noise_sigma > 0
            # forward Euler is exact for the IF's input-only derivative (and Brian2's
            # "exact" solver rejects it); the LIF is integrated exactly unless noisy
            method = "exact" if self.neuron == "lif" and not noisy else "euler"
            kw = {"refractory": self.t_ref} if self.neuron == "lif" and self.t_ref > 0 * ms else {}
            g = b2.NeuronGroup(n_copies * pop.n, self._equations(noisy), threshold="alive and v >= v_th",
                               reset="v -= v_th" + ("\ncount += 1" if name in feeds_pool else ""),
                               method=method, namespace=ns, name=_name(name), **kw)
            g.v_th = np.tile(self.v_thresh * (1 + pop.thresh_shift), n_copies)
            g.alive = np.tile(pop.alive, n_copies)
            g.b = np.tile(self.bias(name), n_copies) * b2.Hz
            g.sigma = pop.noise_sigma
            groups[name] = g
            monitors[name] = b2.SpikeMonitor(g, name=_name(name, "spikes"))
            objects += [g, monitors[name]]

        for cname, c in self.connections.items():
            keep = c.active(self.populations)
            if not keep.any():  # every synapse lesioned away: nothing to build
                continue
            i, j = replicate(c.i[keep], c.j[keep], self.populations[c.pre].n,
                             self.populations[c.post].n, n_copies)
            w = np.tile(c.w[keep], n_copies)
            d = np.tile(c.delay_s[keep], n_copies)
            pre, post = groups[c.pre], groups[c.post]
            if c.pre == "in" and spikes is None:
                # constant current; a delayed synapse switches on after its delay
                syn = b2.Synapses(pre, post, "w : 1 (constant)\nd : second (constant)\n"
                                  "I_in_post = w * x_pre * rate_hz * int(t >= d) : Hz (summed)",
                                  namespace=ns, name=_name(cname))
                syn.connect(i=i, j=j)
                syn.w, syn.d = w, d * b2.second
            else:
                if c.post in self.maxpool:  # pass a spike only if it raises the window maximum
                    on_pre = ("v_post += w * v_thresh * int(count_pre + 1 > wmax_post)\n"
                              "wmax_post = clip(count_pre + 1, wmax_post, count_pre + wmax_post + 1)")
                else:
                    on_pre = "v_post += w * v_thresh"
                syn = b2.Synapses(pre, post, "w : 1 (constant)", on_pre=on_pre, namespace=ns,
                                  name=_name(cname))
                syn.connect(i=i, j=j)
                syn.w = w
                if len(d) and np.any(d > 0):
                    syn.delay = d * b2.second
            objects.append(syn)

        out = self.layers[-1]
        vmon = b2.StateMonitor(groups[out], "v", record=True, when="end", name=_name(out, "v"))
        objects.append(vmon)
        sizes = {name: n_copies * self.populations[name].n for name in monitors}
        return Built(b2.Network(*objects), spikes=monitors, traces={f"{out}.v": (vmon, "v")},
                     n_neurons=sizes)
