"""ann.models: every architecture learns the digits briefly and exposes its activations."""
import numpy as np
import pytest
import torch
from torch import nn

from ann import models, train

torch.set_num_threads(1)


# (model factory, epochs): a brief training each, chance is 10%
BRIEF = {
    "logreg": (lambda: models.MLP(64, [], 10), 5),
    "mlp_tanh": (lambda: models.MLP(64, [32], 10, activation="tanh"), 4),
    "cnn": (lambda: models.CNN(channels=(8, 16)), 2),
    "elman": (lambda: models.RNN(cell="elman", hidden_size=32), 4),
    "lstm": (lambda: models.RNN(cell="lstm", hidden_size=32), 4),
    "gru": (lambda: models.RNN(cell="gru", hidden_size=32), 4),
    "attention": (lambda: models.AttentionNet(d_model=32, n_layers=1, d_ff=64), 3),
}


@pytest.mark.parametrize("name", BRIEF)
def test_each_model_clearly_beats_chance(digits, name):
    make, epochs = BRIEF[name]
    torch.manual_seed(0)
    net = make()
    train.fit(net, digits.train, epochs=epochs, batch_size=32, lr=5e-3, device="cpu",
              val_fraction=0, progress=False)
    assert train.evaluate(net, digits.test) > 0.6


def test_logistic_regression_is_one_linear_layer():
    net = models.MLP(64, [], 10)
    assert isinstance(net, nn.Sequential) and len(net) == 1 and isinstance(net[0], nn.Linear)


def test_mlp_and_cnn_are_plain_sequential_stacks():
    """bridge.convert walks these layer by layer: only standard layers may appear."""
    allowed = (nn.Linear, nn.ReLU, nn.Conv2d, nn.BatchNorm2d, nn.MaxPool2d, nn.AvgPool2d,
               nn.Flatten, nn.Unflatten, nn.Dropout)
    for net in (models.MLP(64, [128, 64], 10), models.CNN(), models.CNN(batch_norm=False, pool="avg")):
        assert isinstance(net, nn.Sequential)
        assert all(type(layer) in allowed for layer in net)
    cnn = models.CNN(side=8)
    assert isinstance(cnn[0], nn.Unflatten) and cnn[0].unflattened_size == (1, 8, 8)
    assert all(c.padding == (1, 1) for c in cnn if isinstance(c, nn.Conv2d))


def test_activation_shapes_in_forward_order(digits):
    x = digits.test.x[:7]
    acts = models.record_activations(models.MLP(64, [128, 32], 10), x)
    assert [(k, v.shape) for k, v in acts.items()] == [
        ("fc1", (7, 128)), ("act1", (7, 128)), ("fc2", (7, 32)), ("act2", (7, 32)), ("out", (7, 10))]
    assert acts["act1"].min() >= 0

    cnn = models.record_activations(models.CNN(channels=(4, 8)), x)
    assert list(cnn)[:5] == ["unflatten", "conv1", "bn1", "relu1", "pool1"]
    assert cnn["conv1"].shape == (7, 4, 8, 8) and cnn["pool2"].shape == (7, 8, 2, 2)
    assert cnn["flatten"].shape == (7, 32) and cnn["out"].shape == (7, 10)

    rnn = models.record_activations(models.RNN(cell="gru", hidden_size=16), x)
    assert rnn["rnn"].shape == (7, 8, 16) and rnn["head"].shape == (7, 10)

    att = models.record_activations(models.AttentionNet(d_model=16, n_heads=2, n_layers=2), x)
    assert att["blocks.1.attn"].shape == (7, 8, 16) and att["pool"].shape == (7, 16)
    assert list(att)[0] == "embed" and list(att)[-1] == "head"

    ae = models.record_activations(models.Autoencoder(code_size=6), x)
    assert ae["encoder.code"].shape == (7, 6) and ae["decoder.sigmoid"].shape == (7, 64)


def test_recorded_output_equals_forward(digits):
    torch.manual_seed(0)
    net = models.CNN(channels=(4, 8)).eval()
    x = digits.test.x[:20]
    acts = models.record_activations(net, x, batch_size=6)  # several chunks
    np.testing.assert_allclose(acts["out"], net(torch.from_numpy(x)).detach().numpy(), atol=1e-5)


def test_unknown_names_are_clear_errors():
    with pytest.raises(ValueError, match="unknown activation 'relux'; choose one of: relu, tanh"):
        models.MLP(64, [10], 10, activation="relux")
    with pytest.raises(ValueError, match="unknown cell 'transformer'; choose one of: elman, lstm, gru"):
        models.RNN(cell="transformer")
    with pytest.raises(ValueError, match="pool"):
        models.CNN(pool="median")


def test_wrong_input_width_is_a_clear_error(digits):
    with pytest.raises(ValueError, match=r"MLP expects input of shape \(batch, 784\), got \(batch, 64\)"):
        train.fit(models.MLP(784, [16], 10), digits.train, epochs=1, progress=False)
    with pytest.raises(ValueError, match=r"RNN\(lstm\) expects \(batch, steps, 7\)"):
        train.evaluate(models.RNN(input_size=7), digits.test)
    with pytest.raises(ValueError, match="labels go up to 9 but the model has 5 outputs"):
        train.fit(models.MLP(64, [], 5), digits.train, epochs=1, progress=False)


def test_rnn_reads_rows_like_sequences(digits):
    torch.manual_seed(0)
    net = models.RNN(cell="lstm", hidden_size=8).eval()
    flat = torch.from_numpy(digits.test.x[:5])
    torch.testing.assert_close(net(flat), net(flat.reshape(5, 8, 8)))
