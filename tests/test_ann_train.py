"""ann.train: determinism, checkpoints, early stopping, transfer learning; ann.gan."""
import numpy as np
import pytest
import torch

from ann import gan, models, train

torch.set_num_threads(1)


def _small_fit(net, split, **kw):
    kw = dict(epochs=2, batch_size=32, lr=5e-3, device="cpu", progress=False) | kw
    return train.fit(net, split, **kw)


def test_fit_is_deterministic_on_cpu(digits):
    runs = []
    for _ in range(2):
        torch.manual_seed(3)
        net = models.MLP(64, [32], 10)
        h = _small_fit(net, digits.train, seed=7)
        runs.append((h.train_loss, h.val_acc, net.fc1.weight.detach().clone()))
    assert runs[0][0] == runs[1][0] and runs[0][1] == runs[1][1]
    assert torch.equal(runs[0][2], runs[1][2])
    torch.manual_seed(3)
    other = models.MLP(64, [32], 10)
    assert _small_fit(other, digits.train, seed=8).train_loss != runs[0][0]


def test_history_records_each_epoch_and_loss_falls(digits):
    torch.manual_seed(0)
    h = _small_fit(models.MLP(64, [32], 10), digits.train, epochs=4)
    assert h.epochs == 4 and len(h.val_loss) == 4 and len(h.train_acc) == 4
    assert h.train_loss[-1] < 0.5 * h.train_loss[0] and h.samples_per_s > 0


def test_early_stopping_restores_the_best_epoch(digits):
    torch.manual_seed(0)
    net = models.MLP(64, [32], 10)
    # lr far too high: the validation loss soon stops improving
    h = _small_fit(net, digits.train, epochs=40, lr=0.5, optimizer="sgd", patience=2, schedule="constant")
    assert h.stopped_early and h.epochs < 40 and h.epochs == h.best_epoch + 3
    with pytest.raises(ValueError, match="needs a validation split"):
        _small_fit(net, digits.train, patience=2, val_fraction=0)


def test_checkpoint_round_trip_and_wrong_architecture(digits, tmp_path):
    torch.manual_seed(0)
    net = models.CNN(channels=(4, 8), hidden_sizes=[16])
    _small_fit(net, digits.train, epochs=1)
    path = tmp_path / "cnn.pt"
    train.save_checkpoint(net, path)
    back = train.load_checkpoint(path)
    assert type(back) is models.CNN and back.config == net.config
    np.testing.assert_array_equal(train.predict(back, digits.test.x), train.predict(net, digits.test.x))
    with pytest.raises(ValueError, match=r"holds a CNN\(.*cannot be loaded into a MLP"):
        train.load_checkpoint(path, into=models.MLP(64, [16], 10))
    with pytest.raises(ValueError, match=r"cannot be loaded into a CNN"):
        train.load_checkpoint(path, into=models.CNN(channels=(4, 16)))


def test_nan_in_data_is_an_error():
    x = np.zeros((10, 64), np.float32)
    x[4, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        train.fit(models.MLP(64, [], 10), (x, np.zeros(10, int)), epochs=1, progress=False)


def test_transfer_from_digits_0_4_to_5_9_with_a_frozen_hidden_layer(digits):
    torch.manual_seed(0)
    lower, upper = digits.select_classes(range(5)), digits.select_classes(range(5, 10))
    net = models.MLP(64, [64], 5)
    _small_fit(net, lower.train, epochs=5)
    hidden = net.fc1.weight.detach().clone()
    h = train.fine_tune(net, upper.train, freeze=["fc1"], new_head=5, epochs=10, lr=1e-2,
                        device="cpu", progress=False)
    assert torch.equal(net.fc1.weight, hidden)  # the frozen features did not move
    assert h.train_loss[-1] < h.train_loss[0]
    assert train.evaluate(net, upper.test) > 0.6  # features learnt on 0-4 serve 5-9 (chance 0.2)
    with pytest.raises(ValueError, match="unknown layer 'fc9'; choose from: fc1, act1, out"):
        train.freeze(net, ["fc9"])


def test_autoencoder_reconstructs_better_than_the_mean_image(digits):
    torch.manual_seed(0)
    ae = models.Autoencoder(hidden_sizes=[64], code_size=16)
    h = _small_fit(ae, digits.train, epochs=15, val_fraction=0)
    assert np.isnan(h.train_acc[-1])
    mse = train.reconstruction_error(ae, digits.test)
    baseline = float(((digits.test.x - digits.train.x.mean(0)) ** 2).mean())
    assert mse < 0.6 * baseline
    with pytest.raises(ValueError, match="reconstruction_error"):
        train.evaluate(ae, digits.test)


def test_gan_samples_move_towards_the_digits(digits):
    """Goodfellow et al. 2014: adversarial training pulls the generated distribution
    towards the data; here the mean generated image approaches the mean digit."""
    torch.manual_seed(0)
    g = models.GAN(hidden_size=64)
    mean_digit = digits.train.x.mean(0)
    before = float(((g.sample(256).mean(0) - mean_digit) ** 2).mean())
    h = gan.fit_gan(g, digits.train, epochs=5, device="cpu", progress=False)
    after = float(((g.sample(256).mean(0) - mean_digit) ** 2).mean())
    assert after < 0.6 * before and len(h.d_loss) == 5
    fig = gan.sample_grid(g, n=16)
    assert fig.axes[0].images[0].get_array().shape == (35, 35)
    with pytest.raises(ValueError, match="fit_gan"):
        train.fit(g, digits.train, progress=False)
