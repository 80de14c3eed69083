"""Checkpoints: weights plus the metadata needed to use them, loaded without running pickled code.

Format version 2, a ``torch.save``'d dict::

    {"format": "retinaseg", "version": 2, "architecture": "unet", "arch": {constructor arguments},
     "classes": ["background", "vessel"], "thresholds": {"vessel": 0.43}, "preprocessing": {...},
     "trained_on": "...", "metrics": {...}, "recipe": {...}, "inference": {...}, "model": state_dict,
     "importance": {parameter name: tensor}}  # optional, see Checkpoint.importance

Version 1 files (one scalar ``threshold``, no classes: a two-class vessel model), a tutorial training
checkpoint (a dict whose ``"model"`` entry is a state_dict) and a bare state_dict also load, with the
defaults stated in :data:`TUTORIAL_DEFAULTS`. A newer version, an unknown architecture, or classes no
task of this app can show are refused with a message saying so.
"""

from __future__ import annotations

import argparse
import math
import os
import pickle
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn

from core.errors import CheckpointError
from core.io.atomic import write_bytes_atomic
from core.ml.preprocessing import Preprocessing
from core.ml.registry import build_model
from core.predict.tasks import Task, task_for_classes

FORMAT = "retinaseg"
VERSION = 2

#: Normalisation of the tutorial's DRIVE training script.
TUTORIAL_MEAN = (0.709, 0.381, 0.224)
TUTORIAL_STD = (0.127, 0.079, 0.043)
#: What a two-class model without class names (format 1, tutorial, bare weights) means.
VESSEL_CLASSES = ("background", "vessel")
TUTORIAL_DEFAULTS: dict[str, Any] = {
    "arch": {"in_channels": 3, "num_classes": 2, "bilinear": True},
    "preprocessing": {"mean": TUTORIAL_MEAN, "std": TUTORIAL_STD, "channels": "RGB"},
    "threshold": 0.5,
}


@dataclass
class Checkpoint:
    """A model's weights and what is known about them."""

    state_dict: dict[str, torch.Tensor]
    arch: dict[str, Any]
    preprocessing: Preprocessing
    classes: tuple[str, ...] = VESSEL_CLASSES
    #: Decision threshold per thresholded class, chosen on validation images of the training set.
    thresholds: dict[str, float] = field(default_factory=lambda: {"vessel": 0.5})
    architecture: str = "unet"
    trained_on: str = "unknown"
    #: validation/test figures; ``vessel_fraction_range`` = [low, high] vessel fraction inside the FOV of
    #: the training labels (the plausibility guard's expectation)
    metrics: dict[str, Any] = field(default_factory=dict)
    recipe: dict[str, Any] = field(default_factory=dict)
    #: Recommended inference settings (precision, tta) that the thresholds were chosen with.
    inference: dict[str, Any] = field(default_factory=dict)
    source: str = FORMAT  # "retinaseg", "retinaseg v1", "tutorial" or "state_dict"
    #: How much the model's own training images depend on each weight (``core.ml.importance``), per
    #: parameter, no pixels; fine-tuning holds the important weights near their values. Empty: not computed.
    importance: dict[str, torch.Tensor] = field(default_factory=dict)

    @property
    def task(self) -> Task:
        """The task that uses these classes (CheckpointError when none does)."""
        return task_for_classes(self.classes)

    @property
    def threshold(self) -> float:
        """The threshold of the task's first thresholded class (the vessel threshold)."""
        return float(self.thresholds[self.task.thresholded[0]])

    def build_model(self) -> nn.Module:
        """The model with these weights, in eval mode, on the CPU."""
        model = build_model(self.architecture, **self.arch)
        what = f"{self.architecture} ({', '.join(f'{k}={v}' for k, v in self.arch.items())})"
        problem = _mismatch(model.state_dict(), self.state_dict)
        if problem:
            raise CheckpointError(f"weights do not fit a {what}: {problem}")
        try:
            model.load_state_dict(self.state_dict, strict=True)
        except RuntimeError as exc:
            raise CheckpointError(f"weights do not fit a {what}: {_first_line(exc)}") from exc
        return model.eval()

    def validate(self) -> None:
        """Refuse what this app cannot use: unknown classes, a class count the weights do not have,
        missing or out-of-range thresholds, weights that do not fit the architecture."""
        task = self.task
        outputs = self.arch.get("num_classes")
        if outputs is not None and int(outputs) != len(self.classes):
            raise CheckpointError(f"the model has {outputs} outputs but names {len(self.classes)} classes")
        for name in task.thresholded:
            if name not in self.thresholds:
                raise CheckpointError(f"no threshold for class {name!r}")
        for name, t in self.thresholds.items():
            if math.isnan(t) or not 0.0 < t < 1.0:
                raise CheckpointError(f"threshold {t} of class {name!r} is outside (0, 1)")
        self.build_model()

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": VERSION,
            "architecture": self.architecture,
            "arch": self.arch,
            "classes": list(self.classes),
            "thresholds": {k: float(v) for k, v in self.thresholds.items()},
            "preprocessing": self.preprocessing.to_dict(),
            "trained_on": self.trained_on,
            "metrics": self.metrics,
            "recipe": self.recipe,
            "inference": self.inference,
            "model": self.state_dict,
            **({"importance": self.importance} if self.importance else {}),
        }

    def card(self) -> dict[str, Any]:
        """Everything but the weights (for display and model cards)."""
        d = self.to_dict()
        d.pop("model")
        d.pop("importance", None)  # tensors; how they were computed is in metrics["importance"]
        d["task"] = self.task.name
        d["source"] = self.source
        d["parameters"] = int(sum(t.numel() for t in self.state_dict.values() if t.is_floating_point()))
        return d


def _mismatch(expected: dict[str, torch.Tensor], given: dict[str, torch.Tensor]) -> str:
    """Which keys are missing, unexpected or of the wrong shape ('' when the weights fit)."""
    def some(keys: list[str]) -> str:
        return ", ".join(keys[:3]) + (f" and {len(keys) - 3} more" if len(keys) > 3 else "")

    missing = [k for k in expected if k not in given]
    unexpected = [k for k in given if k not in expected]
    shapes = [f"{k} is {tuple(given[k].shape)}, expected {tuple(v.shape)}"
              for k, v in expected.items() if k in given and given[k].shape != v.shape]
    parts = []
    if missing:
        parts.append(f"missing {some(missing)}")
    if unexpected:
        parts.append(f"unexpected {some(unexpected)}")
    if shapes:
        parts.append(f"wrong shape: {some(shapes)}")
    return "; ".join(parts)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def save_checkpoint(ckpt: Checkpoint, path: str | os.PathLike[str]) -> Path:
    """Save atomically: a uniquely named temp file beside ``path``, fsync, then rename over it, so a crash
    or a kill leaves the old file or the complete new one (ImageWriteError says why a write failed)."""
    p = Path(path)
    state = {k: v.detach().cpu().contiguous() for k, v in ckpt.state_dict.items()}
    payload = {**ckpt.to_dict(), "model": state}
    if ckpt.importance:
        payload["importance"] = {k: v.detach().cpu().contiguous() for k, v in ckpt.importance.items()}
    write_bytes_atomic(p, lambda f: torch.save(payload, f))
    return p


def model_checkpoint(model: nn.Module, preprocessing: Preprocessing, architecture: str = "unet",
                     **meta: Any) -> Checkpoint:
    """Wrap a live model (one with an ``arch()`` giving its constructor arguments) into a Checkpoint."""
    state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
    arch = model.arch()  # type: ignore[operator]
    return Checkpoint(state_dict=state, arch=arch, preprocessing=preprocessing, architecture=architecture, **meta)


def _infer_base_c(state: dict[str, torch.Tensor]) -> int:
    w = state.get("in_conv.0.weight")
    if not isinstance(w, torch.Tensor) or w.ndim != 4:
        raise CheckpointError("not a UNet state_dict: 'in_conv.0.weight' is missing")
    return int(w.shape[0])


def _infer_arch(state: dict[str, torch.Tensor]) -> dict[str, Any]:
    base_c = _infer_base_c(state)
    in_channels = int(state["in_conv.0.weight"].shape[1])
    out = state.get("out_conv.0.weight")
    if not isinstance(out, torch.Tensor):
        raise CheckpointError("not a UNet state_dict: 'out_conv.0.weight' is missing")
    bilinear = "up1.up.weight" not in state
    return {"in_channels": in_channels, "num_classes": int(out.shape[0]), "bilinear": bilinear, "base_c": base_c}


def _check_state_dict(state: Any) -> dict[str, torch.Tensor]:
    if not isinstance(state, dict) or not state:
        raise CheckpointError("no weights found (expected a state_dict of tensors)")
    bad = [k for k, v in state.items() if not isinstance(k, str) or not isinstance(v, torch.Tensor)]
    if bad:
        raise CheckpointError(f"weights contain non-tensor entries: {bad[:3]}")
    for k, v in state.items():
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            raise CheckpointError(f"weights contain NaN or infinite values (in {k!r})")
    return state


#: How the files ``torch.save`` writes begin: the zip format (PyTorch 1.6+) and the legacy pickle stream.
TORCH_FILE_STARTS = (b"PK\x03\x04", b"\x80\x02\x8a\x0al\xfc\x9cF\xf9 j\xa8P\x19.")
#: Files people mistake for checkpoints, by their first bytes, named in the refusal.
OTHER_FORMATS = ((b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"), (b"II*\x00", "a TIFF image"),
                 (b"MM\x00*", "a TIFF image"), (b"\x89HDF", "an HDF5 file (a Keras model?)"),
                 (b"\x08\x00\x00\x00\x00\x00\x00\x00{", "a safetensors file"))


def _load_raw(p: Path) -> Any:
    """``torch.load`` with plain weights only; every failure becomes one line chosen here.

    Torch's own texts are not shown: they are pickle internals (a text file starting "he" gave the bare
    "101": opcode ``h`` reads ``e`` as a memo index, and KeyError(101) prints as the number), zip-reader
    internals, or advice to load with ``weights_only=False``, which would run the file's code.
    """
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="Detected pickle protocol")  # damaged files only
            # argparse.Namespace is allowed because the tutorial stores its arguments in checkpoints;
            # it carries plain attributes and runs no code.
            with torch.serialization.safe_globals([argparse.Namespace]):
                return torch.load(p, map_location="cpu", weights_only=True)
    except MemoryError as exc:
        raise CheckpointError(f"{p}: not a readable PyTorch checkpoint (too large for the memory)") from exc
    except Exception as exc:  # a damaged file makes torch raise nearly anything, AssertionError included
        raise CheckpointError(f"{p}: {_unreadable_reason(p, exc)}") from exc


def _unreadable_reason(p: Path, exc: Exception) -> str:
    """Why ``p`` could not be loaded, judged by its first bytes (and, for code, by the global it names)."""
    try:
        with p.open("rb") as f:
            head = f.read(16)
    except OSError as err:
        return f"cannot read the file ({err.strerror or type(err).__name__})"
    code = re.search(r"GLOBAL (\S+)", str(exc)) if isinstance(exc, pickle.UnpicklingError) else None
    if code and head.startswith((*TORCH_FILE_STARTS, b"\x80")):
        return (f"refused to load: the file contains Python objects that could run code ({code.group(1)}); "
                "only plain weights are accepted")
    if head.startswith(TORCH_FILE_STARTS):
        return "not a readable PyTorch checkpoint: the file is damaged or truncated (copy or save it again)"
    kind = next((name for start, name in OTHER_FORMATS if head.startswith(start)), "")
    return ("not a readable PyTorch checkpoint: " + (f"it is {kind}" if kind else "the file was not written by "
            "torch.save (or its beginning is damaged)"))


def load_checkpoint(path: str | os.PathLike[str]) -> Checkpoint:
    """Load and validate a checkpoint; raises :class:`CheckpointError` saying what is wrong."""
    p = Path(path)
    if not p.is_file():
        raise CheckpointError(f"{p}: file not found")
    if p.stat().st_size == 0:
        raise CheckpointError(f"{p}: file is empty")
    raw = _load_raw(p)
    if not isinstance(raw, dict):
        raise CheckpointError(f"{p}: not a checkpoint (found a {type(raw).__name__})")
    try:
        if raw.get("format") == FORMAT:
            ckpt = _from_retinaseg(raw)
        elif "model" in raw and isinstance(raw["model"], dict):
            state = _check_state_dict(raw["model"])
            ckpt = _foreign(state, "tutorial", "tutorial training script (DRIVE)")
        else:
            state = _check_state_dict(raw)
            ckpt = _foreign(state, "state_dict", "unknown")
        ckpt.validate()  # keys, shapes, classes and thresholds now, not at first use
    except CheckpointError as exc:
        raise CheckpointError(f"{p}: {exc}") from exc
    except (KeyError, TypeError, ValueError) as exc:
        raise CheckpointError(f"{p}: malformed checkpoint metadata ({_first_line(exc)})") from exc
    return ckpt


def _from_retinaseg(raw: Mapping[str, Any]) -> Checkpoint:
    """Format 1 (scalar threshold, implied vessel classes) or 2 (named classes, per-class thresholds)."""
    version = raw.get("version")
    if not isinstance(version, int) or version > VERSION:
        raise CheckpointError(f"checkpoint format version {version!r} is newer than this app supports ({VERSION}); "
                              "update RetinaSeg to use it")
    state = _check_state_dict(raw.get("model"))
    arch = dict(raw["arch"])
    if version == 1:
        classes = _implied_classes(int(arch.get("num_classes", 2)))
        thresholds = {"vessel": float(raw.get("threshold", 0.5))}
        architecture, source = "unet", f"{FORMAT} v1"
    else:
        classes = tuple(str(c) for c in raw["classes"])
        thresholds = {str(k): float(v) for k, v in dict(raw["thresholds"]).items()}
        architecture, source = str(raw.get("architecture", "unet")), FORMAT
    return Checkpoint(
        state_dict=state, arch=arch, preprocessing=Preprocessing.from_dict(raw["preprocessing"]),
        classes=classes, thresholds=thresholds, architecture=architecture,
        trained_on=str(raw.get("trained_on", "unknown")), metrics=dict(raw.get("metrics") or {}),
        recipe=dict(raw.get("recipe") or {}), inference=dict(raw.get("inference") or {}), source=source,
        importance=_check_importance(raw.get("importance") or {}, state),
    )


def _check_importance(importance: Any, state: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """Per-weight importance that fits the weights: finite, not negative, one tensor per named weight."""
    if not isinstance(importance, dict):
        raise CheckpointError(f"the weight importance is a {type(importance).__name__}, not a dict of tensors")
    for k, v in importance.items():
        if not isinstance(v, torch.Tensor) or k not in state or v.shape != state[k].shape:
            raise CheckpointError(f"the weight importance {k!r} does not fit the weights")
        if not v.is_floating_point() or not bool(torch.isfinite(v).all()) or bool((v < 0).any()):
            raise CheckpointError(f"the weight importance {k!r} holds negative, NaN or infinite values")
    return dict(importance)


def _implied_classes(num_classes: int) -> tuple[str, ...]:
    """Files without class names are two-class vessel models; anything else cannot be shown safely."""
    if num_classes != len(VESSEL_CLASSES):
        raise CheckpointError(f"a model with {num_classes} outputs and no class names cannot be used by this app "
                              "(only two-class vessel models may omit them)")
    return VESSEL_CLASSES


def _foreign(state: dict[str, torch.Tensor], source: str, trained_on: str) -> Checkpoint:
    arch = _infer_arch(state)
    return Checkpoint(
        state_dict=state,
        arch=arch,
        preprocessing=Preprocessing.from_dict(TUTORIAL_DEFAULTS["preprocessing"]),
        classes=_implied_classes(int(arch["num_classes"])),
        thresholds={"vessel": float(TUTORIAL_DEFAULTS["threshold"])},
        trained_on=trained_on,
        source=source,
    )
