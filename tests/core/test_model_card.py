"""A model card read for people: the shipped card's figures per dataset, its threshold, use and limits,
without the raw nested dump; a card with nothing in it still reads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.predict.model_card import describe_card

SHIPPED = Path(__file__).resolve().parents[2] / "resources" / "models" / "vessels_unet16.json"


@pytest.fixture(scope="module")
def shipped() -> dict:
    card = json.loads(SHIPPED.read_text(encoding="utf-8"))
    card["path"] = "/somewhere/vessels_unet16.pt"
    return card


def test_the_shipped_card_reads_as_name_training_figures_threshold_use_and_limits(shipped: dict) -> None:
    view = describe_card(shipped)
    assert view.name == "vessels_unet16.pt" and view.task == "vessels (background, vessel)"
    assert view.architecture == "UNet (base width 16), 1.08 M parameters"
    assert view.trained_on == "training splits of DRIVE, CHASE_DB1, HRF (52 images)"  # not 52 image names
    assert [row.split(",")[0] for row in view.training_data] == ["DRIVE", "CHASE_DB1", "HRF"]
    assert view.thresholds == ["vessel: 0.710 (chosen on validation images)"]

    test = {r.dataset: r for r in view.figures if r.split == "test"}
    assert list(test) == ["DRIVE", "CHASE_DB1", "HRF"]
    assert test["DRIVE"].f1 == pytest.approx(0.8092, abs=1e-4) and test["DRIVE"].images == 20
    assert test["HRF"].roc_auc == pytest.approx(0.9775, abs=1e-4) and test["HRF"].second_observer_f1 is None
    assert test["CHASE_DB1"].worst_f1 == pytest.approx(0.7874, abs=1e-4)
    assert test["DRIVE"].second_observer_f1 == pytest.approx(0.7891, abs=1e-4)
    validation = {r.dataset: r for r in view.figures if r.split == "validation"}
    assert validation["CHASE_DB1"].f1 == pytest.approx(0.8337, abs=1e-4) and validation["HRF"].images == 4
    assert "threshold 0.71" in view.figures_note

    assert "not a medical device" in view.intended_use.lower()
    text = " ".join(view.limits)
    assert "heavy JPEG compression (quality 10) (F1 0.71)" in text and "vignetting" in text
    assert "gamma" not in text  # a perturbation that costs little is not a limit
    assert "5.5–16.7 %" in text


def test_nothing_of_the_nested_dump_leaks_into_the_rows(shipped: dict) -> None:
    view = describe_card(shipped)
    rows = [view.name, view.architecture, view.task, view.trained_on, view.preprocessing, view.intended_use,
            *view.training_data, *view.thresholds, *view.limits, view.figures_note]
    for word in ("threshold_for", "{", "precision:", "tta: True", "f1_by_dataset"):
        assert all(word not in row for row in rows), word
    assert view.preprocessing == ("each colour channel standardised inside the field of view; a field of view "
                                  "512–800 px wide kept at its size, a smaller one enlarged to 640 px, a larger "
                                  "one reduced to 800 px; fp32; no flips")
    assert view.raw is not None and "threshold_for" in view.raw["metrics"]["validation"]


@pytest.mark.parametrize("card", [{}, {"thresholds": {"vessel": 0.5}, "metrics": {}, "trained_on": "unknown"},
                                  {"metrics": {"f1": 0.8, "roc_auc": float("nan")}, "thresholds": {"vessel": "x"}},
                                  {"metrics": {"validation": {"f1": 0.77, "images": ["23", "25"]}}},
                                  {"metrics": "garbage", "recipe": {"datasets": ["x", {"name": "DRIVE"}]}}])
def test_a_sparse_or_odd_card_still_reads(card: dict) -> None:
    view = describe_card(card)
    assert view.name == "default model" and view.intended_use and view.limits
    assert all(r.roc_auc is None or r.roc_auc == r.roc_auc for r in view.figures)  # no NaN shown
    if card.get("metrics") == {"validation": {"f1": 0.77, "images": ["23", "25"]}}:
        assert [(r.dataset, r.split, r.images, r.f1) for r in view.figures] == [("all", "validation", 2, 0.77)]


def test_limits_the_card_states_win() -> None:
    assert describe_card({"limitations": ["Only for adults."]}).limits == ["Only for adults."]


def test_the_working_band_is_described_in_words() -> None:
    card = {"preprocessing": {"mean": [0.5] * 3, "std": [0.2] * 3, "fov_diameter": 640, "normalization": "fov",
                              "scale_tolerance": 1.0, "large_fov_diameter": 800}}
    assert describe_card(card).preprocessing == (
        "each colour channel standardised inside the field of view; a field of view 640–800 px wide kept at its "
        "size, a smaller one enlarged to 640 px, a larger one reduced to 800 px")


def test_the_shipped_card_is_strict_json_without_nan() -> None:
    def refuse(constant: str) -> None:
        raise ValueError(f"{constant} is not JSON")

    json.loads(SHIPPED.read_text(encoding="utf-8"), parse_constant=refuse)
