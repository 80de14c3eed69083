"""Training augmentations: small callables on (image float C×H×W in [0,1], target long H×W)."""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence

import numpy as np
import torch
import torch.nn.functional as F

from core.io.datasets import IGNORE_INDEX
from core.ml.preprocessing import PER_IMAGE, Preprocessing

Pair = tuple[torch.Tensor, torch.Tensor]
Transform = Callable[[torch.Tensor, torch.Tensor, torch.Generator], Pair]


class Compose:
    """Apply transforms in order, sharing one random generator."""

    def __init__(self, transforms: Sequence[Transform]) -> None:
        self.transforms = list(transforms)

    def __call__(self, image: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> Pair:
        for t in self.transforms:
            image, target = t(image, target, gen)
        return image, target


def _uniform(gen: torch.Generator, low: float, high: float) -> float:
    return low + (high - low) * float(torch.rand((), generator=gen))


class RandomScale:
    """Resize by a random factor (bilinear image, nearest target)."""

    def __init__(self, low: float = 0.5, high: float = 1.2) -> None:
        self.low, self.high = low, high

    def __call__(self, image: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> Pair:
        s = _uniform(gen, self.low, self.high)
        h, w = target.shape
        size = (max(1, round(h * s)), max(1, round(w * s)))
        image = F.interpolate(image[None], size=size, mode="bilinear", align_corners=False)[0]
        target = F.interpolate(target[None, None].float(), size=size, mode="nearest")[0, 0].long()
        return image, target


class RandomFlip:
    """Horizontal and vertical flips, each with probability p."""

    def __init__(self, p: float = 0.5) -> None:
        self.p = p

    def __call__(self, image: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> Pair:
        for dim in (-1, -2):
            if float(torch.rand((), generator=gen)) < self.p:
                image, target = image.flip(dim), target.flip(dim)
        return image, target


class RandomRotate90:
    """Rotate by a random multiple of 90 degrees (fundus images have no preferred orientation)."""

    def __call__(self, image: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> Pair:
        k = int(torch.randint(0, 4, (), generator=gen))
        return torch.rot90(image, k, (-2, -1)), torch.rot90(target, k, (-2, -1))


class RandomCrop:
    """Crop ``size``×``size``, padding with 0 / IGNORE_INDEX where the image is smaller."""

    def __init__(self, size: int) -> None:
        self.size = size

    def __call__(self, image: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> Pair:
        h, w = target.shape
        ph, pw = max(0, self.size - h), max(0, self.size - w)
        if ph or pw:
            image = F.pad(image, [0, pw, 0, ph], value=0.0)
            target = F.pad(target, [0, pw, 0, ph], value=IGNORE_INDEX)
            h, w = target.shape
        top = int(torch.randint(0, h - self.size + 1, (), generator=gen))
        left = int(torch.randint(0, w - self.size + 1, (), generator=gen))
        sl = (slice(top, top + self.size), slice(left, left + self.size))
        return image[:, sl[0], sl[1]], target[sl]


class ColorJitter:
    """Camera-like photometric changes: brightness, contrast, gamma, saturation, per-channel gain."""

    def __init__(
        self,
        brightness: float = 0.25,
        contrast: float = 0.3,
        gamma: float = 0.3,
        saturation: float = 0.3,
        channel_gain: float = 0.1,
    ) -> None:
        self.brightness, self.contrast, self.gamma = brightness, contrast, gamma
        self.saturation, self.channel_gain = saturation, channel_gain

    def __call__(self, image: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> Pair:
        gains = torch.tensor([_uniform(gen, 1 - self.channel_gain, 1 + self.channel_gain) for _ in range(3)])
        image = image * gains[:, None, None]
        gray = image.mean(0, keepdim=True)
        image = gray + (image - gray) * _uniform(gen, 1 - self.saturation, 1 + self.saturation)
        mean = image.mean()
        image = mean + (image - mean) * _uniform(gen, 1 - self.contrast, 1 + self.contrast)
        image = image * _uniform(gen, 1 - self.brightness, 1 + self.brightness)
        image = image.clamp(0.0, 1.0)
        g = math.exp(_uniform(gen, -self.gamma, self.gamma))
        return image.pow(g), target


class Normalize:
    """The model's :class:`Preprocessing` normalisation (the same object inference uses)."""

    def __init__(self, preprocessing: Preprocessing) -> None:
        self.preprocessing = preprocessing

    def __call__(self, image: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> Pair:
        return self.preprocessing.normalize(image, target != IGNORE_INDEX), target


class StandardizedJitter:
    """Camera differences left after per-image standardisation: per-channel gain and offset, a signed
    power curve (the standardised form of a gamma change) and Gaussian noise."""

    def __init__(self, gain: float = 0.2, offset: float = 0.2, power: float = 0.25, noise: float = 0.08) -> None:
        self.gain, self.offset, self.power, self.noise = gain, offset, power, noise

    def __call__(self, image: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> Pair:
        c = image.shape[0]
        gains = 1 + (torch.rand(c, 1, 1, generator=gen) * 2 - 1) * self.gain
        offsets = (torch.rand(c, 1, 1, generator=gen) * 2 - 1) * self.offset
        p = math.exp(_uniform(gen, -self.power, self.power))
        out = image.sign() * image.abs().pow(p) * gains + offsets
        sigma = _uniform(gen, 0.0, self.noise)
        if sigma > 0:
            out = out + torch.randn(out.shape, generator=gen) * sigma
        # outside the FOV stays 0, as the standardisation leaves it
        return torch.where(image == 0, image, out), target


class RandomBlur:
    """Gaussian blur of random strength with probability ``p`` (defocus, low-resolution cameras)."""

    def __init__(self, p: float = 0.3, max_sigma: float = 1.5) -> None:
        self.p, self.max_sigma = p, max_sigma

    def __call__(self, image: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> Pair:
        if float(torch.rand((), generator=gen)) >= self.p:
            return image, target
        sigma = _uniform(gen, 0.3, self.max_sigma)
        radius = max(1, math.ceil(2 * sigma))
        k = torch.exp(-(torch.arange(-radius, radius + 1, dtype=torch.float32) ** 2) / (2 * sigma**2))
        k = (k / k.sum()).view(1, 1, 1, -1).expand(image.shape[0], 1, 1, -1)
        x = F.pad(image[None], [radius, radius, 0, 0], mode="replicate")
        x = F.conv2d(x, k, groups=image.shape[0])
        x = F.pad(x, [0, 0, radius, radius], mode="replicate")
        x = F.conv2d(x, k.transpose(-1, -2), groups=image.shape[0])
        return x[0], target


#: How often each capture artifact (vignetting, JPEG, sensor noise) is applied to a training crop.
ARTIFACT_PROBABILITY = 0.2


class CaptureArtifacts:
    """What a poor capture or file adds after standardisation cannot undo it: light falling off towards
    the edge (vignetting), JPEG blocks and ringing, and sensor noise of a few grey levels.

    They act on raw 8-bit intensities, so the standardised crop is mapped to a typical fundus photograph's
    colours (``preprocessing``'s mean and std), degraded there and mapped back; each with probability ``p``.
    """

    def __init__(self, preprocessing: Preprocessing, p: float = ARTIFACT_PROBABILITY, max_falloff: float = 0.7,
                 quality: tuple[int, int] = (8, 60), max_noise: float = 10.0) -> None:
        self.mean = torch.tensor(preprocessing.mean).view(3, 1, 1)
        self.std = torch.tensor(preprocessing.std).view(3, 1, 1)
        self.p, self.max_falloff, self.quality, self.max_noise = p, max_falloff, quality, max_noise

    def __call__(self, image: torch.Tensor, target: torch.Tensor, gen: torch.Generator) -> Pair:
        chosen = [float(torch.rand((), generator=gen)) < self.p for _ in range(3)]
        if not any(chosen) or image.shape[0] != 3:
            return image, target
        raw = image * self.std + self.mean  # [0, 1] intensities of a typical photograph
        if chosen[0]:
            raw = raw * self._falloff(image.shape[-2:], gen)
        if chosen[2]:
            raw = raw + torch.randn(raw.shape, generator=gen) * (_uniform(gen, 2.0, self.max_noise) / 255.0)
        if chosen[1]:
            raw = self._jpeg(raw, int(_uniform(gen, *self.quality)))
        out = (raw.clamp(0.0, 1.0) - self.mean) / self.std
        return torch.where(image == 0, image, out), target  # outside the FOV stays 0

    def _falloff(self, shape: torch.Size, gen: torch.Generator) -> torch.Tensor:
        """A radial gain from a centre anywhere near the crop, falling to 1 - ``max_falloff`` at most."""
        h, w = shape
        cy, cx = _uniform(gen, -0.5, 1.5) * h, _uniform(gen, -0.5, 1.5) * w
        radius = _uniform(gen, 0.75, 2.0) * max(h, w)
        yy = torch.arange(h, dtype=torch.float32).view(-1, 1)
        xx = torch.arange(w, dtype=torch.float32).view(1, -1)
        r2 = ((yy - cy) ** 2 + (xx - cx) ** 2) / radius**2
        return (1.0 - _uniform(gen, 0.2, self.max_falloff) * r2).clamp(0.1, 1.0)

    @staticmethod
    def _jpeg(raw: torch.Tensor, quality: int) -> torch.Tensor:
        from PIL import Image

        pixels = (raw.clamp(0.0, 1.0) * 255.0 + 0.5).to(torch.uint8).permute(1, 2, 0).numpy()
        buffer = io.BytesIO()
        Image.fromarray(pixels).save(buffer, format="JPEG", quality=quality)
        decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("RGB"), dtype=np.float32)
        return torch.from_numpy(decoded.copy()).permute(2, 0, 1) / 255.0


def training_transforms(
    crop: int, preprocessing: Preprocessing, scale: tuple[float, float] = (0.5, 1.2), photometric: bool = True,
    capture_artifacts: bool = False, artifact_probability: float = ARTIFACT_PROBABILITY,
) -> Compose:
    """The recipe for ``preprocessing``'s normalisation.

    ``"dataset"``: scale, flips, rotations, crop, colour jitter, normalise (the tutorial's order).
    ``"fov"``: the images come already standardised inside their FOV (whole-image statistics, as at
    inference, computed once); scale, flips, rotations, crop, then what standardisation cannot undo
    (residual per-channel gain and offset, a gamma-like curve, blur, and with ``capture_artifacts``
    vignetting, JPEG and sensor noise of raw intensities, each with ``artifact_probability``).
    """
    geometric: list[Transform] = [RandomScale(*scale), RandomFlip(), RandomRotate90(), RandomCrop(crop)]
    if preprocessing.normalization in PER_IMAGE:
        photometric_steps: list[Transform] = [StandardizedJitter(), RandomBlur()] if photometric else []
        if photometric and capture_artifacts:
            photometric_steps = [CaptureArtifacts(preprocessing, p=artifact_probability), StandardizedJitter(),
                                 RandomBlur(p=0.3, max_sigma=2.5)]
        return Compose(geometric + photometric_steps)
    steps = geometric + ([ColorJitter()] if photometric else [])
    steps.append(Normalize(preprocessing))
    return Compose(steps)
