"""Input helpers: Poisson sources, given spike times, constant and time-varying currents."""
import brian2 as b2
import numpy as np
import pytest
from brian2 import Hz, mV, ms, nA, pA, second

from bio import inputs, neurons
from bio.clamp import current_clamp
from bio.simulate import Built, run


def _poisson_record(seed, rate=50 * Hz, n=100, duration=200 * ms):
    def build():
        src = inputs.poisson(n, rate, name="src")
        mon = b2.SpikeMonitor(src)
        return Built(b2.Network(src, mon), spikes={"src": mon})
    return run(build, duration, seed=seed)


def test_poisson_same_seed_same_spikes():
    """Reproducibility: bio.run seeds Brian2's generator, so a seed fixes every Poisson spike."""
    a, b, c = _poisson_record(1), _poisson_record(1), _poisson_record(2)
    np.testing.assert_array_equal(a.times_s["src"], b.times_s["src"])
    np.testing.assert_array_equal(a.indices["src"], b.indices["src"])
    assert not np.array_equal(a.times_s["src"], c.times_s["src"])
    # 100 sources x 50 Hz x 0.2 s: 1000 spikes expected, Poisson sd ~32
    assert abs(len(a.times_s["src"]) - 1000) < 4 * np.sqrt(1000)


def test_poisson_per_source_rates_and_unit_check():
    rec = _poisson_record(0, rate=np.array([0.0, 200.0, 0.0, 200.0]) * Hz, n=4)
    counts = rec.spike_counts("src")
    assert counts[0] == 0 and counts[2] == 0 and counts[1] > 10 and counts[3] > 10
    with pytest.raises(ValueError, match="rate must be in units of hertz"):
        inputs.poisson(3, 10 * mV)
    with pytest.raises(ValueError, match=r"shape \(3,\)"):
        inputs.poisson(3, np.ones(4) * Hz)


def test_spike_times_are_replayed_exactly():
    idx, times = np.array([0, 2, 1, 2]), np.array([1.0, 2.5, 4.0, 7.0]) * ms

    def build():
        src = inputs.spike_times(3, idx, times)
        mon = b2.SpikeMonitor(src)
        return Built(b2.Network(src, mon), spikes={"src": mon})
    rec = run(build, 10 * ms, dt=0.1 * ms)
    np.testing.assert_allclose(rec.times_s["src"], np.asarray(times / second))
    np.testing.assert_array_equal(rec.indices["src"], idx)
    with pytest.raises(ValueError, match="spike indices must lie in 0..2"):
        inputs.spike_times(3, [3], [1.0] * ms)


def test_constant_and_time_varying_currents_drive_i_ext():
    """A step given as samples starts firing only at its onset; a (T, N) drive is per neuron;
    a constant current below the LIF rheobase (200 pA) never fires, above it does."""
    dt, steps = 0.1 * ms, 1000
    drive = np.zeros((steps, 2))
    drive[500:, 1] = 0.5  # neuron 1 gets 0.5 nA from 50 ms on, neuron 0 nothing

    def build():
        g = neurons.LIF().group(2, name="g")
        inputs.time_varying_current(g, drive * nA, dt)
        h = inputs.constant_current(neurons.LIF().group(2, name="h"), [150, 300] * pA)
        mg, mh = b2.SpikeMonitor(g), b2.SpikeMonitor(h)
        return Built(b2.Network(g, h, mg, mh), spikes={"g": mg, "h": mh})
    rec = run(build, steps * dt, dt=dt)
    assert rec.spike_counts("g")[0] == 0
    assert rec.times_s["g"].min() > 0.050
    np.testing.assert_array_equal(rec.spike_counts("h") > 0, [False, True])

    delayed = current_clamp(neurons.LIF(), 0.5 * nA, 100 * ms, delay=50 * ms)
    assert delayed.times_s["neuron"].min() > 0.050
    v = delayed.traces["neuron.v"][:, 0]
    assert v.shape == (1000,) and np.all(v[:500] == pytest.approx(-0.070))
