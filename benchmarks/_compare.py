"""Run a `NetworkSpec` through `bio.run` and a hand-written Brian2 network side by side, timed alike.

Shared by benchmarks/bio_cuba.py and benchmarks/bio_brunel.py. The hand-written side is
the reference: a `build()` that creates Brian2 objects directly, as a user's script would.
Both sides get the same target setup (prefs.codegen.target, or the cpp_standalone device
with build_on_run=False and `make -j2`; gc.freeze() before the build and a collection of
the run's objects after it, as bio/simulate.py's `_target` does), the same seeding (NumPy and Brian2 before any
object is built), dt, and the same timing scope: from the call to the spike arrays in
hand (build, simulate, copy the monitors out). The compared time is the CPU time of the
process over that scope for numpy and cython (the machine is shared: other jobs inflate
wall time, not this process's CPU time), and Brian2's own simulation-only time
(results/last_run_info.txt) for cpp_standalone, whose program runs in a child process and
whose wall time is dominated by compiling.

Runs are interleaved (bio, hand, bio, hand, ...; which goes first rotates between
rounds) after one untimed warm-up run of each (code generation, compilation),
so both sides see the same machine load; per round the ratio bio / hand is taken and the
median and spread (min-max) over rounds are reported.
"""
from __future__ import annotations

import gc
import os
import statistics
import tempfile
import time
from dataclasses import dataclass

import brian2 as b2
import numpy as np

import bio


@dataclass
class Timed:
    """One run: wall and CPU seconds of this process, Brian2's simulation-only seconds (NaN
    unless standalone), spikes."""

    wall_s: float
    cpu_s: float
    sim_s: float
    spikes: dict  # {population: (times_s (n,), indices (n,))}, sorted by time as bio does

    def compared_s(self, target: str) -> float:
        """The time that is compared: Brian2's simulation-only time for cpp_standalone (the
        program runs in a child process), else the CPU time of this process, which other jobs
        on a shared machine do not inflate the way they inflate wall time."""
        return self.sim_s if target == "cpp_standalone" else self.cpu_s


def _sim_time(build_dir: str) -> float:
    with open(os.path.join(build_dir, "results", "last_run_info.txt")) as f:
        return float(f.read().split()[0])  # "<run time in s> <completed fraction>"


def run_bio(spec, target: str, duration, seed: int, dt, build_dir: str | None, **kw) -> Timed:
    """bio.run(spec, ...) timed; kw go to bio.run (e.g. fuse=False)."""
    t0, c0 = time.perf_counter(), time.process_time()
    rec = bio.run(spec, duration, target=target, seed=seed, dt=dt, build_dir=build_dir, **kw)
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    sim = _sim_time(build_dir) if target == "cpp_standalone" else float("nan")
    return Timed(wall, cpu, sim, {p: (rec.times_s[p], rec.indices[p]) for p in rec.times_s})


def _sorted_spikes(mon) -> tuple[np.ndarray, np.ndarray]:
    """(times_s, indices) of a SpikeMonitor, sorted by time as bio's record is."""
    t, i = np.asarray(mon.t_[:], dtype=np.float64), np.asarray(mon.i[:], dtype=np.int64)
    order = np.argsort(t, kind="stable")
    return t[order], i[order]


def run_hand(build, target: str, duration, seed: int, dt, build_dir: str | None) -> Timed:
    """build() -> (list of Brian2 objects, {population: SpikeMonitor}); run like bio.run does."""
    t0, c0 = time.perf_counter(), time.process_time()
    saved = (b2.prefs.codegen.target, b2.defaultclock.dt,
             list(b2.prefs.devices.cpp_standalone.extra_make_args_unix))
    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=build_dir, build_on_run=False)
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
    else:
        b2.prefs.codegen.target = target
    gc.freeze()  # as bio.run does: Network.run's collection skips the objects made before
    objects = monitors = net = None
    try:
        b2.defaultclock.dt = dt
        np.random.seed(seed)
        b2.seed(seed)
        objects, monitors = build()
        net = b2.Network(*objects)
        net.run(duration, namespace={})
        if target == "cpp_standalone":
            b2.device.build(directory=build_dir, compile=True, run=True, debug=False, clean=False)
        spikes = {name: _sorted_spikes(mon) for name, mon in monitors.items()}
    finally:
        if target == "cpp_standalone":
            b2.device.reinit()
            b2.set_device("runtime")
        b2.prefs.codegen.target, b2.defaultclock.dt, make_args = saved
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = make_args
        objects = monitors = net = None  # noqa: F841 (drop the run's objects before collecting)
        gc.collect()  # as bio.run does: free this run's objects (and their fixed names)
        gc.unfreeze()
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    sim = _sim_time(build_dir) if target == "cpp_standalone" else float("nan")
    return Timed(wall, cpu, sim, spikes)


def identical(a: Timed, b: Timed, pairs: dict) -> bool:
    """Same spikes: pairs maps a bio population to (hand population, index offset, count)."""
    for pop, (hpop, offset, n) in pairs.items():
        ht, hi = b.spikes[hpop]
        keep = (hi >= offset) & (hi < offset + n)
        bt, bi = a.spikes[pop]
        if len(bt) != keep.sum() or not (np.array_equal(bi, hi[keep] - offset) and np.allclose(bt, ht[keep])):
            return False
    return True


def compare_many(runs: dict, target: str, repeats: int):
    """Interleaved timing of zero-argument runs {name: run} on `target` (module docstring):
    one warm-up run each, then `repeats` rounds, the order rotating from round to round.

    Returns ({name: the warm-up's Timed}, {name: compared seconds per round}).
    """
    first = {name: run() for name, run in runs.items()}  # code generation and compilation
    names, times = list(runs), {name: [] for name in runs}
    for k in range(repeats):
        for name in names[k % len(names):] + names[:k % len(names)]:
            times[name].append(runs[name]().compared_s(target))
    return first, times


def compare(run_a, run_b, target: str, repeats: int):
    """`compare_many` of two runs. Returns (ratios a / b per round, first Timed of a, first
    Timed of b, a's times, b's times), times being the compared seconds per round."""
    first, times = compare_many({"a": run_a, "b": run_b}, target, repeats)
    ratios = [a / b for a, b in zip(times["a"], times["b"])]
    return ratios, first["a"], first["b"], times["a"], times["b"]


def spread(xs) -> str:
    """'median (min-max)' of a list of numbers."""
    return f"{statistics.median(xs):.2f} ({min(xs):.2f}-{max(xs):.2f})"


def build_dirs(prefix: str, n: int = 2) -> tuple[str, ...]:
    """n persistent cpp_standalone directories (one per variant: bio, hand, ...) under one
    temporary root, reused across repeats so that unchanged code is not recompiled (Brian2
    rewrites only files whose contents changed)."""
    root = tempfile.mkdtemp(prefix=prefix)
    return tuple(os.path.join(root, f"variant{k}") for k in range(n))
