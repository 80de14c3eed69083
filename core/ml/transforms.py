"""Training augmentations: small callables on (image float C×H×W in [0,1], target long H×W)."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch
import torch.nn.functional as F

from core.io.datasets import IGNORE_INDEX
from core.ml.preprocessing import Preprocessing

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
        return self.preprocessing.normalize(image), target


def training_transforms(
    crop: int, preprocessing: Preprocessing, scale: tuple[float, float] = (0.5, 1.2), photometric: bool = True,
) -> Compose:
    """The default recipe: scale, flips, rotations, crop, colour jitter, normalise."""
    steps: list[Transform] = [RandomScale(*scale), RandomFlip(), RandomRotate90(), RandomCrop(crop)]
    if photometric:
        steps.append(ColorJitter())
    steps.append(Normalize(preprocessing))
    return Compose(steps)
