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


# --- temporal data sets ------------------------------------------------------------------

def test_mnist1d_is_the_packages_default_generator_without_side_effects():
    """Greydanus 2020: 5000 samples, 500 per digit, 40 points, 80/20 split (mnist1d's
    get_dataset_args defaults); made offline, and the caller's global RNGs are untouched."""
    import random

    np.random.seed(123)
    random.seed(123)
    ds = data.mnist1d()
    assert np.random.random() == np.random.RandomState(123).random_sample()
    assert random.random() == random.Random(123).random()
    assert ds.train.x.shape == (4000, 40) and ds.test.x.shape == (1000, 40)
    assert np.array_equal(np.bincount(np.r_[ds.train.y, ds.test.y]), np.full(10, 500))
    whole = np.r_[ds.train.x, ds.test.x]
    assert abs(whole.mean()) < 1e-4 and abs(whole.std() - 1) < 1e-4  # standardised by make_dataset
    seq = data.mnist1d(sequence=True)
    assert seq.train.x.shape == (4000, 40, 1)
    np.testing.assert_array_equal(seq.train.x[:, :, 0], ds.train.x)
    assert not np.array_equal(data.mnist1d(seed=1).train.x[:5], ds.train.x[:5])


def test_mnist1d_a_linear_model_beats_chance():
    """Greydanus 2020 (Fig. 3): logistic regression reaches about 32% test accuracy."""
    from sklearn.linear_model import LogisticRegression

    ds = data.mnist1d()
    acc = LogisticRegression(max_iter=500).fit(ds.train.x, ds.train.y).score(ds.test.x, ds.test.y)
    assert 0.25 < acc < 0.45


def _sentences(split, vocabulary):
    """Token strings of each row of one-hot x, padding dropped."""
    ids = split.x.argmax(-1) if split.x.ndim == 3 else split.x.astype(int)
    return [tuple(vocabulary[i] for i in row if vocabulary[i] != "<pad>") for row in ids]


def _verb_number(word):
    # English morphology, independent of ann.grammar's tables: the third person singular
    # of every verb in this lexicon ends in "s"; no plural form does.
    return 0 if word.endswith("s") else 1


def test_grammar_agreement_labels_sentences_by_the_agreement_rule():
    from ann import grammar

    ds = data.grammar_agreement(seed=0, n_train=300, n_val=100, n_test=100)
    assert ds.train.x.shape == (600, 7, len(ds.vocabulary)) and ds.val.x.shape == (200, 7, 45)
    assert ds.n_classes == 2 and ds.train.y.mean() == 0.5 and ds.vocabulary[0] == "<pad>"
    nouns = {form: num for pairs in grammar.NOUNS.values() for pair in pairs
             for num, form in enumerate(pair)}
    verbs = {form for pairs in grammar.VERBS.values() for pair in pairs for form in pair}
    for split in (ds.train, ds.val, ds.test):
        for words, label in zip(_sentences(split, ds.vocabulary), split.y):
            subject = nouns[words[0]]
            wrong = [w for w in words if w in verbs and _verb_number(w) != subject]
            assert len(wrong) == (0 if label == 1 else 1), words
            assert grammar.parse(words) == bool(label), words
    # grammatical sentences and their corruptions stay in one split: splits are disjoint
    parts = [set(_sentences(s, ds.vocabulary)) for s in (ds.train, ds.val, ds.test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    assert len(parts[0]) == 600  # every row a different sentence


def test_grammar_tasks_are_deterministic_per_seed():
    a = data.grammar_agreement(seed=3, n_train=50, n_val=10, n_test=10)
    b = data.grammar_agreement(seed=3, n_train=50, n_val=10, n_test=10)
    c = data.grammar_agreement(seed=4, n_train=50, n_val=10, n_test=10)
    np.testing.assert_array_equal(a.train.x, b.train.x)
    np.testing.assert_array_equal(a.test.y, b.test.y)
    assert not np.array_equal(a.train.x, c.train.x)
    n1, n2 = data.grammar_next_word(seed=3, n_train=20), data.grammar_next_word(seed=3, n_train=20)
    np.testing.assert_array_equal(n1.val.y, n2.val.y)


def test_grammar_next_word_targets_are_the_following_tokens():
    from ann import grammar

    ds = data.grammar_next_word(seed=0, n_train=400, n_val=100, n_test=100, length=12)
    v = len(ds.vocabulary)
    assert ds.train.x.shape == (400, 12, v) and ds.train.y.shape == (400, 12) and ds.n_classes == v
    ids = ds.train.x.argmax(-1)
    np.testing.assert_array_equal(ids[:, 1:], ds.train.y[:, :-1])
    ids_only = data.grammar_next_word(seed=0, n_train=400, n_val=100, n_test=100, length=12,
                                      one_hot=False)
    np.testing.assert_array_equal(ids_only.train.x, ids)
    # every complete sentence of every stream obeys the grammar and agreement; the
    # sentences of train, val and test are disjoint
    end = ds.vocabulary.index(".")
    parts = []
    for split in (ds.train, ds.val, ds.test):
        stream_ids = np.c_[split.x.argmax(-1), split.y[:, -1:]]
        found = set()
        for row in stream_ids:
            cuts = np.flatnonzero(row == end)
            starts = np.r_[0, cuts[:-1] + 1]
            for a, b in zip(starts, cuts):
                words = tuple(ds.vocabulary[i] for i in row[a:b + 1])
                assert grammar.parse(words) and grammar.agreement_holds(words), words
                found.add(words)
        parts.append(found)
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    with pytest.raises(ValueError, match="distinct sentences"):
        data.grammar_agreement(n_train=400, n_val=10, n_test=10, p_relative=0.0)


def test_grammar_next_word_a_bigram_model_beats_the_unigram_baseline():
    """Elman 1990: the next word is predictable from the current one far above its base
    rate (a noun is followed by a verb or 'who', a transitive verb by a noun)."""
    ds = data.grammar_next_word(seed=0, one_hot=False)
    v = len(ds.vocabulary)
    counts = np.zeros((v, v))
    np.add.at(counts, (ds.train.x.astype(int).ravel(), ds.train.y.ravel()), 1)
    bigram = (counts.argmax(1)[ds.test.x.astype(int)] == ds.test.y).mean()
    unigram = (ds.test.y == np.bincount(ds.train.y.ravel()).argmax()).mean()
    assert bigram > unigram + 0.1 and unigram > 1 / v


def test_grammar_agreement_a_small_elman_network_learns_it():
    """An Elman (1990) network reads the sentence and classifies it: chance is 50%."""
    import torch

    from ann import models, train

    torch.set_num_threads(1)
    ds = data.grammar_agreement(seed=0)
    torch.manual_seed(0)
    net = models.RNN(input_size=len(ds.vocabulary), hidden_size=32, out_features=2, cell="elman")
    train.fit(net, ds.train, epochs=20, device="cpu", val_fraction=0, progress=False)
    assert train.evaluate(net, ds.test) > 0.9
