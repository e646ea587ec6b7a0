"""Single-neuron models against closed forms and published firing patterns: one-population
NetworkSpecs run by bio.run (directly, or through bio.clamp's fi_curve / current_clamp), numpy target."""
import numpy as np
import pytest
from brian2 import Hz, cm, mV, ms, nA, pA, second, uA

import bio
from bio import inputs, neurons
from bio.clamp import current_clamp, fi_curve
from bio.spec import NetworkSpec, Population, Record


def _spikes_ms(rec):
    return rec.times_s["neuron"] * 1e3


def _isis_ms(rec):
    return np.diff(_spikes_ms(rec))


# --- LIF and IF: closed forms ----------------------------------------------------------

def test_lif_fi_curve_matches_closed_form():
    """Gerstner et al. 2014 (Neuronal Dynamics, eq. 1.11 + refractoriness): above rheobase
    an LIF neuron fires at 1 / (t_ref + tau ln(RI / (RI - theta))), theta = v_thresh - v_rest;
    below rheobase (RI <= theta) it never fires."""
    lif = neurons.LIF()
    currents = np.array([0, 100, 150, 199, 210, 250, 300, 400, 600]) * pA
    rates = fi_curve(lif, currents, duration=0.3 * second, dt=0.1 * ms, measure="isi")
    counts = fi_curve(lif, currents, duration=0.3 * second, dt=0.1 * ms, measure="count")

    theta = float((lif.v_thresh - lif.v_rest) / mV)
    ri = np.asarray(currents / pA) * float(lif.R * pA / mV)
    above = ri > theta
    expected = np.zeros(len(currents))
    expected[above] = 1.0 / (float(lif.t_ref / second) + float(lif.tau_m / second)
                             * np.log(ri[above] / (ri[above] - theta)))
    assert np.all(rates[~above] == 0) and np.all(counts[~above] == 0)
    # dt = 0.1 ms rounds each ISI up by < dt, under 1% of the shortest ISI (~10 ms)
    np.testing.assert_allclose(rates[above], expected[above], rtol=0.02)


def test_lif_golden_trajectory():
    """Norse-style golden trajectory: the exact LIF update v <- v_inf + (v - v_inf) e^(-dt/tau),
    reset to v_reset when v > v_thresh, then v held for t_ref (Gerstner et al. 2014, ch. 1).
    With R I = 100 mV the crossing of -50 mV is at t = 20 ln(1.25) = 4.46 ms, so the
    spike is detected in the step from 4 to 5 ms."""
    lif = neurons.LIF()
    dt, steps, current = 1.0, 12, 1 * nA
    rec = current_clamp(lif, current, steps * ms, dt=dt * ms)
    v = rec.traces["neuron.v"][:, 0] * 1e3  # (steps,) mV at the start of each step

    v_inf = float((lif.v_rest + lif.R * current) / mV)
    decay = np.exp(-dt / float(lif.tau_m / ms))
    # Brian2 dates a spike to the start of the step in which v crossed and clamps v until
    # t_ref after that date, so of a 2-step t_ref one whole step is held after the reset.
    hold = int(round(float(lif.t_ref / ms) / dt)) - 1
    ref, spikes, x, left = [], [], float(lif.v_rest / mV), 0
    for k in range(steps):
        ref.append(x)
        if left:
            left -= 1
        else:
            x = v_inf + (x - v_inf) * decay
        if x > float(lif.v_thresh / mV):
            spikes.append(k * dt)
            x, left = float(lif.v_reset / mV), hold
    np.testing.assert_allclose(v, ref, atol=1e-9)
    assert spikes[0] == 4.0
    np.testing.assert_allclose(_spikes_ms(rec), spikes)


def test_if_reset_by_subtraction_tracks_input_exactly():
    """Rueckauer et al. 2017, Sec. 2.1: with reset by subtraction an IF unit's spike count is
    floor(total charge / threshold distance), the ReLU of its input; reset to zero loses the
    residual charge. Here each 1 ms step adds 9 mV against a 20 mV threshold distance."""
    model = neurons.IF()
    current = 9 * mV * model.C / (1 * ms)  # C dv/dt = I: 1.8 nA
    steps = 30
    sub = current_clamp(neurons.IF(reset="subtract"), current, steps * ms, dt=1 * ms)
    zero = current_clamp(neurons.IF(reset="zero"), current, steps * ms, dt=1 * ms)
    # after 30 steps 270 mV of charge has arrived: floor(270 / 20) = 13 spikes
    assert len(sub.times_s["neuron"]) == (9 * steps) // 20
    # reset to v_reset: a spike every 3 steps (9 + 9 + 9 > 20), the residual 7 mV lost
    assert len(zero.times_s["neuron"]) == steps // 3
    v = sub.traces["neuron.v"][:, 0] * 1e3
    assert v[4] == pytest.approx(-70 + 4 * 9 - 20)  # residual kept after the first spike


# --- Izhikevich (2003) firing patterns ---------------------------------------------------

def _preset_clamp(name, current, duration=200 * ms):
    return current_clamp(neurons.Izhikevich.preset(name), current, duration)


def test_izhikevich_rs_adapts():
    """Izhikevich 2003, Fig. 2 (RS): regular spiking cells fire a few short ISIs, then the
    frequency adapts: later ISIs are much longer than the first."""
    isi = _isis_ms(_preset_clamp("RS", 10 * nA))
    assert len(isi) >= 3
    assert isi[-1] > 2 * isi[0]


def test_izhikevich_fs_fast_without_adaptation():
    """Izhikevich 2003, Fig. 2 (FS): fast-spiking interneurons fire high-frequency trains
    practically without adaptation; an RS cell given the same current fires far slower."""
    fs, rs = _preset_clamp("FS", 5 * nA), _preset_clamp("RS", 5 * nA)
    isi = _isis_ms(fs)
    assert isi[-1] < 1.2 * isi[0]
    assert fs.rates_hz("neuron")[0] > 40
    assert fs.rates_hz("neuron")[0] > 2.5 * rs.rates_hz("neuron")[0]


def test_izhikevich_ib_bursts_then_tonic():
    """Izhikevich 2003, Fig. 2 (IB): intrinsically bursting cells fire a burst at step onset,
    then single spikes at a steady rate."""
    isi = _isis_ms(_preset_clamp("IB", 10 * nA))
    assert np.all(isi[:2] < 5)            # onset burst: 3 spikes within ~10 ms
    assert np.all(isi[2:] > 20)           # then tonic single spikes, no further bursts
    assert len(isi[2:]) >= 3 and np.ptp(isi[3:]) < 0.1 * isi[-1]


def test_izhikevich_ch_bursts_repeatedly():
    """Izhikevich 2003, Fig. 2 (CH): chattering cells fire stereotyped bursts of closely
    spaced spikes (short ISIs) separated by long pauses, again and again."""
    isi = _isis_ms(_preset_clamp("CH", 10 * nA))
    long_gaps = np.flatnonzero(isi > 30)
    assert len(long_gaps) >= 2                         # at least three bursts
    bursts = np.split(isi, long_gaps)[:-1]             # the last may be cut by the run's end
    assert all(np.sum(b < 10) >= 2 for b in bursts)    # each burst: >= 3 spikes, ISIs < 10 ms


def test_izhikevich_lts_fast_then_adapting():
    """Izhikevich 2003, Fig. 2 (LTS): low-threshold spiking cells fire at high frequency at
    onset (> 200 Hz), with strong spike-frequency adaptation."""
    isi = _isis_ms(_preset_clamp("LTS", 10 * nA))
    assert isi[0] < 5
    assert isi[-1] > 3 * isi[0]


def test_izhikevich_tc_tonic_and_rebound_burst():
    """Izhikevich 2003, Fig. 2 (TC): thalamo-cortical cells fire tonically when depolarised
    from rest, and fire a rebound burst when released from hyperpolarisation (~ -87 mV)."""
    tonic = _preset_clamp("TC", 2 * nA)
    t, isi = _spikes_ms(tonic), _isis_ms(tonic)
    assert t[-1] > 150                                   # fires through the whole step
    assert np.std(isi[-4:]) < 0.1 * np.mean(isi[-4:])    # at a steady rate

    dt = 0.1 * ms
    drive = np.r_[np.full(1000, -30.0), np.zeros(1000)] * nA  # 100 ms hyperpolarised, then 0
    rebound = current_clamp(neurons.Izhikevich.preset("TC"), drive, 200 * ms, dt=dt)
    v_before = rebound.traces["neuron.v"][999, 0] * 1e3
    t = _spikes_ms(rebound)
    assert v_before < -85
    assert np.all(t > 100)                                # nothing while hyperpolarised
    assert len(t) >= 3 and t[1] - t[0] < 10              # a burst with no input at all
    assert t[-1] < 160                                    # that ends by itself


def test_izhikevich_rz_damped_subthreshold_oscillation():
    """Izhikevich 2003, Fig. 2 (RZ): resonators have damped subthreshold oscillations.
    After a brief subthreshold pulse the voltage rings about rest with the period of the
    linearised model, 2 pi / Im(lambda) (~41 ms); an RS cell just relaxes back."""
    def pulse_response(name):
        model = neurons.Izhikevich.preset(name)
        drive = np.zeros(2000)
        drive[100:110] = 2.0  # 1 ms, 2 nA: a 2 mV kick
        rec = current_clamp(model, drive * nA, 200 * ms)
        assert len(rec.times_s["neuron"]) == 0
        return model, rec.traces["neuron.v"][110:, 0] * 1e3 - float(model.v_rest / mV)

    rz, x = pulse_response("RZ")
    assert -x.min() > 0.25 * x.max()                   # clear undershoot below rest
    down = np.flatnonzero((x[:-1] > 0) & (x[1:] <= 0)) * 0.1  # ms
    a, b, v0 = float(rz.a * ms), float(rz.b * ms), float(rz.v_rest / mV)
    eig = np.linalg.eigvals([[0.08 * v0 + 5, -1], [a * b, -a]])
    period = 2 * np.pi / abs(eig[0].imag)
    assert len(down) >= 3
    assert np.diff(down)[0] == pytest.approx(period, rel=0.05)

    _, x = pulse_response("RS")
    assert -x.min() < 0.05 * x.max()


# --- Hodgkin-Huxley and AdEx -------------------------------------------------------------

def test_hodgkin_huxley_rheobase_and_rates():
    """Hodgkin & Huxley 1952 squid axon (Dayan & Abbott 2001, ch. 5; Rinzel & Miller 1980):
    sustained repetitive firing starts near 6.3 uA/cm^2, and rates lie between ~50 and
    ~150 Hz over 10-100 uA/cm^2, rising with the current."""
    hh = neurons.HodgkinHuxley()
    density = np.array([5.0, 6.0, 7.0, 10.0, 20.0, 50.0, 100.0])  # uA/cm^2
    currents = density * (uA / cm**2) * hh.area
    # sustained firing: spikes after the first 40 ms (a single onset spike does not count)
    rates = fi_curve(hh, currents, duration=120 * ms, dt=0.1 * ms, measure="isi",
                     t_start=40 * ms)
    assert np.all(rates[density < 6.2] == 0)
    assert np.all(rates[density > 6.5] > 0)
    assert np.all(np.diff(rates[density >= 7]) > 0)
    assert 50 <= rates[density == 10][0] and rates[density == 100][0] <= 150


def test_adex_adapts_under_step():
    """Brette & Gerstner 2005 (and Naud et al. 2008, 'adaptation'): with the pyramidal-cell
    fit, the adaptation current w grows with each spike, so ISIs lengthen under a step."""
    isi = _isis_ms(current_clamp(neurons.AdEx(), 1 * nA, 300 * ms))
    assert len(isi) >= 5
    assert np.all(np.diff(isi) >= -0.2)     # ISIs never shorten (beyond a dt of jitter)
    assert isi[-1] > 2 * isi[0]


def test_adaptive_lif_threshold_grows_by_theta_plus_per_spike():
    """Diehl & Cook 2015, Sec. 2.1: every spike raises the adaptive threshold by theta_plus,
    which decays with tau_theta (1e7 ms: nothing within a run), so under a constant current
    the ISIs lengthen and theta ends at n_spikes * theta_plus; theta_plus = 0 fires regularly."""
    counts, thetas, isis = [], [], []
    for theta_plus in (0.5 * mV, 0 * mV):
        model = neurons.AdaptiveLIF(theta_plus=theta_plus)
        spec = NetworkSpec({"neuron": Population(model, 1)}, inputs=[inputs.Current("neuron", [0.3e-9])],
                           record=Record(final=("neuron.theta",)))
        rec = bio.run(spec, 500 * ms)
        counts.append(len(rec.times_s["neuron"]))
        thetas.append(rec.final["neuron.theta"][0])
        isis.append(np.diff(rec.times_s["neuron"]))
    assert counts[0] >= 3 and thetas[0] == pytest.approx(counts[0] * 0.5e-3, rel=1e-4)  # decay: < 5e-5
    assert np.all(np.diff(isis[0]) > 0)  # every spike makes the next one later
    assert thetas[1] == 0 and np.ptp(isis[1]) < 2e-4 and counts[1] > counts[0]


# --- errors ------------------------------------------------------------------------------

def test_wrong_units_and_unknown_names_raise_clear_errors():
    with pytest.raises(ValueError, match=r"LIF\.tau_m .*second.*mV"):
        neurons.LIF(tau_m=5 * mV)
    with pytest.raises(ValueError, match=r"HodgkinHuxley\.g_Na"):
        neurons.HodgkinHuxley(g_Na=120)
    with pytest.raises(ValueError, match=r"unknown preset 'XX'; choose one of: RS, IB, CH"):
        neurons.Izhikevich.preset("XX")
    with pytest.raises(ValueError, match=r"unknown reset 'soft'; choose one of: subtract, zero"):
        neurons.IF(reset="soft")
    with pytest.raises(ValueError, match=r"currents must be in units of amp"):
        fi_curve(neurons.LIF(), np.array([1.0, 2.0]) * mV)
    with pytest.raises(ValueError, match=r"duration must be in units of second"):
        current_clamp(neurons.LIF(), 1 * nA, 5 * Hz)
    with pytest.raises(ValueError, match=r"current must be in units of amp"):
        current_clamp(neurons.LIF(), 1.0, 5 * ms)
