"""Literature reproductions: each study's TINY preset runs end to end and shows its paper's claim.

The building blocks they add (ann.hopfield, bio.attractor) are checked here too, against
hand-computable answers.
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from brian2 import mV, ms, nA

from studyrun import assert_ephys, run_tiny, value

# --------------------------------------------------------------------------- Tsodyks & Markram 1997


def test_stp_steady_state_formula_is_the_fixed_point_of_the_model():
    """Tsodyks & Markram (1997): A_st = U(1-e^{-T/tau})/(1-(1-U)e^{-T/tau}) is where the
    resource recursion R_{n+1} = R_n (1 - U) e^{-T/tau} + 1 - e^{-T/tau} (R_1 = 1) settles."""
    from studies.stp_tsodyks1997 import steady_state

    for u, f in ((0.2, 3.0), (0.5, 20.0), (0.9, 100.0)):
        e, r = np.exp(-1.0 / (f * 0.8)), 1.0
        for _ in range(2000):
            r = r * (1 - u) * e + 1 - e
        assert u * r == pytest.approx(steady_state(u, f, 0.8), rel=1e-12)


@pytest.mark.slow
def test_stp_tsodyks1997_tiny(tmp_path):
    """Tsodyks & Markram (1997): the simulated depressing synapse settles on the analytic steady
    state; U sets the response below the limiting frequency 1/(U tau_rec) only, and above it the
    transmitted rate A_st * f approaches 1/tau_rec whatever U."""
    res = run_tiny("stp_tsodyks1997", tmp_path)
    t = res.table
    assert t[t["metric"] == "rel_error"]["value"].max() < 1e-5  # TINY settles to 1e-6
    for u in (0.2, 0.8):
        assert value(t, "amp_first", release_u=u, rate_hz=2.0) == pytest.approx(u, abs=1e-9)
        assert 0.85 < value(t, "transmitted_hz", release_u=u, rate_hz=50.0) * 0.8 < 1.0
    low = value(t, "amp_st", release_u=0.8, rate_hz=2.0) / value(t, "amp_st", release_u=0.2, rate_hz=2.0)
    high = value(t, "amp_st", release_u=0.8, rate_hz=50.0) / value(t, "amp_st", release_u=0.2, rate_hz=50.0)
    assert low > 2.0 and abs(high - 1.0) < 0.15
    assert "lambda" in res.findings


# --------------------------------------------------------------------------- Pfister & Gerstner 2006


def _triplet_reference(pre, post, a2p, a3p, a2m, a3m, tau_p, tau_m, tau_x, tau_y):
    """Pfister & Gerstner (2006), eqs. 3-4, all-to-all, evaluated event by event in NumPy (an
    implementation independent of the Brian2 one): returns the summed weight change / w0."""
    events = sorted([(t, 0) for t in pre] + [(t, 1) for t in post])
    r1 = r2 = o1 = o2 = 0.0
    last, dw = 0.0, 0.0
    for t, kind in events:
        gap = t - last
        r1, r2 = r1 * np.exp(-gap / tau_p), r2 * np.exp(-gap / tau_x)
        o1, o2 = o1 * np.exp(-gap / tau_m), o2 * np.exp(-gap / tau_y)
        last = t
        if kind == 0:  # presynaptic spike: depression read before the traces jump
            dw -= o1 * (a2m + a3m * r2)
            r1, r2 = r1 + 1, r2 + 1
        else:
            dw += r1 * (a2p + a3p * o2)
            o1, o2 = o1 + 1, o2 + 1
    return dw


@pytest.mark.slow
def test_triplet_pfister2006_tiny(tmp_path):
    """Pfister & Gerstner (2006) / Sjöström et al. (2001): post-pre pairing depresses at low
    frequency, and at 50 Hz the triplet rule potentiates for both orders while the pair rule
    gives both orders nearly the same change and never potentiates both. The simulated triplet
    changes equal an event-by-event NumPy evaluation of the paper's equations."""
    import dataclasses

    from bio.synapses import TRIPLET_PARAMETERS, TripletSTDP
    from studies import triplet_pfister2006 as study

    t = run_tiny("triplet_pfister2006", tmp_path).table
    dw = {(m, f, d): value(t, m, rate_hz=f, timing_ms=d)
          for m in ("dw_triplet", "dw_pair") for f in (1.0, 50.0) for d in (10.0, -10.0)}
    assert dw["dw_triplet", 1.0, -10.0] < -0.02
    assert dw["dw_triplet", 50.0, 10.0] > 0 and dw["dw_triplet", 50.0, -10.0] > 0
    order_low = dw["dw_pair", 1.0, 10.0] - dw["dw_pair", 1.0, -10.0]
    order_high = dw["dw_pair", 50.0, 10.0] - dw["dw_pair", 50.0, -10.0]
    assert order_low > 0.03 and abs(order_high) < 0.5 * order_low
    assert not (dw["dw_pair", 50.0, 10.0] > 0 and dw["dw_pair", 50.0, -10.0] > 0)
    assert t[t["metric"] == "post_timing_error_s"]["value"].max() < 1e-9

    preset = TRIPLET_PARAMETERS["visual_cortex"]
    taus = {f.name: f.default_factory() for f in dataclasses.fields(TripletSTDP)
            if f.name in ("tau_plus", "tau_minus")}
    for f in (1.0, 50.0):
        for d in (10.0, -10.0):
            pre, post = study.protocol_s(dataclasses.replace(study.TINY, rate_hz=f, timing_ms=d,
                                                              rule="visual_cortex"))
            ref = _triplet_reference(pre, post, preset["A2_plus"], preset["A3_plus"], preset["A2_minus"],
                                     preset["A3_minus"], float(taus["tau_plus"] / ms) * 1e-3,
                                     float(taus["tau_minus"] / ms) * 1e-3, float(preset["tau_x"] / ms) * 1e-3,
                                     float(preset["tau_y"] / ms) * 1e-3)
            assert dw["dw_triplet", f, d] == pytest.approx(ref, rel=1e-6, abs=1e-9)


# --------------------------------------------------------------------------- Song, Miller & Abbott 2000


@pytest.mark.slow
def test_stdp_song2000_tiny(tmp_path):
    """Song, Miller & Abbott (2000): STDP flattens the output rate's dependence on the input
    rate (compared with the same neuron with static weights) by depressing the synapses of a
    strongly driven neuron; in TINY's few seconds this is the trend, not the end point. The output
    neuron's spike train at the end of each run is kept and drawn (stdp_song2000_ephys)."""
    res = run_tiny("stdp_song2000", tmp_path)
    t = res.table
    gain = {pl: (value(t, "rate_out_hz", plasticity=pl, rate_in_hz=40.0)
                 - value(t, "rate_out_hz", plasticity=pl, rate_in_hz=10.0)) for pl in ("stdp", "static")}
    assert gain["stdp"] < 0.7 * gain["static"]
    assert value(t, "mean_w", plasticity="stdp", rate_in_hz=40.0) < 0.4  # started uniform: mean 0.5
    assert value(t, "rate_out_hz", plasticity="stdp", rate_in_hz=40.0) < value(
        t, "rate_out_start_hz", plasticity="stdp", rate_in_hz=40.0)
    assert "slope" in res.findings
    assert_ephys(res, "stdp_song2000_ephys", ["neuron"])


# --------------------------------------------------------------------------- Horn, Levy & Ruppin 1996


def test_hopfield_stores_patterns_as_fixed_points():
    """Tsodyks & Feigelman (1988): at low load each sparse pattern is a fixed point of the
    threshold dynamics and its overlap with itself is 1 (with itself only)."""
    from ann.hopfield import Hopfield, hebbian_weights, overlaps, sparse_patterns

    xi = sparse_patterns(300, 5, 0.1, seed=0)
    w = hebbian_weights(xi, 0.1)
    assert np.allclose(w, w.T) and np.all(np.diag(w) == 0)
    traj = Hopfield(w, threshold=0.3).retrieve(xi.astype(np.float32), steps=3)  # (T, B, N)
    assert traj.shape == (4, 5, 300)
    assert np.array_equal(traj[-1] > 0.5, xi)
    m = overlaps(xi, xi, 0.1)
    assert np.allclose(np.diag(m), 1.0) and np.all(np.abs(m - np.eye(5)) < 0.3)


def test_hopfield_deletion_without_compensation_drops_the_field():
    """Horn et al. (1993): random deletion of a fraction d scales a retrieved pattern's field by
    1 - d, so once (1 - d)(1 - p) < theta the pattern is lost; per-neuron compensation restores it."""
    from ann.hopfield import Hopfield, hebbian_weights, overlaps, sparse_patterns
    from bridge import disorders

    xi = sparse_patterns(400, 4, 0.1, seed=1)
    net = Hopfield(hebbian_weights(xi, 0.1), threshold=0.3)
    d = 0.75  # (1 - d)(1 - p) = 0.225 < 0.3
    for name, expect_retrieved in (("alzheimer", False), ("alzheimer_compensated", True)):
        sick = disorders.get(name, d, seed=0).apply(net)
        final = sick.retrieve(xi.astype(np.float32), steps=5)[-1]
        m = np.diag(overlaps(final, xi, 0.1))
        assert (m.min() > 0.9) if expect_retrieved else (m.max() < 0.1), (name, m)


def test_attractor_spec_wires_the_hebbian_matrix():
    """bio.attractor: every ordered pair i != j is one synapse of weight coupling * W[i, j] from j
    to i; cues become per-trial currents shown for cue_time of each period."""
    from bio.attractor import attractor_spec

    rng = np.random.default_rng(0)
    w = rng.normal(size=(6, 6))
    cues = np.zeros((2, 6), bool)
    cues[0, :2] = cues[1, 3:] = True
    spec = attractor_spec(w, cues, coupling=2 * mV, cue_current=0.5 * nA, cue_time=50 * ms, period=200 * ms)
    c = spec.connections["rec"]
    assert c.n_syn == 30 and np.all(c.i != c.j)
    assert np.allclose(c.w, 2e-3 * w[c.j, c.i])
    amps = spec.inputs[0].amps  # (S, B, n)
    assert amps.shape == (2, 1, 6) and np.allclose(amps[:, 0], 0.5e-9 * cues)
    assert float(spec.meta["present"] / ms) == pytest.approx(50)
    with pytest.raises(ValueError, match="coupling must be a Brian2 quantity"):
        attractor_spec(w, cues, coupling=2.0)
    with pytest.raises(ValueError, match="cues must be"):
        attractor_spec(w, np.ones((1, 5), bool))


def test_delay_rates_count_the_window_after_the_cue():
    """delay_rates: spikes in [start, period) of each trial, divided by the window's length."""
    from bio.attractor import delay_rates
    from bio.record import SpikeRecord

    times = np.array([0.05, 0.25, 0.30, 0.55, 0.70, 0.75, 0.79])
    idx = np.array([0, 0, 1, 1, 0, 0, 1])
    rec = SpikeRecord({"mem": times}, {"mem": idx}, {"mem": 2}, 0.8)
    rates = delay_rates(rec, period_s=0.4, n_trials=2, start_s=0.2)  # windows [0.2,0.4), [0.6,0.8)
    assert np.allclose(rates, [[5.0, 5.0], [10.0, 5.0]])


@pytest.mark.slow
def test_attractor_horn1996_tiny(tmp_path):
    """Horn, Levy & Ruppin (1996): deleting half the synapses destroys retrieval, and per-neuron
    compensation (the 'alzheimer_compensated' disorder) preserves it, in the Hopfield network and
    in the spiking attractor built from the same Hebbian matrix. The spiking attractor keeps its
    first trial, the cued pattern's neurons and as many others (attractor_horn1996_ephys); the
    healthy network's pattern neurons fire through the delay (the retrieved memory)."""
    res = run_tiny("attractor_horn1996", tmp_path)
    t = res.table
    for system in ("ann", "snn"):
        assert value(t, "overlap", system=system, deletion=0.0) > 0.9
        assert value(t, "overlap", system=system, lesion="alzheimer", deletion=0.5) < 0.2
        assert value(t, "overlap", system=system, lesion="alzheimer_compensated", deletion=0.5) > 0.8
    assert value(t, "pattern_rate_hz", system="snn", deletion=0.0) > 5 * value(
        t, "other_rate_hz", system="snn", deletion=0.0)
    records = assert_ephys(res, "attractor_horn1996_ephys", ["pattern", "other"])
    healthy = set(t[(t["system"] == "snn") & (t["deletion"] == 0.0) & (t["lesion"] == "alzheimer")]["point"])
    rec = next(r for (key, _), r in records.items() if key in healthy)
    late = rec.times_s["pattern"] > 0.2  # the delay window (readout_start_ms = 200)
    assert late.sum() > rec.n_neurons["pattern"]
