"""DRIVE dataset discovery and loading.

Layout: ``<root>/<split>/images/NN_<split>.tif``, ``1st_manual/NN_manual1.gif``,
``mask/NN_<split>_mask.gif``. Targets hold 0 (background), 1 (vessel) and
``IGNORE_INDEX`` outside the field of view.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.io.images import load_image, read_image

IGNORE_INDEX = 255
DRIVE_ENV = "RETINASEG_DRIVE"
SPLITS = ("training", "test")


@dataclass(frozen=True)
class Sample:
    """One fundus image with its manual vessel label and FOV mask."""

    name: str
    image: np.ndarray  # H x W x 3 uint8
    vessels: np.ndarray  # H x W bool
    fov: np.ndarray  # H x W bool

    def target(self) -> np.ndarray:
        """uint8 target: 1 vessel, 0 background, IGNORE_INDEX outside the FOV."""
        t = self.vessels.astype(np.uint8)
        t[~self.fov] = IGNORE_INDEX
        return t


@dataclass(frozen=True)
class SampleFiles:
    name: str
    image: Path
    vessels: Path
    fov: Path


def default_drive_root() -> Path | None:
    """DRIVE location from ``$RETINASEG_DRIVE``, or None when unset."""
    value = os.environ.get(DRIVE_ENV)
    return Path(value) if value else None


def find_drive(root: str | os.PathLike[str], split: str = "training") -> list[SampleFiles]:
    """List the files of one DRIVE split, checking that every image has its label and mask."""
    if split not in SPLITS:
        raise ValueError(f"unknown DRIVE split {split!r}; expected one of {', '.join(SPLITS)}")
    base = Path(root) / split
    image_dir = base / "images"
    if not image_dir.is_dir():
        raise FileNotFoundError(f"{image_dir} not found: is {root} a DRIVE folder (training/, test/)?")
    files = []
    for image in sorted(image_dir.glob(f"*_{split}.tif")):
        number = image.name.split("_")[0]
        vessels = base / "1st_manual" / f"{number}_manual1.gif"
        fov = base / "mask" / f"{number}_{split}_mask.gif"
        for needed in (vessels, fov):
            if not needed.is_file():
                raise FileNotFoundError(f"{needed} is missing (label for {image.name})")
        files.append(SampleFiles(number, image, vessels, fov))
    if not files:
        raise FileNotFoundError(f"no *_{split}.tif images in {image_dir}")
    return files


def load_sample(files: SampleFiles) -> Sample:
    """Read one sample's image, label and FOV mask."""
    image = load_image(files.image, mode="RGB").pixels
    vessels = read_image(files.vessels, mode="L") > 127
    fov = read_image(files.fov, mode="L") > 127
    if not (image.shape[:2] == vessels.shape == fov.shape):
        raise ValueError(f"sample {files.name}: image, label and mask sizes differ")
    return Sample(files.name, image, vessels, fov)


def load_drive(root: str | os.PathLike[str], split: str = "training") -> list[Sample]:
    """Load a whole DRIVE split into memory (20 images, ~20 MB)."""
    return [load_sample(f) for f in find_drive(root, split)]


def split_train_val(samples: list[Sample], val_count: int, seed: int = 0) -> tuple[list[Sample], list[Sample]]:
    """Deterministic hold-out split of the training images for model and threshold selection."""
    if not 0 <= val_count < len(samples):
        raise ValueError(f"val_count must be in [0, {len(samples) - 1}], got {val_count}")
    order = np.random.default_rng(seed).permutation(len(samples))
    val_ids = set(order[:val_count].tolist())
    train = [s for i, s in enumerate(samples) if i not in val_ids]
    val = [s for i, s in enumerate(samples) if i in val_ids]
    return train, val
