"""bridge.disorders: named disorders applied to an ANN, a converted SNN and an STDP SNN."""
import copy
import os
import re
from dataclasses import dataclass

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import torch

from ann import data, models, train
from bio.layered import Layered
from bio.spec import Connection, Population
from bio.stdp_learner import DiehlCook
from bridge import convert, disorders

EXPECTED = {"neurodegeneration", "alzheimer", "alzheimer_compensated", "schizophrenia", "epilepsy",
            "parkinson", "multiple_sclerosis", "stroke"}


@pytest.fixture(scope="module")
def trained(digits):
    torch.manual_seed(0)
    net = models.MLP(64, [32], 10)
    train.fit(net, digits.train, epochs=10, progress=False, device="cpu", seed=0, val_fraction=0)
    return net


@pytest.fixture(scope="module")
def snn(trained, digits):
    return convert.to_snn(trained, calibration=digits.train.x[:300])


def snn_accuracy(snn, split) -> float:
    return snn.evaluate(split, duration_ms=40, target="numpy").accuracy


def small_layered(seed=0) -> Layered:
    rng = np.random.default_rng(seed)
    i1, j1 = np.divmod(np.arange(6 * 12), 12)
    i2, j2 = np.divmod(np.arange(12 * 3), 3)
    return Layered(populations={"in": Population(6), "h1": Population(12), "out": Population(3)},
                   connections={"in->h1": Connection("in", "h1", i1, j1, rng.normal(0, 1, len(i1))),
                                "h1->out": Connection("h1", "out", i2, j2, rng.normal(0, 1, len(i2)))},
                   layers=("in", "h1", "out"))


@dataclass(frozen=True)
class Converted:
    """Any object holding its network as `.net` (here frozen) counts as a converted SNN."""
    net: Layered
    label: str = "converted"


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


def test_the_library_names_every_required_disorder_with_a_sourced_description():
    assert EXPECTED <= set(disorders.list())
    for name in disorders.list():
        text = disorders.get(name).description
        assert len(text) > 200 and re.search(r"(19|20)\d\d", text), name  # cites a year


def test_unknown_name_and_bad_severity_are_clear_errors():
    with pytest.raises(ValueError, match="unknown disorder 'epilepsi'; choose one of: neurodegeneration, "):
        disorders.get("epilepsi")
    for bad in (-0.1, 1.5, float("nan"), "high"):
        with pytest.raises(ValueError, match=r"severity must"):
            disorders.get("stroke", severity=bad)
    with pytest.raises(TypeError, match="cannot apply a disorder to list"):
        disorders.get("stroke").apply([1, 2])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_disorder_works_on_all_three_systems_and_leaves_originals(name, trained, snn):
    ann, conv, stdp = trained, snn, DiehlCook(n_exc=8)
    ann_state = copy.deepcopy(trained.state_dict())
    conv_arrays, stdp_arrays = spec_arrays(conv.net), spec_arrays(stdp)
    d = disorders.get(name, severity=0.6, seed=1)
    sick_ann, sick_conv, sick_stdp = d.apply(ann), d.apply(conv), d.apply(stdp)
    assert type(sick_ann) is type(ann) and type(sick_conv) is type(snn) and type(sick_stdp) is DiehlCook
    assert sick_conv.scales is snn.scales and type(sick_conv.net) is Layered
    # something changed in each ...
    x = torch.from_numpy(data.digits(seed=0).test.x[:50])
    with torch.no_grad():
        assert not torch.allclose(sick_ann(x), ann(x))
    assert not same(spec_arrays(sick_conv.net), conv_arrays)
    assert not same(spec_arrays(sick_stdp), stdp_arrays)
    # ... and nothing in the originals
    assert all(torch.equal(v, ann_state[k]) for k, v in trained.state_dict().items())
    assert not trained._forward_hooks and all(not m._forward_hooks for m in trained.modules())
    assert same(spec_arrays(conv.net), conv_arrays) and same(spec_arrays(stdp), stdp_arrays)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_severity_zero_changes_nothing(name, trained):
    d = disorders.get(name, severity=0.0, seed=3)
    x = torch.rand(20, 64)
    with torch.no_grad():
        assert torch.equal(d.apply(trained)(x), trained(x))
    net = small_layered()
    assert same(spec_arrays(d.apply(net)), spec_arrays(net))
    assert same(spec_arrays(d.apply(Converted(net)).net), spec_arrays(net))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_same_seed_same_lesion(name):
    net = small_layered()
    a, b = (disorders.get(name, 0.5, seed=7).apply(net) for _ in range(2))
    assert same(spec_arrays(a), spec_arrays(b))
    if name not in ("schizophrenia", "epilepsy", "parkinson"):  # the others draw at random
        c = disorders.get(name, 0.5, seed=8).apply(net)
        assert not same(spec_arrays(a), spec_arrays(c))


def test_severity_grows_the_lesion():
    net = small_layered()
    dead = [(~disorders.get("neurodegeneration", s).apply(net).populations["h1"].alive).sum()
            for s in (0.25, 0.5, 1.0)]
    assert dead == [3, 6, 12]
    inh = [disorders.get("epilepsy", s).apply(net).connections["in->h1"].w.min() for s in (0.0, 0.5, 1.0)]
    assert inh[0] < inh[1] < inh[2] == 0.0


def test_full_neurodegeneration_gives_chance_accuracy_on_ann_and_snn(trained, snn, digits):
    """With every hidden neuron dead the read-out sees only its biases: one class for all."""
    test = digits.test.subset(np.arange(120))
    chance = np.bincount(test.y).max() / len(test)
    dead = disorders.get("neurodegeneration", severity=1.0, seed=0)
    assert train.evaluate(trained, test) > 0.85
    assert train.evaluate(dead.apply(trained), test) <= chance + 1e-9
    assert snn_accuracy(snn, test) > 0.8
    assert snn_accuracy(dead.apply(snn), test) <= chance + 1e-9


def test_moderate_disorders_degrade_gracefully_on_the_ann(trained, digits):
    """Distributed networks degrade gracefully (Rumelhart & McClelland 1986): losing a
    tenth of the hidden units costs far less than losing all of them."""
    healthy = train.evaluate(trained, digits.test)
    mild = train.evaluate(disorders.get("neurodegeneration", 0.1, seed=0).apply(trained), digits.test)
    assert healthy - mild < 0.1
