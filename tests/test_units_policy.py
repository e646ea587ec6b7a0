"""The units policy of the README: Brian2 quantities at bio's public arguments, plain floats
with the unit in the name everywhere else (records, tables, study parameters, CLI)."""
import dataclasses
import re

import numpy as np
import pytest
from brian2 import mV, ms, nA, second

import bio
from bio import brunel2000, clamp, neurons
from bio.spec import NetworkSpec, Population

# words that name a physical quantity in a parameter: such a plain-float name must say its unit
PHYSICAL = re.compile(r"(duration|time|dt|delay|rate|present|rest|bin|tau|warmup|_w$|^w_|current|volt)")
UNIT_SUFFIX = re.compile(r"_(s|ms|hz|mv|amp|na|pa)$")


@pytest.mark.parametrize("call, message", [
    (lambda: bio.run(NetworkSpec({"n": Population(neurons.LIF(), 1)}), 0.5), "duration must be a Brian2 time"),
    (lambda: bio.run(NetworkSpec({"n": Population(neurons.LIF(), 1)}), 5 * ms, dt=0.1), "dt must be a Brian2 time"),
    (lambda: brunel2000.brunel_spec(N_E=100, D=1.5), "D must be a time"),
    (lambda: brunel2000.brunel_spec(N_E=100, J=0.1), "J must be a voltage"),
    (lambda: clamp.fi_curve(neurons.LIF(), np.array([0.1, 0.2])), "currents must be in units of amp"),
    (lambda: clamp.current_clamp(neurons.LIF(), 1 * nA, 100), "duration must be in units of second"),
    (lambda: neurons.LIF(tau_m=20), "LIF.tau_m must be a scalar in units of second"),
    (lambda: neurons.LIF(v_thresh=-50 * ms), "LIF.v_thresh must be a scalar in units of volt"),
])
def test_bio_refuses_plain_numbers_where_quantities_belong(call, message):
    """A plain number is never silently read as seconds, volts or amps."""
    with pytest.raises(ValueError, match=message):
        call()


def test_records_carry_units_in_their_names():
    rec = clamp.current_clamp(neurons.LIF(), 0.5 * nA, 50 * ms)
    names = {f.name for f in dataclasses.fields(rec)}
    assert {"times_s", "duration_s", "trace_dt_s"} <= names
    assert rec.duration_s == pytest.approx(0.05)  # seconds, as the name says
    assert 0 < rec.times_s["neuron"][0] < 0.05


def test_study_parameters_name_their_units():
    """Every plain-float study parameter that is a physical quantity ends in its unit (_ms, _hz, ...)."""
    from studies import registry

    offenders = []
    for name in registry.names():
        params = registry.load(name).Params
        for f in dataclasses.fields(params):
            default = f.default if f.default is not dataclasses.MISSING else None
            if isinstance(default, tuple) and default:
                default = default[0]
            if isinstance(default, float) and PHYSICAL.search(f.name) and not UNIT_SUFFIX.search(f.name):
                offenders.append(f"{name}.{f.name}")
    assert not offenders, f"study parameters without a unit suffix: {offenders}"


def test_spec_arrays_are_si_floats():
    """NetworkSpec arrays hold SI floats: a 1.5 ms Brunel delay is stored as 0.0015 (s)."""
    spec = brunel2000.brunel_spec(N_E=40, C_E=10, D=1.5 * ms)
    assert np.all(spec.connections["exc_exc"].delay_s == pytest.approx(1.5e-3))
    assert spec.connections["exc_exc"].w[0] == pytest.approx(float(0.1 * mV))
    assert spec.meta["nu_thr_hz"] == pytest.approx(float(20 * mV / (0.1 * mV * 10 * 20 * ms) * second))
