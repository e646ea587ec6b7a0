"""ann.data: the digits, user arrays and MNIST-format IDX files."""
import gzip

import numpy as np
import pytest

from ann import data


def test_digits_shapes_range_and_stratified_split(digits):
    assert digits.train.x.shape == (1347, 64) and digits.test.x.shape == (450, 64)
    assert digits.train.x.dtype == np.float32 and digits.train.y.dtype == np.int64
    assert digits.train.x.min() == 0.0 and digits.train.x.max() == 1.0
    # stratified: each class keeps its share, 25% of its images (+-1) in the test part
    per_class = np.bincount(digits.train.y) + np.bincount(digits.test.y)
    assert np.all(np.abs(np.bincount(digits.test.y) - 0.25 * per_class) <= 1)
    other = data.digits(seed=1)
    assert not np.array_equal(other.test.y, digits.test.y)
    assert np.array_equal(data.digits(seed=0).test.x, digits.test.x)


def test_digit_rows_are_the_image_rows(digits):
    rows = data.digit_rows(seed=0)
    assert rows.train.x.shape == (1347, 8, 8)
    np.testing.assert_array_equal(rows.train.x[5, 2], digits.train.x[5, 16:24])


def test_select_classes_relabels(digits):
    upper = digits.select_classes([5, 6, 7, 8, 9])
    assert upper.n_classes == 5 and set(np.unique(upper.test.y)) == {0, 1, 2, 3, 4}
    np.testing.assert_array_equal(upper.test.x, digits.test.x[digits.test.y >= 5])
    with pytest.raises(ValueError, match="choose from 0..9"):
        digits.select_classes([3, 12])


def test_from_arrays_and_nan_is_an_error():
    rng = np.random.default_rng(0)
    x, y = rng.random((40, 5)), np.repeat(np.arange(4), 10)
    ds = data.from_arrays(x, y, test_fraction=0.25, seed=0)
    assert len(ds.train) == 30 and len(ds.test) == 10 and ds.n_classes == 4
    x[3, 2] = np.nan
    with pytest.raises(ValueError, match=r"NaN.*index \(3, 2\)"):
        data.from_arrays(x, y)
    with pytest.raises(ValueError, match="y must be"):
        data.Split(np.zeros((4, 2)), np.zeros(3))


def _write_mnist(folder, gz, n_train=6, n_test=4, side=5):
    rng = np.random.default_rng(1)
    arrays = {}
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        arrays[prefix] = (rng.integers(0, 256, (n, side, side), dtype=np.uint8),
                          rng.integers(0, 10, n).astype(np.uint8))
        ext = ".gz" if gz else ""
        data.write_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", arrays[prefix][0])
        data.write_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", arrays[prefix][1])
    return arrays


@pytest.mark.parametrize("gz", [False, True])
def test_mnist_loader_reads_tiny_idx_files(tmp_path, gz):
    arrays = _write_mnist(tmp_path, gz)
    ds = data.mnist(tmp_path, kind="fashion")
    assert ds.name == "fashion_mnist" and ds.image_shape == (5, 5)
    np.testing.assert_allclose(ds.train.x, arrays["train"][0].reshape(6, 25) / 255.0, rtol=1e-6)
    np.testing.assert_array_equal(ds.test.y, arrays["t10k"][1])


def test_idx_header_is_the_standard_one(tmp_path):
    """LeCun's format: magic 0x00000803 for 3-d unsigned bytes, then big-endian sizes."""
    data.write_idx(tmp_path / "a.gz", np.zeros((2, 3, 4), np.uint8))
    raw = gzip.open(tmp_path / "a.gz").read()
    assert raw[:16] == bytes([0, 0, 8, 3, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4])


def test_mnist_missing_file_names_file_and_folder(tmp_path):
    _write_mnist(tmp_path, gz=False)
    (tmp_path / "t10k-labels-idx1-ubyte").unlink()
    with pytest.raises(FileNotFoundError, match=r"t10k-labels-idx1-ubyte.*" + tmp_path.name):
        data.mnist(tmp_path)
    with pytest.raises(ValueError, match="choose one of: mnist, fashion"):
        data.mnist(tmp_path, kind="kmnist")
