"""Segmenter: tiled inference equals whole-image inference, reports progress, cancels, handles any image."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from core.errors import CheckpointError, DeviceFailure, JobCancelled
from core.measure.fov import estimate_fov
from core.ml import devices
from core.ml.checkpoint import load_checkpoint
from core.ml.inference import Segmenter, blend_window, iter_tiles, tile_starts, to_rgb_float
from tests.conftest import synthetic_fundus


@pytest.fixture
def segmenter(tiny_checkpoint_path: Path) -> Segmenter:
    return Segmenter(tiny_checkpoint_path, device="cpu", tile_size=256, overlap=32)


def _whole_image_reference(ckpt_path: Path, image: np.ndarray) -> np.ndarray:
    """The plain recipe: normalise, one forward pass, softmax, vessel channel."""
    ckpt = load_checkpoint(ckpt_path)
    model = ckpt.build_model()
    x = torch.from_numpy(image).permute(2, 0, 1)[None].float() / 255.0
    mean = torch.tensor(ckpt.preprocessing.mean).view(1, 3, 1, 1)
    std = torch.tensor(ckpt.preprocessing.std).view(1, 3, 1, 1)
    with torch.inference_mode():
        return model((x - mean) / std)["out"].softmax(1)[0, 1].numpy()


class Pointwise(torch.nn.Module):
    """A 1x1 network: each output pixel depends only on its own input pixel."""

    def __init__(self) -> None:
        super().__init__()
        torch.manual_seed(0)
        self.conv = torch.nn.Conv2d(3, 2, 1)

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        return {"out": self.conv(x)}




def _full(image: np.ndarray) -> np.ndarray:
    return np.ones(image.shape[:2], bool)


# --- equivalence -------------------------------------------------------------------------------

def test_single_tile_prediction_equals_a_direct_forward_pass(tiny_checkpoint_path: Path):
    image = synthetic_fundus(70, 90)
    seg = Segmenter(tiny_checkpoint_path, device="cpu", tile_size=128, overlap=16)
    prob = seg.predict(image, fov=_full(image)).probability("vessel")
    assert prob.shape == (70, 90) and prob.dtype == np.float32
    np.testing.assert_allclose(prob, _whole_image_reference(tiny_checkpoint_path, image), atol=1e-4)


@pytest.mark.parametrize(("tile", "overlap"), [(32, 0), (32, 8), (48, 15), (64, 31)])
def test_blending_many_tiles_equals_one_tile_for_a_pointwise_net(tiny_checkpoint_path: Path, tile, overlap):
    image = synthetic_fundus(77, 101)
    whole = Segmenter(tiny_checkpoint_path, device="cpu", tile_size=256, overlap=0)
    tiled = Segmenter(tiny_checkpoint_path, device="cpu", tile_size=tile, overlap=overlap)
    whole.model = tiled.model = Pointwise()
    calls: list[tuple[int, int]] = []
    a = whole.predict(image, fov=_full(image)).probability("vessel")
    b = tiled.predict(image, fov=_full(image), progress=lambda d, t: calls.append((d, t))).probability("vessel")
    assert calls[-1][1] > 4, "the image really was split into tiles"
    np.testing.assert_allclose(b, a, atol=1e-4)


def test_blend_weights_cover_every_pixel_with_positive_weight():
    h, w, tile, overlap = 77, 101, 32, 10
    total = np.zeros((h, w))
    for ys, xs in iter_tiles(h, w, tile, overlap):
        window = blend_window(ys.stop - ys.start, xs.stop - xs.start, overlap)
        assert window.min() > 0 and window.max() <= 1
        total[ys, xs] += window
    assert total.min() > 0


@pytest.mark.parametrize("length", [1, 31, 32, 33, 63, 64, 65, 100, 584, 1000])
@pytest.mark.parametrize(("tile", "overlap"), [(32, 0), (32, 8), (64, 16), (1024, 128)])
def test_tile_starts_cover_the_length_with_the_requested_overlap(length, tile, overlap):
    starts = tile_starts(length, tile, overlap)
    covered = np.zeros(length, bool)
    for s in starts:
        assert 0 <= s and (s + tile <= length or (s == 0 and length < tile))
        covered[s : s + tile] = True
    assert covered.all()
    assert starts == sorted(set(starts))
    for a, b in zip(starts, starts[1:], strict=False):
        assert a + tile - b >= overlap, "neighbouring tiles overlap by at least `overlap`"


# --- progress and cancellation -----------------------------------------------------------------

def test_progress_is_reported_per_tile_and_ends_at_total(tiny_checkpoint_path: Path):
    image = synthetic_fundus(70, 90)
    seg = Segmenter(tiny_checkpoint_path, device="cpu", tile_size=32, overlap=8)
    calls: list[tuple[int, int]] = []
    seg.predict(image, fov=_full(image), progress=lambda d, t: calls.append((d, t)))
    total = calls[-1][1]
    assert total == len(list(iter_tiles(70, 90, 32, 8))) > 1
    assert [d for d, _ in calls] == list(range(total + 1))
    assert all(t == total for _, t in calls)


@pytest.mark.parametrize("allowed", [0, 1, 3])
def test_cancel_stops_after_at_most_one_more_tile(tiny_checkpoint_path: Path, allowed: int):
    image = synthetic_fundus(70, 90)
    seg = Segmenter(tiny_checkpoint_path, device="cpu", tile_size=32, overlap=8)
    done: list[int] = []
    asked = 0

    def should_cancel() -> bool:
        nonlocal asked
        asked += 1
        return asked > allowed

    with pytest.raises(JobCancelled):
        seg.predict(image, fov=_full(image), progress=lambda d, t: done.append(d),
                    should_cancel=should_cancel)
    assert max(done) == allowed


def test_segmenter_is_usable_after_a_cancel(segmenter: Segmenter, fundus: np.ndarray):
    with pytest.raises(JobCancelled):
        segmenter.predict(fundus, should_cancel=lambda: True)
    assert segmenter.predict(fundus).probability("vessel").shape == fundus.shape[:2]


# --- any image ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "image",
    [
        np.full((1, 1, 3), 128, np.uint8),
        np.random.default_rng(0).integers(0, 255, (5, 7, 3), dtype=np.uint8),
        synthetic_fundus(33, 47),
        synthetic_fundus(40, 50)[..., 1],  # gray
        np.dstack([synthetic_fundus(40, 50), np.full((40, 50), 255, np.uint8)]),  # RGBA
        (synthetic_fundus(40, 50).astype(np.uint16) * 257),  # 16-bit RGB
        (synthetic_fundus(40, 50)[..., 0].astype(np.uint16) * 257),  # 16-bit gray
        synthetic_fundus(40, 50)[..., :1],  # H x W x 1
    ],
    ids=["1x1", "5x7", "odd", "gray", "rgba", "rgb16", "gray16", "hw1"],
)
def test_any_size_and_kind_of_image_gives_a_probability_map_of_its_size(segmenter: Segmenter, image: np.ndarray):
    prob = segmenter.predict(image).probability("vessel")
    assert prob.shape == image.shape[:2]
    assert prob.dtype == np.float32
    assert np.isfinite(prob).all() and prob.min() >= 0 and prob.max() <= 1


def test_16_bit_image_gives_the_same_map_as_its_8_bit_version(segmenter: Segmenter):
    image = synthetic_fundus(40, 50)
    sixteen = segmenter.predict(image.astype(np.uint16) * 257).probability("vessel")
    np.testing.assert_allclose(sixteen, segmenter.predict(image).probability("vessel"), atol=1e-4)


def test_probability_is_zero_outside_the_fov(segmenter: Segmenter, fundus: np.ndarray):
    fov = np.zeros(fundus.shape[:2], bool)
    fov[10:60, 20:90] = True
    prob = segmenter.predict(fundus, fov=fov).probability("vessel")
    assert (prob[~fov] == 0).all()
    assert (prob[fov] > 0).any()


def test_without_a_fov_the_dark_border_is_excluded(segmenter: Segmenter, fundus: np.ndarray):
    prob = segmenter.predict(fundus).probability("vessel")
    assert prob[0, 0] == 0 and prob[-1, -1] == 0
    assert (prob[40:56, 50:62] > 0).all()


def test_fov_of_the_wrong_size_is_a_clear_error(segmenter: Segmenter, fundus: np.ndarray):
    with pytest.raises(ValueError, match=r"FOV mask is 111x96 but the image is 112x96"):
        segmenter.predict(fundus, fov=np.ones((96, 111), bool))


def test_not_an_image_is_a_clear_error(segmenter: Segmenter):
    with pytest.raises(ValueError, match="gray or colour image"):
        segmenter.predict(np.zeros((4, 5, 2), np.uint8))
    with pytest.raises(ValueError):
        segmenter.predict(np.zeros((0, 5, 3), np.uint8))


def test_to_rgb_float_scales_by_bit_depth():
    assert to_rgb_float(np.full((2, 2), 255, np.uint8)).max() == 1.0
    assert to_rgb_float(np.full((2, 2, 3), 65535, np.uint16)).max() == 1.0
    assert to_rgb_float(np.full((2, 2, 4), 0.5, np.float32)).shape == (2, 2, 3)


def test_images_are_rescaled_to_the_training_fov_size_and_back(tiny_checkpoint_path: Path):
    ckpt = load_checkpoint(tiny_checkpoint_path)
    ckpt.preprocessing = replace(ckpt.preprocessing, fov_diameter=80)
    seg = Segmenter(checkpoint=ckpt, device="cpu")
    image = synthetic_fundus(40, 50)
    fov = _full(image)
    assert seg.working_scale(fov) == pytest.approx(80 / 50)
    assert seg.predict(image, fov=fov).probability("vessel").shape == (40, 50)
    ckpt.preprocessing = replace(ckpt.preprocessing, fov_diameter=55)  # within tolerance: no resampling
    assert seg.working_scale(fov) == 1.0


def test_bf16_precision_runs_and_stays_close(tiny_checkpoint_path: Path, fundus: np.ndarray):
    fp32 = Segmenter(tiny_checkpoint_path, device="cpu").predict(fundus).probability("vessel")
    bf16 = Segmenter(tiny_checkpoint_path, device="cpu", precision="bf16").predict(fundus).probability("vessel")
    assert bf16.dtype == np.float32
    assert np.abs(bf16 - fp32).max() < 0.1


def test_bad_settings_are_refused(tiny_checkpoint_path: Path):
    with pytest.raises(ValueError, match="precision"):
        Segmenter(tiny_checkpoint_path, device="cpu", precision="fp8")
    with pytest.raises(ValueError, match="tile_size"):
        Segmenter(tiny_checkpoint_path, device="cpu", tile_size=16)
    with pytest.raises(ValueError, match="overlap"):
        Segmenter(tiny_checkpoint_path, device="cpu", tile_size=64, overlap=32)


def test_missing_default_model_is_a_clear_error(monkeypatch, tmp_path: Path):
    monkeypatch.setattr("core.ml.inference.default_model_path", lambda: tmp_path / "vessels_unet16.pt")
    with pytest.raises(CheckpointError, match="default model .* is missing"):
        Segmenter(device="cpu")


def test_missing_model_file_is_a_clear_error(tmp_path: Path):
    with pytest.raises(CheckpointError, match="nope.pt: file not found"):
        Segmenter(tmp_path / "nope.pt", device="cpu")


def test_a_tutorial_checkpoint_segments_with_its_own_normalisation(tmp_path: Path, fundus: np.ndarray):
    from tests.core._tutorial import tutorial_state_dict

    torch.save({"model": tutorial_state_dict(base_c=8), "epoch": 3}, tmp_path / "model_best.pth")
    seg = Segmenter(tmp_path / "model_best.pth", device="cpu")
    assert seg.card()["source"] == "tutorial" and seg.threshold == 0.5
    assert seg.card()["preprocessing"]["mean"] == pytest.approx([0.709, 0.381, 0.224])
    assert seg.predict(fundus).probability("vessel").shape == fundus.shape[:2]




class Failing(torch.nn.Module):
    def __init__(self, exc: BaseException) -> None:
        super().__init__()
        self.exc = exc

    def forward(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        raise self.exc


def test_gpu_out_of_memory_becomes_a_device_failure_suggesting_the_cpu(segmenter: Segmenter, fundus: np.ndarray):
    segmenter.model = Failing(torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB"))
    with pytest.raises(DeviceFailure, match="ran out of memory.*try the CPU"):
        segmenter.predict(fundus)


def test_accelerator_errors_become_device_failures_but_cpu_errors_stay_themselves(segmenter: Segmenter,
                                                                                   fundus: np.ndarray):
    segmenter.model = Failing(RuntimeError("device-side assert triggered"))
    with pytest.raises(RuntimeError, match="device-side assert") as info:
        segmenter.predict(fundus)
    assert not isinstance(info.value, DeviceFailure), "a CPU bug is not hidden behind 'try the CPU'"
    segmenter.device = torch.device("meta")  # stands in for a GPU that fails
    with pytest.raises(DeviceFailure, match="meta failed"):
        segmenter.predict(fundus)


# --- devices -----------------------------------------------------------------------------------

def _machine(monkeypatch, cuda: bool, mps: bool = False) -> None:
    monkeypatch.setattr(torch.cuda, "is_available", lambda: cuda)
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda *_: "Fake GPU 9000")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: mps)


def test_auto_picks_cpu_without_cuda_or_mps(monkeypatch, tiny_checkpoint_path: Path):
    _machine(monkeypatch, cuda=False)
    assert devices.resolve_device("auto") == torch.device("cpu")
    seg = Segmenter(tiny_checkpoint_path)  # device="auto"
    assert seg.device.type == "cpu" and seg.device_name == "CPU"


def test_auto_picks_cuda_when_available(monkeypatch):
    _machine(monkeypatch, cuda=True, mps=True)
    assert devices.available_devices()["cuda"] == "CUDA (Fake GPU 9000)"
    assert devices.resolve_device("auto") == torch.device("cuda")
    assert devices.resolve_device(None) == torch.device("cuda")  # type: ignore[arg-type]


def test_auto_picks_mps_before_cpu(monkeypatch):
    _machine(monkeypatch, cuda=False, mps=True)
    assert devices.resolve_device("auto") == torch.device("mps")


def test_named_devices(monkeypatch):
    _machine(monkeypatch, cuda=False)
    assert devices.resolve_device("CPU") == torch.device("cpu")
    with pytest.raises(ValueError, match="not available on this machine"):
        devices.resolve_device("cuda")
    with pytest.raises(ValueError, match="unknown device"):
        devices.resolve_device("tpu")


def test_flip_averaging_is_equivariant_and_follows_the_checkpoint(tiny_checkpoint_path) -> None:
    """With tta the prediction of a mirrored image is the mirrored prediction."""
    from core.ml.checkpoint import load_checkpoint
    from core.ml.inference import Segmenter
    from tests.conftest import synthetic_fundus

    ckpt = load_checkpoint(tiny_checkpoint_path)
    image = synthetic_fundus(64, 80)
    fov = np.ones(image.shape[:2], bool)
    seg = Segmenter(checkpoint=ckpt, device="cpu", tta=True)
    p = seg.predict(image, fov=fov).probability("vessel")
    p_mirror = seg.predict(image[:, ::-1].copy(), fov=fov).probability("vessel")
    np.testing.assert_allclose(p_mirror[:, ::-1], p, atol=1e-5)
    plain = Segmenter(checkpoint=ckpt, device="cpu", tta=False).predict(image, fov=fov)
    assert not np.allclose(plain.probability("vessel"), p)
    ckpt.inference = {"precision": "bf16", "tta": True}
    recommended = Segmenter(checkpoint=ckpt, device="cpu")
    assert (recommended.precision, recommended.tta) == ("bf16", True)
    assert Segmenter(checkpoint=ckpt, device="cpu", precision="fp32", tta=False).tta is False


def test_small_images_are_enlarged_at_most_max_upscale(tiny_checkpoint_path) -> None:
    from core.ml.checkpoint import load_checkpoint
    from core.ml.preprocessing import MAX_UPSCALE

    ckpt = load_checkpoint(tiny_checkpoint_path)
    ckpt.preprocessing = replace(ckpt.preprocessing, fov_diameter=540)
    seg = Segmenter(checkpoint=ckpt, device="cpu")
    thumbnail_fov = np.ones((60, 60), bool)
    assert seg.working_scale(thumbnail_fov) == MAX_UPSCALE
    assert seg.working_scale(np.ones((300, 300), bool)) == pytest.approx(1.8)
    assert seg.working_scale(np.ones((500, 500), bool)) == 1.0  # within tolerance: untouched
    assert seg.working_scale(np.ones((1400, 1400), bool)) == pytest.approx(540 / 1400)


def test_a_prediction_holds_every_class_summing_to_one_inside_the_fov(segmenter: Segmenter, fundus: np.ndarray):
    fov = estimate_fov(fundus)
    prediction = segmenter.predict(fundus, fov=fov)
    assert prediction.classes == ("background", "vessel") and prediction.probabilities.shape == (2, *fundus.shape[:2])
    np.testing.assert_allclose(prediction.probabilities[:, fov].sum(0), 1.0, atol=1e-5)
    assert not prediction.probabilities[:, ~fov].any(), "every class is 0 outside the FOV"
    assert prediction.thresholds == segmenter.thresholds == {"vessel": segmenter.threshold}


def test_decode_uses_the_model_threshold_unless_told_otherwise(segmenter: Segmenter, fundus: np.ndarray):
    prediction = segmenter.predict(fundus)
    vessel = prediction.probability("vessel")
    assert np.array_equal(prediction.decode() == 1, vessel >= segmenter.threshold)
    assert np.array_equal(prediction.decode({"vessel": 0.9}) == 1, vessel >= 0.9)
    assert prediction.decode().dtype == np.uint8
