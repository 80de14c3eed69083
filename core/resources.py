"""The one place that locates shipped files, in a source checkout and in the PyInstaller bundle."""

from __future__ import annotations

import sys
from pathlib import Path

DEFAULT_MODEL = "vessels_unet16.pt"
DEFAULT_ARTERY_VEIN_MODEL = "arteries_veins_unet16.pt"
SAMPLE_IMAGE = "fundus_cc0.jpg"


def resources_root() -> Path:
    """``resources/`` beside the packages, or inside the bundle (``sys._MEIPASS``)."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parent.parent / "resources"


def resource_path(*parts: str) -> Path:
    """Path of a shipped resource, e.g. ``resource_path("models", DEFAULT_MODEL)``."""
    return resources_root().joinpath(*parts)


def default_model_path() -> Path:
    return resource_path("models", DEFAULT_MODEL)


def default_artery_vein_model_path() -> Path:
    return resource_path("models", DEFAULT_ARTERY_VEIN_MODEL)


def sample_image_path() -> Path:
    return resource_path("samples", SAMPLE_IMAGE)
