"""Scaling out: a real Dask cluster of separate processes, as on a Slurm system.

A `dask scheduler` and two `dask worker` processes (each with its nanny, one thread) are
started on 127.0.0.1 the way dask-jobqueue starts them on compute nodes; `brainbridge run
--scheduler ADDRESS` sends the grid there. The workers see the checkout on their PYTHONPATH and
a Brian2 cache of their own, as remote nodes would; only results travel back.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import runnerstudy
from studies import cache, runner
from studies.cli import main

DASK = str(Path(sys.executable).with_name("dask"))


def _stop(procs: list[subprocess.Popen]) -> None:
    """One after another: SIGTERM (a clean close), then SIGKILL if still running after 20 s."""
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture
def cluster(tmp_path):
    """(scheduler address, worker cache dir) of a scheduler and two workers, torn down after."""
    env = runnerstudy.env(tmp_path / "worker-cache")
    log = open(tmp_path / "cluster.log", "w")
    procs = []
    try:
        scheduler_file = tmp_path / "scheduler.json"
        procs.append(subprocess.Popen(
            [DASK, "scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
             "--scheduler-file", str(scheduler_file)], env=env, cwd=tmp_path, stdout=log,
            stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() or not scheduler_file.read_text().strip():
            assert procs[0].poll() is None, (tmp_path / "cluster.log").read_text()
            assert time.monotonic() < deadline, "the scheduler did not start in 60 s"
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        for name in ("w0", "w1"):
            procs.append(subprocess.Popen(
                [DASK, "worker", address, "--name", name, "--nthreads", "1", "--host", "127.0.0.1",
                 "--no-dashboard", "--death-timeout", "60"], env=env, cwd=tmp_path, stdout=log,
                stderr=subprocess.STDOUT))
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=90)
        yield address, tmp_path / "worker-cache"
    finally:
        _stop(procs[::-1])  # workers first, then the scheduler
        log.close()


@pytest.mark.slow
@pytest.mark.timeout(300)
def test_grid_on_a_separate_scheduler_and_two_workers_equals_the_in_process_run(
        cluster, tmp_path, monkeypatch, capsys):
    address, worker_cache = cluster
    runnerstudy.register(monkeypatch)
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "client-cache"))
    here = runner.run("fake", preset="tiny", out=tmp_path / "here", progress=False)
    assert here.ok

    out = tmp_path / "there"
    assert main(["run", "fake", "--scheduler", address, "--out", str(out), "--no-progress"]) == 0
    assert "4 computed" in capsys.readouterr().out
    there = pd.read_csv(out / "results.csv")

    def values(table):
        return (table.sort_values(["point", "metric"])[["point", "metric", "value"]]
                .reset_index(drop=True))

    pd.testing.assert_frame_equal(values(there), values(here.table))
    assert set(there["worker"]) <= {"w0", "w1"}
    # each worker holds its own Brian2 slot of its own machine's cache, named in its lock file
    slots = sorted(p for p in (cache.brian_root(worker_cache)).iterdir() if (p / "cython").is_dir())
    assert [p.name for p in slots] == ["0", "1"]
    holders = {(p / ".lock").read_text().split()[1] for p in slots}
    assert len(holders) == 2 and str(os.getpid()) not in holders

    # a second run on the same cluster (the plugin is registered already): new points run
    more = runner.run("fake", preset="tiny", overrides={"seeds": (2,)}, out=tmp_path / "more",
                      scheduler=address, progress=False)
    assert more.ok and more.computed == 2
    assert sorted(p.name for p in cache.brian_root(worker_cache).iterdir()) == ["0", "1"]
