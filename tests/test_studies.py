"""The comparison studies (quickstart, conversion, learning) run end to end with their TINY presets."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

import studies
from studyrun import run_tiny, value


@pytest.mark.parametrize("name", ["quickstart", "conversion", "learning"])
def test_study_follows_the_interface(name):
    module = studies.registry.load(name)
    assert module.__doc__.strip().splitlines()[0]
    assert isinstance(module.TINY, module.Params)


@pytest.mark.slow  # tens of seconds (pytest --durations)
def test_quickstart_tiny(tmp_path):
    """The flagship: the converted SNN matches its ANN (IF neurons with reset by subtraction
    approximate ReLU rates, Rueckauer et al. 2017), the hidden layer's rates keep the ANN's
    geometry (CKA near 1), and removing every neuron leaves each system at chance."""
    res = run_tiny("quickstart", tmp_path)
    t = res.table
    ann, conv = value(t, "accuracy", system="ann"), value(t, "accuracy", system="converted")
    assert ann > 0.5 and abs(ann - conv) <= 0.1
    assert value(t, "similarity", layer="h1", measure="cka") > 0.9
    for system in ("ann", "converted", "stdp"):
        assert value(t, "lesioned_accuracy", system=system, severity=1.0) <= 0.25  # chance ~0.1
        assert value(t, "lesioned_accuracy", system=system, severity=0.0) == value(t, "accuracy", system=system)
    assert "test accuracy" in res.findings


def test_conversion_tiny(tmp_path):
    """Accuracy is read out at each time, and the SNN reaches the ANN within the run."""
    t = run_tiny("conversion", tmp_path).table
    assert set(t["normalisation"]) == {"max", "percentile"}
    early, late = value(t, "accuracy_t", time_ms=4.0), value(t, "accuracy_t", time_ms=32.0)
    assert late >= early - 0.05
    assert value(t, "cka", time_ms=32.0, layer="h1") > value(t, "cka", time_ms=4.0, layer="h1") - 0.05
    assert abs(value(t, "gap_pp")) <= 10


def test_learning_tiny(tmp_path):
    """Every system reports an accuracy for the samples seen, in [0, 1]."""
    t = run_tiny("learning", tmp_path).table
    metrics = {"ann_acc", "converted_acc", "stdp_acc", "ann_scratch_acc", "ann_transfer_acc",
               "stdp_transfer_acc"}
    assert metrics <= set(t["metric"])
    assert t["value"].between(0, 1).all()


def test_learning_stream_cycles_through_the_split():
    """'Samples seen' beyond the split size revisits every sample before any repeats twice."""
    from ann import data
    from studies.learning import stream

    split = data.digits(seed=0).train
    s = stream(split, len(split) + 10, seed=0)
    assert len(s) == len(split) + 10
    first = s.x[: len(split)]
    assert len({row.tobytes() for row in first}) == len({row.tobytes() for row in split.x})
