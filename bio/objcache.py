"""A per-user cache of the object files of cpp_standalone programs, one per host.

Each network's standalone program is built in a directory of its own (bio.simulate.program_dir),
inside a build slot of its own per process, so two worker processes that build the same network,
or two networks that share translation units (a population's update code, say), compiled every
file again: g++ at -O3 costs ~0.5 s a file, a program has 15-40. Make calls the compiler through
this script (`CXX=python -I -S objcache.py CACHE_DIR SALT g++`, set by bio.simulate._target),
which keys each `-c SOURCE -o OBJECT` compilation by everything that decides the object:

    sha256(salt, target, the flags but for the source and object paths, `g++ -E` of the source)

salt: the compiler's and the assembler's versions and configuration (`salt()`, once per
process); target: the compiler proper's command line for these flags (`g++ FLAGS -###`:
-march=native resolved to this processor's features and cache sizes, ~5 ms a call). The cache
directory is per host as well (bio.simulate.objcache_dir), as the cython caches are.

A hit copies the kept object (~0.1 s, mostly the preprocessing, against ~0.5 s to compile); a
miss compiles the preprocessed text (gcc writes from it, byte for byte, the object it writes from
the source) and keeps a copy, synced under a temporary name and then renamed, so that processes
racing on one key never see part of a file; a kept object that is not a whole ELF file (a crash
that lost unsynced data) is removed and compiled again. A miss holds the key's lock file while
it compiles (`_claimed`): a second process that needs the same object meanwhile (two workers
that start one network at once) waits for it and takes it instead of compiling it too. Every
other call (make's `-MM` dependencies, the link, flags that put more than the text into the
object: `UNCACHED`) goes to the compiler unchanged, and any failure of the cache's own work
falls back to compiling. One line per compilation in the build directory's `objcache.log`
("hit" or "miss", then the source) lets a build report what it compiled.
$BRAINBRIDGE_OBJCACHE=0 switches the cache off.

Run as a script by make (stdlib only; -I -S: no site-packages, nothing of bio/ on sys.path,
~20 ms); imported by bio.simulate for `salt`, `make_variable`, `prune` and `read_log`.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import time

LOG = "objcache.log"  # in the directory make runs in (the program's build directory)
KEPT_OBJECTS = 4000  # at most this many objects (~20-200 kB each); least recently used go first
SOURCES = (".cpp", ".cc", ".cxx")  # C++ only: a C file would need the C driver's language
# calls whose object depends on more than the preprocessed text and the flags (an object that
# embeds its own path, a plugin, a response file of flags): compiled, never cached
UNCACHED = ("@", "-specs", "-fplugin", "--coverage", "-fprofile", "-ftest-coverage", "-S",
            "-save-temps", "-g")
ELF = b"\x7fELF"
WAIT_S = 600.0  # longest wait for another process's compilation of a key; then compile it here


def salt(compiler: str) -> str:
    """What identifies `compiler` and the assembler it calls here (versions, configuration).
    Computed once per process by bio.simulate; the code each call targets is keyed per call
    (`_target`)."""
    h = hashlib.sha256()
    assembler = subprocess.run([compiler, "-print-prog-name=as"], capture_output=True, check=True,
                               text=True).stdout.strip() or "as"
    for cmd in ([compiler, "-v"], [compiler, "--version"], [assembler, "--version"]):
        out = subprocess.run(cmd, capture_output=True, check=True)
        h.update(out.stdout + out.stderr)
    return h.hexdigest()[:32]


def _target(compiler: str, flags: list[str]) -> bytes:
    """The compiler proper's command line for `flags` (`-###`: -march=native resolved to this
    processor's features and cache sizes, the configuration's defaults), ~5 ms."""
    out = subprocess.run([compiler, *flags, "-###", "-E", "-x", "c++", os.devnull], capture_output=True, check=True)
    return out.stderr


def make_variable(compiler: str, cache_dir: str, salt_value: str) -> str:
    """make's `CXX=...` argument (shell-quoted, `$` doubled for make) that routes `compiler`
    through the cache in `cache_dir`: make runs
    `python -I -S objcache.py CACHE_DIR SALT COMPILER ARGS...`."""
    import shlex

    cmd = " ".join(shlex.quote(p) for p in (sys.executable, "-I", "-S", os.path.abspath(__file__),
                                            cache_dir, salt_value, compiler))
    return "CXX=" + shlex.quote(cmd.replace("$", "$$"))


def prune(cache_dir: str, keep: int = KEPT_OBJECTS) -> int:
    """Remove all but the `keep` most recently used objects (a hit refreshes an object's mtime),
    with their keys' lock files, and the lock files of keys that never got an object (a failed
    compilation) once they are older than any wait. Returns how many objects it removed."""
    try:
        listed = list(os.scandir(cache_dir))
    except FileNotFoundError:
        return 0
    names = {e.name for e in listed}
    stale = time.time() - WAIT_S
    for e in listed:
        if e.name.endswith(".lock") and e.name[:-5] + ".o" not in names:
            try:
                if e.stat().st_mtime < stale:
                    os.remove(e.path)
            except FileNotFoundError:
                pass
    entries = [e for e in listed if e.name.endswith(".o")]
    if len(entries) <= keep:
        return 0
    entries.sort(key=lambda e: e.stat().st_mtime, reverse=True)
    for e in entries[keep:]:
        for path in (e.path, e.path[:-2] + ".lock"):  # the object and its key's lock file
            try:
                os.remove(path)
            except FileNotFoundError:
                pass
    return len(entries) - keep


def read_log(path: str) -> dict:
    """{"hit": n, "miss": n}: the compilations of the build that wrote `path` (`LOG`)."""
    counts = {"hit": 0, "miss": 0}
    try:
        with open(path) as f:
            for line in f:
                kind = line.split(" ", 1)[0]
                if kind in counts:
                    counts[kind] += 1
    except FileNotFoundError:
        pass
    return counts


def _split(args: list[str]):
    """(source, object, the other flags) of a single-source `-c ... -o OBJECT` call, else None."""
    if "-c" not in args or args.count("-o") != 1 or any(a in ("-E", "-M", "-MM", "-MD", "-MMD") for a in args):
        return None
    if any(a.startswith(UNCACHED) and a != "-g0" for a in args):  # -g0: no debug information
        return None
    i = args.index("-o")
    if i + 1 >= len(args):
        return None
    obj = args[i + 1]
    rest = args[:i] + args[i + 2:]
    sources = [a for a in rest if a.endswith(SOURCES) and not a.startswith("-")]
    if len(sources) != 1:
        return None
    flags = [a for a in rest if a not in ("-c", sources[0])]
    return sources[0], obj, flags


def _log(kind: str, source: str) -> None:
    try:
        with open(LOG, "a") as f:
            f.write(f"{kind} {source}\n")
    except OSError:
        pass


def _whole_elf(data: bytes, size: int) -> bool:
    """Whether an ELF file of `size` bytes starting with `data` (its header) reaches the end of
    its section header table, which gcc writes last: a file cut short does not."""
    import struct

    if len(data) < 64 or data[:4] != ELF or data[4] not in (1, 2) or data[5] not in (1, 2):
        return False
    order = "<" if data[5] == 1 else ">"
    if data[4] == 2:  # 64-bit
        shoff, = struct.unpack_from(order + "Q", data, 0x28)
        shentsize, shnum = struct.unpack_from(order + "HH", data, 0x3A)
    else:
        shoff, = struct.unpack_from(order + "I", data, 0x20)
        shentsize, shnum = struct.unpack_from(order + "HH", data, 0x2E)
    return shnum > 0 and shoff + shentsize * shnum <= size


def _kept(path: str) -> bool:
    """Whether `path` holds a whole object file (a crash while writing it, on a file system that
    lost the unsynced data, can leave it empty or cut short: then it is removed)."""
    try:
        with open(path, "rb") as f:
            ok = _whole_elf(f.read(64), os.fstat(f.fileno()).st_size)
    except OSError:
        return False
    if not ok:
        try:
            os.remove(path)
        except OSError:
            pass
    return ok


@contextlib.contextmanager
def _claimed(kept: str, cache_dir: str):
    """Hold the lock file of the key `kept` (an exclusive flock on KEY.lock) for the block.

    A second process that misses the same key meanwhile waits here until the first has kept
    the object, then finds it. The lock only saves work: where it cannot be had (no lock file,
    a wait over WAIT_S) the block runs anyway and both compile, as without it; a holder that
    dies releases it with its file descriptors."""
    fd = None
    try:
        os.makedirs(cache_dir, exist_ok=True)
        fd = os.open(kept[:-2] + ".lock", os.O_CREAT | os.O_RDWR, 0o644)
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    break
                time.sleep(0.05)
    except OSError:
        pass
    try:
        yield
    finally:
        if fd is not None:
            os.close(fd)  # releases the lock


def _keep(obj: str, kept: str, cache_dir: str) -> None:
    """Copy the object just compiled into the cache: written whole and synced under a temporary
    name, then renamed, so a reader never sees part of it."""
    tmp = None
    try:
        os.makedirs(cache_dir, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
        with os.fdopen(fd, "wb") as out, open(obj, "rb") as src:
            shutil.copyfileobj(src, out)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, kept)
    except OSError:  # a full disk, say: the build stands, the object is just not kept
        if tmp is not None and os.path.exists(tmp):
            os.remove(tmp)


def main(argv: list[str]) -> int:
    """argv: CACHE_DIR SALT COMPILER ARGS... (what `make_variable` writes)."""
    cache_dir, salt_value, compiler, args = argv[0], argv[1], argv[2], argv[3:]
    parts = _split(args)
    if parts is None:
        return subprocess.call([compiler, *args])
    source, obj, flags = parts
    try:
        target = _target(compiler, flags)
    except (OSError, subprocess.CalledProcessError):
        return subprocess.call([compiler, *args])
    pre = subprocess.run([compiler, *flags, "-E", source], capture_output=True)
    if pre.returncode != 0:  # let the compiler report the error
        return subprocess.call([compiler, *args])
    h = hashlib.sha256(salt_value.encode() + b"\0")
    h.update(target + b"\0")
    h.update("\0".join(flags).encode() + b"\0\0")
    h.update(pre.stdout)
    kept = os.path.join(cache_dir, h.hexdigest() + ".o")
    if _taken(kept, obj, source):
        return 0
    with _claimed(kept, cache_dir):
        if _taken(kept, obj, source):  # kept by the process this one waited for
            return 0
        # compiled from the preprocessed text rather than preprocessed again (~0.08 s a file): gcc
        # writes the same object byte for byte (its line markers name the source and headers)
        rc = subprocess.run([compiler, "-c", *flags, "-x", "c++-cpp-output", "-", "-o", obj],
                            input=pre.stdout).returncode
        if rc == 0:
            _log("miss", source)
            _keep(obj, kept, cache_dir)
    return rc


def _taken(kept: str, obj: str, source: str) -> bool:
    """Copy the kept object to `obj` if there is a whole one (a hit); whether it was."""
    if not _kept(kept):
        return False
    try:
        shutil.copyfile(kept, obj)
    except OSError:
        return False
    try:
        os.utime(kept)  # recently used: kept by prune()
    except OSError:  # another user's cache entry, say: still a hit
        pass
    _log("hit", source)
    return True


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
