"""Shared pytest setup. Fixtures built once per session go here."""
import os

import brian2 as b2
import pytest

# `make test` already keeps every core busy (pytest-xdist): Brian2 code compiles in the process
# that needs it, as before bio.compile_pool, instead of in helper processes that would compete
# with the other test process (tests/test_compile_pool.py sets its own pool size). Set here, at
# import, so that the studies the tests start as subprocesses inherit it.
os.environ.setdefault("BRAINBRIDGE_COMPILE_JOBS", "1")


@pytest.fixture(autouse=True, scope="session")
def _quiet_brian():
    # Brian2 logs every code-generation fallback at INFO/WARNING; tests only need errors.
    b2.BrianLogger.log_level_error()
    yield


@pytest.fixture(scope="session")
def digits():
    """The embedded 8x8 digits, split with seed 0, shared by every test that trains or converts."""
    from ann import data

    return data.digits(seed=0)


@pytest.fixture(scope="session")
def mlps(digits):
    """Three MLPs 64-32-10 trained 10 epochs on the digits with seeds 0, 1, 2: the networks the
    disorder tests lesion (tests/test_disorders*.py; lesions return copies, these stay intact)."""
    import torch

    from ann import models, train

    nets = []
    for seed in (0, 1, 2):
        torch.manual_seed(seed)
        net = models.MLP(64, [32], 10)
        train.fit(net, digits.train, epochs=10, progress=False, device="cpu", seed=seed, val_fraction=0)
        nets.append(net)
    return nets


@pytest.fixture(scope="session")
def test_set(digits):
    """The first 150 test digits (seed 0's split), what the disorder tests score on."""
    import numpy as np

    return digits.test.subset(np.arange(150))
