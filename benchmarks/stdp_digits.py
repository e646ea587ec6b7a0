"""Benchmark: the Diehl & Cook (2015) STDP network learning the 8x8 digits without labels,
with every hyper-parameter chosen on validation data and the test accuracy over seeds.

Protocol (no test image is seen before step 3):
1. The training split of `ann.data.digits(seed=0)` (1347 images) is split once more,
   stratified with seed 0, into a fitting part (75%) and a validation part (25%).
2. For each network size, a staged search: every candidate is trained on the fitting
   part (network seed 0), its neurons are labelled on the fitting part, and it is scored
   on the validation part. Each stage starts from the best candidate so far and varies
   one thing (`STAGES`): the learning rule with its learning rate, the input delays,
   theta_plus, dt, the number of epochs.
3. The chosen configuration is trained on the whole training split for each seed
   (network initialisation, sample order and Poisson spikes), its neurons are labelled
   on the training split, and it is tested once on the test split (450 images):
   mean +- sd over the seeds.

    .venv/bin/python benchmarks/stdp_digits.py                   # sizes 100,400, seeds 0,1,2
    .venv/bin/python benchmarks/stdp_digits.py --sizes 100 --jobs 2 --no-write
    .venv/bin/python benchmarks/stdp_digits.py --config '{"rule": "pre"}'   # no search

Prints the validation table and the test table, and writes them with the date and the
machine into docs/benchmarks.md (section stdp_digits; --no-write skips that).
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ann.data import digits  # noqa: E402  (NumPy only: no torch is imported)

# the starting point of the search (DiehlCookParams' defaults before the search chose new ones)
START = {"rule": "pre", "eta": 0.05, "max_delay_ms": 0.0, "theta_plus_mv": 2.0, "dt_ms": 0.5, "epochs": 1}
# each stage: (name, candidates as overrides of the best configuration so far)
STAGES = [
    # "eta" is the rule's own rate: eta_post of Eq. 3 ("pre"), nu_post of the trace rule
    # (nu_pre scaled alike); 0.01 is the paper code's value for both
    ("rule x learning rate", [{"rule": r, "eta": e} for r in ("pre", "trace") for e in (0.01, 0.05, 0.2)]),
    ("input delays", [{"max_delay_ms": d} for d in (0.0, 10.0)]),
    ("theta_plus", [{"theta_plus_mv": t} for t in (0.25, 0.5, 1.0, 2.0, 4.0)]),
    ("dt", [{"dt_ms": d} for d in (0.25, 0.5, 1.0)]),
    ("epochs", [{"epochs": e} for e in (1, 2, 3)]),
]


def params_for(cfg: dict):
    """DiehlCookParams for a configuration dict (keys of START)."""
    from brian2 import mV, ms

    from bio.diehl_cook import DiehlCookParams

    base = DiehlCookParams()
    scale = cfg["eta"] / base.nu_post  # the trace rule keeps the code's nu_pre / nu_post
    return replace(base, rule=cfg["rule"], eta_post=cfg["eta"], nu_post=cfg["eta"],
                   nu_pre=base.nu_pre * scale, max_delay=cfg["max_delay_ms"] * ms,
                   theta_plus=cfg["theta_plus_mv"] * mV, dt=cfg["dt_ms"] * ms)


def describe(cfg: dict) -> str:
    return (f"{cfg['rule']}, eta {cfg['eta']:g}, delays 0-{cfg['max_delay_ms']:g} ms, "
            f"theta+ {cfg['theta_plus_mv']:g} mV, dt {cfg['dt_ms']:g} ms, {cfg['epochs']} ep")


def fit_and_score(n_exc: int, cfg: dict, fit, score, seed: int, target: str) -> dict:
    """Train on fit (x, y), label on fit, score on score (x, y). Returns accuracies and times."""
    import brian2 as b2

    from bio import stdp
    from bio.diehl_cook import diehl_cook_spec

    b2.BrianLogger.log_level_error()
    (x, y), (xs, ys) = fit, score
    spec = diehl_cook_spec(n_exc=n_exc, n_input=x.shape[1], params=params_for(cfg), seed=seed)
    t0 = time.perf_counter()
    trained = stdp.train(spec, x, epochs=cfg["epochs"], seed=seed, target=target, progress=False)
    t_train = time.perf_counter() - t0
    t1 = time.perf_counter()
    counts = stdp.responses(trained, x, seed=seed + 1, target=target)
    labels = stdp.assign_labels(counts, y)
    t_label = time.perf_counter() - t1
    t2 = time.perf_counter()
    acc = stdp.evaluate(trained, labels, xs, ys, seed=seed + 2, target=target)
    t_score = time.perf_counter() - t2
    return {"n_exc": n_exc, "seed": seed, "config": cfg, "acc": acc,
            "fit_acc": float(np.mean(labels.vote(counts) == y)), "train_s": t_train,
            "s_per_sample": t_train / (len(x) * cfg["epochs"]), "label_s": t_label, "score_s": t_score,
            "unlabelled": int((labels.neuron < 0).sum())}


def _run_all(jobs: list, workers: int) -> list:
    """fit_and_score over a list of argument tuples, `workers` processes at a time."""
    if workers <= 1:
        return [fit_and_score(*a) for a in jobs]
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(fit_and_score, *zip(*jobs)))


def search(n_exc: int, fit, val, target: str, workers: int, log) -> tuple[dict, list]:
    """The staged search of the module docstring. Returns (best config, rows of every try)."""
    best, tried, rows = dict(START), {}, []
    for stage, candidates in STAGES:
        cfgs = [{**best, **c} for c in candidates]
        todo = [c for c in cfgs if json.dumps(c, sort_keys=True) not in tried]
        for r in _run_all([(n_exc, c, fit, val, 0, target) for c in todo], workers):
            tried[json.dumps(r["config"], sort_keys=True)] = r
        scored = [tried[json.dumps(c, sort_keys=True)] for c in cfgs]
        for r in scored:
            rows.append({**r, "stage": stage})
            log(f"  [{n_exc} exc] {stage}: {describe(r['config'])}: validation {r['acc']:.3f} "
                f"({r['train_s']:.0f} s training)")
        best = max(scored, key=lambda r: r["acc"])["config"]  # ties: the earlier candidate
    return best, rows


def validation_table(rows, best) -> str:
    lines = ["| stage | configuration | validation acc | fit acc | unlabelled | training s |",
             "|---|---|---|---|---|---|"]
    for r in rows:
        name = describe(r["config"])
        if r["config"] == best:
            name = f"**{name}**"
        lines.append(f"| {r['stage']} | {name} | {r['acc']:.3f} | {r['fit_acc']:.3f} | {r['unlabelled']} "
                     f"| {r['train_s']:.0f} |")
    return "\n".join(lines)


def test_table(results: dict) -> str:
    lines = ["| exc neurons | configuration | test acc per seed | **test acc mean ± sd** | train acc "
             "| s / training sample | unlabelled neurons |", "|---|---|---|---|---|---|---|"]
    for n_exc, (cfg, rows) in results.items():
        accs = np.array([r["acc"] for r in rows])
        lines.append(f"| {n_exc} | {describe(cfg)} | {', '.join(f'{a:.3f}' for a in accs)} "
                     f"| **{accs.mean():.3f} ± {accs.std(ddof=1) if len(accs) > 1 else 0:.3f}** "
                     f"| {np.mean([r['fit_acc'] for r in rows]):.3f} "
                     f"| {np.mean([r['s_per_sample'] for r in rows]):.3f} "
                     f"| {np.mean([r['unlabelled'] for r in rows]):.0f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", default="100,400", help="comma-separated numbers of excitatory neurons")
    ap.add_argument("--seeds", default="0,1,2", help="comma-separated seeds of the final runs (>= 3 for sd)")
    ap.add_argument("--target", default="cython", choices=["numpy", "cython", "cpp_standalone"])
    ap.add_argument("--val-fraction", type=float, default=0.25, help="of the training split, for validation")
    ap.add_argument("--jobs", type=int, default=1, help="processes that train candidates side by side")
    ap.add_argument("--config", default=None,
                    help="JSON overrides of the starting configuration; skips the search (the "
                         "output then says the configuration was not selected on validation data)")
    ap.add_argument("--no-write", action="store_true", help="do not write into docs/benchmarks.md")
    args = ap.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    seeds = [int(s) for s in args.seeds.split(",")]
    from sklearn.model_selection import train_test_split

    ds = digits(seed=0)
    x_fit, x_val, y_fit, y_val = train_test_split(ds.train.x, ds.train.y, test_size=args.val_fraction,
                                                  random_state=0, stratify=ds.train.y)
    fit, val = (x_fit, y_fit), (x_val, y_val)
    train, test = (ds.train.x, ds.train.y), (ds.test.x, ds.test.y)

    def log(msg):
        print(msg, flush=True)

    start = time.perf_counter()
    chosen, searches = {}, {}
    for n in sizes:
        if args.config is None:
            log(f"search for {n} excitatory neurons ({len(y_fit)} fitting, {len(y_val)} validation images)")
            chosen[n], searches[n] = search(n, fit, val, args.target, args.jobs, log)
        else:
            chosen[n] = {**START, **json.loads(args.config)}
        log(f"{n} exc: chosen {describe(chosen[n])}")
    jobs = [(n, chosen[n], train, test, s, args.target) for n in sizes for s in seeds]
    finals = _run_all(jobs, args.jobs)
    results = {n: (chosen[n], [r for r in finals if r["n_exc"] == n]) for n in sizes}
    total_min = (time.perf_counter() - start) / 60

    command = (f".venv/bin/python benchmarks/stdp_digits.py --sizes {args.sizes} --seeds {args.seeds} "
               f"--target {args.target} --jobs {args.jobs}")
    command += f" --config '{args.config}'" if args.config else ""
    how = ("chosen by the staged search on the validation part (module docstring; one network seed per "
           "candidate, ties go to the earlier candidate)" if args.config is None else
           "GIVEN BY HAND with --config, not selected on validation data")
    text = [f"Command: `{command}` ({total_min:.0f} min wall in all).\n",
            f"Data: `ann.data.digits(seed=0)`; the search trains on {len(y_fit)} and validates on "
            f"{len(y_val)} images of the training split (stratified, seed 0); the final runs train "
            f"and label on all {len(ds.train)} training images and test once on the {len(ds.test)} "
            f"test images. Configuration {how}.\n",
            "### Test accuracy (mean ± sd over seeds " + ", ".join(map(str, seeds)) + ")\n",
            test_table(results), ""]
    for n, rows in searches.items():
        text += [f"### Validation search, {n} excitatory neurons\n", validation_table(rows, chosen[n]), ""]
    body = "\n".join(text)
    print(body)
    if not args.no_write:
        from _docs import write_section

        out = write_section("stdp_digits", "## STDP digits benchmark (Diehl & Cook 2015)\n\n" + body)
        print(f"wrote {out}")


if __name__ == "__main__":
    main()
