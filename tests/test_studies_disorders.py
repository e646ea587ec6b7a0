"""The disorder studies (lesions, epilepsy, recovery, pruning) run end to end with their TINY presets."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import pytest

import studies
from studyrun import run_tiny, value


@pytest.mark.parametrize("name", ["lesions", "epilepsy", "recovery", "pruning"])
def test_study_is_registered_with_its_interface(name):
    module = studies.registry.load(name)
    assert module.__doc__.strip().splitlines()[0]
    assert isinstance(module.TINY, module.Params)


def test_lesions_tiny(tmp_path):
    """Full neuron loss leaves the ANN at chance; loss of inhibition raises the converted
    network's firing (E/I imbalance, e.g. Dichter & Ayala 1987)."""
    t = run_tiny("lesions", tmp_path).table
    assert set(t["system"]) == {"ann", "converted", "stdp"}
    assert value(t, "accuracy", system="ann", disorder="neurodegeneration", severity=0.0) > 0.3
    for system in ("ann", "converted", "stdp"):
        assert value(t, "accuracy", system=system, disorder="neurodegeneration", severity=1.0) <= 0.2
    assert value(t, "rate_hz", system="converted", disorder="epilepsy", severity=1.0) > \
        value(t, "rate_hz", system="converted", disorder="epilepsy", severity=0.0)
    assert not len(t[(t["system"] == "ann") & (t["metric"] == "rate_hz")])  # an ANN has no spikes


def test_epilepsy_tiny(tmp_path):
    """Brunel 2000: with weak inhibition (g = 3) neurons fire faster and more regularly than
    with strong inhibition (g = 6)."""
    t = run_tiny("epilepsy", tmp_path).table
    assert value(t, "rate_hz_exc", g=3.0, eta=2.0) > 2 * value(t, "rate_hz_exc", g=6.0, eta=2.0)
    assert value(t, "cv_isi_exc", g=3.0, eta=2.0) < value(t, "cv_isi_exc", g=6.0, eta=2.0)


def test_recovery_tiny(tmp_path):
    t = run_tiny("recovery", tmp_path).table
    assert set(t["system"]) == {"ann", "stdp"}
    healthy = value(t, "healthy_accuracy", system="ann")
    assert value(t, "lesioned_accuracy", system="ann") < healthy  # half the hidden units gone
    assert value(t, "accuracy", system="ann", retrain_samples=0) == value(t, "lesioned_accuracy", system="ann")


def test_pruning_tiny(tmp_path):
    """Hoffman & McGlashan 1997: heavy pruning of the weakest recurrent weights hurts."""
    t = run_tiny("pruning", tmp_path).table
    assert value(t, "accuracy", prune_fraction=0.9) < value(t, "accuracy", prune_fraction=0.0)
