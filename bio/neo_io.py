"""A `SpikeRecord` as a Neo `Block`, and back (Garcia et al. 2014, Front Neuroinform 8:10).

Neo is the data model Elephant, PyNN, NEST and most electrophysiology file formats share, so
this is how a `bio` run leaves the project (to a NIX file, to Elephant, to Viziphant) and how
spikes recorded elsewhere come in.

Layout written by `to_neo` (one Block, one Segment, one run):

    block.segments[0].spiketrains   one SpikeTrain per neuron, silent ones included (empty),
                                    population by population; units s, t_start 0,
                                    t_stop = the record's duration; annotated with
                                    source_population (str) and source_index (int), the
                                    annotation names PyNN's `Population.get_data` uses.
    block.groups                    one Group per population (name = population, annotated
                                    with n_neurons) holding that population's trains; a
                                    Group is Neo's way of linking objects across the
                                    Block's hierarchy (it replaced Unit/ChannelIndex in 0.9).
    block.segments[0].analogsignals one AnalogSignal per sampled trace ("population.variable",
                                    (n_samples, n_recorded), sampled every trace_dt_s). The
                                    record keeps traces in SI units without naming the unit,
                                    so they travel as dimensionless values, annotated si_units=True.
    segment annotations             duration_s, copies and the final state (`final`).

`from_neo` reads that layout back, and also blocks whose trains carry only the two
annotations (PyNN's output): there, a population's size is its largest index + 1.
"""
from __future__ import annotations

import neo
import numpy as np
import quantities as pq

from .record import SpikeRecord

POPULATION, INDEX = "source_population", "source_index"


def to_neo(rec: SpikeRecord) -> neo.Block:
    """The record as a Neo Block (layout in the module docstring). Spike times are copied, not rounded."""
    block = neo.Block(name="brainbridge SpikeRecord")
    segment = neo.Segment(name="run", duration_s=float(rec.duration_s),
                          copies=int(rec.copies),
                          final={k: np.asarray(v) for k, v in rec.final.items()})
    t_stop = rec.duration_s * pq.s
    for pop in rec.populations:
        group = neo.Group(name=pop, allowed_types=[neo.SpikeTrain], n_neurons=int(rec.n_neurons[pop]))
        for k, times in enumerate(rec.spike_trains(pop)):
            train = neo.SpikeTrain(times, t_stop=t_stop, units="s", t_start=0.0 * pq.s,
                                   name=f"{pop}[{k}]", **{POPULATION: pop, INDEX: k})
            segment.spiketrains.append(train)
            group.add(train)
        block.groups.append(group)
    for key, trace in rec.traces.items():
        segment.analogsignals.append(neo.AnalogSignal(
            trace, units=pq.dimensionless, sampling_period=rec.trace_dt_s * pq.s, name=key, si_units=True))
    block.segments.append(segment)
    return block


def from_neo(block: neo.Block, segment: int | None = None) -> SpikeRecord:
    """A SpikeRecord from a Neo Block whose spike trains are annotated with
    `source_population` and `source_index` (written by `to_neo`, or by PyNN).

    segment: which Segment to read; may be left out when the block has exactly one.
    Spikes come back sorted by time, ties by neuron index (the order `bio.run` records in),
    so `from_neo(to_neo(rec))` equals `rec` for every record in that order.
    Raises ValueError, saying what is missing, for blocks it cannot read: no or several
    segments, unannotated trains, a neuron twice, t_start other than 0, differing t_stop.
    """
    if not isinstance(block, neo.Block):
        raise ValueError(f"from_neo reads a neo.Block; got {type(block).__name__}")
    n_seg = len(block.segments)
    if segment is None:
        if n_seg != 1:
            raise ValueError(f"the block has {n_seg} segments; from_neo reads one Segment: "
                             f"pass segment=0..{n_seg - 1}" if n_seg else "the block has no Segment")
        segment = 0
    if not 0 <= segment < n_seg:
        raise ValueError(f"segment={segment}, but the block has {n_seg} segment(s)")
    seg = block.segments[segment]
    sizes = {g.name: int(g.annotations["n_neurons"]) for g in block.groups if "n_neurons" in g.annotations}

    per_pop: dict[str, dict[int, np.ndarray]] = {name: {} for name in sizes}
    t_stops = set()
    for k, train in enumerate(seg.spiketrains):
        pop, idx = train.annotations.get(POPULATION), train.annotations.get(INDEX)
        if not isinstance(pop, str) or not isinstance(idx, (int, np.integer)) or idx < 0:
            raise ValueError(f"spike train #{k} ({train.name!r}) lacks the annotations "
                             f"{POPULATION!r} (str) and {INDEX!r} (int >= 0) that say which neuron "
                             f"fired it; it has: {sorted(train.annotations) or 'none'}")
        if float(train.t_start.rescale("s").magnitude) != 0.0:
            raise ValueError(f"spike train #{k} ({pop}[{idx}]) starts at t_start = {train.t_start}; "
                             "a SpikeRecord's time starts at 0 s")
        times = train.magnitude if train.units == pq.s else train.rescale("s").magnitude
        trains = per_pop.setdefault(pop, {})
        if int(idx) in trains:
            raise ValueError(f"neuron {idx} of population {pop!r} has two spike trains in this segment")
        trains[int(idx)] = np.asarray(times, dtype=np.float64)
        t_stops.add(float(train.t_stop.rescale("s").magnitude))
    if len(t_stops) > 1:
        raise ValueError(f"the spike trains end at different times {sorted(t_stops)} s; "
                         "a SpikeRecord has one duration")
    duration = t_stops.pop() if t_stops else seg.annotations.get("duration_s")
    if duration is None:
        raise ValueError("the segment has no spike trains and no 'duration_s' annotation")

    times, indices, n_neurons = {}, {}, {}
    for pop, trains in per_pop.items():
        n = sizes.get(pop, max(trains, default=-1) + 1)
        if trains and max(trains) >= n:
            raise ValueError(f"population {pop!r} has n_neurons = {n} but a train for neuron {max(trains)}")
        t = np.concatenate([trains[i] for i in sorted(trains)]) if trains else np.zeros(0)
        i = np.concatenate([np.full(len(trains[i]), i, np.int64) for i in sorted(trains)]) if trains \
            else np.zeros(0, np.int64)
        order = np.lexsort((i, t))  # by time, ties by neuron index
        times[pop], indices[pop], n_neurons[pop] = t[order], i[order], n

    traces, trace_dt = {}, None
    for sig in seg.analogsignals:
        traces[sig.name] = np.asarray(sig.magnitude, dtype=np.float64)
        trace_dt = float(sig.sampling_period.rescale("s").magnitude)
    final = {k: np.asarray(v) for k, v in seg.annotations.get("final", {}).items()}
    return SpikeRecord(times, indices, n_neurons, float(duration), traces, trace_dt,
                       final=final, copies=int(seg.annotations.get("copies", 1)))
