"""A clinician's corrections as training material: corrected images, how a fine-tuning on them is set up,
and reading corrected pairs from folders.

Torch-free, so the GUI can build these on its own thread; the fine-tuning itself is ``core.ml.finetune``.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from core.errors import RetinaSegError
from core.io.artery_vein import labels_from_rgb
from core.io.images import list_images, load_image, read_image
from core.io.outputs import OutputNames, input_stem

#: Result files ``segment`` writes beside images; never taken for photographs when both share a folder.
RESULT_SUFFIXES = ("_mask", "_prob", "_av", "_overlay")
#: Which weights a fine-tuning may change (FinetuneSettings.trainable).
TRAINABLE = ("all", "decoder")
#: The default blend when the consistency term ties the change to the new camera, and when it cannot (a base
#: that standardises each image sees no recolouring): each the largest gain on validation images whose loss
#: on the other camera stayed within 0.01 (docs/finetune.md). With the term the same rule was applied with
#: 1, 2 and 4 images trained on: one image alone is fitted hardest (0.7), and four forgot more of the other
#: camera than two on those validation images (0.6); BLEND_WITH_CONSISTENCY is the two-image choice.
BLEND_WITH_CONSISTENCY = 0.9
BLEND_WITH_CONSISTENCY_ONE_IMAGE = 0.7
BLEND_WITH_CONSISTENCY_FOUR_IMAGES = 0.6
BLEND_ALONE = 0.4


@dataclass(frozen=True)
class CorrectedImage:
    """One photograph and its corrected labels: vessel 0/1 (task ``vessels``) or the artery/vein label
    values of ``core.io.artery_vein`` (task ``arteries_veins``). ``fov`` is estimated when None."""

    name: str
    image: np.ndarray  # H×W×3 uint8
    labels: np.ndarray  # H×W uint8
    fov: np.ndarray | None = None

    def __post_init__(self) -> None:
        image, labels = np.asarray(self.image), np.asarray(self.labels)
        if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] != 3:
            raise ValueError(f"{self.name}: the image must be H×W×3 uint8, got {image.dtype} {image.shape}")
        if labels.shape != image.shape[:2]:
            raise ValueError(f"{self.name}: the labels are {_size(labels.shape)} but the image is {_size(image.shape)}")
        if self.fov is not None and np.asarray(self.fov).shape != image.shape[:2]:
            raise ValueError(f"{self.name}: the FOV mask is {_size(np.asarray(self.fov).shape)} but the image is "
                             f"{_size(image.shape)}")

    def fingerprint(self) -> str:
        """sha256 of the pixels and their size (what a model card records instead of the image)."""
        return _sha256(self.image)

    def labels_fingerprint(self) -> str:
        """sha256 of the corrected labels and their size."""
        return _sha256(self.labels)


@dataclass(frozen=True)
class FinetuneSettings:
    """How long and how hard to fine-tune. The run stops at ``minutes`` (the whole run, checking included)
    or after ``max_steps`` steps, whichever comes first; the learning rate decays to 0 along whichever is
    nearer. The defaults were chosen on validation images (benchmarks/finetune.py --tune, docs/finetune.md):
    100 steps take about 4 minutes on one CPU thread with the consistency term (2-3 without it), and a
    step-bound run gives the same model however busy the machine is."""

    minutes: float = 4.0
    max_steps: int = 100
    #: SGD (momentum 0.9), after a 10-step warm-up; half the rate the models were trained with
    lr: float = 0.005
    crop: int = 256
    batch_size: int = 4
    seed: int = 0
    #: keep one image aside (the last by name) to check the new model on; needs two images or more
    hold_out: bool = True
    #: use the base model's BatchNorm statistics throughout (a few images' batches would skew them)
    freeze_batchnorm: bool = True
    #: the model kept is base + blend × (fine-tuned - base): below 1 it keeps more of what the base knew
    #: about other cameras for part of the gain on the new one (weight-space ensembling, WiSE-FT);
    #: 1 adapts fully to the new camera; None: where the consistency term applies BLEND_WITH_CONSISTENCY (two
    #: or three images trained on), _ONE_IMAGE (one) or _FOUR_IMAGES (four or more), else BLEND_ALONE
    #: (:meth:`resolved`)
    blend: float | None = None
    #: how strongly weights the base's own training images depend on stay where they were (the EWC
    #: strength λ, over importance divided by its mean); only for a base that carries its weights'
    #: importance (``core.ml.importance``), else nothing is held; 0 holds nothing
    anchor: float = 0.0
    #: which weights learn: "all", or "decoder" (the upsampling path and the output layer)
    trainable: str = "all"
    #: weight of the base's answers kept on the corrected images recoloured to the base's training colours
    #: (``core.ml.consistency``): ties what is learnt to the new camera; 0 keeps nothing. Only for a base
    #: that normalises by dataset statistics (one that standardises each image sees no recolouring)
    consistency: float = 1.0

    def resolved(self, consistency_applies: bool, trained_images: int = 2) -> FinetuneSettings:
        """These settings with the default blend filled in for a base where the consistency term does
        (``consistency_applies``) or does not apply, when ``trained_images`` images are trained on."""
        if self.blend is not None:
            return self
        if not (consistency_applies and self.consistency > 0):
            return replace(self, blend=BLEND_ALONE)
        if trained_images <= 1:
            return replace(self, blend=BLEND_WITH_CONSISTENCY_ONE_IMAGE)
        many = trained_images >= 4
        return replace(self, blend=BLEND_WITH_CONSISTENCY_FOUR_IMAGES if many else BLEND_WITH_CONSISTENCY)

    def trained_images(self, corrected: int) -> int:
        """How many of ``corrected`` images are trained on (one is held out to check on when there are two or
        more and ``hold_out`` is on)."""
        return corrected - 1 if self.hold_out and corrected >= 2 else corrected

    def problem(self) -> str:
        """Why these settings cannot run ('' when they can)."""
        if not self.minutes > 0:
            return f"minutes must be above 0, got {self.minutes}"
        if self.max_steps < 1:
            return f"max_steps must be at least 1, got {self.max_steps}"
        if not 0 < self.lr < float("inf"):
            return f"the learning rate must be above 0, got {self.lr}"
        if self.crop < 32:
            return f"crop must be at least 32 px, got {self.crop}"
        if self.batch_size < 1:
            return f"batch_size must be at least 1, got {self.batch_size}"
        if self.blend is not None and not 0 < self.blend <= 1:
            return f"blend must be in (0, 1], got {self.blend}"
        if not 0 <= self.anchor < float("inf"):
            return f"anchor must be 0 or above, got {self.anchor}"
        if not 0 <= self.consistency < float("inf"):
            return f"consistency must be 0 or above, got {self.consistency}"
        if self.trainable not in TRAINABLE:
            return f"trainable must be one of {', '.join(TRAINABLE)}, got {self.trainable!r}"
        return ""


class MissingMasksError(RetinaSegError, FileNotFoundError):
    """Some images have no corrected mask; ``images`` names them (nothing was loaded)."""

    def __init__(self, images: Sequence[str], expected: str) -> None:
        self.images = tuple(images)
        super().__init__(f"{len(self.images)} image(s) without a corrected mask ({expected}): "
                         + ", ".join(self.images))


def mask_path(masks_dir: str | os.PathLike[str], image: Path, task: str = "vessels") -> Path:
    """Where the corrected labels of ``image`` are: ``<stem>_mask.png`` (0/255) or, for arteries and
    veins, ``<stem>_av.png`` (RGB: red artery, blue vein), the names ``segment`` writes."""
    names = OutputNames(masks_dir, input_stem(image))
    return names.av if task == "arteries_veins" else names.mask


def corrected_images(images_dir: str | os.PathLike[str]) -> list[Path]:
    """The photographs in ``images_dir``: every image file but the result files ``segment`` writes."""
    return [p for p in list_images(images_dir) if not p.stem.endswith(RESULT_SUFFIXES)]


def load_corrected(images_dir: str | os.PathLike[str], masks_dir: str | os.PathLike[str],
                   task: str = "vessels") -> list[CorrectedImage]:
    """Every photograph of ``images_dir`` with its corrected labels from ``masks_dir`` (see :func:`mask_path`).

    Raises MissingMasksError naming every image without a mask before reading any pixels, and
    ValueError when a folder holds no images or a mask's size differs from its image's.
    """
    folder = Path(images_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{folder}: no such folder")
    if not Path(masks_dir).is_dir():
        raise FileNotFoundError(f"{masks_dir}: no such folder")
    paths = corrected_images(folder)
    if not paths:
        raise ValueError(f"{folder}: no images found")
    missing = [p.name for p in paths if not mask_path(masks_dir, p, task).is_file()]
    if missing:
        raise MissingMasksError(missing, f"expected {mask_path(masks_dir, Path('<stem>'), task).name}")
    return [CorrectedImage(input_stem(p), load_image(p, mode="RGB").pixels, _read_labels(mask_path(masks_dir, p, task),
                                                                                         task))
            for p in paths]


def _read_labels(path: Path, task: str) -> np.ndarray:
    if task == "arteries_veins":
        return labels_from_rgb(read_image(path, mode="RGB"))
    mask = read_image(path, mode="L")
    # 0/255 as segment writes them; a 0/1 mask (max 1) is read as it is meant
    return (mask > (127 if mask.max(initial=0) > 1 else 0)).astype(np.uint8)


def _sha256(a: np.ndarray) -> str:
    a = np.ascontiguousarray(a)
    digest = hashlib.sha256(f"{a.dtype.str}{a.shape}".encode())
    digest.update(memoryview(a).cast("B"))
    return digest.hexdigest()


def _size(shape: tuple[int, ...]) -> str:
    return f"{shape[1]}×{shape[0]}" if len(shape) >= 2 else str(shape)
