"""Output file names: the one place that decides what a result file of ``<stem>`` is called.

The contract, shared by the CLI, batch and the app's export (outside tools rely on it):
``<stem>_mask.png``, ``<stem>_prob.png``, ``<stem>_overlay.png`` (or ``.jpg``), ``<stem>_info.json``
(or ``.csv``), ``<stem>_av.png`` (arteries red, veins blue, crossings green: the RITE/HRF colours), and
for a DICOM source ``<stem>_seg.dcm`` (a DICOM Segmentation).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

OVERLAY_FORMATS = (".png", ".jpg", ".jpeg")
INFO_FORMATS = (".json", ".csv")


def input_stem(path: str | os.PathLike[str]) -> str:
    """The ``<stem>`` of an input's result files: its name without the suffix, except a numeric one.

    DICOM archives name files by their instance UID (``1.2.840.113619.2.55.3.604688``): every file of a
    series would otherwise share one stem, and one file's results overwrite the next one's.
    """
    p = Path(path)
    return p.name if p.suffix[1:].isdigit() else p.stem


@dataclass(frozen=True)
class OutputNames:
    """The result files of one image: ``folder / f"{stem}_<kind><suffix>"``."""

    folder: Path
    stem: str

    def __init__(self, folder: str | os.PathLike[str], stem: str) -> None:
        object.__setattr__(self, "folder", Path(folder))
        object.__setattr__(self, "stem", str(stem))

    @property
    def mask(self) -> Path:
        return self.folder / f"{self.stem}_mask.png"

    @property
    def prob(self) -> Path:
        return self.folder / f"{self.stem}_prob.png"

    @property
    def av(self) -> Path:
        return self.folder / f"{self.stem}_av.png"

    @property
    def seg(self) -> Path:
        return self.folder / f"{self.stem}_seg.dcm"

    def overlay(self, suffix: str = ".png") -> Path:
        if suffix.lower() not in OVERLAY_FORMATS:
            raise ValueError(f"overlay format must be one of {', '.join(OVERLAY_FORMATS)}, got {suffix!r}")
        return self.folder / f"{self.stem}_overlay{suffix}"

    def info(self, suffix: str = ".json") -> Path:
        if suffix.lower() not in INFO_FORMATS:
            raise ValueError(f"sidecar format must be .json or .csv, got {suffix!r}")
        return self.folder / f"{self.stem}_info{suffix}"
