"""InferenceService with the real Segmenter and the tiny model: caching, cancel, fallback."""

from __future__ import annotations

import numpy as np
import pytest

from core.errors import CheckpointError
from gui.jobs.inference_service import InferenceService, SegmentRequest
from tests.gui.conftest import FakeService


def test_segments_with_the_real_segmenter_and_reuses_it(tiny_checkpoint_path, fundus) -> None:
    service = InferenceService()
    ticks: list[tuple[int, int]] = []
    r = service.segment(SegmentRequest(1, fundus, None, str(tiny_checkpoint_path), "cpu"),
                        progress=lambda d, t: ticks.append((d, t)))
    assert r.probability.shape == fundus.shape[:2] and r.probability.dtype == np.float32
    assert r.fov.shape == fundus.shape[:2] and r.device == "cpu" and r.model_name == "tiny.pt"
    assert ticks[0][0] == 0 and ticks[-1][0] == ticks[-1][1]
    first = service.segmenter(str(tiny_checkpoint_path), "cpu")
    service.segment(SegmentRequest(2, fundus, r.fov, str(tiny_checkpoint_path), "cpu"))
    assert service.segmenter(str(tiny_checkpoint_path), "cpu") is first


def test_cancel_before_the_first_tile(tiny_checkpoint_path, fundus) -> None:
    from core.errors import JobCancelled

    with pytest.raises(JobCancelled):
        InferenceService().segment(SegmentRequest(1, fundus, None, str(tiny_checkpoint_path), "cpu"),
                                   should_cancel=lambda: True)


def test_model_card_validates(tiny_checkpoint_path, tmp_path) -> None:
    card = InferenceService().model_card(str(tiny_checkpoint_path))
    assert card["arch"]["base_c"] == 4 and card["path"] == str(tiny_checkpoint_path)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        InferenceService().model_card(str(bad))


def test_cpu_failures_are_not_retried(fundus) -> None:
    service = FakeService()

    def boom(*_a):  # noqa: ANN002, ANN202
        raise RuntimeError("a genuine bug")

    service._factory = boom
    with pytest.raises(RuntimeError, match="genuine"):
        service.segment(SegmentRequest(1, fundus, None, None, "cpu"))


def test_gpu_failure_retries_on_cpu_with_a_notice(fundus) -> None:
    service = FakeService(devices={"cpu": "CPU", "cuda": "CUDA (Fake)"}, fail_on_gpu=True)
    notes: list[str] = []
    r = service.segment(SegmentRequest(1, fundus, None, None, "auto"), notice=notes.append)
    assert r.device == "cpu" and r.notes == notes and "CPU instead" in notes[0]
