"""ann.spiking: LIF dynamics by hand, surrogate gradients, recurrence, training with fit."""
import numpy as np
import pytest
import torch

from ann import data, models, spiking, train

torch.set_num_threads(1)

# Two neurons, beta = 0.5, threshold 1, constant inputs 0.6 and 1.0, ten steps, worked out
# by hand from the module docstring: v[t] = 0.5 v[t-1] + I; spike when v > 1; v -= 1.
# Neuron 1: 0.6, 0.9, 1.05 -> spike, 0.05; 0.625, 0.9125, 1.05625 -> spike, ...
# Neuron 2: 1.0 is not above threshold (strict); 1.5 -> spike, 0.5; 1.25 -> spike, 0.25; ...
V_GOLDEN = np.array([
    [0.6, 1.0], [0.9, 0.5], [0.05, 0.25], [0.625, 0.125], [0.9125, 0.0625],
    [0.05625, 0.03125], [0.628125, 0.015625], [0.9140625, 0.0078125],
    [0.05703125, 0.00390625], [0.628515625, 0.001953125]])
S_GOLDEN = np.array([[0, 0], [0, 1], [1, 1], [0, 1], [0, 1], [1, 1], [0, 1], [0, 1], [1, 1], [0, 1]])


def _identity_layer(layer_cls):
    layer = layer_cls(2, 2, beta=0.5, threshold=1.0)
    with torch.no_grad():
        layer.fc.weight.copy_(torch.eye(2))
        layer.fc.bias.zero_()
        if hasattr(layer, "rec"):
            layer.rec.weight.zero_()
    return layer


@pytest.mark.parametrize("layer_cls", [spiking.LIFLayer, spiking.RecurrentLIFLayer])
def test_golden_trajectory_integration_threshold_and_reset(layer_cls):
    """Norse-style golden trajectory: integration, strict threshold and reset by
    subtraction, ten steps computed by hand (a recurrent layer with V = 0 is the same)."""
    layer = _identity_layer(layer_cls)
    x = torch.tensor([0.6, 1.0]).expand(10, 1, 2)  # (T, B, F)
    with torch.no_grad():
        s, v = layer.simulate(x)
    assert s.shape == v.shape == (10, 1, 2)
    np.testing.assert_allclose(v[:, 0].numpy(), V_GOLDEN, atol=1e-6)
    np.testing.assert_array_equal(s[:, 0].numpy(), S_GOLDEN)


def test_recurrent_weights_enter_one_step_later():
    """v[t] = beta v[t-1] + I[t] + V s[t-1]: with V[0, 1] = 0.5 neuron 1 also receives half
    of neuron 2's previous spike. By hand: 0.6; 0.9 (no spike yet at t=1); 0.45 + 0.6 +
    0.5 = 1.55 -> spike, 0.55; 0.275 + 0.6 + 0.5 = 1.375 -> spike, 0.375."""
    layer = _identity_layer(spiking.RecurrentLIFLayer)
    with torch.no_grad():
        layer.rec.weight[0, 1] = 0.5
        s, v = layer.simulate(torch.tensor([0.6, 1.0]).expand(10, 1, 2))
    np.testing.assert_allclose(v[:4, 0, 0].numpy(), [0.6, 0.9, 0.55, 0.375], atol=1e-6)
    np.testing.assert_array_equal(s[:4, 0, 0].numpy(), [0, 0, 1, 1])
    np.testing.assert_array_equal(s[:, 0, 1].numpy(), S_GOLDEN[:, 1])  # neuron 2 unaffected


def test_readout_is_the_mean_leaky_membrane():
    """logits = mean over t of u[t] = 0.5 u[t-1] + s[t]; with the golden spikes
    u = 0, 0, 1, 0.5, 0.25, 1.125, 0.5625, 0.28125, 1.140625, 0.5703125 (neuron 1), mean
    0.54296875, and 0, 1, 1.5, 1.75, ..., 1.99609375 (neuron 2), mean 1.600390625."""
    net = models.SpikingMLP(2, [2], 2, beta=0.5, T=10)
    with torch.no_grad():
        for fc in (net.hidden[0].fc, net.readout.fc):
            fc.weight.copy_(torch.eye(2))
            fc.bias.zero_()
    x = torch.tensor([[0.6, 1.0]])
    np.testing.assert_allclose(net(x)[0].detach().numpy(), [0.54296875, 1.600390625], rtol=1e-6)
    np.testing.assert_array_equal(net.spikes(x)["hidden1"][:, 0].numpy(), S_GOLDEN)
    # a static sample is the same input at every step: identical to the repeated sequence
    np.testing.assert_allclose(net(x.expand(10, 2)[None]).detach(), net(x).detach())


def test_surrogate_is_the_fast_sigmoid_derivative():
    """Zenke & Ganguli 2018: dS/dz ~ 1 / (1 + slope |z|)^2; forward is the step H(z > 0)."""
    z = torch.tensor([-0.5, 0.0, 0.2, 1.0], requires_grad=True)
    s = spiking.spike_fn(z, slope=10.0)
    s.sum().backward()
    np.testing.assert_array_equal(s.detach().numpy(), [0, 0, 1, 1])
    np.testing.assert_allclose(z.grad.numpy(), [1 / 36, 1.0, 1 / 9, 1 / 121], rtol=1e-6)


def test_gradients_reach_every_weight_even_without_spikes(digits):
    """The surrogate lets the loss reach the input weights of silent neurons: with the
    input weights shrunk so that no hidden neuron fires, they still get gradient."""
    torch.manual_seed(0)
    net = models.SpikingMLP(64, [16, 16], 10, recurrent=True, T=8)
    with torch.no_grad():
        net.hidden[0].fc.weight.mul_(0.01)
        net.hidden[0].fc.bias.zero_()
    x, y = torch.from_numpy(digits.train.x[:32]), torch.from_numpy(digits.train.y[:32])
    assert net.spikes(x)["hidden1"].sum() == 0
    torch.nn.functional.cross_entropy(net(x), y).backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert net.hidden[0].fc.weight.grad.abs().sum() > 0


def test_recurrent_layer_uses_its_recurrent_weights(digits):
    torch.manual_seed(0)
    net = models.SpikingMLP(64, [32], 10, recurrent=True, T=10)
    x = torch.from_numpy(digits.test.x[:16])
    before = net.spikes(x)["hidden1"]
    assert before.shape == (10, 16, 32) and before.sum() > 0
    with torch.no_grad():
        net.hidden[0].rec.weight.mul_(-3.0)
    assert not torch.equal(net.spikes(x)["hidden1"], before)


@pytest.mark.parametrize("recurrent", [False, True])
def test_tiny_training_clearly_beats_chance(digits, recurrent):
    """A few epochs of train.fit on the digits: chance is 10%."""
    torch.manual_seed(0)
    net = models.SpikingMLP(64, [32], 10, recurrent=recurrent, T=8)
    train.fit(net, digits.train, epochs=3, device="cpu", val_fraction=0, progress=False)
    assert train.evaluate(net, digits.test) > 0.8


def test_sequence_input_trains_on_digit_rows():
    """(B, T, F) input: a digit read row by row, 8 steps of 8 pixels."""
    rows = data.digit_rows(seed=0)
    torch.manual_seed(0)
    net = models.SpikingMLP(8, [64], 10, recurrent=True)
    train.fit(net, rows.train, epochs=4, device="cpu", val_fraction=0, progress=False)
    assert net.spikes(torch.from_numpy(rows.test.x[:5]))["hidden1"].shape == (8, 5, 64)
    assert train.evaluate(net, rows.test) > 0.6


def test_checkpoint_rebuilds_the_model(tmp_path, digits):
    torch.manual_seed(0)
    net = models.SpikingMLP(64, [16], 10, recurrent=True, beta=0.9, T=5, slope=5.0)
    train.save_checkpoint(net, tmp_path / "snn.pt")
    back = train.load_checkpoint(tmp_path / "snn.pt")
    assert type(back) is models.SpikingMLP and back.config == net.config
    assert back.hidden[0].beta == 0.9 and back.hidden[0].slope == 5.0
    x = torch.from_numpy(digits.test.x[:8])
    torch.testing.assert_close(back(x), net(x))
    assert net.tau_m_ms == pytest.approx(-1.0 / np.log(0.9))


def test_bad_arguments_say_what_is_allowed():
    with pytest.raises(ValueError, match=r"beta must be in \[0, 1\]"):
        models.SpikingMLP(64, [16], 10, beta=1.5)
    with pytest.raises(ValueError, match="one or more positive integers"):
        models.SpikingMLP(64, [], 10)
    with pytest.raises(ValueError, match="threshold must be positive"):
        spiking.LIFLayer(3, 2, threshold=0.0)
    with pytest.raises(ValueError, match=r"\(batch, 64\) static samples or \(batch, steps, 64\)"):
        models.check_input(models.SpikingMLP(64, [16], 10), (5, 8, 8))


def test_record_activations_gives_firing_rates(digits):
    torch.manual_seed(0)
    net = models.SpikingMLP(64, [16, 8], 10, T=6)
    acts = models.record_activations(net, digits.test.x[:10], batch_size=4)
    assert {k: v.shape for k, v in acts.items()} == {"hidden1": (10, 16), "hidden2": (10, 8),
                                                     "readout": (10, 10)}
    x = torch.from_numpy(digits.test.x[:10])
    np.testing.assert_allclose(acts["hidden2"], net.spikes(x)["hidden2"].mean(0).numpy())
    np.testing.assert_allclose(acts["readout"], net(x).detach().numpy(), rtol=1e-5, atol=1e-6)
