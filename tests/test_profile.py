"""`bio.run(..., profile=dict)`: where a run's wall time went, without changing the run.

Brian2's own profiling (`Network.run(profile=True)`) times each object's generated code over
the steps; the compiler adds the time to build the objects and to read the monitors back, and
names each connection's spike delivery after the connection (benchmarks/conversion.py uses
this to show where the time goes against SpikingJelly).
"""
import numpy as np
import pytest
from brian2 import second

from bio import brunel2000, run


def spec():
    return brunel2000.brunel_spec(5.0, 2.0, N_E=400, C_E=100, seed=1)


def test_profile_names_the_parts_and_leaves_the_spikes_alone():
    prof = {}
    timed = run(spec(), 0.1 * second, seed=2, profile=prof)
    plain = run(spec(), 0.1 * second, seed=2)
    for p in plain.times_s:
        np.testing.assert_array_equal(timed.times_s[p], plain.times_s[p])
        np.testing.assert_array_equal(timed.indices[p], plain.indices[p])
    assert set(prof) == {"build_s", "run_s", "record_s", "objects_s"}
    assert prof["build_s"] > 0 and prof["run_s"] > 0 and prof["record_s"] >= 0
    objects = prof["objects_s"]
    assert all(t >= 0 for t in objects.values())
    # the fused Brunel spec delivers spikes through one excitatory and one inhibitory pathway
    pathways = [name for name in objects if name.endswith("(pre pathway)")]
    assert sorted(pathways) == ["exc_exc+exc_inh (pre pathway)", "inh_exc+inh_inh (pre pathway)"]
    assert sum(objects.values()) <= prof["run_s"]  # the generated code runs inside Network.run


@pytest.mark.parametrize("target, profile", [("cpp_standalone", {}), ("numpy", "yes"), ("numpy", [])])
def test_profile_refuses_what_it_cannot_fill(target, profile):
    with pytest.raises(ValueError, match="profile= takes a dict"):
        run(spec(), 0.01 * second, target=target, profile=profile)
