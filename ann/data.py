"""Data sets for the artificial networks: plain NumPy arrays in small frozen dataclasses.

The default task is scikit-learn's bundled 8x8 handwritten digits (1797 images, 10
classes; Alpaydin & Kaynak 1998, UCI "Optical Recognition of Handwritten Digits"),
scaled from 0..16 to [0, 1]. Standard MNIST-format IDX files (MNIST, LeCun et al. 1998;
Fashion-MNIST, Xiao et al. 2017) load from a folder the user names; arrays the user
brings go through `from_arrays`.

    ds = digits(seed=0)
    ds.train.x   # (N_train, 64) float32 in [0, 1]
    ds.train.y   # (N_train,) int64 class labels 0..9
"""
from __future__ import annotations

import functools
import gzip
import os
from dataclasses import dataclass

import numpy as np

__all__ = [
    "Split", "Dataset", "digits", "digit_rows", "from_arrays", "mnist", "read_idx", "write_idx",
]


@dataclass(frozen=True, eq=False)
class Split:
    """One part of a data set.

    x: (N, ...) float32 features (flat (N, F) for images, (N, T, F) for sequences).
    y: (N,) int64 class labels (or (N,) zeros for unlabelled data).
    """

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self):
        x = np.ascontiguousarray(self.x, dtype=np.float32)
        y = np.asarray(self.y)
        if x.ndim < 2:
            raise ValueError(f"x must be (samples, features...), got shape {x.shape}")
        if y.shape != (x.shape[0],):
            raise ValueError(f"y must be (samples,) = ({x.shape[0]},) to match x, got shape {y.shape}")
        if y.size and not np.issubdtype(y.dtype, np.integer):
            if not np.all(np.equal(np.mod(y, 1), 0)):
                raise ValueError("y must hold integer class labels, got non-integer values")
        y = y.astype(np.int64)
        if y.size and y.min() < 0:
            raise ValueError(f"class labels must be >= 0, got {y.min()}")
        bad = ~np.isfinite(x)
        if bad.any():
            first = np.argwhere(bad)[0]
            raise ValueError(f"x holds {int(bad.sum())} NaN or infinite value(s), first at index "
                             f"{tuple(int(i) for i in first)}; clean or impute the data first")
        object.__setattr__(self, "x", x)
        object.__setattr__(self, "y", y)

    def __len__(self) -> int:
        return int(self.x.shape[0])

    def subset(self, index) -> "Split":
        """Rows picked by an index array or boolean mask."""
        return Split(self.x[index], self.y[index])


@dataclass(frozen=True, eq=False)
class Dataset:
    """A train/test pair. image_shape is (height, width) of one image, or None."""

    train: Split
    test: Split
    n_classes: int
    name: str
    image_shape: tuple[int, int] | None = None

    def select_classes(self, classes) -> "Dataset":
        """Only the given classes, relabelled 0..len(classes)-1 in the order given.

        digits().select_classes([5, 6, 7, 8, 9]) is the "new task" of a transfer experiment.
        """
        classes = [int(c) for c in classes]
        unknown = [c for c in classes if not 0 <= c < self.n_classes]
        if unknown or not classes:
            raise ValueError(f"classes {unknown or classes} not in this data set; "
                             f"choose from 0..{self.n_classes - 1}")
        lut = np.full(self.n_classes, -1, dtype=np.int64)
        lut[classes] = np.arange(len(classes))

        def pick(split):
            keep = lut[split.y] >= 0
            return Split(split.x[keep], lut[split.y[keep]])

        return Dataset(pick(self.train), pick(self.test), len(classes),
                       f"{self.name}[{','.join(map(str, classes))}]", self.image_shape)


@functools.lru_cache(maxsize=1)
def _sklearn_digits():
    from sklearn.datasets import load_digits

    bunch = load_digits()
    return (bunch.data / 16.0).astype(np.float32), bunch.target.astype(np.int64)


def _stratified_split(x, y, test_fraction, seed):
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    from sklearn.model_selection import train_test_split

    counts = np.bincount(y)
    stratify = y if counts[counts > 0].min() >= 2 else None
    return train_test_split(x, y, test_size=test_fraction, random_state=seed, stratify=stratify)


def digits(seed: int = 0, test_fraction: float = 0.25) -> Dataset:
    """scikit-learn's 8x8 digits, stratified train/test split, pixels in [0, 1].

    Returns a Dataset with x (N, 64) float32 (row-major 8x8 image), y (N,) int64 in 0..9;
    with test_fraction 0.25: 1347 train and 450 test images.
    """
    x, y = _sklearn_digits()
    x_tr, x_te, y_tr, y_te = _stratified_split(x, y, test_fraction, seed)
    return Dataset(Split(x_tr, y_tr), Split(x_te, y_te), 10, "digits", (8, 8))


def digit_rows(seed: int = 0, test_fraction: float = 0.25) -> Dataset:
    """The same digits as sequences read top to bottom: x (N, 8, 8) = (sample, row, pixel)."""
    ds = digits(seed, test_fraction)

    def rows(split):  # (N, 64) -> (N, T=8, F=8)
        return Split(split.x.reshape(-1, 8, 8), split.y)

    return Dataset(rows(ds.train), rows(ds.test), 10, "digit_rows", (8, 8))


def from_arrays(x, y, test_fraction: float = 0.25, seed: int = 0, name: str = "arrays",
                image_shape=None, n_classes: int | None = None, test=None) -> Dataset:
    """A Dataset from arrays the user brings.

    x: (N, ...) numeric features (scale them to about [0, 1] yourself); y: (N,) integer labels.
    test: an optional (x_test, y_test) pair; without it a stratified test_fraction of
    (x, y) is held out with `seed`.
    """
    whole = Split(x, y)  # validates shapes, NaN and labels
    if test is not None:
        train, test_split = whole, Split(*test)
        if test_split.x.shape[1:] != whole.x.shape[1:]:
            raise ValueError(f"test x has feature shape {test_split.x.shape[1:]}, "
                             f"train x has {whole.x.shape[1:]}; they must match")
    else:
        x_tr, x_te, y_tr, y_te = _stratified_split(whole.x, whole.y, test_fraction, seed)
        train, test_split = Split(x_tr, y_tr), Split(x_te, y_te)
    seen = int(max(train.y.max(initial=0), test_split.y.max(initial=0))) + 1
    if n_classes is None:
        n_classes = seen
    elif n_classes < seen:
        raise ValueError(f"n_classes={n_classes} but labels go up to {seen - 1}")
    return Dataset(train, test_split, int(n_classes), name,
                   tuple(image_shape) if image_shape is not None else None)


# --- IDX files (the MNIST format: http://yann.lecun.com/exdb/mnist/) -----------------------

_IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: np.dtype(">i2"), 0x0C: np.dtype(">i4"),
               0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8")}


def read_idx(path) -> np.ndarray:
    """Read one IDX file (raw, or gzipped when the name ends in .gz) into an array."""
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "rb") as f:
        raw = f.read()
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] not in _IDX_DTYPES:
        raise ValueError(f"{path} is not an IDX file (bad magic number {raw[:4].hex()})")
    dtype, ndim = np.dtype(_IDX_DTYPES[raw[2]]), raw[3]
    shape = tuple(int(d) for d in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    offset = 4 + 4 * ndim
    expected = int(np.prod(shape)) * dtype.itemsize
    if len(raw) - offset != expected:
        raise ValueError(f"{path} is truncated or corrupt: header says shape {shape} "
                         f"({expected} bytes) but {len(raw) - offset} bytes follow")
    return np.frombuffer(raw, dtype, offset=offset).reshape(shape).astype(dtype.newbyteorder("="))


def write_idx(path, array) -> None:
    """Write an array as an IDX file (gzipped when the name ends in .gz)."""
    array = np.asarray(array)
    code = {np.dtype(v).newbyteorder(">"): k for k, v in _IDX_DTYPES.items()}
    be = array.dtype.newbyteorder(">") if array.dtype.itemsize > 1 else array.dtype
    if be not in code:
        raise ValueError(f"IDX cannot store dtype {array.dtype}; use uint8, int8, int16, "
                         f"int32, float32 or float64")
    header = bytes([0, 0, code[be], array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as f:
        f.write(header + array.astype(be).tobytes())


def _find_idx(folder, stem):
    names = [f"{stem}-{suffix}{gz}" for suffix in ("idx3-ubyte", "idx1-ubyte")
             for gz in ("", ".gz")]
    names += [n.replace("-idx", ".idx") for n in names]  # some mirrors write train-images.idx3-ubyte
    kind = "idx1-ubyte" if "labels" in stem else "idx3-ubyte"
    for name in names:
        if kind in name and os.path.isfile(os.path.join(folder, name)):
            return os.path.join(folder, name)
    raise FileNotFoundError(f"missing {stem}-{kind} (or {stem}-{kind}.gz) in folder {folder!r}; "
                            f"download the four MNIST-format IDX files into that folder")


def mnist(folder, kind: str = "mnist") -> Dataset:
    """MNIST or Fashion-MNIST from the four standard IDX files in `folder` (raw or .gz).

    Returns x (N, 784) float32 in [0, 1] (row-major 28x28), y (N,) int64; the files'
    own train/test split (60000/10000 for the full sets).
    """
    if kind not in ("mnist", "fashion"):
        raise ValueError(f"unknown kind {kind!r}; choose one of: mnist, fashion")
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"folder {folder!r} does not exist; it should hold "
                                f"train-images-idx3-ubyte[.gz] and the other three IDX files")
    parts = {}
    for part, prefix in (("train", "train"), ("test", "t10k")):
        images = read_idx(_find_idx(folder, f"{prefix}-images"))
        labels = read_idx(_find_idx(folder, f"{prefix}-labels"))
        if images.ndim != 3 or labels.shape != (images.shape[0],):
            raise ValueError(f"{prefix} images {images.shape} and labels {labels.shape} in "
                             f"{folder!r} do not match (want (N, H, W) and (N,))")
        x = images.reshape(len(images), -1).astype(np.float32) / 255.0
        parts[part] = Split(x, labels.astype(np.int64))
        h, w = images.shape[1:]
    name = "mnist" if kind == "mnist" else "fashion_mnist"
    return Dataset(parts["train"], parts["test"], 10, name, (int(h), int(w)))
