"""ann.word_stream: the heard word stream is made of grammar sentences and silent gaps, the
scores count what they say, and the working-memory cell loss removes as many recurrent weights
as weakest-first pruning of the same fraction."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest
import torch

from ann import grammar, lesion
from ann import word_stream as ws


def test_codes_are_distinct_binary_and_never_silence():
    codes = ws.phonetic_codes(8, seed=3)
    assert codes.shape == (len(ws.WORDS), 8)
    assert set(np.unique(codes)) == {0.0, 1.0}
    assert len(np.unique(codes, axis=0)) == len(ws.WORDS) and codes.sum(1).min() > 0
    assert np.array_equal(codes, ws.phonetic_codes(8, seed=3))
    with pytest.raises(ValueError, match="n_features must be >= 6"):
        ws.phonetic_codes(5)


def test_stream_is_grammar_sentences_separated_by_silent_gaps():
    """Every complete run of words between two gaps is a sentence of ann.grammar (its "." being
    the gap), and every inner gap lasts gap_steps[0]..gap_steps[1] steps."""
    stream = ws.WordStream(ws.phonetic_codes(16, seed=0), noise_sd=0.0, gap_steps=(2, 4))
    y = stream.labels(20, 80, np.random.default_rng(1))
    n_sentences = 0
    for row in y:
        edges = np.flatnonzero(np.diff((row != ws.SILENCE).astype(int)))  # last step before a change
        runs = np.split(row, edges + 1)
        for k, run in enumerate(runs[1:-1], start=1):  # first and last runs may be cut off
            if run[0] == ws.SILENCE:
                assert 2 <= len(run) <= 4
            else:
                assert grammar.parse([ws.WORDS[c - 1] for c in run] + [grammar.END])
                n_sentences += 1
    assert n_sentences > 100
    x = stream.hear(y, np.random.default_rng(2))  # no noise: exactly the codes, zeros in silence
    assert np.array_equal(x[y == 0], np.zeros(((y == 0).sum(), 16), np.float32))
    assert np.array_equal(x[y > 0], stream.codes[y[y > 0] - 1])


def test_bad_stream_parameters_are_refused():
    with pytest.raises(ValueError, match="gap_steps"):
        ws.WordStream(ws.phonetic_codes(16), gap_steps=(0, 2))
    with pytest.raises(ValueError, match="codes must be"):
        ws.WordStream(np.zeros((5, 16)))
    with pytest.raises(ValueError, match="noise_sd"):
        ws.WordStream(ws.phonetic_codes(16), noise_sd=-1.0)


def test_scores_count_detections_and_confident_percepts_in_silence():
    y = np.array([[0, 3, 0, 5]])
    p = np.zeros((1, 4, len(ws.WORDS) + 1))
    p[0, 0, [0, 7]] = [0.4, 0.6]   # silence, word 7 at 0.6 > 0.5: a hallucination
    p[0, 1, [3, 0]] = [0.5, 0.5]   # ties resolve to the first maximum: silence, a miss
    p[0, 2, [0, 2]] = [0.55, 0.45]  # silence, word below threshold: no percept
    p[0, 3, 5] = 1.0               # a detected word
    s = ws.scores(p, y, threshold=0.5)
    assert s == {"detection": 0.5, "hallucination_rate": 0.5, "silence_confidence": pytest.approx(0.525)}


def test_listener_learns_to_tell_words_from_silence():
    """A few hundred batches suffice to hear most words at moderate noise, far above the
    1/44 of guessing, and to call most silent steps silent."""
    torch.manual_seed(0)
    stream = ws.WordStream(ws.phonetic_codes(16, seed=0), noise_sd=0.4)
    net = ws.Listener(16, 32)
    losses = ws.train_listener(net, stream, steps=300, seed=0)
    assert np.mean(losses[-20:]) < 0.5 * np.mean(losses[:20])
    x, y = stream.sample(50, 40, np.random.default_rng(5))
    s = ws.scores(ws.percepts(net, x), y)
    assert s["detection"] > 0.6 and s["hallucination_rate"] < 0.1


def test_memory_cell_loss_matches_pruning_in_weights_removed():
    torch.manual_seed(1)
    net = ws.Listener(16, 20)
    for f in (0.25, 0.5):
        cells = ws.silence_memory_units(net, f, seed=2).rnn.weight_hh_l0.detach()
        pruned = lesion.prune(net, f, "rnn", method="magnitude", weights="weight_hh").rnn.weight_hh_l0
        assert int((cells == 0).sum()) == int((pruned == 0).sum()) == round(f * 20) * 20
        dead = (cells == 0).all(0)  # whole columns: those units no longer feed back
        assert int(dead.sum()) == round(f * 20)
        assert torch.equal(cells[:, ~dead], net.rnn.weight_hh_l0.detach()[:, ~dead])
    assert torch.equal(ws.silence_memory_units(net, 0.0).rnn.weight_ih_l0, net.rnn.weight_ih_l0)
