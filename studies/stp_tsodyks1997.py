"""Tsodyks & Markram (1997) reproduced: a depressing synapse's steady-state response falls as 1/f.

Question (Tsodyks & Markram 1997, PNAS 94:719): how does the stationary
response of a depressing neocortical synapse to a regular presynaptic train
depend on the train's frequency f and on the release probability U?

The model (bio.synapses.TsodyksMarkram, tau_facil = 0): each spike uses a
fraction U of the available resources R, which recover with tau_rec. For a
regular train of period T = 1/f the amplitude settles at (the paper's
steady-state formula)

    A_st = U (1 - e^{-T/tau_rec}) / (1 - (1 - U) e^{-T/tau_rec})   (in units of w),

which is flat at low f and falls as 1/(f tau_rec), whatever U, above the
limiting frequency lambda ~ 1/(U tau_rec): the mean transmitted signal A_st * f
saturates at 1/tau_rec, so above lambda the synapse no longer signals the
presynaptic rate, and U (the release probability) matters only below lambda.

Answer the figure gives: the simulated amplitudes (points) lie on the analytic
curves (lines); above lambda (ticks) the curves for every U merge onto the
1/(f tau_rec) asymptote (left), and A_st * f saturates at 1/tau_rec (right).
`summary` prints, per U, lambda, the log-log slope above 4 lambda (the paper:
-1) and the largest deviation from the analytic formula.

How it is measured: one regular presynaptic spike train, long enough for the
last amplitude to lie within a fraction `settle` of the steady state (the
transient shrinks by (1 - U) e^{-T/tau_rec} per spike), drives a
CurrentExp synapse onto a LIF neuron (weight 1 pA: the neuron stays far below
threshold; only the current is read). Each spike's amplitude is the jump of the
recorded synaptic current at that step, I[k] - I[k-1] exp(-dt/tau_syn), which
is exact for the exactly integrated exponential decay. The model is
deterministic: one seed suffices (the band over seeds has zero width).

Sizes: `brainbridge run stp_tsodyks1997` is the full size (12 frequencies x 3
values of U, cython); `--quick` (7 frequencies, numpy) and the TINY preset (the
tests) use fewer frequencies and a coarser time step.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis, param

TORCH = False  # plain Brian2: its points never use torch (studies.worker does not import it)

TAU_SYN_MS = 5.0  # decay of the postsynaptic current (CurrentExp default); only the jumps are read


@dataclass(frozen=True)
class Params:
    rate_hz: tuple[float, ...] = axis(1.0, 2.0, 3.0, 5.0, 7.0, 10.0, 15.0, 20.0, 30.0, 50.0, 70.0, 100.0,
                                      above=0.0, at_most=500.0)  # presynaptic train frequency
    release_u: tuple[float, ...] = axis(0.2, 0.5, 0.8, above=0.0, at_most=1.0)  # U of the model
    tau_rec_ms: float = param(800.0, above=0.0)  # recovery time constant (the paper's ~800 ms)
    settle: float = param(1e-3, above=0.0, below=1.0)  # trains run until the transient is this small
    dt_ms: float = param(0.1, above=0.0)
    target: str = param("cython", choices=("numpy", "cython", "cpp_standalone"))
    seeds: tuple[int, ...] = (0,)


TINY = Params(rate_hz=(2.0, 50.0), release_u=(0.2, 0.8), settle=1e-6, dt_ms=0.5, target="numpy")
QUICK = Params(rate_hz=(1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0), dt_ms=0.25, target="numpy")


def check(p: Params) -> None:
    if 1000.0 / p.rate_hz < 2 * p.dt_ms:
        raise ValueError(f"rate_hz={p.rate_hz:g} leaves less than two time steps between spikes at "
                         f"dt_ms={p.dt_ms:g}; lower the rate or dt_ms")


def steady_state(release_u: float, rate_hz: float, tau_rec_s: float) -> float:
    """Tsodyks & Markram (1997): stationary amplitude (units of w) for a regular train at rate_hz."""
    e = np.exp(-1.0 / (rate_hz * tau_rec_s))
    return release_u * (1.0 - e) / (1.0 - (1.0 - release_u) * e)


def n_spikes(p: Params) -> int:
    """Spikes in the train: enough for the last amplitude to lie within `settle` of the steady
    state, relative to it (at least 5).

    The resources obey R_{n+1} = q R_n + (1 - e^{-T/tau_rec}) with q = (1 - U) e^{-T/tau_rec}
    (bio.synapses.TsodyksMarkram), so A_n - A_st = q^(n-1) (U - A_st)."""
    tau_s = p.tau_rec_ms * 1e-3
    q = (1.0 - p.release_u) * np.exp(-1.0 / (p.rate_hz * tau_s))
    a_st = steady_state(p.release_u, p.rate_hz, tau_s)
    if q <= 0 or p.release_u - a_st <= 0:
        return 5
    return max(5, 1 + int(np.ceil(np.log(p.settle * a_st / (p.release_u - a_st)) / np.log(q))))


def spike_times_s(p: Params) -> np.ndarray:
    """(n,) times on the simulation grid: the first at 5 ms, then one every 1/rate_hz."""
    dt_s = p.dt_ms * 1e-3
    nominal = 5e-3 + np.arange(n_spikes(p)) / p.rate_hz
    return np.round(nominal / dt_s) * dt_s


def spec(p: Params):
    """One presynaptic source, one depressing CurrentExp synapse (w = 1 pA), one LIF neuron;
    the synaptic current is recorded after every step."""
    from brian2 import ms, pA

    from bio import inputs, neurons, synapses
    from bio.spec import Connection, NetworkSpec, Population, Record

    syn = synapses.TsodyksMarkram(synapses.CurrentExp("exc", tau=TAU_SYN_MS * ms), U=p.release_u,
                                  tau_rec=p.tau_rec_ms * ms)
    times = spike_times_s(p)
    return NetworkSpec(
        {"pre": Population(None, 1), "post": Population(neurons.LIF(), 1)},
        {"syn": Connection("pre", "post", syn, [0], [0], [float(1 * pA)], kind="exc")},
        inputs=[inputs.Spikes("pre", times, np.zeros(len(times), dtype=np.int64))],
        record=Record(spikes=(), traces={"post.I_exc": True}, when="end"))


def amplitudes(current: np.ndarray, times_s: np.ndarray, dt_s: float, w: float) -> np.ndarray:
    """Per-spike amplitudes in units of w from a current trace sampled at the end of every step.

    current: (T,) amp; times_s: (n,) spike times on the grid. Returns (n,)."""
    k = np.round(times_s / dt_s).astype(np.int64)
    decay = np.exp(-dt_s / (TAU_SYN_MS * 1e-3))
    return (current[k] - current[k - 1] * decay) / w


def point(p: Params, seed: int) -> dict[str, float]:
    """One train at one frequency and U. Returns the first and steady-state amplitudes (units of
    w), the analytic steady state, their relative difference, the transmitted rate A_st * f, and
    how far the last two amplitudes still differ (a check that the train was long enough)."""
    import brian2 as b2

    import bio

    times = spike_times_s(p)
    dt_s = p.dt_ms * 1e-3
    rec = bio.run(spec(p), (times[-1] + 5e-3) * b2.second, dt=p.dt_ms * b2.ms, target=p.target, seed=seed)
    amp = amplitudes(rec.traces["post.I_exc"][:, 0], times, dt_s, w=1e-12)
    interval = (times[-1] - times[0]) / (len(times) - 1)  # the grid's true period
    theory = steady_state(p.release_u, 1.0 / interval, p.tau_rec_ms * 1e-3)
    return {"amp_first": float(amp[0]), "amp_st": float(amp[-1]), "amp_st_theory": float(theory),
            "rel_error": float(abs(amp[-1] - theory) / theory),
            "transmitted_hz": float(amp[-1] * p.rate_hz),
            "unsettled": float(abs(amp[-1] - amp[-2]) / amp[-1])}


def slope_above(rates_hz: np.ndarray, amp: np.ndarray, lam_hz: float) -> float:
    """Least-squares slope of log amp against log rate over the rates >= 4 lambda (NaN if < 2)."""
    sel = rates_hz >= 4 * lam_hz
    if sel.sum() < 2:
        return float("nan")
    return float(np.polyfit(np.log(rates_hz[sel]), np.log(amp[sel]), 1)[0])


def _means(table, metric: str):
    rows = table[table["metric"] == metric]
    return rows.groupby(["release_u", "rate_hz"])["value"].mean()


def figures(table, out_dir: Path) -> list[Path]:
    """Left: A_st against f (log-log), simulation (points) on the analytic curves, with the
    1/(f tau_rec) asymptote. Right: the transmitted rate A_st * f, saturating at 1/tau_rec."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    from . import style

    tau_s = float(table["tau_rec_ms"].iloc[0]) * 1e-3
    fig, (ax_amp, ax_rate) = style.figure(ncols=2, width=7.0)
    rates = np.sort(table["rate_hz"].unique())
    grid = np.geomspace(rates.min(), rates.max(), 200)
    for k, u in enumerate(sorted(table["release_u"].unique())):
        color = style.PALETTE[k % len(style.PALETTE)]
        part = table[table["release_u"] == u]
        theory = steady_state(u, grid, tau_s)
        ax_amp.plot(grid, theory, color=color, linewidth=1, alpha=0.7)
        ax_rate.plot(grid, theory * grid, color=color, linewidth=1, alpha=0.7)
        style.mean_spread(ax_amp, part, x="rate_hz", metric="amp_st", label=f"U = {u:g}", color=color,
                          linestyle="none", spread="boot95")
        style.mean_spread(ax_rate, part, x="rate_hz", metric="transmitted_hz", label=f"U = {u:g}",
                          color=color, linestyle="none", spread="boot95")
        lam = 1.0 / (u * tau_s)  # the paper's limiting frequency
        ax_amp.axvline(lam, color=color, linestyle=":", linewidth=0.8)
    ax_amp.plot(grid, 1.0 / (grid * tau_s), color="black", linestyle="--", linewidth=1,
                label="1 / (f tau_rec)")
    ax_rate.axhline(1.0 / tau_s, color="black", linestyle="--", linewidth=1, label="1 / tau_rec")
    ax_amp.set(xscale="log", yscale="log", xlabel="presynaptic frequency f (Hz)",
               ylabel="steady-state amplitude A_st (units of w)",
               title="A_st falls as 1/f above λ = 1/(U τ_rec) (dotted)")
    ax_rate.set(xscale="log", xlabel="presynaptic frequency f (Hz)", ylabel="A_st × f (Hz)",
                title="A_st × f saturates at 1/τ_rec")
    for ax in (ax_amp, ax_rate):
        ax.xaxis.set_minor_formatter(NullFormatter())
        ax.yaxis.set_minor_formatter(NullFormatter())
        ax.set_xticks(rates, [f"{r:g}" for r in rates], minor=False)
        ax.legend(title="points: simulation; lines: theory", fontsize=7, title_fontsize=7)
    ax_amp.yaxis.set_major_locator(LogLocator(subs=(1.0, 2.0, 5.0)))
    ax_amp.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    return style.save(fig, out_dir, "stp_tsodyks1997")


def summary(table) -> str:
    """Per U: the limiting frequency, the slope above it (paper: -1), the fit to the formula; and
    for the middle U the amplitudes beside the analytic steady state and the 1/f asymptote."""
    tau_s = float(table["tau_rec_ms"].iloc[0]) * 1e-3
    amp, theory = _means(table, "amp_st"), _means(table, "amp_st_theory")
    err, unsettled = _means(table, "rel_error"), _means(table, "unsettled")
    lines = ["Tsodyks & Markram (1997): A_st = U(1-e^{-T/tau})/(1-(1-U)e^{-T/tau}); ~1/(f tau_rec) above "
             "lambda = 1/(U tau_rec) (paper: slope -1, independent of U)"]
    us = sorted(amp.index.get_level_values(0).unique())
    for u in us:
        rates = np.asarray(amp[u].index, dtype=float)
        lam = 1.0 / (u * tau_s)
        lines.append(f"  U={u:g}: lambda {lam:.2f} Hz; log-log slope above 4 lambda: sim "
                     f"{slope_above(rates, amp[u].to_numpy(), lam):+.3f}, theory "
                     f"{slope_above(rates, theory[u].to_numpy(), lam):+.3f}; largest deviation from the "
                     f"formula {err[u].max():.2e} (train settled to {unsettled[u].max():.1e})")
    u = us[len(us) // 2]
    lines.append(f"  U={u:g}   f (Hz)   A_st sim   A_st paper formula   1/(f tau_rec)")
    for f in amp[u].index:
        lines.append(f"          {f:6g}   {amp[u][f]:.4f}     {theory[u][f]:.4f}               "
                     f"{1.0 / (f * tau_s):.4f}")
    if len(us) > 1:
        f_hi = max(amp[us[0]].index)
        f_lo = min(amp[us[0]].index)
        lines.append(f"  A_st(U={us[-1]:g}) / A_st(U={us[0]:g}): {amp[us[-1]][f_lo] / amp[us[0]][f_lo]:.2f} at "
                     f"{f_lo:g} Hz, {amp[us[-1]][f_hi] / amp[us[0]][f_hi]:.2f} at {f_hi:g} Hz "
                     "(U matters below lambda only)")
    return "\n".join(lines)
