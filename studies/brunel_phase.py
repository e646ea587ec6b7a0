"""Brunel (2000) phase diagram: states A-D of the E/I network over the g-eta plane, and the epilepsy path.

Question (Brunel 2000, J Comput Neurosci 8:183, Figs. 2 and 8): in a sparse
network of excitatory and inhibitory LIF neurons, how do relative inhibition g
and external drive eta = nu_ext / nu_thr set the collective state: synchronous
regular (A, SR), synchronous irregular with a fast (B) or slow (D) global
oscillation, or asynchronous irregular (C, AI)? And where does a loss of
inhibition (the `epilepsy` disorder, bridge.disorders: every inhibitory weight
times 1 - severity, i.e. g -> g (1 - severity)) take a network that starts in
the AI state C?

Method. Each grid point simulates bio.brunel2000's network (N_E = `n_exc`,
N_I = N_E / 4; C_E = `c_exc` = 1000 inputs per neuron and J = 0.1 mV as in the
paper, the connection probability raised to C_E / N_E for the smaller network:
see bio/brunel2000.py) for `duration_s` (Brian2, `target`), discards the first
`transient_s` and measures on the excitatory population:
- rate_hz, cv_isi (bio.analysis.cv_isi), chi (Golomb's synchrony, 2 ms bins,
  bio.analysis.synchrony), peak_hz (largest peak of the population-rate spectrum
  above 2 Hz, bio.analysis.power_spectrum with 1 ms bins, 0.5 s segments);
- q_fast, q_slow: the largest spectral peak in 60-400 Hz and in 2-60 Hz, each
  divided by the spectrum's mean in 400-500 Hz (the flat high-frequency floor
  of the population rate): how far a global oscillation rises above it;
- state, by these rules (in this order; `label`):
    Q  quiescent    rate < min_rate_hz (outside the paper's states)
    A  SR           cv_isi < cv_regular (neurons fire like clocks)
    B  SI fast      q_fast >= q_fast_min (a fast global oscillation)
    D  SI slow      q_slow >= q_slow_min (a slow global oscillation)
    C  AI           otherwise
  The thresholds are set between the paper's example states as our networks
  show them (N_E = 5000, docs/results/brunel_phase.csv: C q_fast 49 and q_slow
  14, B q_fast 261, D q_fast 71 and q_slow 125; C's q_slow and D's q_fast lie
  close below their thresholds of 15 and 80), so the labels at the four example
  points are calibrated, not predicted;
  the rest of the plane is the prediction. chi is reported but not used: in the denser
  small network neurons share half their inputs, which lifts chi in every state
  (state C: 0.13 at N_E = 10000, 0.30 at 2000; docs/benchmarks.md), and chi
  stays low in fast-oscillating states whose neurons fire sparsely.
- theory_*: bio.theory's stationary rate and bio.stability's linear stability
  of the asynchronous state at this (g (1 - severity), eta): the number of
  unstable modes of Brunel's eigenvalue problem and the frequency of the
  strongest one.

One more point (part = "theory") maps that stability on a finer grid
(`theory_dg` x `theory_deta`); its boundary (unstable modes > 0) is the
mean-field line drawn over the diagrams: Brunel's AI/SI boundary computed
afresh (bio/stability.py), together with the g = 4 balance line (inhibition
cancels excitation, theory.balance_g) and the eta = 1 line (external drive
alone reaches threshold). The theory is for the sparse paper-scale network; the
simulated small one shares more input, so its states need not stop exactly there.

The four example states of Brunel's Fig. 8 (bio.brunel2000.STATES) are always
simulated (also off the grid), and the `epilepsy` path: the network of state C
(path_g, path_eta) at each severity in `severity` (the spec edited by the
disorder, not rebuilt with a smaller g).

Answer the figure gives: heatmaps of rate, CV and chi and the state map with
the theory lines, the epilepsy path and the example points; a second figure
shows 200 ms of the population rate at the four example states (Fig. 8 style);
`brunel_ephys` the electrophysiology (raster, population rate, ISI and CV distributions)
of the excitatory neurons at each example state and at the end of the epilepsy path, from
the spike record those points keep (studies.ephys: the first 200 neurons per population,
at most 1 s after the transient).

Sizes: full, one documented command (N_E = 5000, 1.5 s, g in 2..8 by 0.5, eta in
0.5..4 by 0.5, cython; 112 points: 111 simulations, a median of 13 s each and up to 2 min, plus the
mean-field grid; 53 min of compute, the elapsed_s of docs/results/brunel_phase.csv):
    brainbridge run brunel_phase --workers 2
`--quick`: N_E = 2000, 1 s, g in {3,...,8} x eta in {0.5, 1, 2, 3, 4} (~10-15 min);
TINY (the tests): 400 neurons with C_E = 100 and J = 1 mV (the paper's J C_E), numpy.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis, param, product

VERSION = 1
LABELS = ("A", "B", "C", "D", "Q")  # the `state` metric is the index into this tuple
NAMES = {"A": "SR", "B": "SI fast", "C": "AI", "D": "SI slow", "Q": "quiescent"}
# Brunel (2000), Fig. 8: the example points (bio.brunel2000.STATES) and the paper's labels
PAPER = {"A": "synchronous regular (SR): neurons fire almost regularly, near saturation",
         "B": "synchronous irregular, fast global oscillation (SI fast)",
         "C": "asynchronous irregular (AI): stationary global activity, irregular neurons",
         "D": "synchronous irregular, slow global oscillation (SI slow)"}
PARTS = ("grid", "example", "path", "theory")  # product grid, Fig. 8 point off it, epilepsy path, map
STATE_COLORS = {"A": "#D55E00", "B": "#CC79A7", "C": "#009E73", "D": "#0072B2", "Q": "#BBBBBB"}
FLOOR_HZ = (400.0, 500.0)  # the population-rate spectrum's high-frequency floor
FAST_HZ = (60.0, 400.0)
SLOW_HZ = (2.0, 60.0)


@dataclass(frozen=True)
class Params:
    g: tuple[float, ...] = axis(2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 5.5, 6.0, 6.5, 7.0, 7.5, 8.0,
                                at_least=0.0)   # relative inhibitory strength
    eta: tuple[float, ...] = axis(0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5, 4.0, above=0.0)  # nu_ext / nu_thr
    severity: tuple[float, ...] = axis(0.1, 0.2, 0.3, 0.4, 0.5, 0.6, at_least=0.0, below=1.0)  # epilepsy path
    part: str = param("grid", choices=PARTS)  # set by grid(): which kind of point this is
    examples: bool = True                        # also simulate the Fig. 8 points that lie off the grid
    path_g: float = param(5.0, above=0.0)        # where the epilepsy path starts: state C
    path_eta: float = param(2.0, above=0.0)
    n_exc: int = param(5000, at_least=10)        # N_E (N_I = N_E / 4)
    c_exc: int = param(1000, at_least=1)         # C_E, the paper's 1000
    j_mv: float = param(0.1, above=0.0)          # J, the paper's 0.1 mV
    duration_s: float = param(1.5, above=0.0)
    transient_s: float = param(0.3, at_least=0.0)
    dt_ms: float = param(0.1, above=0.0)
    target: str = param("cython", choices=("numpy", "cython", "cpp_standalone"))
    cv_regular: float = param(0.3, above=0.0)    # below: A (SR)
    q_fast_min: float = param(80.0, above=0.0)   # fast oscillation at least this far above the floor: B
    q_slow_min: float = param(15.0, above=0.0)   # slow oscillation: D
    min_rate_hz: float = param(0.5, at_least=0.0)  # below: Q (quiescent)
    theory_dg: float = param(0.25, at_least=0.0)     # resolution of the stability map (0: no map)
    theory_deta: float = param(0.125, at_least=0.0)
    theory_g: tuple[float, ...] = ()             # (lo, hi) of the map; () = the g axis' range (grid() sets it)
    theory_eta: tuple[float, ...] = ()           # (lo, hi); () = the eta axis' range
    seeds: tuple[int, ...] = (0,)


TINY = Params(g=(3.0, 5.0), eta=(2.0,), severity=(0.4,), examples=False, n_exc=400, c_exc=100, j_mv=1.0,
              duration_s=0.3, transient_s=0.1, target="numpy", theory_dg=2.0, theory_deta=1.0)
QUICK = Params(g=(3.0, 4.0, 5.0, 6.0, 7.0, 8.0), eta=(0.5, 1.0, 2.0, 3.0, 4.0), severity=(0.1, 0.2, 0.3, 0.4),
               n_exc=2000, duration_s=1.0, transient_s=0.2, theory_dg=0.5, theory_deta=0.25)


def check(p: Params) -> None:
    if p.duration_s - p.transient_s < 0.2 - 1e-9:  # the spectrum needs a few 0.5 s-ish segments
        raise ValueError(f"need at least 0.2 s after the transient: transient_s = {p.transient_s:g}, "
                         f"duration_s = {p.duration_s:g}")
    if p.c_exc > p.n_exc:
        raise ValueError(f"c_exc = {p.c_exc} inputs per neuron need n_exc >= c_exc, got n_exc = {p.n_exc}")
    if p.part == "theory" and (len(p.theory_g) != 2 or len(p.theory_eta) != 2):
        raise ValueError(f"theory_g and theory_eta must be (lo, hi) pairs, got {p.theory_g}, {p.theory_eta}")
    if p.dt_ms > 0.5:
        raise ValueError(f"dt_ms must resolve the 1.5 ms delay and 2 ms refractory period; got {p.dt_ms:g}, "
                         "use <= 0.5")


def grid(p: Params) -> list[dict]:
    """The g x eta product (part "grid"), the example states of Brunel's Fig. 8 that lie off it
    ("example"), the epilepsy path from (path_g, path_eta) at every severity > 0 ("path"), and
    one theory-map point ("theory")."""
    from bio.brunel2000 import STATES

    points = product(g=p.g, eta=p.eta, severity=(0.0,), part=("grid",), seed=p.seeds)
    points += [{"g": g, "eta": eta, "severity": 0.0, "part": "example", "seed": s}
               for g, eta in STATES.values() if p.examples and not (g in p.g and eta in p.eta)
               for s in p.seeds]
    points += [{"g": p.path_g, "eta": p.path_eta, "severity": sev, "part": "path", "seed": s}
               for sev in p.severity if sev > 0 for s in p.seeds]
    if p.theory_dg > 0 and p.theory_deta > 0:
        points.append({"part": "theory", "g": p.g[0], "eta": p.eta[0], "severity": 0.0, "seed": p.seeds[0],
                       "theory_g": p.theory_g or (min(p.g), max(p.g)),
                       "theory_eta": p.theory_eta or (min(p.eta), max(p.eta))})
    return points


def label(rate_hz: float, cv: float, q_fast: float, q_slow: float, p: Params) -> str:
    """The state letter of one simulation by the rules of the module docstring."""
    if not rate_hz >= p.min_rate_hz:
        return "Q"
    if cv < p.cv_regular:
        return "A"
    if q_fast >= p.q_fast_min:
        return "B"
    if q_slow >= p.q_slow_min:
        return "D"
    return "C"


def oscillation(rec, t_start_s: float) -> dict[str, float]:
    """peak_hz, q_fast and q_slow of the excitatory population rate (see the module docstring)."""
    from bio import analysis

    freq, power = analysis.power_spectrum(rec, "exc", bin_s=1e-3, t_start_s=t_start_s, segment_s=0.5)

    def band(lo, hi):
        return (freq >= lo) & (freq < hi)

    floor = power[band(*FLOOR_HZ) | (freq >= FLOOR_HZ[1])].mean()
    above = band(SLOW_HZ[0], FAST_HZ[1])
    if not floor > 0:
        return {"peak_hz": np.nan, "q_fast": np.nan, "q_slow": np.nan}
    return {"peak_hz": float(freq[above][np.argmax(power[above])]),
            "q_fast": float(power[band(*FAST_HZ)].max() / floor),
            "q_slow": float(power[band(*SLOW_HZ)].max() / floor)}


def theory_point(g: float, eta: float, p: Params) -> dict[str, float]:
    """Mean-field rate and linear stability of the asynchronous state (bio.theory, bio.stability)."""
    from brian2 import mV

    from bio import stability

    s = stability.brunel_stability(g, eta, J=p.j_mv * mV, C_E=p.c_exc)
    return {"theory_rate_hz": s.rate_hz, "theory_unstable_modes": float(s.unstable_modes),
            "theory_freq_hz": s.frequency_hz}


def theory_map(p: Params) -> dict[str, list]:
    """The stability of the asynchronous state on a grid of step theory_dg x theory_deta over
    theory_g x theory_eta: rows with columns g_theory, eta_theory."""
    gs = np.arange(p.theory_g[0], p.theory_g[-1] + 1e-9, p.theory_dg)
    etas = np.arange(p.theory_eta[0], p.theory_eta[-1] + 1e-9, p.theory_deta)
    rows = {"theory_unstable_modes": [], "theory_rate_hz": [], "theory_freq_hz": []}
    for g in gs:
        for eta in etas:
            t = theory_point(float(g), float(eta), p)
            for k in rows:
                rows[k].append({"g_theory": float(g), "eta_theory": float(eta), "value": t[k]})
    return rows


def point(p: Params, seed: int) -> dict:
    """One simulation (part "network"): its measures, its state (index into LABELS) and the theory
    at its effective g; at the four example states also 200 ms of the population rate (rows with
    column time_ms). Or (part "theory") the stability map."""
    if p.part == "theory":
        return theory_map(p)
    from brian2 import mV, ms, second

    from bio import analysis, brunel2000
    from bio.brunel2000 import STATES
    from bridge import disorders

    spec = brunel2000.brunel_spec(g=p.g, eta=p.eta, N_E=p.n_exc, C_E=p.c_exc, J=p.j_mv * mV, seed=seed)
    if p.severity > 0:  # loss of inhibition: every inhibitory weight times (1 - severity)
        spec = disorders.get("epilepsy", p.severity, seed=seed).apply(spec)
    rec = brunel2000.simulate(spec, p.duration_s * second, target=p.target, seed=seed, dt=p.dt_ms * ms)
    t0 = p.transient_s
    out = {"rate_hz": analysis.mean_rate(rec, "exc", t_start_s=t0),
           "cv_isi": analysis.cv_isi(rec, "exc", t_start_s=t0),
           "chi": analysis.synchrony(rec, "exc", bin_s=2e-3, t_start_s=t0, seed=seed),
           "inh_rate_hz": analysis.mean_rate(rec, "inh", t_start_s=t0)}
    out.update(oscillation(rec, t0) if out["rate_hz"] > 0 else
               {"peak_hz": np.nan, "q_fast": np.nan, "q_slow": np.nan})
    out["state"] = float(LABELS.index(label(out["rate_hz"], out["cv_isi"], out["q_fast"], out["q_slow"], p)))
    out.update(theory_point(p.g * (1.0 - p.severity), p.eta, p))
    if p.part != "path" and (p.g, p.eta) in STATES.values():
        t, r = analysis.population_rate(rec, "exc", bin_s=1e-3, t_start_s=t0, t_stop_s=min(t0 + 0.2, p.duration_s))
        out["pop_rate_hz"] = [{"time_ms": round(float(x - t0) * 1e3, 3), "value": float(v)} for x, v in zip(t, r)]
    if p.part == "path" or (p.g, p.eta) in STATES.values():  # what brunel_ephys draws; not every grid point
        from . import ephys

        kept = ephys.cut(rec, ["exc", "inh"], t_start_s=t0)
        out |= ephys.rows(kept, f"{t0:g}-{t0 + kept.duration_s:g} s")
    return out


# --------------------------------------------------------------------------- figures and summary

def _network(table):
    """The simulations' scalar rows (every part but the theory map)."""
    rows = table[table["part"] != "theory"]
    return rows[rows["metric"] != "pop_rate_hz"]


def _mean(table, metric: str, by=("g", "eta", "severity")):
    rows = table[table["metric"] == metric]
    return rows.groupby(list(by))["value"].mean()


def _state_of(values) -> str:
    """The most frequent state over seeds (ties: the first in LABELS)."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)].astype(int)
    return LABELS[int(np.bincount(v, minlength=len(LABELS)).argmax())] if len(v) else "?"


def _theory_lines(ax, table, p_range):
    """The stability boundary (from the theory-map point), the g = 4 and eta = 1 lines."""
    from bio import theory

    (g0, g1), (e0, e1) = p_range
    ax.axvline(theory.balance_g(0.25), color="black", linewidth=0.8, linestyle="--")
    ax.axhline(1.0, color="black", linewidth=0.8, linestyle=":")
    rows = table[table["metric"] == "theory_unstable_modes"]
    if "g_theory" in table and rows["g_theory"].notna().any():
        m = rows.pivot_table(index="eta_theory", columns="g_theory", values="value", aggfunc="mean")
        if m.shape[0] > 1 and m.shape[1] > 1:
            ax.contour(m.columns.to_numpy(), m.index.to_numpy(), (m.to_numpy() > 0).astype(float),
                       levels=[0.5], colors="white", linewidths=2.2)
            ax.contour(m.columns.to_numpy(), m.index.to_numpy(), (m.to_numpy() > 0).astype(float),
                       levels=[0.5], colors="black", linewidths=1.0)
    ax.set(xlim=(g0, g1), ylim=(e0, e1))


def _edges(values):
    v = np.sort(np.unique(values))
    if len(v) == 1:
        return np.array([v[0] - 0.5, v[0] + 0.5])
    mid = (v[1:] + v[:-1]) / 2
    return np.concatenate([[2 * v[0] - mid[0]], mid, [2 * v[-1] - mid[-1]]])


def figures(table, out_dir: Path) -> list[Path]:
    """Fig. 2 style: rate, CV and chi heatmaps and the state map over (g, eta), with the mean-field
    stability boundary (solid), g = 4 (dashed) and eta = 1 (dotted), the epilepsy path from
    state C (arrows, severity printed) and the paper's example points (letters). Fig. 8 style: the
    population rate at the four example states."""
    from matplotlib.colors import BoundaryNorm, ListedColormap, LogNorm

    from bio.brunel2000 import STATES

    from . import style

    net = _network(table)
    on_grid = net[net["part"] == "grid"]
    gs, etas = np.sort(on_grid["g"].unique()), np.sort(on_grid["eta"].unique())
    ge, ee = _edges(gs), _edges(etas)
    p_range = ((ge[0], ge[-1]), (ee[0], ee[-1]))
    fig, axes = style.figure(2, 2, width=8.0, height=6.6, sharex=True, sharey=True)
    panels = [("rate_hz", "rate (Hz, exc.)", dict(norm=LogNorm(vmin=0.5, vmax=500), cmap="viridis")),
              ("cv_isi", "CV of ISIs", dict(vmin=0, vmax=1.6, cmap="magma")),
              ("chi", "synchrony chi (2 ms bins)", dict(vmin=0, vmax=0.7, cmap="cividis"))]
    for ax, (metric, title, kw) in zip(axes.flat, panels):
        m = _mean(on_grid, metric).xs(0.0, level="severity").unstack("g").reindex(index=etas, columns=gs)
        z = m.to_numpy(dtype=float)
        if metric == "rate_hz":
            z = np.clip(z, 0.5, None)
        mesh = ax.pcolormesh(ge, ee, z, shading="flat", **kw)
        fig.colorbar(mesh, ax=ax, label=title)
        ax.set_title(title)
        _theory_lines(ax, table, p_range)
    ax = axes.flat[3]
    states = on_grid[on_grid["metric"] == "state"].groupby(["eta", "g"])["value"].agg(_state_of).unstack("g")
    states = states.reindex(index=etas, columns=gs)
    codes = np.vectorize(lambda s: LABELS.index(s) if s in LABELS else np.nan, otypes=[float])(states.to_numpy())
    cmap = ListedColormap([STATE_COLORS[s] for s in LABELS])
    ax.pcolormesh(ge, ee, codes, cmap=cmap, norm=BoundaryNorm(np.arange(len(LABELS) + 1) - 0.5, len(LABELS)))
    _theory_lines(ax, table, p_range)
    ax.set_title("state (our rules) and mean-field boundary")
    for name, (g, eta) in STATES.items():  # the paper's example points, with our label at them
        rows = net[(net["g"] == g) & (net["eta"] == eta) & (net["part"] != "path") & (net["metric"] == "state")]
        if len(rows):
            ours = _state_of(rows["value"])
            ax.scatter([g], [eta], s=90, color=STATE_COLORS[ours], edgecolor="black", zorder=5)
            ax.annotate(f"{name}", (g, eta), textcoords="offset points", xytext=(6, 4), fontsize=9,
                        fontweight="bold", zorder=6)
    path = net[(net["part"] == "path") & (net["metric"] == "state")]
    if len(path):
        g0, e0 = path["g"].iloc[0], path["eta"].iloc[0]
        sev = np.sort(path["severity"].unique())
        ax.annotate("", xy=(g0 * (1 - sev[-1]), e0 - 0.12), xytext=(g0, e0 - 0.12),
                    arrowprops=dict(arrowstyle="->", color="black", linewidth=1.0))
        for s in sev:
            ours = _state_of(path[path["severity"] == s]["value"])
            ax.scatter([g0 * (1 - s)], [e0 - 0.12], s=40, marker="s", color=STATE_COLORS[ours],
                       edgecolor="black", zorder=5)
            ax.annotate(f"{s:g}", (g0 * (1 - s), e0 - 0.12), textcoords="offset points", xytext=(0, -11),
                        fontsize=6, ha="center")
        ax.annotate("epilepsy: g(1-s)", (g0, e0 - 0.12), textcoords="offset points", xytext=(4, -11), fontsize=6)
    handles = [ax.scatter([], [], marker="s", color=STATE_COLORS[s], label=f"{s} {NAMES[s]}") for s in LABELS]
    ax.legend(handles=handles, loc="upper center", bbox_to_anchor=(0.5, -0.17), ncol=3, fontsize=7)
    for a in axes[1]:
        a.set_xlabel("g (relative inhibition)")
    for a in axes[:, 0]:
        a.set_ylabel("eta = nu_ext / nu_thr")
    n = net[net["metric"] == "rate_hz"]
    fig.suptitle(f"Brunel (2000) phase diagram, N_E = {int(n['n_exc'].iloc[0]) if len(n) else '?'}; "
                 "lines: mean-field AI boundary (solid), g = 4 (dashed), eta = 1 (dotted)", fontsize=9)
    paths = style.save(fig, out_dir, "brunel_phase")
    return paths + _traces_figure(table, out_dir) + _ephys_figure(table, out_dir)


def _ephys_figure(table, out_dir: Path) -> list[Path]:
    """The excitatory neurons at every example state of Brunel's Fig. 8 the run simulated, and at
    the most severe point of the epilepsy path (stored records, studies.ephys)."""
    from bio.brunel2000 import STATES

    from . import ephys

    net = _network(table)
    records, seeds = {}, set()
    picks = [(f"{name} (g {g:g}, eta {eta:g})", {"g": g, "eta": eta, "severity": 0.0})
             for name, (g, eta) in STATES.items()]
    path = net[net["part"] == "path"]
    if len(path):
        s = float(path["severity"].max())
        g0, e0 = float(path["g"].iloc[0]), float(path["eta"].iloc[0])
        picks.append((f"epilepsy {s:g} (g {g0:g} -> {g0 * (1 - s):g}, eta {e0:g})",
                      {"part": "path", "severity": s}))
    for label, where in picks:
        found, seed = ephys.stored(net, out_dir, **where)
        at = net
        for col, val in where.items():
            at = at[at[col] == val]
        ours = _state_of(at[(at["metric"] == "state") & (at["seed"] == seed)]["value"])
        for window, rec in found.items():
            records[f"{label}, ours {ours} ({NAMES.get(ours, '?')})"] = \
                rec.select("exc", np.arange(rec.n_neurons["exc"]))
            seeds.add(seed)
    if not records:
        return []
    rec = ephys.combine(records)
    n = net[net["metric"] == "rate_hz"]
    title = (f"Brunel (2000) network, N_E = {int(n['n_exc'].iloc[0])}, N_I = N_E / 4 (seed "
             f"{', '.join(map(str, sorted(seeds)))}): the first {ephys.MAX_NEURONS} excitatory neurons over "
             f"{rec.duration_s:g} s after the {table['transient_s'].iloc[0]:g} s transient, at the example states of the paper's Fig. 8 "
             "and at the end of the epilepsy path (loss of inhibition from state C)")
    return ephys.figure(rec, out_dir, "brunel_ephys", title, bin_s=1e-3)


def _traces_figure(table, out_dir: Path) -> list[Path]:
    from bio.brunel2000 import STATES

    from . import style

    rows = table[table["metric"] == "pop_rate_hz"]
    if rows.empty:
        return []
    net = _network(table)
    fig, axes = style.figure(len(STATES), 1, width=6.0, height=1.4 * len(STATES), sharex=True, squeeze=False)
    for ax, (name, (g, eta)) in zip(axes[:, 0], STATES.items()):
        part = rows[(rows["g"] == g) & (rows["eta"] == eta)]
        if part.empty:
            continue
        first = part[part["seed"] == part["seed"].min()].sort_values("time_ms")
        st = net[(net["g"] == g) & (net["eta"] == eta) & (net["part"] != "path") & (net["metric"] == "state")]
        ours = _state_of(st["value"])
        ax.plot(first["time_ms"], first["value"], color=STATE_COLORS[ours], linewidth=0.8)
        ax.set_ylabel("rate (Hz)")
        ax.set_title(f"{name}: g = {g:g}, eta = {eta:g}; paper {NAMES[name]}, ours {ours} ({NAMES.get(ours, '?')})",
                     fontsize=8, loc="left")
    axes[-1, 0].set_xlabel("time after the transient (ms)")
    fig.suptitle("Population rate of the excitatory neurons at the example states (Brunel 2000, Fig. 8)",
                 fontsize=9)
    return style.save(fig, out_dir, "brunel_states")


def summary(table) -> str:
    """Our state, rate, CV, chi and the mean-field stability at the paper's four example points beside
    the paper's labels; the states along the epilepsy path; how often the simulated state agrees with
    the mean-field stability over the grid."""
    from bio.brunel2000 import STATES

    net = _network(table)
    lines = ["point (g, eta) | paper (Brunel 2000, Fig. 8) | ours: state, rate Hz, CV, chi, peak Hz | "
             "mean field: rate Hz, AI stable?, unstable frequency Hz"]
    for name, (g, eta) in STATES.items():
        at = net[(net["g"] == g) & (net["eta"] == eta) & (net["part"] != "path")]
        if at.empty:
            continue
        m = at.groupby("metric")["value"].mean()
        ours = _state_of(at[at["metric"] == "state"]["value"])
        stable = "yes" if m.get("theory_unstable_modes", np.nan) == 0 else "no"
        lines.append(f"{name} ({g:g}, {eta:g}) | {NAMES[name]}: {PAPER[name]} | {ours} ({NAMES.get(ours, '?')}), "
                     f"{m['rate_hz']:.1f}, {m['cv_isi']:.2f}, {m['chi']:.2f}, {m['peak_hz']:.0f} | "
                     f"{m['theory_rate_hz']:.1f}, {stable}, {m['theory_freq_hz']:.0f}")
    path = net[net["part"] == "path"]
    if len(path):
        g0, e0 = path["g"].iloc[0], path["eta"].iloc[0]
        start = net[(net["g"] == g0) & (net["eta"] == e0) & (net["part"] != "path") & (net["metric"] == "state")]
        cells = [f"0: {_state_of(start['value'])}"] if len(start) else []
        for s in np.sort(path["severity"].unique()):
            at = path[path["severity"] == s]
            m = at.groupby("metric")["value"].mean()
            cells.append(f"{s:g} (g = {g0 * (1 - s):g}): {_state_of(at[at['metric'] == 'state']['value'])}, "
                         f"{m['rate_hz']:.0f} Hz, CV {m['cv_isi']:.2f}")
        lines.append(f"epilepsy path from ({g0:g}, {e0:g}), severity s: " + "; ".join(cells))
    grid = net[(net["part"] == "grid") & (net["metric"].isin(["state", "theory_unstable_modes"]))]
    wide = grid.pivot_table(index=["g", "eta", "seed"], columns="metric", values="value")
    if len(wide) and "theory_unstable_modes" in wide:
        lively = wide[wide["state"] != LABELS.index("Q")]
        ai = lively["state"] == LABELS.index("C")
        stable = lively["theory_unstable_modes"] == 0
        lines.append(f"simulated AI (C) vs mean-field stable AI state, over {len(lively)} non-quiescent "
                     f"simulations: agree at {int((ai == stable).sum())}; C but theory unstable "
                     f"{int((ai & ~stable).sum())}; theory stable but not C {int((~ai & stable).sum())}")
    return "\n".join(lines)
