"""bridge.disorders on the STDP network: every disorder that applies to a Diehl & Cook (2015)
network changes it at moderate severity beyond seed-to-seed noise, and the others are declared.

Three small Diehl & Cook networks (30 excitatory neurons, 300 training digits, 100 ms
presentations; trained on cpp_standalone, one long run each, compiled once per machine, then
labelled and evaluated on numpy) trained on seeds 0-2, as tests/test_disorders.py does for the
ANN and the converted SNN. 'Beyond noise' means a mean change larger than twice the healthy
networks' seed-to-seed sd, in accuracy or in the excitatory firing rate (then also by >= 5%):
a mechanism can leave a winner-take-all read-out's argmax alone and still act (e.g. lost
inhibition makes every neuron fire more).
"""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
from brian2 import ms

from bio import diehl_cook, stdp
from bridge import disorders
from bridge.systems import STDPSystem
from seednoise import change_beyond_noise

SEEDS = (0, 1, 2)
MODERATE = 0.5
# not applicable to the STDP network, each for the reason bridge.disorders gives
DECLINED = {"stroke": "no spatial layout", "schizophrenia": "recurrent", "tinnitus": "no closed form"}


@pytest.fixture(scope="module")
def systems(digits):
    timing = diehl_cook.DiehlCookParams(t_present=100 * ms, t_rest=25 * ms, dt=0.5 * ms)
    train = digits.train.subset(np.arange(300))
    out = []
    for seed in SEEDS:
        spec = diehl_cook.diehl_cook_spec(n_exc=30, params=timing, seed=seed)
        spec = stdp.train(spec, train.x, epochs=1, seed=seed, target="cpp_standalone", progress=False)
        labels = stdp.label(spec, train.x, train.y, seed=seed + 1, target="numpy")
        out.append(STDPSystem(spec, labels, target="numpy", n_record=20))
    return out


@pytest.mark.slow  # ~1-2 min of CPU on numpy: 3 trainings, 21 evaluations of 60 digits
def test_moderate_severity_changes_the_stdp_network_beyond_seed_noise(systems, digits):
    test = digits.test.subset(np.arange(60))
    healthy = [s.evaluate(test) for s in systems]
    acc0, rate0 = [h.accuracy for h in healthy], [h.rate_hz for h in healthy]
    assert np.mean(acc0) > 0.35  # the networks learned something to lose
    acted = []
    for name in disorders.list():
        ds = [disorders.get(name, MODERATE, seed=seed) for seed in SEEDS]
        if not ds[0].applies_to(systems[0]):
            assert name in DECLINED, f"{name} does not apply to the STDP network: {ds[0].why_not(systems[0])}"
            with pytest.raises(ValueError, match=DECLINED[name]):
                ds[0].apply(systems[0])
            continue
        sick = [d.apply(s).evaluate(test) for d, s in zip(ds, systems)]
        acc = change_beyond_noise(acc0, [x.accuracy for x in sick], floor=0.02)
        rate = change_beyond_noise(rate0, [x.rate_hz for x in sick], floor=0.05 * np.mean(rate0))
        assert acc or rate, (name, [(h.accuracy, h.rate_hz) for h in healthy],
                             [(x.accuracy, x.rate_hz) for x in sick])
        acted.append(name)
    assert len(acted) >= 7, acted  # every other disorder of the library acts on it (autism too)
