"""DICOM Segmentation out: the vessel mask (and artery/vein labels) of a DICOM photograph, referencing it.

The SEG (binary, bit-packed, one frame per segment) names the source image by SOP class and instance
and carries its patient and study, so an archive files it beside the photograph. Segments use SNOMED CT
codes: retinal blood vessel (28758002), retinal artery (27988004), retinal vein (85003000), category
anatomical structure (91723000), region retina (5665001). Arteries and veins overlap at crossings.

highdicom builds it. highdicom 0.28 treats every IOD that includes the Multi-frame module as an
*enhanced* multi-frame image and looks for its shared functional groups: an Ophthalmic Photography
8/16 Bit source (a classic IOD with a Multi-frame module and no functional groups) fails with an
AttributeError, and any photograph without a frame of reference that states a Pixel Spacing gives a SEG
whose Pixel Measures lack the Slice Thickness highdicom itself requires when reading it back.
:class:`_PhotographSegmentation` narrows one step for sources without a frame of reference (every
photograph): it records no pixel measures, which the Segmentation IOD only requires with a frame of
reference. The source's SOP class is never changed. A multi-frame source (a stereo pair) is refused:
without a frame of reference highdicom 0.28 references whole single-frame instances only.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from core import __version__
from core.errors import ImageReadError, ImageWriteError
from core.io.atomic import write_bytes_atomic
from core.io.dicom_metadata import number_of_frames
from core.io.dicom_reader import read_source_dataset

#: (label, SNOMED CT code, code meaning, display colour) of each segment, in segment-number order.
VESSEL_SEGMENT = ("retinal vessel", "28758002", "Blood vessel of retina", (255, 255, 0))
ARTERY_SEGMENT = ("retinal artery", "27988004", "Structure of retinal artery", (255, 0, 0))
VEIN_SEGMENT = ("retinal vein", "85003000", "Structure of retinal vein", (0, 0, 255))
SEGMENTATION_SOP_CLASS = "1.2.840.10008.5.1.4.1.1.66.4"
SERIES_NUMBER = 900
SERIES_DESCRIPTION = "RetinaSeg vessel segmentation"


def build_segmentation(source: Any, vessel: np.ndarray, arteries: np.ndarray | None = None,
                       veins: np.ndarray | None = None, *, model: str = "", edited_by_hand: bool = False) -> Any:
    """A highdicom ``Segmentation`` of ``source`` (a pydicom dataset; pixel data not needed).

    ``vessel``, ``arteries``, ``veins``: H×W masks, non-zero is inside (arteries and veins both, or
    neither; they may overlap where vessels cross). Raises ValueError when the masks do not fit the
    source or highdicom refuses it.
    """
    import highdicom as hd
    from pydicom.sr.codedict import codes

    rows, columns = int(source.Rows), int(source.Columns)
    masks = [np.asarray(vessel) != 0]
    segments = [VESSEL_SEGMENT]
    if (arteries is None) != (veins is None):
        raise ValueError("arteries and veins are exported together")
    if arteries is not None and veins is not None:
        masks += [np.asarray(arteries) != 0, np.asarray(veins) != 0]
        segments += [ARTERY_SEGMENT, VEIN_SEGMENT]
    for m in masks:
        if m.shape != (rows, columns):
            raise ValueError(f"the mask is {m.shape[1]}x{m.shape[0]} but the source image is {columns}x{rows}")
    frames = number_of_frames(source)
    if frames > 1:
        raise ValueError(f"the source has {frames} frames; a DICOM Segmentation is written for single-frame "
                         "photographs only (export the PNG mask instead)")
    algorithm = hd.AlgorithmIdentificationSequence(name="RetinaSeg", family=codes.cid7162.ArtificialIntelligence,
                                                   version=f"{__version__} {model}".strip()[:64])
    kind = hd.seg.SegmentAlgorithmTypeValues.SEMIAUTOMATIC if edited_by_hand \
        else hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC
    descriptions = [
        hd.seg.SegmentDescription(
            segment_number=number, segment_label=label,
            segmented_property_category=codes.SCT.AnatomicalStructure,
            segmented_property_type=hd.sr.CodedConcept(code, "SCT", meaning),
            algorithm_type=kind, algorithm_identification=algorithm, anatomic_regions=[codes.SCT.Retina],
            display_color=hd.color.CIELabColor.from_rgb(*colour))
        for number, (label, code, meaning, colour) in enumerate(segments, start=1)
    ]
    return _PhotographSegmentation(
        source_images=[source], pixel_array=np.stack(masks, axis=-1)[None],
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY, segment_descriptions=descriptions,
        series_instance_uid=hd.UID(), series_number=SERIES_NUMBER, sop_instance_uid=hd.UID(), instance_number=1,
        manufacturer="RetinaSeg", manufacturer_model_name=(model or "RetinaSeg")[:64],
        software_versions=__version__, device_serial_number="none", series_description=SERIES_DESCRIPTION,
        content_label="VESSELS", content_description="Retinal vessels found by RetinaSeg"
        + (", corrected by hand" if edited_by_hand else ""), omit_empty_frames=False)


def export_dicom_seg(path: str | os.PathLike[str], source_path: str | os.PathLike[str], vessel: np.ndarray,
                     arteries: np.ndarray | None = None, veins: np.ndarray | None = None, *, model: str = "",
                     edited_by_hand: bool = False, overwrite: bool = False) -> Path:
    """Write the SEG of ``source_path`` atomically to ``path``; every failure is an ImageWriteError naming it."""
    p = Path(path)
    if not overwrite and p.exists():
        raise ImageWriteError(f"{p}: already exists (use overwrite to replace it)")
    try:
        source = read_source_dataset(source_path)
        seg = build_segmentation(source, vessel, arteries, veins, model=model, edited_by_hand=edited_by_hand)
    except ImageReadError as exc:
        raise ImageWriteError(f"{p}: no DICOM Segmentation: {exc}") from exc
    except (ValueError, TypeError, AttributeError, KeyError, IndexError) as exc:  # highdicom's checks
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise ImageWriteError(f"{p}: no DICOM Segmentation of {Path(source_path).name}: {reason}") from exc
    write_bytes_atomic(p, lambda f: seg.save_as(f, enforce_file_format=True))
    return p


def referenced_instances(seg: Any) -> Sequence[tuple[str, str]]:
    """(SOP class UID, SOP instance UID) of every image a SEG dataset references."""
    return [(str(item.ReferencedSOPClassUID), str(item.ReferencedSOPInstanceUID))
            for series in seg.get("ReferencedSeriesSequence", [])
            for item in series.get("ReferencedInstanceSequence", [])]


def _photograph_segmentation_class() -> type:
    import highdicom as hd

    class PhotographSegmentation(hd.seg.Segmentation):
        """highdicom's Segmentation, with no pixel measures copied from a source without a frame of reference."""

        @staticmethod
        def _get_pixel_measures_sequence(source_image: Any, is_multiframe: bool, coordinate_system: Any) -> Any:
            if coordinate_system is None:
                return None
            return hd.seg.Segmentation._get_pixel_measures_sequence(source_image, is_multiframe, coordinate_system)

    if not hasattr(hd.seg.Segmentation, "_get_pixel_measures_sequence"):  # a highdicom that changed inside
        raise ImportError("this highdicom has no _get_pixel_measures_sequence; check core/io/dicom_seg.py against it")
    return PhotographSegmentation


def _PhotographSegmentation(**kwargs: Any) -> Any:  # noqa: N802 - builds the class on first use (lazy highdicom)
    global _SEGMENTATION_CLASS
    if _SEGMENTATION_CLASS is None:
        _SEGMENTATION_CLASS = _photograph_segmentation_class()
    return _SEGMENTATION_CLASS(**kwargs)


_SEGMENTATION_CLASS: type | None = None
