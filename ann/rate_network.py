"""A recurrent rate network with Dale's law: excitatory and inhibitory units, stable or runaway.

The ANN side of the epilepsy study (studies/epilepsy.py): the same loss of
inhibition that drives the spiking network of bio/seizure.py into seizures
drives this network from a stable low-activity fixed point to runaway
activity that ends at saturation.

Model (continuous time, in units of the time constant tau):

    tau dh/dt = -h + W r + I,    r = phi(h) = tanh(max(h, 0))

h: (B, n) input currents, r in [0, 1) the rates, W (n, n) the recurrent weights
held by an `nn.Linear` (`recurrent.weight[post, pre]`), I the constant drive.
Dale's law: every unit is excitatory (its outgoing weights >= 0, the first
n_exc units) or inhibitory (outgoing weights <= 0). Each unit receives exactly
k_exc excitatory inputs of weight j_exc and k_inh inhibitory inputs of weight
-g j_exc, chosen at random (the connectivity of Brunel 2000). The negative
weights are the inhibition, so `ann.lesion.scale_weights(net, 1 - s,
sign="negative")` (the "epilepsy" disorder of bridge.disorders) is the loss of
inhibition with severity s.

Stability. Around a state h the linearised dynamics are dh/dt = J h with
J = (-1 + W diag(phi'(h))) / tau. With fixed in-degrees every row of W sums to
s = k_exc j_exc (1 - g k_inh / k_exc), so the uniform vector is an eigenvector
of W with eigenvalue s; the other eigenvalues fill a disk whose radius is set
by the weights' variance (Rajan & Abbott 2006, Phys Rev Lett 97:188104). At a
homogeneous state with gain phi' the largest eigenvalue of J is therefore
(-1 + phi' max(s, radius)) / tau: inhibition keeps s negative; as it is lost,
s grows until phi' s > 1 and activity runs away (here to r -> 1, where
phi' -> 0 makes the saturated state stable again). Defaults: k_exc j_exc = 3,
g = 5, k_inh = k_exc / 4, so healthy s = -0.75; the drive 0.175 puts the
healthy fixed point at h = 0.100, r = 0.0997 (h = -0.75 tanh(h) + 0.175), where
phi' = 0.99, so the healthy state loses stability where
0.99 (3 - 3.75 (1 - severity)) = 1, at 47% loss of inhibition. Healthy, the
outlier (-0.75) lies inside the bulk (radius ~0.7 at these densities), so the
bulk sets the largest eigenvalue there (-0.39).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

__all__ = ["RateNetwork", "phi", "phi_prime", "spectral_abscissa"]


def phi(h: torch.Tensor) -> torch.Tensor:
    """Rectified tanh rate in [0, 1): tanh(max(h, 0))."""
    return torch.tanh(torch.relu(h))


def phi_prime(h: torch.Tensor) -> torch.Tensor:
    """Derivative of `phi`: 1 - tanh(h)^2 where h > 0, else 0."""
    return torch.where(h > 0, 1 - torch.tanh(h) ** 2, torch.zeros_like(h))


def spectral_abscissa(matrix: torch.Tensor) -> float:
    """Largest real part of the eigenvalues of a square matrix (< 0: linearly stable)."""
    return float(torch.linalg.eigvals(matrix.double()).real.max())


class RateNetwork(nn.Module):
    """n_exc excitatory and n_inh inhibitory rate units obeying Dale's law (module docstring).

    k_exc, k_inh: excitatory and inhibitory inputs per unit (fixed in-degree).
    j_exc:        excitatory weight; inhibitory weights are -g * j_exc.
    drive:        constant input I to every unit.
    inhibition:   factor on the inhibitory weights (1 healthy; `scale_weights` does the same).
    tau:          time constant (the unit of time of `simulate`).
    seed:         draws the connectivity.
    """

    def __init__(self, n_exc: int = 160, n_inh: int = 40, k_exc: int = 80, k_inh: int = 20,
                 j_exc: float = 0.0375, g: float = 5.0, drive: float = 0.175, inhibition: float = 1.0,
                 tau: float = 1.0, seed: int = 0):
        super().__init__()
        if not (0 < k_exc <= n_exc and 0 <= k_inh <= n_inh):
            raise ValueError(f"in-degrees must satisfy 0 < k_exc <= n_exc and 0 <= k_inh <= n_inh, got "
                             f"k_exc={k_exc}, n_exc={n_exc}, k_inh={k_inh}, n_inh={n_inh}")
        for what, value in (("j_exc", j_exc), ("g", g), ("inhibition", inhibition)):
            if not np.isfinite(value) or value < 0:
                raise ValueError(f"{what} must be a finite number >= 0, got {value}")
        if not tau > 0:
            raise ValueError(f"tau must be > 0, got {tau}")
        self.n_exc, self.n_inh, self.tau = int(n_exc), int(n_inh), float(tau)
        n = self.n_exc + self.n_inh
        rng = np.random.default_rng(seed)
        w = np.zeros((n, n))  # [post, pre]
        for post in range(n):
            w[post, rng.choice(self.n_exc, k_exc, replace=False)] = j_exc
            w[post, self.n_exc + rng.choice(self.n_inh, k_inh, replace=False)] = -g * j_exc * inhibition
        self.recurrent = nn.Linear(n, n, bias=False)
        with torch.no_grad():
            self.recurrent.weight.copy_(torch.as_tensor(w, dtype=torch.float32))
        self.register_buffer("drive", torch.full((n,), float(drive)))
        self.register_buffer("signs", torch.cat([torch.ones(self.n_exc), -torch.ones(self.n_inh)]))

    @property
    def n(self) -> int:
        return self.n_exc + self.n_inh

    def velocity(self, h: torch.Tensor) -> torch.Tensor:
        """dh/dt at state h (B, n) or (n,), same shape."""
        return (-h + self.recurrent(phi(h)) + self.drive) / self.tau

    def forward(self, h0: torch.Tensor, steps: int, dt: float = 0.1, noise: float = 0.0,
                generator: torch.Generator | None = None) -> torch.Tensor:
        """Integrate from h0 (B, n) for `steps` Euler steps of dt (units of time).

        noise: std of white noise added to dh per unit sqrt(time) (0: deterministic).
        Returns the rates r (steps + 1, B, n), r[0] = phi(h0).
        """
        if h0.ndim != 2 or h0.shape[1] != self.n:
            raise ValueError(f"h0 must have shape (B, {self.n}), got {tuple(h0.shape)}")
        h, out = h0, [phi(h0)]
        for _ in range(int(steps)):
            h = h + dt * self.velocity(h)
            if noise > 0:
                h = h + noise * np.sqrt(dt) * torch.randn(h.shape, generator=generator, dtype=h.dtype)
            out.append(phi(h))
        return torch.stack(out)  # (T, B, N)

    @torch.no_grad()
    def fixed_point(self, h0: torch.Tensor | None = None, dt: float = 0.1, max_steps: int = 20000,
                    tol: float = 1e-7) -> tuple[torch.Tensor, bool]:
        """Relax from h0 (n,) (default: the drive, i.e. r = 0) until |dh/dt| < tol.

        Returns (h (n,), converged). Relaxation finds the stable state the network
        settles in from h0: the low fixed point when it is stable, the saturated one
        when activity runs away.
        """
        h = (self.drive.clone() if h0 is None else h0.clone()).double()
        w, drive = self.recurrent.weight.double(), self.drive.double()
        for _ in range(int(max_steps)):
            v = (-h + w @ phi(h) + drive) / self.tau
            h = h + dt * v
            if float(v.abs().max()) < tol:
                return h.float(), True
        return h.float(), False

    @torch.no_grad()
    def jacobian(self, h: torch.Tensor) -> torch.Tensor:
        """Jacobian of dh/dt at state h (n,): (-1 + W diag(phi'(h))) / tau, (n, n)."""
        w = self.recurrent.weight.double()
        return (-torch.eye(self.n, dtype=torch.float64) + w * phi_prime(h.double())[None, :]) / self.tau

    @torch.no_grad()
    def dale_violations(self) -> int:
        """Number of weights whose sign contradicts their presynaptic unit's type (0 under Dale's law)."""
        w = self.recurrent.weight
        return int(((w * self.signs[None, :]) < 0).sum())
