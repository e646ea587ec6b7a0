"""The Diehl & Cook (2015) STDP learner on tiny networks (Brian2 numpy target).

Short presentations (40 ms + 10 ms rest) keep each simulation to a second or two.
"""
import copy
from dataclasses import replace

import numpy as np
import pytest
from brian2 import ms

from bio.stdp_learner import DiehlCook, DiehlCookParams

FAST = replace(DiehlCookParams(), t_present=40 * ms, t_rest=10 * ms, max_repeats=0, w_total=10.0)
N_IN = 16


def _patterns():
    """Two 4x4 'images': the left half lit, or the top half lit."""
    left = np.zeros((4, 4)); left[:, :2] = 1
    top = np.zeros((4, 4)); top[:2, :] = 1
    return left.ravel(), top.ravel()


def _net(n_exc=10, seed=0, **kw):
    return DiehlCook(n_exc=n_exc, n_input=N_IN, params=replace(FAST, **kw), seed=seed)


@pytest.fixture(scope="module")
def trained():
    """A 10-neuron network trained on the two patterns, with a few noisy copies of each."""
    rng = np.random.default_rng(1)
    left, top = _patterns()
    x = np.clip(np.stack([left, top] * 4) + rng.uniform(0, 0.2, (8, N_IN)), 0, 1)
    y = np.array([0, 1] * 4)
    net = _net().fit(x, y, epochs=1, target="numpy", seed=0, progress=False)
    return net, x, y


def test_stdp_potentiates_the_inputs_of_the_neuron_that_fires():
    """Diehl & Cook 2015, Eq. 3: a neuron that fires while one pattern is shown gains weight
    from that pattern's active inputs and loses it from the silent ones."""
    left, _ = _patterns()
    net = _net(n_exc=5)
    before = net.weights().copy()
    counts = net._train(np.tile(left, (6, 1)), "numpy", seed=0, progress=False)
    assert counts.sum() > 0
    after = net.weights()
    top = int(net.theta_v.argmax())  # the neuron that fired most
    assert net.theta_v[top] > 0
    gained = after[left > 0, top].mean() - after[left == 0, top].mean()
    assert gained > 0.1
    corr = np.corrcoef(after[:, top], left)[0, 1]
    corr_before = np.corrcoef(before[:, top], left)[0, 1]
    assert corr > 0.6 and corr > corr_before + 0.3


def test_adaptive_threshold_grows_by_theta_plus_per_spike():
    """Diehl & Cook 2015, Sec. 2.1: theta jumps by theta_plus at each spike and decays with
    tau_theta (1000 s here, so nearly not at all during a one-second run)."""
    left, top = _patterns()
    net = _net()
    counts = net._train(np.stack([left, top, left]), "numpy", seed=0, progress=False)
    assert counts.sum() > 0
    total = net.theta_v.sum() / float(net.params.theta_plus)
    assert total == pytest.approx(counts.sum(), rel=0.01)


def test_lateral_inhibition_makes_responses_sparse():
    """Diehl & Cook 2015, Sec. 2.3: each inhibitory neuron silences all other excitatory
    neurons, so few neurons fire per sample; blocking inh->exc releases the rest."""
    left, top = _patterns()
    x = np.stack([left, top, left, top])
    net = _net(n_exc=20)
    with_inh = net.responses(x, target="numpy", seed=0)
    free = copy.deepcopy(net)
    free.connections["inh->exc"].transmits[:] = False
    without = free.responses(x, target="numpy", seed=0)
    active_with = (with_inh > 0).sum(axis=1).mean()
    active_without = (without > 0).sum(axis=1).mean()
    assert with_inh.sum() > 0
    assert active_with <= 4 and active_without > 2 * active_with


def test_weight_normalisation_keeps_column_sums(trained):
    """Diehl & Cook 2015, Sec. 2.4: after each sample every neuron's incoming weights
    sum to w_total, even though STDP moved them."""
    net, _, _ = trained
    w = net.weights()
    fresh = _net().weights()
    assert np.abs(w - fresh * net.params.w_total / fresh.sum(axis=0)).max() > 0.01  # STDP acted
    np.testing.assert_allclose(w.sum(axis=0), net.params.w_total, rtol=1e-9)


def test_labels_come_from_training_data_and_votes_give_predictions(trained):
    """Diehl & Cook 2015, Sec. 2.5: neurons are labelled by their mean response per class on
    training data; a sample's class is the label group with the highest mean count."""
    net, x, y = trained
    labels = net.labels.copy()
    counts = net.responses(x, target="numpy", seed=3)
    manual = np.stack([counts[y == c].mean(axis=0) for c in (0, 1)]).argmax(axis=0)
    relabelled = net.label(x, y, target="numpy", seed=3)
    fired = counts.sum(axis=0) > 0
    np.testing.assert_array_equal(relabelled[fired], manual[fired])
    assert (relabelled[~fired] == -1).all()
    net.labels = labels
    left, top = _patterns()
    test = np.stack([left, top, top, left])
    pred = net.predict(test, target="numpy", seed=5)
    np.testing.assert_array_equal(net.labels, labels)  # testing never relabels
    np.testing.assert_array_equal(pred, net.vote(net.responses(test, target="numpy", seed=5)))
    assert np.mean(pred == [0, 1, 1, 0]) >= 0.75  # the two patterns are told apart


def test_same_seed_same_result_and_different_seed_differs():
    left, top = _patterns()
    x, y = np.stack([left, top, left, top]), np.array([0, 1, 0, 1])
    a = _net(seed=2).fit(x, y, target="numpy", seed=4, progress=False)
    b = _net(seed=2).fit(x, y, target="numpy", seed=4, progress=False)
    c = _net(seed=2).fit(x, y, target="numpy", seed=5, progress=False)
    np.testing.assert_array_equal(a.weights(), b.weights())
    np.testing.assert_array_equal(a.theta_v, b.theta_v)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert not np.array_equal(a.weights(), c.weights())


def test_lesion_fields_are_honoured(trained):
    """bio.spec conventions: dead neurons never spike, blocked synapses carry nothing,
    raised thresholds silence, background noise drives, delays postpone."""
    net, x, _ = trained
    rec = net.record(x[:2], seed=1)
    counts = rec.spike_counts("exc")
    top = int(counts.argmax())
    assert counts[top] > 0

    dead = copy.deepcopy(net)
    dead.populations["exc"].alive[top] = False
    rec_dead = dead.record(x[:2], seed=1)
    assert rec_dead.spike_counts("exc")[top] == 0 and rec_dead.spike_counts("inh")[top] == 0
    assert rec_dead.spike_counts("exc").sum() > 0  # the others take over

    blocked = copy.deepcopy(net)
    blocked.connections["exc->inh"].transmits[:] = False
    rec_blocked = blocked.record(x[:2], seed=1)
    assert rec_blocked.spike_counts("exc").sum() > 0 and rec_blocked.spike_counts("inh").sum() == 0

    raised = copy.deepcopy(net)
    raised.populations["exc"].thresh_shift[:] = 3.0  # +3 * 13 mV
    assert raised.record(x[:2], seed=1).spike_counts("exc").sum() < counts.sum() / 4

    silent = np.zeros((2, N_IN))
    assert net.record(silent, seed=1).spike_counts("exc").sum() == 0
    noisy = copy.deepcopy(net)
    noisy.populations["exc"].noise_sigma = 1.0
    assert noisy.record(silent, seed=1).spike_counts("exc").sum() > 0

    late = copy.deepcopy(net)
    late.connections["in->exc"].delay_s[:] = 0.02
    first = rec.times_s["exc"].min()
    assert late.record(x[:2], seed=1).times_s["exc"].min() > first + 0.01


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match=r"\(samples, 16\)"):
        _net().responses(np.zeros((3, 5)), target="numpy")
    with pytest.raises(ValueError, match="in \\[0, 1\\]"):
        _net().responses(np.full((3, N_IN), 2.0), target="numpy")
    with pytest.raises(ValueError, match="no neuron labels"):
        _net().predict(np.zeros((1, N_IN)), target="numpy")
