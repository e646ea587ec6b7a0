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
("hit" or "miss", then the source, then "pch" where a miss used the precompiled header) lets a
build report what it compiled. $BRAINBRIDGE_OBJCACHE=0 switches the cache off.

Most of a miss is not the network's code: each code object of a standalone program includes
<iostream>, <fstream>, <random>, <map>, ... (through objects.h and the code-object templates),
~69 000 preprocessed lines that g++ parses again for each file (0.48 of the 0.56 s of a code
object). So a miss whose source already includes every file of `STD_HEADERS` (each code
object; not main.cpp, objects.cpp, run.cpp, ...) compiles with those headers precompiled
(`_pch`: one `g++ -x c++-header` per compiler, target and flags, ~1.5 s, kept here): ~0.2 s a
code object. The headers are then parsed ahead of the source instead of where it includes
them, which gives the same object only where nothing before them changes what they declare:
the precompiled header is not used for a source that defines a macro they test ahead of them
(`_GLIBCXX_DEBUG`, `NDEBUG`, ...), nor once a file it was built from has changed (built
again), nor where gcc refuses it (the file is compiled plain and it is built again). Brian2's
code objects meet that: benchmarks/objcache.py compares every code object of its programs
with the same file compiled plain, byte for byte. Such objects are keyed apart from plain
ones; a hit takes either. $BRAINBRIDGE_PCH=0 switches the precompiled header off.

Run as a script by make (stdlib only; -I -S: no site-packages, nothing of bio/ on sys.path,
~20 ms); imported by bio.simulate for `salt`, `make_variable`, `prune` and `read_log`.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import re
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
PCH_ENV = "BRAINBRIDGE_PCH"  # "0": parse the standard headers again in every miss
# what each code object of a Brian2 standalone program includes, the heavy part of each
STD_HEADERS = ("algorithm", "climits", "cmath", "ctime", "fstream", "iostream", "iterator", "limits",
               "map", "random", "set", "utility", "vector")
PCH_DIR = "pch"  # in the cache directory: one folder per compiler, target and flags
KEPT_PCH = 3  # at most this many precompiled headers (~45 MB each); least recently used go first
# a line marker of the preprocessor's output: the file, then its flags (1: entering the file)
_MARKER = re.compile(rb'^# \d+ "([^"]*)"([ \d]*)$', re.M)
_DEFINE = re.compile(rb"^#(?:define|undef) ([A-Za-z_]\w*)", re.M)  # in `-dD`/`-dU` output


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
    compilation) once they are older than any wait; and all but `KEPT_PCH` precompiled headers
    (`_prune_pch`). Returns how many objects it removed."""
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
    _prune_pch(os.path.join(cache_dir, PCH_DIR), stale)
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


def _prune_pch(root: str, stale: float, keep: int = KEPT_PCH) -> None:
    """Remove all but the `keep` most recently used precompiled headers, the folders of builds
    that a crash left (`.tmp`) and lock files without a folder, once older than any wait."""
    try:
        listed = list(os.scandir(root))
    except FileNotFoundError:
        return
    names = {e.name for e in listed}
    folders = []
    for e in listed:
        try:
            if e.name.endswith(".tmp") or (e.name.endswith(".lock") and e.name[:-5] not in names):
                if e.stat().st_mtime < stale:
                    if e.is_dir():
                        shutil.rmtree(e.path, ignore_errors=True)
                    else:
                        os.remove(e.path)
            elif e.is_dir():
                gch = os.path.join(e.path, "std.h.gch")
                folders.append((os.stat(gch).st_mtime if os.path.exists(gch) else e.stat().st_mtime, e.path))
        except FileNotFoundError:
            pass
    for _, path in sorted(folders, reverse=True)[keep:]:
        shutil.rmtree(path, ignore_errors=True)
        try:
            os.remove(path + ".lock")
        except FileNotFoundError:
            pass


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


def _log(kind: str, source: str, how: str = "") -> None:
    try:
        with open(LOG, "a") as f:
            f.write(f"{kind} {source} {how}".rstrip() + "\n")
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
def _claimed(lock: str, cache_dir: str):
    """Hold the lock file `lock` (an exclusive flock on a key's KEY.lock) for the block.

    A second process that misses the same key meanwhile waits here until the first has kept
    the object, then finds it. The lock only saves work: where it cannot be had (no lock file,
    a wait over WAIT_S) the block runs anyway and both compile, as without it; a holder that
    dies releases it with its file descriptors."""
    fd = None
    try:
        os.makedirs(cache_dir, exist_ok=True)
        fd = os.open(lock, os.O_CREAT | os.O_RDWR, 0o644)
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
    with_pch = h.copy()  # an object compiled with the standard headers first is keyed apart
    with_pch.update(b"pch\0" + _header_text().encode() + b"\0")
    h.update(pre.stdout)
    with_pch.update(pre.stdout)
    plain_kept = os.path.join(cache_dir, h.hexdigest() + ".o")
    pch_kept = os.path.join(cache_dir, with_pch.hexdigest() + ".o")
    use_pch = os.environ.get(PCH_ENV, "1") != "0"
    for kept in ((pch_kept, plain_kept) if use_pch else (plain_kept,)):
        if _taken(kept, obj, source):
            return 0
    folder = _pch(compiler, flags, salt_value, target, cache_dir, source, pre.stdout) if use_pch else None
    kept = plain_kept if folder is None else pch_kept
    with _claimed(kept[:-2] + ".lock", cache_dir):
        if _taken(kept, obj, source):  # kept by the process this one waited for
            return 0
        if folder is not None:
            proc = subprocess.run([compiler, "-c", *flags, "-include", os.path.join(folder, "std.h"), source,
                                   "-o", obj], capture_output=True)
            if proc.returncode == 0:
                sys.stderr.buffer.write(proc.stderr)  # the compiler's warnings, if any
                _log("miss", source, "pch")
                _keep(obj, kept, cache_dir)
                return 0
        # no precompiled header, or a failure with it (then the compiler reports its own errors):
        # compiled from the preprocessed text rather than preprocessed again (~0.08 s a file),
        # where gcc writes the same object byte for byte (its line markers name the source and
        # headers)
        rc = subprocess.run([compiler, "-c", *flags, "-x", "c++-cpp-output", "-", "-o", obj],
                            input=pre.stdout).returncode
        if rc == 0:
            if folder is not None:  # it failed with the precompiled header alone: built again next time
                shutil.rmtree(folder, ignore_errors=True)
            _log("miss", source)
            _keep(obj, plain_kept, cache_dir)
    return rc


def _header_text() -> str:
    return "".join(f"#include <{name}>\n" for name in STD_HEADERS)


def _included(preprocessed: bytes) -> set[bytes]:
    """The files a preprocessor's output came from (its line markers)."""
    return {f for f, _ in _MARKER.findall(preprocessed) if not f.startswith(b"<")}


def _defined_first(compiler: str, flags: list[str], source: str, needed: set[bytes]) -> set[bytes] | None:
    """The macros `source` (and what it includes) defines or undefines before it first includes a
    file of `needed` (`g++ -E -dD`); the compiler's own, the command line's and the implicitly
    included stdc-predef.h's are left out: the precompiled header sees them too. None when it
    cannot be preprocessed so."""
    out = subprocess.run([compiler, *flags, "-E", "-dD", source], capture_output=True)
    if out.returncode != 0:
        return None
    text, names = out.stdout, set()
    current, preincluded, pos = b"<built-in>", False, 0
    for m in _MARKER.finditer(text):
        if not preincluded and not current.startswith(b"<"):
            names.update(_DEFINE.findall(text, pos, m.start()))
        name, entering = m.group(1), b"1" in m.group(2).split()
        if entering:
            preincluded = current == b"<command-line>"  # stdc-predef.h, included before the source
            if name in needed and not preincluded:
                return names
        elif name == source.encode() or name.startswith(b"<"):
            preincluded = False
        current, pos = name, m.end()
    if not preincluded and not current.startswith(b"<"):
        names.update(_DEFINE.findall(text, pos))
    return names


def _pch(compiler: str, flags: list[str], salt_value: str, target: bytes, cache_dir: str, source: str,
         preprocessed: bytes) -> str | None:
    """The folder of the precompiled header of `STD_HEADERS` (`std.h`, `std.h.gch`) for this
    compilation, or None where it would not give the object of the plain compilation:
    - a source that does not include every file the header does (it would gain declarations and
      static initialisers);
    - a source that defines or undefines, before its first standard header, a macro those headers
      test or expand (`_GLIBCXX_DEBUG`, `NDEBUG`, ...: `g++ -dU` of the header, kept in `macros`;
      the headers are parsed before anything in the source, so they would not see it);
    - a header file in a relative folder (a `-I` that depends on where make runs);
    - a header that could not be built here (tried again after WAIT_S).

    Built once per compiler, target and flags, under a lock, in a folder of its own that appears
    whole (renamed into place): the header, the files it includes with their size and mtime
    (`files`; a file changed since, a C library update, say, builds it again), the macros
    (`macros`), `std.h.gch`."""
    included = _included(preprocessed)
    names = {os.path.basename(f) for f in included}
    if not all(name.encode() in names for name in STD_HEADERS):  # not worth building it for
        return None
    text = _header_text()
    h = hashlib.sha256(f"{salt_value}\0".encode() + target + b"\0" + "\0".join(flags).encode()
                       + b"\0\0" + text.encode())
    root = os.path.join(cache_dir, PCH_DIR)
    folder = os.path.join(root, h.hexdigest()[:32])
    try:
        files = _pch_files(folder)
        if files is None:
            os.makedirs(root, exist_ok=True)
            with _claimed(folder + ".lock", root):
                files = _pch_files(folder)
                if files is None:
                    shutil.rmtree(folder, ignore_errors=True)
                    _build_pch(compiler, flags, text, root, folder)
                    files = _pch_files(folder)
        if not files or not files <= included:
            return None
        with open(os.path.join(folder, "macros"), "rb") as f:
            macros = set(f.read().split())
        defined = _defined_first(compiler, flags, source, files)
        if defined is None or defined & macros:
            return None
        try:
            os.utime(os.path.join(folder, "std.h.gch"))  # recently used: kept by prune()
        except OSError:  # another user's cache, say
            pass
    except OSError:
        return None
    return folder


def _pch_files(folder: str) -> set[bytes] | None:
    """The files the precompiled header in `folder` includes; an empty set where it could not be
    built (less than WAIT_S ago); None where there is none to use: not built, or built from a
    file that has changed since."""
    try:
        with open(os.path.join(folder, "files"), "rb") as f:
            rows = [line.split(b"\t") for line in f.read().split(b"\n") if line]
        if not os.path.exists(os.path.join(folder, "std.h.gch")):
            return set() if os.stat(folder).st_mtime > time.time() - WAIT_S else None
        files = set()
        for path, size, mtime in rows:
            if not os.path.isabs(path):
                return set()  # where make runs decides which file it is: not used
            st = os.stat(path)
            if st.st_size != int(size) or st.st_mtime_ns != int(mtime):
                return None
            files.add(path)
        return files
    except (OSError, ValueError):
        return None


def _build_pch(compiler: str, flags: list[str], text: str, root: str, folder: str) -> None:
    """Write the header, the files it includes (with size and mtime), the macros it tests or
    expands, and its precompiled form for `flags` into a new folder and rename it to `folder`; a
    header that does not compile leaves a folder without the precompiled form."""
    tmp = tempfile.mkdtemp(dir=root, suffix=".tmp")
    try:
        header = os.path.join(tmp, "std.h")
        with open(header, "w") as f:
            f.write(text)
        pre = subprocess.run([compiler, *flags, "-E", "-x", "c++", header], capture_output=True)
        used = subprocess.run([compiler, *flags, "-E", "-dU", "-x", "c++", header], capture_output=True)
        built = pre.returncode == 0 and used.returncode == 0 and subprocess.run(
            [compiler, *flags, "-x", "c++-header", header, "-o", header + ".gch.tmp"],
            capture_output=True).returncode == 0
        rows = []
        if built:
            for path in sorted(_included(pre.stdout) - {header.encode()}):
                st = os.stat(path)
                rows.append(b"%s\t%d\t%d" % (path, st.st_size, st.st_mtime_ns))
        with open(os.path.join(tmp, "files"), "wb") as f:
            f.write(b"\n".join(rows))
        with open(os.path.join(tmp, "macros"), "wb") as f:
            f.write(b"\n".join(sorted(set(_DEFINE.findall(used.stdout)))))
        if built:
            with open(header + ".gch.tmp", "rb+") as f:  # whole on disk before it is renamed into use
                os.fsync(f.fileno())
            os.replace(header + ".gch.tmp", header + ".gch")
        os.rename(tmp, folder)
    finally:
        if os.path.isdir(tmp):
            shutil.rmtree(tmp, ignore_errors=True)


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
