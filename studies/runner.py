"""Running a study's grid: checks, the resumable store, Dask scheduling, progress, figures.

`run("toy", preset="tiny", workers=2)` checks the parameters and expands the
grid, takes the results folder's lock, checks that the folder holds this
study's results and that its files are sound, skips points already stored,
runs the rest and stores each as it finishes, then writes
`results.csv` and draws the figures. Three ways to run the points:

- in-process (default): one after another in this process through Dask's
  synchronous scheduler, so a traceback, `pdb` or a profiler sees the real code
  and Ctrl-C stops at once;
- `workers=N`: N worker processes on this machine, each running points one at a
  time in its main thread (processes.py; plain processes rather than a Dask
  LocalCluster, whose workers ran each point 1.17x slower and took ~5 s to start
  and close). The workers are spawned, so a script calling `run(..., workers=N)`
  needs the usual `if __name__ == "__main__":` guard;
- `scheduler="tcp://host:8786"`: an existing Dask cluster (for example one
  started by dask-jobqueue on Slurm); the workers send results back to this
  process, which writes the store, so they need not share its file system.

Everything a user can get wrong is refused before the first point runs, with a
ValueError that names what was wrong and what is allowed: a parameter's type,
value or range (params.py), an empty grid, the study's own `check(params)`, a
results folder that holds another study's results, or one that another run is
writing (locks.FolderBusy). A stored file that is unreadable or holds another
point is named in a warning, set aside and its point computed again.

A point that raises is stored in `failed/` with its traceback and the others
go on. A rerun does not retry failed points unless `retry_failed=True`
(`--retry-failed`): a point that failed because of a bug or a bad parameter
would fail again, so resuming a long grid should not spend time on it.

Brian2: each process that runs points holds its own slot of a per-user cache of
compiled code (cache.py), which outlives results folders, so a run into a new
folder does not compile again; BRAINBRIDGE_STANDALONE_DIR names the slot's
directory for `cpp_standalone` builds. Warnings go to the logger "studies".
"""
from __future__ import annotations

import logging
import sys
import traceback
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import params as _params
from . import registry
from .cache import Slot
from .store import Store
# the worker side, importable from here as before
from .worker import STANDALONE_ENV, execute_point, git_revision, prepare_brian, versions  # noqa: F401
from .worker import brian_prepared, now

log = logging.getLogger(__name__)


@dataclass
class RunResult:
    """What a run (or a report) produced.

    table:    the tidy results table (also written to results.csv).
    figures:  paths of the figures written.
    computed: points computed by this run; reused: points found in the store.
    failed:   {point key: "Error: message"} for grid points whose last attempt failed.
    set_aside: stored files found unsound and moved to corrupt/ (their points recomputed).
    """

    study: str
    out_dir: Path
    table: pd.DataFrame
    figures: list[Path] = field(default_factory=list)
    computed: int = 0
    reused: int = 0
    failed: dict[str, str] = field(default_factory=dict)
    retried: bool = False
    figure_error: str | None = None   # traceback when figures() raised
    findings: str | None = None       # the study's own summary(table) of what it found
    summary_error: str | None = None  # traceback when summary(table) raised
    set_aside: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Every point stored, figures drawn and the study's summary written."""
        return not self.failed and self.figure_error is None and self.summary_error is None

    def summary(self) -> str:
        n = self.computed + self.reused + len(self.failed)
        lines = [f"{self.study}: {n} points — {self.computed} computed, {self.reused} reused, "
                 f"{len(self.failed)} failed"]
        if self.set_aside:
            lines.append(f"  {len(self.set_aside)} unsound stored file(s) set aside in corrupt/ "
                         "and their points computed again (see the warnings)")
        for key, error in list(self.failed.items())[:5]:
            lines.append(f"  failed {key}: {error}  (traceback in failed/{key}.json)")
        if len(self.failed) > 5:
            lines.append(f"  ... and {len(self.failed) - 5} more in {self.out_dir / 'failed'}")
        if self.failed and not self.retried:
            lines.append("  failed points are not rerun by default; add --retry-failed to rerun them")
        if self.findings:
            lines.append("findings:\n" + self.findings)
        if self.summary_error:
            last = self.summary_error.strip().splitlines()[-1]
            lines.append(f"the study's summary(table) failed: {last} (traceback in the warning "
                         "above); the points and figures are stored")
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
    then Python `overrides`, then `--set key=value` strings; each checked by name, type and
    the values its field allows."""
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


def _key_of(name: str, module):
    version = getattr(module, "VERSION", 1)
    return lambda values: _params.point_key(name, version, values)


def _check_points(name: str, module, points) -> None:
    """The study's own optional `check(params)` on every point, before any of them runs."""
    check = getattr(module, "check", None)
    if check is None:
        return
    for point in points:
        try:
            check(point.params)
        except ValueError as err:
            raise ValueError(f"study {name!r}: {err}") from None


def _refuse_another_study(store: Store, name: str) -> None:
    """Refuse a folder that holds another study's results."""
    owner = store.owner()
    if owner is not None and owner != name:
        raise ValueError(f"results folder {store.root} holds results of study {owner!r}; "
                         f"refusing to run study {name!r} there (their points and tables would "
                         "mix); give another --out")


def _audit(store: Store, name: str, module, keys) -> list[str]:
    moved = store.audit(keys, name, _key_of(name, module))
    for message in moved:
        log.warning("%s", message)
    return moved


def run(name: str, params=None, *, preset: str | None = None, overrides: dict | None = None,
        workers: int | None = None, scheduler: str | None = None, out: str | Path | None = None,
        retry_failed: bool = False, progress: bool = True) -> RunResult:
    """Run study `name`'s grid and draw its figures.

    params:    a Params instance; by default `make_params(name, preset=..., overrides=...)`.
    workers:   run on this many local worker processes (studies/processes.py).
    scheduler: address of an existing Dask scheduler (exclusive with `workers`).
    out:       the study's results directory (default results/<name>).
    retry_failed: rerun points whose earlier attempt failed.
    Returns a RunResult. Raises, before any point runs and before the folder is
    written: ValueError on an unknown study, bad parameters, an empty grid or a
    folder holding another study's results; locks.FolderBusy while another
    process writes the folder.
    """
    if workers is not None and scheduler is not None:
        raise ValueError("give either workers or scheduler, not both")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers must be an integer of at least 1, got {workers!r}")
    module = registry.load(name)
    if params is None:
        params = make_params(name, preset=preset, overrides=overrides)
    elif not isinstance(params, module.Params):
        raise TypeError(f"params must be a {module.__name__}.Params, got {type(params).__name__}")
    else:
        params = _params.normalise(name, params)
    points = _params.expand(name, module, params)
    _check_points(name, module, points)
    store = _store_for(name, out)
    with store.lock():
        _refuse_another_study(store, name)
        keys = [p.key for p in points]
        set_aside = _audit(store, name, module, keys)
        values = _params.point_values(params, 0)
        param_names = [n for n in values if n != "seed"]
        store.write_manifest({"study": name, "created_utc": now(),
                              "params": values | {"seeds": list(params.seeds)},
                              "param_names": param_names, "keys": keys})

        done, failed_before = store.done(), store.failures()
        pending = [p for p in points
                   if p.key not in done and (retry_failed or p.key not in failed_before)]
        reused = sum(p.key in done for p in points)
        computed = 0
        failing = set(keys) & failed_before
        from tqdm.auto import tqdm
        bar = tqdm(total=len(points), initial=len(points) - len(pending), desc=name, unit="point",
                   disable=not progress, file=sys.stderr, dynamic_ncols=True)
        with bar:
            for point, record in _execute(name, module.__name__, pending, workers, scheduler):
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
        failed = {k: store.failure(k)["error"] for k in keys if k in failures}
        table = store.table(keys, param_names)
        store.write_table(table)
        figures, figure_error = _draw_safely(module, table, store)
    findings, summary_error = _findings(name, module, table)
    return RunResult(name, store.root, table, figures, computed, reused, failed, retry_failed,
                     figure_error, findings, summary_error, set_aside)


def _execute(name, module_name, pending, workers, scheduler):
    """Yield (point, record) as points finish, in whatever order they finish."""
    if not pending:
        return
    if workers is None and scheduler is None:
        yield from _execute_here(name, module_name, pending)
        return
    if workers is not None:
        from . import processes

        yield from processes.execute(name, module_name, pending, workers)
        return
    from . import cluster

    yield from cluster.execute(name, module_name, pending, scheduler)


def _execute_here(name, module_name, pending):
    """In this process, one point after another, in this process's own Brian2 slot."""
    import dask

    with Slot() as slot_dir, brian_prepared(slot_dir):
        for point in pending:
            task = dask.delayed(execute_point, pure=False)(name, module_name, point.params,
                                                           point.seed)
            yield point, task.compute(scheduler="synchronous")


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


def _findings(name: str, module, table) -> tuple[str | None, str | None]:
    """The study's optional `summary(table) -> str`, and the traceback if it raised.

    A failing summary does not lose the run (the points and figures are stored),
    but it is not hidden either: a warning with the traceback goes to the
    "studies" logger (stderr by default) and the RunResult is not `ok`, so the
    command exits with status 1.
    """
    if table.empty or not hasattr(module, "summary"):
        return None, None
    try:
        text = module.summary(table)
        if text is not None and not isinstance(text, str):
            raise TypeError(f"summary(table) must return a str, got {type(text).__name__}")
        return text, None
    except Exception:
        tb = traceback.format_exc()
        log.warning("study %r: summary(table) raised; the points and figures are stored, fix "
                    "summary() and run `brainbridge report %s`:\n%s", name, name, tb)
        return None, tb


def report(name: str, out: str | Path | None = None) -> RunResult:
    """Rebuild results.csv and redraw the figures of the latest run from the store."""
    module = registry.load(name)
    store = _store_for(name, out)
    if not store.manifest_path.exists():  # before the lock: never create a folder to report on
        raise FileNotFoundError(f"no run recorded in {store.root}; run the study first")
    with store.lock():
        manifest = store.manifest()
        if manifest["study"] != name:
            raise ValueError(f"results folder {store.root} holds results of study "
                             f"{manifest['study']!r}, not {name!r}")
        keys = manifest["keys"]
        set_aside = _audit(store, name, module, keys)
        table = store.table(keys, manifest["param_names"])
        if table.empty:
            raise ValueError(f"no finished points in {store.root}; run the study first")
        store.write_table(table)
        failures = store.failures()
        failed = {k: store.failure(k)["error"] for k in keys if k in failures}
        done = store.done()
        figures, figure_error = _draw_safely(module, table, store)
    findings, summary_error = _findings(name, module, table)
    return RunResult(name, store.root, table, figures, 0, sum(k in done for k in keys), failed,
                     True, figure_error, findings, summary_error, set_aside)
