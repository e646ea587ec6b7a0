"""bio.prepared: one Brian2 build run again for new analog inputs.

The reference is a fresh `bio.simulate.run` of the same spec and inputs: every rerun of a
prepared network must record the very spikes, traces and final state, whatever ran
before it (other inputs, other seeds), on numpy and cython. It skips only Brian2's code
generation, so a rerun that still regenerated (or reused stale code) would differ where
the inputs differ.
"""
import copy
import pickle

import numpy as np
import pytest
from brian2 import ms

from bio import neurons, run, synapses
from bio.inputs import Values
from bio.prepared import Prepared, fingerprint
from bio.spec import Connection, NetworkSpec, Population, Record
from bridge import convert
from records import same_record


def network(noise=0.0, input_delay=0.0) -> NetworkSpec:
    """Analog input drives `a` (every other synapse after input_delay seconds); `a` drives two
    populations of one LIF model that excite each other with delays (bio.fuse joins them into
    one NeuronGroup), with background noise."""
    rng = np.random.default_rng(0)
    lif = neurons.LIF(tau_m=10 * ms, t_ref=2 * ms)
    pops = {"in": Population(None, 6), "a": Population(lif, 8),
            "b": Population(lif, 5, noise_sigma=noise), "c": Population(lif, 4, noise_sigma=noise)}
    delta = synapses.CurrentDelta("exc")

    def dense(pre, post, scale, delay=0.0):
        i, j = np.meshgrid(np.arange(pops[pre].n), np.arange(pops[post].n), indexing="ij")
        return Connection(pre, post, delta, i.ravel(), j.ravel(), rng.uniform(0, scale, i.size),
                          kind="exc", delay_s=np.full(i.size, delay))

    conns = {"in_a": dense("in", "a", 3e-3), "a_b": dense("a", "b", 6e-3), "a_c": dense("a", "c", 6e-3, 1e-3),
             "b_c": dense("b", "c", 3e-3, 2e-3), "c_b": dense("c", "b", 3e-3, 1e-3)}
    conns["in_a"].delay_s[::2] = input_delay
    return NetworkSpec(pops, conns, record=Record(traces={"b.v": True, "c.v": [0, 3]}, when="end",
                                                  final=("a.v", "c.v")))


def driven(spec, x):
    return spec.with_inputs(Values("in", x, rate_hz=1000.0))


def batches(n=3, copies=4):
    rng = np.random.default_rng(1)
    return [rng.uniform(0, 1, (copies, 6)) for _ in range(n)]


@pytest.mark.parametrize("target", ["numpy", pytest.param("cython", marks=pytest.mark.slow)])
def test_reruns_record_what_fresh_runs_record(target):
    """New inputs, in any order and repeated: each rerun equals a fresh seeded bio.run of the
    same inputs (noise drawn from the seed, delays in flight, analog input that switches on
    after a delay, fused populations split back)."""
    spec = network(noise=0.3, input_delay=5e-3)
    xs = batches()
    prepared = Prepared(driven(spec, xs[0]), 40 * ms, target=target, dt=0.1 * ms)
    for k, x in enumerate([xs[1], xs[0], xs[2], xs[1]]):
        seed = 10 + k % 2
        again = prepared.run(driven(spec, x), seed=seed)
        fresh = run(driven(spec, x), 40 * ms, target=target, dt=0.1 * ms, seed=seed)
        same_record(again, fresh)
        assert sum(len(t) for t in again.times_s.values()) > 50  # busy enough to tell inputs apart
    # the inputs do tell runs apart: two batches give different spikes
    one, two = (prepared.run(driven(spec, x), seed=10) for x in xs[:2])
    assert not np.array_equal(one.indices["b"], two.indices["b"])


def test_a_changed_network_is_refused_and_an_edit_in_place_is_seen():
    spec = network()
    x = batches(1)[0]
    prepared = Prepared(driven(spec, x), 10 * ms, target="numpy")
    assert prepared.fits(driven(spec, x[::-1]))  # other values: the same network
    lesioned = spec.copy()
    lesioned.populations["a"].alive[2] = False
    for other in (driven(lesioned, x), driven(spec, x[:3]), driven(network(noise=0.2), x),
                  driven(spec, x).with_inputs(Values("in", x, rate_hz=500.0))):
        assert not prepared.fits(other)
        with pytest.raises(ValueError, match="prepare it again"):
            prepared.run(other)
    spec.connections["a_b"].w[0] *= 2  # an edit in place of the prepared spec's own arrays
    assert not prepared.fits(driven(spec, x))
    assert fingerprint(driven(spec, x)) == fingerprint(driven(spec.copy(), x[::-1]))


def test_what_a_prepared_network_cannot_do_is_said():
    spec = network()
    x = batches(1)[0]
    with pytest.raises(ValueError, match="cpp_standalone builds a program per run"):
        Prepared(driven(spec, x), 10 * ms, target="cpp_standalone")
    with pytest.raises(ValueError, match="has none: use bio.simulate.run"):
        Prepared(spec.with_inputs(), 10 * ms, target="numpy")
    with pytest.raises(ValueError, match="one sample for the whole run"):
        Prepared(spec.with_inputs(Values("in", np.stack([x, x])), period=5 * ms), 10 * ms, target="numpy")


def test_a_converted_network_evaluates_the_same_with_its_kept_network(mlps, test_set):
    """ConvertedSNN.evaluate keeps one Brian2 network per batch size: batched calls in any order
    give the NumPy reference's spikes (bridge.reference, an independent simulator), a lesion
    made in place is simulated, and copies and pickles carry no Brian2 objects. (numpy: the
    kept network's cython reruns are checked above, and against the reference on the whole
    test set by benchmarks/conversion.py; compiling this network here would add a minute to
    a first `make test`.)"""
    target = "numpy"
    from bridge.reference import simulate as reference

    snn = convert.to_snn(mlps[0], calibration=test_set.x[:100], neuron="if", normalisation="max")
    split = test_set.subset(np.arange(30))
    whole = snn.evaluate(split, duration_ms=20, dt_ms=1.0, target=target)
    parts = snn.evaluate(split, duration_ms=20, dt_ms=1.0, target=target, batch_size=12)  # 12, 12, 6
    again = snn.evaluate(split, duration_ms=20, dt_ms=1.0, target=target)
    assert len(snn._prepared) == 2  # the batch sizes 12 and 6 are kept, 30 was dropped for them
    ref = snn.evaluate(split, duration_ms=20, dt_ms=1.0, reference=True)
    for res in (whole, parts, again):
        np.testing.assert_array_equal(res.predictions, ref.predictions)
        for pop in snn.populations:
            np.testing.assert_array_equal(res.record.spike_counts(pop), ref.record.spike_counts(pop))
    assert whole.accuracy > 0.8

    snn.net.populations["h1"].alive[: snn.net.populations["h1"].n // 2] = False  # edited in place
    hurt = snn.evaluate(split, duration_ms=20, dt_ms=1.0, target=target)
    hurt_ref = reference(snn.net, split.x, 20, 1e-3)
    np.testing.assert_array_equal(hurt.record.spike_counts("h1"), hurt_ref.spike_counts("h1"))
    assert hurt.record.spike_counts("h1").sum() < whole.record.spike_counts("h1").sum()

    for other in (copy.deepcopy(snn), pickle.loads(pickle.dumps(snn))):
        assert other._prepared == {} and snn._prepared
        np.testing.assert_array_equal(other.evaluate(split, duration_ms=20, dt_ms=1.0).predictions,
                                      hurt.predictions)


def test_a_run_with_a_progress_bar_reuses_its_code_and_records_the_same(capsys):
    """bio.run with a progress label runs the samples in chunks and keeps the code of its first
    chunk for the rest (bio.simulate._same_code): spikes still in flight at a chunk's end
    (delays up to 2 ms, samples of 8 ms shown back to back without a reset) arrive as they do
    in one uninterrupted run."""
    spec = network(noise=0.3)
    spec.meta["reset"] = False
    x = np.random.default_rng(2).uniform(0, 1, (6, 2, 6))  # (S, B, n_in)
    shown = spec.with_inputs(Values("in", x), period=8 * ms)
    plain = run(shown, target="numpy", seed=4)
    barred = run(shown, target="numpy", seed=4, progress="chunks")
    same_record(plain, barred)
    assert sum(len(t) for t in plain.times_s.values()) > 50
