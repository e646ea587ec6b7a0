"""Single-neuron models: each a frozen dataclass of parameters (Brian2 units) plus its equations.

Every model follows one protocol, so synapse models and network builders can use
any of them:

    model.equations                                   (membrane equations, a string)
    model.namespace() -> {parameter name: Quantity}
    model.threshold, model.reset_code, model.refractory, model.default_method
        (what a NeuronGroup is given; `model.reset` is the same statement, except
        for IF and LIF where it names the reset mode, "subtract" or "zero")
    model.initial_state() -> {variable: Quantity}      (rest; restored at sample onsets)
    model.v_thresh, model.v_reset, model.capacitance   (Quantity)

No model creates Brian2 objects: the one compiler, `bio.run` (bio/simulate.py),
turns a `NetworkSpec` whose populations hold these models into NeuronGroups.
The equations drive the membrane with a total current `I_total` (amp), which
the compiler assembles from the synapse models' current terms
(bio/synapses.py), injected currents and background noise (NOISE_EQUATION),
and they test the threshold `v_th`, which the compiler sets from v_thresh and
the population's `thresh_shift` (bio/spec.py).

Models: IF (non-leaky, for ANN conversion), LIF, AdaptiveLIF (Diehl & Cook 2015), AdEx, Izhikevich (with the
2003 presets), HodgkinHuxley (1952 squid axon).
"""
from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from typing import ClassVar

import brian2 as b2
import numpy as np
from brian2 import Quantity, amp, cm, mV, ms, Mohm, msiemens, nA, nF, nS, pF, uF, um

__all__ = ["IF", "LIF", "AdaptiveLIF", "AdEx", "Izhikevich", "HodgkinHuxley", "MODELS"]


def _q(value):
    # A Brian2 Quantity is an ndarray, so dataclasses reject it as a plain default.
    return field(default_factory=lambda: value)


# how each dimension reads in error messages: (unit name, example unit, example spelling)
_UNITS = [
    ("second", ms, "{}*ms"), ("volt", mV, "{}*mV"), ("amp", nA, "{}*nA"), ("ohm", Mohm, "{}*Mohm"),
    ("farad", pF, "{}*pF"), ("siemens", nS, "{}*nS"), ("1/second", 1 / ms, "{}/ms"),
    ("volt/second", mV / ms, "{}*mV/ms"), ("farad/metre**2", uF / cm**2, "{}*uF/cm**2"),
    ("siemens/metre**2", msiemens / cm**2, "{}*msiemens/cm**2"), ("metre**2", um**2, "{}*um**2"),
]


# time constants, capacitances and resistances are positive in every model
_POSITIVE = {"tau_m", "tau_w", "tau_theta", "C", "Cm", "R", "area", "g_L", "Delta_T"}


def _check_units(model) -> None:
    """Raise a ValueError naming the field whose value has the wrong unit.

    The expected unit of a field is the unit of its default value.
    """
    cls = type(model).__name__
    for f in fields(model):
        if f.default_factory is MISSING:
            continue
        expected = f.default_factory()
        if not isinstance(expected, Quantity):
            continue
        value = getattr(model, f.name)
        if not b2.have_same_dimensions(value, expected) or np.ndim(value) != 0:
            name, example = str(expected.dim), str(expected)
            for unit_name, unit, spelling in _UNITS:
                if b2.have_same_dimensions(unit, expected):
                    name, example = unit_name, spelling.format(f"{float(expected / unit):g}")
            raise ValueError(f"{cls}.{f.name} must be a scalar in units of {name} "
                             f"(e.g. {example}), got {value}")
        if not np.isfinite(float(np.asarray(value))):
            raise ValueError(f"{cls}.{f.name} must be finite, got {value}")
        if f.name in _POSITIVE and not float(np.asarray(value)) > 0:
            raise ValueError(f"{cls}.{f.name} must be > 0, got {value}")
        if f.name.startswith("t_ref") and float(np.asarray(value)) < 0:
            raise ValueError(f"{cls}.{f.name} must be >= 0, got {value}")


class _Neuron:
    """Shared plumbing: equations + synapse terms -> NeuronGroup. Not a public base class."""

    equations: ClassVar[str]  # membrane equations; use I_total (amp) and v_th (volt)
    default_method: ClassVar[str | None] = "euler"
    threshold: ClassVar[str] = "v > v_th"

    def __post_init__(self):
        _check_units(self)

    @property
    def reset_code(self) -> str:
        """The reset statement given to NeuronGroup."""
        return self.reset

    def namespace(self) -> dict:
        """Parameter name -> value, for NeuronGroup(namespace=...)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if isinstance(getattr(self, f.name), Quantity)}

    def initial_state(self) -> dict:
        """{state variable: Quantity} the neuron starts from (and returns to at a sample onset)."""
        return {"v": self.v_reset}

    @property
    def capacitance(self) -> Quantity:
        """Membrane capacitance (farad): what turns a current into dv/dt."""
        return self.C


# The one definition of background noise (bio/spec.py, Population.noise_sigma): an
# Ornstein-Uhlenbeck current with correlation time tau_noise and stationary std sigma_noise.
NOISE_EQUATION = "dI_noise/dt = -I_noise/tau_noise + sigma_noise*sqrt(2/tau_noise)*xi : amp"


@dataclass(frozen=True)
class IF(_Neuron):
    """Non-leaky integrate-and-fire unit, the spiking stand-in for a ReLU.

    C dv/dt = I_total. Used for ANN-to-SNN conversion (Cao et al. 2015; Diehl et
    al. 2015), where reset by subtraction keeps the residual charge above
    threshold and makes the rate track the ReLU activation closely
    (Rueckauer et al. 2017, Sec. 2.1). The default C = 200 pF equals the LIF's
    tau_m / R, so both respond to the same currents on the same scale.

    reset: "subtract" (v -= v_th - v_reset) or "zero" (v = v_reset).
    strict: fire at v > v_th instead of v >= v_th (the threshold of NIR's IF node and
    of surrogate-gradient networks, bridge/torch_snn.py and bridge/nir.py).
    """

    v_thresh: Quantity = _q(-50 * mV)
    v_reset: Quantity = _q(-70 * mV)
    C: Quantity = _q(200 * pF)
    t_ref: Quantity = _q(0 * ms)
    reset: str = "subtract"
    strict: bool = False

    equations: ClassVar[str] = "dv/dt = I_total / C : volt (unless refractory)"
    # None: Brian2 integrates exactly when it can (current synapses), else with Euler
    # (conductance synapses, noise); Euler is exact for a constant input anyway.
    default_method: ClassVar[str | None] = None
    RESETS: ClassVar[tuple] = ("subtract", "zero")

    def __post_init__(self):
        super().__post_init__()
        if self.reset not in self.RESETS:
            raise ValueError(f"unknown reset {self.reset!r}; choose one of: "
                             f"{', '.join(self.RESETS)}")

    @property
    def reset_code(self) -> str:
        return "v = v - (v_th - v_reset)" if self.reset == "subtract" else "v = v_reset"

    @property
    def threshold(self) -> str:
        # ">=" by default: an input of exactly one threshold per step fires at every step,
        # as ReLU(1) = 1
        return "v > v_th" if self.strict else "v >= v_th"

    @property
    def refractory(self):
        return self.t_ref


@dataclass(frozen=True)
class LIF(_Neuron):
    """Leaky integrate-and-fire neuron (Gerstner et al. 2014, Neuronal Dynamics, ch. 1.3).

    tau_m dv/dt = v_rest - v + R I_total; spike when v > v_th, then v = v_reset
    and the voltage is clamped for t_ref. Rheobase I = (v_thresh - v_rest) / R
    (200 pA with the defaults).

    reset: "zero" (v = v_reset) or "subtract" (v -= v_th - v_reset, which keeps the
    surplus charge, as ANN conversion wants; Rueckauer et al. 2017, eq. 3).
    spiking: False makes it a leaky integrator that never fires (the non-spiking
    read-out of a surrogate-gradient network; NIR's LI node).
    """

    tau_m: Quantity = _q(20 * ms)
    v_rest: Quantity = _q(-70 * mV)
    v_thresh: Quantity = _q(-50 * mV)
    v_reset: Quantity = _q(-70 * mV)
    t_ref: Quantity = _q(2 * ms)
    R: Quantity = _q(100 * Mohm)
    reset: str = "zero"
    spiking: bool = True

    equations: ClassVar[str] = "dv/dt = (v_rest - v + R*I_total) / tau_m : volt (unless refractory)"
    # None: exact integration when the equations stay linear (current synapses),
    # Euler when they do not (conductance synapses g*(E - v), noise).
    default_method: ClassVar[str | None] = None
    RESETS: ClassVar[tuple] = ("zero", "subtract")

    def __post_init__(self):
        super().__post_init__()
        if self.reset not in self.RESETS:
            raise ValueError(f"unknown reset {self.reset!r}; choose one of: {', '.join(self.RESETS)}")

    @property
    def reset_code(self) -> str:
        return "v = v - (v_th - v_reset)" if self.reset == "subtract" else "v = v_reset"

    @property
    def threshold(self) -> str:
        return "v > v_th" if self.spiking else "False"

    @property
    def refractory(self):
        return self.t_ref

    def initial_state(self) -> dict:
        return {"v": self.v_rest}

    @property
    def capacitance(self) -> Quantity:
        return self.tau_m / self.R


@dataclass(frozen=True)
class AdEx(_Neuron):
    """Adaptive exponential integrate-and-fire neuron (Brette & Gerstner 2005).

    C dv/dt = -g_L (v - E_L) + g_L Delta_T exp((v - v_th) / Delta_T) - w + I_total
    tau_w dw/dt = a (v - E_L) - w;   at a spike (v > v_peak): v = v_reset, w += b.
    In the equations w is named `w_adapt`: `w` is the synaptic weight in bio.synapses.
    Defaults are the paper's fit to a detailed regular-spiking pyramidal cell: C 281 pF,
    g_L 30 nS, E_L -70.6 mV, V_T -50.4 mV, Delta_T 2 mV, tau_w 144 ms, a 4 nS,
    b 0.0805 nA, reset to E_L, spike cut at 20 mV. `v_thresh` is the soft
    threshold V_T (what thresh_shift moves); `v_peak` only detects the spike.
    """

    C: Quantity = _q(281 * pF)
    g_L: Quantity = _q(30 * nS)
    E_L: Quantity = _q(-70.6 * mV)
    v_thresh: Quantity = _q(-50.4 * mV)
    Delta_T: Quantity = _q(2 * mV)
    tau_w: Quantity = _q(144 * ms)
    a: Quantity = _q(4 * nS)
    b: Quantity = _q(0.0805 * nA)
    v_reset: Quantity = _q(-70.6 * mV)
    v_peak: Quantity = _q(20 * mV)
    t_ref: Quantity = _q(0 * ms)

    equations: ClassVar[str] = """
    dv/dt = (-g_L*(v - E_L) + g_L*Delta_T*exp((v - v_th)/Delta_T) - w_adapt + I_total) / C : volt (unless refractory)
    dw_adapt/dt = (a*(v - E_L) - w_adapt) / tau_w : amp
    """
    threshold: ClassVar[str] = "v > v_peak"
    reset: ClassVar[str] = "v = v_reset; w_adapt += b"

    @property
    def refractory(self):
        return self.t_ref

    def initial_state(self) -> dict:
        return {"v": self.E_L, "w_adapt": 0 * amp}


@dataclass(frozen=True)
class AdaptiveLIF(_Neuron):
    """LIF neuron with an adaptive threshold (Diehl & Cook 2015, Front. Comput. Neurosci. 9:99).

    tau_m dv/dt = v_rest - v + R I_total; tau_theta dtheta/dt = -theta;
    spike when v > v_th + theta, then v = v_reset, theta += theta_plus, and v is
    clamped for t_ref. theta is homeostasis: a neuron that fires often becomes
    harder to fire, so the samples spread over the neurons of a winner-take-all
    layer. theta_plus = 0 freezes theta (the paper's test phase). Defaults are
    the paper's excitatory neuron (rest -65 mV, threshold -52 mV, tau 100 ms,
    refractory 5 ms, theta_plus 0.05 mV, tau_theta 1e7 ms).
    """

    tau_m: Quantity = _q(100 * ms)
    v_rest: Quantity = _q(-65 * mV)
    v_thresh: Quantity = _q(-52 * mV)
    v_reset: Quantity = _q(-65 * mV)
    t_ref: Quantity = _q(5 * ms)
    R: Quantity = _q(100 * Mohm)
    theta_plus: Quantity = _q(0.05 * mV)
    tau_theta: Quantity = _q(1e7 * ms)

    equations: ClassVar[str] = """
    dv/dt = (v_rest - v + R*I_total) / tau_m : volt (unless refractory)
    dtheta/dt = -theta / tau_theta : volt
    """
    default_method: ClassVar[str | None] = None
    threshold: ClassVar[str] = "v > v_th + theta"
    reset: ClassVar[str] = "v = v_reset; theta += theta_plus"

    @property
    def refractory(self):
        return self.t_ref

    @property
    def capacitance(self) -> Quantity:
        return self.tau_m / self.R

    def initial_state(self) -> dict:
        return {"v": self.v_rest}  # theta is learned: not reset between samples


# Izhikevich (2003), Fig. 2: (a, b, c, d) of the dimensionless model, where v is
# in mV and t in ms; c in mV, d in the units of u (mV/ms), a and b in 1/ms.
IZHIKEVICH_PRESETS = {
    "RS": (0.02, 0.2, -65, 8),      # regular spiking (excitatory cortex)
    "IB": (0.02, 0.2, -55, 4),      # intrinsically bursting
    "CH": (0.02, 0.2, -50, 2),      # chattering (fast rhythmic bursting)
    "FS": (0.1, 0.2, -65, 2),       # fast spiking (inhibitory interneurons)
    "LTS": (0.02, 0.25, -65, 2),    # low-threshold spiking
    "TC": (0.02, 0.25, -65, 0.05),  # thalamo-cortical
    "RZ": (0.1, 0.26, -65, 2),      # resonator
}


@dataclass(frozen=True)
class Izhikevich(_Neuron):
    """Izhikevich (2003) simple model, with units.

    dv/dt = 0.04 v^2 + 5 v + 140 - u + I,  du/dt = a (b v - u),
    at v >= 30 mV: v = c, u += d   (v in mV, t in ms).
    Current scaling: the paper's dimensionless input I is I_total / C in mV/ms,
    so with the default C = 1 nF the paper's I = 10 is 10 nA (1 nA/nF = 1 mV/ms).
    The group starts at the model's stable rest (v* where 0.04 v^2 + (5 - b) v
    + 140 = 0, u = b v*), not at an arbitrary -65 mV, so no start-up transient
    is mistaken for a firing pattern. Use `Izhikevich.preset("RS")` etc.
    """

    a: Quantity = _q(0.02 / ms)
    b: Quantity = _q(0.2 / ms)
    c: Quantity = _q(-65 * mV)
    d: Quantity = _q(8 * mV / ms)
    v_thresh: Quantity = _q(30 * mV)  # spike peak (Izhikevich 2003): detection, not excitability
    C: Quantity = _q(1 * nF)

    equations: ClassVar[str] = """
    dv/dt = (0.04/mV/ms)*v**2 + (5/ms)*v + 140*mV/ms - u + I_total/C : volt
    du/dt = a*(b*v - u) : volt/second
    """
    threshold: ClassVar[str] = "v >= v_th"
    reset: ClassVar[str] = "v = c; u += d"
    refractory: ClassVar = 0 * ms

    @classmethod
    def preset(cls, name: str, **overrides) -> "Izhikevich":
        """The (a, b, c, d) of a named cell class from Izhikevich (2003), Fig. 2.

        name: one of RS, IB, CH, FS, LTS, TC, RZ (case-insensitive).
        overrides: other fields (e.g. C=200*pF).
        """
        key = str(name).upper()
        if key not in IZHIKEVICH_PRESETS:
            raise ValueError(f"unknown preset {name!r}; choose one of: "
                             f"{', '.join(IZHIKEVICH_PRESETS)}")
        a, b, c, d = IZHIKEVICH_PRESETS[key]
        params = dict(a=a / ms, b=b / ms, c=c * mV, d=d * mV / ms)
        params.update(overrides)
        return cls(**params)

    @property
    def v_reset(self) -> Quantity:
        return self.c

    @property
    def v_rest(self) -> Quantity:
        """Stable resting potential with I = 0 (c when the model has none)."""
        p = 5 - float(self.b * ms)  # 0.04 v^2 + p v + 140 = 0, v in mV
        disc = p * p - 4 * 0.04 * 140
        return self.c if disc < 0 else (-p - np.sqrt(disc)) / 0.08 * mV

    def initial_state(self) -> dict:
        return {"v": self.v_rest, "u": self.b * self.v_rest}


@dataclass(frozen=True)
class HodgkinHuxley(_Neuron):
    """Hodgkin & Huxley (1952) squid giant axon, in the modern convention (rest -65 mV).

    Conductances and capacitance are per membrane area (HH 1952, J Physiol 117:500;
    rate functions as in Dayan & Abbott 2001, ch. 5). The injected current
    (amp) is divided by `area`; the default area (100 um)^2 = 1e-4 cm^2 makes
    1 uA/cm^2 equal to 0.1 nA. No reset: a spike is counted when v rises above
    v_thresh and not again until v falls below it. v_thresh is -30 mV rather
    than 0 mV because near depolarisation block (~100 uA/cm^2) the spikes peak
    at about -20 mV. `v_reset` is the resting potential, used only to scale
    threshold shifts. Exponential Euler is stable at dt = 0.1 ms, but there
    ISIs come out ~4% longer than at 0.025 ms; use dt <= 0.05 ms for timing.
    """

    Cm: Quantity = _q(1 * uF / cm**2)
    g_Na: Quantity = _q(120 * msiemens / cm**2)
    g_K: Quantity = _q(36 * msiemens / cm**2)
    g_L: Quantity = _q(0.3 * msiemens / cm**2)
    E_Na: Quantity = _q(50 * mV)
    E_K: Quantity = _q(-77 * mV)
    E_L: Quantity = _q(-54.387 * mV)
    area: Quantity = _q((100 * um) ** 2)
    v_thresh: Quantity = _q(-30 * mV)
    v_rest: Quantity = _q(-65 * mV)

    equations: ClassVar[str] = """
    dv/dt = (g_L*(E_L - v) + g_Na*m**3*h*(E_Na - v) + g_K*n**4*(E_K - v) + I_total/area) / Cm : volt
    dm/dt = alpha_m*(1 - m) - beta_m*m : 1
    dh/dt = alpha_h*(1 - h) - beta_h*h : 1
    dn/dt = alpha_n*(1 - n) - beta_n*n : 1
    alpha_m = 1/exprel(-(v + 40*mV)/(10*mV)) / ms : Hz
    beta_m = 4*exp(-(v + 65*mV)/(18*mV)) / ms : Hz
    alpha_h = 0.07*exp(-(v + 65*mV)/(20*mV)) / ms : Hz
    beta_h = 1/(1 + exp(-(v + 35*mV)/(10*mV))) / ms : Hz
    alpha_n = 0.1/exprel(-(v + 55*mV)/(10*mV)) / ms : Hz
    beta_n = 0.125*exp(-(v + 65*mV)/(80*mV)) / ms : Hz
    """
    default_method: ClassVar[str] = "exponential_euler"
    reset: ClassVar[str] = ""
    refractory: ClassVar[str] = "v > v_th"

    @property
    def v_reset(self) -> Quantity:
        return self.v_rest

    @property
    def capacitance(self) -> Quantity:
        return self.Cm * self.area

    def initial_state(self) -> dict:
        v = float(self.v_rest / mV)
        # gating variables at their steady state x_inf = alpha / (alpha + beta) at rest
        am, bm = 0.1 * (v + 40) / (1 - np.exp(-(v + 40) / 10)), 4 * np.exp(-(v + 65) / 18)
        ah, bh = 0.07 * np.exp(-(v + 65) / 20), 1 / (1 + np.exp(-(v + 35) / 10))
        an, bn = 0.01 * (v + 55) / (1 - np.exp(-(v + 55) / 10)), 0.125 * np.exp(-(v + 65) / 80)
        return {"v": self.v_rest, "m": am / (am + bm), "h": ah / (ah + bh), "n": an / (an + bn)}


MODELS = {"if": IF, "lif": LIF, "adaptive_lif": AdaptiveLIF, "adex": AdEx, "izhikevich": Izhikevich, "hh": HodgkinHuxley}
