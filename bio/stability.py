"""Linear stability of the asynchronous state of the Brunel (2000) network.

Brunel N (2000) J Comput Neurosci 8:183-208, Sec. 4; Brunel N & Hakim V (1999)
Neural Comput 11:1621-1671. The stationary (asynchronous) state of bio/theory.py
is a fixed point of the population rate nu. A small oscillation nu(t) = nu_0 +
nu_1 e^{i omega t} reaches every neuron after the delay D as a modulation of the
mean and the variance of its input (theory.py's mu and sigma^2 are linear in nu):

    mu_1      = C_E J tau (1 - g gamma)     nu_1 e^{-i omega D}
    sigma^2_1 = J^2 C_E tau (1 + g^2 gamma) nu_1 e^{-i omega D}

and the neurons answer with a rate modulation A_mu(omega) mu_1 + A_s(omega)
sigma^2_1. The loop gain is therefore

    G(omega) = e^{-i omega D} [C_E J tau (1 - g gamma) A_mu(omega) + J^2 C_E tau (1 + g^2 gamma) A_s(omega)]

and the asynchronous state loses stability where 1 - G(lambda) = 0 gains a root
with Re lambda > 0: Brunel's eigenvalue equation, written with the rate
response instead of its closed form in confluent hypergeometric functions.

The rate responses A_mu, A_s of the white-noise-driven LIF neuron are computed
here numerically by threshold integration (Richardson 2007, Phys Rev E
76:021919): the linearised Fokker-Planck equation is integrated from the
threshold down to a lower bound, once for a unit rate modulation and once for
each input modulation, and the rate modulation follows from the condition that
no probability flux is left at the lower bound. With the step at the middle of
each interval the scheme is second-order accurate; at omega -> 0 it gives the
derivatives of the Siegert rate (tests/test_reproductions_injury.py).

The number of unstable roots is counted with the Nyquist criterion: the winding
of 1 - G(i omega) around 0 as omega runs over [0, f_max], doubled for the
negative frequencies (G(-i omega) is the conjugate). The oscillation that
starts at the instability has the frequency where G(i omega) crosses the real
axis beyond 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from brian2 import Hz, mV, ms

from . import theory
from .theory import _network, _neuron, _nonneg_time

__all__ = ["RateResponse", "Stability", "rate_response", "brunel_gain", "brunel_stability"]


@dataclass(frozen=True)
class RateResponse:
    """Linear rate response of an LIF neuron to modulated white-noise input.

    freq_hz:  (n,) modulation frequencies (Hz).
    rate_hz:  the stationary rate nu_0 (Hz).
    mu_gain:  (n,) complex, nu_1 / mu_1 in Hz per volt of modulation of the mean input.
    var_gain: (n,) complex, nu_1 / sigma^2_1 in Hz per volt^2 of modulation of sigma^2.
    """

    freq_hz: np.ndarray
    rate_hz: float
    mu_gain: np.ndarray
    var_gain: np.ndarray


@dataclass(frozen=True)
class Stability:
    """Whether the asynchronous state of a Brunel network is stable.

    rate_hz:        the stationary rate nu_0 (theory.brunel_rate, Hz).
    unstable_modes: the number of roots of 1 - G with positive real part (0: stable).
    frequency_hz:   the frequency of the strongest instability: where G(i omega) crosses
                    the real axis furthest beyond 1 (0 for a non-oscillating instability,
                    G(0) > 1; NaN when stable).
    gain_at_zero:   G(0), the static loop gain.
    """

    rate_hz: float
    unstable_modes: int
    frequency_hz: float
    gain_at_zero: float

    @property
    def stable(self) -> bool:
        return self.unstable_modes == 0


def _responses(mu, sigma, omega, tau, theta, v_r, rp, points_per_sd, depth_sd):
    """Threshold integration in SI floats. Returns (nu_0 Hz, A_mu (n,), A_s (n,))."""
    m = max(20, int(math.ceil((theta - v_r) / sigma * points_per_sd)))
    h = (theta - v_r) / m                         # the reset falls on the grid, m steps down
    n = m + int(math.ceil((v_r - min(v_r, mu) + depth_sd * sigma) / h))
    s2 = sigma * sigma
    H = 2 * tau / s2
    iw = 1j * omega
    half = 0.5 * h * iw
    reinjected = np.exp(-iw * rp)                 # the rate returns at the reset after tau_rp
    p0, j0 = 0.0, 1.0                             # stationary density and flux, per unit rate
    p0_sum = 0.0                                  # trapezoid sum of the stationary density
    zero = np.zeros(omega.shape, dtype=complex)
    pu, ju = zero.copy(), zero + 1.0              # unit rate modulation at the threshold
    pm, jm = zero.copy(), zero.copy()             # unit modulation of mu
    ps, js = zero.copy(), zero.copy()             # unit modulation of sigma^2
    for k in range(n):
        # stepping down by h from v = theta - k h; the drift coefficient at the interval's middle
        G = 2 * (theta - (k + 0.5) * h - mu) / s2
        e = math.exp(G * h)
        f = math.expm1(G * h) / G if G != 0 else h
        p0_next = p0 * e + H * j0 * f
        p0_mid = 0.5 * (p0 + p0_next)
        dp0_mid = -(G * p0_mid + H * j0)          # d p_0 / dv
        pu_next = pu * e + H * (ju + half * pu) * f
        pm_next = pm * e + (H * (jm + half * pm) - 2 * p0_mid / s2) * f
        ps_next = ps * e + (H * (js + half * ps) + dp0_mid / s2) * f
        ju = ju + half * (pu + pu_next)           # d j / d(-v) = i omega p
        jm = jm + half * (pm + pm_next)
        js = js + half * (ps + ps_next)
        p0_sum += 0.5 * (p0 + p0_next) * h
        p0, pu, pm, ps = p0_next, pu_next, pm_next, ps_next
        if k + 1 == m:                            # below the reset no flux comes back
            j0 = 0.0
            ju = ju - reinjected
    nu0 = 1.0 / (p0_sum + rp)
    return nu0, -jm * nu0 / ju, -js * nu0 / ju


def rate_response(mu, sigma, freq_hz, tau=20 * ms, theta=20 * mV, V_r=10 * mV, tau_rp=2 * ms,
                  points_per_sd: int = 100, depth_sd: float = 8.0) -> RateResponse:
    """Rate response of the LIF neuron tau dV/dt = -V + mu + sigma sqrt(tau) xi to modulations.

    mu, sigma: mean and noise amplitude of the input (volt, sigma > 0), as in theory.siegert_rate.
    freq_hz:   (n,) modulation frequencies >= 0 (Hz); 0 gives the static derivatives
               d nu_0 / d mu and d nu_0 / d sigma^2 (evaluated at 1e-6 Hz).
    tau, theta, V_r, tau_rp: the neuron (Brunel 2000's by default).
    points_per_sd: grid steps per sigma (accuracy ~ (1 / points_per_sd)^2).
    depth_sd:  the lower bound lies depth_sd sigmas below min(V_r, mu).
    Returns a RateResponse.
    """
    tau_s, theta_v, v_r, rp_s = _neuron(tau, theta, V_r, tau_rp)
    mu_v = theory._quantity(mu, mV, "mu", "15*mV")
    sigma_v = theory._quantity(sigma, mV, "sigma", "5*mV", positive=True)
    f = np.atleast_1d(np.asarray(freq_hz, dtype=float))
    if f.ndim != 1 or not np.all(np.isfinite(f)) or np.any(f < 0):
        raise ValueError(f"freq_hz must be a 1-D array of finite frequencies >= 0, got {freq_hz!r}")
    if int(points_per_sd) < 10 or depth_sd <= 0:
        raise ValueError(f"need points_per_sd >= 10 and depth_sd > 0, got {points_per_sd}, {depth_sd}")
    omega = 2 * np.pi * np.maximum(f, 1e-6)
    nu0, a_mu, a_s = _responses(mu_v, sigma_v, omega, tau_s, theta_v, v_r, rp_s, int(points_per_sd),
                                float(depth_sd))
    return RateResponse(f, nu0, a_mu, a_s)


def brunel_gain(g: float, eta: float, freq_hz, J=0.1 * mV, C_E: int = 1000, gamma: float = 0.25,
                D=1.5 * ms, tau=20 * ms, theta=20 * mV, V_r=10 * mV, tau_rp=2 * ms,
                points_per_sd: int = 100) -> tuple[float, np.ndarray]:
    """Loop gain G(i omega) of the Brunel (2000) network around its stationary state.

    Arguments as in theory.brunel_rate, plus D (the synaptic delay) and freq_hz ((n,) Hz >= 0).
    Returns (nu_0 in Hz, G (n,) complex); G is 0 when the stationary state is silent.
    """
    tau_s, theta_v, v_r, rp_s = _neuron(tau, theta, V_r, tau_rp)
    g, eta, J_v, C_E, gamma = _network(g, eta, J, C_E, gamma)
    d_s = _nonneg_time(D, "D", "1.5*ms")
    f = np.atleast_1d(np.asarray(freq_hz, dtype=float))
    nu = float(theory.brunel_rate(g, eta, J, C_E, gamma, tau, theta, V_r, tau_rp) / Hz)
    mu, sigma = theory._mu_sigma(nu, g, eta, J_v, C_E, gamma, tau_s, theta_v)
    if nu <= 0 or sigma <= 0:
        return nu, np.zeros(f.shape, dtype=complex)
    resp = rate_response(mu * 1e3 * mV, sigma * 1e3 * mV, f, tau, theta, V_r, tau_rp, points_per_sd)
    k_mu = C_E * J_v * tau_s * (1 - g * gamma)            # d mu / d nu (Brunel 2000, Sec. 3)
    k_var = J_v * J_v * C_E * tau_s * (1 + g * g * gamma)  # d sigma^2 / d nu
    gain = np.exp(-2j * np.pi * f * d_s) * (k_mu * resp.mu_gain + k_var * resp.var_gain)
    return nu, gain


def brunel_stability(g: float, eta: float, J=0.1 * mV, C_E: int = 1000, gamma: float = 0.25,
                     D=1.5 * ms, tau=20 * ms, theta=20 * mV, V_r=10 * mV, tau_rp=2 * ms,
                     f_max_hz: float = 3000.0, df_hz: float = 1.0, points_per_sd: int = 100) -> Stability:
    """Is the asynchronous state of the Brunel (2000) network at (g, eta) linearly stable?

    Arguments as in brunel_gain; G is evaluated on [0, f_max_hz] in steps of df_hz, which
    must resolve the delay's phase turn (1 / D) and reach frequencies where |G| has
    settled below 1 (3 kHz does for the paper's neuron and D = 1.5 ms).
    Returns a Stability. Brunel (2000), Fig. 2 (D = 1.5 ms): state C (g = 5, eta = 2) is
    stable; B (6, 4) has a fast and D (4.5, 0.9) a slow oscillatory instability.
    """
    if not (np.isfinite(f_max_hz) and np.isfinite(df_hz) and 0 < df_hz < f_max_hz):
        raise ValueError(f"need 0 < df_hz < f_max_hz, got df_hz={df_hz}, f_max_hz={f_max_hz}")
    f = np.arange(0.0, f_max_hz + 0.5 * df_hz, df_hz)
    nu, gain = brunel_gain(g, eta, f, J, C_E, gamma, D, tau, theta, V_r, tau_rp, points_per_sd)
    phase = np.unwrap(np.angle(1.0 - gain))
    # clockwise turns of 1 - G along the whole imaginary axis = roots in the right half plane;
    # the negative frequencies (the conjugate curve) turn it as much as the positive ones
    modes = int(round(-(phase[-1] - phase[0]) / np.pi))
    crossing = np.flatnonzero(np.diff(np.sign(gain.imag)) != 0)
    beyond = [k for k in crossing if gain[k].real > 1 and f[k] > 0]
    if modes <= 0:
        freq = float("nan")
    elif gain[0].real > 1 and not beyond:
        freq = 0.0
    else:
        k = max(beyond, key=lambda i: gain[i].real) if beyond else int(np.argmax(gain.real))
        freq = float(f[k])
    return Stability(nu, max(modes, 0), freq, float(gain[0].real))
