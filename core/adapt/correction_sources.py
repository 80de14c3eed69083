"""Where the app finds corrected images to learn from: exports whose sidecar says "edited by hand".

An export folder holds ``<stem>_mask.png`` (the corrected mask), ``<stem>_prob.png`` (the model's
probabilities, when it was segmented) and ``<stem>_info.json`` (source image, threshold, hand edits).
:func:`find_exported_corrections` lists the hand-edited ones with how much was corrected: the pixels
where the mask differs from the probabilities at the sidecar's threshold, and the vessel pixels.
Nothing is refused silently: an export whose image or mask is gone is listed with the reason.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.adapt.corrections import CorrectedImage
from core.errors import ImageReadError
from core.io.export import read_mask, read_sidecar, uint16_to_probability
from core.io.images import load_image, read_image
from core.io.outputs import OutputNames

INFO_SUFFIX = "_info.json"


@dataclass(frozen=True)
class CorrectionSource:
    """One corrected image found on disk: where its image and mask are and how much was corrected."""

    name: str
    image_path: Path | None
    mask_path: Path | None
    #: pixels changed by hand (None: unknown, e.g. no probabilities exported, or drawn from scratch)
    changed: int | None
    vessels: int  # vessel pixels of the corrected mask
    problem: str = ""  # why it cannot be used ('' when it can)

    @property
    def usable(self) -> bool:
        return not self.problem

    @property
    def changed_percent(self) -> float | None:
        """Pixels changed by hand as a percentage of the corrected vessel pixels."""
        if self.changed is None or self.vessels == 0:
            return None
        return 100.0 * self.changed / self.vessels


def hand_changes(mask: np.ndarray, model_mask: np.ndarray | None) -> tuple[int | None, int]:
    """(pixels where ``mask`` differs from ``model_mask`` or None without one, vessel pixels of ``mask``)."""
    m = np.asarray(mask) != 0
    if model_mask is None:
        return None, int(np.count_nonzero(m))
    return int(np.count_nonzero(m != (np.asarray(model_mask) != 0))), int(np.count_nonzero(m))


def find_exported_corrections(folder: str | os.PathLike[str]) -> list[CorrectionSource]:
    """The hand-edited exports in ``folder`` (by name); sidecars that cannot be read are skipped."""
    root = Path(folder)
    if not root.is_dir():
        return []
    found = []
    for info_path in sorted(root.glob(f"*{INFO_SUFFIX}")):
        try:
            info = read_sidecar(info_path)
        except ImageReadError:
            continue  # not ours, or from a newer app: nothing a user could fix here
        if info.edited_by_hand:
            found.append(_source(root, info_path.name[: -len(INFO_SUFFIX)], info.source, info.threshold))
    return found


def _source(folder: Path, stem: str, source: str, threshold: float) -> CorrectionSource:
    names = OutputNames(folder, stem)
    image = _image_file(folder, source)
    if not names.mask.is_file():
        return CorrectionSource(stem, image, None, None, 0, f"its mask {names.mask.name} is gone")
    try:
        mask = read_mask(names.mask)
        model = read_image(names.prob, mode=None) if names.prob.is_file() else None
    except ImageReadError as exc:
        return CorrectionSource(stem, image, names.mask, None, 0, str(exc))
    model_mask = None
    if model is not None and model.shape == mask.shape:
        model_mask = uint16_to_probability(model) >= threshold if model.dtype == np.uint16 else model >= threshold * 255
    changed, vessels = hand_changes(mask, model_mask)
    problem = "" if image is not None else f"its image {Path(source).name} is not at {source} any more"
    return CorrectionSource(stem, image, names.mask, changed, vessels, problem)


def _image_file(folder: Path, source: str) -> Path | None:
    """The exported image: where the sidecar says, else a file of that name in the export folder."""
    for candidate in (Path(source), folder / Path(source).name):
        if source and candidate.is_file():
            return candidate
    return None


def load_correction(source: CorrectionSource) -> CorrectedImage:
    """The image and corrected mask of ``source`` (raises ImageReadError or ValueError saying what is wrong)."""
    if source.problem or source.image_path is None or source.mask_path is None:
        raise ImageReadError(f"{source.name}: {source.problem or 'no image or mask'}")
    image = load_image(source.image_path, mode="RGB").pixels
    mask = read_mask(source.mask_path, shape=image.shape[:2])
    return CorrectedImage(source.name, image, mask.astype(np.uint8))
