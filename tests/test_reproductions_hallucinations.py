"""studies/hallucinations.py (Hoffman & McGlashan 1997, Am J Psychiatry 154:1683) at TINY size:
what reproduces and what does not, checked on the study's own table, for the Elman listener
and its spiking counterpart; the spiking listener's lesions and its Brian2 twin."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import numpy as np
import pytest

import studies
from studyrun import run_tiny, value


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """The TINY preset's table: one seed, the Elman (relu) and the spiking listener."""
    return run_tiny("hallucinations", tmp_path_factory.mktemp("tiny")).table


@pytest.mark.slow  # ~20 s of CPU: two 600-batch trainings, 18 lesioned copies, the figure
def test_tiny_pruning_hallucinates_only_when_heavy(tiny):
    """Hoffman & McGlashan 1997: pruning the weakest working-memory connections leaves word
    detection intact at moderate levels, and heavy pruning (beyond ~65%) makes the network
    report words in silence. Both hold here: at 30% pruning detection is within 2 points and
    the hallucination rate within 1 point of the healthy network's; at 90% detection falls
    and the rate is more than doubled. Their cell-loss result does not reproduce: matched
    cell loss costs far more detection (>= 8 points at 30% of the weights) and produces
    percepts in silence too, more than pruning of the same number of weights."""
    t = tiny[tiny["nonlinearity"] == "relu"]
    det = {(les, f): value(t, "detection", lesion=les, recurrent_lost=f)
           for les in ("pruning", "cell_loss") for f in (0.0, 0.3, 0.9)}
    hal = {(les, f): value(t, "hallucination_rate", lesion=les, recurrent_lost=f)
           for les in ("pruning", "cell_loss") for f in (0.0, 0.3, 0.9)}
    assert det["pruning", 0.0] > 0.7  # the listener hears most words through the noise
    assert abs(det["pruning", 0.3] - det["pruning", 0.0]) < 0.02
    assert abs(hal["pruning", 0.3] - hal["pruning", 0.0]) < 0.01
    assert det["pruning", 0.9] < det["pruning", 0.0] - 0.05
    assert hal["pruning", 0.9] > 2 * hal["pruning", 0.0]
    assert det["cell_loss", 0.3] < det["pruning", 0.3] - 0.08
    assert hal["cell_loss", 0.3] > hal["pruning", 0.3]
    units = t[(t["lesion"] == "cell_loss") & (t["recurrent_lost"] == 0.3)]["units_lost"].iloc[0]
    assert units == pytest.approx(round((1 - np.sqrt(0.7)) * 64) / 64)  # 1 - (1 - u)^2 = 0.3


@pytest.mark.slow  # shares the TINY run above
def test_tiny_spiking_listener_hallucinates_under_pruning_not_cell_loss(tiny):
    """Hoffman & McGlashan 1997 on the spiking counterpart (a recurrent LIF listener): moderate
    pruning of the weakest recurrent synapses leaves detection within 2 points and the rate of
    word percepts in silence within 1 point; 90% pruning costs detection (> 10 points) and
    more than doubles the hallucination rate; heavy cell loss of matched size (90% of the
    recurrent synapses) does not raise it above the healthy rate — the paper's cell-loss
    result, which the Elman listener above does not give. Held for seeds 0, 1 and 2 at this
    size (ratios 3.3, 4.5, 5.5 at 90% pruning; 0.0% under 90% cell loss each time)."""
    t = tiny[tiny["nonlinearity"] == "lif"]
    assert set(t["network"]) == {"spiking"}
    det = {(les, f): value(t, "detection", lesion=les, recurrent_lost=f)
           for les in ("pruning", "cell_loss") for f in (0.0, 0.3, 0.9)}
    hal = {(les, f): value(t, "hallucination_rate", lesion=les, recurrent_lost=f)
           for les in ("pruning", "cell_loss") for f in (0.0, 0.3, 0.9)}
    assert det["pruning", 0.0] > 0.5  # chance is below 0.1 (43 words, most steps are words)
    assert abs(det["pruning", 0.3] - det["pruning", 0.0]) < 0.02
    assert abs(hal["pruning", 0.3] - hal["pruning", 0.0]) < 0.01
    assert det["pruning", 0.9] < det["pruning", 0.0] - 0.10
    assert hal["pruning", 0.9] > 2 * hal["pruning", 0.0]
    assert hal["cell_loss", 0.9] <= hal["pruning", 0.0]


@pytest.fixture(scope="module")
def spiking():
    """A briefly trained spiking listener (32 LIF neurons, 150 batches), its stream, a short
    test stream (3 streams x 12 words) and its labels."""
    import torch

    from ann import word_stream as ws

    torch.set_num_threads(1)
    stream = ws.WordStream(ws.phonetic_codes(16, seed=0), 0.6, (1, 3))
    torch.manual_seed(0)
    net = ws.SpikingListener(16, 32)
    losses = ws.train_listener(net, stream, 150, 16, 20, 3e-3, seed=0)
    assert np.mean(losses[-10:]) < 0.8 * losses[0]  # it learned something
    x, y = stream.sample(3, 12, np.random.default_rng(5))
    return net, x, y


def test_spiking_listener_reports_from_each_words_last_lif_step():
    """The word-stream wrapper adds no dynamics of its own: its logits at word t are the
    SpikingMLP read-out membrane (ann.spiking) at that word's last LIF step, the word held
    for steps_per_word steps."""
    import torch

    from ann import word_stream as ws

    torch.manual_seed(1)
    net = ws.SpikingListener(16, 20, steps_per_word=3)
    x = torch.randn(2, 5, 16)
    held = net.lif_input(x)  # (2, 15, 16)
    assert torch.equal(held[:, 3:6], x[:, 1:2].expand(-1, 3, -1))
    u = net.snn.readout_potential(held)  # (15, 2, V + 1)
    assert torch.allclose(net(x), u[2::3].transpose(0, 1))
    with pytest.raises(ValueError, match="steps_per_word"):
        ws.SpikingListener(16, 20, steps_per_word=0)


def torch_equal(a, b) -> bool:
    return bool((a == b).all())


def test_spiking_lesions_cut_what_they_say(spiking):
    """Pruning removes exactly round(f H^2) recurrent synapses, none stronger than any it
    keeps (weakest first), and nothing else; matched cell loss silences whole neurons (their
    input, recurrent and read-out synapses); working-memory cell loss removes only the
    recurrent axons of round(f H) neurons, which still hear and drive the read-out."""
    from studies import hallucinations as study

    net, _, _ = spiking
    h = net.config["hidden"]
    layer, out = net.snn.hidden[0], net.snn.readout
    v = layer.rec.weight.detach().numpy()

    sick, units = study.lesioned(net, "pruning", 0.6, seed=0)
    v2 = sick.snn.hidden[0].rec.weight.detach().numpy()
    cut = v2 == 0
    assert units == 0.0 and cut.sum() == round(0.6 * h * h)
    assert np.abs(v[cut]).max() <= np.abs(v[~cut]).min()
    assert np.array_equal(v2[~cut], v[~cut])
    assert torch_equal(sick.snn.hidden[0].fc.weight, layer.fc.weight)
    assert torch_equal(sick.snn.readout.fc.weight, out.fc.weight)

    sick, units = study.lesioned(net, "cell_loss", 0.5, seed=0)
    dead = (sick.snn.readout.fc.weight == 0).all(0).numpy()  # neurons nobody hears
    assert units == round((1 - np.sqrt(0.5)) * h) / h and dead.sum() == round(units * h)
    rec = sick.snn.hidden[0].rec.weight.detach().numpy()
    assert (rec[:, dead] == 0).all() and (rec[dead] == 0).all()
    assert (sick.snn.hidden[0].fc.weight[dead] == 0).all()
    assert np.array_equal(rec[np.ix_(~dead, ~dead)], v[np.ix_(~dead, ~dead)])

    sick, units = study.lesioned(net, "memory_cell_loss", 0.25, seed=0)
    rec = sick.snn.hidden[0].rec.weight.detach().numpy()
    silent = (rec == 0).all(0)
    assert units == 0.25 and silent.sum() == round(0.25 * h)
    assert np.array_equal(rec[:, ~silent], v[:, ~silent])
    assert torch_equal(sick.snn.hidden[0].fc.weight, layer.fc.weight)
    assert torch_equal(sick.snn.readout.fc.weight, out.fc.weight)


def test_spiking_listener_runs_in_brian2_with_the_same_spikes(spiking):
    """The swept torch listener is a Brian2-simulable SNN: bridge.torch_snn runs the trained
    listener, and its 60%-pruned Brian2 twin (the spec the sweep's pruning edits), on a short
    noisy stream (signed input) on the numpy target, and every hidden spike of every step
    equals torch's; the read-out membranes agree to float32 rounding. The pruning changes
    the spikes, so the second comparison is not the first one again."""
    import torch

    from bridge import torch_snn
    from studies import hallucinations as study

    net, x, _ = spiking
    held = net.lif_input(torch.from_numpy(x))  # (3, 12, 16): one LIF step per word
    a = torch_snn.agreement(net.snn, held.numpy(), signed_input=True)
    assert a.same_spikes == 1.0 and a.max_readout_diff < 1e-4

    spec, _ = study.spiking_lesioned_spec(net, "pruning", 0.6, seed=0)
    res = torch_snn.BrianSNN(spec).run(held.numpy())
    sick, _ = study.lesioned(net, "pruning", 0.6, seed=0)
    ref = sick.spikes(torch.from_numpy(x)).numpy() > 0  # (12, 3, 32)
    assert np.array_equal(res.spikes["hidden1"], ref)
    assert np.abs(res.readout - sick.snn.readout_potential(held).numpy()).max() < 1e-4
    assert (ref != (net.spikes(torch.from_numpy(x)).numpy() > 0)).mean() > 0.01


def test_bad_parameters_are_refused_before_any_point(tmp_path):
    with pytest.raises(ValueError, match="must include 0.0"):
        studies.run("hallucinations", preset="tiny", overrides={"fractions": (0.3, 0.9)},
                    out=tmp_path / "h", progress=False)
    with pytest.raises(ValueError, match="gap_steps"):
        studies.run("hallucinations", preset="tiny", overrides={"gap_steps": (3, 1)},
                    out=tmp_path / "h", progress=False)
    with pytest.raises(ValueError, match="belongs to the spiking listener"):
        studies.run("hallucinations", preset="tiny", overrides={"nonlinearity": ("lif",)},
                    out=tmp_path / "h", progress=False)


def test_grid_gives_the_spiking_listener_one_row_per_seed():
    """The network axis adds the spiking listener once per seed (nonlinearity "lif"), not once
    per Elman nonlinearity."""
    from studies import hallucinations as study

    p = study.Params(seeds=(0, 1))
    pts = study.grid(p)
    assert sorted((d["network"], d["nonlinearity"]) for d in pts if d["seed"] == 0) == [
        ("elman", "relu"), ("elman", "tanh"), ("spiking", "lif")]
    assert len(pts) == 6
