"""`retinaseg train` passes its recipe options through to TrainConfig unchanged."""

from __future__ import annotations

from pathlib import Path

import pytest

import core.ml.train
from core.cli import main
from core.ml.train import TrainConfig, TrainResult
from tests.core.test_data import make_fake_drive


@pytest.fixture
def captured(monkeypatch: pytest.MonkeyPatch) -> list[TrainConfig]:
    configs: list[TrainConfig] = []

    def fake_train(samples, config, progress=None, should_cancel=None, log=print):  # noqa: ANN001, ANN202
        configs.append(config)
        return TrainResult(Path(config.out) / "best.pt", 0, 0.5, 0.8, 0.97, 1.0)

    monkeypatch.setattr(core.ml.train, "train", fake_train)
    return configs


def test_ema_select_weight_decay_and_precision_reach_the_config(tmp_path: Path, captured: list[TrainConfig]):
    drive = make_fake_drive(tmp_path / "DRIVE", "training")
    assert main(["train", "--data", str(drive), "--out", str(tmp_path / "run"), "--ema", "0.99",
                 "--select", "last", "--weight-decay", "5e-4", "--no-amp"]) == 0
    (config,) = captured
    assert (config.ema, config.select, config.weight_decay, config.amp) == (0.99, "last", 5e-4, False)


def test_defaults_keep_the_tutorial_recipe(tmp_path: Path, captured: list[TrainConfig]):
    drive = make_fake_drive(tmp_path / "DRIVE", "training")
    assert main(["train", "--data", str(drive), "--out", str(tmp_path / "run")]) == 0
    (config,) = captured
    assert (config.ema, config.select, config.weight_decay, config.amp) == (0.0, "best", 1e-4, True)


def test_an_unknown_selection_is_refused_by_the_parser(tmp_path: Path, captured: list[TrainConfig]):
    with pytest.raises(SystemExit) as exc:
        main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--select", "worst"])
    assert exc.value.code == 2 and captured == []


def test_the_validation_seed_reaches_the_config_and_defaults_to_none(tmp_path: Path, captured: list[TrainConfig]):
    drive = make_fake_drive(tmp_path / "DRIVE", "training")
    assert main(["train", "--data", str(drive), "--out", str(tmp_path / "a"), "--seed", "3", "--val-seed", "0"]) == 0
    assert main(["train", "--data", str(drive), "--out", str(tmp_path / "b"), "--seed", "3"]) == 0
    assert [(c.seed, c.val_seed) for c in captured] == [(3, 0), (3, None)]


def test_the_artifact_probability_reaches_the_config(tmp_path: Path, captured: list[TrainConfig]):
    drive = make_fake_drive(tmp_path / "DRIVE", "training")
    assert main(["train", "--data", str(drive), "--out", str(tmp_path / "a"), "--normalization", "fov",
                 "--capture-artifacts", "--artifact-probability", "0.4"]) == 0
    assert main(["train", "--data", str(drive), "--out", str(tmp_path / "b")]) == 0
    assert [c.artifact_probability for c in captured] == [0.4, 0.2]


def test_the_skeleton_recall_weight_reaches_the_config_and_defaults_to_off(tmp_path: Path,
                                                                           captured: list[TrainConfig]):
    drive = make_fake_drive(tmp_path / "DRIVE", "training")
    assert main(["train", "--data", str(drive), "--out", str(tmp_path / "a"), "--skeleton-recall", "0.5"]) == 0
    assert main(["train", "--data", str(drive), "--out", str(tmp_path / "b")]) == 0
    assert [c.skeleton_recall for c in captured] == [0.5, 0.0]
