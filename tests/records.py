"""What the compiler tests call two identical runs (tests/test_fuse.py, tests/test_prepared.py)."""
import numpy as np


def same_record(a, b) -> None:
    """Assert two SpikeRecords hold the same populations, sizes, spikes, traces and final state."""
    assert set(a.times_s) == set(b.times_s)
    for p in a.times_s:
        assert a.n_neurons[p] == b.n_neurons[p], p
        np.testing.assert_array_equal(a.times_s[p], b.times_s[p], err_msg=p)
        np.testing.assert_array_equal(a.indices[p], b.indices[p], err_msg=p)
    assert set(a.traces) == set(b.traces) and set(a.final) == set(b.final)
    for k in a.traces:
        np.testing.assert_array_equal(a.traces[k], b.traces[k], err_msg=k)
    for k in a.final:
        np.testing.assert_array_equal(a.final[k], b.final[k], err_msg=k)
