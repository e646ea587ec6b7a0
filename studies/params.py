"""A study's parameters: their types, allowed values, values given as text or TOML, and the grid.

A study's `Params` is a frozen dataclass. Each field has one of these types:
int, float, bool, str, `tuple[T, ...]` of one of those, or any of them `| None`.
A field made with `axis(...)` is a sweep: the grid is the Cartesian product of
every axis and the `seeds` field, and inside `point()` an axis field holds one
value. Values are normalised to their field's type (an int given for a float
field becomes a float), so the same point always gets the same key.

Every value is checked where it comes in (Params, TOML, `--set`), before any
point runs: its type; a float must be finite (NaN and infinities are refused);
seeds are integers in [0, 2**32) (what NumPy's and Brian2's seeding accept);
and a field made with `param(...)` or `axis(...)` may name the values it
allows: `choices=` (a typo gets "choose one of: ..."), or bounds `at_least=`,
`above=`, `at_most=`, `below=` (for a tuple or an axis, each element):

    target: str = param("cython", choices=("numpy", "cython", "cpp_standalone"))
    p_connect: float = param(0.1, at_least=0.0, at_most=1.0)
    severity: tuple[float, ...] = axis(0.0, 0.5, 1.0, at_least=0.0, at_most=1.0)
"""
from __future__ import annotations

import dataclasses
import difflib
import hashlib
import itertools
import json
import math
import numbers
import tomllib
import types
import typing
from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SCALARS = (int, float, bool, str)
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
RESERVED = ("seed", "metric", "value", "study", "point")  # table columns the runner owns
SEED_LIMIT = 2**32  # numpy.random.seed and brian2.seed take 0 <= seed < 2**32
_BOUNDS = ("at_least", "above", "at_most", "below")


def _allowed(choices, at_least, above, at_most, below) -> dict:
    out = {"choices": tuple(choices) if choices is not None else None, "at_least": at_least,
           "above": above, "at_most": at_most, "below": below}
    return {k: v for k, v in out.items() if v is not None}


def param(default, *, choices=None, at_least=None, above=None, at_most=None, below=None):
    """A plain (not swept) field with the values it allows: `param(0.1, at_least=0, at_most=1)`,
    `param("if", choices=("if", "lif"))`. For a tuple field each element is checked."""
    return field(default=default, metadata=_allowed(choices, at_least, above, at_most, below))


def axis(*values, choices=None, at_least=None, above=None, at_most=None, below=None):
    """A sweep field: `rate_hz: tuple[float, ...] = axis(5.0, 10.0)`; one point per value.
    Keywords as for `param` (each value of the sweep is checked)."""
    return field(default=tuple(values),
                 metadata={"axis": True, **_allowed(choices, at_least, above, at_most, below)})


def product(**axes) -> list[dict]:
    """Cartesian product of named value lists, as a list of override dicts.

    product(model=("mlp", "cnn"), seed=(0, 1)) ->
    [{"model": "mlp", "seed": 0}, {"model": "mlp", "seed": 1}, {"model": "cnn", ...}, ...]
    """
    names = list(axes)
    return [dict(zip(names, combo)) for combo in itertools.product(*(tuple(axes[n]) for n in names))]


def _num(x) -> str:
    return f"{x:g}" if isinstance(x, float) else str(x)


@dataclass(frozen=True)
class FieldType:
    """What a field holds: `base` (int/float/bool/str), whether a tuple, whether None is
    allowed, whether it is a sweep, and the values it allows (choices or bounds)."""

    base: type
    is_tuple: bool = False
    optional: bool = False
    axis: bool = False
    choices: tuple | None = None
    at_least: float | None = None
    above: float | None = None
    at_most: float | None = None
    below: float | None = None

    def bounds(self) -> str:
        """The bounds as text, e.g. ">= 0 and <= 1" ("" when there are none)."""
        ops = dict(zip(_BOUNDS, (">=", ">", "<=", "<"), strict=True))
        parts = [f"{ops[b]} {_num(getattr(self, b))}" for b in _BOUNDS if getattr(self, b) is not None]
        return " and ".join(parts)

    def describe(self) -> str:
        name = self.base.__name__
        text = f"comma-separated {name}s" if self.is_tuple else name
        if self.axis:
            text = f"sweep over {name}s"
        if self.choices is not None:
            text += f" from {', '.join(map(str, self.choices))}"
        elif self.bounds():
            text += " " + self.bounds()
        return text + (" or none" if self.optional else "")

    def one(self) -> FieldType:
        """The type of one element of a tuple or a sweep."""
        return dataclasses.replace(self, is_tuple=False, axis=False)


def field_types(params_cls) -> dict[str, FieldType]:
    """{field name: FieldType} for a Params dataclass; raises TypeError on an unsupported type
    or allowed values that do not fit it."""
    hints = typing.get_type_hints(params_cls)
    out = {}
    for f in dataclasses.fields(params_cls):
        is_axis = bool(f.metadata.get("axis"))
        ftype = _field_type(params_cls.__name__, f.name, hints[f.name], is_axis)
        allowed = {k: f.metadata[k] for k in ("choices", *_BOUNDS) if k in f.metadata}
        if f.name == "seeds":
            allowed = {"at_least": 0, "below": SEED_LIMIT, **allowed}
        out[f.name] = _with_allowed(params_cls.__name__, f.name, ftype, allowed)
    return out


def _with_allowed(owner: str, name: str, ftype: FieldType, allowed: dict) -> FieldType:
    if not allowed:
        return ftype
    numeric = ftype.base in (int, float)
    if any(k in allowed for k in _BOUNDS) and not numeric:
        raise TypeError(f"{owner}.{name}: bounds need an int or float field, not "
                        f"{ftype.base.__name__}")
    for k in _BOUNDS:
        if k in allowed and not (isinstance(allowed[k], numbers.Real) and
                                 not isinstance(allowed[k], bool)):
            raise TypeError(f"{owner}.{name}: {k} must be a number, got {allowed[k]!r}")
    choices = allowed.get("choices")
    if choices is not None:
        if not choices:
            raise TypeError(f"{owner}.{name}: choices must not be empty")
        wrong = [c for c in choices if not (type(c) is ftype.base or
                                            (ftype.base is float and type(c) is int))]
        if wrong:
            raise TypeError(f"{owner}.{name}: choice {wrong[0]!r} is not a {ftype.base.__name__}")
        allowed["choices"] = tuple(ftype.base(c) for c in choices)
    return dataclasses.replace(ftype, **allowed)


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


def _expects(study: str, name: str, ftype: FieldType, got) -> ValueError:
    example = {int: "3", float: "0.5", bool: "true", str: "abc"}[ftype.base]
    if ftype.choices is not None:
        example = str(ftype.choices[0])
    if ftype.is_tuple:
        example = ",".join([example] * 2)
    return ValueError(f"parameter {name!r} of study {study!r} expects {ftype.describe()} "
                      f"(e.g. {name}={example}), got {got!r}")


def _check(study: str, name: str, value, ftype: FieldType):
    """`value` (already of the field's base type) if the field allows it, else ValueError."""
    if ftype.base is float and not math.isfinite(value):
        raise ValueError(f"parameter {name!r} of study {study!r} must be a finite number, "
                         f"got {value!r}")
    if ftype.choices is not None and value not in ftype.choices:
        options = [str(c) for c in ftype.choices]
        close = difflib.get_close_matches(str(value), options, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise ValueError(f"unknown value {value!r} for parameter {name!r} of study {study!r}; "
                         f"choose one of: {', '.join(options)}{hint}")
    for bound, ok in (("at_least", lambda b: value >= b), ("above", lambda b: value > b),
                      ("at_most", lambda b: value <= b), ("below", lambda b: value < b)):
        limit = getattr(ftype, bound)
        if limit is not None and not ok(limit):
            raise ValueError(f"parameter {name!r} of study {study!r} must be {ftype.bounds()}, "
                             f"got {value!r}")
    return value


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
    """A value given on the command line (`--set name=text`), parsed by its field's type and
    checked against the values the field allows."""
    if ftype.optional and text.strip().lower() == "none":
        return None
    try:
        if ftype.is_tuple:
            parts = [p for p in text.split(",") if p.strip()]
            values = [_scalar_from_text(ftype.base, p) for p in parts]
        else:
            values = [_scalar_from_text(ftype.base, text)]
    except (ValueError, OverflowError):
        raise _expects(study, name, ftype, text) from None
    checked = tuple(_check(study, name, v, ftype) for v in values)
    return checked if ftype.is_tuple else checked[0]


def _scalar(study: str, name: str, value, ftype: FieldType):
    base = ftype.base
    one = dataclasses.replace(ftype.one(), optional=False)
    if isinstance(value, str) and base is not str:
        return parse_text(study, name, value, one)
    number = isinstance(value, numbers.Real) and not isinstance(value, bool)  # NumPy numbers too
    if base is bool:
        ok = isinstance(value, bool)
    elif base is float:
        ok = number
    elif base is int:
        ok = number and (isinstance(value, numbers.Integral) or
                         (math.isfinite(value) and float(value).is_integer()))
    else:
        ok = isinstance(value, str)
    if not ok:
        raise _expects(study, name, one, value)
    try:
        converted = base(value)
    except OverflowError:  # an int too large for a float
        raise ValueError(f"parameter {name!r} of study {study!r} must be a finite number, "
                         f"got {value!r}") from None
    return _check(study, name, converted, one)


def coerce(study: str, name: str, value, ftype: FieldType):
    """A Python or TOML value normalised to its field's type (lists become tuples) and checked
    against the values the field allows; ValueError naming the parameter otherwise."""
    if value is None:
        if ftype.optional:
            return None
        raise _expects(study, name, ftype, value)
    if isinstance(value, str) and (ftype.is_tuple or ftype.base is not str):
        return parse_text(study, name, value, ftype)
    if ftype.is_tuple:
        if isinstance(value, (Mapping, Set)):  # no order: the grid would shuffle from run to run
            raise _expects(study, name, ftype, value)
        try:
            items = tuple(value) if not isinstance(value, bytes) else (value,)
        except TypeError:  # one value for a tuple field
            items = (value,)
        return tuple(_scalar(study, name, v, ftype) for v in items)
    return _scalar(study, name, value, ftype)


def normalise(study: str, params):
    """The same Params with every value coerced to its field's type and checked."""
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
            raise ValueError(f"--set expects key=value (e.g. seeds=0,1), got {item!r}")
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
    Cartesian product of its axis fields and `seeds`. Duplicate points are dropped.

    Raises ValueError for an empty grid (an axis or `seeds` with no values), naming the
    empty fields, and for a point whose values or seed its field does not allow.
    """
    ftypes = field_types(type(params))
    if hasattr(module, "grid"):
        overrides = list(module.grid(params))
    else:
        axes = {n: getattr(params, n) for n, t in ftypes.items() if t.axis}
        overrides = product(**axes, seed=params.seeds)
    version = getattr(module, "VERSION", 1)
    seed_type = ftypes["seeds"].one()
    points, seen = [], set()
    for over in overrides:
        if not isinstance(over, Mapping) or "seed" not in over:
            raise ValueError(f"study {study!r}: grid() must give a dict with a 'seed' for every "
                             f"point, got {over!r}")
        over = dict(over)
        seed = coerce(study, "seed", over.pop("seed"), seed_type)
        _check_names(study, over, ftypes)
        values = {}
        for name, value in over.items():
            t = ftypes[name]
            # an axis field holds one value inside a point
            values[name] = coerce(study, name, value, t.one() if t.axis else t)
        p = dataclasses.replace(params, **values)
        stored = point_values(p, seed)
        key = point_key(study, version, stored)
        if key not in seen:
            seen.add(key)
            points.append(Point(p, seed, key, stored))
    if not points:
        raise _empty_grid(study, params, ftypes)
    return points


def _empty_grid(study: str, params, ftypes: dict[str, FieldType]) -> ValueError:
    empty = [n for n, t in ftypes.items() if (t.axis or n == "seeds") and not getattr(params, n)]
    if empty:
        return ValueError(f"study {study!r} has an empty grid: {', '.join(empty)} "
                          f"{'has' if len(empty) == 1 else 'have'} no values; give at least one "
                          f"(e.g. --set {empty[0]}={_example(params, ftypes, empty[0])})")
    return ValueError(f"study {study!r}: grid(params) gave no points for these parameters")


def _example(params, ftypes: dict[str, FieldType], name: str) -> str:
    default = type(params).__dataclass_fields__[name].default
    if isinstance(default, tuple) and default:
        return ",".join(map(str, default))
    t = ftypes[name]
    if t.choices:
        return str(t.choices[0])
    return {int: "0", float: "1.0", bool: "true", str: "a"}[t.base]
