"""The results store: one directory per study, one small JSON file per grid point.

Layout of `results/<study>/` (or the directory given with `--out`):

    run.json            the latest run's grid: its parameters and point keys in order
    points/<key>.json   a finished point: its values, seed, metrics, timing, versions
    failed/<key>.json   a point that raised: its values, the error and its traceback
    results.csv         tidy table, one row per (point, metric)
    figures/            <name>.png and <name>.svg
    .brian/<slot>/      Brian2 caches of one worker slot (see runner.py)

Every file is written to a temporary name in the same directory and then
renamed (`os.replace` is atomic on one file system), so a crash or a kill
never leaves half a file: a point file exists exactly when its point finished.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pandas as pd

VERSION_COLUMNS = ("brainbridge", "brian2", "torch", "numpy", "git")
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: mkstemp makes files 0600, results should be readable like any file


def atomic_write(path: Path, text: str) -> None:
    """Write `text` to `path` via a temporary file in the same directory and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=False, allow_nan=True) + "\n"


class Store:
    """A study's results directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.points = self.root / "points"
        self.failed = self.root / "failed"
        self.figures = self.root / "figures"
        self.brian = self.root / ".brian"
        self.table_path = self.root / "results.csv"
        self.manifest_path = self.root / "run.json"

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    @staticmethod
    def _keys(directory: Path) -> set[str]:
        # names starting with "." are temporary files of an unfinished write
        if not directory.is_dir():
            return set()
        return {p.stem for p in directory.glob("*.json") if not p.name.startswith(".")}

    def done(self) -> set[str]:
        """Keys of finished points."""
        return self._keys(self.points)

    def failures(self) -> set[str]:
        """Keys of points whose last attempt raised."""
        return self._keys(self.failed)

    def save(self, key: str, record: dict) -> Path:
        """Store a finished point, and forget an earlier failure of it."""
        path = self.points / f"{key}.json"
        atomic_write(path, _json(record))
        (self.failed / f"{key}.json").unlink(missing_ok=True)
        return path

    def save_failure(self, key: str, record: dict) -> Path:
        path = self.failed / f"{key}.json"
        atomic_write(path, _json(record))
        return path

    def point(self, key: str) -> dict:
        return json.loads((self.points / f"{key}.json").read_text())

    def failure(self, key: str) -> dict:
        return json.loads((self.failed / f"{key}.json").read_text())

    def write_manifest(self, manifest: dict) -> None:
        atomic_write(self.manifest_path, _json(manifest))

    def manifest(self) -> dict:
        if not self.manifest_path.exists():
            raise FileNotFoundError(f"no run recorded in {self.root}; run the study first")
        return json.loads(self.manifest_path.read_text())

    def table(self, keys: list[str], param_names: list[str]) -> pd.DataFrame:
        """Tidy table of the finished points among `keys`, in that order.

        One row per (point, metric). Columns: study, point (its key), every
        parameter in `param_names` (tuples written "a,b"), seed, metric, value,
        elapsed_s (the point's wall time), worker, then package versions and
        the git revision the point ran with.
        """
        done = self.done()
        rows = []
        for key in keys:
            if key not in done:
                continue
            rec = self.point(key)
            base = {"study": rec["study"], "point": key}
            for name in param_names:
                v = rec["values"].get(name)
                base[name] = ",".join(map(str, v)) if isinstance(v, list) else v
            base["seed"] = rec["values"]["seed"]
            tail = {"elapsed_s": rec["elapsed_s"], "worker": rec["worker"],
                    **{c: rec["versions"].get(c, "unknown") for c in VERSION_COLUMNS}}
            for metric, value in rec["metrics"].items():
                rows.append({**base, "metric": metric, "value": value, **tail})
        columns = ["study", "point", *param_names, "seed", "metric", "value", "elapsed_s", "worker",
                   *VERSION_COLUMNS]
        return pd.DataFrame(rows, columns=columns)

    def write_table(self, table: pd.DataFrame) -> Path:
        atomic_write(self.table_path, table.to_csv(index=False))
        return self.table_path
