"""ann.lesion: each lesion changes exactly what it says, on a copy, reproducibly."""
import copy
import os
import pickle

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import torch
from torch import nn

from ann import lesion
from ann.models import RNN


def mlp(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(8, 20), nn.ReLU(), nn.Linear(20, 10), nn.ReLU(), nn.Linear(10, 3))


def cnn(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Conv2d(1, 10, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                         nn.Linear(10 * 4 * 4, 3))


def outputs_of(model, layer, x):
    """The output of module `layer` for input x (after any lesion hooks)."""
    seen = {}
    handle = dict(model.named_modules())[layer].register_forward_hook(
        lambda m, i, o: seen.__setitem__("y", o[0] if isinstance(o, tuple) else o))
    with torch.no_grad():
        model(x)
    handle.remove()
    return seen["y"]


def same_state(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def test_layer_lookup_finds_hidden_units_not_readout():
    assert lesion.weighted_layers(mlp()) == ["0", "2", "4"]
    assert lesion.hidden_layers(mlp()) == ["1", "3"]  # the ReLUs after each hidden layer
    assert lesion.hidden_layers(cnn()) == ["1"]
    assert lesion.hidden_layers(RNN(cell="gru", hidden_size=6)) == ["rnn"]


def test_ablate_silences_exactly_the_fraction_and_leaves_original():
    net = mlp()
    before = copy.deepcopy(net)
    sick = lesion.ablate(net, 0.3, seed=1)
    x = torch.randn(200, 8)
    h1, h2 = outputs_of(sick, "1", x), outputs_of(sick, "3", x)
    assert int((h1 == 0).all(0).sum()) == 6 and int((h2 == 0).all(0).sum()) == 3
    healthy = outputs_of(net, "1", x)
    assert int((healthy == 0).all(0).sum()) == 0  # so the zeros above are the lesion
    # survivors untouched
    alive = ~(h1 == 0).all(0)
    assert torch.equal(h1[:, alive], healthy[:, alive])
    assert same_state(net, before) and not net._forward_hooks and not net[1]._forward_hooks


def test_ablate_same_seed_same_units_other_seed_other_units():
    x = torch.randn(100, 8)
    dead = [(outputs_of(lesion.ablate(mlp(), 0.5, seed=s), "1", x) == 0).all(0) for s in (3, 3, 4)]
    assert torch.equal(dead[0], dead[1]) and not torch.equal(dead[0], dead[2])


def test_ablate_feature_maps_and_patch_of_positions():
    x = torch.rand(20, 1, 8, 8)
    maps = outputs_of(lesion.ablate(cnn(), 0.3, seed=0), "1", x)  # (B, C, H, W)
    assert int((maps == 0).flatten(2).all(-1).all(0).sum()) == 3  # 3 of 10 whole maps
    net = cnn()
    with torch.no_grad():  # make every healthy unit active, so zeros can only be the lesion
        net[0].bias.fill_(5.0)
    y = outputs_of(lesion.ablate(net, 0.25, mode="patch", seed=2), "1", x)
    dead = (y == 0).all(0)  # (C, H, W)
    assert torch.equal(dead, dead[:1].expand_as(dead))  # the same positions in every map
    pos = np.argwhere(dead[0].numpy())
    assert len(pos) == 16  # 25% of 8x8
    # a patch: every dead position lies within the disc around the patch centre
    centre = pos.mean(0)
    radius = np.linalg.norm(pos - centre, axis=1).max()
    assert radius <= np.sqrt(16 / np.pi) + 1.0


def test_ablate_patch_of_units_is_contiguous():
    x = torch.randn(300, 8)
    net = mlp()
    with torch.no_grad():
        net[0].bias.fill_(10.0)
    dead = np.flatnonzero((outputs_of(lesion.ablate(net, 0.4, mode="patch", seed=5), "1", x) == 0)
                          .all(0).numpy())
    assert len(dead) == 8 and np.all(np.diff(dead) == 1)


@pytest.mark.parametrize("cell", ["elman", "lstm", "gru"])
def test_ablate_recurrent_units_stay_silent_over_time(cell):
    torch.manual_seed(0)
    net = RNN(input_size=8, hidden_size=10, out_features=3, cell=cell)
    sick = lesion.ablate(net, 0.3, seed=0)
    seq = outputs_of(sick, "rnn", torch.randn(16, 7, 8))  # (B, T, H)
    assert int((seq == 0).all(0).all(0).sum()) == 3
    assert int((outputs_of(net, "rnn", torch.randn(16, 7, 8)) == 0).all(0).all(0).sum()) == 0


@pytest.mark.parametrize("method", ["random", "magnitude"])
def test_prune_cuts_exact_fraction(method):
    net = mlp()
    sick = lesion.prune(net, 0.4, method=method, seed=0)
    for name in ("0", "2", "4"):
        w, w0 = dict(sick.named_modules())[name].weight, dict(net.named_modules())[name].weight
        cut = w == 0
        assert int(cut.sum()) == round(0.4 * w.numel())
        assert torch.equal(w[~cut], w0[~cut])
        if method == "magnitude":  # Hoffman & McGlashan 1997: the weakest go first
            assert w0[cut].abs().max() <= w0[~cut].abs().min()
    assert (net[0].weight != 0).all()


def test_prune_with_compensation_restores_each_units_summed_weight_count():
    """Horn, Levy & Ruppin 1993: each neuron scales its survivors by had/kept."""
    net = mlp()
    sick = lesion.prune(net, 0.5, layers="0", compensate=True, seed=1)
    w, w0 = sick[0].weight, net[0].weight
    kept = (w != 0).sum(1)
    factor = 8 / kept
    assert torch.allclose(w, w0 * (w != 0) * factor[:, None])


def test_pruned_weights_stay_zero_under_training():
    from ann import train
    rng = np.random.default_rng(0)
    x = rng.random((64, 8)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    sick = lesion.prune(mlp(), 0.5, seed=0)
    masks = lesion.weight_masks(sick)
    train.fit(sick, (x, y), epochs=3, optimizer="sgd", weight_decay=1e-3, progress=False, device="cpu")
    for key, keep in masks.items():
        layer = dict(sick.named_modules())[key.rsplit(".", 1)[0]]
        assert (layer.weight[~keep] == 0).all() and (layer.weight[keep] != 0).all()
    again = lesion.prune(sick, 0.5, seed=1)  # a second lesion cuts half of the survivors
    assert int((again[0].weight == 0).sum()) == 80 + 40


def test_lesioned_copies_deepcopy_and_pickle_with_their_masks():
    sick = lesion.ablate(lesion.prune(mlp(), 0.5, seed=0), 0.5, seed=0)
    clone = pickle.loads(pickle.dumps(copy.deepcopy(sick)))
    x = torch.randn(10, 8)
    with torch.no_grad():
        assert torch.equal(clone(x), sick(x))
    with torch.no_grad():
        clone[0].weight.add_(1.0)  # cut weights come back to zero on the next forward
        clone(x)
    assert int((clone[0].weight == 0).sum()) == 80 and int((sick[0].weight == 0).sum()) == 80


def test_gain_scales_hidden_outputs():
    net = mlp()
    x = torch.randn(5, 8)
    sick = lesion.scale_gain(net, 0.25, layers="1")
    assert torch.allclose(outputs_of(sick, "1", x), 0.25 * outputs_of(net, "1", x))


def test_gain_acts_inside_a_recurrent_loop():
    """An Elman ReLU unit under gain g computes g relu(W x + U h[t-1] + b) at every step, its
    scaled output feeding back (a hook on nn.RNN's output would only scale what the read-out
    sees, leaving a ReLU network's argmax alone): checked against the loop written out."""
    torch.manual_seed(0)
    net = RNN(input_size=4, hidden_size=6, out_features=3, cell="elman", nonlinearity="relu")
    x = torch.rand(5, 7, 4)
    g = 0.4
    sick = lesion.scale_gain(net, g)
    r = net.rnn
    h, expected = torch.zeros(5, 6), []
    for t in range(7):
        h = g * torch.relu(x[:, t] @ r.weight_ih_l0.T + r.bias_ih_l0 + h @ r.weight_hh_l0.T + r.bias_hh_l0)
        expected.append(h)
    got = outputs_of(sick, "rnn", x)  # (B, T, H)
    assert torch.allclose(got, torch.stack(expected, 1), atol=1e-6)
    assert not torch.allclose(got, g * outputs_of(net, "rnn", x), atol=1e-3)  # not a mere rescaling


def test_scale_weights_touches_only_the_chosen_sign():
    net = mlp()
    sick = lesion.scale_weights(net, 0.5, sign="negative")
    w, w0 = sick[2].weight, net[2].weight
    assert torch.equal(w[w0 > 0], w0[w0 > 0]) and torch.allclose(w[w0 < 0], 0.5 * w0[w0 < 0])


def test_weight_noise_is_seeded_and_keeps_cuts():
    pruned = lesion.prune(mlp(), 0.5, seed=0)
    a, b = (lesion.weight_noise(pruned, 0.2, seed=3) for _ in range(2))
    assert torch.equal(a[0].weight, b[0].weight) and not torch.equal(a[0].weight, pruned[0].weight)
    assert int((a[0].weight == 0).sum()) == 80
    w, w0 = a[0].weight.detach(), pruned[0].weight.detach()
    assert 0.1 < float((w - w0)[w0 != 0].std() / w0.std()) < 0.3


def test_activation_noise_changes_outputs_reproducibly():
    net, x = mlp(), torch.randn(50, 8)
    a, b = (lesion.activation_noise(net, 0.5, seed=1) for _ in range(2))
    with torch.no_grad():
        ya, yb, y0 = a(x), b(x), net(x)
    assert torch.equal(ya, yb) and not torch.allclose(ya, y0)


def test_zero_lesions_change_nothing():
    net, x = mlp(), torch.randn(10, 8)
    for sick in (lesion.ablate(net, 0.0), lesion.prune(net, 0.0), lesion.scale_gain(net, 1.0),
                 lesion.weight_noise(net, 0.0), lesion.activation_noise(net, 0.0)):
        with torch.no_grad():
            assert torch.equal(sick(x), net(x))
        assert same_state(sick, net)


def test_bad_input_is_a_clear_error():
    with pytest.raises(ValueError, match=r"fraction must lie in \[0, 1\]"):
        lesion.ablate(mlp(), 1.5)
    with pytest.raises(ValueError, match="unknown layer 'fc9'; layers: 0, 1, 2"):
        lesion.prune(mlp(), 0.1, layers="fc9")
    with pytest.raises(ValueError, match="choose one of: random, patch"):
        lesion.ablate(mlp(), 0.1, mode="blob")
    with pytest.raises(ValueError, match="choose one of: random, magnitude"):
        lesion.prune(mlp(), 0.1, method="largest")
    with pytest.raises(ValueError, match="no hidden layers"):
        lesion.ablate(nn.Sequential(nn.Linear(8, 3)), 0.5)


def test_prune_only_recurrent_weights():
    torch.manual_seed(0)
    net = RNN(input_size=8, hidden_size=10, out_features=3, cell="elman")
    sick = lesion.prune(net, 0.5, layers="rnn", method="magnitude", weights="weight_hh")
    assert int((sick.rnn.weight_hh_l0 == 0).sum()) == 50
    assert torch.equal(sick.rnn.weight_ih_l0, net.rnn.weight_ih_l0)
    with pytest.raises(ValueError, match="has no weights named weight_xx"):
        lesion.prune(net, 0.5, layers="rnn", weights="weight_xx")


def _dead_units(rnn_module) -> set[int]:
    """Hidden units of a one-layer nn.GRU whose recurrent rows are zero in every gate block."""
    w = rnn_module.weight_hh_l0.detach()
    h = rnn_module.hidden_size
    return {u for u in range(h) if all((w[g * h + u] == 0).all() for g in range(w.shape[0] // h))}


def test_a_second_lesion_of_a_layer_acts_at_once_on_top_of_the_first():
    """Two unit lesions of one recurrent layer: the second cuts its own units at once (no forward
    pass or training step in between) and the first's stay cut."""
    torch.manual_seed(0)
    net = RNN(input_size=8, hidden_size=10, out_features=3, cell="gru")
    first = _dead_units(lesion.ablate(net, 0.3, layers="rnn", seed=0).rnn)
    second = _dead_units(lesion.ablate(net, 0.3, layers="rnn", seed=1).rnn)
    assert len(first) == len(second) == 3 and first != second
    both = lesion.ablate(lesion.ablate(net, 0.3, layers="rnn", seed=0), 0.3, layers="rnn", seed=1)
    assert _dead_units(both.rnn) == first | second


def test_a_pruned_recurrent_spiking_network_trains_and_its_cuts_stay_cut():
    """The recurrent weights of a SpikingMLP are used at every time step of one forward pass:
    masking them again at each step (in place) would overwrite what autograd saved at the
    step before ("modified by an inplace operation"). Training works, cut weights stay zero
    and the others learn."""
    from ann import train
    from ann.models import SpikingMLP

    rng = np.random.default_rng(0)
    x = rng.random((64, 8)).astype(np.float32)
    y = rng.integers(0, 3, 64)
    torch.manual_seed(0)
    sick = lesion.prune(SpikingMLP(8, [12], 3, T=5, recurrent=True), 0.5, layers="hidden.0.rec", seed=0)
    keep = lesion.weight_masks(sick)["hidden.0.rec.weight"]
    before = sick.hidden[0].rec.weight.detach().clone()
    train.fit(sick, (x, y), epochs=3, progress=False, device="cpu", val_fraction=0)
    after = sick.hidden[0].rec.weight.detach()
    assert (after[~keep] == 0).all()
    assert not torch.equal(after[keep], before[keep])


def test_a_weight_mask_combined_with_another_masks_at_once():
    """WeightMask.combine, as a later lesion of the same layer in the same copy would use it:
    the new cuts act at once although the weights did not change since the first masking."""
    torch.manual_seed(0)
    layer = nn.Linear(6, 4)
    first, second = torch.rand(4, 6) > 0.3, torch.rand(4, 6) > 0.3
    hook = lesion.WeightMask({"weight": first})
    layer.register_forward_pre_hook(hook)
    hook.enforce(layer)
    hook.combine(layer, {"weight": second})
    assert torch.equal(layer.weight != 0, first & second)
