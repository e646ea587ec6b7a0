"""Population fusion (bio/fuse.py): fewer Brian2 objects, the same network.

The reference is the spec run as written (`bio.run(..., fuse=False)`, one NeuronGroup
per population): a fused run must give identical spikes, traces and final state,
healthy and lesioned, and must leave alone every spec whose populations one
NeuronGroup cannot hold. Brian2's own Brunel_2000 example is written as one group
of N_E + N_I neurons with two Synapses and one PoissonInput; the fused Brunel spec
must have that layout (benchmarks/bio_brunel.py measures what it saves).
"""
import numpy as np
import pytest
from brian2 import mV, ms, second

from bio import brunel2000, lesion, neurons, run, synapses
from bio.fuse import fuse
from bio.inputs import Current, PoissonDrive
from bio.spec import Connection, NetworkSpec, Population, Record
from records import same_record


def small_brunel(**kw):
    return brunel2000.brunel_spec(5.0, 2.0, N_E=400, C_E=100, seed=1, **kw)


def test_brunel_fuses_into_the_hand_written_layout():
    """One population of N_E + N_I neurons, one excitatory and one inhibitory pathway, one
    drive: the structure of Brian2's Brunel_2000 example."""
    spec = small_brunel()
    f = fuse(spec)
    assert list(f.spec.populations) == ["exc+inh"] and f.spec.populations["exc+inh"].n == 500
    kinds = sorted(c.kind for c in f.spec.connections.values())
    assert kinds == ["exc", "inh"]
    assert sum(c.n_syn for c in f.spec.connections.values()) == sum(c.n_syn for c in spec.connections.values())
    assert sum(isinstance(x, PoissonDrive) for x in f.spec.inputs) == 1
    assert f.where("inh") == ("exc+inh", 400, 500)
    assert list(spec.populations) == ["exc", "inh"]  # the original is untouched


@pytest.mark.parametrize("lesioned", [False, True])
def test_fused_run_gives_the_spikes_of_the_spec_as_written(lesioned):
    spec = small_brunel(record_v=3)
    if lesioned:
        spec = lesion.remove_neurons(spec, 0.2, seed=2)
        spec = lesion.shift_thresholds(spec, 0.1, ["inh"], sigma=0.05, seed=3)
        spec = lesion.block_conduction(spec, 0.3, ["exc_inh"], seed=4)
        spec.connections["inh_exc"].delay_s = np.random.default_rng(0).uniform(1e-3, 3e-3, spec.connections["inh_exc"].n_syn)
    spec.record = Record(spikes=None, traces={"exc.v": np.array([0, 5]), "inh.v": True}, final=("exc.v", "inh.v"))
    fused = run(spec, 0.15 * second, seed=3, fuse=True)
    plain = run(spec, 0.15 * second, seed=3, fuse=False)
    same_record(fused, plain)
    assert len(fused.times_s["exc"]) > 100 and len(fused.times_s["inh"]) > 20  # it did something
    assert fused.traces["inh.v"].shape[1] == 100 and fused.final["exc.v"].shape == (400,)


def test_fused_run_records_only_what_was_asked():
    spec = small_brunel()
    spec.record = Record(spikes=("inh",))
    fused = run(spec, 0.05 * second, seed=0)
    plain = run(spec, 0.05 * second, seed=0, fuse=False)
    assert list(fused.times_s) == ["inh"]
    same_record(fused, plain)


def two_pops(model_b=None, syn=None, **kw):
    lif = neurons.LIF()
    syn = syn or synapses.CurrentDelta("s")
    pops = {"a": Population(lif, 20), "b": Population(model_b or lif, 20)}
    i = np.arange(20)
    conns = {"ab": Connection("a", "b", syn, i, i, np.full(20, 1.0e-3), kind="exc")}
    drives = [PoissonDrive(n, 10, 500 * neurons.b2.Hz, 1 * mV, synapses.CurrentDelta("s")) for n in pops]
    return NetworkSpec(pops, conns, drives, **kw).check()


@pytest.mark.parametrize("why", ["other model", "plastic", "layerwise", "current input", "other drive",
                                 "weights read back"])
def test_populations_one_group_cannot_hold_are_left_alone(why):
    if why == "other model":
        spec = two_pops(model_b=neurons.LIF(tau_m=10 * ms))
    elif why == "plastic":
        spec = two_pops(syn=synapses.STDP(synapses.CurrentDelta("s"), w_max=2 * mV))
    elif why == "layerwise":
        spec = two_pops(meta={"schedule": "layerwise"})
    elif why == "current input":
        spec = two_pops()
        spec.inputs.append(Current("b", np.full((1, 1, 20), 1e-10)))
    elif why == "other drive":
        spec = two_pops()
        spec.inputs[1] = PoissonDrive("b", 10, 400 * neurons.b2.Hz, 1 * mV, synapses.CurrentDelta("s"))
    else:
        spec = two_pops(record=Record(final=("ab.w",)))
    assert fuse(spec).spec is spec and not fuse(spec).members


def test_two_fusable_populations_fuse():
    """The control for the test above: the same two populations with nothing telling them apart."""
    spec = two_pops()
    assert list(fuse(spec).spec.populations) == ["a+b"]
    same_record(run(spec, 0.05 * second, seed=1), run(spec, 0.05 * second, seed=1, fuse=False))


def test_one_value_views_are_checked_and_signed_like_arrays():
    """Fusion joins equal weights and delays into broadcast views of one value; a view is
    validated (a NaN or a negative magnitude in it is refused) and an inhibitory one delivers
    -w on every synapse, exactly as the full array would."""
    syn = synapses.CurrentDelta("s")
    with pytest.raises(ValueError, match="finite"):
        Connection("a", "b", syn, [0, 1], [1, 0], np.broadcast_to(np.nan, (2,)), kind="exc")
    with pytest.raises(ValueError, match=">= 0"):
        Connection("a", "b", syn, [0, 1], [1, 0], np.broadcast_to(-1.0, (2,)), kind="inh")
    with pytest.raises(ValueError, match="delays"):
        Connection("a", "b", syn, [0, 1], [1, 0], [1.0, 1.0], kind="exc", delay_s=np.broadcast_to(-1e-3, (2,)))
    view = Connection("a", "b", syn, [0, 1, 2], [1, 0, 0], np.broadcast_to(2.0, (3,)), kind="inh")
    full = Connection("a", "b", syn, [0, 1, 2], [1, 0, 0], np.full(3, 2.0), kind="inh")
    np.testing.assert_array_equal(view.signed_w(), full.signed_w())
    fused = fuse(small_brunel()).spec.connections["inh_exc+inh_inh"]
    assert fused.w.strides[0] == 0 and np.all(fused.signed_w() == -fused.w[0]) and fused.w[0] > 0
