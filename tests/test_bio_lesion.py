"""bio.lesion: each lesion edits exactly the fields it names, on a copy, reproducibly;
and the Brian2 builder of the layered network honours the edits."""
import copy

import numpy as np
import pytest
from brian2 import ms

from bio import layered as bio_layered
from bio import lesion, neurons
from bio.diehl_cook import diehl_cook_spec
from bio.spec import NetworkSpec, Population


def dense(n_pre, n_post, rng, scale=1.0):
    i, j = np.divmod(np.arange(n_pre * n_post), n_post)
    return i, j, scale * rng.normal(0, 1, len(i))


def layered(n_in=6, n_h=20, n_out=4, seed=0, bias_hz=0.0, shapes=None):
    rng = np.random.default_rng(seed)
    return bio_layered.layered({"in": n_in, "h1": n_h, "out": n_out},
                               {("in", "h1"): dense(n_in, n_h, rng), ("h1", "out"): dense(n_h, n_out, rng)},
                               bias_hz={"h1": np.full(n_h, bias_hz)}, shapes=shapes)


def run(spec, x, duration, **kw):
    return bio_layered.run(spec, x, duration, **kw)


def same_spec(a, b):
    for name, p in a.populations.items():
        q = b.populations[name]
        if not (np.array_equal(p.alive, q.alive) and np.array_equal(p.thresh_shift, q.thresh_shift)
                and p.noise_sigma == q.noise_sigma):
            return False
    for name, c in a.connections.items():
        d = b.connections[name]
        if not all(np.array_equal(getattr(c, f), getattr(d, f)) for f in ("i", "j", "w", "delay_s", "transmits")):
            return False
    return True


def test_hidden_populations_exclude_inputs_and_outputs():
    assert lesion.hidden_populations(layered()) == ["h1"]
    assert lesion.input_populations(layered()) == ["in"]
    assert lesion.hidden_populations(diehl_cook_spec(n_exc=5)) == ["exc", "inh"]


def test_remove_neurons_kills_exact_fraction_and_only_hidden():
    net = layered()
    before = copy.deepcopy(net)
    sick = lesion.remove_neurons(net, 0.3, seed=2)
    assert type(sick) is NetworkSpec
    assert int((~sick.populations["h1"].alive).sum()) == 6
    assert sick.populations["in"].alive.all() and sick.populations["out"].alive.all()
    assert same_spec(net, before) and net.populations["h1"].alive.all()
    again = lesion.remove_neurons(net, 0.3, seed=2)
    other = lesion.remove_neurons(net, 0.3, seed=3)
    assert np.array_equal(again.populations["h1"].alive, sick.populations["h1"].alive)
    assert not np.array_equal(other.populations["h1"].alive, sick.populations["h1"].alive)


def test_removed_neurons_are_exactly_the_silent_ones_in_a_brian2_run():
    """Every living hidden neuron fires (a 300 Hz bias drives it); the removed ones never do."""
    net = layered(bias_hz=300.0)
    sick = lesion.remove_neurons(net, 0.3, seed=0)
    x = np.zeros((2, 6))  # no input: the bias alone drives every neuron
    rec = run(sick, x, 20 * ms, dt=1 * ms, target="numpy", seed=0)
    counts = np.bincount(rec.indices["h1"], minlength=2 * 20).reshape(2, 20)  # (copy, neuron)
    silent = (counts == 0).all(axis=0)
    assert np.array_equal(silent, ~sick.populations["h1"].alive)
    assert silent.sum() == 6


def test_patch_removes_a_contiguous_block_of_neurons():
    sick = lesion.remove_neurons(layered(n_h=50), 0.2, mode="patch", seed=4)
    dead = np.flatnonzero(~sick.populations["h1"].alive)
    assert len(dead) == 10 and np.all(np.diff(dead) == 1)


def test_patch_uses_the_geometry_when_the_spec_has_one():
    net = layered(n_h=2 * 6 * 6, shapes={"h1": (2, 6, 6)})  # two 6x6 feature maps
    dead = ~lesion.remove_neurons(net, 0.25, mode="patch", seed=1).populations["h1"].alive
    maps = dead.reshape(2, 6, 6)
    assert np.array_equal(maps[0], maps[1]) and maps[0].sum() == 9
    rows, cols = np.nonzero(maps[0])
    assert rows.max() - rows.min() <= 3 and cols.max() - cols.min() <= 3


@pytest.mark.parametrize("method", ["random", "magnitude"])
def test_prune_synapses_deletes_exact_fraction(method):
    net = layered()
    sick = lesion.prune_synapses(net, 0.4, method=method, seed=0)
    for name, c in sick.connections.items():
        c0 = net.connections[name]
        cut = ~c.transmits
        assert cut.sum() == round(0.4 * c.n_syn) and (c.w[cut] == 0).all()
        assert np.array_equal(c.w[~cut], c0.w[~cut])
        if method == "magnitude":  # Hoffman & McGlashan 1997: the weakest synapses go first
            assert np.abs(c0.w[cut]).max() <= np.abs(c0.w[~cut]).min()
        assert c0.transmits.all()


def test_prune_with_compensation_scales_survivors_per_neuron():
    """Horn, Levy & Ruppin 1993: a neuron's survivors grow by (synapses had) / (synapses kept)."""
    net = layered()
    c0 = net.connections["in->h1"]
    c = lesion.prune_synapses(net, 0.5, connections="in->h1", compensate=True, seed=1).connections["in->h1"]
    kept = np.bincount(c.j[c.transmits], minlength=20)
    assert np.allclose(c.w[c.transmits], c0.w[c.transmits] * (6 / kept)[c.j[c.transmits]])


def test_block_conduction_keeps_weights():
    net = layered()
    c = lesion.block_conduction(net, 0.25, seed=0).connections["h1->out"]
    assert (~c.transmits).sum() == 20 and np.array_equal(c.w, net.connections["h1->out"].w)


def test_scale_weights_by_sign_and_by_kind():
    net = layered()
    c0 = net.connections["in->h1"]
    c = lesion.scale_weights(net, 0.2, which="inh").connections["in->h1"]
    assert np.allclose(c.w[c0.w < 0], 0.2 * c0.w[c0.w < 0]) and np.array_equal(c.w[c0.w > 0], c0.w[c0.w > 0])
    dc = diehl_cook_spec(n_exc=4)
    inh = [n for n, c in dc.connections.items() if c.kind == "inh"]
    exc = [n for n, c in dc.connections.items() if c.kind == "exc"]
    weak = lesion.scale_weights(dc, 0.5, which="inh")
    assert inh and exc
    for n in inh:
        assert np.allclose(weak.connections[n].w, 0.5 * dc.connections[n].w)
    for n in exc:
        assert np.array_equal(weak.connections[n].w, dc.connections[n].w)


def test_slow_conduction_lengthens_and_jitters_delays():
    net = layered()
    a = lesion.slow_conduction(net, 3e-3, 1e-3, seed=0).connections["in->h1"].delay_s
    b = lesion.slow_conduction(net, 3e-3, 1e-3, seed=0).connections["in->h1"].delay_s
    assert np.array_equal(a, b) and (a >= 3e-3).all()
    # half-normal jitter: mean sigma * sqrt(2/pi)
    assert abs((a - 3e-3).mean() - 1e-3 * np.sqrt(2 / np.pi)) < 3e-4
    assert (net.connections["in->h1"].delay_s == 0).all()


def test_thresholds_and_noise_are_set_on_hidden_populations_only():
    net = layered()
    sick = lesion.add_noise(lesion.shift_thresholds(net, 0.5), 0.3)
    assert np.all(sick.populations["h1"].thresh_shift == 0.5) and sick.populations["h1"].noise_sigma == 0.3
    assert np.all(sick.populations["in"].thresh_shift == 0) and sick.populations["out"].noise_sigma == 0
    assert np.isclose(lesion.add_noise(sick, 0.4).populations["h1"].noise_sigma, 0.5)


def test_raised_thresholds_lower_the_rate_in_a_brian2_run():
    net = layered(bias_hz=200.0)
    x = np.zeros((1, 6))
    rates = [len(run(s, x, 50 * ms, dt=1 * ms, seed=0).indices["h1"])
             for s in (net, lesion.shift_thresholds(net, 1.0))]
    assert rates[1] == pytest.approx(rates[0] / 2, abs=20)  # IF neuron: rate ~ 1 / threshold


def test_zero_lesions_change_nothing():
    net = layered()
    for sick in (lesion.remove_neurons(net, 0), lesion.prune_synapses(net, 0),
                 lesion.block_conduction(net, 0), lesion.scale_weights(net, 1.0),
                 lesion.slow_conduction(net, 0, 0), lesion.shift_thresholds(net, 0), lesion.add_noise(net, 0)):
        assert same_spec(sick, net)


def test_bad_input_is_a_clear_error():
    net = layered()
    with pytest.raises(ValueError, match=r"fraction must lie in \[0, 1\]"):
        lesion.remove_neurons(net, -0.1)
    with pytest.raises(ValueError, match="'in' is an input of the network"):
        lesion.remove_neurons(net, 0.1, populations="in")
    with pytest.raises(ValueError, match="unknown population 'h9'; choose from: in, h1, out"):
        lesion.shift_thresholds(net, 0.1, populations="h9")
    with pytest.raises(ValueError, match="unknown connection 'x'; choose from: in->h1, h1->out"):
        lesion.prune_synapses(net, 0.1, connections="x")
    with pytest.raises(ValueError, match="choose one of: exc, inh"):
        lesion.scale_weights(net, 0.5, which="both")
    with pytest.raises(ValueError, match="no hidden population"):
        lesion.remove_neurons(NetworkSpec({"a": Population(neurons.LIF(), 3)}, {}), 0.5)


def test_demyelination_per_axon_shares_delay_and_block():
    """Multiple sclerosis acts on axons (Smith & McDonald 1999): with per="axon" every synapse of
    an affected presynaptic neuron gets the same extra delay, and blocked axons lose all synapses."""
    net = layered()
    slow = lesion.slow_conduction(net, 2e-3, 1e-3, per="axon", fraction=0.5, seed=3).connections["h1->out"]
    for k in range(20):
        d = slow.delay_s[slow.i == k]
        assert np.all(d == d[0])  # one delay per axon
    hit = np.array([slow.delay_s[slow.i == k][0] > 0 for k in range(20)])
    assert hit.sum() == 10
    blocked = lesion.block_conduction(net, 0.25, per="axon", seed=1).connections["h1->out"]
    per_axon = np.array([blocked.transmits[blocked.i == k].any() for k in range(20)])
    all_or_none = np.array([blocked.transmits[blocked.i == k].all() == per_axon[k] for k in range(20)])
    assert (~per_axon).sum() == 5 and all_or_none.all()
    with pytest.raises(ValueError, match="unit of block"):
        lesion.block_conduction(net, 0.1, per="myelin")
