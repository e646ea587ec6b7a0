"""Loss of inhibition in the Brunel (2000) network: rate, irregularity and synchrony over (g, eta).

Question: when inhibition weakens (relative inhibitory strength g falls) or the
external drive eta changes, where does a balanced excitatory-inhibitory
network leave the asynchronous irregular state for the synchronous regular,
seizure-like one?

Answer the figure gives: three maps over g (x) and eta (y) of the excitatory
firing rate, the CV of inter-spike intervals and Golomb's synchrony chi, with
the region where firing is regular (CV < `regular_cv`) outlined and Brunel's
(2000, Fig. 8) example states A-D placed. Below g ~ 4 (excitation dominates,
g = 4 balances the four times more numerous excitatory inputs) neurons fire
regularly near saturation - the synchronous regular state A, the network's
caricature of a seizure; above it firing is slow and irregular (C), with
oscillatory irregular states at high drive (B) and low drive (D). This is the
E/I balance the "epilepsy" disorder of `bridge.disorders` removes.

Small networks (N_E of a few hundred or thousand) keep the paper's J * C_E, so
their phase diagram has the same layout with more noise (bio.brunel2000); chi
falls with network size, so compare it only between equal sizes.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis

VERSION = 1


@dataclass(frozen=True)
class Params:
    g: tuple[float, ...] = axis(2.0, 3.0, 4.0, 4.5, 5.0, 6.0, 7.0, 8.0)  # relative inhibition
    eta: tuple[float, ...] = axis(0.9, 1.5, 2.0, 3.0, 4.0)               # external drive / nu_thr
    n_exc: int = 2000               # N_E; N_I = N_E / 4 (Brunel 2000)
    duration_ms: float = 600.0
    warmup_ms: float = 100.0        # transient left out of every measure
    dt_ms: float = 0.1              # integration step (the paper's)
    sync_bin_ms: float = 5.0        # bin of the synchrony measure
    regular_cv: float = 0.5         # CV below this counts as regular firing (the SR region)
    target: str = "cython"
    seeds: tuple[int, ...] = (0,)


TINY = Params(g=(3.0, 6.0), eta=(2.0, 4.0), n_exc=200, duration_ms=100.0, warmup_ms=30.0,
              dt_ms=0.25, target="numpy", seeds=(0,))
QUICK = Params(g=(2.0, 3.0, 4.0, 5.0, 6.0, 8.0), eta=(0.9, 2.0, 4.0), n_exc=1000, duration_ms=400.0)


def point(p: Params, seed: int) -> dict[str, float]:
    """Simulate one (g, eta); rate_hz, cv_isi and synchrony of the excitatory population."""
    import brian2 as b2

    from bio import analysis
    from bio.brunel2000 import brunel

    rec = brunel(g=p.g, eta=p.eta, duration=p.duration_ms * b2.ms, N_E=p.n_exc,
                     target=p.target, seed=seed, dt=p.dt_ms * b2.ms)
    t0 = p.warmup_ms * 1e-3
    out = {}
    for pop in ("exc", "inh"):
        out[f"rate_hz_{pop}"] = analysis.mean_rate(rec, pop, t_start_s=t0)
        out[f"cv_isi_{pop}"] = analysis.cv_isi(rec, pop, t_start_s=t0)
        out[f"synchrony_{pop}"] = analysis.synchrony(rec, pop, bin_s=p.sync_bin_ms * 1e-3, t_start_s=t0)
    out["regular"] = float(out["cv_isi_exc"] < p.regular_cv)
    return out


def _grid(table, metric):
    """(g values, eta values, (n_eta, n_g) mean over seeds) of one metric."""
    rows = table[table["metric"] == metric]
    m = rows.groupby(["eta", "g"])["value"].mean().unstack("g")  # eta rows, g columns
    return m.columns.to_numpy(float), m.index.to_numpy(float), m.to_numpy(float)


def figures(table, out_dir: Path) -> list[Path]:
    """Maps of rate, CV and synchrony over (g, eta), the regular region and states A-D marked."""
    from matplotlib.colors import LogNorm
    from matplotlib.lines import Line2D

    from bio.brunel2000 import STATES

    from . import style

    regular_cv = float(table["regular_cv"].iloc[0]) if "regular_cv" in table else 0.5
    n_exc = int(table["n_exc"].iloc[0]) if "n_exc" in table else None
    fig, axes = style.figure(ncols=3, width=3 * 3.7)
    panels = [("rate_hz_exc", "Firing rate", "rate (Hz)", "viridis"),
              ("cv_isi_exc", "Irregularity", "CV of inter-spike intervals", "magma"),
              ("synchrony_exc", "Synchrony", "Golomb's $\\chi$", "cividis")]
    _, _, cv = _grid(table, "cv_isi_exc")
    for k, (ax, (metric, title, label, cmap)) in enumerate(zip(axes, panels)):
        g, eta, values = _grid(table, metric)
        positive = values[np.isfinite(values) & (values > 0)]
        norm = LogNorm(positive.min(), positive.max()) if metric.startswith("rate") and len(positive) \
            and positive.max() > 10 * positive.min() else None
        mesh = ax.pcolormesh(g, eta, values, shading="nearest", cmap=cmap, norm=norm)
        fig.colorbar(mesh, ax=ax, label=label)
        # the synchronous regular (seizure-like) region: regular firing
        if len(g) > 1 and len(eta) > 1:
            ax.contour(g, eta, (cv < regular_cv).astype(float), levels=[0.5], colors="white",
                       linewidths=1.5, linestyles="--")
        reg = np.argwhere(cv < regular_cv)
        ax.scatter(g[reg[:, 1]], eta[reg[:, 0]], marker="x", color="white", s=16, linewidths=1.2)
        for state, (gs, es) in STATES.items():
            ax.plot(gs, es, marker="o", mfc="none", mec="red", ms=8, mew=1.5)
            ax.annotate(state, (gs, es), xytext=(4, 4), textcoords="offset points", color="red",
                        fontweight="bold")
        ax.set(xlabel="relative inhibition g", title=f"{title} of excitatory neurons")
        if k == 0:
            ax.set_ylabel("external drive $\\eta = \\nu_{ext} / \\nu_{thr}$")
    handles = [Line2D([], [], color="white", ls="--", marker="x", mec="white",
                      label=f"synchronous regular region (CV < {regular_cv:g})"),
               Line2D([], [], marker="o", mfc="none", mec="red", ls="none",
                      label="Brunel (2000) Fig. 8 states A-D")]
    fig.legend(handles=handles, loc="outside lower center", ncols=2, facecolor="0.55", frameon=True)
    fig.suptitle("Brunel (2000) network over inhibition g and drive $\\eta$"
                 + (f" ($N_E$ = {n_exc}, mean over seeds)" if n_exc else "")
                 + ": weak inhibition gives the synchronous regular state", fontsize=10)
    return style.save(fig, out_dir, "epilepsy_maps")
