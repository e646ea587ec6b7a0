"""Electrophysiology figures of the SNN studies: the spike records points keep (studies.ephys) and how
the results store keeps them (records/<key>.npz, out of the point file and results.csv). Each study's
`<study>_ephys` figure and stored records are checked on the TINY run its own test already makes
(studyrun.assert_ephys: test_reproductions*.py, test_studies.py, test_studies_disorders.py)."""
import os

os.environ.setdefault("OMP_NUM_THREADS", "1")

import json

import numpy as np
import pytest


# ------------------------------------------------------------------ the record and the store

def _two_copies():
    """2 copies of a 3-neuron population that ran 10 ms side by side (index b*3 + k)."""
    from bio.record import SpikeRecord

    t = np.array([0.001, 0.002, 0.004, 0.004, 0.009])
    i = np.array([0, 4, 2, 3, 5])  # copy 0: neurons 0, 2; copy 1: neurons 1, 0, 2
    return SpikeRecord({"h": t}, {"h": i}, {"h": 6}, 0.010, copies=2)


def test_cut_lays_copies_one_after_another():
    """Copy b's spikes move to [b * 10 ms, (b + 1) * 10 ms) and its neuron k stays neuron k: the
    record of one network shown the two samples in a row."""
    from studies import ephys

    rec = ephys.cut(_two_copies(), in_sequence=True)
    assert rec.n_neurons == {"h": 3} and rec.duration_s == pytest.approx(0.020) and rec.copies == 1
    np.testing.assert_allclose(rec.times_s["h"], [0.001, 0.004, 0.012, 0.014, 0.019])
    np.testing.assert_array_equal(rec.indices["h"], [0, 2, 1, 0, 2])
    one = ephys.cut(_two_copies(), in_sequence=True, duration_s=0.015)  # only whole samples fit
    assert one.duration_s == pytest.approx(0.010) and len(one.times_s["h"]) == 2


def test_cut_window_and_chosen_neurons():
    """A window is shifted to start at 0; chosen neurons are renumbered in the order given."""
    from studies import ephys

    rec = ephys.cut(_two_copies(), t_start_s=0.003, duration_s=0.005, neurons={"h": [5, 2]})
    assert rec.n_neurons == {"h": 2} and rec.duration_s == pytest.approx(0.005)
    np.testing.assert_allclose(rec.times_s["h"], [0.001])  # the spike of neuron 2 at 4 ms
    np.testing.assert_array_equal(rec.indices["h"], [1])
    with pytest.raises(ValueError, match="past the record's end"):
        ephys.cut(_two_copies(), t_start_s=0.02)


def test_store_keeps_records_out_of_point_file_and_table(tmp_path):
    """A point's record.* metrics go to records/<key>.npz and come back as the same SpikeRecord;
    the point file and results.csv hold only the other metrics; a recomputed point that keeps
    no record loses the old file."""
    from studies import ephys
    from studies.store import Store

    rec = ephys.cut(_two_copies(), in_sequence=True)
    silent = ephys.renamed(ephys.cut(_two_copies(), t_start_s=0.005, duration_s=0.002), {"h": "quiet"})
    store = Store(tmp_path)
    point = {"study": "toy", "key": "k1", "values": {"seed": 0}, "elapsed_s": 1.0, "worker": "main",
             "versions": {}, "metrics": {"rate_hz": 3.0, **ephys.merge(ephys.rows(rec, "healthy"),
                                                                       ephys.rows(silent, "late"))}}
    store.save("k1", point)
    assert set(json.loads((tmp_path / "points" / "k1.json").read_text())["metrics"]) == {"rate_hz"}
    assert list(store.table(["k1"], [])["metric"]) == ["rate_hz"]
    back = ephys.decode(store.rows("k1"))
    assert set(back) == {"healthy", "late"}
    np.testing.assert_allclose(back["healthy"].times_s["h"], rec.times_s["h"])
    np.testing.assert_array_equal(back["healthy"].indices["h"], rec.indices["h"])
    assert back["healthy"].n_neurons == {"h": 3} and back["healthy"].duration_s == pytest.approx(0.02)
    assert back["late"].n_neurons == {"quiet": 6} and len(back["late"].times_s["quiet"]) == 0
    store.save("k1", {**point, "metrics": {"rate_hz": 2.0}})
    assert store.rows("k1") == {} and not (tmp_path / "records" / "k1.npz").exists()


def test_merge_refuses_two_durations_for_one_network():
    from studies import ephys

    a = ephys.cut(_two_copies(), duration_s=0.005)
    b = ephys.cut(_two_copies(), duration_s=0.010)
    with pytest.raises(ValueError, match="two durations"):
        ephys.merge(ephys.rows(a, "n"), ephys.rows(b, "n"))
