"""Mean-field theory of the Brunel (2000) network: stationary rate and ISI irregularity.

Brunel N (2000) Dynamics of sparsely connected networks of excitatory and
inhibitory spiking neurons. J Comput Neurosci 8:183-208 (model "A"; the
network itself is `bio.brunel2000`).

Each neuron gets C_E excitatory inputs of PSP J and C_I = gamma C_E inhibitory
inputs of PSP -g J from neurons firing at rate nu, plus C_E external Poisson
inputs of rate nu_ext = eta nu_thr (nu_thr = theta / (J C_E tau)). If the
inputs are many, small and independent, the membrane follows the diffusion

    tau dV/dt = -V + mu + sigma sqrt(tau) xi(t)        (xi: unit white noise)

    mu      = C_E J tau (nu_ext + nu (1 - g gamma))
    sigma^2 = J^2 C_E tau (nu_ext + nu (1 + g^2 gamma))      (Brunel 2000, Sec. 3)

with threshold theta, reset V_r and refractory period tau_rp. Its rate is the
Siegert/Ricciardi first-passage formula (Brunel 2000, eq. 21; Ricciardi 1977)

    1 / nu = tau_rp + tau sqrt(pi) Int_{y_r}^{y_th} e^{u^2} (1 + erf u) du,
    y_th = (theta - mu) / sigma,  y_r = (V_r - mu) / sigma,

and the coefficient of variation of its interspike intervals is (Brunel 2000,
appendix; Tuckwell 1988, Introduction to Theoretical Neurobiology, vol. 2)

    CV^2 = 2 pi (nu tau)^2 Int_{y_r}^{y_th} e^{x^2} Int_{-inf}^{x} e^{y^2} (1 + erf y)^2 dy dx.

The stationary network state is the rate nu_0 that reproduces itself,
nu_0 = nu(mu(nu_0), sigma(nu_0)) (`brunel_rate`).

Numerics. e^{u^2}(1 + erf u) = erfcx(-u) stays O(1/|u|) for u -> -inf (strong
drive); for u > 0 the integrands grow like e^{u^2}, so every integral is
computed multiplied by e^{-2 s^2} (or e^{-s^2}), s = max(y_th, 0), folded into
the exponent. The formulas then hold from the deterministic limit (sigma -> 0,
mu > theta) to rates far below 1e-100 Hz without overflow.

What the theory leaves out. The diffusion assumes Poisson input spikes, weak
and uncorrelated. In a simulated closed network the recurrent spike trains are
more regular than Poisson and share inputs, so measured CVs come out below
`brunel_cv` (and rates deviate by a few Hz); near saturation (excitation
dominating, g < 1/gamma) the network synchronises and the stationary solution
describes no real state at all (Brunel 2000, Sec. 4 and Fig. 8).
"""
from __future__ import annotations

import math

import brian2 as b2
import numpy as np
from brian2 import Hz, Quantity, mV, ms, second, volt
from scipy import integrate, optimize, special

__all__ = ["siegert_rate", "siegert_cv", "brunel_mu_sigma", "brunel_rate", "brunel_cv", "balance_g"]

_SQRT_PI = math.sqrt(math.pi)
_QUAD = dict(epsabs=0.0, epsrel=1e-10, limit=200)


# ---------------------------------------------------------------- validation

def _quantity(value, unit, name: str, example: str, positive: bool = False) -> float:
    """Return `value` as a float in SI units; raise a ValueError naming `name` if it is unfit."""
    if not isinstance(value, Quantity) or not b2.have_same_dimensions(value, unit) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar Brian2 quantity in units of {unit!r} "
                         f"(e.g. {example}), got {value!r}")
    x = float(value)
    if not math.isfinite(x):
        raise ValueError(f"{name} must be finite, got {value!r}")
    if positive and x <= 0:
        raise ValueError(f"{name} must be > 0, got {value!r}")
    return x


def _nonneg_time(value, name: str, example: str) -> float:
    x = _quantity(value, second, name, example)
    if x < 0:
        raise ValueError(f"{name} must be >= 0, got {value!r}")
    return x


def _number(value, name: str, minimum: float = 0.0, strict: bool = False) -> float:
    """A plain dimensionless, finite number >= minimum (> minimum if strict)."""
    if isinstance(value, Quantity) and not value.is_dimensionless:
        raise ValueError(f"{name} is a dimensionless number, got {value!r}")
    if isinstance(value, bool) or np.ndim(value) != 0:
        raise ValueError(f"{name} must be a scalar number, got {value!r}")
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be a number, got {value!r}") from None
    if not math.isfinite(x) or x < minimum or (strict and x == minimum):
        bound = f"> {minimum:g}" if strict else f">= {minimum:g}"
        raise ValueError(f"{name} must be a finite number {bound}, got {value!r}")
    return x


def _neuron(tau, theta, V_r, tau_rp) -> tuple[float, float, float, float]:
    tau_s = _quantity(tau, second, "tau", "20*ms", positive=True)
    theta_v = _quantity(theta, volt, "theta", "20*mV")
    v_r = _quantity(V_r, volt, "V_r", "10*mV")
    rp_s = _nonneg_time(tau_rp, "tau_rp", "2*ms")
    if v_r >= theta_v:
        raise ValueError(f"the reset V_r must lie below the threshold theta, got V_r={V_r!r}, theta={theta!r}")
    return tau_s, theta_v, v_r, rp_s


def _network(g, eta, J, C_E, gamma) -> tuple[float, float, float, int, float]:
    g = _number(g, "g (relative inhibitory strength)")
    eta = _number(eta, "eta (external drive / nu_thr)")
    J_v = _quantity(J, volt, "J", "0.1*mV", positive=True)
    if isinstance(C_E, bool) or not float(_number(C_E, "C_E", 1.0)).is_integer():
        raise ValueError(f"C_E is a number of inputs, an integer >= 1, got {C_E!r}")
    gamma = _number(gamma, "gamma (C_I / C_E)")
    return g, eta, J_v, int(C_E), gamma


# ---------------------------------------------------------- single neuron (dimensionless)

def _scaled_erfcx(u: float, s: float) -> float:
    """e^{u^2 - s^2} (1 + erf u) = e^{-s^2} erfcx(-u), for u <= s, without overflow."""
    if u < 0:
        return math.exp(-s * s) * special.erfcx(-u)
    return math.exp(u * u - s * s) * special.erfc(-u)


def _inv_rate_scaled(y_r: float, y_th: float, rp: float, s: float) -> float:
    """e^{-s^2} / (nu tau): the bracket of eq. 21 in units of tau, scaled by e^{-s^2}."""
    integral, _ = integrate.quad(_scaled_erfcx, y_r, y_th, args=(s,), **_QUAD)
    return math.exp(-s * s) * rp + _SQRT_PI * integral


def _rate_tau(y_r: float, y_th: float, rp: float) -> float:
    """nu tau of the white-noise LIF (eq. 21); rp = tau_rp / tau."""
    s = max(y_th, 0.0)
    return math.exp(-s * s) / _inv_rate_scaled(y_r, y_th, rp, s)


# Int_{-inf}^{0} e^{y^2} (1 + erf y)^2 dy, the part of the inner CV integral below 0
_G0 = integrate.quad(lambda y: math.exp(-y * y) * special.erfcx(-y) ** 2, -np.inf, 0.0, **_QUAD)[0]


def _cv_outer(x: float, s: float) -> float:
    """e^{x^2 - 2 s^2} Int_{-inf}^{x} e^{y^2} (1 + erf y)^2 dy, every factor kept finite."""
    if x < 0:
        # y = x - r / c: e^{x^2 - y^2} = e^{-(2|x| r / c + r^2 / c^2)} <= 1 decays within r ~ 1 for
        # any x < 0 (c = 1 + |x|), so quad sees a smooth integrand even in the near-noiseless limit
        c = 1.0 - x
        inner, _ = integrate.quad(
            lambda r: math.exp(2 * x * r / c - (r / c) ** 2) * special.erfcx(r / c - x) ** 2 / c,
            0.0, np.inf, **_QUAD)
        return math.exp(-2 * s * s) * inner  # s > 0 only when y_th > 0; then this part is tiny
    inner, _ = integrate.quad(lambda y: math.exp(x * x + y * y - 2 * s * s) * special.erfc(-y) ** 2,
                              0.0, x, **_QUAD)
    return math.exp(x * x - 2 * s * s) * _G0 + inner


def _cv(y_r: float, y_th: float, rp: float) -> float:
    s = max(y_th, 0.0)
    outer, _ = integrate.quad(_cv_outer, y_r, y_th, args=(s,), **_QUAD)
    return math.sqrt(2 * math.pi * outer) / _inv_rate_scaled(y_r, y_th, rp, s)


def _deterministic_rate(mu: float, tau: float, theta: float, v_r: float, rp: float) -> float:
    """Rate (Hz) of the noiseless LIF: 1 / (tau_rp + tau ln((mu - V_r) / (mu - theta)))."""
    if mu <= theta:
        return 0.0
    return 1.0 / (rp + tau * math.log((mu - v_r) / (mu - theta)))


def _siegert(mu: float, sigma: float, tau: float, theta: float, v_r: float, rp: float) -> float:
    """Rate in Hz from SI floats."""
    if sigma == 0:
        return _deterministic_rate(mu, tau, theta, v_r, rp)
    return _rate_tau((v_r - mu) / sigma, (theta - mu) / sigma, rp / tau) / tau


# ---------------------------------------------------------------- public: one neuron

def siegert_rate(mu, sigma, tau=20 * ms, theta=20 * mV, V_r=10 * mV, tau_rp=2 * ms) -> Quantity:
    """Firing rate of an LIF neuron driven by white noise (Brunel 2000, eq. 21).

    mu, sigma: mean and noise amplitude of the input (volt; sigma >= 0), as in
        tau dV/dt = -V + mu + sigma sqrt(tau) xi(t), so the free membrane has std sigma / sqrt(2).
    tau: membrane time constant; theta, V_r: threshold and reset (volt); tau_rp: refractory period.
    Returns the rate (Quantity, Hz). sigma = 0 gives the noiseless rate
    1 / (tau_rp + tau ln((mu - V_r) / (mu - theta))), or 0 Hz for mu <= theta.
    """
    tau_s, theta_v, v_r, rp_s = _neuron(tau, theta, V_r, tau_rp)
    mu_v = _quantity(mu, volt, "mu", "15*mV")
    sigma_v = _quantity(sigma, volt, "sigma", "5*mV")
    if sigma_v < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")
    return _siegert(mu_v, sigma_v, tau_s, theta_v, v_r, rp_s) * Hz


def siegert_cv(mu, sigma, tau=20 * ms, theta=20 * mV, V_r=10 * mV, tau_rp=2 * ms) -> float:
    """Coefficient of variation of the ISIs of the white-noise-driven LIF (Brunel 2000, appendix).

    Arguments as in `siegert_rate`. Returns a float: about 1 (Poisson-like) when the
    neuron fires rarely on fluctuations (mu well below theta), towards 0 when mu is far
    above theta. sigma = 0 gives 0.0 if the neuron fires and NaN if it never does.
    """
    tau_s, theta_v, v_r, rp_s = _neuron(tau, theta, V_r, tau_rp)
    mu_v = _quantity(mu, volt, "mu", "15*mV")
    sigma_v = _quantity(sigma, volt, "sigma", "5*mV")
    if sigma_v < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma!r}")
    if sigma_v == 0:
        return 0.0 if mu_v > theta_v else float("nan")
    return _cv((v_r - mu_v) / sigma_v, (theta_v - mu_v) / sigma_v, rp_s / tau_s)


# ---------------------------------------------------------------- public: the network

def _mu_sigma(nu: float, g, eta, J, C_E, gamma, tau, theta) -> tuple[float, float]:
    """Brunel (2000), Sec. 3: mu and sigma in SI floats; nu in Hz."""
    nu_ext = eta * theta / (J * C_E * tau)  # eta nu_thr
    mu = C_E * J * tau * (nu_ext + nu * (1 - g * gamma))
    sigma2 = J * J * C_E * tau * (nu_ext + nu * (1 + g * g * gamma))
    return mu, math.sqrt(sigma2)


def brunel_mu_sigma(nu, g: float, eta: float, J=0.1 * mV, C_E: int = 1000, gamma: float = 0.25,
                    tau=20 * ms, theta=20 * mV) -> tuple[Quantity, Quantity]:
    """Mean mu and noise sigma (volt) of a neuron's input when the network fires at rate nu.

    Brunel (2000), Sec. 3: mu = C_E J tau (nu_ext + nu (1 - g gamma)),
    sigma^2 = J^2 C_E tau (nu_ext + nu (1 + g^2 gamma)), nu_ext = eta theta / (J C_E tau).
    nu: network rate (Hz, >= 0). g: inhibitory / excitatory PSP ratio. eta: nu_ext / nu_thr.
    J: excitatory PSP (volt). C_E: excitatory in-degree (= number of external inputs).
    gamma: C_I / C_E. tau, theta: membrane time constant and threshold.
    Returns (mu, sigma), both Quantity in volt.
    """
    nu_hz = _quantity(nu, Hz, "nu", "10*Hz")
    if nu_hz < 0:
        raise ValueError(f"the rate nu must be >= 0, got {nu!r}")
    g, eta, J_v, C_E, gamma = _network(g, eta, J, C_E, gamma)
    tau_s = _quantity(tau, second, "tau", "20*ms", positive=True)
    theta_v = _quantity(theta, volt, "theta", "20*mV")
    mu, sigma = _mu_sigma(nu_hz, g, eta, J_v, C_E, gamma, tau_s, theta_v)
    return mu * volt, sigma * volt


def _solve(g, eta, J, C_E, gamma, tau, theta, v_r, rp) -> float:
    """Smallest self-consistent rate (Hz), found by scanning upwards from nu = 0."""
    def excess(nu: float) -> float:  # output rate minus input rate; its zeros are the solutions
        mu, sigma = _mu_sigma(nu, g, eta, J, C_E, gamma, tau, theta)
        return _siegert(mu, sigma, tau, theta, v_r, rp) - nu

    if excess(0.0) <= 0.0:  # no drive (eta = 0), or a rate too small for float64: quiescence
        return 0.0
    # the output rate never exceeds 1 / tau_rp, so the solution lies below it; with
    # tau_rp = 0 look up to 1000 / tau (50 kHz for tau = 20 ms) before giving up
    nu_max = 1.0 / rp if rp > 0 else 1e3 / tau
    grid = np.geomspace(1e-9 * nu_max, nu_max, 181)  # ~ 8 points per factor of 3
    lo = 0.0
    for hi in grid:
        if excess(hi) <= 0.0:
            return optimize.brentq(excess, lo, hi, xtol=1e-300, rtol=1e-12, maxiter=500)
        lo = hi
    raise ValueError(f"no stationary rate below {nu_max:g} Hz for g={g}, eta={eta}: the input drives "
                     "the rate up without bound (excitation dominates and tau_rp = 0)")


def brunel_rate(g: float, eta: float, J=0.1 * mV, C_E: int = 1000, gamma: float = 0.25, tau=20 * ms,
                theta=20 * mV, V_r=10 * mV, tau_rp=2 * ms) -> Quantity:
    """Self-consistent stationary rate nu_0 of the Brunel (2000) network (eq. 21, mu and sigma of Sec. 3).

    g: inhibitory / excitatory PSP ratio (>= 0). eta: nu_ext / nu_thr (>= 0).
    J: excitatory PSP (volt). C_E: excitatory in-degree, also the number of external
    inputs. gamma: C_I / C_E. tau, theta, V_r, tau_rp: the LIF neuron (defaults: the paper's).
    Returns nu_0 (Quantity, Hz). The synaptic delay D does not enter the stationary state.

    For g > 1/gamma (inhibition dominates) a rising network rate lowers mu, and the
    solution is in practice unique. For g < 1/gamma several solutions can coexist
    (e.g. a low-rate one and one near saturation); this returns the smallest, the one
    the iteration nu <- nu_out(nu) reaches from nu = 0. eta = 0 gives 0 Hz (the network
    is silent without drive). With tau_rp = 0 and excitation dominating the rate can
    grow without bound; then no solution exists and a ValueError says so.
    """
    tau_s, theta_v, v_r, rp_s = _neuron(tau, theta, V_r, tau_rp)
    g, eta, J_v, C_E, gamma = _network(g, eta, J, C_E, gamma)
    return _solve(g, eta, J_v, C_E, gamma, tau_s, theta_v, v_r, rp_s) * Hz


def brunel_cv(g: float, eta: float, J=0.1 * mV, C_E: int = 1000, gamma: float = 0.25, tau=20 * ms,
              theta=20 * mV, V_r=10 * mV, tau_rp=2 * ms) -> float:
    """ISI coefficient of variation predicted at the stationary rate `brunel_rate` (arguments alike).

    The CV of a neuron driven by white noise of the network's mu and sigma at nu_0
    (Brunel 2000, appendix). Simulated closed networks fire more regularly than this
    (their recurrent input is not Poisson), so take it as an upper guide, not a match.
    Returns a float (NaN when the stationary rate is 0).
    """
    tau_s, theta_v, v_r, rp_s = _neuron(tau, theta, V_r, tau_rp)
    g, eta, J_v, C_E, gamma = _network(g, eta, J, C_E, gamma)
    nu = _solve(g, eta, J_v, C_E, gamma, tau_s, theta_v, v_r, rp_s)
    if nu == 0.0:
        return float("nan")
    mu, sigma = _mu_sigma(nu, g, eta, J_v, C_E, gamma, tau_s, theta_v)
    return _cv((v_r - mu) / sigma, (theta_v - mu) / sigma, rp_s / tau_s)


def balance_g(gamma: float = 0.25) -> float:
    """Relative inhibition g = 1 / gamma at which recurrent excitation and inhibition cancel in mu.

    Brunel (2000), Sec. 2: with C_I = gamma C_E, the recurrent term of mu is
    proportional to 1 - g gamma; above this g inhibition dominates (4 for gamma = 0.25).
    """
    return 1.0 / _number(gamma, "gamma (C_I / C_E)", 0.0, strict=True)
