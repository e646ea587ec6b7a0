"""bio.layered: the IF/LIF feed-forward network a converted ANN runs as."""
import brian2 as b2
import numpy as np
import pytest

from bio.layered import Layered
from bio.spec import Connection, Population
from bridge.reference import simulate

DT = 1 * b2.ms


def chain(n_in=1, n_h=1, w=1.0, neuron="if", **kw):
    """in -> h, all-to-all with weight w."""
    i, j = np.nonzero(np.ones((n_in, n_h)))
    return Layered(populations={"in": Population(n_in), "h": Population(n_h)},
                   connections={"in->h": Connection("in", "h", i, j, np.full(len(i), w))},
                   layers=("in", "h"), neuron=neuron, **kw)


def small_net(neuron="if", input="current", t_ref_ms=0.0, seed=0):
    """in(6) -> h(8) -> maxpool p(4) -> out(4), random signed weights and biases."""
    rng = np.random.default_rng(seed)
    i1, j1 = np.nonzero(np.ones((6, 8)))
    i3, j3 = np.nonzero(np.ones((4, 4)))
    return Layered(
        populations={"in": Population(6), "h": Population(8), "p": Population(4), "out": Population(4)},
        connections={"in->h": Connection("in", "h", i1, j1, rng.normal(0, 0.4, len(i1))),
                     "h->p": Connection("h", "p", np.arange(8), np.arange(8) // 2, np.ones(8)),
                     "p->out": Connection("p", "out", i3, j3, rng.normal(0, 0.5, len(i3)))},
        layers=("in", "h", "p", "out"), bias_hz={"h": rng.normal(0, 50, 8)}, maxpool=("p",),
        neuron=neuron, input=input, t_ref=t_ref_ms * b2.ms, tau_m=10 * b2.ms)


def test_if_golden_trajectory_reset_by_subtraction():
    """Ideal IF, constant drive 0.35 threshold per step: spikes at steps 2, 5, 8 and v keeps
    the surplus (reset by subtraction, Rueckauer et al. 2017 eq. 3): v_k = frac(0.35 (k + 1))."""
    rec = chain().run(np.array([[0.35]]), 10 * b2.ms, dt=DT)
    steps = np.rint(rec.times_s["h"] / 1e-3).astype(int)
    assert steps.tolist() == [2, 5, 8]
    v = rec.traces["h.v"][:, 0]  # end of each step, volt (v_thresh = 1 mV)
    expected = np.mod(0.35 * np.arange(1, 11), 1.0) * 1e-3
    np.testing.assert_allclose(v, expected, atol=1e-12)


def test_rate_proportional_to_input():
    """IF with reset by subtraction fires at x * rate_hz (Rueckauer et al. 2017, eq. 2)."""
    x = np.array([[0.13], [0.27], [0.55], [0.81]])
    rec = chain().run(x, 99 * b2.ms, dt=DT)
    counts = rec.spike_counts("h")  # copy b is neuron b
    np.testing.assert_array_equal(counts, np.floor(x[:, 0] * 99))


@pytest.mark.parametrize("neuron,input,t_ref_ms", [("if", "poisson", 0.0), ("lif", "current", 2.0)])
def test_brian2_matches_reference_spike_for_spike(neuron, input, t_ref_ms):
    """The NumPy reference and Brian2 give the same spikes (same schedule, same input draws)."""
    net = small_net(neuron, input, t_ref_ms)
    x = np.random.default_rng(1).random((5, 6))
    rec = net.run(x, 30 * b2.ms, dt=DT, seed=3)
    ref = simulate(net, x, 30, 1e-3, seed=3)
    for pop in rec.populations:
        assert sorted(zip(rec.times_s[pop].round(6), rec.indices[pop])) == \
            sorted(zip(ref.times_s[pop].round(6), ref.indices[pop])), pop
    np.testing.assert_allclose(rec.traces["out.v"], ref.traces["out.v"], atol=1e-12)


def test_maxpool_count_equals_window_max():
    """Max-pooling gate (Rueckauer et al. 2017, sec. 2.2.6): the pooled neuron's spike count is the
    largest count in its window one step earlier (a passed spike makes the relay fire next step)."""
    net = small_net()
    x = np.random.default_rng(2).random((6, 6))
    rec = net.run(x, 40 * b2.ms, dt=DT)
    h = rec.spike_counts("h", 0.0, 39e-3 - 1e-9).reshape(6, 4, 2)  # (copy, window, member)
    p = rec.spike_counts("p").reshape(6, 4)
    assert h.max() > 5 and np.any(h.min(axis=2) > 0)
    np.testing.assert_array_equal(p, h.max(axis=2))


def test_copies_are_independent():
    """Copy b of a batched run spikes exactly as a run of sample b alone."""
    net = small_net(seed=4)
    x = np.random.default_rng(5).random((3, 6))
    batched = net.run(x, 20 * b2.ms, dt=DT)
    alone = net.run(x[1:2], 20 * b2.ms, dt=DT)
    np.testing.assert_array_equal(batched.spike_counts("out")[4:8], alone.spike_counts("out"))


def test_dead_neuron_never_spikes_and_stops_driving():
    net = chain(n_in=2, n_h=2, w=1.0)
    net.populations["h"].alive[0] = False
    net.populations["in"].alive[1] = False
    rec = net.run(np.array([[0.3, 0.4]]), 21 * b2.ms, dt=DT)
    counts = rec.spike_counts("h")
    assert counts[0] == 0 and counts[1] == 6  # only input 0 (0.3/step) drives neuron 1


def test_thresh_shift_halves_rate():
    net = chain(n_h=2)
    net.populations["h"].thresh_shift[:] = [0.0, 1.0]  # threshold x2
    counts = net.run(np.array([[0.5]]), 41 * b2.ms, dt=DT).spike_counts("h")
    assert counts.tolist() == [20, 10]


def test_blocked_and_delayed_synapses():
    """transmits=False removes a synapse; delay_s postpones its effect (here by 5 steps)."""
    i, j = np.array([0, 0]), np.array([0, 1])
    net = Layered(populations={"in": Population(1), "h": Population(2), "o": Population(2)},
                  connections={"in->h": Connection("in", "h", i, j, [1.0, 1.0]),
                               "h->o": Connection("h", "o", [0, 1], [0, 1], [1.0, 1.0],
                                                  delay_s=[0.0, 5e-3], transmits=[True, True])},
                  layers=("in", "h", "o"))
    rec = net.run(np.array([[1.0]]), 10 * b2.ms, dt=DT)
    first = [rec.times_s["o"][rec.indices["o"] == k].min() for k in (0, 1)]
    assert round((first[1] - first[0]) * 1e3) == 5
    net.connections["h->o"].transmits[:] = [True, False]
    assert net.run(np.array([[1.0]]), 10 * b2.ms, dt=DT).spike_counts("o")[1] == 0


def test_noise_makes_silent_neurons_fire():
    net = chain(n_h=20, w=0.0)
    assert net.run(np.array([[0.0]]), 30 * b2.ms, dt=DT).spike_counts("h").sum() == 0
    net.populations["h"].noise_sigma = 0.5
    assert net.run(np.array([[0.0]]), 30 * b2.ms, dt=DT, seed=0).spike_counts("h").sum() > 10


def test_bad_arguments_are_explained():
    with pytest.raises(ValueError, match="unknown neuron 'adex'; choose one of: if, lif"):
        chain(neuron="adex")
    with pytest.raises(ValueError, match=r"inputs must be \(batch, 1\)"):
        chain().run(np.zeros((2, 3)), 5 * b2.ms)
