"""Population fusion: the compiler's one optimisation of a spec's layout.

Brian2 runs every object's code at every time step, so a network described as
two populations of one model (Brunel's excitatory and inhibitory neurons) with
four pathways and two drives costs twice the per-step overhead of the same
network written by hand as one NeuronGroup with two Synapses and one
PoissonInput (benchmarks/bio_brunel.py measured 1.17-1.26x on numpy and cython).
`fuse(spec)` rewrites such a spec into that hand-written layout before the
compiler sees it; `Fused.split_*` map what the fused run recorded back to the
spec's own populations, so callers never see the difference. A deterministic network,
or one whose only random source is the fused drive (Brunel's), gives the very spikes of
the spec built as written (tests/test_fuse.py); where several objects draw random numbers
(background noise and Poisson sources, say), fusing can change the order in which Brian2
draws them, so the same seed gives another realisation of the same random process.

Populations are fused only when nothing can tell them apart inside one
NeuronGroup:
- neither is a source, both have the same neuron model (equal parameters),
  the same noise and the same initial-state variables, and the same Poisson
  drives (n_inputs, rate, weight, synapse);
- no Current input targets them (analog `Values` sources do not feed them either);
- every connection that touches them is static (no plasticity, no synaptic
  state, no presynaptic traces, no normalisation) and no connection's final
  weights are read back;
- the schedule is the default one ("layerwise" orders populations one by one).
Connections that end up with the same pre, post, model and kind become one
(their i, j, w and delays concatenated, offsets applied).
Per-neuron lesion fields (alive, thresh_shift, i_ext_amp, init) concatenate, so
a lesioned network fuses as well as a healthy one.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from . import inputs as inp
from .spec import Connection, NetworkSpec, Population, Record, values_to_check


@dataclass
class Fused:
    """A fused spec and how to read its record back.

    spec:    the spec the compiler builds.
    members: {fused population: [(original name, offset, n), ...]} for every
             population that holds more than one original; others map to themselves.
    """

    spec: NetworkSpec
    members: dict = field(default_factory=dict)

    def where(self, name: str):
        """(fused population, offset, n_fused) of an original population."""
        for fused, parts in self.members.items():
            for orig, offset, _ in parts:
                if orig == name:
                    return fused, offset, sum(n for _, _, n in parts)
        return name, 0, None


def _static(c: Connection) -> bool:
    m = c.model
    return (not m.plastic and not m.synapse_equations() and not m.pre_equations() and not m.pre_reset()
            and c.normalize is None)


def _drive_key(x: inp.PoissonDrive):
    return (int(x.n_inputs), float(x.rate), float(x.weight), x.synapse)


def _groups(spec: NetworkSpec) -> list[list[str]]:
    """Lists of >= 2 population names that can share one NeuronGroup (module docstring)."""
    if spec.meta.get("schedule", "default") != "default":
        return []
    blocked = {x.target for x in spec.inputs if isinstance(x, inp.Current)}
    sources = {x.target for x in spec.inputs if isinstance(x, inp.Values)}
    final_conns = {key.partition(".")[0] for key in spec.record.final}
    for name, c in spec.connections.items():
        if not _static(c) or name in final_conns or c.pre in sources:
            blocked.update((c.pre, c.post))
    drives = {}
    for x in spec.inputs:
        if isinstance(x, inp.PoissonDrive):
            drives.setdefault(x.target, []).append(_drive_key(x))
    groups: list[list[str]] = []
    keys: list[tuple] = []
    for name, pop in spec.populations.items():
        if pop.is_source or name in blocked:
            continue
        key = (pop.model, float(pop.noise_sigma), tuple(sorted(pop.init)),
               tuple(sorted(drives.get(name, []), key=repr)))
        for k, other in enumerate(keys):
            try:
                same = other == key
            except (TypeError, ValueError):  # parameters that do not compare as scalars
                same = False
            if same:
                groups[k].append(name)
                break
        else:
            keys.append(key)
            groups.append([name])
    return [g for g in groups if len(g) > 1]


def _joined(arrays: list[np.ndarray]) -> np.ndarray:
    """The arrays end to end; a read-only broadcast view of one value when they all hold it.

    Brunel's pathways hold one weight and one delay on millions of synapses: the view
    costs no memory and no copy (concatenating them took ~0.1 s per run).
    """
    n = sum(len(a) for a in arrays)
    values = [a for a in arrays if len(a)]
    if values:
        first = values[0].flat[0]
        if all(np.all(values_to_check(a) == first) for a in values):
            return np.broadcast_to(values[0][:1], (n,))
    return np.concatenate(arrays)


def _shifted(parts: list[tuple[np.ndarray, int]]) -> np.ndarray:
    """Index arrays end to end, each plus its offset, written once into one new array."""
    out = np.empty(sum(len(a) for a, _ in parts), dtype=np.int64)
    at = 0
    for a, offset in parts:
        np.add(a, offset, out=out[at:at + len(a)])
        at += len(a)
    return out


def fuse(spec: NetworkSpec) -> Fused:
    """The spec with fusable populations merged (module docstring); spec itself is untouched."""
    groups = _groups(spec)
    if not groups:
        return Fused(spec)
    where, members = {}, {}
    pops = {}
    for names in groups:
        fused = "+".join(names)
        offset, parts = 0, []
        for name in names:
            n = spec.populations[name].n
            where[name] = (fused, offset)
            parts.append((name, offset, n))
            offset += n
        members[fused] = parts
    for name, pop in spec.populations.items():
        if name not in where:
            pops[name] = pop
            continue
        fused = where[name][0]
        if fused in pops:
            continue
        ps = [spec.populations[orig] for orig, _, _ in members[fused]]
        pops[fused] = Population(
            ps[0].model, sum(p.n for p in ps), alive=np.concatenate([p.alive for p in ps]),
            thresh_shift=np.concatenate([p.thresh_shift for p in ps]), noise_sigma=ps[0].noise_sigma,
            i_ext_amp=np.concatenate([p.i_ext_amp for p in ps]),
            init={var: np.concatenate([np.asarray(p.init[var], float) for p in ps]) for var in ps[0].init})

    merged: dict[tuple, list] = {}
    for cname, c in spec.connections.items():
        pre, i_off = where.get(c.pre, (c.pre, 0))
        post, j_off = where.get(c.post, (c.post, 0))
        merged.setdefault((pre, post, c.model, c.kind), []).append((cname, c, i_off, j_off))
    conns = {}
    for (pre, post, model, kind), parts in merged.items():
        if len(parts) == 1 and parts[0][1].pre == pre and parts[0][1].post == post:
            conns[parts[0][0]] = parts[0][1]
            continue
        conns["+".join(p[0] for p in parts)] = Connection(
            pre, post, model, _shifted([(p[1].i, p[2]) for p in parts]), _shifted([(p[1].j, p[3]) for p in parts]),
            _joined([p[1].w for p in parts]), kind=kind, delay_s=_joined([p[1].delay_s for p in parts]),
            transmits=_joined([p[1].transmits for p in parts]))
    new_inputs = []
    for x in spec.inputs:
        if isinstance(x, inp.PoissonDrive) and x.target in where:
            fused = where[x.target][0]
            # every member has the same drives (_groups): keep the first member's
            if x.target != members[fused][0][0]:
                continue
            x = inp.PoissonDrive(fused, x.n_inputs, x.rate, x.weight, x.synapse)
        elif getattr(x, "target", None) in where:  # pragma: no cover - excluded by _groups
            raise AssertionError(f"input {type(x).__name__} on fused population {x.target!r}")
        new_inputs.append(x)
    rec = spec.record
    spikes = None if rec.spikes is None else tuple(dict.fromkeys(where.get(n, (n, 0))[0] for n in rec.spikes))
    traces = {}
    for key, which in rec.traces.items():
        name, _, var = key.partition(".")
        if name not in where:
            traces[key] = which
            continue
        fused, offset = where[name]
        sel = np.arange(spec.populations[name].n) if which is True else np.asarray(which, dtype=np.int64)
        fkey = f"{fused}.{var}"
        traces[fkey] = np.concatenate([np.asarray(traces.get(fkey, np.zeros(0, np.int64)), np.int64),
                                       sel + offset])
    final = tuple(dict.fromkeys(f"{where.get(k.partition('.')[0], (k.partition('.')[0], 0))[0]}."
                                f"{k.partition('.')[2]}" for k in rec.final))
    new = NetworkSpec(pops, conns, new_inputs, Record(spikes, traces, rec.when, final), spec.period,
                      dict(spec.meta))
    return Fused(new.check(), members)


def split_record(fused: Fused, original: NetworkSpec, rec):
    """The fused run's SpikeRecord in the original spec's populations and keys."""
    from .record import SpikeRecord  # noqa: PLC0415 (record imports nothing from here)

    if not fused.members:
        return rec
    B = rec.copies
    times, indices, sizes = {}, {}, {}
    for name in (original.record.spikes if original.record.spikes is not None else original.populations):
        fname, offset, n_f = fused.where(name)
        if fname not in rec.times_s:
            continue
        if n_f is None:
            times[name], indices[name], sizes[name] = rec.times_s[fname], rec.indices[fname], rec.n_neurons[fname]
            continue
        n = original.populations[name].n
        idx = rec.indices[fname]
        copy, k = np.divmod(idx, n_f)
        keep = (k >= offset) & (k < offset + n)
        times[name] = rec.times_s[fname][keep]
        indices[name] = copy[keep] * n + k[keep] - offset
        sizes[name] = B * n
    traces = {}
    for key, which in original.record.traces.items():
        name, _, var = key.partition(".")
        fname, offset, n_f = fused.where(name)
        if n_f is None:
            traces[key] = rec.traces[key]
            continue
        fkey = f"{fname}.{var}"
        fsel = fused.spec.record.traces[fkey]
        sel = np.arange(original.populations[name].n) if which is True else np.asarray(which, np.int64)
        # position of each wanted neuron in the fused selection (first match), per copy
        pos = np.array([int(np.flatnonzero(fsel == s + offset)[0]) for s in sel], dtype=np.int64)
        cols = (np.arange(B)[:, None] * len(fsel) + pos[None, :]).ravel()
        traces[key] = rec.traces[fkey][:, cols]
    final = {}
    for key in original.record.final:
        name, _, var = key.partition(".")
        fname, offset, n_f = fused.where(name)
        if n_f is None:
            final[key] = rec.final[key]
            continue
        n = original.populations[name].n
        final[key] = rec.final[f"{fname}.{var}"].reshape(B, n_f)[:, offset:offset + n].ravel().copy()
    return SpikeRecord(times, indices, sizes, rec.duration_s, traces, rec.trace_dt_s, final, B)
