"""bio.objcache: the machine-wide cache of cpp_standalone object files.

The compiler wrapper on a two-line C++ file (no Brian2): a hit only where the compiler would see
the same code with the same flags for the same target, and errors that reach the user as the
compiler's own. Then a Brian2 program built in a second directory (another worker's slot, say)
takes every object from the cache and links the same program, with the numpy target's spikes."""
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms

import bio
from bio import inputs, neurons, objcache, synapses
from bio.spec import Connection, NetworkSpec, Population

GXX = os.environ.get("CXX", "g++")
WRAPPER = [sys.executable, "-I", "-S", objcache.__file__]
# what Brian2's makefiles pass (brian2.codegen.cpp_prefs), the header in a folder of its own
FLAGS = ("-w", "-O3", "-ffast-math", "-fno-finite-math-only", "-march=native", "-std=c++11", "-g0", "-Iinc")


def _project(root: Path, value: int) -> Path:
    (root / "inc").mkdir(parents=True, exist_ok=True)
    (root / "inc" / "value.h").write_text(f"#define VALUE {value}\n")
    (root / "f.cpp").write_text('#include "value.h"\n#include <cmath>\n'
                                'double f(double x) { return VALUE * std::exp(x) / (1.0 + x * x); }\n')
    return root


def _compile(root: Path, cache: Path, salt: str, *flags: str) -> subprocess.CompletedProcess:
    return subprocess.run([*WRAPPER, str(cache), salt, GXX, "-c", *flags, "f.cpp", "-o", "f.o"],
                          cwd=root, capture_output=True, text=True)


def _log(root: Path, whole: bool = False) -> list[str]:
    """The build's log (objcache.LOG): "hit"/"miss" per compilation, or each whole line."""
    lines = (root / objcache.LOG).read_text().splitlines() if (root / objcache.LOG).exists() else []
    return lines if whole else [line.split()[0] for line in lines]


def _std_project(root: Path, value: int, before: str = "") -> Path:
    """A source that includes every header of objcache.STD_HEADERS, as each file of a Brian2
    standalone program does (through objects.h and the code-object templates); `before`: lines
    ahead of them."""
    _project(root, value)
    includes = "".join(f"#include <{h}>\n" for h in reversed(objcache.STD_HEADERS))
    (root / "f.cpp").write_text(before + '#include "value.h"\n' + includes + (
        "std::vector<double> g(int n) { std::mt19937 r(n); std::vector<double> v(n);\n"
        "  for (auto &x : v) x = std::exp(VALUE * std::generate_canonical<double, 53>(r)); return v; }\n"))
    return root


def _code(obj: Path) -> str:
    """An object's machine code (objdump's disassembly, without the file's name)."""
    return subprocess.run(["objdump", "-d", "-r", str(obj)], capture_output=True, text=True,
                          check=True).stdout.split("\n", 2)[2]


def test_a_miss_writes_the_compilers_object_and_only_the_same_inputs_hit(tmp_path):
    cache, salt = tmp_path / "cache", objcache.salt(GXX)
    a, b = _project(tmp_path / "a", 1), _project(tmp_path / "b", 1)
    # a source that lacks the standard headers of the precompiled one is compiled as it is
    assert _compile(a, cache, salt, *FLAGS).returncode == 0 and _log(a, whole=True) == ["miss f.cpp"]
    # the object compiled through the cache is the compiler's own, byte for byte
    direct = subprocess.run([GXX, "-c", *FLAGS, "f.cpp", "-o", "direct.o"], cwd=a)
    assert direct.returncode == 0 and (a / "f.o").read_bytes() == (a / "direct.o").read_bytes()
    assert _compile(b, cache, salt, *FLAGS).returncode == 0 and _log(b) == ["hit"]
    assert (b / "f.o").read_bytes() == (a / "direct.o").read_bytes()
    # what the compiler would see changed (a header the source includes): compiled, not taken
    c = _project(tmp_path / "c", 2)
    assert _compile(c, cache, salt, *FLAGS).returncode == 0 and _log(c) == ["miss"]
    assert (c / "f.o").read_bytes() != (a / "f.o").read_bytes()
    # other flags, or another compiler (the salt): compiled
    d = _project(tmp_path / "d", 1)
    assert _compile(d, cache, salt, *FLAGS, "-O0").returncode == 0 and _log(d) == ["miss"]
    e = _project(tmp_path / "e", 1)
    assert _compile(e, cache, "another-salt", *FLAGS).returncode == 0 and _log(e) == ["miss"]
    assert len(list(cache.glob("*.o"))) == 4 and not list(cache.glob("*.tmp"))
    assert not (cache / objcache.PCH_DIR).exists()  # no precompiled header built for sources without its headers


def _pch_used(root: Path, pch: Path, *flags: str) -> bool:
    """Whether gcc takes the precompiled header `pch` for root/f.cpp (`-H` marks it with "!"),
    rather than ignoring it and parsing the header's text."""
    out = subprocess.run([GXX, *flags, "-include", str(pch.with_suffix("")), "-H", "-fsyntax-only", "f.cpp"],
                         cwd=root, capture_output=True, text=True)
    return out.returncode == 0 and out.stderr.startswith(f"! {pch}")


def test_a_source_with_the_standard_headers_compiles_them_precompiled_to_the_same_code(tmp_path, monkeypatch):
    """A miss of a source that includes every header of objcache.STD_HEADERS (as each file of a
    Brian2 program does) compiles with them precompiled, once per flags: gcc takes the precompiled
    header, the object is the compiler's own from the source byte for byte, such objects are keyed
    apart from plain ones, and the next miss with those flags takes the same precompiled header."""
    cache, salt = tmp_path / "cache", objcache.salt(GXX)
    a = _std_project(tmp_path / "a", 1)
    assert _compile(a, cache, salt, *FLAGS).returncode == 0 and _log(a, whole=True) == ["miss f.cpp pch"]
    (pch,) = (cache / objcache.PCH_DIR).glob("*/std.h.gch")
    assert _pch_used(a, pch, *FLAGS)
    needed = [row.split("\t")[0] for row in (pch.parent / "files").read_text().splitlines()]
    assert any(f.endswith("/random") for f in needed) and any(f.endswith("/iostream") for f in needed)
    assert subprocess.run([GXX, "-c", *FLAGS, "f.cpp", "-o", "direct.o"], cwd=a).returncode == 0
    assert (a / "f.o").read_bytes() == (a / "direct.o").read_bytes()
    b = _std_project(tmp_path / "b", 2)  # another source, same flags: the same precompiled header
    built = pch.stat().st_ino
    assert _compile(b, cache, salt, *FLAGS).returncode == 0 and _log(b, whole=True) == ["miss f.cpp pch"]
    assert list((cache / objcache.PCH_DIR).glob("*/std.h.gch")) == [pch] and pch.stat().st_ino == built
    c = _std_project(tmp_path / "c", 1)
    assert _compile(c, cache, salt, *FLAGS).returncode == 0 and _log(c) == ["hit"]
    # other flags: a precompiled header of their own
    d = _std_project(tmp_path / "d", 1)
    assert _compile(d, cache, salt, *FLAGS, "-O1").returncode == 0 and _log(d, whole=True) == ["miss f.cpp pch"]
    assert len(list((cache / objcache.PCH_DIR).glob("*/std.h.gch"))) == 2
    # switched off: compiled plain, byte for byte the compiler's own, and kept apart (a miss)
    monkeypatch.setenv(objcache.PCH_ENV, "0")
    e = _std_project(tmp_path / "e", 1)
    assert _compile(e, cache, salt, *FLAGS).returncode == 0 and _log(e, whole=True) == ["miss f.cpp"]
    assert (e / "f.o").read_bytes() == (a / "direct.o").read_bytes()


def test_where_the_precompiled_header_would_change_the_object_the_source_is_compiled_plain(tmp_path):
    """The headers are parsed ahead of the source with the precompiled header, so it is used only
    where that cannot change the object (review of bio.objcache._pch):
    - a macro the standard headers test, defined before them (`_GLIBCXX_DEBUG` turns on libstdc++'s
      checked containers): compiled plain, the program aborts on an index out of range as it should;
      an include guard before them (each Brian2 header has one) does not stop it;
    - a header it was built from that changed since (a C library update; here a header of an
      absolute -I folder): built again, and the object has the new value;
    - a precompiled header that gcc refuses (cut short): the file is compiled plain and kept, and
      the precompiled header is built again for the next."""
    cache, salt = tmp_path / "cache", objcache.salt(GXX)
    debug = _std_project(tmp_path / "debug", 1, "#define _GLIBCXX_DEBUG 1\n")
    with open(debug / "f.cpp", "a") as f:
        f.write("int main() { std::vector<int> v(3); return v[5]; }\n")
    assert _compile(debug, cache, salt, *FLAGS).returncode == 0 and _log(debug, whole=True) == ["miss f.cpp"]
    assert subprocess.run([GXX, "f.o", "-o", "prog"], cwd=debug).returncode == 0
    assert subprocess.run([str(debug / "prog")], capture_output=True).returncode != 0  # aborted
    guard = _std_project(tmp_path / "guard", 1, "#ifndef MY_HEADER_H\n#define MY_HEADER_H\n#endif\n")
    assert _compile(guard, cache, salt, *FLAGS).returncode == 0 and _log(guard, whole=True) == ["miss f.cpp pch"]

    over = tmp_path / "over"  # a header of the precompiled one, in an absolute -I folder
    over.mkdir()
    flags = (*FLAGS, f"-I{over}")
    for k, value in enumerate((1, 2)):
        (over / "climits").write_text("#ifndef OVER_CLIMITS\n#define OVER_CLIMITS\n#include_next <climits>\n"
                                      f"#define OVER_VALUE {value}\n#endif\n")
        os.utime(over / "climits", ns=(10**18 + k, 10**18 + k))
        root = _std_project(tmp_path / f"over{value}", 1)
        with open(root / "f.cpp", "a") as f:
            f.write("int over() { return OVER_VALUE; }\n")
        assert _compile(root, cache, salt, *flags).returncode == 0 and _log(root, whole=True) == ["miss f.cpp pch"]
        assert subprocess.run([GXX, "-c", *flags, "f.cpp", "-o", "direct.o"], cwd=root).returncode == 0
        assert (root / "f.o").read_bytes() == (root / "direct.o").read_bytes()
    assert (tmp_path / "over1" / "f.o").read_bytes() != (tmp_path / "over2" / "f.o").read_bytes()

    (pch,) = [p for p in (cache / objcache.PCH_DIR).glob("*/std.h.gch")
              if str(over) not in (p.parent / "files").read_text()]  # FLAGS' own
    pch.write_bytes(pch.read_bytes()[:4096])
    cut = _std_project(tmp_path / "cut", 3)
    assert _compile(cut, cache, salt, *FLAGS).returncode == 0 and _log(cut, whole=True) == ["miss f.cpp"]
    assert subprocess.run([GXX, "-c", *FLAGS, "f.cpp", "-o", "direct.o"], cwd=cut).returncode == 0
    assert (cut / "f.o").read_bytes() == (cut / "direct.o").read_bytes()
    again = _std_project(tmp_path / "again", 3)  # the same source elsewhere: the plain object was kept
    assert _compile(again, cache, salt, *FLAGS).returncode == 0 and _log(again) == ["hit"]
    other = _std_project(tmp_path / "other", 4)  # the next miss has a working precompiled header again
    assert _compile(other, cache, salt, *FLAGS).returncode == 0 and _log(other, whole=True) == ["miss f.cpp pch"]
    assert pch.exists() and _pch_used(other, pch, *FLAGS)


def test_a_kept_object_cut_short_is_compiled_again(tmp_path):
    """A crash that lost unsynced data can leave a kept object empty or cut short: it is removed and
    compiled again, never copied into a build (where make would then keep it)."""
    cache, salt = tmp_path / "cache", objcache.salt(GXX)
    a = _project(tmp_path / "a", 1)
    assert _compile(a, cache, salt, *FLAGS).returncode == 0
    (kept,) = cache.glob("*.o")
    whole = kept.read_bytes()
    for broken in (b"", whole[:3], whole[: len(whole) // 2], whole[:-1]):
        kept.write_bytes(broken)
        b = _project(tmp_path / f"b{len(broken)}", 1)
        assert _compile(b, cache, salt, *FLAGS).returncode == 0 and _log(b) == ["miss"]
        assert (b / "f.o").read_bytes() == whole and kept.read_bytes() == whole


def test_compile_errors_and_other_calls_reach_the_compiler_unchanged(tmp_path):
    cache = tmp_path / "cache"
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "f.cpp").write_text("int f() { return undeclared_name; }\n")
    proc = _compile(bad, cache, "s", "-O2")
    assert proc.returncode != 0 and "f.cpp:1" in proc.stderr and "undeclared_name" in proc.stderr
    assert not (bad / "f.o").exists() and not list(cache.glob("*.o"))
    # a link (no -c), make's dependency list (-MM) and flags that put more than the source's
    # text into the object (-g: its path) are not cached: passed through
    ok = _project(tmp_path / "ok", 3)
    assert _compile(ok, cache, "s", "-Iinc").returncode == 0
    (ok / "main.cpp").write_text("double f(double);\nint main() { return f(0.0) != 3.0; }\n")
    assert subprocess.run([*WRAPPER, str(cache), "s", GXX, "-c", "-g", "main.cpp", "-o", "main.o"],
                          cwd=ok).returncode == 0
    link = subprocess.run([*WRAPPER, str(cache), "s", GXX, "main.o", "f.o", "-o", "prog"], cwd=ok)
    assert link.returncode == 0 and subprocess.run([str(ok / "prog")]).returncode == 0
    deps = subprocess.run([*WRAPPER, str(cache), "s", GXX, "-Iinc", "-MM", "f.cpp"], cwd=ok,
                          capture_output=True, text=True)
    assert deps.returncode == 0 and "value.h" in deps.stdout
    assert _log(ok) == ["miss"]  # f.cpp; main.cpp (-g), the link and -MM went past the cache


def test_two_processes_that_miss_one_key_at_once_compile_it_once(tmp_path):
    """Two workers that start one network at the same moment: the second waits for the first's
    compilation of a file (the key's lock, objcache._claimed) and takes its object instead of
    compiling it too. A compiler that takes 2 s a file makes the two overlap."""
    slow = tmp_path / "slow-g++"
    slow.write_text(f'#!/bin/sh\ncase "$*" in *c++-cpp-output*) sleep 2;; esac\nexec {GXX} "$@"\n')
    slow.chmod(0o755)
    cache, salt = tmp_path / "cache", objcache.salt(str(slow))
    roots = [_project(tmp_path / name, 1) for name in ("a", "b")]
    procs = [subprocess.Popen([*WRAPPER, str(cache), salt, str(slow), "-c", *FLAGS, "f.cpp", "-o", "f.o"],
                              cwd=root) for root in roots]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    assert sorted(_log(root)[0] for root in roots) == ["hit", "miss"]
    assert (roots[0] / "f.o").read_bytes() == (roots[1] / "f.o").read_bytes()
    assert len(list(cache.glob("*.o"))) == 1


def test_target_resolves_march_native_and_make_gets_the_wrapper_whatever_the_path(tmp_path):
    """-march=native is keyed as the processor it names here, so a cache shared by machines of
    other processors never hands one the other's objects; and make, called as Brian2 calls it
    (one shell command line), runs the wrapper from a cache folder with a space and a `$`."""
    assert objcache._target(GXX, ["-O3", "-march=native"]) == objcache._target(GXX, ["-O3", "-march=native"])
    assert objcache._target(GXX, ["-O3", "-march=native"]) != objcache._target(GXX, ["-O3"])
    root = _project(tmp_path / "p", 1)
    (root / "makefile").write_text("f.o: f.cpp\n\t$(CXX) -c -Iinc f.cpp -o f.o\n")
    cache = tmp_path / "a $HOME b"
    arg = objcache.make_variable(GXX, str(cache), objcache.salt(GXX))
    assert os.system(f"cd {str(root)!r} && make -s {arg}") == 0
    assert _log(root) == ["miss"] and len(list(cache.glob("*.o"))) == 1


def test_prune_keeps_the_most_recently_used(tmp_path):
    for k in range(5):
        (tmp_path / f"{k}.o").write_bytes(b"x")
        (tmp_path / f"{k}.lock").touch()  # its key's lock file (objcache._claimed) goes with it
        os.utime(tmp_path / f"{k}.o", (1000 + k, 1000 + k))
    assert objcache.prune(str(tmp_path), keep=2) == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["3.lock", "3.o", "4.lock", "4.o"]
    # the lock file of a key that never got an object (its compilation failed): removed once it is
    # older than any wait for it, kept before (a compilation may hold it)
    (tmp_path / "failed.lock").touch()
    (tmp_path / "compiling.lock").touch()
    old = time.time() - objcache.WAIT_S - 60
    os.utime(tmp_path / "failed.lock", (old, old))
    assert objcache.prune(str(tmp_path), keep=2) == 0
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["3.lock", "3.o", "4.lock", "4.o", "compiling.lock"]
    assert objcache.prune(str(tmp_path / "missing"), keep=2) == 0


def test_prune_keeps_the_most_recently_used_precompiled_headers(tmp_path):
    """Each precompiled header is ~45 MB: prune keeps objcache.KEPT_PCH of them, by last use,
    and removes what a crashed build left once it is older than any wait."""
    root = tmp_path / objcache.PCH_DIR
    n = objcache.KEPT_PCH + 2
    for k in range(n):
        (root / f"h{k}").mkdir(parents=True)
        (root / f"h{k}" / "std.h.gch").write_bytes(b"x")
        (root / f"h{k}.lock").touch()
        os.utime(root / f"h{k}" / "std.h.gch", (1000 + k, 1000 + k))
    old = time.time() - objcache.WAIT_S - 60
    for name in ("crashed.tmp", "building.tmp"):
        (root / name).mkdir()
    os.utime(root / "crashed.tmp", (old, old))
    objcache.prune(str(tmp_path))
    kept = [f"h{k}" for k in range(n - objcache.KEPT_PCH, n)]
    assert sorted(p.name for p in root.iterdir()) == sorted(
        ["building.tmp", *kept, *(f"{k}.lock" for k in kept)])


def _network() -> NetworkSpec:
    rng = np.random.default_rng(3)
    t, k = np.nonzero(rng.random((1000, 10)) < 0.01)
    i, j = np.nonzero(np.ones((10, 5), bool))
    return NetworkSpec({"in": Population(None, 10), "out": Population(neurons.LIF(), 5)},
                       {"in_out": Connection("in", "out", synapses.CurrentDelta(), i, j, np.full(len(i), 6e-3))},
                       inputs=[inputs.Spikes("in", t * 1e-4, k)])


@pytest.mark.slow  # compiles one small program (~15 files) once
@pytest.mark.timeout(600)
def test_a_program_built_in_a_second_directory_compiles_nothing(tmp_path, monkeypatch):
    monkeypatch.setenv("BRAINBRIDGE_CACHE_DIR", str(tmp_path / "cache"))
    reference = bio.run(_network(), 100 * ms, target="numpy")
    assert reference.spike_counts("out").sum() > 0
    records, dirs = [], [tmp_path / "slot-a", tmp_path / "slot-b"]
    for d in dirs:
        records.append(bio.run(_network(), 100 * ms, target="cpp_standalone", build_dir=str(d)))
    first, second = (objcache.read_log(str(d / objcache.LOG)) for d in dirs)
    assert first["miss"] >= 10 and first["hit"] == 0
    # each code object includes the standard headers: compiled with them precompiled; the program's
    # own files (main.cpp, objects.cpp, ...) lack some of them and are compiled as they are
    lines = [line.split() for line in (dirs[0] / objcache.LOG).read_text().splitlines()]
    code = [line for line in lines if line[1].startswith("code_objects/")]
    assert len(code) >= 8 and all(line[2:] == ["pch"] for line in code), code
    assert all(line[2:] == [] for line in lines if line not in code)
    assert second == {"hit": first["miss"], "miss": 0}
    assert (dirs[0] / "main").read_bytes() == (dirs[1] / "main").read_bytes()
    for rec in records:
        np.testing.assert_array_equal(rec.indices["out"], reference.indices["out"])
        np.testing.assert_allclose(rec.times_s["out"], reference.times_s["out"], rtol=0, atol=1e-9)
    # $BRAINBRIDGE_OBJCACHE=0 switches it off: make is not told to route the compiler through it
    from bio import simulate

    assert any(a.startswith("CXX=") for a in simulate._objcache_make_args())
    monkeypatch.setenv("BRAINBRIDGE_OBJCACHE", "0")
    assert simulate._objcache_make_args() == []
