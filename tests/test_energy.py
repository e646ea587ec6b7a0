"""bridge.energy: MACs checked against NeuroBench 2.3 (an independent implementation, a dev
dependency), synaptic events against hand counts, energy against Horowitz (2014)."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from torch import nn

from ann import models
from bio.record import SpikeRecord
from bridge import energy


def _neurobench(net, x):
    """NeuroBench's SynapticOperations on net(x): {"Effective_MACs", "Effective_ACs", "Dense"} per sample."""
    from neurobench.metrics.workload import SynapticOperations
    from neurobench.models import TorchModel

    net.eval()
    wrapped = TorchModel(net)
    wrapped.register_hooks()
    with torch.no_grad():
        preds = net(x)
    result = SynapticOperations()(wrapped, preds, (x, None))
    wrapped.cleanup_hooks()
    return result


@pytest.mark.parametrize("make, width", [
    (lambda: models.MLP(64, [32, 16], 10), 64),
    (lambda: models.CNN(channels=(4, 8), hidden_sizes=(16,)), 64),  # padding 1, batch norm, max pool
    (lambda: nn.Sequential(nn.Unflatten(1, (2, 8, 8)),  # stride, groups, dilation, wide padding
                           nn.Conv2d(2, 6, 3, stride=2, padding=2, groups=2, dilation=2),  # -> 6x4x4
                           nn.ReLU(), nn.AvgPool2d(2), nn.Flatten(), nn.Linear(24, 5)), 128),
], ids=["mlp", "cnn", "strided-grouped-conv"])
def test_dense_macs_equal_neurobench(make, width):
    """NeuroBench's dense synaptic operations (all inputs and weights treated as non-zero, bias
    excluded, taps on zero padding left out) count the same MACs per input as our hooks."""
    torch.manual_seed(0)
    net = make()
    x = torch.rand(3, width)
    ledger = energy.ann_ledger(net, x)
    assert int(ledger.total_macs[0]) == _neurobench(net, x)["Dense"]


def test_mlp_macs_by_hand():
    ledger = energy.ann_ledger(models.MLP(64, [128], 10), np.zeros((5, 64)))
    assert ledger.layers == ("fc1", "out") and ledger.kinds == ("Linear", "Linear")
    assert ledger.macs[:, 0].tolist() == [64 * 128, 128 * 10] and ledger.n_samples == 1


class _CellLoop(nn.Module):
    """Runs a recurrent cell over (B, T, F) input from a non-zero initial state."""

    def __init__(self, cell):
        super().__init__()
        self.cell = cell

    def forward(self, x):
        h = torch.full((x.shape[0], self.cell.hidden_size), 0.5)
        state = (h, h.clone()) if isinstance(self.cell, nn.LSTMCell) else h
        for t in range(x.shape[1]):
            state = self.cell(x[:, t], state)
        return state[0] if isinstance(state, tuple) else state


@pytest.mark.parametrize("kind", ["LSTM", "GRU", "RNN"])
def test_recurrent_macs_equal_neurobench_cells(kind):
    """NeuroBench counts recurrent cells (W_ih x + W_hh h and the gate products); our count for a
    whole nn.LSTM/GRU/RNN over T steps equals its count for the same cell looped T times."""
    torch.manual_seed(1)
    n_in, hidden, steps = 5, 7, 4
    cell = getattr(nn, f"{kind}Cell")(n_in, hidden)
    x = torch.rand(2, steps, n_in) + 0.1
    reference = _neurobench(_CellLoop(cell), x)["Dense"]
    layer = getattr(nn, kind)(n_in, hidden, batch_first=True)
    assert int(energy.ann_ledger(layer, x).total_macs[0]) == reference
    assert int(energy.ann_ledger(_CellLoop(cell), x).total_macs[0]) == reference
    gates = {"LSTM": 4, "GRU": 3, "RNN": 1}[kind]
    products = {"LSTM": 3, "GRU": 3, "RNN": 0}[kind]
    assert reference == steps * (gates * hidden * (n_in + hidden) + products * hidden)


def test_models_rnn_and_attention_by_hand():
    """ann.models.RNN (2-layer GRU) and AttentionNet: weight MACs per step/token by hand."""
    rnn = models.RNN(input_size=8, hidden_size=16, out_features=10, cell="gru", num_layers=2)
    led = energy.ann_ledger(rnn, np.zeros((1, 64)))  # 8 steps of 8
    per_step = 3 * 16 * (8 + 16) + 3 * 16 * (16 + 16) + 2 * 3 * 16
    assert dict(zip(led.layers, led.macs[:, 0])) == {"rnn": 8 * per_step, "head": 16 * 10}

    net = models.AttentionNet(input_size=8, d_model=16, n_heads=2, n_layers=1, d_ff=32)
    led = energy.ann_ledger(net, np.zeros((2, 64)))
    macs = dict(zip(led.layers, led.macs[:, 0]))
    t, d = 8, 16
    assert macs["blocks.0.attn"] == 4 * t * d * d + 2 * t * t * d
    assert macs["embed"] == t * 8 * d and macs["blocks.0.ff.0"] == t * d * 32 and macs["head"] == d * 10


def test_pooling_counts_adds_and_unknown_layers_raise():
    net = nn.Sequential(nn.Unflatten(1, (3, 4, 4)), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(12, 2))
    led = energy.ann_ledger(net, torch.zeros(1, 48))
    assert dict(zip(led.layers, led.acs[:, 0])) == {"1": 3 * 2 * 2 * 3, "3": 0}  # 3 adds per 2x2 window
    assert dict(zip(led.layers, led.macs[:, 0])) == {"1": 0, "3": 24}
    with pytest.raises(ValueError, match="cannot count.*Bilinear"):
        energy.ann_ledger(nn.Sequential(nn.Bilinear(2, 2, 2)), torch.zeros(1, 2))


def test_energy_uses_horowitz_costs():
    """Horowitz (2014, ISSCC, 45 nm): 32-bit float mult 3.7 pJ + add 0.9 pJ = 4.6 pJ per MAC,
    0.9 pJ per AC; the costs are a frozen dataclass a user may replace."""
    costs = energy.OpCosts()
    assert costs.mac_pj == pytest.approx(3.7 + 0.9) and costs.ac_pj == pytest.approx(0.9)
    led = energy.ann_ledger(models.MLP(4, [3], 2), np.zeros((1, 4)))
    assert led.total_energy_pj[0] == pytest.approx((4 * 3 + 3 * 2) * 4.6)
    cheap = energy.ann_ledger(models.MLP(4, [3], 2), np.zeros((1, 4)), energy.OpCosts(mac_pj=1.0))
    assert cheap.total_energy_pj[0] == pytest.approx(18.0)
    with pytest.raises(ValueError, match=">= 0"):
        energy.OpCosts(ac_pj=-1)


def _record():
    """Two copies (B = 2) of in (3 neurons) -> hid (2 neurons) -> out (2 neurons)."""
    # copy 0: in0 x2, in2 x1, hid1 x1; copy 1 (indices +3 / +2): in1 x1, in2 x3, hid0 x2, out1 x1
    idx_in = np.array([0, 0, 2, 4, 5, 5, 5])
    idx_hid = np.array([1, 2, 2])
    idx_out = np.array([3])
    t_in = np.array([0.001, 0.010, 0.020, 0.040, 0.050, 0.060, 0.070])
    return SpikeRecord({"in": t_in, "hid": np.array([0.005, 0.045, 0.08]), "out": np.array([0.09])},
                       {"in": idx_in, "hid": idx_hid, "out": idx_out},
                       {"in": 6, "hid": 4, "out": 4}, duration_s=0.1)


def test_snn_synaptic_events_by_hand():
    """ACs = sum over presynaptic spikes of the spiking neuron's fan-out, per copy.
    in -> hid: fan-out (2, 1, 2) -> copy 0: 2*2 + 1*2 = 6; copy 1: 1*1 + 3*2 = 7.
    hid -> out: fan-out (2, 0) -> copy 0: 1*0 = 0; copy 1: 2*2 = 4."""
    fan = {"in_hid": ("in", "hid", np.array([2, 1, 2])), "hid_out": ("hid", "out", np.array([2, 0]))}
    led = energy.snn_ledger(_record(), fan, n_samples=2)
    assert led.layers == ("in_hid", "hid_out")
    assert led.acs.tolist() == [[6, 7], [0, 4]] and not led.macs.any()
    assert {p: c.tolist() for p, c in led.spikes.items()} == {"in": [3, 4], "hid": [1, 2], "out": [0, 1]}
    assert led.total_energy_pj.tolist() == pytest.approx([6 * 0.9, 11 * 0.9])
    # forgetting n_samples: 6 "in" neurons in one copy do not match a 3-neuron fan-out
    with pytest.raises(ValueError, match=r"one copy of 'in' \(6 with n_samples=1\)"):
        energy.snn_ledger(_record(), fan)
    # a time window: only spikes in [0, 0.03) s -- copy 0's three "in" spikes and its hid1 spike
    early = energy.snn_ledger(_record(), fan, n_samples=2, t_stop_s=0.03)
    assert early.acs.tolist() == [[6, 0], [0, 0]]


def test_fan_out_from_connections_respects_transmits():
    """The out-degree comes from .i, skipping synapses whose .transmits is False; only the
    attribute names pre, post, i, transmits are relied on."""
    conns = {
        "in_hid": SimpleNamespace(pre="in", post="hid", i=np.array([0, 0, 1, 2, 2, 2]),
                                  transmits=np.array([True, True, True, True, True, False])),
        "hid_out": SimpleNamespace(pre="hid", post="out", i=np.array([0, 0])),  # no .transmits
    }
    fan = energy.fan_out(SimpleNamespace(connections=conns))
    assert fan["in_hid"][:2] == ("in", "hid") and fan["in_hid"][2].tolist() == [2, 1, 2]
    assert fan["hid_out"][2].tolist() == [2]  # hid1 sends nothing; sizes complete the array:
    assert energy.fan_out(SimpleNamespace(connections=conns), {"in": 3, "hid": 2})["hid_out"][2].tolist() == [2, 0]
    led = energy.snn_ledger(_record(), SimpleNamespace(connections=conns), n_samples=2)
    assert led.acs.tolist() == [[6, 7], [0, 4]]
    as_list = energy.fan_out(SimpleNamespace(connections=list(conns.values())))
    assert list(as_list) == ["in->hid", "hid->out"]


def test_dead_neurons_cost_no_synaptic_events():
    """bio.spec: a neuron with alive = False has lost its synapses, incoming and outgoing, so
    neither the spikes sent towards it nor the analog input onto it cost anything: the fan-out
    of a NetworkSpec counts Connection.active synapses only."""
    from bio import lesion, neurons, synapses
    from bio.spec import Connection, NetworkSpec, Population

    i, j = np.repeat(np.arange(3), 4), np.tile(np.arange(4), 3)  # 3 -> 4, all to all
    spec = NetworkSpec({"in": Population(None, 3), "hid": Population(neurons.IF(), 4)},
                       {"in_hid": Connection("in", "hid", synapses.CurrentDelta(), i, j, np.full(12, 1e-3))})
    assert energy.fan_out(spec)["in_hid"][2].tolist() == [4, 4, 4]
    half = lesion.remove_neurons(spec, 0.5, ["hid"], seed=0)  # two of the four targets die
    assert energy.fan_out(half)["in_hid"][2].tolist() == [2, 2, 2]
    rec = SpikeRecord({"hid": np.zeros(0)}, {"hid": np.zeros(0, np.int64)}, {"hid": 4}, 0.01)
    assert energy.snn_ledger(rec, half, analog={"in": 10}).macs.tolist() == [[60]]


def test_analog_input_layer_costs_macs():
    """A current-driven first layer (bio.Layered, input="current": "in" is not in the record)
    costs one MAC per synapse per evaluation (Rueckauer et al. 2017, sec. 2.3: every step)."""
    rec = _record()
    rec = SpikeRecord({p: rec.times_s[p] for p in ("hid", "out")}, {p: rec.indices[p] for p in ("hid", "out")},
                      {"hid": 4, "out": 4}, rec.duration_s)
    conns = {"in_hid": SimpleNamespace(pre="in", post="hid", i=np.array([0, 0, 1, 2, 2])),
             "hid_out": SimpleNamespace(pre="hid", post="out", i=np.array([0, 0]))}
    led = energy.snn_ledger(rec, SimpleNamespace(connections=conns), n_samples=2, analog={"in": 50})
    assert led.kinds == ("analog synapses", "synapses")
    assert led.macs.tolist() == [[250, 250], [0, 0]] and led.acs.tolist() == [[0, 0], [0, 4]]
    assert led.total_energy_pj.tolist() == pytest.approx([250 * 4.6, 250 * 4.6 + 4 * 0.9])
    with pytest.raises(ValueError, match="analog="):
        energy.snn_ledger(rec, SimpleNamespace(connections=conns), n_samples=2)


def test_snn_ledger_rejects_bad_input():
    fan = {"in_hid": ("in", "hid", np.array([2, 1, 2]))}
    with pytest.raises(ValueError, match="not a multiple of n_samples=4"):
        energy.snn_ledger(_record(), fan, n_samples=4)
    with pytest.raises(ValueError, match="lacks"):
        energy.snn_ledger(_record(), {"x": ("exc", "hid", np.ones(3))})
    with pytest.raises(ValueError, match="one count >= 0 per neuron"):
        energy.snn_ledger(_record(), {"x": ("in", "hid", np.ones(4))}, n_samples=2)
    spec = SimpleNamespace(connections={"c": SimpleNamespace(pre="in", post="hid", i=np.array([0, 5]))})
    with pytest.raises(ValueError, match="presynaptic index 5 but one copy of 'in' has 3 neurons"):
        energy.snn_ledger(_record(), spec, n_samples=2)


def test_snn_acs_equal_neurobench_effective_acs():
    """NeuroBench counts a binary (spike) input to a Linear layer as ACs: one per spike and
    non-zero weight. Our events with fan-out = non-zero weights per input neuron agree, per sample."""
    rng = np.random.default_rng(2)
    steps, batch, n_in, n_out = 6, 3, 10, 4
    layer = nn.Linear(n_in, n_out, bias=False)
    with torch.no_grad():
        layer.weight.mul_(torch.as_tensor(rng.random((n_out, n_in)) < 0.6, dtype=torch.float32))
    spikes = rng.random((steps, batch, n_in)) < 0.3  # (T, B, N)
    net = nn.Sequential(layer)  # NeuroBench hooks the children of the model it wraps
    reference = [sum(_neurobench(net, torch.as_tensor(spikes[t, b:b + 1], dtype=torch.float32))
                     ["Effective_ACs"] for t in range(steps)) for b in range(batch)]
    t_idx, b_idx, k_idx = np.nonzero(spikes)
    order = np.argsort(t_idx, kind="stable")
    rec = SpikeRecord({"in": t_idx[order] * 1e-3}, {"in": (b_idx * n_in + k_idx)[order]},
                      {"in": batch * n_in}, duration_s=steps * 1e-3)
    degree = (layer.weight.detach().numpy() != 0).sum(axis=0)  # (n_in,)
    led = energy.snn_ledger(rec, {"in_out": ("in", "out", degree)}, n_samples=batch)
    assert led.acs[0].tolist() == reference and sum(reference) > 0


def test_ledger_to_frame_is_tidy_and_sums_to_totals():
    led = energy.snn_ledger(_record(), {"in_hid": ("in", "hid", np.array([2, 1, 2])),
                                        "hid_out": ("hid", "out", np.array([2, 0]))}, n_samples=2)
    frame = led.to_frame()
    assert list(frame.columns) == ["layer", "kind", "sample", "metric", "value"]
    sums = frame.groupby(["metric", "sample"]).value.sum()
    assert sums["acs"].tolist() == led.total_acs.tolist()
    assert sums["spikes"].tolist() == led.total_spikes.tolist()
    assert sums["energy_pj"].tolist() == pytest.approx(led.total_energy_pj.tolist())
    assert led.totals() == pytest.approx({"macs": 0.0, "acs": 8.5, "spikes": 5.5, "energy_pj": 8.5 * 0.9})
    ann = energy.ann_ledger(models.MLP(4, [3], 2), np.zeros((1, 4))).to_frame()
    both = pd.concat([ann.assign(system="ann"), frame.assign(system="snn")])
    assert set(both.metric) == {"macs", "acs", "energy_pj", "spikes"}
