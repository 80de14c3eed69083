"""How much a model's own training images depend on each of its weights, and holding the important
weights in place while fine-tuning elsewhere (elastic weight consolidation, EWC: Kirkpatrick et al.,
PNAS 2017).

The importance is the diagonal of the Fisher information of the model's per-pixel class likelihood on
the images it was trained on. It is computed once, when the model is made, and stored in its
checkpoint (one tensor per weight, no pixels): a clinic fine-tuning on its own camera then keeps what
the model does on the training cameras without any of their images shipping with the app.

The labels are drawn from the model itself (the true Fisher, not the "empirical" one from the reference
labels): pixels' draws are independent given the image, so the squared gradient of one image's drawn
log-likelihood is an unbiased estimate of the sum of its pixels' Fisher diagonals.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import torch

from core.io.datasets import Sample
from core.measure.fov import fov_diameter
from core.ml.checkpoint import Checkpoint
from core.ml.train import _to_tensor, resized_to_fov

#: What the stored importance is, for the checkpoint's metrics and the fine-tuning card.
METHOD = ("diagonal Fisher information of the per-pixel class likelihood inside the FOV, labels drawn "
          "from the model, whole images at the working scale, BatchNorm statistics as stored")


def weight_importance(ckpt: Checkpoint, samples: Sequence[Sample], draws: int = 4, seed: int = 0,
                      progress: Callable[[int, int], None] | None = None) -> dict[str, torch.Tensor]:
    """Per weight of ``ckpt``, the mean over ``samples`` (its own training images) of the diagonal
    Fisher information, estimated from ``draws`` label draws per image."""
    if not samples:
        raise ValueError("no images to compute the weight importance on")
    if draws < 1:
        raise ValueError(f"draws must be at least 1, got {draws}")
    model = ckpt.build_model()  # eval mode: the BatchNorm statistics fine-tuning keeps
    params = {name: p for name, p in model.named_parameters() if p.requires_grad}
    total = {name: torch.zeros_like(p) for name, p in params.items()}
    gen = torch.Generator().manual_seed(seed)
    for i, s in enumerate(samples):
        x, fov = _network_input(ckpt, s)
        logp = model(x)["out"].float().log_softmax(1)[0]  # C×H×W
        cdf = logp.detach().exp().cumsum(0)
        for d in range(draws):
            labels = (cdf < torch.rand(cdf.shape[1:], generator=gen) * cdf[-1]).sum(0).clamp(max=cdf.shape[0] - 1)
            nll = -logp.gather(0, labels[None])[0][fov].sum()
            grads = torch.autograd.grad(nll, list(params.values()), retain_graph=d < draws - 1)
            for name, g in zip(params, grads, strict=True):
                total[name] += g.float() ** 2
        if progress is not None:
            progress(i + 1, len(samples))
    return {name: t / (len(samples) * draws) for name, t in total.items()}


def _network_input(ckpt: Checkpoint, sample: Sample) -> tuple[torch.Tensor, torch.Tensor]:
    """The normalised image at the working scale (1×3×H×W) and its FOV (H×W bool)."""
    scale = ckpt.preprocessing.working_scale(sample.fov)
    if scale != 1.0:
        sample = resized_to_fov(sample, max(1, round(fov_diameter(sample.fov) * scale)))
    fov = torch.from_numpy(np.asarray(sample.fov, bool))
    return ckpt.preprocessing.normalize(_to_tensor(sample.image), fov)[None], fov


def with_importance(ckpt: Checkpoint, samples: Sequence[Sample], draws: int = 4, seed: int = 0,
                    progress: Callable[[int, int], None] | None = None) -> Checkpoint:
    """``ckpt`` carrying the importance of its weights on ``samples``, and a note of how it was computed
    in ``metrics["importance"]`` (image names, never pixels)."""
    importance = weight_importance(ckpt, samples, draws, seed, progress)
    card: dict[str, Any] = {"method": METHOD, "images": [s.name for s in samples], "draws": draws, "seed": seed}
    return replace(ckpt, importance=importance, metrics={**ckpt.metrics, "importance": card})


class Anchor:
    """Holds each weight near the base's in proportion to its importance while fine-tuning.

    The EWC penalty ``strength / 2 · Σ F̂ (θ - θ_base)²`` with ``F̂`` the importance divided by its mean
    over all weights (so ``strength`` means the same for any model), applied after each optimiser step
    as its exact proximal step: ``θ ← θ_base + (θ - θ_base) / (1 + lr · strength · F̂)``. Unlike the
    penalty's gradient, this cannot overshoot however large ``lr · strength · F̂`` is: the Fisher is
    heavy-tailed, and its most important weights would make a plain gradient step diverge.
    """

    def __init__(self, model: torch.nn.Module, base_state: dict[str, torch.Tensor],
                 importance: dict[str, torch.Tensor], strength: float) -> None:
        params = dict(model.named_parameters())
        mean = torch.cat([t.flatten().float() for t in importance.values()]).mean()
        scale = strength / float(mean) if float(mean) > 0 else 0.0
        self.held = [(params[k], base_state[k].to(params[k].dtype), (v.float() * scale).to(params[k].dtype))
                     for k, v in importance.items() if k in params and params[k].requires_grad]

    @torch.no_grad()
    def step(self, lr: float) -> None:
        """Pull the weights towards the base's after an optimiser step taken at learning rate ``lr``."""
        for p, base, weight in self.held:
            p.sub_(base).div_(1 + lr * weight).add_(base)
