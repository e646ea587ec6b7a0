"""bridge.disorders 'autism' (raised E/I with under-pruning) and 'tinnitus' (deafferentation with
homeostatic synaptic scaling): each acts through its stated mechanism on every system it applies
to, beyond seed-to-seed noise, and declares the systems it cannot act on."""
import copy
import os
import types

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import torch

from ann import lesion as ann_lesion, models, train
from bio import diehl_cook
from bridge import convert, disorders
from bridge.systems import ConvertedSystem
from seednoise import change_beyond_noise

SEEDS = (0, 1, 2)  # the seeds of conftest's `mlps`
MODERATE = 0.5
NEW = ("autism", "tinnitus")


def test_new_disorders_are_registered_and_cite_their_sources():
    for name, sources in (("autism", ("Rubenstein & Merzenich 2003", "Nelson & Valakh 2015",
                                      "Tang et al. 2014")),
                          ("tinnitus", ("Schaette & Kempter 2006", "Turrigiano et al. 1998"))):
        assert name in disorders.list()
        text = disorders.get(name).description
        assert all(s in text for s in sources), (name, text[:120])


@pytest.mark.parametrize("name", NEW)
def test_severity_zero_changes_nothing_and_originals_stay(name, mlps, digits):
    model = mlps[0]
    state = copy.deepcopy(model.state_dict())
    spec = convert.to_snn(model, calibration=digits.train.x[:200]).net
    w0 = {k: c.w.copy() for k, c in spec.connections.items()}
    x = torch.rand(20, 64)
    with torch.no_grad():
        assert torch.equal(disorders.get(name, 0.0).apply(model)(x), model(x))
        assert not torch.equal(disorders.get(name, 0.6, seed=3).apply(model)(x), model(x))
    sick = disorders.get(name, 0.6, seed=3).apply(spec)
    assert any(not np.array_equal(sick.connections[k].w, w0[k]) for k in w0)
    assert all(torch.equal(v, state[k]) for k, v in model.state_dict().items())
    assert not model._forward_hooks and all(not m._forward_pre_hooks for m in model.modules())
    assert all(np.array_equal(spec.connections[k].w, w0[k]) for k in w0)


@pytest.mark.parametrize("name", NEW)
def test_moderate_severity_changes_the_ann_beyond_seed_noise(name, mlps, test_set):
    healthy = [train.evaluate(m, test_set, device="cpu") for m in mlps]
    sick = [train.evaluate(disorders.get(name, MODERATE, seed=s).apply(m), test_set, device="cpu")
            for s, m in zip(SEEDS, mlps)]
    assert change_beyond_noise(healthy, sick), (name, healthy, sick)


def test_moderate_severity_changes_the_converted_if_snn_beyond_seed_noise(mlps, digits, test_set):
    small = test_set.subset(np.arange(80))
    systems = [ConvertedSystem(convert.to_snn(m, calibration=digits.train.x[:200]), duration_ms=40)
               for m in mlps]
    healthy = [s.evaluate(small).accuracy for s in systems]
    for name in NEW:
        sick = [disorders.get(name, MODERATE, seed=seed).apply(s).evaluate(small).accuracy
                for seed, s in zip(SEEDS, systems)]
        assert change_beyond_noise(healthy, sick), (name, healthy, sick)


def test_autism_scales_excitation_up_inhibition_down_and_replaces_the_weakest_weights(mlps):
    """E/I: positive weights x (1 + s), negative x 1 / (1 + s) (Rubenstein & Merzenich 2003); under-
    pruning: the weakest 0.45 s of each matrix carry draws from the matrix's own weights (Tang et al.
    2014). Everything else is exactly the E/I rescaling."""
    s = 0.5
    net = mlps[0]
    sick = disorders.get("autism", s, seed=1).apply(net)
    for name in ann_lesion.weighted_layers(net):
        w0 = dict(net.named_modules())[name].weight.detach().double().numpy().ravel()
        w1 = dict(sick.named_modules())[name].weight.detach().double().numpy().ravel()
        expected = np.where(w0 > 0, w0 * (1 + s), w0 / (1 + s))
        changed = ~np.isclose(w1, expected, rtol=1e-5, atol=0)
        k = int(round(disorders.AUTISM_UNDERPRUNE * s * w0.size))
        assert abs(changed.sum() - k) <= 0.02 * k  # a draw may equal the weight it replaced
        assert np.abs(w0[changed]).max() <= np.quantile(np.abs(w0), 0.3)  # the weakest ones
        replaced = w1[changed] / np.where(w1[changed] > 0, 1 + s, 1 / (1 + s))  # undo the E/I part
        assert np.isin(np.round(replaced, 4), np.round(w0, 4)).mean() > 0.98  # drawn from the layer
        assert np.std(np.abs(replaced)) > 0 and np.median(np.abs(replaced)) > np.median(np.abs(w0[changed]))


def test_autism_on_the_stdp_network_strengthens_exc_weakens_inh_and_perturbs_learned_inputs():
    """The Diehl & Cook network: 'exc' connections x (1 + s), 'inh' x 1 / (1 + s); the pathways of
    equal weights (exc_inh, inh_exc) have no weakest synapses and are only rescaled; the learned
    input weights lose their weakest 0.45 s to draws from their own distribution."""
    spec = diehl_cook.diehl_cook_spec(n_exc=10, seed=0)
    s = 0.4
    sick = disorders.get("autism", s, seed=0).apply(spec)
    c0, c1 = spec.connections, sick.connections
    assert np.allclose(c1["exc_inh"].w, c0["exc_inh"].w * (1 + s), rtol=1e-12, atol=0)
    assert np.allclose(c1["inh_exc"].w, c0["inh_exc"].w / (1 + s), rtol=1e-12, atol=0)
    changed = ~np.isclose(c1["in_exc"].w, c0["in_exc"].w * (1 + s), rtol=1e-9, atol=0)  # siemens
    k = int(round(disorders.AUTISM_UNDERPRUNE * s * c0["in_exc"].n_syn))
    assert abs(changed.sum() - k) <= 0.05 * k
    assert c0["in_exc"].w[changed].max() <= np.quantile(c0["in_exc"].w, 0.25)


def _mean_hidden_rate(snn, x, duration_ms=200):
    """(n_h1,) rates (Hz) of the first hidden population, averaged over the samples x."""
    split = types.SimpleNamespace(x=x, y=np.zeros(len(x), np.int64))
    res = snn.evaluate(split, duration_ms=duration_ms)
    return res.rates_hz[snn.populations[0]].mean(axis=0)


def test_tinnitus_restores_mean_driven_activity_and_raises_spontaneous_activity(mlps, digits):
    """Schaette & Kempter 2006: after hearing loss, homeostatic scaling brings each neuron's mean
    activity back to its set point, and the amplified spontaneous input of the damaged fibres makes
    the neurons hyperactive in silence. Converted IF network (Brian2) and its ANN, severity 0.5: the
    first hidden layer's mean rate over the environment is back within 10% of the healthy one (it
    falls by more than 20% with deafferentation alone), while its rate under the silent stimulus
    (every fibre at its spontaneous level) rises by more than half."""
    s, seed = 0.5, 0
    net = mlps[0]
    snn = convert.to_snn(net, calibration=digits.train.x[:200])
    env = disorders.environment(64, seed)[:40]
    silent = disorders.spontaneous_input(64)
    sick = disorders.get("tinnitus", s, seed=seed).apply(snn.net)
    deaf = copy.deepcopy(snn.net)
    lost = ~sick.populations["in"].alive
    deaf.populations["in"].alive[lost] = False  # deafferentation alone (fibres silent, no scaling)
    healthy, sick_snn = snn, copy.copy(snn)
    sick_snn.net = sick
    deaf_snn = copy.copy(snn)
    deaf_snn.net = deaf
    h, d, k = (_mean_hidden_rate(x, env).mean() for x in (healthy, deaf_snn, sick_snn))
    assert d < 0.8 * h and abs(k - h) < 0.1 * h, (h, d, k)
    hs, ks = (_mean_hidden_rate(x, silent).mean() for x in (healthy, sick_snn))
    assert ks > 1.5 * hs, (hs, ks)
    # the ANN side, by the same rule on unit activations
    ill = disorders.get("tinnitus", s, seed=seed).apply(net)
    assert np.array_equal(ann_lesion.fibres(ill), np.flatnonzero(lost))  # the same fibres on both sides
    act = lambda m, x: models.record_activations(m, x)  # noqa: E731
    hidden = ann_lesion.hidden_layers(net)[0]
    envx = disorders.environment(64, seed)
    a0, a1 = act(net, envx)[hidden].mean(0), act(ill, envx)[hidden].mean(0)
    assert np.allclose(a1[a0 > 0.01], a0[a0 > 0.01], rtol=1e-3)  # each unit's mean restored
    assert act(ill, silent)[hidden].mean() > 1.5 * act(net, silent)[hidden].mean()


def test_tinnitus_is_declared_where_its_steady_state_has_no_closed_form(mlps, digits):
    """Leaky converted neurons and the Diehl & Cook network (conductance-based, winner-take-all)."""
    lif = ConvertedSystem(convert.to_snn(mlps[0], calibration=digits.train.x[:200], neuron="lif"))
    stdp = diehl_cook.diehl_cook_spec(n_exc=10)
    d = disorders.get("tinnitus", MODERATE)
    for system in (lif, stdp, models.CNN(channels=(4,))):
        assert not d.applies_to(system)
        with pytest.raises(ValueError, match="no closed form"):
            d.apply(system)
    assert d.applies_to(mlps[0]) and d.applies_to(convert.to_snn(mlps[0], calibration=digits.train.x[:200]).net)
    assert disorders.get("autism").applies_to(lif) and disorders.get("autism").applies_to(stdp)
