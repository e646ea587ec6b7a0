"""A study's parameters: their types, values given as text or TOML, and the grid of points.

A study's `Params` is a frozen dataclass. Each field has one of these types:
int, float, bool, str, `tuple[T, ...]` of one of those, or any of them `| None`.
A field made with `axis(...)` is a sweep: the grid is the Cartesian product of
every axis and the `seeds` field, and inside `point()` an axis field holds one
value. Values are normalised to their field's type (an int given for a float
field becomes a float), so the same point always gets the same key.
"""
from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
import numbers
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SCALARS = (int, float, bool, str)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
RESERVED = ("seed", "metric", "value", "study", "point")  # table columns the runner owns


def axis(*values):
    """A sweep field: `rate_hz: tuple[float, ...] = axis(5.0, 10.0)`; one point per value."""
    return field(default=tuple(values), metadata={"axis": True})


def product(**axes) -> list[dict]:
    """Cartesian product of named value lists, as a list of override dicts.

    product(model=("mlp", "cnn"), seed=(0, 1)) ->
    [{"model": "mlp", "seed": 0}, {"model": "mlp", "seed": 1}, {"model": "cnn", ...}, ...]
    """
    names = list(axes)
    return [dict(zip(names, combo)) for combo in itertools.product(*(tuple(axes[n]) for n in names))]


@dataclass(frozen=True)
class FieldType:
    """What a field holds: `base` (int/float/bool/str), whether a tuple, whether None is allowed."""

    base: type
    is_tuple: bool = False
    optional: bool = False
    axis: bool = False

    def describe(self) -> str:
        name = self.base.__name__
        text = f"comma-separated {name}s" if self.is_tuple else name
        if self.axis:
            text = f"sweep over {name}s"
        return text + (" or none" if self.optional else "")


def field_types(params_cls) -> dict[str, FieldType]:
    """{field name: FieldType} for a Params dataclass; raises TypeError on an unsupported type."""
    hints = typing.get_type_hints(params_cls)
    out = {}
    for f in dataclasses.fields(params_cls):
        out[f.name] = _field_type(params_cls.__name__, f.name, hints[f.name],
                                  bool(f.metadata.get("axis")))
    return out


def _field_type(owner: str, name: str, hint, is_axis: bool) -> FieldType:
    optional = False
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        optional = len(args) < len(typing.get_args(hint))
        if len(args) != 1:
            raise TypeError(f"{owner}.{name}: unsupported type {hint!r}")
        hint, origin = args[0], typing.get_origin(args[0])
    if origin is tuple:
        args = typing.get_args(hint)
        if len(args) != 2 or args[1] is not Ellipsis or args[0] not in _SCALARS:
            raise TypeError(f"{owner}.{name}: tuples must be written tuple[T, ...] with T one of "
                            f"int, float, bool, str; got {hint!r}")
        return FieldType(args[0], True, optional, is_axis)
    if is_axis:
        raise TypeError(f"{owner}.{name}: an axis(...) field must be typed tuple[T, ...]")
    if hint not in _SCALARS:
        raise TypeError(f"{owner}.{name}: unsupported type {hint!r}; use int, float, bool, str "
                        "or tuple[T, ...] of those")
    return FieldType(hint, False, optional, False)


def _scalar_from_text(base: type, text: str):
    text = text.strip()
    if base is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError
    return base(text)


def parse_text(study: str, name: str, text: str, ftype: FieldType):
    """A value given on the command line (`--set name=text`), parsed by its field's type."""
    if ftype.optional and text.strip().lower() == "none":
        return None
    try:
        if ftype.is_tuple:
            parts = [p for p in text.split(",") if p.strip()]
            return tuple(_scalar_from_text(ftype.base, p) for p in parts)
        return _scalar_from_text(ftype.base, text)
    except ValueError:
        example = {int: "3", float: "0.5", bool: "true", str: "abc"}[ftype.base]
        if ftype.is_tuple:
            example = ",".join([example] * 2)
        raise ValueError(f"parameter {name!r} of study {study!r} expects {ftype.describe()} "
                         f"(e.g. {name}={example}), got {text!r}") from None


def _scalar(study: str, name: str, value, ftype: FieldType):
    base = ftype.base
    if isinstance(value, str) and base is not str:
        return parse_text(study, name, value, dataclasses.replace(ftype, is_tuple=False, axis=False))
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)  # NumPy numbers too
    if base is bool:
        ok = isinstance(value, bool)
    elif base is float:
        ok = number
    elif base is int:
        ok = number and float(value).is_integer()
    else:
        ok = isinstance(value, str)
    if not ok:
        raise ValueError(f"parameter {name!r} of study {study!r} expects {ftype.describe()}, "
                         f"got {value!r}")
    return base(value)


def coerce(study: str, name: str, value, ftype: FieldType):
    """A Python or TOML value normalised to its field's type (lists become tuples)."""
    if value is None:
        if ftype.optional:
            return None
        raise ValueError(f"parameter {name!r} of study {study!r} expects {ftype.describe()}, got None")
    if ftype.is_tuple:
        if isinstance(value, str):
            return parse_text(study, name, value, ftype)
        if isinstance(value, bytes) or not hasattr(value, "__iter__"):
            value = (value,)  # one value for a tuple field
        return tuple(_scalar(study, name, v, ftype) for v in value)
    return _scalar(study, name, value, ftype)


def normalise(study: str, params):
    """The same Params with every value coerced to its field's type."""
    ftypes = field_types(type(params))
    return dataclasses.replace(params, **{n: coerce(study, n, getattr(params, n), t)
                                          for n, t in ftypes.items()})


def _check_names(study: str, names, ftypes: dict[str, FieldType]) -> None:
    unknown = [n for n in names if n not in ftypes]
    if unknown:
        raise ValueError(f"unknown parameter {unknown[0]!r} for study {study!r}; "
                         f"choose one of: {', '.join(ftypes)}")


def with_values(study: str, params, values: dict[str, Any]):
    """Params with `values` (Python/TOML values) replacing fields; checks names and types."""
    ftypes = field_types(type(params))
    _check_names(study, values, ftypes)
    return dataclasses.replace(params, **{n: coerce(study, n, v, ftypes[n]) for n, v in values.items()})


def with_text(study: str, params, assignments: list[str]):
    """Params with `--set key=value` assignments applied (values parsed by field type)."""
    ftypes = field_types(type(params))
    values = {}
    for item in assignments:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ValueError(f"--set expects key=value, got {item!r}")
        _check_names(study, [key], ftypes)
        values[key] = parse_text(study, key, text, ftypes[key])
    return dataclasses.replace(params, **values)


def read_config(study: str, path: str | Path) -> dict[str, Any]:
    """Parameter values from a TOML file: top-level keys, or a table named after the study."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"config file {str(path)!r} not found") from None
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"config file {str(path)!r} is not valid TOML: {err}") from None
    if isinstance(data.get(study), dict):
        data = {**{k: v for k, v in data.items() if not isinstance(v, dict)}, **data[study]}
    nested = [k for k, v in data.items() if isinstance(v, dict)]
    if nested:
        raise ValueError(f"config file {str(path)!r}: unexpected table [{nested[0]}]; write "
                         f"parameters at the top level or under [{study}]")
    return data


@dataclass(frozen=True)
class Point:
    """One grid point: the Params it runs with (axes set to one value), its seed and key."""

    params: Any
    seed: int
    key: str
    values: dict  # JSON-ready {field: value} without `seeds`, plus "seed"


def point_values(params, seed: int) -> dict:
    """{field: value} of a point as stored and tabled: every field but `seeds`, plus the seed."""
    values = {}
    for f in dataclasses.fields(params):
        if f.name != "seeds":
            v = getattr(params, f.name)
            values[f.name] = list(v) if isinstance(v, tuple) else v
    values["seed"] = int(seed)
    return values


def point_key(study: str, version, values: dict) -> str:
    """A stable 16-hex-digit key of a point: a hash of its study, study VERSION and values."""
    text = json.dumps({"study": study, "version": version, "values": values},
                      sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def expand(study: str, module, params) -> list[Point]:
    """The grid of points for `params`: the study's `grid(params)` if it has one, else the
    Cartesian product of its axis fields and `seeds`. Duplicate points are dropped."""
    ftypes = field_types(type(params))
    if hasattr(module, "grid"):
        overrides = list(module.grid(params))
    else:
        axes = {n: getattr(params, n) for n, t in ftypes.items() if t.axis}
        overrides = product(**axes, seed=params.seeds)
    version = getattr(module, "VERSION", 1)
    points, seen = [], set()
    for over in overrides:
        if "seed" not in over:
            raise ValueError(f"study {study!r}: grid() must give a 'seed' in every point, got {over!r}")
        over = dict(over)
        seed = int(over.pop("seed"))
        _check_names(study, over, ftypes)
        values = {}
        for name, value in over.items():
            t = ftypes[name]
            # an axis field holds one value inside a point
            values[name] = coerce(study, name, value, dataclasses.replace(t, is_tuple=False)
                                  if t.axis else t)
        p = dataclasses.replace(params, **values)
        stored = point_values(p, seed)
        key = point_key(study, version, stored)
        if key not in seen:
            seen.add(key)
            points.append(Point(p, seed, key, stored))
    return points
