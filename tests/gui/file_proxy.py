"""A stand-in for an open file whose ``write`` a fault test overrides; everything else goes to the file."""

from __future__ import annotations

from typing import Any


class FileProxy:
    def __init__(self, f: Any) -> None:
        self._f = f

    def write(self, data: Any) -> int:
        return self._f.write(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._f, name)

    def __enter__(self) -> FileProxy:
        return self

    def __exit__(self, *exc: object) -> None:
        self._f.close()
