"""Checkpoints: tutorial files load with stated defaults; anything unsafe or broken is refused clearly."""

from __future__ import annotations

import argparse
import os
import pickle
from pathlib import Path

import pytest
import torch

from core.errors import CheckpointError
from core.ml.checkpoint import (
    TUTORIAL_MEAN,
    TUTORIAL_STD,
    VERSION,
    Checkpoint,
    load_checkpoint,
    model_checkpoint,
    save_checkpoint,
)
from core.ml.model import UNet
from core.ml.preprocessing import Preprocessing
from tests.core._tutorial import tutorial_state_dict

PRE = Preprocessing((0.5, 0.4, 0.3), (0.2, 0.2, 0.1))


def _tiny_state() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return UNet(base_c=4).state_dict()


def _project_dict(**overrides) -> dict:
    d = model_checkpoint(UNet(base_c=4), PRE, thresholds={"vessel": 0.4}).to_dict()
    d.update(overrides)
    return d


# --- foreign files: the tutorial's training checkpoint and a bare state_dict -------------------

def test_tutorial_training_checkpoint_loads_with_tutorial_defaults(tmp_path: Path):
    sd = tutorial_state_dict(base_c=32)
    path = tmp_path / "model_best.pth"
    # exactly what the tutorial's train.py saves
    torch.save({"model": sd, "optimizer": {"state": {}, "param_groups": [{"lr": 0.01, "params": [0, 1]}]},
                "lr_scheduler": {"last_epoch": 3}, "epoch": 3,
                "args": argparse.Namespace(data_path="./", num_classes=1, device="cuda", lr=0.01)}, path)

    ckpt = load_checkpoint(path)

    assert ckpt.source == "tutorial"
    assert ckpt.arch == {"in_channels": 3, "num_classes": 2, "bilinear": True, "base_c": 32}
    assert ckpt.preprocessing.mean == pytest.approx((0.709, 0.381, 0.224))
    assert ckpt.preprocessing.std == pytest.approx((0.127, 0.079, 0.043))
    assert ckpt.classes == ("background", "vessel") and ckpt.task.name == "vessels"
    assert ckpt.threshold == 0.5
    model = ckpt.build_model()
    assert not model.training
    for k, v in model.state_dict().items():
        assert torch.equal(v, sd[k]), k


def test_bare_state_dict_loads_with_tutorial_defaults(tmp_path: Path):
    sd = tutorial_state_dict(base_c=32)
    torch.save(sd, tmp_path / "bare.pth")
    ckpt = load_checkpoint(tmp_path / "bare.pth")
    assert ckpt.source == "state_dict"
    assert ckpt.arch["base_c"] == 32 and ckpt.arch["bilinear"] is True
    assert ckpt.preprocessing.mean == TUTORIAL_MEAN
    assert ckpt.preprocessing.std == TUTORIAL_STD
    assert ckpt.threshold == 0.5
    ckpt.build_model()


def test_transposed_conv_tutorial_weights_are_recognised(tmp_path: Path):
    torch.save({"model": tutorial_state_dict(base_c=8, bilinear=False)}, tmp_path / "t.pth")
    ckpt = load_checkpoint(tmp_path / "t.pth")
    assert ckpt.arch["bilinear"] is False and ckpt.arch["base_c"] == 8


def test_tutorial_model_produces_the_same_logits_after_loading(tmp_path: Path):
    sd = tutorial_state_dict(base_c=8)
    torch.save({"model": sd}, tmp_path / "t.pth")
    reference = UNet(base_c=8)
    reference.load_state_dict(sd)
    x = torch.rand(1, 3, 40, 44)
    with torch.inference_mode():
        assert torch.equal(load_checkpoint(tmp_path / "t.pth").build_model()(x)["out"], reference.eval()(x)["out"])


# --- the project's own format ----------------------------------------------------------------

def test_round_trip_keeps_weights_and_metadata(tmp_path: Path):
    torch.manual_seed(1)
    model = UNet(base_c=4, bilinear=False)
    pre = Preprocessing(PRE.mean, PRE.std, fov_diameter=540)
    ckpt = model_checkpoint(model, pre, thresholds={"vessel": 0.42}, trained_on="DRIVE training: 21-36",
                            metrics={"validation": {"f1": 0.81}}, recipe={"epochs": 3})
    path = save_checkpoint(ckpt, tmp_path / "m.pt")
    assert not list(tmp_path.glob(".*part")), "no temp file left behind"

    loaded = load_checkpoint(path)

    assert loaded.source == "retinaseg"
    assert loaded.arch == model.arch()
    assert loaded.preprocessing == pre
    assert loaded.thresholds == {"vessel": pytest.approx(0.42)} and loaded.threshold == pytest.approx(0.42)
    assert loaded.classes == ("background", "vessel") and loaded.architecture == "unet"
    assert loaded.trained_on == "DRIVE training: 21-36"
    assert loaded.metrics == {"validation": {"f1": 0.81}}
    assert loaded.recipe == {"epochs": 3}
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict[k], v)
    card = loaded.card()
    assert "model" not in card and card["parameters"] > 0 and card["version"] == VERSION


def test_fixture_checkpoint_loads(tiny_checkpoint_path: Path):
    assert load_checkpoint(tiny_checkpoint_path).arch["base_c"] == 4


# --- refusals: every one is a CheckpointError that names the file and says what is wrong ----

def _refused(path: Path, *words: str) -> str:
    with pytest.raises(CheckpointError) as info:
        load_checkpoint(path)
    message = str(info.value)
    assert str(path) in message
    for word in words:
        assert word.lower() in message.lower(), message
    return message


def test_missing_file_is_refused(tmp_path: Path):
    _refused(tmp_path / "nope.pt", "not found")


def test_empty_file_is_refused(tmp_path: Path):
    (tmp_path / "empty.pt").write_bytes(b"")
    _refused(tmp_path / "empty.pt", "empty")


def test_random_bytes_are_refused_as_unreadable(tmp_path: Path):
    (tmp_path / "noise.pt").write_bytes(os.urandom(4096))
    message = _refused(tmp_path / "noise.pt")
    assert "not a" in message or "damaged" in message
    assert "run code" not in message, "random bytes are not evidence of code: do not say so"


def test_text_file_is_refused(tmp_path: Path):
    (tmp_path / "notes.pt").write_text("hello, not a checkpoint\n" * 20)
    _refused(tmp_path / "notes.pt", "not a readable")


@pytest.mark.parametrize("keep", [0.5, 0.1, 0.99])
def test_truncated_checkpoint_is_refused(tmp_path: Path, keep: float):
    good = save_checkpoint(model_checkpoint(UNet(base_c=4), PRE), tmp_path / "good.pt").read_bytes()
    (tmp_path / "cut.pt").write_bytes(good[: int(len(good) * keep)])
    _refused(tmp_path / "cut.pt", "damaged or truncated")


def test_wrong_keys_are_refused(tmp_path: Path):
    sd = _tiny_state()
    sd["mystery.weight"] = torch.zeros(3)
    torch.save(sd, tmp_path / "extra.pt")
    _refused(tmp_path / "extra.pt", "do not fit", "mystery")
    sd = _tiny_state()
    del sd["up2.conv.0.weight"]
    torch.save({"model": sd}, tmp_path / "missing.pt")
    _refused(tmp_path / "missing.pt", "do not fit", "up2.conv.0.weight")


def test_something_else_entirely_is_refused(tmp_path: Path):
    torch.save({"encoder.weight": torch.zeros(4, 3)}, tmp_path / "other.pt")
    _refused(tmp_path / "other.pt", "not a UNet")
    torch.save([1, 2, 3], tmp_path / "list.pt")
    _refused(tmp_path / "list.pt", "not a checkpoint")
    torch.save({"model": {"a": "not a tensor"}}, tmp_path / "strings.pt")
    _refused(tmp_path / "strings.pt", "non-tensor")


def test_wrong_shapes_are_refused(tmp_path: Path):
    sd = _tiny_state()
    sd["up1.conv.0.weight"] = torch.zeros(3, 3, 3, 3)
    torch.save(_project_dict(model=sd), tmp_path / "shape.pt")
    _refused(tmp_path / "shape.pt", "do not fit", "wrong shape", "up1.conv.0.weight")


def test_arch_that_disagrees_with_the_weights_is_refused(tmp_path: Path):
    torch.save(_project_dict(arch={"in_channels": 3, "num_classes": 2, "bilinear": True, "base_c": 8}),
               tmp_path / "arch.pt")
    _refused(tmp_path / "arch.pt", "do not fit")


def test_nan_weights_are_refused(tmp_path: Path):
    sd = _tiny_state()
    sd["down2.1.0.weight"][0, 0, 0, 0] = float("nan")
    torch.save({"model": sd}, tmp_path / "nan.pt")
    _refused(tmp_path / "nan.pt", "NaN", "down2.1.0.weight")


def test_newer_format_version_is_refused(tmp_path: Path):
    torch.save(_project_dict(version=VERSION + 1), tmp_path / "future.pt")
    _refused(tmp_path / "future.pt", "newer", str(VERSION + 1))


@pytest.mark.parametrize("threshold", [0.0, 1.0, 1.5, float("nan")])
def test_threshold_outside_zero_one_is_refused(tmp_path: Path, threshold: float):
    torch.save(_project_dict(thresholds={"vessel": threshold}), tmp_path / "thr.pt")
    _refused(tmp_path / "thr.pt", "threshold")


def test_malformed_metadata_is_refused(tmp_path: Path):
    d = _project_dict()
    del d["preprocessing"]
    torch.save(d, tmp_path / "meta.pt")
    _refused(tmp_path / "meta.pt", "malformed")


class _CreatesFile:
    """Unpickling this would open (and so create) a file: the classic pickle exploit."""

    def __init__(self, target: Path) -> None:
        self.target = target

    def __reduce__(self):
        return (open, (str(self.target), "w"))


def test_checkpoint_with_code_in_its_pickle_is_refused_without_running_it(tmp_path: Path):
    victim = tmp_path / "pwned.txt"
    torch.save({**_project_dict(), "payload": _CreatesFile(victim)}, tmp_path / "evil.pt")

    message = _refused(tmp_path / "evil.pt", "refused", "code")

    assert not victim.exists(), "the pickled code ran"
    assert "open" in message, "the message names what was refused"


def test_plain_pickle_with_code_is_refused_without_running_it(tmp_path: Path):
    victim = tmp_path / "pwned.txt"
    with (tmp_path / "evil.pkl").open("wb") as f:
        pickle.dump({"model": _CreatesFile(victim)}, f, protocol=2)
    _refused(tmp_path / "evil.pkl", "refused")
    assert not victim.exists()


def test_build_model_refuses_weights_that_do_not_fit():
    ckpt = Checkpoint(state_dict=_tiny_state(), arch={"base_c": 8}, preprocessing=PRE)
    with pytest.raises(CheckpointError, match="do not fit"):
        ckpt.build_model()


def test_a_four_byte_junk_file_is_refused_clearly(tmp_path) -> None:
    junk = tmp_path / "junk.pt"
    junk.write_bytes(b"junk")
    with pytest.raises(CheckpointError, match="junk.pt"):
        load_checkpoint(junk)


# --- format 2: architectures by name, classes, per-class thresholds ------------------------------

def _version1_dict(**overrides) -> dict:
    """What this app wrote before format 2: one scalar threshold, no classes, no architecture name."""
    d = _project_dict()
    for key in ("classes", "thresholds", "architecture"):
        d.pop(key)
    d.update(version=1, threshold=0.37, **overrides)
    return d


def test_version_1_checkpoints_load_as_two_class_vessel_models(tmp_path: Path):
    torch.save(_version1_dict(), tmp_path / "v1.pt")
    ckpt = load_checkpoint(tmp_path / "v1.pt")
    assert ckpt.source == "retinaseg v1" and ckpt.architecture == "unet"
    assert ckpt.classes == ("background", "vessel") and ckpt.thresholds == {"vessel": pytest.approx(0.37)}


def test_saving_writes_the_current_version_with_classes_and_thresholds(tmp_path: Path):
    raw = torch.load(save_checkpoint(model_checkpoint(UNet(base_c=4), PRE), tmp_path / "m.pt"), weights_only=True)
    assert raw["version"] == VERSION == 2
    assert raw["architecture"] == "unet" and raw["classes"] == ["background", "vessel"]
    assert raw["thresholds"] == {"vessel": 0.5} and "threshold" not in raw


def test_a_three_class_model_without_class_names_is_refused_not_shown_as_vessels(tmp_path: Path):
    torch.manual_seed(0)
    torch.save({"model": UNet(base_c=4, num_classes=3).state_dict()}, tmp_path / "three.pth")
    _refused(tmp_path / "three.pth", "3 outputs", "cannot be used")


def test_classes_no_task_knows_are_refused(tmp_path: Path):
    torch.manual_seed(0)
    d = model_checkpoint(UNet(base_c=4, num_classes=3), PRE).to_dict()
    d["classes"] = ["background", "cat", "dog"]
    torch.save(d, tmp_path / "pets.pt")
    _refused(tmp_path / "pets.pt", "3 classes", "cannot be used", "vessels")


def test_class_names_that_disagree_with_the_outputs_are_refused(tmp_path: Path):
    d = _project_dict(classes=["background", "vessel"])
    d["arch"] = {**d["arch"], "num_classes": 3}
    torch.save(d, tmp_path / "count.pt")
    _refused(tmp_path / "count.pt", "3 outputs", "2 classes")


def test_a_missing_class_threshold_is_refused(tmp_path: Path):
    torch.save(_project_dict(thresholds={}), tmp_path / "nothr.pt")
    _refused(tmp_path / "nothr.pt", "no threshold", "vessel")


def test_an_unknown_architecture_is_refused_naming_the_known_ones(tmp_path: Path):
    torch.save(_project_dict(architecture="transformer9000"), tmp_path / "arch.pt")
    _refused(tmp_path / "arch.pt", "unknown architecture", "transformer9000", "unet")


def test_unusable_preprocessing_is_refused(tmp_path: Path):
    torch.save(_project_dict(preprocessing={"mean": [0.5, 0.5, 0.5], "std": [0.0, 0.1, 0.1]}), tmp_path / "std.pt")
    _refused(tmp_path / "std.pt", "preprocessing")
