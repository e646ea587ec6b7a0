"""Running points on local worker processes (`--workers N`): plain processes, no Dask.

Each of N worker processes is started once (spawn), claims its own Brian2 slot of
the per-user cache (see cache.py), ignores Ctrl-C (this process answers it and
stops them), and runs points one at a time in its main thread; this process writes
the store as results arrive, in finishing order. It replaced a Dask LocalCluster,
on whose workers the same point took 1.17x as long as in-process and whose start
and close cost ~5 s per run: two workers reached 1.36x of one process where two
independent processes doing the same work reached 1.83x (benchmarks/sweep_scaling.py,
2026-12-02). Existing clusters are reached with `--scheduler` (cluster.py).
"""
from __future__ import annotations

import concurrent.futures
import concurrent.futures.process
import contextlib
import multiprocessing
import os
import shutil
import signal
import tempfile
import threading
import time
import traceback

from . import worker as _worker
from .cache import Slot

NAME_ENV = "BRAINBRIDGE_WORKER_NAME"
_HELD: dict = {}  # in a worker process: its slot, held until the process ends


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def _start(counter, jobs: str, runner: int) -> None:
    """In each worker process, once: a name (0..N-1), its own Brian2 slot, Ctrl-C ignored."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with counter.get_lock():
        name = str(counter.value)
        counter.value += 1
    os.environ[NAME_ENV] = name
    os.environ.setdefault("BRAINBRIDGE_COMPILE_JOBS", jobs)

    def orphaned() -> None:  # the runner (pid `runner`) was killed: leave, free the slot
        while os.getppid() == runner:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=orphaned, daemon=True).start()
    _HELD["slot"] = Slot()
    _worker.prepare_brian(_HELD["slot"].claim())


def _failed(err: BaseException, why: str = "") -> dict:
    return {"status": "failed", "error": f"{type(err).__name__}: {err}{why}",
            "traceback": "".join(traceback.format_exception(err)), "elapsed_s": float("nan"),
            "worker": "unknown", "host": "unknown", "finished_utc": _worker.now(),
            "versions": _worker.versions()}


def _run(marks: str, key: str, name, module_name, params, seed) -> dict:
    """In a worker: run one point, leaving its key in `marks` while it runs (who was running
    what when a worker process died)."""
    mark = os.path.join(marks, str(os.getpid()))
    with open(mark, "w") as f:
        f.write(key)
    try:
        return _worker.execute_point(name, module_name, params, seed)
    except BaseException as err:  # SystemExit and the like from a point: its failure, not the run's
        return _failed(err)
    finally:
        os.remove(mark)


def _running(marks: str) -> dict[int, str]:
    """{worker pid: key} of the points that were running, and clear the marks."""
    running = {}
    for entry in os.scandir(marks):
        with contextlib.suppress(OSError, ValueError):
            with open(entry.path) as f:
                running[int(entry.name)] = f.read()
            os.remove(entry.path)
    return running


def _round(points, workers: int, marks: str, jobs: str, name, module_name, died: set):
    """Run `points` on a fresh pool of `workers` processes; yield (point, record) as each
    finishes; return the points lost with a worker process that died (BrokenProcessPool).
    `died` receives the pids of the workers that died by themselves (not the ones the pool
    then stopped with SIGTERM)."""
    ctx = multiprocessing.get_context("spawn")
    pool = concurrent.futures.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_start,
                                                  initargs=(ctx.Value("i", 0), jobs, os.getpid()))
    lost, by_future, processes = [], {}, {}
    try:
        for k, point in enumerate(points):
            try:
                by_future[pool.submit(_run, marks, point.key, name, module_name, point.params,
                                      point.seed)] = point
            except concurrent.futures.process.BrokenProcessPool:  # broke while submitting
                lost += points[k:]
                break
            processes.update(getattr(pool, "_processes", None) or {})
        for fut in concurrent.futures.as_completed(by_future):
            point = by_future.pop(fut)
            processes.update(getattr(pool, "_processes", None) or {})
            try:
                record = fut.result()
            except concurrent.futures.process.BrokenProcessPool:
                lost.append(point)
                continue
            except Exception as err:  # noqa: BLE001 - e.g. a result that cannot be sent back
                record = _failed(err)
            yield point, record
    except BaseException:  # Ctrl-C or the caller stopped: stop the workers now
        for process in list((getattr(pool, "_processes", None) or {}).values()):
            process.terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)
    died.update(pid for pid, process in processes.items()
                if process.exitcode is not None and process.exitcode != -signal.SIGTERM)
    return lost


def execute(name, module_name, pending, workers: int):
    """Run `pending` points on `workers` local processes; yield (point, record) as each finishes.

    A worker process that dies (killed for memory, a crash in compiled code) takes down the
    pool, which stops the other workers: the point the dead worker was running is run again
    alone and, if it kills its process again, stored as failed; every other unfinished point
    runs again on a new pool. Workers that die before running any point stop the run with an
    error. Ctrl-C here stops the workers at once; a worker whose runner was killed exits.
    """
    # Brian2 code missing from a worker's slot compiles in helper processes (bio.compile_pool),
    # one per core by default: the workers share the cores
    jobs = os.environ.get("BRAINBRIDGE_COMPILE_JOBS") or str(max(1, _cores() // workers))
    marks = tempfile.mkdtemp(prefix="brainbridge_running_")
    try:
        todo = list(pending)
        while todo:
            died: set[int] = set()
            lost = yield from _round(todo, workers, marks, jobs, name, module_name, died)
            running = _running(marks)  # {pid: key} of the points running when the pool broke
            if not lost:
                break
            suspects = {running[pid] for pid in died if pid in running} or set(running.values())
            suspects &= {p.key for p in lost}
            if not suspects:  # a worker died between points or while starting
                if len(lost) == len(todo) and not died & set(running):
                    raise RuntimeError("the worker processes died before running any point; run "
                                       "without --workers to see the error")
                todo = lost
                continue
            for point in [p for p in lost if p.key in suspects]:
                again = yield from _round([point], 1, marks, jobs, name, module_name, set())
                _running(marks)
                if again:
                    yield point, _failed(concurrent.futures.process.BrokenProcessPool(
                        "the worker process died while running this point, twice"),
                        " (it ran alone the second time: this point kills its process)")
            todo = [p for p in lost if p.key not in suspects]
    finally:
        shutil.rmtree(marks, ignore_errors=True)
