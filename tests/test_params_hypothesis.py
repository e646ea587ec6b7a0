"""Property-based tests of parameter parsing (hypothesis): any input gets a correct value or a
clear error, never a crash or a silently wrong value.

The properties, over random text, random Python/TOML-like values and random command lines:
- a value is accepted exactly when its field allows it (type, finite, bounds, choices), and
  then it is the value the text or object denotes;
- otherwise the error is a ValueError (from the CLI: exit status 2 or argparse's SystemExit 2)
  whose message names the parameter and what is allowed;
- formatting a valid value as `--set` text and parsing it back gives the same value, and the
  same point gets the same key however its numbers were written.
The study is the fake one of tests/runnerstudy.py: every kind of field and allowed value.
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import runnerstudy as fake
from studies import params as P
from studies import runner
from studies.cli import main

settings.register_profile("brainbridge", database=None, deadline=None, max_examples=150,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("brainbridge")

FTYPES = P.field_types(fake.Params)
BASE = P.normalise("fake", fake.Params())
# what the text of a value may look like: numbers, words, the special floats, separators
texty = st.one_of(
    st.text(max_size=12),
    st.integers(-2**70, 2**70).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["nan", "-inf", "inf", "1e400", "none", "true", "no", "numpy", "cython",
                     "Cython", " 3 ", "3.0", "1_000", "0x10", "", ",", "1,,2", "-0"]),
)


def _allowed(ftype: P.FieldType, value) -> bool:
    """The rule, written independently of params.py: is `value` (already parsed) allowed?"""
    if ftype.base is float and not math.isfinite(value):
        return False
    if ftype.choices is not None and value not in ftype.choices:
        return False
    return all(limit is None or check(value, limit) for limit, check in (
        (ftype.at_least, lambda v, b: v >= b), (ftype.above, lambda v, b: v > b),
        (ftype.at_most, lambda v, b: v <= b), (ftype.below, lambda v, b: v < b)))


def _expected_from_text(ftype: P.FieldType, text: str):
    """What the text denotes for a scalar field, or None if it denotes nothing of that type."""
    text = text.strip()
    try:
        if ftype.base is bool:
            return {"true": True, "yes": True, "on": True, "1": True, "false": False, "no": False,
                    "off": False, "0": False}.get(text.lower())
        return ftype.base(text)
    except (ValueError, OverflowError):
        return None


def _names_the_parameter(err: Exception, name: str) -> bool:
    return f"parameter {name!r} of study 'fake'" in str(err) or (
        f"for parameter {name!r} of study 'fake'; choose one of:" in str(err))


@pytest.mark.parametrize("name", [n for n, t in FTYPES.items() if not t.is_tuple])
@given(text=texty)
def test_scalar_text_parses_to_its_value_or_names_the_parameter(name, text):
    ftype = FTYPES[name]
    expected = _expected_from_text(ftype, text)  # the value is all after the first '='
    try:
        p = P.with_text("fake", BASE, [f"{name}={text}"])
    except ValueError as err:
        assert _names_the_parameter(err, name), err
        assert expected is None or not _allowed(ftype, expected), (text, err)
        return
    got = getattr(p, name)
    assert type(got) is ftype.base
    assert expected is not None and got == expected and _allowed(ftype, got)


@pytest.mark.parametrize("name", ["seeds", "rate_in_hz"])
@given(items=st.lists(st.one_of(st.integers(-2**40, 2**40), st.floats(), texty), max_size=5))
def test_tuple_text_parses_element_by_element(name, items):
    ftype = FTYPES[name]
    text = ",".join(map(str, items))
    parts = [s for s in text.split(",") if s.strip()]
    expected = [_expected_from_text(ftype, s) for s in parts]
    try:
        p = P.with_text("fake", BASE, [f"{name}={text}"])
    except ValueError as err:
        assert _names_the_parameter(err, name), err
        assert any(e is None or not _allowed(ftype, e) for e in expected), (text, err)
        return
    assert getattr(p, name) == tuple(expected)
    assert all(type(v) is ftype.base and _allowed(ftype, v) for v in expected)
    if not expected:  # accepted as a value, refused as a grid: never an empty run
        with pytest.raises(ValueError, match=f"empty grid: {name} has no values"):
            P.expand("fake", fake, p)


values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70), st.floats(), texty),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=3),
                                                                         inner, max_size=2)),
    max_leaves=6)


@pytest.mark.parametrize("name", list(FTYPES))
@given(value=values)
def test_python_and_toml_values_are_coerced_or_refused_by_name(name, value):
    """Any object for any field: a ValueError naming the field, or a value of the field's
    type that the field allows (a list for a tuple field, element by element)."""
    ftype = FTYPES[name]
    try:
        p = P.with_values("fake", BASE, {name: value})
    except ValueError as err:
        assert _names_the_parameter(err, name), err
        return
    got = getattr(p, name)
    items = got if ftype.is_tuple else (got,)
    if ftype.is_tuple:
        assert isinstance(got, tuple)
    assert all(type(v) is ftype.base and _allowed(ftype, v) for v in items), got
    if isinstance(value, bool):  # a bool is never taken for a number or a string
        assert ftype.base is bool
    if ftype.base in (int, float) and isinstance(value, (int, float)) and not isinstance(value, bool):
        assert len(items) == 1 and float(items[0]) == float(value)


@given(key=st.text(min_size=1, max_size=10).filter(lambda k: "=" not in k))
def test_unknown_names_are_refused_with_the_list_of_parameters(key):
    if key.strip() in FTYPES:
        return
    with pytest.raises(ValueError) as info:
        P.with_text("fake", BASE, [f"{key}=1"])
    message = str(info.value)
    assert ("unknown parameter" in message and "choose one of: rate_in_hz, n_neurons" in message
            ) or "--set expects key=value" in message


def _valid_value(ftype: P.FieldType):
    if ftype.choices is not None:
        one = st.sampled_from(ftype.choices)
    elif ftype.base is bool:
        one = st.booleans()
    elif ftype.base is str:
        one = st.text(alphabet=st.characters(blacklist_characters=",", blacklist_categories=("Cs",)),
                      max_size=8).map(str.strip)
    elif ftype.base is int:
        low = ftype.at_least if ftype.at_least is not None else -2**40
        one = st.integers(int(low), int(ftype.below - 1) if ftype.below is not None else 2**40)
    else:
        low = ftype.at_least if ftype.at_least is not None else ftype.above
        one = st.floats(min_value=low, exclude_min=ftype.above is not None, max_value=1e300,
                        allow_nan=False) if low is not None else st.floats(allow_nan=False,
                                                                            allow_infinity=False)
    return st.lists(one, min_size=1, max_size=3).map(tuple) if ftype.is_tuple else one


def _text(value) -> str:
    if isinstance(value, tuple):
        return ",".join(map(_text, value))
    return repr(value) if isinstance(value, float) else str(value)


@given(data=st.data())
def test_valid_values_round_trip_through_set_text_with_stable_keys(data):
    """Random valid Params, written as `--set` text and parsed back, are the same Params and
    give the same point keys; writing an integer-valued float as an int changes no key."""
    chosen = {n: data.draw(_valid_value(t), label=n) for n, t in FTYPES.items()
              if n not in ("warmup_ms", "duration_ms")}
    p = P.with_values("fake", BASE, chosen)
    q = P.with_text("fake", BASE, [f"{n}={_text(v)}" for n, v in chosen.items()])
    assert q == p
    rates = tuple(float(r) for r in data.draw(st.lists(st.integers(1, 10**6), min_size=1,
                                                       max_size=3), label="int rates"))
    as_floats = dataclasses.replace(p, rate_in_hz=rates)
    as_ints = P.normalise("fake", dataclasses.replace(p, rate_in_hz=tuple(int(r) for r in rates)))
    assert ([pt.key for pt in P.expand("fake", fake, as_floats)] ==
            [pt.key for pt in P.expand("fake", fake, as_ints)])


class _Ran(Exception):
    """Raised by the stand-in runner: the CLI got as far as running, with these Params."""


@given(sets=st.lists(st.one_of(
    st.builds(lambda k, v: f"{k}={v}", st.sampled_from(list(FTYPES) + ["nosuch", ""]), texty),
    texty), min_size=1, max_size=3))
def test_command_line_gets_a_clear_error_or_runs_with_the_parsed_params(sets):
    """`brainbridge run fake --set ...` with random assignments: exit status 2 and a message on
    stderr (from argparse or from the checks), or the run starts with exactly the Params
    that parsing those assignments gives."""
    seen = {}

    def stand_in(name, params, **kwargs):
        seen["params"] = params
        raise _Ran

    err = io.StringIO()
    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stderr(err):
        fake.register(mp)
        mp.setattr(runner, "run", stand_in)
        try:
            code = main(["run", "fake", "--no-progress", "--set", *sets])
        except SystemExit as exit_:  # argparse: e.g. a value that starts with '-'
            code = exit_.code
        except _Ran:
            code = None
        if code is None:
            assert seen["params"] == runner.make_params("fake", sets=sets)
            return
    assert code == 2
    message = err.getvalue()
    assert "error:" in message and len(message.strip()) > len("brainbridge run: error:")
    if "usage:" not in message:  # our check, not argparse's: it says what went wrong
        assert ("parameter" in message or "--set expects key=value" in message
                or "empty grid" in message or "study 'fake'" in message), message
