"""Brunel (2000) network: the spec, its lesion fields, its state at the studies' size and the
signatures of states A-D (Brunel 2000, Fig. 8).

Reference values (the paper-scale network, N_E = 10000, C_E = 1000, J = 0.1 mV), measured by
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/brunel_scaling.py     (docs/benchmarks.md)
(cython, seed 0, 1.5 s, first 0.2 s discarded): state C fires at 37.0 Hz (bio.theory's
mean-field rate, Brunel 2000 eq. 21: 37.9 Hz) with a mean ISI CV of 0.40 (issue 9's 2 s run:
0.41; a plain Brian2 copy of Brian2's own Brunel_2000 example: 0.42). At N_E = 2000 the same
run gave A 313 Hz, CV 0.00, chi 0.45, peak 374 Hz; B 61 Hz, CV 1.16, chi 0.38, peak 172 Hz;
C 36.5 Hz, CV 0.46, chi 0.30; D 5.8 Hz, CV 0.54, chi 0.46, peak 14 Hz.
"""
import numpy as np
import pytest
from brian2 import Hz, mV, ms, second

from bio import analysis, brunel2000, theory

THEORY_C_HZ = float(theory.brunel_rate(*brunel2000.STATES["C"]) / Hz)  # 37.9 Hz
PAPER_C_CV = 0.40  # measured at N_E = 10000 (module docstring)
STUDY_N_E = 2000  # the reduced size a study would pick (C_E stays 1000)


# ---------------------------------------------------------------- the spec

def test_spec_keeps_paper_in_degree_and_raises_connection_probability():
    """Brunel (2000), Sec. 2: every neuron gets exactly C_E = 1000 excitatory and C_I = 250
    inhibitory inputs from distinct random partners, PSPs J = 0.1 mV and -g J, delay D, and C_E
    external Poisson inputs at eta nu_thr, nu_thr = theta / (J C_E tau) = 10 Hz. A network of
    N_E = 2000 keeps C_E and J and doubles epsilon to 0.5."""
    spec = brunel2000.brunel_spec(g=5.0, eta=2.0, N_E=STUDY_N_E, seed=1)
    assert spec.populations["exc"].n == 2000 and spec.populations["inh"].n == 500
    assert spec.meta["C_E"] == 1000 and float(spec.meta["J"] / mV) == pytest.approx(0.1)
    assert spec.meta["nu_thr_hz"] == pytest.approx(10.0) and spec.meta["nu_ext_hz"] == pytest.approx(20.0)
    for name, k in (("exc_exc", 1000), ("exc_inh", 1000), ("inh_exc", 250), ("inh_inh", 250)):
        c = spec.connections[name]
        n_post = spec.populations[c.post].n
        assert np.all(np.bincount(c.j, minlength=n_post) == k), name
        if c.post == "inh":  # distinct partners (checked on the smaller targets: sorting is slow)
            rows = np.sort(c.i[np.argsort(c.j, kind="stable")].reshape(n_post, k), axis=1)  # (post, k)
            assert np.all(np.diff(rows, axis=1) > 0), f"{name}: repeated partners"
        np.testing.assert_allclose(c.delay_s, 1.5e-3, rtol=1e-12)
    np.testing.assert_allclose(spec.connections["exc_exc"].w, 1e-4, rtol=1e-12)
    inh = spec.connections["inh_exc"]
    assert inh.kind == "inh"
    np.testing.assert_allclose(inh.signed_w(), -5e-4, rtol=1e-12)
    for drive in spec.inputs:
        assert drive.n_inputs == 1000 and float(drive.rate / Hz) == pytest.approx(20.0)
    v0 = spec.populations["exc"].init["v"]
    assert 0 <= v0.min() and v0.max() < 0.02 and v0.std() > 0.004  # uniform in [rest, threshold)


def test_old_scaling_is_available_explicitly():
    """The contrast of benchmarks/brunel_scaling.py: epsilon = 0.1, C_E = N_E / 10, J C_E fixed."""
    spec = brunel2000.brunel_spec(N_E=2000, C_E=200, J=0.5 * mV, seed=0)
    assert np.all(np.bincount(spec.connections["exc_exc"].j, minlength=2000) == 200)
    assert spec.meta["nu_thr_hz"] == pytest.approx(10.0)  # theta / (J C_E tau) unchanged
    small = brunel2000.brunel_spec(N_E=300, seed=0)
    assert small.meta["C_E"] == 300  # below the paper's in-degree: all-to-all


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="voltage"):
        brunel2000.brunel_spec(N_E=100, J=1 * ms)
    with pytest.raises(ValueError, match="C_E = 500, C_I = 125 need 1 <= C_E <= N_E = 100"):
        brunel2000.brunel_spec(N_E=100, C_E=500)
    with pytest.raises(ValueError, match="g must be a finite number >= 0"):
        brunel2000.brunel_spec(g=-1.0, N_E=100)


# ---------------------------------------------------------------- lesion fields

def test_dead_neurons_never_spike():
    """bio/spec.py: alive=False means the neuron never fires and loses its synapses; the
    external drive still reaches its membrane, which crosses threshold without a spike."""
    spec = brunel2000.brunel_spec(*brunel2000.STATES["C"], N_E=200, seed=0, record_v=3)
    spec.populations["exc"].alive[:100] = False
    rec = brunel2000.simulate(spec, 100 * ms, seed=0)
    counts = rec.spike_counts("exc")
    assert counts[:100].sum() == 0 and counts[100:].sum() > 0
    v = rec.traces["exc.v"]  # (T, 3) volt of neurons 0-2, all dead
    assert v.shape == (1000, 3) and v.max() > 0.02


def test_noise_sigma_raises_the_rate_of_a_quiet_network():
    """bio/spec.py's one noise definition (an OU current whose std would move a leak-free
    membrane by noise_sigma (theta - V_r) in 1 ms): in state D (eta = 0.9, external drive below
    threshold, a few Hz) fluctuations drive the firing (Brunel 2000, Sec. 3), so
    noise_sigma = 0.2 must raise the rate several-fold; the seed and network are the same."""
    rates = []
    for sigma in (0.0, 0.2):
        spec = brunel2000.brunel_spec(*brunel2000.STATES["D"], N_E=200, seed=0)
        for pop in spec.populations.values():
            pop.noise_sigma = sigma
        rec = brunel2000.simulate(spec, 200 * ms, seed=0)
        rates.append(analysis.mean_rate(rec, "exc", t_start_s=0.05))
    assert rates[0] < 10 and rates[1] > 3 * rates[0]


def test_smallest_paper_state_network_fires_at_the_mean_field_rate():
    """N_E = C_E = 1000 (all-to-all) is the smallest network with the paper's inputs per neuron;
    in state C it fires within 15% of Brunel's stationary rate (eq. 21, bio.theory: 37.9 Hz)."""
    rec = brunel2000.brunel(*brunel2000.STATES["C"], duration=0.3 * second, N_E=1000, seed=0)
    assert analysis.mean_rate(rec, "exc", t_start_s=0.1) == pytest.approx(THEORY_C_HZ, rel=0.15)
    assert rec.populations == ["exc", "inh"] and rec.n_neurons == {"exc": 1000, "inh": 250}


# ---------------------------------------------------------------- the studies' size (slow, cython)

WINDOW = dict(t_start_s=0.2)  # the first 0.2 s are a transient


@pytest.mark.slow
def test_study_size_stays_in_the_paper_scale_state_c():
    """Issue 9: at N_E = 2000 (studies/epilepsy.py) state C fires within 15% of the paper-scale
    rate (theory 37.9 Hz; measured at N_E = 10000: 37.0 Hz) with an ISI CV within 0.1 of the
    paper-scale 0.40. Why 0.1: over a 1 s window the mean CV of 2000 neurons moves by ~0.03 between
    seeds, and a denser network (epsilon 0.5) shares more input; the old scaling (C_E = 200,
    J = 0.5 mV) sits ~0.8 away (CV 1.2: another state), which this tolerance must reject."""
    rec = brunel2000.brunel(*brunel2000.STATES["C"], duration=1.2 * second, N_E=STUDY_N_E, seed=0,
                            target="cython")
    rate, cv = analysis.mean_rate(rec, "exc", **WINDOW), analysis.cv_isi(rec, "exc", **WINDOW)
    assert rate == pytest.approx(THEORY_C_HZ, rel=0.15)
    assert abs(cv - PAPER_C_CV) < 0.1

    old = brunel2000.brunel(*brunel2000.STATES["C"], duration=1.2 * second, N_E=STUDY_N_E, C_E=200,
                            J=0.5 * mV, seed=0, target="cython")
    assert abs(analysis.cv_isi(old, "exc", **WINDOW) - PAPER_C_CV) > 0.3


@pytest.fixture(scope="module")
def states():
    """States A-D at the studies' size, 0.7 s each (cython)."""
    out = {}
    for s in "ABCD":
        rec = brunel2000.brunel(*brunel2000.STATES[s], duration=0.7 * second, N_E=STUDY_N_E, seed=0,
                                target="cython")
        out[s] = dict(rate=analysis.mean_rate(rec, "exc", **WINDOW), cv=analysis.cv_isi(rec, "exc", **WINDOW),
                      chi=analysis.synchrony(rec, "exc", bin_s=2e-3, **WINDOW),
                      chi_10ms=analysis.synchrony(rec, "exc", bin_s=1e-2, **WINDOW),
                      peak=analysis.peak_frequency(rec, "exc", bin_s=1e-3, **WINDOW))
    return out


@pytest.mark.slow
def test_state_a_is_synchronous_regular(states):
    """Brunel (2000), Fig. 8A (g = 3, eta = 2; excitation dominates): neurons fire near
    saturation (1 / t_ref = 500 Hz), almost periodically (CV ~ 0), and together."""
    a, c = states["A"], states["C"]
    assert a["rate"] > 250 and a["cv"] < 0.1
    assert a["chi"] > 1.3 * c["chi"]


@pytest.mark.slow
def test_state_b_has_a_fast_population_oscillation_and_irregular_neurons(states):
    """Brunel (2000), Fig. 8B (g = 6, eta = 4): synchronous irregular with a fast global
    oscillation (~180 Hz in the paper, set by the 1.5 ms delay) while each neuron fires
    irregularly (CV near or above 1) at a rate far below the oscillation's frequency."""
    b, c = states["B"], states["C"]
    assert 140 <= b["peak"] <= 220
    assert b["cv"] > 0.8 and b["rate"] < 0.5 * b["peak"]
    assert b["chi"] > c["chi"]


@pytest.mark.slow
def test_state_c_is_asynchronous_irregular(states):
    """Brunel (2000), Fig. 8C (g = 5, eta = 2): asynchronous irregular. Irregular firing (CV
    between the closed network's ~0.4 and Poisson's 1: bio/theory.py explains why a simulated
    closed network is more regular than the theory's Poisson input) and the weakest synchrony
    of the four states."""
    c = states["C"]
    assert 0.3 < c["cv"] < 1.0
    assert c["chi"] < min(states[s]["chi"] for s in "ABD")
    assert c["rate"] == pytest.approx(THEORY_C_HZ, rel=0.15)


@pytest.mark.slow
def test_state_d_is_a_slow_oscillation_at_low_rate(states):
    """Brunel (2000), Fig. 8D (g = 4.5, eta = 0.9; external drive below threshold): a slow
    global oscillation and a low rate; the spectrum peaks at low frequency, well below state B's,
    and the neurons are synchronised on the oscillation's time scale (chi in 10 ms bins: with
    2 ms bins a 5 Hz neuron's own count noise swamps a ~15 Hz rhythm)."""
    d, c = states["D"], states["C"]
    assert d["rate"] < 10
    assert d["peak"] < 40 and d["peak"] < 0.3 * states["B"]["peak"]
    assert d["chi_10ms"] > 1.3 * c["chi_10ms"]
