"""bio.synapses.SynapticScaling (homeostatic multiplicative scaling) and its closed-form steady state."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from brian2 import Hz, ms, nA, second

import bio
from bio import inputs, layered, neurons, synapses
from bio.spec import Connection, NetworkSpec, Population, Record


def _rate(rec, pop, k, t0, t1):
    ts = rec.times_s[pop][rec.indices[pop] == k]
    return np.sum((ts >= t0) & (ts < t1)) / (t1 - t0)


def test_lif_driven_below_or_above_its_target_converges_to_it_by_one_factor():
    """Turrigiano et al. 1998 (Nature 391:892): a neuron firing below its set point scales all its
    excitatory synapses up, above it down, multiplicatively (weight ratios kept), until it fires
    at the set point. Neuron 0 starts at < half, neuron 1 at > twice the 10 Hz target; after
    30 s (15 tau_hom) both fire within 15% of it over the last 10 s."""
    n_in, target = 20, 10.0
    rng = np.random.default_rng(0)
    base = rng.uniform(0.5, 1.5, n_in)
    i, j = np.arange(2 * n_in), np.repeat([0, 1], n_in)
    w = np.concatenate([base * 30e-12, base * 120e-12])  # amp

    def spec(model, final=()):
        return NetworkSpec({"in": Population(None, 2 * n_in), "out": Population(neurons.LIF(), 2)},
                           {"in_out": Connection("in", "out", model, i, j, w, kind="exc")},
                           inputs=[inputs.Rates("in", np.full(2 * n_in, 50.0))], record=Record(final=final))

    static = bio.run(spec(synapses.CurrentExp("exc")), 5 * second, dt=1 * ms, seed=0)
    before = [_rate(static, "out", k, 0, 5) for k in (0, 1)]
    assert before[0] < 0.5 * target and before[1] > 2 * target
    rule = synapses.SynapticScaling(synapses.CurrentExp("exc"), target=target * Hz, tau_hom=2 * second,
                                    tau_rate=200 * ms)
    rec = bio.run(spec(rule, ("in_out.w",)), 30 * second, dt=1 * ms, seed=0)
    after = [_rate(rec, "out", k, 20, 30) for k in (0, 1)]
    assert np.allclose(after, target, rtol=0.15), (before, after)
    g = rec.final["in_out.w"] / w
    assert g[:n_in].min() > 1.1 and g[n_in:].max() < 0.6  # up for the quiet one, down for the loud one
    for k in (0, 1):  # one factor per neuron: ratios between its weights preserved
        assert np.ptp(g[j == k]) < 1e-9 * g[j == k].mean()


def test_closed_form_steady_state_equals_what_the_rule_converges_to():
    """An ideal IF neuron (reset by subtraction) fires at relu(drive) / threshold on average, so the
    rule's fixed point solves mean_s relu(g pos_s + rest_s) = target (scaling_steady_state). Three
    IF neurons with excitatory and inhibitory inputs and a bias see two stimuli in turn; one of
    them is silenced by one stimulus (the rectification matters). After 100 s of the rule each
    neuron's excitatory gain is within 5% of the closed form; inhibitory weights are untouched."""
    rng = np.random.default_rng(1)
    n_in, n_out, target = 12, 3, 20.0
    i, j = np.divmod(np.arange(n_in * n_out), n_out)
    w_thr = rng.uniform(-0.3, 1.0, n_in * n_out) * 0.05  # threshold units
    model = layered.neuron_model("if")
    D, C = layered.threshold_distance(model), float(model.capacitance)
    rates = rng.uniform(0, 80, (2, n_in))  # two stimuli (Hz)
    rates[0, :10] = 0.0  # stimulus 0 drives only two of the twelve fibres
    bias_hz = np.array([-30.0, 2.0, 0.0])
    drive = rates[:, i] * w_thr[None, :]  # (S, n_syn) threshold crossings per second
    pos = np.stack([np.bincount(j, np.where(w_thr > 0, d, 0), n_out) for d in drive])
    rest = np.stack([np.bincount(j, np.where(w_thr < 0, d, 0), n_out) for d in drive]) + bias_hz
    g_closed = synapses.scaling_steady_state(pos, rest, np.full(n_out, target))
    assert np.any(g_closed[None, :] * pos + rest < 0)  # some stimulus silences some neuron
    # each stimulus lasts 1 s and the neurons return to rest at its onset (the default): an IF
    # neuron has no floor, and negative charge carried from one stimulus into the next would
    # break relu(drive); the charge below threshold lost at an onset costs < 1 spike per second
    rule = synapses.SynapticScaling(synapses.CurrentDelta(), target=target * Hz, tau_hom=5 * second,
                                    tau_rate=1 * second)
    T = 100
    shown = np.tile(rates[:, None, :], (T // 2, 1, 1))  # (S, B, n): the two stimuli in turn
    spec = NetworkSpec({"in": Population(None, n_in),
                        "out": Population(model, n_out, i_ext_amp=bias_hz * D * C)},
                       {"in_out": Connection("in", "out", rule, i, j, w_thr * D, kind="signed")},
                       inputs=[inputs.Rates("in", shown)], period=1 * second,
                       record=Record(final=("in_out.w",)))
    w = bio.run(spec, T * second, dt=2 * ms, seed=0).final["in_out.w"]
    g_model = np.array([np.median((w / (w_thr * D))[(j == k) & (w_thr > 0)]) for k in range(n_out)])
    assert np.allclose(g_model, g_closed, rtol=0.05), (g_model, g_closed)
    assert np.allclose(w[w_thr < 0], (w_thr * D)[w_thr < 0])


def test_scaling_steady_state_solves_the_linear_case_exactly_and_rejects_bad_input():
    """Without rectification the fixed point is g = (target - mean rest) / mean pos."""
    pos = np.array([[2.0, 1.0, 0.0], [4.0, 3.0, 0.0]])
    rest = np.array([[1.0, 0.5, 3.0], [1.0, 0.5, 3.0]])
    g = synapses.scaling_steady_state(pos, rest, np.array([7.0, 4.5, 3.0]))
    assert np.allclose(g[:2], [(7 - 1) / 3, (4.5 - 0.5) / 2], rtol=1e-9) and g[2] == 1.0
    assert synapses.scaling_steady_state(pos, rest, np.array([100.0, 1.0, 1.0]), g_max=10)[0] == \
        pytest.approx(10)  # out of reach: the cap
    with pytest.raises(ValueError, match="must be >= 0"):
        synapses.scaling_steady_state(-pos, rest, np.ones(3))
    with pytest.raises(ValueError, match="samples, neurons"):
        synapses.scaling_steady_state(pos, rest[:, :2], np.ones(3))
    with pytest.raises(ValueError, match="target must be a positive Brian2 quantity"):
        synapses.SynapticScaling(synapses.CurrentExp("exc"), target=10.0)
    with pytest.raises(ValueError, match="wraps a base synapse"):
        synapses.SynapticScaling(synapses.STDP(synapses.CurrentExp("exc"), w_max=1 * nA))
