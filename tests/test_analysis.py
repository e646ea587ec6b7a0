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


# ---- the move to Elephant: same numbers as the former hand-written formulas and as Elephant

def _grid_poisson_record(n=300, duration_s=2.0, seed=4, dt=1e-4):
    """Poisson neurons (5-40 Hz) on Brian2's 0.1 ms grid, ties ordered by index as bio.run records
    them: spikes sit on bin edges, where floating-point binning goes wrong if anywhere."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(5, 40, n)
    k, i = np.nonzero(rng.random((int(round(duration_s / dt)), n)) < rate * dt)  # (T, N)
    order = np.lexsort((i, k))
    return SpikeRecord({"exc": k[order] * dt}, {"exc": i[order].astype(np.int64)}, {"exc": n}, duration_s)


def _old_cv_isi(rec, pop, t_start_s=0.0, t_stop_s=None):
    """bio/analysis.py before Elephant (commit 61511fb), verbatim."""
    t_stop_s = rec.duration_s if t_stop_s is None else t_stop_s
    cvs = []
    for train in rec.spike_trains(pop):
        train = train[(train >= t_start_s) & (train < t_stop_s)]
        if len(train) >= 3:
            isi = np.diff(train)
            cvs.append(isi.std() / isi.mean() if isi.mean() > 0 else 0.0)
    return float(np.mean(cvs)) if cvs else float("nan")


def _old_population_rate(rec, pop, bin_s, t_start_s=0.0, t_stop_s=None):
    """bio/analysis.py before Elephant (commit 61511fb), verbatim."""
    t_stop_s = rec.duration_s if t_stop_s is None else t_stop_s
    n_bins = int(np.floor((t_stop_s - t_start_s) / bin_s + 1e-9))
    k = np.floor((rec.times_s[pop] - t_start_s) / bin_s + 1e-9).astype(np.int64)
    counts = np.bincount(k[(k >= 0) & (k < n_bins)], minlength=n_bins).astype(np.float64)
    return t_start_s + (np.arange(n_bins) + 0.5) * bin_s, counts / (max(rec.n_neurons[pop], 1) * bin_s)


@pytest.mark.parametrize("window", [(0.0, None), (0.25, 1.7)])
def test_elephant_versions_equal_the_former_formulas(window):
    """cv_isi, mean_rate, population_rate and power_spectrum now call Elephant; on the same data
    they give bit-identical numbers to the hand-written code they replace."""
    from scipy import signal
    rec, (t0, t1) = _grid_poisson_record(), window
    assert analysis.cv_isi(rec, "exc", t0, t1) == _old_cv_isi(rec, "exc", t0, t1)
    assert analysis.mean_rate(rec, "exc", t0, t1) == float(analysis.rates(rec, "exc", t0, t1).mean())
    for bin_s in (1e-3, 5e-3, 3e-3):  # 3 ms bins leave a partial last bin
        t_new, r_new = analysis.population_rate(rec, "exc", bin_s, t0, t1)
        t_old, r_old = _old_population_rate(rec, "exc", bin_s, t0, t1)
        np.testing.assert_array_equal(t_new, t_old)
        np.testing.assert_array_equal(r_new, r_old)
    _, r = _old_population_rate(rec, "exc", 1e-3, t0, t1)
    freq_old, p_old = signal.welch(r - r.mean(), fs=1e3, nperseg=500, detrend=False)
    freq, p = analysis.power_spectrum(rec, "exc", 1e-3, t0, t1)
    np.testing.assert_array_equal(freq, freq_old)
    np.testing.assert_array_equal(p, p_old)


def test_grouped_statistics_equal_elephant_train_by_train():
    """The population-wide shortcuts give what Elephant gives one neo.SpikeTrain at a time:
    CV (statistics.cv of statistics.isi), ISIs, rates (mean_firing_rate) and the per-neuron
    Fano factor (fanofactor, with a neuron's bins as the trials)."""
    import neo
    import quantities as pq
    from elephant import statistics as es
    rec = _grid_poisson_record(n=60)
    trains = rec.spike_trains("exc")
    cv = analysis.cv_per_neuron(rec, "exc")
    for k, x in enumerate(trains):
        expected = es.cv(es.isi(x)) if len(x) >= 3 else np.nan
        np.testing.assert_equal(cv[k], expected)
    np.testing.assert_array_equal(np.sort(analysis.isis(rec, "exc")),
                                  np.sort(np.concatenate([np.diff(x) for x in trains])))
    st = [neo.SpikeTrain(x, t_stop=rec.duration_s * pq.s, units="s") for x in trains]
    np.testing.assert_allclose(analysis.rates(rec, "exc"),
                               [float(es.mean_firing_rate(x).rescale("Hz")) for x in st], rtol=1e-12)
    bin_s = 0.1
    counts = analysis.binned_counts(rec, "exc", bin_s)  # (T, N)
    per_neuron = []
    for k, x in enumerate(trains):
        which = np.floor(x / bin_s + 1e-9)  # a spike on a bin edge (0.1 ms grid) opens the next bin
        bins = [x[which == b] for b in range(counts.shape[0])]
        assert [len(b) for b in bins] == counts[:, k].tolist()
        if len(x):
            per_neuron.append(es.fanofactor(bins))
    assert analysis.fano_factor(rec, "exc", bin_s) == pytest.approx(np.mean(per_neuron), rel=1e-12)


def test_lvr_clock_and_poisson():
    """LvR (Shinomoto et al. 2009) is 0 for a clock whatever R; for a Poisson process of rate r
    it is 1 + 4 R r (derived in the docstring), i.e. 1.4 at 20 Hz with R = 5 ms, 1 with R = 0."""
    clock = _record([np.arange(0.003, 5, 0.025) for _ in range(5)], 5.0)
    assert analysis.lvr(clock, "exc") == pytest.approx(0.0, abs=1e-12)
    poisson = _record(_poisson(40, 20.0, 50.0, seed=5), 50.0)
    assert analysis.lvr(poisson, "exc", R_s=5e-3) == pytest.approx(1.4, abs=0.03)
    assert analysis.lvr(poisson, "exc", R_s=0.0) == pytest.approx(1.0, abs=0.03)
    assert np.isnan(analysis.lvr(_record([[0.1, 0.2], []], 1.0), "exc"))


@pytest.mark.parametrize("shift_s", [0.005, -0.003])
def test_cch_peaks_at_the_shift(shift_s):
    """A train against a copy shifted by d: every spike pair of the copy sits at lag d
    (bins of 1 ms), so the CCH peaks there with the copy's spike count."""
    a = _poisson(1, 20.0, 20.0, seed=6)[0]
    b = a + shift_s
    b = b[(b >= 0) & (b < 20.0)]
    rec = _record([a, b], 20.0)
    lags, counts = analysis.cch(rec, "exc", 0, 1, bin_s=1e-3, max_lag_s=0.02)
    assert lags.shape == counts.shape == (41,)
    assert lags[np.argmax(counts)] == pytest.approx(shift_s)
    assert counts.max() == len(b)
    with pytest.raises(ValueError, match="max_lag_s"):
        analysis.cch(rec, "exc", 0, 1, bin_s=1e-3, max_lag_s=30.0)
    with pytest.raises(ValueError, match="neuron 7"):
        analysis.cch(rec, "exc", 0, 7)


def test_sttc_known_cases():
    """Cutts & Eglen (2014): STTC = 1 when each spike has a partner of the other train within dt,
    ~0 for independent trains; NaN for an empty train."""
    a, c = _poisson(2, 10.0, 50.0, seed=7)
    rec = _record([a, a + 0.002, c, []], 50.1)
    assert analysis.sttc(rec, "exc", 0, 1, dt_s=5e-3) == pytest.approx(1.0)
    assert abs(analysis.sttc(rec, "exc", 0, 2, dt_s=5e-3)) < 0.1
    assert np.isnan(analysis.sttc(rec, "exc", 0, 3))


def test_spike_contrast_extremes():
    """Ciba et al. (2018): spike contrast is 1 for identical trains (once the smallest bin,
    10 ms, holds one spike at a time) and 0 when a single train is active (Elephant's own test
    case); independent Poisson trains lie in between."""
    same = _record([np.arange(0.013, 2.0, 0.05)] * 10, 2.0)
    assert analysis.spike_contrast(same, "exc") == pytest.approx(1.0)
    clustered = _record(_poisson(1, 20.0, 2.0, seed=8) * 10, 2.0)  # some ISIs < 10 ms
    assert 0.9 < analysis.spike_contrast(clustered, "exc") <= 1.0
    alone = _record([_poisson(1, 20.0, 2.0, seed=8)[0], [], []], 2.0)
    assert analysis.spike_contrast(alone, "exc") == 0.0
    indep = analysis.spike_contrast(_record(_poisson(20, 20.0, 2.0, seed=9), 2.0), "exc")
    assert 0.05 < indep < 0.7
    assert np.isnan(analysis.spike_contrast(_record([[0.5], []], 1.0), "exc"))


def test_psth_of_a_fixed_latency_response():
    """Every neuron fires once, 22.5 ms after each event: the PSTH is 1 spike / 5 ms = 200 Hz
    in the [20, 25) ms bin and 0 elsewhere."""
    events = np.arange(0.1, 1.9, 0.25)
    rec = _record([events + 0.0225 for _ in range(6)], 2.0)
    t, r = analysis.psth(rec, "exc", events, pre_s=0.05, post_s=0.1, bin_s=5e-3)
    assert t.shape == r.shape == (30,)
    expected = np.where(np.isclose(t, 0.0225), 200.0, 0.0)
    np.testing.assert_allclose(r, expected, atol=1e-9)
    _, r_half = analysis.psth(rec, "exc", events, pre_s=0.05, post_s=0.1, bin_s=5e-3, neurons=[0, 1, 2])
    np.testing.assert_allclose(r_half, expected, atol=1e-9)
    with pytest.raises(ValueError, match="leave the record"):
        analysis.psth(rec, "exc", [0.01], pre_s=0.05)


def test_ephys_figure(tmp_path):
    """Two populations: raster, rate, ISI and CV panels each (8 axes), titled, with units."""
    rec = _record(_poisson(40, 15.0, 1.0, seed=10), 1.0)
    inh = _poisson(10, 40.0, 1.0, seed=11)
    rec.times_s["inh"] = np.concatenate(inh)
    rec.indices["inh"] = np.concatenate([np.full(len(x), k) for k, x in enumerate(inh)])
    rec.n_neurons["inh"] = 10
    fig = analysis.ephys_figure(rec, max_neurons=30)
    assert len(fig.axes) == 8
    raster, rate, isi, cv = fig.axes[4:]
    assert raster.get_title().startswith("inh") and isi.get_title().startswith("inh")
    assert rate.get_xlabel() == "time (s)" and rate.get_ylabel() == "rate (Hz)"
    assert isi.get_xlabel() == "inter-spike interval (ms)" and "neurons" in cv.get_ylabel()
    assert "10 of 10" in raster.get_ylabel()
    fig.savefig(tmp_path / "ephys.png", dpi=80)
    assert (tmp_path / "ephys.png").stat().st_size > 20_000
    with pytest.raises(ValueError, match="no population 'gaba'"):
        analysis.ephys_figure(rec, populations=["gaba"])
