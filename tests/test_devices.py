"""Issue 15, point 6: the torch side runs wherever its parameters are, not only on the CPU.

No test may need a GPU, so the models train here on torch's "meta" device: tensors with shapes
and devices but no data. Any tensor an ann model or lesion made on the CPU behind the caller's
back (torch.zeros(shape) in a forward pass, a mask or noise that never follows its layer) meets
a meta tensor in an operation, and torch then raises the device-mismatch error it raises on CUDA
("Tensor on device cpu is not on the expected device meta"). What runs on meta without one runs
on a CUDA device the same way; the samples/s there are measured by benchmarks/torch_devices.py.
"""
import pytest
import torch
import torch.nn.functional as F

from ann import lesion, models
from ann import word_stream as ws

META = torch.device("meta")

# (name, factory, input shape, targets: "class" (B,) labels, "step" (B, T) labels, "input" itself)
MODELS = [
    ("MLP", lambda: models.MLP(64, [32], 10), (8, 64), "class"),
    ("CNN", lambda: models.CNN(), (8, 64), "class"),
    ("RNN elman relu", lambda: models.RNN(cell="elman", nonlinearity="relu"), (8, 64), "class"),
    ("RNN lstm", lambda: models.RNN(cell="lstm"), (8, 8, 8), "class"),
    ("RNN gru", lambda: models.RNN(cell="gru"), (8, 8, 8), "class"),
    ("AttentionNet", lambda: models.AttentionNet(), (8, 64), "class"),
    ("Autoencoder", lambda: models.Autoencoder(64, [32], 8), (8, 64), "input"),
    ("SpikingMLP", lambda: models.SpikingMLP(64, [32, 16], 10, T=5), (8, 64), "class"),
    ("SpikingMLP recurrent", lambda: models.SpikingMLP(64, [32], 10, T=5, recurrent=True), (8, 64), "class"),
    ("SpikingMLP on sequences", lambda: models.SpikingMLP(8, [32], 10, T=8), (8, 8, 8), "class"),
    ("Listener", lambda: ws.Listener(16, 32), (4, 12, 16), "step"),
    ("SpikingListener", lambda: ws.SpikingListener(16, 32, steps_per_word=2), (4, 12, 16), "step"),
]


def _train_step(net, shape, target):
    """One forward and backward pass and one Adam step on meta; returns the output."""
    x = torch.randn(shape, device=META)
    out = net(x)
    if target == "class":
        loss = F.cross_entropy(out, torch.zeros(shape[0], dtype=torch.long, device=META))
    elif target == "step":
        loss = F.cross_entropy(out.reshape(-1, out.shape[-1]),
                               torch.zeros(shape[0] * shape[1], dtype=torch.long, device=META))
    else:
        loss = F.mse_loss(out, x)
    opt = torch.optim.Adam(net.parameters(), lr=1e-3)
    loss.backward()
    opt.step()
    return out


@pytest.mark.parametrize("name,make,shape,target", MODELS, ids=[m[0] for m in MODELS])
def test_every_model_trains_on_the_device_its_parameters_are_on(name, make, shape, target):
    torch.manual_seed(0)
    net = make().to(META)
    out = _train_step(net, shape, target)
    assert out.device == META
    assert all(p.device == META and p.grad is not None and p.grad.device == META
               for p in net.parameters() if p.requires_grad), name


def test_spiking_records_stay_on_the_device():
    net = models.SpikingMLP(64, [32], 10, T=5, recurrent=True).to(META)
    spikes = net.spikes(torch.randn(8, 64, device=META))
    assert spikes["hidden1"].shape == (5, 8, 32) and spikes["hidden1"].device == META


# lesions made on the CPU (they read the weights there) and then carried to the device with the
# model, as train.fit does: masks, gains, noise and clamped inputs must follow
LESIONS = [
    ("ablate units", lambda m: lesion.ablate(m, 0.5, seed=0)),
    ("ablate recurrent units", lambda m: lesion.ablate(m, 0.5, layers=["hidden.0.rec"], seed=0)),
    ("prune weights", lambda m: lesion.prune(m, 0.5, seed=0)),
    ("gain", lambda m: lesion.scale_gain(m, 0.5)),
    ("activation noise", lambda m: lesion.activation_noise(m, 0.3, seed=0)),
    ("deafferent", lambda m: lesion.deafferent(m, 0.5, level=0.2, seed=0)),
]


@pytest.mark.parametrize("name,make", LESIONS, ids=[le[0] for le in LESIONS])
def test_a_lesioned_spiking_network_trains_on_the_device(name, make):
    torch.manual_seed(0)
    sick = make(models.SpikingMLP(64, [32], 10, T=5, recurrent=True)).to(META)
    out = _train_step(sick, (8, 64), "class")
    assert out.device == META


def test_the_check_catches_a_tensor_left_on_the_cpu():
    """The premise of this file: a CPU tensor meeting a meta one fails, as it would on CUDA."""
    class Careless(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.fc = torch.nn.Linear(4, 3)

        def forward(self, x):
            return self.fc(x) + torch.zeros(x.shape[0], 3)  # made on the CPU whatever x is on

    with pytest.raises(RuntimeError, match="device"):
        Careless().to(META)(torch.randn(2, 4, device=META))
