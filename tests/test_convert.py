"""bridge.convert: ANN -> SNN conversion in Brian2, the reference cross-check, and back to torch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ann import models, train
from bridge import compare, convert


@pytest.fixture(scope="module")
def mlp(digits):
    torch.manual_seed(0)
    net = models.MLP(64, [32], 10)
    train.fit(net, digits.train, epochs=15, device="cpu", progress=False, seed=0)
    return net


@pytest.fixture(scope="module")
def cnn(digits):
    torch.manual_seed(0)
    net = models.CNN(channels=(4, 8), batch_norm=True, pool="max", dropout=0.1)
    train.fit(net, digits.train, epochs=8, device="cpu", progress=False, seed=0)
    return net


@pytest.fixture(scope="module")
def few(digits):
    return digits.test.subset(np.arange(40))


def ann_predictions(net, x):
    with torch.no_grad():
        return net.eval()(torch.as_tensor(x)).argmax(1).numpy()


def test_mlp_snn_classifies_like_the_ann(mlp, digits, few):
    """Rate-coded IF networks with reset by subtraction approximate the ANN (Rueckauer et al. 2017):
    after 50 steps nearly every prediction matches, and layer rates track activations."""
    snn = convert.to_snn(mlp, calibration=digits.train.x[:300], neuron="if", normalisation="percentile")
    res = snn.evaluate(few, duration_ms=50)
    agree = np.mean(res.predictions == ann_predictions(mlp, few.x))
    assert agree >= 0.9 and res.accuracy >= 0.85
    assert res.accuracy_t[0] < res.accuracy_t[-1]  # nothing has arrived after the first step
    ann = convert.ann_activations(mlp, few.x)
    for layer in ("h1", "out"):  # out: spikes + membrane potential carry the logits
        assert compare.linear_cka(ann[layer], res.activations[layer]) > 0.9
    assert res.rates_hz["h1"].shape == (40, 32) and res.record.n_neurons["out"] == 400


def test_brian2_and_reference_agree_on_predictions(mlp, cnn, digits, few):
    """The cross-check of the issue: the same converted network and input, simulated by Brian2 and
    by the NumPy reference, agree on >= 99% of predictions (CNN: BatchNorm, max pooling, Poisson)."""
    for net, kw in ((mlp, dict(input="current")), (cnn, dict(input="poisson"))):
        snn = convert.to_snn(net, calibration=digits.train.x[:200], **kw)
        a = snn.evaluate(few, duration_ms=30, seed=1)
        b = snn.evaluate(few, duration_ms=30, seed=1, reference=True)
        assert np.mean(a.predictions == b.predictions) >= 0.99
        np.testing.assert_array_equal(a.out_counts, b.out_counts)


def test_cnn_with_batchnorm_and_maxpool_converts(cnn, digits, few):
    snn = convert.to_snn(cnn, calibration=digits.train.x[:200], normalisation="channel")
    res = snn.evaluate(few, duration_ms=40)
    assert snn.net.maxpool == ("h2", "h4")
    assert np.mean(res.predictions == ann_predictions(cnn, few.x)) >= 0.85


def test_round_trip_to_torch_restores_the_function(cnn, mlp, digits):
    """Folding BatchNorm and normalising weights are exact rescalings: converting back (undoing
    the scales, BatchNorm set to identity) gives the same logits for every normalisation."""
    x = torch.as_tensor(digits.test.x[:50])
    for net in (mlp, cnn):
        for how in ("max", "percentile", "channel"):
            back = convert.to_torch(convert.to_snn(net, calibration=digits.train.x[:100], normalisation=how), net)
            with torch.no_grad():
                torch.testing.assert_close(back.eval()(x), net.eval()(x), atol=1e-4, rtol=1e-4)


def test_lesioned_synapses_come_back_as_zero_weights(mlp, digits):
    snn = convert.to_snn(mlp, calibration=digits.train.x[:100])
    snn.net.populations["h1"].alive[3] = False
    back = convert.to_torch(snn, mlp)
    assert torch.all(back[0].weight[3] == 0) and torch.all(back[2].weight[:, 3] == 0)
    assert torch.count_nonzero(back[0].weight[:3]) > 0


def test_conv_and_pool_connectivity_equal_torch():
    """Index arithmetic (no per-position loops) reproduces conv2d and avg_pool2d exactly."""
    torch.manual_seed(1)
    conv = nn.Conv2d(3, 5, kernel_size=3, stride=2, padding=1)
    x = torch.rand(4, 3, 7, 7)
    stages = convert._parse(nn.Sequential(nn.Unflatten(1, (3, 7, 7)), conv, nn.ReLU(), nn.AvgPool2d(2),
                                          nn.Flatten(), nn.Linear(5 * 2 * 2, 2)), 3 * 49)
    pre, post, tap = convert._synapses(stages[0])
    dense = np.zeros((5 * 4 * 4, 3 * 49))
    np.add.at(dense, (post, pre), conv.weight.detach().numpy().ravel()[tap])
    with torch.no_grad():
        want = F.conv2d(x, conv.weight, stride=2, padding=1).numpy()
    np.testing.assert_allclose(x.reshape(4, -1).numpy() @ dense.T, want.reshape(4, -1), atol=1e-5)
    pre, post, _ = convert._synapses(stages[1])
    pool = np.zeros((5 * 2 * 2, 5 * 4 * 4))
    pool[post, pre] = 0.25
    h = torch.rand(4, 5, 4, 4)
    np.testing.assert_allclose(h.reshape(4, -1).numpy() @ pool.T, F.avg_pool2d(h, 2).reshape(4, -1).numpy(),
                               atol=1e-6)


def test_unsupported_layers_and_bad_calibration_are_explained(mlp):
    with pytest.raises(ValueError, match=r"layer 1 \(1: Sigmoid\) is not supported; supported layers: "
                                         r"Linear, Conv2d, AvgPool2d, MaxPool2d"):
        convert.to_snn(nn.Sequential(nn.Linear(64, 10), nn.Sigmoid(), nn.Linear(10, 2)),
                       calibration=np.zeros((5, 64)))
    with pytest.raises(ValueError, match=r"calibration data must be a non-empty \(samples, 64\) array"):
        convert.to_snn(mlp, calibration=np.zeros((5, 63)))
    with pytest.raises(ValueError, match="not followed by a ReLU"):
        convert.to_snn(nn.Sequential(nn.Linear(64, 10), nn.Linear(10, 2)), calibration=np.zeros((5, 64)))
    with pytest.raises(ValueError, match="unknown normalisation 'l2'; choose one of: max, percentile, channel"):
        convert.to_snn(mlp, calibration=np.zeros((5, 64)), normalisation="l2")


def test_lif_costs_rate(mlp, digits, few):
    """A leak loses charge, so LIF neurons fire less than IF ones for the same drive."""
    kw = dict(calibration=digits.train.x[:100])
    if_rates = convert.to_snn(mlp, neuron="if", **kw).evaluate(few, duration_ms=30).rates_hz["h1"]
    lif_rates = convert.to_snn(mlp, neuron="lif", tau_m_ms=5.0, t_ref_ms=1.0, **kw).evaluate(
        few, duration_ms=30).rates_hz["h1"]
    assert lif_rates.mean() < 0.9 * if_rates.mean()


def test_batches_give_the_same_result_as_one_run(mlp, digits, few):
    snn = convert.to_snn(mlp, calibration=digits.train.x[:100])
    whole = snn.evaluate(few, duration_ms=20, reference=True)
    parts = snn.evaluate(few, duration_ms=20, reference=True, batch_size=15)
    np.testing.assert_array_equal(whole.out_counts, parts.out_counts)
    np.testing.assert_array_equal(whole.record.indices["h1"], parts.record.indices["h1"])
