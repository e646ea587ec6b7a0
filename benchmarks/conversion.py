"""ANN -> SNN conversion on the digits: accuracy, accuracy vs time, CKA, and speed.

Claims checked (issue 4):
- MLP and CNN (BatchNorm + max pooling), ideal IF neurons, constant-current
  input: SNN accuracy within 0.5 percentage points of the ANN at 32 ms (dt 1 ms);
  Poisson input: within 1.0 point at 100 ms.
- per-layer linear CKA (ANN activations vs SNN rates, 32 ms) >= 0.95 wherever
  the accuracy gap is <= 0.5 points.
- the whole test set in one Brian2 run (cython) is >= 50x faster than running
  the samples one at a time (SNN Toolbox's way; timed on 10 samples and
  extrapolated), and is timed against the NumPy reference simulation.

    .venv/bin/python benchmarks/conversion.py     (about 5-8 minutes on 2 cores)

Prints a table and writes its section of docs/benchmarks.md.
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import datetime
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ann import data, models, train
from bridge import compare, convert

DT_MS = 1.0
T_CURRENT_MS, T_POISSON_MS, T_CURVE_MS = 32.0, 100.0, 100.0
CURVE_AT_MS = (2, 4, 8, 16, 32, 64, 100)
N_SINGLE = 10
TARGET = "cython"


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


def trained(ds):
    nets = {}
    torch.manual_seed(0)
    nets["MLP 64-128-10"] = models.MLP(64, [128], 10)
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


def main() -> int:
    start = time.perf_counter()
    ds = data.digits(seed=0)
    test = ds.test
    nets = trained(ds)
    ok = True
    acc_rows, curve_rows, cka_rows, speed_rows = [], [], [], []
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

        # speed: constant current, 32 ms, percentile; the runs above warmed the cython cache
        snn = convert.to_snn(net, calibration=ds.train.x, normalisation="percentile")
        snn.evaluate(test.subset(np.arange(2)), duration_ms=T_CURRENT_MS, target=TARGET)  # warm this size
        batched = snn.evaluate(test, duration_ms=T_CURRENT_MS, dt_ms=DT_MS, target=TARGET)
        ref = snn.evaluate(test, duration_ms=T_CURRENT_MS, dt_ms=DT_MS, reference=True)
        t0 = time.perf_counter()
        for k in range(N_SINGLE):
            snn.evaluate(test.subset(np.array([k])), duration_ms=T_CURRENT_MS, dt_ms=DT_MS, target=TARGET)
        single = (time.perf_counter() - t0) / N_SINGLE * len(test)
        agree = float(np.mean(batched.predictions == ref.predictions))
        speed_rows.append((name, len(test), batched.wall_s, ref.wall_s, single, single / batched.wall_s, agree))
        ok &= single / batched.wall_s >= 50 and agree >= 0.99
        print(f"{name:20s} speed: batched {batched.wall_s:.2f} s, reference {ref.wall_s:.2f} s, one at a time "
              f"{single:.1f} s (extrapolated) -> {single / batched.wall_s:.0f}x; Brian2/reference agree {agree:.3f}",
              flush=True)

    total = time.perf_counter() - start
    md = report(acc_rows, curve_rows, cka_rows, speed_rows, total, ok)
    print(md)
    from _docs import write_section
    out = write_section("conversion", md)
    print(f"wrote {out}; all claims hold: {ok}")
    return 0 if ok else 1


def report(acc_rows, curve_rows, cka_rows, speed_rows, total_s, ok) -> str:
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Benchmark: ANN -> SNN conversion (bridge.convert)",
        "",
        f"Run {now} on {machine()}; Brian2 target `{TARGET}`, dt = {DT_MS:g} ms; total {total_s:.0f} s.",
        "Command: `.venv/bin/python benchmarks/conversion.py`. Data: scikit-learn digits, "
        f"`ann.data.digits(seed=0)` test split ({speed_rows[0][1]} samples); models trained 30 epochs with "
        "`ann.train.fit` (seed 0); calibration on the training split; ideal IF neurons, reset by subtraction, "
        "max rate 1000 Hz.",
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
    lines += ["", "## Speed: whole test set, 32 ms, warm cython cache (claim: batched >= 50x faster than one at a time)",
              "", "| model | samples | one Brian2 run (s) | NumPy reference (s) | one at a time (s, extrapolated) "
              "| speed-up | Brian2 = reference predictions |", "|---|---|---|---|---|---|---|"]
    for name, n, b, r, s, x, agree in speed_rows:
        lines.append(f"| {name} | {n} | {b:.2f} | {r:.2f} | {s:.1f} | {x:.0f}x | {agree:.3f} |")
    lines += ["", f"One at a time: {N_SINGLE} single-sample Brian2 runs (build + run, warm cache), mean time "
              "times the number of test samples — the way SNN Toolbox's Brian2 backend simulates. "
              "The batched run holds one independent copy of the network per sample (bio.Layered).",
              "The total time assumes Brian2's cython cache is warm; a first run on a fresh machine also "
              "compiles the generated code once (about 9 more minutes on the 2 shared cores used here).",
              "", f"All claims hold: **{'yes' if ok else 'no'}**.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
