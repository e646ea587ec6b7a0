"""A network built once and run again for new analog inputs: `Prepared(spec, duration)`.

`bio.simulate.run` builds a spec's Brian2 objects, has Brian2 generate their code, runs
and drops them: right for one run. A network evaluated again and again on new inputs
(a converted classifier on test batches, repeated measurements) would pay the build and
Brian2's code generation at every call; for the converted MLP on the 450 test digits
these took about as long as the 32 steps themselves (benchmarks/conversion.py).

`Prepared` builds the spec once (bio.simulate's own layout, objects and names, so the
generated code is that of a one-off run and shares its cython cache), lets Brian2
generate and compile the code in a run of length zero, and stores the state before the
first step. `run(spec)` then takes a spec that differs only in the values of its
analog `Values` inputs: it restores the stored state, sets the currents those values
drive (computed once in NumPy, as bio.simulate does) and runs Brian2's own
`Network.run`, with one change: Brian2 regenerates every object's code at each run,
although nothing that code depends on (equations, namespace constants, sizes, dt) can
differ between these runs, so each object keeps the code objects of its first run (and
each spike queue the synapse lists it built for it).
Everything else -- state preparation, spike queues, the schedule, the monitors -- is
Brian2's. tests/test_prepared.py checks that a rerun records the very spikes, traces
and final state of a fresh `bio.simulate.run` on the same inputs, on numpy and cython.

A spec that differs in anything else (a lesioned population, other weights, another
batch size) is refused with an error: prepare it again. The check hashes the spec's
arrays, so an edit made in place is caught as well.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import fields, is_dataclass

import brian2 as b2
import numpy as np
from brian2 import amp, ms, second

from . import inputs as inp
from .fuse import split_record
from .record import SpikeRecord
from .simulate import (_build, _objects_s, _plan, _same_code, _target, _to_record, _value_currents,
                       injected_current)
from .spec import NetworkSpec

RUNTIME_TARGETS = ("numpy", "cython")
COMPILER_META = ("present", "reset", "schedule")  # the meta keys bio.simulate reads


def _digest(obj, h) -> None:
    """Feed everything that determines the Brian2 network built from `obj` into hash h."""
    if isinstance(obj, b2.Quantity):
        h.update(repr(obj.dim).encode())
        obj = np.asarray(obj)
    if isinstance(obj, np.ndarray):
        h.update(f"{obj.dtype}{obj.shape}".encode())
        h.update(np.ascontiguousarray(obj).tobytes())
    elif isinstance(obj, inp.Values):  # the values themselves may change between runs
        h.update(f"Values {obj.target} {obj.values.shape} {obj.rate_hz!r}".encode())
    elif is_dataclass(obj) and not isinstance(obj, type):
        h.update(type(obj).__qualname__.encode())
        for f in fields(obj):
            h.update(f.name.encode())
            _digest(getattr(obj, f.name), h)
    elif isinstance(obj, dict):
        for key, value in obj.items():
            h.update(repr(key).encode())
            _digest(value, h)
    elif isinstance(obj, (list, tuple)):
        h.update(f"{type(obj).__name__}{len(obj)}".encode())
        for value in obj:
            _digest(value, h)
    else:
        h.update(repr(obj).encode())


def fingerprint(spec: NetworkSpec) -> str:
    """A hash of everything in `spec` that the compiler builds, except the values of its
    analog `Values` inputs (their targets, shapes and rates count)."""
    h = hashlib.blake2b(digest_size=16)
    for part in (spec.populations, spec.connections, spec.inputs, spec.record, spec.period,
                 {k: spec.meta[k] for k in COMPILER_META if k in spec.meta}):
        _digest(part, h)
    return h.hexdigest()


class Prepared:
    """One Brian2 build of `spec`, run again for new analog inputs.

    spec:     a NetworkSpec with at least one analog `Values` input, one sample per run
              (values (1, B, n): B copies side by side), shown for the whole run.
    duration: Brian2 time of every run. target: "numpy" or "cython" (cpp_standalone
              builds a program per run: use bio.simulate.run). dt, fuse: as bio.simulate.run.
    Building, generating and compiling the code happen here; `run` only simulates.
    """

    def __init__(self, spec: NetworkSpec, duration, *, target: str = "cython", dt=0.1 * ms,
                 fuse: bool = True):
        if target not in RUNTIME_TARGETS:
            raise ValueError(f"a prepared network runs on the {' or '.join(RUNTIME_TARGETS)} target, got "
                             f"{target!r} (cpp_standalone builds a program per run: use bio.simulate.run)")
        if not any(isinstance(x, inp.Values) for x in spec.inputs):
            raise ValueError("a prepared network is run again for new analog Values inputs, and this spec "
                             "has none: use bio.simulate.run")
        self.target, self.dt = target, dt
        self.key = fingerprint(spec)
        self._fused, built, self._layout, self.duration = _plan(spec, duration, dt, fuse)
        if self._layout.samples != 1 or self._layout.present_steps not in (0, self._layout.period_steps):
            raise ValueError("a prepared network shows one sample for the whole run (values of shape "
                             "(B, n)): run several samples as copies")
        self._spec = built
        with _target(target, None):
            b2.defaultclock.dt = dt
            per_sample, delayed = _value_currents(built, self._layout)
            self._driven = sorted(set(per_sample) | set(delayed))
            self._net, self._groups, self._monitors, self._traces, self._built = _build(built, self._layout)
            self._net.run(0 * second, namespace={})  # Brian2 generates (and compiles) the code
            self._net.store("prepared")

    def fits(self, spec: NetworkSpec) -> bool:
        """Whether `spec` is the prepared network with other analog input values."""
        return fingerprint(spec) == self.key

    def run(self, spec: NetworkSpec, seed: int | None = None, profile: dict | None = None,
            key: str | None = None) -> SpikeRecord:
        """Simulate `spec`, the prepared network with new `Values` (same shapes), for `duration`.

        seed: seeds NumPy and Brian2 before the first step, as bio.simulate.run does before
              its build (which draws no random numbers: initial states come from the spec).
        profile: a dict to fill with where the wall time went, as bio.simulate.run's:
              "set_s" (restoring the stored state, setting the input currents), "run_s"
              (Network.run: the steps and Brian2's Python loop), "objects_s" {object:
              seconds of its generated code, Brian2's profiling} and "record_s".
        key:  fingerprint(spec) when the caller has computed it (it is computed otherwise).
        Returns the SpikeRecord that bio.simulate.run(spec, duration, seed=seed, ...) returns.
        """
        if profile is not None and not isinstance(profile, dict):
            raise ValueError(f"profile= takes a dict to fill, got {type(profile).__name__}")
        if (fingerprint(spec) if key is None else key) != self.key:
            raise ValueError("this spec is not the prepared network with new analog input values (its "
                             "populations, connections, other inputs, record or batch size differ): "
                             "prepare it again")
        spec.check()
        values = {x.target: x for x in spec.inputs if isinstance(x, inp.Values)}
        built = self._spec.with_inputs(*[values.get(x.target, x) if isinstance(x, inp.Values) else x
                                         for x in self._spec.inputs],
                                       period=self._spec.period, record=self._spec.record)
        per_sample, delayed = _value_currents(built, self._layout)
        clock = time.perf_counter
        with _target(self.target, None):
            t0 = clock()
            b2.defaultclock.dt = self.dt
            self._net.restore("prepared")
            if seed is not None:
                np.random.seed(seed)
                b2.seed(seed)
            for name in self._driven:
                group = self._groups[name]
                if "I_const" in group.variables:
                    const, _ = injected_current(built, name, self._layout, per_sample)
                    group.I_const = const * amp
                for k, (_, cur) in enumerate(delayed.get(name, [])):  # delays are the spec's: fixed
                    setattr(group, f"I_delayed_{k}", cur.reshape(-1) * amp)
            t1 = clock()
            with _same_code(self._net):
                self._net.run(self.duration, namespace={}, profile=profile is not None)
            t2 = clock()
            rec = _to_record(built, self._layout, float(self.duration / second), self._groups,
                             self._monitors, self._traces, self._built)
            if profile is not None:
                profile.update(set_s=t1 - t0, run_s=t2 - t1, record_s=clock() - t2,
                               objects_s=_objects_s(self._net, self._spec))
        return split_record(self._fused, spec, rec) if self._fused is not None else rec
