"""Running one grid point where it is scheduled: in this process or on a Dask worker.

`execute_point(study, module_name, params, seed)` calls the study's `point()`
and hands back a record; it never raises for an error inside the study, so a
grid goes on past a failing point. Before points run, `prepare_brian(slot_dir)`
sets the process up for Brian2 (its compiled-code slot from `cache.py`, Ctrl-C
behaviour). Both the in-process runner and the Dask worker plugin in
`cluster.py` import this module; it imports neither of them.
"""
from __future__ import annotations

import contextlib
import datetime
import functools
import importlib
import importlib.metadata
import os
import re
import signal
import socket
import subprocess
import sys
import threading
import time
import traceback
from pathlib import Path

STANDALONE_ENV = "BRAINBRIDGE_STANDALONE_DIR"
_PACKAGES = {"brainbridge": "brainbridge", "brian2": "Brian2", "torch": "torch", "numpy": "numpy"}
# Brian2 keeps its device, clocks and preferences in module globals: one point at a time per
# process, even on a Dask worker started with several threads.
_ONE_POINT_AT_A_TIME = threading.Lock()


@functools.cache
def versions() -> dict[str, str]:
    """Versions of brainbridge, brian2, torch, numpy (without importing them) and the git revision."""
    out = {}
    for column, dist in _PACKAGES.items():
        try:
            out[column] = importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            out[column] = "unknown"
    out["git"] = git_revision()
    return out


def git_revision() -> str:
    """The commit of the brainbridge checkout ("+dirty" if tracked files changed), or "unknown"."""
    repo = Path(__file__).resolve().parent.parent
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short=12", "HEAD"],
                              capture_output=True, text=True, timeout=10)
        if head.returncode != 0:
            return "unknown"
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True, timeout=10)
        return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def now() -> str:
    """The current UTC time, ISO 8601 to the second."""
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def worker_name() -> str:
    """Who runs points in this process: the local worker's number (`--workers N`: 0..N-1), the
    Dask worker's name, or "main" in-process. This is the `worker` column of the results table.
    """
    if os.environ.get("BRAINBRIDGE_WORKER_NAME"):  # set by processes.py in its workers
        return os.environ["BRAINBRIDGE_WORKER_NAME"]
    if "distributed" in sys.modules:
        from distributed import get_worker
        try:
            return re.sub(r"[^A-Za-z0-9_.-]", "_", str(get_worker().name))
        except ValueError:
            pass
    return "main"


def settle_sigint() -> None:
    """Let SIGINT do what this process was started with, never fail inside a point.

    Brian2's import wraps the SIGINT handler it finds and, with its
    `stop_on_keyboard_interrupt` preference off (see prepare_brian), calls what
    it wrapped. When the process started with SIGINT ignored (`nohup`, a
    background job of a script) or at its default, what it wrapped is not a
    function, and a Ctrl-C raises TypeError inside the running point, which
    would be stored as that point's failure. Put back what Brian2 found: an
    ignored SIGINT stays ignored (the point goes on and is stored), Python's
    usual handler raises KeyboardInterrupt (the run stops; finished points stay).
    Only the main thread may set signal handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        return
    current = signal.getsignal(signal.SIGINT)
    if hasattr(current, "previous_handler"):  # Brian2's _InterruptHandler
        # None: the handler Brian2 found was not set from Python; the system default then
        signal.signal(signal.SIGINT, current.previous_handler or signal.SIG_DFL)


def prepare_brian(slot_dir: str | Path) -> Path:
    """Set this process up for running points with Brian2; returns the slot's directory.

    - Brian2's cython cache goes to `slot_dir/cython`, and the environment
      variable BRAINBRIDGE_STANDALONE_DIR (read by `bio.run` for
      cpp_standalone builds) to `slot_dir/standalone`.
    - Ctrl-C raises at once: by default Brian2 answers a first Ctrl-C by ending
      the simulation early and returning normally, which would store a
      truncated point as if it had finished (and see settle_sigint).
    """
    import brian2

    slot_dir = Path(slot_dir)
    (slot_dir / "cython").mkdir(parents=True, exist_ok=True)
    brian2.prefs.core.stop_on_keyboard_interrupt = False
    brian2.prefs.codegen.runtime.cython.cache_dir = str(slot_dir / "cython")
    os.environ[STANDALONE_ENV] = str(slot_dir / "standalone")
    settle_sigint()
    return slot_dir


@contextlib.contextmanager
def brian_prepared(slot_dir: str | Path):
    """prepare_brian for the block, then this process's Brian2 preferences, environment and
    SIGINT handler as they were (an in-process run must not change its caller's settings)."""
    import brian2

    old_cache = brian2.prefs.codegen.runtime.cython.cache_dir
    old_stop = brian2.prefs.core.stop_on_keyboard_interrupt
    old_env = os.environ.get(STANDALONE_ENV)
    main = threading.current_thread() is threading.main_thread()
    old_sigint = signal.getsignal(signal.SIGINT) if main else None
    try:
        yield prepare_brian(slot_dir)
    finally:
        brian2.prefs.codegen.runtime.cython.cache_dir = old_cache
        brian2.prefs.core.stop_on_keyboard_interrupt = old_stop
        if old_env is None:
            os.environ.pop(STANDALONE_ENV, None)
        else:
            os.environ[STANDALONE_ENV] = old_env
        if main and old_sigint is not None:
            signal.signal(signal.SIGINT, old_sigint)


def _number(k, v) -> float:
    try:
        return float(v)
    except (TypeError, ValueError):
        raise TypeError(f"point() must return numbers or lists of rows; metric {k!r} holds "
                        f"{type(v).__name__}") from None


def _metrics(result) -> dict:
    """Check a point's metrics: {name: number} or {name: [row, ...]}.

    A row is a dict of coordinates and its "value", e.g. {"severity": 0.5, "value": 0.91}:
    swept quantities become columns of results.csv instead of parts of a metric's name.
    Coordinates are numbers or strings; "value" is a number.
    """
    if not isinstance(result, dict):
        raise TypeError(f"point() must return a dict of metrics, got {type(result).__name__}")
    out = {}
    for k, v in result.items():
        if isinstance(v, (list, tuple)):
            rows = []
            for row in v:
                if not isinstance(row, dict) or "value" not in row:
                    raise TypeError(f"metric {k!r}: each row must be a dict with a 'value', got {row!r}")
                bad = [c for c in row if c in ("metric", "seed", "study", "point")]
                if bad:
                    raise TypeError(f"metric {k!r}: a row may not set the column(s) {bad}")
                coords = {}
                for c, x in row.items():
                    if c == "value":
                        continue
                    coords[str(c)] = x if isinstance(x, str) else _number(f"{k}.{c}", x)
                rows.append({**coords, "value": _number(k, row["value"])})
            out[str(k)] = rows
        else:
            out[str(k)] = _number(k, v)
    return out


@contextlib.contextmanager
def one_torch_thread():
    """torch on one intra-op thread inside the block, the caller's setting restored after.

    A point's numbers must not depend on the machine it ran on: with several threads torch
    splits its sums differently (a small CNN trained one epoch on 300 digits ends with other
    weights on 1 and on 2 threads, tests/test_runner.py; progressive_injury's retraining after
    each injury step amplified that to up to 5 points of accuracy on single points),
    so every point runs torch on one thread, whatever the cores or OMP_NUM_THREADS. Parallelism
    comes from running points side by side (--workers, a Dask cluster).
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def execute_point(study: str, module_name: str, params, seed: int) -> dict:
    """Run one point in this process, torch on one thread (`one_torch_thread`; a study whose
    points never use torch may say so with a module attribute `TORCH = False`, and then torch
    is not imported for it); never raises for an error inside the study.

    Returns {"status": "ok", "metrics": {...}} or {"status": "failed", "error",
    "traceback"}, plus elapsed_s, started_unix, worker, host, finished_utc and
    versions. A KeyboardInterrupt is not the point's error: it propagates.
    """
    module = importlib.import_module(module_name)
    pinned = one_torch_thread() if getattr(module, "TORCH", True) else contextlib.nullcontext()
    with _ONE_POINT_AT_A_TIME, pinned:
        started, start = time.time(), time.perf_counter()
        try:
            out = {"status": "ok", "metrics": _metrics(module.point(params, seed))}
        except Exception as err:  # the point's own error: record it, let the grid go on
            out = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                   "traceback": traceback.format_exc()}
        elapsed = time.perf_counter() - start
    out.update(elapsed_s=elapsed, started_unix=started, worker=worker_name(),
               host=socket.gethostname(), finished_utc=now(), versions=versions())
    return out
