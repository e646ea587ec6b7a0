"""The disorder studies (lesions, epilepsy, recovery, hallucinations) run end to end with their TINY presets."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

import studies
from studyrun import assert_ephys, run_tiny, value


@pytest.mark.parametrize("name", ["lesions", "epilepsy", "recovery", "hallucinations"])
def test_study_is_registered_with_its_interface(name):
    module = studies.registry.load(name)
    assert module.__doc__.strip().splitlines()[0]
    assert isinstance(module.TINY, module.Params)


@pytest.mark.slow  # tens of seconds (pytest --durations)
def test_lesions_tiny(tmp_path):
    """Full neuron loss leaves every system at chance (normalised accuracy 0); a focal stroke is
    declared not applicable to systems whose units have no spatial layout (MLP, its converted
    network, the STDP network) instead of being drawn as a finding."""
    res = run_tiny("lesions", tmp_path)
    t = res.table
    assert set(t["system"]) == {"ann", "converted", "stdp"}
    assert value(t, "accuracy", system="ann", disorder="neurodegeneration", severity=0.0) > 0.3
    for system in ("ann", "converted", "stdp"):
        assert value(t, "accuracy", system=system, disorder="neurodegeneration", severity=1.0) <= 0.2
        assert value(t, "applies", system=system, disorder="stroke") == 0
        assert value(t, "applies", system=system, disorder="neurodegeneration") == 1
    assert t[(t["disorder"] == "stroke") & (t["metric"] == "accuracy")]["value"].isna().all()
    assert "area under the normalised accuracy curve" in res.findings and "not applicable" in res.findings
    # lesions_energy: one line per (disorder, system) that applies, one row per severity; the ANN's
    # bill is its dense MAC count, (64*10 + 10*10) MACs x 4.6 pJ (Horowitz 2014), whatever the lesion
    from studies.lesions import energy_lines

    lines = energy_lines(t)
    assert {p.name for p in res.figures} >= {"lesions_energy.png", "lesions_energy.svg"}
    assert sorted(lines.groupby(["disorder", "system"]).groups) == [
        ("neurodegeneration", s) for s in ("ann", "converted", "stdp")]
    assert (lines.groupby(["disorder", "system"]).size() == 2).all()
    assert lines[lines["severity"] == 0.0]["energy_rel_mean"].tolist() == pytest.approx([1.0, 1.0, 1.0])
    ann = lines[lines["system"] == "ann"]
    assert ann["energy_pj_mean"].tolist() == pytest.approx([(64 * 10 + 10 * 10) * 4.6] * 2)
    assert_ephys(res, "lesions_ephys", ["h1", "exc"])  # the converted and the STDP network


@pytest.mark.slow  # ~15 s of CPU: three 2.5 s network runs and three example reruns (numpy)
def test_epilepsy_tiny(tmp_path):
    """bio/seizure.py: the healthy network is asynchronous, 70% loss of inhibition gives
    seizure-like episodes, total loss tonic firing (states indexed as in studies.epilepsy.STATES);
    the rate network under the same disorder goes from a stable to a runaway state."""
    res = run_tiny("epilepsy", tmp_path)
    t = res.table
    records = assert_ephys(res, "epilepsy_ephys", ["exc", "inh"])
    seizing = t[(t["severity"] == 0.7)]["point"].iloc[0]
    # the second kept starts a quarter second before the first episode: it holds the onset
    rec = next(r for (key, _), r in records.items() if key == seizing)
    from bio import analysis

    _, rate = analysis.population_rate(rec, "exc", bin_s=0.01, t_stop_s=0.5)
    assert rec.duration_s == pytest.approx(1.0) and rate.max() > 40  # the detector's onset threshold
    states = studies.registry.load("epilepsy").STATES
    assert [states[int(value(t, "state", severity=s))] for s in (0.0, 0.7, 1.0)] == \
        ["asynchronous", "seizures", "tonic"]
    assert value(t, "seizures_per_min", severity=0.7) > 0 and value(t, "seizure_fraction", severity=1.0) > 0.9
    assert value(t, "rate_hz", severity=1.0) > 10 * value(t, "rate_hz", severity=0.0)
    assert value(t, "ann_eig_max", severity=0.0) < 0 < value(t, "ann_eig_max", severity=1.0)
    assert value(t, "ann_activity", severity=1.0) > 0.9 > 0.2 > value(t, "ann_activity", severity=0.0)


@pytest.mark.slow  # tens of seconds (pytest --durations)
def test_recovery_tiny(tmp_path):
    """After half the hidden units die, fine-tuning on a few hundred samples recovers part of
    the lost accuracy (the recovery the study measures, not a restatement of the lesion)."""
    t = run_tiny("recovery", tmp_path).table
    assert set(t["system"]) == {"ann", "stdp"}
    healthy = value(t, "healthy_accuracy", system="ann")
    lesioned = value(t, "lesioned_accuracy", system="ann")
    assert lesioned < healthy - 0.05  # half the hidden units gone
    assert value(t, "accuracy", system="ann", retrain_samples=300) > lesioned + 0.05
