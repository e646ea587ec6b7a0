"""What the disorder tests call a change beyond seed-to-seed noise (tests/test_disorders*.py)."""
import numpy as np


def change_beyond_noise(healthy, sick, floor: float = 0.02) -> bool:
    """|mean change| larger than twice the healthy seed-to-seed sd (and than `floor`).

    healthy, sick: one value per seed (the same seeds, the same order)."""
    return abs(np.mean(healthy) - np.mean(sick)) > max(2 * np.std(healthy, ddof=1), floor)
