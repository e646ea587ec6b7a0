"""Running a study's grid: Dask scheduling, the resumable store, progress, figures.

`run("toy", preset="tiny", workers=2)` expands the grid, skips points already
stored, runs the rest through Dask and stores each as it finishes, then writes
`results.csv` and draws the figures. Three ways to run the points:

- in-process (default): one after another in this process through Dask's
  synchronous scheduler, so a traceback, `pdb` or a profiler sees the real code
  and Ctrl-C stops at once;
- `workers=N`: a `distributed.LocalCluster` of N single-threaded worker
  processes on this machine (the workers are spawned, so a script calling
  `run(..., workers=N)` needs the usual `if __name__ == "__main__":` guard);
- `scheduler="tcp://host:8786"`: an existing Dask cluster (for example one
  started by dask-jobqueue on Slurm); the workers send results back to this
  process, which writes the store, so they need not share its file system.

A point that raises is stored in `failed/` with its traceback and the others
go on. A rerun does not retry failed points unless `retry_failed=True`
(`--retry-failed`): a point that failed because of a bug or a bad parameter
would fail again, so resuming a long grid should not spend time on it.

Brian2 in parallel workers: each worker slot (a LocalCluster worker's name,
0..N-1, or "main" in-process) gets its own Cython cache directory under
`<store>/.brian/<slot>/cython`, so no two processes compile into one directory,
and the cache outlives the process: a later point, or a later run, of the same
kind of network loads the compiled code instead of compiling it again. The
environment variable BRAINBRIDGE_STANDALONE_DIR names a per-slot directory for
`cpp_standalone` builds.
"""
from __future__ import annotations

import datetime
import functools
import importlib
import importlib.metadata
import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import params as _params
from . import registry
from .store import Store

STANDALONE_ENV = "BRAINBRIDGE_STANDALONE_DIR"
_PACKAGES = {"brainbridge": "brainbridge", "brian2": "Brian2", "torch": "torch", "numpy": "numpy"}


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


# ---------------------------------------------------------------- worker side

def _slot() -> str:
    """This process's worker slot: the Dask worker's name, or "main" outside Dask workers."""
    if "distributed" in sys.modules:
        from distributed import get_worker
        try:
            return re.sub(r"[^A-Za-z0-9_.-]", "_", str(get_worker().name))
        except ValueError:
            pass
    return "main"


def prepare_brian(root: str | Path, slot: str) -> Path:
    """Set this process up for running points with Brian2; returns the slot's directory.

    - Brian2's Cython cache (and BRAINBRIDGE_STANDALONE_DIR) go to `root/slot`,
      or to a directory under the system's temporary directory when `root`
      cannot be created (a remote worker that does not see the store).
    - Ctrl-C raises at once: by default Brian2 answers a first Ctrl-C by ending
      the simulation early and returning normally, which would store a
      truncated point as if it had finished.
    """
    import brian2

    brian2.prefs.core.stop_on_keyboard_interrupt = False

    slot_dir = Path(root) / slot
    try:
        (slot_dir / "cython").mkdir(parents=True, exist_ok=True)
    except OSError:
        slot_dir = Path(tempfile.gettempdir()) / f"brainbridge-brian-{os.getuid()}" / slot
        (slot_dir / "cython").mkdir(parents=True, exist_ok=True)
    brian2.prefs.codegen.runtime.cython.cache_dir = str(slot_dir / "cython")
    os.environ[STANDALONE_ENV] = str(slot_dir / "standalone")
    return slot_dir


def _metrics(result) -> dict[str, float]:
    if not isinstance(result, dict):
        raise TypeError(f"point() must return a flat dict of numbers, got {type(result).__name__}")
    out = {}
    for k, v in result.items():
        try:
            out[str(k)] = float(v)
        except (TypeError, ValueError):
            raise TypeError(f"point() must return a flat dict of numbers; "
                            f"metric {k!r} is {type(v).__name__}") from None
    return out


def execute_point(study: str, module_name: str, params, seed: int, brian_root: str) -> dict:
    """Run one point where it is scheduled; never raises for an error inside the study.

    Returns {"status": "ok", "metrics": {...}} or {"status": "failed", "error",
    "traceback"}, plus elapsed_s, started_unix, worker, host, finished_utc and versions.
    """
    slot = _slot()
    prepare_brian(brian_root, slot)
    module = importlib.import_module(module_name)
    started, start = time.time(), time.perf_counter()
    try:
        out = {"status": "ok", "metrics": _metrics(module.point(params, seed))}
    except Exception as err:  # the point's own error: record it, let the grid go on
        out = {"status": "failed", "error": f"{type(err).__name__}: {err}",
               "traceback": traceback.format_exc()}
    out.update(elapsed_s=time.perf_counter() - start, started_unix=started, worker=slot,
               host=socket.gethostname(), finished_utc=_now(), versions=versions())
    return out


def _now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


# ---------------------------------------------------------------- client side

@dataclass
class RunResult:
    """What a run (or a report) produced.

    table:    the tidy results table (also written to results.csv).
    figures:  paths of the figures written.
    computed: points computed by this run; reused: points found in the store.
    failed:   {point key: "Error: message"} for grid points whose last attempt failed.
    """

    study: str
    out_dir: Path
    table: pd.DataFrame
    figures: list[Path] = field(default_factory=list)
    computed: int = 0
    reused: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    retried: bool = False
    figure_error: str | None = None  # traceback when figures() raised
    findings: str | None = None      # the study's own summary(table) of what it found

    @property
    def ok(self) -> bool:
        return not self.failed and self.figure_error is None

    def summary(self) -> str:
        n = self.computed + self.reused + len(self.failed)
        lines = [f"{self.study}: {n} points — {self.computed} computed, {self.reused} reused, "
                 f"{len(self.failed)} failed"]
        for key, error in list(self.failed.items())[:5]:
            lines.append(f"  failed {key}: {error}  (traceback in failed/{key}.json)")
        if len(self.failed) > 5:
            lines.append(f"  ... and {len(self.failed) - 5} more in {self.out_dir / 'failed'}")
        if self.failed and not self.retried:
            lines.append("  failed points are not rerun by default; add --retry-failed to rerun them")
        if self.findings:
            lines.append("findings:\n" + self.findings)
        lines.append(f"table: {self.out_dir / 'results.csv'}")
        if self.figures:
            lines.append(f"figures: {', '.join(str(p) for p in self.figures)}")
        if self.figure_error:
            lines.append(f"drawing the figures failed (the points are stored; fix figures() and "
                         f"run `brainbridge report {self.study}`):\n{self.figure_error}")
        return "\n".join(lines)


def make_params(name: str, *, preset: str | None = None, config: str | Path | None = None,
                overrides: dict | None = None, sets: list[str] | None = None):
    """A study's Params: a preset ("tiny", "quick" or the defaults), then a TOML config,
    then Python `overrides`, then `--set key=value` strings; each checked by name and type."""
    module = registry.load(name)
    choices = registry.presets(module)
    key = preset or "default"
    if key not in choices:
        raise ValueError(f"study {name!r} has no preset {preset!r}; it has: "
                         f"{', '.join(k for k in choices if k != 'default')}")
    p = _params.normalise(name, choices[key])
    if config is not None:
        p = _params.with_values(name, p, _params.read_config(name, config))
    if overrides:
        p = _params.with_values(name, p, overrides)
    if sets:
        p = _params.with_text(name, p, sets)
    return p


def _store_for(name: str, out) -> Store:
    return Store(out if out is not None else Path("results") / name)


def run(name: str, params=None, *, preset: str | None = None, overrides: dict | None = None,
        workers: int | None = None, scheduler: str | None = None, out: str | Path | None = None,
        retry_failed: bool = False, progress: bool = True) -> RunResult:
    """Run study `name`'s grid and draw its figures.

    params:    a Params instance; by default `make_params(name, preset=..., overrides=...)`.
    workers:   run on a LocalCluster of this many worker processes.
    scheduler: address of an existing Dask scheduler (exclusive with `workers`).
    out:       the study's results directory (default results/<name>).
    retry_failed: rerun points whose earlier attempt failed.
    Returns a RunResult; raises ValueError on an unknown study or bad parameters.
    """
    if workers is not None and scheduler is not None:
        raise ValueError("give either workers or scheduler, not both")
    if workers is not None and workers < 1:
        raise ValueError(f"workers must be at least 1, got {workers}")
    module = registry.load(name)
    if params is None:
        params = make_params(name, preset=preset, overrides=overrides)
    elif not isinstance(params, module.Params):
        raise TypeError(f"params must be a {module.__name__}.Params, got {type(params).__name__}")
    else:
        params = _params.normalise(name, params)
    points = _params.expand(name, module, params)
    store = _store_for(name, out)
    param_names = [n for n in _params.point_values(params, 0) if n != "seed"]
    store.write_manifest({"study": name, "created_utc": _now(),
                          "params": _params.point_values(params, 0) | {"seeds": list(params.seeds)},
                          "param_names": param_names, "keys": [p.key for p in points]})

    done, failed_before = store.done(), store.failures()
    pending = [p for p in points if p.key not in done and (retry_failed or p.key not in failed_before)]
    reused = sum(p.key in done for p in points)
    computed = 0
    failing = {p.key for p in points} & failed_before
    from tqdm.auto import tqdm
    bar = tqdm(total=len(points), initial=len(points) - len(pending), desc=name, unit="point",
               disable=not progress, file=sys.stderr, dynamic_ncols=True)
    with bar:
        for point, record in _execute(name, module.__name__, pending, store, workers, scheduler):
            record = {"study": name, "key": point.key, "values": point.values, **record}
            if record.pop("status") == "ok":
                store.save(point.key, record)
                computed += 1
                failing.discard(point.key)
            else:
                store.save_failure(point.key, record)
                failing.add(point.key)
            bar.update(1)
            bar.set_postfix(failed=len(failing), refresh=False)

    failures = store.failures()
    failed = {p.key: store.failure(p.key)["error"] for p in points if p.key in failures}
    table = store.table([p.key for p in points], param_names)
    store.write_table(table)
    figures, figure_error = _draw_safely(module, table, store)
    return RunResult(name, store.root, table, figures, computed, reused, failed, retry_failed,
                     figure_error, _findings(module, table))


def _execute(name, module_name, pending, store, workers, scheduler):
    """Yield (point, record) as points finish, in whatever order they finish."""
    if not pending:
        return
    brian_root = str(store.brian)
    if workers is None and scheduler is None:
        yield from _execute_here(name, module_name, pending, brian_root)
        return
    from . import cluster

    yield from cluster.execute(name, module_name, pending, brian_root, workers, scheduler)


def _execute_here(name, module_name, pending, brian_root):
    import brian2
    import dask

    old_cache = brian2.prefs.codegen.runtime.cython.cache_dir
    old_stop = brian2.prefs.core.stop_on_keyboard_interrupt
    old_env = os.environ.get(STANDALONE_ENV)
    try:
        for point in pending:
            task = dask.delayed(execute_point, pure=False)(name, module_name, point.params,
                                                           point.seed, brian_root)
            yield point, task.compute(scheduler="synchronous")
    finally:  # leave this process's Brian2 settings as they were
        brian2.prefs.codegen.runtime.cython.cache_dir = old_cache
        brian2.prefs.core.stop_on_keyboard_interrupt = old_stop
        if old_env is None:
            os.environ.pop(STANDALONE_ENV, None)
        else:
            os.environ[STANDALONE_ENV] = old_env


def draw(module, table: pd.DataFrame, store: Store) -> list[Path]:
    """Call the study's figures(table, figures_dir) in the shared style; returns the paths."""
    from . import style

    store.figures.mkdir(parents=True, exist_ok=True)
    with style.context():
        paths = module.figures(table, store.figures)
    return [Path(p) for p in (paths or [])]


def _draw_safely(module, table, store) -> tuple[list[Path], str | None]:
    """Figures, or no figures and the traceback: a bug in drawing must not lose the run."""
    if table.empty:
        return [], None
    try:
        return draw(module, table, store), None
    except Exception:
        return [], traceback.format_exc()


def _findings(module, table) -> str | None:
    """The study's optional `summary(table) -> str`; a failure there is reported, not raised."""
    if table.empty or not hasattr(module, "summary"):
        return None
    try:
        return module.summary(table)
    except Exception as err:  # a summary is a convenience: never lose a run over it
        return f"(summary() failed: {type(err).__name__}: {err})"


def report(name: str, out: str | Path | None = None) -> RunResult:
    """Rebuild results.csv and redraw the figures of the latest run from the store."""
    module = registry.load(name)
    store = _store_for(name, out)
    manifest = store.manifest()
    if manifest["study"] != name:
        raise ValueError(f"{store.root} holds results of study {manifest['study']!r}, not {name!r}")
    keys = manifest["keys"]
    table = store.table(keys, manifest["param_names"])
    if table.empty:
        raise ValueError(f"no finished points in {store.root}; run the study first")
    store.write_table(table)
    failures = store.failures()
    failed = {k: store.failure(k)["error"] for k in keys if k in failures}
    done = store.done()
    figures, figure_error = _draw_safely(module, table, store)
    return RunResult(name, store.root, table, figures, 0, sum(k in done for k in keys), failed,
                     True, figure_error, _findings(module, table))
