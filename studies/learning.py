"""Four learners on one stream of samples: backprop ANN, converted SNN, surrogate-gradient SNN, STDP SNN.

Question: shown the same stream of training samples, how fast does each way of
learning learn, how long must a spiking learner run to answer, do the learners
end up representing the stimuli alike, and how does each stand up to the
disorder library? The four learners, every one a system of the bridge.systems
protocol and built with `hidden` units so that they are matched in size:
- "ann":       backpropagation (Adam): an MLP 64-hidden-10 on the digits, a ReLU
               Elman RNN 8-hidden-10 reading the digit row by row on the temporal task;
- "converted": that MLP converted to integrate-and-fire neurons (bridge.convert,
               rate coding, `duration_ms` of simulated time per digit); on the temporal
               task that RNN converted to a recurrent IF network (bridge.recurrent,
               bridge.systems.RecurrentConvertedSystem: `row_ms` of simulated time per
               row, recurrent spikes acting one window later);
- "surrogate": a spiking MLP of LIF neurons trained by backpropagation through time
               with surrogate gradients (ann.spiking; a digit held for `steps` steps of
               1 ms; on the temporal task a recurrent LIF layer, one row per step);
- "stdp":      a Diehl & Cook (2015) network of `hidden` excitatory neurons that learns
               without labels by STDP; its neurons are labelled afterwards from the
               samples of the latest chunk of the stream (its `retrained` rule).
Tasks: "digits" (8x8 digits as 64-pixel vectors) and "digit_rows" (the same digits
as sequences of 8 rows of 8 pixels, ann.data.digit_rows). The temporal task runs the
three learners that take sequences (RNN, converted RNN, recurrent surrogate SNN): the
Diehl & Cook network learns a static image shown as Poisson rates, with no notion of
the order of rows.

Each point is one task and one seed; in it every learner sees the stream (one seed's
fresh random passes through the training split, `stream`) in chunks up to each
value of `checkpoints` (samples seen), learning from each chunk once through the protocol's
`retrained` (one epoch of Adam at `lr` for the backprop learners, which the
converted SNN converts again; one STDP pass and relabelling for the Diehl & Cook
network), and is tested on the same test digits at each checkpoint. After the
last checkpoint come the time course, the similarity and the robustness.

Answer the figures give (numbers: `brainbridge run learning --quick`, 3 seeds, 300 test
digits, mean over seeds; its table is docs/results/learning_quick.csv):
- `learning_curves`: test accuracy against training samples seen (log axis), one
  line per learner, mean and 95% bootstrap interval over seeds, chance dotted. After
  100 samples the STDP network, which only labels features it found without labels,
  leads (0.54 against 0.44 for the surrogate SNN and 0.32 for the ANN); by 1000 the
  supervised learners have caught up (ANN 0.86, surrogate SNN 0.91, STDP 0.87). The
  converted SNN inherits its ANN's accuracy at every checkpoint, and the surrogate
  SNN learns faster per sample than the ANN at the same Adam step. STDP's curve is
  the least steady across seeds (one seed falls to 0.33 at 300 samples). On the
  digit rows the RNN (0.670) and its conversion to a recurrent IF network (0.663 ±
  0.012, 50 ms per row) stay ahead of the recurrent surrogate SNN (0.53).
- `learning_time`: accuracy of each spiking learner after the last checkpoint
  against the simulated time it was read out at (log axis): the converted SNN
  after each ms of its run (EvalResult.accuracy_t), the surrogate SNN after each of
  its steps (the read-out's mean membrane over the steps so far), the STDP network
  from the spikes of the first t ms of each presentation (one extra Brian2 run, with
  bio.stdp's repeat rule); the ANN's accuracy dashed. The surrogate SNN answers
  after 2 steps (2 ms), the rate-coded converted SNN reaches its ANN after ~3 ms,
  and the STDP network stays at chance for the first 30 ms of its 150 ms
  presentation and needs ~100 ms to reach its final accuracy.
- `learning_similarity`: linear CKA and RSA (bridge.compare.compare_all, Spearman
  correlation of correlation-distance RDMs) between the first hidden layers of every
  pair of learners on the same `n_similarity` test stimuli, and of each with the
  pixels themselves as the reference (mean over seeds; each seed's bootstrap interval
  over stimuli is in results.csv, columns ci_low, ci_high). The two backprop-trained
  networks, ANN and surrogate SNN, represent the digits alike (CKA 0.97, RSA 0.95),
  closer to each other than either is to the pixels (0.88, 0.91); the STDP network's
  geometry differs from all (CKA 0.46-0.55, RSA 0.16-0.27). The converted SNN is its
  ANN (1.00); on the rows the converted RNN is its RNN (0.99), and both differ from the
  recurrent surrogate SNN (0.36-0.40).
- `learning_robustness`: each disorder of the library at one `severity` in every
  learner, as normalised accuracy (acc - chance) / (healthy - chance) (1 = no loss,
  0 = chance), mean and 95% bootstrap interval over seeds. Where a disorder does
  not apply (Disorder.applies_to: e.g. stroke needs a spatial layout, parkinson a
  non-homogeneous network) the cell says "n/a"; where the system refuses a lesion
  it cannot simulate faithfully (the surrogate SNN fed sequences refuses ann.lesion's
  output hooks, see bridge.systems.SurrogateSystem) it says "refused". On the
  digits, half the neurons lost costs every learner alike (0.86-0.88); half the
  synapses costs the STDP network most (0.44 against 0.62-0.72) and compensation
  recovers part of it (0.56); halving the gain (parkinson: twice the threshold distance)
  silences the STDP network (0.05) and leaves the surrogate SNN untouched (1.00); delays and
  conduction block (multiple sclerosis) cost the converted SNN most among the
  supervised learners (0.77). On the rows, weakening the RNN's negative weights
  (epilepsy) takes it and its converted RNN to chance while pruning their weakest
  recurrent weights (schizophrenia) costs little (0.97, 0.93); halving the gain inside
  the loop costs the RNN 0.69 and the converted RNN 0.62, and the converted RNN refuses
  multiple sclerosis (delays on its analog input, which the compiler delays for one
  sample only).
- `learning_energy`: each learner's final accuracy against its energy per test sample
  (bridge.energy, Horowitz 2014 costs: an ANN's multiply-accumulates for one input; a
  spiking learner's synaptic events on `n_ephys` test samples, plus one MAC per synapse and
  ms for an analog input layer, Rueckauer et al. 2017 sec. 2.3), per task, mean and 95%
  bootstrap interval over seeds. On the digits the ANN's answer costs 34 nJ, the STDP
  network's 54 nJ (its neurons fire about once per presentation), the surrogate SNN's
  297 nJ and the converted SNN's 1.48 uJ (its analog input layer is charged for 50 ms, and
  its IF neurons fire at high rates) for accuracies of 0.86-0.91; on the rows the
  recurrent surrogate SNN is the cheapest (45 nJ against 402 nJ for the RNN and 2.11 uJ
  for the converted RNN) and the least accurate.
- `learning_ephys_<task>_<learner>`: bio.analysis.ephys_figure (raster, population rate, ISI
  and CV distributions) of each spiking learner's first hidden layer on the first `n_ephys`
  test samples shown one after another, after the last checkpoint, lowest seed. The point
  keeps that spike record in records/<key>.npz (studies.ephys), so `brainbridge report
  learning` redraws the figure without simulating. After the stream the STDP network's
  excitatory layer fires a single spike per presentation (the winner of its
  winner-take-all), while the converted SNN's hidden layer fires at hundreds of Hz (the
  figure's rate and ISI panels; docs/ keeps the table, not the records, so no number is
  quoted here).

The transfer panel of the former version (0-4 -> 5-9) is dropped: with four
learners it costs a second STDP training per seed (about as long as the whole
stream) for a question this study no longer asks.

Runs: TINY (numpy target, about 35 s of CPU with the converted RNN) is the test; `brainbridge run learning
--quick` (3 seeds, up to 1000 samples: 6 min on a shared 2-core machine once Brian2's
code is compiled, 19 min the first time); the full run, 5 seeds up to 3000 samples:
`brainbridge run learning --workers 2`.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple

import numpy as np

from . import ephys
from .params import axis, param

VERSION = 7  # 3: own initial weights; 4: similarity to the pixels; 5: converted RNN, energy; 6: spike records
# (studies.ephys); 7: the STDP record runs its test digits as network copies (bio.stdp.record)

TASKS = ("digits", "digit_rows")
LEARNERS = ("ann", "converted", "surrogate", "stdp")
SHORT = {"ann": "ANN", "converted": "converted", "surrogate": "surrogate", "stdp": "STDP", "pixels": "pixels"}
LABELS = {"ann": "backprop ANN", "converted": "converted SNN (IF)", "surrogate": "surrogate-gradient SNN",
          "stdp": "STDP SNN (Diehl & Cook)"}
STYLE = {"ann": {"color": "#0072B2", "linestyle": "-"}, "converted": {"color": "#D55E00", "linestyle": "--"},
         "surrogate": {"color": "#CC79A7", "linestyle": "-."}, "stdp": {"color": "#009E73", "linestyle": ":"}}
DISORDERS = ("neurodegeneration", "alzheimer", "alzheimer_compensated", "schizophrenia", "epilepsy",
             "parkinson", "multiple_sclerosis", "stroke")
STDP_READOUTS = 10  # readout times of the STDP time course, evenly spaced over the presentation
ROW_READOUTS_MS = (2, 5, 10, 20, 50, 100)  # converted RNN: simulated times per row of its time course


@dataclass(frozen=True)
class Params:
    task: tuple[str, ...] = axis(*TASKS, choices=TASKS)
    checkpoints: tuple[int, ...] = param((100, 300, 1000, 3000), at_least=1)  # samples seen at each test
    hidden: int = param(100, at_least=1)     # hidden units of every learner (STDP: excitatory neurons)
    lr: float = param(5e-3, above=0.0)       # Adam step of the backprop learners (ANN, surrogate SNN)
    steps: int = param(10, at_least=1)       # surrogate SNN: steps of 1 ms a static digit is held
    duration_ms: float = param(50.0, above=0.0)  # converted SNN: simulated time per digit (dt = 1 ms)
    row_ms: int = param(50, at_least=2)      # converted RNN: simulated time per row (bridge.recurrent step_ms)
    n_ephys: int = param(3, at_least=1)      # test samples in the electrophysiology record (learning_ephys)
    stdp_present_ms: float = param(150.0, above=0.0)  # STDP SNN: presentation per image (bio.diehl_cook)
    stdp_rest_ms: float = param(50.0, at_least=0.0)   # STDP SNN: silence between images
    stdp_dt_ms: float = param(0.5, above=0.0)         # STDP SNN: simulation step
    n_test: int = param(300, at_least=0)     # test samples (0: the whole test split)
    n_similarity: int = param(200, at_least=3)  # test stimuli for CKA/RSA
    n_boot: int = param(1000, at_least=1)    # bootstrap resamples of the stimuli (CKA/RSA intervals)
    severity: float = param(0.5, at_least=0.0, at_most=1.0)  # of every disorder
    disorders: tuple[str, ...] = param(DISORDERS, choices=DISORDERS)
    target: str = param("cython", choices=("numpy", "cython", "cpp_standalone"))  # Brian2 code generation
    brian: bool = False                      # run the surrogate SNN in Brian2 (bridge.torch_snn) too
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)


# TINY: a larger step so that 300 samples teach the backprop learners something, and a shorter
# STDP presentation at dt 1 ms (fine for 32 neurons; bio/diehl_cook.py on why 400 need 0.5 ms)
TINY = Params(checkpoints=(30, 300), hidden=32, lr=0.03, steps=5, duration_ms=20.0, row_ms=10,
              n_ephys=2, stdp_present_ms=50.0, stdp_rest_ms=20.0, stdp_dt_ms=1.0, n_test=60, n_similarity=30, n_boot=50,
              disorders=("neurodegeneration", "parkinson"), target="numpy", seeds=(0,))
QUICK = Params(checkpoints=(100, 300, 1000), seeds=(0, 1, 2))


def check(p: Params) -> None:
    if list(p.checkpoints) != sorted(set(p.checkpoints)):
        raise ValueError(f"checkpoints must rise strictly (samples seen along one stream), got "
                         f"{','.join(map(str, p.checkpoints))}")


def stream(split, n: int, seed: int):
    """The first n samples of a seeded stream cycling through `split` in fresh random orders."""
    rng = np.random.default_rng(seed)
    reps = -(-n // len(split))  # ceil
    order = np.concatenate([rng.permutation(len(split)) for _ in range(reps)])[:n]
    return split.subset(order)


# ----------------------------------------------------------------------------- the learners

class Learner(NamedTuple):
    """How a learner is built untrained for a task, which of its representations() is its
    first hidden layer (also the population of its Score.record that learning_ephys draws),
    and how its accuracy builds up over simulated time (None: it has no time).
    make(p, first_chunk, seed) -> a bridge.systems system;
    time(p, system, test, seed) -> ((R,) times in ms, (R,) accuracies)."""

    make: Callable
    layer: str
    time: Callable | None = None


def _init(seed: int, learner: str) -> None:
    """Seed torch for a learner's initial weights: each learner draws its own (learners that
    started from the same weights would look alike to CKA/RSA before learning anything)."""
    import torch

    torch.manual_seed(int(np.random.SeedSequence([seed, LEARNERS.index(learner)]).generate_state(1)[0]))


def _mlp(p: Params, seed: int):
    from ann import models

    _init(seed, "ann")  # the converted SNN's source is this same ANN
    return models.MLP(64, [p.hidden], 10)


def _ann(p, first, seed):
    from bridge.systems import ANNSystem

    return ANNSystem(_mlp(p, seed), epochs=1, lr=p.lr, label=LABELS["ann"])


def _rnn(p, first, seed):
    from ann import models
    from bridge.systems import ANNSystem

    _init(seed, "ann")
    net = models.RNN(input_size=8, hidden_size=p.hidden, out_features=10, cell="elman", nonlinearity="relu")
    return ANNSystem(net, epochs=1, lr=p.lr, label="backprop RNN (Elman, ReLU)")


def _converted(p, first, seed):
    from bridge import convert
    from bridge.systems import ANNSystem, ConvertedSystem

    source = ANNSystem(_mlp(p, seed), epochs=1, lr=p.lr)
    options = {"neuron": "if"}
    # calibrated on the first chunk: the converter sees only samples the stream has shown
    snn = convert.to_snn(source.model, calibration=first.x, **options)
    return ConvertedSystem(snn, duration_ms=p.duration_ms, target=p.target, source=source,
                           calibration=first.x, options=options, label=LABELS["converted"])


def _converted_rnn(p, first, seed):
    from ann import models
    from bridge.systems import ANNSystem, RecurrentConvertedSystem

    _init(seed, "ann")  # the same initial RNN as the "ann" learner's, as on the digits
    net = models.RNN(input_size=8, hidden_size=p.hidden, out_features=10, cell="elman", nonlinearity="relu")
    # calibrated on the first chunk: the converter sees only samples the stream has shown
    return RecurrentConvertedSystem.of(ANNSystem(net, epochs=1, lr=p.lr), first.x, target=p.target,
                                       label=LABELS["converted"], step_ms=float(p.row_ms))


def _surrogate(p, first, seed, recurrent=False, n_in=64):
    from ann.spiking import SpikingMLP
    from bridge.systems import SurrogateSystem

    _init(seed, "surrogate")
    net = SpikingMLP(n_in, [p.hidden], 10, recurrent=recurrent, T=p.steps)
    return SurrogateSystem(net, epochs=1, lr=p.lr, brian=p.brian, target=p.target, label=LABELS["surrogate"])


def _stdp(p, first, seed):
    from brian2 import ms

    from bio import diehl_cook
    from bio.stdp import Labels
    from bridge.systems import STDPSystem

    timing = diehl_cook.DiehlCookParams(t_present=p.stdp_present_ms * ms, t_rest=p.stdp_rest_ms * ms,
                                        dt=p.stdp_dt_ms * ms)
    spec = diehl_cook.diehl_cook_spec(n_exc=p.hidden, params=timing, seed=seed)
    unlabelled = Labels(np.full(p.hidden, -1, dtype=np.int64), np.arange(10))  # relabelled by retrained
    # n_record: its Score keeps the spikes of that many test images (learning_ephys, energy)
    return STDPSystem(spec, unlabelled, target=p.target, n_record=p.n_ephys, label=LABELS["stdp"])


def _data(task: str, seed: int):
    from ann import data

    from . import trained

    return trained.digits(seed) if task == "digits" else data.digit_rows(seed=seed)


# ----------------------------------------------------------------------------- accuracy over time

def _converted_time(p, system, test, seed):
    res = system.snn.evaluate(test, duration_ms=system.duration_ms, dt_ms=system.dt_ms, target=system.target,
                              seed=seed)
    return np.asarray(res.times_ms, float), np.asarray(res.accuracy_t, float)


def _surrogate_time(p, system, test, seed):
    import torch

    u = system.model.readout_potential(torch.from_numpy(test.x)).double().numpy()  # (T, B, n_out)
    running = np.cumsum(u, axis=0) / np.arange(1, len(u) + 1)[:, None, None]  # logits read out after t steps
    acc = (running.argmax(axis=2) == test.y[None, :]).mean(axis=1)
    return np.arange(1, len(u) + 1) * system.model.config["dt_ms"], acc


def _stdp_time(p, system, test, seed):
    """Votes from the spikes of the first t ms of each test image's presentation, with the
    repeat rule of bio.stdp.responses: an image that drew fewer than min_spikes spikes in its
    whole presentation is shown again at rates x boost, and that showing's spikes count."""
    from brian2 import second

    import bio
    from bio import diehl_cook
    from bio.spec import Record

    spec = system.spec
    dc = diehl_cook.params_of(spec)
    n = spec.populations["exc"].n
    period, present = float(dc.period / second), float(dc.t_present / second)
    stops = present * np.arange(1, STDP_READOUTS + 1) / STDP_READOUTS  # (R,) s after each onset
    counts = np.zeros((len(stops), len(test), n))  # (R, N, n_exc)
    todo, scale = np.arange(len(test)), 1.0
    for repeat in range(dc.max_repeats + 1):
        if not len(todo):
            break
        copies = min(len(todo), 64)
        shown = diehl_cook.with_samples(diehl_cook.frozen(spec), test.x[todo], copies=copies, scale=scale,
                                        record=Record(spikes=("exc",)))
        rec = bio.run(shown, target=system.target, seed=seed + 1000 * repeat, dt=dc.dt)
        t, i = rec.times_s["exc"], rec.indices["exc"]
        rounds = np.floor(t / period + 1e-9).astype(np.int64)
        offset, sample = t - rounds * period, rounds * copies + i // n  # image k: round k // B, copy k % B
        got = np.zeros((len(stops), len(todo), n))
        for r, stop in enumerate(stops):
            keep = (offset < stop) & (sample < len(todo))
            np.add.at(got[r], (sample[keep], i[keep] % n), 1)
        counts[:, todo] = got
        todo = todo[got[-1].sum(axis=1) < dc.min_spikes]
        scale *= dc.boost
    acc = [np.mean(system.labels.vote(c) == test.y) for c in counts]
    return stops * 1e3, np.asarray(acc)


def _converted_rnn_time(p, system, test, seed):
    """The converted RNN reads its class in the last window, so its time course is over the
    simulated time it is given per row: the same trained RNN converted again at each
    ROW_READOUTS_MS window up to row_ms (and at row_ms), read out after all T rows."""
    from dataclasses import replace

    from bridge import recurrent

    steps = sorted({float(t) for t in ROW_READOUTS_MS if t <= p.row_ms} | {float(p.row_ms)})
    n_rows, acc = test.x.shape[1], []
    for step in steps:
        snn = recurrent.to_snn(system.source.model, system.calibration, **{**system.options, "step_ms": step})
        acc.append(replace(system, snn=snn).evaluate(test, seed=seed).accuracy)
    return np.asarray(steps) * n_rows, np.asarray(acc)


# how each spiking learner's accuracy builds up over simulated time (Learner.time): the protocol's
# Score has no time course, so it is read from each learner's own result (the ANN has no time)
TASK_LEARNERS = {
    "digits": {"ann": Learner(_ann, "act1"), "converted": Learner(_converted, "h1", _converted_time),
               "surrogate": Learner(_surrogate, "hidden1", _surrogate_time),
               "stdp": Learner(_stdp, "exc", _stdp_time)},
    "digit_rows": {"ann": Learner(_rnn, "rnn"), "converted": Learner(_converted_rnn, "h1", _converted_rnn_time),
                   "surrogate": Learner(lambda p, first, seed: _surrogate(p, first, seed, True, 8), "hidden1",
                                        _surrogate_time)},
}


# ----------------------------------------------------------------------------- energy and electrophysiology

def _energy_pj(system, score, x) -> float:
    """Energy per sample (pJ; bridge.energy, Horowitz 2014 costs) of the run behind `score`,
    which showed the samples x (n of them).

    No spikes (an ANN): its dense multiply-accumulates for one input (ann_ledger). A spiking
    learner: one accumulate per synaptic event of its record (snn_ledger), over the synapse
    lists of its spec (the surrogate SNN's are those bridge.torch_snn.to_brian builds from its
    weights, with its weight lesions), and an analog input layer (a current, not spikes) as
    one MAC per synapse and 1 ms step, as Rueckauer et al. (2017, sec. 2.3) count it."""
    from bridge import energy, torch_snn

    if score.record is None:
        return float(energy.ann_ledger(system.core, x[:1]).total_energy_pj[0])
    rec = score.record
    spec = system.core if system.substrate == "spec" else torch_snn.to_brian(system.core).spec
    analog = {name: int(round(rec.duration_s / 1e-3)) for name, pop in spec.populations.items()
              if pop.is_source and name not in rec.n_neurons}  # every learner here runs at dt = 1 ms
    ledger = energy.snn_ledger(rec, spec, rec.copies, analog=analog)
    return float(ledger.total_energy_pj.sum() / len(x))


# ----------------------------------------------------------------------------- one point

def point(p: Params, seed: int) -> dict:
    """One task and seed: every learner along the stream, then time course, similarity, robustness."""
    from bridge import compare, disorders

    from . import progress

    ds = _data(p.task, seed)
    test = ds.test if not p.n_test else ds.test.subset(np.arange(min(p.n_test, len(ds.test))))
    seen = stream(ds.train, p.checkpoints[-1], seed)
    learners = TASK_LEARNERS[p.task]
    first = seen.subset(np.arange(p.checkpoints[0]))
    systems = {name: learner.make(p, first, seed) for name, learner in learners.items()}

    accuracy, start = [], 0
    for k, n in enumerate(p.checkpoints):
        chunk = seen.subset(np.arange(start, n))
        with progress.phase(f"{p.task}: learning samples {start}-{n} and testing", total=len(systems)) as bar:
            for name in systems:
                systems[name] = systems[name].retrained(chunk, seed=seed + 1000 * k)
                accuracy.append({"system": name, "samples_seen": n,
                                 "value": systems[name].evaluate(test, seed=seed).accuracy})
                bar.update(1)
        start = n
    healthy = {row["system"]: row["value"] for row in accuracy if row["samples_seen"] == p.checkpoints[-1]}
    level = 1.0 / ds.n_classes  # balanced classes: the accuracy of guessing

    over_time = []
    with progress.phase(f"{p.task}: accuracy against simulated time"):
        for name, system in systems.items():
            if learners[name].time is not None:
                times, acc = learners[name].time(p, system, test, seed)
                over_time += [{"system": name, "time_ms": float(t), "value": float(a)} for t, a in zip(times, acc)]

    energy, records = [], []
    with progress.phase(f"{p.task}: energy and spikes on {p.n_ephys} test samples"):
        few = test.subset(np.arange(min(p.n_ephys, len(test))))
        for name, system in systems.items():
            score = system.evaluate(few, seed=seed)
            energy.append({"system": name, "value": _energy_pj(system, score, few.x)})
            rec = score.record
            if rec is not None:  # kept in records/<key>.npz for learning_ephys (studies.ephys)
                records.append(ephys.rows(ephys.cut(rec, [learners[name].layer], in_sequence=rec.copies > 1),
                                          name))

    with progress.phase(f"{p.task}: CKA and RSA between every pair of learners"):
        stimuli = test.x[:p.n_similarity]
        reps = {name: systems[name].representations(stimuli)[learners[name].layer] for name in systems}
        table = compare.compare_all(reps, n_boot=p.n_boot, seed=seed)
        similarity = [{"system_a": r.system_a, "system_b": r.system_b, "measure": r.measure, "value": r.estimate,
                       "ci_low": r.ci_low, "ci_high": r.ci_high} for r in table.itertuples()]
        # the reference: how much of each representation is already in the pixels (CKA is invariant
        # to rotations, so any wide near-linear map of the input scores high against the input)
        pixels, to_input = stimuli.reshape(len(stimuli), -1), []
        for name, rep in reps.items():
            for measure in compare.MEASURES:
                e = compare.bootstrap(pixels, rep, measure, n_boot=p.n_boot, seed=seed)
                to_input.append({"system": name, "measure": measure, "value": e.estimate, "ci_low": e.low,
                                 "ci_high": e.high})

    lesioned, normalised = [], []
    with progress.phase(f"{p.task}: disorders at severity {p.severity:g}",
                        total=len(p.disorders) * len(systems)) as bar:
        for name in p.disorders:
            sick = disorders.get(name, severity=p.severity, seed=seed)
            for key, system in systems.items():
                acc, status = float("nan"), "does not apply"
                if sick.applies_to(system):
                    try:
                        acc, status = sick.apply(system).evaluate(test, seed=seed).accuracy, "applies"
                    except ValueError:  # a lesion the system cannot simulate faithfully (it says why)
                        status = "refused"
                cell = {"system": key, "disorder": name, "status": status}
                lesioned.append({**cell, "value": acc})
                span = healthy[key] - level
                normalised.append({**cell, "value": (acc - level) / span if abs(span) > 1e-12 else float("nan")})
                bar.update(1)
    return {"accuracy": accuracy, "accuracy_over_time": over_time, "similarity": similarity,
            "input_similarity": to_input, "lesioned_accuracy": lesioned, "normalised_accuracy": normalised,
            "chance": level, "energy_pj": energy, **ephys.merge(*records)}


# ----------------------------------------------------------------------------- summary and figures

def _tasks(table) -> list[str]:
    return [t for t in TASKS if t in set(table["task"])]


def _systems(part) -> list[str]:
    return [s for s in LEARNERS if s in set(part["system"].dropna())]


def final_accuracy(table):
    """Per task and system: test accuracy at the largest samples_seen, mean, sd and n over seeds."""
    rows = table[table["metric"] == "accuracy"]
    last = rows[rows["samples_seen"] == rows.groupby("task")["samples_seen"].transform("max")]
    return last.groupby(["task", "system"])["value"].agg(["mean", "std", "count"]).reset_index()


def summary(table) -> str:
    lines = []
    for task in _tasks(table):
        part = table[table["task"] == task]
        acc = final_accuracy(part).set_index("system")
        n_max = int(part["samples_seen"].max())
        lines.append(f"{task}: test accuracy after {n_max} samples seen, mean ± sd over seeds:")
        for s in _systems(part):
            r = acc.loc[s]
            lines.append(f"  {LABELS[s]:<26} {r['mean']:.3f} ± {0 if np.isnan(r['std']) else r['std']:.3f} "
                         f"(n={int(r['count'])})")
        sim = part[part["metric"] == "similarity"].groupby(["system_a", "system_b", "measure"])["value"].mean()
        if len(sim):
            lines.append("  CKA / RSA between first hidden layers (mean over seeds):")
            for a, b in dict.fromkeys((a, b) for a, b, _ in sim.index):
                lines.append(f"    {a:>9} - {b:<9} {sim.get((a, b, 'cka'), np.nan):.2f} / "
                             f"{sim.get((a, b, 'rsa'), np.nan):.2f}")
            ref = part[part["metric"] == "input_similarity"].groupby(["system", "measure"])["value"].mean()
            for s in _systems(part[part["metric"] == "input_similarity"]):
                lines.append(f"    {'pixels':>9} - {s:<9} {ref.get((s, 'cka'), np.nan):.2f} / "
                             f"{ref.get((s, 'rsa'), np.nan):.2f}")
        energy = part[part["metric"] == "energy_pj"].groupby("system")["value"].mean()
        if len(energy):
            lines.append("  energy per test sample (nJ, bridge.energy; mean over seeds): "
                         + ", ".join(f"{s} {energy[s] * 1e-3:.3g}" for s in _systems(part) if s in energy))
        rob = part[part["metric"] == "normalised_accuracy"]
        if len(rob):
            sev = rob["severity"].iloc[0]
            lines.append(f"  normalised accuracy under each disorder at severity {sev:g} (1 = healthy, 0 = chance; "
                         "n/a: does not apply):")
            systems = _systems(rob)
            lines.append("    " + f"{'disorder':<22}" + "".join(f"{s:>12}" for s in systems))
            for d in [d for d in DISORDERS if d in set(rob["disorder"])]:
                cells = []
                for s in systems:
                    r = rob[(rob["disorder"] == d) & (rob["system"] == s)]
                    status = r["status"].iloc[0] if len(r) else "-"
                    text = {"applies": f"{r['value'].mean():.2f}", "does not apply": "n/a"}.get(status, status)
                    cells.append(f"{text:>12}")
                lines.append(f"    {d:<22}" + "".join(cells))
    return "\n".join(lines)


def _chance(table, task) -> float:
    rows = table[(table["metric"] == "chance") & (table["task"] == task)]
    return float(rows["value"].mean()) if len(rows) else 0.1


def _over(table) -> str:
    n = int(table["seed"].nunique())
    return f"over {n} seeds" if n > 1 else "one seed"


def _figure_legend(fig, axes) -> None:
    """One legend under the panels, each label once (in-panel legends would cover the lines)."""
    found = {}
    for ax in axes:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            found.setdefault(lab, h)
        if ax.get_legend():
            ax.get_legend().remove()
    fig.legend(found.values(), found.keys(), loc="outside lower center", ncols=min(len(found), 3), frameon=False,
               fontsize=7)


def _time_ticks(ax, times) -> None:
    """Log time axis with plain labels at round values inside the measured range."""
    lo, hi = min(times), max(times)
    ticks = [t for t in (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000) if lo <= t <= hi]
    ax.set_xticks(ticks, [f"{t:g}" for t in ticks])
    ax.minorticks_off()


def figures(table, out_dir: Path) -> list[Path]:
    """learning_curves, learning_time, learning_similarity, learning_robustness, learning_energy
    and learning_ephys_<task>_<learner> (module docstring)."""
    paths = _curves(table, out_dir)
    paths += _time(table, out_dir)
    paths += _similarity(table, out_dir)
    paths += _robustness(table, out_dir)
    paths += _energy(table, out_dir)
    return paths + _ephys(table, out_dir)


def _curves(table, out_dir):
    from . import style

    tasks = _tasks(table)
    fig, axes = style.figure(1, len(tasks), squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks):
        part = table[(table["task"] == task) & (table["metric"] == "accuracy")]
        for s in _systems(part):
            style.mean_spread(ax, part[part["system"] == s], x="samples_seen", metric="accuracy",
                              spread="boot95", label=LABELS[s], **STYLE[s])
        ax.axhline(_chance(table, task), color="0.5", ls=":", lw=1, label="chance")
        ticks = sorted(part["samples_seen"].unique())
        ax.set(xscale="log", xlabel="training samples seen", ylabel="test accuracy", ylim=(0, 1.02),
               title=task.replace("_", " "))
        ax.set_xticks(ticks, [f"{int(t)}" for t in ticks])
        ax.minorticks_off()
    _figure_legend(fig, axes[0])
    fig.suptitle(f"How fast does each learner learn? (mean and 95% bootstrap CI, {_over(table)})", fontsize=10)
    return style.save(fig, out_dir, "learning_curves")


def _time(table, out_dir):
    from . import style

    rows = table[table["metric"] == "accuracy_over_time"]
    tasks = [t for t in _tasks(table) if (rows["task"] == t).any()]
    if not tasks:
        return []
    fig, axes = style.figure(1, len(tasks), squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks):
        part = rows[rows["task"] == task]
        for s in _systems(part):
            style.mean_spread(ax, part[part["system"] == s], x="time_ms", metric="accuracy_over_time",
                              spread="boot95", label=LABELS[s], **STYLE[s])
        acc = final_accuracy(table[table["task"] == task]).set_index("system")
        if "ann" in acc.index:
            ax.axhline(acc.loc["ann", "mean"], color=STYLE["ann"]["color"], ls="--", lw=1,
                       label=f"{LABELS['ann']} (no time)")
        ax.axhline(_chance(table, task), color="0.5", ls=":", lw=1, label="chance")
        ax.set(xscale="log", xlabel="simulated time read out at (ms)", ylabel="test accuracy", ylim=(0, 1.02),
               title=task.replace("_", " ") + ("\n(surrogate: one row per ms, read out after each;\n"
                                               "converted: 8 rows at each time per row, read out at the end)"
                                               if task == "digit_rows" else ""))
        _time_ticks(ax, part["time_ms"])
    _figure_legend(fig, axes[0])
    fig.suptitle("How long must a spiking learner run? Accuracy against simulated time, after the last\n"
                 f"checkpoint (mean and 95% bootstrap CI, {_over(table)}; dashed: the ANN, which has no time)",
                 fontsize=10)
    return style.save(fig, out_dir, "learning_time")


def _similarity(table, out_dir):
    from . import style

    rows = table[table["metric"] == "similarity"]
    tasks = [t for t in _tasks(table) if (rows["task"] == t).any()]
    if not tasks:
        return []
    measures = ("cka", "rsa")
    fig, axes = style.figure(len(tasks), len(measures), squeeze=False, width=3.3 * len(measures),
                             height=3.0 * len(tasks))
    for row, task in enumerate(tasks):
        part = rows[rows["task"] == task]
        ref = table[(table["metric"] == "input_similarity") & (table["task"] == task)]
        names = ["pixels"] * (not ref.empty) + [s for s in LEARNERS if s in set(part["system_a"]) | set(part["system_b"])]
        for col, measure in enumerate(measures):
            ax = axes[row, col]
            m = np.eye(len(names))
            mean = part[part["measure"] == measure].groupby(["system_a", "system_b"])["value"].mean()
            pairs = list(mean.items()) + [(("pixels", s), v) for s, v in
                                          ref[ref["measure"] == measure].groupby("system")["value"].mean().items()]
            for (a, b), v in pairs:
                m[names.index(a), names.index(b)] = m[names.index(b), names.index(a)] = v
            ax.imshow(m, vmin=0, vmax=1, cmap="viridis")
            for i in range(len(names)):
                for j in range(len(names)):
                    ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="k" if m[i, j] > 0.6 else "w")
            short = [SHORT[s] for s in names]
            ax.set_xticks(range(len(names)), short, fontsize=7, rotation=30, ha="right")
            ax.set_yticks(range(len(names)), short, fontsize=7)
            ax.set_title(f"{task.replace('_', ' ')}: {'linear CKA' if measure == 'cka' else 'RSA (Spearman)'}")
    fig.suptitle("Do the learners represent the test stimuli alike?\nFirst hidden layers (and the pixels, "
                 f"for reference) on the same test stimuli, mean {_over(table)}", fontsize=10)
    return style.save(fig, out_dir, "learning_similarity")


def _robustness(table, out_dir):
    from matplotlib.patches import Patch

    from . import style
    from .stats import bootstrap_ci

    rows = table[table["metric"] == "normalised_accuracy"]
    tasks = [t for t in _tasks(table) if (rows["task"] == t).any()]
    if not tasks:
        return []
    names = [d for d in DISORDERS if d in set(rows["disorder"])]
    fig, axes = style.figure(len(tasks), 1, squeeze=False, sharey=True, width=max(6.5, 0.95 * len(names) + 2),
                             height=2.6 * len(tasks) + 1.0)
    shown = []
    for ax, task in zip(axes[:, 0], tasks):
        part = rows[rows["task"] == task]
        systems = _systems(part)
        shown += [s for s in systems if s not in shown]
        width = 0.8 / len(systems)
        for k, s in enumerate(systems):
            for d_i, d in enumerate(names):
                cell = part[(part["system"] == s) & (part["disorder"] == d)]
                x = d_i + (k - (len(systems) - 1) / 2) * width
                status = cell["status"].iloc[0] if len(cell) else "does not apply"
                if status != "applies":
                    ax.text(x, 0.02, "n/a" if status == "does not apply" else status, rotation=90, fontsize=6,
                            ha="center", va="bottom", color=STYLE[s]["color"])
                    continue
                mean, lo, hi = bootstrap_ci(cell["value"])
                ax.bar(x, mean, width, yerr=[[mean - lo], [hi - mean]], capsize=2, color=STYLE[s]["color"])
        ax.axhline(0, color="0.5", ls=":", lw=1)
        ax.axhline(1, color="0.7", lw=0.6)
        ax.set_xticks(range(len(names)), [d.replace("_", "\n") for d in names], fontsize=7)
        ax.set(xlim=(-0.5, len(names) - 0.5), ylabel="normalised accuracy", ylim=(-0.2, 1.25),
               title=task.replace("_", " "))
    fig.legend([Patch(color=STYLE[s]["color"]) for s in shown], [LABELS[s] for s in shown],
               loc="outside lower center", ncols=len(shown), frameon=False)
    sev = rows["severity"].iloc[0]
    fig.suptitle(f"How does each learner stand up to each disorder at severity {sev:g}?\n"
                 f"(acc - chance) / (healthy - chance), mean and 95% bootstrap CI, {_over(table)}. "
                 "n/a: the disorder does not apply;\nrefused: the system cannot simulate that lesion "
                 "faithfully (bridge.systems.SurrogateSystem)", fontsize=9)
    return style.save(fig, out_dir, "learning_robustness")


def _energy(table, out_dir):
    from bridge.energy import OpCosts

    from . import style
    from .stats import bootstrap_ci

    rows = table[table["metric"] == "energy_pj"]
    tasks = [t for t in _tasks(table) if (rows["task"] == t).any()]
    if not tasks:
        return []
    fig, axes = style.figure(1, len(tasks), squeeze=False, sharey=True)
    for ax, task in zip(axes[0], tasks):
        part = rows[rows["task"] == task]
        acc = table[(table["task"] == task) & (table["metric"] == "accuracy")]
        acc = acc[acc["samples_seen"] == acc["samples_seen"].max()]
        for s in _systems(part):
            e_mean, e_lo, e_hi = bootstrap_ci(part[part["system"] == s]["value"] * 1e-3)  # nJ
            a_mean, a_lo, a_hi = bootstrap_ci(acc[acc["system"] == s]["value"])
            ax.errorbar(e_mean, a_mean, xerr=[[e_mean - e_lo], [e_hi - e_mean]], yerr=[[a_mean - a_lo], [a_hi - a_mean]],
                        marker="o", ms=6, capsize=2, linestyle="none", color=STYLE[s]["color"], label=LABELS[s])
        ax.axhline(_chance(table, task), color="0.5", ls=":", lw=1, label="chance")
        ax.set(xscale="log", xlabel="energy per sample (nJ)", ylabel="final test accuracy", ylim=(0, 1.02),
               title=task.replace("_", " "))
    _figure_legend(fig, axes[0])
    costs = OpCosts()
    fig.suptitle(f"What does each learner's answer cost? Final accuracy against energy per sample\n"
                 f"(bridge.energy: MAC {costs.mac_pj:g} pJ, AC {costs.ac_pj:g} pJ, {costs.source}; analog input "
                 f"layers: one MAC per synapse and ms; mean and 95% bootstrap CI, {_over(table)})", fontsize=9)
    return style.save(fig, out_dir, "learning_energy")


def _ephys(table, out_dir):
    """One bio.analysis.ephys_figure per task and spiking learner, from the records the
    lowest seed's point of that task kept (studies.ephys)."""
    paths = []
    for task in _tasks(table):
        recs, seed = ephys.stored(table, out_dir, task=task)
        n_samples = int(table.loc[table["task"] == task, "n_ephys"].iloc[0])
        for s in _systems(table[table["task"] == task]):
            rec = recs.get(s)
            if rec is None:
                continue
            pop = rec.populations[0]
            title = (f"{LABELS[s]} on {task.replace('_', ' ')}: {pop} ({rec.n_neurons[pop]} neurons), "
                     f"{n_samples} test samples shown one after another "
                     f"({rec.duration_s * 1e3:g} ms), after the last checkpoint, seed {seed}")
            paths += ephys.figure(rec, out_dir, f"learning_ephys_{task}_{s}", title=title,
                                  bin_s=1e-3 if rec.duration_s < 0.2 else 5e-3)
    return paths
