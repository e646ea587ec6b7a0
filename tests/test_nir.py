"""bridge.nir: NIR graphs in and out of brainbridge, checked against snnTorch (a test dependency).

The independent implementations are snnTorch's own modules (Leaky, RLeaky), stepped in
torch, and small NumPy/torch loops written here from NIR's equations.
"""
import numpy as np
import pytest
import torch
from brian2 import ms

nir = pytest.importorskip("nir")
snn = pytest.importorskip("snntorch")
from snntorch.export_nir import export_to_nir  # noqa: E402

from ann import models, train  # noqa: E402
from ann.spiking import SpikingMLP  # noqa: E402
from bio.spec import Record  # noqa: E402
from bridge import convert, nir as bnir  # noqa: E402


def _leaky(n, beta, **kw):
    # per-neuron parameters: snnTorch 1.0 exports scalar ones with shape (), which NIR 1.0.8 rejects
    return snn.Leaky(beta=torch.full((n,), beta), threshold=torch.ones(n), init_hidden=True,
                     reset_mechanism="zero", reset_delay=False, **kw)


class _Recurrent(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.fc1 = torch.nn.Linear(20, 30)
        self.lif1 = snn.RLeaky(beta=torch.full((30,), 0.9), threshold=torch.ones(30), linear_features=30,
                               init_hidden=True, reset_mechanism="zero", reset_delay=False)
        self.fc2 = torch.nn.Linear(30, 10)
        self.lif2 = _leaky(10, 0.8)

    def forward(self, x):
        return self.lif2(self.fc2(self.lif1(self.fc1(x))))


def _step_snntorch(modules, x):
    """Step snnTorch layers through x (T, B, n); spikes of every neuron layer, (T, B, n) bool."""
    for m in modules:
        if isinstance(m, (snn.Leaky, snn.RLeaky)):
            m.mem = torch.zeros(0)
            if isinstance(m, snn.RLeaky):
                m.spk = torch.zeros(0)
    out = {k: [] for k, m in enumerate(modules) if isinstance(m, (snn.Leaky, snn.RLeaky))}
    with torch.no_grad():
        for x_t in torch.as_tensor(x, dtype=torch.float32):
            h = x_t
            for k, m in enumerate(modules):
                h = m(h)
                if k in out:
                    out[k].append(h.numpy() > 0)
    return [np.stack(v) for v in out.values()]


@pytest.mark.parametrize("recurrent", [False, True])
def test_snntorch_network_runs_in_brian2_with_the_same_spike_counts(recurrent):
    """Issue 13 target: an snnTorch network exported to NIR and run in Brian2 gives the same
    spike counts as snnTorch for >= 99% of neurons (snnTorch steps NIR's LIF by forward Euler
    at 0.1 ms; Leaky with reset to zero is NIR's reset to v_reset = 0)."""
    torch.manual_seed(0)
    if recurrent:
        net = _Recurrent()
        layers = [net.fc1, net.lif1, net.fc2, net.lif2]
    else:
        net = torch.nn.Sequential(torch.nn.Linear(20, 40), _leaky(40, 0.9), torch.nn.Linear(40, 30),
                                  _leaky(30, 0.8), torch.nn.Linear(30, 10), _leaky(10, 0.85))
        layers = list(net)
    with torch.no_grad():  # strong enough weights that every layer fires
        for m in layers:
            if isinstance(m, torch.nn.Linear):
                m.weight.mul_(3.0)
    graph = export_to_nir(net, torch.randn(1, 20), ignore_dims=[0])
    x = np.random.default_rng(0).random((60, 50, 20)) < 0.2  # (T, B, n) input spikes
    ref = _step_snntorch(layers, x)
    got = bnir.from_nir(graph, dt=0.1 * ms).run(x)
    assert len(got.spikes) == len(ref)
    total, same = 0, 0
    for r, s in zip(ref, got.spikes.values()):
        assert r.sum() > 100  # a network that fires
        same += np.sum(r.sum(0) == s.sum(0))
        total += r.shape[1] * r.shape[2]
    assert same / total >= 0.99


@pytest.fixture(scope="module")
def converted(digits):
    torch.manual_seed(0)
    net = models.MLP(64, [48], 10)
    train.fit(net, digits.train, epochs=10, device="cpu", progress=False, seed=0)
    return convert.to_snn(net, digits.train.x, neuron="if")


def test_converted_snn_classifies_the_same_in_snntorch(converted, digits):
    """Issue 13 target: our converted SNN, exported to NIR and imported into snnTorch, classifies
    within 0.5 points of our Brian2 run (200 test digits, 50 steps)."""
    x, y = digits.test.x[:200], digits.test.y[:200]
    ours = converted.evaluate(type(digits.test)(x, y), duration_ms=50)
    graph = bnir.to_nir(converted, dt_s=1e-4)  # snnTorch's importer steps at 0.1 ms
    assert graph.nodes["h1"].metadata == {"reset": "subtract", "threshold": ">="}
    module = bnir.to_snntorch(graph)
    out = bnir.run_snntorch(module, np.broadcast_to(x[None], (50,) + x.shape))
    name = list(out["spikes"])[-1]
    pred = np.argmax(out["spikes"][name].sum(0) + 0.5 * np.tanh(out["v"][name]), axis=1)
    assert abs(np.mean(pred == y) - ours.accuracy) <= 0.005
    assert ours.accuracy > 0.85


@pytest.mark.parametrize("recurrent", [False, True])
@pytest.mark.parametrize("discretisation", ["euler", "exact"])
def test_spiking_mlp_round_trips_through_nir(recurrent, discretisation, digits):
    """Export writes tau and R so that the chosen discretisation recomputes the torch step; the
    import runs it in Brian2: the same spikes as torch and the same read-out membrane."""
    torch.manual_seed(0)
    net = SpikingMLP(64, [24], 10, recurrent=recurrent, T=8)
    with torch.no_grad():
        net.hidden[0].fc.weight.mul_(4.0)
    x = digits.test.x[:60]
    with torch.no_grad():
        ref = net.spikes(torch.from_numpy(x))["hidden1"].numpy() > 0
        u = net.readout_potential(torch.from_numpy(x)).numpy()
    graph = bnir.to_nir(net, discretisation=discretisation)
    assert isinstance(graph.nodes["readout"], nir.LI)
    assert (("hidden1", "hidden1_to_hidden1") in graph.edges) == recurrent
    res = bnir.from_nir(graph, discretisation=discretisation).run(x.astype(np.float64), n_steps=8)
    assert ref.sum() > 100
    assert np.mean(res.spikes["hidden1"].sum(0) == ref.sum(0)) >= 0.99
    assert np.abs(res.v["readout"] - u).max() < 1e-3


def test_conv2d_graph_matches_a_torch_loop_of_nir_equations():
    """Input (1, 6, 6) -> Conv2d -> IF -> Flatten -> Affine -> LIF, stepped by forward Euler:
    a reference written from NIR's equations with torch's conv2d."""
    rng = np.random.default_rng(1)
    dt, tau = 1e-3, 5e-3
    conv_w, conv_b = rng.normal(0, 0.6, (2, 1, 3, 3)), rng.normal(0.05, 0.02, 2)
    fc_w, fc_b = rng.normal(0, 0.4, (5, 32)), rng.normal(0, 0.02, 5)
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([1, 6, 6])}),
               "conv": nir.Conv2d(input_shape=(6, 6), weight=conv_w, stride=1, padding=0, dilation=1,
                                  groups=1, bias=conv_b),
               "if": nir.IF(r=np.full((2, 4, 4), 1 / dt), v_threshold=np.ones((2, 4, 4))),
               "flat": nir.Flatten(input_type={"input": np.array([2, 4, 4])}, start_dim=0),
               "fc": nir.Affine(weight=fc_w, bias=fc_b),
               "lif": nir.LIF(tau=np.full(5, tau), r=np.full(5, 2.0), v_leak=np.full(5, 0.1),
                              v_threshold=np.full(5, 0.5)),
               "output": nir.Output(output_type={"output": np.array([5])})},
        edges=[("input", "conv"), ("conv", "if"), ("if", "flat"), ("flat", "fc"), ("fc", "lif"),
               ("lif", "output")])
    x = rng.random((30, 4, 1, 6, 6)) < 0.3  # (T, B, C, H, W)
    v1, v2 = np.zeros((4, 2, 4, 4)), np.zeros((4, 5))
    s1_all, s2_all = [], []
    for x_t in x:
        i1 = torch.nn.functional.conv2d(torch.as_tensor(x_t, dtype=torch.float64),
                                        torch.as_tensor(conv_w), torch.as_tensor(conv_b)).numpy()
        v1 = v1 + dt * (1 / dt) * i1  # IF: v += dt R I
        s1 = v1 > 1.0
        v1 = np.where(s1, 0.0, v1)
        i2 = s1.reshape(4, -1) @ fc_w.T + fc_b
        v2 = v2 + dt / tau * (0.1 - v2 + 2.0 * i2)  # LIF, forward Euler
        s2 = v2 > 0.5
        v2 = np.where(s2, 0.0, v2)
        s1_all.append(s1.reshape(4, -1))
        s2_all.append(s2)
    res = bnir.from_nir(graph, dt=1 * ms).run(x)
    assert np.sum(s1_all) > 50 and np.sum(s2_all) > 10
    assert np.mean(res.spikes["if"] == np.stack(s1_all)) >= 0.99
    assert np.mean(res.spikes["lif"] == np.stack(s2_all)) >= 0.99


def test_cubalif_postsynaptic_potential_is_the_double_exponential():
    """One input spike through weight w into a CubaLIF (threshold out of reach): an impulse of
    area dt into tau_syn dI/dt = -I + w_in S gives I = w_in w dt/tau_syn e^{-t/tau_syn}, and
    v(t) = R I0 tau_syn / (tau_syn - tau_mem) (e^{-t/tau_syn} - e^{-t/tau_mem}) (linear ODE)."""
    dt, ts, tm, r, w, w_in = 1e-4, 2e-3, 5e-3, 3.0, 2.0, 1.5
    graph = nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([1])}),
               "fc": nir.Linear(weight=np.array([[w]])),
               "cuba": nir.CubaLIF(tau_syn=np.array([ts]), tau_mem=np.array([tm]), r=np.array([r]),
                                   v_leak=np.zeros(1), v_threshold=np.array([1e6]), w_in=np.array([w_in])),
               "output": nir.Output(output_type={"output": np.array([1])})},
        edges=[("input", "fc"), ("fc", "cuba"), ("cuba", "output")])
    imported = bnir.from_nir(graph, dt=0.1 * ms, discretisation="exact")
    imported.spec.record = Record(traces={"cuba.v": True}, when="end")
    x = np.zeros((200, 1, 1), bool)
    x[0] = True
    v = imported.run(x).record.traces["cuba.v"][:, 0] / 1e-3  # NIR units (mV)
    t = np.arange(200) * dt
    i0 = w_in * w * dt / ts
    expect = r * i0 * ts / (ts - tm) * (np.exp(-t / ts) - np.exp(-t / tm))
    assert expect.max() > 0.05
    assert np.allclose(v, expect, atol=1e-6 * expect.max() + 1e-12, rtol=1e-6)
    with pytest.raises(ValueError, match="exact"):
        bnir.from_nir(graph, dt=0.1 * ms)


def _if_graph(metadata):
    """A bias of 0.65 per step into one IF neuron (threshold 1), its Input silent."""
    return nir.NIRGraph(
        nodes={"input": nir.Input(input_type={"input": np.array([1])}),
               "fc": nir.Affine(weight=np.zeros((1, 1)), bias=np.array([0.65])),
               "n": nir.IF(r=np.array([1e3]), v_threshold=np.ones(1), metadata=metadata),
               "output": nir.Output(output_type={"output": np.array([1])})},
        edges=[("input", "fc"), ("fc", "n"), ("n", "output")])


def test_reset_metadata_is_honoured_by_brian2_and_snntorch():
    """0.65 per step for 10 steps: reset by subtraction fires floor(6.5) = 6 times; NIR's reset
    to v_reset = 0 fires every second step, 5 times. Both importers follow the metadata."""
    x = np.zeros((10, 1, 1), bool)
    for meta, count in (({"reset": "subtract"}, 6), ({}, 5)):
        got = bnir.from_nir(_if_graph(meta), dt=1 * ms).run(x).spikes["n"].sum()
        out = bnir.run_snntorch(bnir.to_snntorch(_if_graph(meta), dt_s=1e-3), x.astype(np.float32))
        assert got == count and out["spikes"]["n"].sum() == count
    assert bnir.from_nir(_if_graph({"threshold": ">="}), dt=1 * ms).spec.populations["n"].model.strict is False
    assert bnir.from_nir(_if_graph({}), dt=1 * ms).spec.populations["n"].model.strict is True


def test_errors_name_what_is_allowed(converted):
    with pytest.raises(ValueError, match="time step"):
        bnir.from_nir(_if_graph({}))  # no dt, no metadata
    with pytest.raises(ValueError, match="discretisation"):
        bnir.from_nir(_if_graph({}), dt=1 * ms, discretisation="rk4")
    bad = nir.NIRGraph(nodes={"input": nir.Input(input_type={"input": np.array([1])}),
                              "th": nir.Threshold(threshold=np.ones(1)),
                              "output": nir.Output(output_type={"output": np.array([1])})},
                       edges=[("input", "th"), ("th", "output")])
    with pytest.raises(ValueError, match="supported nodes"):
        bnir.from_nir(bad, dt=1 * ms)
    layer = torch.nn.Linear(4, 3)
    torch.nn.init.ones_(layer.weight)
    lif = convert.to_snn(torch.nn.Sequential(layer), np.ones((5, 4)), neuron="lif", t_ref_ms=2.0)
    with pytest.raises(ValueError, match="refractory"):
        bnir.to_nir(lif)
    delayed = converted.net.copy()
    delayed.connections["h1->out"].delay_s[0] = 2e-3
    with pytest.raises(ValueError, match="delays"):
        bnir.to_nir(delayed)
    with pytest.raises(ValueError, match="dt < tau"):
        bnir.from_nir(bnir.to_nir(SpikingMLP(4, [3], 2)), dt=30 * ms)
