"""Synapse models: what a presynaptic spike does to the postsynaptic neuron.

Every model follows one protocol, read by the one compiler (`bio.run`,
bio/simulate.py), which is the only code that creates Brian2 objects:

- `weight_unit`       the unit of `Connection.w` (volt, amp or siemens);
- `post_equations()`  lines added to the postsynaptic NeuronGroup
                      (e.g. "dI_exc/dt = -I_exc/tau_exc : amp");
- `current_term()`    its contribution to the neuron's `I_total` ("" for
                      delta synapses, which jump `v` directly);
- `namespace()`       the constants those lines use, named after `label`;
- `target_var`        the postsynaptic variable a spike increments;
- `synapse_equations()`, `on_pre()`, `on_post()`, `synapse_namespace()`:
                      what the Synapses object holds besides `w` (traces and
                      weight rules of plasticity; on_post None when unused);
- `plastic`           True when the rule changes `w`.

The `label` ("exc", "inh", ...) makes variable names unique, so several
synapse models can target one group.

Base models (the weight `w` has the unit the model says):
- `CurrentDelta`  v_post += w                                   w in volt
- `CurrentExp`    I jumps by w, decays with tau                 w in amp
- `CondExp`       g jumps by w, decays with tau, I = g (E_rev - v)  w in siemens

Plasticity wraps a base model (`STDP(CurrentExp("exc"))`): the wrapper adds
traces and a weight rule to the Synapses object and leaves the postsynaptic
equations to the base model. Its own constants live in the Synapses'
namespace, so two plastic pathways never clash.
- `STDP`            pair-based (Song, Miller & Abbott 2000)
- `TripletSTDP`     triplet rule (Pfister & Gerstner 2006), all-to-all or nearest-spike
- `PreTraceSTDP`    presynaptic-trace rule (Diehl & Cook 2015, Eq. 3)
- `TsodyksMarkram`  short-term depression/facilitation (Tsodyks & Markram
                    1997; Markram, Wang & Tsodyks 1998)
- `SynapticScaling` homeostatic multiplicative scaling of a neuron's excitatory
                    synapses towards a target rate (Turrigiano et al. 1998; van
                    Rossum, Bi & Turrigiano 2000); `scaling_steady_state` is its
                    fixed point for rectified-linear rate neurons, in closed form
- `MaxPoolGate`     passes a spike only when it raises the running maximum of
                    the spike counts in a pooling window (ANN conversion)
`Normalize` (a field of `bio.spec.Connection`) rescales each neuron's incoming
weights to a fixed total at every sample onset (Diehl & Cook 2015, Sec. 2.4).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import brian2 as b2
import numpy as np
from brian2 import Quantity, amp, mV, ms, siemens, volt


class _GateWarning(logging.Filter):
    """Brian2 warns, at every code generation (two WARNING lines per evaluation of a
    pooling network), that MaxPoolGate's on_pre might depend on the order in which a
    step's spikes are delivered, as it reads and writes pool_max_post. It does not:
    every spike that raises its window's maximum within a step raises it to the same
    value, so one passes per window whatever the order (bridge/reference.py's gate,
    which tests/test_convert.py matches spike for spike). That one warning is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "pool_max_post" not in record.getMessage()


logging.getLogger("brian2.codegen.generators.base").addFilter(_GateWarning())


def _q(value):  # a Brian2 Quantity is an ndarray, so dataclasses reject it as a plain default
    return field(default_factory=lambda: value)


def _check_label(label: str) -> None:
    if not isinstance(label, str) or not label.isidentifier():
        raise ValueError(f"synapse label {label!r} must be a valid identifier such as 'exc' or 'inh'")


def unit_name(unit) -> str:
    """'volt', 'amp' or 'siemens': how a weight unit is written in Brian2 equations."""
    for name, u in (("volt", volt), ("amp", amp), ("siemens", siemens)):
        if b2.have_same_dimensions(unit, u):
            return name
    raise ValueError(f"unsupported weight unit {unit!r}")


class _Static:
    """Protocol defaults of a static (non-plastic) base synapse."""

    plastic = False

    def synapse_equations(self) -> str:
        return ""

    def on_pre(self) -> str:
        return self.transmit()

    def on_post(self):
        return None

    def synapse_namespace(self) -> dict:
        return {}

    def pre_equations(self) -> str:
        return ""

    def pre_reset(self) -> str:
        return ""

    def synapse_init(self) -> dict:
        return {}

    def transmit(self, weight: str = "w") -> str:
        """The on_pre statement that delivers `weight` to the postsynaptic cell."""
        return f"{self.target_var}_post += {weight}"


# ---------------------------------------------------------------------------
# Base models
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CurrentDelta(_Static):
    """Instantaneous current-based synapse: a spike moves v_post by w (volt).

    The classic synapse of Brunel (2000): a PSP is a jump of J followed by the
    membrane's own decay.
    """

    label: str = "exc"

    weight_unit = volt
    target_var = "v"

    def __post_init__(self):
        _check_label(self.label)

    def post_equations(self) -> str:
        return ""

    def current_term(self) -> str:
        return ""

    def namespace(self) -> dict:
        return {}




@dataclass(frozen=True)
class CurrentExp(_Static):
    """Current-based exponential synapse: I_label jumps by w (amp), decays with tau.

    PSC(t) = w exp(-t/tau) for t >= delay (e.g. Brette et al. 2007, CUBA).
    """

    label: str = "exc"
    tau: Quantity = _q(5 * ms)

    weight_unit = amp

    @property
    def target_var(self) -> str:
        return f"I_{self.label}"

    def __post_init__(self):
        _check_label(self.label)

    def post_equations(self) -> str:
        return f"dI_{self.label}/dt = -I_{self.label}/tau_{self.label} : amp"

    def current_term(self) -> str:
        return f"I_{self.label}"

    def namespace(self) -> dict:
        return {f"tau_{self.label}": self.tau}




@dataclass(frozen=True)
class CondExp(_Static):
    """Conductance-based exponential synapse with reversal potential E_rev.

    g_label jumps by w (siemens) and decays with tau; the current is
    g_label (E_rev - v), so its sign and size depend on v (Brette et al. 2007, COBA).
    """

    label: str = "exc"
    tau: Quantity = _q(5 * ms)
    E_rev: Quantity = _q(0 * mV)

    weight_unit = siemens

    @property
    def target_var(self) -> str:
        return f"g_{self.label}"

    def __post_init__(self):
        _check_label(self.label)

    def post_equations(self) -> str:
        return f"dg_{self.label}/dt = -g_{self.label}/tau_{self.label} : siemens"

    def current_term(self) -> str:
        return f"g_{self.label}*(E_{self.label} - v)"

    def namespace(self) -> dict:
        return {f"tau_{self.label}": self.tau, f"E_{self.label}": self.E_rev}




BASES = (CurrentDelta, CurrentExp, CondExp)
PAIRINGS = ("all", "nearest")


class _Wrapper:
    """Shared delegation of a plasticity wrapper to the base model it modifies."""

    plastic = True

    def post_equations(self) -> str:
        return self.on.post_equations()

    def current_term(self) -> str:
        return self.on.current_term()

    def namespace(self) -> dict:
        return self.on.namespace()

    def on_post(self):
        return None

    def pre_equations(self) -> str:
        return ""

    def pre_reset(self) -> str:
        return ""

    def synapse_init(self) -> dict:
        return {}

    @property
    def label(self) -> str:
        return self.on.label

    @property
    def weight_unit(self):
        return self.on.weight_unit

    @property
    def target_var(self) -> str:
        return self.on.target_var

    def _check_base(self):
        if not isinstance(self.on, BASES):
            raise ValueError(f"{type(self).__name__} wraps a base synapse (CurrentDelta, CurrentExp "
                             f"or CondExp), got {type(self.on).__name__}")

    def _check_w_max(self):
        if not isinstance(self.w_max, Quantity) or not b2.have_same_dimensions(self.w_max, self.on.weight_unit):
            raise ValueError(f"w_max must be in units of {self.on.weight_unit!r} for "
                             f"{type(self.on).__name__}, got {self.w_max!r}")
        if not float(np.asarray(self.w_max)) > 0:
            raise ValueError(f"w_max must be > 0, got {self.w_max}")


# ---------------------------------------------------------------------------
# Long-term plasticity
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class STDP(_Wrapper):
    """Pair-based additive STDP (Song, Miller & Abbott 2000; Bi & Poo 1998).

    For a pre spike at t_pre and a post spike at t_post, dt = t_post - t_pre:
        dw = +A_plus  * w_max * exp(-dt/tau_plus)    if dt > 0  (pre before post)
        dw = -A_minus * w_max * exp(+dt/tau_minus)   if dt < 0  (post before pre)
    and w is clipped to [0, w_max]. Defaults are Song et al.'s: A_plus = 0.005,
    A_minus/A_plus = 1.05, tau_plus = tau_minus = 20 ms.

    on:      the base synapse model whose weight is learned.
    w_max:   upper bound of w, in the base model's weight unit (volt, amp or siemens).
    pairing: "all" (all-to-all: each spike adds 1 to its trace, so every earlier
             spike of the other neuron counts) or "nearest" (each spike resets its
             trace to 1, so an update sees only the most recent spike of the other
             neuron; Morrison, Diesmann & Gerstner 2008, nearest-spike interaction).
    Usage: STDP(CurrentExp("exc"), w_max=1*nA).
    """

    on: object
    w_max: Quantity
    A_plus: float = 0.005
    A_minus: float = 0.005 * 1.05
    tau_plus: Quantity = _q(20 * ms)
    tau_minus: Quantity = _q(20 * ms)
    pairing: str = "all"

    def __post_init__(self):
        self._check_base()
        if self.pairing not in PAIRINGS:
            raise ValueError(f"unknown STDP pairing {self.pairing!r}; choose one of: {', '.join(PAIRINGS)}")
        self._check_w_max()

    def synapse_equations(self) -> str:
        return ("dapre/dt = -apre/stdp_tau_plus : 1 (event-driven)\n"
                "dapost/dt = -apost/stdp_tau_minus : 1 (event-driven)")

    def on_pre(self) -> str:
        bump = "+= 1" if self.pairing == "all" else "= 1"
        return "\n".join([self.on.transmit(), f"apre {bump}",
                          "w = clip(w - stdp_A_minus*stdp_w_max*apost, 0*stdp_w_max, stdp_w_max)"])

    def on_post(self) -> str:
        bump = "+= 1" if self.pairing == "all" else "= 1"
        return "\n".join([f"apost {bump}",
                          "w = clip(w + stdp_A_plus*stdp_w_max*apre, 0*stdp_w_max, stdp_w_max)"])

    def synapse_namespace(self) -> dict:
        return {"stdp_tau_plus": self.tau_plus, "stdp_tau_minus": self.tau_minus,
                "stdp_A_plus": self.A_plus, "stdp_A_minus": self.A_minus, "stdp_w_max": self.w_max}


# Pfister & Gerstner (2006), J Neurosci 26:9673, minimal all-to-all models
# (A3_minus = 0, so tau_x plays no part); tau_plus, tau_minus fixed from Bi & Poo.
TRIPLET_PARAMETERS = {
    # Table 3, visual cortex slices (Sjöström et al. 2001)
    "visual_cortex": dict(A2_plus=0.0, A3_plus=6.5e-3, A2_minus=7.1e-3, A3_minus=0.0,
                          tau_y=114 * ms, tau_x=101 * ms),
    # Table 4, hippocampal cultures (Wang et al. 2005)
    "hippocampal": dict(A2_plus=5.3e-3, A3_plus=8e-3, A2_minus=3.5e-3, A3_minus=0.0,
                        tau_y=40 * ms, tau_x=946 * ms),
}


@dataclass(frozen=True)
class TripletSTDP(_Wrapper):
    """Triplet STDP, all-to-all traces (Pfister & Gerstner 2006, eqs. 3-4).

    Presynaptic traces r1 (tau_plus), r2 (tau_x); postsynaptic o1 (tau_minus),
    o2 (tau_y); each jumps by 1 at a spike, read just before the jump:
        pre spike:  w -= w_max * o1 * (A2_minus + A3_minus * r2)
        post spike: w += w_max * r1 * (A2_plus  + A3_plus  * o2)
    w is clipped to [0, w_max]. The triplet term A3_plus makes potentiation
    grow with the postsynaptic rate, so pairing at high frequency potentiates
    whatever the order (Sjöström et al. 2001).
    on, w_max: the base synapse model and the upper bound of its weight.
    pairing: "all" (each spike adds 1 to its traces) or "nearest" (each spike sets
             them to 1; the form Diehl & Cook's published code uses).
    Defaults: the visual-cortex minimal model; `TripletSTDP.preset(name, on, w_max)`
    picks "visual_cortex" or "hippocampal".
    """

    on: object
    w_max: Quantity
    A2_plus: float = 0.0
    A3_plus: float = 6.5e-3
    A2_minus: float = 7.1e-3
    A3_minus: float = 0.0
    tau_plus: Quantity = _q(16.8 * ms)
    tau_minus: Quantity = _q(33.7 * ms)
    tau_x: Quantity = _q(101 * ms)
    tau_y: Quantity = _q(114 * ms)

    pairing: str = "all"

    def __post_init__(self):
        self._check_base()
        self._check_w_max()
        if self.pairing not in PAIRINGS:
            raise ValueError(f"unknown pairing {self.pairing!r}; choose one of: {', '.join(PAIRINGS)}")

    @classmethod
    def preset(cls, name: str, on, w_max) -> "TripletSTDP":
        """The minimal all-to-all fit of Pfister & Gerstner (2006): "visual_cortex" or "hippocampal"."""
        if name not in TRIPLET_PARAMETERS:
            raise ValueError(f"unknown triplet preset {name!r}; choose one of: {', '.join(TRIPLET_PARAMETERS)}")
        return cls(on=on, w_max=w_max, **TRIPLET_PARAMETERS[name])

    def synapse_equations(self) -> str:
        return "\n".join(f"d{v}/dt = -{v}/tr_{tau} : 1 (event-driven)"
                         for v, tau in (("r1", "tau_plus"), ("r2", "tau_x"),
                                        ("o1", "tau_minus"), ("o2", "tau_y")))

    def on_pre(self) -> str:
        bump = "+= 1" if self.pairing == "all" else "= 1"
        return "\n".join([self.on.transmit(),
                          "w = clip(w - tr_w_max*o1*(tr_A2_minus + tr_A3_minus*r2), 0*tr_w_max, tr_w_max)",
                          f"r1 {bump}", f"r2 {bump}"])

    def on_post(self) -> str:
        bump = "+= 1" if self.pairing == "all" else "= 1"
        return "\n".join(["w = clip(w + tr_w_max*r1*(tr_A2_plus + tr_A3_plus*o2), 0*tr_w_max, tr_w_max)",
                          f"o1 {bump}", f"o2 {bump}"])

    def synapse_namespace(self) -> dict:
        return {f"tr_{k}": getattr(self, k) for k in ("w_max", "A2_plus", "A3_plus", "A2_minus", "A3_minus",
                                                     "tau_plus", "tau_minus", "tau_x", "tau_y")}


@dataclass(frozen=True)
class PreTraceSTDP(_Wrapper):
    """Presynaptic-trace STDP (Diehl & Cook 2015, Front. Comput. Neurosci. 9:99, Eq. 3).

    A presynaptic trace x_pre jumps by 1 at each input spike and decays with
    tau_pre; at each postsynaptic spike
        dw = eta_post * (x_pre - x_tar) * (w_max - w)**mu,   w clipped to [0, w_max],
    so inputs that fired shortly before the postsynaptic spike grow and inputs
    that stayed silent (x_pre < x_tar) shrink. Defaults are the paper's
    (x_tar 0.4, mu 0.2, tau_pre 20 ms), eta_post 0.01 as in its code.
    """

    on: object
    w_max: Quantity
    eta_post: float = 0.01
    x_tar: float = 0.4
    mu: float = 0.2
    tau_pre: Quantity = _q(20 * ms)

    def __post_init__(self):
        self._check_base()
        self._check_w_max()
        if not (np.isfinite(self.eta_post) and self.eta_post >= 0 and np.isfinite(self.mu) and self.mu >= 0):
            raise ValueError(f"eta_post and mu must be finite and >= 0, got {self.eta_post}, {self.mu}")

    def synapse_equations(self) -> str:
        return "dxpre/dt = -xpre/pt_tau_pre : 1 (event-driven)"

    def on_pre(self) -> str:
        return "\n".join([self.on.transmit(), "xpre += 1"])

    def on_post(self) -> str:
        return ("w = clip(w + pt_w_max*pt_eta_post*(xpre - pt_x_tar)"
                "*clip(1 - w/pt_w_max, 0, 1)**pt_mu, 0*pt_w_max, pt_w_max)")

    def synapse_namespace(self) -> dict:
        return {"pt_w_max": self.w_max, "pt_eta_post": self.eta_post, "pt_x_tar": self.x_tar,
                "pt_mu": self.mu, "pt_tau_pre": self.tau_pre}


# ---------------------------------------------------------------------------
# Short-term plasticity
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class TsodyksMarkram(_Wrapper):
    """Short-term depression and facilitation (Tsodyks & Markram 1997; Markram et al. 1998).

    Each synapse has resources R (recovering to 1 with tau_rec) and a
    utilisation u (decaying to 0 with tau_facil). At the n-th spike, Delta_t
    after the previous one,
        u_n = u_{n-1} exp(-Delta_t/tau_facil) + U (1 - u_{n-1} exp(-Delta_t/tau_facil)),  u_1 = U
        R_n = R_{n-1} (1 - u_{n-1}) exp(-Delta_t/tau_rec) + 1 - exp(-Delta_t/tau_rec),    R_1 = 1
    and the spike delivers w * u_n * R_n (Markram et al. 1998, PNAS 95:5323).
    tau_facil = 0 is the purely depressing model of Tsodyks & Markram (1997), u = U.
    Depressing: large U, long tau_rec; facilitating: small U, long tau_facil.
    Defaults: a depressing synapse with tau_rec ~ 800 ms as in Tsodyks & Markram (1997).
    Usage: TsodyksMarkram(CurrentExp("exc"), U=0.1, tau_rec=100*ms, tau_facil=1*second).
    """

    on: object
    U: float = 0.5
    tau_rec: Quantity = _q(800 * ms)
    tau_facil: Quantity = _q(0 * ms)

    def __post_init__(self):
        self._check_base()
        if not 0 < self.U <= 1:
            raise ValueError(f"U is a release fraction in (0, 1], got {self.U}")

    plastic = False  # w is fixed; only the efficacy u*R varies

    def _facilitating(self) -> bool:
        return float(self.tau_facil / ms) > 0

    def synapse_equations(self) -> str:
        eqs = "dR/dt = (1 - R)/stp_tau_rec : 1 (event-driven)"
        return eqs + ("\ndu/dt = -u/stp_tau_facil : 1 (event-driven)" if self._facilitating() else "")

    def on_pre(self) -> str:
        if self._facilitating():  # u jumps before it is used, resources are used up after delivery
            return "\n".join(["u += stp_U*(1 - u)", self.on.transmit("w*u*R"), "R -= u*R"])
        return "\n".join([self.on.transmit("w*stp_U*R"), "R -= stp_U*R"])

    def synapse_namespace(self) -> dict:
        ns = {"stp_U": self.U, "stp_tau_rec": self.tau_rec}
        if self._facilitating():
            ns["stp_tau_facil"] = self.tau_facil
        return ns

    def synapse_init(self) -> dict:
        return {"R": 1.0}


# ---------------------------------------------------------------------------
# Homeostatic plasticity
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class SynapticScaling(_Wrapper):
    """Homeostatic synaptic scaling (Turrigiano et al. 1998, Nature 391:892; the rule of
    van Rossum, Bi & Turrigiano 2000, J Neurosci 20:8812).

    Each synapse keeps a slow trace r of its postsynaptic neuron's rate (Hz): r decays
    with tau_rate and jumps by 1/tau_rate at each postsynaptic spike. Its weight follows
        dw/dt = w (1 - r / target) / tau_hom     for w > 0 (excitatory synapses),
    i.e. van Rossum et al.'s dw/dt = beta w (a_goal - a) with beta = 1/(target tau_hom):
    a neuron firing below `target` scales all its excitatory synapses up by one common
    factor, above it down, so the ratios between its weights are kept (Turrigiano et
    al. 1998: mEPSC amplitude distributions scale multiplicatively). Negative (inhibitory)
    weights of a signed pathway are left alone. All synapses of a neuron see the same
    spikes, so their traces are equal and one factor acts on them all. The traces and
    the weights are synapse state: they carry over sample onsets (only the neurons are
    reset). tau_hom must be well above tau_rate (the trace must average the rate before
    the weights move, or the loop oscillates).

    on:       the base synapse model whose weight is scaled.
    target:   the neuron's target rate (Brian2 Hz), > 0.
    tau_hom:  time constant of the scaling (relative change of w per unit relative rate error).
    tau_rate: time constant of the rate trace.
    Usage: SynapticScaling(CurrentExp("exc"), target=10*Hz, tau_hom=2*second).
    """

    on: object
    target: Quantity = _q(10 * b2.Hz)
    tau_hom: Quantity = _q(2 * b2.second)
    tau_rate: Quantity = _q(200 * ms)

    def __post_init__(self):
        self._check_base()
        for what, value, unit in (("target", self.target, b2.Hz), ("tau_hom", self.tau_hom, b2.second),
                                  ("tau_rate", self.tau_rate, b2.second)):
            if not isinstance(value, Quantity) or not b2.have_same_dimensions(value, unit) \
                    or not float(np.asarray(value)) > 0:
                raise ValueError(f"SynapticScaling {what} must be a positive Brian2 quantity in "
                                 f"{unit!r}, got {value!r}")

    def synapse_equations(self) -> str:
        unit = unit_name(self.on.weight_unit)
        return ("dhom_r/dt = -hom_r/hom_tau_rate : Hz (clock-driven)\n"
                f"dw/dt = int(w > hom_w0)*w*(1 - hom_r/hom_target)/hom_tau : {unit} (clock-driven)")

    def on_pre(self) -> str:
        return self.on.transmit()

    def on_post(self) -> str:
        return "hom_r += 1/hom_tau_rate"

    def synapse_namespace(self) -> dict:
        return {"hom_target": self.target, "hom_tau": self.tau_hom, "hom_tau_rate": self.tau_rate,
                "hom_w0": 0 * self.on.weight_unit}

    def synapse_init(self) -> dict:
        return {"hom_r": self.target}  # start at the set point: no transient while the trace fills


def scaling_steady_state(pos, rest, target, g_max: float = 100.0, iters: int = 60) -> np.ndarray:
    """The fixed point of `SynapticScaling` for rectified-linear rate neurons, in closed form.

    A neuron whose rate on input sample s is relu(g * pos[s] + rest[s]) (an ideal IF neuron
    under constant drive, a ReLU unit) and whose excitatory synapses are all scaled by g
    stops changing when its mean rate over the samples equals its target:
        mean_s relu(g pos[s] + rest[s]) = target.
    pos:    (S, n) drive through the scaled (excitatory) synapses, >= 0, per sample and neuron.
    rest:   (S, n) every other drive (inhibitory synapses, bias, constant currents).
    target: (n,) target mean rates, in the unit of pos and rest.
    Returns (n,) gains g in [0, g_max]: the root, found by bisection (the mean is
    non-decreasing in g); a target out of reach gives the nearest end (0 or g_max); a
    target of 0 gives the largest g that keeps the neuron silent (scaling down stops
    there). A neuron already at its target with g = 1 keeps g = 1.
    """
    pos, rest = np.asarray(pos, dtype=float), np.asarray(rest, dtype=float)
    target = np.asarray(target, dtype=float)
    if pos.ndim != 2 or pos.shape != rest.shape or target.shape != pos.shape[1:]:
        raise ValueError(f"pos and rest must be (samples, neurons) of one shape and target (neurons,), "
                         f"got {pos.shape}, {rest.shape}, {target.shape}")
    if np.any(pos < 0):
        raise ValueError("pos is the drive through excitatory synapses and must be >= 0")

    def mean_rate(g):  # (n,)
        return np.maximum(g[None, :] * pos + rest, 0.0).mean(axis=0)

    lo, hi = np.zeros(len(target)), np.full(len(target), float(g_max))
    silent = target <= 0  # scaling down stops as soon as the neuron falls silent: the largest such g
    for _ in range(iters):  # else the smallest g whose mean rate reaches the target
        mid = 0.5 * (lo + hi)
        rate = mean_rate(mid)
        up = np.where(silent, rate <= 0, rate < target)
        lo, hi = np.where(up, mid, lo), np.where(up, hi, mid)
    g = np.where(silent, lo, hi)
    at_target = np.isclose(mean_rate(np.ones(len(target))), target, rtol=1e-12, atol=0)
    return np.where(at_target, 1.0, g)


# ---------------------------------------------------------------------------
# Conversion and homeostasis
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class MaxPoolGate(_Static):
    """Spiking max pooling for converted networks (after Rueckauer et al. 2017, sec. 2.2.6).

    Each presynaptic neuron counts its spikes; each pooled neuron keeps the
    running maximum of the counts in its window. A presynaptic spike passes
    (v_post += w) only if it raises that maximum, so the pooled neuron's input
    spike count always equals the largest spike count in its window. w in volt.
    """

    weight_unit = volt
    target_var = "v"
    label = "pool"

    def post_equations(self) -> str:
        return "pool_max : 1"

    def current_term(self) -> str:
        return ""

    def namespace(self) -> dict:
        return {}

    def pre_equations(self) -> str:
        return "pool_count : 1"

    def pre_reset(self) -> str:
        return "pool_count += 1"

    def on_pre(self) -> str:
        # Brian2 runs synapses before resets: this spike is not counted yet, hence the + 1
        return ("v_post += w * int(pool_count_pre + 1 > pool_max_post)\n"
                "pool_max_post = clip(pool_count_pre + 1, pool_max_post, pool_count_pre + 1 + pool_max_post)")


@dataclass(frozen=True)
class Normalize:
    """Rescale each postsynaptic neuron's incoming weights of one connection to `total`
    at every sample onset (Diehl & Cook 2015, Sec. 2.4). `total` in the weight unit."""

    total: Quantity

    def __post_init__(self):
        if not isinstance(self.total, Quantity) or not float(np.asarray(self.total)) > 0:
            raise ValueError(f"a normalisation total must be a positive Brian2 quantity, got {self.total!r}")

    def rescale(self, w: np.ndarray, j: np.ndarray, n_post: int) -> np.ndarray:
        """The rescaling in NumPy: w (n_syn,) weights in SI units of the weight unit, j (n_syn,)
        postsynaptic indices in 0..n_post-1. Returns (n_syn,) weights whose sum per
        postsynaptic neuron is `total`; a neuron whose weights sum to 0 keeps them."""
        w = np.asarray(w, dtype=np.float64)
        sums = np.bincount(j, weights=w, minlength=n_post)[j]
        return np.where(sums > 0, w * float(self.total) / np.where(sums > 0, sums, 1.0), w)
