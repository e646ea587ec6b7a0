"""The `brainbridge` command: list, run (config, --set, errors), report, and resuming after a kill.

Runs use the fake study of tests/runnerstudy.py (plain Brian2), so they test the command
whatever `bio` looks like."""
from __future__ import annotations

import signal
import subprocess
import time

import pandas as pd
import pytest

import runnerstudy
from studies import cache, runner
from studies.cli import main


@pytest.fixture(autouse=True)
def _fake_study(monkeypatch, tmp_path):
    runnerstudy.register(monkeypatch)
    monkeypatch.setenv(cache.CACHE_ENV, str(tmp_path / "cache"))


def test_list_shows_studies_parameters_and_defaults(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "toy — LIF neurons driven by Poisson input" in out
    assert "rate_in_hz  = 2.5, 5.0, 10.0, 20.0, 40.0" in out
    assert "default grid: 15 points" in out


def test_list_shows_allowed_values(capsys):
    assert main(["list", "fake"]) == 0
    out = capsys.readouterr().out
    assert "sweep over floats > 0" in out and "str from numpy, cython" in out
    assert "int >= 1" in out


def test_run_with_config_and_set_then_report(tmp_path, capsys):
    config = tmp_path / "fake.toml"
    config.write_text("n_neurons = 5\nn_inputs = 50\nseeds = [3]\n")
    out = tmp_path / "out"
    code = main(["run", "fake", "--config", str(config), "--set", "rate_in_hz=10",
                 "duration_ms=50", "--out", str(out), "--no-progress"])
    assert code == 0
    assert "1 computed" in capsys.readouterr().out
    table = pd.read_csv(out / "results.csv")
    assert set(table["n_neurons"]) == {5} and set(table["seed"]) == {3}  # config applied
    assert set(table["duration_ms"]) == {50.0}                          # then --set
    (out / "figures" / "fake.png").unlink()
    assert main(["report", "fake", "--out", str(out)]) == 0
    assert (out / "figures" / "fake.png").exists()


@pytest.mark.parametrize("argv, message", [
    (["run", "nosuch"], "unknown study 'nosuch'; choose one of: toy"),
    (["run", "toy", "--set", "nosuch=1"], "unknown parameter 'nosuch' for study 'toy'; choose one of:"),
    (["run", "toy", "--set", "n_neurons=abc"], "parameter 'n_neurons' of study 'toy' expects int"),
    (["run", "toy", "--set", "fail_seed"], "--set expects key=value"),
    (["run", "toy", "--config", "/no/such.toml"], "config file '/no/such.toml' not found"),
    (["list", "nosuch"], "unknown study 'nosuch'"),
    (["run", "fake", "--out", __file__], f"results folder {__file__} is a file"),
])
def test_usage_errors_say_what_is_allowed(argv, message, capsys):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_report_without_a_run_is_a_clear_error(tmp_path, capsys):
    assert main(["report", "toy", "--out", str(tmp_path)]) == 2
    assert "no run recorded" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["run", "toy", "--tiny", "--quick"],
                                  ["run", "toy", "--workers", "2", "--scheduler", "tcp://x:1"],
                                  ["run", "toy", "--workers", "0"]])
def test_conflicting_flags_are_rejected(argv):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2


@pytest.mark.slow  # 10-15 s: a separate process, killed, then the rest of the grid
def test_killed_run_resumes_without_recomputing_or_duplicates(tmp_path):
    """SIGKILL mid-grid, then rerun: finished points are kept as they were and each point is
    tabled once."""
    out = tmp_path / "out"
    sets = ["seeds=0,1,2,3", "sleep_s=0.5", "duration_ms=50"]
    cmd = runnerstudy.cli("run", "fake", "--out", str(out), "--no-progress", "--set", *sets)
    proc = subprocess.Popen(cmd, cwd=tmp_path, env=runnerstudy.env(tmp_path / "cache"),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    points = out / "points"
    deadline = time.monotonic() + 90
    while len(list(points.glob("*.json"))) < 2:
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, "no points finished in time"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    kept = {p.name: p.stat().st_mtime_ns for p in points.glob("*.json")}
    assert 2 <= len(kept) < 8  # killed mid-grid

    params = runner.make_params("fake", preset="tiny", sets=sets)
    res = runner.run("fake", params, out=out, progress=False)  # the dead run's lock is free
    assert res.ok and res.reused == len(kept) and res.computed == 8 - len(kept)
    assert {name: (points / name).stat().st_mtime_ns for name in kept} == kept
    table = pd.read_csv(out / "results.csv")
    assert len(table) == 8 * 2 and not table.duplicated(["point", "metric"]).any()
