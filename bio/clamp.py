"""Single-neuron protocols: the f-I curve and the current clamp.

Both build a one-population `NetworkSpec` whose neurons receive a `Current`
input, and run it through `bio.run`, so every code-generation target works the
same way.
"""
from __future__ import annotations

import brian2 as b2
import numpy as np
from brian2 import amp, ms, second

from .inputs import Current
from .record import SpikeRecord
from .simulate import run
from .spec import NetworkSpec, Population, Record

__all__ = ["fi_curve", "current_clamp"]

MEASURES = ("count", "isi")


def _require(value, unit, what: str, example: str) -> None:
    if not isinstance(value, b2.Quantity) or not b2.have_same_dimensions(value, unit):
        raise ValueError(f"{what} must be in units of {unit!r} (e.g. {example}), got {value!r}")
    if not np.all(np.isfinite(np.asarray(value))):
        raise ValueError(f"{what} must be finite, got {value!r}")


def _check_model(model) -> None:
    if not all(hasattr(model, a) for a in ("equations", "threshold", "initial_state")):
        raise ValueError(f"model must be a bio.neurons model (IF, LIF, AdEx, ...), got {model!r}")


def fi_curve(model, currents, duration=1 * second, target: str = "numpy", dt=0.1 * ms,
             measure: str = "count", t_start=0 * ms, seed: int | None = None) -> np.ndarray:
    """Firing rate of `model` under each constant current (all simulated at once).

    model:    a neuron model from bio.neurons.
    currents: (n_currents,) amp quantity (a scalar counts as one current).
    duration: how long each current is held, from rest at t = 0.
    measure:  "count": spikes / duration (the mean rate, onset included);
              "isi":   1 / mean inter-spike interval (the rate of repetitive
                       firing without the partial interval before the first
                       spike), over spikes after t_start.
    Returns a (n_currents,) float64 array of rates in Hz.
    """
    _check_model(model)
    _require(currents, amp, "currents", "np.linspace(0, 1, 11)*nA")
    _require(duration, second, "duration", "1*second")
    _require(dt, second, "dt", "0.1*ms")
    _require(t_start, second, "t_start", "100*ms")
    if not 0 <= float(t_start / duration) < 1:
        raise ValueError(f"t_start must lie in [0, duration), got {t_start!r}")
    if measure not in MEASURES:
        raise ValueError(f"unknown measure {measure!r}; choose one of: {', '.join(MEASURES)}")
    currents = np.atleast_1d(currents)
    if currents.ndim != 1:
        raise ValueError(f"currents must be a 1-D array, got shape {currents.shape}")
    n = len(currents)
    spec = NetworkSpec({"neuron": Population(model, n)}, inputs=[Current("neuron", currents)])
    rec = run(spec, duration, target=target, seed=seed, dt=dt)
    t0 = float(t_start / second)
    if measure == "count":
        return rec.rates_hz("neuron", t_start_s=t0)
    rates = np.zeros(n)
    for k, train in enumerate(rec.spike_trains("neuron")):
        train = train[train >= t0]
        if len(train) >= 2:
            rates[k] = (len(train) - 1) / (train[-1] - train[0])
    return rates


def current_clamp(model, current, duration, target: str = "numpy", dt=0.1 * ms,
                  seed: int | None = None, delay=0 * ms) -> SpikeRecord:
    """Inject a current step into one neuron and record its spikes and voltage.

    model:    a neuron model from bio.neurons.
    current:  amp quantity: a scalar step (on from `delay` to the end), or a
              (T,) array of samples, one per `dt` (then `delay` must be 0).
    duration: total simulated time.
    Returns a SpikeRecord with the population "neuron" (1 neuron) and the trace
    "neuron.v": (n_steps, 1) membrane potential in volt, sampled every dt.
    """
    _check_model(model)
    _require(current, amp, "current", "0.5*nA")
    _require(duration, second, "duration", "500*ms")
    _require(dt, second, "dt", "0.1*ms")
    _require(delay, second, "delay", "100*ms")
    if float(delay / ms) < 0:
        raise ValueError(f"delay must be >= 0, got {delay!r}")
    n_steps = int(round(float(duration / dt)))
    if np.ndim(current) == 0 and float(delay / ms) == 0:
        samples = np.array([float(current / amp)])  # one constant sample
        period = None
    elif np.ndim(current) == 0:
        on = np.arange(n_steps) >= int(round(float(delay / dt)))
        samples, period = np.where(on, float(current / amp), 0.0), dt
    elif np.ndim(current) == 1:
        if float(delay / ms) != 0:
            raise ValueError("delay only applies to a scalar current step; shift the samples instead")
        samples, period = np.asarray(current / amp, dtype=float), dt
    else:
        raise ValueError(f"current must be a scalar or a (T,) array, got shape {np.shape(current)}")
    # a time-varying current is a sequence of one-step samples; the neuron is not reset
    # between them (the spec's `meta["reset"] = False`)
    spec = NetworkSpec({"neuron": Population(model, 1)},
                       inputs=[Current("neuron", samples[:, None, None])],
                       record=Record(traces={"neuron.v": True}), period=period,
                       meta={"reset": False})
    if period is not None and len(samples) < n_steps:  # the last sample holds afterwards
        samples = np.concatenate([samples, np.full(n_steps - len(samples), samples[-1])])
        spec.inputs = [Current("neuron", samples[:, None, None])]
    return run(spec, duration, target=target, seed=seed, dt=dt)
