"""Running points on a Dask cluster: a LocalCluster of worker processes, or an existing one.

Kept apart from runner.py so that an in-process run never imports `distributed`.
Each worker runs points one at a time and hands back a record; this process
writes the store as results arrive (`as_completed`), so workers on other
machines need not see its file system. Each worker compiles Brian2 code into
its own slot of its own machine's cache (see cache.py).
"""
from __future__ import annotations

import contextlib
import logging
import os
import traceback
import uuid

import dask
from distributed import Client, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from . import worker as _worker
from .cache import Slot


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class BrianSetup(WorkerPlugin):
    """Prepare each worker for Brian2 before it runs a point.

    Brian2's import installs a SIGINT handler, which Python allows only in a
    process's main thread; Dask runs tasks in other threads, so the import
    happens here, in the worker's main thread. The worker claims a Brian2 slot
    of its machine's cache (see cache.py) and holds it until it closes.
    """

    idempotent = True  # registered again by a later run on the same cluster: keep the first

    def __init__(self):
        self.slots: dict[str, Slot] = {}  # by worker address: threaded workers may share a plugin

    def setup(self, worker) -> None:
        slot = self.slots.setdefault(worker.address, Slot())
        _worker.prepare_brian(slot.claim())

    def teardown(self, worker) -> None:
        slot = self.slots.pop(worker.address, None)
        if slot is not None:
            slot.release()


def execute(name, module_name, pending, workers=None, scheduler=None):
    """Run `pending` points; yield (point, record) as each finishes, in finishing order.

    workers:   start a LocalCluster of that many single-threaded worker processes;
    scheduler: or connect to an existing scheduler at this address.
    """
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(Client(scheduler))
        else:
            # the workers' statistical profiler samples the running point's stack every 10 ms
            # for a dashboard this runner never shows; off, an idle worker used 0.45 s of CPU per
            # 10 s instead of 0.75 s (two workers on the 2-core build machine, 2026-12)
            stack.enter_context(dask.config.set({"distributed.worker.profile.enabled": False}))
            # Brian2 code missing from a worker's cache compiles in a pool of helper processes
            # (bio.compile_pool), one per core by default: share the cores among the workers
            jobs = os.environ.get("BRAINBRIDGE_COMPILE_JOBS") or str(max(1, _cores() // workers))
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=":0",  # any free port: never collide with another cluster
                silence_logs=logging.ERROR, env={"BRAINBRIDGE_COMPILE_JOBS": jobs}))
            client = stack.enter_context(Client(cluster))
        client.register_plugin(BrianSetup(), name="brainbridge-brian")
        tag = uuid.uuid4().hex[:8]  # task keys stay unique on a shared scheduler
        by_key, futures = {}, []
        for point in pending:
            fut = client.submit(_worker.execute_point, name, module_name, point.params, point.seed,
                                key=f"{name}-{point.key}-{tag}")
            by_key[fut.key] = point
            futures.append(fut)
        for fut in as_completed(futures):
            point = by_key.pop(fut.key)
            try:
                record = fut.result()
            except Exception as err:  # the worker died (e.g. KilledWorker), not the study
                record = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                          "traceback": traceback.format_exc(), "elapsed_s": float("nan"),
                          "worker": "unknown", "host": "unknown", "finished_utc": _worker.now(),
                          "versions": _worker.versions()}
            fut.release()
            yield point, record
