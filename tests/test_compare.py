"""bridge.compare: CKA, RSA and activation-vs-rate correlation, checked in closed form and
against rsatoolbox (a dev dependency); bootstrap intervals and the pairwise table."""
import numpy as np
import pytest
from scipy.stats import ortho_group

from bridge import compare


@pytest.fixture(scope="module")
def x():
    return np.random.default_rng(0).normal(size=(300, 20))


def test_cka_self_is_one_and_invariant(x):
    """Kornblith et al. 2019, sec. 3: linear CKA is 1 for identical representations and
    invariant to orthogonal transforms and isotropic scaling (not to general linear maps)."""
    q = ortho_group.rvs(20, random_state=1)
    assert compare.linear_cka(x, x) == pytest.approx(1.0)
    assert compare.linear_cka(x, 3.7 * x @ q) == pytest.approx(1.0)
    skew = x @ np.diag(np.linspace(0.1, 10, 20))
    assert compare.linear_cka(x, skew) < 0.9


def test_cka_gram_and_feature_forms_agree(x):
    wide = np.random.default_rng(2).normal(size=(300, 500))  # more features than samples
    a = compare.linear_cka(x, wide)
    b = compare.linear_cka(wide, x)  # symmetric
    xc, wc = x - x.mean(0), wide - wide.mean(0)
    direct = np.linalg.norm(wc.T @ xc) ** 2 / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(wc.T @ wc))
    assert a == pytest.approx(direct) and b == pytest.approx(direct)


def test_cka_near_zero_for_independent_data():
    """For independent Gaussian data CKA ~ p*q / (N * sqrt(p*q)) -> 0 as N grows."""
    rng = np.random.default_rng(3)
    assert compare.linear_cka(rng.normal(size=(5000, 5)), rng.normal(size=(5000, 5))) < 0.01


def test_rsa_and_correlation(x):
    """RSA (Kriegeskorte et al. 2008): an RDM of 1 - Pearson r is unchanged by scaling and by
    adding a constant to all units, so RSA is 1; independent data give RSA near 0."""
    assert compare.rsa(x, 2 * x + 1) == pytest.approx(1.0)
    assert abs(compare.rsa(x, np.random.default_rng(4).normal(size=x.shape))) < 0.05
    assert compare.correlation(x, 5 * x - 2) == pytest.approx(1.0)
    rows = compare.compare_layers({"h1": x, "out": x[:, :3]}, {"h1": x, "other": x})
    assert list(rows) == ["h1"] and rows["h1"]["cka"] == pytest.approx(1.0)
    with pytest.raises(ValueError, match="same samples"):
        compare.linear_cka(x, x[:10])


# --- rsatoolbox-compatible RDMs, RSA scores, bootstrap intervals, pairwise tables -----------

def _rsatoolbox_rdms(x, method):
    from rsatoolbox.data import Dataset
    from rsatoolbox.rdm import calc_rdm
    return calc_rdm(Dataset(x), method=method)


@pytest.mark.parametrize("method", ["euclidean", "correlation"])
def test_rdm_matches_rsatoolbox(method):
    """rsatoolbox 0.3.2 (`calc_rdm`) is the independent reference: same dissimilarities
    (squared Euclidean / n_features; 1 - Pearson r) in the same condensed order."""
    rng = np.random.default_rng(5)
    x = rng.normal(size=(15, 7)) * rng.uniform(0.5, 3, size=7)
    ref = _rsatoolbox_rdms(x, method)
    np.testing.assert_allclose(compare.rdm_vector(x, method), ref.get_vectors()[0], rtol=0, atol=1e-6)
    np.testing.assert_allclose(compare.rdm(x, method), ref.get_matrices()[0], rtol=0, atol=1e-6)


@pytest.mark.parametrize("score, theirs", [("spearman", "spearman"), ("pearson", "corr")])
def test_rsa_scores_match_rsatoolbox(score, theirs):
    from rsatoolbox.rdm import compare as rsa_compare
    rng = np.random.default_rng(6)
    x = rng.normal(size=(20, 6))
    y = x @ rng.normal(size=(6, 9)) + rng.normal(size=(20, 9))
    for method in ("euclidean", "correlation"):
        ref = rsa_compare(_rsatoolbox_rdms(x, method), _rsatoolbox_rdms(y, method), method=theirs)
        assert compare.rsa(x, y, method, score) == pytest.approx(float(ref[0, 0]), abs=1e-6)
    # square and condensed RDMs give the same score
    assert compare.compare_rdms(compare.rdm(x), compare.rdm(y), score) == \
        pytest.approx(compare.compare_rdms(compare.rdm_vector(x), compare.rdm_vector(y), score))


def test_bootstrap_resample_matches_rsatoolbox_pattern_subsampling():
    """One RSA bootstrap resample equals rsatoolbox's `RDMs.subsample_pattern` with the same
    drawn stimuli (duplicated stimuli: their self-pairs become NaN there and are dropped)."""
    from rsatoolbox.rdm import RDMs, compare as rsa_compare
    rng = np.random.default_rng(7)
    x = rng.normal(size=(14, 4))
    y = x + rng.normal(size=(14, 4))
    dx, dy = compare.rdm_vector(x, "euclidean"), compare.rdm_vector(y, "euclidean")
    index = {"index": np.arange(14)}
    rx, ry = RDMs(dx[None], pattern_descriptors=index), RDMs(dy[None], pattern_descriptors=index)
    for _ in range(5):
        idx = rng.integers(0, 14, size=14)
        assert len(np.unique(idx)) < 14  # the case that matters: repeated stimuli
        ref = rsa_compare(rx.subsample_pattern("index", idx), ry.subsample_pattern("index", idx),
                          method="spearman")
        assert compare._rsa_resample(dx, dy, idx, "spearman") == pytest.approx(float(ref[0, 0]), abs=1e-6)


def _noisy_copy(n, seed, p=2, sigma=1.0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, p))
    return x, x + sigma * rng.normal(size=(n, p))


def test_cka_interval_covers_population_value_and_narrows():
    """For x ~ N(0, I_p), y = x + sigma e: population linear CKA = ||S_xy||^2 / (||S_xx|| ||S_yy||)
    = p / (sqrt(p) * (1 + sigma^2) sqrt(p)) = 1 / (1 + sigma^2) = 0.5 for sigma = 1 (Kornblith
    et al. 2019, eq. 5 with population covariances). A 95 % interval covers it in most data sets,
    and its width shrinks like 1 / sqrt(N)."""
    hits = [compare.bootstrap(*_noisy_copy(400, s), "cka", n_boot=300, seed=s) for s in range(20)]
    coverage = np.mean([e.low <= 0.5 <= e.high for e in hits])
    assert coverage >= 0.8
    assert all(isinstance(e, compare.Estimate) and e.n_boot == 300 and e.low <= e.estimate <= e.high
               for e in hits)
    width = {n: np.mean([(lambda e: e.high - e.low)(compare.bootstrap(*_noisy_copy(n, s), "cka",
                                                                    n_boot=200, seed=s))
                         for s in range(8)]) for n in (100, 1600)}
    assert width[1600] < 0.35 * width[100]  # 1/sqrt(16) = 0.25


def test_rsa_interval_covers_large_sample_value_and_narrows():
    """The RSA estimand is the Spearman correlation of the two RDMs over the stimulus
    population; a 2000-stimulus sample (2 million pairs) fixes it to about 1e-3."""
    truth = compare.rsa(*_noisy_copy(2000, 999), method="euclidean")
    est = {n: [compare.bootstrap(*_noisy_copy(n, s), "rsa", n_boot=150, seed=s, method="euclidean")
               for s in range(8)] for n in (25, 100)}
    assert np.mean([e.low <= truth <= e.high for e in est[100]]) >= 0.75
    width = {n: np.mean([e.high - e.low for e in v]) for n, v in est.items()}
    assert width[100] < 0.7 * width[25]  # 1/sqrt(4) = 0.5 expected


def test_bootstrap_is_seeded_and_checks_arguments(x):
    a = compare.bootstrap(x[:50], x[:50, :5], "rsa", n_boot=50, seed=3)
    assert a == compare.bootstrap(x[:50], x[:50, :5], "rsa", n_boot=50, seed=3)
    assert a != compare.bootstrap(x[:50], x[:50, :5], "rsa", n_boot=50, seed=4)
    assert a.estimate == pytest.approx(compare.rsa(x[:50], x[:50, :5]))
    with pytest.raises(ValueError, match="choose one of: cka, rsa"):
        compare.bootstrap(x, x, "cca")
    with pytest.raises(ValueError, match="level"):
        compare.bootstrap(x, x, level=95)
    with pytest.raises(ValueError, match="euclidean, correlation"):
        compare.rdm(x, "cosine")


def test_cka_not_invariant_to_general_invertible_maps(x):
    """Kornblith et al. 2019, sec. 3 (Table 1): linear CKA is invariant to orthogonal maps and
    isotropic scaling but not to invertible linear maps in general (CCA would be)."""
    a = np.random.default_rng(8).normal(size=(20, 20))
    assert abs(np.linalg.det(a)) > 1e-3  # invertible
    assert compare.linear_cka(x, x @ a) < 0.95


def test_compare_all_is_tidy_with_one_row_per_pair_and_measure():
    rng = np.random.default_rng(10)
    base = rng.normal(size=(30, 6))
    reps = {"ann": base, "snn": base + 0.1 * rng.normal(size=base.shape),
            "stdp": rng.normal(size=(30, 4)), "random": rng.normal(size=(30, 8))}
    table = compare.compare_all(reps, n_boot=40, seed=0)
    assert list(table.columns) == ["system_a", "system_b", "measure", "estimate", "ci_low", "ci_high", "n_boot"]
    n = len(reps)
    assert (table.groupby("measure").size() == n * (n - 1) // 2).all()
    assert set(table.measure) == {"cka", "rsa"}
    row = table[(table.system_a == "ann") & (table.system_b == "snn") & (table.measure == "cka")].iloc[0]
    assert row.estimate == pytest.approx(compare.linear_cka(base, reps["snn"]))
    assert row.estimate > table[(table.system_a == "ann") & (table.measure == "cka")].estimate.drop(row.name).max()
    with pytest.raises(ValueError, match="same stimuli"):
        compare.compare_all({"a": base, "b": base[:10]})
