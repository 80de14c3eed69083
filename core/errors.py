"""Every error the app shows to a user, importable without torch or Qt so callers catch by type.

The modules that raise them (checkpoint loading, inference, image I/O) import them from here; the
GUI catches them by class, never by name.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path


class RetinaSegError(Exception):
    """Base class: the message is one line a user can act on."""


class CheckpointError(RetinaSegError, ValueError):
    """A file is not a usable model checkpoint; the message says why."""


class ImageReadError(RetinaSegError, ValueError):
    """An image could not be read; the message names the file and the reason."""


class ImageWriteError(RetinaSegError, OSError):
    """An image or result file could not be written; the message names the file and the reason."""


class ExportExistsError(ImageWriteError):
    """Some target files already exist; ``paths`` lists them (nothing was written)."""

    def __init__(self, paths: Sequence[Path]) -> None:
        self.paths = tuple(Path(p) for p in paths)
        names = ", ".join(str(p) for p in self.paths)
        what = "file already exists" if len(self.paths) == 1 else f"{len(self.paths)} files already exist"
        super().__init__(f"{what}: {names}; allow overwriting to replace them")


class JobCancelled(RetinaSegError):
    """A long job (segmentation, batch, fine-tuning) stopped because its cancel flag was set."""


class DeviceFailure(RetinaSegError, RuntimeError):
    """The GPU failed (out of memory, driver error): retrying on the CPU is the remedy."""


def error_message(exc: BaseException) -> str:
    """One clear line for a dialog or a log: our own errors' messages, the type name for the rest."""
    text = str(exc).strip()
    if isinstance(exc, RetinaSegError | ValueError) and text:
        return text
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
