"""The `SpikeRecord`: what every `bio` run hands to the rest of the project.

Plain NumPy inside, so analysis, the bridge and the studies never touch
Brian2 objects. Field names carry their units (`times_s`, `duration_s`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class SpikeRecord:
    """Spikes (and optional sampled traces) from one run.

    times_s:    {population: (n_spikes,) float64} spike times in seconds, sorted.
    indices:    {population: (n_spikes,) int64} neuron index of each spike.
    n_neurons:  {population: int} size of each population.
    duration_s: simulated duration in seconds.
    traces:     {"population.variable": (n_samples, n_recorded) float64} in SI
                units (volt, ampere, ...), sampled every `trace_dt_s`.
    trace_dt_s: sampling step of the traces in seconds (None without traces).
    final:      {"population.variable" or "connection.w": (n,) float64} state read
                back at the end of the run, in SI units (e.g. learned weights).
    copies:     B, the number of network copies that ran side by side: neuron k of
                copy b of a population of n per copy has index b * n + k.
    """

    times_s: dict[str, np.ndarray]
    indices: dict[str, np.ndarray]
    n_neurons: dict[str, int]
    duration_s: float
    traces: dict[str, np.ndarray] = field(default_factory=dict)
    trace_dt_s: float | None = None
    final: dict = field(default_factory=dict)
    copies: int = 1

    def __post_init__(self):
        for name in self.times_s:
            if name not in self.indices or name not in self.n_neurons:
                raise ValueError(f"population {name!r} needs times_s, indices and n_neurons")
            if len(self.times_s[name]) != len(self.indices[name]):
                raise ValueError(f"population {name!r}: {len(self.times_s[name])} times "
                                 f"but {len(self.indices[name])} indices")

    @property
    def populations(self) -> list[str]:
        return list(self.n_neurons)

    def _check(self, pop: str) -> None:
        if pop not in self.n_neurons:
            raise ValueError(f"no population {pop!r} in this record; it has: "
                             f"{', '.join(self.n_neurons) or 'none'}")

    def spike_counts(self, pop: str, t_start_s: float = 0.0, t_stop_s: float | None = None) -> np.ndarray:
        """Spikes per neuron in [t_start_s, t_stop_s). Returns (n_neurons,) int64."""
        self._check(pop)
        t_stop_s = self.duration_s if t_stop_s is None else t_stop_s
        t, i = self.times_s[pop], self.indices[pop]
        keep = (t >= t_start_s) & (t < t_stop_s)
        return np.bincount(i[keep], minlength=self.n_neurons[pop]).astype(np.int64)

    def rates_hz(self, pop: str, t_start_s: float = 0.0, t_stop_s: float | None = None) -> np.ndarray:
        """Firing rate of each neuron in Hz over [t_start_s, t_stop_s). Returns (n_neurons,)."""
        t_stop_s = self.duration_s if t_stop_s is None else t_stop_s
        return self.spike_counts(pop, t_start_s, t_stop_s) / max(t_stop_s - t_start_s, 1e-12)

    def sample_counts(self, pop: str, period_s: float, n_samples: int) -> np.ndarray:
        """Spikes per sample, copy and neuron when samples were shown one after another.

        Sample s occupies [s * period_s, (s + 1) * period_s). Returns (S, B, n) int64 with
        S = n_samples, B = self.copies, n = neurons per copy.
        """
        self._check(pop)
        n = self.n_neurons[pop] // self.copies
        t, i = self.times_s[pop], self.indices[pop]
        s = np.floor(t / period_s + 1e-9).astype(np.int64)
        keep = s < n_samples
        flat = np.bincount(s[keep] * (self.copies * n) + i[keep],
                           minlength=n_samples * self.copies * n)
        return flat.reshape(n_samples, self.copies, n).astype(np.int64)  # (S, B, n)

    def in_sequence(self, period_s: float, n_samples: int) -> "SpikeRecord":
        """This record of B copies laid out as if one copy had shown the samples one after
        another: sample k (round k // B, copy k % B) occupies [k * period_s, (k + 1) *
        period_s) of the result, with its neurons numbered 0..n-1 as in one copy.

        Spikes of the padding copies (k >= n_samples) are dropped. Returns a one-copy record
        of duration n_samples * period_s, spikes sorted by time. Traces and final state
        belong to copies and have no such layout: a record holding them is refused.
        """
        if self.traces or self.final:
            raise ValueError("in_sequence lays out spikes only; this record also holds "
                             f"{', '.join([*self.traces, *self.final])}")
        if not period_s > 0 or int(n_samples) != n_samples or n_samples < 1:
            raise ValueError(f"need period_s > 0 and n_samples >= 1, got {period_s}, {n_samples}")
        b_all, times, indices, sizes = self.copies, {}, {}, {}
        held = int(np.ceil(self.duration_s / period_s - 1e-9)) * b_all
        if n_samples > held:
            raise ValueError(f"the record holds {held} samples ({self.duration_s:g} s of {b_all} copies "
                             f"at {period_s:g} s per sample), not {n_samples}")
        split = {pop: size for pop, size in self.n_neurons.items() if size % b_all}
        if split:
            raise ValueError(f"population sizes must be multiples of the {b_all} copies, got {split}")
        for pop, size in self.n_neurons.items():
            n = size // b_all
            t, i = self.times_s[pop], self.indices[pop]
            rnd = np.floor(t / period_s + 1e-9).astype(np.int64)
            k = rnd * b_all + i // n  # the sample each spike belongs to
            keep = k < n_samples
            t, i = t[keep] + (k[keep] - rnd[keep]) * period_s, i[keep] % n
            order = np.lexsort((i, t))  # by time, ties by neuron (bio.run's order)
            times[pop], indices[pop], sizes[pop] = t[order], i[order], n
        return SpikeRecord(times, indices, sizes, int(n_samples) * period_s)

    def spike_trains(self, pop: str) -> list[np.ndarray]:
        """Per-neuron spike times in seconds: a list of n_neurons arrays."""
        self._check(pop)
        t, i = self.times_s[pop], self.indices[pop]
        order = np.argsort(i, kind="stable")
        bounds = np.searchsorted(i[order], np.arange(self.n_neurons[pop] + 1))
        ts = t[order]
        return [ts[bounds[k]:bounds[k + 1]] for k in range(self.n_neurons[pop])]

    def select(self, pop: str, neurons: np.ndarray) -> "SpikeRecord":
        """A one-population record holding only `neurons` of `pop`, renumbered 0..len-1."""
        self._check(pop)
        neurons = np.asarray(neurons, dtype=np.int64)
        lookup = np.full(self.n_neurons[pop], -1, dtype=np.int64)
        lookup[neurons] = np.arange(len(neurons))
        new = lookup[self.indices[pop]]
        keep = new >= 0
        return SpikeRecord({pop: self.times_s[pop][keep]}, {pop: new[keep]},
                           {pop: len(neurons)}, self.duration_s)
