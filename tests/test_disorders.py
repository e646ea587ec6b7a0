"""bridge.disorders: each named disorder acts through its stated mechanism on every system it
applies to, declares the systems it cannot act on, and never touches the original."""
import copy
import os
import re

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import torch

from ann import lesion as ann_lesion, models, train
from bio import layered as bio_layered
from bridge import convert, disorders
from bridge.systems import ANNSystem, ConvertedSystem
from seednoise import change_beyond_noise

EXPECTED = {"neurodegeneration", "alzheimer", "alzheimer_compensated", "schizophrenia", "epilepsy",
            "parkinson", "multiple_sclerosis", "stroke"}
SEEDS = (0, 1, 2)  # the seeds of conftest's `mlps`
MODERATE = 0.5
# a journal citation: "(Author ... 1997, Journal 154:1683)" -- volume:page after a year
CITATION = re.compile(r"(19|20)\d\d[a-z]?, [A-Z][A-Za-z. &]+ \d+:\d+")


def ann_acc(model, split):
    return train.evaluate(model, split, device="cpu")


def snn_acc(system, split, seed=0):
    return system.evaluate(split, seed=seed).accuracy


def spec_arrays(spec):
    out = {}
    for name, p in spec.populations.items():
        out[f"{name}.alive"], out[f"{name}.shift"] = p.alive.copy(), p.thresh_shift.copy()
        out[f"{name}.noise"] = np.array([p.noise_sigma])
    for name, c in spec.connections.items():
        for f in ("w", "delay_s", "transmits"):
            out[f"{name}.{f}"] = getattr(c, f).copy()
    return out


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_every_disorder_cites_its_sources_with_volume_and_page():
    assert EXPECTED <= set(disorders.list())
    for name in disorders.list():
        text = disorders.get(name).description
        assert CITATION.search(text), f"{name}: no (year, Journal vol:page) citation in {text[:80]!r}"


def test_unknown_name_and_bad_severity_are_clear_errors():
    with pytest.raises(ValueError, match="unknown disorder 'epilepsi'; choose one of: neurodegeneration, "):
        disorders.get("epilepsi")
    for bad in (-0.1, 1.5, float("nan"), "high"):
        with pytest.raises(ValueError, match=r"severity must"):
            disorders.get("stroke", severity=bad)
    with pytest.raises(TypeError, match="cannot apply a disorder to list"):
        disorders.get("alzheimer").apply([1, 2])


def test_inert_mechanisms_are_declared_not_applied(mlps, digits):
    """A uniform gain (parkinson) or per-neuron input rescaling (alzheimer_compensated) on ReLU
    units only rescales the output; a focal patch (stroke) on units without positions is a random
    set; weakest-first pruning of recurrent weights (schizophrenia) needs recurrent weights."""
    ann = ANNSystem(mlps[0])
    snn = ConvertedSystem(convert.to_snn(mlps[0], calibration=digits.train.x[:200]))
    for name, reason in (("parkinson", "positively homogeneous"), ("alzheimer_compensated", "homogeneous"),
                         ("stroke", "no spatial layout"), ("schizophrenia", "no recurrent")):
        d = disorders.get(name, MODERATE)
        for system in (ann, snn):
            assert not d.applies_to(system)
            with pytest.raises(ValueError, match=reason):
                d.apply(system)
    lif = ConvertedSystem(convert.to_snn(mlps[0], calibration=digits.train.x[:200], neuron="lif"))
    assert disorders.get("parkinson").applies_to(lif)  # a leaky neuron's threshold is not a scale
    rnn = models.RNN(8, 16, 10, cell="gru")
    assert disorders.get("schizophrenia").applies_to(rnn) and not disorders.get("stroke").applies_to(rnn)
    assert disorders.get("stroke").applies_to(models.CNN(channels=(4,)))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_severity_zero_changes_nothing_and_originals_stay(name, mlps, digits):
    d0, d = disorders.get(name, 0.0, seed=3), disorders.get(name, 0.6, seed=3)
    model = mlps[0]
    state = copy.deepcopy(model.state_dict())
    spec = convert.to_snn(model, calibration=digits.train.x[:200], neuron="lif").net
    arrays = spec_arrays(spec)
    x = torch.rand(20, 64)
    for target in (model, spec):
        if not d.applies_to(target):
            continue
        sick = d.apply(target)
        if isinstance(target, torch.nn.Module):
            with torch.no_grad():
                assert torch.equal(d0.apply(target)(x), target(x))
        else:
            assert same(spec_arrays(d0.apply(target)), arrays)
            assert not same(spec_arrays(sick), arrays)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert not model._forward_hooks and all(not m._forward_hooks for m in model.modules())
    assert same(spec_arrays(spec), arrays)


@pytest.mark.parametrize("name", ["neurodegeneration", "alzheimer", "epilepsy", "multiple_sclerosis"])
def test_moderate_severity_changes_the_ann_beyond_seed_noise(name, mlps, test_set):
    healthy = [ann_acc(m, test_set) for m in mlps]
    sick = [ann_acc(disorders.get(name, MODERATE, seed=s).apply(m), test_set) for s, m in zip(SEEDS, mlps)]
    assert change_beyond_noise(healthy, sick), (name, healthy, sick)


@pytest.mark.slow
@pytest.mark.parametrize("neuron", ["if", "lif"])
def test_moderate_severity_changes_the_converted_snn_beyond_seed_noise(neuron, mlps, digits, test_set):
    """Every disorder that applies to the converted network (IF or LIF) moves its accuracy or,
    for a mechanism a feed-forward read-out tolerates (lost inhibition), its first hidden
    layer's firing rate (in Hz; 'beyond noise' also means by at least 5%)."""
    small = test_set.subset(np.arange(80))
    systems = [ConvertedSystem(convert.to_snn(m, calibration=digits.train.x[:200], neuron=neuron),
                               duration_ms=40) for m in mlps]
    healthy = [s.evaluate(small) for s in systems]
    for name in sorted(EXPECTED):
        d = [disorders.get(name, MODERATE, seed=seed) for seed in SEEDS]
        if not d[0].applies_to(systems[0]):
            continue
        sick = [dd.apply(s).evaluate(small) for dd, s in zip(d, systems)]
        acc = change_beyond_noise([h.accuracy for h in healthy], [x.accuracy for x in sick])
        rates = [h.rate_hz for h in healthy]
        rate = change_beyond_noise(rates, [x.rate_hz for x in sick], floor=0.05 * np.mean(rates))
        assert acc or rate, (neuron, name, [(h.accuracy, h.rate_hz) for h in healthy],
                             [(x.accuracy, x.rate_hz) for x in sick])


def test_schizophrenia_prunes_only_recurrent_weights_weakest_first():
    torch.manual_seed(0)
    rnn = models.RNN(8, 16, 10, cell="elman")
    sick = disorders.get("schizophrenia", 0.5, seed=0).apply(rnn)
    w0, w = rnn.rnn.weight_hh_l0.detach(), sick.rnn.weight_hh_l0.detach()
    cut = (w == 0) & (w0 != 0)
    assert cut.sum() == 128  # half of 16 x 16
    assert w0[cut].abs().max() <= w0[~cut].abs().min()
    assert torch.equal(sick.rnn.weight_ih_l0, rnn.rnn.weight_ih_l0)  # input weights untouched


def test_stroke_and_neurodegeneration_differ_on_a_topographic_system(digits):
    """On a CNN stroke kills a disc of positions in every feature map; neurodegeneration kills whole
    feature maps at random (Murphy & Corbett 2009: an ischaemic core is focal)."""
    torch.manual_seed(0)
    cnn = models.CNN(channels=(4, 8), batch_norm=False)
    train.fit(cnn, digits.train, epochs=3, progress=False, device="cpu", seed=0, val_fraction=0)
    x = torch.from_numpy(digits.test.x[:64])
    outs = {}
    for name in ("stroke", "neurodegeneration"):
        sick = disorders.get(name, 0.25, seed=1).apply(cnn)
        hook = next(h for h in sick.relu1._forward_hooks.values() if isinstance(h, ann_lesion.OutputLesion))
        outs[name] = hook.mask_for((4, 8, 8)).numpy()
    stroke, neuro = outs["stroke"], outs["neurodegeneration"]
    assert np.array_equal(stroke[0], stroke[3]) and stroke[0].sum() == 48  # same 16 positions dead per map
    dead_maps = [(neuro[c] == 0).all() for c in range(4)]
    assert sum(dead_maps) == 1 and all((neuro[c] == 0).all() or (neuro[c] == 1).all() for c in range(4))
    with torch.no_grad():
        assert not torch.equal(disorders.get("stroke", 0.25, seed=1).apply(cnn)(x),
                               disorders.get("neurodegeneration", 0.25, seed=1).apply(cnn)(x))


def test_stroke_hits_the_same_positions_in_the_cnn_and_its_converted_network(digits):
    """The SNN's neurons at the positions of the CNN's units die: one patch, both sides."""
    torch.manual_seed(0)
    cnn = models.CNN(channels=(4,), batch_norm=False, dropout=0.0)
    train.fit(cnn, digits.train, epochs=2, progress=False, device="cpu", seed=0, val_fraction=0)
    snn = convert.to_snn(cnn, calibration=digits.train.x[:200])
    d = disorders.get("stroke", 0.3, seed=5)
    assert d.applies_to(cnn) and d.applies_to(snn.net)
    hook = next(h for h in d.apply(cnn).relu1._forward_hooks.values() if isinstance(h, ann_lesion.OutputLesion))
    ann_dead = hook.mask_for((4, 8, 8)).numpy() == 0
    first = bio_layered.layers(snn.net)[1]
    spec = d.apply(snn.net)
    snn_dead = ~spec.populations[first].alive.reshape(spec.populations[first].shape)
    assert ann_dead.any() and np.array_equal(ann_dead, snn_dead)


def test_multiple_sclerosis_acts_per_axon(mlps, digits):
    spec = convert.to_snn(mlps[0], calibration=digits.train.x[:200]).net
    sick = disorders.get("multiple_sclerosis", 1.0, seed=0).apply(spec)
    for name, c in sick.connections.items():
        for k in np.unique(c.i)[:10]:
            assert len(np.unique(c.delay_s[c.i == k])) == 1  # one axon, one delay
            assert len(np.unique(c.transmits[c.i == k])) == 1  # one axon, blocked or not


def test_full_neurodegeneration_gives_chance_accuracy_on_ann_and_snn(mlps, digits, test_set):
    """With every hidden neuron dead the read-out sees only its biases: one class for all."""
    chance = np.bincount(test_set.y).max() / len(test_set)
    dead = disorders.get("neurodegeneration", severity=1.0, seed=0)
    snn = ConvertedSystem(convert.to_snn(mlps[0], calibration=digits.train.x[:300]), duration_ms=40)
    assert ann_acc(mlps[0], test_set) > 0.85 and ann_acc(dead.apply(mlps[0]), test_set) <= chance + 1e-9
    assert snn_acc(snn, test_set) > 0.8 and snn_acc(dead.apply(snn), test_set) <= chance + 1e-9
