"""A cohort's inputs, streamed: folders (recursively), glob patterns and list files of paths.

Nothing is collected into a list: a cohort of 100,000 photographs is walked one name at a time, so
neither the command line nor the memory holds it. The order is reproducible (folders in name order,
list files in their order), so two passes over the same inputs see the same files.
"""

from __future__ import annotations

import csv
import glob
import os
from collections.abc import Iterable, Iterator
from pathlib import Path

from core.io.images import is_image_file

#: Files read as lists of paths rather than as images.
LIST_SUFFIXES = (".csv", ".tsv", ".txt", ".lst", ".list")
#: The column of a list file's header that holds the paths (the first of these found, any case).
PATH_COLUMNS = ("path", "file", "filename", "image", "source")


def iter_inputs(specs: Iterable[str | os.PathLike[str]], exclude: Path | None = None) -> Iterator[Path]:
    """Every input path of ``specs``, lazily.

    A folder gives the image files below it (recursively, hidden files and folders passed over), a file
    named ``*.csv``/``*.tsv``/``*.txt``/``*.lst`` the paths it lists (see :func:`iter_list`), a glob
    pattern (``*``, ``?``, ``[...]``, ``**``) the files it matches, any other path itself, existing or not
    (the planner refuses what is missing). ``exclude``: a folder never descended into (the output folder,
    when it lies inside an input folder: its masks are no inputs).
    """
    skip = exclude.resolve() if exclude is not None else None
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            yield from walk_images(path, skip)
        elif path.is_file() and path.suffix.lower() in LIST_SUFFIXES:
            for listed in iter_list(path):
                yield from walk_images(listed, skip) if listed.is_dir() else (listed,)
        elif not path.exists() and glob.has_magic(str(spec)):
            matched = False
            for name in glob.iglob(str(spec), recursive=True):
                matched = True
                found = Path(name)
                if found.is_dir():
                    yield from walk_images(found, skip)
                elif not _hidden(found.name):
                    yield found
            if not matched:
                yield path  # refused later as not found, with the pattern as its name
        else:
            yield path


def walk_images(folder: Path, exclude: Path | None = None) -> Iterator[Path]:
    """Image files under ``folder``, folder by folder in name order; hidden entries and ``exclude`` skipped."""
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not _hidden(d)
                         and (exclude is None or Path(root, d).resolve() != exclude))
        for name in sorted(files):
            path = Path(root, name)
            if not _hidden(name) and is_image_file(path):
                yield path


def iter_list(path: Path) -> Iterator[Path]:
    """The paths a list file names, relative ones taken from the list's folder.

    ``.txt``/``.lst``: one path per line. ``.csv``/``.tsv``: the column named ``path``, ``file``,
    ``filename``, ``image`` or ``source`` of the header, else the first column of every row (no header).
    Blank lines and lines starting with ``#`` are passed over.
    """
    base = path.parent
    with path.open(encoding="utf-8-sig", newline="") as f:
        if path.suffix.lower() in (".csv", ".tsv"):
            rows = (row for row in csv.reader(f, delimiter="\t" if path.suffix.lower() == ".tsv" else ",")
                    if row and row[0].strip() and not row[0].lstrip().startswith("#"))
            first = next(rows, None)
            if first is None:
                return
            header = [cell.strip().lower() for cell in first]
            column = next((header.index(name) for name in PATH_COLUMNS if name in header), None)
            if column is None:
                column = 0
                yield base / first[0].strip()
            for row in rows:
                if len(row) > column and row[column].strip():
                    yield base / row[column].strip()
        else:
            for line in f:
                text = line.strip()
                if text and not text.startswith("#"):
                    yield base / text


def _hidden(name: str) -> bool:
    return name.startswith(".")
