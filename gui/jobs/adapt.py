"""The jobs behind Model > Adapt to my images…: find corrected images, fine-tune, save a version.

All three run in the window's job runner. Finding reads export folders (sidecars, masks, thumbnails);
fine-tuning loads the base checkpoint and the exported images, then runs core.ml.finetune, reporting
``progress(step, total)`` and the time left as a notice; saving writes a model version (nothing is
written before the user keeps the result, so a cancelled or discarded run leaves no file). core.ml is
imported inside the jobs only; tests pass their own ``finetune`` and ``load_base``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from core.adapt.correction_sources import CorrectionSource, find_exported_corrections, hand_changes, load_correction
from core.adapt.corrections import CorrectedImage, FinetuneSettings
from core.errors import JobCancelled
from core.io.images import load_image
from core.io.model_versions import ModelVersion, ModelVersionStore, make_card
from gui.jobs.runner import Job, JobProgress

THUMBNAIL_SIZE = 72

#: (base, images, settings, progress(step, total, seconds_left), should_cancel) -> a FinetuneOutcome
Finetune = Callable[..., Any]
#: model path (None: the default model) -> a core.ml Checkpoint
LoadBase = Callable[[str | None], Any]


@dataclass(frozen=True)
class Candidate:
    """An image the dialog offers to learn from: an export found on disk (``source``, read in the worker)
    or an image open in this session (``snapshot`` copies its pixels and mask on the GUI thread)."""

    name: str
    origin: str  # where it is, in words
    changed: int | None  # pixels changed by hand (None: unknown)
    vessels: int  # vessel pixels of the corrected mask
    thumbnail: np.ndarray | None = None  # small RGB uint8
    problem: str = ""  # why it cannot be used ('' when it can)
    image_path: Path | None = None  # the file, for the version card's hash
    source: CorrectionSource | None = None
    #: (name) -> a copy of the image and its corrected mask, taken when the run starts
    snapshot: Callable[[str], CorrectedImage] | None = field(default=None, compare=False)

    @property
    def usable(self) -> bool:
        return not self.problem

    def amount(self) -> str:
        """How much was corrected, in words."""
        if self.changed is None:
            return f"{self.vessels:,} vessel pixels (changes not known: no model result beside the mask)"
        share = f" ({100.0 * self.changed / self.vessels:.1f} % of vessel pixels)" if self.vessels else ""
        return f"{self.changed:,} pixels changed by hand{share}"


def thumbnail(image: np.ndarray, size: int = THUMBNAIL_SIZE) -> np.ndarray:
    """A small copy of an RGB image (every n-th pixel: enough to recognise a photograph)."""
    step = max(1, math.ceil(max(image.shape[:2]) / size))
    return np.ascontiguousarray(image[::step, ::step, :3])


def document_candidate(name: str, path: Path | None, image: np.ndarray, mask: np.ndarray,
                       model_mask: np.ndarray | None, fov: np.ndarray | None) -> Candidate:
    """An open image with hand edits; its pixels are copied only when the run starts (``snapshot``)."""
    changed, vessels = hand_changes(mask, model_mask)

    def snapshot(name: str) -> CorrectedImage:
        return CorrectedImage(name, image[..., :3].copy(), (mask != 0).astype(np.uint8),
                              None if fov is None else fov.copy())

    return Candidate(name, "open in this session", changed, vessels, thumbnail(image), image_path=path,
                     snapshot=snapshot)


def find_job(folders: Sequence[Path], skip: set[Path]) -> Job:
    """A job listing the hand-edited exports in ``folders`` (not those of the images in ``skip``) with thumbnails."""

    def run(progress: JobProgress, should_cancel: Callable[[], bool]) -> list[Candidate]:
        sources = [(f, s) for f in folders for s in find_exported_corrections(f)]
        found = []
        for i, (folder, s) in enumerate(sources):
            if should_cancel():
                raise JobCancelled("search cancelled")
            progress(i, len(sources))
            if s.image_path is not None and s.image_path.resolve() in skip:
                continue  # open in this session: its current mask is offered instead
            found.append(Candidate(s.name, f"exported to {folder}", s.changed, s.vessels, _thumbnail_of(s),
                                   s.problem, s.image_path, s))
        progress(len(sources), len(sources))
        return found

    return run


def _thumbnail_of(source: CorrectionSource) -> np.ndarray | None:
    if source.image_path is None:
        return None
    try:
        return thumbnail(load_image(source.image_path, mode="RGB").pixels)
    except (OSError, ValueError):  # ImageReadError is a ValueError; the item says the image is missing anyway
        return None


@dataclass(frozen=True)
class AdaptRequest:
    """A copy of everything one fine-tuning needs (the documents may change while it runs)."""

    base_path: str | None  # None: the default model
    base_name: str
    candidates: tuple[Candidate, ...]
    images: tuple[CorrectedImage, ...]  # the open images' snapshots, taken on the GUI thread
    settings: FinetuneSettings = FinetuneSettings()


@dataclass(frozen=True)
class AdaptResult:
    """What a fine-tuning gave: core.ml.finetune's outcome and the card a kept version gets."""

    outcome: Any
    card: dict[str, Any]

    @property
    def offered(self) -> bool:
        return bool(self.outcome.offered) and self.outcome.checkpoint is not None


def time_left_text(seconds: float) -> str:
    if seconds >= 90:
        return f"about {round(seconds / 60)} min left"
    return f"about {max(5, round(seconds / 5) * 5)} s left"


def _real_finetune(*args: Any, **kwargs: Any) -> Any:
    from core.ml.finetune import finetune

    return finetune(*args, **kwargs)


def _real_load_base(path: str | None) -> Any:
    from core.ml.checkpoint import load_checkpoint
    from core.resources import default_model_path

    return load_checkpoint(path or default_model_path())


def adapt_job(request: AdaptRequest, finetune: Finetune | None = None, load_base: LoadBase | None = None) -> Job:
    """A job fine-tuning the base model on the request's images; ends cancelled if asked to stop."""
    tune = finetune or _real_finetune
    load = load_base or _real_load_base

    def run(progress: JobProgress, should_cancel: Callable[[], bool]) -> AdaptResult:
        base = load(request.base_path)
        images = list(request.images)
        exported = [c for c in request.candidates if c.source is not None]
        for i, c in enumerate(exported):
            if should_cancel():
                raise JobCancelled("adapting cancelled")
            progress.notice(f"reading {c.name} ({i + 1} of {len(exported)})")
            images.append(load_correction(c.source))  # type: ignore[arg-type]

        def report(step: int, total: int, seconds_left: float) -> None:
            progress(step, total)
            progress.notice(time_left_text(seconds_left))

        outcome = tune(base, images, request.settings, report, should_cancel)
        if should_cancel():
            raise JobCancelled("adapting cancelled")
        return AdaptResult(outcome, version_card(request, outcome))

    return run


def version_card(request: AdaptRequest, outcome: Any) -> dict[str, Any]:
    """The card of the version this run would become (image files hashed here, in the worker)."""
    results = {"held_out": outcome.held_out, "before_f1": outcome.before_f1, "after_f1": outcome.after_f1,
               "wrong_pixels": {name: {"before": b, "after": a} for name, (b, a) in outcome.wrong_pixels.items()},
               "steps": outcome.steps, "seconds": round(float(outcome.seconds), 1)}
    settings = {k: getattr(request.settings, k) for k in request.settings.__dataclass_fields__}
    return make_card(base_model=request.base_name, images=[(c.name, c.image_path) for c in request.candidates],
                     settings=settings, results=results, extra=outcome.card)


def save_job(store: ModelVersionStore, result: AdaptResult) -> Job:
    """A job saving a kept result as a new version of ``store``."""

    def run(_progress: JobProgress, _should_cancel: Callable[[], bool]) -> ModelVersion:
        return store.save(result.outcome.checkpoint, result.card)

    return run
