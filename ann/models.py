"""The standard artificial networks, sized for the 8x8 digits by default.

Every model is an `nn.Module` with a `.config` dict (its constructor arguments, what a
checkpoint stores) and a `.task` ("classification", "reconstruction" or "generation")
that tells `ann.train` which loss to use.

    MLP(64, [128], 10)        (B, 64) -> (B, 10) logits; MLP(64, [], 10) = logistic regression
    CNN()                     (B, 64) -> (B, 10) logits; the image is unflattened inside
    RNN(cell="lstm")          (B, T, F) or flat (B, T*F) -> (B, 10) logits; a digit = 8 rows of 8
    AttentionNet()            same input as RNN: rows are the tokens -> (B, 10) logits
    Autoencoder()             (B, 64) -> (B, 64) reconstruction in [0, 1]
    GAN()                     (B, latent) -> (B, 64) generated images (see ann.gan)
    SpikingMLP(64, [256], 10) (B, 64) static or (B, T, F) sequence -> (B, 10) logits; LIF
                              neurons trained with surrogate gradients (see ann.spiking)

MLP and CNN are `nn.Sequential` stacks of standard layers only (Linear, ReLU, Conv2d,
BatchNorm2d, pooling, Flatten, Dropout) so that `bridge.convert` can walk them layer by
layer and turn them into spiking networks.
"""
from __future__ import annotations

import math
from collections import OrderedDict

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ann.gan import GAN
from ann.spiking import SpikingMLP

__all__ = ["MLP", "CNN", "RNN", "AttentionNet", "Autoencoder", "GAN", "SpikingMLP", "ACTIVATIONS",
           "CELLS", "record_activations", "check_input", "from_config", "MODELS"]

ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "sigmoid": nn.Sigmoid, "gelu": nn.GELU,
               "elu": nn.ELU, "leaky_relu": nn.LeakyReLU, "softplus": nn.Softplus,
               "identity": nn.Identity}
CELLS = {"elman": nn.RNN, "lstm": nn.LSTM, "gru": nn.GRU}


def _activation(name: str) -> nn.Module:
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of: {', '.join(ACTIVATIONS)}")
    return ACTIVATIONS[name]()


def _sizes(sizes, what) -> list[int]:
    sizes = [int(s) for s in sizes]
    if any(s < 1 for s in sizes):
        raise ValueError(f"{what} must be positive integers, got {sizes}")
    return sizes


def _flat_problem(name, shape, width):
    if shape == (width,):
        return None
    return (f"{name} expects input of shape (batch, {width}), got (batch, "
            f"{', '.join(map(str, shape))}); flatten each sample to {width} values")


class MLP(nn.Sequential):
    """Multi-layer perceptron: [Linear -> activation] per hidden size, then a Linear read-out.

    Input (B, in_features) -> logits (B, out_features). Layers are named fc1, act1, ...,
    out. With hidden_sizes=[] it is a single Linear: multinomial logistic regression.
    """

    task = "classification"

    def __init__(self, in_features: int, hidden_sizes, out_features: int, activation: str = "relu"):
        hidden = _sizes(hidden_sizes, "hidden_sizes")
        layers, width = OrderedDict(), int(in_features)
        for k, h in enumerate(hidden, 1):
            layers[f"fc{k}"] = nn.Linear(width, h)
            layers[f"act{k}"] = _activation(activation)
            width = h
        layers["out"] = nn.Linear(width, int(out_features))
        super().__init__(layers)
        self.config = dict(in_features=int(in_features), hidden_sizes=hidden,
                           out_features=int(out_features), activation=activation)

    def input_problem(self, shape):
        return _flat_problem("MLP", shape, self.config["in_features"])


class CNN(nn.Sequential):
    """Convolutional network for small square images given flat.

    Input (B, in_channels*side*side) -> logits (B, out_features). Layers: unflatten to
    (B, C, side, side); per entry of `channels` a block conv{k} (3x3, padding 1) ->
    [bn{k}] -> relu{k} -> pool{k} (2x2 max or average, halving the side); then flatten,
    [dropout], [fc{k} -> relu_fc{k} per hidden size], out.
    """

    task = "classification"

    def __init__(self, side: int = 8, channels=(32, 64), out_features: int = 10, in_channels: int = 1,
                 batch_norm: bool = True, pool: str = "max", hidden_sizes=(), dropout: float = 0.25):
        channels, hidden = _sizes(channels, "channels"), _sizes(hidden_sizes, "hidden_sizes")
        pools = {"max": nn.MaxPool2d, "avg": nn.AvgPool2d}
        if pool not in pools:
            raise ValueError(f"unknown pool {pool!r}; choose one of: max, avg")
        if side >> len(channels) < 1:
            raise ValueError(f"{len(channels)} pooling blocks halve a side of {side} to zero; "
                             f"use at most {int(math.log2(side))} blocks")
        layers = OrderedDict(unflatten=nn.Unflatten(1, (in_channels, side, side)))  # (B, C, H, W)
        c_in, s = int(in_channels), int(side)
        for k, c in enumerate(channels, 1):
            layers[f"conv{k}"] = nn.Conv2d(c_in, c, kernel_size=3, padding=1)
            if batch_norm:
                layers[f"bn{k}"] = nn.BatchNorm2d(c)
            layers[f"relu{k}"] = nn.ReLU()
            layers[f"pool{k}"] = pools[pool](2)
            c_in, s = c, s // 2
        layers["flatten"] = nn.Flatten()  # (B, C*H*W)
        if dropout > 0:
            layers["dropout"] = nn.Dropout(dropout)
        width = c_in * s * s
        for k, h in enumerate(hidden, 1):
            layers[f"fc{k}"] = nn.Linear(width, h)
            layers[f"relu_fc{k}"] = nn.ReLU()
            width = h
        layers["out"] = nn.Linear(width, int(out_features))
        super().__init__(layers)
        self.config = dict(side=int(side), channels=channels, out_features=int(out_features),
                           in_channels=int(in_channels), batch_norm=bool(batch_norm), pool=pool,
                           hidden_sizes=hidden, dropout=float(dropout))

    def input_problem(self, shape):
        c, s = self.config["in_channels"], self.config["side"]
        return _flat_problem(f"CNN (image {c}x{s}x{s})", shape, c * s * s)


def _sequence_problem(name, shape, input_size, max_len=None):
    if len(shape) == 2 and shape[1] == input_size:
        length = shape[0]
    elif len(shape) == 1 and shape[0] % input_size == 0:
        length = shape[0] // input_size
    else:
        return (f"{name} expects (batch, steps, {input_size}) or flat (batch, steps*{input_size}), "
                f"got (batch, {', '.join(map(str, shape))})")
    if max_len is not None and length > max_len:
        return f"{name} handles at most max_len={max_len} steps, got {length}"
    return None


def _as_sequence(x, input_size):
    return x.reshape(x.shape[0], -1, input_size) if x.dim() == 2 else x  # (B, T, F)


class RNN(nn.Module):
    """Recurrent classifier: reads a sequence step by step, classifies from the last state.

    cell: "elman" (Elman 1990), "lstm" (Hochreiter & Schmidhuber 1997) or "gru"
    (Cho et al. 2014). nonlinearity: the Elman cell's, "tanh" (default) or "relu"
    (h_t = relu(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh), the one that converts to spiking
    neurons, bridge/recurrent.py); LSTM and GRU have fixed gates (tanh only).
    Input (B, T, input_size), or flat (B, T*input_size) read in chunks
    of input_size (a flat digit (B, 64) is 8 rows of 8, top to bottom). Output logits
    (B, out_features). Layers: rnn (output (B, T, hidden_size)), head.
    """

    task = "classification"

    def __init__(self, input_size: int = 8, hidden_size: int = 128, out_features: int = 10,
                 cell: str = "lstm", num_layers: int = 1, dropout: float = 0.0,
                 nonlinearity: str = "tanh"):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"unknown cell {cell!r}; choose one of: {', '.join(CELLS)}")
        allowed = ("tanh", "relu") if cell == "elman" else ("tanh",)
        if nonlinearity not in allowed:
            raise ValueError(f"nonlinearity {nonlinearity!r} is not available for the {cell} cell; "
                             f"choose one of: {', '.join(allowed)}")
        extra = {"nonlinearity": nonlinearity} if cell == "elman" else {}
        self.rnn = CELLS[cell](int(input_size), int(hidden_size), int(num_layers), batch_first=True,
                               dropout=float(dropout) if num_layers > 1 else 0.0, **extra)
        self.head = nn.Linear(int(hidden_size), int(out_features))
        self.config = dict(input_size=int(input_size), hidden_size=int(hidden_size),
                           out_features=int(out_features), cell=cell, num_layers=int(num_layers),
                           dropout=float(dropout), nonlinearity=nonlinearity)

    def forward(self, x):
        out, _ = self.rnn(_as_sequence(x, self.config["input_size"]))  # (B, T, H)
        return self.head(out[:, -1])

    def input_problem(self, shape):
        return _sequence_problem(f"RNN({self.config['cell']})", shape, self.config["input_size"])


class PositionalEncoding(nn.Module):
    """Adds the fixed sinusoidal position code of Vaswani et al. (2017), sec. 3.5. (B, T, D)."""

    def __init__(self, d_model: int, max_len: int = 64):
        super().__init__()
        pos = torch.arange(max_len, dtype=torch.float32)[:, None]
        freq = torch.exp(torch.arange(0, d_model, 2, dtype=torch.float32) * (-math.log(1e4) / d_model))
        pe = torch.zeros(max_len, d_model)
        pe[:, 0::2] = torch.sin(pos * freq)
        pe[:, 1::2] = torch.cos(pos * freq)[:, : d_model // 2]
        self.register_buffer("pe", pe, persistent=False)

    def forward(self, x):
        return x + self.pe[: x.shape[1]]


class EncoderBlock(nn.Module):
    """Pre-norm transformer encoder layer (Vaswani et al. 2017; pre-norm as Xiong et al. 2020):
    x + SelfAttention(LN(x)), then x + FeedForward(LN(x)). (B, T, D) -> (B, T, D)."""

    def __init__(self, d_model: int, n_heads: int, d_ff: int, dropout: float):
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = nn.MultiheadAttention(d_model, n_heads, dropout=dropout, batch_first=True)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff = nn.Sequential(nn.Linear(d_model, d_ff), nn.GELU(), nn.Linear(d_ff, d_model))
        self.dropout = dropout

    def forward(self, x):
        h = self.norm1(x)
        a, _ = self.attn(h, h, h, need_weights=False)
        x = x + F.dropout(a, self.dropout, self.training)
        return x + F.dropout(self.ff(self.norm2(x)), self.dropout, self.training)


class MeanPool(nn.Module):
    """Average over tokens: (B, T, D) -> (B, D)."""

    def forward(self, x):
        return x.mean(dim=1)


class AttentionNet(nn.Module):
    """A small transformer encoder classifier; each sequence step (a digit row) is a token.

    Input as for RNN: (B, T, input_size) or flat (B, T*input_size), T <= max_len.
    Layers: embed (Linear to d_model), pos (sinusoidal), blocks.{k} (multi-head
    self-attention + feed-forward), norm, pool (mean over tokens, (B, d_model)), head.
    Output logits (B, out_features).
    """

    task = "classification"

    def __init__(self, input_size: int = 8, out_features: int = 10, d_model: int = 64,
                 n_heads: int = 4, n_layers: int = 2, d_ff: int = 128, dropout: float = 0.1,
                 max_len: int = 64):
        super().__init__()
        if d_model % n_heads:
            raise ValueError(f"d_model={d_model} must be divisible by n_heads={n_heads}")
        self.embed = nn.Linear(int(input_size), int(d_model))
        self.pos = PositionalEncoding(int(d_model), int(max_len))
        self.blocks = nn.Sequential(*[EncoderBlock(d_model, n_heads, d_ff, dropout)
                                      for _ in range(int(n_layers))])
        self.norm = nn.LayerNorm(d_model)
        self.pool = MeanPool()
        self.head = nn.Linear(d_model, int(out_features))
        self.config = dict(input_size=int(input_size), out_features=int(out_features),
                           d_model=int(d_model), n_heads=int(n_heads), n_layers=int(n_layers),
                           d_ff=int(d_ff), dropout=float(dropout), max_len=int(max_len))

    def forward(self, x):
        h = self.pos(self.embed(_as_sequence(x, self.config["input_size"])))  # (B, T, D)
        return self.head(self.pool(self.norm(self.blocks(h))))

    def input_problem(self, shape):
        return _sequence_problem("AttentionNet", shape, self.config["input_size"],
                                 self.config["max_len"])


class Autoencoder(nn.Module):
    """Dense autoencoder trained to reconstruct its input (mean squared error).

    Input (B, in_features) in [0, 1] -> reconstruction (B, in_features) in [0, 1] (sigmoid
    output). `encode(x)` gives the code (B, code_size). Layers: encoder.{fc1, act1, ...,
    code}, decoder.{fc1, act1, ..., out, sigmoid}; the decoder mirrors the encoder.
    """

    task = "reconstruction"

    def __init__(self, in_features: int = 64, hidden_sizes=(128,), code_size: int = 16,
                 activation: str = "relu"):
        super().__init__()
        hidden = _sizes(hidden_sizes, "hidden_sizes")
        _activation(activation)  # validate the name once, before building

        def stack(sizes, last_name, last_width):
            layers, width = OrderedDict(), sizes[0]
            for k, h in enumerate(sizes[1:], 1):
                layers[f"fc{k}"] = nn.Linear(width, h)
                layers[f"act{k}"] = _activation(activation)
                width = h
            layers[last_name] = nn.Linear(width, last_width)
            return layers

        self.encoder = nn.Sequential(stack([int(in_features), *hidden], "code", int(code_size)))
        dec = stack([int(code_size), *hidden[::-1]], "out", int(in_features))
        dec["sigmoid"] = nn.Sigmoid()
        self.decoder = nn.Sequential(dec)
        self.config = dict(in_features=int(in_features), hidden_sizes=hidden,
                           code_size=int(code_size), activation=activation)

    def encode(self, x):
        return self.encoder(x)

    def forward(self, x):
        return self.decoder(self.encoder(x))

    def input_problem(self, shape):
        return _flat_problem("Autoencoder", shape, self.config["in_features"])


# GAN lives with its adversarial loop (ann.gan), SpikingMLP with its neurons (ann.spiking);
# neither imports ann.models or ann.train, so these imports close no cycle.
MODELS = {cls.__name__: cls for cls in (MLP, CNN, RNN, AttentionNet, Autoencoder, GAN, SpikingMLP)}


def from_config(class_name: str, config: dict) -> nn.Module:
    """Build a fresh model from its class name and `.config` (as a checkpoint stores them)."""
    if class_name not in MODELS:
        raise ValueError(f"unknown model class {class_name!r}; choose one of: {', '.join(MODELS)}")
    return MODELS[class_name](**config)


def check_input(model: nn.Module, shape) -> None:
    """Raise ValueError if data of shape (N, ...) does not fit the model's input."""
    problem = model.input_problem(tuple(int(s) for s in shape[1:])) \
        if hasattr(model, "input_problem") else None
    if problem:
        raise ValueError(problem)


# Modules recorded whole: their submodules (e.g. MultiheadAttention.out_proj) are used
# functionally inside them and never fire hooks of their own.
_RECORD_WHOLE = (nn.RNNBase, nn.MultiheadAttention)


def _recorded_modules(model):
    chosen, whole = [], []
    for name, module in model.named_modules():
        if any(name.startswith(w + ".") for w in whole):
            continue
        if isinstance(module, _RECORD_WHOLE) and name:
            chosen.append((name, module))
            whole.append(name)
        elif name and next(module.children(), None) is None:
            chosen.append((name, module))
    return chosen or [("output", model)]


def _spiking_rates(model, x, device, batch_size):
    store: dict[str, list] = {}
    for start in range(0, len(x), batch_size):
        xb = x[start:start + batch_size].to(device)
        for name, s in model.spikes(xb).items():  # (T, B, N)
            store.setdefault(name, []).append(s.mean(0).float().cpu().numpy())
        store.setdefault("readout", []).append(model(xb).detach().float().cpu().numpy())
    return {name: np.concatenate(chunks) for name, chunks in store.items()}


@torch.no_grad()
def record_activations(model: nn.Module, x, batch_size: int = 1024) -> dict[str, np.ndarray]:
    """Every layer's output for a batch, via forward hooks on the leaf modules.

    x: (N, ...) array or tensor, as the model's forward takes it.
    Returns {dotted layer name: float32 array (N, ...)} in the order the layers ran (an
    RNN's entry is its output sequence (N, T, hidden); attention's is (N, T, d_model)).
    A SpikingMLP gives each hidden layer's firing rate instead, {"hidden1": (N, N1)
    spikes per step, ..., "readout": (N, out) logits}: its layers run once per time step.
    The model runs in eval mode (dropout off, BatchNorm running statistics).
    """
    device = next(model.parameters()).device
    x = torch.as_tensor(np.asarray(x, dtype=np.float32) if not torch.is_tensor(x) else x,
                        dtype=torch.float32)
    check_input(model, x.shape)
    if isinstance(model, SpikingMLP):
        return _spiking_rates(model, x, device, batch_size)
    store: dict[str, list] = {}

    def hook_for(name):
        def hook(_module, _inputs, output):
            out = output[0] if isinstance(output, (tuple, list)) else output
            store.setdefault(name, []).append(out.detach().float().cpu().numpy())
        return hook

    handles = [m.register_forward_hook(hook_for(n)) for n, m in _recorded_modules(model)]
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(x), batch_size):
            model(x[start:start + batch_size].to(device))
    finally:
        model.train(was_training)
        for h in handles:
            h.remove()
    return {name: np.concatenate(chunks) for name, chunks in store.items()}
