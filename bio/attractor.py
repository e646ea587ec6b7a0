"""A spiking attractor memory: LIF neurons coupled by a Hebbian weight matrix, cued by currents.

`attractor_spec(weights, cues, ...)` returns a `NetworkSpec` with one population
"mem" of N LIF neurons and one recurrent connection "rec" (a signed
CurrentDelta synapse from j to i for every pair i != j, of weight
coupling * weights[i, j]: the PSP jump, in volt). It is the spiking counterpart
of a Hopfield-type network: with the Tsodyks-Feigelman matrix
(ann.hopfield.hebbian_weights, field 1 - p for a unit of a retrieved pattern),
a neuron of the retrieved pattern receives coupling * (1 - p) * tau_m * r of
mean depolarisation from its pattern firing at rate r, and the others are
pushed down by coupling * p * tau_m * r, so a large enough coupling makes each
stored pattern a self-sustained firing state (Amit & Brunel 1997, Cereb Cortex
7:237, for the idea in spiking networks). One weight matrix with both signs
keeps the correspondence with the binary network exact (each neuron's synapses
are excitatory or inhibitory as its Hebbian sum says; Dale's law is not imposed).

Every neuron gets a constant `drive` current and background noise (bio.spec's
one noise definition) so that the network idles at a low rate. The cue protocol
is part of the spec: sample s of `cues` ((S, N) bool) injects `cue_current` into
its True neurons for the first `cue_time` of a `period`; the samples run one
after another and the state returns to rest at each onset (bio.simulate). What
remains active after the cue is the retrieved memory: `delay_rates` reads it.

A lesion edits the spec: `bio.lesion.prune_synapses(spec, d, compensate=True)`
(or the disorders "alzheimer" / "alzheimer_compensated" of bridge.disorders)
deletes a fraction d of "rec" and, with compensation, scales each neuron's
surviving input synapses by had / kept (Horn, Levy & Ruppin 1996).
"""
from __future__ import annotations

import numpy as np
from brian2 import Quantity, amp, have_same_dimensions, mV, ms, nA, second, volt

from . import inputs, neurons, synapses
from .record import SpikeRecord
from .spec import Connection, NetworkSpec, Population, Record

__all__ = ["attractor_spec", "delay_rates"]


def _quantity(value, unit, what: str, example: str) -> float:
    if not isinstance(value, Quantity) or not have_same_dimensions(value, unit):
        raise ValueError(f"{what} must be a Brian2 quantity in units of {unit!r} (e.g. {example}), "
                         f"got {value!r}")
    return float(value / unit)


def attractor_spec(weights: np.ndarray, cues: np.ndarray, *, coupling=40 * mV, neuron=None,
                   drive=0.15 * nA, noise_sigma: float = 0.1, cue_current=0.3 * nA,
                   cue_time=100 * ms, period=500 * ms, delay=1 * ms) -> NetworkSpec:
    """The spiking attractor network and its cue protocol (module docstring).

    weights:     (N, N) dimensionless couplings, weights[i, j] from neuron j to neuron i
                 (the diagonal is ignored: no autapses).
    cues:        (S, N) bool, the neurons each of S trials stimulates.
    coupling:    volt; the PSP jump of a synapse is coupling * weights[i, j].
    neuron:      a bio.neurons model with a membrane (default LIF(): rest -70 mV,
                 threshold -50 mV, tau_m 20 ms, R 100 Mohm, 2 ms refractory).
    drive:       amp, constant current into every neuron.
    noise_sigma: background noise (bio.spec definition).
    cue_current: amp, injected into the cued neurons during the first `cue_time` of each trial.
    period:      second, duration of one trial (cue, then delay).
    delay:       second, conduction delay of every recurrent synapse.
    Returns a NetworkSpec (populations "mem"; connection "rec"; spikes of "mem" recorded).
    """
    w = np.asarray(weights, dtype=np.float64)
    cues = np.atleast_2d(np.asarray(cues, dtype=bool))
    if w.ndim != 2 or w.shape[0] != w.shape[1]:
        raise ValueError(f"weights must be a square (N, N) matrix, got shape {w.shape}")
    n = w.shape[0]
    if cues.ndim != 2 or cues.shape[1] != n:
        raise ValueError(f"cues must be (S, {n}) booleans, got shape {cues.shape}")
    j_volt = _quantity(coupling, volt, "coupling", "40*mV")
    drive_amp = _quantity(drive, amp, "drive", "0.15*nA")
    cue_amp = _quantity(cue_current, amp, "cue_current", "0.3*nA")
    cue_s, period_s = (_quantity(cue_time, second, "cue_time", "100*ms"),
                       _quantity(period, second, "period", "500*ms"))
    delay_s = _quantity(delay, second, "delay", "1*ms")
    if not 0 < cue_s <= period_s:
        raise ValueError(f"cue_time must be > 0 and <= period, got {cue_time} and {period}")
    post, pre = np.nonzero(~np.eye(n, dtype=bool))  # every ordered pair i != j
    model = neuron if neuron is not None else neurons.LIF()
    mem = Population(model, n, noise_sigma=noise_sigma, i_ext_amp=np.full(n, drive_amp))
    rec = Connection("mem", "mem", synapses.CurrentDelta("rec"), pre, post, j_volt * w[post, pre],
                     kind="signed", delay_s=np.full(len(pre), delay_s))
    return NetworkSpec({"mem": mem}, {"rec": rec},
                       inputs=[inputs.Current("mem", (cue_amp * cues.astype(np.float64))[:, None, :])],
                       record=Record(spikes=("mem",)), period=period_s * second,
                       meta={"present": cue_s * second, "coupling_volt": j_volt})


def delay_rates(rec: SpikeRecord, period_s: float, n_trials: int, start_s: float) -> np.ndarray:
    """Firing rate (Hz) of every neuron in [start_s, period_s) of each trial, after the cue.

    Returns (n_trials, N) for a run of `attractor_spec` (one copy)."""
    if not 0 <= start_s < period_s:
        raise ValueError(f"start_s must lie in [0, period_s), got {start_s} and {period_s}")
    t, i = rec.times_s["mem"], rec.indices["mem"]
    trial = np.floor(t / period_s + 1e-9).astype(np.int64)
    keep = (trial < n_trials) & (t - trial * period_s >= start_s)
    n = rec.n_neurons["mem"]
    counts = np.bincount(trial[keep] * n + i[keep], minlength=n_trials * n).reshape(n_trials, n)
    return counts / (period_s - start_s)
