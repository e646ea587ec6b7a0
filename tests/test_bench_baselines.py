"""The baselines the speed benchmarks compare against do the same work as what they time.

- benchmarks/conversion.py's one-at-a-time baseline (one Brian2 build, store/restore per
  sample, issue 12 item 3) must give the batched run's output spikes and potentials;
- SpikingJelly's converter (its peer, issue 15 item 3) must get the same normalisation
  scales as ours with normalisation="max", and its first spiking layer the same spike
  counts (both are ideal IF neurons with reset by subtraction, Rueckauer et al. 2017 eq. 3,
  on the same constant input);
- benchmarks/cost_curves.py's fitted exponent is the slope of an exact power law.
"""
import sys
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import conversion  # noqa: E402
import cost_curves  # noqa: E402
from ann import data, models  # noqa: E402
from bridge import convert  # noqa: E402


def small_mlp():
    torch.manual_seed(0)
    return models.MLP(64, [16], 10).eval()  # untrained weights are enough: the same network on both sides


def test_one_build_store_restore_gives_the_batched_spikes():
    ds = data.digits(seed=0)
    snn = convert.to_snn(small_mlp(), calibration=ds.train.x[:200], normalisation="max")
    test = ds.test.subset(np.arange(4))
    batched = snn.evaluate(test, duration_ms=conversion.T_CURRENT_MS, dt_ms=conversion.DT_MS, target="numpy")
    counts, v_end, wall, build = conversion.one_build_sequential(snn, test.x, target="numpy")
    assert batched.out_counts.sum() > 0  # the comparison is not between two silent networks
    np.testing.assert_array_equal(counts, batched.out_counts)
    np.testing.assert_allclose(v_end, batched.out_v)
    assert 0 < build < wall


def test_spikingjelly_conversion_matches_ours_in_scales_and_first_layer_spikes():
    ds = data.digits(seed=0)
    net = small_mlp()
    ours = convert.to_snn(net, calibration=ds.train.x[:200], normalisation="max")
    sj, shape = conversion.sj_convert(net, ds.train.x[:200])
    np.testing.assert_allclose(conversion.sj_scales(sj), [ours.scales["h1"][0]], rtol=1e-5)
    test = ds.test.subset(np.arange(20))
    res = ours.evaluate(test, duration_ms=16, dt_ms=1.0, target="numpy")
    sj_counts = conversion.sj_first_layer_counts(sj, shape, test.x, 16)
    ours_counts = res.record.spike_counts("h1").reshape(20, -1)
    assert ours_counts.sum() > 0
    np.testing.assert_array_equal(ours_counts, sj_counts)


def test_fitted_exponent_is_the_power_law_slope():
    sizes = np.array([10.0, 100.0, 1000.0, 5000.0])
    assert abs(cost_curves.slope(sizes, 3.0 * sizes ** 1.5) - 1.5) < 1e-12
    assert abs(cost_curves.slope(sizes, np.full(4, 2.0))) < 1e-12
