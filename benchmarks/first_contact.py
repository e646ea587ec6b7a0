"""First contact: what `make study` costs a new user, and what it shows on the way (issue 15, point 1).

`make study` runs `brainbridge run quickstart` once `make setup` is done. This runs that
command three times, each in a fresh process timed from start to exit, with the
environment of a plain shell (no OMP_NUM_THREADS, as for a user; the points run torch on one
thread all the same, studies.worker.one_torch_thread):

1. fresh machine: an empty per-user cache (BRAINBRIDGE_CACHE_DIR in a new temporary
   directory: no compiled Brian2 code) and a new results folder, i.e. a new user's first
   `make study` right after `make setup`;
2. again, new folder: the cache run 1 left and a new results folder: every point is
   computed again, nothing is compiled;
3. again, same folder: `make study` typed a second time: the stored point is reused and
   the figures are drawn again.

Targets: run 1 <= 180 s; runs 2 and 3 <= 60 s. Each run's stderr is read for the
`[phase]` lines the study prints: the table gives every phase's time in runs 1 and 2,
and says where Brian2 compiled (the bars' notes "compiled N Brian2 code modules" for cython,
"compiled N C++ files of its standalone program" for cpp_standalone).

    python benchmarks/first_contact.py              # ~4-5 min on 2 cores
    python benchmarks/first_contact.py --no-write
"""
from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PHASE_DONE = re.compile(r"^\[phase\] (.*) done in ([\d.]+) s$")
COMPILED = re.compile(r"^(.*): built the network and compiled (\d+) "
                      r"(Brian2 code modules|C\+\+ files of its standalone program)"
                      r"(?:, took \d+ from the object cache)? in (\d+) s")
ESCAPE = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")  # tqdm's cursor moves around the lines it writes
TARGETS_S = {"fresh machine": 180.0, "again, new folder": 60.0, "again, same folder": 60.0}


def run_once(label: str, out: Path, cache: Path) -> dict:
    """One `brainbridge run quickstart --out OUT` in a fresh process; wall time and what it printed."""
    env = {k: v for k, v in os.environ.items() if k not in ("OMP_NUM_THREADS", "BRAINBRIDGE_QUIET")}
    env["BRAINBRIDGE_CACHE_DIR"] = str(cache)
    cmd = [str(Path(sys.executable).parent / "brainbridge"), "run", "quickstart", "--out", str(out)]
    load = os.getloadavg()[0]
    start = time.perf_counter()
    proc = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"{label}: {' '.join(cmd)} failed\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}")
    lines = [ESCAPE.sub("", part).strip() for line in proc.stderr.splitlines() for part in line.split("\r")]
    phases = [(m.group(1), float(m.group(2))) for m in map(PHASE_DONE.match, lines) if m]
    compiled = [(m.group(1), int(m.group(2)), "Cython modules" if m.group(3).startswith("Brian2") else "C++ files",
                 float(m.group(4))) for m in map(COMPILED.match, lines) if m]
    warnings = sum("warning" in line.lower() for line in lines)
    print(f"{label}: {wall:.1f} s, {len(phases)} phases, compile notes {compiled}, warning lines {warnings}",
          flush=True)
    return {"label": label, "wall_s": wall, "phases": phases, "compiled": compiled, "warnings": warnings,
            "load": (load, os.getloadavg()[0])}


def _short(name: str) -> str:
    return name.split(" (")[0].split(";")[0]


def report(runs: list[dict]) -> str:
    lines = ["| run | wall (s) | target | holds | phases (s) | warnings on stderr | load avg before → after |",
             "|---|---|---|---|---|---|---|"]
    for r in runs:
        limit = TARGETS_S[r["label"]]
        phases = "; ".join(f"{_short(n)} {s:.1f}" for n, s in r["phases"]) or "(none: the point was reused)"
        lines.append(f"| {r['label']} | {r['wall_s']:.1f} | <= {limit:.0f} s | "
                     f"{'yes' if r['wall_s'] <= limit else 'no'} | {phases} | {r['warnings']} | "
                     f"{r['load'][0]:.1f} → {r['load'][1]:.1f} |")
    first = runs[0]
    notes = "; ".join(f"{label}: {n} {kind}, ready {s:.0f} s after its build began"
                      for label, n, kind, s in first["compiled"])
    again = dict(runs[1]["phases"])
    extra = "; ".join(f"{_short(n)} {s - again[n]:+.0f} s" for n, s in first["phases"] if n in again)
    names = [n for n, _ in first["phases"]]
    named = {word: any(stem.lower() in n.lower() for n in names)
             for word, stem in (("training", "training"), ("compiling", "compil"), ("simulating", "simulating"),
                                ("STDP", "STDP"), ("lesions", "lesions"))}
    held = all(r["wall_s"] <= TARGETS_S[r["label"]] for r in runs) and all(named.values())
    text = "\n".join(lines)
    text += ("\n\nThe command is the one `make study` runs, `brainbridge run quickstart` (with `--out` in a "
             "temporary folder), in a fresh process with a plain shell's environment; 'fresh machine' starts "
             "from an empty per-user cache (`BRAINBRIDGE_CACHE_DIR`), as right after `make setup` on a new "
             "machine. Phases are the `[phase]` lines the study prints on stderr, in order. ")
    text += (f"Compile notes of run 1 (the progress bars'): {notes}. " if notes else
             "Run 1 printed no compile note. ")
    text += (f"What the empty cache cost each phase (run 1 minus run 2: compiling, less the noise of this "
             f"machine): {extra}. " if extra else "")
    text += ("Phase names the issue asks for: "
             + ", ".join(f"{w} {'yes' if ok else 'no'}" for w, ok in named.items())
             + " (compiling is named in the STDP phase's title and by the bar's note).")
    text += f"\n\n**All targets hold: {'yes' if held else 'no'}.**"
    return text


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-write", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = parser.parse_args(argv)
    root = Path(tempfile.mkdtemp(prefix="brainbridge_first_contact_"))
    cache = root / "cache"
    runs = [run_once("fresh machine", root / "out1", cache),
            run_once("again, new folder", root / "out2", cache),
            run_once("again, same folder", root / "out2", cache)]
    body = report(runs)
    print("\n" + body)
    if not args.no_write:
        sys.path.insert(0, str(Path(__file__).parent))
        from _docs import write_section

        write_section("first_contact", "## First contact: `make study` on a fresh machine and again\n\n" + body)
        print("written to docs/benchmarks.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
