"""Sweep scaling: a grid of Brian2 (cython) points in-process versus `--workers 2` (two worker processes).

What it shows:
1. Speed-up of `--workers 2` over in-process on the same grid, once compiled
   code is cached (the steady state of a long sweep), as a fraction of the
   machine's own two-process ceiling measured in the same run (target >= 0.9),
   and where the rest goes: the workers' start and the time a point takes on a
   worker process against in-process. Two ceilings: two independent pure-Python
   loops against one (what the cores give work that touches little memory), and
   two independent in-process runs of this very grid, split by seed, against one
   (what the machine gives two processes doing Brian2's work, with no runner
   between them: shared caches and memory bandwidth, imports, figures). The first
   says how far the machine is from two free cores, the second how much of what
   it gives the runner keeps (it runs points on plain worker processes,
   studies/processes.py; a Dask LocalCluster kept 0.74 of it, 2026-12-02).
2. The compile cost is paid once per worker slot: within a run, the first
   point on each worker carries Brian2's Cython compilation and later points
   of the same network do not; in a later run, fresh worker processes load the
   compiled code from their slot's persistent cache instead of compiling again.

Each run is the command a user types (`python -m studies run toy ... [--workers 2]`)
in a fresh process, timed from start to exit: imports, starting the
worker processes and drawing the figures included. Each "cold" run starts from
empty caches; each "warm" run uses new seeds (new points, nothing reused from
the store) with the caches the cold runs left. "sum of point times / wall" is
the parallelism actually obtained. The machine may be shared: the load average
before and after each run is printed, and the warm pair is repeated, so one
can tell contention from scaling.

    python benchmarks/sweep_scaling.py                 # prints the table
    python benchmarks/sweep_scaling.py --no-write
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

RATES = (5.0, 10.0, 20.0, 40.0)


def _cpu() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _points(out: Path, keys: list[str]) -> list[dict]:
    return [json.loads((out / "points" / f"{k}.json").read_text()) for k in keys]


def _spin(seconds_of_work: int) -> None:
    """A CPU-bound pure-Python loop (no I/O, no shared state)."""
    x = 0
    for i in range(seconds_of_work * 8_000_000):
        x += i * i % 7


def ceiling(repeats: int = 3, work: int = 2) -> tuple[float, list[float]]:
    """The machine's own two-process ceiling: throughput of two independent CPU-bound processes
    side by side over one alone (2.0 on two free cores). Returns (median, all ratios)."""
    code = f"import sys; sys.path.insert(0, {str(Path(__file__).parent)!r}); " \
           f"from sweep_scaling import _spin; _spin({work})"
    ratios = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        one = time.perf_counter() - start
        start = time.perf_counter()
        procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(2)]
        for proc in procs:
            proc.wait()
        two = time.perf_counter() - start
        ratios.append(2 * one / two)
    return statistics.median(ratios), ratios


def _command(out: Path, seeds, args, workers: int | None) -> list[str]:
    sets = [f"rate_in_hz={','.join(map(str, RATES))}", f"seeds={','.join(map(str, seeds))}",
            "target=cython", f"n_neurons={args.n_neurons}", f"duration_ms={args.duration_ms}"]
    return [sys.executable, "-m", "studies", "run", "toy", "--out", str(out), "--no-progress",
            "--set", *sets] + (["--workers", str(workers)] if workers else [])


def _env(cache: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(REPO), "OMP_NUM_THREADS": "1", "BRAINBRIDGE_CACHE_DIR": str(cache)}


def _per_worker(out: Path, keys, rename=None) -> tuple[dict[str, list[float]], float]:
    per_worker: dict[str, list[float]] = {}
    busy = 0.0
    for rec in sorted(_points(out, keys), key=lambda r: r["started_unix"]):
        per_worker.setdefault(rename or str(rec["worker"]), []).append(rec["elapsed_s"])
        busy += rec["elapsed_s"]
    return per_worker, busy


def _cache(out: Path) -> Path:
    return out.parent / f"cache_{out.name}"


def split_run(label: str, outs: tuple[Path, Path], seeds, args, cache: Path) -> dict:
    """The same-work ceiling: the grid split by seed over two independent in-process runs
    (`python -m studies run ...` without workers, one half each), started together; wall time
    until both exit. No runner between them: what two processes doing this work get from this machine."""
    half = len(seeds) // 2
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    procs = [subprocess.Popen(_command(out, part, args, None), cwd=REPO, env=_env(cache),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for out, part in zip(outs, (seeds[:half], seeds[half:]))]
    results = [proc.communicate() + (proc.returncode,) for proc in procs]
    wall = time.perf_counter() - start
    for stdout, stderr, code in results:
        if code != 0:
            raise RuntimeError(f"{label} failed:\n{stdout}\n{stderr[-3000:]}")
    per_worker, busy, n = {}, 0.0, 0
    for name, out in zip("ab", outs):
        keys = json.loads((out / "run.json").read_text())["keys"]
        part, b = _per_worker(out, keys, rename=f"process {name}")
        per_worker.update(part)
        busy, n = busy + b, n + len(keys)
    return {"label": label, "wall_s": wall, "n": n, "per_worker": per_worker, "busy_s": busy,
            "load": (load_before, os.getloadavg()[0])}


def one_run(label: str, out: Path, seeds, args, workers: int | None) -> dict:
    """Run the grid once as a user would (`python -m studies run ...` in a fresh process);
    returns wall time, load averages and per-worker point times in the order they ran."""
    # each mode compiles into its own cache, so a "cold" run is cold although the per-user
    # cache (studies/cache.py) outlives results folders
    load_before = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(_command(out, seeds, args, workers), cwd=REPO, env=_env(_cache(out)),
                          capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{label} failed:\n{proc.stdout}\n{proc.stderr[-3000:]}")
    keys = json.loads((out / "run.json").read_text())["keys"]
    per_worker, busy = _per_worker(out, keys)
    return {"label": label, "wall_s": wall, "n": len(keys), "per_worker": per_worker,
            "busy_s": busy, "load": (load_before, os.getloadavg()[0])}


def _fmt_workers(per_worker: dict[str, list[float]]) -> str:
    parts = []
    for w, times in sorted(per_worker.items()):
        later = f"{statistics.median(times[1:]):.1f}" if len(times) > 1 else "-"
        parts.append(f"{w}: {times[0]:.1f} / {later} ({len(times)} pts)")
    return "; ".join(parts)


def _where_it_goes(runs) -> str:
    """One sentence on the warm runs: per-point time in-process against on the workers, and the
    wall time the workers' points leave unexplained (starting the cluster and its workers)."""
    here = [t for mode, kind, r in runs if mode == "in-process" and kind.startswith("warm")
            for ts in r["per_worker"].values() for t in ts]
    there = [t for mode, kind, r in runs if mode == "2 workers" and kind.startswith("warm")
             for ts in r["per_worker"].values() for t in ts]
    if not here or not there:
        return ""
    rest = statistics.median(r["wall_s"] - max(sum(ts) for ts in r["per_worker"].values())
                             for mode, kind, r in runs if mode == "2 workers" and kind.startswith("warm"))
    return (f"Where the rest goes (warm runs): a point takes {statistics.median(here):.2f} s in-process "
            f"and {statistics.median(there):.2f} s on a worker process (median; "
            f"{statistics.median(there) / statistics.median(here):.2f}x), and {rest:.1f} s of each "
            "2-worker run is outside the busier worker's points (starting the worker processes, "
            "collecting, drawing)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4, help=f"seeds per rate ({len(RATES)} rates)")
    parser.add_argument("--duration-ms", type=float, default=5000.0)
    parser.add_argument("--n-neurons", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=2, help="warm in-process/2-worker pairs")
    parser.add_argument("--no-write", action="store_true", help="do not write the results into docs/benchmarks.md")
    parser.add_argument("--root", metavar="DIR", help="stores and caches here (default: a new "
                        "temporary directory); with --skip-cold, reuse an earlier run's caches")
    parser.add_argument("--skip-cold", action="store_true", help="only the warm pairs")
    args = parser.parse_args(argv)

    root = Path(args.root) if args.root else Path(tempfile.mkdtemp(prefix="brainbridge_sweep_"))
    here, pair = root / "in_process", root / "workers2"
    runs = []
    seeds = list(range(args.seeds))
    print(f"grid: {len(RATES)} rates x {args.seeds} seeds = {len(RATES) * args.seeds} points, "
          f"toy study, cython, {args.n_neurons} neurons, {args.duration_ms:.0f} ms each", flush=True)
    if not args.skip_cold:
        runs.append(("in-process", "cold", one_run("in-process cold", here, seeds, args, None)))
        print(runs[-1][2], flush=True)
        runs.append(("2 workers", "cold", one_run("2 workers cold", pair, seeds, args, 2)))
        print(runs[-1][2], flush=True)
    offset = int(time.time()) % 100000 * 100  # new points in every invocation, same compiled code
    for r in range(1, args.repeats + 1):
        new = [s + offset + 10 * r for s in seeds]
        runs.append(("in-process", f"warm {r}", one_run(f"in-process warm {r}", here, new, args, None)))
        print(runs[-1][2], flush=True)
        runs.append(("2 workers", f"warm {r}", one_run(f"2 workers warm {r}", pair, new, args, 2)))
        print(runs[-1][2], flush=True)
        runs.append(("2 processes, split by hand", f"warm {r}",
                     split_run(f"split warm {r}", (root / "split_a", root / "split_b"), new, args, _cache(pair))))
        print(runs[-1][2], flush=True)

    lines = ["| mode | run | points | wall (s) | speed-up | sum of point times / wall "
             "| per worker: first / median later point (s) | load avg before → after |",
             "|---|---|---|---|---|---|---|---|"]
    speedups, by_hand, alone = {}, {}, {}
    for mode, kind, res in runs:
        speed = ""
        if mode == "in-process":
            alone[kind] = res["wall_s"]
        elif mode == "2 workers":
            speedups[kind] = alone[kind] / res["wall_s"]
            speed = f"{speedups[kind]:.2f}×"
        else:
            by_hand[kind] = alone[kind] / res["wall_s"]
            speed = f"{by_hand[kind]:.2f}×"
        lines.append(f"| {mode} | {kind} | {res['n']} | {res['wall_s']:.1f} | {speed} | "
                     f"{res['busy_s'] / res['wall_s']:.2f} | "
                     f"{_fmt_workers(res['per_worker'])} | {res['load'][0]:.1f} → {res['load'][1]:.1f} |")
    warm = [v for k, v in speedups.items() if k.startswith("warm")]
    limit, limits = ceiling()
    fraction = statistics.median(warm) / limit
    same = statistics.median(by_hand.values())
    verdict = (f"warm speed-up: median {statistics.median(warm):.2f}× "
               f"(runs: {', '.join(f'{v:.2f}×' for v in warm)}). Ceilings measured in the same run: "
               f"two independent CPU-bound processes (a pure-Python loop) against one: {limit:.2f}× "
               f"({', '.join(f'{v:.2f}×' for v in limits)}), of which the runner reaches {fraction:.2f} "
               f"(target >= 0.9: {'met' if fraction >= 0.9 else 'not met'}); two independent "
               f"processes doing this very work (the grid split by seed over two in-process runs, no "
               f"runner between them) against one: {same:.2f}× ({', '.join(f'{v:.2f}×' for v in by_hand.values())}), "
               f"of which the runner reaches {statistics.median(warm) / same:.2f} "
               f"(target >= 0.9: {'met' if statistics.median(warm) / same >= 0.9 else 'not met'})")
    if "cold" in speedups:
        verdict += f"; cold: {speedups['cold']:.2f}×"
    verdict += ". " + _where_it_goes(runs)
    table = "\n".join(lines)
    print("\n" + table + "\n\n" + verdict)

    if not args.no_write:
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        machine = (f"{platform.node()}: {_cpu()}, {os.cpu_count()} logical cores, "
                   f"Python {platform.python_version()}, {platform.system()} {platform.release()}")
        from _docs import write_section
        write_section("sweep_scaling",
            f"## Sweep scaling: in-process versus `--workers 2`\n\n"
            f"- date: {now}\n- machine: {machine}\n"
            f"- grid: toy study, {len(RATES)} input rates × {args.seeds} seeds, Brian2 cython target, "
            f"{args.n_neurons} LIF neurons × 1000 Poisson inputs, {args.duration_ms:.0f} ms per point\n\n"
            f"{table}\n\n**{verdict}**\n")
        print("written to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
