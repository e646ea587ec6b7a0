"""ANN -> SNN conversion on the digits: accuracy, accuracy vs time, CKA, neuron targets, and speed.

Claims checked (issue 4; targets and regimes: issue 9):
- MLP and CNN (BatchNorm + max pooling), ideal IF neurons, constant-current
  input: SNN accuracy within 0.5 percentage points of the ANN at 32 ms (dt 1 ms);
  Poisson input: within 1.0 point at 100 ms.
- per-layer linear CKA (ANN activations vs SNN rates, 32 ms) >= 0.95 wherever
  the accuracy gap is <= 0.5 points.
- the whole test set in one Brian2 run (cython) is >= 50x faster than running
  the samples one at a time (SNN Toolbox's way; timed on 10 samples and
  extrapolated), and is timed against the NumPy reference simulation (numpy and
  cython targets; constant-current input is computed once by the compiler, so the
  input synapses are not simulated).
Reported beside them (issue 9): accuracy against simulated time when the MLP is
converted to other bio.neurons targets (LIF, AdEx, Izhikevich RS) and to the
cortical regime (leak, refractoriness, noise, Poisson input, <= 20 Hz), with each
target's first-hidden-layer rate and CV of ISIs: what a more biological neuron costs.

    .venv/bin/python benchmarks/conversion.py           (about 5-8 minutes on 2 cores)
    .venv/bin/python benchmarks/conversion.py --quick   (MLP only, 150 test samples; ~1 minute;
                                                         prints, does not write the docs)

Prints a table and writes its section of docs/benchmarks.md.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import datetime
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ann import data, models, train
from bio import analysis, neurons
from bridge import compare, convert

DT_MS = 1.0
T_CURRENT_MS, T_POISSON_MS, T_CURVE_MS = 32.0, 100.0, 100.0
CURVE_AT_MS = (2, 4, 8, 16, 32, 64, 100)
N_SINGLE = 10
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
    acc_rows, curve_rows, cka_rows, speed_rows, target_rows = [], [], [], [], []
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
            snn.evaluate(test, duration_ms=T_CURRENT_MS, dt_ms=DT_MS, target=target)  # warm this size
            runs = [snn.evaluate(test, duration_ms=T_CURRENT_MS, dt_ms=DT_MS, target=target) for _ in range(3)]
            walls[target] = min(r.wall_s for r in runs)
        batched = runs[-1]
        ref = min((snn.evaluate(test, duration_ms=T_CURRENT_MS, dt_ms=DT_MS, reference=True) for _ in range(3)),
                  key=lambda r: r.wall_s)
        single = float("nan")
        if not args.quick:
            t0 = time.perf_counter()
            for k in range(N_SINGLE):
                snn.evaluate(test.subset(np.array([k])), duration_ms=T_CURRENT_MS, dt_ms=DT_MS, target=TARGET)
            single = (time.perf_counter() - t0) / N_SINGLE * len(test)
            ok &= single / walls[TARGET] >= 50
        identical = bool(np.array_equal(batched.out_counts, ref.out_counts)
                         and np.array_equal(batched.record.spike_counts("h1"), ref.record.spike_counts("h1")))
        speed_rows.append((name, len(test), walls["numpy"], walls[TARGET], ref.wall_s, single,
                           single / walls[TARGET], identical))
        ok &= identical
        print(f"{name:20s} speed: numpy {walls['numpy']:.2f} s, {TARGET} {walls[TARGET]:.2f} s, reference "
              f"{ref.wall_s:.2f} s, one at a time {single:.1f} s (extrapolated) -> "
              f"{single / walls[TARGET]:.0f}x; Brian2 spikes = reference spikes: {identical}", flush=True)

    total = time.perf_counter() - start
    md = report(acc_rows, curve_rows, cka_rows, speed_rows, target_rows, total, ok, args.quick)
    print(md)
    if args.quick:
        print(f"--quick: docs not written; all claims hold: {ok}")
        return 0 if ok else 1
    from _docs import write_section
    out = write_section("conversion", md)
    print(f"wrote {out}; all claims hold: {ok}")
    return 0 if ok else 1


def report(acc_rows, curve_rows, cka_rows, speed_rows, target_rows, total_s, ok, quick=False) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark: ANN -> SNN conversion (bridge.convert)",
        "",
        f"Run {now} on {machine()}; Brian2 target `{TARGET}`, dt = {DT_MS:g} ms; total {total_s:.0f} s."
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
              "| one at a time (s, extrapolated) | speed-up | Brian2 spikes = reference |",
              "|---|---|---|---|---|---|---|---|"]
    for name, n, wn, wc, r, s, x, same in speed_rows:
        lines.append(f"| {name} | {n} | {wn:.2f} | {wc:.2f} | {r:.2f} | {s:.1f} | {x:.0f}x | {'yes' if same else 'no'} |")
    lines += ["", "Each time is the best of 3 runs (build + run + read-back). Constant-current input is computed "
              "once by the compiler (`bio.inputs.Values`): the 64 x 128 input synapses per sample are not "
              "simulated. "
              f"One at a time: {N_SINGLE} single-sample Brian2 runs (build + run, warm cache), mean time "
              "times the number of test samples — the way SNN Toolbox's Brian2 backend simulates. "
              "The batched run holds one independent copy of the network per sample (bio.layered).",
              "The total time assumes Brian2's cython cache is warm; a first run on a fresh machine also "
              "compiles the generated code once.",
              "", f"All claims hold: **{'yes' if ok else 'no'}**.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
