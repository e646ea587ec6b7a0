"""bio.layered: the feed-forward network a converted ANN runs as, a NetworkSpec of library models."""
import inspect

import brian2 as b2
import numpy as np
import pytest

from bio import layered, neurons, synapses
from bio.spec import NetworkSpec
from bridge import convert, reference
from bridge.reference import simulate

DT = 1 * b2.ms


def chain(n_in=1, n_h=1, w=1.0, model=None, **kw):
    """in -> h, all-to-all with weight w (threshold units)."""
    i, j = np.nonzero(np.ones((n_in, n_h)))
    return layered.layered({"in": n_in, "h": n_h}, {("in", "h"): (i, j, np.full(len(i), w))},
                           model=model, **kw)


def small_net(model=None, input="current", seed=0):
    """in(6) -> h(8) -> maxpool p(4) -> out(4), random signed weights and biases."""
    rng = np.random.default_rng(seed)
    i1, j1 = np.nonzero(np.ones((6, 8)))
    i3, j3 = np.nonzero(np.ones((4, 4)))
    return layered.layered(
        {"in": 6, "h": 8, "p": 4, "out": 4},
        {("in", "h"): (i1, j1, rng.normal(0, 0.4, len(i1))),
         ("h", "p"): (np.arange(8), np.arange(8) // 2, np.ones(8)),
         ("p", "out"): (i3, j3, rng.normal(0, 0.5, len(i3)))},
        model=model, bias_hz={"h": rng.normal(0, 50, 8)}, maxpool=("p",), input=input)


def same_spikes(a, b):
    assert set(a.populations) == set(b.populations)
    for pop in a.populations:
        assert sorted(zip(a.times_s[pop].round(6), a.indices[pop])) == \
            sorted(zip(b.times_s[pop].round(6), b.indices[pop])), pop


def test_spec_is_built_from_library_models_in_volts():
    """Weights in threshold units become volts w * (v_thresh - v_reset) of the target model, biases
    the current b * D * C, max pooling a MaxPoolGate into ideal IF relays; no equation is written here."""
    model = neurons.AdEx()
    spec = small_net(model=model)
    d = float((model.v_thresh - model.v_reset) / b2.volt)
    assert isinstance(spec, NetworkSpec) and spec.populations["in"].is_source
    assert spec.populations["h"].model is model and spec.populations["p"].model == layered.RELAY
    assert isinstance(spec.connections["in->h"].model, synapses.CurrentDelta)
    assert isinstance(spec.connections["h->p"].model, synapses.MaxPoolGate)
    rng = np.random.default_rng(0)  # small_net's draws, in its order
    w, _, bias = rng.normal(0, 0.4, 48), rng.normal(0, 0.5, 16), rng.normal(0, 50, 8)
    np.testing.assert_allclose(spec.connections["in->h"].w, w * d)
    np.testing.assert_allclose(layered.weights_in_thresholds(spec, "in->h"), w)
    np.testing.assert_allclose(spec.populations["h"].i_ext_amp, bias * d * float(model.C / b2.farad))
    np.testing.assert_allclose(layered.bias_hz(spec, "h"), bias)
    assert spec.record.traces == {"out.v": True} and spec.record.when == "end"
    for module in (layered, convert, reference):  # equations live only in bio.neurons / bio.synapses
        assert "/dt" not in inspect.getsource(module), module.__name__


def test_if_golden_trajectory_reset_by_subtraction():
    """Ideal IF, constant drive 0.35 threshold per step: spikes at steps 2, 5, 8 and v keeps
    the surplus (reset by subtraction, Rueckauer et al. 2017 eq. 3): v_k = frac(0.35 (k + 1))."""
    rec = layered.run(chain(), np.array([[0.35]]), 10 * b2.ms, dt=DT)
    steps = np.rint(rec.times_s["h"] / 1e-3).astype(int)
    assert steps.tolist() == [2, 5, 8]
    v = rec.traces["h.v"][:, 0]  # end of each step, volt (threshold 1 mV above rest 0)
    np.testing.assert_allclose(v, np.mod(0.35 * np.arange(1, 11), 1.0) * 1e-3, atol=1e-12)


def test_lif_golden_trajectory():
    """LIF, tau_m = 10 ms, constant drive of 0.35 threshold per ms: exact integration relaxes v
    towards v_inf = 3.5 thresholds, v_(k+1) = v_inf + (v_k - v_inf) exp(-dt/tau) (Gerstner et al.
    2014, ch. 1.3), minus one threshold after each spike (v > v_th, reset by subtraction)."""
    model = layered.neuron_model("lif", tau_m=10 * b2.ms)
    rec = layered.run(chain(model=model), np.array([[0.35]]), 12 * b2.ms, dt=DT)
    v, want, spikes = 0.0, [], []
    for k in range(12):
        v = 3.5 + (v - 3.5) * np.exp(-0.1)
        if v > 1.0:
            spikes.append(k)
            v -= 1.0
        want.append(v)
    assert np.rint(rec.times_s["h"] / 1e-3).astype(int).tolist() == spikes and spikes[0] == 3
    np.testing.assert_allclose(rec.traces["h.v"][:, 0], np.array(want) * 1e-3, atol=1e-12)


def test_rate_proportional_to_input():
    """IF with reset by subtraction fires at x * rate_hz (Rueckauer et al. 2017, eq. 2)."""
    x = np.array([[0.13], [0.27], [0.55], [0.81]])
    rec = layered.run(chain(), x, 99 * b2.ms, dt=DT)
    np.testing.assert_array_equal(rec.spike_counts("h"), np.floor(x[:, 0] * 99))  # copy b is neuron b


@pytest.mark.parametrize("neuron,input,t_ref_ms", [("if", "poisson", 0.0), ("lif", "current", 2.0),
                                                   ("if", "current", 0.0)])
def test_brian2_matches_reference_spike_for_spike(neuron, input, t_ref_ms):
    """The NumPy reference and Brian2 give the same spikes and potentials (same schedule, same
    input currents and draws), also with lesions: a dead neuron, a threshold shift, a delay."""
    model = layered.neuron_model(neuron, tau_m=10 * b2.ms, t_ref=t_ref_ms * b2.ms)
    net = small_net(model, input)
    net.populations["h"].alive[5] = False
    net.populations["out"].thresh_shift[:] = [0.0, 0.2, -0.1, 0.0]
    net.connections["p->out"].delay_s[:4] = 2e-3
    x = np.random.default_rng(1).random((5, 6))
    rec = layered.run(net, x, 30 * b2.ms, dt=DT, seed=3)
    ref = simulate(net, x, 30, 1e-3, seed=3)
    same_spikes(rec, ref)
    assert rec.spike_counts("out").sum() > 10
    np.testing.assert_allclose(rec.traces["out.v"], ref.traces["out.v"], atol=1e-12)


def test_maxpool_count_equals_window_max():
    """Max-pooling gate (Rueckauer et al. 2017, sec. 2.2.6): the pooled neuron's spike count is the
    largest count in its window one step earlier (a passed spike makes the relay fire next step)."""
    x = np.random.default_rng(2).random((6, 6))
    rec = layered.run(small_net(), x, 40 * b2.ms, dt=DT)
    h = rec.spike_counts("h", 0.0, 39e-3 - 1e-9).reshape(6, 4, 2)  # (copy, window, member)
    p = rec.spike_counts("p").reshape(6, 4)
    assert h.max() > 5 and np.any(h.min(axis=2) > 0)
    np.testing.assert_array_equal(p, h.max(axis=2))


def test_copies_are_independent():
    """Copy b of a batched run spikes exactly as a run of sample b alone."""
    net = small_net(seed=4)
    x = np.random.default_rng(5).random((3, 6))
    batched = layered.run(net, x, 20 * b2.ms, dt=DT)
    alone = layered.run(net, x[1:2], 20 * b2.ms, dt=DT)
    np.testing.assert_array_equal(batched.spike_counts("out")[4:8], alone.spike_counts("out"))


def test_dead_neuron_never_spikes_and_stops_driving():
    net = chain(n_in=2, n_h=2, w=1.0)
    net.populations["h"].alive[0] = False
    net.populations["in"].alive[1] = False
    counts = layered.run(net, np.array([[0.3, 0.4]]), 21 * b2.ms, dt=DT).spike_counts("h")
    assert counts.tolist() == [0, 6]  # only input 0 (0.3 per step) drives neuron 1


def test_thresh_shift_halves_rate():
    net = chain(n_h=2)
    net.populations["h"].thresh_shift[:] = [0.0, 1.0]  # threshold distance x2
    assert layered.run(net, np.array([[0.5]]), 41 * b2.ms, dt=DT).spike_counts("h").tolist() == [20, 10]


def test_blocked_and_delayed_synapses():
    """transmits=False removes a synapse; delay_s postpones its effect (here by 5 steps)."""
    net = layered.layered({"in": 1, "h": 2, "o": 2},
                          {("in", "h"): ([0, 0], [0, 1], [1.0, 1.0]), ("h", "o"): ([0, 1], [0, 1], [1.0, 1.0])})
    net.connections["h->o"].delay_s[:] = [0.0, 5e-3]
    rec = layered.run(net, np.array([[1.0]]), 10 * b2.ms, dt=DT)
    first = [rec.times_s["o"][rec.indices["o"] == k].min() for k in (0, 1)]
    assert round((first[1] - first[0]) * 1e3) == 5
    net.connections["h->o"].transmits[:] = [True, False]
    assert layered.run(net, np.array([[1.0]]), 10 * b2.ms, dt=DT).spike_counts("o")[1] == 0


def test_noise_makes_silent_neurons_fire_in_brian2_and_reference():
    """Background noise (bio.spec's one definition, an OU current) moves silent neurons across
    threshold; Brian2 and the reference draw differently but fire at similar rates."""
    assert layered.run(chain(n_h=40, w=0.0), np.array([[0.0]]), 50 * b2.ms, dt=DT).spike_counts("h").sum() == 0
    net = chain(n_h=400, w=0.0, noise_sigma=0.5)
    brian = layered.run(net, np.array([[0.0]]), 50 * b2.ms, dt=DT, seed=0).spike_counts("h").sum()
    numpy = simulate(net, np.array([[0.0]]), 50, 1e-3, seed=0).spike_counts("h").sum()
    assert brian > 100 and abs(brian - numpy) < 0.2 * brian


def test_any_library_model_runs():
    """An AdEx population driven above rheobase fires, more for a stronger drive."""
    net = chain(n_h=1, model=neurons.AdEx())
    counts = layered.run(net, np.array([[0.2], [0.5]]), 100 * b2.ms, dt=0.1 * b2.ms).spike_counts("h")
    assert 0 < counts[0] < counts[1]


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="unknown neuron 'adex'; choose one of: if, lif"):
        layered.neuron_model("adex")
    with pytest.raises(ValueError, match="must be a bio.neurons model instance"):
        chain(model="lif")
    with pytest.raises(ValueError, match=r"inputs must be \(batch, 1\)"):
        layered.run(chain(), np.zeros((2, 3)), 5 * b2.ms)
    with pytest.raises(ValueError, match="sizes must start with 'in'"):
        layered.layered({"h": 2, "out": 1}, {})
    with pytest.raises(ValueError, match=r"bias_hz\['h'\] must be 1 finite values"):
        chain(bias_hz={"h": [1.0, 2.0]})
    with pytest.raises(ValueError, match="input spikes must be bool"):
        layered.run(chain(), np.zeros((4, 1, 1), bool), 5 * b2.ms)
    with pytest.raises(ValueError, match=r"Poisson-coded inputs must be finite values in \[0, 1\]"):
        layered.run(chain(input="poisson"), np.array([[1.5]]), 5 * b2.ms)
    with pytest.raises(ValueError, match="v_thresh <= v_reset"):
        chain(model=neurons.IF(v_thresh=-70 * b2.mV, v_reset=-50 * b2.mV))
