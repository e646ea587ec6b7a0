"""Synapse models: what a presynaptic spike does to the postsynaptic neuron.

Every model follows the `bio` synapse protocol, so a neuron model can take
several of them (`neurons.LIF().group(n, synapses=[CurrentExp("exc"), ...])`):

- `post_equations()`  lines added to the postsynaptic NeuronGroup
                      (e.g. "dI_exc/dt = -I_exc/tau_exc : amp");
- `current_term()`    its contribution to the neuron's `I_total` ("" for
                      delta synapses, which jump `v` directly);
- `namespace()`       the constants those lines use, named after `label`;
- `connect(pre, post, i, j, w, delay=None, name=None)` the brian2.Synapses.

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
- `TripletSTDP`     triplet rule (Pfister & Gerstner 2006)
- `TsodyksMarkram`  short-term depression/facilitation (Tsodyks & Markram
                    1997; Markram, Wang & Tsodyks 1998)
"""
from __future__ import annotations

from dataclasses import dataclass, field

import brian2 as b2
import numpy as np
from brian2 import Quantity, amp, mV, ms, siemens, volt


def _q(value):  # a Brian2 Quantity is an ndarray, so dataclasses reject it as a plain default
    return field(default_factory=lambda: value)


def _check_label(label: str) -> None:
    if not label.isidentifier():
        raise ValueError(f"synapse label {label!r} must be a valid identifier such as 'exc' or 'inh'")


def _make_synapses(pre, post, i, j, w, delay, name, *, unit, model="", on_pre="", on_post=None,
                   namespace=None) -> b2.Synapses:
    """Build, connect and initialise a brian2.Synapses (shared by every model).

    i, j: (n_syn,) int presynaptic and postsynaptic indices.
    w:    (n_syn,) or scalar Quantity in `unit`.
    delay: (n_syn,) or scalar time Quantity, or None for no delay. Equal delays
           become one shared (scalar) delay of the Synapses object.
    """
    i = np.asarray(i, dtype=np.int64)
    j = np.asarray(j, dtype=np.int64)
    if i.shape != j.shape or i.ndim != 1:
        raise ValueError(f"i and j must be 1-D arrays of equal length, got shapes {i.shape} and {j.shape}")
    if not b2.have_same_dimensions(w, unit):
        raise ValueError(f"weights must be in units of {unit!r} for this synapse model, got {w!r}")
    if delay is not None and not b2.have_same_dimensions(delay, ms):
        raise ValueError(f"delay must be a time (e.g. 1.5*ms), got {delay!r}")
    kwargs = {} if name is None else {"name": name}
    # one shared delay lets Brian2 use its faster homogeneous spike queue
    delays_s = None if delay is None else np.atleast_1d(np.asarray(delay, dtype=np.float64))
    uniform = delays_s is not None and delays_s.size > 0 and np.all(delays_s == delays_s[0])
    if uniform:
        delay = delays_s[0] * b2.second
    # a static pathway whose weights are all equal holds one shared weight: Brian2 then
    # adds a constant per spike instead of gathering a per-synapse array (as the
    # hand-written CUBA example does). Plastic models (a `model` or on_post) keep w per synapse.
    w_arr = np.atleast_1d(np.asarray(w))
    shared = not model and on_post is None and w_arr.size > 0 and np.all(w_arr == w_arr.flat[0])
    w_decl = f"w : {_unit_name(unit)}" + (" (shared, constant)" if shared else "")
    syn = b2.Synapses(pre, post, model=f"{w_decl}\n{model}",
                      on_pre=on_pre, on_post=on_post, namespace=dict(namespace or {}),
                      delay=delay if uniform else None, method="exact", **kwargs)
    if not len(i):  # e.g. every synapse lesioned: an empty but valid pathway
        syn.connect("False")
        return syn
    syn.connect(i=i, j=j)
    if shared:
        syn.w = w_arr.flat[0] * unit
    else:
        syn.w[:] = w
    if delay is not None and not uniform:
        syn.delay[:] = delay
    return syn


def _unit_name(unit) -> str:
    for name, u in (("volt", volt), ("amp", amp), ("siemens", siemens)):
        if b2.have_same_dimensions(unit, u):
            return name
    raise ValueError(f"unsupported weight unit {unit!r}")


# ---------------------------------------------------------------------------
# Base models
# ---------------------------------------------------------------------------

@dataclass(frozen=True)
class CurrentDelta:
    """Instantaneous current-based synapse: a spike moves v_post by w (volt).

    The classic synapse of Brunel (2000): a PSP is a jump of J followed by the
    membrane's own decay.
    """

    label: str = "exc"

    weight_unit = volt

    def __post_init__(self):
        _check_label(self.label)

    def post_equations(self) -> str:
        return ""

    def current_term(self) -> str:
        return ""

    def namespace(self) -> dict:
        return {}

    def transmit(self, weight: str = "w") -> str:
        """The on_pre statement that delivers `weight` to the postsynaptic cell."""
        return f"v_post += {weight}"

    def connect(self, pre, post, i, j, w, delay=None, name=None) -> b2.Synapses:
        """Synapses pre[i] -> post[j] with weights w (volt) and delays (time)."""
        return _make_synapses(pre, post, i, j, w, delay, name, unit=volt, on_pre=self.transmit())


@dataclass(frozen=True)
class CurrentExp:
    """Current-based exponential synapse: I_label jumps by w (amp), decays with tau.

    PSC(t) = w exp(-t/tau) for t >= delay (e.g. Brette et al. 2007, CUBA).
    """

    label: str = "exc"
    tau: Quantity = _q(5 * ms)

    weight_unit = amp

    def __post_init__(self):
        _check_label(self.label)

    def post_equations(self) -> str:
        return f"dI_{self.label}/dt = -I_{self.label}/tau_{self.label} : amp"

    def current_term(self) -> str:
        return f"I_{self.label}"

    def namespace(self) -> dict:
        return {f"tau_{self.label}": self.tau}

    def transmit(self, weight: str = "w") -> str:
        return f"I_{self.label}_post += {weight}"

    def connect(self, pre, post, i, j, w, delay=None, name=None) -> b2.Synapses:
        """Synapses pre[i] -> post[j] with weights w (amp) and delays (time)."""
        return _make_synapses(pre, post, i, j, w, delay, name, unit=amp, on_pre=self.transmit())


@dataclass(frozen=True)
class CondExp:
    """Conductance-based exponential synapse with reversal potential E_rev.

    g_label jumps by w (siemens) and decays with tau; the current is
    g_label (E_rev - v), so its sign and size depend on v (Brette et al. 2007, COBA).
    """

    label: str = "exc"
    tau: Quantity = _q(5 * ms)
    E_rev: Quantity = _q(0 * mV)

    weight_unit = siemens

    def __post_init__(self):
        _check_label(self.label)

    def post_equations(self) -> str:
        return f"dg_{self.label}/dt = -g_{self.label}/tau_{self.label} : siemens"

    def current_term(self) -> str:
        return f"g_{self.label}*(E_{self.label} - v)"

    def namespace(self) -> dict:
        return {f"tau_{self.label}": self.tau, f"E_{self.label}": self.E_rev}

    def transmit(self, weight: str = "w") -> str:
        return f"g_{self.label}_post += {weight}"

    def connect(self, pre, post, i, j, w, delay=None, name=None) -> b2.Synapses:
        """Synapses pre[i] -> post[j] with weights w (siemens) and delays (time)."""
        return _make_synapses(pre, post, i, j, w, delay, name, unit=siemens, on_pre=self.transmit())


BASES = (CurrentDelta, CurrentExp, CondExp)


class _Wrapper:
    """Shared delegation of a plasticity wrapper to the base model it modifies."""

    def post_equations(self) -> str:
        return self.on.post_equations()

    def current_term(self) -> str:
        return self.on.current_term()

    def namespace(self) -> dict:
        return self.on.namespace()

    @property
    def label(self) -> str:
        return self.on.label

    @property
    def weight_unit(self):
        return self.on.weight_unit

    def _check_base(self):
        if not isinstance(self.on, BASES):
            raise ValueError(f"{type(self).__name__} wraps a base synapse (CurrentDelta, CurrentExp "
                             f"or CondExp), got {type(self.on).__name__}")


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
        if self.pairing not in ("all", "nearest"):
            raise ValueError(f"unknown STDP pairing {self.pairing!r}; choose one of: all, nearest")
        if not b2.have_same_dimensions(self.w_max, self.on.weight_unit):
            raise ValueError(f"w_max must be in units of {self.on.weight_unit!r} for "
                             f"{type(self.on).__name__}, got {self.w_max!r}")

    def connect(self, pre, post, i, j, w, delay=None, name=None) -> b2.Synapses:
        """Plastic synapses pre[i] -> post[j]; `w` is the initial weight (read back from .w)."""
        bump = "+= 1" if self.pairing == "all" else "= 1"
        model = ("dapre/dt = -apre/stdp_tau_plus : 1 (event-driven)\n"
                 "dapost/dt = -apost/stdp_tau_minus : 1 (event-driven)")
        on_pre = "\n".join([self.on.transmit(),
                            f"apre {bump}",
                            "w = clip(w - stdp_A_minus*stdp_w_max*apost, 0*stdp_w_max, stdp_w_max)"])
        on_post = "\n".join([f"apost {bump}",
                             "w = clip(w + stdp_A_plus*stdp_w_max*apre, 0*stdp_w_max, stdp_w_max)"])
        ns = {"stdp_tau_plus": self.tau_plus, "stdp_tau_minus": self.tau_minus,
              "stdp_A_plus": self.A_plus, "stdp_A_minus": self.A_minus, "stdp_w_max": self.w_max}
        return _make_synapses(pre, post, i, j, w, delay, name, unit=self.on.weight_unit, model=model,
                              on_pre=on_pre, on_post=on_post, namespace=ns)


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

    def __post_init__(self):
        self._check_base()
        if not b2.have_same_dimensions(self.w_max, self.on.weight_unit):
            raise ValueError(f"w_max must be in units of {self.on.weight_unit!r} for "
                             f"{type(self.on).__name__}, got {self.w_max!r}")

    @classmethod
    def preset(cls, name: str, on, w_max) -> "TripletSTDP":
        """The minimal all-to-all fit of Pfister & Gerstner (2006): "visual_cortex" or "hippocampal"."""
        if name not in TRIPLET_PARAMETERS:
            raise ValueError(f"unknown triplet preset {name!r}; choose one of: {', '.join(TRIPLET_PARAMETERS)}")
        return cls(on=on, w_max=w_max, **TRIPLET_PARAMETERS[name])

    def connect(self, pre, post, i, j, w, delay=None, name=None) -> b2.Synapses:
        """Plastic synapses pre[i] -> post[j]; `w` is the initial weight."""
        model = "\n".join(f"d{v}/dt = -{v}/tr_{tau} : 1 (event-driven)"
                          for v, tau in (("r1", "tau_plus"), ("r2", "tau_x"),
                                         ("o1", "tau_minus"), ("o2", "tau_y")))
        on_pre = "\n".join([self.on.transmit(),
                            "w = clip(w - tr_w_max*o1*(tr_A2_minus + tr_A3_minus*r2), 0*tr_w_max, tr_w_max)",
                            "r1 += 1", "r2 += 1"])
        on_post = "\n".join(["w = clip(w + tr_w_max*r1*(tr_A2_plus + tr_A3_plus*o2), 0*tr_w_max, tr_w_max)",
                             "o1 += 1", "o2 += 1"])
        ns = {f"tr_{k}": getattr(self, k) for k in ("w_max", "A2_plus", "A3_plus", "A2_minus", "A3_minus",
                                                    "tau_plus", "tau_minus", "tau_x", "tau_y")}
        return _make_synapses(pre, post, i, j, w, delay, name, unit=self.on.weight_unit, model=model,
                              on_pre=on_pre, on_post=on_post, namespace=ns)


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

    def connect(self, pre, post, i, j, w, delay=None, name=None) -> b2.Synapses:
        """Synapses pre[i] -> post[j] whose efficacy w*u*R changes from spike to spike."""
        ns = {"stp_U": self.U, "stp_tau_rec": self.tau_rec}
        if float(self.tau_facil / ms) > 0:
            ns["stp_tau_facil"] = self.tau_facil
            model = ("dR/dt = (1 - R)/stp_tau_rec : 1 (event-driven)\n"
                     "du/dt = -u/stp_tau_facil : 1 (event-driven)")
            # u jumps before it is used, resources are used up after delivery
            on_pre = "\n".join(["u += stp_U*(1 - u)", self.on.transmit("w*u*R"), "R -= u*R"])
        else:
            model = "dR/dt = (1 - R)/stp_tau_rec : 1 (event-driven)"
            on_pre = "\n".join([self.on.transmit("w*stp_U*R"), "R -= stp_U*R"])
        syn = _make_synapses(pre, post, i, j, w, delay, name, unit=self.on.weight_unit, model=model,
                             on_pre=on_pre, namespace=ns)
        if len(syn):
            syn.R[:] = 1
        return syn
