"""Write one benchmark's section of docs/benchmarks.md, leaving the others in place.

Each benchmark owns the text between `<!-- bench:NAME -->` and `<!-- /bench:NAME -->`;
a rerun replaces only its own section, stamped with the date and the machine.
"""
from __future__ import annotations

import datetime
import os
import platform
import re
from pathlib import Path

DOC = Path(__file__).resolve().parents[1] / "docs" / "benchmarks.md"
HEADER = ("# Benchmarks\n\nMeasured figures of `make bench` (one section per script in "
          "`benchmarks/`; each rerun rewrites its own section).\n")


def machine() -> str:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    mem = ""
    try:
        kb = int(next(l for l in open("/proc/meminfo") if l.startswith("MemTotal")).split()[1])
        mem = f", {kb / 2**20:.0f} GiB"
    except (OSError, StopIteration, ValueError):
        pass
    return f"{platform.machine()} {platform.processor() or ''}".strip() + f", {cores} cores{mem}, " \
        f"Python {platform.python_version()}"


def write_section(name: str, body: str, doc: Path = DOC) -> Path:
    """Replace (or append) the section `name` of docs/benchmarks.md with `body` (markdown)."""
    stamp = f"_{datetime.date.today().isoformat()}, {machine()}_\n\n"
    if body.lstrip().startswith("# "):  # one title per page: a section's headings go one level down
        body = re.sub(r"^(#+) ", r"#\1 ", body, flags=re.M)
    block = f"<!-- bench:{name} -->\n{stamp}{body.strip()}\n<!-- /bench:{name} -->"
    text = doc.read_text() if doc.exists() else HEADER
    pattern = re.compile(rf"<!-- bench:{re.escape(name)} -->.*?<!-- /bench:{re.escape(name)} -->", re.S)
    text = pattern.sub(lambda _: block, text) if pattern.search(text) else text.rstrip() + "\n\n" + block + "\n"
    doc.parent.mkdir(parents=True, exist_ok=True)
    doc.write_text(text)
    return doc
