"""Brian2's Cython code objects compiled side by side on every core, the first time only.

Brian2 (runtime `cython` target) compiles each code object when the object is
prepared, one after another in one process: on a machine with an empty cache a
first run is mostly the C++ compiler (the quickstart: 60 code objects, 143 s of
its 178 s on two cores, each object ~0.5 s of Cython and ~2 s of g++). Inside
`parallel_compile()`, a code object whose module is not in Brian2's cache is
handed to a pool of worker processes, which build it with Brian2's own extension
manager (same code, same flags, same cache file, under Brian2's file lock); the
run waits for a module only when it first executes it, so the objects of one
network compile at the same time. Modules already in the cache load as before,
and no pool is started when every module is there. $BRAINBRIDGE_COMPILE_JOBS sets
the number of pool processes (default: the cores this process may use; 1: none).

Nothing about the simulation changes: Brian2 then loads the very module it would
have built itself. Any failure in the pool (a missing compiler, a process
that cannot start) falls back to Brian2 compiling that module in this process,
which reports the error as it always does. The pool processes run this module
(`python -m bio.compile_pool`), never the caller's script, so a script without
an `if __name__ == "__main__"` guard is not run again.
"""
from __future__ import annotations

import atexit
import base64
import concurrent.futures
import contextlib
import hashlib
import os
import pickle
import queue
import subprocess
import sys
import threading
from pathlib import Path

_LOCK = threading.Lock()
_DEPTH = [0]  # nested parallel_compile() blocks share one patch


def _build(code: str, options: dict, cache_dir: str) -> None:
    """In a pool process: compile one block into `cache_dir` as Brian2 would."""
    import brian2
    from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager

    brian2.prefs.codegen.runtime.cython.cache_dir = cache_dir
    cython_extension_manager.create_extension(code, **options)


def _serve() -> None:
    """A pool process (`python -m bio.compile_pool`): one job per line on stdin (a pickled
    (code, options, cache_dir), base64), one answer per line ("ok" or the error)."""
    answers = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)  # anything the compiler prints goes to stderr, never into the answers
    for line in sys.stdin:
        try:
            _build(*pickle.loads(base64.b64decode(line)))
            answers.write("ok\n")
        except Exception as err:  # noqa: BLE001 - reported to the parent, which compiles itself
            answers.write(f"{type(err).__name__}: {err}".replace("\n", " ") + "\n")
        answers.flush()


def _module_path(code: str) -> str:
    """Where Brian2's extension manager keeps the module of `code` (its own naming rule)."""
    import Cython
    import numpy
    from brian2.codegen.runtime.cython_rt.extension_manager import (cython_extension_manager,
                                                                     get_cython_cache_dir)
    from brian2.utils.stringtools import deindent

    key = (deindent(code), sys.version_info, sys.executable, Cython.__version__,
           ".".join(numpy.__version__.split(".")[:2]), os.environ.get("CC"), os.environ.get("CXX"))
    name = f"_cython_magic_{hashlib.md5(str(key).encode('utf-8')).hexdigest()}"
    return os.path.join(os.path.expanduser(get_cython_cache_dir()), name + cython_extension_manager.so_ext)


def _options(codeobj) -> dict:
    return dict(define_macros=codeobj.define_macros, libraries=codeobj.libraries,
                extra_compile_args=codeobj.extra_compile_args, extra_link_args=codeobj.extra_link_args,
                include_dirs=codeobj.include_dirs, library_dirs=codeobj.library_dirs,
                runtime_library_dirs=codeobj.runtime_library_dirs, compiler=codeobj.compiler,
                sources=codeobj.sources)


class _Worker:
    """One pool process, driven by one thread at a time."""

    def __init__(self):
        root = str(Path(__file__).resolve().parent.parent)  # where `bio` is importable from
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        # `-m bio.compile_pool`: the process runs this module, never the caller's script
        self.proc = subprocess.Popen([sys.executable, "-m", "bio.compile_pool"], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, text=True, env=env)

    def build(self, job: str) -> None:
        self.proc.stdin.write(job + "\n")
        self.proc.stdin.flush()
        answer = self.proc.stdout.readline().strip()
        if answer != "ok":
            raise RuntimeError(answer or "the compile process ended")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()


class _Pool:
    """One pool process per core, all started with the first module that is not in the cache
    (each takes ~2 s to import Brian2; started together, they boot while the first compiles).

    One pool per process, kept between runs (a study's runs each miss a few modules: booting
    the processes again for each would cost more CPU than some compiles), and closed once
    no run has used it for IDLE_S seconds, or when the process exits.
    """

    IDLE_S = 60.0

    def __init__(self):
        self.lock = threading.Lock()
        self.threads = None
        self.workers: list[_Worker] = []
        self.timer = None

    def submit(self, code: str, options: dict):
        from brian2.codegen.runtime.cython_rt.extension_manager import get_cython_cache_dir

        job = base64.b64encode(pickle.dumps((code, options, os.path.expanduser(get_cython_cache_dir())))).decode()
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if self.threads is None:
                self.workers = [_Worker() for _ in range(_cores())]
                idle: queue.SimpleQueue = queue.SimpleQueue()
                for worker in self.workers:
                    idle.put(worker)
                local = threading.local()

                def build(job=None):
                    if not hasattr(local, "worker"):  # each thread of the pool keeps one process
                        local.worker = idle.get()
                    local.worker.build(job)

                self.build = build
                self.threads = concurrent.futures.ThreadPoolExecutor(max_workers=len(self.workers))
            return self.threads.submit(self.build, job)

    def close_when_idle(self) -> None:
        with self.lock:
            if self.threads is not None and self.timer is None:
                self.timer = threading.Timer(self.IDLE_S, self.close)
                self.timer.daemon = True
                self.timer.start()

    def close(self) -> None:
        with self.lock:
            if self.timer is not None:
                self.timer.cancel()
                self.timer = None
            if self.threads is not None:
                self.threads.shutdown(wait=True, cancel_futures=True)
                self.threads = None
            for worker in self.workers:
                worker.close()
            self.workers = []


_SHARED: dict = {}


def _pool() -> _Pool:
    """This process's pool (a child forked from a process with a pool makes its own)."""
    if _SHARED.get("pid") != os.getpid():
        _SHARED.update(pid=os.getpid(), pool=_Pool())
        atexit.register(_SHARED["pool"].close)
    return _SHARED["pool"]


JOBS_ENV = "BRAINBRIDGE_COMPILE_JOBS"


def _cores() -> int:
    """Pool size: $BRAINBRIDGE_COMPILE_JOBS when set (1: no pool, Brian2 compiles alone), else the
    cores this process may use."""
    value = os.environ.get(JOBS_ENV, "").strip()
    if value:
        if not value.isdigit() or int(value) < 1:
            raise ValueError(f"{JOBS_ENV} must be a whole number >= 1 (1: compile in this process "
                             f"only), got {value!r}")
        return int(value)
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


class _Pending:
    """A block being compiled in the pool; `resolve()` waits, then Brian2 loads it from the cache."""

    def __init__(self, future):
        self.future = future

    def resolve(self, codeobj, block):
        try:
            self.future.result()
        except Exception:  # noqa: BLE001 - Brian2 compiles it here and reports any error itself
            pass
        return type(codeobj)._bb_compile_block(codeobj, block)


def _usable() -> bool:
    return _cores() > 1


class Compiling:
    """What `parallel_compile()` yields: `modules` counts the modules handed to the pool so far;
    `wait()` blocks until each has been built (a run calls it to tell compiling from stepping)."""

    def __init__(self, pool: _Pool | None):
        self._futures = []

    @property
    def modules(self) -> int:
        return len(self._futures)

    def wait(self) -> None:
        concurrent.futures.wait(self._futures)


@contextlib.contextmanager
def parallel_compile():
    """Within the block, Brian2 cython code objects missing from the cache compile in a pool
    of worker processes (one per core) while Brian2 prepares the rest of the network.
    Yields a `Compiling`. Nested blocks share the outermost block's pool."""
    if not _usable():
        yield Compiling(None)
        return
    from brian2.codegen.runtime.cython_rt.cython_rt import CythonCodeObject

    pool = _pool()
    state = Compiling(pool)

    def compile(self):
        for block in ("before_run", "run", "after_run"):
            code = getattr(self.code, block, "").strip()
            future = None
            if code and "EMPTY_CODE_BLOCK" not in code and not os.path.isfile(_module_path(code)):
                future = pool.submit(code, _options(self))
                state._futures.append(future)
            self.compiled_code[block] = _Pending(future) if future is not None \
                else self.compile_block(block)

    def run_block(self, block):
        pending = self.compiled_code.get(block)
        if isinstance(pending, _Pending):
            self.compiled_code[block] = pending.resolve(self, block)
        return type(self)._bb_run_block(self, block)

    with _LOCK:
        _DEPTH[0] += 1
        if _DEPTH[0] == 1:
            CythonCodeObject._bb_compile_block = CythonCodeObject.compile_block
            CythonCodeObject._bb_run_block = CythonCodeObject.run_block
            CythonCodeObject._bb_compile = CythonCodeObject.compile
            CythonCodeObject.compile = compile
            CythonCodeObject.run_block = run_block
    try:
        yield state
    finally:
        with _LOCK:
            _DEPTH[0] -= 1
            if _DEPTH[0] == 0:
                CythonCodeObject.compile = CythonCodeObject._bb_compile
                CythonCodeObject.run_block = CythonCodeObject._bb_run_block
                pool.close_when_idle()


if __name__ == "__main__":
    _serve()
