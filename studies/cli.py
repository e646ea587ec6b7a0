"""The `brainbridge` command: list, run and report studies.

Exit status:
  0    every point is stored, the figures drawn and the study's summary written;
  1    some points failed, or figures() or summary() raised (points are stored;
       the traceback is printed, as a warning on stderr for summary());
  2    refused before anything ran: an unknown study or parameter, a value its
       field does not allow, an empty grid, a results folder that holds another
       study's results or that another run is writing (the message names it and
       the holder's pid);
  130  interrupted by Ctrl-C (SIGINT): finished points are stored, run again to go
       on. A process started with SIGINT ignored (nohup, `cmd &` in a script)
       keeps ignoring it, as asked; stop it with SIGTERM (finished points stay).

Warnings (for example a stored file found unsound and set aside) go to stderr.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import sys

from . import params as _params
from . import registry
from .locks import FolderBusy


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="brainbridge", description="Run brainbridge studies: grids of points, resumable, "
        "in parallel on local processes or a Dask cluster, with a tidy results table and figures.")
    sub = parser.add_subparsers(dest="command", metavar="{list,run,report}")

    p_list = sub.add_parser("list", help="list studies with their parameters and defaults")
    p_list.add_argument("name", nargs="?", help="show only this study")

    p_run = sub.add_parser("run", help="run a study's grid (skips points already stored)")
    p_run.add_argument("name", help="study name (see `brainbridge list`)")
    p_run.add_argument("--set", dest="sets", metavar="KEY=VALUE", nargs="+", action="extend",
                       default=[], help="change a parameter; tuples as 0,1,2; repeatable")
    p_run.add_argument("--config", metavar="FILE.toml",
                       help="parameter values from a TOML file (applied before --set)")
    preset = p_run.add_mutually_exclusive_group()
    preset.add_argument("--tiny", action="store_true", help="start from the TINY preset (seconds)")
    preset.add_argument("--quick", action="store_true", help="start from the QUICK preset")
    where = p_run.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, metavar="N",
                       help="run on N worker processes on this machine")
    where.add_argument("--scheduler", metavar="ADDRESS",
                       help="run on an existing Dask cluster, e.g. tcp://host:8786")
    p_run.add_argument("--out", metavar="DIR", help="results directory (default results/NAME)")
    p_run.add_argument("--retry-failed", action="store_true",
                       help="rerun points that failed before (by default they are only reported)")
    p_run.add_argument("--no-progress", action="store_true", help="no progress bar")

    p_report = sub.add_parser("report", help="rebuild results.csv and figures from stored points")
    p_report.add_argument("name", help="study name")
    p_report.add_argument("--out", metavar="DIR", help="results directory (default results/NAME)")
    return parser


def _format(value) -> str:
    if isinstance(value, tuple):
        return ", ".join(map(str, value)) if value else "(empty)"
    return repr(value) if isinstance(value, str) else str(value)


def describe(name: str) -> str:
    """A study's entry in `brainbridge list`: description, parameters, presets, grid size."""
    try:
        module = registry.load(name)
    except Exception as err:  # one broken study must not hide the others
        return f"{name}\n    (cannot be loaded: {type(err).__name__}: {err})"
    defaults = module.Params()
    ftypes = _params.field_types(module.Params)
    width = max(map(len, ftypes))
    lines = [f"{name} — {registry.description(module)}"]
    for fname, ftype in ftypes.items():
        kind = "seeds" if fname == "seeds" else ftype.describe()
        lines.append(f"    {fname:<{width}} = {_format(getattr(defaults, fname)):<24} {kind}")
    n = len(_params.expand(name, module, _params.normalise(name, defaults)))
    lines.append(f"    presets: {', '.join(registry.presets(module))};  default grid: {n} points")
    return "\n".join(lines)


def _list(args) -> int:
    names = [args.name] if args.name else registry.names()
    if args.name and args.name not in registry.STUDIES:
        raise ValueError(f"unknown study {args.name!r}; choose one of: {', '.join(registry.STUDIES)}")
    unwritten = [n for n in names if not registry.available(n)]
    print("\n\n".join(describe(n) for n in names if n not in unwritten))
    if unwritten:
        print(f"\n(registered, not written yet: {', '.join(unwritten)})")
    return 0


def _run(args) -> int:
    import matplotlib

    matplotlib.use("Agg")  # a batch command: never open windows
    from . import runner

    preset = "tiny" if args.tiny else "quick" if args.quick else None
    p = runner.make_params(args.name, preset=preset, config=args.config, sets=args.sets)
    result = runner.run(args.name, p, workers=args.workers, scheduler=args.scheduler,
                        out=args.out, retry_failed=args.retry_failed,
                        progress=not args.no_progress)
    print(result.summary())
    return 0 if result.ok else 1


def _report(args) -> int:
    import matplotlib

    matplotlib.use("Agg")
    from . import runner

    result = runner.report(args.name, out=args.out)
    print(result.summary())
    return 0 if result.figure_error is None and result.summary_error is None else 1


@contextlib.contextmanager
def _warnings_to_stderr():
    """The runner's warnings ("studies" logger) on stderr as `brainbridge: warning: ...`."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("brainbridge: warning: %(message)s"))
    logger = logging.getLogger("studies")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    if getattr(args, "workers", None) is not None and args.workers < 1:
        parser.error(f"--workers must be at least 1, got {args.workers}")
    try:
        with _warnings_to_stderr():
            return {"list": _list, "run": _run, "report": _report}[args.command](args)
    except (ValueError, FileNotFoundError, FolderBusy) as err:
        print(f"brainbridge {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\ninterrupted: finished points are stored; run the same command again to go on",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
