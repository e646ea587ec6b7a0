"""The results store: one directory per study, one small JSON file per grid point.

Layout of `results/<study>/` (or the directory given with `--out`):

    run.json            the latest run's grid: its study, parameters and point keys in order
    points/<key>.json   a finished point: its values, seed, metrics, timing, versions
    records/<key>.npz   the point's bulky rows (metrics named `record.*`, e.g. a spike
                        record), kept out of its point file and of results.csv
    failed/<key>.json   a point that raised: its values, the error and its traceback
    points/corrupt/, failed/corrupt/
                        files found unreadable or holding another point, set aside
    results.csv         tidy table, one row per (point, metric)
    figures/            <name>.png and <name>.svg
    .lock               held by the run (or report) writing here; names its pid

Every file is written to a temporary name in the same directory and then
renamed (`os.replace` is atomic on one file system), so a crash or a kill
never leaves half a file: a point file exists exactly when its point finished.
What no rename can prevent (a disk that lost a block, a file copied in by
hand) the runner finds with `audit` before it trusts a file: a point file must
be valid JSON whose values hash to its own key.

One process writes a folder at a time (`lock`), and a folder holds one study
(`owner`): two runs into one folder, or two studies, would mix their tables.
Compiled Brian2 code is not kept here but in a per-user cache (see cache.py).
"""
from __future__ import annotations

import contextlib
import json
import io
import numbers
import os
import tempfile
import zipfile
from pathlib import Path
from typing import Callable

import numpy as np
import pandas as pd

from .locks import FileLock, FolderBusy

VERSION_COLUMNS = ("brainbridge", "brian2", "torch", "numpy", "git")
# metrics whose name starts with this are bulky rows (thousands, e.g. one per spike): `save` writes
# them to records/<key>.npz instead of the point file, so neither it nor results.csv grows with them
RECORD_PREFIX = "record."
_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once: mkstemp makes files 0600, results should be readable like any file


def atomic_write(path: Path, text: str | bytes) -> None:
    """Write `text` (str, or bytes written as they are) to `path` via a temporary file in the
    same directory and a rename."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.chmod(tmp, 0o666 & ~_UMASK)
        with os.fdopen(fd, "wb" if isinstance(text, bytes) else "w") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _json(obj) -> str:
    return json.dumps(obj, indent=1, sort_keys=False, allow_nan=True) + "\n"


class CorruptFile(ValueError):
    """A store file that cannot be read as what it should hold; the message names the file."""


def read_json(path: Path) -> dict:
    """A store file's JSON object; CorruptFile (naming the file) if it is not one."""
    try:
        data = json.loads(Path(path).read_text())
    except UnicodeDecodeError as err:
        raise CorruptFile(f"{path} is not text ({err})") from None
    except json.JSONDecodeError as err:
        raise CorruptFile(f"{path} is not valid JSON, perhaps cut short ({err})") from None
    if not isinstance(data, dict):
        raise CorruptFile(f"{path} holds a JSON {type(data).__name__}, not a record")
    return data


class Store:
    """A study's results directory."""

    def __init__(self, root: str | Path):
        self.root = Path(root).resolve()
        self.points = self.root / "points"
        self.failed = self.root / "failed"
        self.records = self.root / "records"
        self.figures = self.root / "figures"
        self.table_path = self.root / "results.csv"
        self.manifest_path = self.root / "run.json"
        self.lock_path = self.root / ".lock"

    def __repr__(self) -> str:
        return f"Store({str(self.root)!r})"

    @contextlib.contextmanager
    def lock(self):
        """Hold this folder for the block: FolderBusy at once (naming the folder and the
        holder's pid) while another process holds it. The kernel frees the lock of a
        process that died, so a lock left behind by a killed run is taken over."""
        if self.root.exists() and not self.root.is_dir():
            raise ValueError(f"results folder {self.root} is a file; give a folder with --out")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise ValueError(f"cannot create the results folder {self.root}: {err}") from None
        lock = FileLock(self.lock_path)
        try:
            acquired = lock.acquire()
        except OSError as err:  # e.g. someone else's folder, read-only for us
            raise ValueError(f"cannot lock the results folder {self.root}: {err}") from None
        if not acquired:
            raise FolderBusy(f"results folder {self.root} is in use by another process "
                             f"({lock.holder()}; lock file {lock.path})")
        try:
            yield self
        finally:
            lock.release()

    def owner(self) -> str | None:
        """The study whose results this folder holds (from run.json, else from any readable
        point or failure record), or None when it holds none."""
        try:
            study = read_json(self.manifest_path).get("study")
            if isinstance(study, str):
                return study
        except (OSError, CorruptFile):
            pass
        for directory in (self.points, self.failed):
            for key in sorted(self._keys(directory)):
                try:
                    study = read_json(directory / f"{key}.json").get("study")
                except (OSError, CorruptFile):
                    continue
                if isinstance(study, str):
                    return study
        return None

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
        """Store a finished point, and forget an earlier failure of it.

        Its metrics named `record.*` (lists of rows) go to records/<key>.npz, written before
        the point file (a point file whose point had records always finds them), and are
        left out of the point file; read them back with `rows`.
        """
        metrics = record.get("metrics", {})
        bulky = {k: v for k, v in metrics.items() if k.startswith(RECORD_PREFIX)}
        rows_path = self.records / f"{key}.npz"
        if bulky:
            atomic_write(rows_path, _npz(bulky))
            record = {**record, "metrics": {k: v for k, v in metrics.items() if k not in bulky}}
        else:
            rows_path.unlink(missing_ok=True)  # an earlier computation's rows are not this one's
        path = self.points / f"{key}.json"
        atomic_write(path, _json(record))
        (self.failed / f"{key}.json").unlink(missing_ok=True)
        return path

    def save_failure(self, key: str, record: dict) -> Path:
        path = self.failed / f"{key}.json"
        atomic_write(path, _json(record))
        return path

    def point(self, key: str) -> dict:
        return read_json(self.points / f"{key}.json")

    def failure(self, key: str) -> dict:
        return read_json(self.failed / f"{key}.json")

    def rows(self, key: str) -> dict[str, pd.DataFrame]:
        """The `record.*` metrics point `key` stored: {metric: its rows as a DataFrame (one column
        per coordinate, plus value)}; {} when it stored none. CorruptFile (naming the file)
        when the file cannot be read."""
        path = self.records / f"{key}.npz"
        if not path.exists():
            return {}
        try:
            with np.load(path, allow_pickle=False) as npz:
                columns = {name: npz[name] for name in npz.files}
        except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
            raise CorruptFile(f"{path} is not a readable .npz of rows ({err})") from None
        out: dict[str, dict] = {}
        for name, column in columns.items():
            metric, _, coordinate = name.rpartition("|")
            out.setdefault(metric, {})[coordinate] = column
        return {metric: pd.DataFrame(cols) for metric, cols in out.items()}

    def audit(self, keys, study: str, key_of: Callable[[dict], str]) -> list[str]:
        """Check the point and failure files of `keys` before they are trusted.

        A file that is not valid JSON, lacks what the table needs, or holds
        another point (its values do not hash to its key with `key_of`) is
        moved to `corrupt/` beside it, so its point counts as not computed.
        Returns one message per file moved, naming the file and what was wrong.
        """
        messages = []
        for directory, problem in ((self.points, _point_problem), (self.failed, _failure_problem)):
            present = self._keys(directory)
            for key in keys:
                if key not in present:
                    continue
                path = directory / f"{key}.json"
                try:
                    what = problem(read_json(path), key, study, key_of)
                except CorruptFile as err:
                    what = str(err).removeprefix(f"{path} ")
                if what:
                    moved = _set_aside(path)
                    messages.append(f"{path} {what}; moved to {moved}, its point will be "
                                    "computed again")
        return messages

    def write_manifest(self, manifest: dict) -> None:
        atomic_write(self.manifest_path, _json(manifest))

    def manifest(self) -> dict:
        if not self.manifest_path.exists():
            raise FileNotFoundError(f"no run recorded in {self.root}; run the study first")
        try:
            manifest = read_json(self.manifest_path)
        except CorruptFile as err:
            raise CorruptFile(f"{err}; it records the latest run's grid: run the study again "
                              "(stored points are reused)") from None
        missing = [k for k in ("study", "keys", "param_names") if k not in manifest]
        if missing:
            raise CorruptFile(f"{self.manifest_path} lacks {', '.join(missing)}; run the study "
                              "again (stored points are reused)")
        return manifest

    def table(self, keys: list[str], param_names: list[str]) -> pd.DataFrame:
        """Tidy table of the finished points among `keys`, in that order.

        One row per (point, metric) -- or per row of a metric that a point gave as
        a list of rows, whose coordinates (e.g. time_ms, layer, system) become
        columns of their own. Columns: study, point (its key), every parameter in
        `param_names` (tuples written "a,b"), seed, metric, value, any coordinate
        columns, elapsed_s (the point's wall time), worker, then package versions
        and the git revision the point ran with.
        """
        done = self.done()
        rows, extra = [], {}
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
                if isinstance(value, list):
                    for row in value:
                        coords = {c: x for c, x in row.items() if c != "value"}
                        extra.update(dict.fromkeys(c for c in coords if c not in base))
                        rows.append({**base, **coords, "metric": metric, "value": row["value"], **tail})
                else:
                    rows.append({**base, "metric": metric, "value": value, **tail})
        columns = ["study", "point", *param_names, "seed", "metric", "value", *extra, "elapsed_s", "worker",
                   *VERSION_COLUMNS]
        return pd.DataFrame(rows, columns=columns)

    def write_table(self, table: pd.DataFrame) -> Path:
        atomic_write(self.table_path, table.to_csv(index=False))
        return self.table_path


def _npz(metrics: dict[str, list[dict]]) -> bytes:
    """Rows of several metrics as one compressed .npz: an array "<metric>|<coordinate>" per
    coordinate (numbers as float64, strings as unicode) and "<metric>|value"."""
    arrays = {}
    for metric, rows in metrics.items():
        if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
            raise TypeError(f"metric {metric!r}: a {RECORD_PREFIX}* metric must be a list of rows")
        names = list(dict.fromkeys(c for r in rows for c in r))
        for c in names:
            values = [r.get(c) for r in rows]
            if all(isinstance(v, str) for v in values):
                arrays[f"{metric}|{c}"] = np.array(values, dtype=str)
            else:
                arrays[f"{metric}|{c}"] = np.array([np.nan if v is None else v for v in values],
                                                   dtype=np.float64)
    buffer = io.BytesIO()
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _common_problem(rec: dict, key: str, study: str, key_of) -> str | None:
    if rec.get("key", key) != key:
        return f"holds point {rec['key']!r}, not {key!r}"
    if rec.get("study") != study:
        return f"holds a point of study {rec.get('study')!r}, not {study!r}"
    values = rec.get("values")
    if not isinstance(values, dict) or "seed" not in values:
        return "has no parameter values"
    try:
        own = key_of(values)
    except (TypeError, ValueError):
        own = None
    if own != key:
        return f"holds the values of another point ({own}), not of {key}"
    return None


def _number_ok(v) -> bool:
    return v is None or (isinstance(v, numbers.Real) and not isinstance(v, bool))


def _metric_ok(v) -> bool:
    """A stored metric: a number, or a list of rows {coordinate: number or str, "value": number}."""
    if isinstance(v, list):
        return all(isinstance(r, dict) and "value" in r and _number_ok(r["value"])
                   and all(isinstance(x, str) or _number_ok(x) for c, x in r.items() if c != "value")
                   for r in v)
    return _number_ok(v)


def _point_problem(rec: dict, key: str, study: str, key_of) -> str | None:
    problem = _common_problem(rec, key, study, key_of)
    if problem:
        return problem
    metrics = rec.get("metrics")
    if not isinstance(metrics, dict) or not all(_metric_ok(v) for v in metrics.values()):
        return "has no metrics dict of numbers (or of lists of rows with a numeric 'value')"
    missing = [f for f in ("elapsed_s", "worker", "versions") if f not in rec]
    if missing or not isinstance(rec["versions"], dict):
        return f"lacks {', '.join(missing) or 'versions'}"
    return None


def _failure_problem(rec: dict, key: str, study: str, key_of) -> str | None:
    problem = _common_problem(rec, key, study, key_of)
    if problem:
        return problem
    if not isinstance(rec.get("error"), str):
        return "has no error message"
    return None


def _set_aside(path: Path) -> Path:
    """Move `path` into `corrupt/` beside it, never over an earlier file of that name."""
    target_dir = path.parent / "corrupt"
    target_dir.mkdir(exist_ok=True)
    target = target_dir / path.name
    n = 0
    while target.exists():
        n += 1
        target = target_dir / f"{path.stem}.{n}{path.suffix}"
    os.replace(path, target)
    return target
