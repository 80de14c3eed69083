"""Keeping the base model's answers on the clinic's own images recoloured to the base's training colours.

Fine-tuning on a new camera alone teaches a model to change everywhere (after two CHASE_DB1 images the
DRIVE-only model drew 0.84× the annotated vessel fraction on DRIVE, against 1.02× before): nothing in
the corrections says the change belongs to the new camera. This term says it. Each step also takes a
few crops of the corrected images standardised per channel inside their FOV, which is how an image of
the base's training cameras' average colour looks to a model that normalises by dataset statistics, and
asks the model to predict there what the base predicts (the KL divergence from the base's class
probabilities). The change is then tied to the new camera's colours, and the old cameras' images keep
the base's answers; no image of the base's training data is needed.

Only for a base that normalises by dataset statistics: to a model that standardises each image itself
(``"fov"``, ``"local"``) a recoloured image looks exactly like the original, so the term would only
fight the corrections; :func:`applies` says so.
"""

from __future__ import annotations

from dataclasses import replace

import torch

from core.io.datasets import IGNORE_INDEX, Sample
from core.ml.checkpoint import Checkpoint
from core.ml.preprocessing import PER_IMAGE
from core.ml.train import TrainingImages, _batch
from core.ml.transforms import Compose, Transform, training_transforms


def applies(base: Checkpoint) -> bool:
    """Whether recolouring changes what ``base`` sees (it normalises by dataset statistics)."""
    return base.preprocessing.normalization not in PER_IMAGE


class RecolouredConsistency:
    """The consistency loss on ``count`` recoloured crops per step of ``samples`` (at the working scale)."""

    def __init__(self, base: Checkpoint, samples: list[Sample], crop: int, window: Transform, count: int,
                 scale: tuple[float, float]) -> None:
        standardised = replace(base.preprocessing, normalization="fov")
        self.images = TrainingImages(samples, standardised)
        # geometry only: the recolouring is the point, colour jitter would blur it
        geometry = training_transforms(crop, standardised, scale, photometric=False).transforms
        self.transform = Compose([window, *geometry])
        self.teacher = base.build_model().to(memory_format=torch.channels_last)
        self.count = count

    def loss(self, model: torch.nn.Module, gen: torch.Generator) -> torch.Tensor:
        """Mean over FOV pixels of KL(base ‖ model) on a fresh batch of recoloured crops."""
        images, targets = _batch(self.images, self.transform, self.count, gen)
        images = images.contiguous(memory_format=torch.channels_last)
        with torch.no_grad():
            expected = self.teacher(images)["out"].float().softmax(1)
        log_p = model(images)["out"].float().log_softmax(1)
        inside = (targets != IGNORE_INDEX).unsqueeze(1)
        kl = (expected * (expected.clamp_min(1e-8).log() - log_p) * inside).sum()
        return kl / max(1, int(inside.sum()))
