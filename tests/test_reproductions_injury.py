"""Reproductions of issue 11, items 3 and 4: progressive injury of a CNN (Tuladhar et al. 2021) and the
Brunel (2000) phase diagram, with the building blocks they add (studies.progressive_injury's unit
removal, bio.stability's linear stability of the asynchronous state).
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import dataclasses

import numpy as np
import pytest
import torch
from brian2 import Hz, mV, volt

from studyrun import assert_ephys, run_tiny, value

# --------------------------------------------------------------------------- progressive injury


def _relu_masked(model, order, fraction):
    """An independent reference for neuronal injury: the same units silenced by zeroing the
    output of their ReLU (forward hooks), the model's weights untouched."""
    import copy

    from ann import lesion

    model = copy.deepcopy(model)
    modules = dict(model.named_modules())
    for name, units in zip(lesion.hidden_layers(model), order):
        dead = torch.as_tensor(units[:int(round(fraction * len(units)))])

        def hook(module, inputs, out, dead=dead):
            out = out.clone()
            out[:, dead] = 0
            return out

        modules[name].register_forward_hook(hook)
    return model


def test_neuronal_injury_removes_nested_units_like_silencing_them():
    """Neuronal injury (Moore et al. 2022: 'removing entire nodes'): cutting a unit's outgoing weights
    gives the same logits as zeroing its output; step 2's dead include step 1's; the cut weights stay
    zero through training (the loss is permanent)."""
    from ann import models, train
    from studies import progressive_injury as pi
    from studies import trained

    torch.manual_seed(0)
    net = models.CNN(channels=(4, 8)).eval()
    order = pi.removal_order(net, seed=3)
    x = torch.from_numpy(trained.digits(0).test.x[:50])
    for fraction in (0.25, 0.5):
        injured = pi.remove_units(net, order, fraction).eval()
        torch.testing.assert_close(injured(x), _relu_masked(net, order, fraction)(x))
    step1 = pi.remove_units(net, order, 0.25)
    step2 = pi.remove_units(step1, order, 0.5)
    torch.testing.assert_close(step2.eval()(x), pi.remove_units(net, order, 0.5).eval()(x))
    assert pi.cut_fraction(step2) > pi.cut_fraction(step1) > 0
    train.fit(step2, trained.digits(0).train.subset(np.arange(64)), epochs=1, seed=0, progress=False,
              device="cpu", val_fraction=0.0)
    dead = torch.as_tensor(order[0][:2])  # half of conv1's 4 maps: conv2's input channels 0 and 1 cut
    assert torch.all(step2.conv2.weight[:, dead] == 0)


def test_synaptic_steps_reach_each_cumulative_fraction():
    """Synaptic injury in steps (Tuladhar et al. 2021): each step cuts a fraction of the weights that
    are left (ann.lesion.prune counts earlier cuts), so after step k exactly F_k of the weights are gone."""
    from ann import models
    from bridge.systems import ANNSystem
    from studies import progressive_injury as pi

    torch.manual_seed(0)
    system = ANNSystem(models.CNN(channels=(4, 8)))
    before = 0.0
    for step, after in enumerate((0.3, 0.6, 0.9), 1):
        system = pi.injure(system, "synaptic", None, before, after, seed=0, step=step)
        assert pi.cut_fraction(system.core) == pytest.approx(after, abs=0.01)
        before = after


def test_retraining_between_steps_slows_the_decline():
    """Moore et al. (2023, Front. Comput. Neurosci. 17:1274824): with retraining between injury steps
    accuracy declines more gently than without, for neuronal and synaptic injury alike (TINY sizes,
    the ANN only)."""
    from studies import progressive_injury as pi

    p = dataclasses.replace(pi.TINY, snn=False)
    for injury in pi.INJURIES:
        acc = {r: pi.point(dataclasses.replace(p, injury=injury, recovery=r), 0)["accuracy"] for r in pi.RECOVERIES}
        healthy = acc["none"][0]["value"]
        assert healthy == acc["retrain"][0]["value"] > 0.85
        assert acc["none"][-1]["value"] < healthy - 0.2  # 40% of the network lost: a real deficit
        assert acc["retrain"][-1]["value"] > acc["none"][-1]["value"] + 0.2


@pytest.mark.slow
def test_progressive_injury_tiny(tmp_path):
    """The TINY study end to end: retraining beats no retraining at the same injury, and the converted
    SNN of the injured CNN follows its ANN (it sees the lesions: the conversion reads the cut weights).
    The converted CNN keeps its first and last injury step, every spiking layer (progressive_injury_ephys)."""
    res = run_tiny("progressive_injury", tmp_path)
    t = res.table
    for injury in ("neuronal", "synaptic"):
        assert (value(t, "accuracy", injury=injury, recovery="retrain", fraction=0.4)
                > value(t, "accuracy", injury=injury, recovery="none", fraction=0.4) + 0.2)
        assert value(t, "snn_accuracy", injury=injury, recovery="none", fraction=0.4) < 0.5
    gap = (t[t["metric"] == "snn_accuracy"]["value"].to_numpy()
           - t[t["metric"] == "ann_snn_subset"]["value"].to_numpy())
    assert np.max(np.abs(gap)) <= 0.15
    assert "Moore et al. 2023" in res.findings
    records = assert_ephys(res, "progressive_injury_ephys", ["h1", "h2"])
    assert {net for _, net in records} == {"step 0", "step 1"}


# --------------------------------------------------------------------------- Brunel: mean-field stability


def test_rate_response_static_limit_is_the_siegert_derivative():
    """At omega -> 0 the threshold-integration response (Richardson 2007) must equal the derivatives of
    the Siegert rate (Brunel 2000, eq. 21; bio.theory, an independent quadrature) with respect to mu and
    sigma^2, and its stationary rate the Siegert rate."""
    from bio import stability, theory

    mu, sigma = 15e-3, 5e-3
    r = stability.rate_response(mu * volt, sigma * volt, [0.0])
    rate = lambda m, s2: float(theory.siegert_rate(m * volt, np.sqrt(s2) * volt) / Hz)
    assert r.rate_hz == pytest.approx(rate(mu, sigma**2), rel=1e-4)
    d_mu, d_s2 = 1e-6, 1e-9
    assert r.mu_gain[0].real == pytest.approx((rate(mu + d_mu, sigma**2) - rate(mu - d_mu, sigma**2)) / (2 * d_mu),
                                              rel=1e-3)
    assert r.var_gain[0].real == pytest.approx((rate(mu, sigma**2 + d_s2) - rate(mu, sigma**2 - d_s2)) / (2 * d_s2),
                                               rel=1e-3)


def test_rate_response_high_frequency_limit():
    """Brunel, Chance, Fourcaud & Abbott (2001, PRL 86:2186): the white-noise LIF's response to a
    modulated mean falls as nu_0 sqrt(2) / (sigma sqrt(omega tau)) with a phase lag of 45 degrees;
    the response to a modulated variance stays finite and in phase (Lindner & Schimansky-Geier 2001)."""
    from bio import stability

    r = stability.rate_response(15 * mV, 5 * mV, [10000.0], points_per_sd=200)
    omega_tau = 2 * np.pi * 1e4 * 0.02
    assert np.degrees(np.angle(r.mu_gain[0])) == pytest.approx(-45.0, abs=2.0)
    assert abs(r.mu_gain[0]) == pytest.approx(r.rate_hz * np.sqrt(2) / (5e-3 * np.sqrt(omega_tau)), rel=0.03)
    assert abs(np.degrees(np.angle(r.var_gain[0]))) < 3.0


def test_brunel_stability_at_the_paper_states():
    """Brunel (2000), Figs. 2 and 8 (D = 1.5 ms): the asynchronous state is stable at C (g = 5,
    eta = 2), loses stability to a fast oscillation at B (6, 4) and to a slow one at D (4.5, 0.9)."""
    from bio import stability
    from bio.brunel2000 import STATES

    c = stability.brunel_stability(*STATES["C"])
    b = stability.brunel_stability(*STATES["B"])
    d = stability.brunel_stability(*STATES["D"])
    assert c.stable and c.rate_hz == pytest.approx(37.9, abs=0.5)
    assert not b.stable and 120 < b.frequency_hz < 250
    assert not d.stable and 5 < d.frequency_hz < 60


# --------------------------------------------------------------------------- Brunel: the study


def test_epilepsy_disorder_is_a_move_along_g():
    """The epilepsy disorder (every inhibitory weight times 1 - severity) turns the Brunel network at
    g into the network at g (1 - severity): the path the phase-diagram study draws."""
    from bio import brunel2000
    from bridge import disorders

    sick = disorders.get("epilepsy", 0.4, seed=0).apply(brunel2000.brunel_spec(g=5.0, N_E=200, C_E=50, seed=1))
    moved = brunel2000.brunel_spec(g=3.0, N_E=200, C_E=50, seed=1)
    for name, c in moved.connections.items():
        np.testing.assert_allclose(sick.connections[name].w, c.w, rtol=1e-12)
        np.testing.assert_array_equal(sick.connections[name].i, c.i)


def test_state_rules_follow_the_docstring():
    """The labelling rules of studies.brunel_phase, in their order: quiescent, regular, fast, slow, AI."""
    from studies.brunel_phase import QUICK, label

    assert label(0.1, np.nan, np.nan, np.nan, QUICK) == "Q"
    assert label(300.0, 0.05, 1e6, 1e6, QUICK) == "A"
    assert label(60.0, 1.1, 150.0, 3.0, QUICK) == "B"
    assert label(5.0, 0.5, 14.0, 25.0, QUICK) == "D"
    assert label(37.0, 0.45, 43.0, 7.0, QUICK) == "C"


@pytest.mark.slow
def test_brunel_phase_tiny(tmp_path):
    """Brunel (2000), Fig. 8: at the example points A (g = 3, eta = 2) and C (5, 2) the network is in
    different states, A regular near saturation, C irregular; loss of inhibition (epilepsy, severity 0.4)
    takes C's network to A's state. The example states on the TINY grid (A at g 3, C at g 5) and the
    epilepsy path keep records of both populations (brunel_ephys); the theory-map point keeps none."""
    from studies.brunel_phase import LABELS

    res = run_tiny("brunel_phase", tmp_path)
    t = res.table
    grid = t[t["part"] == "grid"]
    state_a = LABELS[int(value(grid, "state", g=3.0, eta=2.0))]
    state_c = LABELS[int(value(grid, "state", g=5.0, eta=2.0))]
    assert state_a == "A" and state_c != "A"
    assert value(grid, "cv_isi", g=3.0) < 0.3 < 0.5 < value(grid, "cv_isi", g=5.0)
    assert value(grid, "rate_hz", g=3.0) > 200 > 100 > value(grid, "rate_hz", g=5.0)
    path = t[t["part"] == "path"]
    assert LABELS[int(value(path, "state", severity=0.4))] == "A"
    assert "epilepsy path" in res.findings
    records = assert_ephys(res, "brunel_ephys", ["exc", "inh"])
    assert {key for key, _ in records} == set(
        t[(t["part"] == "path") | ((t["part"] == "grid") & t["g"].isin([3.0, 5.0]))]["point"])
