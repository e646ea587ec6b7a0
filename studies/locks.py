"""Lock files: one process at a time may hold a results folder or a Brian2 cache slot.

A `FileLock` is an advisory `flock` on a small file that also records who holds
it (pid, host, since when), so the process that is refused can name the holder.
The kernel releases a `flock` when its holder dies, however it dies (SIGKILL,
a crash, a lost node): a lock file left behind by a dead process is simply
free, and the next process takes it over and writes its own name in it. The
file itself is never deleted — deleting a lock file while another process
waits to open it would let two processes hold two different files of one name.

POSIX only (`fcntl`); on NFS, Linux turns `flock` into NFS byte-range locks,
which hold across the machines that share the file system.
"""
from __future__ import annotations

import datetime
import fcntl
import os
import socket
from pathlib import Path


class FolderBusy(RuntimeError):
    """A lock is held by another process; the message names the file and the holder."""


class FileLock:
    """An exclusive, non-blocking lock on `path`, held by this process until `release()`.

    `acquire()` returns False at once when another process (or another
    FileLock on the same file in this process) holds it; `holder()` then says who.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._fd: int | None = None

    def __repr__(self) -> str:
        return f"FileLock({str(self.path)!r}, held={self.held})"

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self) -> bool:
        """Take the lock if it is free and write this process's name into the file."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        except BaseException:
            os.close(fd)
            raise
        now = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
        text = f"pid {os.getpid()} on host {socket.gethostname()} since {now}\n".encode()
        os.pwrite(fd, text, 0)  # then cut what a dead holder left: a reader never sees it empty
        os.ftruncate(fd, len(text))
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock back (the file stays, emptied)."""
        if self._fd is None:
            return
        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # a reader must not take our name for a live holder's
        finally:
            os.close(fd)  # closing the descriptor drops the flock

    def holder(self) -> str:
        """Who holds the lock, as written in the file by its holder ("unknown" if not readable)."""
        try:
            text = self.path.read_text(errors="replace").strip()
        except OSError:
            text = ""
        return text or "holder unknown"
