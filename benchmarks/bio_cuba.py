"""CUBA network (Brette et al. 2007, J Comput Neurosci 23:349, benchmark 2) as a bio `NetworkSpec`
run by `bio.run`, against the same network written directly in Brian2, on every target.

4000 LIF neurons (3200 excitatory, 800 inhibitory), connection probability 0.02,
exponential current synapses; parameters of Brian2's CUBA example: taum 20 ms,
taue 5 ms, taui 10 ms, Vt -50 mV, Vr -60 mV, El -49 mV, refractory 5 ms,
we = 60*0.27/10 mV, wi = -20*4.5/10 mV. Both versions get the same connectivity
and initial potentials, so they simulate the same network and differ only in how
it is written: one population of `neurons.LIF` with `synapses.CurrentExp` "exc" and
"inh" connections (weights in amp, w = we / R) and initial v via `Population.init`,
against Brian2's example with ge, gi in volt. The hand-written objects get fixed names
too (as bio's do), so neither side recompiles for a fresh automatic name.

Timing (benchmarks/_compare.py): the same target setup and timing scope on both sides
(from the call to the spike arrays: build, simulate, copy out), one untimed warm-up run
each, then `--repeats` interleaved rounds; the table gives the median and spread of
the per-round ratio bio / hand. cpp_standalone reuses one build directory per side, and
its compared time is Brian2's simulation-only time (results/last_run_info.txt); the
wall time of a warm run (build + compile check + run) is listed beside it.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bio_cuba.py                   # all targets
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bio_cuba.py --targets numpy --duration 0.5 --no-write
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime
import shutil
import statistics
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a clone
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import brian2 as b2
import numpy as np
from brian2 import Mohm, amp, mV, ms, second

import bio
from bio import neurons, synapses
from bio.spec import Connection, NetworkSpec, Population, Record

from _compare import build_dirs, compare, identical, run_bio, run_hand, spread

N, N_E, P_CONN = 4000, 3200, 0.02
TAUM, TAUE, TAUI = 20 * ms, 5 * ms, 10 * ms
VT, VR, EL, TREF = -50 * mV, -60 * mV, -49 * mV, 5 * ms
WE, WI = (60 * 0.27 / 10) * mV, (-20 * 4.5 / 10) * mV
R = 100 * Mohm  # bio's LIF takes currents; w = we / R gives the same jump in R*I
DT = 0.1 * ms


def connectivity(seed: int):
    """Shared random connectivity and initial potentials (the Brian2 example draws p = 0.02).

    Returns ((ie, je), (ii, ji), v0): excitatory pre 0..N_E-1, inhibitory pre 0..N-N_E-1
    (numbered within the inhibitory neurons), targets 0..N-1, v0 (N,) volt as floats."""
    rng = np.random.default_rng(seed)
    ie, je = np.nonzero(rng.random((N_E, N)) < P_CONN)
    ii, ji = np.nonzero(rng.random((N - N_E, N)) < P_CONN)
    v0 = rng.uniform(float(VR), float(VT), N)
    return (ie, je), (ii, ji), v0


def bio_spec(conn) -> NetworkSpec:
    (ie, je), (ii, ji), v0 = conn
    cell = neurons.LIF(tau_m=TAUM, v_rest=EL, v_thresh=VT, v_reset=VR, t_ref=TREF, R=R)
    w_e, w_i = float(WE / R / amp), float(-WI / R / amp)  # magnitudes; "inh" delivers -w
    return NetworkSpec(
        {"all": Population(cell, N, init={"v": v0})},
        {"exc": Connection("all", "all", synapses.CurrentExp("exc", tau=TAUE), ie, je,
                           np.full(len(ie), w_e), kind="exc"),
         "inh": Connection("all", "all", synapses.CurrentExp("inh", tau=TAUI), ii + N_E, ji,
                           np.full(len(ii), w_i), kind="inh")},
        record=Record(spikes=("all",))).check()


def hand_build(conn):
    (ie, je), (ii, ji), v0 = conn

    def build():
        eqs = """
        dv/dt  = (ge+gi-(v-El))/taum : volt (unless refractory)
        dge/dt = -ge/taue : volt
        dgi/dt = -gi/taui : volt
        """
        ns = dict(taum=TAUM, taue=TAUE, taui=TAUI, Vt=VT, Vr=VR, El=EL, we=WE, wi=WI)
        P = b2.NeuronGroup(N, eqs, threshold="v>Vt", reset="v = Vr", refractory=TREF,
                           method="exact", namespace=ns, name="hand_P")
        P.v = v0 * b2.volt
        Ce = b2.Synapses(P[:N_E], P, on_pre="ge += we", namespace=ns, name="hand_Ce")
        Ci = b2.Synapses(P[N_E:], P, on_pre="gi += wi", namespace=ns, name="hand_Ci")
        Ce.connect(i=ie, j=je)
        Ci.connect(i=ii, j=ji)
        mon = b2.SpikeMonitor(P, name="hand_spikes")
        return [P, Ce, Ci, mon], {"all": mon}

    return build


def events(spikes, conn) -> int:
    """Synaptic events delivered: each spike of neuron k reaches out_degree[k] targets."""
    (ie, _), (ii, _), _ = conn
    out_degree = np.concatenate([np.bincount(ie, minlength=N_E), np.bincount(ii, minlength=N - N_E)])
    return int(out_degree[spikes["all"][1]].sum())


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=list(bio.TARGETS), choices=bio.TARGETS)
    ap.add_argument("--duration", type=float, default=1.0, help="simulated seconds")
    ap.add_argument("--repeats", type=int, default=7, help="interleaved timed rounds per target")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true", help="do not write the table into docs/benchmarks.md")
    args = ap.parse_args(argv)
    b2.BrianLogger.log_level_error()
    duration = args.duration * second
    conn = connectivity(args.seed)
    spec, build = bio_spec(conn), hand_build(conn)
    rows, load = [], [os.getloadavg()[0]]
    for target in args.targets:
        dirs = build_dirs("bio_cuba_") if target == "cpp_standalone" else (None, None)
        ratios, fb, fh, tb, th = compare(
            lambda: run_bio(spec, target, duration, args.seed, DT, dirs[0]),
            lambda: run_hand(build, target, duration, args.seed, DT, dirs[1]), target, args.repeats)
        if dirs[0]:
            shutil.rmtree(os.path.dirname(dirs[0]), ignore_errors=True)
        same = identical(fb, fh, {"all": ("all", 0, N)})
        n_spikes = len(fb.spikes["all"][0])
        print(f"{target:15s} bio/hand {spread(ratios)}  bio {spread(tb)} s  hand {spread(th)} s  "
              f"identical {same}", flush=True)
        rows.append((target, tb, th, ratios, events(fb.spikes, conn), same, n_spikes / N / args.duration,
                     (fb.wall_s, fh.wall_s)))
        load.append(os.getloadavg()[0])
    lines = [
        "## bio vs hand-written Brian2: CUBA network (Brette et al. 2007)",
        "",
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; Brian2 {b2.__version__}, "
        f"NumPy {np.__version__}; load average {min(load):.1f}-{max(load):.1f} during the run (2 shared "
        "cores: other jobs ran, so absolute times are upper bounds; the interleaved ratio is the figure).",
        "",
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bio_cuba.py --duration {args.duration} "
        f"--repeats {args.repeats}`. {N} neurons, {args.duration} s simulated, dt 0.1 ms. bio: a "
        "`NetworkSpec` (neurons.LIF, synapses.CurrentExp 'exc'/'inh') run by `bio.run`; hand: Brian2's "
        "CUBA example with the same connectivity and initial v. Times per run, median (min-max) over "
        f"{args.repeats} interleaved rounds after a warm-up: numpy and cython the CPU time of the process over "
        "the whole run (build, simulate, copy spikes; CPU, not wall, time because other jobs shared the 2 "
        "cores); cpp_standalone Brian2's simulation-only time (the first run's wall time, build + compile "
        "+ run, is listed apart). bio / hand: median (min-max) of the per-round ratio.",
        "",
        "| target | bio s | hand s | bio / hand | bio events/s | standalone first run wall s, compiling (bio / hand) | "
        "rate (Hz) | identical spikes |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for t, tb, th, ratios, ev, same, rate, walls in rows:
        wall = f"{walls[0]:.1f} / {walls[1]:.1f}" if t == "cpp_standalone" else "-"
        lines.append(f"| {t} | {spread(tb)} | {spread(th)} | **{spread(ratios)}x** | "
                     f"{ev / statistics.median(tb):.3g} | {wall} | {rate:.1f} | {'yes' if same else 'no'} |")
    worst = max(statistics.median(r[3]) for r in rows)
    lines += ["", f"Target (issue 9): bio <= 1.10x hand-written on every target. Worst median ratio "
                  f"{worst:.2f}x: {'holds' if worst <= 1.10 else 'does not hold'}."]
    table = "\n".join(lines) + "\n"
    print(table)
    if not args.no_write:
        from _docs import write_section
        write_section("bio_cuba", table)


if __name__ == "__main__":
    main()
