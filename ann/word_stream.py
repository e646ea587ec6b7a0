"""Heard speech as a noisy stream of words, and a recurrent listener that reports each word.

The task of Hoffman & McGlashan's speech-perception network (1997, Am J Psychiatry
154:1683; Hoffman et al. 1995, J Cogn Neurosci 7:479: "contextually guided sequential
word detection based on Elman (1990)"), rebuilt on the Elman-style grammar of
`ann.grammar`:

- Sentences are drawn on the fly from `ann.grammar.sentence` and follow one another,
  separated by a silent gap of `gap_steps` time steps (the sentence-final "." is not
  spoken: the pause is the boundary).
- Each word is heard for one step as its fixed random "phonetic" code: a binary vector
  of `n_features` features, each present with probability 1/2, distinct across the
  vocabulary (`phonetic_codes`). Silence is the zero vector. Gaussian noise of SD
  `noise_sd` is added to every step, silent ones included, so a word is often ambiguous
  from its sound alone and the sentence context (the recurrent state) must help.
- The listener (`Listener`: an Elman network, `nn.RNN` + a linear read-out at every
  step) reports, at every step, the word it hears or "nothing" (class 0, `SILENCE`);
  word w of `WORDS` is class w + 1.
- Its spiking counterpart (`SpikingListener`: a recurrent LIF layer, ann.spiking.SpikingMLP
  with recurrent=True, trained with surrogate gradients) hears the same stream, each word
  held for `steps_per_word` LIF steps, and reports the same classes from its leaky read-out.

    stream = WordStream(phonetic_codes(16, seed=0), noise_sd=0.6)
    x, y = stream.sample(32, 40, np.random.default_rng(0))   # (32, 40, 16), (32, 40)
    net = Listener(16, 64)
    train_listener(net, stream, steps=1500, seed=0)
    s = scores(percepts(net, x), y)   # detection, hallucination_rate, silence_confidence
    spk = SpikingListener(16, 64)      # same interface: train_listener, percepts, scores

Measures (`scores`): word detection = fraction of word steps whose most probable class
is the word spoken; hallucination rate = fraction of silent steps on which the listener
reports a word with confidence (largest word probability > threshold): a percept with no
word in the input, the paper's hallucinated "voice".
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ann import grammar
from ann.spiking import SpikingMLP

__all__ = ["WORDS", "SILENCE", "phonetic_codes", "WordStream", "Listener", "SpikingListener",
           "train_listener", "percepts", "scores", "silence_memory_units"]

SILENCE = 0  # class of "no word heard"
WORDS = tuple(w for w in grammar.VOCABULARY if w not in (grammar.PAD, grammar.END))  # class = index + 1
_CLASS = {w: k + 1 for k, w in enumerate(WORDS)}


def phonetic_codes(n_features: int = 16, seed: int = 0) -> np.ndarray:
    """(len(WORDS), n_features) float32 in {0, 1}: one random binary "phonetic" code per word,
    each feature present with probability 1/2; rows are distinct and none is all zero
    (the code of silence). Deterministic per seed."""
    if int(n_features) < 6:  # 2**6 = 64 codes for 43 words, so distinct codes exist and are found
        raise ValueError(f"n_features must be >= 6 so that {len(WORDS)} words get distinct "
                         f"codes, got {n_features}")
    rng = np.random.default_rng([seed, 7])
    while True:
        codes = (rng.random((len(WORDS), int(n_features))) < 0.5).astype(np.float32)
        if codes.sum(1).min() > 0 and len(np.unique(codes, axis=0)) == len(WORDS):
            return codes


@dataclass(frozen=True)
class WordStream:
    """A generator of heard word streams.

    codes:      (len(WORDS), F) the phonetic code of each word (`phonetic_codes`).
    noise_sd:   SD of the Gaussian noise added to every feature at every step.
    gap_steps:  (shortest, longest) silent gap between sentences, in steps (uniform).
    p_relative: probability that an animate subject carries a relative clause (ann.grammar).
    """

    codes: np.ndarray
    noise_sd: float = 0.6
    gap_steps: tuple[int, int] = (1, 3)
    p_relative: float = 0.3

    def __post_init__(self):
        codes = np.asarray(self.codes, dtype=np.float32)
        if codes.ndim != 2 or codes.shape[0] != len(WORDS):
            raise ValueError(f"codes must be ({len(WORDS)} words, features), got shape {codes.shape}")
        if not (np.isfinite(self.noise_sd) and self.noise_sd >= 0):
            raise ValueError(f"noise_sd must be a finite number >= 0, got {self.noise_sd}")
        lo, hi = (int(g) for g in self.gap_steps)
        if not 1 <= lo <= hi:
            raise ValueError(f"gap_steps must be (shortest, longest) with 1 <= shortest <= longest, "
                             f"got {self.gap_steps}")
        object.__setattr__(self, "codes", codes)
        object.__setattr__(self, "gap_steps", (lo, hi))

    @property
    def n_features(self) -> int:
        return int(self.codes.shape[1])

    def labels(self, n: int, steps: int, rng: np.random.Generator) -> np.ndarray:
        """(n, steps) int64 classes: sentences separated by silent gaps (0); each row starts at
        a random point of a gap, so streams are not aligned to sentence onsets."""
        y = np.zeros((int(n), int(steps)), dtype=np.int64)
        lo, hi = self.gap_steps
        for row in y:
            t = int(rng.integers(0, hi + 1))
            while t < len(row):
                words = [_CLASS[w] for w in grammar.sentence(rng, self.p_relative) if w != grammar.END]
                row[t:t + len(words)] = words[:len(row) - t]
                t += len(words) + int(rng.integers(lo, hi + 1))
        return y

    def hear(self, y: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """(N, T) classes -> (N, T, F) float32 heard input: each word's code (silence: zeros)
        plus noise."""
        clean = np.vstack([np.zeros((1, self.n_features), np.float32), self.codes])[y]  # (N, T, F)
        return (clean + rng.normal(0.0, self.noise_sd, clean.shape)).astype(np.float32)

    def sample(self, n: int, steps: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """A batch of heard streams: x (n, steps, F) float32 and y (n, steps) int64 classes."""
        y = self.labels(n, steps, rng)
        return self.hear(y, rng), y


class Listener(nn.Module):
    """Elman network that reports at every step the word it hears, or nothing.

    h_t = phi(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh) (layer `rnn`, an nn.RNN, so the
    "schizophrenia" disorder's weakest-first pruning acts on its `weight_hh_l0`, the
    working-memory connections), logits_t = W_o h_t + b_o (layer `head`).
    nonlinearity phi: "relu" (non-negative activity, like the logistic units of Elman
    1990, and the form that converts to spiking neurons) or "tanh".
    Input (B, T, n_features); output logits (B, T, len(WORDS) + 1), class 0 = silence.
    """

    task = "sequence_labelling"

    def __init__(self, n_features: int = 16, hidden: int = 64, nonlinearity: str = "relu"):
        super().__init__()
        if nonlinearity not in ("relu", "tanh"):
            raise ValueError(f"unknown nonlinearity {nonlinearity!r}; choose one of: relu, tanh")
        self.rnn = nn.RNN(int(n_features), int(hidden), nonlinearity=nonlinearity, batch_first=True)
        self.head = nn.Linear(int(hidden), len(WORDS) + 1)
        self.config = dict(n_features=int(n_features), hidden=int(hidden), nonlinearity=nonlinearity)

    def forward(self, x):
        h, _ = self.rnn(x)  # (B, T, H)
        return self.head(h)  # (B, T, V + 1)


class SpikingListener(nn.Module):
    """The Elman listener's spiking counterpart: a recurrent LIF layer (`snn`, an
    ann.spiking.SpikingMLP with recurrent=True, one hidden layer) that reports at every
    step the word it hears, or nothing, from its leaky read-out.

    Each word (or silent step) is held for `steps_per_word` LIF steps of dt_ms; the
    dynamics are those of ann/spiking.py, per LIF step t:
        v[t] = beta v[t-1] + W x[t] + b + V s[t-1],  s[t] = H(v[t] - threshold), v -= threshold s[t]
        u[t] = beta u[t-1] + W_out s[t] + b_out       (non-spiking read-out)
    and the logits of a word step are u at that word's last LIF step. V (`snn.hidden[0].rec`)
    are the working-memory connections; W, W_out are `snn.hidden[0].fc`, `snn.readout.fc`.
    Why a small beta (0.5: tau_m = -dt/ln(beta) = 1.4 dt): the read-out must report the word
    of this step, not a leaky sum of the last ones, and the hidden layer should carry the
    sentence context in its recurrent weights (what pruning removes), as the Elman network
    does, rather than in a slow membrane. Input (B, T, n_features) -> logits
    (B, T, len(WORDS) + 1), class 0 = silence; `spikes(x)` -> (T * steps_per_word, B, hidden).
    """

    task = "sequence_labelling"

    def __init__(self, n_features: int = 16, hidden: int = 64, steps_per_word: int = 1,
                 beta: float = 0.5, threshold: float = 1.0, slope: float = 10.0, dt_ms: float = 1.0):
        super().__init__()
        if int(steps_per_word) < 1:
            raise ValueError(f"steps_per_word must be >= 1, got {steps_per_word}")
        self.snn = SpikingMLP(int(n_features), [int(hidden)], len(WORDS) + 1, recurrent=True,
                              beta=beta, threshold=threshold, T=int(steps_per_word), dt_ms=dt_ms,
                              slope=slope)
        self.config = dict(n_features=int(n_features), hidden=int(hidden),
                           steps_per_word=int(steps_per_word), beta=float(beta),
                           threshold=float(threshold), slope=float(slope), dt_ms=float(dt_ms))

    def lif_input(self, x: torch.Tensor) -> torch.Tensor:
        """(B, T, F) words -> (B, T * steps_per_word, F): each word held for its LIF steps, the
        sequence the SpikingMLP (and its Brian2 twin, bridge.torch_snn) is run on."""
        return x.repeat_interleave(self.config["steps_per_word"], dim=1)

    def _run(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """spikes (T k, B, H) and read-out membrane (T k, B, V + 1) for x (B, T, F)."""
        layer = self.snn.hidden[0]
        s = layer.integrate(layer.fc(self.lif_input(x).transpose(0, 1)))[0]  # (T k, B, H)
        return s, self.snn.readout(s)  # (T k, B, V + 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        k = self.config["steps_per_word"]
        u = self._run(x)[1][k - 1::k]  # (T, B, V + 1): each word's last LIF step
        return u.transpose(0, 1)  # (B, T, V + 1)

    @torch.no_grad()
    def spikes(self, x: torch.Tensor) -> torch.Tensor:
        """Hidden spikes (T * steps_per_word, B, hidden), 0/1 float."""
        return self._run(x)[0]


def train_listener(model: Listener | SpikingListener, stream: WordStream, steps: int = 1500, batch: int = 32,
                   length: int = 40, lr: float = 3e-3, seed: int = 0) -> list[float]:
    """Train `model` (a Listener or a SpikingListener: surrogate gradients through time) in
    place with Adam on fresh streams (every batch is new: no finite training set to
    overfit), cross-entropy of the class at every step. Returns the loss of
    every step. The streams come from `seed`; the initial weights are the caller's (seed
    torch before building the model)."""
    if int(steps) < 1 or int(batch) < 1 or int(length) < 1:
        raise ValueError(f"steps, batch and length must be >= 1, got {steps}, {batch}, {length}")
    if model.config["n_features"] != stream.n_features:
        raise ValueError(f"the listener hears {model.config['n_features']} features but the "
                         f"stream's codes have {stream.n_features}")
    rng = np.random.default_rng([seed, 11])
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    model.train()
    losses = []
    for _ in range(int(steps)):
        x, y = stream.sample(batch, length, rng)
        logits = model(torch.from_numpy(x))  # (B, T, V + 1)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), torch.from_numpy(y).reshape(-1))
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        losses.append(float(loss.detach()))
    model.eval()
    return losses


@torch.no_grad()
def percepts(model: nn.Module, x: np.ndarray) -> np.ndarray:
    """(N, T, F) heard input -> (N, T, V + 1) float probabilities of silence and each word."""
    model.eval()
    return torch.softmax(model(torch.from_numpy(np.asarray(x, dtype=np.float32))), dim=-1).numpy()


def scores(probs: np.ndarray, y: np.ndarray, threshold: float = 0.5) -> dict[str, float]:
    """Word detection and hallucinations from percepts.

    probs: (N, T, V + 1) from `percepts`; y: (N, T) true classes (0 = silence).
    detection:          fraction of word steps whose most probable class is the word spoken.
    hallucination_rate: fraction of silent steps with a confident word percept (largest
                        word probability > threshold).
    silence_confidence: mean over silent steps of the largest word probability.
    """
    if not 0.0 < threshold < 1.0:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    y = np.asarray(y)
    if probs.shape[:2] != y.shape:
        raise ValueError(f"probs {probs.shape} and labels {y.shape} disagree on (samples, steps)")
    word, silent = y != SILENCE, y == SILENCE
    best_word = probs[..., 1:].max(-1)  # (N, T)
    return {"detection": float((probs.argmax(-1) == y)[word].mean()),
            "hallucination_rate": float((best_word > threshold)[silent].mean()),
            "silence_confidence": float(best_word[silent].mean())}


def silence_memory_units(model: nn.Module, fraction: float, seed: int = 0) -> nn.Module:
    """Loss of working-memory cells: a copy in which round(fraction * H) random hidden units
    no longer feed back (their columns of every `weight_hh` are zero), while they still
    hear the input and drive the read-out — the death of context units in Elman's
    architecture, where the working memory is a separate layer holding a copy of the
    hidden layer. It removes exactly fraction * H * H recurrent weights, the number
    weakest-first pruning of that fraction removes. For evaluation: the zeros are not
    protected against later training."""
    if not 0.0 <= float(fraction) <= 1.0:
        raise ValueError(f"fraction must lie in [0, 1], got {fraction}")
    model = copy.deepcopy(model)
    rng = np.random.default_rng([seed, 13])
    for module in model.modules():
        if isinstance(module, nn.RNNBase):
            h = module.hidden_size
            dead = torch.as_tensor(rng.permutation(h)[:int(round(fraction * h))], dtype=torch.long)
            with torch.no_grad():
                for name, p in module.named_parameters():
                    if name.startswith("weight_hh"):
                        p[:, dead] = 0.0
    return model
