"""bridge.systems.SurrogateSystem: a surrogate-gradient SpikingMLP behind the systems protocol."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import torch

from ann import data
from ann.spiking import SpikingMLP
from bridge import disorders
from bridge.systems import SurrogateSystem, is_system


@pytest.fixture(scope="module")
def digits():
    return data.digits(seed=0)


@pytest.fixture(scope="module")
def trained(digits):
    torch.manual_seed(0)
    system = SurrogateSystem(SpikingMLP(64, [24], 10, T=6), epochs=3, lr=1e-2)
    return system.retrained(digits.train.subset(np.arange(300)), seed=0)


def test_retrained_learns_and_follows_the_protocol(trained, digits):
    """More BPTT epochs on the digits lift the accuracy far above chance (0.1)."""
    test = digits.test.subset(np.arange(100))
    assert is_system(trained) and trained.substrate == "torch"
    assert trained.evaluate(test).accuracy > 0.5
    assert trained.size() == {"neurons": 34, "synapses": 64 * 24 + 24 * 10}


def test_torch_and_brian2_give_the_same_spikes(trained, digits):
    """bridge.torch_snn reproduces the torch dynamics exactly (its module docstring), so the
    system's accuracy, spike counts and activity agree whichever simulator runs it."""
    test = digits.test.subset(np.arange(40))
    in_brian = SurrogateSystem(trained.model, brian=True, target="numpy")
    a, b = trained.evaluate(test), in_brian.evaluate(test)
    assert a.accuracy == b.accuracy
    assert a.rate_hz == pytest.approx(b.rate_hz)
    np.testing.assert_array_equal(trained.representations(test.x)["hidden1"],
                                  in_brian.representations(test.x)["hidden1"])


def test_representations_are_spike_counts(trained, digits):
    x = digits.test.x[:7]
    counts = trained.representations(x)["hidden1"]
    assert counts.shape == (7, 24)
    assert np.all(counts == np.round(counts)) and counts.min() >= 0 and counts.max() <= 6  # <= T spikes


def test_neuron_loss_silences_neurons_and_pruning_shrinks_size(trained, digits):
    """Neurodegeneration at severity 0.5 silences half the hidden neurons (their counts are 0);
    synapse loss (alzheimer) cuts half of every weight matrix, which size() counts."""
    x = digits.test.x[:20]
    sick = disorders.get("neurodegeneration", severity=0.5, seed=1).apply(trained)
    silent = (sick.representations(x)["hidden1"] == 0).all(axis=0)
    assert silent.sum() >= 12
    pruned = disorders.get("alzheimer", severity=0.5, seed=1).apply(trained)
    assert pruned.size()["synapses"] == (64 * 24 + 24 * 10) // 2


def test_output_hook_lesions_are_refused_where_they_would_be_wrong(trained, digits):
    """ann.lesion's output hooks cannot travel into Brian2, nor act on a sequence's (T, B, N)
    currents: both are refused with a ValueError that says why, never computed wrongly."""
    sick = disorders.get("neurodegeneration", severity=0.5, seed=0).apply(trained)
    with pytest.raises(ValueError, match="cannot carry"):
        SurrogateSystem(sick.model, brian=True).evaluate(digits.test.subset(np.arange(5)))
    rows = data.digit_rows(seed=0)
    torch.manual_seed(0)
    seq = SurrogateSystem(SpikingMLP(8, [16], 10, recurrent=True))
    seq_sick = disorders.get("neurodegeneration", severity=0.5, seed=0).apply(seq)
    with pytest.raises(ValueError, match="static"):
        seq_sick.evaluate(rows.test.subset(np.arange(5)))
    # weight lesions act on .weight and are fine on sequences
    pruned = disorders.get("alzheimer", severity=0.5, seed=0).apply(seq)
    assert 0.0 <= pruned.evaluate(rows.test.subset(np.arange(5))).accuracy <= 1.0
