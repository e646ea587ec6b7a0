"""Which studies exist: a name -> module table, imported only when a study is used.

To add a study, write `studies/<name>.py` following the interface in
`studies/__init__.py` and add one line to `STUDIES`.
"""
from __future__ import annotations

import dataclasses
import importlib
import importlib.util
from types import ModuleType

from . import params as _params

STUDIES: dict[str, str] = {
    "toy": "studies.toy",
    "quickstart": "studies.quickstart",
    "conversion": "studies.conversion",
    "learning": "studies.learning",
    "lesions": "studies.lesions",
    "epilepsy": "studies.epilepsy",
    "recovery": "studies.recovery",
    "hallucinations": "studies.hallucinations",
    "stp_tsodyks1997": "studies.stp_tsodyks1997",
    "triplet_pfister2006": "studies.triplet_pfister2006",
    "stdp_song2000": "studies.stdp_song2000",
    "attractor_horn1996": "studies.attractor_horn1996",
    "progressive_injury": "studies.progressive_injury",
    "brunel_phase": "studies.brunel_phase",
}

_REQUIRED = ("Params", "TINY", "point", "figures")


def names() -> list[str]:
    return list(STUDIES)


def _unknown(name: str) -> ValueError:
    return ValueError(f"unknown study {name!r}; choose one of: {', '.join(STUDIES)}")


def load(name: str) -> ModuleType:
    """Import study `name` and check it follows the study interface; returns the module."""
    if name not in STUDIES:
        raise _unknown(name)
    try:
        module = importlib.import_module(STUDIES[name])
    except ModuleNotFoundError as err:
        if err.name == STUDIES[name]:
            raise ValueError(f"study {name!r} is registered but {STUDIES[name]} is not written yet; "
                             f"available: {', '.join(n for n in STUDIES if available(n))}") from None
        raise
    check(name, module)
    return module


def available(name: str) -> bool:
    """Whether study `name`'s module exists (without importing it)."""
    return name in STUDIES and importlib.util.find_spec(STUDIES[name]) is not None


def check(name: str, module: ModuleType) -> None:
    """Raise TypeError naming what a study module lacks."""
    missing = [a for a in _REQUIRED if not hasattr(module, a)]
    if missing:
        raise TypeError(f"study {name!r} ({module.__name__}) lacks {', '.join(missing)}; "
                        "see the interface in studies/__init__.py")
    cls = module.Params
    if not (dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen):
        raise TypeError(f"study {name!r}: Params must be a frozen dataclass")
    ftypes = _params.field_types(cls)
    seeds = ftypes.get("seeds")
    if seeds is None or not (seeds.is_tuple and seeds.base is int):
        raise TypeError(f"study {name!r}: Params needs a field `seeds: tuple[int, ...]`")
    clash = [n for n in ftypes if n in _params.RESERVED]
    if clash:
        raise TypeError(f"study {name!r}: Params field {clash[0]!r} clashes with a results-table "
                        f"column; avoid: {', '.join(_params.RESERVED)}")
    for preset in ("TINY", "QUICK"):
        if hasattr(module, preset) and not isinstance(getattr(module, preset), cls):
            raise TypeError(f"study {name!r}: {preset} must be a Params instance")


def description(module: ModuleType) -> str:
    """The first line of a study's docstring."""
    doc = (module.__doc__ or "").strip()
    return doc.splitlines()[0].strip() if doc else "(no description)"


def presets(module: ModuleType) -> dict[str, object]:
    """{"default": Params(), "tiny": TINY, "quick": QUICK} for the presets the study has."""
    out = {"default": module.Params(), "tiny": module.TINY}
    if hasattr(module, "QUICK"):
        out["quick"] = module.QUICK
    return out
