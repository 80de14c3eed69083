"""PredictionService: one cached predictor per (model, device), checkpoint validation, GPU→CPU fallback."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

from core.errors import CheckpointError, DeviceFailure, JobCancelled
from core.predict.prediction import Prediction
from core.predict.service import PredictionService, SegmentRequest
from core.predict.tasks import VesselTask


class FakePredictor:
    """A predictor on ``device`` whose vessel probability is ``value``; can fail on a GPU."""

    def __init__(self, device: str, value: float = 0.7, fail_on_gpu: bool = False) -> None:
        kind = "cuda" if device == "auto" else device
        self.device = SimpleNamespace(type=kind)
        self.device_name = {"cpu": "CPU", "cuda": "CUDA (Fake)"}[kind]
        self.task, self.thresholds = VesselTask(), {"vessel": 0.4}
        self.value, self.fail_on_gpu = value, fail_on_gpu

    def predict(self, image, fov=None, progress=None, should_cancel=None) -> Prediction:  # noqa: ANN001
        if self.fail_on_gpu and self.device.type != "cpu":
            raise DeviceFailure("CUDA (Fake) ran out of memory; try the CPU")
        h, w = image.shape[:2]
        vessel = np.full((h, w), self.value, np.float32)
        return Prediction(np.stack([1 - vessel, vessel]), self.task, self.thresholds, np.ones((h, w), bool))


def fake_service(made: list | None = None, **predictor_args: object) -> PredictionService:
    made = made if made is not None else []

    def factory(model_path, device, ckpt):  # noqa: ANN001, ANN202
        made.append((model_path, device, ckpt))
        return FakePredictor(device, **predictor_args)

    return PredictionService(factory, devices=lambda: {"cpu": "CPU", "cuda": "CUDA (Fake)"})


def test_segments_with_the_real_segmenter_and_reuses_it(tiny_checkpoint_path, fundus) -> None:  # noqa: ANN001
    service = PredictionService()
    ticks: list[tuple[int, int]] = []
    p = service.segment(SegmentRequest(fundus, None, str(tiny_checkpoint_path), "cpu"),
                        progress=lambda d, t: ticks.append((d, t)))
    assert p.shape == fundus.shape[:2] and p.probabilities.dtype == np.float32 and p.fov.shape == p.shape
    assert p.info["device"] == "cpu" and p.info["model"] == "tiny.pt" and p.info["notes"] == ()
    assert p.info["seconds"] >= 0 and p.info["device_name"]
    assert ticks[0][0] == 0 and ticks[-1][0] == ticks[-1][1]
    first = service.predictor(str(tiny_checkpoint_path), "cpu")
    service.segment(SegmentRequest(fundus, p.fov, str(tiny_checkpoint_path), "cpu"))
    assert service.predictor(str(tiny_checkpoint_path), "cpu") is first


def test_cancel_before_the_first_tile(tiny_checkpoint_path, fundus) -> None:  # noqa: ANN001
    with pytest.raises(JobCancelled):
        PredictionService().segment(SegmentRequest(fundus, None, str(tiny_checkpoint_path), "cpu"),
                                    should_cancel=lambda: True)


def test_model_card_validates(tiny_checkpoint_path, tmp_path) -> None:  # noqa: ANN001
    card = PredictionService().model_card(str(tiny_checkpoint_path))
    assert card["arch"]["base_c"] == 4 and card["path"] == str(tiny_checkpoint_path)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"junk")
    with pytest.raises(CheckpointError):
        PredictionService().model_card(str(bad))


def test_an_odd_loader_error_becomes_a_checkpoint_error_naming_the_file() -> None:
    def loader(path: str) -> None:
        raise KeyError("state_dict")

    service = PredictionService(lambda *_: None, checkpoint_loader=loader)
    with pytest.raises(CheckpointError, match=r"odd\.pt.*KeyError"):
        service.model_card("odd.pt")


def test_a_validated_checkpoint_is_handed_to_the_factory_and_the_model_changes_with_it(fundus) -> None:  # noqa: ANN001
    made: list = []
    service = PredictionService(lambda m, d, c: made.append((m, d, c)) or FakePredictor(d),
                                checkpoint_loader=lambda path: SimpleNamespace(card=lambda: {"arch": path}))
    assert service.model_card("a.pt") == {"arch": "a.pt", "path": "a.pt"}
    service.segment(SegmentRequest(fundus, None, "a.pt", "cpu"))
    service.segment(SegmentRequest(fundus, None, "a.pt", "cpu"))
    service.segment(SegmentRequest(fundus, None, "b.pt", "cpu"))
    assert [(m, d, c is not None) for m, d, c in made] == [("a.pt", "cpu", True), ("b.pt", "cpu", False)]


def test_new_predictor_is_never_the_cached_one() -> None:
    service = fake_service()
    cached = service.predictor(None, "cpu")
    assert service.new_predictor(None, "cpu") is not cached and service.predictor(None, "cpu") is cached


def test_cpu_failures_are_not_retried(fundus) -> None:  # noqa: ANN001
    def boom(*_a):  # noqa: ANN002, ANN202
        raise RuntimeError("a genuine bug")

    with pytest.raises(RuntimeError, match="genuine"):
        PredictionService(boom).segment(SegmentRequest(fundus, None, None, "cpu"))


def test_gpu_failure_retries_on_cpu_with_a_notice(fundus) -> None:  # noqa: ANN001
    made: list = []
    service = fake_service(made, fail_on_gpu=True)
    notes: list[str] = []
    p = service.segment(SegmentRequest(fundus, None, None, "auto"), notice=notes.append)
    assert p.info["device"] == "cpu" and p.info["device_name"] == "CPU"
    assert list(p.info["notes"]) == notes and "CPU instead" in notes[0] and "out of memory" in notes[0]
    assert [d for _, d, _ in made] == ["auto", "cpu"]
    assert p.decode().all()  # 0.7 against the model's 0.4


@pytest.mark.parametrize("bad", ["wrong size", "NaN", "bare array"])
def test_a_broken_prediction_is_refused_with_a_reason(fundus, bad: str) -> None:  # noqa: ANN001
    class Broken(FakePredictor):
        def predict(self, image, fov=None, progress=None, should_cancel=None):  # noqa: ANN001, ANN202
            if bad == "wrong size":
                return super().predict(image[:-3])
            if bad == "bare array":
                return np.zeros(image.shape[:2], np.float32)
            return super().predict(image)

    value = float("nan") if bad == "NaN" else 0.5
    service = PredictionService(lambda _m, d, _c: Broken(d, value=value))
    with pytest.raises(ValueError, match={"wrong size": "probability map", "NaN": "NaN",
                                          "bare array": "not a Prediction"}[bad]):
        service.segment(SegmentRequest(fundus, None, None, "cpu"))


def test_importing_the_service_does_not_import_torch() -> None:
    code = "import sys, core.predict.service; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
