"""Brunel (2000) network as bio's `brunel_spec` run by `bio.run`, against a hand-written Brian2
Brunel network with the same connectivity, on every code-generation target.

bio: `bio.brunel2000.brunel_spec(g, eta, N_E)` (two populations "exc" and "inh" of
`neurons.LIF`, four `synapses.CurrentDelta` connections with delay D, a `PoissonDrive` of
C_E inputs per neuron) run by `bio.run`. Hand: the network written directly in Brian2 in
the style of Brian2's Brunel_2000 example: one NeuronGroup "dv/dt = -v/tau (unless
refractory)" whose first N_E neurons are excitatory, two Synapses ("v += J" and
"v += -g*J", delay D), one PoissonInput of C_E inputs at nu_ext, weight J. Both get the
spec's connectivity and initial potentials, and the same seed for the Poisson drive, so
they simulate the same network: the spikes are compared as well as the time. The spec lists
each connection's synapses grouped by presynaptic neuron (`bio.spec.fixed_indegree`), the
order Brian2's own `connect(p=...)` creates them in and the one the bio compiler runs fastest
(`bio.spec.source_major`); both sides take the arrays as they are.

bio.run fuses the two populations into one NeuronGroup (bio/fuse.py: they share a model, a
drive and static pathways), so what it builds has the hand-written layout. A third, diagnostic
variant ("bio as written") runs the spec with `fuse=False`: one NeuronGroup per population, four
Synapses and two PoissonInputs. Comparing it with the first shows what the fusion saves on the
runtime targets (every Brian2 object runs its code each time step).

Timing as in benchmarks/bio_cuba.py (benchmarks/_compare.py): the same target setup and
timing scope (build, simulate, copy spikes out), one warm-up run each, `--repeats`
interleaved rounds, median and spread of the per-round ratio bio / hand; cpp_standalone
compares Brian2's simulation-only time.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bio_brunel.py                 (~10 min on 2 cores)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bio_brunel.py --targets cython --repeats 3 --no-write
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
from brian2 import Hz, ms, second

import bio
from bio import brunel2000
from _compare import build_dirs, compare_many, identical, run_bio, run_hand, spread

DT = 0.1 * ms


def hand_build(spec):
    """A Brian2 Brunel network with the spec's connectivity, initial v and drive."""
    N_E, N_I = spec.populations["exc"].n, spec.populations["inh"].n
    cell = spec.populations["exc"].model
    g, J, C_E = spec.meta["g"], spec.meta["J"], spec.meta["C_E"]
    nu_ext = spec.meta["nu_ext_hz"] * Hz
    D = spec.connections["exc_exc"].delay_s[0] * second
    c = spec.connections
    i_exc = np.concatenate([c["exc_exc"].i, c["exc_inh"].i])
    j_exc = np.concatenate([c["exc_exc"].j, c["exc_inh"].j + N_E])
    i_inh = np.concatenate([c["inh_exc"].i, c["inh_inh"].i])
    j_inh = np.concatenate([c["inh_exc"].j, c["inh_inh"].j + N_E])
    v0 = np.concatenate([spec.populations["exc"].init["v"], spec.populations["inh"].init["v"]])

    def build():
        ns = dict(tau=cell.tau_m, theta=cell.v_thresh, V_r=cell.v_reset, J=J, g=g)
        neurons = b2.NeuronGroup(N_E + N_I, "dv/dt = -v/tau : volt (unless refractory)",
                                 threshold="v > theta", reset="v = V_r", refractory=cell.t_ref,
                                 method="exact", namespace=ns, name="hand_neurons")
        neurons.v = v0 * b2.volt
        exc = b2.Synapses(neurons[:N_E], neurons, on_pre="v += J", delay=D, namespace=ns, name="hand_exc")
        exc.connect(i=i_exc, j=j_exc)
        inh = b2.Synapses(neurons[N_E:], neurons, on_pre="v += -g*J", delay=D, namespace=ns, name="hand_inh")
        inh.connect(i=i_inh, j=j_inh)
        drive = b2.PoissonInput(neurons, "v", C_E, nu_ext, weight=J)
        mon = b2.SpikeMonitor(neurons, name="hand_spikes")
        return [neurons, exc, inh, drive, mon], {"all": mon}

    return build


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--targets", nargs="+", default=list(bio.TARGETS), choices=bio.TARGETS)
    ap.add_argument("--N_E", type=int, default=2000, help="excitatory neurons (the epilepsy study's size)")
    ap.add_argument("--state", default="C", choices=list(brunel2000.STATES))
    ap.add_argument("--duration", type=float, default=1.0, help="simulated seconds")
    ap.add_argument("--numpy-duration", type=float, default=0.3, help="simulated seconds on numpy (slow)")
    ap.add_argument("--repeats", type=int, default=5, help="interleaved timed rounds per target")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true", help="do not write the table into docs/benchmarks.md")
    args = ap.parse_args(argv)
    b2.BrianLogger.log_level_error()
    g, eta = brunel2000.STATES[args.state]
    spec = brunel2000.brunel_spec(g, eta, N_E=args.N_E, seed=args.seed)
    N_E, N_I = spec.populations["exc"].n, spec.populations["inh"].n
    build = hand_build(spec)
    n_syn = sum(c.n_syn for c in spec.connections.values())
    rows, load = [], [os.getloadavg()[0]]
    for target in args.targets:
        seconds = args.numpy_duration if target == "numpy" else args.duration
        duration = seconds * second
        dirs = build_dirs("bio_brunel_", 3) if target == "cpp_standalone" else (None, None, None)
        runs = {"bio": lambda: run_bio(spec, target, duration, args.seed, DT, dirs[0]),
                "hand": lambda: run_hand(build, target, duration, args.seed, DT, dirs[1]),
                "one": lambda: run_bio(spec, target, duration, args.seed, DT, dirs[2], fuse=False)}
        first, times = compare_many(runs, target, args.repeats)
        if dirs[0]:
            shutil.rmtree(os.path.dirname(dirs[0]), ignore_errors=True)
        tb, th, to = times["bio"], times["hand"], times["one"]
        ratios = [a / b for a, b in zip(tb, th)]
        ratios_one = [a / b for a, b in zip(to, th)]
        fb, fh = first["bio"], first["hand"]
        same = identical(fb, fh, {"exc": ("all", 0, N_E), "inh": ("all", N_E, N_I)})
        same_one = identical(first["one"], fh, {"exc": ("all", 0, N_E), "inh": ("all", N_E, N_I)})
        rate = len(fb.spikes["exc"][0]) / N_E / seconds
        print(f"{target:15s} bio/hand {spread(ratios)}  as-written/hand {spread(ratios_one)}  "
              f"bio {spread(tb)} s  hand {spread(th)} s  rate {rate:.1f} Hz  identical {same} {same_one}",
              flush=True)
        rows.append((target, seconds, tb, th, ratios, same, rate, (fb.wall_s, fh.wall_s), ratios_one, same_one))
        load.append(os.getloadavg()[0])
    lines = [
        "## bio vs hand-written Brian2: Brunel (2000) network",
        "",
        f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC; Brian2 {b2.__version__}, "
        f"NumPy {np.__version__}; load average {min(load):.1f}-{max(load):.1f} during the run (2 shared "
        "cores: other jobs ran, so absolute times are upper bounds; the interleaved ratio is the figure).",
        "",
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/bio_brunel.py --N_E {args.N_E} --state "
        f"{args.state} --duration {args.duration} --numpy-duration {args.numpy_duration} --repeats "
        f"{args.repeats}`. State {args.state} (g = {g:g}, eta = {eta:g}), N_E = {N_E}, N_I = {N_I}, "
        f"C_E = {spec.meta['C_E']}, {n_syn} recurrent synapses, dt 0.1 ms. bio: `brunel_spec` run by "
        "`bio.run` (two populations, four connections, two Poisson drives, which the compiler fuses into "
        "one NeuronGroup, two Synapses and one PoissonInput: bio/fuse.py); hand: one NeuronGroup, two "
        "Synapses, one PoissonInput, in the style of Brian2's Brunel_2000 example, with the spec's "
        "connectivity (each connection's synapses grouped by presynaptic neuron, as Brian2's connect(p=...) "
        "creates them) and initial v; bio as written: the same spec with `bio.run(..., fuse=False)` (one "
        "NeuronGroup per population, four Synapses, two PoissonInputs; a diagnostic). Times per run, median (min-max) over interleaved rounds after a "
        "warm-up: numpy and cython the CPU time of the process over the whole run (build, simulate, "
        "copy spikes; CPU, not wall, time because other jobs shared the 2 cores); "
        "cpp_standalone Brian2's simulation-only time. bio / hand: median (min-max) of the per-round ratio.",
        "",
        "| target | simulated s | bio s | hand s | bio / hand | bio as written (fuse=False) / hand | "
        "standalone first run wall s, compiling (bio / hand) | exc rate (Hz) | identical spikes to hand "
        "(bio, as written) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for t, secs, tb, th, ratios, same, rate, walls, ratios_one, same_one in rows:
        wall = f"{walls[0]:.1f} / {walls[1]:.1f}" if t == "cpp_standalone" else "-"
        lines.append(f"| {t} | {secs:g} | {spread(tb)} | {spread(th)} | **{spread(ratios)}x** | "
                     f"{spread(ratios_one)}x | {wall} | {rate:.1f} | {'yes' if same else 'no'}, "
                     f"{'yes' if same_one else 'no'} |")
    worst = max(statistics.median(r[4]) for r in rows)
    worst_one = max(statistics.median(r[8]) for r in rows)
    lines += ["", f"Target (issue 9): bio <= 1.10x hand-written on every target. Worst median ratio "
                  f"{worst:.2f}x: {'holds' if worst <= 1.10 else 'does not hold'}. The same spec built as written "
                  f"(fuse=False): worst median {worst_one:.2f}x; the difference is what fusing the two "
                  "populations saves on the runtime targets (every Brian2 object runs its code each time "
                  "step, and two populations make twice the objects); cpp_standalone times the generated "
                  "code alone."]
    table = "\n".join(lines) + "\n"
    print(table)
    if not args.no_write:
        from _docs import write_section
        write_section("bio_brunel", table)


if __name__ == "__main__":
    main()
