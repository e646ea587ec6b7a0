"""How alike are two representations of the same samples (ANN activations vs SNN rates)?

- linear CKA (Kornblith et al. 2019, ICML, eq. 5): similarity of two (N, p) and
  (N, q) feature matrices, invariant to orthogonal transforms and isotropic
  scaling; 1 for the same representation, near 0 for unrelated ones at large N.
- RSA (Kriegeskorte et al. 2008, Front. Syst. Neurosci. 2:4): each
  representation gives a representational dissimilarity matrix (RDM, 1 -
  Pearson correlation between the patterns of two samples); two RDMs are
  compared by the Spearman correlation of their upper triangles.
- activation-vs-rate correlation: Pearson correlation of all (sample, unit)
  pairs of one layer — the direct check of a rate-converted network (Rueckauer
  et al. 2017, Fig. 3).

Inputs are (samples, features) arrays with the same samples in the same order.
"""
from __future__ import annotations

import numpy as np
from scipy.spatial.distance import pdist, squareform
from scipy.stats import spearmanr

__all__ = ["linear_cka", "rdm", "rsa", "correlation", "compare_layers"]


def _pair(x, y):
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = np.asarray(y, dtype=np.float64).reshape(len(y), -1)
    if len(x) != len(y) or len(x) < 2:
        raise ValueError(f"both representations need the same samples (>= 2), got {len(x)} and {len(y)}")
    return x, y


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


def rdm(x) -> np.ndarray:
    """(N, N) dissimilarity 1 - Pearson r between samples' patterns; 1 where a pattern is constant."""
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        d = pdist(x, metric="correlation")
    return squareform(np.nan_to_num(d, nan=1.0))


def rsa(x, y) -> float:
    """Spearman correlation between the upper triangles of the RDMs of x (N, p) and y (N, q)."""
    x, y = _pair(x, y)
    iu = np.triu_indices(len(x), k=1)
    a, b = rdm(x)[iu], rdm(y)[iu]
    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return 0.0
    return float(spearmanr(a, b).statistic)


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
