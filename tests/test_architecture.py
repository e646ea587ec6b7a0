"""The package boundaries of ARCHITECTURE.md, enforced: import contracts and no import cycles."""
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("bio", "ann", "bridge", "studies")


def test_import_contracts_hold():
    """import-linter's forbidden-import contracts in .importlinter (bio never imports torch, ...)."""
    lint = Path(sys.executable).with_name("lint-imports")
    # no cache: import-linter's and grimp's are keyed by file mtimes, which a file rewritten
    # within the same second as the cached read leaves unchanged (a stale graph)
    out = subprocess.run([str(lint), "--config", str(ROOT / ".importlinter"), "--no-cache"], cwd=ROOT,
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def _cycles(graph, package: str) -> list[list[str]]:
    """Strongly connected components (size > 1) of the import graph inside one package (Tarjan)."""
    modules = sorted(m for m in graph.modules if m == package or m.startswith(package + "."))
    edges = {m: sorted(n for n in graph.find_modules_directly_imported_by(m) if n in modules)
             for m in modules}
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for m in modules:
        if m not in index:
            visit(m)
    return out


@pytest.mark.parametrize("package", PACKAGES)
def test_no_import_cycles(package):
    """A package's modules import each other in one direction (a package __init__ that re-exports
    submodules lazily, through __getattr__, does not count as an import)."""
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, cache_dir=None)
    cycles = [c for c in _cycles(graph, package) if c != [package]]
    assert not cycles, f"import cycles in {package}: {cycles}"
