"""Named phases of a long study point, printed as they start and end (with a bar when counted).

    with progress.phase("lesions", total=15) as bar:
        for ...:
            bar.update(1)

Prints `[phase] lesions ...` to stderr, then `[phase] lesions done in 12.3 s`; with a
total, a tqdm bar counts the steps. Phases are quiet when BRAINBRIDGE_QUIET is set (the
test suite sets it) so test logs stay short.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass


def _say(line: str) -> None:
    """One line on stderr, on a line of its own: tqdm.write lifts the runner's point bar out of
    the way and redraws it below (a plain print would continue the bar's line)."""
    from tqdm.auto import tqdm

    tqdm.write(line, file=sys.stderr)
    sys.stderr.flush()


def quiet() -> bool:
    """True when progress output is off (BRAINBRIDGE_QUIET set: the test suite)."""
    return bool(os.environ.get("BRAINBRIDGE_QUIET"))


@contextlib.contextmanager
def phase(name: str, total: int | None = None):
    """Announce a phase, time it, and yield a bar (its `update(n)` counts steps)."""
    silent = quiet()
    start = time.perf_counter()
    if not silent:
        _say(f"[phase] {name} ...")
    if total and not silent:
        from tqdm.auto import tqdm

        with tqdm(total=total, desc=name, leave=False, file=sys.stderr) as bar:
            yield bar
    else:
        yield _NoBar()
    if not silent:
        _say(f"[phase] {name} done in {time.perf_counter() - start:.1f} s")
