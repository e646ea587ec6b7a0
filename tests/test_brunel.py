"""Brunel (2000) network: connectivity, lesion fields and the SR/AI distinction."""
import numpy as np
import pytest
from brian2 import mV, ms, second

from bio import analysis, brunel2000

N_E = 1000  # scaled down: C_E = 100, J = 1 mV keeps J C_E = 100 mV as in the paper


def test_spec_fixed_indegree_and_scaling():
    spec = brunel2000.brunel_spec(N_E=200, seed=1)
    assert spec.populations["inh"].n == 50 and spec.C_E == 20
    assert float(spec.J / mV) == pytest.approx(5.0)  # 0.1 mV * 1000 / 20
    assert float(spec.nu_thr * second) == pytest.approx(10.0)  # theta / (J C_E tau), as in the paper
    ei = spec.connections["exc_inh"]
    assert np.all(np.bincount(ei.j, minlength=50) == 20)
    for j in range(50):  # distinct partners
        assert len(np.unique(ei.i[ei.j == j])) == 20
    assert np.all(spec.connections["inh_exc"].w == pytest.approx(5.0 * 5e-3))


def test_unknown_inputs_are_explained():
    with pytest.raises(ValueError, match="voltage"):
        brunel2000.brunel_spec(N_E=100, J=1 * ms)


def test_dead_neurons_never_spike():
    spec = brunel2000.brunel_spec(*brunel2000.STATES["C"], N_E=200, seed=0)
    spec.populations["exc"].alive[:100] = False
    rec = brunel2000.simulate(spec, 100 * ms, seed=0, record_v=3)
    counts = rec.spike_counts("exc")
    assert counts[:100].sum() == 0 and counts[100:].sum() > 0
    v = rec.traces["exc.v"]  # (T, 3) volt; dead neurons are driven but never reset
    assert v.shape == (1000, 3) and v.max() > 0.02


@pytest.fixture(scope="module")
def states():
    return {s: brunel2000.brunel(*brunel2000.STATES[s], duration=0.25 * second, N_E=N_E, seed=0)
            for s in ("A", "C")}


def test_sr_and_ai_states_differ_as_in_the_paper(states):
    """Brunel (2000), Fig. 8: state A (g=3, eta=2) is synchronous regular - neurons fire near
    saturation, regularly (low CV) and together (high synchrony); state C (g=5, eta=2) is
    asynchronous irregular - Poisson-like firing (CV near 1) and weak synchrony."""
    w = dict(t_start_s=0.05)  # skip the start-up transient
    a, c = states["A"], states["C"]
    cv_a, cv_c = analysis.cv_isi(a, "exc", **w), analysis.cv_isi(c, "exc", **w)
    chi_a = analysis.synchrony(a, "exc", bin_s=2e-3, **w)
    chi_c = analysis.synchrony(c, "exc", bin_s=2e-3, **w)
    assert cv_a < 0.3 and 0.7 < cv_c < 1.5
    assert chi_a > 2 * chi_c
    assert analysis.mean_rate(a, "exc", **w) > 3 * analysis.mean_rate(c, "exc", **w)


def test_record_layout(states):
    rec = states["C"]
    assert rec.populations == ["exc", "inh"]
    assert rec.n_neurons == {"exc": N_E, "inh": N_E // 4}
    assert rec.duration_s == pytest.approx(0.25)
