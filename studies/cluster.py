"""Running points on an existing Dask cluster (`--scheduler ADDRESS`).

`--workers N` on this machine runs plain processes instead (processes.py). Kept
apart from runner.py so that an in-process run never imports `distributed`.
Each worker runs points one at a time and hands back a record; this process
writes the store as results arrive (`as_completed`), so workers on other
machines need not see its file system. Each worker compiles Brian2 code into
its own slot of its own machine's cache (see cache.py).
"""
from __future__ import annotations

import traceback
import uuid

from distributed import Client, as_completed
from distributed.diagnostics.plugin import WorkerPlugin

from . import worker as _worker
from .cache import Slot


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


def execute(name, module_name, pending, scheduler):
    """Run `pending` points on the Dask cluster whose scheduler is at `scheduler`; yield
    (point, record) as each finishes, in finishing order."""
    with Client(scheduler) as client:
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
