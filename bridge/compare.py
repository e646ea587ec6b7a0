"""How alike are two representations of the same stimuli (ANN activations vs SNN rates)?

- linear CKA (Kornblith et al. 2019, ICML, eq. 5): similarity of two (N, p) and
  (N, q) feature matrices, invariant to orthogonal transforms and isotropic
  scaling (not to general invertible linear maps); 1 for the same
  representation, near 0 for unrelated ones at large N.
- RSA (Kriegeskorte et al. 2008, Front. Syst. Neurosci. 2:4): each
  representation gives a representational dissimilarity matrix (RDM); two
  RDMs are compared by a correlation of their upper triangles (Spearman by
  default, Pearson on request).
- bootstrap confidence intervals over stimuli for either measure (percentile
  intervals, Efron & Tibshirani 1993, ch. 13), and `compare_all`, a tidy table
  for every pair of systems.
- activation-vs-rate correlation: Pearson correlation of all (sample, unit)
  pairs of one layer — the direct check of a rate-converted network (Rueckauer
  et al. 2017, Fig. 3).

RDMs follow rsatoolbox's definitions (rsatoolbox 0.3, `rsatoolbox.rdm.calc_rdm`) so
that numbers can be compared across projects:

    "euclidean":   squared Euclidean distance divided by the number of features,
                   ||x_i - x_j||^2 / p (rsatoolbox calls it "squared euclidean");
    "correlation": 1 - Pearson correlation between the two patterns.

An RDM is either square (N, N) (`rdm`) or condensed (`rdm_vector`): the upper
triangle without the diagonal, row by row, (N (N - 1) / 2,) — the order of
`np.triu_indices(N, 1)`, scipy's `pdist` and rsatoolbox's `RDMs.get_vectors()`.

Inputs are (stimuli, features) arrays with the same stimuli in the same order.
"""
from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy.spatial.distance import pdist, squareform
from scipy.stats import rankdata

__all__ = ["linear_cka", "rdm", "rdm_vector", "compare_rdms", "rsa", "correlation", "compare_layers",
           "Estimate", "bootstrap", "compare_all", "RDM_METHODS", "RSA_SCORES", "MEASURES"]

RDM_METHODS = ("euclidean", "correlation")
RSA_SCORES = ("spearman", "pearson")
MEASURES = ("cka", "rsa")


def _pair(x, y):
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"both representations need the same samples (>= 2), got {len(x)} and {len(y)}")
    return x, y


def _choice(value, allowed, what):
    if value not in allowed:
        raise ValueError(f"unknown {what} {value!r}; choose one of: {', '.join(allowed)}")


def linear_cka(x, y) -> float:
    """Linear CKA between x (N, p) and y (N, q): ||Yc^T Xc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F).

    Columns are centred first. Returns a float in [0, 1] (0 when either side is constant).
    """
    x, y = _pair(x, y)
    x = x - x.mean(axis=0)
    y = y - y.mean(axis=0)
    if x.shape[1] > len(x) or y.shape[1] > len(y):  # Gram form: cheaper when features > samples
        kx, ky = x @ x.T, y @ y.T
        num, den = np.sum(kx * ky), np.linalg.norm(kx) * np.linalg.norm(ky)
    else:
        num = np.linalg.norm(y.T @ x) ** 2
        den = np.linalg.norm(x.T @ x) * np.linalg.norm(y.T @ y)
    return float(num / den) if den > 0 else 0.0


def rdm_vector(x, method: str = "correlation") -> np.ndarray:
    """Condensed RDM of x (N, p): (N (N - 1) / 2,) dissimilarities of stimulus pairs i < j, row by row.

    method: "euclidean" (||x_i - x_j||^2 / p) or "correlation" (1 - Pearson r), as rsatoolbox
    defines them (module docstring). A constant pattern has no correlation with anything; its
    correlation dissimilarities are set to 1 (rsatoolbox leaves them NaN).
    """
    _choice(method, RDM_METHODS, "RDM method")
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    if len(x) < 2:
        raise ValueError(f"an RDM needs at least 2 stimuli, got {len(x)}")
    if method == "euclidean":
        return pdist(x, metric="sqeuclidean") / x.shape[1]
    with np.errstate(invalid="ignore", divide="ignore"):
        d = pdist(x, metric="correlation")
    return np.nan_to_num(d, nan=1.0)


def rdm(x, method: str = "correlation") -> np.ndarray:
    """Square RDM (N, N) of x (N, p) with zeros on the diagonal; see `rdm_vector` for `method`."""
    return squareform(rdm_vector(x, method))


def _as_vector(d, what) -> np.ndarray:
    d = np.asarray(d, dtype=np.float64)
    if d.ndim == 2 and d.shape[0] == d.shape[1]:
        return d[np.triu_indices(len(d), k=1)]
    if d.ndim == 1:
        return d
    raise ValueError(f"{what} must be a square (N, N) RDM or a condensed (N (N - 1) / 2,) vector, "
                     f"got shape {d.shape}")


def _score(a, b, score) -> float:
    if len(a) < 2 or np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    if score == "spearman":  # Pearson correlation of average ranks, as scipy and rsatoolbox
        a, b = rankdata(a), rankdata(b)
    return float(np.corrcoef(a, b)[0, 1])


def compare_rdms(a, b, score: str = "spearman") -> float:
    """RSA score of two RDMs of the same stimuli (square (N, N) or condensed vectors).

    score: "spearman" (rsatoolbox's "spearman") or "pearson" (rsatoolbox's "corr"), computed
    over the upper triangles. Returns 0 when either RDM is constant.
    """
    _choice(score, RSA_SCORES, "RSA score")
    a, b = _as_vector(a, "the first RDM"), _as_vector(b, "the second RDM")
    if a.shape != b.shape:
        raise ValueError(f"the two RDMs must describe the same stimuli, got {len(a)} and {len(b)} pairs")
    return _score(a, b, score)


def rsa(x, y, method: str = "correlation", score: str = "spearman") -> float:
    """RSA between x (N, p) and y (N, q): `compare_rdms` of their RDMs (`rdm_vector`, `method`)."""
    x, y = _pair(x, y)
    return compare_rdms(rdm_vector(x, method), rdm_vector(y, method), score)


def correlation(x, y) -> float:
    """Pearson correlation over all (sample, unit) entries of two same-shaped (N, n) arrays."""
    x, y = _pair(x, y)
    if x.shape != y.shape:
        raise ValueError(f"activations and rates must have the same shape, got {x.shape} and {y.shape}")
    if np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    return float(np.corrcoef(x.ravel(), y.ravel())[0, 1])


def compare_layers(ann: dict, snn: dict) -> dict[str, dict[str, float]]:
    """Per shared layer name: {"cka": ..., "rsa": ..., "correlation": ...}.

    ann: {layer: (N, n)} activations (bridge.convert.ann_activations);
    snn: {layer: (N, n)} rates or decoded activations (EvalResult.activations).
    """
    shared = [k for k in ann if k in snn]
    if not shared:
        raise ValueError(f"no layer in common: ANN has {', '.join(ann)}; SNN has {', '.join(snn)}")
    return {k: {"cka": linear_cka(ann[k], snn[k]), "rsa": rsa(ann[k], snn[k]),
                "correlation": correlation(ann[k], snn[k])} for k in shared}


# --- inference over stimuli ---------------------------------------------------------------

@dataclass(frozen=True)
class Estimate:
    """A measure on all stimuli with its bootstrap percentile interval.

    estimate: the measure on the original stimuli; low, high: the interval's bounds;
    n_boot: bootstrap resamples behind them.
    """

    estimate: float
    low: float
    high: float
    n_boot: int


def _condensed_index(i, j, n):
    """Position of pair (i, j), i < j, in a condensed vector over n stimuli."""
    return n * i - i * (i + 1) // 2 + j - i - 1


def _resampled_pairs(idx, n):
    """Condensed positions of the pairs of a resample `idx` (indices into n stimuli).

    Like rsatoolbox's `bootstrap_sample_pattern` + `RDMs.subsample_pattern`: every pair of
    positions i < j in the resample, with the pairs of a stimulus with its own copy (the
    off-diagonal zeros) dropped, so stimuli drawn k and m times give k*m copies of their pair.
    """
    idx = np.sort(idx)
    a, b = np.triu_indices(len(idx), k=1)
    a, b = idx[a], idx[b]
    keep = a != b
    return _condensed_index(a[keep], b[keep], n)


def _rsa_resample(da, db, idx, score) -> float:
    """RSA on one bootstrap resample `idx` of the stimuli behind condensed RDMs da and db."""
    n = int(round((1 + np.sqrt(1 + 8 * len(da))) / 2))
    k = _resampled_pairs(np.asarray(idx), n)
    return _score(da[k], db[k], score) if len(k) > 1 else float("nan")


def bootstrap(x, y, measure: str = "cka", *, n_boot: int = 1000, level: float = 0.95, seed: int = 0,
              method: str = "correlation", score: str = "spearman") -> Estimate:
    """A measure between x (N, p) and y (N, q) with a percentile bootstrap interval over stimuli.

    measure:  "cka" (`linear_cka`) or "rsa" (`rsa` with RDM `method` and RSA `score`).
    Each of n_boot resamples draws N stimuli with replacement (numpy Generator, `seed`), the same
    rows of x and y. CKA is recomputed on the resampled rows; RSA keeps the RDMs of the original
    stimuli and takes the pairs of the resample, dropping the pairs of a stimulus with its own
    copy (as rsatoolbox's pattern bootstrap does). The interval holds the central `level` of the
    resampled values (NaN resamples, with fewer than 2 distinct stimuli, are left out).
    """
    _choice(measure, MEASURES, "measure")
    _choice(method, RDM_METHODS, "RDM method")
    _choice(score, RSA_SCORES, "RSA score")
    if int(n_boot) != n_boot or n_boot < 1:
        raise ValueError(f"n_boot must be a positive integer, got {n_boot}")
    if not 0 < level < 1:
        raise ValueError(f"level must lie strictly between 0 and 1 (e.g. 0.95), got {level}")
    x, y = _pair(x, y)
    n = len(x)
    draws = np.random.default_rng(seed).integers(0, n, size=(int(n_boot), n))  # (n_boot, N)
    if measure == "cka":
        value = linear_cka(x, y)
        values = np.array([linear_cka(x[d], y[d]) for d in draws])
    else:
        da, db = rdm_vector(x, method), rdm_vector(y, method)
        value = _score(da, db, score)
        values = np.array([_rsa_resample(da, db, d, score) for d in draws])
    tail = (1 - level) / 2
    low, high = np.nanquantile(values, [tail, 1 - tail]) if np.isfinite(values).any() else (np.nan,) * 2
    return Estimate(float(value), float(low), float(high), int(n_boot))


def compare_all(representations: dict, measures=MEASURES, *, n_boot: int = 1000, level: float = 0.95,
                seed: int = 0, method: str = "correlation", score: str = "spearman") -> pd.DataFrame:
    """Every pair of systems compared by every measure, with bootstrap intervals.

    representations: {system name: (N, features) array}, the same N stimuli in every system.
    measures: names from MEASURES; the other arguments go to `bootstrap` (the same seed, hence
    the same resampled stimuli, for every pair).
    Returns a tidy DataFrame, one row per (pair, measure), pairs in the dict's order (a before
    b): columns system_a, system_b, measure, estimate, ci_low, ci_high, n_boot.
    """
    names = list(representations)
    if len(names) < 2:
        raise ValueError(f"compare_all needs at least 2 systems, got {len(names)}: {', '.join(map(str, names))}")
    measures = [measures] if isinstance(measures, str) else list(measures)
    for m in measures:
        _choice(m, MEASURES, "measure")
    sizes = {k: len(np.asarray(v)) for k, v in representations.items()}
    if len(set(sizes.values())) > 1:
        raise ValueError(f"every system needs the same stimuli; got sizes {sizes}")
    rows = []
    for a, b in combinations(names, 2):
        for m in measures:
            e = bootstrap(representations[a], representations[b], m, n_boot=n_boot, level=level,
                          seed=seed, method=method, score=score)
            rows.append(dict(system_a=a, system_b=b, measure=m, estimate=e.estimate, ci_low=e.low,
                             ci_high=e.high, n_boot=e.n_boot))
    return pd.DataFrame(rows, columns=["system_a", "system_b", "measure", "estimate", "ci_low",
                                       "ci_high", "n_boot"])
