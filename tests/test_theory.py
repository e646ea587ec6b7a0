"""bio.theory: Brunel (2000) mean-field rate and CV, checked against an independent simulation.

The reference is a plain NumPy simulation of the white-noise LIF,
tau dV/dt = -V + mu + sigma sqrt(tau) xi, that shares no code with bio.theory:
exact Ornstein-Uhlenbeck steps plus the Brownian-bridge probability of a threshold
crossing between two samples, exp(-2 (theta - V_n)(theta - V_n+1) / (sigma^2 dt / tau)),
which removes the O(sqrt(dt)) rate bias of checking the threshold only at the samples.
Each neuron starts at reset and contributes its first M interspike intervals (a
renewal process, so these are independent draws of the ISI with no start-up transient
and no bias from intervals cut off at the end of the run).
"""
import math

import numpy as np
import pytest
from brian2 import Hz, mV, ms, second

from bio import theory

TAU, THETA, V_R, T_RP = 0.02, 0.02, 0.01, 0.002  # Brunel (2000), model A (SI units)


def simulated_isis(mu: float, sigma: float, n: int = 1000, m: int = 8, dt: float = 1e-4,
                   seed: int = 0) -> np.ndarray:
    """First m ISIs (s) of n independent white-noise LIF neurons; returns (n * m,)."""
    rng = np.random.default_rng(seed)
    decay = math.exp(-dt / TAU)
    step_sd = sigma * math.sqrt((1 - decay**2) / 2)     # exact OU transition
    bridge_var = sigma**2 * dt / TAU                     # noise variance per step near threshold
    v = np.full(n, V_R)
    last = np.zeros(n)                                   # t = 0 counts as a spike (start at reset)
    free_at = np.full(n, T_RP)
    isis, done = np.zeros((n, m)), np.zeros(n, dtype=int)
    step = 0
    while done.min() < m:
        step += 1
        t = step * dt
        free = t > free_at + 1e-12
        v_new = np.where(free, mu + (v - mu) * decay + step_sd * rng.standard_normal(n), V_R)
        gap = np.maximum(THETA - v, 0) * np.maximum(THETA - v_new, 0)
        spike = free & ((v_new >= THETA) | (rng.random(n) < np.exp(-2 * gap / bridge_var)))
        fill = np.nonzero(spike & (done < m))[0]
        isis[fill, done[fill]] = t - last[fill]
        done[fill] += 1
        last[spike], free_at[spike] = t, t + T_RP
        v = np.where(spike, V_R, v_new)
    return isis.ravel()


def paper_mu_sigma(nu: float, g: float, eta: float, J=1e-4, C_E=1000, gamma=0.25):
    """mu, sigma (V) of Brunel (2000), Sec. 3, written out again here for independence."""
    nu_ext = eta * THETA / (J * C_E * TAU)
    mu = C_E * J * TAU * (nu_ext + nu * (1 - g * gamma))
    sigma = math.sqrt(J**2 * C_E * TAU * (nu_ext + nu * (1 + g**2 * gamma)))
    return mu, sigma


def test_state_c_rate_is_37_9_hz():
    """Brunel (2000), eq. 21: state C (g = 5, eta = 2, paper parameters) fires at about 37.9 Hz.

    At nu = 37.95 Hz: mu = 40 mV - 0.5 mV/Hz * nu = 21.0 mV, sigma^2 = 0.2 mV^2/Hz (20 Hz + 7.25 nu).
    """
    nu = float(theory.brunel_rate(5.0, 2.0) / Hz)
    assert nu == pytest.approx(37.95, abs=0.05)
    mu, sigma = theory.brunel_mu_sigma(nu * Hz, 5.0, 2.0)
    assert float(mu / mV) == pytest.approx(40 - 0.5 * nu, rel=1e-9)
    assert float(sigma / mV) == pytest.approx(math.sqrt(0.2 * (20 + 7.25 * nu)), rel=1e-9)


@pytest.mark.parametrize("g, eta", [(5.0, 2.0), (6.0, 4.0), (4.5, 0.9), (8.0, 1.5)])
def test_rate_and_cv_match_a_brute_force_simulation(g, eta):
    """Inhibition-dominated states (Brunel 2000, Fig. 8 C, B, D and g = 8): a neuron driven by the
    mu, sigma of the predicted network rate fires at that same rate (the fixed point is real) and
    with the predicted CV. 8000 ISIs give ~1 % error on the mean, so 3 % still catches a 10 % slip."""
    nu = float(theory.brunel_rate(g, eta) / Hz)
    mu, sigma = paper_mu_sigma(nu, g, eta)
    isi = simulated_isis(mu, sigma, seed=int(10 * g + eta))
    assert 1 / isi.mean() == pytest.approx(nu, rel=0.03)
    assert isi.std() / isi.mean() == pytest.approx(theory.brunel_cv(g, eta), rel=0.04)


def test_rate_falls_with_inhibition_and_rises_with_drive():
    """Brunel (2000), Fig. 2: in the inhibition-dominated regime nu_0 decreases with g, increases with eta."""
    by_g = [float(theory.brunel_rate(g, 2.0) / Hz) for g in (4.5, 5.0, 6.0, 8.0)]
    by_eta = [float(theory.brunel_rate(5.0, eta) / Hz) for eta in (1.0, 2.0, 3.0, 4.0)]
    assert np.all(np.diff(by_g) < 0) and np.all(np.diff(by_eta) > 0)
    assert by_g[-1] < 0.5 * by_g[0]


def test_lowest_of_several_solutions_is_returned():
    """g = 3 < 1/gamma, eta = 0.8: besides a near-silent solution a second one exists above 100 Hz
    (the network's output at 100 Hz input exceeds 100 Hz, and at 1/tau_rp it is below). The
    iteration nu <- nu_out(nu) from 0 settles on the low one, which brunel_rate returns."""
    def nu_out(nu):
        return theory.siegert_rate(*theory.brunel_mu_sigma(nu, 3.0, 0.8))

    assert nu_out(100 * Hz) > 100 * Hz and nu_out(500 * Hz) < 500 * Hz
    nu = 0 * Hz
    for _ in range(50):
        nu = nu_out(nu)
    low = theory.brunel_rate(3.0, 0.8)
    assert 0 * Hz < low < 0.1 * Hz
    assert float(nu / low) == pytest.approx(1.0, rel=1e-6)


def test_cv_limits():
    """Fluctuation-driven firing (mu well below theta, rare spikes) is Poisson-like, CV -> 1;
    strongly driven firing is nearly periodic. For small sigma the linear-noise approximation
    gives CV = sd(V at T*) / (slope * ISI): T* = tau ln((mu - V_r)/(mu - theta)),
    var = sigma^2/2 (1 - e^{-2T*/tau}), slope = (mu - theta)/tau."""
    assert float(theory.siegert_rate(10 * mV, 2 * mV) / Hz) < 1e-3
    assert theory.siegert_cv(10 * mV, 2 * mV) == pytest.approx(1.0, abs=0.01)
    mu, sigma = 0.04, 2e-4
    t_star = TAU * math.log((mu - V_R) / (mu - THETA))
    sd_t = sigma * math.sqrt((1 - math.exp(-2 * t_star / TAU)) / 2) / ((mu - THETA) / TAU)
    assert theory.siegert_cv(mu * 1e3 * mV, sigma * 1e3 * mV) == pytest.approx(sd_t / (t_star + T_RP), rel=0.01)
    assert theory.siegert_cv(40 * mV, 0.5 * mV) < 0.05


def test_noiseless_limit_is_the_deterministic_lif():
    """sigma -> 0 with mu > theta: 1/nu = tau_rp + tau ln((mu - V_r)/(mu - theta)) (98.92 Hz at 40 mV)."""
    exact = 1 / (T_RP + TAU * math.log(3 / 2))
    assert float(theory.siegert_rate(40 * mV, 1e-3 * mV) / Hz) == pytest.approx(exact, rel=1e-6)
    assert float(theory.siegert_rate(40 * mV, 0 * mV) / Hz) == pytest.approx(exact, rel=1e-12)
    assert theory.siegert_rate(15 * mV, 0 * mV) == 0 * Hz


def test_balance_point_removes_the_recurrent_mean():
    """Brunel (2000), Sec. 2: at g = 1/gamma the recurrent input adds noise but no mean."""
    g = theory.balance_g(0.25)
    assert g == 4.0
    mu0, s0 = theory.brunel_mu_sigma(0 * Hz, g, 2.0)
    mu1, s1 = theory.brunel_mu_sigma(100 * Hz, g, 2.0)
    assert float(mu0 / mV) == pytest.approx(40.0) and float(mu1 / mV) == pytest.approx(40.0)
    assert float(s0 / mV) == pytest.approx(2.0) and s1 > 3 * s0  # sigma^2 = J eta theta at nu = 0
    assert theory.brunel_rate(5.0, 0.0) == 0 * Hz


@pytest.mark.parametrize("call, match", [
    (lambda: theory.brunel_rate(5.0, 2.0, J=1 * ms), "J must be .*volt"),
    (lambda: theory.brunel_rate(5.0, 2.0, J=0.1), "J must be .*volt"),
    (lambda: theory.brunel_rate(5.0, 2.0, tau=-20 * ms), "tau must be > 0"),
    (lambda: theory.brunel_rate(5.0, 2.0, tau_rp=-1 * ms), "tau_rp must be >= 0"),
    (lambda: theory.brunel_rate(float("nan"), 2.0), "g .*finite"),
    (lambda: theory.brunel_rate(5.0, -1.0), "eta .*>= 0"),
    (lambda: theory.brunel_rate(5.0, 2.0 * mV), "eta .*dimensionless"),
    (lambda: theory.brunel_rate(5.0, 2.0, C_E=10.5), "C_E .*integer"),
    (lambda: theory.brunel_rate(5.0, 2.0, V_r=25 * mV), "V_r must lie below"),
    (lambda: theory.brunel_rate(3.0, 2.0, tau_rp=0 * ms), "no stationary rate"),
    (lambda: theory.brunel_mu_sigma(-1 * Hz, 5.0, 2.0), "nu must be >= 0"),
    (lambda: theory.brunel_mu_sigma(5.0, 5.0, 2.0), "nu must be .*Hz"),
    (lambda: theory.siegert_rate(15 * mV, -1 * mV), "sigma must be >= 0"),
    (lambda: theory.siegert_cv(15 * mV, 1 * second), "sigma must be .*volt"),
    (lambda: theory.balance_g(0.0), "gamma .*> 0"),
])
def test_bad_input_is_explained(call, match):
    with pytest.raises(ValueError, match=match):
        call()
