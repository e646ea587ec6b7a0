"""The study runner (Python API): grid, store, resume, failures, Dask workers, style helpers."""
from __future__ import annotations

import dataclasses
import json

import numpy as np
import pandas as pd
import pytest

from studies import params as P
from studies import runner, style, toy
from studies.store import Store, atomic_write


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    """The toy study's TINY preset run in-process once for the whole module."""
    out = tmp_path_factory.mktemp("toy_tiny")
    return runner.run("toy", preset="tiny", out=out, progress=False)


def _values(table: pd.DataFrame) -> pd.DataFrame:
    return table.sort_values(["point", "metric"])[["point", "metric", "value"]].reset_index(drop=True)


def test_tiny_study_end_to_end(tiny_run):
    """Every point of the TINY grid is stored, tabled with its parameters and versions, and drawn."""
    res = tiny_run
    assert res.ok and res.computed == 4 and res.reused == 0
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


def test_brian_is_prepared_per_slot_and_restored_after_an_in_process_run(tiny_run, tmp_path):
    import brian2

    assert (tiny_run.out_dir / ".brian" / "main" / "cython").is_dir()
    # the caller's own Brian2 settings are left as they were
    assert brian2.prefs.codegen.runtime.cython.cache_dir is None
    assert brian2.prefs.core.stop_on_keyboard_interrupt is True
    slot = runner.prepare_brian(tmp_path, "3")
    try:  # Ctrl-C must raise inside a point, never end it early as if it had finished
        assert brian2.prefs.core.stop_on_keyboard_interrupt is False
        assert brian2.prefs.codegen.runtime.cython.cache_dir == str(tmp_path / "3" / "cython")
        assert slot == tmp_path / "3"
    finally:
        brian2.prefs.codegen.runtime.cython.cache_dir = None
        brian2.prefs.core.stop_on_keyboard_interrupt = True


def test_rerun_reuses_stored_points(tiny_run):
    before = {p: p.stat().st_mtime_ns for p in (tiny_run.out_dir / "points").glob("*.json")}
    again = runner.run("toy", preset="tiny", out=tiny_run.out_dir, progress=False)
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


def test_workers_give_the_same_results_as_in_process(tiny_run, tmp_path):
    """The same seeds give the same numbers on a 2-process LocalCluster as in-process."""
    res = runner.run("toy", preset="tiny", out=tmp_path, workers=2, progress=False)
    assert res.ok and res.computed == 4
    pd.testing.assert_frame_equal(_values(res.table), _values(tiny_run.table))
    assert set(res.table["worker"].astype(str)) <= {"0", "1"}
    for slot in set(res.table["worker"].astype(str)):  # each worker slot got its own Brian2 cache
        assert (tmp_path / ".brian" / slot / "cython").is_dir()


def test_existing_scheduler(tiny_run, tmp_path):
    """--scheduler ADDRESS: points go to a running cluster (here one worker thread in this process)."""
    import brian2
    from distributed import LocalCluster

    try:
        with LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                          dashboard_address=None) as cluster:
            res = runner.run("toy", preset="tiny", out=tmp_path, scheduler=cluster.scheduler_address,
                             progress=False)
    finally:  # the worker shared this process's Brian2 settings
        brian2.prefs.codegen.runtime.cython.cache_dir = None
        brian2.prefs.core.stop_on_keyboard_interrupt = True
    assert res.ok and res.computed == 4
    pd.testing.assert_frame_equal(_values(res.table), _values(tiny_run.table))


def test_failing_point_is_recorded_and_retried(tmp_path):
    flag = tmp_path / "fail.flag"
    flag.touch()  # while it exists, seed 1 fails: a transient failure
    over = {"fail_seed": 1, "fail_while": str(flag)}
    out = tmp_path / "out"
    res = runner.run("toy", preset="tiny", overrides=over, out=out, progress=False)
    assert res.computed == 2 and len(res.failed) == 2 and not res.ok
    assert set(res.table["seed"]) == {0}
    record = json.loads((out / "failed" / f"{next(iter(res.failed))}.json").read_text())
    assert "fails on purpose" in record["error"] and "toy.py" in record["traceback"]
    assert record["values"]["seed"] == 1

    failed_files = {p: p.stat().st_mtime_ns for p in (out / "failed").glob("*.json")}
    again = runner.run("toy", preset="tiny", overrides=over, out=out, progress=False)
    assert again.computed == 0 and len(again.failed) == 2  # reported, not rerun
    assert {p: p.stat().st_mtime_ns for p in failed_files} == failed_files
    assert "--retry-failed" in again.summary()

    flag.unlink()
    retried = runner.run("toy", preset="tiny", overrides=over, out=out, retry_failed=True,
                         progress=False)
    assert retried.ok and retried.computed == 2 and retried.reused == 2
    assert not list((out / "failed").glob("*.json")) and len(retried.table) == 4 * 3


def test_report_redraws_from_the_store(tiny_run):
    for path in tiny_run.figures:
        path.unlink()
    res = runner.report("toy", out=tiny_run.out_dir)
    assert res.computed == 0 and all(p.exists() for p in tiny_run.figures)
    pd.testing.assert_frame_equal(_values(res.table), _values(tiny_run.table))


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
