"""Where compiled Brian2 code lives: a per-user cache shared by every run on a machine.

Compiling Brian2's cython code objects (or a `cpp_standalone` program) takes
seconds to minutes, so compiled code is kept in a cache that outlives results
folders: a run into a new `--out` reuses what an earlier run compiled.

    $BRAINBRIDGE_CACHE_DIR                  (default $XDG_CACHE_HOME/brainbridge,
                                             or ~/.cache/brainbridge)
      brian/<host>/<slot>/.lock             who holds the slot now (see locks.py)
      brian/<host>/<slot>/cython/           Brian2's cython cache of that slot
      brian/<host>/<slot>/standalone/       BRAINBRIDGE_STANDALONE_DIR of that slot

One slot per process that runs points (an in-process run, a local worker or a Dask worker),
so no two processes ever compile into one directory at the same time. A process
takes the first free slot (0, 1, 2, ...) by locking its `.lock` file and holds
it until it is done, so two `brainbridge run` commands on one machine use
different slots, and a later run finds slots 0..N-1 already compiled. A stale
cache is safe: Brian2 names each cython module by a hash of its code, and the
standalone build recompiles only the files that changed.

Why a level per host: Brian2 compiles with `-march=native`, so code compiled on
one machine may not run on another; cluster nodes often share one home
directory, and a cache shared across them could crash with an illegal
instruction.
"""
from __future__ import annotations

import itertools
import os
import re
import socket
import tempfile
from pathlib import Path

from .locks import FileLock

CACHE_ENV = "BRAINBRIDGE_CACHE_DIR"


def cache_root() -> Path:
    """brainbridge's per-user cache: $BRAINBRIDGE_CACHE_DIR, else $XDG_CACHE_HOME/brainbridge,
    else ~/.cache/brainbridge (the XDG base-directory convention)."""
    own = os.environ.get(CACHE_ENV)
    if own:
        return Path(own).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    base = Path(xdg) if os.path.isabs(xdg) else Path.home() / ".cache"  # relative: ignored (XDG)
    return base / "brainbridge"


def brian_root(root: str | Path | None = None) -> Path:
    """The directory of this machine's Brian2 slots under `root` (default `cache_root()`)."""
    host = re.sub(r"[^A-Za-z0-9_.-]", "_", socket.gethostname()) or "host"
    return Path(root if root is not None else cache_root()) / "brian" / host


def _fallback_root() -> Path:
    return Path(tempfile.gettempdir()) / f"brainbridge-cache-{os.getuid()}"


class Slot:
    """This process's Brian2 slot: the first free one under `brian_root(root)`, locked.

    `claim()` returns the slot directory; `release()` frees it for the next
    process. Also a context manager. When the cache cannot be written (a
    read-only home, a file system without locks), the slot is taken under the
    system's temporary directory instead.
    """

    def __init__(self, root: str | Path | None = None):
        self.root = root
        self.path: Path | None = None
        self._lock: FileLock | None = None

    def __enter__(self) -> Path:
        return self.claim()

    def __exit__(self, *exc) -> None:
        self.release()

    def claim(self) -> Path:
        if self.path is not None:
            return self.path
        try:
            self.path, self._lock = _first_free(brian_root(self.root))
        except OSError:
            self.path, self._lock = _first_free(brian_root(_fallback_root()))
        return self.path

    def release(self) -> None:
        if self._lock is not None:
            self._lock.release()
        self.path, self._lock = None, None


def _first_free(directory: Path) -> tuple[Path, FileLock]:
    for n in itertools.count():
        slot = directory / str(n)
        slot.mkdir(parents=True, exist_ok=True)
        lock = FileLock(slot / ".lock")
        if lock.acquire():
            return slot, lock
