"""Storing benchmark figures in a checkpoint's metrics and in the model card JSON beside it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from core.ml.checkpoint import load_checkpoint, save_checkpoint


def store_metrics(model: Path, figures: dict[str, Any]) -> Path:
    """Merge ``figures`` into the checkpoint's ``metrics`` (threshold and weights untouched) and rewrite
    ``<model>.json``; returns the card's path."""
    ckpt = load_checkpoint(model)
    ckpt.metrics.update(figures)
    save_checkpoint(ckpt, model)
    card_path = model.with_suffix(".json")
    # written afresh from the checkpoint: a merged card kept fields of an older format (a stale threshold)
    card_path.write_text(json.dumps(ckpt.card(), indent=2, default=str) + "\n")
    return card_path
