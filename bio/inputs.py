"""What drives a network in a run: plain-data inputs that `bio.run` compiles.

Every input names its `target` population and holds NumPy arrays; none
creates a Brian2 object (bio/simulate.py does that). Per-sample arrays have
the shape (S, B, n): S samples shown one after another (each for the spec's
`period`), B copies of the network side by side, n neurons of the target. A
(B, n) array is one sample, an (n,) array one sample of one copy.

- `Rates`:   Poisson spike trains from a source population (rates in Hz).
- `Spikes`:  given spike times from a source population.
- `Values`:  analog values of a source population; its outgoing connections
             deliver their mean drive as a constant current (w * value *
             rate_hz spikes per second), the analog first-layer input of ANN
             conversion (Rueckauer et al. 2017, Front. Neurosci. 11:682).
- `Current`: a current injected into a neuron population (amp).
- `PoissonDrive`: n_inputs independent external Poisson inputs per neuron,
             each delivering `weight` through a synapse model (Brunel 2000's
             external drive).
`latency` turns values into time-to-first-spike `Spikes`.
"""
from __future__ import annotations

from dataclasses import dataclass

import brian2 as b2
import numpy as np
from brian2 import Hz, Quantity, amp, second

__all__ = ["Rates", "Spikes", "Values", "Current", "PoissonDrive", "latency", "as_sbn"]


def _require(value, unit, what: str, example: str):
    if not b2.have_same_dimensions(value, unit):
        raise ValueError(f"{what} must be in units of {unit!r} (e.g. {example}), got {value!r}")
    return value


def as_sbn(values, what: str) -> np.ndarray:
    """(n,), (B, n) or (S, B, n) finite values -> float64 (S, B, n)."""
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 1:
        arr = arr[None, None, :]
    elif arr.ndim == 2:
        arr = arr[None, :, :]
    elif arr.ndim != 3:
        raise ValueError(f"{what} must have shape (n,), (B, n) or (S, B, n), got {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{what} must be finite (no NaN or inf)")
    return arr


@dataclass
class Rates:
    """Poisson spikes from source population `target`.

    rates_hz: (S, B, n), (B, n) or (n,) rates in Hz (>= 0), one row per sample and copy.
    """

    target: str
    rates_hz: np.ndarray

    def __post_init__(self):
        self.rates_hz = as_sbn(self.rates_hz, "rates_hz")
        if np.any(self.rates_hz < 0):
            raise ValueError("rates_hz must be >= 0")


@dataclass
class Spikes:
    """Given spikes of source population `target`.

    times_s: (n_spikes,) spike times in seconds from the start of the run.
    indices: (n_spikes,) neuron index in 0..copies*n-1 (copy-major: b * n + k).
    copies:  B, the number of network copies the indices address.
    """

    target: str
    times_s: np.ndarray
    indices: np.ndarray
    copies: int = 1

    def __post_init__(self):
        self.times_s = np.asarray(self.times_s, dtype=np.float64)
        self.indices = np.asarray(self.indices, dtype=np.int64)
        if self.times_s.shape != self.indices.shape or self.times_s.ndim != 1:
            raise ValueError(f"times_s {self.times_s.shape} and indices {self.indices.shape} must be "
                             "1-D arrays of one length")
        if not np.all(np.isfinite(self.times_s)) or np.any(self.times_s < 0):
            raise ValueError("spike times must be finite and >= 0 s")
        if self.indices.size and self.indices.min() < 0:
            raise ValueError("spike indices must be >= 0")
        if int(self.copies) < 1:
            raise ValueError(f"copies must be >= 1, got {self.copies}")

    @classmethod
    def from_raster(cls, target: str, raster: np.ndarray, dt_s: float) -> "Spikes":
        """Spikes from a bool raster (T, B, n): a True at step t fires at t * dt_s."""
        raster = np.asarray(raster)
        if raster.ndim != 3:
            raise ValueError(f"a spike raster must be (T, B, n), got shape {raster.shape}")
        t, b, k = np.nonzero(raster)  # (T, B, N) -> flat copy-major indices
        return cls(target, t * float(dt_s), b * raster.shape[2] + k, copies=raster.shape[1])


@dataclass
class Values:
    """Analog values of source population `target`, delivered as mean currents.

    values:  (S, B, n), (B, n) or (n,) finite values (>= 0: a rate cannot be negative).
    rate_hz: the spike rate a value of 1 stands for.
    """

    target: str
    values: np.ndarray
    rate_hz: float = 1000.0

    def __post_init__(self):
        self.values = as_sbn(self.values, "values")
        if np.any(self.values < 0):
            raise ValueError("values stand for rates and must be >= 0")
        if not np.isfinite(self.rate_hz) or self.rate_hz <= 0:
            raise ValueError(f"rate_hz must be a finite number > 0, got {self.rate_hz}")


@dataclass
class Current:
    """A current injected into neuron population `target`, held through each sample.

    amps: (S, B, n), (B, n) or (n,) currents in amp (plain floats).
    """

    target: str
    amps: np.ndarray

    def __post_init__(self):
        if isinstance(self.amps, Quantity):
            _require(self.amps, amp, "current", "0.5*nA")
            self.amps = np.asarray(self.amps / amp)
        self.amps = as_sbn(self.amps, "amps")


@dataclass
class PoissonDrive:
    """n_inputs independent Poisson inputs at `rate` onto every neuron of `target`.

    synapse: a bio.synapses base model (CurrentDelta, CurrentExp, CondExp) that
             receives the drive; weight in its weight unit (Brian2 quantity).
    """

    target: str
    n_inputs: int
    rate: Quantity
    weight: Quantity
    synapse: object

    def __post_init__(self):
        _require(self.rate, Hz, "rate", "10*Hz")
        if int(self.n_inputs) < 1 or float(self.rate / Hz) < 0:
            raise ValueError(f"a Poisson drive needs n_inputs >= 1 and rate >= 0 Hz, got "
                             f"{self.n_inputs} and {self.rate}")
        _require(self.weight, self.synapse.weight_unit, "weight", f"1*{self.synapse.weight_unit!r}")


def latency(target: str, values, t_max_s: float, threshold: float = 0.0) -> Spikes:
    """Time-to-first-spike code: value x in (threshold, 1] fires once at (1 - x) * t_max_s.

    values: (B, n) in [0, 1]; values <= threshold never fire. Returns Spikes for B copies.
    """
    values = as_sbn(values, "values")[0]  # (B, n)
    if np.any(values < 0) or np.any(values > 1):
        raise ValueError("latency-coded values must lie in [0, 1]")
    if not t_max_s > 0:
        raise ValueError(f"t_max_s must be > 0, got {t_max_s}")
    b, k = np.nonzero(values > threshold)
    times = (1.0 - values[b, k]) * t_max_s
    return Spikes(target, times, b * values.shape[1] + k, copies=values.shape[0])


def check_time(value, what: str, example: str = "10*ms") -> Quantity:
    """Raise a ValueError unless `value` is a Brian2 time; returns it."""
    if not isinstance(value, Quantity) or not b2.have_same_dimensions(value, second):
        raise ValueError(f"{what} must be a Brian2 time (e.g. {example}), got {value!r}")
    return value
