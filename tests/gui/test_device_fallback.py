"""A device asked for that this machine lacks: one clear line, the CPU from then on, never a traceback,
and in --screenshot runs every error printed exactly once."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.io.images import write_image
from gui.main_window import MainWindow
from tests.conftest import synthetic_fundus
from tests.gui.conftest import FakeService
from tests.gui.test_app import run_py

MESSAGE = "CUDA is not available on this machine: using the CPU"


def test_segmenting_before_the_probe_answers_falls_back_to_the_cpu(qtbot, settings, image_file: Path,  # noqa: ANN001
                                                                   tiny_checkpoint_path: Path) -> None:
    service = FakeService()  # a CPU-only machine
    window = MainWindow(settings, service=service, model_path=str(tiny_checkpoint_path), device="cuda",
                        headless=True)
    qtbot.addWidget(window)  # not shown: the device probe has not run
    try:
        assert window.open_path(image_file)
        with qtbot.waitSignal(window.segmentFinished, timeout=30_000) as done:
            window.segment()
        assert done.args == [True, ""]
        assert [device for _, device in service.created] == ["cpu"]  # never tried CUDA
        assert window.device == "cpu" and window.status.device.text() == "Device: CPU"
        assert window.status.message_text().startswith(MESSAGE + ". Segmented eye.png")

        with qtbot.waitSignal(window.segmentFinished, timeout=30_000):
            window.segment()  # the next run asks for the CPU straight away, and says nothing more
        assert MESSAGE not in window.status.message_text()
    finally:
        window.shutdown()


def _absent_gpu() -> str:
    from core.ml.devices import available_devices

    absent = [d for d in ("cuda", "mps") if d not in available_devices()]
    if not absent:
        pytest.skip("this machine has both CUDA and MPS")
    return absent[0]


def test_screenshot_run_with_an_absent_device_says_so_once_and_uses_the_cpu(tmp_path: Path,
                                                                          tiny_checkpoint_path: Path) -> None:
    device = _absent_gpu()
    image = write_image(tmp_path / "eye.png", synthetic_fundus(120, 140))
    out = tmp_path / "shot.png"
    r = run_py(["-m", "gui", str(image), "--model", str(tiny_checkpoint_path), "--device", device,
                "--segment", "--screenshot", str(out)], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "Traceback" not in r.stderr
    lines = [line for line in r.stderr.splitlines() if "not available" in line]
    assert len(lines) == 1 and lines[0].endswith("is not available on this machine: using the CPU")
    assert out.is_file()


def test_screenshot_run_prints_each_error_once(tmp_path: Path) -> None:
    image = write_image(tmp_path / "eye.png", synthetic_fundus(64, 64))
    model = tmp_path / "bad.pt"
    model.write_bytes(b"garbage")
    r = run_py(["-m", "gui", str(image), "--model", str(model), "--device", "cpu", "--segment", "--screenshot",
                str(tmp_path / "shot.png")], tmp_path)
    assert r.returncode == 1
    lines = [line for line in r.stderr.splitlines() if "bad.pt" in line]
    assert len(lines) == 1 and lines[0].startswith("retinaseg-gui: ") and "Traceback" not in r.stderr
