"""Brian2's cython code compiled on every core at once (bio/compile_pool.py; issue 15, point 1:
on a fresh machine the quickstart spent 143 s of its 178 s compiling, one module at a time).

The pool must build exactly the modules Brian2 would build itself: a later process running
Brian2 alone (BRAINBRIDGE_COMPILE_JOBS=1) finds every one in the cache, compiles nothing and
gives the same spikes. The pool processes run bio.compile_pool, never the caller's script (a
script without a main guard runs once), and a pool that fails leaves Brian2 compiling in the
calling process. Each case compiles a few modules into an empty cache: marked slow.
"""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import brian2 as b2
import numpy as np
import pytest

import bio
from bio import compile_pool

ROOT = Path(__file__).resolve().parents[1]

# a script as a user writes one: no `if __name__ == "__main__"` guard
SCRIPT = textwrap.dedent("""
    import os
    import sys
    open(sys.argv[2], "a").write(f"{os.getpid()}\\n")  # one line per time this script runs
    import brian2 as b2
    from brian2.codegen.runtime.cython_rt import extension_manager
    b2.prefs.codegen.runtime.cython.cache_dir = sys.argv[1]
    here = []  # modules this process compiled itself (Cython runs only to compile)
    cythonize = extension_manager.Cython_Build.cythonize
    extension_manager.Cython_Build.cythonize = lambda *a, **k: here.append(1) or cythonize(*a, **k)
    from tests.test_compile_pool import tiny
    import bio
    rec = bio.run(tiny(), 50 * b2.ms, target="cython")
    print("ran", " ".join(str(int(c)) for c in rec.spike_counts("cells")))
    print("compiled here", len(here))
""")


def tiny():
    """Ten LIF neurons under ten different constant currents, 50 ms: a handful of code objects
    (state update, threshold, reset, spike monitor) and a different firing rate per neuron."""
    from brian2 import mV, ms

    from bio import neurons
    from bio.spec import NetworkSpec, Population

    cell = neurons.LIF(tau_m=10 * ms, v_rest=-70 * mV, v_thresh=-50 * mV, v_reset=-70 * mV, t_ref=2 * ms)
    drive = np.linspace(1.2, 4.0, 10) * float((cell.v_thresh - cell.v_rest) / cell.R)
    return NetworkSpec({"cells": Population(cell, 10, i_ext_amp=drive)}, {})


CYFUNCTION = b"cython_function_or_method"  # the type's name, in every module built with binding=True


def _modules(cache: Path) -> dict[str, float]:
    return {p.name: p.stat().st_mtime for p in cache.glob("_cython_magic_*.so")}


def _script(tmp_path, cache, jobs=None):
    path = tmp_path / "user_script.py"
    path.write_text(SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("BRAINBRIDGE_QUIET", None)
    if jobs is not None:
        env[compile_pool.JOBS_ENV] = str(jobs)
    out = subprocess.run([sys.executable, str(path), str(cache), str(tmp_path / "pids")], cwd=tmp_path,
                         env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    return [line for line in out.stdout.splitlines() if line.startswith(("ran", "compiled here"))]


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The user's script run once with a pool of 2 into an empty cache: (folder, cache, output)."""
    tmp_path = tmp_path_factory.mktemp("pool")
    cache = tmp_path / "cython"
    return tmp_path, cache, _script(tmp_path, cache, jobs=2)


@pytest.mark.slow
def test_the_pool_builds_the_modules_brian2_loads(built):
    tmp_path, cache, first = built
    # the script ran once: the pool processes did not run it again
    assert len((tmp_path / "pids").read_text().split()) == 1
    modules = _modules(cache)
    assert len(modules) >= 3 and first[1] == "compiled here 0"  # the pool built every module
    # without debug information, although Python's own CFLAGS ask for it where Python was built
    # from source (-g; bio.simulate puts -g0 last): a fifth of the size, ~15% less compiling
    assert not [m for m in modules if b".debug_info" in (cache / m).read_bytes()]
    # built with binding=False (compile_pool.LEAN_DIRECTIVES): no Cython function type in them
    assert not [m for m in modules if CYFUNCTION in (cache / m).read_bytes()]
    counts = [int(c) for c in first[0].split()[1:]]
    assert counts == sorted(counts) and counts[-1] > counts[0] > 0  # stronger drive, more spikes

    again = _script(tmp_path, cache, jobs=1)  # Brian2 alone, in a new process
    assert again == first  # the same spikes, and nothing compiled
    assert _modules(cache) == modules  # found every module: nothing compiled, nothing rebuilt


@pytest.mark.slow
def test_a_failing_pool_leaves_brian2_compiling_here(built, tmp_path, monkeypatch):
    """One module missing (the rest copied from the fixture's cache) and a pool that fails: Brian2
    compiles that module in this process and the run gives the numpy target's spikes."""
    import shutil

    cache = tmp_path / "cython"
    shutil.copytree(built[1], cache)
    missing = sorted(_modules(cache))[0]
    (cache / missing).unlink()

    def broken(self, job):
        raise RuntimeError("no compiler in the pool")

    monkeypatch.setattr(compile_pool._Worker, "build", broken)
    monkeypatch.setenv(compile_pool.JOBS_ENV, "2")
    old = b2.prefs.codegen.runtime.cython.cache_dir
    b2.prefs.codegen.runtime.cython.cache_dir = str(cache)
    try:
        with compile_pool.parallel_compile() as compiling:
            rec = bio.run(tiny(), 50 * b2.ms, target="cython")
    finally:
        b2.prefs.codegen.runtime.cython.cache_dir = old
    assert compiling.modules == 1  # only the missing module went to the pool, which failed
    assert (cache / missing).exists()  # Brian2 compiled it here instead
    assert CYFUNCTION not in (cache / missing).read_bytes()  # here too with LEAN_DIRECTIVES
    from Cython.Compiler import Options
    assert Options.get_directive_defaults()["binding"] is True  # Cython's default, outside the block
    reference = bio.run(tiny(), 50 * b2.ms, target="numpy")
    assert np.array_equal(rec.spike_counts("cells"), reference.spike_counts("cells"))


def test_the_pool_size_is_checked(monkeypatch):
    monkeypatch.setenv(compile_pool.JOBS_ENV, "0")
    with pytest.raises(ValueError, match="BRAINBRIDGE_COMPILE_JOBS must be a whole number >= 1"):
        compile_pool._cores()
