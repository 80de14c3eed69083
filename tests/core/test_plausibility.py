"""The plausibility guard: bad images and implausible results warn; fundus photographs with plausible masks do not."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image, ImageFilter

from core.io.images import load_image
from core.measure.fov import estimate_fov
from core.measure.plausibility import (
    DEFAULT_RANGE,
    PlausibilityWarning,
    VesselRange,
    check_artery_share,
    check_plausibility,
    expected_range,
    result_warnings,
    with_image_checks,
)
from core.predict.prediction import Prediction
from core.predict.tasks import VesselTask
from core.resources import resource_path
from tests.conftest import synthetic_fundus


def codes(warnings: list[PlausibilityWarning]) -> list[str]:
    return [w.code for w in warnings]


def vessel_lines(image: np.ndarray) -> np.ndarray:
    """The synthetic fundus's dark lines: a plausible vessel mask for it."""
    return (image[..., 0] < 150) & estimate_fov(image)


def darkest(image: np.ndarray, share: float) -> np.ndarray:
    """The darkest ``share`` of the green channel inside the FOV: a vessel mask of a plausible size."""
    fov = estimate_fov(image)
    green = image[..., 1].astype(np.float32)
    return fov & (green <= np.quantile(green[fov], share))


@pytest.fixture(scope="module")
def sample() -> np.ndarray:
    return load_image(resource_path("samples", "fundus_cc0.jpg")).pixels


def test_a_fundus_with_a_plausible_mask_gives_no_warning(sample: np.ndarray) -> None:
    fundus = synthetic_fundus(96, 112)
    assert check_plausibility(fundus, None, vessel_lines(fundus)) == []
    assert check_plausibility(sample, None, darkest(sample, 0.1)) == []


def test_uniform_noise_warns() -> None:
    noise = np.random.default_rng(0).integers(0, 256, (300, 300, 3), dtype=np.uint8)
    assert "noisy" in codes(check_plausibility(noise))


def test_a_flat_gray_frame_has_no_fov_and_no_contrast() -> None:
    found = codes(check_plausibility(np.full((200, 240, 3), 128, np.uint8)))
    assert found == ["fov_not_found", "low_contrast"]


def test_a_colourful_photograph_without_a_dark_border_is_not_a_fundus() -> None:
    yy, xx = np.mgrid[0:300, 0:400]
    gradient = np.stack([xx * 0.3, 80 + yy * 0.5, 255 - xx * 0.4], -1).astype(np.uint8)
    found = codes(check_plausibility(gradient))
    assert "not_a_fundus" in found and any(c.startswith("fov_") for c in found)


def test_a_very_dark_fundus_is_too_dark_to_judge(sample: np.ndarray) -> None:
    assert "too_dark" in codes(check_plausibility((sample * 0.1).astype(np.uint8), estimate_fov(sample)))


def test_a_washed_out_fundus_is_too_bright(sample: np.ndarray) -> None:
    bright = np.clip(sample.astype(np.int32) * 4, 0, 255).astype(np.uint8)
    assert "too_bright" in codes(check_plausibility(bright, estimate_fov(sample)))


@pytest.mark.parametrize("shape", [(96, 112), (300, 320)])
def test_a_blurred_fundus_warns(shape: tuple[int, int]) -> None:
    fundus = synthetic_fundus(*shape)
    blurred = np.asarray(Image.fromarray(fundus).filter(ImageFilter.GaussianBlur(3)))
    assert codes(check_plausibility(blurred, estimate_fov(fundus))) == ["blurred"]


def test_the_sample_blurred_at_its_own_scale_warns(sample: np.ndarray) -> None:
    blurred = np.asarray(Image.fromarray(sample).filter(ImageFilter.GaussianBlur(sample.shape[1] / 300)))
    assert codes(check_plausibility(blurred, estimate_fov(sample))) == ["blurred"]


def test_a_mask_flooding_the_fov_warns_with_the_numbers() -> None:
    fundus = synthetic_fundus(96, 112)
    fov = estimate_fov(fundus)
    (warning,) = check_plausibility(fundus, fov, fov)
    assert warning.code == "vessel_fraction_high"
    assert warning.message.startswith("100.0 % of the field of view is marked as vessel;")
    assert DEFAULT_RANGE.text() in warning.message
    assert codes(check_plausibility(fundus, fov, np.zeros_like(fov))) == ["vessel_fraction_low"]


def test_a_prediction_is_checked_with_its_thresholds() -> None:
    fundus = synthetic_fundus(96, 112)
    fov = estimate_fov(fundus)
    vessel = np.where(fov, 0.6, 0.0).astype(np.float32)
    prediction = Prediction(np.stack([1 - vessel, vessel]), VesselTask(), {"vessel": 0.5}, fov)
    assert codes(check_plausibility(fundus, fov, prediction)) == ["vessel_fraction_high"]
    assert check_plausibility(fundus, fov, Prediction(prediction.probabilities, VesselTask(), {"vessel": 0.7}, fov)) \
        == [w for w in check_plausibility(fundus, fov, np.zeros_like(fov))]


def test_the_expected_range_comes_from_the_checkpoint_when_it_records_one() -> None:
    recorded = expected_range({"vessel_fraction_range": [0.02, 0.05], "validation": {"f1": 0.8}})
    assert (recorded.low, recorded.high) == (0.02, 0.05)
    for metrics in (None, {}, {"vessel_fraction_range": "wide"}, {"vessel_fraction_range": [0.3, 0.1]}):
        assert expected_range(metrics) == DEFAULT_RANGE
    fundus = synthetic_fundus(96, 112)
    lines = vessel_lines(fundus)
    assert codes(check_plausibility(fundus, None, lines, VesselRange(0.01, 0.03, "test"))) == ["vessel_fraction_high"]


def test_result_warnings_keep_the_image_checks_and_recheck_the_vessel_fraction() -> None:
    gray = np.full((200, 240, 3), 128, np.uint8)
    fov = np.ones((200, 240), bool)
    vessel = np.full((200, 240), 0.1, np.float32)
    prediction = with_image_checks(Prediction(np.stack([1 - vessel, vessel]), VesselTask(), {"vessel": 0.5}, fov),
                                   gray)
    assert codes(result_warnings(prediction, 0.1)) == ["fov_not_found", "low_contrast"]
    assert codes(result_warnings(prediction, 0.9)) == ["fov_not_found", "low_contrast", "vessel_fraction_high"]
    assert result_warnings(None, 0.9) == []  # a mask drawn by hand is the user's


def _typed(arteries: int, veins: int, crossings: int = 0) -> np.ndarray:
    from core.io.artery_vein import ARTERY, CROSSING, VEIN

    labels = np.zeros(arteries + veins + crossings + 500, np.uint8)
    labels[:arteries] = ARTERY
    labels[arteries:arteries + veins] = VEIN
    labels[arteries + veins:arteries + veins + crossings] = CROSSING
    return labels.reshape(1, -1)


@pytest.mark.parametrize(("arteries", "veins"), [(4500, 5500), (3300, 6700), (7000, 3000)])
def test_artery_shares_like_annotated_retinas_raise_no_warning(arteries: int, veins: int) -> None:
    assert check_artery_share(_typed(arteries, veins, crossings=400)) == []


def test_a_result_calling_most_vessels_arteries_or_veins_is_flagged_by_name() -> None:
    (mostly_arteries,) = check_artery_share(_typed(8500, 1500))
    assert mostly_arteries.code == "artery_share_implausible"
    assert "85 % of the typed vessels are marked as arteries" in mostly_arteries.message
    (mostly_veins,) = check_artery_share(_typed(1000, 9000))
    assert "90 % of the typed vessels are marked as veins" in mostly_veins.message


def test_too_few_typed_pixels_or_no_labels_say_nothing_about_the_balance() -> None:
    assert check_artery_share(_typed(1500, 0)) == []  # under MIN_TYPED_PIXELS
    assert check_artery_share(None) == []
