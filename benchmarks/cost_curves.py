"""Cost curves: wall time and peak memory against size, with fitted scaling exponents (issue 15 item 4).

Three curves, every point measured in a fresh child process (this script run with --child), so
that its peak memory is its own:

1. Brunel (2000) networks (bio.brunel2000, state C: g = 5, eta = 2, fixed in-degree C_E = 1000,
   C_I = 250, so 1250 recurrent synapses per neuron) against size, target cpp_standalone: the
   simulation's own time (the standalone binary's timer), the whole wall time (spec, code
   generation, compilation when the code is new, simulation, read-back) and recurrent synaptic
   events per second (spikes x out-degree of the spiking neuron, per second of simulation).
2. The converted MLP 64-128-10 (bridge.convert, percentile normalisation, constant current,
   32 ms, cython) against the number of samples run as copies in one Brian2 run (the digits test
   set, tiled beyond its 450 samples).
3. The Diehl & Cook (2015) STDP learner (bio.diehl_cook + bio.stdp.train, cython) against the
   number of excitatory neurons: time per training sample.

Peak memory: the child's maximum resident set size as os.wait4 reports it, which covers the child
and every process it waited for (the C++ compiler, the standalone binary). Linux starts a child's
count at its parent's peak, so this script keeps its own footprint small (numpy and matplotlib are
imported only after the last child) and reports it as the floor of every figure. Beside the peak,
the child's resident size after its imports (Python, torch, Brian2) and the peak above it.
Scaling exponent: the least-squares slope of log(cost) against log(size).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cost_curves.py      (~4-5 min with warm compile
                                                                      caches; ~10 min on a first run, which compiles
                                                                      one standalone project per Brunel size)

Prints a table, plots docs/cost_curves.png and writes its section of docs/benchmarks.md.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PNG = ROOT / "docs" / "cost_curves.png"

# default sizes (what `make bench` measures; the section states them)
BRUNEL_N_E = (1000, 3000, 10000, 30000, 80000)  # 80000: 10^5 neurons, 125 M synapses
BRUNEL_DURATION_S = 1.0
BRUNEL_STATE = "C"
CONVERTED_SAMPLES = (50, 150, 450, 900, 1800, 3600, 7200)
STDP_NEURONS = (25, 50, 100, 200, 400, 800, 1600)
STDP_SAMPLES = 32          # training samples per timed run (after an untimed identical run)
T_MS, DT_MS = 32.0, 1.0    # converted network: simulated time and step


def rss_now_kb(field: str = "VmRSS") -> int:
    """This process's resident set size now ("VmRSS") or its peak so far ("VmHWM"), in kB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


# ---------------------------------------------------------------- children: one measurement each

def child_brunel(n_e: int, duration_s: float) -> dict:
    import fcntl

    from brian2 import ms, second

    import bio
    from bio import brunel2000, simulate
    import numpy as np

    base_kb = rss_now_kb()
    # one standalone project per size under the per-user cache: a rerun of this benchmark reuses
    # the compiled code instead of recompiling it (the code holds the population sizes)
    build = os.path.join(simulate.cache_root(), "cost_curves", f"brunel-{BRUNEL_STATE}-{n_e}")
    os.makedirs(build, exist_ok=True)
    lock = open(build + ".lock", "w")
    fcntl.flock(lock, fcntl.LOCK_EX)  # two runs of this benchmark never build in one directory
    binary = os.path.join(build, "main")
    before = os.path.getmtime(binary) if os.path.exists(binary) else None
    t0 = time.perf_counter()
    spec = brunel2000.brunel_spec(*brunel2000.STATES[BRUNEL_STATE], N_E=n_e, seed=0)
    t1 = time.perf_counter()
    spec_peak_kb = rss_now_kb("VmHWM")  # the peak so far: while drawing the connectivity
    rec = bio.run(spec, duration_s * second, target="cpp_standalone", seed=0, dt=0.1 * ms, build_dir=build)
    t2 = time.perf_counter()
    with open(os.path.join(build, "results", "last_run_info.txt")) as f:
        sim_s = float(f.read().split()[0])  # the binary's own timer around the network run
    out_degree = {p: np.zeros(pop.n, np.int64) for p, pop in spec.populations.items()}
    for c in spec.connections.values():
        out_degree[c.pre] += np.bincount(c.i, minlength=spec.populations[c.pre].n)
    spikes = sum(len(rec.indices[p]) for p in spec.populations)
    events = int(sum(out_degree[p][rec.indices[p]].sum() for p in spec.populations))
    n = sum(pop.n for pop in spec.populations.values())
    n_syn = sum(c.n_syn for c in spec.connections.values())
    return dict(size=n, n_e=n_e, synapses=int(n_syn), duration_s=duration_s, spec_s=t1 - t0, run_s=t2 - t1,
                sim_s=sim_s, wall_s=t2 - t0, spikes=int(spikes), events=events,
                rate_hz=spikes / n / duration_s, base_kb=base_kb, spec_peak_kb=spec_peak_kb, compiled=os.path.getmtime(binary) != before)


def child_train(path: str) -> dict:
    import torch

    from ann import data, models, train

    ds = data.digits(seed=0)
    torch.manual_seed(0)
    net = models.MLP(64, [128], 10)
    train.fit(net, ds.train, epochs=30, device="cpu", progress=False, seed=0)
    torch.save(net.state_dict(), path)
    return dict(accuracy=train.evaluate(net, ds.test))


def child_converted(n_samples: int, path: str) -> dict:
    import numpy as np
    import torch

    from ann import data, models
    from bridge import convert

    ds = data.digits(seed=0)
    net = models.MLP(64, [128], 10)
    net.load_state_dict(torch.load(path))
    snn = convert.to_snn(net, calibration=ds.train.x, neuron="if", normalisation="percentile")
    tiled = ds.test.subset(np.arange(n_samples) % len(ds.test))  # the test set, repeated beyond 450
    base_kb = rss_now_kb()
    snn.evaluate(ds.test.subset(np.arange(50)), duration_ms=T_MS, dt_ms=DT_MS, target="cython")  # untimed: warm
    t0 = time.perf_counter()
    res = snn.evaluate(tiled, duration_ms=T_MS, dt_ms=DT_MS, target="cython")
    wall = time.perf_counter() - t0
    rec = res.record
    # synaptic events: every spike of a population times its out-degree (input currents are not events)
    events = 0
    for cname, c in snn.net.connections.items():
        if c.pre in rec.indices:
            deg = np.bincount(c.i, minlength=snn.net.populations[c.pre].n)
            events += int(deg[rec.indices[c.pre] % snn.net.populations[c.pre].n].sum())
    n = n_samples * sum(snn.net.populations[p].n for p in snn.populations)
    return dict(size=n_samples, neurons=int(n), wall_s=wall, sim_s=res.wall_s, events=events,
                accuracy=res.accuracy, base_kb=base_kb)


def child_stdp(n_exc: int) -> dict:
    from ann import data
    from bio import diehl_cook, stdp

    ds = data.digits(seed=0)
    x = ds.train.x[:STDP_SAMPLES]
    spec = diehl_cook.diehl_cook_spec(n_exc=n_exc, seed=0)
    base_kb = rss_now_kb()
    stdp.train(spec, x, seed=0, target="cython", progress=False)  # untimed: the same code, warm
    t0 = time.perf_counter()
    stdp.train(spec, x, seed=0, target="cython", progress=False)
    wall = time.perf_counter() - t0
    n_syn = sum(c.n_syn for c in spec.connections.values())
    return dict(size=n_exc, synapses=int(n_syn), wall_s=wall, per_sample_s=wall / len(x), samples=len(x),
                base_kb=base_kb)


def child_main(args) -> int:
    kind, rest = args.child[0], args.child[1:]
    if kind == "brunel":
        out = child_brunel(int(rest[0]), float(rest[1]))
    elif kind == "train":
        out = child_train(rest[0])
    elif kind == "converted":
        out = child_converted(int(rest[0]), rest[1])
    elif kind == "stdp":
        out = child_stdp(int(rest[0]))
    else:
        raise ValueError(f"unknown child kind {kind!r}; one of: brunel, train, converted, stdp")
    out["self_peak_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print("RESULT " + json.dumps(out), flush=True)
    return 0


# ---------------------------------------------------------------- parent: run, fit, plot, write

def measure(*child_args: str, log=None) -> dict:
    """Run this script with --child ARGS in a fresh process; its result plus peak memory (kB).

    peak_kb: ru_maxrss from os.wait4, the largest resident set of the child and of every
    process it waited for (compiler, standalone binary). Raises RuntimeError if it fails.
    """
    with tempfile.TemporaryFile("w+") as out:
        proc = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", *child_args],
                                stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        text = out.read()
    lines = [ln for ln in text.splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"child {' '.join(child_args)} failed (exit {proc.returncode}):\n{text[-3000:]}")
    result = json.loads(lines[-1][len("RESULT "):])
    result["peak_kb"] = int(usage.ru_maxrss)
    return result


def slope(sizes, costs) -> float:
    """Least-squares slope of log(cost) against log(size): the scaling exponent."""
    import numpy as np
    x, y = np.log(np.asarray(sizes, float)), np.log(np.asarray(costs, float))
    return float(np.polyfit(x, y, 1)[0])


def plot(brunel, converted, learner, path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter, ScalarFormatter

    def sizes_on_x(ax, x):
        ax.set_xticks(x)
        ax.xaxis.set_major_formatter(ScalarFormatter())
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.tick_params(axis="x", labelrotation=45, labelsize=8)

    fig, axes = plt.subplots(2, 3, figsize=(12, 7))
    panels = [
        (brunel, "Brunel (2000) state C, cpp_standalone", "total neurons",
         [("sim_s", "simulation (binary's timer)"), ("wall_s", "whole run")]),
        (converted, "converted MLP 64-128-10, cython, 32 ms", "samples (copies in one run)",
         [("wall_s", "evaluate()")]),
        (learner, "STDP learner (Diehl & Cook), cython", "excitatory neurons",
         [("per_sample_s", "per training sample")]),
    ]
    for col, (rows, title, xlabel, series) in enumerate(panels):
        x = np.array([r["size"] for r in rows], float)
        ax = axes[0, col]
        for key, label in series:
            y = np.array([r[key] for r in rows])
            k = slope(x, y)
            ax.loglog(x, y, "o-", label=f"{label}: slope {k:.2f}")
        ax.set_title(title, fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("wall time (s)")
        ax.legend(fontsize=8)
        sizes_on_x(ax, x)
        ax = axes[1, col]
        ax.loglog(x, [r["peak_kb"] / 1024 for r in rows], "o-", label="peak RSS (with children)")
        ax.loglog(x, [r["self_peak_kb"] / 1024 for r in rows], "s:", label="peak RSS, Python process")
        ax.loglog(x, [r["base_kb"] / 1024 for r in rows], "--", color="grey", label="after imports")
        sizes_on_x(ax, x)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("memory (MiB)")
        ax.legend(fontsize=8)
    fig.suptitle("brainbridge cost curves (benchmarks/cost_curves.py)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    parser.add_argument("--no-write", action="store_true", help="print only; no docs, no figure")
    args = parser.parse_args(argv)
    if args.child:
        return child_main(args)
    start = time.perf_counter()
    brunel, converted, learner = [], [], []
    for n_e in BRUNEL_N_E:
        r = measure("brunel", str(n_e), str(BRUNEL_DURATION_S))
        brunel.append(r)
        print(f"Brunel N_E={n_e:6d} N={r['size']:6d} synapses {r['synapses'] / 1e6:6.1f} M: spec {r['spec_s']:.1f} s, "
              f"run {r['run_s']:.1f} s (simulation {r['sim_s']:.1f} s), {r['rate_hz']:.1f} Hz, "
              f"{r['events'] / r['sim_s'] / 1e6:.0f} M events/s, peak {r['peak_kb'] / 1024:.0f} MiB  "
              f"[{time.perf_counter() - start:.0f} s]", flush=True)
    with tempfile.TemporaryDirectory() as tmp:
        weights = os.path.join(tmp, "mlp.pt")
        trained = measure("train", weights)
        # one untimed child first: a cold Cython cache is filled there, so no measured child's
        # peak memory includes the compiler (a fresh clone's first point did: 491 MiB, not 250)
        measure("converted", str(CONVERTED_SAMPLES[0]), weights)
        for n in CONVERTED_SAMPLES:
            r = measure("converted", str(n), weights)
            converted.append(r)
            print(f"converted MLP, {n:5d} samples: {r['wall_s']:.2f} s (accuracy {r['accuracy']:.4f}), "
                  f"peak {r['peak_kb'] / 1024:.0f} MiB  [{time.perf_counter() - start:.0f} s]", flush=True)
    measure("stdp", str(STDP_NEURONS[0]))  # untimed: fills a cold Cython cache (above)
    for n in STDP_NEURONS:
        r = measure("stdp", str(n))
        learner.append(r)
        print(f"STDP learner, {n:4d} exc neurons: {r['per_sample_s'] * 1e3:.0f} ms per training sample, "
              f"peak {r['peak_kb'] / 1024:.0f} MiB  [{time.perf_counter() - start:.0f} s]", flush=True)
    floor_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # before numpy/matplotlib: children's floor
    total = time.perf_counter() - start
    md = report(brunel, converted, learner, trained, floor_kb, total)
    print(md)
    if args.no_write:
        return 0
    plot(brunel, converted, learner, PNG)
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _docs import write_section
    print(f"wrote {write_section('cost_curves', md)} and {PNG}")
    return 0


def report(brunel, converted, learner, trained, floor_kb, total_s) -> str:
    mib = lambda kb: kb / 1024  # noqa: E731
    b_n = [r["size"] for r in brunel]
    lines = [
        "# Cost curves: wall time and peak memory against size",
        "",
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/cost_curves.py` (total {total_s:.0f} s). Sizes: "
        f"Brunel N_E = {', '.join(map(str, BRUNEL_N_E))} ({BRUNEL_DURATION_S:g} s simulated each, dt 0.1 ms); "
        f"converted MLP on {', '.join(map(str, CONVERTED_SAMPLES))} samples; STDP learner with "
        f"{', '.join(map(str, STDP_NEURONS))} excitatory neurons, {STDP_SAMPLES} training samples each. "
        "Every point runs in its own child process; before the converted and the STDP series one untimed child fills a cold Cython cache, so no measured peak includes the compiler. Peak memory: the child's maximum resident set size "
        "(os.wait4), covering the child and the processes it waited for (C++ compiler, standalone binary); "
        f"this script's own footprint, the floor of every figure, was {mib(floor_kb):.0f} MiB. "
        "Exponent: least-squares slope of log(cost) against log(size). Plot: "
        "[cost_curves.png](cost_curves.png).",
        "",
        "![cost curves](cost_curves.png)",
        "",
        f"## Brunel (2000) state {BRUNEL_STATE}, cpp_standalone, {BRUNEL_DURATION_S:g} s simulated",
        "",
        "`bio.brunel2000.brunel_spec(g=5, eta=2, N_E=...)` (C_E = 1000, C_I = 250 at every size; N = 1.25 N_E) run "
        "with `bio.run(..., target=\"cpp_standalone\")` in a build directory per size under the per-user cache. "
        "Simulation: the standalone binary's own timer around the network run. Whole run: spec + code generation "
        "+ compilation (only when the code is new: a first run compiles each size once) + simulation + read-back. "
        "Events: recurrent synaptic events, every spike times the out-degree of the neuron that fired it; the "
        "external Poisson drive (1000 inputs per neuron, drawn as binomial counts by Brian2's PoissonInput) is "
        "not counted. Peak RSS: the child and its children (compiler, standalone binary); where the Python "
        "process's own peak is lower, a child process (the binary, holding the network) set the peak.",
        "",
        "| N_E | neurons | synapses (M) | rate (Hz) | spec (s) | simulation (s) | whole run (s) | events (M) "
        "| events / s of simulation (M) | events / s of whole run (M) | peak RSS (MiB) | of it, Python process (MiB) "
        "| peak by the end of the spec (MiB) | after imports (MiB) | compiled in this run |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in brunel:
        lines.append(f"| {r['n_e']} | {r['size']} | {r['synapses'] / 1e6:.2f} | {r['rate_hz']:.1f} | {r['spec_s']:.1f} "
                     f"| {r['sim_s']:.2f} | {r['wall_s']:.1f} | {r['events'] / 1e6:.0f} "
                     f"| {r['events'] / r['sim_s'] / 1e6:.0f} | {r['events'] / r['wall_s'] / 1e6:.0f} "
                     f"| {mib(r['peak_kb']):.0f} | {mib(r['self_peak_kb']):.0f} | {mib(r['spec_peak_kb']):.0f} "
                     f"| {mib(r['base_kb']):.0f} "
                     f"| {'yes' if r['compiled'] else 'no'} |")
    above = [max(r["peak_kb"] - r["base_kb"], 1) for r in brunel]
    last = slope(b_n[-2:], [r["peak_kb"] for r in brunel[-2:]]) if len(brunel) >= 2 else float("nan")
    lines += ["", f"Fitted exponents against neurons ({b_n[0]}-{b_n[-1]}): simulation time "
              f"{slope(b_n, [r['sim_s'] for r in brunel]):.2f}, whole run "
              f"{slope(b_n, [r['wall_s'] for r in brunel]):.2f}, spec building "
              f"{slope(b_n, [r['spec_s'] for r in brunel]):.2f}, peak memory above the imports "
              f"{slope(b_n, above):.2f} (synapses grow as neurons^1 at fixed in-degree). Largest network: "
              f"{b_n[-1]} neurons ({brunel[-1]['synapses'] / 1e6:.0f} M synapses); the issue's 10^5 neurons "
              f"({'reached' if b_n[-1] >= 100_000 else 'not reached by the default run'}"
              + ("" if b_n[-1] >= 100_000 or len(brunel) < 2 else
                 f": between the two largest sizes the peak grew with exponent {last:.2f}, which projects "
                 f"{brunel[-1]['peak_kb'] / 2**20 * (1e5 / b_n[-1]) ** last:.0f} GiB at 10^5 neurons")
              + ")."]
    python_peak = all(r["self_peak_kb"] >= r["peak_kb"] for r in brunel)
    spec_peak = [r["n_e"] for r in brunel if r["spec_peak_kb"] >= 0.9 * r["peak_kb"]]
    lines += ["", "Where the memory goes: " + (
        "at every size the Python process set the peak, not the simulation binary or the compiler" if python_peak
        else "at some sizes a child process (compiler or simulation binary) set the peak (see the Python column)")
        + (f"; at N_E = {', '.join(map(str, spec_peak))} at least 90% of it was reached by the end of "
           "`brunel_spec`, i.e. while drawing the connectivity." if spec_peak else ".")]
    c_n = [r["size"] for r in converted]
    lines += ["", "## Converted MLP 64-128-10 against the number of samples (cython, 32 ms, dt 1 ms)", "",
              "`bridge.convert.to_snn(net, neuron=\"if\", normalisation=\"percentile\")` of the MLP trained 30 epochs "
              f"(seed 0, ANN test accuracy {trained['accuracy']:.4f}); `evaluate` of the digits test set tiled to n "
              "samples, all as copies in one Brian2 run (after an untimed 50-sample run). Events: hidden and output "
              "spikes times their out-degree (the input layer is a constant current, not events).",
              "",
              "| samples | neurons | evaluate (s) | of which simulation (s) | per sample (ms) | accuracy | events (M) "
              "| events / s (M) | peak RSS (MiB) | after imports (MiB) |",
              "|---|---|---|---|---|---|---|---|---|---|"]
    for r in converted:
        lines.append(f"| {r['size']} | {r['neurons']} | {r['wall_s']:.2f} | {r['sim_s']:.2f} "
                     f"| {r['wall_s'] / r['size'] * 1e3:.2f} | {r['accuracy']:.4f} | {r['events'] / 1e6:.2f} "
                     f"| {r['events'] / r['wall_s'] / 1e6:.1f} | {mib(r['peak_kb']):.0f} | {mib(r['base_kb']):.0f} |")
    above = [max(r["peak_kb"] - r["base_kb"], 1) for r in converted]
    lines += ["", f"Fitted exponents against samples ({c_n[0]}-{c_n[-1]}): evaluate time "
              f"{slope(c_n, [r['wall_s'] for r in converted]):.2f} (over {c_n[2]}-{c_n[-1]}: "
              f"{slope(c_n[2:], [r['wall_s'] for r in converted[2:]]):.2f}), peak memory above the imports "
              f"{slope(c_n, above):.2f}."]
    s_n = [r["size"] for r in learner]
    lines += ["", "## STDP learner (Diehl & Cook 2015) against excitatory neurons (cython)", "",
              f"`bio.stdp.train(bio.diehl_cook.diehl_cook_spec(n_exc=n), x)` on the first {STDP_SAMPLES} training "
              "digits (200 ms per sample: 150 ms shown + 50 ms rest, dt 0.5 ms), timed after an untimed identical "
              "run. Synapses: 64 n input (plastic) + n excitatory-to-inhibitory + n(n-1) lateral inhibition.",
              "",
              "| exc neurons | synapses | training run (s) | per training sample (ms) | peak RSS (MiB) "
              "| after imports (MiB) |",
              "|---|---|---|---|---|---|"]
    for r in learner:
        lines.append(f"| {r['size']} | {r['synapses']} | {r['wall_s']:.2f} | {r['per_sample_s'] * 1e3:.0f} "
                     f"| {mib(r['peak_kb']):.0f} | {mib(r['base_kb']):.0f} |")
    above = [max(r["peak_kb"] - r["base_kb"], 1) for r in learner]
    top = [r for r in learner if r["size"] >= 200]
    lines += ["", f"Fitted exponents against excitatory neurons ({s_n[0]}-{s_n[-1]}): time per training sample "
              f"{slope(s_n, [r['per_sample_s'] for r in learner]):.2f}"
              + (f" (over {top[0]['size']}-{top[-1]['size']}: "
                 f"{slope([r['size'] for r in top], [r['per_sample_s'] for r in top]):.2f})" if len(top) >= 2 else "")
              + f", peak memory above the imports {slope(s_n, above):.2f}. Up to a few hundred neurons the time per "
              "sample is the per-step cost of Brian2's code objects (400 steps per sample), nearly independent of "
              "size; beyond, the synaptic work (64 n plastic synapses updated at every input spike and at every "
              "excitatory spike, n(n-1) lateral-inhibition synapses) takes over."]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
