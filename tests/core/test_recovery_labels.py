"""Autosaves carry the artery/vein labels beside the vessel mask; files without them read as having none."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from core.io.recovery import list_recoverable, load_autosave, load_autosave_labels, save_autosave


def _labels(shape: tuple[int, int]) -> np.ndarray:
    return np.random.default_rng(1).integers(0, 3, shape).astype(np.uint8)


def test_labels_come_back_with_the_mask(tmp_path: Path) -> None:
    mask = np.random.default_rng(0).random((37, 53)) < 0.3
    labels = _labels(mask.shape)
    save_autosave(tmp_path, tmp_path / "eye.png", mask, {"optic_disc": {"x": 1.0}}, {"arteries_veins": labels})
    [entry] = list_recoverable(tmp_path).entries
    restored, meta = load_autosave(entry)
    np.testing.assert_array_equal(restored, mask)
    assert meta == {"optic_disc": {"x": 1.0}}
    got = load_autosave_labels(entry)
    assert list(got) == ["arteries_veins"] and got["arteries_veins"].dtype == np.uint8
    np.testing.assert_array_equal(got["arteries_veins"], labels)


def test_an_autosave_without_labels_has_none(tmp_path: Path) -> None:
    save_autosave(tmp_path, tmp_path / "eye.png", np.ones((4, 5), bool))
    [entry] = list_recoverable(tmp_path).entries
    assert load_autosave_labels(entry) == {}


def test_labels_of_another_size_are_refused_before_anything_is_written(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="arteries_veins.*5x4"):
        save_autosave(tmp_path, tmp_path / "eye.png", np.ones((4, 5), bool), labels={"arteries_veins": _labels((5, 4))})
    assert list_recoverable(tmp_path).entries == []
