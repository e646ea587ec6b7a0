"""The Diehl & Cook (2015) unsupervised STDP network as a `NetworkSpec`.

Diehl PU, Cook M (2015) Unsupervised learning of digit recognition using
spike-timing-dependent plasticity. Front. Comput. Neurosci. 9:99.

    spec = diehl_cook_spec(n_exc=400)                  # plain data, no Brian2 objects
    trained = bio.stdp.train(spec, x_train, epochs=3, target="cython")   # bio/stdp.py

The network (paper Fig. 1), every part a library model:
- "in":  one Poisson source per pixel, rate = intensity * rate_max (`bio.inputs.Rates`);
- "exc": `neurons.AdaptiveLIF`: conductance-based LIF whose threshold v_thresh + theta
         adapts (theta jumps by theta_plus at each spike, decays with tau_theta);
- "inh": `neurons.LIF`, one per excitatory neuron ("exc_inh", one to one), which
         inhibits every *other* excitatory neuron ("inh_exc"): a soft winner-take-all;
- "in_exc": all to all, plastic, `synapses.CondExp("exc")` wrapped by the learning rule
         `params.rule`:
         "pre"   `synapses.PreTraceSTDP`, the paper's Eq. 3:
                 dw = eta_post (x_pre - x_tar) (w_max - w)**mu at each post spike;
         "trace" `synapses.TripletSTDP(pairing="nearest")`, the pre/post trace rule of the
                 paper's published code: a post spike adds nu_post * x_pre * x_post2, a pre
                 spike subtracts nu_pre * x_post1 (A2_plus = 0, A3_plus = nu_post,
                 A2_minus = nu_pre; traces 20, 20 and 40 ms, set to 1 at each spike);
         and `synapses.Normalize`: before every sample each excitatory neuron's incoming
         weights are rescaled to sum to w_total (paper Sec. 2.4). Input delays are uniform
         in [0, max_delay] (the paper: [0, 10] ms).

Units. The paper writes conductances as multiples of the leak conductance:
tau dv/dt = (E_rest - v) + g_e (E_exc - v) + g_i (E_inh - v) with g dimensionless. The
library's neurons read tau_m dv/dt = (v_rest - v) + R I_total, and `CondExp` contributes
I = g (E_rev - v) with g in siemens, so a paper weight w is the conductance w / R. All
weights in the spec are siemens; `weights()` gives them back in the paper's units.

Samples are shown one after another for t_present, then the input is silent for t_rest
(`spec.period`, `spec.meta["present"]`); the compiler resets v and the conductances to
rest at every sample onset (the job of the paper's 150 ms rest) and keeps theta.
Weights and theta are the spec's state: `connections["in_exc"].w` and
`populations["exc"].init["theta"]` (volt). `bio.lesion` edits the spec as any other
(the inhibitory layer is kept as a layer so that its neurons can be lesioned).

Changes from the paper, for 64-pixel 8x8 digits (~1.3k training images) instead of
784-pixel MNIST (60k images) -- each one a field of `DiehlCookParams`:
- rate_max 200 Hz (paper 63.75 Hz): 64 pixels give ~12x fewer input spikes than 784;
  a higher rate restores a comparable drive, so a sample needs 150 ms, not 350 ms;
- w_total 10 (paper 78 for 784 inputs; a mean weight 0.16 instead of 0.1);
- theta_plus 0.5 mV and tau_theta 1000 s (paper 0.05 mV, 1e7 ms), eta_post 0.05
  (paper code 0.01): each of n_exc neurons wins ~40x fewer samples per epoch than on
  MNIST, so the homeostasis and the learning must act faster. The defaults of rule,
  eta_post, max_delay, theta_plus and dt are what a staged search chose for 400
  neurons on a validation split of the training data (benchmarks/stdp_digits.py, which
  prints every candidate); it also chose 3 epochs (`bio.stdp.train(epochs=3)`).
  There the "trace" rule stayed below 50% validation accuracy at every learning rate
  tried (0.01-0.2): its potentiation is proportional to the postsynaptic trace left by
  the neuron's previous spike (tau 40 ms), and in this winner-take-all a winning neuron
  fired about one spike per sample (measured: 1.0 on average over 300 training images
  at 100 neurons, against 3.0 with the "pre" rule), so the weights barely moved;
- t_rest 50 ms (paper 150 ms): the onset reset does what the rest did; 50 ms still
  lets the STDP traces (20-40 ms) decay;
- dt 0.5 ms as in the paper: the winner-take-all loop exc -> inh -> exc takes two
  steps, and at 1 ms many near-identical neurons fire inside that window and their
  thresholds run away together (10% validation accuracy at 100 and 400 neurons);
- the paper shows a sample again at a higher rate when the excitatory layer fires
  fewer than 5 spikes. During training this is dropped (training is one long run);
  when responses are read (labelling, testing) such samples are shown again with the
  rates x boost (1.5) up to `max_repeats` times (bio/stdp.py).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
from brian2 import Hz, Mohm, Quantity, mV, ms, second

from . import neurons, synapses
from .inputs import Rates
from .neurons import _check_units
from .spec import Connection, NetworkSpec, Population, Record

__all__ = ["DiehlCookParams", "RULES", "diehl_cook_spec", "params_of", "frozen", "with_samples",
           "check_images", "weights", "theta_mv"]

RULES = ("pre", "trace")


def _q(value):  # a Brian2 Quantity is an ndarray, so dataclasses reject it as a plain default
    return field(default_factory=lambda: value)


@dataclass(frozen=True)
class DiehlCookParams:
    """Parameters of the Diehl & Cook (2015) network: the paper's values unless the
    module docstring lists a change. Conductances and weights are in the paper's
    dimensionless units (multiples of the leak conductance 1/R)."""

    # presentation
    dt: Quantity = _q(0.5 * ms)
    t_present: Quantity = _q(150 * ms)      # paper 350 ms
    t_rest: Quantity = _q(50 * ms)          # paper 150 ms
    rate_max: Quantity = _q(200 * Hz)       # rate at intensity 1 (paper 63.75 Hz)
    min_spikes: int = 5                     # fewer exc spikes than this -> shown again ...
    boost: float = 1.5                      # ... with rates x boost (paper +32 Hz)
    max_repeats: int = 1
    # excitatory neurons (paper Sec. 2.1)
    v_rest_e: Quantity = _q(-65 * mV)
    v_reset_e: Quantity = _q(-65 * mV)
    v_thresh_e: Quantity = _q(-52 * mV)
    tau_e: Quantity = _q(100 * ms)
    t_ref_e: Quantity = _q(5 * ms)
    theta_plus: Quantity = _q(0.5 * mV)     # paper 0.05 mV
    tau_theta: Quantity = _q(1000 * second)  # paper 1e7 ms
    # inhibitory neurons
    v_rest_i: Quantity = _q(-60 * mV)
    v_reset_i: Quantity = _q(-45 * mV)
    v_thresh_i: Quantity = _q(-40 * mV)
    tau_i: Quantity = _q(10 * ms)
    t_ref_i: Quantity = _q(2 * ms)
    # synapses
    R: Quantity = _q(100 * Mohm)            # turns the paper's conductances into siemens
    E_exc: Quantity = _q(0 * mV)
    E_inh_e: Quantity = _q(-100 * mV)       # inhibition onto excitatory neurons
    tau_ge: Quantity = _q(1 * ms)
    tau_gi: Quantity = _q(2 * ms)
    w_exc_inh: float = 10.4
    w_inh_exc: float = 17.0
    # plasticity of in_exc
    rule: str = "pre"                       # "pre" (Eq. 3) or "trace" (the paper's code)
    max_delay: Quantity = _q(0 * ms)        # input delays uniform in [0, max_delay] (paper 10 ms)
    w_init_max: float = 0.3                 # initial weights uniform in [0, w_init_max]
    w_max: float = 1.0
    w_total: float = 10.0                   # incoming weight sum per exc neuron (paper 78)
    eta_post: float = 0.05                  # "pre" rule (paper code 0.01)
    x_tar: float = 0.4
    mu: float = 0.2
    tau_pre: Quantity = _q(20 * ms)
    nu_pre: float = 1e-4                    # "trace" rule, the paper's code
    nu_post: float = 1e-2
    tau_post1: Quantity = _q(20 * ms)
    tau_post2: Quantity = _q(40 * ms)

    def __post_init__(self):
        if self.rule not in RULES:
            raise ValueError(f"unknown learning rule {self.rule!r}; choose one of: {', '.join(RULES)}")
        _check_units(self)  # every quantity in its default's unit, finite
        if not self.t_present > 0 * ms or self.t_rest < 0 * ms or not self.dt > 0 * ms:
            raise ValueError(f"t_present and dt must be > 0 and t_rest >= 0, got {self.t_present}, "
                             f"{self.dt}, {self.t_rest}")
        if self.max_delay < 0 * ms:
            raise ValueError(f"max_delay must be >= 0 ms, got {self.max_delay}")
        if not (0 < self.w_init_max and 0 < self.w_max and 0 < self.w_total):
            raise ValueError("w_init_max, w_max and w_total must be > 0")
        if self.min_spikes < 0 or self.max_repeats < 0 or not self.boost > 0:
            raise ValueError(f"min_spikes and max_repeats must be >= 0 and boost > 0, got "
                             f"{self.min_spikes}, {self.max_repeats}, {self.boost}")

    @property
    def period(self) -> Quantity:
        return self.t_present + self.t_rest


def _exc_model(p: DiehlCookParams, plastic: bool) -> neurons.AdaptiveLIF:
    # plasticity off (the paper's test phase): theta neither grows nor decays
    return neurons.AdaptiveLIF(tau_m=p.tau_e, v_rest=p.v_rest_e, v_thresh=p.v_thresh_e,
                               v_reset=p.v_reset_e, t_ref=p.t_ref_e, R=p.R,
                               theta_plus=p.theta_plus if plastic else 0 * mV,
                               tau_theta=p.tau_theta if plastic else 1e12 * second)


def _inh_model(p: DiehlCookParams) -> neurons.LIF:
    return neurons.LIF(tau_m=p.tau_i, v_rest=p.v_rest_i, v_thresh=p.v_thresh_i, v_reset=p.v_reset_i,
                       t_ref=p.t_ref_i, R=p.R)


def _input_synapse(p: DiehlCookParams, plastic: bool):
    base = synapses.CondExp("exc", tau=p.tau_ge, E_rev=p.E_exc)
    if not plastic:
        return base
    w_max = p.w_max / p.R
    if p.rule == "pre":
        return synapses.PreTraceSTDP(base, w_max=w_max, eta_post=p.eta_post, x_tar=p.x_tar, mu=p.mu,
                                     tau_pre=p.tau_pre)
    # the paper's code: pre = 1 at a pre spike, post1 = post2 = 1 at a post spike;
    # a post spike adds nu_post * pre * post2 (read before its own jump), a pre spike
    # subtracts nu_pre * post1
    return synapses.TripletSTDP(base, w_max=w_max, A2_plus=0.0, A3_plus=p.nu_post, A2_minus=p.nu_pre,
                                A3_minus=0.0, tau_plus=p.tau_pre, tau_minus=p.tau_post1,
                                tau_y=p.tau_post2, pairing="nearest")


def _all_but_self(n: int):
    """(i, j) of every pair i != j among n neurons, i-major."""
    i, j = np.divmod(np.arange(n * n, dtype=np.int64), n)
    keep = i != j
    return i[keep], j[keep]


def diehl_cook_spec(n_exc: int = 100, n_input: int = 64, params: DiehlCookParams = DiehlCookParams(),
                    seed: int = 0, plastic: bool = True) -> NetworkSpec:
    """The Diehl & Cook (2015) network, untrained, as a NetworkSpec without inputs.

    n_exc:   excitatory (= inhibitory) neurons; n_input: input pixels.
    params:  DiehlCookParams (rule, delays, rates, ...).
    seed:    initial weights (uniform in [0, w_init_max], then normalised) and delays.
    plastic: True: in_exc learns (params.rule, normalised per sample) and theta adapts;
             False: weights and theta are fixed (how bio.stdp reads responses).
    Populations "in" (n_input sources), "exc", "inh" (n_exc each); connections "in_exc"
    (siemens, i = pixel, j = neuron, i-major), "exc_inh", "inh_exc". Theta starts at 0 V
    (`populations["exc"].init["theta"]`). meta: "present" (t_present), "params", "n_exc",
    "n_input", "samples_trained" (0).
    """
    if int(n_exc) != n_exc or int(n_input) != n_input or n_exc < 1 or n_input < 1:
        raise ValueError(f"n_exc and n_input must be whole numbers >= 1, got {n_exc} and {n_input}")
    if not isinstance(params, DiehlCookParams):
        raise ValueError(f"params must be a DiehlCookParams, got {type(params).__name__}")
    n_e, n_in, p = int(n_exc), int(n_input), params
    rng = np.random.default_rng(seed)
    R = float(p.R)
    pops = {"in": Population(None, n_in),
            "exc": Population(_exc_model(p, plastic), n_e, init={"theta": np.zeros(n_e)}),
            "inh": Population(_inh_model(p), n_e)}
    i_in, j_in = np.divmod(np.arange(n_in * n_e, dtype=np.int64), n_e)
    norm = synapses.Normalize(p.w_total / p.R)
    # uniform in [0, w_init_max], then normalised as before every sample (Sec. 2.4)
    w_in = norm.rescale(rng.uniform(0, p.w_init_max, n_in * n_e) / R, j_in, n_e)
    delays = rng.uniform(0, float(p.max_delay), n_in * n_e) if p.max_delay > 0 * ms else None
    i_ie, j_ie = _all_but_self(n_e)
    inh = synapses.CondExp("inh", tau=p.tau_gi, E_rev=p.E_inh_e)
    to_inh = synapses.CondExp("exc", tau=p.tau_ge, E_rev=p.E_exc)
    conns = {
        "in_exc": Connection("in", "exc", _input_synapse(p, plastic), i_in, j_in, w_in, kind="exc",
                             delay_s=delays, normalize=norm if plastic else None),
        "exc_inh": Connection("exc", "inh", to_inh, np.arange(n_e), np.arange(n_e),
                              np.full(n_e, p.w_exc_inh / R), kind="exc"),
        "inh_exc": Connection("inh", "exc", inh, i_ie, j_ie, np.full(len(i_ie), p.w_inh_exc / R), kind="inh"),
    }
    meta = {"present": p.t_present, "params": p, "n_exc": n_e, "n_input": n_in, "samples_trained": 0}
    return NetworkSpec(pops, conns, period=p.period, meta=meta).check()


def params_of(spec: NetworkSpec) -> DiehlCookParams:
    """The DiehlCookParams a spec was built with (a ValueError for other specs)."""
    p = spec.meta.get("params") if isinstance(spec, NetworkSpec) else None
    if not isinstance(p, DiehlCookParams) or not {"in", "exc", "inh"} <= set(spec.populations) \
            or "in_exc" not in spec.connections:
        raise ValueError("expected a Diehl & Cook spec from bio.diehl_cook.diehl_cook_spec(), got "
                         f"{type(spec).__name__}")
    return p


def frozen(spec: NetworkSpec) -> NetworkSpec:
    """A copy of a Diehl & Cook spec with plasticity off: in_exc keeps its (lesioned,
    learned) weights as a static CondExp without normalisation, theta stays fixed.
    Populations and the other connections share arrays with `spec` (read, don't edit)."""
    p = params_of(spec)
    new = spec.with_inputs(period=spec.period)
    new.populations = dict(spec.populations)
    exc = spec.populations["exc"]
    new.populations["exc"] = replace(exc, model=_exc_model(p, plastic=False))
    new.connections = dict(spec.connections)
    c = spec.connections["in_exc"]
    new.connections["in_exc"] = replace(c, model=getattr(c.model, "on", c.model), normalize=None)
    return new


def with_samples(spec: NetworkSpec, x: np.ndarray, copies: int = 1, scale: float = 1.0,
                 record: Record | None = None) -> NetworkSpec:
    """`spec` driven by the images x, `copies` samples at a time side by side.

    x: (N, n_input) intensities in [0, 1]. Sample k runs in copy k % copies during
    period k // copies; rows beyond N (the last round) are silent. Rates are
    intensity * rate_max * scale. Returns a shallow copy (spec.with_inputs) with
    S = ceil(N / copies) periods of inputs (S, copies, n_input).
    """
    p = params_of(spec)
    x = check_images(x, spec.populations["in"].n)
    copies = int(copies)
    if copies < 1:
        raise ValueError(f"copies must be >= 1, got {copies}")
    n_rounds = max(1, -(-len(x) // copies))
    padded = np.zeros((n_rounds * copies, x.shape[1]))
    padded[:len(x)] = x
    rates = padded.reshape(n_rounds, copies, x.shape[1]) * float(p.rate_max / Hz) * scale  # (S, B, n)
    return spec.with_inputs(Rates("in", rates), period=spec.period, record=record or spec.record)


def check_images(x, n_input: int) -> np.ndarray:
    """x as float64 (N, n_input) with finite intensities in [0, 1], or a ValueError."""
    x = np.asarray(x, dtype=float)
    if x.ndim != 2 or x.shape[1] != n_input:
        raise ValueError(f"x must be (samples, {n_input}) intensities, got shape {x.shape}")
    if not np.isfinite(x).all() or (x.size and (x.min() < 0 or x.max() > 1)):
        raise ValueError("x must hold finite intensities in [0, 1]; scale the data first")
    return x


def weights(spec: NetworkSpec) -> np.ndarray:
    """(n_input, n_exc) input weights in the paper's units (multiples of 1/R);
    blocked synapses and those of dead neurons read 0."""
    p = params_of(spec)
    c = spec.connections["in_exc"]
    w = np.zeros((spec.populations["in"].n, spec.populations["exc"].n))
    act = c.active(spec.populations)
    w[c.i[act], c.j[act]] = c.w[act] * float(p.R)
    return w


def theta_mv(spec: NetworkSpec) -> np.ndarray:
    """(n_exc,) adaptive thresholds theta in mV."""
    params_of(spec)
    return np.asarray(spec.populations["exc"].init["theta"], dtype=float) * 1e3
