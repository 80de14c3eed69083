"""Artery/vein label maps and their RGB file convention.

On disk (the RITE and HRF convention, also what ``<stem>_av.png`` exports use): red artery, blue vein,
green crossing (both), white uncertain, black background. In memory a uint8 label map with the values
below; any non-zero value is vessel.
"""

from __future__ import annotations

import numpy as np

BACKGROUND, ARTERY, VEIN, CROSSING, UNCERTAIN = 0, 1, 2, 3, 4
LABEL_NAMES = {BACKGROUND: "background", ARTERY: "artery", VEIN: "vein", CROSSING: "crossing",
               UNCERTAIN: "uncertain"}
#: Label value -> RGB colour in the files.
FILE_COLOURS = {BACKGROUND: (0, 0, 0), ARTERY: (255, 0, 0), VEIN: (0, 0, 255), CROSSING: (0, 255, 0),
                UNCERTAIN: (255, 255, 255)}


def labels_from_rgb(rgb: np.ndarray) -> np.ndarray:
    """Label map of an RGB artery/vein image. Colours are read by their dominant channels (the files
    are mostly clean, but JPEG-like fringes and anti-aliasing must not invent classes): a pixel is
    vessel when any channel exceeds 127, then white if all three do, else by which of red, green,
    blue exceed 127 (red and blue together count as crossing)."""
    if rgb.ndim != 3 or rgb.shape[2] < 3:
        raise ValueError(f"expected an RGB image, got shape {rgb.shape}")
    r, g, b = (rgb[..., i] > 127 for i in range(3))
    labels = np.zeros(rgb.shape[:2], np.uint8)
    labels[r & ~g & ~b] = ARTERY
    labels[b & ~r & ~g] = VEIN
    labels[(g & ~(r & b)) | (r & b & ~g)] = CROSSING
    labels[r & g & b] = UNCERTAIN
    return labels


def rgb_from_labels(labels: np.ndarray) -> np.ndarray:
    """The RGB file image of a label map (unknown values are drawn as uncertain)."""
    if labels.ndim != 2:
        raise ValueError(f"expected an H×W label map, got shape {labels.shape}")
    lut = np.full((256, 3), 255, np.uint8)
    for value, colour in FILE_COLOURS.items():
        lut[value] = colour
    return lut[labels]


def typed_vessels(labels: np.ndarray) -> np.ndarray:
    """Vessel pixels with a single known type (artery or vein): the pixels an A/V score counts."""
    return (labels == ARTERY) | (labels == VEIN)


def artery_and_vein_masks(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The arteries and the veins of ``labels`` as bool masks, crossings in both (a DICOM Segmentation's
    two segments)."""
    return np.isin(labels, (ARTERY, CROSSING)), np.isin(labels, (VEIN, CROSSING))
