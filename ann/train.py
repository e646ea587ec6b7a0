"""Training, evaluation, checkpoints and transfer learning for the `ann` models.

    history = fit(net, ds.train, epochs=30)    # CUDA when present, else CPU
    acc = evaluate(net, ds.test)               # fraction correct in [0, 1]
    save_checkpoint(net, "net.pt"); net2 = load_checkpoint("net.pt")

The whole data set lives on the device as one tensor and batches are index slices of it:
these data sets are small, and a DataLoader's per-batch Python work would cost more
than the model itself (see benchmarks/ann_train.py for the overhead against a bare loop).
"""
from __future__ import annotations

import contextlib
import copy
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ann import models
from ann._checks import as_split, resolve_device
from ann.data import Split

__all__ = ["History", "fit", "evaluate", "predict", "reconstruction_error", "save_checkpoint",
           "load_checkpoint", "freeze", "replace_head", "fine_tune", "resolve_device"]

OPTIMIZERS = ("adam", "adamw", "sgd")
LOSSES = ("auto", "cross_entropy", "mse")
SCHEDULES = ("cosine", "constant")


@dataclass
class History:
    """Per-epoch training record. Accuracies are NaN for reconstruction models and the
    val_* lists are empty when no validation split was held out."""

    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    val_loss: list = field(default_factory=list)
    val_acc: list = field(default_factory=list)
    best_epoch: int = -1          # 0-based epoch whose weights the model ends with
    stopped_early: bool = False
    seconds: float = 0.0
    samples_per_s: float = 0.0    # training samples processed per second of fit()

    @property
    def epochs(self) -> int:
        return len(self.train_loss)


_as_split = as_split  # the name ann.distributed imports


def _task(model, loss: str) -> str:
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; choose one of: {', '.join(LOSSES)}")
    task = getattr(model, "task", "classification")
    if task == "generation":
        raise ValueError("a GAN trains adversarially: use ann.gan.fit_gan(gan, data), not fit")
    if loss == "auto":
        return task
    return "reconstruction" if loss == "mse" else "classification"


def _check_data(model, split: Split, task: str) -> None:
    models.check_input(model, split.x.shape)
    n_out = getattr(model, "config", {}).get("out_features")
    if task == "classification" and n_out is not None and len(split) and split.y.max() >= n_out:
        raise ValueError(f"labels go up to {int(split.y.max())} but the model has {n_out} outputs; "
                         f"build it with out_features={int(split.y.max()) + 1} or use replace_head")


def _batch_loss(model, xb, yb, task):
    """(loss, output) for one batch; the output is float32 (logits or reconstruction)."""
    out = model(xb).float()
    if task == "reconstruction":
        return F.mse_loss(out, xb), out
    return F.cross_entropy(out, yb), out


def _autocast(device: torch.device, amp: bool):
    """Mixed precision on CUDA only: bfloat16 where supported (no loss scaling needed),
    else float16 with a GradScaler (Micikevicius et al. 2018)."""
    if not (amp and device.type == "cuda"):
        return contextlib.nullcontext, None
    if torch.cuda.is_bf16_supported():
        return (lambda: torch.autocast("cuda", dtype=torch.bfloat16)), None
    return (lambda: torch.autocast("cuda", dtype=torch.float16)), torch.amp.GradScaler("cuda")


def _train_epoch(model, x, y, order, batch_size, opt, task, autocast, scaler):
    """One pass over x[order] in batches; returns (mean loss, accuracy or NaN) as floats.

    Per batch only references to the loss and logits are kept; they are reduced once at
    the end of the epoch, so bookkeeping adds no small tensor ops to each step (those
    cost as much as a tiny model's own step; see benchmarks/ann_train.py).
    """
    model.train()
    losses, outputs = [], []
    for i in range(0, len(order), batch_size):
        idx = order[i:i + batch_size]
        xb, yb = x[idx], y[idx]
        with autocast():
            loss, out = _batch_loss(model, xb, yb, task)
        opt.zero_grad(set_to_none=True)
        if scaler is None:
            loss.backward()
            opt.step()
        else:
            scaler.scale(loss).backward()
            scaler.step(opt)
            scaler.update()
        losses.append(loss.detach())
        if task == "classification":
            outputs.append(out.detach())
    if not losses:
        return float("nan"), float("nan")
    sizes = torch.full((len(losses),), float(batch_size), device=x.device)
    sizes[-1] = len(order) - batch_size * (len(losses) - 1)  # the last batch may be short
    mean_loss = float((torch.stack(losses) * sizes).sum() / len(order))
    if task != "classification":
        return mean_loss, float("nan")
    hits = (torch.cat(outputs).argmax(1) == y[order]).sum()
    return mean_loss, float(hits) / len(order)


@torch.no_grad()
def _eval_tensors(model, x, y, task, batch_size=1024):
    model.eval()
    loss_sum, correct = 0.0, 0
    for i in range(0, len(x), batch_size):
        loss, out = _batch_loss(model, x[i:i + batch_size], y[i:i + batch_size], task)
        loss_sum += loss.item() * len(out)
        if task == "classification":
            correct += int((out.argmax(1) == y[i:i + batch_size]).sum())
    n = max(len(x), 1)
    return loss_sum / n, (correct / n if task == "classification" else float("nan"))


def _optimizer(name, params, lr, weight_decay):
    if name == "adam":
        return torch.optim.Adam(params, lr=lr, weight_decay=weight_decay)
    if name == "adamw":
        return torch.optim.AdamW(params, lr=lr, weight_decay=weight_decay)
    if name == "sgd":
        return torch.optim.SGD(params, lr=lr, momentum=0.9, weight_decay=weight_decay)
    raise ValueError(f"unknown optimizer {name!r}; choose one of: {', '.join(OPTIMIZERS)}")


def fit(model: nn.Module, data, epochs: int = 30, batch_size: int = 32, lr: float = 5e-3,
        optimizer: str = "adam", weight_decay: float = 0.0, schedule: str = "cosine",
        device="auto", amp: bool = True, seed: int = 0, val_fraction: float = 0.1,
        patience: int | None = None, progress: bool = True, loss: str = "auto") -> History:
    """Train `model` in place on data (a Split, a Dataset's train part, or an (x, y) pair).

    x: (N, ...) as the model's forward takes it; y: (N,) int labels (ignored when the
    model reconstructs its input, loss "mse"). A seeded val_fraction of the samples is
    held out for validation (0 to train on all). With `patience`, training stops after
    that many epochs without a lower validation loss and the best weights are restored.
    schedule "cosine" anneals lr to 0 over `epochs` (Loshchilov & Hutter 2017, no restarts).
    amp: mixed precision, used on CUDA only. On CPU, the same seed gives the same weights.
    Returns a History; the model ends on the chosen device.
    """
    task = _task(model, loss)
    split = _as_split(data)
    _check_data(model, split, task)
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if patience is not None and val_fraction == 0:
        raise ValueError("early stopping (patience) needs a validation split: set val_fraction > 0")
    if schedule not in SCHEDULES:
        raise ValueError(f"unknown schedule {schedule!r}; choose one of: {', '.join(SCHEDULES)}")
    dev = resolve_device(device)
    torch.manual_seed(seed)  # dropout masks; the initial weights are the caller's
    gen = torch.Generator().manual_seed(seed)

    perm = torch.randperm(len(split), generator=gen).numpy()
    n_val = int(round(val_fraction * len(split)))
    if val_fraction > 0 and not 0 < n_val < len(split):
        raise ValueError(f"val_fraction={val_fraction} of {len(split)} samples leaves an empty "
                         f"train or validation part")
    x = torch.from_numpy(split.x).to(dev)
    y = torch.from_numpy(split.y).to(dev)
    val_idx, train_idx = torch.from_numpy(perm[:n_val]).to(dev), torch.from_numpy(perm[n_val:])

    model.to(dev)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ValueError("every parameter of the model is frozen; nothing to train")
    opt = _optimizer(optimizer, params, lr, weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(epochs, 1)) \
        if schedule == "cosine" else None
    autocast, scaler = _autocast(dev, amp)

    history, best_loss, best_state, start = History(), float("inf"), None, time.perf_counter()
    epoch_iter = range(epochs)
    if progress:
        from tqdm.auto import tqdm
        epoch_iter = tqdm(epoch_iter, desc=type(model).__name__, leave=False)
    for epoch in epoch_iter:
        order = train_idx[torch.randperm(len(train_idx), generator=gen)].to(dev)
        tl, ta = _train_epoch(model, x, y, order, batch_size, opt, task, autocast, scaler)
        history.train_loss.append(tl)
        history.train_acc.append(ta)
        if sched is not None:
            sched.step()
        if n_val:
            vl, va = _eval_tensors(model, x[val_idx], y[val_idx], task)
            history.val_loss.append(vl)
            history.val_acc.append(va)
            if vl < best_loss:
                best_loss, history.best_epoch = vl, epoch
                if patience is not None:
                    best_state = copy.deepcopy(model.state_dict())
            elif patience is not None and epoch - history.best_epoch >= patience:
                history.stopped_early = True
                break
        else:
            history.best_epoch = epoch
        if progress:
            epoch_iter.set_postfix(loss=f"{tl:.3f}", val=f"{history.val_acc[-1]:.3f}" if n_val else "-")
    if best_state is not None:
        model.load_state_dict(best_state)
    else:
        history.best_epoch = history.epochs - 1
    history.seconds = time.perf_counter() - start
    history.samples_per_s = history.epochs * len(train_idx) / max(history.seconds, 1e-9)
    model.eval()
    return history


def _eval_setup(model, data, device, part="test"):
    split = _as_split(data, part)
    task = getattr(model, "task", "classification")
    _check_data(model, split, task)
    dev = next(model.parameters()).device if device is None else resolve_device(device)
    model.to(dev)
    return split, task, dev


def evaluate(model: nn.Module, data, device=None, batch_size: int = 1024) -> float:
    """Fraction of samples classified correctly, in [0, 1].

    data: a Split, a Dataset (its test part) or an (x, y) pair. device None = where the
    model already is.
    """
    split, task, dev = _eval_setup(model, data, device)
    if task != "classification":
        raise ValueError(f"{type(model).__name__} does not classify; for an Autoencoder use "
                         f"reconstruction_error(model, data)")
    x, y = torch.from_numpy(split.x).to(dev), torch.from_numpy(split.y).to(dev)
    return _eval_tensors(model, x, y, task, batch_size)[1]


def reconstruction_error(model: nn.Module, data, device=None, batch_size: int = 1024) -> float:
    """Mean squared error between inputs and the model's reconstructions (an Autoencoder)."""
    split, task, dev = _eval_setup(model, data, device)
    x = torch.from_numpy(split.x).to(dev)
    return _eval_tensors(model, x, torch.zeros(len(x), dtype=torch.long, device=dev),
                         "reconstruction", batch_size)[0]


@torch.no_grad()
def predict(model: nn.Module, x, batch_size: int = 1024) -> np.ndarray:
    """The model's outputs (logits for classifiers) as a float32 array (N, out)."""
    x = torch.as_tensor(np.asarray(x, dtype=np.float32))
    models.check_input(model, x.shape)
    dev = next(model.parameters()).device
    model.eval()
    return np.concatenate([model(x[i:i + batch_size].to(dev)).float().cpu().numpy()
                           for i in range(0, len(x), batch_size)])


# --- checkpoints -------------------------------------------------------------------------

def save_checkpoint(model: nn.Module, path) -> None:
    """Save weights with the class name and `.config`, enough to rebuild the model."""
    if type(model).__name__ not in models.MODELS or not hasattr(model, "config"):
        raise ValueError(f"only ann.models classes can be checkpointed ({', '.join(models.MODELS)}); "
                         f"got {type(model).__name__}")
    torch.save({"format": 1, "class": type(model).__name__, "config": model.config,
                "state_dict": {k: v.detach().cpu() for k, v in model.state_dict().items()}}, path)


def load_checkpoint(path, into: nn.Module | None = None) -> nn.Module:
    """Rebuild the saved model (on CPU), or load the weights into `into` (same class and config)."""
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(ckpt, dict) or not {"class", "config", "state_dict"} <= set(ckpt):
        raise ValueError(f"{path} is not an ann checkpoint (save one with save_checkpoint)")
    saved = f"{ckpt['class']}({ckpt['config']})"
    if into is None:
        model = models.from_config(ckpt["class"], ckpt["config"])
    else:
        model = into
        if type(into).__name__ != ckpt["class"] or getattr(into, "config", None) != ckpt["config"]:
            raise ValueError(f"checkpoint {path} holds a {saved}; it cannot be loaded into a "
                             f"{type(into).__name__}({getattr(into, 'config', '?')}); build the "
                             f"model with the same class and configuration, or pass into=None")
    try:
        model.load_state_dict(ckpt["state_dict"])
    except RuntimeError as err:
        raise ValueError(f"checkpoint {path} weights do not fit {saved}: {err}") from None
    return model


# --- transfer learning -------------------------------------------------------------------

def _resolve_layers(model, layers):
    children = [name for name, _ in model.named_children()]
    named = dict(model.named_modules())
    out = []
    for layer in layers:
        if isinstance(layer, int):
            if not -len(children) <= layer < len(children):
                raise ValueError(f"layer index {layer} out of range; the model has "
                                 f"{len(children)} top-level layers: {', '.join(children)}")
            layer = children[layer]
        if layer not in named or layer == "":
            raise ValueError(f"unknown layer {layer!r}; choose from: {', '.join(children)} "
                             f"(or a dotted name of a submodule)")
        out.append(layer)
    return out


def _freeze(model: nn.Module, layers) -> list[str]:
    """Stop gradients for the named layers (names like "fc1" or top-level indices).

    Returns the names of the frozen parameters. Frozen layers keep their weights under
    fit/fine_tune (BatchNorm running statistics still adapt in train mode).
    """
    frozen = []
    for layer in _resolve_layers(model, layers):
        for name, p in model.get_submodule(layer).named_parameters():
            p.requires_grad_(False)
            frozen.append(f"{layer}.{name}")
    return frozen


freeze = _freeze  # public name; fine_tune's keyword of the same name shadows it there


def replace_head(model: nn.Module, out_features: int, seed: int = 0) -> nn.Module:
    """Swap the model's last Linear layer for a fresh one with out_features outputs (in place).

    Updates model.config["out_features"] so checkpoints stay consistent. Returns the model.
    """
    linears = [(n, m) for n, m in model.named_modules() if isinstance(m, nn.Linear)]
    if not linears or "out_features" not in getattr(model, "config", {}):
        raise ValueError(f"{type(model).__name__} has no classification head to replace")
    name, old = linears[-1]
    parent_name, _, child = name.rpartition(".")
    parent = model.get_submodule(parent_name) if parent_name else model
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        new = nn.Linear(old.in_features, int(out_features), bias=old.bias is not None)
    setattr(parent, child, new.to(old.weight.device))
    model.config["out_features"] = int(out_features)
    return model


def fine_tune(model: nn.Module, data, freeze=(), new_head: int | None = None,
              **fit_kwargs) -> History:
    """Transfer learning: optionally replace the head, freeze layers, then `fit` the rest.

    Example (train on digits 0-4, transfer to 5-9 keeping the hidden layer):
        ds = data.digits(); net = models.MLP(64, [128], 5)
        fit(net, ds.select_classes(range(5)).train)
        fine_tune(net, ds.select_classes(range(5, 10)).train, freeze=["fc1"], new_head=5)
    """
    if new_head is not None:
        replace_head(model, new_head, seed=fit_kwargs.get("seed", 0))
    _freeze(model, freeze)
    return fit(model, data, **fit_kwargs)
