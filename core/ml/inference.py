"""Segmenter: the Predictor of a UNet checkpoint: image -> class probabilities, tiled, with progress and cancel.

torch is imported here; GUI code imports this module only inside its worker thread. A Segmenter holds
no lock and no thread state: use one per thread (the prediction service keeps one per worker), and it
can be rebuilt in another process from (model path, device, settings).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

# oneDNN keeps compiled kernels per input shape (1024 by default); images of many sizes then grow
# memory by gigabytes in a batch. 256 still holds every kernel of several shapes. Set before torch
# runs its first kernel; a value from the environment wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "256")

import torch  # noqa: E402
import torch.nn.functional as F

from core.errors import CheckpointError, DeviceFailure, JobCancelled
from core.measure.fov import estimate_fov
from core.ml.checkpoint import Checkpoint, load_checkpoint
from core.ml.devices import available_devices, resolve_device
from core.ml.fusion import fold_batch_norms
from core.predict.prediction import CancelCheck, Prediction, ProgressCallback
from core.predict.tasks import Task
from core.resources import default_model_path

MIN_SIDE = 32  # four 2x poolings need at least 16 px; pad tiny inputs up to this






def tile_starts(length: int, tile: int, overlap: int) -> list[int]:
    """Start offsets of tiles covering ``length`` (the last tile is aligned to the end)."""
    if length <= tile:
        return [0]
    step = max(1, tile - overlap)
    starts = list(range(0, length - tile, step))
    starts.append(length - tile)
    return starts


def blend_window(h: int, w: int, overlap: int) -> np.ndarray:
    """Weights that fall linearly to near 0 across ``overlap`` pixels at each tile edge."""
    def ramp(n: int) -> np.ndarray:
        r = np.ones(n, np.float32)
        k = min(overlap, n // 2)
        if k > 0:
            edge = (np.arange(k, dtype=np.float32) + 1) / (k + 1)
            r[:k] = edge
            r[n - k:] = edge[::-1]
        return r

    return np.outer(ramp(h), ramp(w))


def iter_tiles(h: int, w: int, tile: int, overlap: int) -> Iterator[tuple[slice, slice]]:
    for y in tile_starts(h, tile, overlap):
        for x in tile_starts(w, tile, overlap):
            yield slice(y, min(y + tile, h)), slice(x, min(x + tile, w))


def to_rgb_float(image: np.ndarray) -> np.ndarray:
    """H×W×3 float32 in [0, 1] from gray/RGB/RGBA, 8- or 16-bit."""
    a = np.asarray(image)
    if a.ndim == 2:
        a = np.repeat(a[..., None], 3, axis=2)
    elif a.ndim == 3 and a.shape[2] == 4:
        a = a[..., :3]
    elif a.ndim == 3 and a.shape[2] == 1:
        a = np.repeat(a, 3, axis=2)
    if a.ndim != 3 or a.shape[2] != 3:
        raise ValueError(f"expected a gray or colour image, got an array of shape {np.asarray(image).shape}")
    if a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError("the image has no pixels")
    scale = 65535.0 if a.dtype == np.uint16 else 255.0 if a.dtype == np.uint8 else 1.0
    return (a.astype(np.float32) / scale).clip(0.0, 1.0)


class Segmenter:
    """Loads a checkpoint once and turns fundus images into vessel probability maps.

    ``device``: "auto" (CUDA, then MPS, then CPU), "cpu", "cuda" or "mps".
    ``precision``: "fp32" or "bf16" (autocast; faster on CPUs with AVX-512 BF16, slightly less exact).
    ``tta``: average the four flips of each tile. ``precision`` and ``tta`` default to the settings the
    checkpoint recommends (those its threshold was chosen with), else fp32 without flips.
    """

    def __init__(
        self,
        model_path: str | os.PathLike[str] | None = None,
        device: str = "auto",
        *,
        checkpoint: Checkpoint | None = None,
        tile_size: int = 1024,
        overlap: int = 128,
        precision: str | None = None,
        tta: bool | None = None,
        rescale: bool = True,
        threads: int | None = None,
    ) -> None:
        if checkpoint is None:
            path = Path(model_path) if model_path else default_model_path()
            if model_path is None and not path.is_file():
                raise CheckpointError(f"the default model {path} is missing: pass a model file (--model)")
            checkpoint = load_checkpoint(path)
            self.model_path: Path | None = path
        else:
            self.model_path = Path(model_path) if model_path else None
        recommended = checkpoint.inference
        precision = precision or str(recommended.get("precision", "fp32"))
        if precision not in ("fp32", "bf16"):
            raise ValueError(f"precision must be 'fp32' or 'bf16', not {precision!r}")
        if tile_size < MIN_SIDE or not 0 <= overlap < tile_size // 2:
            raise ValueError(f"tile_size must be >= {MIN_SIDE} and overlap in [0, tile_size/2)")
        if threads:
            torch.set_num_threads(threads)
        self.checkpoint = checkpoint
        self.device = resolve_device(device)
        self.precision = precision
        self.tta = bool(recommended.get("tta", False)) if tta is None else tta
        self.tile_size = tile_size
        self.overlap = overlap
        self.rescale = rescale
        self.task: Task = checkpoint.task
        # Inference only: each BatchNorm folded into its convolution (one memory pass fewer per layer).
        self.model = fold_batch_norms(checkpoint.build_model()).to(self.device).to(memory_format=torch.channels_last)

    @property
    def thresholds(self) -> dict[str, float]:
        """The checkpoint's decision threshold per class (chosen on validation images)."""
        return dict(self.checkpoint.thresholds)

    @property
    def threshold(self) -> float:
        """The vessel threshold (the task's first thresholded class)."""
        return float(self.checkpoint.threshold)

    @property
    def threads(self) -> int:
        """CPU threads torch computes with (results are bit-identical only at the same count)."""
        return torch.get_num_threads()

    @property
    def device_name(self) -> str:
        """Human description of the device in use, e.g. 'CUDA (NVIDIA H100)' or 'CPU'."""
        return available_devices().get(self.device.type, str(self.device))

    def card(self) -> dict[str, Any]:
        """The model's metadata (architecture, data, threshold, metrics)."""
        return {**self.checkpoint.card(), "path": str(self.model_path) if self.model_path else None}

    def working_scale(self, fov: np.ndarray) -> float:
        """Factor applied to the image before the network, so its FOV matches the training data."""
        return self.checkpoint.preprocessing.working_scale(fov) if self.rescale else 1.0

    def predict(
        self,
        image: np.ndarray,
        fov: np.ndarray | None = None,
        progress: ProgressCallback | None = None,
        should_cancel: CancelCheck | None = None,
    ) -> Prediction:
        """Probabilities of every class (float32 C×H×W in [0, 1], the input's size); 0 outside the FOV.

        Without ``fov`` one is estimated from the image's dark border.
        """
        rgb = to_rgb_float(image)
        h, w = rgb.shape[:2]
        if fov is None:
            fov = estimate_fov(image)
        fov = np.asarray(fov, bool)
        if fov.shape != (h, w):
            raise ValueError(f"FOV mask is {fov.shape[1]}x{fov.shape[0]} but the image is {w}x{h}")
        x = self.checkpoint.preprocessing.normalize(torch.from_numpy(rgb).permute(2, 0, 1)[None], fov)
        scale = self.working_scale(fov)
        if scale != 1.0:
            size = (max(1, round(h * scale)), max(1, round(w * scale)))
            x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=scale < 1)
        try:
            prob = self._predict_tiled(x, progress, should_cancel)
        except torch.cuda.OutOfMemoryError as exc:
            raise DeviceFailure(f"the GPU ran out of memory ({exc}); try the CPU") from exc
        except RuntimeError as exc:
            if self.device.type != "cpu":
                raise DeviceFailure(f"{self.device_name} failed: {str(exc).splitlines()[0]}") from exc
            raise
        if scale != 1.0:
            prob = F.interpolate(prob[None], size=(h, w), mode="bilinear", align_corners=False)[0]
        out = prob.clamp_(0, 1).numpy().astype(np.float32, copy=False)
        out[:, ~fov] = 0.0
        return Prediction(out, self.task, self.thresholds, fov)

    def _predict_tiled(self, x: torch.Tensor, progress: ProgressCallback | None,
                       should_cancel: CancelCheck | None) -> torch.Tensor:
        _, _, h, w = x.shape
        tiles = list(iter_tiles(h, w, self.tile_size, self.overlap))
        total = len(tiles)
        acc = torch.zeros(len(self.task.classes), h, w)
        weight_sum = torch.zeros(h, w)
        if progress is not None:
            progress(0, total)
        for done, (ys, xs) in enumerate(tiles, start=1):
            if should_cancel is not None and should_cancel():
                raise JobCancelled("segmentation cancelled")
            tile = x[:, :, ys, xs]
            th, tw = tile.shape[-2:]
            prob = self._forward(tile)
            wts = torch.from_numpy(blend_window(th, tw, self.overlap if total > 1 else 0))
            acc[:, ys, xs] += prob * wts
            weight_sum[ys, xs] += wts
            if progress is not None:
                progress(done, total)
        return acc / weight_sum

    @torch.inference_mode()
    def _forward(self, tile: torch.Tensor) -> torch.Tensor:
        """Class probabilities (C×h×w) of one normalised 1×3×h×w tile (padded when tiny)."""
        th, tw = tile.shape[-2:]
        ph, pw = max(0, MIN_SIDE - th), max(0, MIN_SIDE - tw)
        if ph or pw:
            tile = F.pad(tile, [0, pw, 0, ph], mode="replicate")
        t = tile.to(self.device).contiguous(memory_format=torch.channels_last)
        # Flips run one after another: on the CPU that is ~30 % faster than one batch of four.
        views: list[tuple[int, ...]] = [(), (-1,), (-2,), (-2, -1)] if self.tta else [()]
        dtype = torch.bfloat16 if self.precision == "bf16" else None
        p = torch.zeros(len(self.task.classes), *t.shape[-2:], device=t.device)
        for dims in views:
            view = t.flip(dims).contiguous(memory_format=torch.channels_last) if dims else t
            with torch.autocast(self.device.type, dtype=dtype, enabled=dtype is not None):
                logits = self.model(view)["out"].float()
            probs = logits.softmax(1)[0]
            p += probs.flip(dims) if dims else probs
        p /= len(views)
        return p[:, :th, :tw].cpu()


def threshold_mask(prob: np.ndarray, threshold: float) -> np.ndarray:
    """Binary vessel mask: probability >= threshold."""
    if not 0.0 <= threshold <= 1.0 or math.isnan(threshold):
        raise ValueError(f"threshold must be in [0, 1], got {threshold}")
    return np.asarray(prob) >= threshold
