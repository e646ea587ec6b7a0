"""Running points on a Dask cluster: a LocalCluster of worker processes, or an existing one.

Kept apart from runner.py so that an in-process run never imports `distributed`.
Each worker runs points one at a time (one thread per worker) and hands back a
record; this process writes the store as results arrive (`as_completed`), so
workers on other machines need not see its file system.
"""
from __future__ import annotations

import contextlib
import logging
import re
import traceback
import uuid

from distributed import Client, LocalCluster, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from . import runner


def slot_name(worker_name) -> str:
    """A worker's name made safe as a directory name (LocalCluster names workers 0..N-1)."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", str(worker_name))


class BrianSetup(WorkerPlugin):
    """Prepare each worker for Brian2 before it runs a point.

    Brian2's import installs a SIGINT handler, which Python allows only in a
    process's main thread; Dask runs tasks in other threads, so the import
    happens here, in the worker's main thread. The worker also gets its own
    persistent Cython cache (see runner.prepare_brian).
    """

    idempotent = True

    def __init__(self, brian_root: str):
        self.brian_root = brian_root

    def setup(self, worker) -> None:
        runner.prepare_brian(self.brian_root, slot_name(worker.name))


def execute(name, module_name, pending, brian_root, workers=None, scheduler=None):
    """Run `pending` points; yield (point, record) as each finishes, in finishing order.

    workers:   start a LocalCluster of that many single-threaded worker processes;
    scheduler: or connect to an existing scheduler at this address.
    """
    with contextlib.ExitStack() as stack:
        if scheduler is not None:
            client = stack.enter_context(Client(scheduler))
        else:
            cluster = stack.enter_context(LocalCluster(
                n_workers=workers, threads_per_worker=1, processes=True,
                dashboard_address=":0",  # any free port: never collide with another cluster
                silence_logs=logging.ERROR))
            client = stack.enter_context(Client(cluster))
        client.register_plugin(BrianSetup(brian_root), name="brainbridge-brian")
        tag = uuid.uuid4().hex[:8]  # task keys stay unique on a shared scheduler
        by_key, futures = {}, []
        for point in pending:
            fut = client.submit(runner.execute_point, name, module_name, point.params, point.seed,
                                brian_root, key=f"{name}-{point.key}-{tag}")
            by_key[fut.key] = point
            futures.append(fut)
        for fut in as_completed(futures):
            point = by_key.pop(fut.key)
            try:
                record = fut.result()
            except Exception as err:  # the worker died (e.g. KilledWorker), not the study
                record = {"status": "failed", "error": f"{type(err).__name__}: {err}",
                          "traceback": traceback.format_exc(), "elapsed_s": float("nan"),
                          "worker": "unknown", "host": "unknown", "finished_utc": runner._now(),
                          "versions": runner.versions()}
            fut.release()
            yield point, record
