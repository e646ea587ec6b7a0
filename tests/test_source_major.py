"""The compiler creates synapses grouped by presynaptic neuron (bio.spec.source_major).

The order of a spec's synapses is the spec's business: lesions draw over it and learned
weights are read back in it. The compiler may lay synapses out in another order for speed,
so these tests check that nothing a user sees depends on it: a spec written post-major (as
convolutions and dense layers come out of torch) and the same spec written source-major
give the same spikes, and per-synapse state comes back in the spec's order, learned or
static, with copies and with lesions.
"""
import numpy as np
from brian2 import Hz, mV, ms, second

from bio import neurons, run, synapses
from bio.inputs import Current, PoissonDrive
from bio.spec import MAX_RUNS, Connection, NetworkSpec, Population, Record, fixed_indegree, source_major


def test_source_major_is_a_stable_grouping_by_presynaptic_neuron():
    i = np.tile([2, 0, 1], 12)  # 12 runs
    order = source_major(i)
    np.testing.assert_array_equal(i[order], np.repeat([0, 1, 2], 12))
    np.testing.assert_array_equal(order[:4], [1, 4, 7, 10])  # ties keep the spec's order
    assert source_major(np.array([0, 0, 1, 3])) is None  # already grouped: nothing to reorder
    assert source_major(np.array([], dtype=np.int64)) is None


def post_major_net(syn, n=30, seed=0, record=None):
    """a -> b all-to-all with distinct weights, written post-major (j grouped)."""
    rng = np.random.default_rng(seed)
    lif = neurons.LIF()
    post, pre = np.divmod(np.arange(n * n), n)
    w = rng.uniform(0.2, 1.2, n * n) * 1e-3
    conns = {"ab": Connection("a", "b", syn, pre, post, w, kind="exc")}
    drives = [PoissonDrive("a", 20, 600 * Hz, 1 * mV, synapses.CurrentDelta("d")),
              PoissonDrive("b", 20, 300 * Hz, 1 * mV, synapses.CurrentDelta("d"))]
    return NetworkSpec({"a": Population(lif, n), "b": Population(lif, n)}, conns, drives,
                       record=record or Record(final=("ab.w",))).check()


def permuted(spec, order):
    """The same network with its synapses listed in another order."""
    c = spec.connections["ab"]
    spec.connections["ab"] = Connection(c.pre, c.post, c.model, c.i[order], c.j[order], c.w[order], kind=c.kind,
                                        delay_s=c.delay_s[order], transmits=c.transmits[order])
    return spec.check()


def test_learned_weights_come_back_in_the_specs_order():
    """STDP changes every weight; the post-major spec and its source-major rewrite compile to the
    same Brian2 synapses, so their spikes are identical and the learned weights agree synapse
    by synapse once mapped through the rewrite (a wrong inverse permutation scrambles them)."""
    stdp = synapses.STDP(synapses.CurrentDelta("s"), w_max=2 * mV)
    spec = post_major_net(stdp)
    order = np.lexsort((spec.connections["ab"].j, spec.connections["ab"].i))
    a = run(spec, 0.3 * second, seed=4)
    b = run(permuted(post_major_net(stdp), order), 0.3 * second, seed=4)
    for p in ("a", "b"):
        np.testing.assert_array_equal(a.times_s[p], b.times_s[p])
        np.testing.assert_array_equal(a.indices[p], b.indices[p])
    assert len(a.times_s["b"]) > 50  # the post neurons fired, so STDP acted
    learned = a.final["ab.w"]
    assert np.mean(learned != spec.connections["ab"].w) > 0.5
    np.testing.assert_array_equal(learned[order], b.final["ab.w"])


def test_static_weights_read_back_unchanged_with_copies_and_lesions():
    """Read back without learning, the weights are the spec's, in its order, copy after copy, for
    the synapses that still transmit."""
    spec = post_major_net(synapses.CurrentDelta("s"))
    c = spec.connections["ab"]
    c.transmits = np.random.default_rng(1).random(c.n_syn) > 0.3
    spec.populations["a"].alive[[3, 17]] = False
    keep = c.active(spec.populations)
    assert 0 < keep.sum() < c.n_syn
    spec.inputs.append(Current("a", np.full((1, 3, 30), 0.2e-9)))  # (S, B, n): three copies
    rec = run(spec, 20 * ms, seed=0)
    assert rec.copies == 3
    np.testing.assert_array_equal(rec.final["ab.w"], np.tile(c.w[keep], 3))


def test_few_sorted_runs_are_left_alone_many_are_grouped():
    """A connection fused from a few source-major ones (bio/fuse.py) keeps its layout: each
    spike's synapses already lie in a few stretches; a post-major one is grouped."""
    runs = np.concatenate([np.arange(5)] * MAX_RUNS)  # MAX_RUNS runs, MAX_RUNS - 1 descents
    assert source_major(runs) is None
    many = np.concatenate([np.arange(5)] * (MAX_RUNS + 1))
    np.testing.assert_array_equal(many[source_major(many)], np.sort(many))
    wide = np.random.default_rng(0).integers(0, 1 << 20, 5000)  # wider than 16 bits
    np.testing.assert_array_equal(source_major(wide), np.argsort(wide, kind="stable"))


def test_fixed_indegree_is_the_k_smallest_keys_listed_by_presynaptic_neuron():
    """Checked against a direct construction (a full sort of each postsynaptic neuron's keys
    from the same random stream): same synapses, k distinct partners per neuron, and listed
    source-major with ascending j within each presynaptic neuron."""
    n_pre, n_post, k = 70, 50, 9
    i, j = fixed_indegree(n_pre, n_post, k, np.random.default_rng(5))
    keys = np.random.default_rng(5).random((n_post, n_pre))
    direct = {(int(p), int(q)) for q in range(n_post) for p in np.argsort(keys[q])[:k]}
    assert set(zip(i.tolist(), j.tolist())) == direct and len(i) == n_post * k
    assert np.all(np.diff(i) >= 0)
    assert np.all(np.diff(j)[np.diff(i) == 0] > 0)
    whole, _ = fixed_indegree(4, 3, 4, np.random.default_rng(0))  # k = n_pre: everyone
    np.testing.assert_array_equal(whole, np.repeat(np.arange(4), 3))
    assert len(fixed_indegree(4, 3, 0, np.random.default_rng(0))[0]) == 0
