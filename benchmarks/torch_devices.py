"""Benchmark: training throughput of the torch side on every device this machine has.

Issue 15, point 6: the ANN and the surrogate-gradient SNN train with `train.fit`, which
picks CUDA when there is one (`device="auto"`); this run measures both on the CPU and,
in the same run, on CUDA when torch sees a device, so that the speed-up is a ratio of two
numbers taken side by side.

    python benchmarks/torch_devices.py (writes its section of docs/benchmarks.md)

Protocol. Digits of `data.digits(seed=0)` (1347 training images); per model, batch size and
device: `train.fit` for EPOCHS epochs (Adam lr 5e-3, cosine schedule, no validation split,
mixed precision on CUDA as fit's default), REPEATS times from the same initialisation (torch
seed 0), after one untimed warm-up fit per device (CUDA context, kernels, allocator).
samples/s = training samples per second of fit (median of the repeats; min and max given).
Test accuracy of the network each device trained, so a reader sees both devices train the
same network to about the same accuracy (not bit for bit: CUDA kernels and mixed precision
round differently). Exits non-zero if a device's accuracy at batch 32 (where 3 epochs train
every model past 95% on the CPU) falls more than 5 points below the CPU's; at batch 256 the
same epochs are 16 steps, too few for accuracies that two devices should be held to.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402
import torch  # noqa: E402

from ann import data, models, train  # noqa: E402

EPOCHS = 3
REPEATS = 3
BATCHES = (32, 256)
MAX_ACCURACY_GAP = 0.05
CHECKED_BATCH = 32
# the networks of benchmarks/ann_train.py (MLP, CNN) and benchmarks/learners.py (surrogate SNN)
MODELS = {
    "ANN MLP 64-256-10": lambda: models.MLP(64, [256], 10),
    "ANN CNN": lambda: models.CNN(),
    "surrogate SNN 64-128-10, T = 25": lambda: models.SpikingMLP(64, [128], 10, T=25),
    "surrogate SNN 64-128-10 recurrent, T = 25": lambda: models.SpikingMLP(64, [128], 10, T=25, recurrent=True),
}


def devices() -> list[str]:
    return ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name(0)
    return f"CPU, {torch.get_num_threads()} torch thread(s)"


def fit_once(make, ds, batch: int, device: str):
    """(samples/s, test accuracy) of one fit from torch seed 0."""
    torch.manual_seed(0)
    net = make()
    h = train.fit(net, ds.train, epochs=EPOCHS, batch_size=batch, val_fraction=0.0, seed=0,
                  device=device, progress=False)
    return h.samples_per_s, train.evaluate(net, ds.test, device=device)


def measure(ds, devs):
    """{(model, batch, device): dict(rates=[...], acc=...)}, devices interleaved per repeat."""
    for dev in devs:  # warm-up
        fit_once(MODELS["ANN MLP 64-256-10"], ds, 32, dev)
    out = {}
    for name, make in MODELS.items():
        for batch in BATCHES:
            for repeat in range(REPEATS):
                for dev in devs:
                    rate, acc = fit_once(make, ds, batch, dev)
                    cell = out.setdefault((name, batch, dev), dict(rates=[], acc=acc))
                    cell["rates"].append(rate)
            line = "  ".join(f"{dev} {np.median(out[name, batch, dev]['rates']):9.0f} samples/s "
                             f"(acc {out[name, batch, dev]['acc']:.3f})" for dev in devs)
            print(f"{name:<44} batch {batch:>3}: {line}", flush=True)
    return out


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.parse_args(argv)
    torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
    start = time.perf_counter()
    ds = data.digits(seed=0)
    devs = devices()
    res = measure(ds, devs)
    seconds = time.perf_counter() - start

    lines = [
        "# Training throughput on each device (torch side)",
        "",
        f"torch {torch.__version__}; devices: {'; '.join(f'{d} = {device_name(d)}' for d in devs)}; "
        f"{seconds:.0f} s in all. `train.fit` on the digits (seed 0, {len(ds.train)} training "
        f"images), {EPOCHS} epochs, no validation split; samples/s = median (min-max) of "
        f"{REPEATS} fits from the same initialisation, devices interleaved; accuracy on the "
        f"{len(ds.test)} test images of the network each device trained.",
        "",
        "| model | batch | " + " | ".join(f"{d} samples/s | {d} accuracy" for d in devs)
        + (" | CUDA / CPU |" if "cuda" in devs else " |"),
        "|---|---|" + "---|---|" * len(devs) + ("---|" if "cuda" in devs else ""),
    ]
    ok = True
    for name in MODELS:
        for batch in BATCHES:
            cells = []
            for dev in devs:
                c = res[name, batch, dev]
                cells.append(f"{np.median(c['rates']):.0f} ({min(c['rates']):.0f}-{max(c['rates']):.0f}) "
                             f"| {c['acc']:.2%}")
                if batch == CHECKED_BATCH:
                    ok &= c["acc"] >= res[name, batch, "cpu"]["acc"] - MAX_ACCURACY_GAP
            ratio = ""
            if "cuda" in devs:
                ratio = (f" {np.median(res[name, batch, 'cuda']['rates']) / np.median(res[name, batch, 'cpu']['rates']):.2f}x |")
            lines.append(f"| {name} | {batch} | " + " | ".join(cells) + " |" + ratio)
    lines.append("")
    if "cuda" not in devs:
        lines.append("No CUDA device on this machine: the GPU samples/s are not measured. On a "
                     "machine with one, the same command adds its columns and the speed-up.")
    else:
        lines.append(f"Accuracy at batch {CHECKED_BATCH} on every device within {MAX_ACCURACY_GAP:.0%} of the CPU's: "
                     f"{'met' if ok else 'MISSED'}.")
    from _docs import write_section
    write_section("torch_devices", "\n".join(lines))
    print("wrote docs/benchmarks.md")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
