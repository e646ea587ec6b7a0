"""The shared figure style: one look for every study's figures, PNG + SVG output.

The runner calls each study's `figures(table, out_dir)` inside `context()`, so
the style applies there without changing a user's global matplotlib settings.
Figures are made without pyplot (`figure()` builds a `matplotlib.figure.Figure`
drawn by the Agg renderer), so no display is needed and nothing leaks between
calls; `save()` also accepts figures made with pyplot, and closes them.

    fig, (ax1, ax2) = style.figure(ncols=2)
    style.mean_spread(ax1, table, x="rate_in_hz", metric="rate_hz", by="model")
    return style.save(fig, out_dir, "rates")       # [rates.png, rates.svg]
"""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

# Okabe & Ito (2008), "Color universal design": distinguishable with every common colour-vision deficiency
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#F0E442", "#000000")

RC = {
    "axes.prop_cycle": matplotlib.cycler(color=PALETTE),
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": False,
    "axes.titlesize": 10,
    "axes.labelsize": 9,
    "xtick.labelsize": 8,
    "ytick.labelsize": 8,
    "legend.fontsize": 8,
    "legend.frameon": False,
    "font.size": 9,
    "lines.linewidth": 1.5,
    "lines.markersize": 4,
    "figure.dpi": 100,
    "savefig.dpi": 200,
    "savefig.bbox": "tight",
    "svg.fonttype": "none",   # keep text as text in SVG, editable in a vector editor
    "svg.hashsalt": "brainbridge",  # stable element ids: the same figure gives the same file
    "pdf.fonttype": 42,
}

PANEL_W, PANEL_H = 3.2, 2.6  # inches per panel: two panels fit a journal's full width


@contextlib.contextmanager
def context():
    """Apply the brainbridge style inside a `with` block (restores the old settings after)."""
    with matplotlib.rc_context(RC):
        yield


def figure(nrows: int = 1, ncols: int = 1, *, width: float | None = None,
           height: float | None = None, squeeze: bool = True, **kwargs):
    """A new Figure (not registered with pyplot) and its axes, sized per panel.

    Returns (fig, axes): one Axes when nrows == ncols == 1 and squeeze, else an array.
    """
    with context():
        fig = Figure(figsize=(width or PANEL_W * ncols, height or PANEL_H * nrows),
                     layout="constrained")
        axes = fig.subplots(nrows, ncols, squeeze=squeeze, **kwargs)
    return fig, axes


SVG_WAIT_S = 300.0  # the longest a forked process may take over the SVG before this one draws it


def _svg_elsewhere(fig, path: Path, box):
    """Start drawing `fig` as SVG (within `box`, inches) in a forked copy of this process, which
    writes path + ".part"; returns its pid, or None where that is not done (no fork, one core:
    then the caller draws). Drawing is matplotlib laying out text and ticks in Python: a figure
    of many panels takes seconds per format, and the two formats are drawn side by side this way."""
    if not sys.platform.startswith("linux") or len(os.sched_getaffinity(0)) < 2:
        return None
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # the copy: draw, and leave without running this process's exit handlers
        code = 1
        try:
            with open(f"{path}.part", "wb") as f:
                fig.savefig(f, format="svg", bbox_inches=box, metadata={"Date": None})
            code = 0
        finally:
            os._exit(code)
    return pid


def _collect_svg(pid, path: Path) -> bool:
    """Wait for the forked SVG (at most SVG_WAIT_S); True when it wrote the file, which is then
    moved into place. A copy that failed or hung is ended and leaves no file behind."""
    part = Path(f"{path}.part")
    deadline = time.monotonic() + SVG_WAIT_S
    status = None
    while status is None and time.monotonic() < deadline:
        done, code = os.waitpid(pid, os.WNOHANG)
        if done:
            status = code
        else:
            time.sleep(0.02)
    if status is None:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    ok = status is not None and os.waitstatus_to_exitcode(status) == 0 and part.is_file()
    if ok:
        os.replace(part, path)
    else:
        part.unlink(missing_ok=True)
    return ok


def save(fig, out_dir: str | Path, name: str) -> list[Path]:
    """Write `fig` as out_dir/name.png and out_dir/name.svg; returns both paths. On Linux with
    more than one core the SVG is drawn by a forked copy of this process while this one draws
    the PNG (the same figure, the same files; any failure there and this process draws it)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = [out_dir / f"{name}.png", out_dir / f"{name}.svg"]
    with context():
        # lay the figure out once for both files: its panels (constrained layout) and the tight
        # box around what it draws; each savefig would redo both, and a layout started from an
        # earlier one's result lands a fraction of a point elsewhere (the two files would differ)
        fig.draw_without_rendering()
        if matplotlib.rcParams["savefig.bbox"] == "tight":
            box = fig.get_tightbbox().padded(matplotlib.rcParams["savefig.pad_inches"])
        else:
            box = None
        fig.set_layout_engine("none")
        pid = _svg_elsewhere(fig, paths[1], box)
        try:
            fig.savefig(paths[0], bbox_inches=box)
        finally:
            drawn = pid is not None and _collect_svg(pid, paths[1])
        if not drawn:  # no timestamp: reproducible files
            fig.savefig(paths[1], bbox_inches=box, metadata={"Date": None})
    if "matplotlib.pyplot" in sys.modules:  # a pyplot figure stays open until closed
        import matplotlib.pyplot as plt

        if plt.fignum_exists(getattr(fig, "number", -1)):
            plt.close(fig)
    return paths


def summarise(table: pd.DataFrame, x: str, metric: str, by: str | None = None,
              spread: str = "sd") -> pd.DataFrame:
    """Mean and spread over seeds of one metric of a tidy results table.

    Returns a frame with columns [by,] x, mean, spread, n (one row per x and group).
    spread: "sd" (standard deviation), "sem" (standard error), "ci95" (1.96 sem) or
            "boot95" (95% percentile bootstrap interval of the mean over seeds, studies.stats;
            then the frame also has columns low and high, and spread is their half-width).
    """
    if spread not in ("sd", "sem", "ci95", "boot95"):
        raise ValueError(f"unknown spread {spread!r}; choose one of: sd, sem, ci95, boot95")
    rows = table[table["metric"] == metric]
    if rows.empty:
        known = ", ".join(sorted(table["metric"].unique()))
        raise ValueError(f"no metric {metric!r} in the table; it has: {known}")
    keys = ([by] if by else []) + [x]
    g = rows.groupby(keys, sort=True)["value"]
    out = g.agg(mean="mean", sd="std", n="count").reset_index()
    sd = out["sd"].fillna(0.0)  # one seed: no spread to show
    if spread == "boot95":
        from .stats import bootstrap_ci

        cis = [bootstrap_ci(part.to_numpy()) for _, part in g]
        out["low"], out["high"] = [c[1] for c in cis], [c[2] for c in cis]
        out["spread"] = (out["high"] - out["low"]) / 2
        return out.drop(columns="sd")
    out["spread"] = {"sd": sd, "sem": sd / np.sqrt(out["n"]),
                     "ci95": 1.96 * sd / np.sqrt(out["n"])}[spread]
    out["low"], out["high"] = out["mean"] - out["spread"], out["mean"] + out["spread"]
    return out.drop(columns="sd")


def mean_spread(ax, table: pd.DataFrame, x: str, metric: str, by: str | None = None,
                spread: str = "sd", label: str | None = None, **line_kwargs) -> pd.DataFrame:
    """Draw mean ± spread over seeds of `metric` against column `x`, one line per `by` group.

    The mean is a line with markers, the spread a shaded band. Returns the
    summary plotted (see `summarise`).
    """
    summary = summarise(table, x, metric, by, spread)
    groups = summary.groupby(by, sort=True) if by else [(label, summary)]
    for group, part in groups:
        name = f"{by}={group}" if by and label is None else (label if not by else f"{label} {group}")
        line, = ax.plot(part[x], part["mean"], marker="o", label=name, **line_kwargs)
        ax.fill_between(part[x], part["low"], part["high"], color=line.get_color(), alpha=0.2, linewidth=0)
    ax.set_xlabel(x)
    ax.set_ylabel(metric)
    if by or label:
        ax.legend()
    return summary
