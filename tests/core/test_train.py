"""A few-step training run on synthetic fundus images: loss goes down, checkpoints and logs appear, resume works."""

from __future__ import annotations

import csv
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from core.io.datasets import Sample, split_train_val
from core.measure.fov import fov_diameter
from core.ml.checkpoint import load_checkpoint
from core.ml.train import (
    TrainConfig,
    TrainingCancelled,
    poly_lr_factor,
    resized_to_fov,
    split_pool,
    train,
    trained_on_by,
)
from tests.conftest import synthetic_fundus


def synthetic_samples(n: int = 6, h: int = 96, w: int = 112) -> list[Sample]:
    """synthetic_fundus images with labels read off the image: dark lines inside the bright disk."""
    samples = []
    for i in range(n):
        image = synthetic_fundus(h, w, seed=i)
        fov = image[..., 0] > 60
        vessels = fov & (image[..., 0] < 155)
        samples.append(Sample(f"{i + 1:02d}", image, vessels, fov))
    return samples


def _config(out: Path, **overrides) -> TrainConfig:
    base = TrainConfig(out=str(out), base_c=4, epochs=4, steps_per_epoch=5, batch_size=4, crop=64, lr=0.05,
                       val_count=1, device="cpu", scale=(0.8, 1.2), photometric=False, seed=0)
    return replace(base, **overrides)


@pytest.fixture(scope="module")
def samples() -> list[Sample]:
    return synthetic_samples()


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_labels_of_the_synthetic_images_are_plausible(samples: list[Sample]):
    for s in samples:
        assert 0.03 < s.vessels[s.fov].mean() < 0.3
        assert 0.4 < s.fov.mean() < 0.8


def test_a_short_run_lowers_the_loss_and_writes_a_usable_best_checkpoint(tmp_path: Path, samples: list[Sample]):
    progress: list[tuple[int, int]] = []
    result = train(samples, _config(tmp_path), progress=lambda e, t, row: progress.append((e, t)), log=lambda _: None)

    losses = [row["loss"] for row in result.history]
    assert len(losses) == 4 and all(np.isfinite(losses))
    assert losses[-1] < 0.7 * losses[0], losses
    assert progress == [(e, 4) for e in range(1, 5)]

    assert result.best_path == tmp_path / "best.pt" and result.best_path.is_file()
    ckpt = load_checkpoint(result.best_path)
    assert ckpt.arch == {"in_channels": 3, "num_classes": 2, "bilinear": True, "base_c": 4}
    assert ckpt.threshold == pytest.approx(min(max(result.threshold, 0.01), 0.99))
    assert 0 < ckpt.threshold < 1
    validation = ckpt.metrics["validation"]
    assert validation["epoch"] == result.best_epoch and validation["f1"] == pytest.approx(result.val_f1)
    assert len(validation["images"]) == 1
    assert validation["images"][0] not in ckpt.trained_on.split(": ")[1].split(", "), "validation image not trained on"
    assert ckpt.preprocessing.fov_diameter > 0
    assert ckpt.recipe["base_c"] == 4

    with (tmp_path / "log.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert [int(r["epoch"]) for r in rows] == list(range(4))
    assert {"epoch", "lr", "loss", "val_f1", "val_auc", "val_threshold", "seconds"} <= set(rows[0])
    assert (tmp_path / "config.json").is_file() and (tmp_path / "last_state.pt").is_file()


def test_resume_continues_where_the_last_run_stopped(tmp_path: Path, samples: list[Sample]):
    messages: list[str] = []
    train(samples, _config(tmp_path, epochs=2, steps_per_epoch=2), log=messages.append)
    messages.clear()
    result = train(samples, _config(tmp_path, epochs=3, steps_per_epoch=2), log=messages.append)
    assert any("resumed" in m and "epoch 2" in m for m in messages), messages
    assert [int(r["epoch"]) for r in result.history] == [0, 1, 2]
    with (tmp_path / "log.csv").open() as f:
        assert [int(r["epoch"]) for r in csv.DictReader(f)] == [0, 1, 2]


def test_cancelled_then_resumed_run_equals_an_uninterrupted_one(tmp_path: Path, samples: list[Sample]):
    steps = 2
    whole = _config(tmp_path / "whole", epochs=3, steps_per_epoch=steps, val_count=0)
    train(samples, whole, log=lambda _: None)

    parted = replace(whole, out=str(tmp_path / "parted"))
    calls = 0

    def cancel_in_epoch_2() -> bool:
        nonlocal calls
        calls += 1
        return calls > 2 * steps

    with pytest.raises(TrainingCancelled):
        train(samples, parted, should_cancel=cancel_in_epoch_2, log=lambda _: None)
    train(samples, parted, log=lambda _: None)

    a = torch.load(tmp_path / "whole" / "last_state.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "parted" / "last_state.pt", weights_only=True)["model"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_adamw_lowers_the_loss_resumes_exactly_and_is_recorded_in_the_recipe(tmp_path: Path, samples: list[Sample]):
    config = _config(tmp_path / "whole", epochs=3, steps_per_epoch=3, val_count=0, optimizer="adamw", lr=0.01,
                     weight_decay=0.01)
    result = train(samples, config, log=lambda _: None)
    losses = [row["loss"] for row in result.history]
    assert losses[-1] < 0.8 * losses[0], losses
    assert load_checkpoint(result.best_path).recipe["optimizer"] == "adamw"
    state = torch.load(tmp_path / "whole" / "last_state.pt", weights_only=True)
    assert "exp_avg_sq" in next(iter(state["optimizer"]["state"].values())), "AdamW's moments are in the state"

    parted = replace(config, out=str(tmp_path / "parted"))
    train(samples, replace(parted, epochs=1), log=lambda _: None)  # the warm-up epoch: same schedule so far
    train(samples, parted, log=lambda _: None)
    resumed = torch.load(tmp_path / "parted" / "last_state.pt", weights_only=True)["model"]
    for k in state["model"]:
        assert torch.equal(state["model"][k], resumed[k]), k


def test_an_unknown_optimizer_is_refused_by_name(tmp_path: Path, samples: list[Sample]):
    with pytest.raises(ValueError, match="adamw"):
        train(samples, _config(tmp_path, optimizer="lbfgs"), log=lambda _: None)


def test_a_run_stopped_after_some_epochs_resumes_to_the_same_weights(tmp_path: Path, samples: list[Sample]):
    whole = _config(tmp_path / "whole", epochs=3, steps_per_epoch=2, val_count=0)
    train(samples, whole, log=lambda _: None)
    parted = replace(whole, out=str(tmp_path / "parted"))
    messages: list[str] = []
    first = train(samples, replace(parted, stop_after=2), log=messages.append)
    assert [int(r["epoch"]) for r in first.history] == [0, 1]
    assert any("stopped after epoch 1" in m for m in messages), messages
    train(samples, parted, log=lambda _: None)
    a = torch.load(tmp_path / "whole" / "last_state.pt", weights_only=True)["model"]
    b = torch.load(tmp_path / "parted" / "last_state.pt", weights_only=True)["model"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_without_validation_images_the_last_epoch_is_saved(tmp_path: Path, samples: list[Sample]):
    result = train(samples, _config(tmp_path, epochs=1, steps_per_epoch=1, val_count=0), log=lambda _: None)
    assert result.best_epoch == 0
    assert load_checkpoint(result.best_path).threshold == 0.5


def test_poly_schedule_warms_up_then_decays_to_zero():
    assert poly_lr_factor(0, 100, 10) == pytest.approx(1e-3)
    assert poly_lr_factor(5, 100, 10) == pytest.approx(0.5 * 1e-3 + 0.5)
    assert poly_lr_factor(10, 100, 10) == pytest.approx(1.0)
    assert poly_lr_factor(100, 100, 10) == pytest.approx(0.0)
    values = [poly_lr_factor(s, 100, 10) for s in range(10, 101)]
    assert values == sorted(values, reverse=True)


def test_weight_average_follows_the_exponential_moving_average():
    from core.ml.train import weight_average

    model = torch.nn.Linear(2, 1)
    with torch.no_grad():
        model.weight.fill_(0.0)
    ema = weight_average(model, 0.75)
    ema.update_parameters(model)  # first update copies
    with torch.no_grad():
        model.weight.fill_(4.0)
    ema.update_parameters(model)
    assert torch.allclose(ema.module.weight, torch.full((1, 2), 0.25 * 4.0))
    assert weight_average(model, 0.0) is None
    with pytest.raises(ValueError, match="decay"):
        weight_average(model, 1.5)


def test_with_ema_the_saved_model_is_the_average_not_the_last_weights(tmp_path: Path, samples: list[Sample]):
    result = train(samples, _config(tmp_path, epochs=2, steps_per_epoch=3, val_count=0, ema=0.9), log=lambda _: None)
    saved = torch.load(result.best_path, weights_only=False)["model"]
    state = torch.load(tmp_path / "last_state.pt", weights_only=True)
    averaged = {k.removeprefix("module."): v for k, v in state["ema"].items() if k.startswith("module.")}
    assert saved.keys() == averaged.keys()
    for k in saved:
        assert torch.equal(saved[k], averaged[k]), k
    assert not all(torch.equal(saved[k], state["model"][k]) for k in saved)


def test_a_cancelled_ema_run_resumes_its_average_exactly(tmp_path: Path, samples: list[Sample]):
    whole = _config(tmp_path / "whole", epochs=2, steps_per_epoch=2, val_count=0, ema=0.9)
    train(samples, whole, log=lambda _: None)
    parted = replace(whole, out=str(tmp_path / "parted"))
    train(samples, replace(parted, epochs=1), log=lambda _: None)  # stops after epoch 0 ...
    train(samples, parted, log=lambda _: None)  # ... and resumes at epoch 1
    a = torch.load(tmp_path / "whole" / "last_state.pt", weights_only=True)["ema"]
    b = torch.load(tmp_path / "parted" / "last_state.pt", weights_only=True)["ema"]
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_cpu_autocast_is_bf16_only_where_the_cpu_has_it(tmp_path: Path, samples: list[Sample], monkeypatch):
    import core.ml.train as train_module

    monkeypatch.setattr(train_module, "cpu_has_native_bf16", lambda: False)
    fallback = train(samples, _config(tmp_path / "a", epochs=1, steps_per_epoch=2, val_count=0), log=lambda _: None)
    fp32 = train(samples, _config(tmp_path / "b", epochs=1, steps_per_epoch=2, val_count=0, amp=False),
                 log=lambda _: None)
    assert fallback.history[0]["loss"] == fp32.history[0]["loss"]

    monkeypatch.setattr(train_module, "cpu_has_native_bf16", lambda: True)
    bf16 = train(samples, _config(tmp_path / "c", epochs=1, steps_per_epoch=2, val_count=0), log=lambda _: None)
    assert np.isfinite(bf16.history[0]["loss"])
    assert bf16.history[0]["loss"] != fp32.history[0]["loss"]  # bf16 arithmetic rounds differently


def test_select_last_saves_the_final_epoch_with_its_validation_threshold(tmp_path: Path, samples: list[Sample]):
    result = train(samples, _config(tmp_path, epochs=3, steps_per_epoch=2, select="last"), log=lambda _: None)
    assert result.best_epoch == 2
    ckpt = load_checkpoint(result.best_path)
    assert ckpt.metrics["validation"]["epoch"] == 2
    assert ckpt.threshold == pytest.approx(min(max(result.history[-1]["val_threshold"], 0.01), 0.99))
    final = torch.load(tmp_path / "last_state.pt", weights_only=True)["model"]
    saved = torch.load(result.best_path, weights_only=False)["model"]
    assert all(torch.equal(saved[k], final[k]) for k in saved)
    with pytest.raises(ValueError, match="select"):
        train(samples, _config(tmp_path / "x", select="worst"), log=lambda _: None)


def test_pool_training_holds_out_images_of_every_dataset_and_records_its_preprocessing(tmp_path: Path):
    pool = [replace(s, dataset="a") for s in synthetic_samples(4)]
    pool += [replace(s, name=f"b{s.name}", dataset="b") for s in synthetic_samples(4, h=120, w=136)]
    config = _config(tmp_path, epochs=1, steps_per_epoch=2, normalization="fov", fov_target=90, photometric=True)
    logged: list[str] = []
    result = train(pool, config, log=logged.append)

    ckpt = load_checkpoint(result.best_path)
    pre = ckpt.preprocessing
    assert (pre.normalization, pre.fov_diameter, pre.scale_tolerance) == ("fov", 90, 1.0)
    validation = ckpt.metrics["validation"]
    assert sorted(validation["datasets"].values()) == ["a", "b"], "one validation image of each dataset"
    assert set(validation["f1_by_dataset"]) == {"a", "b"}
    assert any("validation F1" in line and "(a " in line and ", b " in line for line in logged), logged


def test_split_pool_with_one_dataset_is_the_classic_split(samples: list[Sample]):
    assert split_pool(samples, 2, seed=3) == split_train_val(samples, 2, seed=3)


def test_resizing_to_a_fov_diameter_keeps_labels_aligned(samples: list[Sample]):
    s = samples[0]
    big = resized_to_fov(s, 2 * fov_diameter(s.fov))
    assert abs(fov_diameter(big.fov) - 2 * fov_diameter(s.fov)) <= 2
    assert big.image.dtype == np.uint8 and big.image.shape[:2] == big.vessels.shape == big.fov.shape
    assert abs(big.vessels[big.fov].mean() - s.vessels[s.fov].mean()) < 0.03


def test_training_records_the_vessel_fraction_range_of_its_labels(tmp_path: Path, samples: list[Sample]):
    result = train(samples, _config(tmp_path, epochs=1, steps_per_epoch=1), log=lambda _: None)
    low, high = load_checkpoint(result.best_path).metrics["vessel_fraction_range"]
    train_set, _ = split_pool(samples, 1, seed=0)
    fractions = [s.vessels[s.fov].mean() for s in train_set]
    assert low == pytest.approx(min(fractions), abs=1e-4) and high == pytest.approx(max(fractions), abs=1e-4)


def test_another_training_seed_keeps_the_validation_split_of_its_val_seed(tmp_path: Path, samples: list[Sample]):
    logs: dict[int, list[str]] = {1: [], 2: []}
    for seed in (1, 2):
        train(samples, _config(tmp_path / f"s{seed}", epochs=1, val_seed=0, seed=seed), log=logs[seed].append)
    validated = [next(line for line in logs[seed] if line.startswith("training on")) for seed in (1, 2)]
    assert validated[0] == validated[1]
    assert split_pool(samples, 1, seed=0)[1][0].name in validated[0]


def test_fine_tuning_warns_when_it_validates_on_images_the_start_model_trained_on(tmp_path: Path,
                                                                                  samples: list[Sample]):
    first = train(samples, _config(tmp_path / "first", epochs=1), log=lambda _: None)
    same, other = [], []
    train(samples, _config(tmp_path / "same", epochs=1, init=str(first.best_path)), log=same.append)
    train(samples, _config(tmp_path / "other", epochs=1, seed=5, init=str(first.best_path)), log=other.append)
    assert not any("warning" in line for line in same)
    assert any("were training images of" in line and "--val-seed" in line for line in other)


def test_trained_on_by_names_validation_images_the_start_model_saw_in_training(samples: list[Sample]):
    from types import SimpleNamespace

    pool = [replace(s, dataset=d) for s, d in zip(samples[:4], ["drive", "drive", "hrf", "chase"], strict=True)]
    start = SimpleNamespace(metrics={"validation": {"images": ["01", "03"], "datasets": {"01": "drive", "03": "hrf"}}})
    assert trained_on_by(start, pool) == ["02"]  # chase: a dataset the start model never saw
    assert trained_on_by(SimpleNamespace(metrics={}), pool) == []


def test_an_artifact_probability_outside_zero_to_one_is_refused(tmp_path: Path, samples: list[Sample]):
    with pytest.raises(ValueError, match="artifact probability"):
        train(samples, _config(tmp_path, artifact_probability=1.5), log=lambda _: None)


def test_skeleton_recall_trains_and_is_recorded_in_the_recipe(tmp_path: Path, samples: list[Sample]):
    config = _config(tmp_path, epochs=2, steps_per_epoch=2, val_count=0, skeleton_recall=1.0)
    result = train(samples, config, log=lambda _: None)
    assert all(np.isfinite(row["loss"]) for row in result.history)
    assert load_checkpoint(result.best_path).recipe["skeleton_recall"] == 1.0


@pytest.mark.parametrize("overrides", [{"skeleton_recall": -1.0},
                                       {"skeleton_recall": 1.0, "task": "arteries_veins"}])
def test_a_negative_or_artery_vein_skeleton_recall_is_refused(tmp_path: Path, samples: list[Sample], overrides):
    with pytest.raises(ValueError, match="skeleton recall"):
        train(samples, _config(tmp_path, **overrides), log=lambda _: None)
