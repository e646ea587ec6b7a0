"""Unsupervised digit learning with STDP (Diehl & Cook 2015, Front. Comput. Neurosci. 9:99).

    net = DiehlCook(n_exc=400)
    net.fit(x_train, y_train, epochs=1, target="cython")   # x (N, 64) in [0, 1]
    acc = net.evaluate(x_test, y_test)

The network (paper Fig. 1):
- "in":  one Poisson neuron per pixel, rate proportional to the pixel intensity;
- "exc": conductance-based LIF neurons whose threshold v_thresh + theta adapts
         (theta jumps by theta_plus at each spike and decays with tau_theta);
- "inh": one inhibitory neuron per excitatory neuron ("exc->inh", one to one),
         which inhibits every *other* excitatory neuron ("inh->exc"): a soft
         winner-take-all;
- "in->exc" is all to all and plastic: STDP with the paper's presynaptic-trace rule
  (Diehl & Cook 2015, Eq. 3)  dw = eta_post * (x_pre - x_tar) * (w_max - w)**mu
  at each postsynaptic spike; x_pre jumps by 1 at each input spike and decays with
  tau_pre. After each sample the incoming weights of every excitatory neuron are
  rescaled to sum to `w_total` (the paper's normalisation, Sec. 2.4).

Samples are shown for `t_present`, then the input falls silent for `t_rest` so the
variables relax (the paper's 350 ms + 150 ms). A whole training set runs as ONE Brian2
simulation (cut into a few chunks for the progress bar): a TimedArray holds the input
rates, one row per sample, and a `run_regularly` at the sample period normalises the
weights. Without plasticity (labelling, testing, `responses`) many samples run at once
as independent copies of the network (`bio.spec.replicate`).

After training, each excitatory neuron is labelled with the class it responded to most
on average over the TRAINING samples (plasticity off); a test sample gets the class
whose labelled neurons have the highest mean spike count (paper Sec. 2.5).

Changes from the paper, for 64-pixel 8x8 digits (~1.3k training images) instead of
784-pixel MNIST (60k images) -- each one is a field of `DiehlCookParams`:
- input rate: intensity 1 -> 200 Hz (paper: 63.75 Hz). 64 pixels give ~12x fewer input
  spikes than 784; a higher rate restores a comparable drive and lets a sample be
  shown for 150 ms instead of 350 ms;
- normalisation total w_total = 10 (paper 78 for 784 inputs; here a mean weight of
  0.16 instead of 0.1): with 200 Hz inputs a prototype-matched neuron then gets a
  mean conductance ge ~ 1.6 (v settles well above threshold) and an unmatched
  one stays close to threshold, as on MNIST;
- theta_plus = 2 mV, tau_theta = 1000 s (paper 0.05 mV, 1e7 ms): with 400 neurons and
  ~1.3k samples each neuron wins ~40x fewer samples per epoch than on MNIST, so the
  homeostasis must act ~40x faster to spread the samples over the neurons (0.5 mV
  gave 30% test accuracy at 100 neurons / 300 samples, 2 mV gave 84%);
- learning rate eta_post = 0.05 (paper code: 0.01): each neuron wins only a few
  samples per epoch, so its weights must move further per win;
- dt stays the paper's 0.5 ms: the winner-take-all loop exc -> inh -> exc takes two
  steps, and at 1 ms many of 400 near-identical neurons crossed threshold inside that
  window, fired together, and their thresholds all ran away (10% test accuracy);
- rest 50 ms instead of 150 ms: each sample onset resets v, ge, gi to rest (a
  `run_regularly`), which is what the paper's rest period achieves; the short rest
  still lets the STDP traces (tau 20 ms) decay;
- the paper repeats a sample at a higher rate (+32 Hz) when the excitatory layer
  fires fewer than 5 spikes. During training this is dropped (it would break the
  single long run). When responses are read (labelling, testing) it is kept: such
  samples are shown again with the rates x`boost` (1.5, i.e. 63.75 -> ~96 Hz in the
  paper's terms) up to `max_repeats` (1 by default, to bound run time) times.
The paper's inhibitory layer is kept as a layer (not folded into direct lateral
inhibition) so that `bio.lesion` can lesion inhibitory neurons and their synapses.

NetworkSpec fields (what `bio.lesion` edits) are honoured by the Brian2 builder:
- alive False: the neuron never spikes and its synapses (in and out) are not built;
- thresh_shift: threshold += shift * (v_thresh - v_reset) for "exc" and "inh";
  Poisson inputs have no threshold, so there the rate is scaled by (1 - shift)
  (clipped at 0): a raised threshold makes a sensory neuron fire less;
- noise_sigma: "exc"/"inh" get an Ornstein-Uhlenbeck current term
  sigma*(v_thresh - v_reset)*sqrt(2/tau_m)*xi, i.e. a free membrane's voltage std is
  noise_sigma*(v_thresh - v_reset); "in" gets a spontaneous rate of
  noise_sigma * rate_max;
- delay_s: per-synapse conduction delays; transmits False: the synapse is not built.
Weights: "in->exc" are dimensionless conductance jumps (the paper's ge), learned by
`fit`; "exc->inh" 10.4 and "inh->exc" 17.0 are the paper's fixed values.
"""
from __future__ import annotations

import gc
import math
import tempfile
import time
from dataclasses import dataclass, field

import brian2 as b2
import numpy as np
from brian2 import Hz, Quantity, mV, ms, second

from .record import SpikeRecord
from .simulate import check_target
from .spec import Connection, NetworkSpec, Population, replicate


_BUILD_DIRS: dict = {}  # cpp_standalone build directories of this process


def _q(value):  # a Brian2 Quantity is an ndarray, so dataclasses reject it as a plain default
    return field(default_factory=lambda: value)


@dataclass(frozen=True)
class DiehlCookParams:
    """Parameters of the Diehl & Cook (2015) network (paper values unless noted in the
    module docstring, which lists every change and why)."""

    # presentation
    dt: Quantity = _q(0.5 * ms)             # paper's step; 1 ms breaks the winner-take-all
    t_present: Quantity = _q(150 * ms)      # paper 350 ms
    t_rest: Quantity = _q(50 * ms)          # paper 150 ms
    rate_max: Quantity = _q(200 * Hz)       # rate at intensity 1 (paper 63.75 Hz)
    min_spikes: int = 5                     # fewer exc spikes than this -> show again...
    boost: float = 1.5                      # ...with rates x boost (paper +32 Hz)
    max_repeats: int = 1
    # excitatory neurons (paper Sec. 2.1)
    v_rest_e: Quantity = _q(-65 * mV)
    v_reset_e: Quantity = _q(-65 * mV)
    v_thresh_e: Quantity = _q(-52 * mV)
    tau_e: Quantity = _q(100 * ms)
    t_ref_e: Quantity = _q(5 * ms)
    E_inh_e: Quantity = _q(-100 * mV)
    # inhibitory neurons
    v_rest_i: Quantity = _q(-60 * mV)
    v_reset_i: Quantity = _q(-45 * mV)
    v_thresh_i: Quantity = _q(-40 * mV)
    tau_i: Quantity = _q(10 * ms)
    t_ref_i: Quantity = _q(2 * ms)
    E_inh_i: Quantity = _q(-85 * mV)
    # synapses (conductances are dimensionless, in units of the leak conductance)
    E_exc: Quantity = _q(0 * mV)
    tau_ge: Quantity = _q(1 * ms)
    tau_gi: Quantity = _q(2 * ms)
    w_exc_inh: float = 10.4
    w_inh_exc: float = 17.0
    # adaptive threshold (paper 0.05 mV, 1e7 ms)
    theta_plus: Quantity = _q(2 * mV)
    tau_theta: Quantity = _q(1000 * second)
    # STDP on in->exc (paper Eq. 3)
    w_init_max: float = 0.3                 # initial weights uniform in [0, w_init_max]
    w_max: float = 1.0
    w_total: float = 10.0                   # incoming weight sum per exc neuron (paper 78)
    eta_post: float = 0.05
    x_tar: float = 0.4
    mu: float = 0.2
    tau_pre: Quantity = _q(20 * ms)

    @property
    def period(self) -> Quantity:
        return self.t_present + self.t_rest


def _all_but_self(n: int):
    """(i, j) of every pair i != j among n neurons, i-major."""
    i, j = np.divmod(np.arange(n * n, dtype=np.int64), n)
    keep = i != j
    return i[keep], j[keep]


@dataclass
class DiehlCook(NetworkSpec):
    """The Diehl & Cook (2015) STDP network as a lesionable NetworkSpec.

    n_exc:   excitatory (= inhibitory) neurons; n_input: input pixels.
    theta_v: (n_exc,) adaptive threshold in volts (learned by `fit`).
    labels:  (n_exc,) int class of each exc neuron, -1 if it never fired while labelling.
    The learned input weights live in `connections["in->exc"].w` (i = pixel, j = neuron).
    """

    n_exc: int = 100
    n_input: int = 64
    params: DiehlCookParams = field(default_factory=DiehlCookParams)
    seed: int = 0
    theta_v: np.ndarray = None
    labels: np.ndarray = None
    classes: np.ndarray = None
    last_train_s: float = 0.0

    def __post_init__(self):
        if self.n_exc < 1 or self.n_input < 1:
            raise ValueError(f"n_exc and n_input must be >= 1, got {self.n_exc} and {self.n_input}")
        n_e, n_in, p = self.n_exc, self.n_input, self.params
        if not self.populations:
            self.populations = {"in": Population(n_in), "exc": Population(n_e), "inh": Population(n_e)}
        if not self.connections:
            rng = np.random.default_rng(self.seed)
            i_in, j_in = np.divmod(np.arange(n_in * n_e, dtype=np.int64), n_e)
            i_ie, j_ie = _all_but_self(n_e)
            # uniform in [0, w_init_max], then normalised as before every sample (Sec. 2.4)
            w_in = rng.uniform(0, p.w_init_max, (n_in, n_e))
            w_in = (w_in * p.w_total / w_in.sum(axis=0)).ravel()  # i-major like i_in, j_in
            self.connections = {
                "in->exc": Connection("in", "exc", i_in, j_in, w_in, kind="exc"),
                "exc->inh": Connection("exc", "inh", np.arange(n_e), np.arange(n_e), np.full(n_e, p.w_exc_inh), kind="exc"),
                "inh->exc": Connection("inh", "exc", i_ie, j_ie, np.full(len(i_ie), p.w_inh_exc), kind="inh"),
            }
        if self.theta_v is None:
            self.theta_v = np.zeros(n_e)
        self.check()

    # ------------------------------------------------------------------ public API
    def weights(self) -> np.ndarray:
        """(n_input, n_exc) input weights; blocked or dead synapses read 0."""
        c = self.connections["in->exc"]
        w = np.zeros((self.populations["in"].n, self.populations["exc"].n))
        act = c.active(self.populations)
        w[c.i[act], c.j[act]] = c.w[act]
        return w

    def fit(self, x, y, epochs: int = 1, target: str = "cython", seed: int = 0,
            progress: bool = True) -> "DiehlCook":
        """Train input weights and thresholds by STDP on x, then label neurons from x, y.

        x: (N, n_input) intensities in [0, 1]; y: (N,) int class labels.
        Training shows the samples in a fresh random order each epoch. Returns self.
        """
        return self.continue_training(x, y, epochs=epochs, target=target, seed=seed, progress=progress)

    def continue_training(self, x, y, epochs: int = 1, target: str = "cython", seed: int = 0,
                          progress: bool = True) -> "DiehlCook":
        """More STDP from the current weights and thresholds (e.g. after a lesion), then
        relabel the neurons on x, y. Shapes as in `fit`. Returns self."""
        x, y = self._check_xy(x, y)
        if epochs < 1:
            raise ValueError(f"epochs must be >= 1, got {epochs}")
        rng = np.random.default_rng(seed)
        order = np.concatenate([rng.permutation(len(x)) for _ in range(epochs)])
        start = time.perf_counter()
        self._train(x[order], target, seed, progress)
        self.last_train_s = time.perf_counter() - start  # wall time of the STDP phase
        self.label(x, y, target=target, seed=seed + 1, progress=progress)
        return self

    def label(self, x, y, target: str = "cython", seed: int = 0, progress: bool = False) -> np.ndarray:
        """Label each exc neuron with the class of its highest mean response on x
        (plasticity off). Use training data only. Returns and stores labels (n_exc,)."""
        x, y = self._check_xy(x, y)
        counts = self.responses(x, target=target, seed=seed, progress=progress)  # (N, n_exc)
        self.classes = np.unique(y)
        mean = np.stack([counts[y == c].mean(axis=0) for c in self.classes])  # (C, n_exc)
        self.labels = np.where(mean.max(axis=0) > 0, self.classes[mean.argmax(axis=0)], -1)
        return self.labels

    def vote(self, counts) -> np.ndarray:
        """Classes from spike counts (N, n_exc) by the labelled neurons' votes: the class
        whose neurons have the highest mean count. Returns (N,) labels."""
        if self.labels is None:
            raise ValueError("the network has no neuron labels yet; call fit() or label() first")
        counts = np.asarray(counts, dtype=float)
        score = np.full((len(counts), len(self.classes)), -np.inf)  # (N, C)
        for k, c in enumerate(self.classes):
            members = self.labels == c
            if members.any():
                score[:, k] = counts[:, members].mean(axis=1)
        return self.classes[score.argmax(axis=1)]

    def predict(self, x, target: str = "cython", seed: int = 0, progress: bool = False) -> np.ndarray:
        """(N,) predicted labels for x (N, n_input) in [0, 1]."""
        return self.vote(self.responses(x, target=target, seed=seed, progress=progress))

    def evaluate(self, x, y, target: str = "cython", seed: int = 0, progress: bool = False) -> float:
        """Fraction of samples of x (N, n_input) whose predicted label equals y (N,)."""
        x, y = self._check_xy(x, y)
        return float(np.mean(self.predict(x, target=target, seed=seed, progress=progress) == y))

    def responses(self, x, target: str = "cython", seed: int = 0, progress: bool = False,
                  batch: int | None = None) -> np.ndarray:
        """Exc spike counts per sample with plasticity off: (N, n_exc) int64.

        Samples run `batch` at a time as independent copies of the network; a sample
        with fewer than `min_spikes` exc spikes is shown again with its rates x`boost`
        (paper Sec. 2.5), up to `max_repeats` times.
        """
        x = self._check_x(x)
        check_target(target)
        p = self.params
        if batch is None:  # bound the replicated synapses to a few million
            n_syn = sum(c.n_syn for c in self.connections.values())
            batch = int(np.clip(3_000_000 // max(n_syn, 1), 1, 256))
        counts = np.zeros((len(x), self.populations["exc"].n), dtype=np.int64)
        todo, scale = np.arange(len(x)), 1.0
        for repeat in range(p.max_repeats + 1):
            counts[todo] = self._present(x[todo] * scale, plastic=False, copies=min(batch, len(todo)),
                                         target=target, seed=seed + 1000 * repeat, progress=progress)
            todo = todo[counts[todo].sum(axis=1) < p.min_spikes]
            if not len(todo) or repeat == p.max_repeats:
                break
            scale *= p.boost
        return counts

    def record(self, x, target: str = "numpy", seed: int = 0) -> SpikeRecord:
        """Spikes of all populations ("in", "exc", "inh") while x (N, n_input) is shown
        sample after sample (one copy, plasticity off). Sample k occupies
        [k*period, (k+1)*period) of the record."""
        x = self._check_x(x)
        check_target(target)
        spikes = self._run(x, plastic=False, copies=1, target=target, seed=seed, progress=False,
                           monitor_all=True)["spikes"]
        duration = len(x) * float(self.params.period / second)
        times = {k: t for k, (t, _) in spikes.items()}
        idx = {k: i for k, (_, i) in spikes.items()}
        sizes = {k: self.populations[k].n for k in spikes}
        for k in times:
            order = np.argsort(times[k], kind="stable")
            times[k], idx[k] = times[k][order], idx[k][order]
        return SpikeRecord(times, idx, sizes, duration)

    # ------------------------------------------------------------------ internals
    def _check_x(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        n_in = self.populations["in"].n
        if x.ndim != 2 or x.shape[1] != n_in:
            raise ValueError(f"x must be (samples, {n_in}) intensities, got shape {x.shape}")
        if x.size and (x.min() < 0 or x.max() > 1 or not np.isfinite(x).all()):
            raise ValueError("x must hold intensities in [0, 1]; scale the data first")
        return x

    def _check_xy(self, x, y):
        x = self._check_x(x)
        y = np.asarray(y)
        if y.shape != (len(x),):
            raise ValueError(f"y must be (samples,) = ({len(x)},), got shape {y.shape}")
        return x, y.astype(np.int64)

    def _train(self, x, target, seed, progress) -> np.ndarray:
        """STDP on x shown in the given order; updates weights and theta in place.
        Returns the exc spike count of each training sample (N,)."""
        check_target(target)
        out = self._run(x, plastic=True, copies=1, target=target, seed=seed, progress=progress)
        c = self.connections["in->exc"]
        act = c.active(self.populations)
        c.w = c.w.copy()
        c.w[act] = out["w"]
        alive = self.populations["exc"].alive
        self.theta_v = self.theta_v.copy()
        self.theta_v[alive] = out["theta"][alive]
        t, _ = out["spikes"]["exc"]
        sample = np.floor(t / float(self.params.period / second) + 1e-9).astype(np.int64)
        return np.bincount(sample, minlength=len(x))[:len(x)]

    def _present(self, x, plastic, copies, target, seed, progress) -> np.ndarray:
        """Exc spike counts (N, n_exc) for x shown `copies` at a time."""
        t, i = self._run(x, plastic=plastic, copies=copies, target=target, seed=seed,
                         progress=progress)["spikes"]["exc"]
        n_e = self.populations["exc"].n
        period = float(self.params.period / second)
        rounds = np.floor(t / period + 1e-9).astype(np.int64)
        sample = rounds * copies + i // n_e  # copy c of round r shows sample r*copies + c
        keep = sample < len(x)
        flat = np.bincount(sample[keep] * n_e + i[keep] % n_e, minlength=len(x) * n_e)
        return flat.reshape(len(x), n_e).astype(np.int64)

    def _run(self, x, plastic, copies, target, seed, progress, monitor_all=False) -> dict:
        """Build and simulate; x is shown `copies` samples at a time for ceil(N/copies)
        periods. Returns plain NumPy: {"spikes": {pop: (times_s, indices)}, and with
        plasticity "w": learned weights of the active in->exc synapses, "theta": (n_exc,)}."""
        p = self.params
        n_rounds = math.ceil(len(x) / copies)
        standalone = target == "cpp_standalone"
        previous = b2.prefs.codegen.target
        if standalone:
            # one build directory per process and network shape: later builds recompile
            # only the files whose code changed (Brian2 leaves identical files alone)
            key = (plastic, copies, monitor_all, self.populations["exc"].n)
            directory = _BUILD_DIRS.setdefault(key, tempfile.mkdtemp(prefix="brainbridge_stdp_"))
            b2.set_device("cpp_standalone", directory=directory, build_on_run=False)
            # the machine is shared: compile with two jobs, not make's unbounded -j
            make_args = b2.prefs.devices.cpp_standalone.extra_make_args_unix
            b2.prefs.devices.cpp_standalone.extra_make_args_unix = ["-j2"]
        else:
            b2.prefs.codegen.target = target
        try:
            np.random.seed(seed)
            b2.seed(seed)
            net, objs = self._build(x, plastic, copies, monitor_all)
            # with plasticity, one more step lets the normalisation act after the last sample
            tail = p.dt if plastic else 0 * second
            if standalone:  # runs are deferred to the compiled program: no progress to show
                net.run(n_rounds * p.period + tail)
                b2.device.build(directory=directory, compile=True, run=True, debug=False, clean=False)
            else:
                bar = None
                if progress:
                    from tqdm.auto import tqdm
                    bar = tqdm(total=len(x), desc="STDP training" if plastic else "responses",
                               unit="sample", leave=False)
                chunk, done = max(1, min(n_rounds, 100 if plastic else 20)), 0
                while done < n_rounds:
                    step = min(chunk, n_rounds - done)
                    done += step
                    net.run(step * p.period + (tail if done == n_rounds else 0 * second))
                    if bar is not None:
                        bar.update(min(done * copies, len(x)) - bar.n)
                if bar is not None:
                    bar.close()
            out = {"spikes": {k: (np.asarray(m.t_[:], dtype=float), np.asarray(m.i[:], dtype=np.int64))
                              for k, m in objs["monitors"].items()}}
            if plastic:
                syn = objs["syn"].get("in->exc")
                out["w"] = np.zeros(0) if syn is None else np.asarray(syn.w_[:], dtype=float).copy()
                out["theta"] = np.asarray(objs["groups"]["exc"].theta_[:], dtype=float).copy()
            return out
        finally:
            if standalone:
                b2.prefs.devices.cpp_standalone.extra_make_args_unix = make_args
                b2.device.reinit()
                b2.set_device("runtime")
            b2.prefs.codegen.target = previous
            gc.collect()  # free the Brian2 objects so the next build reuses names (and compiled code)

    def _build(self, x, plastic, copies, monitor_all):
        p, pops = self.params, self.populations
        n_in, n_e = pops["in"].n, pops["exc"].n
        n_rounds = math.ceil(len(x) / copies)
        # input rates (rounds, copies * n_in); rows padded to a power of two so that cython
        # reuses compiled code across data sets of similar size (the size is in the code)
        rows = 1 << max(n_rounds - 1, 1).bit_length()
        rates = np.zeros((rows, copies * n_in))
        padded = np.zeros((n_rounds * copies, n_in))
        padded[:len(x)] = x
        rates[:n_rounds] = padded.reshape(n_rounds, copies * n_in)
        rates *= float(p.rate_max / Hz)
        stim = b2.TimedArray(rates * Hz, dt=p.dt, name="dc_stim")
        period_steps = int(round(float(p.period / p.dt)))
        present_steps = int(round(float(p.t_present / p.dt)))
        ns = {"stim": stim, "stim_dt": p.dt, "period_steps": period_steps, "present_steps": present_steps}
        ns.update({k: getattr(p, k) for k in p.__dataclass_fields__
                   if k != "dt" and isinstance(getattr(p, k), (Quantity, float))})

        pin = pops["in"]
        g_in = b2.NeuronGroup(
            copies * n_in, "alive : boolean (constant)\nscale : 1 (constant)\nbg : Hz (constant)",
            # row k of `stim` sits at time k*dt, so (step // period_steps) picks the sample
            threshold="alive and rand() < (scale * stim((timestep(t, dt) // period_steps) * stim_dt, i)"
                      " * int(timestep(t, dt) % period_steps < present_steps) + bg) * dt",
            namespace=ns, dt=p.dt, name="dc_in")
        g_in.alive = np.tile(pin.alive, copies)
        g_in.scale = np.tile(np.clip(1.0 - pin.thresh_shift, 0.0, None), copies)
        g_in.bg = pin.noise_sigma * p.rate_max

        def neurons(name, pop, prefix, theta):
            span = getattr(p, f"v_thresh_{prefix}") - getattr(p, f"v_reset_{prefix}")
            noise = ""
            if pop.noise_sigma > 0:
                ns[f"sigma_{prefix}"] = pop.noise_sigma * span
                noise = f" + sigma_{prefix} * sqrt(2 / tau_{prefix}) * xi"
            eqs = (f"dv/dt = ((v_rest_{prefix} - v) + ge * (E_exc - v) + gi * (E_inh_{prefix} - v)) "
                   f"/ tau_{prefix}{noise} : volt (unless refractory)\n"
                   "dge/dt = -ge / tau_ge : 1\ndgi/dt = -gi / tau_gi : 1\n"
                   "shift : volt (constant)\nalive : boolean (constant)\n")
            reset = f"v = v_reset_{prefix}"
            if theta and plastic:
                eqs += "dtheta/dt = -theta / tau_theta : volt\nw_sum : 1\n"
                reset += "; theta += theta_plus"
            elif theta:
                eqs += "theta : volt (constant)\n"
            else:
                eqs += "theta : volt (constant)\n"  # always 0: keeps one threshold expression
            g = b2.NeuronGroup(copies * pop.n, eqs, threshold=f"alive and v > v_thresh_{prefix} + theta + shift",
                               reset=reset, refractory=getattr(p, f"t_ref_{prefix}"), method="euler",
                               namespace=ns, dt=p.dt, name=name)
            g.v = getattr(p, f"v_rest_{prefix}")
            g.alive = np.tile(pop.alive, copies)
            g.shift = np.tile(pop.thresh_shift, copies) * span
            # start each sample from rest: the job the paper's rest period does
            g.run_regularly(f"v = v_rest_{prefix}; ge = 0; gi = 0", dt=p.period, when="start",
                            name=f"{name}_rest")
            return g

        g_e = neurons("dc_exc", pops["exc"], "e", theta=True)
        g_e.theta = np.tile(self.theta_v, copies) * b2.volt
        g_i = neurons("dc_inh", pops["inh"], "i", theta=False)
        groups = {"in": g_in, "exc": g_e, "inh": g_i}

        syns, actives = {}, {}
        for cname, c in self.connections.items():
            act = c.active(pops)
            actives[cname] = act
            if not act.any():  # Brian2 cannot connect an empty index list
                continue
            ci, cj = replicate(c.i[act], c.j[act], pops[c.pre].n, pops[c.post].n, copies)
            target_var = "gi" if c.kind == "inh" else "ge"
            model, on_pre, on_post = "w : 1\n", f"{target_var}_post += w", None
            if cname == "in->exc" and plastic:
                # Diehl & Cook 2015, Eq. 3: potentiation at post spikes, scaled by the
                # distance of the presynaptic trace from its target x_tar
                model += "dxpre/dt = -xpre / tau_pre : 1 (event-driven)\nw_sum_post = w : 1 (summed)\n"
                on_pre += "\nxpre += 1"
                on_post = "w = clip(w + eta_post * (xpre - x_tar) * clip(w_max - w, 0, w_max)**mu, 0, w_max)"
            name = "dc_" + cname.replace("->", "_")
            s = b2.Synapses(groups[c.pre], groups[c.post], model=model, on_pre=on_pre, on_post=on_post,
                            namespace=ns, dt=p.dt, name=name)
            s.connect(i=ci, j=cj)
            w = c.w[act]
            if cname == "in->exc" and plastic:
                total = np.bincount(c.j[act], weights=w, minlength=n_e)[c.j[act]]
                w = np.where(total > 0, w * p.w_total / np.where(total > 0, total, 1.0), w)
            s.w = np.tile(w, copies)
            if np.any(c.delay_s[act] > 0):
                s.delay = np.tile(c.delay_s[act], copies) * second
            if cname == "in->exc" and plastic:
                # normalise incoming weights at every sample onset (paper Sec. 2.4)
                # (w_sum is only summed after the first step, so at t = 0 the weights are
                # normalised in NumPy above and the empty sum leaves them alone)
                s.run_regularly("w = w * (int(w_sum_post <= 0) + int(w_sum_post > 0) * w_total"
                                " / (w_sum_post + int(w_sum_post <= 0)))",
                                dt=p.period, when="start", name=name + "_norm")
            syns[cname] = s

        monitors = {"exc": b2.SpikeMonitor(g_e, name="dc_exc_spikes")}
        if monitor_all:
            monitors.update({"in": b2.SpikeMonitor(g_in, name="dc_in_spikes"),
                             "inh": b2.SpikeMonitor(g_i, name="dc_inh_spikes")})
        net = b2.Network(*groups.values(), *syns.values(), *monitors.values())
        return net, {"groups": groups, "syn": syns, "active": actives, "monitors": monitors}
