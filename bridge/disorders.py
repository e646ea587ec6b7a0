"""Named disorders: one lesion, with a severity, applied to any of the three systems.

    sick = disorders.get("alzheimer", severity=0.3, seed=0)
    sick_system = sick.apply(system)    # any bridge.systems system -> lesioned copy of its core
    sick_ann = sick.apply(model)        # a bare torch nn.Module   -> lesioned copy (ann.lesion)
    sick_spec = sick.apply(spec)        # a bare bio NetworkSpec   -> edited copy (bio.lesion)
    disorders.list()                    # the names

A disorder is the same mechanism on both sides: units <-> neurons, weights <->
synapses, negative weights <-> inhibitory synapses, a unit's gain <-> a
neuron's threshold distance. Severity runs from 0 (healthy: `apply` returns an
unchanged copy) to 1 (the mechanism at its extreme). The original system is
never modified, and the same seed gives the same lesion.

These are caricatures of mechanisms, not models of diseases: each entry's
description says which single mechanism it isolates and where the idea comes from.
"""
from __future__ import annotations

import builtins
import copy
from dataclasses import dataclass
from typing import Callable, NamedTuple

import numpy as np
from torch import nn

from ann import lesion as ann_lesion
from bio import layered as bio_layered
from bio import lesion as bio_lesion
from bio import neurons as bio_neurons
from bio import simulate as bio_simulate
from bio import synapses as bio_synapses
from brian2 import farad as bio_farad
from bio.spec import NetworkSpec

from .systems import is_system

# Multiple sclerosis at severity 1: delays grow by MS_DELAY_S plus a half-normal
# jitter of std MS_JITTER_S, and MS_BLOCK of the synapses stop conducting. The
# size is set against the few-ms integration windows of the converted networks
# (dt = 1 ms): a few ms of slowing per synapse is what demyelination costs an
# axon of several mm (conduction velocity falling from ~10 to ~1 m/s; Waxman 1977).
MS_DELAY_S = 4e-3
MS_JITTER_S = 2e-3
MS_BLOCK = 0.5
MS_NOISE = 0.5  # ANN analogue of temporal dispersion: activation noise std, relative
PARKINSON_MAX_SHIFT = 1e6  # a threshold this far away is never reached (severity 1)
# Autism: at severity 1 the weakest AUTISM_UNDERPRUNE of each layer's synapses are spurious,
# as many as normal development prunes: dendritic spine density falls by ~45% from childhood
# to late adolescence in control temporal cortex, by ~16% in ASD (Tang et al. 2014, Neuron
# 83:1131). Excitatory weights grow by (1 + s), inhibitory ones shrink by 1 / (1 + s): the
# E/I ratio rises by (1 + s)**2, split evenly on a log scale between the two sides.
AUTISM_UNDERPRUNE = 0.45
# Tinnitus: spontaneous level of an auditory-nerve fibre as a fraction of its maximal
# (stimulus-driven) rate: most cat fibres fire spontaneously above 18 spikes/s, up to ~100,
# against driven maxima of a few hundred (Liberman 1978, J Acoust Soc Am 63:442).
TINNITUS_SPONT = 0.1
TINNITUS_PROBES = 256   # samples of the environment whose mean activity homeostasis restores
TINNITUS_MAX_GAIN = 10.0  # a neuron left with no driven input does not scale without bound


class _Mechanism(NamedTuple):
    description: str
    ann: Callable[[nn.Module, float, int], nn.Module]
    bio: Callable[[NetworkSpec, float, int], NetworkSpec]
    requires: tuple = ()  # properties of the system the mechanism needs to act (see REQUIREMENTS)


# --------------------------------------------------------------------------- what a system offers
# A mechanism that cannot act on a system is declared, not plotted as a flat line: each
# requirement is a test of the system's core (torch model or NetworkSpec) and the reason
# shown when it fails.

def _hidden_models(spec: NetworkSpec) -> list:
    return [spec.populations[p] for p in spec.populations
            if not spec.populations[p].is_source and p not in bio_lesion.input_populations(spec)]


def _not_homogeneous(core) -> bool:
    """False when a uniform gain on every unit only rescales the network's output: feed-forward
    ReLU units (positively homogeneous: relu(a x) = a relu(x), up to the biases' share) or
    feed-forward ideal integrate-and-fire neurons without noise (rate proportional to input /
    threshold). A gain inside a loop is never a mere rescaling: a unit's output feeds back
    into its input, h = g relu(W x + U h + b) has another fixed point than g relu(W x + U h' + b)
    with h' the healthy one (tanh/sigmoid gates aside), so every recurrent network is not
    homogeneous, the ReLU Elman RNN and its converted IF network alike."""
    if isinstance(core, nn.Module):
        if any(isinstance(m, ann_lesion.RECURRENT) for m in core.modules()):
            return True
        acts = [m for m in core.modules() if isinstance(m, ann_lesion.ACTIVATIONS)]
        return not acts or not all(isinstance(m, nn.ReLU) for m in acts)
    if recurrent_connections(core):
        return True
    return not all(isinstance(p.model, bio_neurons.IF) and p.noise_sigma == 0 for p in _hidden_models(core))


def _topographic(core) -> bool:
    """True when hidden units have positions: convolutional feature maps, or spiking
    populations with a spatial `shape` (H, W) or (C, H, W)."""
    if isinstance(core, nn.Module):
        return any(isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)) for m in core.modules())
    return any(p.shape is not None and len(p.shape) >= 2 for p in _hidden_models(core))


def recurrent_connections(spec: NetworkSpec) -> builtins.list[str]:
    """Connections that lie on a cycle of the population graph (recurrent pathways)."""
    edges = {}
    for name, c in spec.connections.items():
        edges.setdefault(c.pre, set()).add(c.post)

    def reaches(a, b):
        seen, todo = set(), [a]
        while todo:
            x = todo.pop()
            for y in edges.get(x, ()):
                if y == b:
                    return True
                if y not in seen:
                    seen.add(y)
                    todo.append(y)
        return False

    return [n for n, c in spec.connections.items() if reaches(c.post, c.pre)]


def _graded_recurrence(core) -> bool:
    """True when the system has recurrent (working-memory) connections whose weights differ,
    so that 'weakest first' means something: an RNN/LSTM/GRU, or recurrent spiking
    pathways with more than one weight value."""
    if isinstance(core, nn.Module):
        return any(isinstance(m, ann_lesion.RECURRENT) for m in core.modules())
    return any(len(np.unique(np.abs(core.connections[n].w))) > 1 for n in recurrent_connections(core))


def _input_layer(core):
    """(name of the first weighted layer, its nn.Linear) of a torch model, or None."""
    names = ann_lesion.weighted_layers(core)
    if not names:
        return None
    module = dict(core.named_modules())[names[0]]
    return (names[0], module) if isinstance(module, nn.Linear) else None


def _input_connections(spec: NetworkSpec) -> builtins.list[str]:
    return [n for n, c in spec.connections.items() if spec.populations[c.pre].is_source]


def _rate_linear_input(core) -> bool:
    """True when the neurons that receive the input fibres fire at relu(drive) with the
    drive linear in their input weights, so that the steady state of synaptic scaling has
    a closed form (bio.synapses.scaling_steady_state): a first Linear layer followed by a
    ReLU; or ideal integrate-and-fire neurons (reset by subtraction, no noise) behind
    current-based synapses from an input coded as rates (meta['rate_hz'], bio.layered)."""
    if isinstance(core, nn.Module):
        first, hidden = _input_layer(core), ann_lesion.hidden_layers(core)
        return first is not None and bool(hidden) and \
            isinstance(dict(core.named_modules())[hidden[0]], nn.ReLU)
    names = _input_connections(core)
    if "rate_hz" not in core.meta or not names:
        return False
    for n in names:
        c, post = core.connections[n], core.populations[core.connections[n].post]
        if not (isinstance(post.model, bio_neurons.IF) and post.model.reset == "subtract"
                and post.noise_sigma == 0 and isinstance(c.model, (bio_synapses.CurrentDelta,
                                                                   bio_synapses.CurrentExp))):
            return False
    return True


REQUIREMENTS = {
    "not_homogeneous": (_not_homogeneous, "its units are positively homogeneous (ReLU units or ideal "
                        "integrate-and-fire neurons): a uniform gain or a uniform per-neuron rescaling "
                        "only rescales the output, so the mechanism would be inert by construction"),
    "topographic": (_topographic, "its units have no spatial layout (no convolutional feature maps "
                    "or spatial population shape), so a focal patch is just a random set of neurons "
                    "(use 'neurodegeneration')"),
    "graded_recurrence": (_graded_recurrence, "it has no recurrent (working-memory) connections with "
                          "graded weights for weakest-first pruning to act on"),
    "rate_linear_input": (_rate_linear_input, "the neurons behind its input fibres are not rectified-"
                          "linear in their input weights (leaky or conductance-based neurons, a "
                          "winner-take-all, a convolution), so the steady state of homeostatic "
                          "scaling has no closed form there; running bio.synapses.SynapticScaling "
                          "to convergence on this system is not implemented"),
}


def _parkinson_shift(s: float) -> float:
    # an ideal IF neuron fires at rate I / (threshold distance): scaling its gain by
    # (1 - s) is the same as scaling the threshold distance by 1 / (1 - s)
    return PARKINSON_MAX_SHIFT if s >= 1 else s / (1.0 - s)


def _ms_ann(model, s, seed):
    # a blocked axon silences everything its unit sends: the unit's output, for a fraction
    # of units; the others keep firing but with dispersed timing (activation noise)
    blocked = ann_lesion.ablate(model, MS_BLOCK * s, mode="random", seed=seed)
    return ann_lesion.activation_noise(blocked, MS_NOISE * s, seed=seed + 1)


def _ms_bio(spec, s, seed):
    # demyelination acts on axons: every synapse of an affected neuron shares its extra delay
    # and jitter, and a fraction MS_BLOCK * s of the axons block altogether
    slowed = bio_lesion.slow_conduction(spec, MS_DELAY_S * s, MS_JITTER_S * s, per="axon", seed=seed)
    return bio_lesion.block_conduction(slowed, MS_BLOCK * s, per="axon", seed=seed + 1)


def _schizophrenia_bio(spec, s, seed):
    return bio_lesion.prune_synapses(spec, s, recurrent_connections(spec), method="magnitude", seed=seed)


def _schizophrenia_ann(model, s, seed):
    layers = [n for n, m in model.named_modules() if isinstance(m, ann_lesion.RECURRENT)]
    return ann_lesion.prune(model, s, layers, method="magnitude", weights="weight_hh", seed=seed)


def _autism_ann(model, s, seed):
    model = ann_lesion.underprune(model, AUTISM_UNDERPRUNE * s, seed=seed)
    model = ann_lesion.scale_weights(model, 1.0 + s, sign="positive")
    return ann_lesion.scale_weights(model, 1.0 / (1.0 + s), sign="negative")


def _autism_bio(spec, s, seed):
    spec = bio_lesion.underprune(spec, AUTISM_UNDERPRUNE * s, seed=seed)
    spec = bio_lesion.scale_weights(spec, 1.0 + s, which="exc")
    return bio_lesion.scale_weights(spec, 1.0 / (1.0 + s), which="inh")


def environment(n_in: int, seed: int) -> np.ndarray:
    """(TINNITUS_PROBES, n_in) input intensities in [0, 1], each uniform and independent: the
    environment over which homeostasis holds each neuron's mean activity (Schaette &
    Kempter 2006 average over the sound levels of an acoustic environment)."""
    return np.random.default_rng([int(seed), 77]).uniform(0.0, 1.0, (TINNITUS_PROBES, int(n_in)))


def spontaneous_input(n_in: int) -> np.ndarray:
    """(1, n_in) the silent stimulus: every fibre at its spontaneous level TINNITUS_SPONT."""
    return np.full((1, int(n_in)), TINNITUS_SPONT)


def _tinnitus_ann(model, s, seed):
    name, layer = _input_layer(model)
    W = layer.weight.detach().double().cpu().numpy()  # (n_out, n_in)
    b = layer.bias.detach().double().cpu().numpy() if layer.bias is not None else np.zeros(len(W))
    x = environment(W.shape[1], seed)
    target = np.maximum(x @ W.T + b, 0.0).mean(axis=0)  # (n_out,) pre-lesion mean activity
    sick = ann_lesion.deafferent(model, s, level=TINNITUS_SPONT, seed=seed)
    x[:, ann_lesion.fibres(sick)] = TINNITUS_SPONT  # lost fibres: spontaneous level only
    gains = bio_synapses.scaling_steady_state(x @ np.maximum(W, 0).T, x @ np.minimum(W, 0).T + b, target,
                                              TINNITUS_MAX_GAIN)
    return ann_lesion.scale_incoming(sick, name, gains)


def _drive_hz(spec, cname, x, rate_hz):
    """(S, n_post) drive of connection cname's targets for fibre intensities x (S, n_pre), in
    threshold crossings per second of an ideal IF neuron, split (excitatory, the rest)."""
    c, post = spec.connections[cname], spec.populations[spec.connections[cname].post]
    keep = c.active(spec.populations)
    cur = bio_simulate.mean_drive(c.model, c.signed_w()[keep], rate_hz, post.model)  # (n,) amp per unit x
    per_hz = cur / (bio_layered.threshold_distance(post.model) * float(post.model.capacitance / bio_farad))
    exc = per_hz > 0
    i, j = c.i[keep], c.j[keep]

    def summed(sel):  # (S, n_post)
        W = np.zeros((spec.populations[c.pre].n, post.n))
        np.add.at(W, (i[sel], j[sel]), per_hz[sel])
        return x @ W

    return summed(exc), summed(~exc)


def _tinnitus_bio(spec, s, seed):
    rate_hz = float(spec.meta["rate_hz"])
    names = _input_connections(spec)
    source = spec.connections[names[0]].pre
    lost = ~bio_lesion.deafferent(spec, s, source, seed=seed).populations[source].alive & \
        spec.populations[source].alive
    x = environment(spec.populations[source].n, seed)
    x_sick = np.where(lost[None, :], TINNITUS_SPONT, x)
    for cname in names:  # the lost fibres' spontaneous drive still runs through (scaled) synapses
        post = spec.populations[spec.connections[cname].post]
        bias = post.i_ext_amp / (bio_layered.threshold_distance(post.model)
                                 * float(post.model.capacitance / bio_farad))
        exc, inh = _drive_hz(spec, cname, x, rate_hz)
        target = np.maximum(exc + inh + bias, 0.0).mean(axis=0)
        exc, inh = _drive_hz(spec, cname, x_sick, rate_hz)
        gains = bio_synapses.scaling_steady_state(exc, inh + bias, target, TINNITUS_MAX_GAIN)
        spec = bio_lesion.scale_incoming(spec, cname, gains)
    return bio_lesion.deafferent(spec, s, source, spont_hz=TINNITUS_SPONT * rate_hz, seed=seed)


_REGISTRY: dict[str, _Mechanism] = {
    "neurodegeneration": _Mechanism(
        "Progressive neuron loss: a random fraction (= severity) of the units of every "
        "hidden layer, or of the neurons of every hidden population, dies; a dead neuron "
        "never fires and loses all its synapses. Diffuse cell death as in "
        "neurodegenerative disease, the classic 'graceful degradation' test of "
        "distributed networks (Rumelhart & McClelland 1986, PDP vol. 1 ch. 1; lesion "
        "studies of trained networks: Hinton & Shallice 1991, Psychol Rev 98:74). "
        "Severity 1 leaves no hidden neuron, hence chance-level accuracy.",
        lambda m, s, seed: ann_lesion.ablate(m, s, mode="random", seed=seed),
        lambda n, s, seed: bio_lesion.remove_neurons(n, s, mode="random", seed=seed)),
    "alzheimer": _Mechanism(
        "Diffuse synapse loss: a random fraction (= severity) of the weights of every "
        "layer (synapses of every connection) is deleted, the neurons survive. Synapse "
        "loss is the best correlate of cognitive decline in Alzheimer's disease (Terry "
        "et al. 1991, Ann Neurol 30:572); modelled as random synaptic deletion by Horn, "
        "Ruppin, Usher & Herrmann (1993, Neural Comput 5:736) without compensation.",
        lambda m, s, seed: ann_lesion.prune(m, s, method="random", seed=seed),
        lambda n, s, seed: bio_lesion.prune_synapses(n, s, method="random", seed=seed)),
    "alzheimer_compensated": _Mechanism(
        "Diffuse synapse loss as in 'alzheimer', with neuronal compensation: each "
        "neuron scales its surviving incoming synapses by (synapses it had) / "
        "(synapses it kept), restoring its expected input: the per-neuron rule of Horn, "
        "Levy & Ruppin (1996, Neural Comput 8:1227), who showed it preserves retrieval in "
        "an attractor memory far into the deletion (Horn, Ruppin, Usher & Herrmann 1993, "
        "Neural Comput 5:736, used one global factor), as the enlarged surviving synapses "
        "seen post mortem suggest (DeKosky & Scheff 1990, Ann Neurol 27:457). It needs "
        "units with a fixed threshold or saturation: in a ReLU network (or an ideal IF "
        "network) rescaling a neuron's inputs rescales its output and nothing else, so "
        "there the disorder is declared not to apply.",
        lambda m, s, seed: ann_lesion.prune(m, s, method="random", compensate=True, seed=seed),
        lambda n, s, seed: bio_lesion.prune_synapses(n, s, method="random", compensate=True,
                                                     seed=seed),
        ("not_homogeneous",)),
    "schizophrenia": _Mechanism(
        "Over-pruning of the weakest recurrent synapses: the smallest-magnitude fraction "
        "(= severity) of the recurrent (working-memory) weights is deleted — the hidden-"
        "to-hidden weights of an RNN/LSTM/GRU, the connections on a cycle of a spiking "
        "network. Hoffman & McGlashan (1997, Am J Psychiatry 154:1683) pruned the weakest "
        "working-memory connections of a recurrent speech-perception network: moderate "
        "pruning improved perception, excessive pruning produced 'hallucinated' percepts, "
        "after Feinberg's (1982) hypothesis of excessive adolescent synaptic pruning. A "
        "feed-forward network has no such connections, and a spiking network whose "
        "recurrent weights are all equal has no weakest ones: the disorder is declared "
        "not to apply there (see the `hallucinations` reproduction).",
        _schizophrenia_ann, _schizophrenia_bio, ("graded_recurrence",)),
    "epilepsy": _Mechanism(
        "Loss of inhibition (E/I imbalance): every inhibitory synapse is weakened by the "
        "factor (1 - severity): inhibitory connections in a spiking network, the "
        "negative weights of an ANN (which become the inhibitory synapses of its "
        "converted network). Reduced GABAergic inhibition is the classic route to "
        "seizures (Dichter & Ayala 1987, Science 237:157). Seizures need recurrence: in the "
        "recurrent AdEx E/I network of bio.seizure (the 'epilepsy' study) this lesion moves "
        "the network from asynchronous irregular firing to recurring, adaptation-terminated "
        "seizure-like episodes and then to tonic firing, and in a recurrent rate network "
        "(ann.rate_network) from a stable fixed point to runaway activity; a feed-forward "
        "network only fires faster.",
        lambda m, s, seed: ann_lesion.scale_weights(m, 1.0 - s, sign="negative"),
        lambda n, s, seed: bio_lesion.scale_weights(n, 1.0 - s, which="inh")),
    "parkinson": _Mechanism(
        "Dopamine loss as reduced gain: every hidden unit's output is multiplied by "
        "(1 - severity); in a spiking network every hidden neuron's threshold distance "
        "is multiplied by 1 / (1 - severity), which scales an integrate-and-fire "
        "neuron's rate by the same (1 - severity); severity 1 silences them. Modelling "
        "catecholamines as the gain of units follows Servan-Schreiber, Printz & Cohen "
        "(1990, Science 249:892); dopamine depletion lowering striatal responsiveness is "
        "the core of the classic basal-ganglia model (Albin, Young & Penney 1989, Trends "
        "Neurosci 12:366). A uniform gain cannot act on a positively homogeneous network "
        "(ReLU units, ideal IF neurons): it rescales the output and leaves the argmax, so "
        "there the disorder is declared not to apply; it acts on saturating units "
        "(tanh/sigmoid, gated RNNs) and on leaky spiking neurons, whose threshold is not "
        "a mere scale.",
        lambda m, s, seed: ann_lesion.scale_gain(m, 1.0 - s),
        lambda n, s, seed: bio_lesion.shift_thresholds(n, _parkinson_shift(s)),
        ("not_homogeneous",)),
    "multiple_sclerosis": _Mechanism(
        "Demyelination: conduction slows and disperses and some axons block (Smith & "
        "McDonald 1999, Phil Trans R Soc B 354:1649). It acts on axons, so every synapse of "
        "an affected neuron shares the change. Spiking networks: every axon's delay grows "
        f"by {MS_DELAY_S * 1e3:g} ms x severity plus a half-normal jitter of std "
        f"{MS_JITTER_S * 1e3:g} ms x severity drawn per axon, and {MS_BLOCK:g} x severity of "
        "the axons stop conducting. An ANN has no time, so its analogue is conduction block "
        f"as the silencing of the outputs of {MS_BLOCK:g} x severity of the units, plus temporal "
        "dispersion as "
        f"Gaussian noise on every hidden unit's output (std {MS_NOISE:g} x severity x the "
        "output's std over the batch), drawn afresh each forward pass.",
        _ms_ann, _ms_bio),
    "stroke": _Mechanism(
        "Focal lesion: a contiguous patch of units dies, a fraction (= severity) of every "
        "hidden layer (or hidden population) at the same relative place, like an "
        "ischaemic core through a cortical column (Murphy & Corbett 2009, Nat Rev "
        "Neurosci 10:861). In convolutional layers the patch is a disc of positions in "
        "every feature map; in a spiking population, the same disc of positions of its "
        "(C, H, W) layout. Compare 'neurodegeneration': the same loss, "
        "spread at random. A system whose units have no spatial layout (an MLP, the STDP "
        "network) declines stroke: there a patch is a random set of neurons.",
        lambda m, s, seed: ann_lesion.ablate(m, s, mode="patch", seed=seed),
        lambda n, s, seed: bio_lesion.remove_neurons(n, s, mode="patch", seed=seed),
        ("topographic",)),
    "autism": _Mechanism(
        "Raised excitation/inhibition ratio with under-pruning. E/I: every excitatory synapse "
        "(the positive weights of an ANN and of its converted network, the 'exc' connections "
        "of a spiking network) is strengthened by (1 + severity) and every inhibitory one "
        "weakened by 1 / (1 + severity), so the ratio rises by (1 + severity)^2 (Rubenstein & "
        "Merzenich 2003, Genes Brain Behav 2:255; Nelson & Valakh 2015, Neuron 87:684). "
        f"Under-pruning: in every layer (connection) the weakest {AUTISM_UNDERPRUNE:g} x severity "
        "of the synapses persist as spurious ones: they take weights drawn at random from the "
        "layer's own weight distribution (signs included) in place of the near-zero weights "
        "learning left them; at severity 1 as many as normal development prunes (spine density "
        "falls ~45% from childhood to adolescence in control cortex, ~16% in ASD: Tang et al. "
        "2014, Neuron 83:1131). Unlike a uniform gain, both parts change which units win, so "
        "the disorder acts on ReLU and integrate-and-fire networks; a spiking connection whose "
        "weights are all equal (fixed pathways) has no weakest synapses and is only rescaled.",
        _autism_ann, _autism_bio),
    "tinnitus": _Mechanism(
        "Deafferentation followed by homeostatic synaptic scaling (Schaette & Kempter 2006, Eur J "
        "Neurosci 23:3124). A random fraction (= severity) of the input fibres loses its "
        "stimulus-driven response and keeps only its spontaneous level "
        f"({TINNITUS_SPONT:g} of the maximal rate; Liberman 1978, J Acoust Soc Am 63:442). Each "
        "neuron receiving the fibres (the first hidden layer) then scales all its excitatory "
        "synapses by one factor (Turrigiano et al. 1998, Nature 391:892; bio.synapses."
        "SynapticScaling) until its mean activity over the environment (`environment`: "
        f"{TINNITUS_PROBES} stimuli of independent uniform intensities) is back at its pre-lesion "
        "value; the factor is the rule's steady state in closed form (bio.synapses."
        f"scaling_steady_state, at most {TINNITUS_MAX_GAIN:g}), for ReLU units and ideal IF "
        "neurons alike. Mean driven activity is restored, but the lost fibres' spontaneous "
        "drive is amplified with the rest: activity under the silent stimulus "
        "(`spontaneous_input`) rises, the hyperactivity that correlates with tinnitus. Systems "
        "whose input neurons are leaky, conductance-based or in a winner-take-all have no "
        "closed form and are declared not to apply.",
        _tinnitus_ann, _tinnitus_bio, ("rate_linear_input",)),
}

NAMES = tuple(_REGISTRY)


def list() -> builtins.list[str]:  # noqa: A001 (the name the project's API promises)
    """Names of the available disorders."""
    return builtins.list(NAMES)


def _check_name(name: str) -> str:
    if name not in _REGISTRY:
        raise ValueError(f"unknown disorder {name!r}; choose one of: {', '.join(NAMES)}")
    return name


def _check_severity(severity) -> float:
    try:
        s = float(severity)
    except (TypeError, ValueError):
        raise ValueError(f"severity must be a number in [0, 1], got {severity!r}") from None
    if not 0.0 <= s <= 1.0 or np.isnan(s):
        raise ValueError(f"severity must lie in [0, 1] (0 = healthy, 1 = extreme), got {severity!r}")
    return s


@dataclass(frozen=True)
class Disorder:
    """One named disorder at one severity, reproducible by its seed.

    name:     one of `list()`.
    severity: in [0, 1]; 0 changes nothing.
    seed:     which units/synapses are hit (same seed, same lesion).
    """

    name: str
    severity: float = 0.3
    seed: int = 0

    def __post_init__(self):
        _check_name(self.name)
        object.__setattr__(self, "severity", _check_severity(self.severity))
        object.__setattr__(self, "seed", int(self.seed))

    def why_not(self, system) -> str | None:
        """None if the disorder acts on `system`, else why it cannot (a sentence)."""
        core = system.core if is_system(system) else system
        for req in _REGISTRY[self.name].requires:
            test, reason = REQUIREMENTS[req]
            if not test(core):
                what = getattr(system, "label", type(core).__name__)
                return f"{self.name!r} does not apply to {what}: {reason}"
        return None

    def applies_to(self, system) -> bool:
        """True if the mechanism can act on `system` (see `why_not`)."""
        return self.why_not(system) is None

    @property
    def description(self) -> str:
        """One paragraph: the mechanism, how it maps to each system, and its sources."""
        return _REGISTRY[self.name].description

    def apply(self, system):
        """A lesioned copy of `system`, of the same type; `system` is left untouched.

        system: any system of `bridge.systems` (the disorder edits its `core`, a torch
        model or a bio NetworkSpec, and returns `system.with_core(edited)`); or a bare
        torch nn.Module (ann.lesion) or bio NetworkSpec (bio.lesion).
        Raises ValueError (saying why) when the mechanism cannot act on the system
        (`applies_to` is False).
        """
        mech = _REGISTRY[self.name]
        reason = self.why_not(system)
        if reason is not None:
            raise ValueError(reason)
        if is_system(system):
            return system.with_core(self.apply(system.core))
        if isinstance(system, nn.Module):
            return copy.deepcopy(system) if self.severity == 0 else mech.ann(system, self.severity, self.seed)
        if isinstance(system, NetworkSpec):
            return copy.deepcopy(system) if self.severity == 0 else mech.bio(system, self.severity, self.seed)
        raise TypeError(f"cannot apply a disorder to {type(system).__name__}; pass a system of "
                        "bridge.systems (ANNSystem, ConvertedSystem, STDPSystem, ...), a torch "
                        "nn.Module or a bio NetworkSpec")


def get(name: str, severity: float = 0.3, seed: int = 0) -> Disorder:
    """The disorder `name` at `severity` in [0, 1], its lesion drawn with `seed`."""
    return Disorder(name, severity, seed)


def describe() -> dict[str, str]:
    """{name: description} of every disorder."""
    return {name: mech.description for name, mech in _REGISTRY.items()}
