"""bridge.compare: CKA, RSA and activation-vs-rate correlation, checked in closed form."""
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
