"""Hoffman & McGlashan (1997) reproduced: pruning the working memory of an Elman listener and of its
spiking counterpart, and hallucinated words.

Question (Hoffman & McGlashan 1997, Am J Psychiatry 154:1683): a recurrent
(Elman) network perceives words through noise, helped by its working memory of
the sentence so far. When the weakest working-memory (recurrent) connections
are eliminated, as in adolescent synaptic pruning, does perception first hold
or improve and then fail, and does the network begin to "hear" words in
silence — hallucinated voices — beyond some level of pruning? And does the loss
of cells, removing as many connections, do the same?

The paper's answer (abstract; we found no table of its numbers): eliminating up
to 65% of the working-memory connections improved perception; beyond that,
performance declined and speech hallucinations emerged. Neuronal loss also
improved performance at low levels but in excess produced no hallucinations.

Method. The task and the listener are `ann.word_stream`: sentences of the
Elman-style grammar (`ann.grammar`, 43 spoken words) heard one word per step as
a random binary "phonetic" code (n_features) plus Gaussian noise (noise_sd),
with silent gaps of gap_steps steps between sentences (noise continues in the
gaps); an Elman network (`nn.RNN`, `hidden` units, `nonlinearity`) reports at
every step the word heard or "nothing". It is trained on fresh streams
(train_steps batches) at the test noise level, then lesioned without retraining
by one of three lesions, each removing the same fraction (each of `fractions`, the
table's column recurrent_lost) of the H*H recurrent (hidden-to-hidden) weights:

- pruning: the weakest first (`bridge.disorders` "schizophrenia" at severity
  recurrent_lost: the smallest |w| of `weight_hh`);
- cell_loss: whole hidden units die (`bridge.disorders` "neurodegeneration"),
  a fraction u = 1 - sqrt(1 - recurrent_lost) of them, because losing u*H units
  removes H^2 - (H - uH)^2 recurrent weights; the dead units also stop hearing
  and stop driving the read-out;
- memory_cell_loss: a fraction recurrent_lost of the context (working-memory)
  units die: those hidden units no longer feed back but still hear and report
  (`ann.word_stream.silence_memory_units`) — cell death inside the working
  memory, the layer the paper lesioned.

Measures on a fresh noisy test stream (`ann.word_stream.scores`): word
detection (percent of word steps reported correctly) and the hallucination
rate (percent of silent steps with a confident word percept: the largest word
probability above `threshold`).

Where we differ from the paper: the grammar, vocabulary, phonetic code, noise,
network size and training are ours (the paper's are not reproduced here); the
pruning is by weight magnitude (the paper's "Darwinian" rule eliminated the
connections with the least weight); no retraining follows a lesion; the output
is a softmax over the words and "nothing" rather than a phonetic output
pattern matched to words. `nonlinearity` is a sweep because the answer depends
on it (see the README): "relu" units are non-negative like the logistic units
of Elman's networks, "tanh" units are symmetric.

The spiking counterpart (`network` "spiking"; its rows have nonlinearity "lif"):
`ann.word_stream.SpikingListener`, a recurrent layer of `hidden` leaky
integrate-and-fire neurons (ann.spiking.SpikingMLP, recurrent=True) with a
non-spiking leaky read-out, hears the same streams one word per LIF step
(`steps_per_word` = 1: the spiking step is the Elman step, and the recurrent
weights V are the only path by which one word's context reaches the next beyond
the membrane's decay beta = 0.5 per step) and reports from its read-out membrane
at every step. It is trained like the Elman listener (same streams, loss, Adam,
batches), by surrogate gradients through time, and scored the same way. Its three
lesions are made on its Brian2 twin (`bridge.torch_snn.to_brian`: the same network
as a bio NetworkSpec whose Brian2 run gives the same spikes) by the library's
spiking mechanisms and read back into torch (`to_torch`) for the sweep:
pruning = `bridge.disorders` "schizophrenia" on the spec (the smallest |w| of the
recurrent connection hidden1->hidden1); cell_loss = "neurodegeneration" on the
spec (dead neurons lose every synapse); memory_cell_loss =
`bio.lesion.block_conduction` of the recurrent axons of a fraction of the neurons
(they still hear and drive the read-out). With 2 LIF steps per word (tried at
TINY size) the healthy listener detects more words, but pruning produced no
hallucinations up to 90%, so the counterpart that steps with the Elman network
is the one swept.

Answer the figure gives: per network (Elman relu, Elman tanh, spiking LIF), percent correct word detection and
the hallucination rate against the fraction of working-memory connections
removed, for pruning and both cell losses (mean and 95% bootstrap interval over
seeds); `summary` puts our numbers beside the paper's claims.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .params import axis, param

VERSION = 2  # 2: the spiking counterpart (network axis)
NETWORKS = ("elman", "spiking")
LESIONS = ("pruning", "cell_loss", "memory_cell_loss")
PAPER_ONSET = 0.65  # Hoffman & McGlashan 1997 (abstract): gains up to 65% pruning, hallucinations beyond
LABELS = {"pruning": "pruning, weakest first", "cell_loss": "cell loss (hidden units)",
          "memory_cell_loss": "cell loss (working-memory units)"}
METRICS = ("detection", "hallucination_rate", "silence_confidence")
# the figure's rows and the summary's sections, one per listener: its nonlinearity names it
# (the spiking listener's points carry "lif")
LISTENERS = {"relu": "Elman, relu", "tanh": "Elman, tanh", "lif": "spiking, LIF"}


@dataclass(frozen=True)
class Params:
    network: tuple[str, ...] = axis(*NETWORKS, choices=NETWORKS)
    # the Elman units' nonlinearity; the spiking listener's points carry "lif" (set by grid())
    nonlinearity: tuple[str, ...] = axis("relu", "tanh", choices=("relu", "tanh", "lif"))
    # fractions of the recurrent (working-memory) weights each lesion removes; the table's
    # column recurrent_lost
    fractions: tuple[float, ...] = param((0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.65, 0.7, 0.8, 0.9),
                                         at_least=0.0, at_most=1.0)
    lesions: tuple[str, ...] = param(LESIONS, choices=LESIONS)
    hidden: int = param(64, at_least=2)
    n_features: int = param(16, at_least=6)         # phonetic features per word
    noise_sd: float = param(0.6, at_least=0.0)      # input noise, training and test
    gap_steps: tuple[int, ...] = param((1, 3), at_least=1)  # shortest, longest silence between sentences
    train_steps: int = param(3000, at_least=1)      # batches of fresh streams
    batch: int = param(32, at_least=1)
    length: int = param(40, at_least=1)             # steps per training stream
    lr: float = param(3e-3, above=0.0)
    n_test: int = param(300, at_least=1)            # test streams
    test_length: int = param(60, at_least=1)        # steps per test stream
    threshold: float = param(0.5, above=0.0, below=1.0)  # confidence of a percept
    beta: float = param(0.5, above=0.0, below=1.0)  # spiking listener: membrane decay per LIF step
    steps_per_word: int = param(1, at_least=1)      # spiking listener: LIF steps each word is heard
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)


TINY = Params(nonlinearity=("relu",), fractions=(0.0, 0.3, 0.9), train_steps=600, n_test=200,
              seeds=(0,))
QUICK = Params(fractions=(0.0, 0.2, 0.4, 0.5, 0.6, 0.65, 0.7, 0.8, 0.9), train_steps=1500,
               n_test=200, seeds=(0, 1, 2))


def grid(p: Params) -> list[dict]:
    """The Elman listener with each nonlinearity, and the spiking listener (nonlinearity "lif"),
    for every seed."""
    nets = [(net, nl) for net in p.network
            for nl in (p.nonlinearity if net == "elman" else ("lif",))]
    return [{"network": net, "nonlinearity": nl, "seed": s} for net, nl in nets for s in p.seeds]


def check(p: Params) -> None:
    if p.network == "elman" and p.nonlinearity == "lif":
        raise ValueError("nonlinearity 'lif' belongs to the spiking listener (network spiking); "
                         "the Elman listener takes relu or tanh")
    if len(p.gap_steps) != 2 or p.gap_steps[0] > p.gap_steps[1]:
        raise ValueError(f"gap_steps must be two numbers (shortest, longest), shortest <= longest, "
                         f"got {p.gap_steps}")
    if 0.0 not in p.fractions:
        raise ValueError("fractions must include 0.0: the healthy network every lesion is "
                         f"compared with; got {p.fractions}")


def listener(p: Params, seed: int):
    """The trained listener of p.network and its word stream (seeded: codes, initial weights,
    streams)."""
    import torch

    from ann import word_stream as ws

    stream = ws.WordStream(ws.phonetic_codes(p.n_features, seed=seed), p.noise_sd, tuple(p.gap_steps))
    torch.manual_seed(seed)
    if p.network == "spiking":
        net = ws.SpikingListener(p.n_features, p.hidden, p.steps_per_word, beta=p.beta)
    else:
        net = ws.Listener(p.n_features, p.hidden, p.nonlinearity)
    ws.train_listener(net, stream, p.train_steps, p.batch, p.length, p.lr, seed=seed)
    return net, stream


def spiking_lesioned_spec(net, lesion: str, lost: float, seed: int):
    """(lesioned Brian2 twin, fraction of hidden units lost) of a SpikingListener, removing
    `lost` of its H*H recurrent synapses: the listener's SpikingMLP as a bio NetworkSpec
    (bridge.torch_snn.to_brian; it takes the signed, noisy input) edited by the library's
    spiking lesions (see the module docstring)."""
    from bio import lesion as bio_lesion
    from bridge import disorders, torch_snn

    spec = torch_snn.to_brian(net.snn, signed_input=True).spec
    h = net.config["hidden"]
    if lesion == "pruning":
        return disorders.get("schizophrenia", lost, seed=seed).apply(spec), 0.0
    if lesion == "cell_loss":
        units = 1.0 - np.sqrt(1.0 - lost)  # (1 - u)^2 of the H^2 recurrent synapses survive
        return disorders.get("neurodegeneration", units, seed=seed).apply(spec), round(units * h) / h
    return (bio_lesion.block_conduction(spec, lost, ["hidden1->hidden1"], per="axon", seed=seed),
            round(lost * h) / h)


def lesioned(net, lesion: str, lost: float, seed: int):
    """(lesioned copy, fraction of hidden units lost) removing `lost` of the recurrent weights.
    A SpikingListener is lesioned on its Brian2 twin (`spiking_lesioned_spec`) and read back
    into a torch copy: a dead neuron's synapses become zero weights (it keeps its bias and
    may spike, but nothing hears it)."""
    import copy

    from ann import word_stream as ws
    from bridge import disorders

    if isinstance(net, ws.SpikingListener):
        from bridge import torch_snn

        spec, units = spiking_lesioned_spec(net, lesion, lost, seed)
        sick = copy.deepcopy(net)
        sick.snn = torch_snn.to_torch(spec, net.snn)
        return sick, units
    h = net.rnn.hidden_size
    if lesion == "pruning":
        return disorders.get("schizophrenia", lost, seed=seed).apply(net), 0.0
    if lesion == "cell_loss":
        units = 1.0 - np.sqrt(1.0 - lost)  # (1 - u)^2 of the H^2 recurrent weights survive
        return disorders.get("neurodegeneration", units, seed=seed).apply(net), round(units * h) / h
    return ws.silence_memory_units(net, lost, seed=seed), round(lost * h) / h


def point(p: Params, seed: int) -> dict:
    """Train one listener, lesion it every way at every level, test each copy on one stream.

    Returns per metric (detection, hallucination_rate, silence_confidence) a list of rows
    {"lesion", "recurrent_lost", "units_lost", "value"}.
    """
    from ann import word_stream as ws

    net, stream = listener(p, seed)
    x, y = stream.sample(p.n_test, p.test_length, np.random.default_rng([seed, 99]))
    out: dict = {m: [] for m in METRICS}
    for lesion in p.lesions:
        for lost in p.fractions:
            sick, units = lesioned(net, lesion, lost, seed)
            s = ws.scores(ws.percepts(sick, x), y, p.threshold)
            for m in METRICS:
                out[m].append({"lesion": lesion, "recurrent_lost": float(lost), "units_lost": units,
                               "value": s[m]})
    return out


def _listeners(table) -> list[str]:
    """The nonlinearities in the table, in LISTENERS order (Elman first, then spiking)."""
    have = set(table["nonlinearity"].unique())
    return [nl for nl in LISTENERS if nl in have]


def _per_seed(table, metric: str, nonlinearity: str, lesion: str):
    """(levels, values (seeds, levels)) of one metric, seeds in rows, levels ascending."""
    rows = table[(table["metric"] == metric) & (table["nonlinearity"] == nonlinearity)
                 & (table["lesion"] == lesion)]
    wide = rows.pivot_table(index="seed", columns="recurrent_lost", values="value")
    return wide.columns.to_numpy(float), wide.to_numpy(float)


def raised(levels, values, healthy_index: int = 0) -> list[float]:
    """The levels at which a rate exceeds the healthy one on paired seeds: the 95% bootstrap
    interval of the per-seed difference (level - healthy) lies above 0."""
    from .stats import bootstrap_ci

    if len(values) < 2:
        raise ValueError(f"an interval over seeds needs at least 2 seeds, got {len(values)}")
    return [float(levels[k]) for k in range(len(levels)) if k != healthy_index
            and bootstrap_ci(values[:, k] - values[:, healthy_index])[1] > 0]


def _raised(levels, values) -> str:
    if len(values) < 2:
        return "(needs >= 2 seeds)"
    found = raised(levels, values)
    return ", ".join(f"{v:.0%}" for v in found) if found else "none"


def _ci(values, unit: str = "%") -> str:
    """Mean [95% bootstrap CI] over seeds of fractions, in percent (unit "%") or, for
    differences of fractions, percentage points (unit " pp")."""
    from .stats import bootstrap_ci

    mean, lo, hi = bootstrap_ci(100 * np.asarray(values))
    return f"{mean:+.1f}{unit} [{lo:+.1f}, {hi:+.1f}]" if unit == " pp" else \
        f"{mean:.1f}{unit} [{lo:.1f}, {hi:.1f}]"


def summary(table) -> str:
    """Our numbers beside the paper's claims, per listener (Elman per nonlinearity, spiking;
    mean and 95% bootstrap CI over seeds, in percent)."""
    lines = ["Hoffman & McGlashan (1997) vs this run; ours: mean [95% bootstrap CI] over "
             f"{table['seed'].nunique()} seed(s), percent"]
    for nl in _listeners(table):
        lines.append(f"-- {LISTENERS[nl]} --")
        levels, det = _per_seed(table, "detection", nl, "pruning")
        _, hal = _per_seed(table, "hallucination_rate", nl, "pruning")
        if len(levels):
            upto = levels <= PAPER_ONSET + 1e-9
            best = int(np.argmax(det[:, upto].mean(0)))
            lines.append(f"detection, healthy: {_ci(det[:, 0])}")
            gain = (f"best at {levels[best]:.0%} pruning, {_ci(det[:, best] - det[:, 0], ' pp')}"
                    if best else "no level up to 65% beats the healthy network")
            at = ", ".join(f"at {levels[k]:.0%}: {_ci(det[:, k] - det[:, 0], ' pp')}"
                           for k in sorted({1, int(np.sum(upto)) - 1}) if k > 0)
            lines.append(f"paper: detection improves up to 65% pruning | ours: {gain}; {at}")
            lines.append(f"paper: then declines | ours: at {levels[-1]:.0%} pruning "
                         f"change {_ci(det[:, -1] - det[:, 0], ' pp')}")
            lines.append(f"paper: hallucinations beyond ~65% pruning | ours: healthy {_ci(hal[:, 0])}, "
                         f"at {levels[upto][-1]:.0%} {_ci(hal[:, upto][:, -1])}, at {levels[-1]:.0%} "
                         f"{_ci(hal[:, -1])}; above healthy (paired 95% CI > 0) at: "
                         f"{_raised(levels, hal)}")
        for lesion in ("cell_loss", "memory_cell_loss"):
            levels, hal = _per_seed(table, "hallucination_rate", lesion=lesion, nonlinearity=nl)
            if not len(levels):
                continue
            _, det = _per_seed(table, "detection", lesion=lesion, nonlinearity=nl)
            worst = int(np.argmax(hal.mean(0)))
            lines.append(f"paper: cell loss, no hallucinations | ours ({LABELS[lesion]}): highest at "
                         f"{levels[worst]:.0%} of the weights, {_ci(hal[:, worst])}; above healthy at: "
                         f"{_raised(levels, hal)}; detection change at {levels[1]:.0%}: "
                         f"{_ci(det[:, 1] - det[:, 0], ' pp')}, at {levels[-1]:.0%}: "
                         f"{_ci(det[:, -1] - det[:, 0], ' pp')}")
    return "\n".join(lines)


def figures(table, out_dir: Path) -> list[Path]:
    """Laid out like the paper's figure: percent correct word detection (left) and the
    hallucination rate (right) against the fraction of working-memory connections removed,
    pruning against cell loss; one row per listener (Elman relu, Elman tanh, spiking LIF);
    mean and 95% bootstrap CI over seeds."""
    from . import style

    nls = _listeners(table)
    fig, axes = style.figure(nrows=len(nls), ncols=2, squeeze=False)
    t = table.assign(value=100 * table["value"], recurrent_lost=100 * table["recurrent_lost"])
    levels = np.sort(t["recurrent_lost"].unique())
    n_seeds = table["seed"].nunique()
    for row, nl in zip(axes, nls):
        part = t[t["nonlinearity"] == nl]
        for lesion in LESIONS:
            rows = part[part["lesion"] == lesion]
            if rows.empty:
                continue
            for ax, metric in zip(row, ("detection", "hallucination_rate")):
                style.mean_spread(ax, rows, x="recurrent_lost", metric=metric, label=LABELS[lesion],
                                  spread="boot95")
        for ax in row:
            ax.axvline(100 * PAPER_ONSET, color="0.5", linestyle=":", linewidth=1)
            ax.set_xticks(levels, [f"{v:g}" for v in levels], rotation=90 if len(levels) > 6 else 0)
            ax.set_xlabel("working-memory connections removed (%)")
        row[0].set(ylabel="words detected correctly (%)",
                   title=f"Word detection in noise ({LISTENERS[nl]})")
        row[1].set(ylabel="silent steps with a word percept (%)",
                   title=f"Hallucinations ({LISTENERS[nl]})")
        for ax in row:  # one legend, in the top row, so no lower panel's curves are hidden
            if ax is not axes[0, 0] and ax.get_legend() is not None:
                ax.get_legend().remove()
    axes[0, 0].legend(title=f"mean, 95% CI, {n_seeds} seed(s)", loc="lower left")
    for col in range(2):  # compared panels share their scale
        top = max(ax.get_ylim()[1] for ax in axes[:, col])
        for ax in axes[:, col]:
            ax.set_ylim(0, top)
    fig.suptitle("Pruning the weakest working-memory connections of an Elman listener and of\n"
                 "its spiking counterpart, against cell loss (Hoffman & McGlashan 1997)", fontsize=10)
    for ax in axes[:, 1]:
        ax.text(100 * PAPER_ONSET, ax.get_ylim()[1], " paper: onset 65%", color="0.4", fontsize=7,
                va="top")
    return style.save(fig, out_dir, "hallucinations")
