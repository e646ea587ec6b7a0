"""bridge: values <-> spikes, ANN -> SNN conversion (and back), representation comparison.

The only package that imports both `ann`'s torch and `bio`'s Brian2.
Submodules load on first use, so `import bridge` stays fast.

    from bridge import convert, compare, coding, reference, energy
    from bridge import torch_snn, recurrent, nir   # surrogate SNNs in Brian2, RNN conversion, NIR
"""
from importlib import import_module

_LAZY = {"coding": "bridge.coding", "convert": "bridge.convert", "reference": "bridge.reference",
         "compare": "bridge.compare", "disorders": "bridge.disorders", "energy": "bridge.energy",
         "to_snn": "bridge.convert", "to_torch": "bridge.convert",
         "torch_snn": "bridge.torch_snn", "recurrent": "bridge.recurrent", "nir": "bridge.nir"}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'bridge' has no attribute {name!r}")
    module = import_module(_LAZY[name])
    value = module if _LAZY[name] == f"bridge.{name}" else getattr(module, name)
    globals()[name] = value
    return value


__all__ = list(_LAZY)
