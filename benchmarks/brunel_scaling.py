"""Brunel (2000) at every size: rate, CV and synchrony of states A-D against N_E.

Question (issue 9, item 8): does a Brunel network smaller than the paper's
N_E = 10000 stay in the paper-scale state? Two ways to shrink it:

- fixed in-degree (bio.brunel2000's default): keep C_E = 1000 and J = 0.1 mV, so the
  mean input and its variance (Brunel 2000, eqs. 4-5) are the paper's, and raise the
  connection probability epsilon = C_E / N_E;
- the old scaling (the contrast): epsilon = 0.1, C_E = N_E / 10 and J = 0.1 mV * 1000 / C_E,
  which keeps J C_E (the mean) but grows J^2 C_E (the variance) as 1 / C_E.

At N_E = 10000 both are the paper's network, measured once ("paper" rows): its rate,
CV and chi are the references every smaller network is compared with. Beside them,
bio.theory's mean-field rate (Brunel 2000, eq. 21) and CV (appendix) for that C_E and J.

Each point: `bio.brunel(g, eta, N_E=..., C_E=..., J=...)` (connectivity, initial
potentials and Poisson drive seeded with --seed), `--duration` simulated, the first
`--transient` discarded. Measured on the excitatory population: mean rate; mean ISI CV
(neurons with >= 2 ISIs); Golomb's synchrony chi (bio.analysis.synchrony, 2 ms bins,
1000 neurons drawn at random, so chi compares across sizes); the peak of the
population-rate spectrum (bio.analysis.peak_frequency, 1 ms bins, 0.5 s Welch segments).

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/brunel_scaling.py          (~15-25 min, cython)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/brunel_scaling.py --sizes 1000 2000 --states C --no-write
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime
import json
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a clone

import brian2 as b2
import numpy as np
from brian2 import mV, second

from bio import analysis, brunel2000, theory

PAPER_N_E = 10000
SCALINGS = ("fixed", "old")
# what the figures mean (docs/benchmarks.md); the numbers above it are recomputed on every run
FOOTER = """
Reading (of the seed-0, 1.5 s run above). With the in-degree fixed, every state keeps the
paper-scale rate (within 10%) from N_E = 2000 up, and states A, C and D its CV (within 0.06);
state B's neurons are more irregular at N_E = 2000 (CV 1.16 against 0.91). What a denser network
still changes is synchrony: neurons share a fraction epsilon of their inputs, so chi rises as N_E
falls (state C: 0.13 at 10000, 0.18 at 5000, 0.30 at 2000, 0.48 at N_E = C_E = 1000, where the
network is all-to-all and also fires more irregularly). The mean-field theory ignores shared
input: the rate it predicts is met within 15% (the closed network's inputs are not Poisson) and
its CV is an upper guide (bio/theory.py). The old scaling keeps the mean input but not its
variance: at N_E = 2000 state C fires 17% faster with a CV of 1.2, and state D (slow oscillation,
a few Hz) 3.4 times faster: the reduced network sits elsewhere in the phase diagram.
"""


def network(scaling: str, N_E: int) -> tuple[int, object]:
    """(C_E, J) of a network of N_E excitatory neurons under `scaling`."""
    if scaling == "fixed" or N_E == PAPER_N_E:
        return min(brunel2000.PAPER_C_E, N_E), brunel2000.PAPER_J
    C_E = N_E // 10
    return C_E, brunel2000.PAPER_J * brunel2000.PAPER_C_E / C_E


def measure(state: str, N_E: int, C_E: int, J, args) -> dict:
    """Simulate one point and return its statistics (plain floats)."""
    g, eta = brunel2000.STATES[state]
    start = time.perf_counter()
    rec = brunel2000.brunel(g, eta, duration=args.duration * second, N_E=N_E, C_E=C_E, J=J,
                            target=args.target, seed=args.seed)
    wall = time.perf_counter() - start
    w = dict(t_start_s=args.transient)
    out = dict(state=state, N_E=N_E, C_E=C_E, J_mV=float(J / mV), epsilon=C_E / N_E,
               rate_hz=analysis.mean_rate(rec, "exc", **w), cv=analysis.cv_isi(rec, "exc", **w),
               chi=analysis.synchrony(rec, "exc", bin_s=2e-3, **w),
               peak_hz=analysis.peak_frequency(rec, "exc", bin_s=1e-3, **w), wall_s=wall)
    try:
        out["theory_hz"] = float(theory.brunel_rate(g, eta, J=J, C_E=C_E) / b2.Hz)
        out["theory_cv"] = theory.brunel_cv(g, eta, J=J, C_E=C_E)
    except ValueError:  # no stationary solution (excitation-dominated, saturating)
        out["theory_hz"], out["theory_cv"] = float("nan"), float("nan")
    return out


def table(rows: list[dict], args) -> str:
    paper = {r["state"]: r for r in rows if r["N_E"] == PAPER_N_E}
    lines = [
        "## Brunel (2000) at every size: states A-D against N_E",
        "",
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/brunel_scaling.py --duration "
        f"{args.duration} --seed {args.seed}` (target {args.target}; {args.duration} s simulated, the "
        f"first {args.transient} s discarded; one seed). Excitatory population. *fixed*: C_E = 1000, "
        "J = 0.1 mV, connection probability epsilon = C_E / N_E (bio.brunel2000's default); *old*: "
        "epsilon = 0.1, C_E = N_E / 10, J = 0.1 mV * 1000 / C_E; *paper*: N_E = 10000, where both "
        "are Brunel's network and the reference of the ratios. Theory: bio.theory's mean-field "
        "rate (Brunel 2000, eq. 21) and CV (its appendix) for that C_E and J; '-' where no stationary "
        "solution exists. chi: Golomb's synchrony over 1000 sampled neurons, 2 ms bins. Peak: "
        "largest peak of the population-rate spectrum above 2 Hz.",
        "",
        "| state (g, eta) | N_E | scaling | C_E | J (mV) | epsilon | rate (Hz) | rate / paper | "
        "theory rate (Hz) | CV | CV paper | theory CV | chi | chi paper | peak (Hz) | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def num(x, fmt):
        return "-" if x is None or not np.isfinite(x) else format(x, fmt)

    for r in rows:
        p = paper.get(r["state"])
        g, eta = brunel2000.STATES[r["state"]]
        ratio = r["rate_hz"] / p["rate_hz"] if p and p["rate_hz"] > 0 else float("nan")
        lines.append(
            f"| {r['state']} ({g:g}, {eta:g}) | {r['N_E']} | {r['scaling']} | {r['C_E']} | "
            f"{r['J_mV']:.3g} | {r['epsilon']:.2g} | {r['rate_hz']:.1f} | {num(ratio, '.2f')} | "
            f"{num(r['theory_hz'], '.1f')} | {num(r['cv'], '.2f')} | {num(p and p['cv'], '.2f')} | "
            f"{num(r['theory_cv'], '.2f')} | {num(r['chi'], '.2f')} | {num(p and p['chi'], '.2f')} | "
            f"{num(r['peak_hz'], '.0f')} | {r['wall_s']:.0f} |")
    c2 = {r["scaling"]: r for r in rows if r["state"] == "C" and r["N_E"] == 2000}
    if "C" in paper and c2:
        pc = paper["C"]
        lines += ["", f"State C at N_E = 2000 (the epilepsy study's size) against the paper-scale "
                      f"network ({pc['rate_hz']:.1f} Hz, CV {pc['cv']:.2f}, chi {pc['chi']:.2f}):"]
        for scaling, r in c2.items():
            lines.append(f"- {scaling}: {r['rate_hz']:.1f} Hz ({100 * (r['rate_hz'] / pc['rate_hz'] - 1):+.0f}%), "
                         f"CV {r['cv']:.2f} ({r['cv'] - pc['cv']:+.2f}), chi {r['chi']:.2f}.")
    for scaling in ("fixed", "old"):
        dev = [(abs(r["rate_hz"] / paper[r["state"]]["rate_hz"] - 1), abs(r["cv"] - paper[r["state"]]["cv"]),
                r["state"], r["N_E"]) for r in rows
               if r["scaling"] == scaling and r["state"] in paper and r["N_E"] >= 2000]
        if dev:
            worst_rate, worst_cv = max(dev), max(dev, key=lambda d: d[1])
            lines.append(f"- {scaling}, every state at N_E >= 2000: rate within {100 * worst_rate[0]:.0f}% of the "
                         f"paper-scale rate (worst: state {worst_rate[2]}, N_E = {worst_rate[3]}), CV within "
                         f"{worst_cv[1]:.2f} (worst: state {worst_cv[2]}, N_E = {worst_cv[3]}).")
    return "\n".join(lines) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", nargs="+", type=int, default=[1000, 2000, 5000, 10000])
    ap.add_argument("--states", nargs="+", default=list(brunel2000.STATES), choices=list(brunel2000.STATES))
    ap.add_argument("--scalings", nargs="+", default=list(SCALINGS), choices=SCALINGS)
    ap.add_argument("--duration", type=float, default=1.5, help="simulated seconds")
    ap.add_argument("--transient", type=float, default=0.2, help="seconds discarded at the start")
    ap.add_argument("--target", default="cython", choices=("numpy", "cython", "cpp_standalone"))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json", help="also write the rows to this JSON file (rewritten after each point)")
    ap.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks.md")
    ap.add_argument("--from-json", help="render the table from rows a previous run wrote with --json "
                    "(no simulation; the other options must match that run)")
    args = ap.parse_args(argv)
    b2.BrianLogger.log_level_error()
    if args.from_json:
        with open(args.from_json) as f:
            text = table(json.load(f), args)
        print(text)
        if not args.no_write:
            from _docs import write_section
            write_section("brunel_scaling", text + FOOTER)
        return
    rows, started = [], time.perf_counter()
    for N_E in sorted(args.sizes):
        for state in args.states:
            scalings = ["paper"] if N_E == PAPER_N_E else args.scalings
            for scaling in scalings:
                C_E, J = network(scaling, N_E)
                r = dict(scaling=scaling, **measure(state, N_E, C_E, J, args))
                rows.append(r)
                print(f"{state} N_E={N_E:5d} {scaling:5s} C_E={C_E:4d} J={r['J_mV']:.3g} mV  "
                      f"rate {r['rate_hz']:6.1f} Hz (theory {r['theory_hz']:6.1f})  CV {r['cv']:.2f}  "
                      f"chi {r['chi']:.2f}  peak {r['peak_hz']:.0f} Hz  [{r['wall_s']:.0f} s]", flush=True)
                if args.json:
                    with open(args.json, "w") as f:
                        json.dump(rows, f, indent=1)
    text = table(rows, args)
    text += (f"\nTotal {time.perf_counter() - started:.0f} s, finished "
             f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, load average "
             f"{os.getloadavg()[0]:.1f} (the 2 cores were shared).\n")
    print(text)
    if not args.no_write:
        from _docs import write_section
        write_section("brunel_scaling", text + FOOTER)


if __name__ == "__main__":
    main()
