"""No bad input corrupts the store, and every bad input gets an early, clear error.

Each test feeds the runner one kind of bad input — a second run on the same folder, another
study's folder, an empty grid, a parameter value its field does not allow, a damaged point
file, Ctrl-C, a failing summary — and checks both the message and that the results folder is
as it should be afterwards. They run the fake study of tests/runnerstudy.py (plain Brian2,
numpy target, about 0.3 s a point).
"""
from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import runnerstudy
from studies import cache, registry, runner
from studies import params as P
from studies.cli import main
from studies.locks import FolderBusy
from studies.store import Store


@pytest.fixture(autouse=True)
def _fake_study(monkeypatch, tmp_path):
    runnerstudy.register(monkeypatch)
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def finished(tmp_path_factory):
    """A finished TINY run of the fake study: (folder, {file name: bytes}) to copy from."""
    with pytest.MonkeyPatch.context() as mp:
        runnerstudy.register(mp)
        mp.setenv(cache.CACHE_ENV, str(tmp_path_factory.mktemp("cache")))
        out = tmp_path_factory.mktemp("finished")
        res = runner.run("fake", preset="tiny", out=out, progress=False)
    assert res.ok
    return out


def _copy(finished: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(finished, to, ignore=shutil.ignore_patterns(".lock"))
    return to


def _snapshot(folder: Path) -> dict:
    return {p.relative_to(folder): p.read_bytes() for p in folder.rglob("*")
            if p.is_file() and p.name != ".lock"}


def _start(args, tmp_path, **popen) -> subprocess.Popen:
    return subprocess.Popen(runnerstudy.cli(*args), env=runnerstudy.env(tmp_path / "cache"),
                            cwd=tmp_path, **popen)


def _wait_for(predicate, proc, seconds=90):
    deadline = time.monotonic() + seconds
    while not predicate():
        assert proc.poll() is None, "the process ended early"
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# ------------------------------------------------------------------ one run per folder

@pytest.mark.slow  # seconds of CPU (pytest --durations): kept out of make test-fast
def test_second_run_on_one_folder_fails_at_once_naming_folder_and_holder(tmp_path, capsys):
    out = tmp_path / "out"
    first = _start(["run", "fake", "--out", str(out), "--no-progress", "--set", "sleep_s=0.5"],
                   tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: f"pid {first.pid}" in _read(out / ".lock"), first)
        start = time.perf_counter()
        assert main(["run", "fake", "--out", str(out), "--no-progress"]) == 2
        assert time.perf_counter() - start < 5  # refused at once, not after waiting
        err = capsys.readouterr().err
        assert f"results folder {out} is in use by another process (pid {first.pid} on host" in err
        stdout, stderr = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == 0, stderr
    assert "4 computed" in stdout
    table = pd.read_csv(out / "results.csv")  # the refused run touched nothing
    assert len(table) == 4 * 2 and not table.duplicated(["point", "metric"]).any()


def _read(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def test_lock_of_a_dead_process_is_taken_over(tmp_path):
    """A run killed while holding the folder leaves its lock file behind; the kernel freed
    the lock itself, so the next run takes it over and writes its own pid."""
    out = tmp_path / "out"
    out.mkdir()
    dead = subprocess.Popen([sys.executable, "-c",
                             "import os; from studies.locks import FileLock; "
                             f"assert FileLock({str(out / '.lock')!r}).acquire(); os._exit(9)"],
                            env=runnerstudy.env(tmp_path / "cache"))
    assert dead.wait(timeout=60) == 9
    assert f"pid {dead.pid} " in (out / ".lock").read_text()  # left behind by the dead holder
    with Store(out).lock():
        assert f"pid {os.getpid()} " in (out / ".lock").read_text()
        with pytest.raises(FolderBusy, match=f"pid {os.getpid()} "):
            with Store(out).lock():  # a second holder, even in this process, is refused
                pass
    res = runner.run("fake", preset="tiny", out=out, progress=False)
    assert res.ok and res.computed == 4
    assert (out / ".lock").read_text() == ""  # released


# ------------------------------------------------------------------ one study per folder

def test_folder_of_another_study_is_refused_naming_both(finished, tmp_path, monkeypatch, capsys):
    monkeypatch.setitem(registry.STUDIES, "other", "runnerstudy")
    out = _copy(finished, tmp_path / "out")
    before = _snapshot(out)
    assert main(["run", "other", "--out", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert f"results folder {out} holds results of study 'fake'; refusing to run study 'other'" in err
    assert main(["report", "other", "--out", str(out)]) == 2
    assert "holds results of study 'fake', not 'other'" in capsys.readouterr().err
    assert _snapshot(out) == before
    # without run.json (deleted, or never written) the point files still say whose they are
    (out / "run.json").unlink()
    with pytest.raises(ValueError, match="holds results of study 'fake'"):
        runner.run("other", preset="tiny", out=out, progress=False)


# ------------------------------------------------------------------ bad parameters, empty grids

@pytest.mark.parametrize("assignment, message", [
    ("seeds=", "study 'fake' has an empty grid: seeds has no values; give at least one "
               "(e.g. --set seeds=0,1)"),
    ("seeds= , ", "study 'fake' has an empty grid: seeds has no values"),
    ("rate_in_hz=", "study 'fake' has an empty grid: rate_in_hz has no values"),
    ("w_mv=nan", "parameter 'w_mv' of study 'fake' must be a finite number, got nan"),
    ("duration_ms=inf", "parameter 'duration_ms' of study 'fake' must be a finite number"),
    ("rate_in_hz=5,-inf", "parameter 'rate_in_hz' of study 'fake' must be a finite number"),
    ("duration_ms=0", "parameter 'duration_ms' of study 'fake' must be > 0, got 0.0"),
    ("rate_in_hz=5,0", "parameter 'rate_in_hz' of study 'fake' must be > 0, got 0.0"),
    ("n_neurons=2.5", "parameter 'n_neurons' of study 'fake' expects int"),
    ("summary_fails=maybe", "parameter 'summary_fails' of study 'fake' expects bool"),
    ("target=cyton", "unknown value 'cyton' for parameter 'target' of study 'fake'; choose one "
                     "of: numpy, cython (did you mean 'cython'?)"),
    ("seeds=0,-1", "parameter 'seeds' of study 'fake' must be >= 0 and < 4294967296, got -1"),
    ("seeds=4294967296", "must be >= 0 and < 4294967296, got 4294967296"),
    ("warmup_ms=100", "study 'fake': warmup_ms (100.0) must be shorter than duration_ms (100.0)"),
])
def test_bad_values_are_refused_before_anything_runs(assignment, message, finished, tmp_path,
                                                     capsys):
    """Exit status 2 with a message naming the parameter and what is allowed; the folder of
    an earlier run (results.csv included) is left exactly as it was, and a new folder is not
    even created."""
    out = _copy(finished, tmp_path / "out")
    before = _snapshot(out)
    assert main(["run", "fake", "--out", str(out), "--no-progress", "--set", assignment]) == 2
    assert message in capsys.readouterr().err
    assert _snapshot(out) == before
    assert main(["run", "fake", "--out", str(tmp_path / "new"), "--set", assignment]) == 2
    assert not (tmp_path / "new").exists()


def test_bad_values_from_python_and_toml_are_refused(tmp_path):
    with pytest.raises(ValueError, match="'w_mv' of study 'fake' must be a finite number"):
        runner.run("fake", overrides={"w_mv": float("nan")}, out=tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="'n_neurons' of study 'fake' must be >= 1, got 0"):
        runner.run("fake", overrides={"n_neurons": 0}, out=tmp_path / "a", progress=False)
    with pytest.raises(ValueError, match="'seeds' of study 'fake' expects comma-separated ints"):
        runner.run("fake", overrides={"seeds": {"a": 1}}, out=tmp_path / "a", progress=False)
    config = tmp_path / "c.toml"
    config.write_text('target = "cpp"\n')
    with pytest.raises(ValueError, match="unknown value 'cpp' for parameter 'target'"):
        runner.make_params("fake", config=config)
    assert not (tmp_path / "a").exists()


def test_custom_grid_points_are_checked_too():
    """A study's grid() goes through the same checks: a negative seed or a value outside a
    field's range is refused with the parameter named."""
    import runnerstudy as fake

    class Study:
        Params = fake.Params

        @staticmethod
        def grid(p):
            return [{"rate_in_hz": 5.0, "seed": -3}]

    p = P.normalise("fake", fake.TINY)
    with pytest.raises(ValueError, match="parameter 'seed' of study 'fake' must be >= 0"):
        P.expand("fake", Study, p)
    Study.grid = staticmethod(lambda p: [{"rate_in_hz": -5.0, "seed": 0}])
    with pytest.raises(ValueError, match="'rate_in_hz' of study 'fake' must be > 0"):
        P.expand("fake", Study, p)
    Study.grid = staticmethod(lambda p: [])
    with pytest.raises(ValueError, match=r"grid\(params\) gave no points"):
        P.expand("fake", Study, p)


# ------------------------------------------------------------------ damaged point files

def test_corrupt_and_mismatched_point_files_are_set_aside_and_recomputed(finished, tmp_path,
                                                                           caplog):
    """A truncated point file and a file holding another point's record are named in a
    warning, moved to points/corrupt/ and recomputed; the table has each point once, with
    the numbers of the undamaged run."""
    out = _copy(finished, tmp_path / "out")
    keys = sorted(p.stem for p in (out / "points").glob("*.json"))
    truncated, mismatched, donor = (out / "points" / f"{k}.json" for k in keys[:3])
    truncated.write_text(truncated.read_text()[:40])
    mismatched.write_text(donor.read_text())  # e.g. a file copied by hand over another
    with caplog.at_level(logging.WARNING, logger="studies"):
        res = runner.run("fake", preset="tiny", out=out, progress=False)
    warned = "\n".join(r.getMessage() for r in caplog.records)
    assert f"{truncated} is not valid JSON" in warned
    assert f"{mismatched} holds point {keys[2]!r}, not {keys[1]!r}" in warned
    assert res.ok and res.computed == 2 and res.reused == 2 and len(res.set_aside) == 2
    assert sorted(p.name for p in (out / "points" / "corrupt").iterdir()) == sorted(
        [truncated.name, mismatched.name])
    original = pd.read_csv(finished / "results.csv")
    table = pd.read_csv(out / "results.csv")
    assert len(table) == len(original) and not table.duplicated(["point", "metric"]).any()
    columns = ["point", "metric", "value"]
    pd.testing.assert_frame_equal(table.sort_values(columns[:2])[columns].reset_index(drop=True),
                                  original.sort_values(columns[:2])[columns].reset_index(drop=True))


def test_values_of_another_point_under_the_right_key_are_caught(finished, tmp_path, caplog):
    """The key inside the file agrees with its name, but its values are another point's: the
    values' own hash gives it away."""
    out = _copy(finished, tmp_path / "out")
    path = sorted((out / "points").glob("*.json"))[0]
    record = json.loads(path.read_text())
    record["values"]["rate_in_hz"] = 7.5
    path.write_text(json.dumps(record))
    with caplog.at_level(logging.WARNING, logger="studies"):
        res = runner.run("fake", preset="tiny", out=out, progress=False)
    assert f"{path} holds the values of another point" in caplog.text
    assert res.computed == 1 and res.reused == 3
    assert (out / "points" / "corrupt" / path.name).exists()


def test_report_and_failure_records_survive_damage(finished, tmp_path, capsys):
    """`report` sets a damaged point aside with a warning on stderr (no bare JSON error); a
    damaged failure record is set aside and its point rerun; a damaged run.json is a clear
    error for `report`, and `run` rewrites it."""
    out = _copy(finished, tmp_path / "out")
    path = sorted((out / "points").glob("*.json"))[0]
    path.write_bytes(b"\xff\xfe not json")
    assert main(["report", "fake", "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert f"brainbridge: warning: {path} is not text" in captured.err
    assert len(pd.read_csv(out / "results.csv")) == 3 * 2  # the three sound points

    failed = out / "failed" / path.name
    failed.parent.mkdir()
    failed.write_text("{")  # a failure record cut short: the point is no longer known to fail
    (out / "run.json").write_text('{"study": "fa')
    assert main(["report", "fake", "--out", str(out)]) == 2
    assert f"{out / 'run.json'} is not valid JSON" in capsys.readouterr().err
    assert main(["run", "fake", "--out", str(out), "--no-progress"]) == 0
    captured = capsys.readouterr()
    assert f"{failed} is not valid JSON" in captured.err and "1 computed, 3 reused" in captured.out
    assert (out / "failed" / "corrupt" / path.name).exists()


# ------------------------------------------------------------------ Ctrl-C

def _sigint_run(tmp_path, *, ignored: bool):
    """Start a 2-point run (1 s a point); SIGINT it while its second point runs."""
    out = tmp_path / "out"
    args = ["run", "fake", "--out", str(out), "--no-progress", "--set", "sleep_s=1", "seeds=0"]
    argv = runnerstudy.cli(*args)
    if ignored:  # as `nohup` or `cmd &` in a script would start it
        argv = [sys.executable, "-c", "import os, signal, sys; signal.signal(signal.SIGINT, "
                "signal.SIG_IGN); os.execv(sys.executable, sys.argv[1:])", *argv]
    proc = subprocess.Popen(argv, env=runnerstudy.env(tmp_path / "cache"), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: len(list((out / "points").glob("*.json"))) >= 1, proc)
        time.sleep(0.3)  # inside the second point's sleep
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        proc.kill()
    return out, proc.returncode, stdout, stderr


@pytest.mark.slow  # seconds of CPU (pytest --durations): kept out of make test-fast
def test_ctrl_c_stops_cleanly_and_keeps_finished_points(tmp_path):
    out, code, _, stderr = _sigint_run(tmp_path, ignored=False)
    assert code == 130 and "interrupted: finished points are stored" in stderr
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "points").glob("*.json")}
    assert len(kept) == 1
    assert not (out / "failed").exists()  # the interrupted point is not a failure
    res = runner.run("fake", preset="tiny", overrides={"sleep_s": 1.0, "seeds": (0,)}, out=out,
                     progress=False)
    assert res.ok and res.reused == 1 and res.computed == 1
    assert {n: (out / "points" / n).stat().st_mtime_ns for n in kept} == kept


@pytest.mark.slow  # seconds of CPU (pytest --durations): kept out of make test-fast
def test_ctrl_c_stops_a_run_on_worker_processes_and_its_workers(tmp_path):
    """--workers 2 (studies/processes.py): Ctrl-C stops the run at once, keeps the points stored
    so far, and leaves no worker process running."""
    import psutil

    out = tmp_path / "out"
    argv = runnerstudy.cli("run", "fake", "--out", str(out), "--no-progress", "--workers", "2",
                           "--set", "sleep_s=3", "seeds=0,1,2")
    proc = subprocess.Popen(argv, env=runnerstudy.env(tmp_path / "cache"), cwd=tmp_path,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(lambda: len(list((out / "points").glob("*.json"))) >= 2, proc)
        workers = psutil.Process(proc.pid).children(recursive=True)
        assert len(workers) >= 2
        time.sleep(0.5)  # inside the next points' sleep
        start = time.perf_counter()
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        stopped = time.perf_counter() - start
    finally:
        proc.kill()
    assert proc.returncode == 130 and "interrupted: finished points are stored" in stderr
    assert stopped < 2.5  # at once, not after the running points' remaining sleep
    kept = list((out / "points").glob("*.json"))
    assert 2 <= len(kept) < 6 and not (out / "failed").exists()
    _, alive = psutil.wait_procs(workers, timeout=10)
    assert not alive, alive


@pytest.mark.slow  # seconds of CPU (pytest --durations): kept out of make test-fast
def test_workers_of_a_killed_run_exit(tmp_path):
    """A runner killed outright (SIGKILL: nothing of it runs) leaves no worker process behind
    holding its Brian2 slot: each notices its runner is gone within about a second."""
    import psutil

    out = tmp_path / "out"
    argv = runnerstudy.cli("run", "fake", "--out", str(out), "--no-progress", "--workers", "2",
                           "--set", "sleep_s=3", "seeds=0,1,2")
    proc = subprocess.Popen(argv, env=runnerstudy.env(tmp_path / "cache"), cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: len(psutil.Process(proc.pid).children(recursive=True)) >= 2, proc)
        workers = psutil.Process(proc.pid).children(recursive=True)
        proc.kill()
        proc.wait()
        _, alive = psutil.wait_procs(workers, timeout=10)
    finally:
        proc.kill()
    assert not alive, alive


@pytest.mark.slow  # seconds of CPU (pytest --durations): kept out of make test-fast
def test_ignored_sigint_is_not_a_failed_point(tmp_path):
    """Started with SIGINT ignored, the run keeps ignoring it: Brian2's SIGINT wrapper used to
    call the ignored disposition and raise TypeError inside the running point, stored as that
    point's failure."""
    out, code, stdout, stderr = _sigint_run(tmp_path, ignored=True)
    assert code == 0, stderr
    assert "2 computed, 0 reused, 0 failed" in stdout
    assert not (out / "failed").exists()


# ------------------------------------------------------------------ a failing summary()

def test_failing_summary_is_reported_with_its_traceback_and_exit_status_1(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["run", "fake", "--out", str(out), "--no-progress",
                 "--set", "summary_fails=true"]) == 1
    captured = capsys.readouterr()
    assert "brainbridge: warning: study 'fake': summary(table) raised" in captured.err
    assert "Traceback" in captured.err
    assert "ZeroDivisionError: summary fails on purpose" in captured.err
    assert "summary(table) failed: ZeroDivisionError" in captured.out
    assert "4 computed" in captured.out and (out / "figures" / "fake.png").exists()
    assert main(["report", "fake", "--out", str(out)]) == 1
    res = runner.report("fake", out=out)
    assert not res.ok and "ZeroDivisionError" in res.summary_error
