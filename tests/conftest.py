"""Shared fixtures: offscreen Qt, isolated settings, a tiny random-weight model, synthetic images."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

# CI explores the same hypothesis examples every run, so a red build is reproducible, not luck.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")


def synthetic_fundus(h: int = 96, w: int = 112, seed: int = 0) -> np.ndarray:
    """An RGB uint8 'fundus': orange disk on black with a few dark curvy 'vessels'."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    cy, cx, r = h / 2, w / 2, min(h, w) * 0.45
    disk = (yy - cy) ** 2 + (xx - cx) ** 2 <= r * r
    img = np.zeros((h, w, 3), np.float32)
    img[disk] = (200, 90, 40)
    for k in range(4):
        phase = rng.uniform(0, 2 * np.pi)
        line = np.abs(yy - (cy + (k - 1.5) * h / 6 + 6 * np.sin(xx / 9 + phase))) < 1.5
        img[line & disk] *= 0.55
    img += rng.normal(0, 4, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


@pytest.fixture
def one_torch_thread() -> Iterator[None]:
    """Torch on one thread for the test: tiny training batches gain nothing from threads, and on a busy
    machine oversubscription made a step 4-6x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def fundus() -> np.ndarray:
    return synthetic_fundus()


@pytest.fixture(scope="session")
def tiny_checkpoint_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A random-weight UNet (base_c=4) saved in the project's checkpoint format."""
    import torch

    from core.ml.checkpoint import model_checkpoint, save_checkpoint
    from core.ml.model import UNet
    from core.ml.preprocessing import Preprocessing

    torch.manual_seed(0)
    model = UNet(base_c=4).eval()
    ckpt = model_checkpoint(model, Preprocessing((0.5, 0.3, 0.2), (0.2, 0.1, 0.1)),
                            thresholds={"vessel": 0.5}, trained_on="nothing (random test weights)")
    return save_checkpoint(ckpt, tmp_path_factory.mktemp("models") / "tiny.pt")


@pytest.fixture(scope="session")
def drive_root() -> Path:
    """DRIVE from $RETINASEG_DRIVE; tests using it are skipped with a reason when it is unset."""
    from core.io.datasets import DRIVE_ENV, default_drive_root

    root = default_drive_root()
    if root is None or not (root / "training" / "images").is_dir():
        pytest.skip(f"DRIVE dataset not available: set {DRIVE_ENV} to the DRIVE folder (training/, test/)")
    return root


@pytest.fixture
def no_network(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Block every way out (connect, create_connection, name lookups); returns the attempts made."""
    import socket

    attempts: list[str] = []

    def blocked(name: str):  # type: ignore[no-untyped-def]
        def refuse(*args, **kwargs):  # type: ignore[no-untyped-def]
            attempts.append(f"{name}{args[1:] if name.startswith('socket.') else args}")
            raise OSError(f"network blocked by the offline test ({name})")

        return refuse

    for attr in ("connect", "connect_ex", "sendto", "sendmsg"):
        monkeypatch.setattr(socket.socket, attr, blocked(f"socket.{attr}"))
    for attr in ("create_connection", "getaddrinfo", "gethostbyname", "gethostbyname_ex", "gethostbyaddr"):
        monkeypatch.setattr(socket, attr, blocked(attr))
    return attempts
