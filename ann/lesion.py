"""Lesions of torch models: lost units, lost synapses, changed gain, noise.

Every function takes a model, returns a lesioned deep copy and leaves the
original untouched; the same `seed` always gives the same lesion.

Two mechanisms, both of which survive later training (fine-tuning after a
lesion is the recovery study):
- Weight masks (`prune`, and `ablate` on recurrent layers): the masked weights
  are zeroed at once, a forward pre-hook zeroes them again before every
  forward, and a gradient hook zeroes their gradients, so any standard
  optimiser (SGD, momentum, Adam, weight decay) leaves them exactly zero. The
  lesioned weights are plain `.weight` values, so code that reads weights
  (e.g. conversion to a spiking network) sees the lesion.
- Output hooks (`ablate` on feed-forward layers, `scale_gain`,
  `activation_noise`): a forward hook rewrites a module's output every call.

Hooks are small picklable objects rather than closures, so `copy.deepcopy`
copies their masks along with the model (a closure would keep pointing at the
original's tensors).

Layer names are those of `model.named_modules()` (e.g. "0", "3", "rnn").
By default a lesion of units acts on every hidden layer (`hidden_layers`): the
module whose output is a hidden unit's activity (the nonlinearity after each
weighted layer but the read-out, or a recurrent layer), never the input or the
read-out; a lesion of weights acts on every weighted layer (`weighted_layers`).
"""
from __future__ import annotations

import copy
import weakref

import numpy as np
import torch
from torch import nn

WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.RNNBase, nn.RNNCellBase)
RECURRENT = (nn.RNNBase, nn.RNNCellBase)
ACTIVATIONS = (nn.ReLU, nn.LeakyReLU, nn.ReLU6, nn.ELU, nn.GELU, nn.SiLU, nn.Tanh,
               nn.Sigmoid, nn.Softplus, nn.Hardtanh)
MODES = ("random", "patch")
METHODS = ("random", "magnitude")


# --------------------------------------------------------------------------- layer lookup

def weighted_layers(model: nn.Module) -> list[str]:
    """Names of the modules holding weights (Linear, Conv, RNN/LSTM/GRU), in order."""
    return [name for name, m in model.named_modules() if isinstance(m, WEIGHTED)]


def hidden_layers(model: nn.Module) -> list[str]:
    """Names of the modules whose outputs are hidden units, in order.

    For each weighted layer except the last (the read-out): a recurrent layer
    itself, otherwise the first nonlinearity module that follows it (before
    the next weighted layer), or the weighted layer itself when the model
    applies its nonlinearities functionally.
    """
    modules = [(n, m) for n, m in model.named_modules()
               if n and (isinstance(m, RECURRENT) or not list(m.children()))]  # leaves, in order
    names = [n for n, _ in modules]
    order = [n for n in weighted_layers(model) if n in names]
    hidden = []
    for k, name in enumerate(order[:-1]):
        if isinstance(_module(model, name), RECURRENT):
            hidden.append(name)
            continue
        start, stop = names.index(name), names.index(order[k + 1])
        act = [n for n, m in modules[start + 1:stop] if isinstance(m, ACTIVATIONS)]
        hidden.append(act[0] if act else name)
    return hidden


def _module(model: nn.Module, name: str) -> nn.Module:
    modules = dict(model.named_modules())
    if name not in modules:
        raise ValueError(f"unknown layer {name!r}; layers: {', '.join(n for n in modules if n)}")
    return modules[name]


def _resolve(model, layers, default) -> list[str]:
    if layers is None:
        layers = default(model)
        if not layers:
            raise ValueError(f"{type(model).__name__} has no {default.__name__.replace('_', ' ')} to lesion")
    elif isinstance(layers, str):
        layers = [layers]
    for name in layers:
        _module(model, name)
    return list(layers)


def _check_fraction(fraction, what="fraction"):
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"{what} must lie in [0, 1], got {fraction}")
    return float(fraction)


def _rng(seed: int, key: int) -> np.random.Generator:
    # one independent stream per layer, so layer k's lesion does not depend on the others
    return np.random.default_rng([int(seed), int(key)])


# --------------------------------------------------------------------------- choosing units

def patch_indices(shape: tuple[int, ...], k: int, rng: np.random.Generator) -> np.ndarray:
    """The `k` positions of a grid of `shape` nearest to a random centre (a contiguous patch).

    shape: (n,) for a line of units, (H, W) for feature-map positions.
    Returns (k,) int64 flat indices into the grid; ties go to the lower index.
    """
    grid = np.stack(np.unravel_index(np.arange(int(np.prod(shape))), shape), axis=1)  # (n, d)
    centre = np.array([rng.uniform(0, s - 1) if s > 1 else 0.0 for s in shape])
    dist = np.linalg.norm(grid - centre, axis=1)
    return np.sort(np.argsort(dist, kind="stable")[:k])


def choose(n: int, fraction: float, rng: np.random.Generator, mode: str = "random",
           shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Exactly round(fraction * n) of n indices: random, or a contiguous patch of `shape`."""
    k = int(round(fraction * n))
    if mode == "random":
        return np.sort(rng.choice(n, size=k, replace=False))
    return patch_indices(shape or (n,), k, rng)


# --------------------------------------------------------------------------- hooks

class OutputLesion:
    """Forward hook: output -> output * mask * gain + noise.

    The unit mask is built on the first call from the output's shape (and kept):
    for (B, F) outputs it silences units; for channel-first (B, C, ...) outputs
    (convolutions) "random" mode
    silences whole feature maps and "patch" mode a patch of positions in every
    map. Noise is Gaussian with std `noise` (times the output's std over the
    batch when `relative`), drawn from a generator seeded by (seed, key, call).
    A tuple output (a recurrent layer's (sequence, state)) is lesioned in its
    first element only.
    """

    def __init__(self, fraction=0.0, mode="random", gain=1.0, noise=0.0, relative=True,
                 seed=0, key=0):
        self.fraction, self.mode, self.gain = fraction, mode, gain
        self.noise, self.relative, self.seed, self.key = noise, relative, seed, key
        self.masks: dict[tuple, torch.Tensor] = {}
        self.calls = 0

    def mask_for(self, feature_shape: tuple[int, ...]) -> torch.Tensor:
        """(feature_shape) float mask, 0 where a unit is silenced."""
        if feature_shape not in self.masks:
            rng = _rng(self.seed, self.key)
            mask = np.ones(feature_shape, dtype=np.float32)
            if len(feature_shape) == 1:
                mask[choose(feature_shape[0], self.fraction, rng, self.mode)] = 0
            elif self.mode == "random":  # whole feature maps
                mask[choose(feature_shape[0], self.fraction, rng)] = 0
            else:  # the same patch of positions in every feature map
                spatial = feature_shape[1:]
                flat = mask.reshape(feature_shape[0], -1)
                flat[:, choose(int(np.prod(spatial)), self.fraction, rng, "patch", spatial)] = 0
            self.masks[feature_shape] = torch.from_numpy(mask)
        return self.masks[feature_shape]

    def _apply(self, y: torch.Tensor) -> torch.Tensor:
        if self.fraction > 0:
            y = y * self.mask_for(tuple(y.shape[1:])).to(y.device, y.dtype)
        if self.gain != 1.0:
            y = y * self.gain
        if self.noise > 0:
            g = torch.Generator().manual_seed(hash((self.seed, self.key, self.calls)) % 2**62)
            self.calls += 1
            eps = torch.randn(y.shape, generator=g).to(y.device, y.dtype)
            scale = y.detach().std() if self.relative and y.numel() > 1 else 1.0
            y = y + self.noise * scale * eps
        return y

    def __call__(self, module, inputs, output):
        if isinstance(output, tuple):
            return (self._apply(output[0]), *output[1:])
        return self._apply(output)


class _GradMask:
    """Gradient hook: zero the gradient of cut weights."""

    def __init__(self, keep: torch.Tensor):
        self.keep = keep

    def __call__(self, grad):
        return grad * self.keep.to(grad.device, grad.dtype)


class WeightMask:
    """Forward pre-hook keeping masked weights at exactly zero, also under training.

    masks: {parameter name: bool tensor of the parameter's shape, False where cut}.

    A weight is masked again only when it changed since it was last masked (torch counts
    every in-place change of a tensor: an optimiser step, copy_, load_state_dict), so a
    module called at every time step of one forward pass (a recurrent layer's `rec`) does
    not rewrite, in place, a weight that autograd saved at the earlier steps. Writes
    through `.data`, which torch does not count, are masked at the next counted change.
    """

    def __init__(self, masks: dict[str, torch.Tensor]):
        self.masks = masks
        self._guarded = {}  # id -> weakref of the parameters whose gradients are masked
        self._masked = {}  # name -> (id, storage, version) of the parameter when last masked

    def __getstate__(self):  # deepcopy/pickle: the copy guards its own parameters
        return {"masks": self.masks}

    def __setstate__(self, state):
        self.masks, self._guarded, self._masked = state["masks"], {}, {}

    def enforce(self, module: nn.Module) -> None:
        with torch.no_grad():
            for name, keep in self.masks.items():
                p = getattr(module, name)
                if self._masked.get(name) == (id(p), p.data_ptr(), p._version):
                    continue  # unchanged since it was masked
                keep = keep.to(p.device)
                p.mul_(keep)
                self._masked[name] = (id(p), p.data_ptr(), p._version)
                ref = self._guarded.get(id(p))
                if p.requires_grad and (ref is None or ref() is not p):
                    p.register_hook(_GradMask(keep))
                    self._guarded[id(p)] = weakref.ref(p)

    def __call__(self, module, inputs):
        self.enforce(module)

    def combine(self, module: nn.Module, masks: dict[str, torch.Tensor]) -> None:
        """Add a later lesion's cuts (weights cut by either stay cut) and mask `module` now."""
        for name, keep in masks.items():
            self.masks[name] = self.masks[name] & keep if name in self.masks else keep
            self._masked.pop(name, None)  # its weights are masked anew, changed or not
        self.enforce(module)


def _add_weight_mask(module: nn.Module, masks: dict[str, torch.Tensor]) -> None:
    for hook in module._forward_pre_hooks.values():
        if isinstance(hook, WeightMask):  # combine with an earlier lesion of this layer
            hook.combine(module, masks)
            return
    hook = WeightMask(dict(masks))
    module.register_forward_pre_hook(hook)
    hook.enforce(module)


def weight_masks(model: nn.Module) -> dict[str, torch.Tensor]:
    """{"layer.param": bool mask} of every weight lesion in `model` (True = kept)."""
    out = {}
    for name, m in model.named_modules():
        for hook in m._forward_pre_hooks.values():
            if isinstance(hook, WeightMask):
                out.update({f"{name}.{p}": k for p, k in hook.masks.items()})
    return out


def _weight_params(module: nn.Module) -> list[str]:
    """Names of a layer's weight matrices (not biases)."""
    return [n for n, _ in module.named_parameters(recurse=False) if n.startswith("weight")]


# --------------------------------------------------------------------------- lesions

def ablate(model: nn.Module, fraction: float, layers=None, *, mode: str = "random",
           seed: int = 0) -> nn.Module:
    """Silence exactly round(fraction * n) units (or feature maps) of each layer.

    layers: a name, a list of names, or None for every hidden layer.
    mode:   "random" units / feature maps, or "patch": a contiguous patch of
            units (1-D layers) or of feature-map positions (conv layers).
    A recurrent layer loses its units by zeroing their rows of every input,
    recurrent and bias parameter (all gates), so the unit stays at zero
    activity and sends nothing. Other layers get an output hook.
    Returns a lesioned copy.
    """
    fraction = _check_fraction(fraction)
    if mode not in MODES:
        raise ValueError(f"unknown ablation mode {mode!r}; choose one of: {', '.join(MODES)}")
    names = _resolve(model, layers, hidden_layers)
    model = copy.deepcopy(model)
    if fraction == 0:
        return model
    for key, name in enumerate(names):
        module = _module(model, name)
        if isinstance(module, RECURRENT):
            _ablate_recurrent(module, fraction, mode, _rng(seed, key))
        else:
            module.register_forward_hook(OutputLesion(fraction, mode, seed=seed, key=key))
    return model


def _ablate_recurrent(module: nn.Module, fraction: float, mode: str, rng) -> None:
    h = module.hidden_size
    masks = {}
    layers = sorted({n.split("_l")[-1] for n, _ in module.named_parameters() if "_l" in n}) or [""]
    for layer in layers:  # each stacked layer (and direction) loses its own units
        dead = choose(h, fraction, rng, mode)
        for pname, p in module.named_parameters(recurse=False):
            if layer and not pname.endswith("_l" + layer) or pname.startswith("weight_hr"):
                continue
            keep = torch.ones(p.shape, dtype=torch.bool)
            gates = p.shape[0] // h
            for g in range(gates):  # rows of every gate block (LSTM: 4, GRU: 3)
                keep[g * h + torch.as_tensor(dead, dtype=torch.long)] = False
            masks[pname] = keep
    _add_weight_mask(module, masks)


def prune(model: nn.Module, fraction: float, layers=None, *, method: str = "random",
          compensate: bool = False, weights: str | None = None, seed: int = 0) -> nn.Module:
    """Cut exactly round(fraction * n) of the n weights each weight matrix still has.

    layers:     a name, a list of names, or None for every weighted layer.
    method:     "random", or "magnitude" (the smallest |w| go first; Hoffman &
                McGlashan 1997's pruning of the weakest synapses).
    compensate: multiply each unit's surviving incoming weights by
                (weights it had) / (weights it kept), so its summed input
                keeps its expected size (neuronal compensation, Horn, Levy &
                Ruppin 1993, Neural Comput 5:736).
    weights:    only the weight matrices whose names start with this, e.g.
                "weight_hh" for the recurrent weights of an RNN/LSTM/GRU layer.
    Biases are not pruned. Cut weights stay zero under later training.
    Returns a lesioned copy.
    """
    fraction = _check_fraction(fraction)
    if method not in METHODS:
        raise ValueError(f"unknown pruning method {method!r}; choose one of: {', '.join(METHODS)}")
    names = _resolve(model, layers, weighted_layers)
    model = copy.deepcopy(model)
    if fraction == 0:
        return model
    for key, name in enumerate(names):
        module = _module(model, name)
        masks = {}
        earlier = {p: k for h in module._forward_pre_hooks.values() if isinstance(h, WeightMask)
                   for p, k in h.masks.items()}
        for pk, pname in enumerate(_weight_params(module)):
            if weights is not None and not pname.startswith(weights):
                continue
            p = getattr(module, pname)
            rng = _rng(seed, 1000 * key + pk)
            alive = np.flatnonzero(earlier.get(pname, torch.ones(p.shape, dtype=torch.bool))
                                   .flatten().numpy())  # weights a former lesion left
            k = int(round(fraction * len(alive)))
            if method == "random":
                cut = rng.choice(alive, size=k, replace=False)
            else:  # ties among equal magnitudes broken at random, so the cut is exactly k
                mag = p.detach().abs().flatten().cpu().numpy()[alive]
                cut = alive[np.lexsort((rng.random(len(alive)), mag))[:k]]
            keep = torch.ones(p.numel(), dtype=torch.bool)
            keep[torch.as_tensor(cut, dtype=torch.long)] = False
            keep = keep.reshape(p.shape)
            if compensate:
                before = earlier.get(pname, torch.ones(p.shape, dtype=torch.bool))
                before = before.reshape(p.shape[0], -1)  # (out units, incoming weights)
                kept = (before & keep.reshape(p.shape[0], -1)).sum(1)
                factor = before.sum(1) / kept.clamp(min=1)
                with torch.no_grad():
                    p.mul_(factor.view(-1, *[1] * (p.dim() - 1)).to(p.dtype))
            masks[pname] = keep
        if weights is not None and not masks:
            raise ValueError(f"layer {name!r} has no weights named {weights}*; it has: "
                             f"{', '.join(_weight_params(module))}")
        _add_weight_mask(module, masks)
    return model


def scale_gain(model: nn.Module, gain: float, layers=None) -> nn.Module:
    """Multiply each layer's output by `gain` (>= 0); default: every hidden layer.

    The rate-model picture of a neuromodulator (dopamine, noradrenaline)
    changing a unit's responsiveness (Servan-Schreiber, Printz & Cohen 1990).
    A recurrent layer's units feed their own input, which a hook on the layer's
    output cannot reach (it would only scale what the read-out sees: no change
    of a ReLU network's argmax). There the gain scales every input, recurrent
    and bias parameter instead, so each unit computes f(gain * a) at every step
    (a: its summed input): Servan-Schreiber et al.'s gain, the slope of the
    activation; for ReLU units exactly gain * relu(a), the output gain above,
    inside the loop.
    Returns a lesioned copy.
    """
    if not np.isfinite(gain) or gain < 0:
        raise ValueError(f"gain must be a finite number >= 0, got {gain}")
    names = _resolve(model, layers, hidden_layers)
    model = copy.deepcopy(model)
    if gain != 1.0:
        for name in names:
            module = _module(model, name)
            if isinstance(module, RECURRENT):
                with torch.no_grad():
                    for p in module.parameters(recurse=False):
                        p.mul_(float(gain))
            else:
                module.register_forward_hook(OutputLesion(gain=float(gain)))
    return model


def scale_weights(model: nn.Module, factor: float, sign: str = "negative", layers=None) -> nn.Module:
    """Multiply the negative (or positive) weights of each layer by `factor` (>= 0).

    In a rate network the negative weights are its inhibition (and they become
    the inhibitory synapses of a converted spiking network), so `sign="negative"`
    with factor < 1 is a loss of inhibition. Default: every weighted layer.
    Returns a lesioned copy.
    """
    if sign not in ("negative", "positive"):
        raise ValueError(f"unknown sign {sign!r}; choose one of: negative, positive")
    if factor < 0:
        raise ValueError(f"factor must be >= 0, got {factor}")
    names = _resolve(model, layers, weighted_layers)
    model = copy.deepcopy(model)
    with torch.no_grad():
        for name in names:
            module = _module(model, name)
            for pname in _weight_params(module):
                p = getattr(module, pname)
                sel = p < 0 if sign == "negative" else p > 0
                p[sel] *= factor
    return model


def weight_noise(model: nn.Module, sigma: float, layers=None, *, relative: bool = True,
                 seed: int = 0) -> nn.Module:
    """Add Gaussian noise of std `sigma` (times each matrix's weight std when `relative`).

    Cut (masked) weights stay cut. Default: every weighted layer. Returns a lesioned copy.
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    names = _resolve(model, layers, weighted_layers)
    model = copy.deepcopy(model)
    if sigma == 0:
        return model
    g = torch.Generator().manual_seed(int(seed))
    with torch.no_grad():
        for name in names:
            module = _module(model, name)
            for pname in _weight_params(module):
                p = getattr(module, pname)
                scale = p.std() if relative and p.numel() > 1 else 1.0
                p.add_(sigma * scale * torch.randn(p.shape, generator=g).to(p.device, p.dtype))
            for hook in module._forward_pre_hooks.values():
                if isinstance(hook, WeightMask):
                    hook.enforce(module)
    return model


def activation_noise(model: nn.Module, sigma: float, layers=None, *, relative: bool = True,
                     seed: int = 0) -> nn.Module:
    """Add fresh Gaussian noise to each layer's output on every forward pass.

    Std `sigma`, times the output's std over the batch when `relative`.
    Default: every hidden layer. Active in training and evaluation alike (it is
    a lesion, not a regulariser). Returns a lesioned copy.
    """
    if sigma < 0:
        raise ValueError(f"sigma must be >= 0, got {sigma}")
    names = _resolve(model, layers, hidden_layers)
    model = copy.deepcopy(model)
    if sigma > 0:
        for key, name in enumerate(names):
            _module(model, name).register_forward_hook(
                OutputLesion(noise=float(sigma), relative=relative, seed=seed, key=key))
    return model


def underprune(model: nn.Module, fraction: float, layers=None, *, seed: int = 0) -> nn.Module:
    """Keep synapses that developmental pruning would have removed (under-pruning).

    In each weight matrix, the round(fraction * n) weakest of its n weights (smallest |w|,
    ties at random; weights cut by an earlier lesion are left alone) are replaced by
    weights drawn at random, with replacement, from that matrix's own weights, signs
    included: connections of the layer's typical strength whose targets learning did not
    select (the spines that pruning removes persist in ASD cortex; Tang et al. 2014,
    Neuron 83:1131). Biases are untouched. Default: every weighted layer.
    Returns a lesioned copy.
    """
    fraction = _check_fraction(fraction)
    names = _resolve(model, layers, weighted_layers)
    model = copy.deepcopy(model)
    if fraction == 0:
        return model
    masks = weight_masks(model)
    with torch.no_grad():
        for key, name in enumerate(names):
            module = _module(model, name)
            for pk, pname in enumerate(_weight_params(module)):
                p = getattr(module, pname)
                rng = _rng(seed, 1000 * key + pk)
                flat = p.detach().flatten().cpu().numpy().astype(np.float64)
                keep = masks.get(f"{name}.{pname}")
                alive = np.flatnonzero(keep.flatten().numpy()) if keep is not None else np.arange(flat.size)
                k = int(round(fraction * len(alive)))
                if k == 0:
                    continue
                weakest = alive[np.lexsort((rng.random(len(alive)), np.abs(flat[alive])))[:k]]
                flat[weakest] = rng.choice(flat[alive], size=k, replace=True)
                p.copy_(torch.as_tensor(flat.reshape(p.shape), dtype=p.dtype))
    return model


class InputClamp:
    """Forward pre-hook: input features `indices` (of the flattened sample) are replaced by
    the constant `value` whatever the stimulus (deafferented fibres firing at their
    spontaneous level)."""

    def __init__(self, indices, value: float):
        self.indices = torch.as_tensor(np.asarray(indices, dtype=np.int64))
        self.value = float(value)

    def __call__(self, module, inputs):
        x = inputs[0]
        flat = x.reshape(x.shape[0], -1).clone()  # (B, features)
        flat[:, self.indices.to(x.device)] = self.value
        return (flat.reshape(x.shape), *inputs[1:])


def deafferent(model: nn.Module, fraction: float, *, level: float = 0.0, seed: int = 0) -> nn.Module:
    """Deafferentation: round(fraction * n) of the n input features (fibres), drawn at random,
    lose their stimulus-driven activity and carry the constant `level` instead (0: silent;
    > 0: a spontaneous rate that survives, as auditory-nerve fibres keep theirs after
    cochlear damage; Schaette & Kempter 2006, Eur J Neurosci 23:3124).

    A forward pre-hook (`InputClamp`) on the first weighted layer rewrites its input.
    `fibres(model)` reads back which features were hit. Returns a lesioned copy.
    """
    fraction = _check_fraction(fraction)
    first = weighted_layers(model)
    if not first:
        raise ValueError(f"{type(model).__name__} has no weighted layer to deafferent")
    model = copy.deepcopy(model)
    module = _module(model, first[0])
    w = getattr(module, _weight_params(module)[0])
    n_in = int(np.prod(w.shape[1:])) if not isinstance(module, RECURRENT) else module.input_size
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        raise ValueError("deafferent acts on models whose first weighted layer is Linear or recurrent "
                         f"(one weight column per input feature), got {type(module).__name__}")
    lost = choose(n_in, fraction, _rng(seed, 0))
    if len(lost):
        module.register_forward_pre_hook(InputClamp(lost, level))
    return model


def fibres(model: nn.Module) -> np.ndarray:
    """(k,) sorted input features clamped by `deafferent` (empty when none)."""
    out = [h.indices.numpy() for m in model.modules() for h in m._forward_pre_hooks.values()
           if isinstance(h, InputClamp)]
    return np.sort(np.concatenate(out)) if out else np.zeros(0, np.int64)


def scale_incoming(model: nn.Module, layer: str, gains, sign: str = "positive") -> nn.Module:
    """Multiply each unit's positive (or negative) incoming weights in `layer` by its own gain.

    gains: (n_out,) factors >= 0, one per output unit (row of a Linear weight, output
    channel of a convolution). Homeostatic synaptic scaling acts this way: one factor for
    all excitatory synapses of a neuron (Turrigiano et al. 1998, Nature 391:892).
    Returns a lesioned copy.
    """
    if sign not in ("negative", "positive"):
        raise ValueError(f"unknown sign {sign!r}; choose one of: negative, positive")
    model = copy.deepcopy(model)
    module = _module(model, layer)
    params = _weight_params(module)
    if not params:
        raise ValueError(f"layer {layer!r} has no weights to scale")
    p = getattr(module, params[0])
    gains = torch.as_tensor(np.asarray(gains, dtype=np.float64), dtype=p.dtype)
    if gains.shape != (p.shape[0],) or torch.any(gains < 0) or not torch.all(torch.isfinite(gains)):
        raise ValueError(f"gains must be ({p.shape[0]},) finite factors >= 0, one per unit of "
                         f"{layer!r}, got shape {tuple(gains.shape)}")
    with torch.no_grad():
        g = gains.view(-1, *[1] * (p.dim() - 1)).to(p.device)
        sel = p > 0 if sign == "positive" else p < 0
        p.copy_(torch.where(sel, p * g, p))
    return model
