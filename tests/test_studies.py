"""The comparison studies (quickstart, conversion, learning) run end to end with their TINY presets."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest

import studies
from studyrun import assert_ephys, run_tiny, value


@pytest.mark.parametrize("name", ["quickstart", "conversion", "learning"])
def test_study_follows_the_interface(name):
    module = studies.registry.load(name)
    assert module.__doc__.strip().splitlines()[0]
    assert isinstance(module.TINY, module.Params)
    assert isinstance(getattr(module, "QUICK", module.TINY), module.Params)


@pytest.mark.slow  # ~20 s: a fresh process, the TINY quickstart
def test_quickstart_tiny_as_a_new_user_runs_it(tmp_path):
    """The flagship, run as a user runs it (`python -m studies run quickstart` in a fresh
    process, progress on):
    - the converted SNN matches its ANN (IF neurons with reset by subtraction approximate ReLU
      rates, Rueckauer et al. 2017), the hidden layer's rates keep the ANN's geometry (CKA near
      1), and removing every neuron leaves each system at chance;
    - (issue 15, point 1) stderr names each phase as it starts and ends (training, converting,
      STDP learning, simulating, lesions) and holds no warning or INFO line from the libraries
      below (pyparsing 3.3 made Brian2 print a warning per equation it parsed: pyproject.toml pins
      < 3.3; Brian2 announced each integration method it picked: bio.simulate keeps that in its
      log file)."""
    import subprocess
    import sys
    from pathlib import Path
    from types import SimpleNamespace

    import pandas as pd

    env = {k: v for k, v in os.environ.items() if k != "BRAINBRIDGE_QUIET"}
    env["BRAINBRIDGE_CACHE_DIR"] = str(tmp_path / "cache")
    env["PYTHONPATH"] = str(Path(__file__).resolve().parents[1])
    out = subprocess.run([sys.executable, "-m", "studies", "run", "quickstart", "--tiny", "--out",
                          str(tmp_path / "quickstart")], env=env, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    started = [line.removeprefix("[phase] ").removesuffix(" ...") for line in out.stderr.splitlines()
               if line.startswith("[phase] ") and line.endswith(" ...")]
    ended = [line for line in out.stderr.splitlines() if line.startswith("[phase] ") and " done in " in line]
    for word in ("training the ANN", "converting", "STDP learning", "simulating", "lesions"):
        assert any(word in name for name in started), (word, started)
    assert len(ended) == len(started)
    assert "warning" not in out.stderr.lower(), out.stderr[-3000:]
    # nor Brian2's INFO lines (its pick of an integration method, once per population and run)
    assert not [line for line in out.stderr.splitlines() if line.startswith("INFO")], out.stderr[-3000:]

    # what the run printed and left in its folder (redrawing it would add ~6 s: figures are
    # redrawn from the store in test_runner.py::test_report_redraws_from_the_store)
    assert "1 points — 1 computed, 0 reused, 0 failed" in out.stdout, out.stdout
    listed = out.stdout.split("figures: ", 1)[1].split("\n", 1)[0].split(", ")
    res = SimpleNamespace(out_dir=tmp_path / "quickstart", figures=[Path(p) for p in listed],
                          table=pd.read_csv(tmp_path / "quickstart" / "results.csv"),
                          findings=out.stdout.split("findings:", 1)[1])
    assert all(p.stat().st_size > 0 for p in res.figures)
    t = res.table
    ann, conv = value(t, "accuracy", system="ann"), value(t, "accuracy", system="converted")
    assert ann > 0.5 and abs(ann - conv) <= 0.1
    assert value(t, "similarity", layer="h1", measure="cka") > 0.9
    for system in ("ann", "converted", "stdp"):
        assert value(t, "lesioned_accuracy", system=system, severity=1.0) <= 0.25  # chance ~0.1
        assert value(t, "lesioned_accuracy", system=system, severity=0.0) == value(t, "accuracy", system=system)
    assert "test accuracy" in res.findings
    assert_ephys(res, "quickstart_ephys", ["h1", "out", "exc"])  # the converted and the STDP SNN


def test_conversion_tiny(tmp_path):
    """Accuracy is read out at each time, and the SNN reaches the ANN within the run; every point
    keeps its converted network's spikes (test samples one after another) for conversion_ephys."""
    res = run_tiny("conversion", tmp_path)
    t = res.table
    records = assert_ephys(res, "conversion_ephys", ["h1", "out"])
    assert len(records) == t["point"].nunique()
    # 40 test samples of 32 ms: 31 fit in the 1 s kept, laid one after another
    assert all(r.duration_s == pytest.approx(31 * 0.032) for r in records.values())
    assert set(t["normalisation"]) == {"max", "percentile"}
    early, late = value(t, "accuracy_t", time_ms=4.0), value(t, "accuracy_t", time_ms=32.0)
    assert late >= early - 0.05
    assert value(t, "cka", time_ms=32.0, layer="h1") > value(t, "cka", time_ms=4.0, layer="h1") - 0.05
    assert abs(value(t, "gap_pp")) <= 10


@pytest.mark.slow  # ~12 s of CPU: an STDP network learns 300 digits in Brian2 (numpy target)
def test_learning_tiny(tmp_path):
    """Four learners on one stream of digits: after 300 samples each beats chance (0.1 for ten
    balanced classes; 60 test digits put 0.3 over four binomial sd above it), the ANN's accuracy
    rises along the stream, and the converted SNN, which rate-codes the same ANN, stays within
    10 points of it and represents the stimuli alike (CKA > 0.9; Rueckauer et al. 2017).
    Every pair of learners is compared once per measure (n(n-1)/2 rows), every spiking learner
    has a time course, and a disorder that does not apply is reported as such, not as a number.
    The converted RNN (bridge.systems.RecurrentConvertedSystem) joins the digit rows; every
    learner has an energy per sample (an ANN's MACs, the others' synaptic events), and every
    spiking learner's stored hidden-layer record redraws as learning_ephys_<task>_<learner>."""
    res = run_tiny("learning", tmp_path)
    t = res.table
    digits = t[t["task"] == "digits"]
    for system in ("ann", "converted", "surrogate", "stdp"):
        assert value(digits, "accuracy", system=system, samples_seen=300) > 0.3, system
    ann = value(digits, "accuracy", system="ann", samples_seen=300)
    assert ann > value(digits, "accuracy", system="ann", samples_seen=30) + 0.2
    assert abs(ann - value(digits, "accuracy", system="converted", samples_seen=300)) <= 0.1
    sim = t[t["metric"] == "similarity"]
    for task, names in (("digits", {"ann", "converted", "surrogate", "stdp"}),
                        ("digit_rows", {"ann", "converted", "surrogate"})):
        part = sim[sim["task"] == task]
        n_pairs = len(names) * (len(names) - 1) // 2
        assert part.groupby("measure").size().to_dict() == {"cka": n_pairs, "rsa": n_pairs}
        pairs = {frozenset(ab) for ab in zip(part["system_a"], part["system_b"])}
        assert len(pairs) == n_pairs and set().union(*pairs) == names
        assert (part["ci_low"] <= part["value"] + 1e-9).all() and (part["value"] <= part["ci_high"] + 1e-9).all()
        ref = t[(t["metric"] == "input_similarity") & (t["task"] == task)]  # each learner against the pixels
        assert set(ref["system"]) == names and len(ref) == 2 * len(names)
    assert value(sim, "similarity", task="digits", system_a="ann", system_b="converted", measure="cka") > 0.9
    over = t[(t["metric"] == "accuracy_over_time") & (t["task"] == "digits")]
    assert set(over["system"]) == {"converted", "surrogate", "stdp"}
    over_rows = t[(t["metric"] == "accuracy_over_time") & (t["task"] == "digit_rows")]
    assert set(over_rows["system"]) == {"converted", "surrogate"}
    # the converted RNN's time course: 8 rows at each time per row up to row_ms (TINY: 2, 5, 10 ms)
    assert sorted(over_rows[over_rows["system"] == "converted"]["time_ms"]) == [16.0, 40.0, 80.0]
    rnn = value(t, "accuracy", task="digit_rows", system="ann", samples_seen=300)
    assert abs(rnn - value(t, "accuracy", task="digit_rows", system="converted", samples_seen=300)) <= 0.1
    energy = t[t["metric"] == "energy_pj"]
    assert len(energy) == 7 and (energy["value"] > 0).all()
    # the converted SNN pays for its 20 ms of analog input MACs, which the ANN computes once
    assert value(digits, "energy_pj", system="converted") > value(digits, "energy_pj", system="ann")
    from studies import learning

    names = {p.name for p in res.figures}
    assert {"learning_energy.png", "learning_energy.svg"} <= names
    for task, spiking in (("digits", ("converted", "surrogate", "stdp")), ("digit_rows", ("converted", "surrogate"))):
        for s in spiking:
            assert f"learning_ephys_{task}_{s}.png" in names and f"learning_ephys_{task}_{s}.svg" in names
    from studies import ephys

    for task, spiking in (("digits", ("converted", "surrogate", "stdp")), ("digit_rows", ("converted", "surrogate"))):
        recs, seed = ephys.stored(t, res.figures[0].parent, task=task)
        assert seed == 0 and set(recs) == set(spiking), (task, sorted(recs))
        for s in spiking:
            rec = recs[s]
            pop = rec.populations[0]
            assert pop == learning.TASK_LEARNERS[task][s].layer and len(rec.times_s[pop]) > 0
            assert rec.times_s[pop].max() < rec.duration_s and rec.indices[pop].max() < rec.n_neurons[pop]
    lesioned = t[(t["metric"] == "lesioned_accuracy") & (t["task"] == "digits")].set_index(["disorder", "system"])
    # a uniform gain only rescales a ReLU network (bridge.disorders): declared, no accuracy
    assert lesioned.loc[("parkinson", "ann"), "status"] == "does not apply"
    assert np.isnan(lesioned.loc[("parkinson", "ann"), "value"])
    assert (lesioned.loc["neurodegeneration", "status"] == "applies").all()
    rows = t[(t["metric"] == "lesioned_accuracy") & (t["task"] == "digit_rows")].set_index(["disorder", "system"])
    # the surrogate SNN fed sequences refuses output-hook lesions (bridge.systems.SurrogateSystem)
    assert rows.loc[("neurodegeneration", "surrogate"), "status"] == "refused"


@pytest.mark.slow  # seconds of CPU (pytest --durations): kept out of make test-fast
def test_learning_temporal_task_learns(tmp_path):
    """On the digits read row by row, the backprop RNN, its conversion to a recurrent IF network
    and the recurrent surrogate-gradient SNN (the learners that take sequences) beat chance
    clearly after 1500 samples of the stream."""
    t = run_tiny("learning", tmp_path, task=("digit_rows",), checkpoints=(100, 1500)).table
    for system in ("ann", "converted", "surrogate"):
        assert value(t, "accuracy", system=system, samples_seen=1500) > 0.3, system


def test_learning_refuses_checkpoints_that_do_not_rise():
    from dataclasses import replace

    from studies import learning

    with pytest.raises(ValueError, match="rise strictly"):
        learning.check(replace(learning.TINY, checkpoints=(300, 30)))


def test_learning_stream_cycles_through_the_split():
    """'Samples seen' beyond the split size revisits every sample before any repeats twice."""
    from ann import data
    from studies.learning import stream

    split = data.digits(seed=0).train
    s = stream(split, len(split) + 10, seed=0)
    assert len(s) == len(split) + 10
    first = s.x[: len(split)]
    assert len({row.tobytes() for row in first}) == len({row.tobytes() for row in split.x})


def test_no_trained_system_cache_is_smaller_than_a_preset_seed_count():
    """studies.trained: a worker meets the seeds in turn (the grid puts the seed innermost) and
    every point asks for its seed's trained system, so an LRU cache holding fewer systems than
    a study has seeds evicts exactly the one asked for next and retrains at every point (the
    5-seed lesion study spent a median 41 s per STDP point on a cache of 4, 1.1 s with it kept)."""
    from studies import progressive_injury, trained

    caches = {f: getattr(trained, f) for f in ("digits", "ann", "surrogate", "converted", "stdp")}
    caches["progressive_injury.healthy"] = progressive_injury.healthy
    most = max(len(preset.seeds) for name in studies.registry.names()
               for preset in studies.registry.presets(studies.registry.load(name)).values())
    assert most >= 5  # the lesion study's 5 seeds at least
    small = {f: c.cache_parameters()["maxsize"] for f, c in caches.items()
             if c.cache_parameters()["maxsize"] is not None and c.cache_parameters()["maxsize"] < most}
    assert not small, (most, small)
