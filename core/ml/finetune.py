"""Fine-tune a model on a clinician's corrected images, on the CPU, with progress, time left and cancel.

The recipe is training's (``core.ml.train``): the base's Preprocessing, ``TrainingImages``,
``training_transforms``, its loss, SGD with warm-up and poly decay. What differs, and why:

- **A time budget.** ``settings.minutes`` bounds the whole run (scoring included); the learning rate
  decays along whichever of time and ``max_steps`` runs out first, so a busy CPU gets a shorter but
  complete schedule rather than one cut off at full rate.
- **The working scale first.** Each image is resized as inference resizes it (its FOV as wide as the
  training images'), so the network learns at the scale it will see; crops are cut from a window of
  the image, so a 3504×2336 photograph costs no more per step than a small one.
- **One image held out** (the last by name: predictable for the user, independent of the model) when
  there are two or more: the new model is checked on it against the user's own correction.
- **The threshold is the base's.** It was chosen on proper validation images; re-choosing it on the
  few images just fitted would flatter the new model, and on the held-out image would make the check
  dishonest.
- **BatchNorm statistics frozen** (``freeze_batchnorm``): batches of crops of a few images would drag
  the running statistics towards those images and away from everything else (see docs/finetune.md
  for the measurement); the BatchNorm scales and shifts still learn.
- **The weights the base's training images depend on are held** (``anchor``), when the base carries
  their importance (``core.ml.importance``, computed when the model was made): elastic weight
  consolidation, so the new camera is learnt mostly with weights the old cameras do not need.
- **The base's answers kept on the corrected images in its own training colours** (``consistency``,
  ``core.ml.consistency``): the corrections teach the new camera, and the same images recoloured to
  the base's training colours teach that nothing changes for the old cameras.
- **A blend with the base** (``blend``): the model kept lies between the base and the fine-tuned
  weights (weight-space ensembling, as WiSE-FT): most of the gain on the new camera for a fraction of
  what fine-tuning on it alone forgets about the others.
- **Safety.** A non-finite loss, non-finite weights, or a held-out F1 that drops more than
  ``MAX_F1_DROP`` below the base's (without a held-out image: more wrong pixels on the images used than
  before) means the model is not offered, and the outcome says why. Nothing is written here: saving is
  the caller's, through the atomic ``save_checkpoint``.
"""

from __future__ import annotations

import hashlib
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import torch

from core.adapt.corrections import CorrectedImage, FinetuneSettings, MissingMasksError, load_corrected
from core.errors import JobCancelled
from core.io.artery_vein import UNCERTAIN, typed_vessels
from core.io.datasets import Sample
from core.measure.fov import estimate_fov, fov_diameter
from core.measure.metrics import mask_scores
from core.measure.validation import labelled_vessel_range
from core.ml.checkpoint import Checkpoint, model_checkpoint
from core.ml.consistency import RecolouredConsistency, applies
from core.ml.importance import Anchor
from core.ml.losses import ArteryVeinLoss, SegmentationLoss
from core.ml.train import (
    TrainConfig,
    TrainingImages,
    _batch,
    cpu_has_native_bf16,
    hardware,
    poly_lr_factor,
    resized_to_fov,
)
from core.ml.transforms import Compose, Pair, training_transforms
from core.predict.tasks import Task

__all__ = ["CorrectedImage", "FinetuneOutcome", "FinetuneSettings", "MissingMasksError", "finetune",
           "load_corrected"]

#: A held-out F1 this far below the base's means the fine-tuning went wrong: the model is not offered.
MAX_F1_DROP = 0.02
WARMUP_STEPS = 10
#: Scale jitter around the working scale (the images are already at the scale inference uses).
SCALE_JITTER = (0.8, 1.25)
HOLD_OUT_RULE = "the last image by name"
#: The share of ``minutes`` training always gets, however long scoring took.
MIN_TRAINING_SHARE = 0.1
#: The weights ``trainable="decoder"`` trains: the UNet's upsampling path and output layer.
DECODER_PREFIXES = ("up", "out_conv")

Progress = Callable[[int, int, float], None]
DEFAULT_SETTINGS = FinetuneSettings()


@dataclass
class FinetuneOutcome:
    """What a fine-tuning produced and how it compares with the base model.

    ``wrong_pixels``: per image used for training, the pixels inside the FOV whose label differs from
    the correction, (base, new). ``card``: what a model version's card records (no pixels).
    """

    checkpoint: Checkpoint | None
    held_out: str | None
    before_f1: float | None
    after_f1: float | None
    wrong_pixels: dict[str, tuple[int, int]]
    steps: int
    seconds: float
    offered: bool
    reason: str
    card: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Agreement:
    """How one model's labels of one image agree with the correction, inside the FOV."""

    f1: float  # vessel F1 (Dice)
    wrong: int  # pixels labelled differently (for arteries and veins: also the wrong type)


def finetune(
    base: Checkpoint,
    images: Sequence[CorrectedImage],
    settings: FinetuneSettings = DEFAULT_SETTINGS,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
) -> FinetuneOutcome:
    """Fine-tune ``base`` on ``images`` (see the module's docstring for the recipe and the checks).

    ``progress(step, total, seconds_left)``: ``total`` is the estimated number of steps (it settles as
    the steps are timed); ``seconds_left`` includes scoring the new model. ``should_cancel`` is checked
    between steps and between images: a cancelled run returns an outcome without a checkpoint.
    """
    problem = settings.problem()
    if problem:
        raise ValueError(f"fine-tuning settings: {problem}")
    settings = settings.resolved(consistency_applies=applies(base), trained_images=settings.trained_images(len(images)))
    task = base.task
    samples = [_sample(c, task) for c in images]
    if not samples:
        raise ValueError("no corrected images to fine-tune on")
    duplicates = sorted({s.name for s in samples if [t.name for t in samples].count(s.name) > 1})
    if duplicates:
        raise ValueError(f"several images are named {', '.join(duplicates)}: names must be unique")
    run = _Run(settings, progress, should_cancel)
    held_out, used = _hold_out(samples, settings.hold_out)
    card = _card(base, images, held_out, settings, task)
    try:
        before = run.score(base, samples, task)
        model, steps, failure = _train(base, used, settings, task, run)
        if failure:
            return run.outcome(None, held_out, before, None, steps, failure, card)
        new = _new_checkpoint(base, model, samples, settings)
        after = run.score(new, samples, task, after=True)
    except JobCancelled:
        return run.outcome(None, held_out, None, None, run.steps, "cancelled: nothing was kept", card)
    reason = _verdict(held_out, used, before, after)
    outcome = run.outcome(None if reason else new, held_out, before, after, steps, reason, card)
    new.metrics["finetune"] = outcome.card
    return outcome


def _sample(c: CorrectedImage, task: Task) -> Sample:
    labels = np.asarray(c.labels)
    if task.name == "arteries_veins" and labels.max(initial=0) > UNCERTAIN:
        raise ValueError(f"{c.name}: artery/vein labels hold values up to {UNCERTAIN}, found {labels.max()}")
    fov = np.asarray(c.fov, bool) if c.fov is not None else estimate_fov(c.image)
    av = labels if task.name == "arteries_veins" else None
    return Sample(c.name, np.asarray(c.image), labels > 0, fov, "corrected", av)


def _hold_out(samples: list[Sample], wanted: bool) -> tuple[Sample | None, list[Sample]]:
    """The image kept aside to check on (the last by name), and the images to train on."""
    if not wanted or len(samples) < 2:  # as FinetuneSettings.trained_images says
        return None, samples
    held = max(samples, key=lambda s: s.name)
    return held, [s for s in samples if s is not held]


class _Run:
    """The clock, progress reports, cancel checks and scoring of one fine-tuning."""

    def __init__(self, settings: FinetuneSettings, progress: Progress | None,
                 should_cancel: Callable[[], bool] | None) -> None:
        self.settings = settings
        self.progress = progress
        self.should_cancel = should_cancel
        self.start = time.perf_counter()
        self.started = datetime.now(UTC).isoformat(timespec="seconds")
        self.scoring_seconds = 0.0  # of the base model: the new one takes as long
        self.steps = 0
        self.total = settings.max_steps

    def elapsed(self) -> float:
        return time.perf_counter() - self.start

    def cancelled(self) -> bool:
        return self.should_cancel is not None and bool(self.should_cancel())

    def training_budget(self) -> float:
        """Seconds the steps may take: what ``minutes`` leaves after scoring before and after."""
        minutes = self.settings.minutes * 60
        return max(MIN_TRAINING_SHARE * minutes, minutes - self.elapsed() - self.scoring_seconds)

    def report(self, seconds_left: float) -> None:
        if self.progress is not None:
            self.progress(self.steps, max(self.total, self.steps), max(0.0, seconds_left))

    def score(self, ckpt: Checkpoint, samples: list[Sample], task: Task, after: bool = False) -> dict[str, Agreement]:
        """Each image's agreement with its correction under ``ckpt``, segmented as the app segments it
        (the model's threshold and flip setting)."""
        from core.ml.inference import Segmenter

        t0 = time.perf_counter()
        # bf16 where the CPU computes it natively, else fp32: emulated bf16 costs 5x for the same masks
        segmenter = Segmenter(checkpoint=ckpt, device="cpu", precision=None if cpu_has_native_bf16() else "fp32")
        result = {}
        for i, s in enumerate(samples):
            if self.cancelled():
                raise JobCancelled("fine-tuning cancelled")
            prediction = segmenter.predict(s.image, fov=s.fov, should_cancel=self.should_cancel)
            result[s.name] = agreement(task.decode(prediction.probabilities, ckpt.thresholds), s)
            per_image = (time.perf_counter() - t0) / (i + 1)
            left = per_image * (len(samples) - i - 1)
            self.report(left if after else left + self.training_budget() + per_image * len(samples))
        if not after:
            self.scoring_seconds = time.perf_counter() - t0
        return result

    def outcome(self, ckpt: Checkpoint | None, held_out: Sample | None, before: dict[str, Agreement] | None,
                after: dict[str, Agreement] | None, steps: int, reason: str, card: dict[str, Any]) -> FinetuneOutcome:
        def f1(scores: dict[str, Agreement] | None) -> float | None:
            return scores[held_out.name].f1 if scores is not None and held_out is not None else None

        used = [n for n in card["images"] if n["role"] == "trained"]
        wrong = {n["name"]: (before[n["name"]].wrong, after[n["name"]].wrong)
                 for n in used} if before is not None and after is not None else {}
        seconds = self.elapsed()
        card = {**card, "started": self.started, "seconds": round(seconds, 1), "steps": steps,
                "held_out_f1": {"before": f1(before), "after": f1(after)},
                "wrong_pixels": {k: {"before": b, "after": a} for k, (b, a) in wrong.items()},
                "offered": not reason, "reason": reason}
        return FinetuneOutcome(ckpt, held_out.name if held_out else None, f1(before), f1(after), wrong, steps,
                               seconds, not reason, reason, card)


def agreement(labels: np.ndarray, sample: Sample) -> Agreement:
    """F1 of the vessels of ``labels`` (a decoded label mask) and the pixels labelled differently from
    ``sample``'s correction inside its FOV; for arteries and veins a typed vessel of the other type is
    wrong too (crossings and uncertain pixels count as right when labelled vessel of either type)."""
    vessel = labels != 0
    wrong = vessel != sample.vessels
    if sample.av is not None:
        wrong |= typed_vessels(sample.av) & vessel & (labels != sample.av)
    return Agreement(mask_scores(vessel, sample.vessels, sample.fov).f1, int(np.count_nonzero(wrong & sample.fov)))


class _Window:
    """A random window of at most ``size``×``size`` (crops are cut from it, not from the whole image)."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, image: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> Pair:
        h, w = target.shape
        top = int(torch.randint(0, max(1, h - self.size + 1), (), generator=gen))
        left = int(torch.randint(0, max(1, w - self.size + 1), (), generator=gen))
        return image[:, top:top + self.size, left:left + self.size], target[top:top + self.size, left:left + self.size]


def at_working_scale(sample: Sample, checkpoint: Checkpoint) -> Sample:
    """``sample`` resized as inference resizes it for ``checkpoint`` (labels by area, FOV by nearest)."""
    scale = checkpoint.preprocessing.working_scale(sample.fov)
    return sample if scale == 1.0 else resized_to_fov(sample, max(1, round(fov_diameter(sample.fov) * scale)))


def _train(base: Checkpoint, samples: list[Sample], settings: FinetuneSettings, task: Task,
           run: _Run) -> tuple[torch.nn.Module, int, str]:
    """The fine-tuned model, the steps taken and why it failed ('' when it did not)."""
    torch.manual_seed(settings.seed)
    gen = torch.Generator().manual_seed(settings.seed)
    model = base.build_model().to(memory_format=torch.channels_last)
    scaled = [at_working_scale(s, base) for s in samples]
    data = TrainingImages(scaled, base.preprocessing, task.name)
    # crops no larger than the largest image: padding small images to a full crop only costs time
    crop = min(settings.crop, 16 * math.ceil(max(max(s.vessels.shape) for s in scaled) / 16))
    window = _Window(math.ceil(crop / SCALE_JITTER[0]) + 2)
    transform = Compose([window, *training_transforms(crop, base.preprocessing, SCALE_JITTER).transforms])
    consistency = (RecolouredConsistency(base, scaled, crop, window, max(1, settings.batch_size // 2), SCALE_JITTER)
                   if settings.consistency > 0 and applies(base) else None)
    recipe = TrainConfig()
    weights = tuple(base.recipe.get("class_weights", recipe.class_weights))
    dice = float(base.recipe.get("dice_weight", recipe.dice_weight))
    criterion = ArteryVeinLoss(weights[1], dice) if task.name == "arteries_veins" else SegmentationLoss(weights, dice)
    for name, p in model.named_parameters():
        p.requires_grad_(settings.trainable == "all" or name.startswith(DECODER_PREFIXES))
    params = [p for p in model.parameters() if p.requires_grad]
    anchor = (Anchor(model, base.state_dict, base.importance, settings.anchor)
              if settings.anchor > 0 and base.importance else None)
    optimizer = torch.optim.SGD(params, lr=settings.lr, momentum=recipe.momentum, weight_decay=recipe.weight_decay)
    autocast = cpu_has_native_bf16()
    budget = run.training_budget()
    t0 = time.perf_counter()
    step = 0
    while True:
        spent = time.perf_counter() - t0
        done = max(step / settings.max_steps, spent / budget)
        if done >= 1.0:
            break
        if run.cancelled():
            raise JobCancelled("fine-tuning cancelled")
        factor = (poly_lr_factor(step, WARMUP_STEPS + 1, WARMUP_STEPS) if step < WARMUP_STEPS
                  else poly_lr_factor(round(done * 1000), 1000, 0))
        for group in optimizer.param_groups:
            group["lr"] = settings.lr * factor
        _train_mode(model, settings.freeze_batchnorm)
        images, targets = _batch(data, transform, settings.batch_size, gen)
        with torch.autocast("cpu", enabled=autocast):
            loss = criterion(model(images.contiguous(memory_format=torch.channels_last))["out"], targets)
            if consistency is not None:
                loss = loss + settings.consistency * consistency.loss(model, gen)
        if not torch.isfinite(loss):
            return model, step, (f"the loss became {loss.item()} at step {step + 1}: the fine-tuning diverged "
                                 "(try a lower learning rate); nothing was kept")
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if anchor is not None:
            anchor.step(settings.lr * factor)
        step += 1
        run.steps = step
        per_step = (time.perf_counter() - t0) / step
        run.total = max(step, min(settings.max_steps, int(budget / per_step)))
        run.report((run.total - step) * per_step + run.scoring_seconds)
    model.eval()
    if settings.blend is not None and settings.blend < 1.0:
        model.load_state_dict(blended(base.state_dict, model.state_dict(), settings.blend))
    broken = [name for name, t in model.state_dict().items() if t.is_floating_point() and not bool(t.isfinite().all())]
    if broken:
        return model, step, (f"the weights became NaN or infinite ({broken[0]}): the fine-tuning diverged; "
                             "nothing was kept")
    return model, step, ""


def blended(base: dict[str, torch.Tensor], tuned: dict[str, torch.Tensor], blend: float) -> dict[str, torch.Tensor]:
    """base + blend × (tuned - base) for every floating tensor (BatchNorm statistics included); the rest
    (step counters) as tuned."""
    return {k: torch.lerp(base[k].to(v.dtype), v, blend) if v.is_floating_point() else v for k, v in tuned.items()}


def _train_mode(model: torch.nn.Module, freeze_batchnorm: bool) -> None:
    model.train()
    if freeze_batchnorm:
        for m in model.modules():
            if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
                m.eval()


def _verdict(held_out: Sample | None, used: list[Sample], before: dict[str, Agreement],
             after: dict[str, Agreement]) -> str:
    """Why the new model is not offered ('' when it is)."""
    if held_out is not None:
        b, a = before[held_out.name].f1, after[held_out.name].f1
        if math.isnan(a) and not math.isnan(b) or a < b - MAX_F1_DROP:
            return (f"the held-out image {held_out.name} agrees less with your correction after fine-tuning "
                    f"(F1 {b:.3f} -> {a:.3f}): the fine-tuning went wrong; nothing was kept")
        return ""
    b_wrong, a_wrong = (sum(scores[s.name].wrong for s in used) for scores in (before, after))
    if a_wrong > b_wrong:
        return (f"the new model gets more pixels wrong on the images it was fine-tuned on ({b_wrong} -> {a_wrong}): "
                "the fine-tuning went wrong; nothing was kept")
    return ""


def _new_checkpoint(base: Checkpoint, model: torch.nn.Module, samples: list[Sample],
                    settings: FinetuneSettings) -> Checkpoint:
    """The fine-tuned weights with the base's classes, thresholds, preprocessing and inference settings."""
    fractions = labelled_vessel_range(samples) + list(base.metrics.get("vessel_fraction_range", []))
    # the base's importance travels on: a later fine-tuning of this version still holds what the base's
    # training images depend on (measured at the base's weights, which these stay near)
    kept = {"importance": base.metrics["importance"]} if base.importance and "importance" in base.metrics else {}
    return model_checkpoint(
        model, base.preprocessing, base.architecture, classes=base.classes, thresholds=dict(base.thresholds),
        trained_on=f"{base.trained_on}; fine-tuned on {len(samples)} corrected image(s)",
        metrics={"vessel_fraction_range": [min(fractions), max(fractions)], **kept},
        recipe={"finetune": asdict(settings), "base": base.recipe}, inference=dict(base.inference),
        importance=dict(base.importance),
    )


def _consistency_rule(base: Checkpoint, settings: FinetuneSettings) -> str:
    """How the base's answers were kept on the corrected images recoloured to its training colours."""
    if settings.consistency <= 0:
        return "none"
    if not applies(base):
        return "none: the base standardises each image itself, so a recoloured image looks the same to it"
    return (f"weight {settings.consistency:g}: the base's answers kept on the corrected images recoloured "
            "to its training colours")


def _anchor_rule(base: Checkpoint, settings: FinetuneSettings) -> str:
    """How the weights were held near the base's, for the card."""
    if settings.anchor <= 0:
        return "none"
    if not base.importance:
        return "none: the base model carries no weight importance"
    images = base.metrics.get("importance", {}).get("images", [])
    return (f"EWC, strength {settings.anchor:g}, on the base's weight importance"
            + (f" from {len(images)} of its training images" if images else ""))


def _card(base: Checkpoint, images: Sequence[CorrectedImage], held_out: Sample | None, settings: FinetuneSettings,
          task: Task) -> dict[str, Any]:
    """What a version card records of the run before it starts: the base, the images (names and hashes,
    never pixels), the settings and the rules used."""
    digest = hashlib.sha256()
    for name in sorted(base.state_dict):
        digest.update(name.encode())
        digest.update(base.state_dict[name].detach().cpu().contiguous().view(-1).view(torch.uint8).numpy())
    held = held_out.name if held_out is not None else None
    return {
        "task": task.name,
        "base": {"trained_on": base.trained_on, "weights_sha256": digest.hexdigest(), "source": base.source},
        "images": [{"name": c.name, "size": [int(c.image.shape[1]), int(c.image.shape[0])],
                    "image_sha256": c.fingerprint(), "labels_sha256": c.labels_fingerprint(),
                    "role": "held out" if c.name == held else "trained"} for c in images],
        "hold_out": (f"{held} ({HOLD_OUT_RULE})" if held is not None
                     else "nothing held out: " + ("only one image" if len(images) < 2 else "not asked for")),
        "settings": asdict(settings),
        "threshold": {**base.thresholds, "rule": "kept from the base model"},
        "batchnorm": "frozen at the base model's statistics" if settings.freeze_batchnorm else "updated",
        "anchor": _anchor_rule(base, settings),
        "consistency": _consistency_rule(base, settings),
        "hardware": hardware(),
    }
