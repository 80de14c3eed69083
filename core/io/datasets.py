"""The labelled datasets of the training pool: discovery and loading, one finder per dataset.

DRIVE: ``<root>/<split>/images/NN_<split>.tif``, ``1st_manual/NN_manual1.gif``, ``mask/NN_<split>_mask.gif``.
CHASE_DB1: ``Image_NNx.jpg`` with ``Image_NNx_1stHO.png`` (no FOV masks: estimated as the app does).
HRF: ``images/NAME.jpg``, ``manual1/NAME.tif`` (or, for the three images without it, any non-black
pixel of ``av/NAME_AVmanual.png``), ``mask/NAME_mask.tif``. CHASE_DB1 and HRF name their splits in
``split-train.txt`` / ``split-test.txt``. Targets hold 0 (background), 1 (vessel) and
``IGNORE_INDEX`` outside the field of view.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from core.io.artery_vein import ARTERY, VEIN, labels_from_rgb
from core.io.images import load_image, read_image
from core.measure.fov import estimate_fov

IGNORE_INDEX = 255
#: Artery/vein training target of a vessel pixel whose type is not known: artery or vein, either counts.
VESSEL_OF_UNKNOWN_TYPE = 3
DRIVE_ENV = "RETINASEG_DRIVE"
#: The folder holding every dataset of the pool (DRIVE/, CHASE_DB1/, HRF/ ...).
DATA_ENV = "RETINASEG_DATA"
SPLITS = ("training", "test")
#: Dataset name -> its folder inside the pool.
FOLDERS = {"drive": "DRIVE", "chase": "CHASE_DB1", "hrf": "HRF"}
#: What a model card says of each dataset it was trained on: source, citation and terms.
CARDS = {
    "drive": {"name": "DRIVE", "camera": "Canon CR5 non-mydriatic 3CCD, 45°, 565×584",
              "citation": "Staal et al., Ridge-based vessel segmentation in color images of the retina, IEEE TMI 2004",
              "artery_vein_labels": "RITE: Hu et al., Automated separation of binary overlapping trees in "
                                    "low-contrast color retinal images, MICCAI 2013",
              "terms": "research use; not redistributed"},
    "chase": {"name": "CHASE_DB1", "camera": "Nidek NM-200-D, 30°, 999×960, children",
              "citation": "Fraz et al., An ensemble classification-based approach applied to retinal blood vessel "
                          "segmentation, IEEE TBME 2012",
              "terms": "CC BY 4.0 (Kingston University)"},
    "hrf": {"name": "HRF", "camera": "Canon CR-1, 45°, 3504×2336",
            "citation": "Budai et al., Robust vessel segmentation in fundus images, Int J Biomed Imaging 2013",
            "artery_vein_labels": "Hemelings et al., Artery-vein segmentation in fundus images using a fully "
                                  "convolutional network, Computerized Medical Imaging and Graphics 2019",
            "terms": "research use; not redistributed"},
}


@dataclass(frozen=True)
class Sample:
    """One fundus image with its manual vessel label and FOV mask."""

    name: str
    image: np.ndarray  # H x W x 3 uint8
    vessels: np.ndarray  # H x W bool
    fov: np.ndarray  # H x W bool
    dataset: str = ""  # "drive", "chase", "hrf" ...
    #: Artery/vein labels (core.io.artery_vein values), None where the dataset has none.
    av: np.ndarray | None = None

    def target(self) -> np.ndarray:
        """uint8 target: 1 vessel, 0 background, IGNORE_INDEX outside the FOV."""
        t = self.vessels.astype(np.uint8)
        t[~self.fov] = IGNORE_INDEX
        return t

    def artery_vein_target(self) -> np.ndarray:
        """uint8 target for an artery/vein model: 0 background, 1 artery, 2 vein, ``VESSEL_OF_UNKNOWN_TYPE``
        where the vessel's type is not known (crossing, uncertain, or a dataset without A/V labels),
        IGNORE_INDEX outside the FOV."""
        t = np.where(self.vessels, VESSEL_OF_UNKNOWN_TYPE, 0).astype(np.uint8)
        if self.av is not None:
            t[self.vessels & (self.av == ARTERY)] = 1
            t[self.vessels & (self.av == VEIN)] = 2
        t[~self.fov] = IGNORE_INDEX
        return t


@dataclass(frozen=True)
class SampleFiles:
    name: str
    image: Path
    vessels: Path
    fov: Path | None  # None: estimated from the image
    #: The vessel label is an artery/vein colour image: any non-black pixel is vessel.
    vessels_from_av: bool = False
    #: The artery/vein colour image, where the dataset has one.
    av: Path | None = None


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
        av = base / "av" / f"{number}_{split}.png"
        files.append(SampleFiles(number, image, vessels, fov, av=av if av.is_file() else None))
    if not files:
        raise FileNotFoundError(f"no *_{split}.tif images in {image_dir}")
    return files


def _split_names(root: Path, split: str) -> list[str]:
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; expected one of {', '.join(SPLITS)}")
    listing = root / ("split-train.txt" if split == "training" else "split-test.txt")
    if not listing.is_file():
        raise FileNotFoundError(f"{listing} not found: is {root} the dataset's folder?")
    return [line.strip() for line in listing.read_text().splitlines() if line.strip()]


def _require(*paths: Path) -> None:
    for needed in paths:
        if not needed.is_file():
            raise FileNotFoundError(f"{needed} is missing")


def find_chase(root: str | os.PathLike[str], split: str = "training") -> list[SampleFiles]:
    """CHASE_DB1 files of one split (the first human observer is the reference; FOV estimated)."""
    base = Path(root)
    files = []
    for name in _split_names(base, split):
        image = base / name
        vessels = base / f"{image.stem}_1stHO.png"
        _require(image, vessels)
        files.append(SampleFiles(image.stem, image, vessels, None))
    return files


def find_hrf(root: str | os.PathLike[str], split: str = "training") -> list[SampleFiles]:
    """HRF files of one split; the three images without ``manual1`` take their vessels from ``av``."""
    base = Path(root)
    files = []
    for name in _split_names(base, split):
        image = base / "images" / name
        stem = Path(name).stem
        manual = base / "manual1" / f"{stem}.tif"
        fov = base / "mask" / f"{stem}_mask.tif"
        from_av = not manual.is_file()
        vessels = base / "av" / f"{stem}_AVmanual.png" if from_av else manual
        _require(image, vessels, fov)
        av = base / "av" / f"{stem}_AVmanual.png"
        files.append(SampleFiles(stem, image, vessels, fov, vessels_from_av=from_av, av=av if av.is_file() else None))
    return files


#: The optic-disc dataset's folder inside the pool (not a vessel set, so not in FOLDERS).
DRIONS_FOLDER = "DRIONS-DB"


@dataclass(frozen=True)
class DiscFiles:
    """One photograph with a manual optic-disc mask."""

    name: str
    image: Path
    disc: Path


def find_drions(root: str | os.PathLike[str], split: str = "training") -> list[DiscFiles]:
    """DRIONS-DB files of one split: ``images/NAME.jpg`` with its disc mask ``od/NAME.jpg``."""
    base = Path(root)
    files = []
    for name in _split_names(base, split):
        image, disc = base / "images" / name, base / "od" / name
        _require(image, disc)
        files.append(DiscFiles(Path(name).stem, image, disc))
    return files


def load_disc_mask(path: str | os.PathLike[str]) -> np.ndarray:
    """H×W bool optic-disc mask; DRIONS-DB saved its masks as JPEG, so threshold at 128."""
    return read_image(path, mode="L") >= 128


#: Dataset name -> finder of one split's files.
FINDERS: dict[str, Callable[[str | os.PathLike[str], str], list[SampleFiles]]] = {
    "drive": find_drive, "chase": find_chase, "hrf": find_hrf,
}


def default_data_root() -> Path | None:
    """The pool's folder from ``$RETINASEG_DATA``, else the parent of ``$RETINASEG_DRIVE``, else None."""
    value = os.environ.get(DATA_ENV)
    if value:
        return Path(value)
    drive = default_drive_root()
    return drive.parent if drive is not None else None


def load_dataset(name: str, root: str | os.PathLike[str], split: str = "training") -> list[Sample]:
    """Load one split of dataset ``name`` from its folder ``root`` (e.g. ``<pool>/HRF``)."""
    finder = FINDERS.get(name)
    if finder is None:
        raise ValueError(f"unknown dataset {name!r}; expected one of {', '.join(FINDERS)}")
    return [load_sample(f, name) for f in finder(root, split)]


def load_sample(files: SampleFiles, dataset: str = "drive") -> Sample:
    """Read one sample's image, label and FOV mask (estimated when the dataset has none)."""
    image = load_image(files.image, mode="RGB").pixels
    if files.vessels_from_av:
        vessels = read_image(files.vessels, mode="RGB").max(axis=2) > 127
    else:
        vessels = read_image(files.vessels, mode="L") > 127
    fov = read_image(files.fov, mode="L") > 127 if files.fov is not None else estimate_fov(image)
    av = labels_from_rgb(read_image(files.av, mode="RGB")) if files.av is not None else None
    if not (image.shape[:2] == vessels.shape == fov.shape) or (av is not None and av.shape != vessels.shape):
        raise ValueError(f"sample {files.name}: image, label and mask sizes differ")
    return Sample(files.name, image, vessels, fov, dataset, av)


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
