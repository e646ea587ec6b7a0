"""Data sets for the artificial networks: plain NumPy arrays in small frozen dataclasses.

The default task is scikit-learn's bundled 8x8 handwritten digits (1797 images, 10
classes; Alpaydin & Kaynak 1998, UCI "Optical Recognition of Handwritten Digits"),
scaled from 0..16 to [0, 1]. Standard MNIST-format IDX files (MNIST, LeCun et al. 1998;
Fashion-MNIST, Xiao et al. 2017) load from a folder the user names; arrays the user
brings go through `from_arrays`.

    ds = digits(seed=0)
    ds.train.x   # (N_train, 64) float32 in [0, 1]
    ds.train.y   # (N_train,) int64 class labels 0..9

Temporal data sets, all made offline: `digit_rows` (a digit read row by row, (N, 8, 8)),
`mnist1d` (Greydanus 2020: the `mnist1d` package's procedural generator, (N, 40) or
(N, 40, 1)), and two tasks over sentences of a small Elman-style grammar (`ann.grammar`):
`grammar_next_word` (per-step targets y (N, T)) and `grammar_agreement` (is the sentence
grammatical, or has one verb the wrong number?). The grammar tasks come with a `val`
split and their `vocabulary`; their train, val and test sentences are disjoint.
"""
from __future__ import annotations

import functools
import gzip
import os
import random
from dataclasses import dataclass

import numpy as np

from ann import grammar

__all__ = [
    "Split", "Dataset", "digits", "digit_rows", "from_arrays", "mnist", "read_idx", "write_idx",
    "mnist1d", "grammar_next_word", "grammar_agreement",
]


@dataclass(frozen=True, eq=False)
class Split:
    """One part of a data set.

    x: (N, ...) float32 features (flat (N, F) for images, (N, T, F) for sequences).
    y: (N,) int64 class labels (or (N,) zeros for unlabelled data), or (N, T) int64
       per-step targets of a sequence task (next-word prediction).
    """

    x: np.ndarray
    y: np.ndarray

    def __post_init__(self):
        x = np.ascontiguousarray(self.x, dtype=np.float32)
        y = np.asarray(self.y)
        if x.ndim < 2:
            raise ValueError(f"x must be (samples, features...), got shape {x.shape}")
        if y.ndim not in (1, 2) or y.shape[0] != x.shape[0]:
            raise ValueError(f"y must be (samples,) = ({x.shape[0]},) to match x (or (samples, "
                             f"steps) for per-step targets), got shape {y.shape}")
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
    """A train/test pair. image_shape is (height, width) of one image, or None.

    val: a validation split made with the data set (the grammar tasks), or None: then
    hold one out of train (`train.fit` does, with val_fraction). vocabulary: the token
    of each id for the text tasks, or None.
    """

    train: Split
    test: Split
    n_classes: int
    name: str
    image_shape: tuple[int, int] | None = None
    val: Split | None = None
    vocabulary: tuple[str, ...] | None = None

    def select_classes(self, classes) -> "Dataset":
        """Only the given classes, relabelled 0..len(classes)-1 in the order given.

        digits().select_classes([5, 6, 7, 8, 9]) is the "new task" of a transfer experiment.
        """
        if self.train.y.ndim != 1:
            raise ValueError(f"{self.name} has per-step targets y {self.train.y.shape}; "
                             f"select_classes needs one class label per sample")
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
                       f"{self.name}[{','.join(map(str, classes))}]", self.image_shape,
                       None if self.val is None else pick(self.val), self.vocabulary)


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


# --- temporal data sets --------------------------------------------------------------------

@functools.lru_cache(maxsize=4)
def _mnist1d_arrays(seed):
    from mnist1d.data import get_dataset_args, make_dataset

    args = get_dataset_args()  # the package's defaults (5000 samples, 40 points, 80% train)
    args.seed = int(seed)
    # make_dataset seeds NumPy's and Python's global generators: give the caller theirs back
    np_state, py_state = np.random.get_state(), random.getstate()
    try:
        made = make_dataset(args)
    finally:
        np.random.set_state(np_state)
        random.setstate(py_state)
    return made["x"], made["y"], made["x_test"], made["y_test"]


def mnist1d(seed: int = 42, sequence: bool = False) -> Dataset:
    """MNIST-1D (Greydanus 2020, "Scaling down deep learning"): ten 1-D digit templates,
    padded, translated, sheared, scaled and noised, made by the `mnist1d` package's
    procedural generator `make_dataset` with its default arguments; no download.

    seed 42 is the package's default; other seeds draw other samples of the same kind.
    Returns x (4000, 40) train and (1000, 40) test float32, standardised over the whole
    set by the generator (mean 0, sd 1; values about -5.5..4.5), y int64 in 0..9. With
    sequence=True, x is (N, 40, 1): the signal read one point per step.
    """
    x_tr, y_tr, x_te, y_te = _mnist1d_arrays(int(seed))
    shape = (-1, 40, 1) if sequence else (-1, 40)
    return Dataset(Split(x_tr.reshape(shape), y_tr), Split(x_te.reshape(shape), y_te), 10,
                   "mnist1d_seq" if sequence else "mnist1d")


def _sentence_pools(seed, sizes, p_relative):
    """Three disjoint lists of distinct sentences (train, val, test) from ann.grammar."""
    if any(int(n) < 1 for n in sizes):
        raise ValueError(f"n_train, n_val and n_test must be >= 1, got {tuple(sizes)}")
    if not 0.0 <= p_relative <= 1.0:
        raise ValueError(f"p_relative must be in [0, 1], got {p_relative}")
    rng, total = np.random.default_rng(seed), sum(int(n) for n in sizes)
    distinct: dict[tuple, None] = {}
    for _ in range(100 * total):
        distinct[grammar.sentence(rng, p_relative)] = None
        if len(distinct) == total:
            break
    else:
        raise ValueError(f"the grammar gave only {len(distinct)} distinct sentences in "
                         f"{100 * total} draws (p_relative={p_relative}); ask for fewer than "
                         f"{total} or raise p_relative")
    pool = list(distinct)
    order = rng.permutation(total)  # frequent short sentences come first: spread them evenly
    bounds = np.cumsum([0, *sizes])
    return [[pool[i] for i in order[a:b]] for a, b in zip(bounds[:-1], bounds[1:])]


def _encode(ids, one_hot, vocabulary):
    """(N, T) int ids -> (N, T, V) one-hot float32, or the ids as float32 (N, T)."""
    return np.eye(len(vocabulary), dtype=np.float32)[ids] if one_hot else ids.astype(np.float32)


def grammar_next_word(seed: int = 0, n_train: int = 2000, n_val: int = 500, n_test: int = 500,
                      length: int = 16, p_relative: float = 0.3, one_hot: bool = True) -> Dataset:
    """Next-word prediction over a stream of sentences of the Elman-style grammar
    (`ann.grammar`; the task of Elman 1990, "Discovering lexical classes from word order").

    Each split holds n_* distinct sentences (disjoint across train, val and test) and
    n_* samples; a sample is a stream of that split's sentences (drawn with replacement,
    each ending in ".") starting at a sentence boundary, cut to length + 1 tokens.
    x: (N, length, V) one-hot float32 (one_hot=False: (N, length) float32 token ids);
    y: (N, length) int64, the id of the token that follows each step (y[:, t] = x id at
    t + 1). n_classes = V = len(vocabulary). Deterministic per seed.
    """
    if int(length) < 1:
        raise ValueError(f"length must be >= 1 token, got {length}")
    pools = _sentence_pools(seed, (n_train, n_val, n_test), p_relative)
    index = {w: i for i, w in enumerate(grammar.VOCABULARY)}
    splits = []
    for part, (pool, n) in enumerate(zip(pools, (n_train, n_val, n_test))):
        rng = np.random.default_rng([seed, 1, part])
        ids = np.empty((int(n), int(length) + 1), dtype=np.int64)
        for row in ids:
            stream: list[int] = []
            while len(stream) < len(row):
                stream += [index[w] for w in pool[rng.integers(len(pool))]]
            row[:] = stream[:len(row)]
        splits.append(Split(_encode(ids[:, :-1], one_hot, grammar.VOCABULARY), ids[:, 1:]))
    return Dataset(splits[0], splits[2], len(grammar.VOCABULARY), "grammar_next_word",
                   val=splits[1], vocabulary=grammar.VOCABULARY)


def grammar_agreement(seed: int = 0, n_train: int = 1000, n_val: int = 250, n_test: int = 250,
                      p_relative: float = 0.5, one_hot: bool = True) -> Dataset:
    """Grammatical or not: subject-verb number agreement (the task of Linzen, Dupoux &
    Goldberg 2016, TACL 4:521) on sentences of the Elman-style grammar (`ann.grammar`).

    Each split holds n_* distinct sentences (disjoint across train, val and test); each
    appears twice: as generated (label 1) and with one verb, chosen at random, in the
    wrong number (label 0), so a split has 2 * n_* samples, half of each class, and a
    sentence and its corruption never fall in different splits. With relative clauses a
    noun of the other number can stand between the subject and its verb, so the label
    needs the subject, not the nearest noun. Sentences are padded on the left with
    "<pad>" (id 0) to MAX_LENGTH = 7 tokens, so they end at the last step, where
    models.RNN reads its state.
    x: (N, 7, V) one-hot float32 (one_hot=False: (N, 7) float32 token ids); y: (N,) int64.
    """
    pools = _sentence_pools(seed, (n_train, n_val, n_test), p_relative)
    index = {w: i for i, w in enumerate(grammar.VOCABULARY)}
    splits = []
    for part, pool in enumerate(pools):
        rng = np.random.default_rng([seed, 2, part])
        rows = [s for good in pool for s in (good, grammar.corrupt(good, rng))]
        ids = np.zeros((len(rows), grammar.MAX_LENGTH), dtype=np.int64)  # 0 = "<pad>"
        for row, words in zip(ids, rows):
            row[len(row) - len(words):] = [index[w] for w in words]
        labels = np.tile([1, 0], len(pool))
        order = rng.permutation(len(rows))
        splits.append(Split(_encode(ids[order], one_hot, grammar.VOCABULARY), labels[order]))
    return Dataset(splits[0], splits[2], 2, "grammar_agreement", val=splits[1],
                   vocabulary=grammar.VOCABULARY)


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
