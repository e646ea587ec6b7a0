"""bio.analysis on Elephant against its former hand-written version: same numbers, and time.

Claim checked (issue 14): on a 10 000-neuron, 1 s record the statistics that existed before
the move to Elephant (rates, mean_rate, binned_counts, cv_isi, fano_factor, synchrony,
population_rate, power_spectrum, peak_frequency) give the same results and take no more than
1.5x the time of the hand-written versions, which are copied below as the baseline (this
project's own code, bio/analysis.py at commit 61511fb).

The record: 10 000 independent Bernoulli-per-step (Poisson) neurons on Brian2's 0.1 ms time
grid, each with its own rate drawn uniformly from 20-40 Hz (about 300 000 spikes), 1 s;
synthetic, so the benchmark does not depend on the network builders.

Timing: `--repeats` rounds; in each round every function runs old then new (the order
alternates between rounds), each timed as the mean of enough calls to last >= 50 ms.
Reported: per round the ratio new / old for each function and for the whole set (the sum of
one call of each), then the median and the spread (min-max) over rounds. The new-only
statistics (lvr, isis, cv_per_neuron, psth, cch, sttc, spike_contrast) are timed alone.

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/analysis_speed.py             (~1-2 min)
    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/analysis_speed.py --repeats 3 --no-write
"""
from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import argparse
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # run from a clone

import numpy as np
from scipy import signal

from bio import analysis
from bio.record import SpikeRecord

N_NEURONS, DURATION_S, DT_S, RATE_RANGE_HZ = 10_000, 1.0, 1e-4, (20.0, 40.0)


def synthetic_record(seed: int = 0) -> SpikeRecord:
    """N_NEURONS Poisson neurons on a DT_S grid (at most one spike per step, as in Brian2)."""
    rng = np.random.default_rng(seed)
    rate = rng.uniform(*RATE_RANGE_HZ, N_NEURONS)
    steps = int(round(DURATION_S / DT_S))
    ks, iss = [], []
    for start in range(0, N_NEURONS, 1000):
        block = rate[start:start + 1000]
        k, i = np.nonzero(rng.random((steps, len(block))) < block * DT_S)  # (T, N) spikes
        ks.append(k)
        iss.append(i + start)
    k, i = np.concatenate(ks), np.concatenate(iss)
    order = np.lexsort((i, k))  # by time, ties by index: Brian2's order
    return SpikeRecord({"exc": k[order] * DT_S}, {"exc": i[order].astype(np.int64)}, {"exc": N_NEURONS},
                       DURATION_S)


# ---- the baseline: bio/analysis.py before Elephant (commit 61511fb), statistics only, verbatim

def _window(rec, t_start_s, t_stop_s):
    t_stop_s = rec.duration_s if t_stop_s is None else t_stop_s
    if not t_stop_s > t_start_s:
        raise ValueError(f"empty analysis window [{t_start_s}, {t_stop_s}) s")
    return t_start_s, t_stop_s


def old_rates(rec, pop, t_start_s=0.0, t_stop_s=None):
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    return rec.rates_hz(pop, t_start_s, t_stop_s)


def old_mean_rate(rec, pop, t_start_s=0.0, t_stop_s=None):
    return float(old_rates(rec, pop, t_start_s, t_stop_s).mean())


def old_cv_isi(rec, pop, t_start_s=0.0, t_stop_s=None):
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    cvs = []
    for train in rec.spike_trains(pop):
        train = train[(train >= t_start_s) & (train < t_stop_s)]
        if len(train) >= 3:
            isi = np.diff(train)
            cvs.append(isi.std() / isi.mean() if isi.mean() > 0 else 0.0)
    return float(np.mean(cvs)) if cvs else float("nan")


def old_binned_counts(rec, pop, bin_s, t_start_s=0.0, t_stop_s=None, neurons=None):
    rec._check(pop)
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    if bin_s <= 0:
        raise ValueError(f"bin_s must be positive, got {bin_s}")
    n_bins = int(np.floor((t_stop_s - t_start_s) / bin_s + 1e-9))
    if n_bins < 1:
        raise ValueError(f"bin_s = {bin_s} s is longer than the window of {t_stop_s - t_start_s} s")
    neurons = np.arange(rec.n_neurons[pop]) if neurons is None else np.asarray(neurons, dtype=np.int64)
    column = np.full(rec.n_neurons[pop], -1, dtype=np.int64)
    column[neurons] = np.arange(len(neurons))
    t, i = rec.times_s[pop], rec.indices[pop]
    k = np.floor((t - t_start_s) / bin_s + 1e-9).astype(np.int64)
    keep = (k >= 0) & (k < n_bins) & (column[i] >= 0)
    counts = np.zeros((n_bins, len(neurons)))
    np.add.at(counts, (k[keep], column[i[keep]]), 1.0)
    return counts


def old_fano_factor(rec, pop, bin_s=0.1, t_start_s=0.0, t_stop_s=None):
    counts = old_binned_counts(rec, pop, bin_s, t_start_s, t_stop_s)
    mean = counts.mean(axis=0)
    active = mean > 0
    if not active.any():
        return float("nan")
    return float(np.mean(counts[:, active].var(axis=0) / mean[active]))


def old_synchrony(rec, pop, bin_s=5e-3, t_start_s=0.0, t_stop_s=None, max_neurons=1000, seed=0):
    rec._check(pop)
    n = rec.n_neurons[pop]
    neurons = np.arange(n)
    if n > max_neurons:
        neurons = np.sort(np.random.default_rng(seed).choice(n, max_neurons, replace=False))
    x = old_binned_counts(rec, pop, bin_s, t_start_s, t_stop_s, neurons)
    per_neuron = x.var(axis=0).mean()
    if per_neuron == 0:
        return float("nan")
    return float(np.sqrt(x.mean(axis=1).var() / per_neuron))


def old_population_rate(rec, pop, bin_s=1e-3, t_start_s=0.0, t_stop_s=None):
    rec._check(pop)
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    n_bins = int(np.floor((t_stop_s - t_start_s) / bin_s + 1e-9))
    if n_bins < 1:
        raise ValueError(f"bin_s = {bin_s} s is longer than the window of {t_stop_s - t_start_s} s")
    t = rec.times_s[pop]
    k = np.floor((t - t_start_s) / bin_s + 1e-9).astype(np.int64)
    k = k[(k >= 0) & (k < n_bins)]
    counts = np.bincount(k, minlength=n_bins).astype(np.float64)
    centres = t_start_s + (np.arange(n_bins) + 0.5) * bin_s
    return centres, counts / (max(rec.n_neurons[pop], 1) * bin_s)


def old_power_spectrum(rec, pop, bin_s=1e-3, t_start_s=0.0, t_stop_s=None, segment_s=0.5):
    _, r = old_population_rate(rec, pop, bin_s, t_start_s, t_stop_s)
    nperseg = max(2, min(len(r), int(round(segment_s / bin_s))))
    freq, power = signal.welch(r - r.mean(), fs=1.0 / bin_s, nperseg=nperseg, detrend=False)
    return freq, power


def old_peak_frequency(rec, pop, bin_s=1e-3, f_min_hz=2.0, t_start_s=0.0, t_stop_s=None, segment_s=0.5):
    freq, power = old_power_spectrum(rec, pop, bin_s, t_start_s, t_stop_s, segment_s)
    band = freq >= f_min_hz
    if not band.any() or not np.any(power[band] > 0):
        return float("nan")
    return float(freq[band][np.argmax(power[band])])


# ---- the comparison

PAIRS = {  # name: (old, new, keyword arguments as the studies call them)
    "rates": (old_rates, analysis.rates, {}),
    "mean_rate": (old_mean_rate, analysis.mean_rate, {}),
    "binned_counts": (old_binned_counts, analysis.binned_counts, {"bin_s": 5e-3}),
    "cv_isi": (old_cv_isi, analysis.cv_isi, {}),
    "fano_factor": (old_fano_factor, analysis.fano_factor, {}),
    "synchrony": (old_synchrony, analysis.synchrony, {}),
    "population_rate": (old_population_rate, analysis.population_rate, {}),
    "power_spectrum": (old_power_spectrum, analysis.power_spectrum, {}),
    "peak_frequency": (old_peak_frequency, analysis.peak_frequency, {}),
}


def difference(a, b) -> str:
    """'identical' when every number is bit-equal, else the largest relative difference."""
    a = [np.asarray(x, dtype=np.float64) for x in (a if isinstance(a, tuple) else (a,))]
    b = [np.asarray(x, dtype=np.float64) for x in (b if isinstance(b, tuple) else (b,))]
    if all(np.array_equal(x, y, equal_nan=True) for x, y in zip(a, b)):
        return "identical"
    rel = max(float(np.nanmax(np.abs(x - y) / np.maximum(np.abs(x), 1e-300))) for x, y in zip(a, b))
    return f"max rel. diff {rel:.1e}"


def timed(fn, rec, kwargs, min_s: float = 0.05) -> float:
    """Mean seconds per call over enough calls to last >= min_s (after one warm call)."""
    fn(rec, "exc", **kwargs)
    n, t0 = 0, time.perf_counter()
    while True:
        fn(rec, "exc", **kwargs)
        n += 1
        elapsed = time.perf_counter() - t0
        if elapsed >= min_s:
            return elapsed / n


def new_only(rec) -> list[tuple[str, float]]:
    """Seconds per call of the statistics that have no hand-written predecessor."""
    events = np.arange(0.1, 0.8, 0.01)  # 70 events
    calls = {
        "cv_per_neuron": lambda: analysis.cv_per_neuron(rec, "exc"),
        "isis": lambda: analysis.isis(rec, "exc"),
        "lvr": lambda: analysis.lvr(rec, "exc"),
        "psth (70 events, all neurons)": lambda: analysis.psth(rec, "exc", events),
        "cch (one pair, +-50 ms)": lambda: analysis.cch(rec, "exc", 0, 1),
        "sttc (one pair)": lambda: analysis.sttc(rec, "exc", 0, 1),
        "spike_contrast (200 neurons)": lambda: analysis.spike_contrast(rec, "exc"),
    }
    out = []
    for name, call in calls.items():
        call()
        t0 = time.perf_counter()
        call()
        out.append((name, time.perf_counter() - t0))
    return out


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=7, help="timing rounds (median and spread reported)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-write", action="store_true", help="do not write docs/benchmarks.md")
    args = ap.parse_args(argv)

    rec = synthetic_record(args.seed)
    n_spikes = len(rec.times_s["exc"])
    print(f"record: {N_NEURONS} neurons, {DURATION_S} s, {n_spikes} spikes "
          f"({n_spikes / N_NEURONS / DURATION_S:.1f} Hz mean)", flush=True)

    same = {name: difference(old(rec, "exc", **kw), new(rec, "exc", **kw)) for name, (old, new, kw) in PAIRS.items()}
    ratios = {name: [] for name in PAIRS}
    totals = []
    old_s = {name: [] for name in PAIRS}
    new_s = {name: [] for name in PAIRS}
    for r in range(args.repeats):
        for name, (old, new, kw) in PAIRS.items():
            first, second = (old, new) if r % 2 == 0 else (new, old)
            t_first, t_second = timed(first, rec, kw), timed(second, rec, kw)
            t_old, t_new = (t_first, t_second) if r % 2 == 0 else (t_second, t_first)
            old_s[name].append(t_old)
            new_s[name].append(t_new)
            ratios[name].append(t_new / t_old)
        totals.append(sum(new_s[n][-1] for n in PAIRS) / sum(old_s[n][-1] for n in PAIRS))
        print(f"round {r + 1}/{args.repeats}: whole set new / old = {totals[-1]:.2f}x", flush=True)

    def spread(xs):
        return f"{np.median(xs):.2f}x ({min(xs):.2f}-{max(xs):.2f})"

    lines = [
        "## bio.analysis on Elephant vs its hand-written predecessor (10 000 neurons, 1 s)",
        "",
        f"Command: `OMP_NUM_THREADS=1 .venv/bin/python benchmarks/analysis_speed.py --repeats {args.repeats}`. "
        f"Record: {N_NEURONS} independent Poisson neurons on a 0.1 ms grid, rates uniform in "
        f"{RATE_RANGE_HZ[0]:g}-{RATE_RANGE_HZ[1]:g} Hz, {DURATION_S:g} s, {n_spikes} spikes (synthetic). "
        "Baseline: the hand-written statistics of bio/analysis.py at commit 61511fb, copied into the "
        "benchmark. Each cell: median over rounds of the mean time per call (rounds interleave old and "
        "new); ratio = new / old, median (min-max over rounds).",
        "",
        "| statistic | old ms | new ms | new / old | results |",
        "|---|---|---|---|---|",
    ]
    for name in PAIRS:
        lines.append(f"| {name} | {np.median(old_s[name]) * 1e3:.2f} | {np.median(new_s[name]) * 1e3:.2f} | "
                     f"{spread(ratios[name])} | {same[name]} |")
    old_total = sum(np.median(old_s[n]) for n in PAIRS) * 1e3
    new_total = sum(np.median(new_s[n]) for n in PAIRS) * 1e3
    lines.append(f"| **whole set** (one call each) | {old_total:.1f} | {new_total:.1f} | "
                 f"**{spread(totals)}** | |")
    verdict = "holds" if np.median(totals) <= 1.5 else "FAILS"
    over = [n for n in PAIRS if np.median(ratios[n]) > 1.5]
    extra_ms = [(np.median(new_s[n]) - np.median(old_s[n])) * 1e3 for n in over]
    lines += ["", f"Target: the whole set <= 1.5x the hand-written time: {verdict} "
                  f"(median {np.median(totals):.2f}x over {args.repeats} rounds)."
                  + (f" Single functions above 1.5x: {', '.join(over)}: each bins the pooled "
                     "train with Elephant's BinnedSpikeTrain (a floating-point edge correction over "
                     "every spike, np.unique, a sparse matrix) where the old code did one bincount: "
                     f"{min(extra_ms):.1f}-{max(extra_ms):.1f} ms more per call." if over else "")
                  + f" Load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores "
                  "(other jobs may share them; ratios come from interleaved rounds).",
              "", "New statistics (no predecessor), one warm call each:", "",
              "| statistic | ms |", "|---|---|"]
    lines += [f"| {name} | {s * 1e3:.1f} |" for name, s in new_only(rec)]
    table = "\n".join(lines) + "\n"
    print(table)
    if not args.no_write:
        from _docs import write_section
        write_section("analysis_speed", table)


if __name__ == "__main__":
    main()
