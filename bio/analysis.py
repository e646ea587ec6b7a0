"""Statistics of spiking activity, computed on a `SpikeRecord` (plain NumPy, no Brian2).

Rates, irregularity (CV and LvR of inter-spike intervals, Fano factor), synchrony (Golomb's
chi, spike contrast, STTC), cross-correlation histograms, the population rate, PSTHs and
the rate's power spectrum, and two figures. Every function takes the record and a
population name; times are in seconds and rates in Hz.

These are the measures Brunel (2000) uses to tell his network states apart:
synchronous regular (high synchrony, CV near 0) from asynchronous irregular
(low synchrony, CV near 1), and fast from slow oscillations (peak frequency).

Where Elephant (the NeuralEnsemble analysis library, elephant.readthedocs.io) has a
measure, the function calls Elephant. Elephant takes one spike train per call, and
building 10 000 `neo.SpikeTrain`s costs ~0.8 s, so population-wide measures hand Elephant
either the pooled population train (mean rate, population rate, PSTH) or, where its
functions accept an axis, all trains of equal spike count at once (CV, ISIs): the same
numbers as a per-train loop (tests/test_analysis.py checks both against Elephant and
against this module's former hand-written formulas). Code remains hand-written only for
what Elephant lacks, and each such function says why.
"""
from __future__ import annotations

import contextlib
import logging
import warnings

import elephant.utils
import neo
import numpy as np
import quantities as pq
from elephant import spectral
from elephant import spike_train_correlation as correlation
from elephant import spike_train_synchrony
from elephant import statistics as estats
from elephant.conversion import BinnedSpikeTrain
from matplotlib.figure import Figure

from .record import SpikeRecord


# ---------------------------------------------------------------- plumbing

def _window(rec: SpikeRecord, t_start_s: float, t_stop_s: float | None) -> tuple[float, float]:
    t_stop_s = rec.duration_s if t_stop_s is None else t_stop_s
    if not t_stop_s > t_start_s:
        raise ValueError(f"empty analysis window [{t_start_s}, {t_stop_s}) s")
    return t_start_s, t_stop_s


@contextlib.contextmanager
def _quiet_elephant():
    """Silence Elephant's notes on what we already handle: spikes within 1e-8 bins of a bin
    edge moved into the next bin (on a simulation's time grid that is most spikes), spikes
    past the last whole bin dropped (this module drops a partial bin by design), and unitless
    intervals read as ms (we pass ms)."""
    log = elephant.utils.logger
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Binning discarded")
            warnings.filterwarnings("ignore", message="No units specified")
            yield
    finally:
        log.setLevel(level)


def _by_neuron(rec: SpikeRecord, pop: str, t_start_s: float, t_stop_s: float) -> tuple[np.ndarray, np.ndarray]:
    """Spikes in [t_start_s, t_stop_s) grouped by neuron, each neuron's in time order.

    Returns (times (n_spikes,), bounds (n_neurons + 1,)): neuron k's train is
    times[bounds[k]:bounds[k + 1]].
    """
    rec._check(pop)
    t, i = rec.times_s[pop], rec.indices[pop]
    keep = (t >= t_start_s) & (t < t_stop_s)
    t, i = t[keep], i[keep]
    n = rec.n_neurons[pop]
    # NumPy sorts 16-bit integers stably by radix sort, ~8x faster than int64 for 3e5 spikes
    key = i.astype(np.uint16) if n <= 2 ** 16 else i
    order = np.argsort(key, kind="stable")
    bounds = np.concatenate([[0], np.cumsum(np.bincount(i, minlength=n))])
    return t[order], bounds


def _equal_length_trains(times: np.ndarray, bounds: np.ndarray, min_spikes: int):
    """Yield (neurons, trains) for every spike count c >= min_spikes present: neurons (m,) are
    the neurons with exactly c spikes and trains (m, c) their spike times, one row each."""
    counts = np.diff(bounds)
    for c in np.unique(counts[counts >= min_spikes]):
        neurons = np.flatnonzero(counts == c)
        yield neurons, times[bounds[neurons][:, None] + np.arange(c)]  # (m, c)


def _train(rec: SpikeRecord, pop: str, k: int) -> neo.SpikeTrain:
    """Neuron k of pop as a neo.SpikeTrain over the whole record."""
    rec._check(pop)
    if not 0 <= k < rec.n_neurons[pop]:
        raise ValueError(f"neuron {k} is not in population {pop!r} (indices 0..{rec.n_neurons[pop] - 1})")
    times = rec.times_s[pop][rec.indices[pop] == k]
    return neo.SpikeTrain(times, t_stop=rec.duration_s * pq.s, units="s")


def _sample(n: int, max_neurons: int, seed: int) -> np.ndarray:
    """All of range(n), or max_neurons of them drawn at random with seed, sorted."""
    if n <= max_neurons:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, max_neurons, replace=False))


# ---------------------------------------------------------------- rates

def _bins(rec: SpikeRecord, t_start_s: float, t_stop_s: float | None, bin_s: float):
    """(t_start_s, t_stop_s, n_bins) of whole bins of width bin_s in the window; a last partial
    bin is dropped."""
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    if bin_s <= 0:
        raise ValueError(f"bin_s must be positive, got {bin_s}")
    n_bins = int(np.floor((t_stop_s - t_start_s) / bin_s + 1e-9))
    if n_bins < 1:
        raise ValueError(f"bin_s = {bin_s} s is longer than the window of {t_stop_s - t_start_s} s")
    return t_start_s, t_stop_s, n_bins


def rates(rec: SpikeRecord, pop: str, t_start_s: float = 0.0, t_stop_s: float | None = None) -> np.ndarray:
    """Firing rate of each neuron in Hz over [t_start_s, t_stop_s). Returns (n_neurons,).

    Spike counts from the record (one bincount), not Elephant: Elephant's `mean_firing_rate`
    counts one train per call, and splitting a population into trains costs ~20x the count.
    The numbers are those of `mean_firing_rate` on each neuron's train over the window.
    """
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    return rec.rates_hz(pop, t_start_s, t_stop_s)


def mean_rate(rec: SpikeRecord, pop: str, t_start_s: float = 0.0, t_stop_s: float | None = None) -> float:
    """Mean firing rate of the population in Hz (spikes / neurons / seconds).

    Elephant's `statistics.mean_firing_rate` of the pooled population train, divided by the
    number of neurons. Elephant counts spikes in the closed [t_start, t_stop]; the train
    handed to it holds the spikes of the half-open [t_start_s, t_stop_s) that every function
    here uses, so adjacent windows never count a spike twice.
    """
    rec._check(pop)
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    t = rec.times_s[pop]
    pooled = t[(t >= t_start_s) & (t < t_stop_s)]
    if len(pooled) == 0:  # Elephant refuses an empty array
        return 0.0
    return float(estats.mean_firing_rate(pooled, t_start=t_start_s, t_stop=t_stop_s)) / max(rec.n_neurons[pop], 1)


def binned_counts(rec: SpikeRecord, pop: str, bin_s: float, t_start_s: float = 0.0,
                  t_stop_s: float | None = None, neurons: np.ndarray | None = None) -> np.ndarray:
    """Spike counts per time bin and neuron. Returns (n_bins, n_selected) float64.

    neurons: indices to keep (all by default). Bins are [t_start_s + k bin_s, ...),
    and a last partial bin is dropped.

    Hand-written: Elephant's `BinnedSpikeTrain` bins a list of `neo.SpikeTrain`s, one per
    neuron, and building those for 10 000 neurons costs 30-100x this binning.
    """
    rec._check(pop)
    t_start_s, t_stop_s, n_bins = _bins(rec, t_start_s, t_stop_s, bin_s)
    neurons = np.arange(rec.n_neurons[pop]) if neurons is None else np.asarray(neurons, dtype=np.int64)
    column = np.full(rec.n_neurons[pop], -1, dtype=np.int64)
    column[neurons] = np.arange(len(neurons))
    t, i = rec.times_s[pop], rec.indices[pop]
    k = np.floor((t - t_start_s) / bin_s + 1e-9).astype(np.int64)
    keep = (k >= 0) & (k < n_bins) & (column[i] >= 0)
    counts = np.zeros((n_bins, len(neurons)))  # (T, N)
    np.add.at(counts, (k[keep], column[i[keep]]), 1.0)
    return counts


def population_rate(rec: SpikeRecord, pop: str, bin_s: float = 1e-3, t_start_s: float = 0.0,
                    t_stop_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Instantaneous population rate. Returns (t_s, rate_hz), each (n_bins,); t_s are bin centres.

    Elephant's `statistics.time_histogram` of the pooled population train, divided by the
    number of neurons and the bin width. Bins are [t_start_s + k bin_s, ...); a last
    partial bin is dropped.
    """
    rec._check(pop)
    t_start_s, t_stop_s, n_bins = _bins(rec, t_start_s, t_stop_s, bin_s)
    t = rec.times_s[pop]
    pooled = neo.SpikeTrain(t[(t >= t_start_s) & (t < t_stop_s)], t_start=t_start_s * pq.s,
                            t_stop=t_stop_s * pq.s, units="s")
    with _quiet_elephant():
        hist = estats.time_histogram([pooled], bin_size=bin_s * pq.s, t_start=t_start_s * pq.s,
                                     t_stop=(t_start_s + n_bins * bin_s) * pq.s, output="counts")
    counts = hist.magnitude[:, 0].astype(np.float64)  # (n_bins,)
    centres = t_start_s + (np.arange(n_bins) + 0.5) * bin_s
    return centres, counts / (max(rec.n_neurons[pop], 1) * bin_s)


def psth(rec: SpikeRecord, pop: str, event_times_s, pre_s: float = 0.05, post_s: float = 0.2,
         bin_s: float = 5e-3, neurons: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Peri-stimulus time histogram: the mean rate per neuron around events.

    event_times_s: (n_events,) times of the events (stimulus onsets) in s; each window
                   [e - pre_s, e + post_s) must lie inside the record.
    neurons: indices to average over (all by default).
    Returns (t_s, rate_hz), each (n_bins,): t_s are bin centres relative to the event,
    rate_hz the mean over events and neurons. Elephant's `statistics.time_histogram`
    (output "rate": per trial and bin width) over one pooled train per event, divided
    by the number of neurons.
    """
    rec._check(pop)
    events = np.atleast_1d(np.asarray(event_times_s, dtype=np.float64))
    if events.size == 0:
        raise ValueError("psth needs at least one event time")
    if pre_s < 0 or post_s <= 0 or bin_s <= 0:
        raise ValueError(f"need pre_s >= 0, post_s > 0 and bin_s > 0; got {pre_s}, {post_s}, {bin_s}")
    outside = events[(events - pre_s < 0) | (events + post_s > rec.duration_s)]
    if outside.size:
        raise ValueError(f"events at {outside[:5].tolist()} s: their windows [e - {pre_s}, e + {post_s}) s "
                         f"leave the record [0, {rec.duration_s}] s")
    n_bins = int(np.floor((pre_s + post_s) / bin_s + 1e-9))
    if n_bins < 1:
        raise ValueError(f"bin_s = {bin_s} s is longer than the window of {pre_s + post_s} s")
    t, i = rec.times_s[pop], rec.indices[pop]
    n_sel = rec.n_neurons[pop]
    if neurons is not None:
        chosen = np.zeros(rec.n_neurons[pop], bool)
        chosen[np.asarray(neurons, dtype=np.int64)] = True
        t, n_sel = t[chosen[i]], int(chosen.sum())
    lo, hi = np.searchsorted(t, events - pre_s), np.searchsorted(t, events + post_s)
    trials = [neo.SpikeTrain(t[a:b] - e, t_start=-pre_s * pq.s, t_stop=post_s * pq.s, units="s")
              for a, b, e in zip(lo, hi, events)]
    with _quiet_elephant():
        hist = estats.time_histogram(trials, bin_size=bin_s * pq.s, t_start=-pre_s * pq.s,
                                     t_stop=(-pre_s + n_bins * bin_s) * pq.s, output="rate")
    rate = hist.rescale("Hz").magnitude[:, 0] / max(n_sel, 1)
    return -pre_s + (np.arange(n_bins) + 0.5) * bin_s, rate


# ---------------------------------------------------------------- irregularity

def isis(rec: SpikeRecord, pop: str, t_start_s: float = 0.0, t_stop_s: float | None = None) -> np.ndarray:
    """All inter-spike intervals (s) of all neurons of pop, within the window: (n_isis,), unordered.

    Elephant's `statistics.isi`, one call per group of trains with equal spike count.
    """
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    times, bounds = _by_neuron(rec, pop, t_start_s, t_stop_s)
    parts = [estats.isi(trains, axis=1).ravel() for _, trains in _equal_length_trains(times, bounds, 2)]
    return np.concatenate(parts) if parts else np.zeros(0)


def cv_per_neuron(rec: SpikeRecord, pop: str, t_start_s: float = 0.0, t_stop_s: float | None = None) -> np.ndarray:
    """Coefficient of variation of each neuron's ISIs in the window (std / mean, ddof 0).

    Returns (n_neurons,); NaN for neurons with fewer than 3 spikes (2 ISIs), 0 for a neuron
    whose ISIs are all 0. Elephant's `statistics.cv` (scipy.stats.variation) of
    `statistics.isi`: both accept a 2-D array and an axis, so all neurons with the same
    spike count go through in one call (~50 calls for 10 000 neurons instead of 10 000).
    """
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    times, bounds = _by_neuron(rec, pop, t_start_s, t_stop_s)
    out = np.full(rec.n_neurons[pop], np.nan)
    for neurons, trains in _equal_length_trains(times, bounds, 3):
        intervals = estats.isi(trains, axis=1)  # (m, c - 1)
        cv = estats.cv(intervals, axis=1)
        out[neurons] = np.where(intervals.mean(axis=1) > 0, cv, 0.0)
    return out


def cv_isi(rec: SpikeRecord, pop: str, t_start_s: float = 0.0, t_stop_s: float | None = None) -> float:
    """Mean coefficient of variation of inter-spike intervals (std/mean of each neuron's ISIs).

    Averaged over neurons with at least 3 spikes in the window (2 ISIs); NaN if
    none has. 0 for a clock, 1 for a Poisson process. Per neuron: `cv_per_neuron`.
    """
    cvs = cv_per_neuron(rec, pop, t_start_s, t_stop_s)
    cvs = cvs[~np.isnan(cvs)]
    return float(np.mean(cvs)) if cvs.size else float("nan")


def lvr(rec: SpikeRecord, pop: str, R_s: float = 5e-3, t_start_s: float = 0.0,
        t_stop_s: float | None = None) -> float:
    """Mean revised local variation LvR of the neurons' ISIs (Shinomoto et al. 2009,
    PLoS Comput Biol 5:e1000433), over neurons with at least 3 spikes in the window; NaN if none.

    R_s: refractoriness constant in s (5 ms, the paper's choice). LvR is 0 for a clock and
    1 + 4 R r for a Poisson process of rate r (1 with R = 0, where LvR is Lv): with
    exponential intervals, u = I1 / (I1 + I2) is uniform and independent of
    I1 + I2 ~ Gamma(2, r), so 3 E[(1 - 2u)^2 (1 + 4R / (I1 + I2))] = 1 + 4 R r.
    Elephant's `statistics.lvr`, one call per neuron: it accepts only a 1-D interval array.
    """
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    if R_s < 0:
        raise ValueError(f"R_s must be >= 0, got {R_s}")
    times, bounds = _by_neuron(rec, pop, t_start_s, t_stop_s)
    values = []
    with _quiet_elephant():
        for k in np.flatnonzero(np.diff(bounds) >= 3):
            # plain numbers in ms (Elephant's default unit): a Quantity costs 6x the formula
            values.append(estats.lvr(np.diff(times[bounds[k]:bounds[k + 1]]) * 1e3, R=R_s * 1e3))
    return float(np.mean(values)) if values else float("nan")


def fano_factor(rec: SpikeRecord, pop: str, bin_s: float = 0.1, t_start_s: float = 0.0,
                t_stop_s: float | None = None) -> float:
    """Mean Fano factor (variance / mean of spike counts in bins of bin_s) over active neurons.

    1 for a Poisson process, 0 for a clock whose period divides bin_s. NaN if no
    neuron spiked.

    Per neuron this is Elephant's `statistics.fanofactor` with the neuron's time bins as its
    "trials" (var / mean of the counts, ddof 0; the tests compare). Elephant takes one list
    of trains per call, so for 10 000 neurons the formula runs here on `binned_counts`.
    """
    counts = binned_counts(rec, pop, bin_s, t_start_s, t_stop_s)  # (T, N)
    mean = counts.mean(axis=0)
    active = mean > 0
    if not active.any():
        return float("nan")
    return float(np.mean(counts[:, active].var(axis=0) / mean[active]))


# ---------------------------------------------------------------- synchrony and correlation

def synchrony(rec: SpikeRecord, pop: str, bin_s: float = 5e-3, t_start_s: float = 0.0,
              t_stop_s: float | None = None, max_neurons: int = 1000, seed: int = 0) -> float:
    """Golomb's synchrony measure chi in [0, 1] (Golomb 2007, Scholarpedia 2:1347).

    chi^2 = Var_t[mean_i x_i(t)] / mean_i Var_t[x_i(t)], where x_i(t) is neuron i's
    spike count in bins of bin_s (a box-smoothed rate). chi = 1 when all neurons
    do the same thing, and falls as 1/sqrt(N) for N independent neurons, so
    compare chi between networks of equal size. At most `max_neurons` neurons,
    drawn at random with `seed`, are used. NaN if no neuron spiked.

    Hand-written: Elephant has no chi (its synchrony measures are spike contrast and
    the Synchrotool's complexity; see `spike_contrast`).
    """
    rec._check(pop)
    neurons = _sample(rec.n_neurons[pop], max_neurons, seed)
    x = binned_counts(rec, pop, bin_s, t_start_s, t_stop_s, neurons)  # (T, N)
    per_neuron = x.var(axis=0).mean()
    if per_neuron == 0:
        return float("nan")
    return float(np.sqrt(x.mean(axis=1).var() / per_neuron))


def spike_contrast(rec: SpikeRecord, pop: str, t_start_s: float = 0.0, t_stop_s: float | None = None,
                   min_bin_s: float = 0.01, max_neurons: int = 200, seed: int = 0) -> float:
    """Spike-contrast synchrony in [0, 1] (Ciba et al. 2018, J Neurosci Methods 307:72).

    1 for identical trains, 0 for trains that never fire in the same bin; Elephant's
    `spike_train_synchrony.spike_contrast` over at most max_neurons neurons drawn with
    seed (its cost grows with trains x bin sizes). min_bin_s: smallest bin it tries.
    NaN when no sampled neuron fires twice in the window.
    """
    rec._check(pop)
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    if rec.n_neurons[pop] < 2:
        raise ValueError(f"spike contrast compares trains; population {pop!r} has {rec.n_neurons[pop]} neuron")
    neurons = _sample(rec.n_neurons[pop], max_neurons, seed)
    times, bounds = _by_neuron(rec, pop, t_start_s, t_stop_s)
    if not np.any(np.diff(bounds)[neurons] >= 2):
        return float("nan")
    trains = [neo.SpikeTrain(times[bounds[k]:bounds[k + 1]], t_start=t_start_s * pq.s,
                             t_stop=t_stop_s * pq.s, units="s") for k in neurons]
    return float(spike_train_synchrony.spike_contrast(trains, min_bin=min_bin_s * pq.s))


def sttc(rec: SpikeRecord, pop: str, i: int, j: int, dt_s: float = 5e-3, pop_j: str | None = None) -> float:
    """Spike time tiling coefficient of neuron i of pop and neuron j of pop_j (default pop)
    (Cutts & Eglen 2014, J Neurosci 34:14288), over the whole record.

    In [-1, 1]: 1 when every spike of each train has one of the other within dt_s, about 0
    for independent trains, whatever their rates. NaN if either train is empty.
    Elephant's `spike_train_correlation.spike_time_tiling_coefficient`.
    """
    if dt_s <= 0:
        raise ValueError(f"dt_s must be positive, got {dt_s}")
    a, b = _train(rec, pop, i), _train(rec, pop if pop_j is None else pop_j, j)
    return float(correlation.spike_time_tiling_coefficient(a, b, dt=dt_s * pq.s))


def cch(rec: SpikeRecord, pop: str, i: int, j: int, bin_s: float = 1e-3, max_lag_s: float = 0.05,
        pop_j: str | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Cross-correlation histogram of neuron i of pop (reference) and neuron j of pop_j
    (target, default pop) over the whole record (Eggermont 2010, in Analysis of Parallel
    Spike Trains, ch. 5).

    Returns (lags_s, counts), each (2 L + 1,) with L = round(max_lag_s / bin_s): counts[k] is
    the number of spike pairs whose bins differ by lags_s[k] (positive: j fires after i).
    Elephant's `spike_train_correlation.cross_correlation_histogram` of the two trains binned
    by `BinnedSpikeTrain` (bins [k bin_s, (k + 1) bin_s), no border correction).
    """
    if bin_s <= 0 or max_lag_s < 0:
        raise ValueError(f"need bin_s > 0 and max_lag_s >= 0; got {bin_s}, {max_lag_s}")
    lag_bins = int(round(max_lag_s / bin_s))
    n_bins = int(np.floor(rec.duration_s / bin_s + 1e-9))
    if lag_bins >= n_bins:
        raise ValueError(f"max_lag_s = {max_lag_s} s needs a record longer than {lag_bins} bins of {bin_s} s")
    a, b = _train(rec, pop, i), _train(rec, pop if pop_j is None else pop_j, j)
    with _quiet_elephant():
        binned = [BinnedSpikeTrain(x, bin_size=bin_s * pq.s, t_stop=n_bins * bin_s * pq.s) for x in (a, b)]
        hist, lags = correlation.cross_correlation_histogram(*binned, window=[-lag_bins, lag_bins])
    return lags * bin_s, np.asarray(hist.magnitude[:, 0], dtype=np.float64)


# ---------------------------------------------------------------- spectrum

def power_spectrum(rec: SpikeRecord, pop: str, bin_s: float = 1e-3, t_start_s: float = 0.0,
                   t_stop_s: float | None = None, segment_s: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Power spectral density of the population rate (Welch's method, mean removed).

    segment_s: Welch segment length (frequency resolution 1/segment_s), capped at
    the window length. Returns (freq_hz, power) each (n_freq,); power in Hz^2/Hz.
    Elephant's `spectral.welch_psd` (Hann window, half-overlapping segments) of
    `population_rate`.
    """
    _, r = population_rate(rec, pop, bin_s, t_start_s, t_stop_s)
    nperseg = max(2, min(len(r), int(round(segment_s / bin_s))))
    freq, power = spectral.welch_psd(r - r.mean(), len_segment=nperseg, overlap=0.5, fs=1.0 / bin_s,
                                     detrend=False)
    return freq, power


def peak_frequency(rec: SpikeRecord, pop: str, bin_s: float = 1e-3, f_min_hz: float = 2.0,
                   t_start_s: float = 0.0, t_stop_s: float | None = None, segment_s: float = 0.5) -> float:
    """Frequency (Hz) of the largest peak of the population-rate spectrum above f_min_hz.

    NaN when the population is silent.
    """
    freq, power = power_spectrum(rec, pop, bin_s, t_start_s, t_stop_s, segment_s)
    band = freq >= f_min_hz
    if not band.any() or not np.any(power[band] > 0):
        return float("nan")
    return float(freq[band][np.argmax(power[band])])


# ---------------------------------------------------------------- figures

def _raster(ax, rec: SpikeRecord, pop: str, max_neurons: int, color, offset: int = 0, label: str | None = None):
    shown = min(rec.n_neurons[pop], max_neurons)
    keep = rec.indices[pop] < shown
    # rasterized: a vector file keeps axes and text as vectors and the dots as one image (one
    # vector mark per spike made SVGs of MBs that took seconds to write and to open)
    ax.scatter(rec.times_s[pop][keep], rec.indices[pop][keep] + offset, s=1.5, color=color,
               marker=".", linewidths=0, label=label, rasterized=True)
    return shown


def raster_figure(rec: SpikeRecord, pops: list[str] | None = None, ax=None, max_neurons: int = 200,
                  bin_s: float = 5e-3, title: str | None = None) -> Figure:
    """Raster of up to max_neurons neurons per population above their population rates.

    pops: populations to draw (all by default), stacked in the raster.
    ax:   None (a new two-panel Figure) or a pair of matplotlib Axes (raster, rate).
    Returns the matplotlib Figure (no pyplot, so no GUI backend is needed).
    """
    pops = rec.populations if pops is None else list(pops)
    for p in pops:
        rec._check(p)
    if ax is None:
        fig = Figure(figsize=(8, 5), constrained_layout=True)
        ax_raster, ax_rate = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    else:
        ax_raster, ax_rate = ax
        fig = ax_raster.figure
    offset = 0
    for k, p in enumerate(pops):
        shown = min(rec.n_neurons[p], max_neurons)
        _raster(ax_raster, rec, p, max_neurons, f"C{k}", offset, f"{p} ({shown} of {rec.n_neurons[p]})")
        t, r = population_rate(rec, p, bin_s)
        ax_rate.plot(t, r, color=f"C{k}", lw=0.8, label=f"{p}: {mean_rate(rec, p):.1f} Hz mean")
        offset += shown
    ax_raster.set_ylabel("neuron")
    ax_raster.set_title(title or "Spike raster")
    ax_raster.legend(loc="upper right", fontsize="small", markerscale=6)
    ax_rate.set_xlabel("time (s)")
    ax_rate.set_ylabel("rate (Hz)")
    ax_rate.set_xlim(0, rec.duration_s)
    ax_rate.legend(loc="upper right", fontsize="small")
    return fig


def ephys_figure(rec: SpikeRecord, populations: list[str] | None = None, max_neurons: int = 200,
                 bin_s: float = 5e-3, t_start_s: float = 0.0, title: str | None = None) -> Figure:
    """The electrophysiology summary of a spiking run: one row per population with its raster
    (first max_neurons neurons), population rate (bins of bin_s), ISI distribution and CV
    distribution. ISIs and CVs use [t_start_s, end) (skip a transient with t_start_s); the
    CV panel marks 1, a Poisson process's value.

    Returns a matplotlib Figure with 4 Axes per population, in the order raster, rate, ISI, CV
    (no pyplot, so no GUI backend is needed).
    """
    pops = rec.populations if populations is None else list(populations)
    if not pops:
        raise ValueError("the record has no population to draw")
    for p in pops:
        rec._check(p)
    fig = Figure(figsize=(12, 3.6 * len(pops)), constrained_layout=True)
    grid = fig.add_gridspec(2 * len(pops), 3, width_ratios=[3, 1, 1], height_ratios=[3, 1] * len(pops))
    first_time_ax = None
    for row, p in enumerate(pops):
        color = f"C{row}"
        ax_raster = fig.add_subplot(grid[2 * row, 0], sharex=first_time_ax)
        first_time_ax = first_time_ax or ax_raster
        ax_rate = fig.add_subplot(grid[2 * row + 1, 0], sharex=first_time_ax)
        ax_isi = fig.add_subplot(grid[2 * row:2 * row + 2, 1])
        ax_cv = fig.add_subplot(grid[2 * row:2 * row + 2, 2])

        shown = _raster(ax_raster, rec, p, max_neurons, color)
        ax_raster.set_ylim(-0.5, max(shown, 1) - 0.5)
        ax_raster.set_ylabel(f"neuron ({shown} of {rec.n_neurons[p]})")
        ax_raster.set_title(f"{p}: spike raster")
        ax_raster.tick_params(labelbottom=False)

        t, r = population_rate(rec, p, bin_s)
        ax_rate.plot(t, r, color=color, lw=0.8)
        ax_rate.set_xlim(0, rec.duration_s)
        ax_rate.set_xlabel("time (s)")
        ax_rate.set_ylabel("rate (Hz)")
        ax_rate.set_title(f"population rate, {bin_s * 1e3:g} ms bins; mean {mean_rate(rec, p):.1f} Hz",
                          fontsize="medium")

        intervals_ms = isis(rec, p, t_start_s) * 1e3
        if intervals_ms.size:
            top = 1.1 * np.percentile(intervals_ms, 99)  # the tail past the 99th percentile is cut
            # one filled outline, not a patch per bar (the same picture, drawn much faster)
            heights, _, _ = ax_isi.hist(intervals_ms, bins=np.linspace(0, top, 50), density=True, color=color,
                                        alpha=0.8, histtype="stepfilled")
            ax_isi.set_ylim(0, 1.4 * heights.max())  # room for the legend above the bars
            ax_isi.axvline(np.median(intervals_ms), color="k", lw=0.8, ls="--",
                           label=f"median {np.median(intervals_ms):.1f} ms\n({intervals_ms.size} ISIs)")
            ax_isi.legend(loc="upper right", fontsize="small")
        else:
            ax_isi.text(0.5, 0.5, "no neuron fired twice", ha="center", va="center", transform=ax_isi.transAxes)
        ax_isi.set_xlabel("inter-spike interval (ms)")
        ax_isi.set_ylabel("probability density (1/ms)")
        ax_isi.set_title(f"{p}: ISI distribution")

        cvs = cv_per_neuron(rec, p, t_start_s)
        cvs = cvs[~np.isnan(cvs)]
        if cvs.size:
            heights, _, _ = ax_cv.hist(cvs, bins=np.linspace(0, max(2.0, cvs.max() * 1.05), 40), color=color,
                                       alpha=0.8, histtype="stepfilled")
            ax_cv.set_ylim(0, 1.5 * heights.max())
            ax_cv.axvline(1.0, color="k", lw=0.8, ls=":", label="Poisson (1)")
            ax_cv.axvline(cvs.mean(), color="k", lw=0.8, ls="--",
                          label=f"mean {cvs.mean():.2f}\n({cvs.size} neurons)")
            ax_cv.legend(loc="upper right", fontsize="small")
        else:
            ax_cv.text(0.5, 0.5, "no neuron fired 3 times", ha="center", va="center", transform=ax_cv.transAxes)
        ax_cv.set_xlabel("CV (std / mean of ISIs)")
        ax_cv.set_ylabel("neurons")
        ax_cv.set_title(f"{p}: CV of ISIs")
    fig.suptitle(title or f"Spiking activity over {rec.duration_s:g} s: "
                 + ", ".join(f"{p} ({rec.n_neurons[p]} neurons)" for p in pops))
    return fig
