"""Spiking layers in torch, trained by backpropagation through time with surrogate gradients.

    net = SpikingMLP(64, [256], 10, T=10)            # (B, 64) static or (B, T, F) sequence
    history = train.fit(net, ds.train, epochs=30)    # the ordinary loop; ~98% on the digits
                                                      # (benchmarks/snn_surrogate.py)
    logits = net(x)                                   # (B, 10)
    spikes = net.spikes(x)                            # {"hidden1": (T, B, 256) 0/1 float}
    u = net.readout_potential(x)                      # (T, B, 10); logits = u.mean(0)

Discretisation (exact: a Brian2 run of the same network must give the same spikes)
------------------------------------------------------------------------------------
Time advances in steps of dt = `dt_ms` (default 1 ms); steps are t = 1..T, and every
state starts at zero: v[0] = 0, s[0] = 0, u[0] = 0. A spiking layer with N neurons
and input x[t] (B, n_in) computes, in this order, at every step t:

    I[t] = W x[t] + b                      input current (B, N); W (N, n_in), b (N,)
    v[t] = beta * v[t-1] + I[t]            feed-forward layer (LIFLayer)
    v[t] = beta * v[t-1] + I[t] + V s[t-1] recurrent layer (RecurrentLIFLayer); V (N, N)
    s[t] = H(v[t] - threshold)             H(z) = 1 if z > 0 else 0  (strictly above)
    v[t] = v[t] - threshold * s[t]         reset by subtraction

v is dimensionless (threshold 1 by default) and the current I is added whole in each
step (no factor dt/tau_m). beta = exp(-dt / tau_m): the defaults beta = 0.95, dt = 1 ms
mean tau_m = -dt / ln(beta) = 19.5 ms (`SpikingMLP.tau_m_ms`). The membrane trace a
layer reports is v[t] after the reset.

Layer l > 1 receives layer l-1's spikes of the same step, x_l[t] = s_{l-1}[t] (no
synaptic delay). The first layer receives the data: a static sample x (B, F) is the same
input at every step, x_1[t] = x for t = 1..T (a constant current W x + b); a sequence
(B, T', F) gives x_1[t] = x[:, t-1] and sets the number of steps to T'.

The read-out is a non-spiking leaky integrator (the kind of read-out of Zenke & Vogels
2021) with the same beta, fed by the last spiking layer:

    u[t] = beta * u[t-1] + W_out s_L[t] + b_out        (B, n_out)
    logits = (1/T) * sum_{t=1..T} u[t]                  (B, n_out): mean membrane over time

Training: the spike function's derivative is zero almost everywhere, so the backward
pass replaces dH/dz by the fast sigmoid's derivative 1 / (1 + slope * |z|)^2, the
surrogate of SuperSpike (Zenke & Ganguli 2018, Neural Computation 30:1514; surrogate
gradients reviewed by Neftci, Mostafa & Zenke 2019, IEEE Signal Processing Magazine
36:51). The reset term takes no gradient (threshold * s[t] is detached), as in Zenke &
Vogels (2021, Neural Computation 33:899); the forward dynamics are unchanged by this.
Spike tensors everywhere are (time, batch, neuron) = (T, B, N).
"""
from __future__ import annotations

import math

import torch
from torch import nn

__all__ = ["spike_fn", "lif_step", "LIFLayer", "RecurrentLIFLayer", "LeakyReadout", "SpikingMLP"]


class _FastSigmoidSpike(torch.autograd.Function):
    """Heaviside step forward (z > 0), fast-sigmoid derivative backward (SuperSpike)."""

    @staticmethod
    def forward(ctx, z, slope):
        ctx.save_for_backward(z)
        ctx.slope = slope
        return (z > 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad_out):
        (z,) = ctx.saved_tensors
        return grad_out / (1.0 + ctx.slope * z.abs()) ** 2, None


def spike_fn(z: torch.Tensor, slope: float = 10.0) -> torch.Tensor:
    """H(z) = 1 where z > 0, else 0 (same shape and dtype as z); its gradient is the
    surrogate 1 / (1 + slope * |z|)^2 (Zenke & Ganguli 2018)."""
    return _FastSigmoidSpike.apply(z, float(slope))


def lif_step(v: torch.Tensor, current: torch.Tensor, beta: float, threshold: float,
             slope: float) -> tuple[torch.Tensor, torch.Tensor]:
    """One step of the discretisation in the module docstring: the only place it is written.

    v: (B, N) membrane after the previous step's reset; current: (B, N) everything added
    this step (W x[t] + b, plus V s[t-1] in a recurrent layer).
    Returns (s, v): spikes (B, N) in {0, 1} and the membrane after this step's reset.
    """
    v = beta * v + current
    s = spike_fn(v - threshold, slope)
    return s, v - threshold * s.detach()


def _check_dynamics(beta, threshold, slope):
    if not 0.0 <= beta <= 1.0:
        raise ValueError(f"beta must be in [0, 1] (beta = exp(-dt/tau_m)), got {beta}")
    if not threshold > 0:
        raise ValueError(f"threshold must be positive, got {threshold}")
    if not slope > 0:
        raise ValueError(f"slope of the surrogate must be positive, got {slope}")


class LIFLayer(nn.Module):
    """Feed-forward layer of leaky integrate-and-fire neurons (see the module docstring).

    forward(x): x (T, B, n_in) -> spikes (T, B, n_out) in {0, 1}.
    simulate(x) returns (spikes, v), both (T, B, n_out); v is the membrane after reset.
    integrate(current) runs the neurons on a given current (T, B, n_out) instead of W x + b.
    """

    def __init__(self, n_in: int, n_out: int, beta: float = 0.95, threshold: float = 1.0,
                 slope: float = 10.0):
        super().__init__()
        _check_dynamics(beta, threshold, slope)
        self.fc = nn.Linear(int(n_in), int(n_out))
        self.beta, self.threshold, self.slope = float(beta), float(threshold), float(slope)

    def _recurrent_current(self, s_prev):
        return 0.0

    def integrate(self, current: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """current: (T, B, N) = W x[t] + b per step. Returns (spikes, v), both (T, B, N)."""
        current = current.float()  # the membrane integrates in float32, even under autocast
        v = current.new_zeros(current.shape[1:])  # (B, N)
        s = torch.zeros_like(v)
        spikes, trace = [], []
        for i_t in current:
            s, v = lif_step(v, i_t + self._recurrent_current(s), self.beta, self.threshold,
                            self.slope)
            spikes.append(s)
            trace.append(v)
        return torch.stack(spikes), torch.stack(trace)  # (T, B, N) each

    def simulate(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (T, B, n_in). Returns (spikes, v after reset), both (T, B, n_out)."""
        return self.integrate(self.fc(x))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.simulate(x)[0]

    def extra_repr(self) -> str:
        return f"beta={self.beta}, threshold={self.threshold}, slope={self.slope}"


class RecurrentLIFLayer(LIFLayer):
    """LIF layer whose neurons also receive their own spikes of the previous step through
    recurrent weights V (`self.rec`, no bias): v[t] = beta v[t-1] + W x[t] + b + V s[t-1].

    Same interface and shapes as LIFLayer.
    """

    def __init__(self, n_in: int, n_out: int, beta: float = 0.95, threshold: float = 1.0,
                 slope: float = 10.0):
        super().__init__(n_in, n_out, beta, threshold, slope)
        self.rec = nn.Linear(int(n_out), int(n_out), bias=False)

    def _recurrent_current(self, s_prev):
        return self.rec(s_prev)


class LeakyReadout(nn.Module):
    """Non-spiking leaky integrator: u[t] = beta u[t-1] + W s[t] + b, u[0] = 0.

    forward(s): s (T, B, n_in) -> membrane u (T, B, n_out).
    """

    def __init__(self, n_in: int, n_out: int, beta: float = 0.95):
        super().__init__()
        _check_dynamics(beta, 1.0, 1.0)
        self.fc = nn.Linear(int(n_in), int(n_out))
        self.beta = float(beta)

    def forward(self, s: torch.Tensor) -> torch.Tensor:
        current = self.fc(s).float()  # (T, B, n_out)
        u = current.new_zeros(current.shape[1:])
        trace = []
        for i_t in current:
            u = self.beta * u + i_t
            trace.append(u)
        return torch.stack(trace)

    def extra_repr(self) -> str:
        return f"beta={self.beta}"


class SpikingMLP(nn.Module):
    """Spiking multi-layer perceptron: LIF layers (feed-forward or recurrent), then a leaky
    integrator read-out; the logits are the read-out's membrane averaged over time.

    in_features, hidden_sizes, out_features: layer widths, as for models.MLP.
    recurrent: every hidden layer is a RecurrentLIFLayer (else LIFLayer).
    beta: membrane decay per step, exp(-dt_ms / tau_m) (0.95 at dt 1 ms: tau_m 19.5 ms).
    threshold: spike threshold of v (dimensionless). T: steps a static sample is shown.
    dt_ms: the step in ms (not used by the torch dynamics; it gives beta its time scale
    for a simulator that runs in time units). slope: steepness of the surrogate.

    forward(x): x (B, in_features) static, or (B, T', in_features) a sequence of T' steps
    -> logits (B, out_features). spikes(x) -> {"hidden1": (T, B, N1), ...}.
    Layers: hidden.{0, 1, ...} (each with .fc and, if recurrent, .rec), readout.fc.
    """

    task = "classification"

    def __init__(self, in_features: int, hidden_sizes, out_features: int, recurrent: bool = False,
                 beta: float = 0.95, threshold: float = 1.0, T: int = 25, dt_ms: float = 1.0,
                 slope: float = 10.0):
        super().__init__()
        hidden = [int(h) for h in hidden_sizes]
        if not hidden or any(h < 1 for h in hidden):
            raise ValueError(f"hidden_sizes must be one or more positive integers (a spiking "
                             f"network needs a spiking layer), got {list(hidden_sizes)}")
        if int(T) < 1:
            raise ValueError(f"T (steps per static sample) must be >= 1, got {T}")
        if not dt_ms > 0:
            raise ValueError(f"dt_ms must be positive, got {dt_ms}")
        _check_dynamics(beta, threshold, slope)
        layer = RecurrentLIFLayer if recurrent else LIFLayer
        widths = [int(in_features), *hidden]
        self.hidden = nn.ModuleList(layer(a, b, beta, threshold, slope)
                                    for a, b in zip(widths[:-1], widths[1:]))
        self.readout = LeakyReadout(hidden[-1], int(out_features), beta)
        self.config = dict(in_features=int(in_features), hidden_sizes=hidden,
                           out_features=int(out_features), recurrent=bool(recurrent),
                           beta=float(beta), threshold=float(threshold), T=int(T),
                           dt_ms=float(dt_ms), slope=float(slope))

    @property
    def tau_m_ms(self) -> float:
        """Membrane time constant implied by beta and dt: -dt_ms / ln(beta)."""
        beta = self.config["beta"]
        if beta in (0.0, 1.0):
            return 0.0 if beta == 0.0 else math.inf
        return -self.config["dt_ms"] / math.log(beta)

    def _run(self, x: torch.Tensor):
        """([spikes (T, B, N_l) per hidden layer], read-out membrane (T, B, out_features))."""
        first = self.hidden[0]
        if x.dim() == 2:  # static: one current, shown for T steps
            current = first.fc(x).unsqueeze(0).expand(self.config["T"], -1, -1)  # (T, B, N)
        else:
            current = first.fc(x.transpose(0, 1))  # (B, T, F) -> (T, B, N)
        s = first.integrate(current)[0]
        spikes = [s]
        for layer in self.hidden[1:]:
            s = layer(s)
            spikes.append(s)
        return spikes, self.readout(s)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(x)[1].mean(dim=0)  # (B, out_features)

    @torch.no_grad()
    def spikes(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """Spikes of every hidden layer: {"hidden1": (T, B, N1), ...}, 0/1 float tensors."""
        return {f"hidden{k}": s for k, s in enumerate(self._run(x)[0], 1)}

    @torch.no_grad()
    def readout_potential(self, x: torch.Tensor) -> torch.Tensor:
        """The read-out membrane u (T, B, out_features); forward() is its mean over T."""
        return self._run(x)[1]

    def input_problem(self, shape):
        f = self.config["in_features"]
        if shape == (f,) or (len(shape) == 2 and shape[1] == f and shape[0] >= 1):
            return None
        return (f"SpikingMLP expects (batch, {f}) static samples or (batch, steps, {f}) "
                f"sequences, got (batch, {', '.join(map(str, shape))})")
