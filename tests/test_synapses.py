"""Synapse models against closed-form answers (numpy target, tiny networks)."""
import brian2 as b2
import numpy as np
import pytest
from brian2 import Mohm, mV, ms, nA, nS, pA, second

from bio import neurons, synapses

DT = 0.1 * ms


@pytest.fixture(autouse=True)
def _numpy_target():
    b2.prefs.codegen.target = "numpy"
    b2.defaultclock.dt = DT
    yield


def _forced(n, syn_model, t_fire=None):
    """n postsynaptic cells that carry `syn_model`'s variables and spike exactly at t_fire."""
    eqs = syn_model.post_equations() + "\nt_fire : second"
    g = b2.NeuronGroup(n, eqs, threshold="abs(t - t_fire) < 0.5*dt", method="exact",
                       namespace=syn_model.namespace())
    g.t_fire = 1e9 * second if t_fire is None else t_fire
    return g


def test_current_exp_psc_and_delay():
    """A spike gives PSC w exp(-(t - t_spike - delay)/tau); a delay only shifts it."""
    model = synapses.CurrentExp("exc", tau=5 * ms)
    pre = b2.SpikeGeneratorGroup(1, [0], [2 * ms])
    post = _forced(2, model)
    syn = model.connect(pre, post, [0, 0], [0, 1], w=[100, 100] * pA, delay=[0, 3] * ms)
    mon = b2.StateMonitor(post, "I_exc", record=True)
    b2.Network(pre, post, syn, mon).run(30 * ms)
    I = mon.I_exc_[:]  # (2, T)
    k0 = np.flatnonzero(I[0] > 0)[0]
    k1 = np.flatnonzero(I[1] > 0)[0]
    assert k1 - k0 == 30  # 3 ms at dt = 0.1 ms
    assert I[0, k0] == pytest.approx(100e-12)
    steps = np.arange(0, 100)
    expected = 100e-12 * np.exp(-steps * 0.1 / 5)
    np.testing.assert_allclose(I[0, k0 + steps], expected, rtol=1e-9)
    np.testing.assert_allclose(I[1, k1 + steps], expected, rtol=1e-9)


def test_current_exp_psp_shape_in_lif():
    """LIF + exponential current: PSP = R w tau_s/(tau_m - tau_s) (e^{-t/tau_m} - e^{-t/tau_s})."""
    model = synapses.CurrentExp("exc", tau=5 * ms)
    cell = neurons.LIF(tau_m=20 * ms, R=100 * Mohm, v_rest=-70 * mV)
    post = cell.group(1, synapses=[model])
    pre = b2.SpikeGeneratorGroup(1, [0], [1 * ms])
    syn = model.connect(pre, post, [0], [0], w=[1] * nA)
    mon = b2.StateMonitor(post, "v", record=0)
    b2.Network(post, pre, syn, mon).run(40 * ms)
    v = mon.v_[0] - (-70e-3)
    onset = np.flatnonzero(np.abs(v) > 0)[0] - 1  # step at which I jumped
    s = (np.arange(len(v)) - onset)[onset:] * 1e-4  # seconds since the jump
    tm, ts = 20e-3, 5e-3
    expected = 100e6 * 1e-9 * ts / (tm - ts) * (np.exp(-s / tm) - np.exp(-s / ts))
    np.testing.assert_allclose(v[onset:], expected, atol=2e-6 * 1e-3 + 1e-3 * expected.max())
    assert expected.max() > 1e-3  # a PSP of a few mV, not a trivially zero trace


def test_cond_exp_sign_follows_reversal_potential():
    """Conductance synapse: current g (E_rev - v); g decays with tau, and an input with
    E_rev at rest is purely shunting (no PSP), one below rest hyperpolarises."""
    exc = synapses.CondExp("exc", tau=5 * ms, E_rev=0 * mV)
    inh = synapses.CondExp("inh", tau=10 * ms, E_rev=-80 * mV)
    shunt = synapses.CondExp("sh", tau=10 * ms, E_rev=-70 * mV)
    cell = neurons.LIF(v_rest=-70 * mV)
    post = cell.group(3, synapses=[exc, inh, shunt], method="euler")  # g*v is not linear-exact
    pre = b2.SpikeGeneratorGroup(1, [0], [1 * ms])
    s1 = exc.connect(pre, post, [0], [0], w=[5] * nS)
    s2 = inh.connect(pre, post, [0], [1], w=[5] * nS)
    s3 = shunt.connect(pre, post, [0], [2], w=[5] * nS)
    mon = b2.StateMonitor(post, ["v", "g_exc"], record=True)
    b2.Network(post, pre, s1, s2, s3, mon).run(30 * ms)
    dv = mon.v_[:, -100] + 70e-3
    assert dv[0] > 1e-4 and dv[1] < -1e-5 and abs(dv[2]) < 1e-12
    g = mon.g_exc_[0]
    k = np.flatnonzero(g > 0)[0]
    np.testing.assert_allclose(g[k + 50] / g[k], np.exp(-5 / 5), rtol=0.02)  # Euler step


def _stdp_dw(rule, lags_ms, w0):
    """Weight change of one pre->post synapse per lag (t_post - t_pre), one pairing each."""
    n = len(lags_ms)
    t_pre = 50.0
    pre = b2.SpikeGeneratorGroup(n, np.arange(n), np.full(n, t_pre) * ms)
    post = _forced(n, rule.on, t_fire=(t_pre + np.asarray(lags_ms)) * ms)
    syn = rule.connect(pre, post, np.arange(n), np.arange(n), w=np.full(n, float(w0)) * b2.get_unit(w0.dim))
    b2.Network(pre, post, syn).run(t_pre * ms + max(np.abs(lags_ms)) * ms + 5 * ms)
    return np.asarray(syn.w_[:]) - float(w0)


def test_stdp_window():
    """Song, Miller & Abbott (2000) / Bi & Poo (1998): pre-before-post potentiates, post-before-pre
    depresses, and |dw| decays with |dt| with time constants tau_plus / tau_minus."""
    rule = synapses.STDP(synapses.CurrentExp("exc"), w_max=1 * nA, A_plus=0.01, A_minus=0.012,
                         tau_plus=16.8 * ms, tau_minus=33.7 * ms)
    lags = np.array([5.0, 10.0, 20.0, 40.0, -5.0, -10.0, -20.0, -40.0])
    dw = _stdp_dw(rule, lags, 0.5 * nA)
    ltp, ltd = dw[:4], dw[4:]
    assert np.all(ltp > 0) and np.all(ltd < 0)
    np.testing.assert_allclose(ltp / ltp[0], np.exp(-(lags[:4] - 5) / 16.8), rtol=1e-6)
    np.testing.assert_allclose(ltd / ltd[0], np.exp((lags[4:] + 5) / 33.7), rtol=1e-6)
    assert ltp[0] == pytest.approx(0.01e-9 * np.exp(-5 / 16.8), rel=1e-6)
    assert ltd[0] == pytest.approx(-0.012e-9 * np.exp(-5 / 33.7), rel=1e-6)


def test_stdp_nearest_vs_all_pairing():
    """All-to-all traces sum over earlier presynaptic spikes; nearest-spike traces keep only the last."""
    results = {}
    for pairing in ("all", "nearest"):
        rule = synapses.STDP(synapses.CurrentExp("exc"), w_max=1 * nA, pairing=pairing)
        pre = b2.SpikeGeneratorGroup(1, [0, 0], [10, 20] * ms)
        post = _forced(1, rule.on, t_fire=[30] * ms)
        syn = rule.connect(pre, post, [0], [0], w=[0.5] * nA)
        b2.Network(pre, post, syn).run(40 * ms)
        results[pairing] = float(syn.w_[0]) - 0.5e-9
    a = 0.005e-9
    assert results["all"] == pytest.approx(a * (np.exp(-1) + np.exp(-0.5)), rel=1e-6)
    assert results["nearest"] == pytest.approx(a * np.exp(-0.5), rel=1e-6)


def test_stdp_clips_at_bounds():
    rule = synapses.STDP(synapses.CurrentExp("exc"), w_max=1 * nA, A_plus=0.5)
    dw = _stdp_dw(rule, [1.0], 0.9 * nA)
    assert dw[0] == pytest.approx(0.1e-9)


def _pairing_protocols(rule, protocols):
    """Weight change of one synapse per protocol (lag_ms = t_post - t_pre, freq_hz, n_pairs),
    all simulated side by side in one network (synapse k: pre k -> post k)."""
    n = len(protocols)
    pre_i, pre_t = [], []
    t0, period, t_end = np.zeros(n), np.zeros(n), np.zeros(n)
    for k, (lag, freq, n_pairs) in enumerate(protocols):
        per = 1000.0 / freq
        t_pre = 20.0 + per * np.arange(n_pairs)
        pre_i += [k] * n_pairs
        pre_t += list(t_pre)
        t0[k], period[k], t_end[k] = t_pre[0] + lag, per, t_pre[-1] + lag + 0.5
    pre = b2.SpikeGeneratorGroup(n, pre_i, pre_t * ms)
    # postsynaptic cell k fires a regular train at exactly t_pre + lag
    eqs = rule.on.post_equations() + "\nt0 : second\nt_end : second\nperiod : second"
    post = b2.NeuronGroup(n, eqs, method="exact", namespace=rule.on.namespace(),
                          threshold="t > t0 - 0.5*dt and t < t_end and "
                                    "abs(t - t0 - period*floor((t - t0)/period + 0.5)) < 0.5*dt")
    post.t0, post.period, post.t_end = t0 * ms, period * ms, t_end * ms
    syn = rule.connect(pre, post, np.arange(n), np.arange(n), w=np.full(n, 0.5) * nA)
    b2.Network(pre, post, syn).run((t_end.max() + 20) * ms)
    return np.asarray(syn.w_[:]) - 0.5e-9


def test_triplet_frequency_dependence():
    """Pfister & Gerstner (2006), Fig. 5 / Sjöström et al. (2001): with the visual-cortex minimal
    triplet model, pairing at 1 Hz with post before pre (-10 ms) depresses and pre before post
    (+10 ms) barely changes the weight, while 20 pairings at 50 Hz potentiate in both orders."""
    b2.defaultclock.dt = 1 * ms  # event-driven traces are exact; spikes sit on the 1 ms grid
    rule = synapses.TripletSTDP.preset("visual_cortex", on=synapses.CurrentExp("exc"), w_max=1 * nA)
    low_post_pre, low_pre_post, high_post_pre, high_pre_post = _pairing_protocols(
        rule, [(-10, 1, 3), (+10, 1, 3), (-10, 50, 20), (+10, 50, 20)])
    assert low_post_pre < 0
    assert abs(low_pre_post) < 0.05 * abs(low_post_pre)
    assert high_post_pre > 0 and high_pre_post > 0
    # an isolated post->pre pair depresses by A2_minus exp(-10/tau_minus), per pair
    assert low_post_pre == pytest.approx(-3 * 7.1e-3 * 1e-9 * np.exp(-10 / 33.7), rel=1e-3)


def _stp_amplitudes(model, n_spikes, isi_ms):
    """Charge delivered per spike (w u R) by a regular train, read from an integrating probe."""
    t = 5.0 + isi_ms * np.arange(n_spikes)
    pre = b2.SpikeGeneratorGroup(1, np.zeros(n_spikes, int), t * ms)
    post = _forced(1, model.on)
    syn = model.connect(pre, post, [0], [0], w=[1] * nA)
    mon = b2.StateMonitor(post, "I_exc", record=0)
    b2.Network(pre, post, syn, mon).run((t[-1] + 2) * ms)
    idx = np.round((t + 1) / 0.1).astype(int) - 1  # one step after each spike
    return np.diff(np.concatenate([[0.0], mon.I_exc_[0][idx]])) / 1e-9


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
    base = synapses.CurrentExp("exc", tau=1e6 * second)  # integrates, so jumps are amplitudes
    model = synapses.TsodyksMarkram(base, U=U, tau_rec=tau_rec * ms, tau_facil=tau_facil * ms)
    amp = _stp_amplitudes(model, 6, 25.0)
    np.testing.assert_allclose(amp, _markram_recursion(U, tau_rec, tau_facil, 6, 25.0), rtol=1e-6)
    steps = np.diff(amp)
    assert np.all(steps < 0) if trend == "depressing" else np.all(steps[:3] > 0)


def test_wrong_weight_unit_is_explained():
    model = synapses.CurrentExp("exc")
    pre = b2.SpikeGeneratorGroup(1, [0], [1 * ms])
    post = _forced(1, model)
    with pytest.raises(ValueError, match="amp"):
        model.connect(pre, post, [0], [0], w=[1] * mV)


def test_empty_pathway_runs():
    """A connection whose synapses were all lesioned away is still a valid (silent) pathway."""
    model = synapses.STDP(synapses.CurrentExp("exc"), w_max=1 * nA)
    pre = b2.SpikeGeneratorGroup(1, [0], [1 * ms])
    post = _forced(1, model.on)
    syn = model.connect(pre, post, np.zeros(0, int), np.zeros(0, int), w=np.zeros(0) * nA,
                        delay=np.zeros(0) * ms)
    b2.Network(pre, post, syn).run(2 * ms)
    assert len(syn) == 0
