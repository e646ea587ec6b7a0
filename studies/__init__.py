"""studies: runnable studies and the machinery they share (CLI, Dask runner, store, figure style).

Command line (`brainbridge ...` or `python -m studies ...`):

    brainbridge list [NAME]                       studies, descriptions, parameters and defaults
    brainbridge run NAME [--set key=value ...] [--config FILE.toml] [--tiny | --quick]
                         [--workers N | --scheduler ADDRESS] [--out DIR] [--retry-failed]
    brainbridge report NAME [--out DIR]           rebuild results.csv and the figures, no compute

Python:

    import studies
    res = studies.run("toy", preset="tiny", overrides={"seeds": (0, 1)}, workers=2)
    res.table          # tidy DataFrame, also in results/toy/results.csv
    studies.report("toy")

Writing a study
===============
A study is one module `studies/<name>.py`, registered by one line in
`studies/registry.py` (`"name": "studies.name"`). It holds no I/O, scheduling
or caching; the runner owns those. It defines:

- A docstring whose FIRST LINE is the one-line description `brainbridge list`
  shows, followed by the question and the answer its figure gives.
- `Params`: a frozen dataclass; its fields and defaults are what `list` shows
  and `--set` changes. Field types: int, float, bool, str, `tuple[T, ...]` of
  those, or any of them `| None` (tuples are written "0,1,2" on the command
  line). It must have `seeds: tuple[int, ...]`. Avoid the field names seed,
  metric, value, study, point (they are table columns).
- Sweeps (the grid rule): a field made with `studies.axis(...)` is a sweep
  axis, e.g. `model: tuple[str, ...] = axis("mlp", "cnn")`. The grid is the
  Cartesian product of all axis fields and `seeds`; inside `point()` each
  axis field holds ONE value (`params.model == "mlp"`). A plain tuple field
  (e.g. `hidden: tuple[int, ...] = (128, 64)`) is not swept. For a grid that
  is not a full product, define `grid(params) -> list[dict]` instead: each
  dict is one point's overrides of Params fields plus its "seed" (use
  `studies.product(...)` to build products).
- Allowed values (checked before any point runs, so a typo never costs a
  training): say them with `studies.param(default, choices=...)` or bounds
  (`at_least=`, `above=`, `at_most=`, `below=`), and the same keywords on
  `axis(...)`, e.g. `target: str = param("cython", choices=("numpy", "cython",
  "cpp_standalone"))`, `severity: tuple[float, ...] = axis(0.0, 0.5, at_least=0.0,
  at_most=1.0)`. Floats must be finite and seeds in [0, 2**32) everywhere. For
  a rule across fields, define `check(params)` raising ValueError; it is called
  with every point's Params (one value per axis, as `point()` sees them)
  before the first point runs.
- `TINY`: a Params instance that runs in seconds (tests run it end to end);
  optionally `QUICK` (used by `--quick`).
- `point(params, seed) -> dict[str, float]`: computes one point from the
  Params of that point and the seed (seed every random generator from it);
  returns a flat dict of named numbers (NaN allowed). An exception marks the
  point failed; the runner records the traceback and goes on. Every point runs
  torch on one thread (studies.worker.one_torch_thread: the same numbers on any
  machine); optional `TORCH = False` says the points never use torch, so it is
  not imported for them.
- `figures(table, out_dir) -> list[Path]`: draws from the tidy table (columns:
  study, point, every parameter, seed, metric, value, elapsed_s, worker,
  brainbridge, brian2, torch, numpy, git); make figures with
  `studies.style.figure(nrows, ncols)`, draw mean ± spread over seeds with
  `studies.style.mean_spread(ax, table, x=..., metric=..., by=...)`, and save
  with `studies.style.save(fig, out_dir, name)` (PNG + SVG, returns the paths).
- Optional `summary(table) -> str`: a few lines stating what the run found;
  printed after `run` and `report`. If it raises, the traceback is printed as a
  warning and the command exits with status 1 (the points are kept).
- Optional `VERSION = 1`: part of every point's key; bump it when a change to
  the study makes stored points stale.

What the runner guarantees (see runner.py and store.py): a point's key is a
hash of the study name, VERSION, its parameter values and seed, so rerunning
with more seeds or a longer axis computes only the new points; each finished
point is one JSON file written atomically, so a killed run resumes where it
stopped; a stored file found unreadable or holding another point is set aside
(with a warning) and recomputed; a point that raises is recorded with its
traceback in failed/ and rerun only with `--retry-failed`; one run at a time
writes a results folder, and a folder holds one study's results; points run
in-process (Dask's synchronous scheduler), on `--workers N` local processes or
on a `--scheduler` cluster; each process that runs points holds its own slot
of a per-user cache of compiled Brian2 code ($BRAINBRIDGE_CACHE_DIR, default
~/.cache/brainbridge; see cache.py), which outlives results folders, and
studies that use cpp_standalone find that slot's build directory in the
environment variable BRAINBRIDGE_STANDALONE_DIR. See `studies/toy.py` for a
complete small example.
"""
from importlib import import_module

from .params import axis, param, product

_LAZY = {"run": "studies.runner", "report": "studies.runner", "make_params": "studies.runner",
         "RunResult": "studies.runner", "load": "studies.registry", "STUDIES": "studies.registry",
         "style": "studies.style", "runner": "studies.runner", "registry": "studies.registry",
         "store": "studies.store", "params": "studies.params", "cache": "studies.cache",
         "worker": "studies.worker", "locks": "studies.locks"}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'studies' has no attribute {name!r}")
    module = import_module(_LAZY[name])
    value = module if _LAZY[name] == f"studies.{name}" else getattr(module, name)
    globals()[name] = value
    return value


__all__ = ["axis", "param", "product", *_LAZY]
