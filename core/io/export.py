"""Exporting results: vessel mask, probability map, overlay picture and a JSON/CSV sidecar.

File contract (shared with the CLI):

* ``<stem>_mask.png``: 8-bit gray, 0 background / 255 vessel, the source's size, no metadata.
* ``<stem>_prob.png``: 16-bit gray, ``round(probability × 65535)`` (:func:`probability_to_uint16`).
* ``<stem>_overlay.png`` (or ``.jpg``): the image with the mask blended in, as shown on screen.
* ``<stem>_info.json`` (or ``.csv``): the sidecar, a versioned document (``schema``, ``schema_version``):
  source, model, threshold, vessel area in the FOV, edited flag, ``warnings`` (the plausibility guard's
  ``{code, message}`` list; the CSV joins them, one ``code: message`` per line of its cell) and
  ``measurements`` (nested; the CSV flattens it into dotted column names), and for a DICOM source a
  ``dicom`` object (a pseudonymous study reference, laterality, device, scale; patient identifiers only when
  asked: :mod:`core.io.dicom_privacy`). :func:`read_sidecar` refuses a newer version than it knows.

The names come from :class:`core.io.outputs.OutputNames`.

Every write is atomic (temp file beside the target, then rename: a full disk or a killed app never
leaves half a file). Existing files are only replaced when ``overwrite=True``; otherwise
:class:`ExportExistsError` lists all of them at once, before anything is written, so a GUI can
ask a single question. Missing or read-only folders raise :class:`ImageWriteError` naming them.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from core.edit.mask_ops import vessel_fraction
from core.errors import ExportExistsError, ImageReadError, ImageWriteError
from core.io.artery_vein import labels_from_rgb, rgb_from_labels
from core.io.atomic import write_bytes_atomic
from core.io.dicom_privacy import sidecar_fields, source_label
from core.io.images import read_image, write_image
from core.io.loaded import ImageMetadata
from core.io.outputs import INFO_FORMATS, OVERLAY_FORMATS, OutputNames

PROBABILITY_SCALE = 65535
JPEG_QUALITY = 95
DEFAULT_COLOR = (255, 40, 40)
#: What a sidecar is, and the newest layout of it this code writes and reads.
SIDECAR_SCHEMA = "retinaseg.result"
SIDECAR_VERSION = 1


@dataclass(frozen=True)
class ExportPaths:
    """Where one image's results go (default names from :func:`default_export_paths`)."""

    mask: Path
    probability: Path
    overlay: Path
    info: Path

    def all(self) -> list[Path]:
        return [self.mask, self.probability, self.overlay, self.info]


def default_export_paths(folder: str | os.PathLike[str], stem: str, overlay_suffix: str = ".png",
                         info_suffix: str = ".json") -> ExportPaths:
    """``<folder>/<stem>_mask.png``, ``_prob.png``, ``_overlay.png`` (or .jpg) and ``_info.json`` (or .csv)."""
    names = OutputNames(folder, stem)
    return ExportPaths(names.mask, names.prob, names.overlay(overlay_suffix), names.info(info_suffix))


def existing(paths: Iterable[str | os.PathLike[str]]) -> list[Path]:
    """The paths that already exist (what an overwrite prompt should list)."""
    return [Path(p) for p in paths if Path(p).exists()]


def check_targets(paths: Iterable[str | os.PathLike[str]], overwrite: bool = False) -> None:
    """Raise before writing: a folder missing or read-only, or files existing without ``overwrite``."""
    paths = [Path(p) for p in paths]
    for folder in dict.fromkeys(p.parent for p in paths):
        check_folder(folder)
    if not overwrite:
        found = existing(paths)
        if found:
            raise ExportExistsError(found)
    for p in paths:
        if p.is_dir():
            raise ImageWriteError(f"{p}: is a folder; choose another file name")


def check_folder(folder: str | os.PathLike[str]) -> None:
    """Raise :class:`ImageWriteError` saying what to do when ``folder`` cannot take new files."""
    d = Path(folder) if str(folder) else Path(".")
    if not d.exists():
        raise ImageWriteError(f"{d}: folder does not exist; create it or choose another folder")
    if not d.is_dir():
        raise ImageWriteError(f"{d}: is a file, not a folder; choose a folder")
    if not os.access(d, os.W_OK | os.X_OK):
        raise ImageWriteError(f"{d}: folder is read-only; choose a folder you can write to")


def probability_to_uint16(prob: np.ndarray) -> np.ndarray:
    """Probability in [0, 1] -> 16-bit gray, ``round(p × 65535)`` (values outside are clipped)."""
    p = np.asarray(prob, dtype=np.float64)
    if not np.isfinite(p).all():
        raise ValueError("probability map contains NaN or infinite values")
    return np.rint(np.clip(p, 0.0, 1.0) * PROBABILITY_SCALE).astype(np.uint16)


def uint16_to_probability(values: np.ndarray) -> np.ndarray:
    """Inverse of :func:`probability_to_uint16` (float32, exact to 1/131070)."""
    return (np.asarray(values, dtype=np.float32) / PROBABILITY_SCALE).astype(np.float32)


def mask_to_uint8(mask: np.ndarray) -> np.ndarray:
    """Vessel mask -> 0/255 uint8 (non-zero is vessel)."""
    m = np.asarray(mask)
    if m.ndim != 2:
        raise ValueError(f"a vessel mask must be 2-D, got shape {m.shape}")
    return np.where(m != 0, np.uint8(255), np.uint8(0))


def read_mask(path: str | os.PathLike[str], shape: tuple[int, int] | None = None) -> np.ndarray:
    """Read a mask file (any format :mod:`core.io.images` reads) as a bool array.

    0/1 masks and 0/255 masks both work (above half the range is vessel). With ``shape`` a size
    mismatch raises :class:`ImageReadError` giving both sizes.
    """
    arr = read_image(path, mode="L")  # colour and 16-bit files come back as 8-bit gray
    m = arr != 0 if int(arr.max(initial=0)) <= 1 else arr > 127
    if shape is not None and m.shape != tuple(shape):
        raise ImageReadError(f"{path}: mask is {m.shape[1]}x{m.shape[0]} but the image is {shape[1]}x{shape[0]}")
    return m


def export_mask(path: str | os.PathLike[str], mask: np.ndarray, overwrite: bool = False) -> Path:
    """Write the vessel mask as an 8-bit PNG, 0/255, without metadata."""
    p = Path(path)
    check_targets([p], overwrite)
    return write_image(p, mask_to_uint8(mask))


def export_artery_vein(path: str | os.PathLike[str], labels: np.ndarray, overwrite: bool = False) -> Path:
    """Write artery/vein labels as an RGB PNG in the datasets' colours (red artery, blue vein, green
    crossing, white uncertain, black background). ``segment --av`` and the app pass labels whose crossings
    are marked (core.predict.crossings.mark_crossings: the model has no crossing class)."""
    p = Path(path)
    check_targets([p], overwrite)
    return write_image(p, rgb_from_labels(np.asarray(labels)))


def read_artery_vein(path: str | os.PathLike[str], shape: tuple[int, int] | None = None) -> np.ndarray:
    """Artery/vein labels from an RGB file in the datasets' colours; with ``shape`` a size mismatch
    raises :class:`ImageReadError` giving both sizes."""
    labels = labels_from_rgb(read_image(path, mode="RGB"))
    if shape is not None and labels.shape != tuple(shape):
        raise ImageReadError(f"{path}: labels are {labels.shape[1]}x{labels.shape[0]} "
                             f"but the image is {shape[1]}x{shape[0]}")
    return labels


def export_probability(path: str | os.PathLike[str], prob: np.ndarray, overwrite: bool = False) -> Path:
    """Write the probability map as a 16-bit PNG (see :func:`probability_to_uint16`)."""
    p = Path(path)
    prob = np.asarray(prob)
    if prob.ndim != 2:
        raise ValueError(f"a probability map must be 2-D, got shape {prob.shape}")
    check_targets([p], overwrite)
    return write_image(p, probability_to_uint16(prob))


def _rgb8(image: np.ndarray) -> np.ndarray:
    a = np.asarray(image)
    if a.dtype == np.uint16:
        a = (a >> 8).astype(np.uint8)
    elif a.dtype == np.bool_:
        a = a.astype(np.uint8) * 255
    elif a.dtype != np.uint8:
        raise ValueError(f"cannot show an image of type {a.dtype}")
    if a.ndim == 2:
        return np.repeat(a[:, :, None], 3, axis=2)
    if a.ndim == 3 and a.shape[2] in (3, 4):
        return np.array(a[:, :, :3])
    raise ValueError(f"cannot show an image of shape {a.shape}")


def render_overlay(image: np.ndarray, mask: np.ndarray, color: tuple[int, int, int] = DEFAULT_COLOR,
                   opacity: float = 0.5) -> np.ndarray:
    """H×W×3 uint8: the image with ``color`` blended at ``opacity`` (0..1) over vessel pixels.

    Works on crops too (``render_overlay(image[y0:y1, x0:x1], mask[y0:y1, x0:x1], ...)``).
    """
    out = _rgb8(image)
    m = np.asarray(mask) != 0
    if m.shape != out.shape[:2]:
        raise ValueError(f"the mask is {m.shape[1]}x{m.shape[0]} but the image is {out.shape[1]}x{out.shape[0]}")
    if len(color) != 3 or not all(0 <= int(c) <= 255 for c in color):
        raise ValueError(f"color must be three values in 0..255, got {color!r}")
    a = min(max(float(opacity), 0.0), 1.0)
    if a > 0 and m.any():
        px = out[m].astype(np.float32)
        px = px * (1.0 - a) + np.asarray(color, np.float32) * a
        out[m] = np.rint(px).astype(np.uint8)
    return out


def export_overlay(path: str | os.PathLike[str], image: np.ndarray, mask: np.ndarray,
                   color: tuple[int, int, int] = DEFAULT_COLOR, opacity: float = 0.5,
                   overwrite: bool = False) -> Path:
    """Write :func:`render_overlay` as PNG or JPEG (quality 95), chosen by the suffix."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in OVERLAY_FORMATS:
        raise ImageWriteError(f"{p}: overlay must be .png or .jpg")
    rgb = render_overlay(image, mask, color, opacity)
    check_targets([p], overwrite)
    if suffix == ".png":
        return write_image(p, rgb)
    img = Image.fromarray(rgb, "RGB")
    write_bytes_atomic(p, lambda f: img.save(f, format="JPEG", quality=JPEG_QUALITY))
    return p


@dataclass(frozen=True)
class ExportInfo:
    """What the sidecar says about one exported mask; ``measurements`` holds per-task results, nested."""

    source: str
    model: str
    model_path: str
    threshold: float
    vessel_fraction: float  # vessel pixels / FOV pixels
    edited_by_hand: bool
    width: int = 0
    height: int = 0
    exported_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat(timespec="seconds"))
    measurements: Mapping[str, Any] = field(default_factory=dict)
    #: Why the result may be wrong: ``{"code": ..., "message": ...}`` each (core.measure.plausibility).
    warnings: tuple[Mapping[str, str], ...] = ()
    #: A DICOM source's study reference and non-identifying facts (core.io.dicom_privacy); empty otherwise.
    dicom: Mapping[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """The sidecar document: ``schema`` and ``schema_version`` first, then the fields (``dicom`` only
        for a DICOM source)."""
        doc: dict[str, Any] = {"schema": SIDECAR_SCHEMA, "schema_version": SIDECAR_VERSION}
        for f in fields(self):
            if f.name == "dicom" and not self.dicom:
                continue
            doc[f.name] = _plain(getattr(self, f.name))
        return doc


def _plain(value: Any) -> Any:
    """Mappings (at any depth) as plain dicts, so JSON can write them."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


def warning_dicts(warnings: Iterable[Any]) -> tuple[dict[str, str], ...]:
    """Warnings (objects with ``code`` and ``message``, or such mappings) as plain ``{code, message}`` dicts."""
    out = []
    for w in warnings:
        code, message = (w["code"], w["message"]) if isinstance(w, Mapping) else (w.code, w.message)
        out.append({"code": str(code), "message": str(message)})
    return tuple(out)


def _warnings_cell(warnings: Sequence[Mapping[str, str]]) -> str:
    return "\n".join(f"{w['code']}: {w['message']}" for w in warnings)


def _warnings_from_cell(text: str) -> tuple[dict[str, str], ...]:
    return tuple({"code": code, "message": message}
                 for code, _, message in (line.partition(": ") for line in text.splitlines() if line))


def flatten(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as one level with dotted names (``{"a": {"b": 1}}`` -> ``{"a.b": 1}``); the CSV's columns."""
    flat: dict[str, Any] = {}
    for key, value in doc.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def unflatten(flat: Mapping[str, Any]) -> dict[str, Any]:
    """Inverse of :func:`flatten`."""
    doc: dict[str, Any] = {}
    for name, value in flat.items():
        *parents, leaf = name.split(".")
        node = doc
        for part in parents:
            node = node.setdefault(part, {})
        node[leaf] = value
    return doc


def make_info(source: str | os.PathLike[str], mask: np.ndarray, fov: np.ndarray | None, *, model: str,
              model_path: str | os.PathLike[str], threshold: float, edited_by_hand: bool,
              warnings: Iterable[Any] = (), metadata: ImageMetadata | None = None,
              include_identifiers: bool = False) -> ExportInfo:
    """An :class:`ExportInfo` with the vessel area fraction measured inside the FOV.

    ``warnings``: the plausibility guard's findings (PlausibilityWarning or ``{code, message}`` mappings).
    ``metadata``: the source's; a DICOM source is named by its file name only and gets the ``dicom``
    object, without patient identifiers unless ``include_identifiers``.
    """
    m = np.asarray(mask)
    dicom: dict[str, Any] = {}
    if metadata is not None and metadata.dicom is not None:
        source = source_label(source, include_identifiers)
        dicom = sidecar_fields(metadata.dicom, metadata.frame, include_identifiers)
    return ExportInfo(source=str(source), model=model, model_path=str(model_path), threshold=float(threshold),
                      vessel_fraction=round(vessel_fraction(m, fov), 6), edited_by_hand=bool(edited_by_hand),
                      width=int(m.shape[1]), height=int(m.shape[0]), warnings=warning_dicts(warnings), dicom=dicom)


def _csv_text(infos: Sequence[ExportInfo]) -> str:
    rows = [flatten({**info.as_dict(), "warnings": _warnings_cell(info.warnings)}) for info in infos]
    names = list(dict.fromkeys(name for row in rows for name in row))  # measurements may differ per row
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=names, lineterminator="\n", restval="")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def _write_text(p: Path, text: str) -> Path:
    data = text.encode("utf-8")
    write_bytes_atomic(p, lambda f: f.write(data))
    return p


def export_sidecar(path: str | os.PathLike[str], info: ExportInfo, overwrite: bool = False) -> Path:
    """Write ``info`` as JSON (``.json``) or as a one-row CSV with a header (``.csv``)."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in INFO_FORMATS:
        raise ImageWriteError(f"{p}: sidecar must be .json or .csv")
    check_targets([p], overwrite)
    if suffix == ".csv":
        return _write_text(p, _csv_text([info]))
    return _write_text(p, json.dumps(info.as_dict(), indent=2) + "\n")


def export_table(path: str | os.PathLike[str], infos: Sequence[ExportInfo], overwrite: bool = False) -> Path:
    """Write many images' sidecar rows as one CSV (a batch summary)."""
    p = Path(path)
    check_targets([p], overwrite)
    return _write_text(p, _csv_text(list(infos)))


def read_sidecar(path: str | os.PathLike[str]) -> ExportInfo:
    """Read a sidecar written by :func:`export_sidecar` (or by a version before sidecars had a schema).

    Raises :class:`ImageReadError` for an unreadable file and for one written by a newer version of the
    app (its ``schema_version`` is above :data:`SIDECAR_VERSION`), saying so.
    """
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in INFO_FORMATS:
        raise ImageReadError(f"{p}: a sidecar is a .json or .csv file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImageReadError(f"{p}: cannot read ({getattr(exc, 'strerror', None) or exc})") from exc
    try:
        if suffix == ".json":
            doc = json.loads(text)
        else:
            rows = list(csv.DictReader(io.StringIO(text)))
            if len(rows) != 1:
                raise ValueError(f"expected one row, found {len(rows)}")
            doc = unflatten({k: _scalar(v) if k.startswith("measurements.") else v for k, v in rows[0].items()})
    except (ValueError, csv.Error) as exc:
        raise ImageReadError(f"{p}: not a readable sidecar ({exc})") from exc
    return _info_from(doc, p)


def _info_from(doc: Any, p: Path) -> ExportInfo:
    if not isinstance(doc, dict):
        raise ImageReadError(f"{p}: not a RetinaSeg result sidecar")
    schema = doc.get("schema", SIDECAR_SCHEMA)  # sidecars from before the schema had neither key
    if schema != SIDECAR_SCHEMA:
        raise ImageReadError(f"{p}: not a RetinaSeg result sidecar (schema {schema!r})")
    try:
        version = int(doc.get("schema_version", 0))
    except (TypeError, ValueError):
        raise ImageReadError(f"{p}: bad schema_version {doc.get('schema_version')!r}") from None
    if version > SIDECAR_VERSION:
        raise ImageReadError(f"{p}: written by a newer RetinaSeg (result schema version {version}; this version "
                             f"reads up to {SIDECAR_VERSION}); update RetinaSeg to read it")
    try:
        return ExportInfo(source=str(doc["source"]), model=str(doc["model"]), model_path=str(doc["model_path"]),
                          threshold=float(doc["threshold"]), vessel_fraction=float(doc["vessel_fraction"]),
                          edited_by_hand=_bool(doc["edited_by_hand"]), width=int(doc.get("width") or 0),
                          height=int(doc.get("height") or 0), exported_at=str(doc.get("exported_at", "")),
                          measurements=dict(doc.get("measurements") or {}),
                          warnings=_read_warnings(doc.get("warnings")), dicom=dict(doc.get("dicom") or {}))
    except KeyError as exc:
        raise ImageReadError(f"{p}: the sidecar has no {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise ImageReadError(f"{p}: the sidecar has a bad value ({exc})") from None


def _read_warnings(value: Any) -> tuple[dict[str, str], ...]:
    """The ``warnings`` of a JSON (a list of mappings) or CSV (one ``code: message`` a line) sidecar."""
    if not value:
        return ()
    if isinstance(value, str):
        return _warnings_from_cell(value)
    if isinstance(value, list):
        return warning_dicts(value)
    raise ValueError(f"warnings must be a list, got {type(value).__name__}")


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if str(value) in ("True", "true", "1"):
        return True
    if str(value) in ("False", "false", "0"):
        return False
    raise ValueError(f"not a yes/no value: {value!r}")


def _scalar(text: str) -> Any:
    """A CSV cell back as a number or flag where it reads as one (CSV keeps no types)."""
    if text in ("True", "False"):
        return text == "True"
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def export_all(paths: ExportPaths, *, mask: np.ndarray, probability: np.ndarray | None = None,
               image: np.ndarray | None = None, info: ExportInfo | None = None,
               color: tuple[int, int, int] = DEFAULT_COLOR, opacity: float = 0.5,
               overwrite: bool = False, extra: Sequence[tuple[Path, Callable[[Path], Path]]] = ()) -> list[Path]:
    """Write the mask and whichever of probability / overlay (needs ``image``) / sidecar are given.

    ``extra``: more outputs as ``(path, write)`` pairs (e.g. a DICOM Segmentation), checked and written with
    the rest. All targets are checked first: one :class:`ExportExistsError` lists every existing file and
    nothing is written, so the caller can ask once and retry with ``overwrite=True``.
    """
    shape = np.shape(mask)
    for name, arr in (("probability map", probability), ("image", image)):
        if arr is not None and np.shape(arr)[:2] != shape:
            raise ValueError(f"the {name} is {np.shape(arr)[1]}x{np.shape(arr)[0]} "
                             f"but the mask is {shape[1]}x{shape[0]}")
    jobs: list[tuple[Path, Any]] = [(paths.mask, lambda p: export_mask(p, mask, True))]
    if probability is not None:
        jobs.append((paths.probability, lambda p: export_probability(p, probability, True)))
    if image is not None:
        jobs.append((paths.overlay, lambda p: export_overlay(p, image, mask, color, opacity, True)))
    if info is not None:
        jobs.append((paths.info, lambda p: export_sidecar(p, info, True)))
    jobs += list(extra)
    check_targets([p for p, _ in jobs], overwrite)
    return [write(p) for p, write in jobs]
