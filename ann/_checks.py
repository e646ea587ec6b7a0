"""Boundary checks shared by every `ann` training loop: which device, which split.

Kept apart from `ann.train` so that `ann.gan` (and anything else that trains) can use
them without importing `ann.train`, which imports `ann.models`, which re-exports GAN:
the import graph of `ann` stays acyclic (data <- _checks <- gan, spiking <- models <- train).
"""
from __future__ import annotations

import torch

from ann.data import Dataset, Split

__all__ = ["resolve_device", "as_split"]


def resolve_device(device="auto") -> torch.device:
    """"auto" -> CUDA when available, else CPU; anything torch.device accepts otherwise."""
    if device == "auto" or device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def as_split(data, part: str = "train") -> Split:
    """A Split as given; a Dataset's `part` ("train" or "test"); an (x, y) pair as a Split."""
    if isinstance(data, Split):
        return data
    if isinstance(data, Dataset):
        return getattr(data, part)
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return Split(*data)
    raise ValueError(f"data must be a Split, a Dataset or an (x, y) pair, got {type(data).__name__}")
