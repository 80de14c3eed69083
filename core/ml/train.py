"""Training loop (no argument parsing here): the tutorial's recipe, with honest model selection.

The best epoch and the decision threshold are chosen on a validation split of the training
images, never on the test set.
"""

from __future__ import annotations

import csv
import json
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from core.io.artery_vein import ARTERY, CROSSING, UNCERTAIN, VEIN
from core.io.datasets import CARDS, Sample, split_train_val
from core.measure.artery_vein import ArteryVeinAccumulator
from core.measure.fov import fov_diameter
from core.measure.validation import Validation, labelled_vessel_range
from core.ml.calibrate import recorded_validation
from core.ml.checkpoint import (
    TUTORIAL_MEAN,
    TUTORIAL_STD,
    VESSEL_CLASSES,
    load_checkpoint,
    model_checkpoint,
    save_checkpoint,
)
from core.ml.devices import resolve_device
from core.ml.losses import ArteryVeinLoss, SegmentationLoss
from core.ml.model import UNet
from core.ml.preprocessing import PER_IMAGE, Preprocessing
from core.ml.transforms import ARTIFACT_PROBABILITY, training_transforms
from core.predict.tasks import Task, get_task

Progress = Callable[[int, int, dict[str, float]], None]


class TrainingCancelled(Exception):
    """Raised when ``should_cancel`` asked training to stop (the last epoch is saved)."""


@dataclass
class TrainConfig:
    """Recipe defaults follow the tutorial (SGD, warm-up + poly, crop 480, batch 4)."""

    out: str = "runs/unet"
    base_c: int = 32
    bilinear: bool = True
    epochs: int = 200
    steps_per_epoch: int = 0  # 0: one pass over the training images
    batch_size: int = 4
    crop: int = 480
    lr: float = 0.01
    #: "sgd" (the tutorial's, with momentum) or "adamw" (adaptive steps, decoupled weight decay)
    optimizer: str = "sgd"
    momentum: float = 0.9
    weight_decay: float = 1e-4
    warmup_epochs: int = 1
    class_weights: tuple[float, float] = (1.0, 2.0)
    dice_weight: float = 1.0
    #: weight of the skeleton recall term (0: off): thin vessels count by length, not by area
    skeleton_recall: float = 0.0
    scale: tuple[float, float] = (0.5, 1.2)
    photometric: bool = True
    #: also vignetting, JPEG and raw sensor noise ("fov" normalisation only): robustness to poor captures
    capture_artifacts: bool = False
    #: the probability of each capture artifact per crop
    artifact_probability: float = ARTIFACT_PROBABILITY
    val_count: int = 4
    val_every: int = 1
    seed: int = 0
    #: seed of the validation split (None: ``seed``): other training seeds validate on the same images
    val_seed: int | None = None
    device: str = "auto"
    amp: bool = True  # mixed precision: fp16 on CUDA, bf16 on CPUs with native bf16 (AVX-512 BF16 / AMX)
    ema: float = 0.0  # decay of an exponential moving average of the weights (0: off); EMA weights are validated
    select: str = "best"  # best.pt holds the epoch with the best validation F1 ("best") or the last one ("last")
    mean: tuple[float, float, float] = TUTORIAL_MEAN
    std: tuple[float, float, float] = TUTORIAL_STD
    normalization: str = "dataset"  # "fov"/"local": each image standardised inside its FOV (see Preprocessing)
    #: FOV diameter (px) every image is resized to before the network; 0: the training images' median,
    #: with other images resampled only when more than 1.25x off (the DRIVE-only recipe).
    fov_target: int = 0
    trained_on: str = "DRIVE training"
    resume: bool = True
    #: stop once this many epochs are done (0: at the end), resumable: a long run in time-boxed pieces
    stop_after: int = 0
    #: start from this checkpoint's weights (same architecture, or a vessel model for an artery/vein one)
    init: str = ""
    #: what the model learns: "vessels" (background, vessel) or "arteries_veins" (background, artery, vein)
    task: str = "vessels"


@dataclass
class TrainResult:
    best_path: Path
    best_epoch: int
    threshold: float
    val_f1: float
    val_auc: float
    seconds: float
    history: list[dict[str, float]] = field(default_factory=list)


def poly_lr_factor(step: int, total: int, warmup: int, warmup_factor: float = 1e-3, power: float = 0.9) -> float:
    """Linear warm-up, then (1 - progress) ** power, as in the tutorial's scheduler."""
    if warmup > 0 and step < warmup:
        alpha = step / warmup
        return warmup_factor * (1 - alpha) + alpha
    return (1 - (step - warmup) / max(1, total - warmup)) ** power


def _to_tensor(image: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(image).permute(2, 0, 1).float().div_(255.0)


class TrainingImages:
    """The training images as tensors: [0, 1] RGB, or already standardised inside their FOV when the
    preprocessing is per-image (whole-image statistics, as at inference; done once, not per step)."""

    def __init__(self, samples: list[Sample], preprocessing: Preprocessing, task: str = "vessels") -> None:
        self.images: list[torch.Tensor] = []
        self.targets = [torch.from_numpy(s.artery_vein_target() if task == "arteries_veins" else s.target()).long()
                        for s in samples]
        for s in samples:
            image = _to_tensor(s.image)
            self.images.append(preprocessing.normalize(image, s.fov) if preprocessing.normalization in PER_IMAGE
                               else image)

    def __len__(self) -> int:
        return len(self.images)


def _batch(
    data: TrainingImages, transform: Any, batch_size: int, gen: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    idx = torch.randint(0, len(data), (batch_size,), generator=gen).tolist()
    images, targets = [], []
    for i in idx:
        img, tgt = transform(data.images[i], data.targets[i], gen)
        images.append(img)
        targets.append(tgt)
    return torch.stack(images), torch.stack(targets)


@torch.inference_mode()
def predict_normalized(model: UNet, image: np.ndarray, preprocessing: Preprocessing,
                       device: torch.device, fov: np.ndarray | None = None) -> np.ndarray:
    """Class probabilities (C×H×W) of one whole image at its native size, through the working scale
    as inference does it (used for validation)."""
    x = preprocessing.normalize(_to_tensor(image), fov)[None]
    h, w = x.shape[-2:]
    scale = preprocessing.working_scale(fov) if fov is not None else 1.0
    if scale != 1.0:
        size = (max(1, round(h * scale)), max(1, round(w * scale)))
        x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)
    logits = model(x.to(device).contiguous(memory_format=torch.channels_last))["out"].float()
    if scale != 1.0:
        logits = F.interpolate(logits, size=(h, w), mode="bilinear", align_corners=False)
    return logits.softmax(1)[0].cpu().numpy()


def validate(model: UNet, samples: list[Sample], preprocessing: Preprocessing, device: torch.device,
             task: Task | None = None) -> tuple[Validation, dict[str, ArteryVeinAccumulator]]:
    """Vessel scores of ``samples`` (threshold and F1 are chosen from this) and, for an artery/vein
    model, its artery/vein scores per dataset on the samples that have artery/vein labels."""
    model.eval()
    task = task or get_task("vessels")
    result = Validation()
    av: dict[str, ArteryVeinAccumulator] = {}
    for s in samples:
        p = predict_normalized(model, s.image, preprocessing, device, s.fov)
        result.add(s, task.vessel_probability(p))
        if task.name == "arteries_veins" and s.av is not None:
            av.setdefault(s.dataset, ArteryVeinAccumulator()).add(p[1] >= p[2], s.av, s.fov)
    return result, av


def initial_weights(model: UNet, start: Any, task: Task) -> dict[str, torch.Tensor]:
    """The weights to start from: ``start``'s as they are when the architecture matches; a vessel
    model's for an artery/vein one, its vessel output split evenly into artery and vein (so the
    vessel probability starts where the vessel model's is, and training learns only the type)."""
    if start.arch == model.arch():
        return start.state_dict
    same_body = {**start.arch, "num_classes": model.arch()["num_classes"]} == model.arch()
    if not (same_body and task.name == "arteries_veins" and tuple(start.classes) == VESSEL_CLASSES):
        raise ValueError(f"the starting weights are a {start.arch} {tuple(start.classes)} model, not a "
                         f"{model.arch()} one: use its base_c (an artery/vein model can start from a vessel model)")
    state = dict(start.state_dict)
    w, b = state["out_conv.0.weight"], state["out_conv.0.bias"]
    half = math.log(2.0)
    state["out_conv.0.weight"] = torch.cat([w[:1], w[1:2], w[1:2]])
    state["out_conv.0.bias"] = torch.cat([b[:1], b[1:2] - half, b[1:2] - half])
    return state


def trained_on_by(start: Any, val_set: list[Sample]) -> list[str]:
    """Names in ``val_set`` that checkpoint ``start`` trained on: images of a dataset it was trained on
    that are not among the validation images it records (nothing when it records none)."""
    datasets = recorded_validation(start.metrics)
    held_out, seen = set(datasets.items()), set(datasets.values())
    return [s.name for s in val_set
            if (s.dataset or "drive") in seen and (s.name, s.dataset or "drive") not in held_out]


def split_pool(samples: list[Sample], val_count: int, seed: int) -> tuple[list[Sample], list[Sample]]:
    """Hold out ``val_count`` images of every dataset (one dataset: exactly split_train_val)."""
    names = list(dict.fromkeys(s.dataset for s in samples))
    train_set: list[Sample] = []
    val_set: list[Sample] = []
    for name in names:
        t, v = split_train_val([s for s in samples if s.dataset == name], val_count, seed=seed)
        train_set += t
        val_set += v
    return train_set, val_set


def resized_to_fov(sample: Sample, diameter: int) -> Sample:
    """The sample resized so its FOV is ``diameter`` px wide (labels by area, FOV by nearest)."""
    scale = diameter / max(1, fov_diameter(sample.fov))
    if abs(scale - 1.0) < 1e-3:
        return sample
    h, w = sample.vessels.shape
    size = (max(1, round(h * scale)), max(1, round(w * scale)))
    image = F.interpolate(_to_tensor(sample.image)[None], size=size, mode="bilinear", align_corners=False,
                          antialias=scale < 1)[0]
    vessels = F.interpolate(torch.from_numpy(sample.vessels).float()[None, None], size=size, mode="bilinear",
                            align_corners=False, antialias=scale < 1)[0, 0] >= 0.5
    fov = F.interpolate(torch.from_numpy(sample.fov).float()[None, None], size=size, mode="nearest")[0, 0] > 0
    pixels = (image.clamp(0, 1) * 255 + 0.5).byte().permute(1, 2, 0).numpy()
    av = _resized_labels(sample.av, size, vessels, scale) if sample.av is not None else None
    return Sample(sample.name, pixels, vessels.numpy(), fov.numpy(), sample.dataset, av)


def _resized_labels(av: np.ndarray, size: tuple[int, int], vessels: torch.Tensor, scale: float) -> np.ndarray:
    """Artery/vein labels resized by area: each resized vessel pixel takes the type covering most of it."""
    kinds = (ARTERY, VEIN, CROSSING, UNCERTAIN)
    onehot = torch.stack([torch.from_numpy(av == k).float() for k in kinds])[None]
    area = F.interpolate(onehot, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)[0]
    labels = torch.tensor(kinds, dtype=torch.uint8)[area.argmax(0)]
    return torch.where(vessels, labels, torch.zeros_like(labels)).numpy()


def train(
    samples: list[Sample],
    config: TrainConfig,
    progress: Progress | None = None,
    should_cancel: Callable[[], bool] | None = None,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Train a UNet on ``samples`` (a validation split of them selects epoch and threshold)."""
    if config.select not in ("best", "last"):
        raise ValueError(f"select must be 'best' or 'last', got {config.select!r}")
    if not 0.0 <= config.artifact_probability <= 1.0:
        raise ValueError(f"artifact probability must be between 0 and 1, got {config.artifact_probability}")
    if config.skeleton_recall < 0 or (config.skeleton_recall and config.task != "vessels"):
        raise ValueError(f"the skeleton recall weight must be 0 or more, and only for the vessel task; got "
                         f"{config.skeleton_recall} for {config.task}")
    out = Path(config.out)
    out.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(config.seed)
    gen = torch.Generator().manual_seed(config.seed)
    device = resolve_device(config.device)
    val_seed = config.seed if config.val_seed is None else config.val_seed
    train_set, val_set = split_pool(samples, config.val_count, seed=val_seed)
    log(f"training on {len(train_set)} images, validating on {len(val_set)} "
        f"({', '.join(s.name for s in val_set)}), device {device}")

    task = get_task(config.task)
    model = UNet(3, len(task.classes), config.bilinear, config.base_c)
    if config.init:
        start = load_checkpoint(config.init)
        try:
            model.load_state_dict(initial_weights(model, start, task))
        except ValueError as exc:
            raise ValueError(f"--init {config.init}: {exc}") from None
        log(f"starting from the weights of {config.init}")
        if leaked := trained_on_by(start, val_set):
            log(f"warning: validation images {', '.join(leaked)} were training images of {config.init}, so "
                f"validation figures will read high; use its validation split (--val-seed)")
    model = model.to(device).to(memory_format=torch.channels_last)
    params = [p for p in model.parameters() if p.requires_grad]
    optimizer = make_optimizer(params, config)
    steps = config.steps_per_epoch or math.ceil(len(train_set) / config.batch_size)
    total = steps * config.epochs
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda s: poly_lr_factor(s, total, config.warmup_epochs * steps)
    )
    criterion: torch.nn.Module = (
        ArteryVeinLoss(config.class_weights[1], config.dice_weight) if task.name == "arteries_veins"
        else SegmentationLoss(config.class_weights, config.dice_weight,
                              skeleton_weight=config.skeleton_recall)).to(device)
    use_amp = config.amp and device.type == "cuda"
    # On the CPU autocast means bf16: worth it only where the CPU computes bf16 natively.
    autocast = use_amp or (config.amp and device.type == "cpu" and cpu_has_native_bf16())
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    ema = weight_average(model, config.ema)
    evaluated = ema.module if ema is not None else model
    # The FOV width the network learned at: Segmenter rescales other cameras' images to match it.
    if config.fov_target:
        preprocessing = Preprocessing(config.mean, config.std, "RGB", config.fov_target, config.normalization,
                                      scale_tolerance=1.0)
        train_set = [resized_to_fov(s, config.fov_target) for s in train_set]
    else:
        fov_width = int(np.median([fov_diameter(s.fov) for s in train_set]))
        preprocessing = Preprocessing(config.mean, config.std, "RGB", fov_width, config.normalization)
    transform = training_transforms(config.crop, preprocessing, config.scale, config.photometric,
                                    config.capture_artifacts, config.artifact_probability)
    train_images = TrainingImages(train_set, preprocessing, task.name)

    state_path = out / "last_state.pt"
    start_epoch, best = 0, {"f1": -1.0, "epoch": -1, "threshold": 0.5, "auc": float("nan"), "score": -1.0}
    history: list[dict[str, float]] = []
    if config.resume and state_path.is_file():
        state = torch.load(state_path, map_location="cpu", weights_only=True)
        model.load_state_dict(state["model"])
        if ema is not None and "ema" in state:
            ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        scheduler.load_state_dict(state["scheduler"])
        gen.set_state(state["generator"])
        torch.set_rng_state(state["torch_rng"])
        start_epoch = int(state["epoch"]) + 1
        best = json.loads(state["best"])
        history = json.loads(state["history"])
        log(f"resumed from {state_path} at epoch {start_epoch}")

    log_path = out / "log.csv"
    fields = ["epoch", "lr", "loss", "val_f1", "val_auc", "val_threshold", "seconds"]
    if start_epoch == 0 or not log_path.exists():
        with log_path.open("w", newline="") as f:
            csv.writer(f).writerow(fields)
    (out / "config.json").write_text(json.dumps(asdict(config), indent=2))

    t_start = time.perf_counter()
    for epoch in range(start_epoch, config.epochs):
        t0 = time.perf_counter()
        model.train()
        losses = []
        for _ in range(steps):
            if should_cancel is not None and should_cancel():
                raise TrainingCancelled(f"cancelled in epoch {epoch}")
            images, targets = _batch(train_images, transform, config.batch_size, gen)
            images = images.to(device).contiguous(memory_format=torch.channels_last)
            targets = targets.to(device)
            with torch.autocast(device.type, enabled=autocast):
                loss = criterion(model(images)["out"], targets)
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            scheduler.step()
            if ema is not None:
                ema.update_parameters(model)
            losses.append(loss.item())
        row: dict[str, float] = {"epoch": epoch, "lr": optimizer.param_groups[0]["lr"],
                                 "loss": float(np.mean(losses)), "val_f1": float("nan"),
                                 "val_auc": float("nan"), "val_threshold": float("nan")}
        last = epoch == config.epochs - 1
        if val_set and ((epoch + 1) % config.val_every == 0 or last):
            acc, av = validate(evaluated, val_set, preprocessing, device, task)
            thr, f1 = acc.best_threshold()
            row.update(val_f1=f1, val_auc=acc.roc_auc(), val_threshold=thr)
            by_dataset = acc.f1_by_dataset(thr)
            av_by_dataset = {k: a.scores().accuracy for k, a in av.items()}
            # An artery/vein model is chosen by its mean artery/vein accuracy over the datasets that
            # have those labels; a vessel model by its vessel F1.
            score = float(np.mean(list(av_by_dataset.values()))) if av_by_dataset else f1
            if len(by_dataset) > 1 or av_by_dataset:
                log(f"epoch {epoch}: validation F1 {f1:.4f} at {thr:.2f} ("
                    + ", ".join(f"{k} {v:.4f}" for k, v in by_dataset.items()) + ")"
                    + ("; artery/vein accuracy " + ", ".join(f"{k} {v:.4f}" for k, v in av_by_dataset.items())
                       if av_by_dataset else ""))
            if score > best.get("score", best["f1"]) or (config.select == "last" and last):
                best = {"f1": f1, "epoch": epoch, "threshold": thr, "auc": row["val_auc"], "by_dataset": by_dataset,
                        "score": score, "av_by_dataset": av_by_dataset}
                _save_model(evaluated, preprocessing, config, best, out / "best.pt", train_set, val_set, task)
        elif not val_set and last:
            best = {"f1": float("nan"), "epoch": epoch, "threshold": 0.5, "auc": float("nan")}
            _save_model(evaluated, preprocessing, config, best, out / "best.pt", train_set, val_set, task)
        row["seconds"] = time.perf_counter() - t0
        history.append(row)
        with log_path.open("a", newline="") as f:
            csv.writer(f).writerow([row[k] for k in fields])
        extra = {"ema": ema.state_dict()} if ema is not None else {}
        torch.save({**extra, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                    "scheduler": scheduler.state_dict(), "generator": gen.get_state(),
                    "torch_rng": torch.get_rng_state(), "epoch": epoch,
                    "best": json.dumps(best), "history": json.dumps(history)}, state_path)
        if progress is not None:
            progress(epoch + 1, config.epochs, row)
        if config.stop_after and epoch + 1 >= config.stop_after and not last:
            log(f"stopped after epoch {epoch} as asked; run again to resume")
            break
    return TrainResult(out / "best.pt", int(best["epoch"]), float(best["threshold"]), float(best["f1"]),
                       float(best["auc"]), time.perf_counter() - t_start, history)


OPTIMIZERS = ("sgd", "adamw")


def make_optimizer(params: list[torch.nn.Parameter], config: TrainConfig) -> torch.optim.Optimizer:
    """The tutorial's SGD with momentum, or AdamW (per-weight step sizes: fewer steps to the same loss
    on a small UNet, which is what a CPU-bound run is short of)."""
    if config.optimizer == "sgd":
        return torch.optim.SGD(params, lr=config.lr, momentum=config.momentum, weight_decay=config.weight_decay)
    if config.optimizer == "adamw":
        return torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    raise ValueError(f"optimizer must be one of {', '.join(OPTIMIZERS)}, got {config.optimizer!r}")


def cpu_has_native_bf16() -> bool:
    """True where the CPU computes bf16 natively (AVX-512 BF16 or AMX): there autocast is ~2x faster."""
    try:
        return bool(torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


def weight_average(model: UNet, decay: float) -> torch.optim.swa_utils.AveragedModel | None:
    """An exponential moving average of the weights and BatchNorm statistics (None when decay is 0).

    Small-data training is noisy from step to step (validation F1 swings by 0.01 between epochs);
    the average is a smoother model to select and ship.
    """
    if not decay:
        return None
    if not 0.0 < decay < 1.0:
        raise ValueError(f"ema decay must be in (0, 1), got {decay}")
    from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

    return AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(decay), use_buffers=True)


def training_data_card(samples: list[Sample]) -> list[dict[str, Any]]:
    """Each dataset the samples come from, with its citation and terms, and how many images were used."""
    names = list(dict.fromkeys(s.dataset or "drive" for s in samples))
    return [{**CARDS.get(n, {"name": n}), "images": sum((s.dataset or "drive") == n for s in samples)} for n in names]


def hardware() -> str:
    """What trained the model, for its card (e.g. 'cpu: 2 threads, x86_64, torch 2.13.0+cpu')."""
    import platform

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else f"cpu: {torch.get_num_threads()} threads"
    return f"{device}, {platform.machine()}, torch {torch.__version__}"


def _save_model(model: UNet, preprocessing: Preprocessing, config: TrainConfig, best: dict[str, Any],
                path: Path, train_set: list[Sample], val_set: list[Sample], task: Task) -> None:
    av_metrics = ({"artery_vein_accuracy_by_dataset": best["av_by_dataset"]} if best.get("av_by_dataset") else {})
    ckpt = model_checkpoint(
        model, preprocessing,
        classes=task.classes,
        thresholds={"vessel": float(min(max(best["threshold"], 0.01), 0.99))},
        trained_on=f"{config.trained_on}: images {', '.join(s.name for s in train_set)}",
        metrics={"vessel_fraction_range": labelled_vessel_range(train_set),
                 "validation": {"images": [s.name for s in val_set], "f1": best["f1"],
                                "roc_auc": best["auc"], "epoch": best["epoch"],
                                **({"datasets": {s.name: s.dataset for s in val_set},
                                    "f1_by_dataset": best["by_dataset"]} if len(best.get("by_dataset", {})) > 1
                                   else {}), **av_metrics}},
        recipe={**{k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config).items()},
                "datasets": training_data_card(train_set), "hardware": hardware()},
    )
    save_checkpoint(ckpt, path)
