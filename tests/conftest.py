"""Shared pytest setup. Fixtures built once per session go here."""
import brian2 as b2
import pytest


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
