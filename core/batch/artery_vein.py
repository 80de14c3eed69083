"""The artery/vein step of a batch job (``segment --av``): type the vessel mask just written, find the disc.

The vessel mask is typed as the app types it (:func:`core.predict.artery_vein.classify_vessels`: one type
per vessel segment, from the artery/vein model's probabilities), so ``<stem>_av.png`` covers exactly the
pixels of ``<stem>_mask.png``; where an artery and a vein touch, a small disk is marked crossing
(:mod:`core.predict.crossings`: the model has no crossing class). The optic disc detector runs on the same
image and FOV; its "not found" is an answer with a reason, not a failure. The model is loaded once per
process: :class:`ArteryVeinSpec` is the picklable recipe a worker builds its :class:`ArteryVeinStep` from,
on its first job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from core.errors import CheckpointError
from core.io.artery_vein import ARTERY, CROSSING, VEIN, artery_and_vein_masks
from core.predict.prediction import Predictor

ARTERIES_VEINS = "arteries_veins"


@dataclass(frozen=True)
class ArteryVeinOutcome:
    """One image's labels (uint8, :mod:`core.io.artery_vein` values), its optic disc (an ``OpticDisc``, or a
    ``DiscNotFound`` with the reason) and the sidecar's ``arteries_veins`` entry."""

    labels: np.ndarray
    disc: Any
    summary: dict[str, Any]

    def artery_vein_masks(self) -> tuple[np.ndarray, np.ndarray]:
        """The arteries and the veins as bool masks, crossings in both (a DICOM Segmentation's two segments)."""
        return artery_and_vein_masks(self.labels)

    def measurements(self) -> dict[str, Any]:
        """The sidecar's ``measurements`` entries, named as the app's export names them."""
        return {"optic_disc": self.disc.as_dict(), "arteries_veins": self.summary}


class ArteryVeinStep:
    """Types a vessel mask with an artery/vein ``predictor`` and finds the optic disc.

    ``model``: the name the sidecar gives the model (default: the predictor's file name). A predictor of
    another task is refused (CheckpointError naming it), now when it says its task, else on its first image.
    """

    def __init__(self, predictor: Predictor, model: str = "") -> None:
        self.predictor = predictor
        self.model = model or Path(str(getattr(predictor, "model_path", None) or "")).name or "unknown"
        task = getattr(predictor, "task", None)
        if task is not None:
            self._check(task.name)

    def __call__(self, image: np.ndarray, fov: np.ndarray, vessels: np.ndarray) -> ArteryVeinOutcome:
        """The outcome for ``image`` whose vessel mask (bool, H×W) is ``vessels`` inside ``fov``."""
        from core.measure.optic_disc import find_optic_disc
        from core.predict.artery_vein import classify_vessels
        from core.predict.crossings import mark_crossings

        av = self.predictor.predict(image, fov=fov)
        self._check(av.task.name)
        labels = mark_crossings(classify_vessels(vessels, av.probability("artery"), av.probability("vein")))
        return ArteryVeinOutcome(labels, find_optic_disc(image, fov), summarise(labels, self.model))

    def _check(self, task: str) -> None:
        if task != ARTERIES_VEINS:
            raise CheckpointError(f"{self.model} is a {task} model, not an artery/vein model")


def summarise(labels: np.ndarray, model: str) -> dict[str, Any]:
    """The sidecar's ``arteries_veins`` entry: model, hand edits (none in a batch), pixels of each type
    (crossings: marked where an artery and a vein touch) and the arteries' share of the artery and vein pixels
    (None without any)."""
    arteries, veins = int((labels == ARTERY).sum()), int((labels == VEIN).sum())
    typed = arteries + veins
    return {"model": model, "edited_by_hand": False, "segment_consistent": True, "artery_pixels": arteries,
            "vein_pixels": veins, "crossing_pixels": int((labels == CROSSING).sum()),
            "artery_share": round(arteries / typed, 4) if typed else None}


@dataclass(frozen=True)
class ArteryVeinSpec:
    """What :class:`ArteryVeinStep` is built from in each process (torch is imported only then).

    ``model_path``: None for the shipped artery/vein model; the other fields as :class:`core.batch.SegmenterSpec`.
    """

    model_path: str | None = None
    device: str = "cpu"
    precision: str | None = None
    tta: bool | None = None
    threads: int | None = None

    def __call__(self) -> ArteryVeinStep:
        """The step, its model loaded; CheckpointError when the file is not an artery/vein model."""
        from core.ml.inference import Segmenter
        from core.resources import default_artery_vein_model_path

        path = Path(self.model_path) if self.model_path else default_artery_vein_model_path()
        if not path.is_file():
            raise CheckpointError(f"the artery/vein model {path} is missing"
                                  + ("" if self.model_path else ": pass one with --av-model"))
        segmenter = Segmenter(path, device=self.device, precision=self.precision, tta=self.tta,
                              threads=self.threads)
        return ArteryVeinStep(segmenter, path.name)
