"""Attractor memory: the sparse Hopfield network of Tsodyks & Feigelman (1988), in torch.

N binary threshold units store P sparse patterns xi (each unit active with
probability p, the coding level) in Hebbian weights

    W_ij = sum_mu (xi_i^mu - p)(xi_j^mu - p) / (N p (1 - p)),   W_ii = 0

(Tsodyks & Feigelman 1988, Europhys Lett 6:101; the normalisation makes the
field of a unit of a fully retrieved pattern 1 - p). Units update together,
S_i(t+1) = H(sum_j W_ij S_j(t) - theta). Retrieval is measured by the overlap

    m^mu = sum_i (xi_i^mu - p) S_i / sum_i (xi_i^mu - p) xi_i^mu,

1 for the pattern itself, ~0 for an unrelated or silent state. This is the
associative memory in which Horn, Ruppin, Usher & Herrmann (1993, Neural Comput
5:736) and Horn, Levy & Ruppin (1996, Neural Comput 8:1227) deleted synapses and
compensated for the loss. The recurrent weights live in one `nn.Linear`
(weight[i, j]: from unit j to unit i), so `ann.lesion.prune` (and the disorders
built on it) deletes and compensates them like any other layer's weights.
The same weight matrix drives the spiking attractor (bio/attractor.py).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["sparse_patterns", "hebbian_weights", "overlaps", "Hopfield"]


def sparse_patterns(n_units: int, n_patterns: int, coding: float, seed: int = 0) -> np.ndarray:
    """(n_patterns, n_units) bool patterns, each with exactly round(coding * n_units) active units."""
    if not 0.0 < coding < 1.0:
        raise ValueError(f"coding level must lie in (0, 1), got {coding}")
    k = int(round(coding * n_units))
    if n_units < 2 or n_patterns < 1 or k < 1:
        raise ValueError(f"need n_units >= 2, n_patterns >= 1 and at least one active unit per pattern, "
                         f"got {n_units}, {n_patterns}, coding {coding}")
    rng = np.random.default_rng(seed)
    out = np.zeros((n_patterns, n_units), dtype=bool)
    for mu in range(n_patterns):
        out[mu, rng.choice(n_units, size=k, replace=False)] = True
    return out


def hebbian_weights(patterns: np.ndarray, coding: float) -> np.ndarray:
    """Tsodyks-Feigelman weights (module docstring). patterns: (P, N) bool. Returns (N, N) float64,
    W[i, j] from unit j to unit i, symmetric, zero diagonal."""
    xi = np.asarray(patterns, dtype=np.float64) - coding  # (P, N)
    n = xi.shape[1]
    w = xi.T @ xi / (n * coding * (1.0 - coding))
    np.fill_diagonal(w, 0.0)
    return w


def overlaps(states: np.ndarray, patterns: np.ndarray, coding: float) -> np.ndarray:
    """Overlap of each state with each pattern (module docstring).

    states: (..., N) activity (0/1, or any nonnegative activity); patterns: (P, N) bool.
    Returns (..., P)."""
    xi = np.asarray(patterns, dtype=np.float64) - coding  # (P, N)
    norm = (xi * np.asarray(patterns, dtype=np.float64)).sum(1)  # (P,)
    return np.asarray(states, dtype=np.float64) @ xi.T / norm


class Hopfield(nn.Module):
    """Binary threshold units with recurrent weights W (one synchronous update per call).

    weights:   (N, N) array, W[i, j] from unit j to unit i (e.g. `hebbian_weights`).
    threshold: theta; a unit is active when its field W S exceeds it.
    forward:   (B, N) states in {0, 1} -> (B, N) states after one update.
    """

    def __init__(self, weights: np.ndarray, threshold: float):
        super().__init__()
        w = np.asarray(weights, dtype=np.float32)
        if w.ndim != 2 or w.shape[0] != w.shape[1]:
            raise ValueError(f"weights must be a square (N, N) matrix, got shape {w.shape}")
        if not np.isfinite(threshold):
            raise ValueError(f"threshold must be finite, got {threshold}")
        self.recurrent = nn.Linear(w.shape[0], w.shape[0], bias=False)
        with torch.no_grad():
            self.recurrent.weight.copy_(torch.from_numpy(w))
        self.threshold = float(threshold)
        self.config = {"n_units": int(w.shape[0]), "threshold": self.threshold}

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        return (self.recurrent(s) > self.threshold).to(s.dtype)

    @torch.no_grad()
    def retrieve(self, cue: np.ndarray, steps: int = 10) -> np.ndarray:
        """Run `steps` synchronous updates from `cue` ((B, N) or (N,) 0/1).

        Returns the trajectory (steps + 1, B, N) float32 in {0, 1}, the cue first."""
        s = torch.as_tensor(np.atleast_2d(cue), dtype=torch.float32)
        if s.shape[1] != self.recurrent.in_features:
            raise ValueError(f"cue must have {self.recurrent.in_features} units, got {s.shape[1]}")
        out = [s]
        for _ in range(int(steps)):
            s = self(s)
            out.append(s)
        return torch.stack(out).numpy()  # (T, B, N)
