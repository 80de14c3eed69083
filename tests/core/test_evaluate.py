"""evaluate(): vessel scores of any Predictor inside the FOV, pooled and per image, at a chosen threshold."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pytest

from core.io.datasets import Sample
from core.measure.evaluate import evaluate
from core.predict.prediction import Prediction
from core.predict.tasks import VesselTask
from tests.predictions import vessel_prediction


class TablePredictor:
    """Returns a fixed vessel probability per image (looked up by the image's first pixel value)."""

    task = VesselTask()

    def __init__(self, probabilities: Mapping[int, np.ndarray], threshold: float = 0.5) -> None:
        self.probabilities = probabilities
        self.thresholds = {"vessel": threshold}
        self.seen_fovs: list[np.ndarray | None] = []

    def predict(self, image, fov=None, progress=None, should_cancel=None) -> Prediction:  # noqa: ANN001
        self.seen_fovs.append(fov)
        return vessel_prediction(self.probabilities[int(image[0, 0, 0])], self.thresholds["vessel"], fov)


def _sample(name: str, key: int, vessels: list[list[int]], fov: list[list[int]]) -> Sample:
    v = np.array(vessels, bool)
    return Sample(name, np.full((*v.shape, 3), key, np.uint8), v, np.array(fov, bool))


@pytest.fixture
def two_images() -> tuple[TablePredictor, list[Sample]]:
    # image 1: one true positive, one false positive, one true negative; the bottom row is outside the FOV
    # (a confident wrong answer there must not count). image 2: one false negative, one true positive.
    p1 = np.array([[0.9, 0.8, 0.1], [0.9, 0.9, 0.9]], np.float32)
    p2 = np.array([[0.2, 0.7, 0.0], [0.0, 0.0, 0.0]], np.float32)
    samples = [
        _sample("01", 1, [[1, 0, 0], [0, 0, 0]], [[1, 1, 1], [0, 0, 0]]),
        _sample("02", 2, [[1, 1, 0], [0, 0, 0]], [[1, 1, 1], [1, 1, 1]]),
    ]
    return TablePredictor({1: p1, 2: p2}, threshold=0.5), samples


def test_scores_are_pooled_inside_the_fov_at_the_predictors_threshold(two_images) -> None:
    predictor, samples = two_images
    result = evaluate(predictor, samples)
    assert result.threshold == 0.5
    # pooled over both FOVs: tp 2, fp 1, fn 1, tn 5
    assert result.pooled.f1 == pytest.approx(2 * 2 / (2 * 2 + 1 + 1))
    assert result.pooled.sensitivity == pytest.approx(2 / 3)
    assert result.pooled.specificity == pytest.approx(5 / 6)
    assert [name for name, _ in result.per_image] == ["01", "02"]
    assert result.per_image[0][1].f1 == pytest.approx(2 / 3) and result.per_image[1][1].f1 == pytest.approx(2 / 3)


def test_each_image_is_predicted_with_its_own_fov(two_images) -> None:
    predictor, samples = two_images
    evaluate(predictor, samples)
    assert [f.tolist() for f in predictor.seen_fovs] == [s.fov.tolist() for s in samples]


def test_an_explicit_threshold_overrides_the_predictors(two_images) -> None:
    predictor, samples = two_images
    result = evaluate(predictor, samples, threshold=0.85)
    assert result.threshold == 0.85
    # at 0.85 image 1 keeps its true positive and loses the false positive; image 2 finds nothing
    assert result.pooled.specificity == pytest.approx(1.0)
    assert result.pooled.sensitivity == pytest.approx(1 / 3)


def test_progress_counts_images_and_cancel_stops_between_them(two_images) -> None:
    predictor, samples = two_images
    calls: list[tuple[int, int]] = []
    evaluate(predictor, samples, progress=lambda done, total: calls.append((done, total)))
    assert calls == [(1, 2), (2, 2)]
    stopped = evaluate(predictor, samples, should_cancel=lambda: len(predictor.seen_fovs) >= 3)
    assert [name for name, _ in stopped.per_image] == ["01"]


def test_the_result_reads_as_a_table_and_a_dict(two_images) -> None:
    predictor, samples = two_images
    result = evaluate(predictor, samples)
    d = result.as_dict()
    assert set(d["per_image"]) == {"01", "02"} and d["threshold"] == 0.5
    assert d["mean_per_image"]["f1"] == pytest.approx(2 / 3)
    lines = result.table().splitlines()
    assert lines[2].startswith("01") and lines[3].startswith("02") and lines[-1].startswith("pooled")


def test_vessel_fractions_say_how_much_was_called_vessel_against_how_much_is_drawn(two_images) -> None:
    predictor, samples = two_images
    result = evaluate(predictor, samples)
    # image 1: two of its three FOV pixels called vessel, one drawn; image 2: one of six called, two drawn
    assert result.fractions["01"].ratio == pytest.approx(2.0)
    assert result.fractions["02"].ratio == pytest.approx(0.5)
    pooled = result.pooled_fraction()
    assert (pooled.fov, pooled.predicted, pooled.annotated) == (9, 3, 3)
    assert result.as_dict()["vessel_fraction"]["max_ratio"] == pytest.approx(2.0)


def test_the_worst_image_and_the_best_threshold_diagnostic(two_images) -> None:
    predictor, samples = two_images
    result = evaluate(predictor, samples, threshold=0.85)
    assert result.worst()[0] == "02" and result.worst()[1].f1 == 0.0  # at 0.85 image 2 finds nothing
    best_threshold, best_f1 = result.best
    assert 0.0 < best_threshold < 1.0 and best_f1 >= result.pooled.f1
    assert evaluate(predictor, samples).best == result.best  # the diagnostic ignores the threshold used


def test_the_summary_has_one_row_per_dataset_with_its_worst_image(two_images) -> None:
    from core.measure.evaluate import summary_table

    predictor, samples = two_images
    results = {"A": evaluate(predictor, samples, threshold=0.85), "B": evaluate(predictor, samples[:1])}
    rows = summary_table(results).splitlines()[2:]
    assert [r.split()[0] for r in rows] == ["A", "B"]
    assert rows[0].split()[-1] == "02" and rows[1].split()[1] == "1"
