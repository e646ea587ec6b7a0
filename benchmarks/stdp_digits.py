"""Benchmark: the Diehl & Cook (2015) STDP network learning the 8x8 digits unsupervised.

Trains `bio.DiehlCook` with 100 and 400 excitatory neurons on the training split of
`ann.data.digits(seed=0)` (the same stratified split the ANN benchmarks use), labels
the neurons from the training split only, and reports test accuracy and wall time per
training sample. The issue's target: >= 90% test accuracy with 400 neurons.

    .venv/bin/python benchmarks/stdp_digits.py                      # 100 and 400 neurons
    .venv/bin/python benchmarks/stdp_digits.py --sizes 400 --epochs 2

Prints a table and writes it, with the date and machine, into docs/benchmarks.md
(use --no-write to skip that).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ann.data import digits  # noqa: E402  (NumPy only: no torch is imported)
from brian2 import mV  # noqa: E402
from dataclasses import replace  # noqa: E402

from bio.stdp_learner import DiehlCook, DiehlCookParams  # noqa: E402


def run_size(n_exc: int, ds, epochs: int, target: str, seed: int, params=None) -> dict:
    net = DiehlCook(n_exc=n_exc, seed=seed, params=params or DiehlCookParams())
    x, y = ds.train.x, ds.train.y
    t0 = time.perf_counter()
    net.fit(x, y, epochs=epochs, target=target, seed=seed, progress=True)
    t_fit = time.perf_counter() - t0
    # time the STDP phase alone as well: fit = training + a labelling pass
    t1 = time.perf_counter()
    acc = net.evaluate(ds.test.x, ds.test.y, target=target, seed=seed + 7)
    t_test = time.perf_counter() - t1
    train_acc = float(np.mean(net.vote(net.responses(x, target=target, seed=seed + 1)) == y))
    return {"n_exc": n_exc, "epochs": epochs, "test_acc": acc, "train_acc": train_acc,
            "fit_s": t_fit, "train_s": net.last_train_s,
            "s_per_sample": net.last_train_s / (len(x) * epochs), "test_s": t_test,
            "unlabelled": int((net.labels < 0).sum())}


def table(rows, n_train, n_test) -> str:
    lines = ["| exc neurons | epochs | test acc | train acc | STDP train s | s / training sample "
             "| fit s (train + label) | test s | unlabelled |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['n_exc']} | {r['epochs']} | {r['test_acc']:.3f} | {r['train_acc']:.3f} "
                     f"| {r['train_s']:.0f} | {r['s_per_sample']:.3f} | {r['fit_s']:.0f} "
                     f"| {r['test_s']:.0f} | {r['unlabelled']} |")
    return "\n".join(lines) + f"\n\n(train {n_train}, test {n_test} images)"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,400", help="comma-separated numbers of excitatory neurons")
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--target", default="cython", choices=["numpy", "cython", "cpp_standalone"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--theta-plus-mv", type=float, default=None,
                    help="override the adaptive-threshold step (default: DiehlCookParams)")
    ap.add_argument("--no-write", action="store_true", help="do not write into docs/benchmarks.md")
    args = ap.parse_args(argv)
    ds = digits(seed=0)
    params = DiehlCookParams()
    if args.theta_plus_mv is not None:
        params = replace(params, theta_plus=args.theta_plus_mv * mV)
    rows = []
    for n in [int(s) for s in args.sizes.split(",")]:
        rows.append(run_size(n, ds, args.epochs, args.target, args.seed, params))
        print(f"n_exc={n}: test accuracy {rows[-1]['test_acc']:.3f}", flush=True)
    text = table(rows, len(ds.train), len(ds.test))
    print(text)
    if not args.no_write:
        stamp = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        machine = f"{platform.node()}, {platform.processor() or platform.machine()}, {os.cpu_count()} cores"
        from _docs import write_section
        out = write_section("stdp_digits", f"## STDP digits benchmark (Diehl & Cook 2015)\n\n{stamp}; {machine}; "
                       f"target {args.target}, seed {args.seed}.\n"
                       f"Command: `.venv/bin/python benchmarks/stdp_digits.py --sizes {args.sizes} "
                       f"--epochs {args.epochs}`\n\n{text}\n")
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
