"""Statistics of spiking activity, computed on a `SpikeRecord` (plain NumPy, no Brian2).

Rates, irregularity (CV of inter-spike intervals, Fano factor), synchrony
(Golomb's chi), the population rate and its power spectrum, and a raster
figure. Every function takes the record and a population name; times are in
seconds and rates in Hz.

These are the measures Brunel (2000) uses to tell his network states apart:
synchronous regular (high synchrony, CV near 0) from asynchronous irregular
(low synchrony, CV near 1), and fast from slow oscillations (peak frequency).
"""
from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from scipy import signal

from .record import SpikeRecord


def _window(rec: SpikeRecord, t_start_s: float, t_stop_s: float | None) -> tuple[float, float]:
    t_stop_s = rec.duration_s if t_stop_s is None else t_stop_s
    if not t_stop_s > t_start_s:
        raise ValueError(f"empty analysis window [{t_start_s}, {t_stop_s}) s")
    return t_start_s, t_stop_s


def rates(rec: SpikeRecord, pop: str, t_start_s: float = 0.0, t_stop_s: float | None = None) -> np.ndarray:
    """Firing rate of each neuron in Hz over [t_start_s, t_stop_s). Returns (n_neurons,)."""
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    return rec.rates_hz(pop, t_start_s, t_stop_s)


def mean_rate(rec: SpikeRecord, pop: str, t_start_s: float = 0.0, t_stop_s: float | None = None) -> float:
    """Mean firing rate of the population in Hz (spikes / neurons / seconds)."""
    return float(rates(rec, pop, t_start_s, t_stop_s).mean())


def cv_isi(rec: SpikeRecord, pop: str, t_start_s: float = 0.0, t_stop_s: float | None = None) -> float:
    """Mean coefficient of variation of inter-spike intervals (std/mean of each neuron's ISIs).

    Averaged over neurons with at least 3 spikes in the window (2 ISIs); NaN if
    none has. 0 for a clock, 1 for a Poisson process.
    """
    t_start_s, t_stop_s = _window(rec, t_start_s, t_stop_s)
    cvs = []
    for train in rec.spike_trains(pop):
        train = train[(train >= t_start_s) & (train < t_stop_s)]
        if len(train) >= 3:
            isi = np.diff(train)
            cvs.append(isi.std() / isi.mean() if isi.mean() > 0 else 0.0)
    return float(np.mean(cvs)) if cvs else float("nan")


def binned_counts(rec: SpikeRecord, pop: str, bin_s: float, t_start_s: float = 0.0,
                  t_stop_s: float | None = None, neurons: np.ndarray | None = None) -> np.ndarray:
    """Spike counts per time bin and neuron. Returns (n_bins, n_selected) float64.

    neurons: indices to keep (all by default). Bins are [t_start_s + k bin_s, ...),
    and a last partial bin is dropped.
    """
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
    counts = np.zeros((n_bins, len(neurons)))  # (T, N)
    np.add.at(counts, (k[keep], column[i[keep]]), 1.0)
    return counts


def fano_factor(rec: SpikeRecord, pop: str, bin_s: float = 0.1, t_start_s: float = 0.0,
                t_stop_s: float | None = None) -> float:
    """Mean Fano factor (variance / mean of spike counts in bins of bin_s) over active neurons.

    1 for a Poisson process, 0 for a clock whose period divides bin_s. NaN if no
    neuron spiked.
    """
    counts = binned_counts(rec, pop, bin_s, t_start_s, t_stop_s)  # (T, N)
    mean = counts.mean(axis=0)
    active = mean > 0
    if not active.any():
        return float("nan")
    return float(np.mean(counts[:, active].var(axis=0) / mean[active]))


def synchrony(rec: SpikeRecord, pop: str, bin_s: float = 5e-3, t_start_s: float = 0.0,
              t_stop_s: float | None = None, max_neurons: int = 1000, seed: int = 0) -> float:
    """Golomb's synchrony measure chi in [0, 1] (Golomb 2007, Scholarpedia 2:1347).

    chi^2 = Var_t[mean_i x_i(t)] / mean_i Var_t[x_i(t)], where x_i(t) is neuron i's
    spike count in bins of bin_s (a box-smoothed rate). chi = 1 when all neurons
    do the same thing, and falls as 1/sqrt(N) for N independent neurons, so
    compare chi between networks of equal size. At most `max_neurons` neurons,
    drawn at random with `seed`, are used. NaN if no neuron spiked.
    """
    rec._check(pop)
    n = rec.n_neurons[pop]
    neurons = np.arange(n)
    if n > max_neurons:
        neurons = np.sort(np.random.default_rng(seed).choice(n, max_neurons, replace=False))
    x = binned_counts(rec, pop, bin_s, t_start_s, t_stop_s, neurons)  # (T, N)
    per_neuron = x.var(axis=0).mean()
    if per_neuron == 0:
        return float("nan")
    return float(np.sqrt(x.mean(axis=1).var() / per_neuron))


def population_rate(rec: SpikeRecord, pop: str, bin_s: float = 1e-3, t_start_s: float = 0.0,
                    t_stop_s: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Instantaneous population rate. Returns (t_s, rate_hz), each (n_bins,); t_s are bin centres."""
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


def power_spectrum(rec: SpikeRecord, pop: str, bin_s: float = 1e-3, t_start_s: float = 0.0,
                   t_stop_s: float | None = None, segment_s: float = 0.5) -> tuple[np.ndarray, np.ndarray]:
    """Power spectral density of the population rate (Welch's method, mean removed).

    segment_s: Welch segment length (frequency resolution 1/segment_s), capped at
    the window length. Returns (freq_hz, power) each (n_freq,); power in Hz^2/Hz.
    """
    _, r = population_rate(rec, pop, bin_s, t_start_s, t_stop_s)
    nperseg = max(2, min(len(r), int(round(segment_s / bin_s))))
    freq, power = signal.welch(r - r.mean(), fs=1.0 / bin_s, nperseg=nperseg, detrend=False)
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
        color = f"C{k}"
        shown = min(rec.n_neurons[p], max_neurons)
        keep = rec.indices[p] < shown
        ax_raster.scatter(rec.times_s[p][keep], rec.indices[p][keep] + offset, s=1.5, color=color,
                          marker=".", linewidths=0, label=f"{p} ({shown} of {rec.n_neurons[p]})")
        t, r = population_rate(rec, p, bin_s)
        ax_rate.plot(t, r, color=color, lw=0.8, label=f"{p}: {mean_rate(rec, p):.1f} Hz mean")
        offset += shown
    ax_raster.set_ylabel("neuron")
    ax_raster.set_title(title or "Spike raster")
    ax_raster.legend(loc="upper right", fontsize="small", markerscale=6)
    ax_rate.set_xlabel("time (s)")
    ax_rate.set_ylabel("rate (Hz)")
    ax_rate.set_xlim(0, rec.duration_s)
    ax_rate.legend(loc="upper right", fontsize="small")
    return fig
