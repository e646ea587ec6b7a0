"""Values in [0, 1] to spikes and currents, and spikes back to values.

Three codes, each with its decoder:
- rate (Poisson): a value x fires with rate x * max_rate_hz; decoded from the
  spike count n in T steps as n / (T * dt * max_rate_hz). The count is binomial,
  so the decoding error falls as 1 / sqrt(T) (std sqrt(p (1 - p) / T) / (max_rate_hz dt)
  with p = x * max_rate_hz * dt).
- constant current: x scaled by a maximum current; an ideal IF neuron driven by
  it fires at a rate proportional to x (Rueckauer et al. 2017, eq. 2), which
  `rates_to_values` decodes with the same scale.
- time to first spike: a larger value fires earlier, t = (1 - x) * t_max; zero
  never fires (Thorpe et al. 2001; Rueckauer & Liu 2018).

Spike arrays are bool (time, batch, neuron); values are (batch, neuron).
"""
from __future__ import annotations

import numpy as np

from bio.layered import poisson_spikes

__all__ = ["poisson", "currents", "latency", "latency_spikes", "spike_counts", "counts_to_rates",
           "rates_to_values", "decode_poisson", "first_spike_times", "decode_latency"]


def _values(values) -> np.ndarray:
    v = np.asarray(values, dtype=np.float64)
    if v.ndim != 2:
        raise ValueError(f"values must be (batch, features), got shape {v.shape}")
    if v.size and (v.min() < 0 or v.max() > 1):
        raise ValueError(f"values must lie in [0, 1], got range [{v.min():.3g}, {v.max():.3g}]; "
                         "scale them first (e.g. divide by the maximum activation)")
    return v


def _steps(duration_ms: float, dt_ms: float) -> int:
    n = int(round(duration_ms / dt_ms))
    if n < 1 or dt_ms <= 0:
        raise ValueError(f"need duration_ms >= dt_ms > 0, got duration_ms={duration_ms}, dt_ms={dt_ms}")
    return n


def poisson(values, max_rate_hz: float, duration_ms: float, dt_ms: float = 1.0, seed=None) -> np.ndarray:
    """Encode values in [0, 1] as Poisson spike trains.

    values: (batch, features). Each step of dt_ms holds a spike with probability
    value * max_rate_hz * dt (the Bernoulli approximation of a Poisson process,
    exact in the limit of small dt; max_rate_hz * dt must be <= 1).
    Returns bool (steps, batch, features). The same seed gives the same spikes as
    bio.layered.run with input="poisson".
    """
    v = _values(values)
    if max_rate_hz * dt_ms * 1e-3 > 1 + 1e-12:
        raise ValueError(f"max_rate_hz={max_rate_hz} is above one spike per step (1/dt = "
                         f"{1e3 / dt_ms:g} Hz); lower it or use a smaller dt_ms")
    return poisson_spikes(v, max_rate_hz, _steps(duration_ms, dt_ms), dt_ms * 1e-3, seed)  # (T, B, N)


def currents(values, max_current: float = 1.0) -> np.ndarray:
    """Encode values in [0, 1] as constant input currents: (batch, features) value * max_current.

    The unit is that of max_current (e.g. amperes, or Hz of threshold crossings
    for the normalised drive of bio.layered).
    """
    return _values(values) * max_current


def latency(values, t_max_ms: float) -> np.ndarray:
    """Time to first spike in ms: (batch, features) (1 - value) * t_max_ms; inf where value == 0."""
    v = _values(values)
    with np.errstate(invalid="ignore"):
        return np.where(v > 0, (1.0 - v) * t_max_ms, np.inf)


def latency_spikes(values, t_max_ms: float, dt_ms: float = 1.0) -> np.ndarray:
    """One spike per positive value at its latency rounded to the step: bool (steps, batch, features).

    steps = t_max_ms / dt_ms + 1, so value 1 fires in step 0 and a tiny value in the last step.
    """
    t = latency(values, t_max_ms)
    n = _steps(t_max_ms, dt_ms) + 1
    step = np.where(np.isfinite(t), np.rint(np.nan_to_num(t, posinf=0.0) / dt_ms), -1).astype(np.int64)
    out = np.zeros((n,) + t.shape, dtype=bool)
    b, k = np.nonzero(step >= 0)
    out[step[b, k], b, k] = True  # (T, B, N)
    return out


def spike_counts(spikes) -> np.ndarray:
    """Spikes per neuron: bool (T, B, N) -> int64 (B, N)."""
    s = np.asarray(spikes)
    if s.ndim != 3:
        raise ValueError(f"spikes must be (time, batch, neuron), got shape {s.shape}")
    return s.sum(axis=0, dtype=np.int64)


def counts_to_rates(counts, duration_ms: float) -> np.ndarray:
    """Firing rates in Hz from spike counts over duration_ms: same shape as counts."""
    return np.asarray(counts, dtype=np.float64) / (duration_ms * 1e-3)


def rates_to_values(rates_hz, max_rate_hz: float, scale=1.0) -> np.ndarray:
    """Activations from rates: rate / max_rate_hz * scale.

    scale: the activation that max_rate_hz stood for when encoding (the layer's
    normalisation factor of a converted network; a scalar or per-neuron array).
    """
    return np.asarray(rates_hz, dtype=np.float64) / max_rate_hz * np.asarray(scale, dtype=np.float64)


def decode_poisson(spikes, max_rate_hz: float, dt_ms: float = 1.0) -> np.ndarray:
    """Invert `poisson`: bool (T, B, N) -> (B, N) estimated values."""
    s = np.asarray(spikes)
    return rates_to_values(counts_to_rates(spike_counts(s), s.shape[0] * dt_ms), max_rate_hz)


def first_spike_times(spikes, dt_ms: float = 1.0) -> np.ndarray:
    """Time of each neuron's first spike in ms: bool (T, B, N) -> (B, N), inf where it never fires."""
    s = np.asarray(spikes, dtype=bool)
    if s.ndim != 3:
        raise ValueError(f"spikes must be (time, batch, neuron), got shape {s.shape}")
    first = np.argmax(s, axis=0).astype(np.float64) * dt_ms
    return np.where(s.any(axis=0), first, np.inf)


def decode_latency(times_ms, t_max_ms: float) -> np.ndarray:
    """Invert `latency`: first-spike times (B, N) in ms -> values, 0 where there is no spike."""
    t = np.asarray(times_ms, dtype=np.float64)
    return np.where(np.isfinite(t), np.clip(1.0 - t / t_max_ms, 0.0, 1.0), 0.0)
