"""Statistics that lesion studies report: over seeds, with intervals, on paired seeds.

- `bootstrap_ci`: mean and percentile bootstrap interval of a few numbers
  (Efron & Tibshirani 1993, ch. 13); with fewer than 2 values the interval is
  the value itself.
- `normalised_accuracy`: (acc - chance) / (acc_0 - chance), the fraction of the
  healthy system's above-chance accuracy that survives a lesion, so systems
  that start at different accuracies are compared on one scale.
- `with_normalised`: adds those rows to a tidy table (one per point), each
  lesioned point divided by the healthy (severity 0) point of the same seed,
  system and disorder.
- `auc`: the area under a dose-response curve (trapezoid over severity,
  divided by the severity range: 1 = no loss anywhere, 0 = chance everywhere
  for normalised accuracy), one value per seed.
- `summary`: mean and 95% bootstrap CI per group of a tidy table.
- `paired`: two systems compared on the same seeds: mean difference with its
  CI, the paired effect size d_z = mean(diff) / sd(diff) (Cohen 1988, eq. 2.3.5;
  Lakens 2013, Front. Psychol. 4:863) and the exact Wilcoxon signed-rank p-value
  (scipy), which makes no normality assumption — with 5 seeds its smallest
  two-sided p is 0.0625, which the table states rather than hides.
"""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats as sps

LEVEL = 0.95
_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # NumPy < 2 names it trapz
N_BOOT = 2000


def bootstrap_ci(values, level: float = LEVEL, n_boot: int = N_BOOT, seed: int = 0) -> tuple[float, float, float]:
    """(mean, low, high) of the finite values: percentile bootstrap of the mean."""
    if not 0 < level < 1:
        raise ValueError(f"level must lie in (0, 1), got {level}")
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(v.mean())
    if len(v) < 2:
        return (mean, mean, mean)
    rng = np.random.default_rng(seed)
    means = v[rng.integers(0, len(v), (n_boot, len(v)))].mean(axis=1)
    lo, hi = np.quantile(means, [(1 - level) / 2, (1 + level) / 2])
    return (mean, float(lo), float(hi))


def normalised_accuracy(acc, acc0, chance: float):
    """(acc - chance) / (acc0 - chance); NaN where the healthy accuracy is at chance."""
    acc, acc0 = np.asarray(acc, dtype=float), np.asarray(acc0, dtype=float)
    span = acc0 - chance
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(np.abs(span) > 1e-12, (acc - chance) / span, np.nan)


def with_normalised(table: pd.DataFrame, chance: float, keys=("system", "disorder"),
                    metric: str = "accuracy", x: str = "severity") -> pd.DataFrame:
    """The table plus rows of metric `<metric>_norm`: each point over its own healthy point.

    The healthy point is the row with x == 0 of the same seed and `keys`.
    """
    keys = [k for k in keys if k in table.columns] + ["seed"]
    rows = table[table["metric"] == metric]
    healthy = rows[rows[x] == 0].set_index(keys)["value"].rename("healthy")
    if healthy.index.has_duplicates:
        raise ValueError(f"more than one healthy ({x} = 0) {metric} per {keys}")
    merged = rows.join(healthy, on=keys)
    norm = merged.assign(metric=f"{metric}_norm",
                         value=normalised_accuracy(merged["value"], merged["healthy"], chance))
    return pd.concat([table, norm.drop(columns="healthy")], ignore_index=True)


def auc(table: pd.DataFrame, metric: str, keys=("system", "disorder"), x: str = "severity") -> pd.DataFrame:
    """Area under metric(x) per seed and group, divided by the x range.

    Returns columns [*keys, seed, auc].
    """
    keys = [k for k in keys if k in table.columns]
    rows = table[table["metric"] == metric].sort_values(x)
    out = []
    for group, part in rows.groupby(keys + ["seed"], sort=True):
        xs, ys = part[x].to_numpy(float), part["value"].to_numpy(float)
        ok = np.isfinite(ys)
        span = xs[ok].max() - xs[ok].min() if ok.sum() >= 2 else 0.0
        area = float(_trapezoid(ys[ok], xs[ok]) / span) if span > 0 else np.nan
        out.append(dict(zip(keys + ["seed"], group if isinstance(group, tuple) else (group,)), auc=area))
    return pd.DataFrame(out)


def summary(table: pd.DataFrame, value: str = "value", by=("metric",), level: float = LEVEL,
            seed: int = 0) -> pd.DataFrame:
    """Mean, CI low/high and n of column `value` per group of `by` (over seeds)."""
    by = [b for b in by if b in table.columns]
    rows = []
    for group, part in table.groupby(by, sort=True):
        mean, lo, hi = bootstrap_ci(part[value], level=level, seed=seed)
        rows.append({**dict(zip(by, group if isinstance(group, tuple) else (group,))),
                     "mean": mean, "ci_low": lo, "ci_high": hi, "n": int(np.isfinite(part[value]).sum())})
    return pd.DataFrame(rows)


def paired(per_seed: pd.DataFrame, system_a: str, system_b: str, value: str = "auc",
           by=("disorder",), level: float = LEVEL) -> pd.DataFrame:
    """system_a minus system_b on the same seeds, per group of `by`.

    per_seed: columns system, seed, `value` and `by` (e.g. the output of `auc`).
    Returns columns [*by, system_a, system_b, n_pairs, mean_diff, ci_low, ci_high, d_z, p_wilcoxon].
    """
    by = [b for b in by if b in per_seed.columns]
    out = []
    groups = per_seed.groupby(by, sort=True) if by else [((), per_seed)]
    for group, part in groups:
        a = part[part["system"] == system_a].set_index("seed")[value]
        b = part[part["system"] == system_b].set_index("seed")[value]
        d = (a - b).dropna()
        mean, lo, hi = bootstrap_ci(d.to_numpy(), level=level)
        sd = float(d.std(ddof=1)) if len(d) > 1 else np.nan
        d_z = mean / sd if sd and np.isfinite(sd) and sd > 0 else np.nan
        p = float(sps.wilcoxon(d.to_numpy()).pvalue) if len(d) > 1 and np.any(d.to_numpy() != 0) else np.nan
        out.append({**dict(zip(by, group if isinstance(group, tuple) else (group,))),
                    "system_a": system_a, "system_b": system_b, "n_pairs": len(d), "mean_diff": mean,
                    "ci_low": lo, "ci_high": hi, "d_z": d_z, "p_wilcoxon": p})
    return pd.DataFrame(out)
