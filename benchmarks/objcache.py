"""Benchmark: what the per-user object cache (bio.objcache) saves a cpp_standalone build.

Every process builds its standalone programs in a slot of its own (a study's worker, a test
process), one directory per network. Without the cache each slot compiled every C++ file of a
network the machine had already compiled elsewhere, and a second network compiled again the
files it shares with the first. Measured here on what every STDP study does: train the
Diehl & Cook (2015) network (100 excitatory neurons, 20 digits, cpp_standalone), then label
its neurons with plasticity off (a second network).

Per repeat, each case in a fresh slot, with the per-user cache made empty at the start of
the repeat (`$BRAINBRIDGE_CACHE_DIR` in a temporary folder):
  off    $BRAINBRIDGE_OBJCACHE=0, as before the cache: every file compiled;
  plain  the cache on and empty (one of its own), $BRAINBRIDGE_PCH=0: every file compiled,
         parsing the standard headers again in each (as before the precompiled header);
  first  the cache on and empty: every file compiled, each code object with the standard
         headers precompiled, and kept;
  second the cache on, another slot (another worker on the same machine): files taken.
The code objects of `plain` and `first` are compared byte for byte: the precompiled header
must not change the objects.
Times are the wall time of `stdp.train` and of `stdp.label` (build, compile, run, read back),
in this process; C++ files compiled/taken are counted from each build's objcache.log.
Then two workers that start the same work at the same moment, each in a process and a slot of
its own, from an empty cache of their own:
  together off  $BRAINBRIDGE_OBJCACHE=0: both compile every file;
  together on   the cache on: a file one of them is compiling, the other waits for and takes
                (the key's lock, bio.objcache._claimed);
timed from starting both processes until both are done, imports included.
The learned weights of all cases are compared: a build from the cache must learn
exactly what a compiled one learns (the script fails otherwise).

Part 2, what bio changes in Brian2's cython modules: `stdp.responses` of the untrained
network on cython from an empty module cache, each repeat in fresh processes, in three cases:
  bio      bio's flags (`-g0` after Python's own `-g`, bio.simulate._without_debug_info) and
           Cython directives (binding=False, bio.compile_pool.LEAN_DIRECTIVES);
  binding  bio's flags, Cython's default directives (as before LEAN_DIRECTIVES);
  debug    `-g` asked for and Cython's defaults (as Brian2 alone, before either);
wall time, CPU time (the process and the compilers it ran), size of the modules, and the
spike counts, which must be identical.

    python benchmarks/objcache.py      (writes its section of docs/benchmarks.md)
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402

from ann import data  # noqa: E402
from bio import diehl_cook, objcache, simulate, stdp  # noqa: E402

REPEATS = 3
CASES = ("off", "plain", "first", "second")
TOGETHER = ("off", "on")
# two of these at once: one worker's train + label in a slot of its own (argv: slot, a file for
# the weights and labels), cache as the environment says
TOGETHER_RUN = r"""
import sys, time
import numpy as np
from ann import data
from bio import diehl_cook, stdp
ds = data.digits(seed=0)
x, y = ds.train.x[:20], ds.train.y[:20]
t0 = time.perf_counter()
trained = stdp.train(diehl_cook.diehl_cook_spec(n_exc=100, seed=0), x, seed=0, target="cpp_standalone",
                     progress=False)
labels = stdp.label(trained, x, y, seed=1, target="cpp_standalone")
np.savez(sys.argv[2], w=trained.connections["in_exc"].w, labels=np.asarray(labels.neuron), s=time.perf_counter() - t0)
"""
# part 2: one fresh process per case, so that Brian2's in-memory module cache cannot serve it
CYTHON_RUN = r"""
import json, os, sys, time
import brian2 as b2
from ann import data
from bio import compile_pool, diehl_cook, stdp
b2.prefs.codegen.runtime.cython.cache_dir = sys.argv[1]
if sys.argv[2] in ("binding", "debug"):  # Cython's default directives
    compile_pool.LEAN_DIRECTIVES = {}
if sys.argv[2] == "debug":  # a user who asks for debug information gets it: bio adds no -g0
    b2.prefs.codegen.cpp.extra_compile_args_gcc = [*b2.prefs.codegen.cpp.extra_compile_args_gcc, "-g"]
x = data.digits(seed=0).train.x[:20]
spec = diehl_cook.diehl_cook_spec(n_exc=100, seed=0, plastic=False)
t0, c0 = time.perf_counter(), os.times()
counts = stdp.responses(spec, x, seed=1, target="cython")
t1, c1 = time.perf_counter(), os.times()
cpu = (c1.user + c1.system + c1.children_user + c1.children_system) - (c0.user + c0.system + c0.children_user + c0.children_system)
sizes = [os.path.getsize(os.path.join(sys.argv[1], f)) for f in os.listdir(sys.argv[1]) if f.endswith(".so")]
print(json.dumps(dict(wall_s=t1 - t0, cpu_s=cpu, modules=len(sizes), mb=sum(sizes) / 2**20, counts=counts.tolist())))
"""


def _build_counts(slot: str) -> dict:
    """{"compiled": n, "taken": n} over the programs built in `slot` (with the cache off, every
    object file of every program was compiled: they are counted instead)."""
    out = {"compiled": 0, "taken": 0}
    for d in sorted(os.listdir(slot)):
        log = os.path.join(slot, d, objcache.LOG)
        if os.path.exists(log):
            c = objcache.read_log(log)
            out["compiled"] += c["miss"]
            out["taken"] += c["hit"]
        else:
            out["compiled"] += sum(f.endswith(".o") for _, _, files in os.walk(os.path.join(slot, d))
                                   for f in files)
    return out


@contextlib.contextmanager
def _environ(**values: str):
    """os.environ with `values` set, restored after."""
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def one(case: str, root: str, x, y) -> dict:
    """Train and label in a fresh slot under `root` with the cache as `case` says."""
    slot = tempfile.mkdtemp(prefix=f"slot-{case}-", dir=root)
    env = {simulate.STANDALONE_ENV: slot, simulate.OBJCACHE_ENV: "0" if case == "off" else "1",
           objcache.PCH_ENV: "0" if case == "plain" else "1"}
    if case == "plain":  # an empty cache of its own: the others' objects are compiled another way
        env[simulate.CACHE_ENV] = os.path.join(root, "cache-plain")
    with _environ(**env):
        spec = diehl_cook.diehl_cook_spec(n_exc=100, seed=0)
        t0 = time.perf_counter()
        trained = stdp.train(spec, x, seed=0, target="cpp_standalone", progress=False)
        t1 = time.perf_counter()
        labels = stdp.label(trained, x, y, seed=1, target="cpp_standalone")
        t2 = time.perf_counter()
    files = _build_counts(slot)
    if case == "off" and files["taken"]:
        raise RuntimeError("the cache was off but a build went through it")
    return dict(train_s=t1 - t0, label_s=t2 - t1, w=trained.connections["in_exc"].w.copy(),
                labels=np.asarray(labels.neuron).copy(), slot=slot, **files)


def same_code(plain: str, pch: str) -> tuple[int, list[str]]:
    """(how many, which differ): the code objects that slot `pch` compiled with the precompiled
    header, against the same files of slot `plain` (its programs, by their directory names),
    byte for byte."""
    n, differ = 0, []
    for d in sorted(os.listdir(pch)):
        with open(os.path.join(pch, d, objcache.LOG)) as f:
            sources = [line.split()[1] for line in f if line.split()[2:] == ["pch"]]
        for src in sources:
            obj = os.path.join(d, os.path.splitext(src)[0] + ".o")
            n += 1
            with open(os.path.join(plain, obj), "rb") as a, open(os.path.join(pch, obj), "rb") as b:
                if a.read() != b.read():
                    differ.append(obj)
    return n, differ


def _child_env() -> dict:
    """The environment of a measured child process: this checkout importable, one compile job
    (no compile pool) and one BLAS thread, as in this process."""
    return {**os.environ, "BRAINBRIDGE_COMPILE_JOBS": "1", "OMP_NUM_THREADS": "1",
            "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(__file__)))}


def together(case: str, root: str) -> dict:
    """Two processes train and label at once, each in a fresh slot, from an empty cache of their
    own under `root`, with the cache as `case` says."""
    import subprocess

    cache = tempfile.mkdtemp(prefix=f"cache-together-{case}-", dir=root)
    env = {**_child_env(),
           simulate.CACHE_ENV: cache, simulate.OBJCACHE_ENV: "0" if case == "off" else "1"}
    slots = [tempfile.mkdtemp(prefix=f"slot-together-{case}-{k}-", dir=root) for k in range(2)]
    outs = [os.path.join(root, f"together-{case}-{k}.npz") for k in range(2)]
    t0 = time.perf_counter()
    procs = [subprocess.Popen([sys.executable, "-c", TOGETHER_RUN, slot, out],
                              env={**env, simulate.STANDALONE_ENV: slot}, stderr=subprocess.PIPE, text=True)
             for slot, out in zip(slots, outs)]
    errors = [p.communicate()[1] for p in procs]
    wall = time.perf_counter() - t0
    for p, err in zip(procs, errors):
        if p.returncode:
            raise RuntimeError(err[-3000:])
    res = [np.load(out) for out in outs]
    counts = [_build_counts(slot) for slot in slots]
    return dict(wall_s=wall, own_s=[float(r["s"]) for r in res], w=[r["w"] for r in res],
                labels=[r["labels"] for r in res], compiled=sum(c["compiled"] for c in counts),
                taken=sum(c["taken"] for c in counts))


def cython_cases() -> dict:
    """{"bio": [...], "binding": [...], "debug": [...]}: `stdp.responses` of the untrained network
    on 20 digits on cython from an empty module cache, compiled in this process's child (no
    compile pool), in the three cases of the module docstring; cases interleaved."""
    import json
    import subprocess

    out = {"bio": [], "binding": [], "debug": []}
    env = _child_env()
    for r in range(REPEATS):
        for case in out:
            with tempfile.TemporaryDirectory(prefix="bb-cython-bench-") as cache:
                proc = subprocess.run([sys.executable, "-c", CYTHON_RUN, cache, case], env=env,
                                      capture_output=True, text=True)
                if proc.returncode:
                    raise RuntimeError(proc.stderr[-3000:])
                res = json.loads(proc.stdout.strip().splitlines()[-1])
            out[case].append(res)
            print(f"repeat {r}: cython {case:<7} {res['wall_s']:5.1f} s wall, {res['cpu_s']:5.1f} s CPU, "
                  f"{res['modules']} modules, {res['mb']:.1f} MB", flush=True)
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.parse_args(argv)
    ds = data.digits(seed=0)
    x, y = ds.train.x[:20], ds.train.y[:20]
    rows = {c: [] for c in CASES}
    both = {c: [] for c in TOGETHER}
    compared = []  # per repeat: (code objects compiled with the precompiled header, which differ)
    start = time.perf_counter()
    for r in range(REPEATS):
        with tempfile.TemporaryDirectory(prefix="bb-objcache-bench-") as root, \
                _environ(**{simulate.CACHE_ENV: os.path.join(root, "cache")}):
            for case in CASES:
                res = one(case, root, x, y)
                rows[case].append(res)
                print(f"repeat {r}: {case:<6} train {res['train_s']:5.1f} s, label {res['label_s']:5.1f} s, "
                      f"C++ files compiled {res['compiled']}, taken {res['taken']}", flush=True)
            compared.append(same_code(rows["plain"][-1]["slot"], rows["first"][-1]["slot"]))
            print(f"repeat {r}: code objects compiled with the precompiled header: {compared[-1][0]}, "
                  f"objects differing from plain: {compared[-1][1] or 'none'}", flush=True)
            for case in TOGETHER:
                res = together(case, root)
                both[case].append(res)
                print(f"repeat {r}: together {case:<3} {res['wall_s']:5.1f} s until both were done "
                      f"(each {', '.join(f'{v:.1f}' for v in res['own_s'])} s), C++ files compiled "
                      f"{res['compiled']}, taken {res['taken']}", flush=True)
    same = all(np.array_equal(res["w"], rows["off"][0]["w"]) and np.array_equal(res["labels"], rows["off"][0]["labels"])
               for case in CASES for res in rows[case])
    same = same and all(np.array_equal(w, rows["off"][0]["w"]) and np.array_equal(lab, rows["off"][0]["labels"])
                        for case in TOGETHER for res in both[case] for w, lab in zip(res["w"], res["labels"]))
    cy = cython_cases()
    same_cy = all(res["counts"] == cy["bio"][0]["counts"] for case in cy for res in cy[case])
    seconds = time.perf_counter() - start

    def cell(case, key):
        v = [res[key] for res in rows[case]]
        return f"{np.median(v):.1f} ({min(v):.1f}-{max(v):.1f})"

    total = {c: [a["train_s"] + a["label_s"] for a in rows[c]] for c in CASES}
    ratios = [o / s for o, s in zip(total["off"], total["second"])]
    extra = [f / o - 1 for f, o in zip(total["plain"], total["off"])]
    pch_saved = [1 - f / p for f, p in zip(total["first"], total["plain"])]
    first_off = [1 - f / o for f, o in zip(total["first"], total["off"])]
    n_code = sum(n for n, _ in compared)
    differ = sorted({d for _, ds in compared for d in ds})
    med = {c: float(np.median(total[c])) for c in CASES}
    lines = [
        "# Compile cost: the object cache of cpp_standalone builds (bio.objcache)",
        "",
        f"Diehl & Cook (2015) network, 100 excitatory neurons: `stdp.train` on 20 digits, then "
        f"`stdp.label` (plasticity off: another program), cpp_standalone, each case in a fresh "
        f"build slot; {REPEATS} repeats, each from an empty per-user cache; {seconds:.0f} s in all. "
        "Seconds: median (min-max) over the repeats, build + compile + run + read back.",
        "",
        "| case | train (s) | label (s) | C++ files compiled | taken from the cache |",
        "|---|---|---|---|---|",
    ]
    names = {"off": "cache off (`BRAINBRIDGE_OBJCACHE=0`, as before it)",
             "plain": "cache on, empty, no precompiled header (`BRAINBRIDGE_PCH=0`, as before it)",
             "first": "cache on, empty: first slot on the machine",
             "second": "cache on, second slot (another worker)"}
    for case in CASES:
        lines.append(f"| {names[case]} | {cell(case, 'train_s')} | {cell(case, 'label_s')} | "
                     f"{rows[case][0]['compiled']} | {rows[case][0]['taken']} |")
    lines += [
        "",
        f"Train + label in a second slot against the same with the cache off: {med['off']:.1f} s -> "
        f"{med['second']:.1f} s (medians), **{np.median(ratios):.1f}x** faster (per repeat "
        f"{', '.join(f'{q:.1f}x' for q in ratios)}): at 20 digits the builds are most of the time; a "
        f"longer run gains the same seconds, a smaller share. The second slot builds after the first "
        f"has finished, as a later worker or study does. "
        f"The labelling program of the first slot takes {rows['first'][0]['taken']} of its files from "
        f"the training program's (the others differ: Brian2 writes the number of network copies into "
        f"the code). What the cache costs where it holds nothing yet (preprocessing each file to key "
        f"it; without the precompiled header, against cache off): {med['plain']:.1f} s against "
        f"{med['off']:.1f} s, {med['plain'] / med['off'] - 1:+.0%} (per repeat "
        f"{', '.join(f'{e:+.0%}' for e in extra)}).",
        "",
        f"**The precompiled standard headers** (`bio.objcache._pch`: each code object includes "
        f"<iostream>, <random>, <map>, ... through objects.h; they are parsed once per compiler and "
        f"flags instead of once per file) make the first slot {med['first']:.1f} s against "
        f"{med['plain']:.1f} s, **{np.median(pch_saved):.0%}** less (per repeat "
        f"{', '.join(f'{e:.0%}' for e in pch_saved)}; the first slot's time includes building the "
        f"precompiled header), and {np.median(first_off):.0%} less than with the cache off (per repeat "
        f"{', '.join(f'{e:.0%}' for e in first_off)}). Objects: {n_code} code objects compiled with "
        f"the precompiled header over the repeats, against the same files compiled without it: "
        + ("**identical byte for byte, every one**." if not differ
           else f"**{len(differ)} differ** ({', '.join(differ)}).")
        + " main.cpp, objects.cpp, run.cpp and the other files of the program itself lack some of the "
        f"headers and are compiled as before. "
        f"Learned weights and neuron labels identical in every case and repeat: {'yes' if same else 'NO'}.",
    ]
    tw = {c: [res["wall_s"] for res in both[c]] for c in TOGETHER}
    t_ratio = [o / n for o, n in zip(tw["off"], tw["on"])]
    lines += [
        "",
        "Two workers that start the same train + label at the same moment (each a process and a "
        "slot of its own, an empty cache of their own; seconds from starting both until both are "
        "done, imports included; C++ files of both together):",
        "",
        "| case | both done (s) | C++ files compiled | taken from the cache |",
        "|---|---|---|---|",
    ] + [f"| {name} | {np.median(tw[c]):.1f} ({min(tw[c]):.1f}-{max(tw[c]):.1f}) | {both[c][0]['compiled']} | "
         f"{both[c][0]['taken']} |"
         for c, name in (("off", "cache off: each compiles every file"),
                         ("on", "cache on: a file the other is compiling is waited for and taken"))] + [
        "",
        f"With the cache on, the pair is done **{np.median(t_ratio):.1f}x** sooner (per repeat "
        f"{', '.join(f'{q:.1f}x' for q in t_ratio)}): the second of two processes that miss one "
        f"file waits for the first's compilation (`bio.objcache._claimed`, a lock per file) instead "
        f"of compiling it on the same two cores.",
    ]
    def cy_cell(case, key, fmt="{:.1f}"):
        v = [res[key] for res in cy[case]]
        return f"{fmt.format(np.median(v))} ({fmt.format(min(v))}-{fmt.format(max(v))})"

    def saved(case, against):
        q = [1 - a["cpu_s"] / b["cpu_s"] for a, b in zip(cy[case], cy[against])]
        return f"{np.median(q):.0%} (per repeat {', '.join(f'{v:.0%}' for v in q)})"

    lines += [
        "",
        "## What bio changes in cython modules: debug information, Cython function objects",
        "",
        "The cython modules are compiled with Python's own CFLAGS first; a Python built from source "
        "(as here) has `-g` there, and Brian2 adds no `-g0`. bio.simulate puts `-g0` last unless the "
        "user's flags ask for `-g` (`_without_debug_info`). And bio compiles Brian2's modules with the "
        "Cython directive binding=False (`bio.compile_pool.LEAN_DIRECTIVES`): each module's `main` is a "
        "plain builtin function, and Cython writes no function type of its own into every module. "
        "`stdp.responses` of the untrained network "
        f"(plasticity off, 100 exc) on 20 digits, cython, from an empty module cache, each in a fresh "
        f"process compiling in itself (`BRAINBRIDGE_COMPILE_JOBS=1`); {REPEATS} repeats, cases "
        "interleaved; CPU = the process and the compilers it ran. Median (min-max).",
        "",
        "| flags, directives | wall (s) | CPU (s) | modules | size of the modules (MB) |",
        "|---|---|---|---|---|",
        f"| bio's (`-g0` last, binding=False) | {cy_cell('bio', 'wall_s')} | {cy_cell('bio', 'cpu_s')} | "
        f"{cy['bio'][0]['modules']} | {cy_cell('bio', 'mb')} |",
        f"| `-g0` last, Cython's defaults | {cy_cell('binding', 'wall_s')} | {cy_cell('binding', 'cpu_s')} | "
        f"{cy['binding'][0]['modules']} | {cy_cell('binding', 'mb')} |",
        f"| `-g` asked for, Cython's defaults (Brian2 alone) | {cy_cell('debug', 'wall_s')} | "
        f"{cy_cell('debug', 'cpu_s')} | {cy['debug'][0]['modules']} | {cy_cell('debug', 'mb')} |",
        "",
        f"CPU saved by binding=False: {saved('bio', 'binding')}; by `-g0`: {saved('binding', 'debug')}; "
        f"by both: {saved('bio', 'debug')}. "
        f"Spike counts identical in every case and repeat: {'yes' if same_cy else 'NO'}.",
    ]
    from _docs import write_section
    write_section("objcache", "\n".join(lines))
    print("wrote docs/benchmarks.md")
    return 0 if same and same_cy and not differ else 1


if __name__ == "__main__":
    sys.exit(main())
