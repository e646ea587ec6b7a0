"""studies.stats: intervals, normalised accuracy, dose-response AUC and paired comparisons."""
import numpy as np
import pandas as pd
import pytest

from studies import stats


def test_bootstrap_interval_covers_the_mean_and_narrows_with_n():
    """Percentile bootstrap (Efron & Tibshirani 1993): for normal data the 95% interval of the
    mean is about 2 * 1.96 sigma / sqrt(n) wide."""
    rng = np.random.default_rng(0)
    small, large = rng.normal(1.0, 1.0, 10), rng.normal(1.0, 1.0, 1000)
    m, lo, hi = stats.bootstrap_ci(large)
    assert lo < 1.0 < hi and hi - lo == pytest.approx(2 * 1.96 / np.sqrt(1000), rel=0.15)
    _, lo_s, hi_s = stats.bootstrap_ci(small)
    assert hi_s - lo_s > 5 * (hi - lo)
    assert stats.bootstrap_ci([0.5]) == (0.5, 0.5, 0.5)
    assert np.isnan(stats.bootstrap_ci([np.nan])[0])


def _dose_table(slopes: dict, seeds=range(5), noise=0.0):
    rng = np.random.default_rng(1)
    rows = []
    for system, slope in slopes.items():
        for seed in seeds:
            for s in (0.0, 0.25, 0.5, 0.75, 1.0):
                acc = 0.1 + 0.9 * max(0.0, 1 - slope * s) + noise * rng.normal()
                rows.append(dict(system=system, disorder="x", severity=s, seed=seed, metric="accuracy", value=acc))
    return pd.DataFrame(rows)


def test_normalised_accuracy_and_auc_of_a_linear_decline():
    """acc = chance + (acc0 - chance)(1 - s): normalised accuracy is 1 - s and its AUC 0.5 exactly."""
    table = stats.with_normalised(_dose_table({"a": 1.0}), chance=0.1)
    norm = table[table["metric"] == "accuracy_norm"]
    assert np.allclose(norm["value"], 1 - norm["severity"])
    areas = stats.auc(table, "accuracy_norm")
    assert len(areas) == 5 and np.allclose(areas["auc"], 0.5)


def test_paired_comparison_reports_effect_size_and_exact_p():
    table = stats.with_normalised(_dose_table({"robust": 0.5, "fragile": 1.0}, noise=0.01), chance=0.1)
    res = stats.paired(stats.auc(table, "accuracy_norm"), "robust", "fragile").iloc[0]
    assert res["n_pairs"] == 5 and res["ci_low"] > 0 and res["mean_diff"] == pytest.approx(0.25, abs=0.02)
    assert res["d_z"] > 3
    assert res["p_wilcoxon"] == pytest.approx(0.0625)  # all 5 differences positive: 2 / 2^5


def test_duplicate_healthy_points_are_refused():
    t = _dose_table({"a": 1.0})
    with pytest.raises(ValueError, match="more than one healthy"):
        stats.with_normalised(pd.concat([t, t]), chance=0.1)
