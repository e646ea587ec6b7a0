"""Hoffman & McGlashan's pruning question on a recurrent network: does moderate pruning help before heavy pruning hurts?

Question: Hoffman & McGlashan (1997, Am J Psychiatry 154:1683) pruned the
weakest connections of a recurrent (Elman) speech-perception network: moderate
pruning improved the recognition of words in noise, excessive pruning made it
"hear" words in silence - their model of the adolescent over-pruning thought
to underlie schizophrenia's hallucinations. Does the same hold for a recurrent
network reading digits row by row?

Method: an RNN (`ann.models.RNN`, Elman cell by default) is trained on the
digits as 8-row sequences; then the given fraction of its smallest-magnitude
recurrent weights (or of all its recurrent layer's weights) is cut
(`ann.lesion.prune`, method "magnitude"), without retraining. Measures: test
accuracy on clean digits and on digits with Gaussian pixel noise, and the
"hallucination rate": the fraction of pure-noise inputs (no digit at all)
that the network labels with confidence >= `confidence`.

Answer the figure gives: accuracy (clean and noisy) and hallucination rate
against the pruned fraction, mean +- SD over seeds; whether the noisy
accuracy rises before it falls is the Hoffman & McGlashan effect (the printed
table says for each run; with a small, well-trained network it is often flat
and then falls, i.e. robustness rather than benefit).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis

VERSION = 1


@dataclass(frozen=True)
class Params:
    prune_fraction: tuple[float, ...] = axis(0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95)
    cell: str = "elman"              # elman, lstm or gru
    hidden: int = 64
    epochs: int = 20
    recurrent_only: bool = True      # prune only the recurrent (hidden-to-hidden) weights
    noise_sd: float = 0.4            # pixel noise of the noisy test set (pixels in [0, 1])
    confidence: float = 0.9          # softmax confidence that counts a noise input as a percept
    n_noise: int = 500               # pure-noise inputs for the hallucination rate
    seeds: tuple[int, ...] = (0, 1, 2)


TINY = Params(prune_fraction=(0.0, 0.5, 0.9), hidden=16, epochs=2, n_noise=100, seeds=(0,))
QUICK = Params(prune_fraction=(0.0, 0.2, 0.4, 0.6, 0.8, 0.9), epochs=10, seeds=(0, 1))


@functools.lru_cache(maxsize=4)
def _trained(cell: str, hidden: int, epochs: int, seed: int):
    """A trained RNN and the digit-row data set (kept per process: every fraction reuses it)."""
    import torch

    from ann import data, models, train

    ds = data.digit_rows(seed=seed)
    torch.manual_seed(seed)
    net = models.RNN(input_size=8, hidden_size=hidden, out_features=10, cell=cell)
    train.fit(net, ds.train, epochs=epochs, seed=seed, progress=False, device="cpu")
    return net, ds


def point(p: Params, seed: int) -> dict[str, float]:
    """Prune one fraction of one trained network; accuracies and hallucination rate."""
    import torch

    from ann import lesion, train

    torch.set_num_threads(1)
    net, ds = _trained(p.cell, p.hidden, p.epochs, seed)
    pruned = lesion.prune(net, p.prune_fraction, layers="rnn", method="magnitude",
                          weights="weight_hh" if p.recurrent_only else None, seed=seed)
    rng = np.random.default_rng(seed)
    x = ds.test.x  # (N, T=8, F=8) in [0, 1]
    noisy = np.clip(x + rng.normal(0, p.noise_sd, x.shape), 0, 1).astype(np.float32)
    pure = np.clip(rng.normal(0, p.noise_sd, (p.n_noise,) + x.shape[1:]), 0, 1).astype(np.float32)
    pruned.eval()
    with torch.no_grad():
        conf = torch.softmax(pruned(torch.from_numpy(pure)), dim=1).max(1).values.numpy()
        acc_noisy = float((pruned(torch.from_numpy(noisy)).argmax(1).numpy() == ds.test.y).mean())
    return {"accuracy": train.evaluate(pruned, ds.test, device="cpu"),
            "accuracy_noisy": acc_noisy,
            "hallucination_rate": float(np.mean(conf >= p.confidence)),
            "noise_confidence": float(conf.mean())}


def figures(table, out_dir: Path) -> list[Path]:
    """Accuracy (clean, noisy) and hallucination rate against the pruned fraction."""
    from . import style

    cell = str(table["cell"].iloc[0]) if "cell" in table else "rnn"
    which = "recurrent" if "recurrent_only" not in table or bool(table["recurrent_only"].iloc[0]) else "all"
    fig, (ax_acc, ax_hal) = style.figure(ncols=2, width=2 * 3.6)
    style.mean_spread(ax_acc, table, x="prune_fraction", metric="accuracy", label="clean digits")
    noise = table["noise_sd"].iloc[0] if "noise_sd" in table else None
    style.mean_spread(ax_acc, table, x="prune_fraction", metric="accuracy_noisy",
                      label=f"noisy digits (pixel noise SD {noise:g})" if noise is not None else "noisy digits")
    ax_acc.axhline(0.1, color="0.5", ls=":", lw=1, label="chance")
    ax_acc.set(xlabel=f"fraction of weakest {which} weights pruned", ylabel="test accuracy",
               ylim=(0, 1.02), title="Recognition")
    ax_acc.legend()
    conf = table["confidence"].iloc[0] if "confidence" in table else 0.9
    style.mean_spread(ax_hal, table, x="prune_fraction", metric="hallucination_rate")
    ax_hal.set(xlabel=f"fraction of weakest {which} weights pruned",
               ylabel=f"fraction of noise-only inputs\nlabelled with confidence $\\geq$ {conf:g}",
               ylim=(0, None), title="Hallucinations: percepts without a digit")
    cell = {"elman": "Elman", "lstm": "LSTM", "gru": "GRU"}.get(cell, cell)
    fig.suptitle(f"Pruning the weakest synapses of a trained {cell} RNN (Hoffman & McGlashan 1997); "
                 "mean $\\pm$ SD over seeds", fontsize=10)
    return style.save(fig, out_dir, "pruning")
