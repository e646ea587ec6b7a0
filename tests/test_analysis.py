"""Spike-train statistics against closed-form answers."""
import numpy as np
import pytest

from bio import analysis
from bio.record import SpikeRecord


def _record(trains, duration_s, pop="exc"):
    """SpikeRecord of one population from a list of per-neuron spike-time arrays."""
    t = np.concatenate([np.asarray(x, float) for x in trains]) if trains else np.zeros(0)
    i = np.concatenate([np.full(len(x), k) for k, x in enumerate(trains)]).astype(np.int64)
    order = np.argsort(t, kind="stable")
    return SpikeRecord({pop: t[order]}, {pop: i[order]}, {pop: len(trains)}, duration_s)


def _poisson(n, rate_hz, duration_s, seed=0):
    rng = np.random.default_rng(seed)
    return [np.sort(rng.uniform(0, duration_s, rng.poisson(rate_hz * duration_s))) for _ in range(n)]


def test_rates():
    rec = _record([np.arange(0, 2, 0.1), np.arange(0, 2, 0.05), []], 2.0)
    np.testing.assert_allclose(analysis.rates(rec, "exc"), [10, 20, 0])
    assert analysis.mean_rate(rec, "exc") == pytest.approx(10.0)


def test_regular_train_has_cv_zero_and_fano_zero():
    """A clock: all ISIs equal (CV 0); counts in bins of whole periods never vary (Fano 0)."""
    rec = _record([np.arange(0.0005, 5, 0.02) + 0.001 * k for k in range(10)], 5.0)
    assert analysis.cv_isi(rec, "exc") == pytest.approx(0.0, abs=1e-9)
    assert analysis.fano_factor(rec, "exc", bin_s=0.1) == pytest.approx(0.0, abs=1e-9)


def test_poisson_train_has_cv_and_fano_one():
    """Poisson process: exponential ISIs (CV 1) and Poisson counts (Fano 1)."""
    rec = _record(_poisson(50, 20.0, 20.0), 20.0)
    assert analysis.cv_isi(rec, "exc") == pytest.approx(1.0, abs=0.05)
    assert analysis.fano_factor(rec, "exc", bin_s=0.1) == pytest.approx(1.0, abs=0.05)


def test_cv_nan_without_enough_spikes():
    rec = _record([[0.1, 0.5], []], 1.0)
    assert np.isnan(analysis.cv_isi(rec, "exc"))


def test_synchrony_extremes():
    """Golomb (2007): chi = 1 for identical neurons, ~1/sqrt(N) for independent ones."""
    same = _poisson(1, 20.0, 10.0, seed=1) * 100
    assert analysis.synchrony(_record(same, 10.0), "exc") == pytest.approx(1.0)
    indep = _record(_poisson(400, 20.0, 10.0, seed=2), 10.0)
    chi = analysis.synchrony(indep, "exc")
    assert chi == pytest.approx(1 / np.sqrt(400), rel=0.3)


def test_population_rate_and_spectrum_peak():
    """Population firing modulated at 10 Hz gives a 10 Hz spectral peak."""
    rng = np.random.default_rng(3)
    duration = 4.0
    trains = []
    for _ in range(200):
        cycles = np.arange(0, duration, 0.1)  # one volley every 100 ms
        fire = cycles[rng.random(len(cycles)) < 0.5]
        trains.append(np.sort(fire + rng.normal(0, 0.005, len(fire))).clip(0, duration - 1e-6))
    rec = _record(trains, duration)
    t, r = analysis.population_rate(rec, "exc", bin_s=1e-3)
    assert t.shape == r.shape == (4000,)
    assert r.mean() == pytest.approx(analysis.mean_rate(rec, "exc"), rel=1e-9)
    assert analysis.peak_frequency(rec, "exc", bin_s=1e-3) == pytest.approx(10.0, abs=1.0)


def test_unknown_population_is_explained():
    rec = _record([[0.1]], 1.0)
    with pytest.raises(ValueError, match="exc"):
        analysis.mean_rate(rec, "inh")


def test_raster_figure(tmp_path):
    rec = _record(_poisson(30, 10.0, 1.0), 1.0)
    rec.times_s["inh"], rec.indices["inh"], rec.n_neurons["inh"] = np.array([0.5]), np.array([0]), 5
    fig = analysis.raster_figure(rec, max_neurons=20)
    raster, rate = fig.axes
    assert rate.get_xlabel() == "time (s)" and rate.get_ylabel() == "rate (Hz)"
    assert len(raster.collections) == 2  # one scatter per population
    fig.savefig(tmp_path / "raster.png")
    assert (tmp_path / "raster.png").stat().st_size > 1000
