"""bio: spiking networks in Brian2 (neurons, synapses, networks, runs, analysis, lesions).

Knows Brian2 and NumPy, nothing of torch. Every run returns a `SpikeRecord`.
Submodules load on first use, so `import bio` stays fast.
"""
from importlib import import_module

from .record import SpikeRecord
from .simulate import run, TARGETS
from .spec import NetworkSpec, Population, Connection, Record

# public name -> module that defines it (imported on first access)
_LAZY = {
    "neurons": "bio.neurons", "synapses": "bio.synapses", "inputs": "bio.inputs",
    "analysis": "bio.analysis", "lesion": "bio.lesion", "spec": "bio.spec",
    "layered": "bio.layered", "brunel2000": "bio.brunel2000",
    "diehl_cook": "bio.diehl_cook", "stdp": "bio.stdp",
    "diehl_cook_spec": "bio.diehl_cook", "DiehlCookParams": "bio.diehl_cook",
    "clamp": "bio.clamp", "simulate": "bio.simulate", "record": "bio.record", "theory": "bio.theory", "attractor": "bio.attractor",
    "fi_curve": "bio.clamp", "current_clamp": "bio.clamp",
    "brunel": "bio.brunel2000", "brunel_spec": "bio.brunel2000",
    "Layered": "bio.layered",
    "neo_io": "bio.neo_io", "to_neo": "bio.neo_io", "from_neo": "bio.neo_io",
    "seizure": "bio.seizure", "seizure_spec": "bio.seizure", "detect_seizures": "bio.seizure",
    "prepared": "bio.prepared", "Prepared": "bio.prepared",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'bio' has no attribute {name!r}")
    module = import_module(_LAZY[name])
    value = module if _LAZY[name] == f"bio.{name}" else getattr(module, name)
    globals()[name] = value
    return value


__all__ = ["SpikeRecord", "run", "TARGETS", "NetworkSpec", "Population", "Connection", "Record", *_LAZY]
