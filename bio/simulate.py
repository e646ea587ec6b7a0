"""Running a network: one function for every code-generation target.

`run(build, duration, target=..., seed=...)` sets up the target, seeds every
random number generator, calls `build()` to create the Brian2 objects (for
`cpp_standalone` they must be created after the device is chosen, hence a
callable rather than ready objects), runs, and copies what the monitors saw
into a plain-NumPy `SpikeRecord`.

Targets:
- "numpy": no compilation; what unit tests use.
- "cython": compiles each code object once, then reuses Brian2's cache.
- "cpp_standalone": generates and compiles a whole C++ program; suits long
  runs and sweeps. Each call builds in its own directory, so parallel
  processes never race on one build directory.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from typing import Callable

import brian2 as b2
import numpy as np

from .record import SpikeRecord

TARGETS = ("numpy", "cython", "cpp_standalone")


@dataclass
class Built:
    """What a network builder hands to `run`.

    network: the Brian2 Network holding every object to simulate.
    spikes:  {population name: SpikeMonitor}.
    traces:  {"population.variable": (StateMonitor, variable name)}.
    n_neurons: sizes to report; defaults to each spike monitor's source size.
    index_map: {population: callable(indices) -> indices} to renumber spikes
               (e.g. when a monitor watches a subgroup); optional.
    """

    network: b2.Network
    spikes: dict[str, b2.SpikeMonitor]
    traces: dict[str, tuple] = field(default_factory=dict)
    n_neurons: dict[str, int] | None = None


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"unknown code-generation target {target!r}; choose one of: {', '.join(TARGETS)}")
    return target


def run(build: Callable[[], Built], duration, *, target: str = "numpy", seed: int | None = None,
        dt=0.1 * b2.ms, build_dir: str | None = None, report: str | None = None) -> SpikeRecord:
    """Build a network with `build()`, simulate it for `duration`, return its spikes.

    build:    callable with no arguments returning a `Built`.
    duration: Brian2 time quantity.
    target:   "numpy", "cython" or "cpp_standalone".
    seed:     seeds NumPy and Brian2's generators before `build()` runs, so the
              same seed gives the same connectivity and the same spikes.
    dt:       simulation time step (Brian2 time quantity).
    build_dir: directory for cpp_standalone (a fresh temporary one by default).
    Returns a SpikeRecord; traces are (n_samples, n_recorded) arrays in SI units.
    """
    check_target(target)
    if not b2.have_same_dimensions(duration, b2.second):
        raise ValueError(f"duration must be a time (e.g. 500*ms), got {duration!r}")
    standalone = target == "cpp_standalone"
    if standalone:
        # the study runner gives each worker slot its own directory: no races, builds reused
        directory = (build_dir or os.environ.get("BRAINBRIDGE_STANDALONE_DIR")
                     or tempfile.mkdtemp(prefix="brainbridge_standalone_"))
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
    else:
        b2.prefs.codegen.target = target
    try:
        b2.defaultclock.dt = dt
        if seed is not None:
            np.random.seed(seed)
            b2.seed(seed)
        built = build()
        # namespace={}: names resolve in each object's own namespace, never in this frame
        built.network.run(duration, report=report, namespace={})
        if standalone:
            b2.device.build(directory=directory, compile=True, run=True,
                            debug=False, clean=False)
        return to_record(built, float(duration / b2.second))
    finally:
        if standalone:
            b2.device.reinit()
            b2.set_device("runtime")


def to_record(built: Built, duration_s: float) -> SpikeRecord:
    """Copy spike and state monitors into a SpikeRecord (plain NumPy)."""
    times, indices, sizes = {}, {}, {}
    for name, mon in built.spikes.items():
        t = np.asarray(mon.t_[:], dtype=np.float64)
        i = np.asarray(mon.i[:], dtype=np.int64)
        order = np.argsort(t, kind="stable")
        times[name], indices[name] = t[order], i[order]
        sizes[name] = int(mon.source.N)
    if built.n_neurons:
        sizes.update(built.n_neurons)
    traces, trace_dt = {}, None
    for key, (mon, var) in built.traces.items():
        traces[key] = np.asarray(getattr(mon, var + "_")[:], dtype=np.float64).T  # (T, n_rec)
        trace_dt = float(mon.clock.dt_)
    return SpikeRecord(times, indices, sizes, duration_s, traces, trace_dt)


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
