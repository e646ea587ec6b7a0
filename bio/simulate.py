"""The compiler: `run(spec, duration)` turns any `NetworkSpec` into Brian2 objects and runs it.

This is the only code in the project that creates Brian2 objects. It

- assembles each population's equations from its `bio.neurons` model, the
  `bio.synapses` models that target it, injected currents and the one
  background-noise definition, and declares per-neuron variables only where the
  spec makes neurons differ (a shared threshold stays a constant, an unlesioned
  network has no `alive` flag), so the generated code is what one would write
  by hand (benchmarks/bio_cuba.py checks the cost);
- turns inputs (bio/inputs.py) into PoissonGroups, SpikeGeneratorGroups,
  PoissonInputs or currents; analog `Values` are delivered as currents computed
  once in NumPy (no simulator work per step for a constant input);
- creates each connection's synapses grouped by presynaptic neuron (`bio.spec.source_major`),
  so a spike's synapses lie together in memory, and reads per-synapse state back in
  the spec's order;
- runs B copies side by side and S samples one after another (inputs switch at
  every `spec.period`, and each neuron's state returns to rest at a sample onset);
- orders each time step by `spec.meta["schedule"]` (`SCHEDULES`): Brian2's default
  (every state update, then every threshold, then every synaptic pathway, then every
  reset: a spike reaches the next population after that population's threshold, so it
  acts one step later), or "layerwise" (below: a spike reaches every later population
  within the step it is fired, as discrete-time networks in torch compute it);
- serves the numpy, cython and cpp_standalone targets (cython code that is not yet
  in the cache compiles on every core at once: bio/compile_pool.py), seeds NumPy and Brian2
  (a cpp_standalone program reads its seed when it starts: a new seed compiles nothing),
  gives each process its own standalone build slot, with one directory per network in it
  (reused by later runs, so unchanged code is not recompiled), and restores Brian2's
  preferences, device and clock afterwards;
- copies what the monitors saw into a plain-NumPy `SpikeRecord`.

Objects get fixed names derived from the spec's population and connection
names: Brian2's generated code contains them, so automatic names
(neurongroup_17, ...) would defeat the cython cache and recompile on every run.
"""
from __future__ import annotations

import contextlib
import fcntl
import gc
import os
import re
import sys
import time
from dataclasses import dataclass

import brian2 as b2
import numpy as np
from brian2 import amp, ms, second
from brian2.groups.group import CodeRunner
from brian2.synapses.synapses import SynapticPathway
from scipy import sparse

from . import inputs as inp
from .fuse import fuse as _fuse
from .fuse import split_record
from .neurons import NOISE_EQUATION
from .record import SpikeRecord
from .spec import NOISE_TAU, NetworkSpec, replicate, source_major, values_to_check
from .synapses import CondExp, CurrentDelta, CurrentExp, unit_name

# for models that name no integration method, Brian2 picks the first of ("exact", "euler",
# "heun") that applies and says so at INFO on the terminal, once per population and run (a
# first `make study` printed a dozen such lines): the choice stays in Brian2's log file
b2.BrianLogger.suppress_name("method_choice")

TARGETS = ("numpy", "cython", "cpp_standalone")
SCHEDULES = ("default", "layerwise")
STANDALONE_ENV = "BRAINBRIDGE_STANDALONE_DIR"
CACHE_ENV = "BRAINBRIDGE_CACHE_DIR"


def check_target(target: str) -> str:
    if target not in TARGETS:
        raise ValueError(f"unknown code-generation target {target!r}; choose one of: {', '.join(TARGETS)}")
    return target


def cpu_count() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def cache_root() -> str:
    """Per-user cache for compiled Brian2 code: $BRAINBRIDGE_CACHE_DIR, else ~/.cache/brainbridge."""
    root = os.environ.get(CACHE_ENV) or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "brainbridge")
    return root


_SLOT = {}  # this process's standalone build directory and the open lock that reserves it


def standalone_dir() -> str:
    """This process's cpp_standalone build directory.

    $BRAINBRIDGE_STANDALONE_DIR when set (the study runner sets one per worker slot);
    otherwise the first free `standalone/slot-k` under `cache_root()`, reserved with a
    file lock for the life of the process, so two processes never build in one directory
    and a later process reuses what an earlier one compiled.
    """
    if os.environ.get(STANDALONE_ENV):
        return os.environ[STANDALONE_ENV]
    if "dir" in _SLOT:
        return _SLOT["dir"]
    base = os.path.join(cache_root(), "standalone")
    os.makedirs(base, exist_ok=True)
    for k in range(1024):
        handle = open(os.path.join(base, f"slot-{k}.lock"), "w")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            continue
        _SLOT.update(dir=os.path.join(base, f"slot-{k}"), lock=handle)
        return _SLOT["dir"]
    raise RuntimeError(f"no free standalone build slot under {base}")


KEPT_PROGRAMS = 12  # per build slot: the programs of this many networks, most recently run first
_LAST = {}  # the directory of this process's last cpp_standalone build


def _program_key() -> str:
    """A digest of what the compiler would see for the network now on the cpp_standalone device:
    every code object's generated code, with the array sizes and constants Brian2 writes into
    it. The same digest means the same program but for main.cpp and objects.cpp (durations,
    seeds, initial values), which make recompiles alone."""
    import hashlib

    from brian2.core.variables import ArrayVariable, Constant, DynamicArrayVariable

    digest = hashlib.sha256()
    for name, obj in sorted(b2.get_device().code_objects.items()):
        digest.update(f"{name}\0{obj.code.cpp_file}\0{obj.code.h_file}\0".encode())
        for var_name, var in sorted(obj.variables.items()):
            if isinstance(var, ArrayVariable) and not isinstance(var, DynamicArrayVariable):
                digest.update(f"{var_name}={var.size};".encode())
            elif isinstance(var, Constant):
                digest.update(f"{var_name}={var.value!r};".encode())
    return digest.hexdigest()[:16]


def program_dir(slot: str) -> str:
    """The build directory, inside `slot`, of the network now on the cpp_standalone device: one per
    distinct program (`_program_key`), so networks that alternate in one process each keep their
    compiled program instead of rebuilding it over the other's. The slot keeps the
    `KEPT_PROGRAMS` most recently used; older ones are removed (only this process builds in a slot)."""
    import shutil

    directory = os.path.join(slot, "net-" + _program_key())
    os.makedirs(directory, exist_ok=True)
    os.utime(directory)  # its mtime: when a run last used it
    kept = sorted((e for e in os.scandir(slot) if e.is_dir() and e.name.startswith("net-")),
                  key=lambda e: e.stat().st_mtime, reverse=True)
    for stale in kept[KEPT_PROGRAMS:]:
        shutil.rmtree(stale.path, ignore_errors=True)
    return directory


def last_build_dir() -> str | None:
    """The directory of this process's last cpp_standalone build (its program, results/, ...)."""
    return _LAST.get("dir")


def _name(*parts: str) -> str:
    return "bb_" + "_".join(re.sub(r"\W", "_", p) for p in parts)


@dataclass
class _Layout:
    """How one run is laid out in time and copies."""

    copies: int
    samples: int
    dt: object
    period_steps: int
    present_steps: int


def _layout(spec: NetworkSpec, dt, duration) -> _Layout:
    copies, samples = set(), set()
    for x in spec.inputs:
        arr = {inp.Rates: "rates_hz", inp.Values: "values", inp.Current: "amps"}.get(type(x))
        if arr is not None:
            s, b, n = getattr(x, arr).shape
            if n != spec.populations[x.target].n:
                raise ValueError(f"{type(x).__name__} for {x.target!r} has {n} values per copy, "
                                 f"the population has {spec.populations[x.target].n} neurons")
            copies.add(b)
            samples.add(s)
        elif isinstance(x, inp.Spikes):
            copies.add(int(x.copies))
            if x.indices.size and x.indices.max() >= x.copies * spec.populations[x.target].n:
                raise ValueError(f"spike indices for {x.target!r} exceed {x.copies} copies of "
                                 f"{spec.populations[x.target].n} neurons")
    if len(copies) > 1:
        raise ValueError(f"inputs disagree on the number of network copies: {sorted(copies)}")
    samples.discard(1)
    if len(samples) > 1:
        raise ValueError(f"inputs disagree on the number of samples: {sorted(samples)}")
    n_samples = samples.pop() if samples else 1
    period_steps = present_steps = 0
    if spec.period is not None:
        inp.check_time(spec.period, "period", "200*ms")
        period_steps = int(round(float(spec.period / dt)))
        present = spec.meta.get("present", spec.period)
        present_steps = int(round(float(present / dt)))
        if period_steps < 1 or not 0 < present_steps <= period_steps:
            raise ValueError(f"period {spec.period} and presentation time {present} must be positive "
                             f"multiples of dt = {dt}, with presentation <= period")
    elif n_samples > 1:
        raise ValueError(f"inputs hold {n_samples} samples: give the spec a `period` to show them one "
                         "after another")
    return _Layout(copies.pop() if copies else 1, n_samples, dt, period_steps, present_steps)


def _gate(lay: _Layout) -> str:
    """1 while a sample is being presented, 0 in the rest after it."""
    if lay.present_steps >= lay.period_steps:
        return "1"
    return f"int((timestep(t, dt) % {lay.period_steps}) < {lay.present_steps})"


def _sample_table(values: np.ndarray, lay: _Layout, unit, name: str) -> b2.TimedArray:
    """(S, B*n) per-sample values as a TimedArray with one row per period.

    Rows are padded to a power of two so that cython reuses compiled code across
    data sets of similar size (the table size is part of the generated code).
    """
    rows = 1 << max(len(values) - 1, 1).bit_length()
    table = np.zeros((rows, values.shape[1]))
    table[:len(values)] = values
    return b2.TimedArray(table * unit, dt=lay.period_steps * lay.dt, name=name)


def mean_drive(model, w: np.ndarray, rate_hz: float, post_model) -> np.ndarray:
    """Mean current (amp) that synapses of weights w (n,) carry at rate_hz presynaptic spikes/s:
    how analog `Values` inputs are delivered, and what lesions that reason about drive use."""
    if isinstance(model, CurrentDelta):  # a jump of w volts, rate times a second: C * w * rate
        return w * rate_hz * float(post_model.capacitance / b2.farad)
    if isinstance(model, CurrentExp):  # each spike delivers w * tau of charge
        return w * rate_hz * float(model.tau / second)
    raise ValueError(f"analog Values can drive CurrentDelta or CurrentExp synapses, not "
                     f"{type(model).__name__} (a conductance's mean current depends on v)")


def _value_currents(spec: NetworkSpec, lay: _Layout):
    """Currents that Values sources deliver: {post: (S, B, n_post) amp} and delayed parts.

    Returns (per_sample, delayed) where delayed is {post: list of (delay_s, (B, n_post))}
    (only for one sample: a delayed analog synapse switches on after its delay).
    """
    values = {x.target: x for x in spec.inputs if isinstance(x, inp.Values)}
    per_sample, delayed = {}, {}
    for cname, c in spec.connections.items():
        if c.pre not in values:
            continue
        pre, post = spec.populations[c.pre], spec.populations[c.post]
        keep = c.active(spec.populations)
        x = values[c.pre]
        drive = mean_drive(c.model, c.signed_w()[keep], x.rate_hz, post.model)
        delays = c.delay_s[keep]
        for d in np.unique(delays):
            sel = delays == d
            W = sparse.csr_matrix((drive[sel], (c.i[keep][sel], c.j[keep][sel])), shape=(pre.n, post.n))
            s, b, _ = x.values.shape
            cur = (W.T @ x.values.reshape(s * b, pre.n).T).T.reshape(s, b, post.n)  # (S, B, n_post)
            if d == 0:
                per_sample[c.post] = per_sample.get(c.post, 0) + cur
            elif lay.samples > 1:
                raise ValueError(f"connection {cname!r} from analog values has delays; delayed analog "
                                 "input is supported for a single sample only")
            else:
                delayed.setdefault(c.post, []).append((float(d), cur[0]))
    return per_sample, delayed


def injected_current(spec: NetworkSpec, name: str, lay: _Layout, value_cur: dict):
    """The current injected into population `name`: (const (B * n,) amp, samples).

    const holds the lesion-set i_ext_amp of every copy plus, when the run shows one sample
    throughout, the analog `Values` currents and `Current` inputs; otherwise these stay
    per sample in `samples` (S, B, n) amp (None when there are none).
    """
    pop = spec.populations[name]
    const = np.tile(pop.i_ext_amp, lay.copies)
    samples = value_cur.get(name)
    for x in spec.inputs:
        if isinstance(x, inp.Current) and x.target == name:
            samples = x.amps if samples is None else samples + x.amps
    if samples is not None and lay.samples == 1 and lay.present_steps in (0, lay.period_steps):
        const = const + samples[0].reshape(-1)
        samples = None
    return const, samples


def _synapse_models(spec: NetworkSpec, name: str) -> list:
    """Distinct synapse models whose post-synaptic terms a population needs."""
    found = {}
    models = [c.model for c in spec.connections.values() if c.post == name]
    models += [x.synapse for x in spec.inputs if isinstance(x, inp.PoissonDrive) and x.target == name]
    for m in models:
        base = getattr(m, "on", m)
        key = (type(base).__name__, base.label)
        if key in found and found[key] != base:
            raise ValueError(f"population {name!r} receives two different synapse models labelled "
                             f"{base.label!r}; give them different labels")
        found[key] = base
    return list(found.values())


def _neuron_group(spec, name, pop, lay, value_cur, delayed_cur, namespace_extra):
    """One NeuronGroup for B copies of `pop`, with everything the spec asks of it."""
    model, B = pop.model, lay.copies
    syn_models = _synapse_models(spec, name)
    ns = dict(model.namespace())
    for s in syn_models:
        for key, value in s.namespace().items():
            if key in ns and not (b2.have_same_dimensions(ns[key], value) and np.all(ns[key] == value)):
                raise ValueError(f"synapse parameter {key!r} clashes with a parameter of the same name "
                                 f"in population {name!r}; give the synapse model another label")
            ns[key] = value
    # a refractory period of 0 means none: with "(unless refractory)" Brian2 would still drop the
    # synaptic input arriving in the step of a spike (writes to v wait for not_refractory)
    equations, refractory = model.equations, model.refractory
    if isinstance(refractory, b2.Quantity) and float(refractory / second) == 0:
        equations, refractory = equations.replace("(unless refractory)", ""), False
    lines = [equations] + [s.post_equations() for s in syn_models if s.post_equations()]
    terms = [s.current_term() for s in syn_models if s.current_term()]
    pre_lines = {c.model.pre_equations() for c in spec.connections.values() if c.pre == name}
    pre_resets = {c.model.pre_reset() for c in spec.connections.values() if c.pre == name}
    lines += [x for x in pre_lines if x]
    for cname, c in spec.connections.items():
        if c.post == name and c.normalize is not None:
            lines.append(f"{_name('wsum', cname)} : {unit_name(c.model.weight_unit)}")

    # injected current: constant, per sample, and (one sample only) switched on after a delay
    const, samples = injected_current(spec, name, lay, value_cur)
    ext = []
    # a population that analog values drive declares I_const even when this input gives it
    # none: bio.prepared sets the currents of later inputs into the same generated code
    if np.any(const != 0) or (name in value_cur and samples is None):
        lines.append("I_const : amp (constant)")
        ext.append("I_const")
    if samples is not None:
        table = samples.reshape(len(samples), -1)  # (S, B*n)
        ns[f"I_samples_{name}"] = _sample_table(np.broadcast_to(table, (lay.samples, table.shape[1])),
                                                lay, amp, _name("I", name))
        ext.append(f"I_samples_{name}(t, i) * {_gate(lay)}")
    for k, (d, cur) in enumerate(delayed_cur.get(name, [])):
        lines.append(f"I_delayed_{k} : amp (constant)")
        ext.append(f"I_delayed_{k} * int(t >= {d!r}*second)")
    if ext:
        lines.append(f"I_ext = {' + '.join(ext)} : amp")
        terms.insert(0, "I_ext")
    if pop.noise_sigma > 0:
        spread = model.v_thresh - model.v_reset
        ns.update(tau_noise=NOISE_TAU,
                  sigma_noise=pop.noise_sigma * spread * model.capacitance / NOISE_TAU)
        lines.append(NOISE_EQUATION)
        terms.append("I_noise")
    lines.append(f"I_total = {' + '.join(terms) if terms else '0*amp'} : amp")

    # threshold: a constant unless lesions made neurons differ
    spread = model.v_thresh - model.v_reset
    shift = np.asarray(pop.thresh_shift)
    if np.all(shift == shift[0] if len(shift) else True):
        ns["v_th"] = model.v_thresh + (float(shift[0]) if len(shift) else 0.0) * spread
    else:
        lines.append("v_th : volt (constant)")
    threshold = model.threshold
    if not pop.alive.all():
        lines.append("alive : boolean (constant)")
        threshold = f"({threshold}) and alive"
    reset = "\n".join([model.reset_code] + [r for r in pre_resets if r])
    method = model.default_method
    if pop.noise_sigma > 0:
        method = "heun" if method == "exponential_euler" else "euler"
    ns.update(namespace_extra)
    g = b2.NeuronGroup(B * pop.n, b2.Equations("\n".join(lines)), threshold=threshold, reset=reset,
                       refractory=refractory,
                       method=method or ("exact", "euler", "heun"), namespace=ns, name=_name(name))
    if "v_th" not in ns:
        g.v_th = np.tile(np.asarray(model.v_thresh + shift * spread), B) * b2.volt
    if not pop.alive.all():
        g.alive = np.tile(pop.alive, B)
    if "I_const" in ext:
        g.I_const = const * amp
    for k, (_, cur) in enumerate(delayed_cur.get(name, [])):
        setattr(g, f"I_delayed_{k}", cur.reshape(-1) * amp)
    for var, value in model.initial_state().items():
        setattr(g, var, value)
    for var, value in pop.init.items():  # SI floats -> quantities of the variable's unit
        setattr(g, var, b2.Quantity(np.tile(np.asarray(value, dtype=float), B), dim=g.variables[var].dim))
    if spec.period is not None and spec.meta.get("reset", True):
        rest = [f"{var} = {_literal(value)}" for var, value in model.initial_state().items()]
        # every state variable the synapse models add to the neuron (currents, conductances,
        # spike counters) starts the next sample from zero
        for eqs in [s.post_equations() for s in syn_models] + list(pre_lines):
            rest += [f"{var} = 0*{unit}" for var, unit in _state_variables(eqs)]
        g.run_regularly("\n".join(rest), dt=lay.period_steps * lay.dt, when="start", order=-1,
                        name=_name(name, "onset"))
    return g


def _state_variables(eqs: str) -> list[tuple[str, str]]:
    """(name, unit) of the state variables an equation string declares: differential
    equations "dx/dt = ... : unit" and parameters "x : unit" (not subexpressions "x = ...")."""
    out = []
    for line in filter(str.strip, eqs.splitlines()):
        lhs, _, unit = line.partition(":")
        lhs, unit = lhs.strip(), unit.split("(")[0].strip()
        if lhs.startswith("d") and "/dt" in lhs:
            out.append((lhs[1:lhs.index("/dt")].strip(), unit))
        elif "=" not in lhs:
            out.append((lhs, unit))
    return out


def _literal(value) -> str:
    """A state value as Brian2 code, in SI units (e.g. '-0.065*volt')."""
    if isinstance(value, b2.Quantity):
        dim = value.dim
        unit = "1" if value.is_dimensionless else repr(b2.get_unit(dim))
        return f"{float(np.asarray(value / b2.get_unit(dim)))!r}*{unit}"
    return repr(float(value))


def _source_group(spec, name, pop, lay, sources):
    x = sources.get(name)
    B = lay.copies
    if x is None:
        return None
    alive = np.tile(pop.alive, B)
    if isinstance(x, inp.Rates):
        rates = x.rates_hz.reshape(x.rates_hz.shape[0], -1) * alive[None, :]  # (S, B*n)
        if lay.samples == 1 and lay.present_steps in (0, lay.period_steps):
            return b2.PoissonGroup(B * pop.n, rates=rates[0] * b2.Hz, name=_name(name))
        table = _sample_table(np.broadcast_to(rates, (lay.samples, rates.shape[1])), lay, b2.Hz,
                              _name("rates", name))
        return b2.PoissonGroup(B * pop.n, rates=f"rate_table(t, i) * {_gate(lay)}",
                               namespace={"rate_table": table}, name=_name(name))
    if isinstance(x, inp.Spikes):
        keep = alive[x.indices] if x.indices.size else np.zeros(0, bool)
        return b2.SpikeGeneratorGroup(B * pop.n, x.indices[keep], x.times_s[keep] * second,
                                      sorted=False, name=_name(name))
    return None  # Values: delivered as currents


def _synapses(spec, cname, c, groups, lay):
    B = lay.copies
    pre_n, post_n = spec.populations[c.pre].n, spec.populations[c.post].n
    model = c.model
    signed = c.signed_w() if not isinstance(getattr(model, "on", model), CondExp) else c.w
    # one unlesioned copy (the common case) uses the spec's arrays as they are: on millions of
    # synapses the masks and copies below cost ~0.2 s per run (benchmarks/bio_brunel.py)
    whole = (values_to_check(c.transmits).all() and spec.populations[c.pre].alive.all()
             and spec.populations[c.post].alive.all())
    keep = slice(None) if whole else c.active(spec.populations)
    i, j, w, d = c.i[keep], c.j[keep], signed[keep], c.delay_s[keep]
    order = source_major(i)
    if order is not None:  # sorted i is a run of each index (no gather); equal w or d stay as they are
        i, j = np.repeat(np.arange(i.max() + 1, dtype=i.dtype), np.bincount(i)), j[order]
        w = w if np.all(values_to_check(w) == w[0]) else w[order]
        d = d if np.all(values_to_check(d) == d[0]) else d[order]
    if B > 1:
        i, j = replicate(i, j, pre_n, post_n, B)
        w, d = np.tile(w, B), np.tile(d, B)
    unit = model.weight_unit
    uname = unit_name(unit)
    # a static pathway whose weights are all equal holds one shared weight: Brian2 then adds a
    # constant per spike instead of gathering a per-synapse array, as hand-written code does
    shared = (not model.plastic and not model.synapse_equations() and c.normalize is None
              and f"{cname}.w" not in spec.record.final and len(w) > 0 and np.all(values_to_check(w) == w[0]))
    # a rule that integrates w (synapses.SynapticScaling: "dw/dt = ...") declares it itself
    eqs = [] if re.search(r"^\s*dw/dt", model.synapse_equations(), re.M) else \
        [f"w : {uname}" + (" (shared, constant)" if shared else "")]
    if model.synapse_equations():
        eqs.append(model.synapse_equations())
    ns = dict(model.synapse_namespace())
    wsum = _name("wsum", cname)
    if c.normalize is not None:
        eqs.append(f"{wsum}_post = w : {uname} (summed)")
    uniform = len(d) > 0 and np.all(values_to_check(d) == d[0])
    syn = b2.Synapses(groups[c.pre], groups[c.post], model="\n".join(eqs), on_pre=model.on_pre(),
                      on_post=model.on_post(), namespace=ns,
                      delay=d[0] * second if uniform else None, name=_name(cname))
    with _in_numpy(syn):
        if not len(i):
            syn.connect("False")
            return syn, None
        syn.connect(i=i, j=j)
    if c.normalize is not None:  # the first normalisation, before any step
        w = c.normalize.rescale(w, j, B * post_n)
        ns["norm_total"] = c.normalize.total
        syn.run_regularly(f"w = w * (int({wsum}_post <= 0*norm_total) + int({wsum}_post > 0*norm_total)"
                          f" * norm_total / ({wsum}_post + int({wsum}_post <= 0*norm_total)*norm_total))",
                          dt=max(lay.period_steps, 1) * lay.dt, when="start", name=_name(cname, "norm"))
    if shared:
        syn.w = w[0] * unit
    else:
        syn.w[:] = w * unit
    if not uniform and len(d):
        syn.delay[:] = d * second
    for var, value in model.synapse_init().items():
        setattr(syn, var, value)
    return syn, order


def _compiling_cython() -> bool:
    return b2.prefs.codegen.target == "cython" and isinstance(b2.get_device(), b2.devices.RuntimeDevice)


def _numpy_code():
    """NumpyCodeObject under the cython target (for code that runs once, or vectorises well, and
    whose Cython module is among the slowest to compile), else None: the target's own class."""
    if not _compiling_cython():
        return None
    from brian2.codegen.runtime.numpy_rt import NumpyCodeObject

    return NumpyCodeObject


@contextlib.contextmanager
def _in_numpy(syn: b2.Synapses):
    """Create `syn`'s synapses with NumPy code under the cython target. The code runs once, over
    arrays; as a Cython module (Brian2's synapses_create_array, typed memoryviews) it is the
    slowest to compile of all (~14 s of one core on a fresh cache, one module per connection):
    NumPy creates the same synapses in milliseconds. Spike monitors get the same treatment in
    _build (their Cython module compiles in ~13 s; run times measured unchanged)."""
    code = _numpy_code()
    if code is None:
        yield
        return
    before = syn.codeobj_class
    object.__setattr__(syn, "codeobj_class", code)
    try:
        yield
    finally:
        object.__setattr__(syn, "codeobj_class", before)


def _reinit_standalone() -> None:
    """Reinitialise the cpp_standalone device, emptying its containers first. reinit() binds new
    ones; the old ones, made before this run's gc.freeze(), are frozen and still held every object
    of the run, which the collection below then could not free: the next run's objects got other
    names (bb_h_stateupdater_codeobject_1, ...), and so other code, and the program was compiled
    anew at every run of a process."""
    device = b2.get_device()
    for value in vars(device).values():
        if isinstance(value, (dict, list, set)):
            value.clear()
    device.reinit()


OBJCACHE_ENV = "BRAINBRIDGE_OBJCACHE"  # "0": compile every object file anew (no bio.objcache)
_OBJCACHE = {}  # ("salt", compiler) -> bio.objcache.salt; whether this process pruned the cache yet


def objcache_dir() -> str:
    """This host's cache of standalone object files (bio.objcache), in `cache_root()`: a level per
    host, as for the cython caches (studies/cache.py), so that a home directory shared by a
    cluster's nodes keeps each processor's objects apart."""
    import socket

    host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "host"
    return os.path.join(cache_root(), "objects", host)


def _objcache_make_args() -> list[str]:
    """make's arguments that route compilations through bio.objcache ([] when switched off by
    $BRAINBRIDGE_OBJCACHE=0, off Linux, where objects are not ELF files the cache can check, or
    when the compiler cannot be asked its version)."""
    import subprocess

    from . import objcache

    if os.environ.get(OBJCACHE_ENV, "1") == "0" or not sys.platform.startswith("linux"):
        return []
    compiler = os.environ.get("CXX", "g++")  # what Brian2's makefile would call
    key = ("salt", compiler)
    if key not in _OBJCACHE:
        try:
            _OBJCACHE[key] = objcache.salt(compiler)
        except (OSError, subprocess.CalledProcessError):
            _OBJCACHE[key] = None
        if not _OBJCACHE.get("pruned"):
            objcache.prune(objcache_dir())
            _OBJCACHE["pruned"] = True
    if _OBJCACHE[key] is None:
        return []
    return [objcache.make_variable(compiler, objcache_dir(), _OBJCACHE[key])]


def _without_debug_info(args: list[str]) -> list[str]:
    """Brian2's compiler flags with `-g0` last, unless they ask for debug information themselves.
    The cython modules are compiled with Python's own CFLAGS first, and those of a Python built
    from source hold `-g`: debug information for thousands of lines of Cython's C++ per module
    (benchmarks/objcache.py: 20% (13-23%) of the CPU time of compiling a network, 4.1 MB of
    modules against 1.0 MB). gcc's code does not depend on it (its -fcompare-debug checks exactly
    that), so the spikes are the same. A change of flags compiles every module once more."""
    if any(a.startswith("-g") for a in args):
        return list(args)
    return [*args, "-g0"]


@contextlib.contextmanager
def _target(target: str, directory: str | None):
    """Select a target/device and restore Brian2's preferences, device and clock after."""
    saved = (b2.prefs.codegen.target, b2.defaultclock.dt,
             list(b2.prefs.devices.cpp_standalone.extra_make_args_unix),
             list(b2.prefs.codegen.cpp.extra_compile_args_gcc))
    b2.prefs.codegen.cpp.extra_compile_args_gcc = _without_debug_info(saved[3])
    if target == "cpp_standalone":
        b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
        # the machine is shared: two compile jobs, not make's unbounded -j; and the compiler
        # goes through the per-user object cache (bio.objcache)
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2", *_objcache_make_args()]
    else:
        b2.prefs.codegen.target = target
    # Brian2's Network.run and the collection below each scan every object of the process
    # (~0.7 s with torch loaded); frozen, the objects that existed before this run are skipped
    gc.freeze()
    compiling = contextlib.nullcontext()
    if target == "cython":
        from .compile_pool import parallel_compile  # imported here: the pool runs it as a script

        compiling = parallel_compile()
    try:
        with compiling as state:
            yield state
    finally:
        if target == "cpp_standalone":
            _reinit_standalone()
            b2.set_device("runtime")
        b2.prefs.codegen.target, b2.defaultclock.dt, make_args, compile_args = saved
        b2.prefs.devices.cpp_standalone.extra_make_args_unix = make_args
        b2.prefs.codegen.cpp.extra_compile_args_gcc = compile_args
        gc.collect()  # free this run's objects so the next build reuses their names
        gc.unfreeze()


def run(spec: NetworkSpec, duration=None, *, target: str = "numpy", seed: int | None = None,
        dt=0.1 * ms, build_dir: str | None = None, progress: str | None = None,
        fuse: bool = True, profile: dict | None = None) -> SpikeRecord:
    """Compile `spec` into Brian2 objects, simulate, and return what it recorded.

    spec:      a NetworkSpec (bio/spec.py) with its inputs and Record.
    duration:  Brian2 time; None means samples x spec.period.
    target:    "numpy", "cython" or "cpp_standalone".
    seed:      seeds NumPy and Brian2 before any object is built (Poisson draws, noise).
    dt:        simulation time step (Brian2 time).
    build_dir: cpp_standalone directory (default: a directory per network, `program_dir`, in this
               process's slot, `standalone_dir()`; `last_build_dir()` names the one used).
    progress:  a label for a progress bar over the samples, or None (cpp_standalone: the bar
               follows the running program through a file it writes at each sample onset).
    fuse:      merge populations that one NeuronGroup can hold (bio/fuse.py: the same
               network with fewer Brian2 objects per step; with several random sources the
               draws may come in another order); False builds the spec as written.
    profile:   a dict to fill with where the wall time went (numpy and cython targets):
               "build_s" (creating the Brian2 objects, synapses included), "run_s"
               (Network.run: code preparation, the steps and Brian2's Python loop),
               "objects_s" {object: seconds its generated code ran over the steps, from
               Brian2's own profiling; a connection's spike delivery is "<name> (pre
               pathway)", other objects keep their Brian2 names less "bb_"} and "record_s"
               (reading the monitors back). Names are those of the fused spec (fuse=True).
    Returns a SpikeRecord: populations (B copies, index b * n + k), traces
    (n_steps, n_recorded) in SI units, `final` state, `copies` = B.
    """
    check_target(target)
    original = spec
    fused, spec, lay, duration = _plan(spec, duration, dt, fuse)
    if profile is not None and (target == "cpp_standalone" or not isinstance(profile, dict)):
        raise ValueError("profile= takes a dict to fill, with the numpy or cython target "
                         f"(got {type(profile).__name__} with target {target!r})")
    directory = build_dir or (standalone_dir() if target == "cpp_standalone" else None)
    keyed = build_dir is None  # the default slot: a directory per network inside it (program_dir)
    clock = time.perf_counter
    with _target(target, directory) as compiling:
        b2.defaultclock.dt = dt
        if seed is not None:
            np.random.seed(seed)
            if target == "cpp_standalone":
                _seed_standalone(seed)
            else:
                b2.seed(seed)
        t0 = clock()
        net, groups, monitors, traces, built = _build(spec, lay)
        t1 = clock()
        if profile is not None:
            net.run(duration, namespace={}, profile=True)
            profile["objects_s"] = _objects_s(net, spec)
        elif target == "cpp_standalone" or progress is None or lay.samples < 2:
            if target == "cpp_standalone" and progress is not None and lay.samples >= 2:
                net.add(_progress_reporter(duration / lay.samples))
            net.run(duration, namespace={})
        else:
            from tqdm.auto import tqdm
            n_chunks = min(lay.samples, 50)
            with tqdm(total=lay.samples, desc=f"{progress}: preparing Brian2 code", unit="sample",
                      leave=False) as bar:
                _prepare(net, compiling, progress, clock, t0)
                bar.set_description(progress)
                done = 0
                with _same_code(net):  # the chunks run the code the zero-length run generated
                    for k in range(n_chunks):
                        upto = int(round((k + 1) * lay.samples / n_chunks))
                        chunk = duration * (upto - done) / lay.samples
                        net.run(chunk, namespace={})
                        bar.update(upto - done)
                        done = upto
        if target == "cpp_standalone":
            if keyed:
                directory = program_dir(directory)
            _LAST["dir"] = directory
            with _run_seed(seed):
                _standalone_build(directory, progress if lay.samples >= 2 else None, lay.samples,
                                  float(duration / second) / lay.samples, t0)
        t2 = clock()
        rec = _to_record(spec, lay, float(duration / second), groups, monitors, traces, built)
        if profile is not None:
            profile.update(build_s=t1 - t0, run_s=t2 - t1, record_s=clock() - t2)
        # drop this run's Brian2 objects before _target collects: alive, they would be frozen
        # by the next run's gc.freeze(), leak, and shift the automatic names of its code objects
        # (bb_x_codeobject_1, ...), so cython would recompile every run
        del net, groups, monitors, traces, built
    return split_record(fused, original, rec) if fused is not None else rec


def _objects_s(net, spec: NetworkSpec) -> dict:
    """{object: seconds} of a run with profile=True; a connection's spike delivery is named
    "<connection> (pre pathway)", other objects keep their Brian2 names less "bb_"."""
    labels = {_name(c) + suffix: f"{c} ({kind})" for c in spec.connections
              for suffix, kind in (("_pre", "pre pathway"), ("_post", "post pathway"))}
    return {labels.get(name, name.removeprefix("bb_")): float(t / second) for name, t in net.profiling_info}


def _plan(spec: NetworkSpec, duration, dt, fuse: bool):
    """Check a run's arguments and lay it out: (fused or None, spec to build, layout, duration)."""
    inp.check_time(dt, "dt", "0.1*ms")
    if spec.meta.get("schedule", "default") not in SCHEDULES:
        raise ValueError(f"unknown schedule {spec.meta['schedule']!r} in spec.meta; choose one of: "
                         f"{', '.join(SCHEDULES)}")
    spec.check()
    fused = _fuse(spec) if fuse else None
    if fused is not None:
        spec = fused.spec
    lay = _layout(spec, dt, duration)
    if duration is None:
        if spec.period is None:
            raise ValueError("give a duration, or a spec with a `period` per sample")
        duration = lay.samples * spec.period
    inp.check_time(duration, "duration", "500*ms")
    if not float(duration / second) > 0:
        raise ValueError(f"duration must be > 0, got {duration}")
    return fused, spec, lay, duration


def _keep(*args) -> None:
    """Stands in for what Brian2 would redo unchanged: the first run's result stays."""


@contextlib.contextmanager
def _same_code(net: b2.Network):
    """Run `net` again with what Brian2 prepared for its first run, which Brian2 would redo
    unchanged at every Network.run: each object's code objects (CodeRunner.create_code_objects:
    equations, namespace constants, sizes and dt stay) and each spike queue's synapse lists by
    presynaptic neuron and delays in steps (SynapticPathway.initialise_queue: the sources,
    delays and dt it reads stay; spikes in flight stay in the queue when a run goes on, and
    come back with the state when bio.prepared restores it). Everything else of Network.run --
    the objects' state checks and before-run code, the schedule, the monitors -- runs as
    usual. Used for the chunks of a run with a progress bar and by bio.prepared."""
    patched = [(obj, "create_code_objects") for obj in net.sorted_objects if isinstance(obj, CodeRunner)]
    patched += [(obj, "initialise_queue") for obj in net.sorted_objects if isinstance(obj, SynapticPathway)]
    for obj, method in patched:
        # Brian2's groups refuse new attributes through __setattr__; the instance attribute
        # shadows the method for this run only
        object.__setattr__(obj, method, _keep)
    try:
        yield
    finally:
        for obj, method in patched:
            object.__delattr__(obj, method)


def _prepare(net, compiling, label: str, clock, since: float) -> None:
    """Prepare every object of `net` before its first step: a zero-length run, in which Brian2
    generates (and, on a cache miss, compiles) their code; no time step is taken. Says how long
    compiling took when it did, so a long first run is not mistaken for a slow simulation."""
    net.run(0 * second, namespace={})
    if compiling is not None and compiling.modules:
        compiling.wait()
        from tqdm.auto import tqdm

        tqdm.write(f"{label}: built the network and compiled {compiling.modules} Brian2 code modules in "
                   f"{clock() - since:.0f} s (kept in the per-user cache: later runs load them)",
                   file=sys.stderr)


class _Network(b2.Network):
    """A Brian2 Network whose clocks are visited in the order of their names. Brian2 keeps them
    in a set, ordered by object identity: cpp_standalone writes one initialisation line per
    clock into main.cpp in that order, so a network with a second clock (a weight
    normalisation, the progress reporter) produced a different main.cpp in every process and
    make recompiled and relinked the program at every run."""

    @property
    def _clocks(self):
        return self.__dict__.get("_sorted_clocks", [])

    @_clocks.setter
    def _clocks(self, clocks):
        self.__dict__["_sorted_clocks"] = sorted(clocks, key=lambda c: c.name)


PROGRESS_FILE = "bb_progress"  # in the standalone build directory: the time of the last sample onset


def _progress_reporter(period) -> b2.NeuronGroup:
    """A one-neuron group whose only code runs at every sample onset of a cpp_standalone run and
    writes the simulated time to PROGRESS_FILE (the build directory is the program's working
    directory), so Python can show a bar while the program runs. Brian2's own `report=` reads
    the process clock (std::clock) once per object and time step; this costs one file write
    per sample."""
    code = f"""
    double bb_progress(double t)
    {{
        FILE *f = fopen("{PROGRESS_FILE}", "w");
        if (f) {{ fprintf(f, "%.17g\\n", t); fclose(f); }}
        return 0.0;
    }}
    """

    @b2.implementation("cpp", code)
    @b2.check_units(t=second, result=1)
    def bb_progress(t):
        return 0.0

    group = b2.NeuronGroup(1, "reported : 1 (shared)", name=_name("progress"),
                           namespace={"bb_progress": bb_progress})
    group.run_regularly("reported = bb_progress(t)", dt=period, when="start", name=_name("progress", "write"))
    return group


SEED_ENV = "BRAINBRIDGE_STANDALONE_SEED"


def _seed_standalone(seed: int) -> None:
    """Seed the cpp_standalone program's random generators when it starts, from the environment
    variable SEED_ENV (`_run_seed` sets it to `seed`), as `brian2.seed(seed)` would: generator k
    gets seed + k, at the same place in the program, so the draws are the same. Brian2 writes the
    seed into main.cpp, so every new seed recompiled it (~3.5 s of a 4 s STDP training of 300
    digits); now runs that differ only in their seed share one compiled program. A program
    started without the variable stops and says so."""
    threads = max(1, int(b2.prefs.devices.cpp_standalone.openmp_threads))
    b2.get_device().insert_code("main", f"""
    {{
        const char* _bb_seed = std::getenv("{SEED_ENV}");
        if (_bb_seed == nullptr) {{
            std::cerr << "this program takes its random seed from the environment variable {SEED_ENV}" << std::endl;
            return 2;
        }}
        const long _bb_seed_value = std::stol(_bb_seed);
        for (int _i = 0; _i < {threads}; _i++)
            brian::_random_generators[_i].seed(_bb_seed_value + _i);
    }}""")


@contextlib.contextmanager
def _run_seed(seed: int | None):
    """The environment the standalone program reads its seed from (`_seed_standalone`), set
    while it runs and restored after."""
    if seed is None:
        yield
        return
    saved = os.environ.get(SEED_ENV)
    os.environ[SEED_ENV] = str(int(seed))
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(SEED_ENV, None)
        else:
            os.environ[SEED_ENV] = saved


def _standalone_build(directory: str, label: str | None, samples: int, period_s: float, since: float) -> None:
    """Compile the cpp_standalone program in `directory` (make: only what changed) and run it.
    With a label, a bar over the samples, fed by `_progress_reporter`'s file while the program
    runs, and a note when the program was compiled (not when make found nothing to do)."""
    from .objcache import LOG, read_log

    log = os.path.join(directory, LOG)  # this build's compilations (bio.objcache), not the last one's
    if os.path.exists(log):
        os.remove(log)
    if label is None:
        b2.device.build(directory=directory, compile=True, run=True, debug=False, clean=False)
        return
    import threading

    from tqdm.auto import tqdm

    binary = os.path.join(directory, "main")
    before = os.path.getmtime(binary) if os.path.exists(binary) else None
    with tqdm(total=samples, desc=f"{label}: compiling the C++ program", unit="sample", leave=False) as bar:
        started = time.time()
        b2.device.build(directory=directory, compile=True, run=False, debug=False, clean=False)
        if os.path.getmtime(binary) != before:
            built = read_log(log)
            if not os.path.exists(log):  # the object cache is off: the objects make rewrote
                built["miss"] = sum(os.path.getmtime(os.path.join(root, f)) >= started - 1
                                    for root, _, files in os.walk(directory) for f in files if f.endswith(".o"))
            kept = f", took {built['hit']} from the object cache" if built["hit"] else ""
            tqdm.write(f"{label}: built the network and compiled {built['miss']} C++ files of its standalone "
                       f"program{kept} in {time.perf_counter() - since:.0f} s (kept in the per-user cache: "
                       "later runs recompile only what changed)", file=sys.stderr)
        bar.set_description(label)
        reported = os.path.join(directory, PROGRESS_FILE)
        if os.path.exists(reported):
            os.remove(reported)
        stop = threading.Event()

        def follow():
            while not stop.wait(0.25):
                try:
                    with open(reported) as f:
                        done = int(float(f.read()) / period_s + 1e-6)
                except (OSError, ValueError):  # not written yet, or caught mid-write
                    continue
                bar.update(max(0, min(done, samples) - bar.n))

        follower = threading.Thread(target=follow, daemon=True)
        follower.start()
        try:
            b2.device.run()
        finally:
            stop.set()
            follower.join()
        bar.update(samples - bar.n)


def _build(spec: NetworkSpec, lay: _Layout):
    value_cur, delayed_cur = _value_currents(spec, lay)
    sources = {x.target: x for x in spec.inputs if isinstance(x, (inp.Rates, inp.Spikes, inp.Values))}
    groups, objects = {}, []
    for name, pop in spec.populations.items():
        if pop.is_source:
            if name not in sources:
                raise ValueError(f"source population {name!r} has no input (Rates, Spikes or Values)")
            g = _source_group(spec, name, pop, lay, sources)
        else:
            g = _neuron_group(spec, name, pop, lay, value_cur, delayed_cur, {})
        if g is not None:
            groups[name] = g
            objects.append(g)
    syns, orders = {}, {}
    for cname, c in spec.connections.items():
        if isinstance(sources.get(c.pre), inp.Values):
            continue  # delivered as currents
        syns[cname], orders[cname] = _synapses(spec, cname, c, groups, lay)
        objects.append(syns[cname])
    for k, x in enumerate(spec.inputs):
        if isinstance(x, inp.PoissonDrive):
            objects.append(b2.PoissonInput(groups[x.target], x.synapse.target_var, N=int(x.n_inputs),
                                           rate=x.rate, weight=x.weight))
    wanted = spec.record.spikes if spec.record.spikes is not None else list(groups)
    monitors = {}
    for name in wanted:
        if name not in spec.populations:
            raise ValueError(f"cannot record spikes of unknown population {name!r}")
        if name in groups:
            monitors[name] = b2.SpikeMonitor(groups[name], name=_name(name, "spikes"), codeobj_class=_numpy_code())
    if spec.meta.get("schedule", "default") == "layerwise":
        _layerwise(spec, lay, groups, syns, monitors)
    traces = {}
    for key, which in spec.record.traces.items():
        pop_name, _, var = key.partition(".")
        if pop_name not in groups or not var:
            raise ValueError(f"trace {key!r} must name 'population.variable' of a simulated population")
        n = spec.populations[pop_name].n
        sel = np.arange(n) if which is True else np.asarray(which, dtype=np.int64)
        rec = (np.arange(lay.copies)[:, None] * n + sel[None, :]).ravel()  # every copy
        traces[key] = (b2.StateMonitor(groups[pop_name], var, record=rec, when=spec.record.when,
                                       name=_name(pop_name, var, "trace")), var)
    objects += list(monitors.values()) + [m for m, _ in traces.values()]
    return _Network(*objects), groups, monitors, traces, (syns, orders)


def _layerwise(spec: NetworkSpec, lay: _Layout, groups: dict, syns: dict, monitors: dict) -> None:
    """Schedule `meta["schedule"] = "layerwise"`: each population fires after the pathways into it.

    Within a step every state update still runs first ('groups' slot) and every reset
    last ('resets'). In between, the 'thresholds' slot holds, in this order: the
    thresholds of the source populations, then for every other population in the
    order of `spec.populations` the presynaptic pathways of all connections into it,
    followed by its own threshold; the spike monitors run after all of them. A pathway
    reads its presynaptic population's spikes when it runs, so
    - from a population placed earlier (a source, the previous layer) it delivers the
      spikes of this step, before the target tests its threshold: layer l sees layer
      l-1's spikes of the same step, with no decay in between;
    - from the population itself or one placed later (recurrent and backward
      connections) it delivers the spikes of the previous step, added after this
      step's state update (v[t] = beta v[t-1] + ... + V s[t-1], undecayed).
    Synaptic delays add to this (a delay of k steps delivers k steps later, at the
    same place in the step: a recurrent spike of step t with a delay of k steps acts at
    step t + 1 + k); postsynaptic pathways (plasticity) keep their slot. Undelayed
    previous-step deliveries would carry a sample's last spikes into the next sample's
    first step, so they are refused with several samples that are reset at their
    onsets: run samples as copies instead, or give the pathway a delay.
    """
    slot, placed = [0], {}

    def place(obj):
        obj.when, obj.order = "thresholds", slot[0]
        slot[0] += 1

    def fire(name):
        g = groups[name]
        place(g.thresholder["spike"] if "spike" in getattr(g, "thresholder", {}) else g)
        placed[name] = slot[0]

    for name, pop in spec.populations.items():
        if pop.is_source and name in groups:
            fire(name)
    for name, pop in spec.populations.items():
        if pop.is_source or name not in groups:
            continue
        for cname, c in spec.connections.items():
            if c.post == name and cname in syns and len(syns[cname]):
                undelayed = np.any(c.delay_s[c.active(spec.populations)] < 0.5 * float(lay.dt / second))
                if c.pre not in placed and undelayed and lay.samples > 1 and spec.period is not None \
                        and spec.meta.get("reset", True):
                    raise ValueError(
                        f"connection {cname!r} delivers the spikes of the previous step under the "
                        "layerwise schedule, which would carry one sample's spikes into the next; "
                        "run the samples as copies (B), give it a delay, or set meta['reset'] = False")
                place(syns[cname].pre)
        fire(name)
    for mon in monitors.values():
        mon.when, mon.order = "thresholds", slot[0]


def _to_record(spec, lay, duration_s, groups, monitors, traces, built) -> SpikeRecord:
    syns, orders = built
    times, indices, sizes = {}, {}, {}
    for name, mon in monitors.items():
        t = np.asarray(mon.t_[:], dtype=np.float64)
        i = np.asarray(mon.i[:], dtype=np.int64)
        order = np.argsort(t, kind="stable")
        times[name], indices[name] = t[order], i[order]
    for name in monitors:
        sizes[name] = lay.copies * spec.populations[name].n
    out, trace_dt = {}, None
    for key, (mon, var) in traces.items():
        out[key] = np.asarray(getattr(mon, var + "_")[:], dtype=np.float64).T  # (T, n_rec)
        trace_dt = float(mon.clock.dt_)
    final = {}
    for key in spec.record.final:
        obj_name, _, var = key.partition(".")
        if obj_name in syns:
            values = np.asarray(getattr(syns[obj_name], var + "_")[:], dtype=np.float64)
            order = orders[obj_name]
            if order is not None and values.size > 1:  # back to the spec's order, copy by copy
                spec_order = np.empty_like(order)
                spec_order[order] = np.arange(len(order))
                values = values.reshape(-1, len(order))[:, spec_order].ravel()
            final[key] = values.copy()
        elif obj_name in groups:
            final[key] = np.asarray(getattr(groups[obj_name], var + "_")[:], dtype=np.float64).copy()
        else:
            raise ValueError(f"cannot read back {key!r}: name a simulated population or connection")
    return SpikeRecord(times, indices, sizes, duration_s, out, trace_dt, final, lay.copies)
