"""A cohort's results table, kept safe while it grows: a journal line per image, and the table rebuilt from it.

* ``results.journal.jsonl``: one JSON line per finished image, appended and flushed as each result
  arrives, so a crash (or a lost scheduler) loses at most the images in flight. A rerun reads it to
  know what is done; a line cut short by a crash is dropped on opening.
* ``results.parquet`` and ``results.csv``: the table, one row per image (the latest line of each
  image wins: a retried image has one row), sorted by path, rebuilt from the journal every
  ``table_every`` seconds (or 30 times as long as the last rebuild took, so that a table of 100,000
  rows costs the run a few per cent at most) and at the end; each is replaced atomically, so a reader
  never sees half a table.

Memory stays small whatever the cohort's size: the journal is never held, only each image's latest
line offset and status; the table is written in chunks.
"""

from __future__ import annotations

import csv
import io
import json
import math
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from core.io.atomic import write_bytes_atomic

JOURNAL_NAME = "results.journal.jsonl"
PARQUET_NAME = "results.parquet"
CSV_NAME = "results.csv"
LOCK_NAME = ".results.lock"

#: The columns every row has, in table order; others (biomarkers) follow in the order they first appear.
BASE_COLUMNS = ("source", "status", "error", "vessel_fraction", "warnings", "warning_messages", "width",
                "height", "seconds", "mask", "model", "threshold", "finished", "source_bytes", "source_mtime_ns")
_INT_COLUMNS = ("width", "height", "source_bytes", "source_mtime_ns")
_FLOAT_COLUMNS = ("vessel_fraction", "seconds", "threshold")
_CHUNK_ROWS = 5000


class TableBusy(RuntimeError):
    """Another run is writing this table."""


@dataclass(frozen=True, slots=True)
class Previous:
    """What the journal last recorded for one image: its status, whether biomarkers were measured, and
    the image's size and file state then (``None`` for a failed image)."""

    status: str
    measured: bool
    recorded: tuple[int, int, int, int] | None  # width, height, source bytes, source mtime ns


class ResultsTable:
    """The results of a cohort run in ``out_dir`` (see the module docstring); a context manager.

    Opening takes a lock on the folder (POSIX), so two runs cannot interleave their lines.
    """

    def __init__(self, out_dir: Path, table_every: float = 60.0, fsync_every: float = 5.0) -> None:
        self.out_dir = Path(out_dir)
        self.journal = self.out_dir / JOURNAL_NAME
        self.table_every = table_every
        self.fsync_every = fsync_every
        self._latest: dict[str, int] = {}  # source -> offset of its latest journal line
        self._previous: dict[str, Previous] = {}
        self._columns: dict[str, str] = {c: _base_kind(c) for c in BASE_COLUMNS}  # column -> "int"|"float"|"str"
        self._file: IO[bytes] | None = None
        self._lock: IO[bytes] | None = None
        self._synced = self._tabled = time.monotonic()
        self._rebuild_seconds = 0.0
        self._dirty = False

    # -- opening and reading ---------------------------------------------------------------------

    def __enter__(self) -> ResultsTable:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        self._take_lock()
        self._drop_cut_line()
        self._scan()
        self._file = self.journal.open("ab")

    def previous(self, source: str) -> Previous | None:
        return self._previous.get(source)

    def __len__(self) -> int:
        return len(self._latest)

    def _scan(self) -> None:
        if not self.journal.exists():
            return
        with self.journal.open("rb") as f:
            offset = 0
            for line in f:
                try:
                    row = json.loads(line)
                except ValueError:
                    row = None  # a damaged line: as if the image had no result
                if isinstance(row, dict) and isinstance(row.get("source"), str):
                    self._index(row, offset)
                offset += len(line)

    def _drop_cut_line(self) -> None:
        """A crash mid-append leaves a line without its newline: cut it off, its image is redone."""
        if not self.journal.exists() or self.journal.stat().st_size == 0:
            return
        with self.journal.open("rb+") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) == b"\n":
                return
            size = f.seek(0, os.SEEK_END)
            step = 1 << 16
            end = size
            while end > 0:
                start = max(0, end - step)
                f.seek(start)
                chunk = f.read(end - start)
                cut = chunk.rfind(b"\n")
                if cut >= 0:
                    f.truncate(start + cut + 1)
                    return
                end = start
            f.truncate(0)

    def _index(self, row: Mapping[str, Any], offset: int) -> None:
        source = row["source"]
        self._latest[source] = offset
        recorded = None
        if row.get("status") == "done" and all(isinstance(row.get(k), int) for k in _INT_COLUMNS):
            recorded = (row["width"], row["height"], row["source_bytes"], row["source_mtime_ns"])
        self._previous[source] = Previous(str(row.get("status", "")), bool(row.get("measured")), recorded)
        for key, value in row.items():
            self._columns[key] = _merged(self._columns.get(key, "null"), _kind(value))

    # -- appending -------------------------------------------------------------------------------

    def append(self, row: Mapping[str, Any]) -> None:
        """Record one image's result (``row["source"]`` names it); flushed at once, fsynced every few seconds."""
        assert self._file is not None, "the table is not open"
        clean = {k: _plain(v) for k, v in row.items()}
        offset = self._file.tell()
        self._file.write(json.dumps(clean, ensure_ascii=False).encode("utf-8") + b"\n")
        self._file.flush()
        self._index(clean, offset)
        self._dirty = True
        now = time.monotonic()
        if now - self._synced >= self.fsync_every:
            os.fsync(self._file.fileno())
            self._synced = now
        if now - self._tabled >= max(self.table_every, 30 * self._rebuild_seconds):
            self.write_tables()

    def close(self) -> None:
        """Flush the journal, rebuild the tables if anything changed, release the lock."""
        try:
            if self._file is not None:
                self._file.flush()
                os.fsync(self._file.fileno())
                self._file.close()
                self._file = None
                if self._dirty or not (self.out_dir / PARQUET_NAME).exists():
                    self.write_tables()
        finally:
            self._release_lock()

    # -- the tables ------------------------------------------------------------------------------

    @property
    def columns(self) -> list[str]:
        return list(self._columns)

    def write_tables(self) -> int:
        """Rebuild ``results.parquet`` and ``results.csv`` from the journal; returns the number of rows."""
        if self._file is not None:
            self._file.flush()
        columns = self.columns
        start = time.monotonic()
        write_bytes_atomic(self.out_dir / CSV_NAME, lambda f: self._write_csv(f, columns))
        write_bytes_atomic(self.out_dir / PARQUET_NAME, lambda f: self._write_parquet(f, columns))
        self._tabled = time.monotonic()
        self._rebuild_seconds = self._tabled - start
        self._dirty = False
        return len(self._latest)

    def _chunks(self, columns: list[str]):  # type: ignore[no-untyped-def]
        """The latest row of every image, sorted by path, ``_CHUNK_ROWS`` at a time."""
        with self.journal.open("rb") as f:
            chunk: list[dict[str, Any]] = []
            for source in sorted(self._latest):
                f.seek(self._latest[source])
                row = json.loads(f.readline())
                chunk.append({c: _typed(row.get(c), self._columns[c]) for c in columns})
                if len(chunk) == _CHUNK_ROWS:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk

    def _write_csv(self, f: IO[bytes], columns: list[str]) -> None:
        text = io.TextIOWrapper(f, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(columns)
        for chunk in self._chunks(columns):
            writer.writerows([["" if row[c] is None else row[c] for c in columns] for row in chunk])
        text.flush()
        text.detach()

    def _write_parquet(self, f: IO[bytes], columns: list[str]) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {"int": pa.int64(), "float": pa.float64(), "null": pa.float64(), "str": pa.string(),
                 "bool": pa.bool_()}
        schema = pa.schema([(c, types[self._columns[c]]) for c in columns])
        with pq.ParquetWriter(f, schema) as writer:
            for chunk in self._chunks(columns):
                writer.write_batch(pa.RecordBatch.from_pylist(chunk, schema=schema))
            if not self._latest:
                writer.write_table(schema.empty_table())

    # -- the lock --------------------------------------------------------------------------------

    def _take_lock(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; one run per folder is the user's to keep
            return
        lock = (self.out_dir / LOCK_NAME).open("a+b")
        try:
            fcntl.flock(lock.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            raise TableBusy(f"{self.out_dir}: another cohort run is writing its results; "
                            "wait for it to finish or choose another output folder") from None
        self._lock = lock

    def _release_lock(self) -> None:
        if self._lock is not None:
            self._lock.close()  # closing releases the flock
            self._lock = None


def _base_kind(column: str) -> str:
    return "int" if column in _INT_COLUMNS else "float" if column in _FLOAT_COLUMNS else "str"


def _kind(value: Any) -> str:
    """The column type a value asks for; "null" asks for nothing."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    return "float" if isinstance(value, float) else "str"


def _merged(have: str, seen: str) -> str:
    """The column type that holds values of both kinds (integers widen to floats, anything else to text)."""
    if seen in ("null", have):
        return have
    if have == "null":
        return seen
    return "float" if {have, seen} == {"int", "float"} else "str"


def _plain(value: Any) -> Any:
    """JSON-ready: NaN and infinities become None (JSON has none), paths become text."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def _typed(value: Any, kind: str) -> Any:
    """``value`` as the column's type (None stays None: an empty cell)."""
    if value is None:
        return None
    if kind in ("float", "null"):
        return float(value)
    if kind == "int":
        return int(value)
    if kind == "bool":
        return bool(value)
    return str(value)
