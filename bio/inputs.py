"""Inputs to a NeuronGroup: Poisson spikes, given spike times, constant and time-varying currents.

Currents act on the per-neuron parameter `I_ext` (amp) that every model in
bio/neurons.py has; spike sources are ordinary Brian2 groups to connect with a
synapse model from bio/synapses.py.
"""
from __future__ import annotations

import brian2 as b2
import numpy as np
from brian2 import Hz, amp, second

__all__ = ["poisson", "spike_times", "constant_current", "time_varying_current"]


def _require(value, unit, what: str, example: str):
    if not b2.have_same_dimensions(value, unit):
        raise ValueError(f"{what} must be in units of {unit!r} (e.g. {example}), got {value!r}")
    return value


def poisson(n: int, rate, name: str | None = None) -> b2.PoissonGroup:
    """n independent Poisson spike trains.

    rate: Hz quantity, a scalar or an (n,) array (one rate per source).
    Draws come from Brian2's generator, so `bio.run(..., seed=s)` repeats them.
    """
    _require(rate, Hz, "rate", "10*Hz")
    if np.ndim(rate) not in (0, 1) or (np.ndim(rate) == 1 and len(rate) != n):
        raise ValueError(f"rate must be a scalar or have shape ({n},), got shape {np.shape(rate)}")
    if np.any(np.asarray(rate) < 0):
        raise ValueError("rates must be >= 0 Hz")
    kwargs = {} if name is None else {"name": name}
    return b2.PoissonGroup(n, rates=rate, **kwargs)


def spike_times(n: int, indices, times, name: str | None = None) -> b2.SpikeGeneratorGroup:
    """A group of n sources that spike exactly when told.

    indices: (n_spikes,) int source index of each spike, in 0..n-1.
    times:   (n_spikes,) time quantity of each spike.
    """
    _require(times, second, "spike times", "[1, 5]*ms")
    indices = np.asarray(indices, dtype=np.int64)
    if indices.shape != np.shape(times):
        raise ValueError(f"indices {indices.shape} and times {np.shape(times)} differ in shape")
    if indices.size and (indices.min() < 0 or indices.max() >= n):
        raise ValueError(f"spike indices must lie in 0..{n - 1}")
    kwargs = {} if name is None else {"name": name}
    return b2.SpikeGeneratorGroup(n, indices, times, **kwargs)


def constant_current(group: b2.NeuronGroup, current) -> b2.NeuronGroup:
    """Set every neuron's I_ext (a scalar or an (N,) amp quantity). Returns the group."""
    _require(current, amp, "current", "0.5*nA")
    group.I_ext = current
    return group


def time_varying_current(group: b2.NeuronGroup, values, dt, name: str | None = None):
    """Drive I_ext from samples, updated at the start of every time step.

    values: amp quantity, (T,) for the whole group or (T, N) per neuron; sample k
            applies on [k*dt, (k+1)*dt), the last sample holds afterwards.
    dt:     time between samples.
    Returns the CodeRunner; it belongs to `group`, so adding the group to a
    Network adds the drive too.
    """
    _require(values, amp, "current samples", "np.ones(100)*nA")
    _require(dt, second, "dt", "0.1*ms")
    if group.namespace is None or "I_ext_drive" in group.namespace:
        raise ValueError("time_varying_current needs a group built by a bio.neurons model, "
                         "and drives each group at most once")
    if np.ndim(values) == 1:
        code = "I_ext = I_ext_drive(t)"
    elif np.ndim(values) == 2 and np.shape(values)[1] == len(group):
        code = "I_ext = I_ext_drive(t, i)"
    else:
        raise ValueError(f"current samples must have shape (T,) or (T, {len(group)}), "
                         f"got {np.shape(values)}")
    # the group resolves names from its own namespace, so the TimedArray goes there
    group.namespace["I_ext_drive"] = b2.TimedArray(values, dt=dt)
    kwargs = {} if name is None else {"name": name}
    return group.run_regularly(code, when="start", order=-1, **kwargs)
