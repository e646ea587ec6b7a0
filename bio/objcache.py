"""A machine-wide cache of the object files of cpp_standalone programs.

Each network's standalone program is built in a directory of its own (bio.simulate.program_dir),
inside a build slot of its own per process, so two worker processes that build the same network,
or two networks that share translation units (brianlib's, a population's update code), compiled
every file again: g++ at -O3 costs ~0.6 s a file, a program has 15-40. Make calls the
compiler through this script (`CXX=python -S objcache.py CACHE_DIR SALT g++`, set by
bio.simulate._target), which keys each `-c SOURCE -o OBJECT` compilation by what the compiler
would see and produce:

    sha256(salt, the flags but for the source and object paths, `g++ -E` of the source)

where salt names the compiler (`--version`) and the code it targets (`-march=native` resolved on
this machine: `-Q --help=target`, computed once per process by `salt()`, so a home directory
shared by machines of other processors never hands one the other's code). A hit copies the kept
object (~0.1 s for the preprocessing, against ~0.5 s to compile); a miss compiles the
preprocessed text (the object gcc writes from it is byte for byte the one it writes from the
source) and keeps a copy, written to a temporary name and renamed, so processes that race on
one key never see half a file.
Every other call (make's `-MM` dependencies, the link) goes to the compiler unchanged, and any
failure of the cache's own work falls back to compiling. A line per compilation in the build
directory's `objcache.log` ("hit" or "miss", then the source) lets a build report what it
compiled. $BRAINBRIDGE_OBJCACHE=0 switches the cache off.

Run as a script by make (stdlib only, started with -S: no site-packages, ~20 ms); imported by
bio.simulate for `make_variable` and `prune`.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tempfile

LOG = "objcache.log"  # in the directory make runs in (the program's build directory)
KEPT_OBJECTS = 4000  # at most this many objects (~20-200 kB each); least recently used go first
SOURCES = (".cpp", ".cc", ".cxx", ".c")


def salt(compiler: str, flags: list[str] = ()) -> str:
    """What identifies the code `compiler` emits here: its version and, for the target flags in
    `flags` (-march=native above all), the target options it resolves them to."""
    h = hashlib.sha256()
    for cmd in ([compiler, "--version"],
                [compiler, *[f for f in flags if f.startswith(("-m", "-f"))], "-Q", "--help=target"]):
        h.update(subprocess.run(cmd, capture_output=True, check=True).stdout)
    return h.hexdigest()[:32]


def make_variable(compiler: str, cache_dir: str, salt_value: str) -> str:
    """make's `CXX=...` argument (shell-quoted) that routes `compiler` through the cache in
    `cache_dir`: make runs `python -S objcache.py CACHE_DIR SALT COMPILER ARGS...`."""
    import shlex

    cmd = " ".join(shlex.quote(p) for p in (sys.executable, "-S", os.path.abspath(__file__),
                                            cache_dir, salt_value, compiler))
    return "CXX=" + shlex.quote(cmd)


def prune(cache_dir: str, keep: int = KEPT_OBJECTS) -> int:
    """Remove all but the `keep` most recently used objects (a hit refreshes an object's mtime).
    Returns how many it removed."""
    try:
        entries = [e for e in os.scandir(cache_dir) if e.name.endswith(".o")]
    except FileNotFoundError:
        return 0
    if len(entries) <= keep:
        return 0
    entries.sort(key=lambda e: e.stat().st_mtime, reverse=True)
    for e in entries[keep:]:
        try:
            os.remove(e.path)
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


def main(argv: list[str]) -> int:
    """argv: CACHE_DIR SALT COMPILER ARGS... (what `make_variable` writes)."""
    cache_dir, salt_value, compiler, args = argv[0], argv[1], argv[2], argv[3:]
    parts = _split(args)
    if parts is None:
        return subprocess.call([compiler, *args])
    source, obj, flags = parts
    pre = subprocess.run([compiler, *flags, "-E", source], capture_output=True)
    if pre.returncode != 0:  # let the compiler report the error
        return subprocess.call([compiler, *args])
    h = hashlib.sha256(salt_value.encode())
    h.update("\0".join(flags).encode() + b"\0\0")
    h.update(pre.stdout)
    kept = os.path.join(cache_dir, h.hexdigest() + ".o")
    try:
        shutil.copyfile(kept, obj)
        os.utime(kept)  # recently used: kept by prune()
        _log("hit", source)
        return 0
    except OSError:
        pass
    # compiled from the preprocessed text rather than preprocessed again (~0.08 s a file): gcc
    # writes the same object byte for byte (its line markers name the source and headers)
    language = "cpp-output" if source.endswith(".c") else "c++-cpp-output"
    rc = subprocess.run([compiler, "-c", *flags, "-x", language, "-", "-o", obj], input=pre.stdout).returncode
    if rc == 0:
        _log("miss", source)
        tmp = None
        try:
            os.makedirs(cache_dir, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
            os.close(fd)
            shutil.copyfile(obj, tmp)
            os.replace(tmp, kept)
        except OSError:  # a full disk, say: the build stands, the object is just not kept
            if tmp is not None and os.path.exists(tmp):
                os.remove(tmp)
    return rc


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
