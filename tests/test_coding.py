"""bridge.coding: values <-> spikes and currents."""
import numpy as np
import pytest

from bio.layered import poisson_spikes
from bridge import coding


def test_poisson_round_trip_error_falls_as_one_over_sqrt_t():
    """Spike counts are binomial, so the rate estimate's error is sqrt(p (1 - p) / T) / (r dt):
    16x more steps -> 4x smaller error (standard result for a Bernoulli/Poisson rate code)."""
    values = np.random.default_rng(0).random((200, 50))
    rate, dt_ms = 500.0, 1.0
    errors = {}
    for t_ms in (100, 1600):
        est = coding.decode_poisson(coding.poisson(values, rate, t_ms, dt_ms, seed=1), rate, dt_ms)
        errors[t_ms] = np.sqrt(np.mean((est - values) ** 2))
        p = values * rate * dt_ms * 1e-3
        theory = np.sqrt(np.mean(p * (1 - p) / t_ms)) / (rate * dt_ms * 1e-3)
        assert errors[t_ms] == pytest.approx(theory, rel=0.05)
    assert errors[100] / errors[1600] == pytest.approx(4.0, rel=0.1)


def test_poisson_same_draws_as_bio():
    v = np.random.default_rng(2).random((3, 4))
    np.testing.assert_array_equal(coding.poisson(v, 300.0, 20, 1.0, seed=7),
                                  poisson_spikes(v, 300.0, 20, 1e-3, seed=7))


def test_current_rate_round_trip():
    """An IF neuron driven by x * max_rate fires at that rate; rates_to_values undoes the scale."""
    v = np.array([[0.2, 0.7]])
    drive_hz = coding.currents(v, 250.0)
    np.testing.assert_allclose(coding.rates_to_values(drive_hz, 250.0, scale=3.0), 3.0 * v)
    np.testing.assert_allclose(coding.counts_to_rates(np.array([5, 10]), 50.0), [100.0, 200.0])


def test_latency_round_trip_within_half_a_step():
    v = np.random.default_rng(3).random((10, 20))
    v[0, 0] = 0.0
    spikes = coding.latency_spikes(v, t_max_ms=50.0, dt_ms=1.0)
    assert spikes.sum(axis=0).max() == 1 and not spikes[:, 0, 0].any()
    back = coding.decode_latency(coding.first_spike_times(spikes, 1.0), 50.0)
    assert np.abs(back - v).max() <= 0.5 / 50 + 1e-12
    assert back[0, 0] == 0.0
    np.testing.assert_allclose(coding.decode_latency(coding.latency(v, 50.0), 50.0), v)


def test_bad_values_are_explained():
    with pytest.raises(ValueError, match=r"values must lie in \[0, 1\]"):
        coding.poisson(np.array([[1.5]]), 100.0, 10)
    with pytest.raises(ValueError, match="above one spike per step"):
        coding.poisson(np.array([[0.5]]), 2000.0, 10, dt_ms=1.0)
