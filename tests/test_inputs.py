"""Inputs (bio/inputs.py) compiled by bio.run: Poisson sources, given spikes, currents, analog
values, latency codes and Poisson drives, each against what it must deliver (numpy target)."""
import numpy as np
import pytest
from brian2 import Hz, Mohm, mV, ms, nA, pA

import bio
from bio import inputs, neurons, synapses
from bio.clamp import current_clamp
from bio.spec import Connection, NetworkSpec, Population, Record

DT_S = 1e-4


def _source(inp, n, duration=200 * ms, seed=None, dt=0.1 * ms):
    spec = NetworkSpec({"src": Population(None, n)}, inputs=[inp])
    return bio.run(spec, duration, seed=seed, dt=dt)


def test_poisson_same_seed_same_spikes():
    """Reproducibility: bio.run seeds Brian2's generator, so a seed fixes every Poisson spike."""
    rates = np.full(100, 50.0)
    a, b, c = (_source(inputs.Rates("src", rates), 100, seed=s) for s in (1, 1, 2))
    np.testing.assert_array_equal(a.times_s["src"], b.times_s["src"])
    np.testing.assert_array_equal(a.indices["src"], b.indices["src"])
    assert not np.array_equal(a.times_s["src"], c.times_s["src"])
    # 100 sources x 50 Hz x 0.2 s: 1000 spikes expected, Poisson sd ~32
    assert abs(len(a.times_s["src"]) - 1000) < 4 * np.sqrt(1000)


def test_poisson_per_source_rates_and_checks():
    rec = _source(inputs.Rates("src", [0.0, 200.0, 0.0, 200.0]), 4, seed=0)
    counts = rec.spike_counts("src")
    assert counts[0] == 0 and counts[2] == 0 and counts[1] > 10 and counts[3] > 10
    with pytest.raises(ValueError, match="rates_hz must be >= 0"):
        inputs.Rates("src", [-1.0])
    with pytest.raises(ValueError, match=r"shape \(n,\), \(B, n\) or \(S, B, n\)"):
        inputs.Rates("src", np.ones((1, 1, 1, 3)))
    with pytest.raises(ValueError, match="has 4 values per copy, the population has 3 neurons"):
        _source(inputs.Rates("src", np.ones(4)), 3)


def test_rates_per_sample_switch_at_each_period():
    """S samples shown one after another: sample s's rates hold during [s P, (s+1) P)."""
    rates = np.zeros((3, 1, 2))  # (S, B, n)
    rates[0, 0, 0] = rates[2, 0, 1] = 400.0
    spec = NetworkSpec({"src": Population(None, 2)}, inputs=[inputs.Rates("src", rates)], period=50 * ms)
    rec = bio.run(spec, seed=0)
    counts = rec.sample_counts("src", 0.05, 3)  # (S, B, n)
    assert counts[0, 0, 0] > 5 and counts[2, 0, 1] > 5
    assert counts[0, 0, 1] == counts[1].sum() == counts[2, 0, 0] == 0


def test_spike_times_are_replayed_exactly():
    idx, times = np.array([0, 2, 1, 2]), np.array([1.0, 2.5, 4.0, 7.0]) * 1e-3
    rec = _source(inputs.Spikes("src", times, idx), 3, duration=10 * ms)
    np.testing.assert_allclose(rec.times_s["src"], times)
    np.testing.assert_array_equal(rec.indices["src"], idx)
    with pytest.raises(ValueError, match="exceed 1 copies of 3 neurons"):
        _source(inputs.Spikes("src", [1e-3], [3]), 3, duration=10 * ms)
    with pytest.raises(ValueError, match="finite and >= 0 s"):
        inputs.Spikes("src", [-1e-3], [0])


def test_spikes_from_raster_keep_time_copy_and_neuron():
    """A (T, B, n) raster: a True at (t, b, k) fires neuron b*n + k at t*dt (copy-major)."""
    raster = np.zeros((20, 2, 3), bool)
    raster[4, 0, 2] = raster[10, 1, 0] = raster[15, 1, 2] = True
    x = inputs.Spikes.from_raster("src", raster, DT_S)
    spec = NetworkSpec({"src": Population(None, 3)}, inputs=[x])
    rec = bio.run(spec, 3 * ms, dt=0.1 * ms)
    np.testing.assert_allclose(rec.times_s["src"], [4e-4, 10e-4, 15e-4])
    np.testing.assert_array_equal(rec.indices["src"], [2, 3, 5])
    assert rec.copies == 2 and rec.n_neurons["src"] == 6


def test_constant_current_and_rheobase():
    """A constant current below the LIF rheobase (v_thresh - v_rest) / R = 200 pA never fires,
    one above it does (Gerstner et al. 2014, ch. 1.3); a step given with a delay fires only
    after its onset, and v stays at rest before it."""
    spec = NetworkSpec({"h": Population(neurons.LIF(), 2)}, inputs=[inputs.Current("h", [150, 300] * pA)])
    rec = bio.run(spec, 100 * ms)
    np.testing.assert_array_equal(rec.spike_counts("h") > 0, [False, True])

    delayed = current_clamp(neurons.LIF(), 0.5 * nA, 100 * ms, delay=50 * ms)
    assert delayed.times_s["neuron"].min() > 0.050
    v = delayed.traces["neuron.v"][:, 0]
    assert v.shape == (1000,) and np.all(v[:500] == pytest.approx(-0.070))
    with pytest.raises(ValueError, match="current must be in units of amp"):
        inputs.Current("h", 3 * mV)


def test_per_sample_currents_reset_the_state_at_each_onset():
    """Samples run one after another; every neuron returns to rest at a sample onset, so the
    same current in samples 0 and 2 gives the same spike count, and 0 A gives none."""
    amps = np.array([400e-12, 0.0, 400e-12])[:, None, None] * np.ones((1, 1, 2))  # (S, B, n)
    spec = NetworkSpec({"h": Population(neurons.LIF(), 2)}, inputs=[inputs.Current("h", amps)],
                       period=40 * ms)
    rec = bio.run(spec)
    counts = rec.sample_counts("h", 0.04, 3)
    assert counts[0, 0, 0] > 0 and counts[1].sum() == 0
    np.testing.assert_array_equal(counts[0], counts[2])


def test_values_deliver_their_mean_current():
    """Analog Values (Rueckauer et al. 2017): a source value x through a CurrentDelta of weight w
    delivers C w x rate_hz, so an IF cell (C dv/dt = I) rises by w x rate_hz per second; through a
    CurrentExp of weight w (amp) it delivers w tau x rate_hz."""
    cell = neurons.IF(v_thresh=1 * mV * 1e6)  # never fires: v integrates the current
    x = np.array([[0.0, 0.25, 0.5]])  # (B, n)
    spec = NetworkSpec(
        {"in": Population(None, 3), "delta": Population(cell, 3), "exp": Population(cell, 3)},
        {"d": Connection("in", "delta", synapses.CurrentDelta(), [0, 1, 2], [0, 1, 2], [1e-3] * 3),
         "e": Connection("in", "exp", synapses.CurrentExp("exc", tau=5 * ms), [0, 1, 2], [0, 1, 2], [1e-9] * 3)},
        inputs=[inputs.Values("in", x, rate_hz=100.0)],
        record=Record(final=("delta.v", "exp.v")))
    rec = bio.run(spec, 10 * ms, dt=0.1 * ms)
    v0 = float(cell.v_reset)
    np.testing.assert_allclose(rec.final["delta.v"] - v0, 1e-3 * x[0] * 100.0 * 0.01, atol=1e-12)
    i_exp = 1e-9 * 5e-3 * x[0] * 100.0  # amp
    np.testing.assert_allclose(rec.final["exp.v"] - v0, i_exp * 0.01 / float(cell.C), atol=1e-12)
    with pytest.raises(ValueError, match="values stand for rates and must be >= 0"):
        inputs.Values("in", [-0.1])


def test_latency_code_first_spike_times():
    """Time-to-first-spike: x fires once at (1 - x) t_max; x <= threshold never fires."""
    x = np.array([[1.0, 0.5, 0.0, 0.25]])
    lat = inputs.latency("src", x, t_max_s=0.02)
    rec = _source(lat, 4, duration=25 * ms)
    np.testing.assert_array_equal(rec.indices["src"], [0, 1, 3])
    np.testing.assert_allclose(rec.times_s["src"], [0.0, 0.01, 0.015], atol=1e-12)
    with pytest.raises(ValueError, match=r"lie in \[0, 1\]"):
        inputs.latency("src", [[1.5]], 0.02)


def test_poisson_drive_mean_potential_is_campbell():
    """Campbell's theorem (Brunel 2000, eq. 4 with no recurrence): C_ext Poisson inputs of rate nu,
    each moving v by J, hold the free membrane at mu = v_rest + C_ext J nu tau_m on average."""
    cell = neurons.LIF(tau_m=20 * ms, v_rest=0 * mV, v_thresh=1e3 * mV, v_reset=0 * mV, R=100 * Mohm)
    drive = inputs.PoissonDrive("n", 1000, 5 * Hz, 0.1 * mV, synapses.CurrentDelta("ext"))
    spec = NetworkSpec({"n": Population(cell, 20)}, inputs=[drive], record=Record(traces={"n.v": True}))
    v = bio.run(spec, 300 * ms, seed=0).traces["n.v"][1000:]  # (T, 20) after 5 tau_m
    mu = 1000 * 0.1e-3 * 5 * 0.02  # 10 mV
    # sd of v is J sqrt(C nu tau / 2) = 1 mV; the mean over 20 cells x 0.2 s sits within ~1%
    assert v.mean() == pytest.approx(mu, rel=0.03)
    assert v.std() == pytest.approx(0.1e-3 * np.sqrt(1000 * 5 * 0.02 / 2), rel=0.15)
    with pytest.raises(ValueError, match="rate must be in units of hertz"):
        inputs.PoissonDrive("n", 10, 5 * mV, 0.1 * mV, synapses.CurrentDelta())
    with pytest.raises(ValueError, match="n_inputs >= 1"):
        inputs.PoissonDrive("n", 0, 5 * Hz, 0.1 * mV, synapses.CurrentDelta())


def test_inputs_name_known_populations():
    spec = NetworkSpec({"src": Population(None, 2)}, inputs=[inputs.Rates("nope", [1.0, 1.0])])
    with pytest.raises(ValueError, match="targets unknown population 'nope'; populations: src"):
        spec.check()
    with pytest.raises(ValueError, match="source population 'src' has no input"):
        bio.run(NetworkSpec({"src": Population(None, 2)}), 1 * ms)
