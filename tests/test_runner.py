"""The study runner (Python API): grid, store, resume, failures, Dask workers, the Brian2 cache,
style helpers. Most tests run the tiny fake study in tests/runnerstudy.py (plain Brian2, numpy
target), so they test the runner whatever `bio` looks like; one runs the toy study end to end."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import runnerstudy
from studies import cache, runner, style, toy
from studies import params as P
from studies.store import Store, atomic_write


@pytest.fixture(scope="module", autouse=True)
def _fake_study_and_own_cache(tmp_path_factory):
    """Study "fake" registered, and a Brian2 cache of this module's own (not ~/.cache)."""
    with pytest.MonkeyPatch.context() as mp:
        runnerstudy.register(mp)
        mp.setenv(cache.CACHE_ENV, str(tmp_path_factory.mktemp("cache")))
        yield


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The fake study's TINY preset run in-process once for the whole module."""
    out = tmp_path_factory.mktemp("fake_tiny")
    return runner.run("fake", preset="tiny", out=out, progress=False)


def _values(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["point", "metric"])[["point", "metric", "value"]].reset_index(drop=True)


def test_toy_study_end_to_end(tmp_path):
    """The toy study's TINY grid is stored, tabled with its parameters and versions, and drawn."""
    res = runner.run("toy", preset="tiny", out=tmp_path, progress=False)
    assert res.ok and res.computed == 4 and res.reused == 0, res.summary()
    table = pd.read_csv(res.out_dir / "results.csv")
    assert len(table) == 4 * 3  # 2 rates x 2 seeds, 3 metrics each
    for column in ("rate_in_hz", "n_neurons", "seed", "metric", "value", "brainbridge", "brian2",
                   "torch", "numpy", "git"):
        assert column in table.columns
    assert set(table["seed"]) == {0, 1} and (table["git"] != "").all()
    rates = table[table.metric == "rate_hz"].groupby("rate_in_hz")["value"].mean()
    assert rates[20.0] > rates[5.0] > 0  # stronger input drives the LIF neurons harder
    assert sorted(p.name for p in res.figures) == ["toy.png", "toy.svg"]
    assert all(p.stat().st_size > 1000 for p in res.figures)


def test_tiny_run_stores_tables_draws_and_summarises(tiny_run):
    res = tiny_run
    assert res.ok and res.computed == 4 and res.reused == 0, res.summary()
    table = pd.read_csv(res.out_dir / "results.csv")
    assert len(table) == 4 * 2 and not table.duplicated(["point", "metric"]).any()
    rates = table[table.metric == "rate_hz"].groupby("rate_in_hz")["value"].mean()
    assert rates[20.0] > rates[5.0]  # 100 inputs x 0.5 x 2 mV: 20 Hz input crosses threshold
    assert sorted(p.name for p in res.figures) == ["fake.png", "fake.svg"]
    assert "input 20 Hz -> output" in res.findings and "findings:" in res.summary()


def test_brian_slot_lives_in_the_user_cache_and_settings_are_restored(tiny_run, tmp_path):
    """The in-process run compiled into slot 0 of the per-user cache, not into the results
    folder, gave the slot back, and left this process's Brian2 settings as they were."""
    import brian2

    slot0 = cache.brian_root() / "0"
    assert (slot0 / "cython").is_dir() and not (tiny_run.out_dir / ".brian").exists()
    assert cache.brian_root().is_relative_to(os.environ[cache.CACHE_ENV])
    with cache.Slot() as again:  # released after the run: the next process gets slot 0 again
        assert again == slot0
    assert brian2.prefs.codegen.runtime.cython.cache_dir is None
    assert brian2.prefs.core.stop_on_keyboard_interrupt is True
    assert runner.STANDALONE_ENV not in os.environ
    assert hasattr(signal.getsignal(signal.SIGINT), "previous_handler")  # Brian2's, as before
    with runner.brian_prepared(tmp_path / "s") as slot:
        # while points run, SIGINT does what it did before Brian2 wrapped it (worker.settle_sigint)
        assert not hasattr(signal.getsignal(signal.SIGINT), "previous_handler")
        # Ctrl-C must raise inside a point, never end it early as if it had finished
        assert brian2.prefs.core.stop_on_keyboard_interrupt is False
        assert brian2.prefs.codegen.runtime.cython.cache_dir == str(tmp_path / "s" / "cython")
        assert os.environ[runner.STANDALONE_ENV] == str(tmp_path / "s" / "standalone")
        assert slot == tmp_path / "s"
    assert runner.STANDALONE_ENV not in os.environ


def test_cache_root_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "own"))
    assert cache.cache_root() == tmp_path / "own"
    monkeypatch.delenv(cache.CACHE_ENV)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache.cache_root() == tmp_path / "xdg" / "brainbridge"
    monkeypatch.setenv("XDG_CACHE_HOME", "relative/path")  # the XDG spec says: ignore it
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache.cache_root() == tmp_path / "home" / ".cache" / "brainbridge"


def test_slots_are_never_shared_between_processes(tmp_path):
    """Two holders get two slots; a released slot, or one whose holder died, is taken again."""
    first, second = cache.Slot(tmp_path), cache.Slot(tmp_path)
    assert first.claim().name == "0" and second.claim().name == "1"
    first.release()
    third = cache.Slot(tmp_path)
    assert third.claim().name == "0"
    second.release(), third.release()
    # another process holds slot 0 (then dies): this process gets slot 1 meanwhile
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from studies import cache; "
         f"s = cache.Slot({str(tmp_path)!r}); print(s.claim(), flush=True); time.sleep(60)"],
        env=runnerstudy.env(tmp_path), stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip().endswith("/0")
        with cache.Slot(tmp_path) as mine:
            assert mine.name == "1"
    finally:
        holder.kill()
        holder.wait()
        holder.stdout.close()
    with cache.Slot(tmp_path) as mine:
        assert mine.name == "0"  # the kernel freed the dead holder's lock
        assert f"pid {os.getpid()}" in (mine / ".lock").read_text()


@pytest.mark.slow
@pytest.mark.timeout(900)  # the first run compiles the network's cython code (~4 modules)
def test_second_run_into_a_new_folder_does_not_compile_again(tmp_path):
    """Compile once per machine: a second `brainbridge run` (a fresh process, so Brian2's
    in-memory cache is empty) into a new --out loads the cython modules the first run
    compiled into the per-user cache: no new file appears there, no module is rebuilt, and
    none is built anywhere else (a HOME of its own would show Brian2's default cache).
    (A network of few code objects, drive=current: what is tested is where they go. Whether
    the second run is also faster is a matter of the machine's load: not timed here.)"""
    env = {**runnerstudy.env(tmp_path / "cache"), "HOME": str(tmp_path / "home")}
    sets = ["target=cython", "seeds=0", "rate_in_hz=20", "drive=current"]

    def run(out):
        proc = subprocess.run(runnerstudy.cli("run", "fake", "--out", str(tmp_path / out),
                                              "--no-progress", "--set", *sets),
                              env=env, capture_output=True, text=True, timeout=600)
        assert proc.returncode == 0, proc.stderr

    def files():
        root = tmp_path / "cache"
        # lock files aside (ours, and Brian2's, which it takes to read its cache too)
        return {p.relative_to(root): p.stat().st_mtime_ns for p in root.rglob("*")
                if p.is_file() and not p.name.endswith(".lock")}

    run("first")
    compiled = files()
    modules = [p for p in compiled if p.suffix == ".so"]
    assert len(modules) >= 3, compiled  # the network's code objects were compiled
    assert all(p.parts[:2] == ("brian", cache.brian_root(".").name) for p in modules)
    run("second")
    assert files() == compiled  # nothing compiled, nothing rewritten
    assert sorted(tmp_path.rglob("*.so")) == sorted(tmp_path / "cache" / p for p in modules)  # nor elsewhere
    first_table = pd.read_csv(tmp_path / "first" / "results.csv")
    second_table = pd.read_csv(tmp_path / "second" / "results.csv")
    pd.testing.assert_frame_equal(_values(first_table), _values(second_table))


def test_rerun_reuses_stored_points(tiny_run):
    before = {p: p.stat().st_mtime_ns for p in (tiny_run.out_dir / "points").glob("*.json")}
    again = runner.run("fake", preset="tiny", out=tiny_run.out_dir, progress=False)
    assert again.computed == 0 and again.reused == 4
    assert {p: p.stat().st_mtime_ns for p in before} == before
    pd.testing.assert_frame_equal(_values(again.table), _values(tiny_run.table))


def test_more_seeds_compute_only_new_points():
    """A point's key depends on its own values only, so extending an axis keeps old points."""
    p = runner.make_params("toy", preset="tiny", overrides={"seeds": (0, 1)})
    q = dataclasses.replace(p, seeds=(0, 1, 2))
    old = {pt.key for pt in P.expand("toy", toy, p)}
    new = {pt.key for pt in P.expand("toy", toy, q)}
    assert old < new and len(new - old) == 2


@pytest.mark.slow  # seconds of CPU (pytest --durations): kept out of make test-fast
def test_workers_give_the_same_results_as_in_process(tiny_run, tmp_path):
    """The same seeds give the same numbers on 2 local worker processes (--workers 2) as in-process."""
    res = runner.run("fake", preset="tiny", out=tmp_path, workers=2, progress=False)
    assert res.ok and res.computed == 4
    pd.testing.assert_frame_equal(_values(res.table), _values(tiny_run.table))
    assert set(res.table["worker"].astype(str)) <= {"0", "1"}
    # each worker process held its own slot of the user cache: slots 0 and 1
    assert {p.name for p in cache.brian_root().iterdir() if (p / "cython").is_dir()} >= {"0", "1"}


@pytest.mark.slow
def test_a_dead_worker_process_fails_its_points_and_the_run_goes_on(tiny_run, tmp_path):
    """--workers: a worker process that dies (os._exit, as when the kernel kills it) neither hangs
    nor crashes the run: only the points that kill their process are stored as failed (seed 1:
    two of the four), and every other point is computed (those it took down run again) with the
    in-process run's numbers."""
    res = runner.run("fake", preset="tiny", out=tmp_path, workers=2, progress=False,
                     overrides={"exit_seed": 1, "sleep_s": 0.5})
    assert len(res.failed) == 2 and res.computed == 2
    assert all("kills its process" in err for err in res.failed.values())
    computed = res.table.sort_values(["rate_in_hz", "metric"])
    expected = tiny_run.table[tiny_run.table["seed"] == 0].sort_values(["rate_in_hz", "metric"])
    assert set(computed["seed"]) == {0}  # seed 0's points, with the in-process run's numbers
    np.testing.assert_array_equal(computed["value"].to_numpy(), expected["value"].to_numpy())


def test_existing_scheduler(tiny_run, tmp_path):
    """--scheduler ADDRESS: points go to a running cluster (here one worker thread in this process)."""
    import brian2
    from distributed import LocalCluster

    try:
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                          dashboard_address=None) as cluster:
            res = runner.run("fake", preset="tiny", out=tmp_path, scheduler=cluster.scheduler_address,
                             progress=False)
    finally:  # the worker shared this process's Brian2 settings
        brian2.prefs.codegen.runtime.cython.cache_dir = None
        brian2.prefs.core.stop_on_keyboard_interrupt = True
        os.environ.pop(runner.STANDALONE_ENV, None)
    assert res.ok and res.computed == 4
    pd.testing.assert_frame_equal(_values(res.table), _values(tiny_run.table))


def test_failing_point_is_recorded_and_retried(tmp_path):
    flag = tmp_path / "fail.flag"
    flag.touch()  # while it exists, seed 1 fails: a transient failure
    over = {"fail_seed": 1, "fail_while": str(flag)}
    out = tmp_path / "out"
    res = runner.run("fake", preset="tiny", overrides=over, out=out, progress=False)
    assert res.computed == 2 and len(res.failed) == 2 and not res.ok
    assert set(res.table["seed"]) == {0}
    record = json.loads((out / "failed" / f"{next(iter(res.failed))}.json").read_text())
    assert "fails on purpose" in record["error"] and "runnerstudy.py" in record["traceback"]
    assert record["values"]["seed"] == 1

    failed_files = {p: p.stat().st_mtime_ns for p in (out / "failed").glob("*.json")}
    again = runner.run("fake", preset="tiny", overrides=over, out=out, progress=False)
    assert again.computed == 0 and len(again.failed) == 2  # reported, not rerun
    assert {p: p.stat().st_mtime_ns for p in failed_files} == failed_files
    assert "--retry-failed" in again.summary()

    flag.unlink()
    retried = runner.run("fake", preset="tiny", overrides=over, out=out, retry_failed=True,
                         progress=False)
    assert retried.ok and retried.computed == 2 and retried.reused == 2
    assert not list((out / "failed").glob("*.json")) and len(retried.table) == 4 * 2


def test_report_redraws_from_the_store(tiny_run):
    for path in tiny_run.figures:
        path.unlink()
    res = runner.report("fake", out=tiny_run.out_dir)
    assert res.computed == 0 and all(p.exists() for p in tiny_run.figures)
    pd.testing.assert_frame_equal(_values(res.table), _values(tiny_run.table))


def test_no_import_cycle_between_runner_and_cluster():
    """runner -> cluster -> worker: nothing the runner imports imports the runner back (at any
    level, as import-linter counts), and each module imports first in a fresh interpreter."""
    import ast
    import inspect
    import sys

    from studies import cache, cluster, locks, store, worker

    def imports_runner(module):
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if isinstance(node, ast.ImportFrom) and (
                    "runner" in (node.module or "") or any(a.name == "runner" for a in node.names)):
                return True
            if isinstance(node, ast.Import) and any("runner" in a.name for a in node.names):
                return True
        return False

    assert [m.__name__ for m in (cluster, worker, cache, locks, store) if imports_runner(m)] == []
    for first in ("studies.cluster", "studies.runner"):
        proc = subprocess.run([sys.executable, "-c", f"import {first}"],
                              env=runnerstudy.env("/nonexistent"), capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr


# ------------------------------------------------------------------ parameters, grid, store, style

def test_text_values_are_parsed_by_field_type():
    p = P.with_text("toy", toy.Params(), ["n_neurons=7", "w_mv=1", "seeds=3,4", "target=cython",
                                          "rate_in_hz=2.5"])
    assert (p.n_neurons, p.w_mv, p.seeds, p.target, p.rate_in_hz) == (7, 1.0, (3, 4), "cython", (2.5,))
    assert isinstance(p.w_mv, float)


@pytest.mark.parametrize("assignment, message", [
    ("nosuch=1", "unknown parameter 'nosuch' for study 'toy'; choose one of: rate_in_hz, n_neurons"),
    ("n_neurons=1.5", "expects int"),
    ("n_neurons=many", "expects int (e.g. n_neurons=3)"),
    ("seeds=0,x", "expects comma-separated ints"),
    ("rate_in_hz=fast", "expects sweep over floats"),
    ("n_neurons", "--set expects key=value"),
])
def test_bad_text_values_say_what_is_allowed(assignment, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        P.with_text("toy", toy.Params(), [assignment])


def test_config_values_are_checked(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text('n_neurons = 12\nrate_in_hz = [5, 10]\n[toy]\nseeds = [7]\n')
    p = P.with_values("toy", toy.Params(), P.read_config("toy", path))
    assert (p.n_neurons, p.rate_in_hz, p.seeds) == (12, (5.0, 10.0), (7,))
    path.write_text("n_neurons = true\n")
    with pytest.raises(ValueError, match="'n_neurons' of study 'toy' expects int"):
        P.with_values("toy", toy.Params(), P.read_config("toy", path))


def test_grid_is_the_product_of_axes_and_seeds_with_stable_keys():
    p = P.normalise("toy", dataclasses.replace(toy.Params(), rate_in_hz=(5, 10, 20), seeds=(0, 1)))
    points = P.expand("toy", toy, p)
    assert [(pt.params.rate_in_hz, pt.seed) for pt in points] == [
        (5.0, 0), (5.0, 1), (10.0, 0), (10.0, 1), (20.0, 0), (20.0, 1)]
    same = P.expand("toy", toy, dataclasses.replace(p, rate_in_hz=(5.0,), seeds=(1,)))
    assert same[0].key == points[1].key  # the int 5 and the float 5.0 are one point
    assert len({pt.key for pt in points}) == 6


def test_custom_grid_function():
    class Study:
        Params = toy.Params

        @staticmethod
        def grid(p):
            return [{"rate_in_hz": r, "seed": s} for r in p.rate_in_hz for s in p.seeds if r > s]

    p = P.normalise("toy", dataclasses.replace(toy.Params(), rate_in_hz=(1.0, 2.0), seeds=(0, 1)))
    assert [(pt.params.rate_in_hz, pt.seed) for pt in P.expand("toy", Study, p)] == [
        (1.0, 0), (2.0, 0), (2.0, 1)]


def test_atomic_write_leaves_no_temporary_and_store_ignores_them(tmp_path):
    store = Store(tmp_path)
    store.save("abc", {"x": 1})
    (store.points / ".def.json.1234.tmp").write_text("{half")  # what a kill mid-write leaves
    (store.points / ".ghi.json").write_text("{half")
    assert store.done() == {"abc"}
    atomic_write(tmp_path / "f.txt", "hello")
    assert (tmp_path / "f.txt").read_text() == "hello"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".f.txt")] == []


def test_mean_spread_over_seeds():
    table = pd.DataFrame({"x": [1, 1, 2, 2], "metric": "m", "value": [1.0, 3.0, 5.0, 5.0]})
    s = style.summarise(table, "x", "m", spread="sd")
    np.testing.assert_allclose(s["mean"], [2.0, 5.0])
    np.testing.assert_allclose(s["spread"], [np.sqrt(2.0), 0.0])
    fig, ax = style.figure()
    style.mean_spread(ax, table, "x", "m", spread="sem")
    assert len(ax.lines) == 1 and len(ax.collections) == 1
    with pytest.raises(ValueError, match="no metric 'zz' in the table; it has: m"):
        style.summarise(table, "x", "zz")


def _panels():
    """Six panels with titles, labels and a legend: enough for constrained layout to move things."""
    fig, axes = style.figure(2, 3)
    for k, ax in enumerate(axes.flat):
        ax.plot(np.arange(10), np.arange(10) ** (k / 3), label=f"curve {k}")
        ax.set(title=f"panel {k}", xlabel="x (s)", ylabel="rate (Hz)")
        ax.legend()
    return fig


def test_saved_files_do_not_depend_on_where_the_svg_was_drawn(tmp_path, monkeypatch):
    """style.save draws the SVG in a forked copy of the process where it can (Linux, more than one
    core) and here otherwise, and when the copy fails: the same PNG and SVG bytes in every case,
    no part file left behind, and the SVG cropped to the PNG's box (one layout for both)."""
    def saved(folder):
        return {p.name: p.read_bytes() for p in style.save(_panels(), tmp_path / folder, "f")}

    here = {"where": None}
    fork = style._svg_elsewhere

    def tracked(fig, path, box):
        here["where"] = fork(fig, path, box)
        return here["where"]

    monkeypatch.setattr(style, "_svg_elsewhere", tracked)
    forked = saved("forked")
    monkeypatch.setattr(style, "_svg_elsewhere", lambda fig, path, box: None)
    local = saved("local")
    assert forked == local and set(local) == {"f.png", "f.svg"}

    def dies(fig, path, box):  # a copy that fails without writing: this process draws the SVG
        pid = os.fork()
        if pid == 0:
            os._exit(3)
        return pid

    monkeypatch.setattr(style, "_svg_elsewhere", dies)
    assert saved("failed") == local
    assert not list(tmp_path.rglob("*.part"))
    if sys.platform.startswith("linux") and len(os.sched_getaffinity(0)) > 1:
        assert here["where"] is not None  # the first save really forked
    png_w, png_h = (int.from_bytes(local["f.png"][16:20], "big"), int.from_bytes(local["f.png"][20:24], "big"))
    svg_w = float(re.search(rb'width="([\d.]+)pt"', local["f.svg"]).group(1))
    svg_h = float(re.search(rb'height="([\d.]+)pt"', local["f.svg"]).group(1))
    assert png_w / 200 == pytest.approx(svg_w / 72, abs=0.02) and png_h / 200 == pytest.approx(svg_h / 72, abs=0.02)


def test_a_point_runs_torch_on_one_thread_and_leaves_the_callers_setting(tmp_path, monkeypatch):
    """studies.worker.execute_point: torch sums in one order whatever the machine (a CNN trained
    on 1 and on 2 threads ends with other weights), so a point sees one thread; the caller's
    own setting is back afterwards, also when the point fails."""
    import torch

    from studies import worker

    (tmp_path / "threadstudy.py").write_text(
        "import torch\n"
        "def point(params, seed):\n"
        "    if seed < 0:\n"
        "        raise RuntimeError('a failing point')\n"
        "    return {'threads': float(torch.get_num_threads())}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        out = worker.execute_point("threads", "threadstudy", None, 0)
        assert out["status"] == "ok" and out["metrics"]["threads"] == 1.0, out
        assert torch.get_num_threads() == 2
        assert worker.execute_point("threads", "threadstudy", None, -1)["status"] == "failed"
        assert torch.get_num_threads() == 2
    finally:
        torch.set_num_threads(before)


def test_a_study_that_says_it_needs_no_torch_does_not_import_it(tmp_path, monkeypatch):
    """studies.worker: `TORCH = False` skips the one-thread pin and with it torch's import (a
    few seconds in each fresh worker process of a plain-Brian2 study)."""
    (tmp_path / "notorchstudy.py").write_text(
        "import sys\nTORCH = False\n"
        "def point(params, seed):\n"
        "    return {'torch_loaded': float('torch' in sys.modules)}\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    code = ("import sys; from studies import worker; "
            "out = worker.execute_point('n', 'notorchstudy', None, 0); "
            "print(out['status'], out['metrics']['torch_loaded'], 'torch' in sys.modules)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")])}
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert done.stdout.split() == ["ok", "0.0", "False"], (done.stdout, done.stderr[-2000:])


def test_studies_that_say_they_need_no_torch_import_nothing_that_loads_it():
    """A study with `TORCH = False` runs its points with torch unpinned (studies.worker), which is
    right only if nothing it may import loads torch. grimp's import graph (as in
    tests/test_architecture.py) follows every import statement the study reaches, inside
    functions too: no torch, ann or bridge module among them; `bio` loads its submodules on first
    use, so all of bio counts (the import-linter contract keeps torch out of bio); and a fresh
    process that imports all of them, external packages included, has not loaded torch."""
    import grimp

    from studies import registry

    # no cache: grimp keys it by file mtimes, and a file rewritten within one second was read stale
    graph = grimp.build_graph("bio", "studies", include_external_packages=True, cache_dir=None)
    light, reached = [], set()
    for name in registry.names():
        module = registry.load(name)
        if getattr(module, "TORCH", True) or module.__package__ != "studies":  # not the tests' own
            continue
        light.append(name)
        upstream = graph.find_upstream_modules(module.__name__)
        assert not {m.split(".")[0] for m in upstream} & {"torch", "ann", "bridge"}, (name, sorted(upstream))
        reached |= upstream | {module.__name__}
    assert {"stdp_song2000", "stp_tsodyks1997", "triplet_pfister2006"} <= set(light), light
    assert "studies.ephys" in reached and "bio.simulate" in reached  # the graph went through
    reached |= {m for m in graph.modules if m.startswith("bio.")}
    code = ("import importlib, sys\n"
            f"for m in {sorted(reached)!r}:\n"
            "    importlib.import_module(m)\n"
            "print('torch' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[1])
    assert done.stdout.strip() == "False", (sorted(reached), done.stdout, done.stderr[-2000:])


def test_premise_torch_training_depends_on_the_thread_count():
    """Why studies.worker pins one thread: the same seed trained on 1 and on 2 torch threads
    gives other weights (the sums are split differently), here a small CNN after one epoch
    on 300 digits. If torch ever made this thread-invariant, the pin would be unneeded."""
    import torch

    from ann import data, models, train

    sub = data.digits(seed=0).train.subset(np.arange(300))
    before, weights = torch.get_num_threads(), []
    try:
        for n in (1, 2):
            torch.set_num_threads(n)
            torch.manual_seed(0)
            net = models.CNN(channels=(16, 32))
            train.fit(net, sub, epochs=1, seed=0, progress=False, device="cpu")
            weights.append(torch.cat([p.detach().flatten() for p in net.parameters()]))
    finally:
        torch.set_num_threads(before)
    assert not torch.equal(weights[0], weights[1])
