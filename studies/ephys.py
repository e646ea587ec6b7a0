"""A study's representative spike records: kept with its points, redrawn as electrophysiology figures.

A point that simulates a spiking network keeps a small cut of its `SpikeRecord` (`cut`: a
few hundred neurons per population, at most 1 s) by returning `rows(rec, network)` among
its metrics. Those metrics are named `record.*`, so the results store writes them to
records/<key>.npz beside the point instead of into the point file or results.csv
(studies/store.py), and they travel back from a Dask worker like any other metric. A
study's `figures(table, out_dir)` reads them back with `stored` and draws them with
`figure` (bio.analysis.ephys_figure: raster, population rate, ISI and CV distributions per
population), so `brainbridge report` redraws them without simulating again.

    out |= ephys.rows(ephys.cut(rec, ["exc", "inh"]), "healthy")         # in point()
    recs, seed = ephys.stored(table, out_dir, severity=0.0)               # in figures()
    paths = ephys.figure(recs["healthy"], out_dir, "epilepsy_ephys", title=...)

Encoding (one row per spike, per population and per network; `network` names a recording
of the point, e.g. "healthy" or "step 3"):
    record.spike_time_s   {"network", "population", "neuron", "value": spike time (s)}
    record.n_neurons      {"network", "population", "value": neurons kept}
    record.duration_s     {"network", "value": duration of the cut (s)}
"""
from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

SPIKES, SIZES, DURATION = "record.spike_time_s", "record.n_neurons", "record.duration_s"
MAX_NEURONS = 200     # per population and network: enough for a raster and CV histogram
MAX_DURATION_S = 1.0  # a second of activity

log = logging.getLogger("studies")


def cut(rec, populations=None, *, max_neurons: int = MAX_NEURONS, t_start_s: float = 0.0,
        duration_s: float = MAX_DURATION_S, in_sequence: bool = False, neurons: dict | None = None):
    """A small SpikeRecord from `rec`: `populations` (default all), their first `max_neurons`
    neurons (or the neurons listed in `neurons[pop]`, renumbered 0..), spikes in
    [t_start_s, t_start_s + duration_s) shifted to start at 0.

    in_sequence: `rec` ran B copies side by side, one sample each (bridge.convert's way of
    running a test split; neuron k of copy b has index b*n + k). Lay the copies one after
    another in time instead (copy b's spikes shifted by b * rec.duration_s), as many as fit in
    duration_s: the same network shown those samples in a row, its state reset at each onset
    (what bio.run does between samples), and then the neurons of one copy are one network's.
    Returns a SpikeRecord with copies = 1.
    """
    from bio.record import SpikeRecord

    pops = rec.populations if populations is None else list(populations)
    for p in pops:
        rec._check(p)
    if max_neurons < 1 or not duration_s > 0:
        raise ValueError(f"need max_neurons >= 1 and duration_s > 0, got {max_neurons}, {duration_s}")
    times, indices, sizes = {}, {}, {}
    if in_sequence:  # copy b runs during sample b: SpikeRecord.in_sequence with one round
        shown = max(1, min(rec.copies, int(np.floor(duration_s / rec.duration_s + 1e-9))))
        spikes = SpikeRecord({p: rec.times_s[p] for p in pops}, {p: rec.indices[p] for p in pops},
                             {p: rec.n_neurons[p] for p in pops}, rec.duration_s, copies=rec.copies)
        rec, t_start_s = spikes.in_sequence(rec.duration_s, shown), 0.0
        length = rec.duration_s  # whole samples, the first even when longer than duration_s
    else:
        length = min(duration_s, rec.duration_s - t_start_s)
        if not length > 0:
            raise ValueError(f"t_start_s = {t_start_s} s is past the record's end ({rec.duration_s} s)")
    for p in pops:
        t, i, n = rec.times_s[p], rec.indices[p], rec.n_neurons[p]
        keep = (t >= t_start_s) & (t < t_start_s + length)
        t, i = t[keep] - t_start_s, i[keep]
        chosen = np.arange(min(n, max_neurons)) if neurons is None or p not in neurons \
            else np.asarray(neurons[p], dtype=np.int64)
        new = np.full(n, -1, dtype=np.int64)
        new[chosen] = np.arange(len(chosen))
        i = new[i]
        order = np.lexsort((i[i >= 0], t[i >= 0]))  # by time, ties by neuron (bio.run's order)
        times[p], indices[p], sizes[p] = t[i >= 0][order], i[i >= 0][order], len(chosen)
    return SpikeRecord(times, indices, sizes, float(length))


def rows(rec, network: str) -> dict[str, list[dict]]:
    """The record as the three `record.*` metrics of the module docstring (merge several
    networks' rows with `merge`)."""
    spikes, sizes = [], []
    for p in rec.populations:
        sizes.append({"network": network, "population": p, "value": float(rec.n_neurons[p])})
        spikes += [{"network": network, "population": p, "neuron": int(k), "value": float(t)}
                   for t, k in zip(rec.times_s[p], rec.indices[p])]
    return {SPIKES: spikes, SIZES: sizes, DURATION: [{"network": network, "value": float(rec.duration_s)}]}


def merge(*parts: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The rows of several networks of one point (or several populations of one network, cut
    to the same duration) as one set of `record.*` metrics."""
    out: dict[str, list[dict]] = {SPIKES: [], SIZES: [], DURATION: []}
    for part in parts:
        for k, v in part.items():
            out[k] = out[k] + list(v)
    durations = {}
    for row in out[DURATION]:
        if durations.setdefault(row["network"], row["value"]) != row["value"]:
            raise ValueError(f"network {row['network']!r} is given two durations, {durations[row['network']]} "
                             f"and {row['value']} s; cut its populations alike")
    out[DURATION] = [{"network": k, "value": v} for k, v in durations.items()]
    return out


def decode(frames: dict) -> dict:
    """{network: SpikeRecord} from a point's stored `record.*` rows (Store.rows)."""
    from bio.record import SpikeRecord

    if DURATION not in frames or SIZES not in frames:
        return {}
    spikes = frames.get(SPIKES)
    out = {}
    for _, d in frames[DURATION].iterrows():
        net = d["network"]
        sizes = frames[SIZES][frames[SIZES]["network"] == net]
        times, indices, n = {}, {}, {}
        for _, s in sizes.iterrows():
            p = s["population"]
            if spikes is not None and len(spikes):
                mine = spikes[(spikes["network"] == net) & (spikes["population"] == p)]
                t, i = mine["value"].to_numpy(float), mine["neuron"].to_numpy().astype(np.int64)
            else:
                t, i = np.zeros(0), np.zeros(0, np.int64)
            order = np.lexsort((i, t))
            times[p], indices[p], n[p] = t[order], i[order], int(s["value"])
        out[net] = SpikeRecord(times, indices, n, float(d["value"]))
    return out


def stored(table, out_dir, **where) -> tuple[dict, int | None]:
    """({network: SpikeRecord}, seed) kept by the first point (lowest seed, then table order)
    whose rows in `table` match every column == value of `where` and that stored records;
    ({}, None) if none did.

    out_dir: the figures folder the runner passes to figures(); the records lie beside it in
    the study's results folder (out_dir/../records). Points computed before records were kept
    have none: rerun them into a new --out to draw the figure.
    """
    from .store import CorruptFile, Store

    rows = table
    for col, val in where.items():
        if col not in rows:
            return {}, None
        rows = rows[rows[col] == val]
    store = Store(Path(out_dir).parent)
    points = rows.sort_values("seed", kind="stable").drop_duplicates("point")
    for key, seed in zip(points["point"], points["seed"]):
        try:
            found = decode(store.rows(key))
        except CorruptFile as err:
            log.warning("%s; its spike record is left out of the figures", err)
            continue
        if found:
            return found, int(seed)
    return {}, None


def combine(records: dict) -> object:
    """One SpikeRecord from several {label: SpikeRecord}: population p of the record labelled L
    becomes "L: p". All are cut to the shortest duration, so every population's rates are over
    the same window."""
    from bio.record import SpikeRecord

    if not records:
        raise ValueError("combine needs at least one record")
    length = min(r.duration_s for r in records.values())
    times, indices, sizes = {}, {}, {}
    for label, r in records.items():
        for p in r.populations:
            keep = r.times_s[p] < length
            name = f"{label}: {p}"
            times[name], indices[name], sizes[name] = r.times_s[p][keep], r.indices[p][keep], r.n_neurons[p]
    return SpikeRecord(times, indices, sizes, float(length))


def renamed(rec, names: dict) -> object:
    """The record with populations renamed by {old: new} (others keep their names)."""
    from bio.record import SpikeRecord

    new = {p: names.get(p, p) for p in rec.populations}
    return SpikeRecord({new[p]: rec.times_s[p] for p in rec.populations},
                       {new[p]: rec.indices[p] for p in rec.populations},
                       {new[p]: rec.n_neurons[p] for p in rec.populations}, rec.duration_s)


def figure(rec, out_dir, name: str, title: str, populations=None, t_start_s: float = 0.0,
           bin_s: float = 5e-3) -> list[Path]:
    """bio.analysis.ephys_figure of `rec` saved as out_dir/name.png and .svg (studies.style.save);
    one row of panels per population, `title` above them. Returns the paths."""
    from bio import analysis

    from . import style

    import textwrap

    pops = rec.populations if populations is None else list(populations)
    with style.context():
        fig = analysis.ephys_figure(rec, pops, max_neurons=MAX_NEURONS, bin_s=bin_s, t_start_s=t_start_s,
                                    title=textwrap.fill(title, 160))
        fig.set_size_inches(12, 1.2 + 2.7 * len(pops))
        for ax in fig.axes:  # "<population>: ISI distribution" on two lines: long names fit the narrow panels
            head, sep, tail = ax.get_title().rpartition(": ")
            if sep and tail in ("ISI distribution", "CV of ISIs"):
                ax.set_title("\n".join(textwrap.wrap(f"{head}:", 44) + [tail]), fontsize="small")
    return style.save(fig, out_dir, name)

