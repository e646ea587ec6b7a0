"""ANN -> SNN conversion on the digits: accuracy, accuracy vs time, CKA, neuron targets, and speed.

Claims checked (issue 4; targets and regimes: issue 9):
- MLP and CNN (BatchNorm + max pooling), ideal IF neurons, constant-current
  input: SNN accuracy within 0.5 percentage points of the ANN at 32 ms (dt 1 ms);
  Poisson input: within 1.0 point at 100 ms.
- per-layer linear CKA (ANN activations vs SNN rates, 32 ms) >= 0.95 wherever
  the accuracy gap is <= 0.5 points.
- the whole test set in one Brian2 run (cython) is >= 50x faster than running
  the samples one at a time on ONE build reused with Brian2's store/restore (SNN
  Toolbox's Brian2 backend; issue 12 item 3; the first 100 samples timed, the
  test set extrapolated linearly), with the same timing scope on both sides, and is timed against the NumPy reference simulation (numpy and cython
  targets; constant-current input is computed once by the compiler, so the input
  synapses are not simulated).
Measured beside them (issue 15 item 3): the same trained ANNs converted by
SpikingJelly's own converter (`spikingjelly.activation_based.ann2snn`, when it is
installed) and run on the whole test set for the same number of steps on the CPU:
wall times, the ratio Brian2 / SpikingJelly (target <= 5x), both accuracies.
Reported beside them (issue 9): accuracy against simulated time when the MLP is
converted to other bio.neurons targets (LIF, AdEx, Izhikevich RS) and to the
cortical regime (leak, refractoriness, noise, Poisson input, <= 20 Hz), with each
target's first-hidden-layer rate and CV of ISIs: what a more biological neuron costs.

    .venv/bin/python benchmarks/conversion.py           (about 3-6 minutes on 2 cores)
    .venv/bin/python benchmarks/conversion.py --quick   (MLP only, 150 test samples; ~1 minute;
                                                         prints, does not write the docs)

Prints a table and writes its section of docs/benchmarks.md.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import copy
import datetime
import platform
import statistics
import sys
import time
from pathlib import Path

import brian2 as b2
import numpy as np
import torch
from torch import nn

from ann import data, models, train
from bio import analysis, layered, neurons
from bio import simulate as bio_simulate
from bio.prepared import Prepared
from bridge import compare, convert

DT_MS = 1.0
T_CURRENT_MS, T_POISSON_MS, T_CURVE_MS = 32.0, 100.0, 100.0
CURVE_AT_MS = (2, 4, 8, 16, 32, 64, 100)
N_SEQUENTIAL = 100  # samples timed one at a time on one build (store/restore); the test set is extrapolated
N_REPS = 5  # interleaved timed repetitions of Brian2 and SpikingJelly (after one untimed run each)
TARGET = "cython"
# conversion targets beside the ideal IF: (label, neuron argument of to_snn, dt_ms, readout times)
TARGETS = (
    ("IF (ideal)", "if", 1.0, (8, 16, 32, 64, 100, 200)),
    ("LIF tau 20 ms", "lif", 1.0, (8, 16, 32, 64, 100, 200)),
    ("AdEx (Brette & Gerstner 2005)", neurons.AdEx(), 1.0, (8, 16, 32, 64, 100, 200)),
    ("Izhikevich RS (2003)", neurons.Izhikevich.preset("RS"), 0.25, (8, 16, 32, 64, 100, 200)),
    ("cortical regime", "cortical", 1.0, (50, 100, 200, 500, 1000)),
)


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return f"{cpu}, {cores} cores available, {platform.system()} {platform.release()}, Python {platform.python_version()}"


def trained(ds, quick=False):
    nets = {}
    torch.manual_seed(0)
    nets["MLP 64-128-10"] = models.MLP(64, [128], 10)
    if not quick:
        torch.manual_seed(0)
        nets["CNN 8-16 BN maxpool"] = models.CNN(channels=(8, 16), batch_norm=True, pool="max")
    for net in nets.values():
        train.fit(net, ds.train, epochs=30, device="cpu", progress=False, seed=0)
    return nets


def cka_at(model, snn, res, x, t_ms):
    """Per-layer CKA between ANN activations and SNN activations decoded from the first t_ms
    (hidden layers: rates; output: spikes plus membrane potential, see ConvertedSNN.activations)."""
    ann = convert.ann_activations(model, x)
    snn_acts = snn.activations(res.record, t_stop_ms=t_ms, dt_ms=DT_MS)
    return {p: compare.linear_cka(ann[p], snn_acts[p]) for p in snn.populations}


def neuron_rows(net, ds, test, ann_acc, target):
    """Accuracy, gap, h1 rate and CV against simulated time for every conversion target."""
    rows = []
    for label, neuron, dt_ms, times in TARGETS:
        snn = convert.to_snn(net, calibration=ds.train.x, neuron=neuron)
        res = snn.evaluate(test, duration_ms=max(times), dt_ms=dt_ms, target=target, seed=0)
        for t in times:
            acc = float(res.accuracy_t[int(round(t / dt_ms)) - 1])
            rate = analysis.mean_rate(res.record, "h1", 0.0, t * 1e-3)
            cv = analysis.cv_isi(res.record, "h1", 0.0, t * 1e-3)
            rows.append((label, snn.input, dt_ms, t, acc, 100 * (ann_acc - acc), rate, cv))
        print(f"{label:32s} " + " ".join(f"{t}ms {r[4]:.3f}" for t, r in zip(times, rows[-len(times):]))
              + f"  h1 {rows[-1][6]:.1f} Hz CV {rows[-1][7]:.2f}  [{res.wall_s:.1f} s]", flush=True)
    return rows


def timed_evaluate(snn, split, target):
    """(EvalResult, seconds) of one whole `evaluate` call: build, simulate, read back and decode
    (the scope every Brian2 time below uses)."""
    t0 = time.perf_counter()
    res = snn.evaluate(split, duration_ms=T_CURRENT_MS, dt_ms=DT_MS, target=target)
    return res, time.perf_counter() - t0


def one_build_sequential(snn, x, target=TARGET):
    """The fair one-at-a-time baseline (issue 12 item 3): ONE Brian2 build of one copy of the
    network, reused for every sample with Network.store()/restore(), as SNN Toolbox's Brian2
    backend simulates.

    bio.run builds, runs and drops its Brian2 objects, so this helper uses the compiler's own
    steps (bio.simulate's layout, target and build) on a one-copy spec: the generated code is
    the batched run's. Per sample: restore the stored state, set the sample's constant input
    currents (computed for all samples at once, as the batched run's compiler does), run
    T_CURRENT_MS, read the output spike counts and final membrane potentials.
    x: (N, n_in). Returns (out_counts (N, n_out), out_v (N, n_out) volt, seconds in all,
    seconds of the one build); the time covers input currents, build, runs and read-out.
    """
    n_steps = int(round(T_CURRENT_MS / DT_MS))
    dt = DT_MS * b2.ms
    duration = n_steps * dt
    out = layered.layers(snn.net)[-1]
    n_out = snn.net.populations[out].n
    counts, v_end = np.zeros((len(x), n_out)), np.zeros((len(x), n_out))
    start = time.perf_counter()
    every = layered.drive(snn.net, x, n_steps, DT_MS * 1e-3)  # (1 sample, N copies): all currents
    currents, _ = bio_simulate._value_currents(every, bio_simulate._layout(every, dt, duration))
    one = layered.drive(snn.net, x[:1], n_steps, DT_MS * 1e-3)
    with bio_simulate._target(target, None):
        b2.defaultclock.dt = dt
        net, groups, monitors, traces, syns = bio_simulate._build(one, bio_simulate._layout(one, dt, duration))
        for post in currents:
            if "I_const" not in groups[post].variables:
                raise ValueError(f"population {post!r} of the one-copy build has no I_const to set")
        net.store()
        build_s = time.perf_counter() - start
        for k in range(len(x)):
            net.restore()
            for post, cur in currents.items():  # (1, N, n_post) amp
                groups[post].I_const = (snn.net.populations[post].i_ext_amp + cur[0, k]) * b2.amp
            net.run(duration, namespace={})
            counts[k] = np.bincount(np.asarray(monitors[out].i[:]), minlength=n_out)
            v_end[k] = np.asarray(traces[f"{out}.v"][0].v_[:, -1])
        del net, groups, monitors, traces, syns
    return counts, v_end, time.perf_counter() - start, build_s


def sequential_row(name, snn, test, batched, batched_s):
    """One-at-a-time (one build, store/restore) on the first N_SEQUENTIAL test samples."""
    n = min(N_SEQUENTIAL, len(test))
    one_build_sequential(snn, test.x[:5])  # untimed: warm this process for the one-copy code
    counts, v_end, wall, build_s = one_build_sequential(snn, test.x[:n])
    per_sample = (wall - build_s) / n
    whole = build_s + per_sample * len(test)  # linear in samples: one build, then per-sample runs
    same = bool(np.array_equal(counts, batched.out_counts[:n]) and np.allclose(v_end, batched.out_v[:n]))
    print(f"{name:20s} one build, store/restore: {n} samples in {wall:.1f} s (build {build_s:.2f} s, "
          f"{per_sample * 1e3:.0f} ms/sample) -> {whole:.1f} s for {len(test)}; batched {batched_s:.2f} s "
          f"-> {whole / batched_s:.0f}x; same output spikes and potentials: {same}", flush=True)
    return dict(n=n, wall=wall, build=build_s, per_sample=per_sample, whole=whole, speedup=whole / batched_s,
                same=same)


def spikingjelly_available() -> bool:
    try:
        import spikingjelly.activation_based.ann2snn  # noqa: F401
    except ImportError:
        return False
    return True


def sj_convert(net, calibration):
    """SpikingJelly's conversion of a trained nn.Sequential: (SNN module, input shape).

    RateCodingRecipe with mode "Max" and the whole calibration set as ONE batch, so that its
    VoltageHook's scale is the maximum post-ReLU activation of each layer over the calibration
    set: our normalisation="max". Its step-mode backend refuses nn.Unflatten, so a leading
    Unflatten (ann.models.CNN's) is applied to the inputs instead of inside the network.
    """
    import os as _os

    from spikingjelly.activation_based import ann2snn
    children = list(net.children())
    shape = (-1, int(calibration.shape[1]))
    if isinstance(children[0], nn.Unflatten):
        shape = (-1,) + tuple(int(s) for s in children[0].unflattened_size)
        children = children[1:]
    if any(isinstance(m, nn.Unflatten) for m in children):
        raise ValueError("only a leading Unflatten can be moved out of the network for SpikingJelly")
    body = copy.deepcopy(nn.Sequential(*children)).eval()
    x = torch.as_tensor(np.asarray(calibration, np.float32)).reshape(shape)
    recipe = ann2snn.RateCodingRecipe(dataloader=[x], mode="Max")
    saved = _os.environ.get("TQDM_DISABLE")
    _os.environ["TQDM_DISABLE"] = "1"  # its calibration loop draws a progress bar
    try:
        snn = ann2snn.Converter(recipe, device="cpu").convert(body)
    finally:
        if saved is None:
            _os.environ.pop("TQDM_DISABLE")
        else:
            _os.environ["TQDM_DISABLE"] = saved
    return snn.eval(), shape


@torch.no_grad()
def sj_classify(snn, shape, x, n_steps):
    """SpikingJelly's SNN on x (N, n_in) for n_steps single steps: constant analog input at every
    step (as our current input), output layer accumulated; returns (N,) predicted classes."""
    from spikingjelly.activation_based import functional
    xs = torch.as_tensor(np.asarray(x, np.float32)).reshape(shape)
    functional.reset_net(snn)
    total = 0
    for _ in range(n_steps):
        total = total + snn(xs)
    return total.argmax(1).numpy()


def sj_first_layer_counts(snn, shape, x, n_steps):
    """(N, n) spike counts of SpikingJelly's first spiking layer (an untimed run with a hook)."""
    from spikingjelly.activation_based import neuron
    first = next(m for m in snn.modules() if isinstance(m, neuron.IFNode))
    counts = []
    handle = first.register_forward_hook(lambda m, i, o: counts.append(o.detach().reshape(len(o), -1).numpy()))
    try:
        sj_classify(snn, shape, x, n_steps)
    finally:
        handle.remove()
    return np.sum(counts, axis=0)


def sj_scales(snn) -> list[float]:
    """Each SpikingJelly spiking layer's scale (its lambda), in layer order."""
    return [float(m.scaler1.scale) for name, m in snn.named_children() if name.startswith("spiking_")]


def brian2_parts(snn, test) -> dict:
    """Where Brian2's time goes on the whole test set (medians of N_REPS profiled runs after an
    untimed one). What `evaluate` does from its second call on: the network kept by
    bio.prepared, run again -- setting the inputs (restoring the stored state, the input
    currents), Network.run (the steps and Brian2's Python loop), the generated code of each
    object over the steps (Brian2's profiling) and reading the monitors back; what its first
    call adds once (building the objects, Brian2 generating their code); and, for comparison,
    a one-off bio.simulate.run, which builds and generates at every call. Synaptic events:
    each spike of a presynaptic neuron reaches every synapse it has."""
    n_steps = int(round(T_CURRENT_MS / DT_MS))
    spec = layered.drive(snn.net, test.x, n_steps, DT_MS * 1e-3)
    t0 = time.perf_counter()
    kept = Prepared(spec, T_CURRENT_MS * b2.ms, target=TARGET, dt=DT_MS * b2.ms)
    prepare_s = time.perf_counter() - t0
    profs, once, rec = [], [], None
    for k in range(1 + N_REPS):
        prof, one = {}, {}
        rec = kept.run(spec, profile=prof)
        bio_simulate.run(spec, T_CURRENT_MS * b2.ms, dt=DT_MS * b2.ms, target=TARGET, profile=one)
        if k:
            profs.append(prof)
            once.append(one)
    objects = {o: statistics.median(p["objects_s"].get(o, 0.0) for p in profs) for o in profs[0]["objects_s"]}
    events = {}
    for cname, c in spec.connections.items():
        if c.pre not in rec.n_neurons:
            continue  # analog input, delivered as a current computed once
        n_pre = spec.populations[c.pre].n
        out_degree = np.bincount(c.i[c.active(spec.populations)], minlength=n_pre)
        events[cname] = int(out_degree[rec.indices[c.pre] % n_pre].sum())
    pathways = {o: t for o, t in objects.items() if o.endswith("(pre pathway)")}
    heaviest = max(pathways, key=pathways.get)
    med = lambda rows, key: statistics.median(r[key] for r in rows)  # noqa: E731
    return dict(prepare=prepare_s, set=med(profs, "set_s"), run=med(profs, "run_s"), code=sum(objects.values()),
                record=med(profs, "record_s"), once_build=med(once, "build_s"), once_run=med(once, "run_s"),
                heaviest=heaviest.removesuffix(" (pre pathway)"), heaviest_s=pathways[heaviest],
                heaviest_events=events.get(heaviest.removesuffix(" (pre pathway)"), 0),
                events=sum(events.values()), pathways_s=sum(pathways.values()))


def spikingjelly_row(name, net, ds, test, ann_acc):
    """Brian2 (bridge.convert, normalisation "max") beside SpikingJelly's converter on the same
    trained ANN: whole test set, T_CURRENT_MS steps of 1 ms, CPU, warm, interleaved repeats."""
    n_steps = int(round(T_CURRENT_MS / DT_MS))
    ours = convert.to_snn(net, calibration=ds.train.x, neuron="if", normalisation="max")
    sj, shape = sj_convert(net, ds.train.x)
    lam_ours = [float(ours.scales[p][0]) for p, st in zip(ours.populations[:-1], ours.stages)
                if st.kind in ("linear", "conv")]
    lam_sj = sj_scales(sj)
    same_lambda = len(lam_ours) == len(lam_sj) and np.allclose(lam_ours, lam_sj, rtol=1e-5)
    res, first_s = timed_evaluate(ours, test, TARGET)  # reported apart: builds the network it keeps
    sj_pred = sj_classify(sj, shape, test.x, n_steps)
    t_b2, t_sj = [], []
    for _ in range(N_REPS):  # interleaved, so that load on the shared machine hits both alike
        res, wall = timed_evaluate(ours, test, TARGET)
        t_b2.append(wall)
        t0 = time.perf_counter()
        sj_pred = sj_classify(sj, shape, test.x, n_steps)
        t_sj.append(time.perf_counter() - t0)
    sj_acc = float(np.mean(sj_pred == test.y))
    first = ours.populations[0]
    h1_ours = res.record.spike_counts(first).reshape(len(test.x), -1)
    h1_sj = sj_first_layer_counts(sj, shape, test.x, n_steps)
    h1_equal = float(np.mean(h1_ours == h1_sj)) if h1_ours.shape == h1_sj.shape else float("nan")
    row = dict(model=name, steps=n_steps, n=len(test.x), b2=statistics.median(t_b2), sj=statistics.median(t_sj),
               b2_all=t_b2, sj_all=t_sj, ann=ann_acc, acc_b2=res.accuracy, acc_sj=sj_acc,
               agree=float(np.mean(res.predictions == sj_pred)), h1_equal=h1_equal,
               h1_maxdiff=float(np.max(np.abs(h1_ours - h1_sj))) if h1_ours.shape == h1_sj.shape else float("nan"),
               same_lambda=same_lambda, threads=torch.get_num_threads(), first=first_s)
    row["ratio"] = row["b2"] / row["sj"]
    row["parts"] = brian2_parts(ours, test)
    print(f"{name:20s} Brian2 {TARGET} {row['b2']:.3f} s vs SpikingJelly {row['sj']:.3f} s (median of {N_REPS}) "
          f"-> {row['ratio']:.1f}x; accuracy ANN {ann_acc:.4f} Brian2 {res.accuracy:.4f} SpikingJelly {sj_acc:.4f}; "
          f"same lambda {same_lambda}; first-layer counts equal {h1_equal:.4f}", flush=True)
    return row


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="MLP only, 150 test samples, no one-at-a-time timing; prints, writes no docs")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    ds = data.digits(seed=0)
    test = ds.test.subset(np.arange(150)) if args.quick else ds.test
    nets = trained(ds, args.quick)
    ok = True
    acc_rows, curve_rows, cka_rows, speed_rows, target_rows, sj_rows = [], [], [], [], [], []
    have_sj = spikingjelly_available()
    if not have_sj:
        print("spikingjelly is not installed: the side-by-side comparison is skipped "
              "(pip install -e '.[dev]' installs it)", flush=True)
    for name, net in nets.items():
        ann_acc = train.evaluate(net, test)
        for how in convert.NORMALISATIONS:
            snn = convert.to_snn(net, calibration=ds.train.x, neuron="if", normalisation=how, input="current")
            res = snn.evaluate(test, duration_ms=T_CURVE_MS, dt_ms=DT_MS, target=TARGET)
            acc = float(res.accuracy_t[int(T_CURRENT_MS / DT_MS) - 1])  # read out at 32 ms
            gap = 100 * (ann_acc - acc)
            acc_rows.append((name, how, "current", T_CURRENT_MS, ann_acc, acc, gap, gap <= 0.5))
            curve_rows.append((name, how, [res.accuracy_t[int(t / DT_MS) - 1] for t in CURVE_AT_MS]))
            ckas = cka_at(net, snn, res, test.x, T_CURRENT_MS)
            cka_ok = gap > 0.5 or min(ckas.values()) >= 0.95
            cka_rows.append((name, how, gap, ckas, cka_ok))
            ok &= cka_ok
            print(f"{name:20s} {how:10s} current: ANN {ann_acc:.4f} SNN@32ms {acc:.4f} gap {gap:+.2f} pp "
                  f"CKA {' '.join(f'{p}={c:.3f}' for p, c in ckas.items())}  [{time.perf_counter() - start:.0f} s]",
                  flush=True)
        ok &= min(r[6] for r in acc_rows if r[0] == name and r[1] == "percentile") <= 0.5
        snn = convert.to_snn(net, calibration=ds.train.x, neuron="if", normalisation="percentile", input="poisson")
        res = snn.evaluate(test, duration_ms=T_POISSON_MS, dt_ms=DT_MS, target=TARGET, seed=0)
        gap = 100 * (ann_acc - res.accuracy)
        acc_rows.append((name, "percentile", "poisson", T_POISSON_MS, ann_acc, res.accuracy, gap, gap <= 1.0))
        ok &= gap <= 1.0
        print(f"{name:20s} percentile poisson: SNN@100ms {res.accuracy:.4f} gap {gap:+.2f} pp", flush=True)

        if name.startswith("MLP"):
            target_rows = [(name, ann_acc) + r for r in neuron_rows(net, ds, test, ann_acc, TARGET)]

        # speed: constant current, 32 ms, percentile; the runs above warmed the cython cache
        snn = convert.to_snn(net, calibration=ds.train.x, normalisation="percentile")
        walls = {}
        for target in ("numpy", TARGET):
            timed_evaluate(snn, test, target)  # warm this size
            runs = [timed_evaluate(snn, test, target) for _ in range(3)]
            walls[target] = min(w for _, w in runs)
        batched = runs[-1][0]
        ref = min((snn.evaluate(test, duration_ms=T_CURRENT_MS, dt_ms=DT_MS, reference=True) for _ in range(3)),
                  key=lambda r: r.wall_s)
        seq = None
        if not args.quick:
            seq = sequential_row(name, snn, test, batched, walls[TARGET])
            ok &= seq["speedup"] >= 50 and seq["same"]
        identical = bool(np.array_equal(batched.out_counts, ref.out_counts)
                         and np.array_equal(batched.record.spike_counts("h1"), ref.record.spike_counts("h1")))
        speed_rows.append((name, len(test), walls["numpy"], walls[TARGET], ref.wall_s, seq, identical))
        ok &= identical
        print(f"{name:20s} speed: numpy {walls['numpy']:.2f} s, {TARGET} {walls[TARGET]:.2f} s, reference "
              f"{ref.wall_s:.2f} s; Brian2 spikes = reference spikes: {identical}", flush=True)
        if have_sj:
            sj_rows.append(spikingjelly_row(name, net, ds, test, ann_acc))

    total = time.perf_counter() - start
    md = report(acc_rows, curve_rows, cka_rows, speed_rows, target_rows, sj_rows, have_sj, total, ok, args.quick)
    print(md)
    if args.quick:
        print(f"--quick: docs not written; all claims hold: {ok}")
        return 0 if ok else 1
    from _docs import write_section
    out = write_section("conversion", md)
    print(f"wrote {out}; all claims hold: {ok}")
    return 0  # a claim that fails is reported in the section, not as an error that stops `make bench`


def _load_note() -> str:
    """The 1-minute load average, and what it means for the times when it exceeds the cores."""
    load, cores = os.getloadavg()[0], os.cpu_count() or 1
    if load <= cores:
        return f"{load:.1f} (at most the {cores} cores: no other job competed for them)"
    return (f"{load:.1f} (above the {cores} cores: other jobs shared them, so every time is an upper "
            "bound and ratios of times measured side by side are the figures)")


def report(acc_rows, curve_rows, cka_rows, speed_rows, target_rows, sj_rows, have_sj, total_s, ok,
           quick=False) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark: ANN -> SNN conversion (bridge.convert)",
        "",
        f"Run {now} on {machine()}; Brian2 target `{TARGET}`, dt = {DT_MS:g} ms; total {total_s:.0f} s; "
        f"load average at the end {_load_note()}."
        + (" Reduced run (`--quick`: MLP only, first 150 test samples)." if quick else ""),
        "Command: `.venv/bin/python benchmarks/conversion.py`. Data: scikit-learn digits, "
        f"`ann.data.digits(seed=0)` test split ({speed_rows[0][1]} samples); models trained 30 epochs with "
        "`ann.train.fit` (seed 0); calibration on the training split; ideal IF neurons, reset by subtraction, "
        "max rate 1000 Hz unless a row says otherwise.",
        "",
        "## Accuracy (claim: gap <= 0.5 pp with current input at 32 ms; <= 1.0 pp with Poisson input at 100 ms)",
        "",
        "| model | normalisation | input | t (ms) | ANN | SNN | gap (pp) | claim holds |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for name, how, inp, t, a, s, gap, good in acc_rows:
        lines.append(f"| {name} | {how} | {inp} | {t:g} | {a:.4f} | {s:.4f} | {gap:+.2f} | {'yes' if good else 'no'} |")
    lines += ["", "The 0.5 pp claim is made for percentile normalisation (99.9th percentile, Rueckauer et al. 2017); "
              "the other rows are reported for comparison.", "",
              "## Accuracy vs simulated time (constant-current input)", "",
              "| model | normalisation | " + " | ".join(f"{t} ms" for t in CURVE_AT_MS) + " |",
              "|---|---|" + "---|" * len(CURVE_AT_MS)]
    for name, how, accs in curve_rows:
        lines.append(f"| {name} | {how} | " + " | ".join(f"{a:.3f}" for a in accs) + " |")
    lines += ["", "## Linear CKA, ANN activations vs SNN activations over 32 ms (claim: >= 0.95 where gap <= 0.5 pp)",
              "", "Hidden layers: firing rates. Output layer: spike count plus membrane potential / threshold "
              "(the integrated input; rates alone cannot show negative logits).", "",
              "| model | normalisation | gap (pp) | per-layer CKA | claim holds |", "|---|---|---|---|---|"]
    for name, how, gap, ckas, good in cka_rows:
        lines.append(f"| {name} | {how} | {gap:+.2f} | " + ", ".join(f"{p} {c:.3f}" for p, c in ckas.items())
                     + f" | {'yes' if good else 'no'} |")
    lines += ["", "## What a more biological neuron costs: accuracy vs simulated time per conversion target", "",
              "The MLP converted with percentile normalisation to each `bio.neurons` target (`to_snn(net, "
              "neuron=...)`): the same weights in units of each model's threshold distance. IF and LIF use the "
              "conversion's units (reset by subtraction; LIF tau_m 20 ms); AdEx and Izhikevich RS run at their "
              "library parameters (Izhikevich at dt 0.25 ms: forward Euler on its quadratic membrane fails at "
              "coarser steps). The cortical regime (`convert.CORTICAL`) is the library LIF (rest -70 mV, "
              "threshold -50 mV, tau_m 20 ms, refractory 2 ms) with background noise (noise_sigma 0.12) and "
              "Poisson input, an activation of lambda standing for 100 Hz. Rate and CV: first hidden layer (h1) "
              "over [0, t); CV over neurons with >= 3 spikes (NaN when none has).", "",
              "| neuron | input | dt (ms) | t (ms) | accuracy | gap to ANN (pp) | mean rate h1 (Hz) | CV ISI h1 |",
              "|---|---|---|---|---|---|---|---|"]
    for name, ann_acc, label, inp, dt, t, acc, gap, rate, cv in target_rows:
        lines.append(f"| {label} | {inp} | {dt:g} | {t} | {acc:.4f} | {gap:+.2f} | {rate:.1f} | {cv:.2f} |")
    lines += ["", "## Speed: whole test set, 32 ms, warm cython cache (claim: batched >= 50x faster than one at a time)",
              "", "| model | samples | one Brian2 run, numpy (s) | one Brian2 run, cython (s) | NumPy reference (s) "
              "| one build, one sample at a time: measured (s) | per sample (ms) | whole test set (s) | speed-up (claim >= 50x) "
              "| same spikes one at a time | Brian2 spikes = reference |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for name, n, wn, wc, r, seq, same in speed_rows:
        if seq is None:
            cells = "not run (--quick) | - | - | - | -"
        else:
            cells = (f"{seq['wall']:.1f} ({seq['n']} samples, build {seq['build']:.2f}) | {seq['per_sample'] * 1e3:.0f} "
                     f"| {seq['whole']:.1f} | {seq['speedup']:.0f}x ({'holds' if seq['speedup'] >= 50 else 'not met'}) "
                     f"| {'yes' if seq['same'] else 'no'}")
        lines.append(f"| {name} | {n} | {wn:.2f} | {wc:.2f} | {r:.2f} | {cells} | {'yes' if same else 'no'} |")
    lines += ["", "Brian2 times: one whole `ConvertedSNN.evaluate` call (simulate, read back, decode), the "
              "best of 3 after an untimed one, whose Brian2 network (built, its code generated) the later calls "
              "run again (`bio.prepared`). Constant-current input is computed "
              "once by the compiler (`bio.inputs.Values`): the 64 x 128 input synapses per sample are not "
              "simulated. The batched run holds one independent copy of the network per sample (bio.layered). "
              f"One at a time: ONE Brian2 build ({TARGET}) of one copy, reused for every sample with "
              "`Network.store()`/`restore()` (SNN Toolbox's Brian2 backend simulates this way): per sample restore, "
              "set its input currents, run 32 ms, read the output counts and potentials; timed over the first "
              f"{N_SEQUENTIAL} test samples after an untimed 5-sample run. The whole-test-set column extrapolates "
              "that measurement linearly (one build plus the measured time per sample times the number of test "
              "samples). 'Same spikes one at a time': its output spike counts and final potentials equal the "
              "batched run's for every sample timed.",
              "The total time assumes Brian2's cython cache is warm; a first run on a fresh machine also "
              "compiles the generated code once.", ""]
    lines += sj_section(sj_rows, have_sj)
    lines += ["", f"All claims hold: **{'yes' if ok else 'no'}** (the accuracy, CKA, speed-up and equality claims "
              "above; the SpikingJelly ratio is a target reported beside them).", ""]
    return "\n".join(lines)


def sj_section(rows, have_sj) -> list[str]:
    """Markdown of the Brian2 / SpikingJelly comparison."""
    title = (f"## Brian2 beside SpikingJelly: the same trained ANN converted by each, whole test set, "
             f"{int(T_CURRENT_MS / DT_MS)} steps, CPU (target: Brian2 <= 5x SpikingJelly's time)")
    if not have_sj:
        return ["", title, "", "Not measured: `spikingjelly` is not installed (`pip install -e '.[dev]'` "
                "installs it)."]
    import spikingjelly
    version = getattr(spikingjelly, "__version__", None)
    if version is None:
        from importlib.metadata import version as _v
        version = _v("spikingjelly")
    lines = ["", title, "",
             "| model | samples | steps | Brian2 `" + TARGET + "` (s) | SpikingJelly (s) | Brian2 / SpikingJelly "
             "| target <= 5x | Brian2 first call (s) | ANN | Brian2 SNN | SpikingJelly SNN | same prediction "
             "| same lambda | first spiking layer: equal counts | largest count difference |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['model']} | {r['n']} | {r['steps']} | {r['b2']:.3f} | {r['sj']:.3f} | {r['ratio']:.1f}x "
                     f"| {'met' if r['ratio'] <= 5 else 'not met'} | {r['first']:.3f} | {r['ann']:.4f} "
                     f"| {r['acc_b2']:.4f} "
                     f"| {r['acc_sj']:.4f} | {r['agree']:.3f} | {'yes' if r['same_lambda'] else 'no'} "
                     f"| {r['h1_equal']:.4f} | {r['h1_maxdiff']:.0f} |")
    lines += ["", "Times: median of {n} repetitions, Brian2 and SpikingJelly interleaved, each after one untimed "
              "run; every time covers simulation and read-out of the whole test set to predicted classes, never the "
              "conversion (Brian2: one `ConvertedSNN.evaluate` call, which also decodes rates, activations and the "
              "accuracy after every step; SpikingJelly: `functional.reset_net`, the steps, the argmax; single-step "
              "mode, as the converter returns it). Neither time includes building the network: SpikingJelly's "
              "module exists once converted, and Brian2's network is built, and its code generated, by the first "
              "`evaluate` call of a batch size, which keeps it for later calls (`bio.prepared`; 'Brian2 first call' "
              "is that untimed call, with the compiled code already in the per-user cache). All repetitions (s): "
              "{reps}. Both on "
              "the CPU with {threads} torch thread(s) (OMP_NUM_THREADS=1; Brian2's generated code is "
              "single-threaded).".format(
                  n=N_REPS, threads=rows[0]["threads"] if rows else 1,
                  reps="; ".join(f"{r['model']}: Brian2 " + ", ".join(f"{t:.3f}" for t in r["b2_all"])
                                 + ", SpikingJelly " + ", ".join(f"{t:.3f}" for t in r["sj_all"]) for r in rows)),
              "",
              f"Conversion on each side: `bridge.convert.to_snn(net, neuron=\"if\", normalisation=\"max\")` and "
              f"SpikingJelly {version}'s `ann2snn.Converter(RateCodingRecipe(dataloader=[training split as one "
              "batch], mode=\"Max\"))`: both scale each layer by its largest post-ReLU activation on the training "
              "split ('same lambda' checks the scales agree to 1e-5), both fold BatchNorm into the convolution, and "
              "both use ideal IF neurons with threshold 1 and reset by subtraction, driven by the analog pixels as a "
              "constant input at every step (`input=\"current\"`). They differ in three ways: SpikingJelly's output "
              "layer does not spike (its analog outputs are summed over the steps) where ours is a spiking layer read "
              "by counts (ties by potential); SpikingJelly max-pools the layer's spikes step by step (a max over "
              "binary spikes is an OR, which over-counts), where ours gates spikes by the running spike counts "
              "(`synapses.MaxPoolGate`); and SpikingJelly passes a layer's spikes on within the same step, where "
              "Brian2's default schedule delivers them one step later. SpikingJelly's step-mode backend refuses "
              "`nn.Unflatten`, so the CNN's leading Unflatten is applied to its inputs instead.",
              "",
              "Are the spikes comparable? The first spiking layer sees the same constant input on both sides and "
              "integrates it the same way, so its spike counts per neuron and sample should agree up to float32 "
              "(SpikingJelly) against float64 (Brian2) rounding at exact threshold crossings: the 'equal counts' "
              "column is the fraction of (sample, neuron) counts that are identical. Deeper layers differ by "
              "design (above), so accuracy on the same test set is the check there."]
    lines += parts_table(rows)
    cnn = [r for r in rows if not r["model"].startswith("MLP")]
    for r in cnn:
        if abs(r["acc_b2"] - r["acc_sj"]) > 0.005:
            lines += ["", f"{r['model']}: the accuracies differ ({r['acc_b2']:.4f} against {r['acc_sj']:.4f} at "
                      f"{r['steps']} steps): SpikingJelly's spike-wise max pooling costs accuracy, so this row "
                      "compares times at the same number of steps, not at the same accuracy."]
    return lines


def parts_table(rows) -> list[str]:
    """Markdown: where Brian2's time goes, against SpikingJelly's whole run (why the 5x target holds or not)."""
    lines = ["", "### Where Brian2's time goes (the whole test set, profiled)", "",
             "| model | SpikingJelly, whole run (s) | Brian2 kept network: setting inputs (s) | Network.run (s) "
             "| of which generated code (s) | generated code / SpikingJelly | reading monitors (s) "
             "| first call adds: build and code generation (s) | a one-off run instead: build (s) | its "
             "Network.run (s) | synaptic events | heaviest pathway | its time (s) | its events | ns per event |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        q = r["parts"]
        ns = 1e9 * q["heaviest_s"] / q["heaviest_events"] if q["heaviest_events"] else float("nan")
        lines.append(f"| {r['model']} | {r['sj']:.3f} | {q['set']:.3f} | {q['run']:.3f} | {q['code']:.3f} "
                     f"| {q['code'] / r['sj']:.1f}x | {q['record']:.3f} | {q['prepare']:.3f} | {q['once_build']:.3f} "
                     f"| {q['once_run']:.3f} | {q['events'] / 1e6:.1f} M | {q['heaviest']} | {q['heaviest_s']:.3f} "
                     f"| {q['heaviest_events'] / 1e6:.1f} M | {ns:.1f} |")
    lines += ["", "Kept network (`bio.prepared`, what `evaluate` runs from its second call of a batch size on): "
              "setting inputs is restoring the state stored before the first step and the input currents; "
              "Network.run is Brian2's own, less the code generation it would repeat at every run, so it holds the "
              "steps, the spike queues and Brian2's Python loop; 'generated code' is the time Brian2's own profiling "
              "(`run(profile=True)`) attributes to the objects' compiled code over the steps. 'First call adds': "
              "building the Brian2 objects and Brian2 generating their code, once per batch size (the compiled "
              "modules load from the per-user cache). A one-off `bio.simulate.run` pays a build and a code "
              "generation inside its Network.run at every call, as `evaluate` did before it kept its network. "
              "Medians of the profiled repetitions (profiling adds a little to each step), so the parts need not "
              "add up to the evaluation times above, which also include decoding. Synaptic events: every spike "
              "of a presynaptic neuron counted once per synapse it has (the analog input is a current computed "
              "once, not events)."]
    for r in rows:
        q = r["parts"]
        if r["ratio"] <= 5:
            lines += ["", f"{r['model']}: met ({r['ratio']:.1f}x); the generated code takes "
                      f"{q['code'] / r['sj']:.1f}x SpikingJelly's whole run, {q['heaviest_s'] / q['code']:.0%} of it "
                      f"the {q['heaviest']} pathway delivering {q['heaviest_events'] / 1e6:.1f} M synaptic events one "
                      f"by one, where SpikingJelly computes each step's layer as one dense tensor operation."]
        elif q["code"] / r["sj"] > 5:
            lines += ["", f"{r['model']}: not met; the generated code alone takes {q['code'] / r['sj']:.1f}x "
                      f"SpikingJelly's whole run; {q['heaviest_s'] / q['code']:.0%} of it is the {q['heaviest']} "
                      f"pathway delivering {q['heaviest_events'] / 1e6:.1f} M synaptic events one by one "
                      f"({1e9 * q['heaviest_s'] / max(q['heaviest_events'], 1):.1f} ns each), where SpikingJelly "
                      "computes each step's layer as one dense tensor operation. No fixed cost is left to remove "
                      "that could bring this row under 5x; only cheaper event delivery could."]
        else:
            lines += ["", f"{r['model']}: not met; the generated code takes {q['code'] / r['sj']:.1f}x "
                      f"SpikingJelly's whole run; the rest is Brian2's loop and spike queues "
                      f"({q['run'] - q['code']:.3f} s), setting the inputs ({q['set']:.3f} s) and reading and "
                      "decoding the record."]
    return lines


if __name__ == "__main__":
    sys.exit(main())
