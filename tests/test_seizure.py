"""Seizure-like episodes: the detector (bio.seizure), the seizure-prone spiking network, and
the recurrent rate network (ann.rate_network) that runs away when inhibition is lost."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import torch
from brian2 import ms, nS, pA

import bio
from ann import lesion as ann_lesion
from ann.rate_network import RateNetwork, phi, phi_prime, spectral_abscissa
from bio import seizure
from bio.record import SpikeRecord
from bridge import disorders


# ---------------------------------------------------------------------------- the detector

def _record(trains: list[np.ndarray], duration_s: float, pop: str = "exc") -> SpikeRecord:
    t = np.concatenate(trains)
    i = np.concatenate([np.full(len(x), k) for k, x in enumerate(trains)])
    order = np.argsort(t, kind="stable")
    return SpikeRecord({pop: t[order]}, {pop: i[order]}, {pop: len(trains)}, duration_s)


def _burst(rng, n, start, stop, rate_hz):
    """Every neuron fires Poisson at rate_hz in [start, stop)."""
    return [np.sort(rng.uniform(start, stop, rng.poisson(rate_hz * (stop - start)))) for _ in range(n)]


def _synthetic(rng, n=100, duration=3.0):
    """Background at 2 Hz; bursts at 150 Hz in [0.8, 1.2) and [2.0, 2.5) s, the second with a
    30 ms dip to 30 Hz (between the thresholds) at 2.2 s; a 50 ms burst at 1.6 s (too short)."""
    parts = [_burst(rng, n, 0.0, duration, 2.0), _burst(rng, n, 0.8, 1.2, 150.0),
             _burst(rng, n, 2.0, 2.2, 150.0), _burst(rng, n, 2.2, 2.23, 30.0),
             _burst(rng, n, 2.23, 2.5, 150.0), _burst(rng, n, 1.6, 1.65, 150.0)]
    return _record([np.concatenate([p[k] for p in parts]) for k in range(n)], duration)


def test_detector_finds_two_known_bursts_within_a_bin():
    """Two bursts of known onset and offset come back within one 10 ms bin; the dip inside the
    second stays above off_hz, so hysteresis keeps it one episode; a 50 ms burst is too short."""
    found = seizure.detect_seizures(_synthetic(np.random.default_rng(0)))
    assert found.count == 2 and found.state == "seizures"
    np.testing.assert_allclose(found.onsets_s, [0.8, 2.0], atol=0.0101)
    np.testing.assert_allclose(found.offsets_s, [1.2, 2.5], atol=0.0101)
    assert np.all(found.terminated) and np.all(found.started)
    assert found.mean_duration_s == pytest.approx(0.45, abs=0.02)
    assert found.per_minute == pytest.approx(40.0)  # 2 episodes in 3 s
    assert found.fraction == pytest.approx(0.9 / 3.0, abs=0.01)
    assert np.all(found.peak_rates_hz > 120)


def test_without_hysteresis_the_dip_splits_the_episode():
    """The same record with off_hz = on_hz: the dip to 30 Hz ends the second episode, so the
    hysteresis is what keeps it whole in the test above."""
    found = seizure.detect_seizures(_synthetic(np.random.default_rng(0)), off_hz=40.0)
    assert found.count == 3


def test_recruitment_threshold_rejects_a_few_fast_neurons():
    """10 of 100 neurons at 190 Hz give a population rate of 19 Hz + background, and only 10-20%
    of neurons fire per bin: with on_hz = 15 the rate passes, the recruitment criterion does not."""
    rng = np.random.default_rng(1)
    trains = _burst(rng, 100, 0.0, 2.0, 2.0)
    for k in range(10):
        trains[k] = np.sort(np.concatenate([trains[k], np.arange(0.5, 1.5, 1 / 190)]))
    rec = _record(trains, 2.0)
    assert seizure.detect_seizures(rec, on_hz=15.0, off_hz=10.0).count == 0
    assert seizure.detect_seizures(rec, on_hz=15.0, off_hz=10.0, min_active=0.05).count == 1


def test_sustained_firing_is_tonic_not_seizures():
    """Every neuron at 150 Hz throughout: one episode covering the window, never starting nor
    ending inside it: labelled tonic, with no seizure counted and no duration."""
    rec = _record(_burst(np.random.default_rng(2), 50, 0.0, 2.0, 150.0), 2.0)
    found = seizure.detect_seizures(rec)
    assert found.state == "tonic" and found.fraction == pytest.approx(1.0)
    assert found.count == 0 and found.per_minute == 0.0 and np.isnan(found.mean_duration_s)


def test_quiet_record_is_asynchronous():
    rec = _record(_burst(np.random.default_rng(3), 50, 0.0, 2.0, 5.0), 2.0)
    found = seizure.detect_seizures(rec)
    assert found.state == "asynchronous" and found.count == 0 and found.fraction == 0.0


@pytest.mark.parametrize("kwargs, match", [(dict(off_hz=50.0), "hysteresis"), (dict(min_active=1.5), "min_active"),
                                           (dict(t_start_s=3.0), "empty window"), (dict(pop="inh"), "no population")])
def test_detector_explains_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        seizure.detect_seizures(_synthetic(np.random.default_rng(0)), **kwargs)


# ---------------------------------------------------------------------------- the network spec

def test_inhibition_knob_is_the_epilepsy_disorder():
    """seizure_spec(inhibition=1 - s) and the 'epilepsy' disorder at severity s applied to the
    healthy spec are the same network (every inhibitory weight times 1 - s, nothing else)."""
    healthy = seizure.seizure_spec(200, 50, seed=3)
    sick = disorders.get("epilepsy", 0.6).apply(healthy)
    direct = seizure.seizure_spec(200, 50, inhibition=0.4, seed=3)
    for name, c in direct.connections.items():
        np.testing.assert_allclose(sick.connections[name].w, c.w, rtol=1e-12)
        np.testing.assert_array_equal(sick.connections[name].i, c.i)
    assert np.allclose(direct.connections["inh_exc"].w, 0.4 * float(seizure.Q_INH / nS) * 1e-9)
    assert np.allclose(direct.connections["exc_exc"].w, healthy.connections["exc_exc"].w)


def test_knobs_and_fixed_indegrees():
    spec = seizure.seizure_spec(200, 50, excitation=1.5, adaptation=0.0, seed=0)
    assert np.all(np.bincount(spec.connections["exc_exc"].j, minlength=200) == seizure.K_EXC)
    assert np.all(np.bincount(spec.connections["inh_exc"].j, minlength=200) == seizure.K_INH)
    assert np.allclose(spec.connections["exc_exc"].w, 1.5 * spec.connections["exc_inh"].w[0])
    assert float(spec.populations["exc"].model.b / pA) == 0.0
    assert float(seizure.seizure_spec(200, 50).populations["exc"].model.b / pA) == pytest.approx(50.0)
    dep = seizure.seizure_spec(200, 50, depression=0.2).connections["exc_exc"].model
    assert isinstance(dep, bio.synapses.TsodyksMarkram) and dep.U == 0.2


@pytest.mark.parametrize("kwargs, match", [(dict(inhibition=-0.1), "inhibition"), (dict(n_exc=20), "n_exc"),
                                           (dict(depression=1.5), "depression")])
def test_spec_explains_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        seizure.seizure_spec(**kwargs)


# ---------------------------------------------------------------------------- the spiking network

def _run(seconds, seed=0, **kwargs):
    spec = seizure.seizure_spec(200, 50, seed=seed, **kwargs)
    rec = bio.run(spec, seconds * 1000 * ms, target="numpy", seed=seed, dt=0.2 * ms)
    return rec, seizure.detect_seizures(rec, t_start_s=0.3)


@pytest.mark.slow
def test_lesioned_network_has_seizures_with_onset_and_termination_healthy_none():
    """Issue 10: the detector finds episodes with onset and termination in the lesioned
    recurrent network (70% of inhibition lost) and none in the healthy one, which fires
    asynchronously and irregularly (CV near 1; Brunel 2000's AI state)."""
    from bio import analysis

    healthy, h = _run(2.0)
    assert h.state == "asynchronous" and len(h.onsets_s) == 0
    assert analysis.mean_rate(healthy, "exc", 0.3) < 15 and analysis.cv_isi(healthy, "exc", 0.3) > 0.5
    sick, s = _run(3.0, inhibition=0.3)
    whole = s.started & s.terminated
    assert s.state == "seizures" and whole.any()
    assert np.all(s.peak_rates_hz[whole] > 100) and np.all(s.durations_s[whole] >= 0.1)


@pytest.mark.slow
def test_adaptation_ends_the_episodes_and_total_loss_is_tonic():
    """Without adaptation the same lesion gives tonic firing (nothing ends an episode:
    the slow feedback is what terminates them, as in Jirsa et al. 2014's slow variable); with
    all inhibition lost the network saturates tonically even with adaptation."""
    _, no_adapt = _run(1.5, inhibition=0.3, adaptation=0.0)
    _, total = _run(1.5, inhibition=0.0)
    assert no_adapt.state == "tonic" and total.state == "tonic"
    assert total.peak_rates_hz.max() > 100


# ---------------------------------------------------------------------------- the rate network

def test_rate_network_obeys_dale_and_lesion_keeps_it():
    net = RateNetwork(seed=0)
    w = net.recurrent.weight.detach()
    assert net.dale_violations() == 0 and (w[:, :net.n_exc] > 0).any() and (w[:, net.n_exc:] < 0).any()
    sick = ann_lesion.scale_weights(net, 0.5, sign="negative")
    assert sick.dale_violations() == 0
    torch.testing.assert_close(sick.recurrent.weight[:, net.n_exc:], 0.5 * w[:, net.n_exc:])
    torch.testing.assert_close(sick.recurrent.weight[:, :net.n_exc], w[:, :net.n_exc])


def test_healthy_rate_network_is_stable_and_returns_to_its_fixed_point():
    net = RateNetwork(seed=0)
    h0, converged = net.fixed_point()
    assert converged and spectral_abscissa(net.jacobian(h0)) < 0
    kick = h0[None] + 0.05 * torch.randn(1, net.n, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        r = net(kick, steps=300)  # 30 tau
    assert float((r[-1, 0] - phi(h0)).abs().max()) < 1e-3


def test_rate_network_runs_away_without_inhibition():
    """With inhibition removed the Jacobian at the healthy state has a positive eigenvalue and
    activity runs away from the healthy level (0.1) to saturation."""
    net = RateNetwork(seed=0)
    h0, _ = net.fixed_point()
    sick = disorders.get("epilepsy", 1.0).apply(net)
    assert spectral_abscissa(sick.jacobian(h0)) > 0.5
    with torch.no_grad():
        r = sick(h0[None], steps=300)
    assert float(phi(h0).mean()) < 0.15 and float(r[-1].mean()) > 0.95


@pytest.mark.parametrize("severity", [0.5, 0.7, 1.0])
def test_largest_eigenvalue_is_the_row_sum_outlier(severity):
    """Rajan & Abbott 2006: with a fixed in-degree every row of W sums to s, the uniform vector
    is an eigenvector with eigenvalue s, and once s exceeds the bulk's radius it is the
    largest: at the homogeneous healthy state, max Re lambda(J) = -1 + phi'(h0) s."""
    net = RateNetwork(seed=1)
    h0, _ = net.fixed_point()
    assert float(h0.std()) < 1e-5  # the healthy state is homogeneous
    sick = ann_lesion.scale_weights(net, 1 - severity, sign="negative")
    s = float(sick.recurrent.weight.detach().double().sum(1).mean())
    expected = -1 + float(phi_prime(h0).mean()) * s
    assert spectral_abscissa(sick.jacobian(h0)) == pytest.approx(expected, abs=1e-5)


def test_rate_network_explains_bad_arguments():
    with pytest.raises(ValueError, match="in-degrees"):
        RateNetwork(n_exc=10, k_exc=20)
    with pytest.raises(ValueError, match="h0 must have shape"):
        RateNetwork()(torch.zeros(5), steps=1)


def test_study_refuses_inverted_detector_thresholds():
    """studies/epilepsy.py checks its grid before any point runs: off_hz above on_hz would
    make the hysteresis meaningless."""
    import dataclasses

    from studies import epilepsy

    with pytest.raises(ValueError, match="hysteresis"):
        epilepsy.check(dataclasses.replace(epilepsy.TINY, off_hz=50.0))
    epilepsy.check(epilepsy.TINY)
