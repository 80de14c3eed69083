"""One row of ``retinaseg measure``: an image's vessel mask and artery/vein labels, its FOV, optic disc and
scale, and every biomarker (core.measure.biomarkers.table), or why the image could not be measured.

The masks come from a :class:`MaskSource`: :class:`MaskFiles` reads what ``retinaseg segment`` wrote
(``<stem>_mask.png``, and ``<stem>_av.png`` when present); :class:`ModelMasks` segments the image with the
vessel model and types the vessels with the artery/vein model as the app does (one type per vessel
segment). Either way the image itself is read, for its FOV (estimated from the dark border), the optic
disc (core.measure.optic_disc) and the scale (a DICOM file's pixel spacing, else the camera's field
angle when given, else the disc-diameter convention).

Torch is reached only through the predictors a caller hands to :class:`ModelMasks`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from core import __version__
from core.errors import ImageReadError
from core.io.artery_vein import labels_from_rgb
from core.io.images import is_image_file, load_image, read_image
from core.io.outputs import OutputNames, input_stem
from core.measure.biomarkers import BiomarkerInputError, compute_biomarkers
from core.measure.biomarkers.scale import fov_diameter_px
from core.measure.biomarkers.table import SCHEMA_VERSION, biomarker_columns, biomarker_row
from core.measure.fov import estimate_fov
from core.predict.prediction import Predictor
from core.predict.tasks import VESSEL

#: The columns before the biomarkers, in order.
CONTEXT_COLUMNS = (
    "schema_version", "program_version", "image", "status", "error",
    "vessel_mask", "vessel_model", "vessel_model_sha256",
    "av_labels", "av_model", "av_model_sha256", "av_missing",
    "disc_x", "disc_y", "disc_diameter_px", "disc_score", "disc_missing",
    "fov_diameter_px",
)


def table_columns() -> list[str]:
    """Every column of a ``retinaseg measure`` table, in order."""
    return [*CONTEXT_COLUMNS, *biomarker_columns()]


@dataclass(frozen=True)
class ModelInfo:
    """What a table says of a model: its file name and the first 16 hex digits of the file's SHA-256
    (two files with the same name are told apart)."""

    name: str = ""
    sha256: str = ""

    @classmethod
    def of(cls, path: str | Path | None) -> ModelInfo:
        if not path:
            return cls()
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return cls(Path(path).name, digest.hexdigest()[:16])


@dataclass(frozen=True)
class Masks:
    """One image's vessel mask (H×W bool), its labels (H×W uint8, core.io.artery_vein values) or why there
    are none, and where each came from (for the table)."""

    vessels: np.ndarray
    labels: np.ndarray | None
    labels_missing: str
    vessels_from: str
    labels_from: str


class MaskSource(Protocol):
    vessel_model: ModelInfo
    av_model: ModelInfo

    def masks(self, path: Path, image: np.ndarray, fov: np.ndarray) -> Masks:
        """The masks of the image at ``path``; ValueError / ImageReadError (one line) when there are none."""
        ...


class MaskFiles:
    """Masks from a folder of ``retinaseg segment`` results: ``<stem>_mask.png`` (required, vessel > 127) and
    ``<stem>_av.png`` (optional, the datasets' colours: red artery, blue vein, green crossing, white uncertain)."""

    vessel_model = ModelInfo()
    av_model = ModelInfo()

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)

    def masks(self, path: Path, image: np.ndarray, fov: np.ndarray) -> Masks:
        names = OutputNames(self.folder, input_stem(path))
        h, w = image.shape[:2]
        if not names.mask.is_file():
            raise FileNotFoundError(f"no vessel mask {names.mask.name} in {self.folder}")
        vessels = read_image(names.mask, mode="L") > 127
        if vessels.shape != (h, w):
            raise ValueError(f"{names.mask.name} is {vessels.shape[1]}×{vessels.shape[0]} px but the image "
                             f"{w}×{h}: not this image's mask")
        if not names.av.is_file():
            return Masks(vessels, None, f"no {names.av.name} in {self.folder}", str(names.mask), "")
        try:
            labels = labels_from_rgb(read_image(names.av, mode="RGB"))
        except (ImageReadError, ValueError) as exc:
            return Masks(vessels, None, f"{names.av.name} unreadable: {_one_line(exc)}", str(names.mask), "")
        if labels.shape != (h, w):
            return Masks(vessels, None, f"{names.av.name} is {labels.shape[1]}×{labels.shape[0]} px but the image "
                         f"{w}×{h}: not used", str(names.mask), "")
        return Masks(vessels, labels, "", str(names.mask), str(names.av))


class ModelMasks:
    """Masks from the models: the vessel model's mask at its threshold, typed by the artery/vein model
    (``av`` None: no labels, ``av_missing`` says why)."""

    def __init__(self, vessels: Predictor, av: Predictor | None, av_missing: str = "") -> None:
        self.vessels, self.av, self.av_missing = vessels, av, av_missing
        self.vessel_model = ModelInfo.of(getattr(vessels, "model_path", None))
        self.av_model = ModelInfo.of(getattr(av, "model_path", None)) if av is not None else ModelInfo()

    def masks(self, path: Path, image: np.ndarray, fov: np.ndarray) -> Masks:
        from core.predict.artery_vein import classify_vessels

        vessels = self.vessels.predict(image, fov=fov).decode() == VESSEL
        if self.av is None:
            return Masks(vessels, None, self.av_missing, "model", "")
        av = self.av.predict(image, fov=fov)
        labels = classify_vessels(vessels, av.probability("artery"), av.probability("vein"))
        return Masks(vessels, labels, "", "model", "model")


def measure_image(path: str | Path, source: MaskSource, field_angle_deg: float | None = None) -> dict[str, Any]:
    """The table row of one image (:func:`table_columns`): ``status`` "ok" with the biomarkers, or "failed"
    with the one-line ``error`` (unreadable image, missing or mismatched mask); never raises for a bad file."""
    from core.measure.optic_disc import OpticDisc, find_optic_disc

    path = Path(path)
    row = _context(path, source)
    try:
        if not path.is_file():
            raise FileNotFoundError("file not found" if not path.exists() else "not a file")
        if not is_image_file(path):
            raise ValueError(f"not an image file name ({path.suffix or 'no suffix'})")
        loaded = load_image(path)
        image = loaded.pixels
        fov = estimate_fov(image)
        masks = source.masks(path, image, fov)
        disc = find_optic_disc(image, fov)
        dicom = loaded.metadata.dicom
        spacing = dicom.pixel_spacing_mm if dicom is not None else None
        report = compute_biomarkers(masks.vessels, fov, masks.labels,
                                    disc if isinstance(disc, OpticDisc) else None,
                                    pixel_spacing_mm=spacing, field_angle_deg=field_angle_deg)
    except (OSError, ValueError, BiomarkerInputError) as exc:
        message = _one_line(exc).removeprefix(f"{path}: ")
        return {**row, "status": "failed", "error": message, **biomarker_row(None, "image not measured")}
    row.update(status="ok", vessel_mask=masks.vessels_from, av_labels=masks.labels_from,
               av_missing=masks.labels_missing, fov_diameter_px=int(fov_diameter_px(fov)))
    if isinstance(disc, OpticDisc):
        row.update(disc_x=round(disc.x, 2), disc_y=round(disc.y, 2), disc_diameter_px=round(disc.diameter, 2),
                   disc_score=round(disc.score, 3))
    else:
        row["disc_missing"] = disc.reason
    return {**row, **biomarker_row(report)}


def _context(path: Path, source: MaskSource) -> dict[str, Any]:
    row: dict[str, Any] = dict.fromkeys(CONTEXT_COLUMNS, "")
    row.update(schema_version=SCHEMA_VERSION, program_version=__version__, image=str(path),
               vessel_model=source.vessel_model.name, vessel_model_sha256=source.vessel_model.sha256,
               av_model=source.av_model.name, av_model_sha256=source.av_model.sha256)
    return row


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    if isinstance(exc, FileNotFoundError) and exc.filename and exc.strerror:
        text = f"{exc.strerror}: {exc.filename}"
    return text.splitlines()[0]
