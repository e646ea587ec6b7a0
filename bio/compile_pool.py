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

Blocks whose whole work is a Python call or one array store (a pathway's spike
queue, a threshold emptying its event space after a run: 9 of the 21 modules of a
Diehl & Cook network) are not compiled at all but run as the Python they are
(`stand_in`): a first labelling run of that network, on one core, 88 s -> 54 s.

The modules compiled here take Cython's binding=False (LEAN_DIRECTIVES): each
module's `main` is a builtin function rather than a Cython function object, which
Brian2 calls alike, and g++ has ~20% less to compile.

Nothing about the simulation changes: Brian2 then loads the module it would have
built itself, less that function type. Any failure in the pool (a missing compiler,
a process that cannot start) falls back to Brian2 compiling that module in this process,
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
import select
import subprocess
import sys
import threading
from pathlib import Path

_LOCK = threading.Lock()
_DEPTH = [0]  # nested parallel_compile() blocks share one patch
_ACTIVE: list = []  # the outermost block's Compiling, which nested blocks yield too
_OUTSIDE: list = []  # the Cython directive defaults the outermost block replaced


# Cython directives for the modules compiled here, beyond those Brian2's templates set.
# binding=False: a module's `main` becomes a plain builtin function instead of a Cython
# function object, whose type Cython otherwise writes into every module (~80 KB of C++ of
# its ~570 KB; benchmarks/objcache.py: 18% less CPU to compile a network's modules). Brian2 only ever calls `main(namespace)`, which
# works the same either way, so a module built without it (by Brian2 alone) is as good.
LEAN_DIRECTIVES = {"binding": False}


def _lean_directives() -> dict:
    """Set LEAN_DIRECTIVES as Cython's defaults in this process; returns what they replaced."""
    from Cython.Compiler import Options

    defaults = Options.get_directive_defaults()
    saved = {k: defaults[k] for k in LEAN_DIRECTIVES}
    defaults.update(LEAN_DIRECTIVES)
    return saved


def _restore_directives(saved: dict) -> None:
    from Cython.Compiler import Options

    Options.get_directive_defaults().update(saved)


def _build(code: str, options: dict, cache_dir: str) -> None:
    """In a pool process: compile one block into `cache_dir` as Brian2 would (with
    LEAN_DIRECTIVES, as in the caller)."""
    import brian2
    from brian2.codegen.runtime.cython_rt.extension_manager import cython_extension_manager

    brian2.prefs.codegen.runtime.cython.cache_dir = cache_dir
    _lean_directives()
    cython_extension_manager.create_extension(code, **options)


def _serve(answer_fd: int) -> None:
    """A pool process (`python -m bio.compile_pool FD`): one job per line on stdin (an id and a
    pickled (code, options, cache_dir), base64), one answer per job on the pipe FD: the id, then
    "ok" or the error. Nothing else writes to that pipe (stdout goes to /dev/null)."""
    answers = os.fdopen(answer_fd, "w")
    for line in sys.stdin:
        job_id, _, payload = line.strip().partition(" ")
        try:
            _build(*pickle.loads(base64.b64decode(payload)))
            answer = "ok"
        except Exception as err:  # noqa: BLE001 - reported to the parent, which compiles itself
            answer = " ".join(f"{type(err).__name__}: {err}".split())
        answers.write(f"{job_id} {answer}\n")
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


def _missing(code: str) -> bool:
    """Whether the module of `code` is not in the cache yet (False when unsure: Brian2 decides)."""
    try:
        return not os.path.isfile(_module_path(code))
    except Exception:  # noqa: BLE001 - e.g. a Brian2 without this naming rule
        return False


def _options(codeobj) -> dict:
    return dict(define_macros=codeobj.define_macros, libraries=codeobj.libraries,
                extra_compile_args=codeobj.extra_compile_args, extra_link_args=codeobj.extra_link_args,
                include_dirs=codeobj.include_dirs, library_dirs=codeobj.library_dirs,
                runtime_library_dirs=codeobj.runtime_library_dirs, compiler=codeobj.compiler,
                sources=codeobj.sources)


class _Worker:
    """One pool process, driven by one thread at a time."""

    TIMEOUT_S = 600.0  # one module never takes this long: a silent worker is stuck, not busy

    def __init__(self):
        root = str(Path(__file__).resolve().parent.parent)  # where `bio` is importable from
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
        read, write = os.pipe()
        try:
            # `-P -m bio.compile_pool`: the process runs this module (never the caller's script, nor
            # a `bio` in the working directory); its own session, so Ctrl-C reaches only the caller
            self.proc = subprocess.Popen([sys.executable, "-P", "-m", "bio.compile_pool", str(write)],
                                         stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, env=env,
                                         pass_fds=(write,), start_new_session=True)
        except BaseException:
            os.close(read)
            raise
        finally:
            os.close(write)
        self.answers = os.fdopen(read, "rb")
        self.jobs = 0

    def build(self, job: str) -> None:
        self.jobs += 1
        self.proc.stdin.write(f"{self.jobs} {job}\n".encode())
        self.proc.stdin.flush()
        ready, _, _ = select.select([self.answers], [], [], self.TIMEOUT_S)
        answer = self.answers.readline().decode().strip() if ready else ""
        job_id, _, result = answer.partition(" ")
        if job_id != str(self.jobs) or result != "ok":
            if job_id != str(self.jobs):  # silent, ended or out of step: never ask it again
                self.kill()
            raise RuntimeError(result or "the compile process did not answer")

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.kill()
        self.proc.wait()

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self.proc.stdin.close()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.kill()
        self.answers.close()

    def forget(self) -> None:
        """In a forked child: drop the copies of this worker's pipes, leave the process alone."""
        for f in (self.proc.stdin, self.answers):
            with contextlib.suppress(OSError):
                f.close()


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
        self.broken = False

    def submit(self, code: str, options: dict):
        """A future of one module's build, or None when the pool cannot start (then Brian2
        compiles it in this process)."""
        from brian2.codegen.runtime.cython_rt.extension_manager import get_cython_cache_dir

        cache_dir = os.path.abspath(os.path.expanduser(get_cython_cache_dir()))
        job = base64.b64encode(pickle.dumps((code, options, cache_dir))).decode()
        with self.lock:
            self.timer = None  # a timer that fires now finds itself replaced and does nothing
            if self.threads is None:
                if self.broken:
                    return None
                try:
                    for _ in range(_cores()):
                        self.workers.append(_Worker())
                except OSError:  # no processes to spare (EAGAIN, ENOMEM, ...): compile here
                    for worker in self.workers:
                        worker.kill()
                    self.workers, self.broken = [], True
                    return None
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
                timer = threading.Timer(self.IDLE_S, self._expire)
                timer.args = (timer,)
                timer.daemon = True
                self.timer = timer
                timer.start()

    def _expire(self, timer) -> None:
        with self.lock:
            if self.timer is not timer:  # used again since this timer was set
                return
        self.close()

    def forget(self) -> None:
        for worker in self.workers:
            worker.forget()

    def close(self) -> None:
        with self.lock:
            self.timer = None
            if self.threads is not None:
                self.threads.shutdown(wait=True, cancel_futures=True)
                self.threads = None
            for worker in self.workers:
                worker.close()
            self.workers = []


_SHARED: dict = {}


def _pool() -> _Pool:
    """This process's pool."""
    if "pool" not in _SHARED:
        _SHARED["pool"] = _Pool()
        atexit.register(_SHARED["pool"].close)
    return _SHARED["pool"]


def _after_fork() -> None:
    """A forked child makes its own pool and drops its copies of the parent's pipes (held open,
    they would keep the parent's workers from seeing the end of their input)."""
    pool = _SHARED.pop("pool", None)
    if pool is not None:
        pool.forget()
    _ACTIVE.clear()


os.register_at_fork(after_in_child=_after_fork)


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
    # (bio.simulate.cpu_count says the same; importing it here would make the two modules a cycle)
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

    def __init__(self):
        self._futures = []

    @property
    def modules(self) -> int:
        return len(self._futures)

    def wait(self) -> None:
        concurrent.futures.wait(self._futures)


class _OwnerCall:
    """In place of a Cython module whose block is one call `_owner.<method>()` (a synaptic
    pathway's spike queue: synapses_push_spikes). The owner is Brian2's weak proxy, so this
    keeps nothing alive."""

    def __init__(self, owner, method: str):
        self.owner, self.method = owner, method

    def main(self, namespace):
        getattr(self.owner, self.method)()


class _NoEvents:
    """In place of a threshold's after_run module, which empties the event space at the end of
    a run: its last entry (the number of events) is set to 0."""

    def __init__(self, eventspace):
        self.eventspace = eventspace

    def main(self, namespace):
        self.eventspace.get_value()[-1] = 0


def stand_in(codeobj, block: str):
    """A Python object in place of the Cython module of `block` of `codeobj` when that block's
    whole work is a Python call or one array store, or None. Brian2 would compile each of
    these into a module of its own (~4 s of g++ on an empty cache; 9 of the 21 modules of a
    Diehl & Cook network); run once per run or calling into Python anyway, they take no longer
    as Python. What the block does stays the same: the code is checked to be what Brian2's
    template writes."""
    template = getattr(codeobj, "template_name", None)
    code = getattr(codeobj.code, block, "") if template in ("synapses_push_spikes", "threshold") else ""
    if template == "synapses_push_spikes" and block in ("before_run", "run"):
        method = "initialise_queue" if block == "before_run" else "push_spikes"
        if f"_owner.{method}()" in code:
            return _OwnerCall(codeobj.owner, method)
    if template == "threshold" and block == "after_run":
        for name, var in codeobj.variables.items():  # the event space this block empties
            if name.startswith("_") and name.endswith("space") and \
                    f"{codeobj.generator_class.get_array_name(var)}[N] = 0" in code:
                return _NoEvents(var)
    return None


@contextlib.contextmanager
def parallel_compile():
    """Within the block, Brian2 cython code objects missing from the cache compile in a pool
    of worker processes (one per core) while Brian2 prepares the rest of the network,
    blocks that only call Python are not compiled at all (`stand_in`), and the modules that
    are compiled take LEAN_DIRECTIVES.
    Yields a `Compiling`. Nested blocks share the outermost block's pool."""
    from brian2.codegen.runtime.cython_rt.cython_rt import CythonCodeObject

    pool = _pool() if _usable() else None

    def compile_block(self, block):
        stand = stand_in(self, block)
        return stand if stand is not None else type(self)._bb_compile_block(self, block)

    def compile(self):
        for block in ("before_run", "run", "after_run"):
            code = getattr(self.code, block, "").strip()
            future = None
            if stand_in(self, block) is None and code and "EMPTY_CODE_BLOCK" not in code and _missing(code):
                future = pool.submit(code, _options(self))
                if future is not None:
                    state._futures.append(future)
            self.compiled_code[block] = _Pending(future) if future is not None \
                else self.compile_block(block)

    def run_block(self, block):
        pending = self.compiled_code.get(block)
        if isinstance(pending, _Pending):
            self.compiled_code[block] = pending.resolve(self, block)
        return type(self)._bb_run_block(self, block)

    with _LOCK:
        if _DEPTH[0] == 0:  # first, so that a failure here leaves nothing half set
            _OUTSIDE[:] = [_lean_directives()]
        _DEPTH[0] += 1
        if _DEPTH[0] == 1:
            _ACTIVE[:] = [Compiling()]
            CythonCodeObject._bb_compile_block = CythonCodeObject.compile_block
            CythonCodeObject._bb_run_block = CythonCodeObject.run_block
            CythonCodeObject._bb_compile = CythonCodeObject.compile
            CythonCodeObject.compile_block = compile_block
            if pool is not None:
                CythonCodeObject.compile = compile
                CythonCodeObject.run_block = run_block
        state = _ACTIVE[0]
    try:
        yield state
    finally:
        with _LOCK:
            _DEPTH[0] -= 1
            if _DEPTH[0] == 0:
                CythonCodeObject.compile_block = CythonCodeObject._bb_compile_block
                CythonCodeObject.compile = CythonCodeObject._bb_compile
                CythonCodeObject.run_block = CythonCodeObject._bb_run_block
                if pool is not None:
                    pool.close_when_idle()
                _restore_directives(_OUTSIDE.pop())
                _ACTIVE.clear()


if __name__ == "__main__":
    _serve(int(sys.argv[1]))
