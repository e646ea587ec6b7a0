"""Seizure-like episodes in a recurrent E/I network of adaptive neurons, and their detector.

The network (`seizure_spec`). 800 excitatory regular-spiking and 200 inhibitory
fast-spiking AdEx neurons (Brette & Gerstner 2005; the conductance-based
network cells of Zerlaut et al. 2018, J Comput Neurosci 44:45, and di Volo et al.
2019, Neural Comput 31:653: C 200 pF, g_L 10 nS, E_L -65 mV, V_T -50 mV,
Delta_T 2 mV (RS) or 0.5 mV (FS), tau_w 500 ms, 5 ms refractory), coupled by
conductance synapses (`synapses.CondExp`: tau 5 ms, E_exc 0 mV, E_inh -80 mV).
Every neuron has fixed in-degrees, K_E = 40 excitatory and K_I = 10
inhibitory partners (p = 0.05 at the default size; smaller networks keep the
in-degrees, as bio/brunel2000.py keeps C_E), and 100 external Poisson inputs
at 6 Hz (`inputs.PoissonDrive`). The slow negative feedback is the excitatory
cells' spike-triggered adaptation current (b = 50 pA, tau_w = 500 ms; the
inhibitory cells have none, a = b = 0).

Knobs: `inhibition` scales every inhibitory weight (I->E and I->I), so
`inhibition = 1 - severity` is exactly the "epilepsy" disorder of
bridge.disorders (`bio.lesion.scale_weights(spec, 1 - severity, "inh")`);
`excitation` scales the recurrent E->E weights (sprouting); `adaptation`
scales b (0 removes the slow feedback); `depression` > 0 adds Tsodyks-Markram
short-term depression (release fraction U = depression) on E->E.

What it does (studies/epilepsy.py --quick: seeds 0-2, 6 s, cython; `severity` =
1 - inhibition; exploration runs of 8-10 s on seeds 1 and 3 agree):
- inhibition >= 0.6: asynchronous irregular (AI) activity, excitatory rate
  5.4-6 Hz, CV of ISIs 0.75-0.77, Golomb's chi 0.07-0.09, no episode.
- inhibition 0.5-0.1: recurring seizure-like episodes. The low-activity state
  loses stability (near the edge, at 0.5, fluctuations time some onsets), the
  population jumps within ~0.1 s to 150-170 Hz with every neuron recruited
  (onset; chi 0.8-0.86), and stays there while the adaptation current builds
  up; the rate sags and the episode stops abruptly when adaptation can no
  longer sustain the high state (spontaneous termination), followed by a
  silent post-ictal phase until adaptation decays (tau_w) and the next
  episode starts. Mean duration grows with the loss: 0.21, 0.31, 0.45, 0.67
  and 1.2-1.5 s at inhibition 0.5, 0.4, 0.3, 0.2, 0.1, while the rate falls
  from 33-44 to 22 per minute (time in seizure 13% -> 50%).
- inhibition 0: tonic saturation: excitation outruns the largest adaptation
  current, and the network fires at ~149 Hz without end, regularly (CV 0.02)
  and with little synchrony (chi 0.2).
With `depression` = 0.2 (and adaptation) total loss of inhibition gave
recurring population spikes shorter than 100 ms every ~0.4 s instead of
tonic firing (one 3 s run of the 200 + 50 network): events closer to
interictal spikes than to seizures, below the detector's minimum duration.

This is the slow-fast "square-wave burster" picture of seizure dynamics: onset
at a saddle-node (a jump to a large-amplitude state), offset when the slow
variable (here adaptation, the Epileptor's "permittivity" z) carries the fast
system to the end of its high branch, with the firing rate slowing before
offset (Jirsa et al. 2014, Brain 137:2210). Adaptation-terminated episodes and
Up states in AdEx networks: Destexhe (2009, J Comput Neurosci 27:493);
episodic network bursts ended by a slow activity-dependent variable: van
Vreeswijk & Hansel (2001, Neural Comput 13:959), Tabak et al. (2000,
J Neurosci 20:3041); short population spikes ended by synaptic depression:
Tsodyks, Uziel & Markram (2000, J Neurosci 20:RC50), as with the `depression` option.

How the parameters were chosen (cython runs of 3-8 s, N = 800 + 200, seeds 0-1):
with K_E = 80, K_I = 20 and 1-3 nS synapses the healthy network fired too
regularly (CV 0.3-0.6) and the seizure window was narrow or absent (at 3 nS
the healthy network already had episodes and 40% loss was tonic); K_E = 40,
K_I = 10 with Q_E = 4 nS, Q_I = 20 nS gave AI at inhibition 1 (CV 0.75-0.8).
The width of the seizure window in inhibition grows with b * tau_w (the
adaptation current a seizure can build), at the cost of the tonic end:
b * tau_w = 20 pA s gave episodes for inhibition 0.25-0.5 only (tonic from
0.2), 30 and 40 pA s gave no tonic state even at inhibition 0, 25 pA s
(b = 50 pA, tau_w = 500 ms) gives AI down to 0.6, episodes from 0.5 to 0.1
and tonic firing at 0. The adaptation current starts at its AI level
(w = b tau_w * 5 Hz, spread +-50%) and v spread below threshold: started with
less adaptation (a 3 Hz level), a network left with 55% of its inhibition,
asynchronous once settled, ignited at once. Cost: 10 s of network time runs in
6-8 s (cython, one core of a loaded machine); the 200 + 50 network of the tests
runs 3 s in ~6 s on the numpy target at dt = 0.2 ms.

The detector (`detect_seizures`) is the seizure detector of bio.analysis:
episodes where the population rate and the fraction of recruited neurons cross
onset thresholds and last until the rate falls below a lower offset threshold
(hysteresis), kept when longer than a minimum duration.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

import brian2 as b2
import numpy as np
from brian2 import Hz, mV, ms, nS, pA, pF

from . import neurons, synapses
from .inputs import PoissonDrive
from .record import SpikeRecord
from .spec import Connection, NetworkSpec, Population, Record, fixed_indegree

__all__ = ["seizure_spec", "detect_seizures", "Seizures", "STATES", "EXC_CELL", "INH_CELL"]

# Regular-spiking excitatory cell with spike-triggered adaptation (the slow feedback).
EXC_CELL = neurons.AdEx(C=200 * pF, g_L=10 * nS, E_L=-65 * mV, v_thresh=-50 * mV, Delta_T=2 * mV,
                        tau_w=500 * ms, a=0 * nS, b=50 * pA, v_reset=-65 * mV,
                        v_peak=-40 * mV, t_ref=5 * ms)  # v_peak = V_T + 5 Delta_T
# Fast-spiking inhibitory cell: sharp spike initiation, no adaptation.
INH_CELL = neurons.AdEx(C=200 * pF, g_L=10 * nS, E_L=-65 * mV, v_thresh=-50 * mV, Delta_T=0.5 * mV,
                        tau_w=500 * ms, a=0 * nS, b=0 * pA, v_reset=-65 * mV,
                        v_peak=-45 * mV, t_ref=5 * ms)
EXC_SYN = synapses.CondExp("exc", tau=5 * ms, E_rev=0 * mV)
INH_SYN = synapses.CondExp("inh", tau=5 * ms, E_rev=-80 * mV)

K_EXC, K_INH = 40, 10          # in-degrees (p = 0.05 at 800 + 200 neurons)
Q_EXC = 4 * nS                 # recurrent excitatory conductance jump
Q_INH = 20 * nS                # inhibitory conductance jump (times `inhibition`)
Q_EXT = 2 * nS                 # external input conductance jump
N_EXT, NU_EXT = 100, 6 * Hz    # external Poisson inputs per neuron and their rate
DELAY = 1.5 * ms
TAU_REC = 500 * ms             # recovery time of the optional E->E depression
AI_RATE = 5 * Hz               # rate the adaptation current starts from (module docstring)

STATES = ("asynchronous", "seizures", "tonic")


def seizure_spec(n_exc: int = 800, n_inh: int = 200, inhibition: float = 1.0, excitation: float = 1.0,
                 adaptation: float = 1.0, depression: float = 0.0, drive_hz: float | None = None,
                 seed: int = 0, record_v: int = 0) -> NetworkSpec:
    """The seizure-prone E/I network (module docstring) as a NetworkSpec.

    n_exc, n_inh: population sizes ("exc", "inh"); each needs >= K_E = 40 / K_I = 10 neurons.
    inhibition:   factor on every inhibitory weight (1 healthy, 0 none) = 1 - epilepsy severity.
    excitation:   factor on the recurrent E->E weights.
    adaptation:   factor on the excitatory cells' spike-triggered adaptation b (0: none).
    depression:   Tsodyks-Markram release fraction U on E->E synapses (tau_rec 500 ms); 0: static.
    drive_hz:     rate of each of the 100 external Poisson inputs (default 6 Hz).
    seed:         connectivity and initial state (the run's seed draws the Poisson input).
    record_v:     neurons per population whose v is recorded (traces "exc.v", "inh.v").
    meta holds the knobs, so a record's origin can be read back.
    """
    for what, value in (("inhibition", inhibition), ("excitation", excitation),
                        ("adaptation", adaptation)):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{what} is a factor on weights and must be a finite number >= 0, got {value}")
    if not 0 <= depression <= 1:
        raise ValueError(f"depression is a release fraction U in [0, 1] (0: no depression), got {depression}")
    for what, n, k in (("n_exc", n_exc, K_EXC), ("n_inh", n_inh, K_INH)):
        if int(n) != n or n < k:
            raise ValueError(f"{what} must be a whole number >= its in-degree {k}, got {n}")
    drive = NU_EXT if drive_hz is None else drive_hz * Hz
    if not float(drive / Hz) >= 0:
        raise ValueError(f"drive_hz must be >= 0, got {drive_hz}")
    n_exc, n_inh = int(n_exc), int(n_inh)
    rng = np.random.default_rng(seed)
    exc_cell = replace(EXC_CELL, b=EXC_CELL.b * adaptation)
    w0 = float(exc_cell.b * exc_cell.tau_w * AI_RATE / b2.amp) * rng.uniform(0.5, 1.5, n_exc)
    pops = {"exc": Population(exc_cell, n_exc, init={"v": rng.uniform(-70e-3, -52e-3, n_exc), "w_adapt": w0}),
            "inh": Population(INH_CELL, n_inh, init={"v": rng.uniform(-70e-3, -52e-3, n_inh)})}
    ee_model = EXC_SYN if depression == 0 else synapses.TsodyksMarkram(EXC_SYN, U=depression, tau_rec=TAU_REC)
    plan = {  # name: (pre, post, model, in-degree, weight in siemens, kind)
        # a depressing synapse delivers w U R: w = Q / U keeps its efficacy at rest (R = 1) at Q
        "exc_exc": ("exc", "exc", ee_model, K_EXC, float(Q_EXC / b2.siemens) * excitation
                    / (depression or 1.0), "exc"),
        "exc_inh": ("exc", "inh", EXC_SYN, K_EXC, float(Q_EXC / b2.siemens), "exc"),
        "inh_exc": ("inh", "exc", INH_SYN, K_INH, float(Q_INH / b2.siemens) * inhibition, "inh"),
        "inh_inh": ("inh", "inh", INH_SYN, K_INH, float(Q_INH / b2.siemens) * inhibition, "inh"),
    }
    conns = {}
    for name, (pre, post, model, k, w, kind) in plan.items():
        i, j = fixed_indegree(pops[pre].n, pops[post].n, k, rng)
        conns[name] = Connection(pre, post, model, i, j, np.full(len(i), w), kind=kind,
                                 delay_s=np.full(len(i), float(DELAY / b2.second)))
    drives = [PoissonDrive(name, N_EXT, drive, Q_EXT, EXC_SYN) for name in ("exc", "inh")]
    traces = {f"{name}.v": np.arange(min(record_v, pops[name].n)) for name in pops} if record_v else {}
    meta = dict(inhibition=inhibition, excitation=excitation, adaptation=adaptation,
                depression=depression, drive_hz=float(drive / Hz))
    return NetworkSpec(pops, conns, drives, Record(traces=traces), meta=meta).check()


# ---------------------------------------------------------------------------- detector

@dataclass(frozen=True, eq=False)
class Seizures:
    """Episodes found by `detect_seizures` in the window [t_start_s, t_stop_s).

    onsets_s, offsets_s, durations_s, peak_rates_hz: (n_episodes,) float64; peak rate
        is the highest binned population rate in the episode.
    terminated:  (n_episodes,) bool, True where the episode ended inside the window
                 (an episode still on at the window's end has offset t_stop_s).
    started:     (n_episodes,) bool, True where the onset lies inside the window
                 (False: the episode was already on at t_start_s).
    window_s:    length of the analysed window in seconds.
    state:       "asynchronous" (no episode), "seizures" (at least one onset or
                 termination seen) or "tonic" (in an episode for >= tonic_fraction
                 of the window: one long episode rather than recurring ones).
    """

    onsets_s: np.ndarray
    offsets_s: np.ndarray
    durations_s: np.ndarray
    peak_rates_hz: np.ndarray
    terminated: np.ndarray
    started: np.ndarray
    window_s: float
    state: str

    @property
    def count(self) -> int:
        """Number of episodes that started inside the window."""
        return int(self.started.sum())

    @property
    def per_minute(self) -> float:
        """Seizure rate: episodes starting inside the window, per minute."""
        return 60.0 * self.count / self.window_s

    @property
    def fraction(self) -> float:
        """Fraction of the window spent in an episode, in [0, 1]."""
        return float(self.durations_s.sum() / self.window_s)

    @property
    def mean_duration_s(self) -> float:
        """Mean duration of the complete episodes (onset and termination seen); NaN if none."""
        whole = self.started & self.terminated
        return float(self.durations_s[whole].mean()) if whole.any() else float("nan")


def _runs(mask: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Start and stop (exclusive) bin indices of the runs of True in a 1-D bool array."""
    edges = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def detect_seizures(rec: SpikeRecord, pop: str = "exc", bin_ms: float = 10.0, on_hz: float = 40.0,
                    off_hz: float = 20.0, min_active: float = 0.25, min_duration_ms: float = 100.0,
                    t_start_s: float = 0.0, t_stop_s: float | None = None,
                    tonic_fraction: float = 0.9) -> Seizures:
    """Seizure-like episodes of population `pop`: the seizure detector of bio.analysis.

    The record is cut into bins of bin_ms; in each bin the population rate (spikes /
    neurons / bin) and the fraction of neurons that fired at least once (recruitment, the
    synchrony of the episode) are computed. An episode starts in a bin where the rate is
    >= on_hz and the fraction active >= min_active, and lasts while the rate stays >=
    off_hz (hysteresis: off_hz < on_hz, so a dip in an episode does not split it); it is
    kept when it lasts >= min_duration_ms. Defaults suit networks whose asynchronous
    state fires at a few Hz (bio.seizure: ~5 Hz AI, ~150 Hz episodes).

    t_start_s, t_stop_s: the analysed window (skip a start-up transient with t_start_s).
    tonic_fraction: the state is "tonic" when episodes cover at least this fraction of
        the window (tonic saturation is one episode without end); otherwise
        "seizures" when an episode starts or ends inside the window, else "asynchronous".
    Returns a `Seizures` (times in seconds, rates in Hz).
    """
    rec._check(pop)
    t_stop_s = rec.duration_s if t_stop_s is None else t_stop_s
    if not t_stop_s > t_start_s:
        raise ValueError(f"empty window [{t_start_s}, {t_stop_s}) s")
    if not bin_ms > 0 or not min_duration_ms >= 0:
        raise ValueError(f"bin_ms must be > 0 and min_duration_ms >= 0, got {bin_ms}, {min_duration_ms}")
    if not 0 <= off_hz <= on_hz:
        raise ValueError(f"hysteresis needs 0 <= off_hz <= on_hz, got off_hz={off_hz}, on_hz={on_hz}")
    if not 0 <= min_active <= 1 or not 0 < tonic_fraction <= 1:
        raise ValueError(f"min_active must lie in [0, 1] and tonic_fraction in (0, 1], got "
                         f"{min_active}, {tonic_fraction}")
    bin_s = bin_ms * 1e-3
    n_bins = int(np.floor((t_stop_s - t_start_s) / bin_s + 1e-9))
    if n_bins < 1:
        raise ValueError(f"bin_ms = {bin_ms} is longer than the window of {t_stop_s - t_start_s} s")
    n = rec.n_neurons[pop]
    t, idx = rec.times_s[pop], rec.indices[pop]
    k = np.floor((t - t_start_s) / bin_s + 1e-9).astype(np.int64)
    keep = (k >= 0) & (k < n_bins)
    counts = np.bincount(k[keep], minlength=n_bins).astype(np.float64)  # (T,) spikes per bin
    rate = counts / (max(n, 1) * bin_s)
    # neurons that fired in each bin: distinct (bin, neuron) pairs
    active = np.bincount(np.unique(k[keep] * n + idx[keep]) // max(n, 1), minlength=n_bins) / max(n, 1)

    on = (rate >= on_hz) & (active >= min_active)
    in_seizure = np.zeros(n_bins, bool)
    state = False
    for b in range(n_bins):  # hysteresis: enter on `on`, stay while rate >= off_hz
        state = on[b] or (state and rate[b] >= off_hz)
        in_seizure[b] = state
    starts, stops = _runs(in_seizure)
    long_enough = (stops - starts) * bin_ms >= min_duration_ms
    starts, stops = starts[long_enough], stops[long_enough]
    peaks = np.array([rate[a:z].max() for a, z in zip(starts, stops)], dtype=np.float64)
    onsets, offsets = t_start_s + starts * bin_s, t_start_s + stops * bin_s
    window_s = n_bins * bin_s
    started, terminated = starts > 0, stops < n_bins
    durations = offsets - onsets
    covered = durations.sum() / window_s
    if covered >= tonic_fraction:
        label = "tonic"
    elif (started | terminated).any():
        label = "seizures"
    else:
        label = "asynchronous"
    return Seizures(onsets, offsets, durations, peaks, terminated, started, window_s, label)
