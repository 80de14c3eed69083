"""The offline bundle, built from a clean checkout, works on a machine without Python or a network.

Run with ``pytest -m bundle`` (CI: ``.ci/run``); a build takes a few minutes. To check an already
built bundle instead of building one, set ``RETINASEG_BUNDLE=path/to/dist/RetinaSeg``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

from core.resources import DEFAULT_MODEL, SAMPLE_IMAGE

pytestmark = pytest.mark.bundle

ROOT = Path(__file__).resolve().parents[1]
APP = "RetinaSeg"
EXE = APP + (".exe" if sys.platform == "win32" else "")
BUILD_TIMEOUT_S = 1800


def _offline_prefix() -> list[str]:
    """``unshare -n`` (a private network namespace: no network at all), or nothing, with a warning."""
    unshare = shutil.which("unshare")
    if unshare is not None:
        probe = subprocess.run([unshare, "-n", "true"], capture_output=True, text=True)
        if probe.returncode == 0:
            return [unshare, "-n"]
        detail = probe.stderr.strip() or f"exit {probe.returncode}"
        reason = f"`unshare -n` failed here ({detail}; it needs root or user namespaces)"
    else:
        reason = "`unshare` (util-linux) is not installed"
    warnings.warn(f"{reason}: running the bundle WITH network access, so offline use is not proven", stacklevel=2)
    return []


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    """The environment of a clinic PC: no virtualenv, no PYTHONPATH, its own home and settings."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("PYTHON", "VIRTUAL_ENV", "CONDA", "QT_", "RETINASEG"))}
    env.update(HOME=str(home), XDG_CONFIG_HOME=str(home / ".config"), XDG_DATA_HOME=str(home / ".local/share"),
               XDG_CACHE_HOME=str(home / ".cache"), PATH="/usr/bin:/bin", **extra)
    return env


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """dist/RetinaSeg built by build.spec from a fresh `git clone` of the committed tree."""
    prebuilt = os.environ.get("RETINASEG_BUNDLE")
    if prebuilt:
        path = Path(prebuilt).resolve()
        if not (path / EXE).is_file():
            pytest.fail(f"RETINASEG_BUNDLE={prebuilt} has no {EXE}")
        return path
    pytest.importorskip("PyInstaller", reason="PyInstaller is not installed: pip install -e '.[bundle]'")
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout to build from a clean clone")
    tmp = tmp_path_factory.mktemp("bundle")
    src = tmp / "src"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(src)], check=True)
    model = src / "resources" / "models" / DEFAULT_MODEL
    if not model.is_file():
        pytest.fail(f"the committed tree has no resources/models/{DEFAULT_MODEL}: commit the default model "
                    "(an untracked copy in the work tree is not in a clean checkout)")
    log = tmp / "pyinstaller.log"
    with log.open("w") as out:
        # The spec's own directory (the clone) goes first on sys.path, so it is the clone's code that is
        # bundled, not the work tree's editable install.
        proc = subprocess.run(
            [sys.executable, "-m", "PyInstaller", "--noconfirm", "--clean",
             "--distpath", str(tmp / "dist"), "--workpath", str(tmp / "build"), "build.spec"],
            cwd=src, stdout=out, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT_S,
            env={**os.environ, "PYTHONPATH": str(src)},
        )
    if proc.returncode != 0:
        pytest.fail(f"PyInstaller failed (exit {proc.returncode}); last lines of {log}:\n"
                    + "\n".join(log.read_text(errors="replace").splitlines()[-40:]))
    return tmp / "dist" / APP


def test_bundle_ships_resources_where_resource_path_looks(bundle: Path) -> None:
    resources = bundle / "_internal" / "resources"
    assert (resources / "models" / DEFAULT_MODEL).is_file()
    assert (resources / "samples" / SAMPLE_IMAGE).is_file()
    assert {p.name for p in resources.iterdir()} <= {"models", "samples", "icons"}


def test_cpu_bundle_has_no_cuda_libraries(bundle: Path) -> None:
    import torch

    if torch.version.cuda is not None:
        pytest.skip(f"built from a CUDA torch ({torch.__version__}): CUDA libraries are expected")
    cuda = [p.name for p in (bundle / "_internal").rglob("*")
            if p.name.startswith(("libcudart", "libcublas", "libcudnn", "libnccl", "libcufft", "libcusparse"))]
    assert not cuda


def test_self_test_passes_offline(bundle: Path, tmp_path: Path) -> None:
    proc = subprocess.run(
        [*_offline_prefix(), str(bundle / EXE), "--self-test"],
        cwd=tmp_path, env=_clean_env(tmp_path), capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, f"self-test failed:\n{proc.stdout}\n{proc.stderr}"
    assert proc.stdout.startswith("self-test OK"), proc.stdout


def _screenshot(bundle: Path, workdir: Path, out: Path, *extra: str) -> np.ndarray:
    from PIL import Image

    sample = bundle / "_internal" / "resources" / "samples" / SAMPLE_IMAGE
    proc = subprocess.run(
        [*_offline_prefix(), str(bundle / EXE), str(sample), *extra, "--screenshot", str(out)],
        cwd=workdir, env=_clean_env(workdir, QT_QPA_PLATFORM="offscreen"), capture_output=True, text=True,
        timeout=600,
    )
    assert proc.returncode == 0, f"GUI run {extra} failed:\n{proc.stdout}\n{proc.stderr}"
    assert out.is_file(), f"no screenshot written:\n{proc.stdout}\n{proc.stderr}"
    return np.asarray(Image.open(out).convert("RGB")).astype(np.int16)


def _moved_towards(before: np.ndarray, after: np.ndarray, colour: tuple[int, int, int]) -> int:
    """Pixels that came clearly closer to ``colour`` (L1 distance down by more than 90 of 765): a blend of
    the overlay onto the fundus, whatever the colour (cyan has two strong channels, so no single channel
    dominates it)."""
    c = np.asarray(colour, np.int16)
    closer = np.abs(before - c).sum(-1) - np.abs(after - c).sum(-1)
    return int((closer > 90).sum())


def test_gui_shows_the_segmentation_overlay_offscreen(bundle: Path, tmp_path: Path) -> None:
    from PySide6.QtGui import QColor

    from gui.canvas.style import OverlayValues

    c = QColor(OverlayValues().mask_color)
    colour = (c.red(), c.green(), c.blue())
    plain = _screenshot(bundle, tmp_path, tmp_path / "plain.png")
    segmented = _screenshot(bundle, tmp_path, tmp_path / "segmented.png", "--segment")
    assert plain.shape == segmented.shape
    red = (plain[..., 0] - np.maximum(plain[..., 1], plain[..., 2]) > 40).mean()
    assert red > 0.1, "the plain screenshot does not show the fundus image"
    gained = _moved_towards(plain, segmented, colour)
    assert gained > 0.005 * plain.shape[0] * plain.shape[1], (
        f"only {gained} more pixels in the overlay colour {OverlayValues().mask_color} after --segment"
    )


def test_bundle_ships_what_dicom_needs(bundle: Path) -> None:
    internal = bundle / "_internal"
    tables = {p.name for p in (internal / "highdicom" / "_standard").glob("*.json")}
    assert {"sop_class_iod_map.json", "iod_module_map.json", "module_attribute_map.json"} <= tables
    for dist in ("pydicom", "pyjpegls", "highdicom"):
        assert list(internal.glob(f"{dist}-*.dist-info")), f"{dist}'s metadata (read for its version at import)"


def test_gui_opens_and_segments_a_jpeg_ls_dicom_offscreen(bundle: Path, tmp_path: Path) -> None:
    """pydicom and its CharLS decoder work inside the bundle (a missing dist-info would drop the decoder)."""
    from pydicom.uid import JPEGLSLossless

    from tests import dicom_factory as F

    dicom = F.write(F.with_transfer_syntax(F.photograph(F.sample_photo(512)), JPEGLSLossless), tmp_path / "eye.dcm")
    out = tmp_path / "shot.png"
    proc = subprocess.run(
        [*_offline_prefix(), str(bundle / EXE), str(dicom), "--segment", "--screenshot", str(out)],
        cwd=tmp_path, env=_clean_env(tmp_path, QT_QPA_PLATFORM="offscreen"), capture_output=True, text=True,
        timeout=600,
    )
    assert proc.returncode == 0 and out.is_file(), f"the bundle did not open {dicom}:\n{proc.stdout}\n{proc.stderr}"
    from PIL import Image

    rgb = np.asarray(Image.open(out).convert("RGB")).astype(np.int16)
    assert (rgb[..., 0] - np.maximum(rgb[..., 1], rgb[..., 2]) > 40).mean() > 0.05, "no fundus in the window"
