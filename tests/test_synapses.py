"""Synapse models against closed-form answers: tiny NetworkSpecs run by bio.run (numpy target).

A postsynaptic cell that must fire at a given time is an LIF neuron with R = 1 ohm (a 1 nA
synaptic current moves it by 1 nV: the synapses under test cannot make it fire) kicked over
threshold by a 1 V `CurrentDelta` from a "driver" source: a driver spike at t makes the cell
fire one step later, at t + dt. (A leaky cell, not an IF one: Brian2 integrates the linear
LIF + synapse equations exactly, while a pure integrator's singular system falls back to Euler.)
Every expected weight change is computed from the spike times the run recorded.
"""
import numpy as np
import pytest
from brian2 import Mohm, mV, ms, nA, nS, ohm, pA, second

import bio
from bio import inputs, neurons, synapses
from bio.spec import Connection, NetworkSpec, Population, Record

DT = 0.1 * ms
DT_S = 1e-4
KICK = synapses.CurrentDelta("kick")
INERT = neurons.LIF(R=1 * ohm, t_ref=0 * ms)  # fires only when kicked


def _pairs(rule, pre_times, post_times, w0, dt=DT):
    """Synapse k joins pre cell k to post cell k; pre k fires at pre_times[k] (s, a list), post k
    at post_times[k] (forced). Returns (final w (n,), SpikeRecord)."""
    n = len(pre_times)
    pre_i = np.concatenate([np.full(len(t), k) for k, t in enumerate(pre_times)]).astype(int)
    post_i = np.concatenate([np.full(len(t), k) for k, t in enumerate(post_times)]).astype(int)
    dt_s = float(dt / second)
    kick_t = np.concatenate([np.asarray(t, float) for t in post_times]) - dt_s
    k = np.arange(n)
    spec = NetworkSpec(
        {"pre": Population(None, n), "driver": Population(None, n), "post": Population(INERT, n)},
        {"syn": Connection("pre", "post", rule, k, k, np.full(n, w0), kind="exc"),
         "kick": Connection("driver", "post", KICK, k, k, np.ones(n), kind="exc")},
        inputs=[inputs.Spikes("pre", np.concatenate([np.asarray(t, float) for t in pre_times]), pre_i),
                inputs.Spikes("driver", kick_t, post_i)],
        record=Record(final=("syn.w",)))
    t_end = max(np.max(np.r_[t]) for t in list(pre_times) + list(post_times)) + 0.005
    rec = bio.run(spec, t_end * second, dt=dt, target="numpy")
    return rec.final["syn.w"], rec


def _times(rec, pop, k):
    return rec.times_s[pop][rec.indices[pop] == k]


def test_current_exp_psc_and_delay():
    """A spike gives the PSC w exp(-(t - t_spike - delay)/tau) (Brette et al. 2007, CUBA);
    a 3 ms delay only shifts it by 30 steps."""
    model = synapses.CurrentExp("exc", tau=5 * ms)
    spec = NetworkSpec({"pre": Population(None, 1), "post": Population(INERT, 2)},
                       {"c": Connection("pre", "post", model, [0, 0], [0, 1], [100e-12, 100e-12],
                                        kind="exc", delay_s=[0.0, 3e-3])},
                       inputs=[inputs.Spikes("pre", [2e-3], [0])],
                       record=Record(traces={"post.I_exc": True}))
    I = bio.run(spec, 30 * ms, dt=DT).traces["post.I_exc"].T  # (2, T) amp
    k0, k1 = np.flatnonzero(I[0] > 0)[0], np.flatnonzero(I[1] > 0)[0]
    assert k1 - k0 == 30
    steps = np.arange(100)
    expected = 100e-12 * np.exp(-steps * 0.1 / 5)
    np.testing.assert_allclose(I[0, k0 + steps], expected, rtol=1e-9)
    np.testing.assert_allclose(I[1, k1 + steps], expected, rtol=1e-9)


def test_current_exp_psp_shape_in_lif():
    """LIF + exponential current: PSP = R w tau_s/(tau_m - tau_s) (e^{-t/tau_m} - e^{-t/tau_s})
    (the alpha-like difference of exponentials; Gerstner et al. 2014, ch. 1)."""
    cell = neurons.LIF(tau_m=20 * ms, R=100 * Mohm, v_rest=-70 * mV)
    spec = NetworkSpec({"pre": Population(None, 1), "post": Population(cell, 1)},
                       {"c": Connection("pre", "post", synapses.CurrentExp("exc", tau=5 * ms), [0], [0],
                                        [1e-9], kind="exc")},
                       inputs=[inputs.Spikes("pre", [1e-3], [0])], record=Record(traces={"post.v": True}))
    v = bio.run(spec, 40 * ms, dt=DT).traces["post.v"][:, 0] + 70e-3  # (T,) volt above rest
    onset = np.flatnonzero(np.abs(v) > 0)[0] - 1  # the step at which I jumped
    s = (np.arange(len(v)) - onset)[onset:] * DT_S
    tm, ts = 20e-3, 5e-3
    expected = 100e6 * 1e-9 * ts / (tm - ts) * (np.exp(-s / tm) - np.exp(-s / ts))
    assert expected.max() > 1e-3  # a PSP of a few mV, not a trivially zero trace
    np.testing.assert_allclose(v[onset:], expected, atol=2e-9 + 1e-3 * expected.max())


def test_cond_exp_sign_follows_reversal_potential():
    """Conductance synapse (Brette et al. 2007, COBA): current g (E_rev - v), g decays with tau;
    an input with E_rev at rest only shunts (no PSP), one below rest hyperpolarises."""
    models = [synapses.CondExp("exc", tau=5 * ms, E_rev=0 * mV), synapses.CondExp("inh", tau=10 * ms, E_rev=-80 * mV),
              synapses.CondExp("sh", tau=10 * ms, E_rev=-70 * mV)]
    conns = {m.label: Connection("pre", "post", m, [0], [k], [float(5 * nS)], kind="exc") for k, m in enumerate(models)}
    spec = NetworkSpec({"pre": Population(None, 1), "post": Population(neurons.LIF(v_rest=-70 * mV), 3)},
                       conns, inputs=[inputs.Spikes("pre", [1e-3], [0])],
                       record=Record(traces={"post.v": True, "post.g_exc": [0]}))
    rec = bio.run(spec, 30 * ms, dt=DT)
    dv = rec.traces["post.v"][-100] + 70e-3
    assert dv[0] > 1e-4 and dv[1] < -1e-5 and abs(dv[2]) < 1e-12
    g = rec.traces["post.g_exc"][:, 0]
    k = np.flatnonzero(g > 0)[0]
    np.testing.assert_allclose(g[k + 50] / g[k], np.exp(-5 / 5), rtol=0.02)  # Euler steps


def test_stdp_window():
    """Song, Miller & Abbott (2000) / Bi & Poo (1998): pre-before-post potentiates by
    A_plus w_max e^{-dt/tau_plus}, post-before-pre depresses by A_minus w_max e^{dt/tau_minus}."""
    rule = synapses.STDP(synapses.CurrentExp("exc"), w_max=1 * nA, A_plus=0.01, A_minus=0.012,
                         tau_plus=16.8 * ms, tau_minus=33.7 * ms)
    lags = np.array([5.0, 10.0, 20.0, 40.0, -5.0, -10.0, -20.0, -40.0]) * 1e-3
    t_pre = 0.05
    w, rec = _pairs(rule, [[t_pre]] * len(lags), [[t_pre + x] for x in lags], 0.5e-9)
    dw = w - 0.5e-9
    lag = np.array([_times(rec, "post", k)[0] - _times(rec, "pre", k)[0] for k in range(len(lags))])
    np.testing.assert_allclose(lag, lags, atol=1e-9)  # the forced post spikes came when asked
    expected = np.where(lag > 0, 0.01e-9 * np.exp(-lag / 16.8e-3), -0.012e-9 * np.exp(lag / 33.7e-3))
    np.testing.assert_allclose(dw, expected, rtol=1e-6)


def test_stdp_nearest_vs_all_pairing():
    """All-to-all traces sum over earlier presynaptic spikes; nearest-spike traces keep only the
    last one (Morrison, Diesmann & Gerstner 2008)."""
    dw = {}
    for pairing in ("all", "nearest"):
        rule = synapses.STDP(synapses.CurrentExp("exc"), w_max=1 * nA, pairing=pairing)
        w, _ = _pairs(rule, [[0.010, 0.020]], [[0.030]], 0.5e-9)
        dw[pairing] = w[0] - 0.5e-9
    a = 0.005e-9
    assert dw["all"] == pytest.approx(a * (np.exp(-1) + np.exp(-0.5)), rel=1e-6)
    assert dw["nearest"] == pytest.approx(a * np.exp(-0.5), rel=1e-6)


def test_stdp_clips_at_bounds():
    rule = synapses.STDP(synapses.CurrentExp("exc"), w_max=1 * nA, A_plus=0.5)
    w, _ = _pairs(rule, [[0.01]], [[0.011]], 0.9e-9)
    assert w[0] == pytest.approx(1e-9)


def _protocol_times(lag_ms, freq_hz, n_pairs):
    """Pre train at freq_hz from 20 ms; post train lag_ms after each pre spike (seconds)."""
    t_pre = 0.020 + np.arange(n_pairs) / freq_hz
    return list(t_pre), list(t_pre + lag_ms * 1e-3)


def test_triplet_frequency_dependence():
    """Pfister & Gerstner (2006), Fig. 5 / Sjöström et al. (2001): with the visual-cortex minimal
    triplet model, pairing at 1 Hz with post before pre (-10 ms) depresses and pre before post
    (+10 ms) barely changes the weight, while 20 pairings at 50 Hz potentiate in both orders."""
    rule = synapses.TripletSTDP.preset("visual_cortex", on=synapses.CurrentExp("exc"), w_max=1 * nA)
    protocols = [(-10, 1, 3), (+10, 1, 3), (-10, 50, 20), (+10, 50, 20)]
    pre, post = zip(*[_protocol_times(*p) for p in protocols])
    w, _ = _pairs(rule, list(pre), list(post), 0.5e-9, dt=1 * ms)  # event-driven traces: exact
    low_post_pre, low_pre_post, high_post_pre, high_pre_post = w - 0.5e-9
    assert low_post_pre < 0
    assert abs(low_pre_post) < 0.05 * abs(low_post_pre)
    assert high_post_pre > 0 and high_pre_post > 0
    # an isolated post->pre pair depresses by A2_minus exp(-10/tau_minus), per pair
    assert low_post_pre == pytest.approx(-3 * 7.1e-3 * 1e-9 * np.exp(-10 / 33.7), rel=1e-3)


def _markram_recursion(U, tau_rec, tau_facil, n, isi):
    u, R, out = U, 1.0, []
    for k in range(n):
        if k:
            f = np.exp(-isi / tau_facil) if tau_facil > 0 else 0.0
            d = np.exp(-isi / tau_rec)
            R = R * (1 - u) * d + 1 - d
            u = u * f + U * (1 - u * f)
        out.append(u * R)
    return np.array(out)


@pytest.mark.parametrize("U, tau_rec, tau_facil, trend", [
    (0.5, 800.0, 0.0, "depressing"),      # Tsodyks & Markram (1997)
    (0.1, 100.0, 1000.0, "facilitating"),  # Markram et al. (1998)
])
def test_tsodyks_markram_recursion(U, tau_rec, tau_facil, trend):
    """Markram, Wang & Tsodyks (1998): successive PSC amplitudes follow the u/R recursion;
    high U with long tau_rec depresses, low U with long tau_facil facilitates."""
    base = synapses.CurrentExp("exc", tau=1e6 * second)  # integrates, so its jumps are the amplitudes
    model = synapses.TsodyksMarkram(base, U=U, tau_rec=tau_rec * ms, tau_facil=tau_facil * ms)
    t = (5.0 + 25.0 * np.arange(6)) * 1e-3
    spec = NetworkSpec({"pre": Population(None, 1), "post": Population(INERT, 1)},
                       {"c": Connection("pre", "post", model, [0], [0], [1e-9], kind="exc")},
                       inputs=[inputs.Spikes("pre", t, np.zeros(6, int))],
                       record=Record(traces={"post.I_exc": True}))
    I = bio.run(spec, (t[-1] + 2e-3) * second, dt=DT).traces["post.I_exc"][:, 0]
    idx = np.round((t + 1e-3) / DT_S).astype(int) - 1  # one step after each spike
    amp = np.diff(np.concatenate([[0.0], I[idx]])) / 1e-9
    np.testing.assert_allclose(amp, _markram_recursion(U, tau_rec, tau_facil, 6, 25.0), rtol=1e-6)
    steps = np.diff(amp)
    assert np.all(steps < 0) if trend == "depressing" else np.all(steps[:3] > 0)


def test_wrong_units_are_explained():
    with pytest.raises(ValueError, match="w_max must be in units of amp"):
        synapses.STDP(synapses.CurrentExp("exc"), w_max=1 * mV)
    with pytest.raises(ValueError, match="wraps a base synapse"):
        synapses.STDP(synapses.STDP(synapses.CurrentExp("exc"), w_max=1 * nA), w_max=1 * nA)
    with pytest.raises(ValueError, match="weight must be in units of siemens"):
        inputs.PoissonDrive("post", 10, 5 * ms**-1, 1 * pA, synapses.CondExp("exc"))
    with pytest.raises(ValueError, match="valid identifier"):
        synapses.CurrentExp("not a label")


def test_empty_pathway_runs():
    """A connection whose synapses were all lesioned away is still a valid (silent) pathway,
    and its (empty) weights can be read back."""
    rule = synapses.STDP(synapses.CurrentExp("exc"), w_max=1 * nA)
    spec = NetworkSpec({"pre": Population(None, 1), "post": Population(neurons.LIF(), 1)},
                       {"c": Connection("pre", "post", rule, [], [], [], kind="exc")},
                       inputs=[inputs.Spikes("pre", [1e-3], [0])], record=Record(final=("c.w",)))
    rec = bio.run(spec, 2 * ms, dt=DT)
    assert rec.final["c.w"].shape == (0,) and rec.spike_counts("pre").tolist() == [1]


def test_conductance_weights_keep_their_sign_from_the_reversal_potential():
    """kind 'inh' on a conductance synapse must not flip w negative (a negative conductance
    would excite through E_rev - v < 0): the cell hyperpolarises."""
    inh = synapses.CondExp("inh", tau=10 * ms, E_rev=-80 * mV)
    spec = NetworkSpec({"pre": Population(None, 1), "post": Population(neurons.LIF(v_rest=-70 * mV), 1)},
                       {"c": Connection("pre", "post", inh, [0], [0], [float(5 * nS)], kind="inh")},
                       inputs=[inputs.Spikes("pre", [1e-3], [0])], record=Record(traces={"post.g_inh": True, "post.v": True}))
    rec = bio.run(spec, 10 * ms, dt=DT)
    assert rec.traces["post.g_inh"].max() == pytest.approx(5e-9, rel=1e-6)
    assert rec.traces["post.v"].min() < -70.01e-3
