"""SpikeRecord <-> Neo Block: exact round trip, the layout Neo tools expect, and clear refusals."""
import neo
import numpy as np
import pytest
import quantities as pq
from elephant import statistics as es

from bio.neo_io import from_neo, to_neo
from bio.record import SpikeRecord


def _record():
    """Two populations with silent neurons (exc 3 and inh 0..1 never fire), ties between neurons
    (ordered by index, as bio.run records them), traces, final state and copies."""
    rng = np.random.default_rng(0)
    t = np.concatenate([np.sort(rng.uniform(0, 0.5, 40)), [0.25, 0.25]])
    i = np.concatenate([rng.choice([0, 1, 2, 4], 40), [1, 4]]).astype(np.int64)
    order = np.lexsort((i, t))
    t_inh = np.array([0.1, 0.1 + 1e-4, 0.3])
    i_inh = np.array([2, 2, 3], dtype=np.int64)
    return SpikeRecord({"exc": t[order], "inh": t_inh}, {"exc": i[order], "inh": i_inh},
                       {"exc": 6, "inh": 4}, 0.5,
                       traces={"exc.v": rng.normal(-0.065, 0.002, (50, 2))}, trace_dt_s=1e-4,
                       final={"exc.w": rng.random(6)}, copies=2)


def test_round_trip_is_exact():
    rec = _record()
    back = from_neo(to_neo(rec))
    assert back.populations == rec.populations
    assert back.n_neurons == rec.n_neurons and back.duration_s == rec.duration_s
    for p in rec.populations:
        np.testing.assert_array_equal(back.times_s[p], rec.times_s[p])  # bit-exact
        np.testing.assert_array_equal(back.indices[p], rec.indices[p])
    np.testing.assert_array_equal(back.traces["exc.v"], rec.traces["exc.v"])
    assert back.trace_dt_s == rec.trace_dt_s
    np.testing.assert_array_equal(back.final["exc.w"], rec.final["exc.w"])
    assert back.copies == 2


def test_layout_one_train_per_neuron_grouped_by_population():
    """What Neo tools see: one Segment, one SpikeTrain per neuron (silent ones empty) in s,
    t_stop = duration, PyNN's annotations, one Group per population; Elephant reads it."""
    rec = _record()
    block = to_neo(rec)
    (seg,) = block.segments
    assert len(seg.spiketrains) == 10
    assert [g.name for g in block.groups] == ["exc", "inh"]
    assert [len(g.spiketrains) for g in block.groups] == [6, 4]
    silent = block.groups[0].spiketrains[3]
    assert len(silent) == 0 and silent.annotations == {"source_population": "exc", "source_index": 3}
    for st in seg.spiketrains:
        assert st.units == pq.s and float(st.t_stop) == 0.5 and float(st.t_start) == 0.0
    rates = [float(es.mean_firing_rate(st).rescale("Hz")) for st in block.groups[1].spiketrains]
    np.testing.assert_allclose(rates, rec.rates_hz("inh"))


def test_reads_pynn_style_blocks():
    """PyNN's get_data: trains in ms with source_population / source_index, no Groups; only
    recorded neurons present, so a population's size is its largest index + 1."""
    seg = neo.Segment()
    seg.spiketrains = [neo.SpikeTrain([12.0, 30.5], t_stop=100.0, units="ms", source_population="pop",
                                      source_index=0, source_id=17),
                       neo.SpikeTrain([7.25], t_stop=100.0, units="ms", source_population="pop",
                                      source_index=2, source_id=19)]
    block = neo.Block()
    block.segments.append(seg)
    rec = from_neo(block)
    assert rec.n_neurons == {"pop": 3} and rec.duration_s == pytest.approx(0.1)
    np.testing.assert_allclose(rec.times_s["pop"], [0.00725, 0.012, 0.0305])
    np.testing.assert_array_equal(rec.indices["pop"], [2, 0, 0])


def _block_with(*trains, segments=1):
    block = neo.Block()
    for _ in range(segments):
        seg = neo.Segment()
        seg.spiketrains = list(trains)
        block.segments.append(seg)
    return block


def _st(times=(0.1,), **kw):
    kw.setdefault("t_stop", 1.0)
    return neo.SpikeTrain(list(times), units="s", **kw)


@pytest.mark.parametrize("block, message", [
    ("not a block", "neo.Block"),
    (_block_with(segments=0), "no Segment"),
    (_block_with(_st(source_population="a", source_index=0), segments=2), "segment=0..1"),
    (_block_with(_st()), "source_population"),
    (_block_with(_st(source_population="a", source_index=0), _st(source_population="a", source_index=0)),
     "two spike trains"),
    (_block_with(_st(source_population="a", source_index=0, t_start=0.05 * pq.s)), "t_start"),
    (_block_with(_st(source_population="a", source_index=0),
                 _st(source_population="a", source_index=1, t_stop=2.0)), "different times"),
])
def test_unreadable_blocks_are_explained(block, message):
    with pytest.raises(ValueError, match=message):
        from_neo(block)


def test_picks_one_of_several_segments():
    block = _block_with(_st((0.2, 0.4), source_population="a", source_index=1), segments=2)
    rec = from_neo(block, segment=1)
    assert rec.n_neurons == {"a": 2} and rec.times_s["a"].tolist() == [0.2, 0.4]
    with pytest.raises(ValueError, match="segment=2"):
        from_neo(block, segment=2)
