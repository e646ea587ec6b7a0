"""bridge.convert: ANN -> SNN conversion in Brian2, the reference cross-check, and back to torch."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from ann import models, train
from bio import analysis, layered, neurons
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


def agreement(net, res, split):
    return float(np.mean(res.predictions == ann_predictions(net, split.x)))


class Split:
    """A split with chosen .x and .y (for bad-input tests)."""

    def __init__(self, x, y):
        self.x, self.y = x, y


def test_mlp_snn_classifies_like_the_ann(mlp, digits, few):
    """Rate-coded IF networks with reset by subtraction approximate the ANN (Rueckauer et al. 2017):
    after 50 steps nearly every prediction matches, and layer rates track activations."""
    snn = convert.to_snn(mlp, calibration=digits.train.x[:300], neuron="if", normalisation="percentile")
    res = snn.evaluate(few, duration_ms=50)
    assert agreement(mlp, res, few) >= 0.9 and res.accuracy >= 0.85
    assert res.accuracy_t[0] < res.accuracy_t[-1]  # nothing has arrived after the first step
    ann = convert.ann_activations(mlp, few.x)
    for layer in ("h1", "out"):  # out: spikes + membrane potential carry the logits
        assert compare.linear_cka(ann[layer], res.activations[layer]) > 0.9
    assert res.rates_hz["h1"].shape == (40, 32) and res.record.n_neurons["out"] == 400


def test_brian2_and_reference_give_identical_spikes(mlp, cnn, digits, few):
    """The cross-check: the same converted network and input, simulated by Brian2 (bio.run) and by
    the NumPy reference, give the same spikes in every layer (MLP: IF and LIF with current input;
    CNN: BatchNorm, max pooling, Poisson input)."""
    cases = ((mlp, dict(input="current")), (mlp, dict(neuron="lif", t_ref_ms=1.0)),
             (cnn, dict(input="poisson")))
    for net, kw in cases:
        snn = convert.to_snn(net, calibration=digits.train.x[:200], **kw)
        a = snn.evaluate(few, duration_ms=30, seed=1)
        b = snn.evaluate(few, duration_ms=30, seed=1, reference=True)
        np.testing.assert_array_equal(a.predictions, b.predictions)
        for pop in snn.populations:
            np.testing.assert_array_equal(a.record.spike_counts(pop), b.record.spike_counts(pop))
            np.testing.assert_array_equal(a.record.times_s[pop].round(6), b.record.times_s[pop].round(6))
        assert a.out_counts.sum() > 0


def _relu_outputs(net, x):
    """Post-ReLU activations of every ReLU module and the logits, by forward hooks (independent of
    bridge.convert's own layer walk)."""
    acts = []
    hooks = [m.register_forward_hook(lambda m, i, o: acts.append(o.detach().double().numpy()))
             for m in net if isinstance(m, nn.ReLU)]
    try:
        with torch.no_grad():
            logits = net.eval()(torch.as_tensor(x)).double().numpy()
    finally:
        for h in hooks:
            h.remove()
    return acts, logits


def test_normalisation_values_are_max_percentile_and_channel_percentile(mlp, cnn, digits):
    """lambda of each layer (Diehl et al. 2015: max; Rueckauer et al. 2017, sec. 2.3: 99.9th
    percentile of the positive activations; Kim et al. 2020: per channel) equals np.max /
    np.percentile of the ANN's calibration activations, and the weights use it:
    w_snn = w_ann * lambda_pre / lambda_post in thresholds, times the model's threshold distance."""
    x = digits.train.x[:150]
    (h1,), logits = _relu_outputs(mlp, x)
    for how, want in (("max", lambda a: a[a > 0].max()), ("percentile", lambda a: np.percentile(a[a > 0], 99.9))):
        snn = convert.to_snn(mlp, calibration=x, normalisation=how)
        np.testing.assert_allclose(snn.scales["h1"], want(h1), rtol=1e-6)
        np.testing.assert_allclose(snn.scales["out"], want(logits), rtol=1e-6)
        w1 = mlp[0].weight.detach().double().numpy()  # (32, 64)
        c = snn.net.connections["in->h1"]
        np.testing.assert_allclose(layered.weights_in_thresholds(snn.net, "in->h1"),
                                   w1[c.j, c.i] / want(h1), rtol=1e-6)
        np.testing.assert_allclose(c.w, w1[c.j, c.i] / want(h1) * 1e-3, rtol=1e-6)  # threshold 1 mV
        w2 = mlp[2].weight.detach().double().numpy()
        c = snn.net.connections["h1->out"]
        np.testing.assert_allclose(layered.weights_in_thresholds(snn.net, "h1->out"),
                                   w2[c.j, c.i] * want(h1) / want(logits), rtol=1e-6)
    (r1, r2), logits = _relu_outputs(cnn, x)
    snn = convert.to_snn(cnn, calibration=x, normalisation="channel", percentile=99.0)
    for pop, act in (("h1", r1), ("h3", r2)):
        per_channel = [np.percentile(a[a > 0], 99.0) for a in np.moveaxis(act, 1, 0)]  # (C,)
        np.testing.assert_allclose(snn.scales[pop].reshape(act.shape[1], -1),
                                   np.repeat(np.array(per_channel)[:, None], act[0, 0].size, axis=1), rtol=1e-6)
    np.testing.assert_allclose(snn.scales["h2"], snn.scales["h1"].reshape(4, 64)[:, :16].ravel())  # pooling keeps it
    np.testing.assert_allclose(snn.scales["out"], np.percentile(logits[logits > 0], 99.0), rtol=1e-6)


def test_cnn_with_batchnorm_and_maxpool_converts(cnn, digits, few):
    snn = convert.to_snn(cnn, calibration=digits.train.x[:200], normalisation="channel")
    res = snn.evaluate(few, duration_ms=40)
    assert snn.net.meta["maxpool"] == ("h2", "h4")
    assert snn.net.populations["h1"].shape == (4, 8, 8) and snn.net.populations["in"].shape == (1, 8, 8)
    assert agreement(cnn, res, few) >= 0.85


def test_avgpool_cnn_converts(digits, few):
    """Average pooling is a plain IF population with weights 1/k^2 (Rueckauer et al. 2017): a pooled
    neuron's spike count is the mean count of its 2x2 window (to within one spike), and the
    simulated CNN classifies like the ANN after 100 ms."""
    torch.manual_seed(1)
    net = models.CNN(channels=(4, 8), batch_norm=True, pool="avg", dropout=0.0)
    train.fit(net, digits.train, epochs=8, device="cpu", progress=False, seed=0)
    snn = convert.to_snn(net, calibration=digits.train.x[:200])
    assert not snn.net.meta["maxpool"]
    np.testing.assert_allclose(layered.weights_in_thresholds(snn.net, "h1->h2"), 0.25)
    res = snn.evaluate(few, duration_ms=100)
    h1 = res.record.spike_counts("h1", 0.0, 0.099 - 1e-9).reshape(40, 4, 4, 2, 4, 2)  # (N, C, y, dy, x, dx)
    window_sum = h1.sum(axis=(3, 5)).reshape(40, -1)
    h2 = res.record.spike_counts("h2").reshape(40, -1)
    assert window_sum.max() > 100 and np.abs(h2 - window_sum / 4).max() <= 1.0
    ann_acc = float(np.mean(ann_predictions(net, few.x) == few.y))
    assert res.accuracy >= ann_acc - 0.1 and agreement(net, res, few) >= 0.85


def test_lif_conversion_accuracy(mlp, digits, few):
    """LIF neurons (tau_m 20 ms) lose a little charge to the leak, so they fire less than IF neurons
    for the same drive, yet still classify like the ANN after 50 ms."""
    kw = dict(calibration=digits.train.x[:200])
    ideal = convert.to_snn(mlp, neuron="if", **kw).evaluate(few, duration_ms=50, reference=True)
    leaky = convert.to_snn(mlp, neuron="lif", tau_m_ms=20.0, t_ref_ms=1.0, **kw).evaluate(few, duration_ms=50)
    assert leaky.rates_hz["h1"].mean() < 0.95 * ideal.rates_hz["h1"].mean()
    assert agreement(mlp, leaky, few) >= 0.9 and leaky.accuracy >= ideal.accuracy - 0.05


def test_adex_and_izhikevich_targets_convert(mlp, digits, few):
    """Any bio.neurons model can be the target: weights in thresholds become volts on its own
    potentials. AdEx (Brette & Gerstner 2005) at dt 1 ms and Izhikevich RS (2003) at dt 0.25 ms
    both classify far above chance (10%) after 50 ms."""
    adex = convert.to_snn(mlp, calibration=digits.train.x[:200], neuron=neurons.AdEx())
    assert isinstance(adex.net.populations["h1"].model, neurons.AdEx)
    assert adex.evaluate(few, duration_ms=50).accuracy >= 0.7
    izh = convert.to_snn(mlp, calibration=digits.train.x[:200], neuron=neurons.Izhikevich.preset("RS"))
    with pytest.raises(ValueError, match=r"Izhikevich neurons need dt_ms <= 0.25"):
        izh.evaluate(few, duration_ms=50, dt_ms=0.5)
    assert izh.evaluate(few, duration_ms=50, dt_ms=0.25).accuracy >= 0.7
    with pytest.raises(ValueError, match="the reference simulates IF and LIF"):
        adex.evaluate(few, duration_ms=5, reference=True)


def test_cortical_regime_fires_sparsely_and_irregularly(mlp, digits, few):
    """The cortical regime (leak, refractoriness, background noise, Poisson input at a low rate)
    keeps mean rates at or below 20 Hz with irregular firing (CV of ISIs > 0.5; cortex: a few Hz,
    CV near 1, Softky & Koch 1993), and still classifies above chance after 1 s."""
    snn = convert.to_snn(mlp, calibration=digits.train.x[:200], neuron="cortical")
    assert snn.input == "poisson" and snn.net.populations["h1"].noise_sigma > 0
    res = snn.evaluate(few.subset(np.arange(20)), duration_ms=1000, seed=0)
    for pop in ("h1", "out"):
        assert analysis.mean_rate(res.record, pop) <= 20.0
    assert analysis.cv_isi(res.record, "h1") > 0.5
    assert res.accuracy >= 0.5


def test_round_trip_to_torch_restores_the_function(cnn, mlp, digits):
    """Folding BatchNorm and normalising weights are exact rescalings: converting back (undoing
    the scales, BatchNorm set to identity) gives the same logits for every normalisation."""
    x = torch.as_tensor(digits.test.x[:50])
    for net in (mlp, cnn):
        for how in ("max", "percentile", "channel"):
            back = convert.to_torch(convert.to_snn(net, calibration=digits.train.x[:100], normalisation=how), net)
            with torch.no_grad():
                torch.testing.assert_close(back.eval()(x), net.eval()(x), atol=1e-4, rtol=1e-4)
    back = convert.to_torch(convert.to_snn(mlp, calibration=digits.train.x[:100], neuron=neurons.AdEx()), mlp)
    with torch.no_grad():
        torch.testing.assert_close(back.eval()(x), mlp.eval()(x), atol=1e-4, rtol=1e-4)


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


def test_unsupported_layers_and_bad_calibration_are_explained(mlp, digits):
    with pytest.raises(ValueError, match=r"layer 1 \(1: Sigmoid\) is not supported; supported layers: "
                                         r"Linear, Conv2d, AvgPool2d, MaxPool2d"):
        convert.to_snn(nn.Sequential(nn.Linear(64, 10), nn.Sigmoid(), nn.Linear(10, 2)),
                       calibration=np.ones((5, 64)))
    with pytest.raises(ValueError, match=r"calibration data must be a non-empty \(samples, 64\) array"):
        convert.to_snn(mlp, calibration=np.zeros((5, 63)))
    with pytest.raises(ValueError, match="not followed by a ReLU"):
        convert.to_snn(nn.Sequential(nn.Linear(64, 10), nn.Linear(10, 2)), calibration=np.ones((5, 64)))
    with pytest.raises(ValueError, match="unknown normalisation 'l2'; choose one of: max, percentile, channel"):
        convert.to_snn(mlp, calibration=np.ones((5, 64)), normalisation="l2")
    nan = digits.train.x[:50].copy()
    nan[3, 7] = np.nan
    with pytest.raises(ValueError, match=r"calibration data hold NaN or infinite values \(in 1 of 50"):
        convert.to_snn(mlp, calibration=nan)
    with pytest.raises(ValueError, match="calibration data are all zero"):
        convert.to_snn(mlp, calibration=np.zeros((20, 64)))
    dead = nn.Sequential(nn.Linear(64, 4), nn.ReLU(), nn.Linear(4, 2))
    with torch.no_grad():
        dead[0].weight.fill_(-1.0), dead[0].bias.fill_(-1.0)
    with pytest.raises(ValueError, match="layer h1 has no positive activation on the calibration data"):
        convert.to_snn(dead, calibration=digits.train.x[:20])


def test_bad_neuron_choices_are_explained(mlp, digits):
    x = digits.train.x[:50]
    with pytest.raises(ValueError, match="unknown neuron 'hh'; choose one of: if, lif, cortical"):
        convert.to_snn(mlp, calibration=x, neuron="hh")
    with pytest.raises(ValueError, match="tau_m_ms and t_ref_ms apply to neuron='if'/'lif'"):
        convert.to_snn(mlp, calibration=x, neuron=neurons.LIF(), tau_m_ms=10.0)
    with pytest.raises(ValueError, match="tau_m_ms applies to neuron='lif'"):
        convert.to_snn(mlp, calibration=x, neuron="if", tau_m_ms=10.0)
    with pytest.raises(ValueError, match="max_rate_hz must be a finite number > 0"):
        convert.to_snn(mlp, calibration=x, max_rate_hz=0.0)
    with pytest.raises(ValueError, match="unknown input 'latency'"):
        convert.to_snn(mlp, calibration=x, input="latency")


def test_bad_evaluation_inputs_are_explained(mlp, digits, few):
    snn = convert.to_snn(mlp, calibration=digits.train.x[:100])
    x, y = few.x[:5].copy(), few.y[:5].copy()
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="evaluation data hold NaN"):
        snn.evaluate(Split(bad, y), duration_ms=5)
    with pytest.raises(ValueError, match=r"evaluation inputs must lie in \[0, 1\]"):
        snn.evaluate(Split(x * 2 + 0.1, y), duration_ms=5)
    with pytest.raises(ValueError, match=r"labels must be one per sample, shape \(5,\), got shape \(4,\)"):
        snn.evaluate(Split(x, y[:4]), duration_ms=5)
    with pytest.raises(ValueError, match=r"labels must lie in 0..9"):
        snn.evaluate(Split(x, np.array([0, 1, 2, 3, 10])), duration_ms=5)
    with pytest.raises(ValueError, match="labels must be whole class numbers"):
        snn.evaluate(Split(x, y + 0.5), duration_ms=5)
    with pytest.raises(ValueError, match="need finite duration_ms >= dt_ms > 0"):
        snn.evaluate(few, duration_ms=0.5, dt_ms=1.0)
    with pytest.raises(ValueError, match="batch_size must be a whole number >= 1"):
        snn.evaluate(few, duration_ms=5, batch_size=0)


def test_batches_give_the_same_result_as_one_run(mlp, digits, few):
    snn = convert.to_snn(mlp, calibration=digits.train.x[:100])
    whole = snn.evaluate(few, duration_ms=20, reference=True)
    parts = snn.evaluate(few, duration_ms=20, reference=True, batch_size=15)
    np.testing.assert_array_equal(whole.out_counts, parts.out_counts)
    np.testing.assert_array_equal(whole.record.indices["h1"], parts.record.indices["h1"])
    assert parts.record.copies == 40
