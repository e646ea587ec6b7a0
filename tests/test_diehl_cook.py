"""The Diehl & Cook (2015) network (bio/diehl_cook.py) and its trainer (bio/stdp.py).

Tiny networks on the Brian2 numpy target; short presentations (40 ms + 10 ms rest) keep
each simulation to about a second.
"""
from dataclasses import replace

import numpy as np
import pytest
from brian2 import Hz, mV, ms

import bio
from bio import lesion, stdp, synapses
from bio.diehl_cook import DiehlCookParams, diehl_cook_spec, frozen, theta_mv, weights, with_samples
from bio.inputs import Spikes
from bio.spec import Record

# w_total 8 over 16 inputs: a mean weight of 0.5, below w_max = 1
FAST = DiehlCookParams(t_present=40 * ms, t_rest=10 * ms, max_repeats=0, w_total=8.0, theta_plus=2 * mV)
N_IN = 16
# the triplet term of the "trace" rule potentiates in proportion to the postsynaptic trace,
# so it needs postsynaptic bursts (Pfister & Gerstner 2006): a strong drive, little homeostasis
BURSTS = dict(t_present=100 * ms, rate_max=800 * Hz, theta_plus=0.2 * mV, nu_post=0.05)


def _patterns():
    """Two 4x4 'images': the left half lit, or the top half lit."""
    left = np.zeros((4, 4)); left[:, :2] = 1
    top = np.zeros((4, 4)); top[:2, :] = 1
    return left.ravel(), top.ravel()


def _spec(n_exc=10, seed=0, **kw):
    return diehl_cook_spec(n_exc=n_exc, n_input=N_IN, params=replace(FAST, **kw), seed=seed)


@pytest.fixture(scope="module")
def trained():
    """A 10-neuron network trained on noisy copies of the two patterns, and its labels."""
    rng = np.random.default_rng(1)
    left, top = _patterns()
    x = np.clip(np.stack([left, top] * 4) + rng.uniform(0, 0.2, (8, N_IN)), 0, 1)
    y = np.array([0, 1] * 4)
    spec = stdp.train(_spec(), x, epochs=1, target="numpy", seed=0, progress=False)
    return spec, stdp.label(spec, x, y, target="numpy", seed=1), x, y


def test_paper_weight_is_conductance_over_R():
    """Diehl & Cook 2015, Sec. 2.1: tau dv/dt = (E_rest - v) + g_e (E_exc - v), g_e jumping by
    the dimensionless w at an input spike and decaying with tau_ge. The spec's siemens
    weight w / R must give that trajectory (forward Euler at dt, as Brian2 integrates it)."""
    p = replace(FAST, max_repeats=0)
    spec = diehl_cook_spec(n_exc=1, n_input=1, params=p, plastic=False)
    w = 0.8
    spec.connections["in_exc"].w[:] = w / float(p.R)
    t_spike = 2.0e-3
    run = spec.with_inputs(Spikes("in", [t_spike], [0]), period=None,
                           record=Record(spikes=(), traces={"exc.v": True}, when="end"))
    rec = bio.run(run, 20 * ms, dt=p.dt, target="numpy")
    v_sim = rec.traces["exc.v"][:, 0]
    dt, tau, tau_g = float(p.dt), float(p.tau_e), float(p.tau_ge)
    e_rest, e_exc = float(p.v_rest_e), float(p.E_exc)
    v, g, ref = e_rest, 0.0, []
    for step in range(len(v_sim)):
        # Brian2 order per step: state update, then synapses (the spike arrives), then "end"
        v, g = v + dt * ((e_rest - v) + g * (e_exc - v)) / tau, g - dt * g / tau_g
        if step == int(round(t_spike / dt)):
            g += w
        ref.append(v)
    np.testing.assert_allclose(v_sim, ref, rtol=0, atol=1e-9)
    assert v_sim.max() - e_rest > 1e-4  # the spike did depolarise the neuron


@pytest.mark.parametrize("rule, kw", [("pre", {}), ("trace", BURSTS)])
def test_stdp_potentiates_the_inputs_of_the_neuron_that_fires(rule, kw):
    """Diehl & Cook 2015, Eq. 3 ("pre") and the pre/post trace rule of its code ("trace"): a
    neuron that fires while one pattern is shown gains weight from that pattern's active
    inputs (after normalisation, the silent ones lose it)."""
    left, _ = _patterns()
    spec = _spec(n_exc=5, rule=rule, **kw)
    before = weights(spec)
    after_spec = stdp.train(spec, np.tile(left, (6, 1)), target="numpy", seed=0, progress=False)
    after, theta = weights(after_spec), theta_mv(after_spec)
    top = int(theta.argmax())  # the neuron that fired most
    assert theta[top] > 0
    gain_before = before[left > 0, top].mean() - before[left == 0, top].mean()
    gain_after = after[left > 0, top].mean() - after[left == 0, top].mean()
    assert gain_after > gain_before + 0.05
    assert np.corrcoef(after[:, top], left)[0, 1] > np.corrcoef(before[:, top], left)[0, 1] + 0.2
    np.testing.assert_array_equal(weights(spec), before)  # train() returns a copy


def test_trace_rule_has_the_published_codes_parameters():
    """Diehl & Cook's code: post spike w += nu_post * pre * post2 (nu_post 0.01), pre spike
    w -= nu_pre * post1 (nu_pre 1e-4); traces 20, 20, 40 ms, set to 1 at a spike."""
    model = _spec(rule="trace").connections["in_exc"].model
    assert isinstance(model, synapses.TripletSTDP) and model.pairing == "nearest"
    assert (model.A2_plus, model.A3_plus, model.A2_minus, model.A3_minus) == (0.0, 1e-2, 1e-4, 0.0)
    assert (model.tau_plus, model.tau_minus, model.tau_y) == (20 * ms, 20 * ms, 40 * ms)
    assert isinstance(_spec().connections["in_exc"].model, synapses.PreTraceSTDP)


def test_weight_normalisation_keeps_each_neurons_incoming_sum(trained):
    """Diehl & Cook 2015, Sec. 2.4: each neuron's incoming weights sum to w_total at every
    sample onset, however STDP moved them."""
    spec, _, _, _ = trained
    w, w0 = weights(spec), weights(_spec())
    assert np.abs(w - w0).max() > 0.01  # STDP acted
    np.testing.assert_allclose(w0.sum(axis=0), FAST.w_total, rtol=1e-9)
    np.testing.assert_allclose(w.sum(axis=0), FAST.w_total, rtol=1e-9)


def test_theta_grows_by_theta_plus_at_each_spike():
    """Diehl & Cook 2015, Sec. 2.1: theta jumps by theta_plus at each spike of its neuron and
    decays with tau_theta (1000 s: nearly not at all in 0.15 s)."""
    left, top = _patterns()
    spec = _spec(theta_plus=1.5 * mV)
    shown = with_samples(spec, np.stack([left, top, left]),
                         record=Record(spikes=("exc",), final=("exc.theta",)))
    rec = bio.run(shown, target="numpy", seed=0, dt=FAST.dt)
    counts = rec.spike_counts("exc")
    assert counts.sum() >= 3 and (counts == 0).any()
    np.testing.assert_allclose(rec.final["exc.theta"], 1.5e-3 * counts, rtol=1e-3, atol=1e-12)


def test_readback_keeps_the_order_of_living_synapses():
    """Record.final returns the active synapses in the spec's order: a frozen run of a
    lesioned network gives back exactly the weights it was built with."""
    spec = lesion.remove_neurons(_spec(n_exc=4), fraction=0.25, populations="exc", seed=0)
    fz = bio.diehl_cook.frozen(spec)
    left, _ = _patterns()
    rec = bio.run(with_samples(fz, left[None], record=Record(spikes=(), final=("in_exc.w",))),
                  target="numpy", seed=0, dt=FAST.dt)
    c = spec.connections["in_exc"]
    np.testing.assert_array_equal(rec.final["in_exc.w"], c.w[c.active(spec.populations)])


def test_labels_come_from_the_data_given_and_votes_predict(trained):
    """Diehl & Cook 2015, Sec. 2.5: a neuron's label is the class of its highest mean response
    on the (training) data; a sample's class is the label group with the highest mean count."""
    spec, labels, x, y = trained
    counts = stdp.responses(spec, x, target="numpy", seed=1)
    manual = np.stack([counts[y == c].mean(axis=0) for c in (0, 1)]).argmax(axis=0)
    fired = counts.sum(axis=0) > 0
    np.testing.assert_array_equal(labels.neuron[fired], manual[fired])
    assert (labels.neuron[~fired] == -1).all() and fired.sum() >= 2
    swapped = stdp.label(spec, x, 1 - y, target="numpy", seed=1)  # other labels, other answer
    np.testing.assert_array_equal(swapped.neuron[fired], 1 - manual[fired])
    left, top = _patterns()
    acc = stdp.evaluate(spec, labels, np.stack([left, top, top, left]), [0, 1, 1, 0], target="numpy", seed=5)
    assert acc >= 0.75  # the two patterns are told apart


def test_a_dead_excitatory_neuron_never_fires_and_keeps_its_weights(trained):
    """bio.spec: alive False means the neuron never spikes and loses its synapses; the others
    take over, and training leaves the dead neuron's weights and theta alone."""
    spec, _, x, _ = trained
    counts = stdp.record(spec, x[:2], seed=1).spike_counts("exc")
    top = int(counts.argmax())
    assert counts[top] > 0
    dead = spec.copy()
    dead.populations["exc"].alive[top] = False
    rec = stdp.record(dead, x[:2], seed=1)
    assert rec.spike_counts("exc")[top] == 0 and rec.spike_counts("inh")[top] == 0
    assert rec.spike_counts("exc").sum() > 0
    retrained = stdp.train(dead, x[:4], target="numpy", seed=2, progress=False)
    np.testing.assert_array_equal(weights(retrained)[:, top], 0)  # no living synapses
    np.testing.assert_array_equal(retrained.connections["in_exc"].w[spec.connections["in_exc"].j == top],
                                  spec.connections["in_exc"].w[spec.connections["in_exc"].j == top])
    assert theta_mv(retrained)[top] == theta_mv(spec)[top]
    assert retrained.meta["samples_trained"] == spec.meta["samples_trained"] + 4


def test_lateral_inhibition_makes_responses_sparse():
    """Diehl & Cook 2015, Sec. 2.3: each inhibitory neuron silences all other excitatory
    neurons, so few neurons fire per sample; blocking inh_exc releases the rest."""
    left, top = _patterns()
    x = np.stack([left, top, left, top])
    spec = _spec(n_exc=20)
    with_inh = stdp.responses(spec, x, target="numpy", seed=0)
    free = lesion.block_conduction(spec, fraction=1.0, connections="inh_exc", seed=0)
    without = stdp.responses(free, x, target="numpy", seed=0)
    active_with = (with_inh > 0).sum(axis=1).mean()
    active_without = (without > 0).sum(axis=1).mean()
    assert with_inh.sum() > 0
    assert active_with <= 4 and active_without > 2 * active_with


def test_input_delays_are_uniform_up_to_max_delay_and_postpone_firing():
    """Diehl & Cook 2015, Sec. 2.2: input -> excitatory delays are random in [0, 10] ms."""
    spec = _spec(max_delay=10 * ms, seed=3)
    d = spec.connections["in_exc"].delay_s
    assert 0 <= d.min() < 0.001 and 0.009 < d.max() <= 0.010 and abs(d.mean() - 0.005) < 0.001
    left, _ = _patterns()
    first = stdp.record(_spec(t_present=100 * ms), left[None], seed=1).times_s["exc"].min()
    late = _spec(t_present=100 * ms)
    late.connections["in_exc"].delay_s[:] = 0.02
    assert stdp.record(late, left[None], seed=1).times_s["exc"].min() > first + 0.01


def test_same_seed_same_result_and_different_seed_differs():
    left, top = _patterns()
    x = np.stack([left, top, left, top])
    a = stdp.train(_spec(seed=2), x, target="numpy", seed=4, progress=False)
    b = stdp.train(_spec(seed=2), x, target="numpy", seed=4, progress=False)
    c = stdp.train(_spec(seed=2), x, target="numpy", seed=5, progress=False)
    np.testing.assert_array_equal(weights(a), weights(b))
    np.testing.assert_array_equal(theta_mv(a), theta_mv(b))
    assert not np.array_equal(weights(a), weights(c))


def test_a_progress_bar_changes_nothing():
    """With a progress label, bio.run prepares the network with a zero-length run before the
    first step (to tell compiling from simulating, issue 15 point 1): the learned weights and
    thresholds must equal those of a run without it, to the bit."""
    left, top = _patterns()
    x = np.stack([left, top, left, top])
    quiet = stdp.train(_spec(seed=3), x, target="numpy", seed=6, progress=False)
    shown = stdp.train(_spec(seed=3), x, target="numpy", seed=6, progress=True)
    np.testing.assert_array_equal(weights(quiet), weights(shown))
    np.testing.assert_array_equal(theta_mv(quiet), theta_mv(shown))
    assert not np.array_equal(weights(quiet), weights(_spec(seed=3)))  # it learned something


def test_responses_repeat_quiet_samples_with_boosted_rates():
    """Diehl & Cook 2015, Sec. 2.5: a sample that drives fewer than 5 spikes is shown again at
    a higher rate; a weak image gets more spikes with repeats allowed than without."""
    faint = 0.15 * _patterns()[0][None].repeat(4, axis=0)
    spec = _spec(n_exc=5)
    once = stdp.responses(spec, faint, target="numpy", seed=0).sum(axis=1)
    again = replace(spec.meta["params"], max_repeats=2, boost=3.0)
    spec2 = spec.copy()
    spec2.meta["params"] = again
    boosted = stdp.responses(spec2, faint, target="numpy", seed=0).sum(axis=1)
    assert (once < 5).all() and boosted.sum() > once.sum()


def test_bad_input_is_refused(trained):
    spec, labels, _, _ = trained
    with pytest.raises(ValueError, match=r"\(samples, 16\)"):
        stdp.responses(spec, np.zeros((3, 5)), target="numpy")
    with pytest.raises(ValueError, match=r"in \[0, 1\]"):
        stdp.responses(spec, np.full((3, N_IN), 2.0), target="numpy")
    with pytest.raises(ValueError, match="plastic=True"):
        stdp.train(diehl_cook_spec(n_exc=3, n_input=N_IN, plastic=False), np.zeros((1, N_IN)), target="numpy")
    with pytest.raises(ValueError, match="unknown learning rule 'hebb'"):
        DiehlCookParams(rule="hebb")
    with pytest.raises(ValueError, match="theta_plus must be"):
        DiehlCookParams(theta_plus=2 * ms)
    with pytest.raises(ValueError, match="labels are for 10 neurons"):
        stdp.predict(_spec(n_exc=4), labels, np.zeros((1, N_IN)), target="numpy")
    with pytest.raises(ValueError, match=r"y must be \(samples,\)"):
        stdp.label(spec, np.zeros((2, N_IN)), [0, 1, 1], target="numpy")
    with pytest.raises(ValueError, match="Diehl & Cook spec"):
        stdp.responses(bio.brunel_spec(N_E=10, C_E=5), np.zeros((1, N_IN)), target="numpy")


@pytest.mark.slow
def test_a_tiny_network_learns_three_digit_classes(digits):
    """Diehl & Cook 2015's claim, small: unsupervised STDP plus labelling on training data
    beats chance (1/3) clearly on unseen images of three digit classes."""
    three = digits.select_classes([0, 1, 4])
    train, test = three.train.subset(np.arange(90)), three.test.subset(np.arange(60))
    p = DiehlCookParams(t_present=100 * ms, t_rest=20 * ms, max_repeats=0)
    spec = stdp.train(diehl_cook_spec(n_exc=15, params=p, seed=0), train.x, target="numpy", seed=0,
                      progress=False)
    labels = stdp.label(spec, train.x, train.y, target="numpy", seed=1)
    assert stdp.evaluate(spec, labels, test.x, test.y, target="numpy", seed=2) > 0.7


def test_record_lays_the_copies_out_one_image_after_another(trained):
    """bio.stdp.record runs the images as network copies and lays them out in sequence:
    image k's spikes, per population and neuron, are those copy k % B saw in round k // B
    (read off the raw run by SpikeRecord.sample_counts), in the window [k T, (k + 1) T)."""
    spec, _, x, _ = trained
    x = x[:5]
    period = float(FAST.t_present + FAST.t_rest)  # seconds
    seq = stdp.record(spec, x, seed=4, batch=2)  # 3 rounds of 2 copies, the last half empty
    raw = bio.run(with_samples(frozen(spec), x, copies=2, record=Record()), target="numpy",
                  seed=4, dt=FAST.dt)
    assert seq.copies == 1 and seq.duration_s == pytest.approx(5 * period)
    for pop in ("in", "exc", "inh"):
        n = seq.n_neurons[pop]
        assert raw.n_neurons[pop] == 2 * n
        want = raw.sample_counts(pop, period, 3).reshape(6, n)[:5]  # (k, n): round k // 2, copy k % 2
        np.testing.assert_array_equal(seq.sample_counts(pop, period, 5)[:, 0], want)
        assert (np.diff(seq.times_s[pop]) >= 0).all()
    assert seq.spike_counts("exc").sum() > 0
    with pytest.raises(ValueError, match="spikes only"):
        bio.run(with_samples(frozen(spec), x[:1], record=Record(final=("exc.theta",))),
                target="numpy", dt=FAST.dt).in_sequence(period, 1)


def test_in_sequence_refuses_what_it_cannot_lay_out():
    """SpikeRecord.in_sequence: a population that is not B copies of one network, or more
    samples than the record's rounds x copies hold, is an error, not a silent mislayout."""
    from bio.record import SpikeRecord

    # 2 rounds of 2 copies of 2 neurons: index 3 = copy 1 neuron 1, index 2 = copy 1 neuron 0
    rec = SpikeRecord({"a": np.array([0.01, 0.25, 0.3])}, {"a": np.array([3, 0, 2])}, {"a": 4}, 0.4, copies=2)
    seq = rec.in_sequence(0.2, 4)
    # samples 1 (round 0, copy 1), 2 (round 1, copy 0) and 3 (round 1, copy 1) at 0.2, 0.4, 0.6 s
    np.testing.assert_allclose(seq.times_s["a"], [0.21, 0.45, 0.7])
    np.testing.assert_array_equal(seq.indices["a"], [1, 0, 0])
    assert seq.n_neurons == {"a": 2} and seq.duration_s == pytest.approx(0.8)
    with pytest.raises(ValueError, match="holds 4 samples"):
        rec.in_sequence(0.2, 5)
    odd = SpikeRecord({"a": np.array([0.01])}, {"a": np.array([4])}, {"a": 5}, 0.2, copies=2)
    with pytest.raises(ValueError, match="multiples of the 2 copies"):
        odd.in_sequence(0.2, 2)
    with pytest.raises(ValueError, match="spikes only"):
        SpikeRecord({}, {}, {}, 0.2, traces={"a.v": np.zeros((2, 1))}).in_sequence(0.2, 1)
