"""Fine-tuning on corrected images: it learns, it checks itself on a held-out image, it refuses what
diverged, a cancel keeps nothing, and corrected pairs load from folders with clear errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from core.adapt.corrections import CorrectedImage, FinetuneSettings, MissingMasksError, load_corrected
from core.errors import ImageWriteError
from core.io.artery_vein import ARTERY, VEIN, rgb_from_labels
from core.ml.checkpoint import load_checkpoint, model_checkpoint, save_checkpoint
from core.ml.finetune import Agreement, _verdict, finetune
from core.ml.losses import SegmentationLoss
from core.ml.model import UNet
from core.ml.preprocessing import Preprocessing
from tests.conftest import synthetic_fundus

ROOT = Path(__file__).resolve().parents[2]
PRE = Preprocessing((0.5, 0.3, 0.2), (0.2, 0.1, 0.1))
#: Steps bound the tiny runs (minutes is generous), so a busy machine changes their duration, not their result.
#: A random-weight base has no answers worth keeping: the consistency term has its own tests.
QUICK = FinetuneSettings(minutes=30, max_steps=60, lr=0.05, crop=64, batch_size=4, blend=1.0, consistency=0.0)


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def corrected(names: list[str], h: int = 96, w: int = 112) -> list[CorrectedImage]:
    """Synthetic fundus photographs whose 'correction' is their dark lines inside the bright disk."""
    images = []
    for i, name in enumerate(names):
        image = synthetic_fundus(h, w, seed=i)
        vessels = (image[..., 0] > 60) & (image[..., 0] < 155)
        images.append(CorrectedImage(name, image, vessels.astype(np.uint8)))
    return images


def tiny_base(num_classes: int = 2):  # type: ignore[no-untyped-def]
    torch.manual_seed(0)
    classes = ("background", "vessel") if num_classes == 2 else ("background", "artery", "vein")
    return model_checkpoint(UNet(num_classes=num_classes, base_c=4).eval(), PRE, classes=classes,
                            thresholds={"vessel": 0.5}, trained_on="nothing (random test weights)")


def test_fine_tuning_learns_the_corrections_and_checks_itself_on_the_held_out_image(tmp_path: Path):
    base = tiny_base()
    images = corrected(["eye1", "eye2", "eye3", "eye4"])
    reports: list[tuple[int, int, float]] = []

    out = finetune(base, images, QUICK, progress=lambda *r: reports.append(r))

    assert out.offered and out.reason == "" and out.checkpoint is not None
    assert out.held_out == "eye4", "the last image by name is held out"
    assert out.before_f1 is not None and out.after_f1 is not None
    assert out.after_f1 > out.before_f1 + 0.3, (out.before_f1, out.after_f1)
    assert set(out.wrong_pixels) == {"eye1", "eye2", "eye3"}, "wrong pixels are counted on the images used"
    assert all(after < 0.7 * before for before, after in out.wrong_pixels.values()), out.wrong_pixels
    assert out.steps == 60 and out.seconds > 0

    # progress: steps counted up to the total, time left down to nothing
    steps = [r[0] for r in reports]
    assert steps == sorted(steps) and reports[-1][:2] == (60, 60) and reports[-1][2] == pytest.approx(0, abs=1e-6)

    # the new model keeps what the base's users rely on, and loads back from disk
    ckpt = out.checkpoint
    assert ckpt.thresholds == base.thresholds and ckpt.classes == base.classes
    assert ckpt.preprocessing == base.preprocessing
    assert not torch.equal(ckpt.state_dict["in_conv.0.weight"], base.state_dict["in_conv.0.weight"])
    loaded = load_checkpoint(save_checkpoint(ckpt, tmp_path / "new.pt"))
    assert loaded.metrics["finetune"]["offered"] is True

    card = out.card
    assert [(i["name"], i["role"]) for i in card["images"]] == [
        ("eye1", "trained"), ("eye2", "trained"), ("eye3", "trained"), ("eye4", "held out")]
    assert all(len(i["image_sha256"]) == 64 and len(i["labels_sha256"]) == 64 for i in card["images"])
    assert card["held_out_f1"] == {"before": out.before_f1, "after": out.after_f1}
    assert card["settings"]["max_steps"] == 60 and card["steps"] == 60
    assert card["threshold"]["vessel"] == 0.5 and len(card["base"]["weights_sha256"]) == 64
    assert len(json.dumps(card)) < 5000, "the card is plain data, no pixels"


def test_the_held_out_image_is_the_last_by_name_and_one_image_holds_nothing_out():
    base = tiny_base()
    one_step = replace(QUICK, max_steps=1)

    three = finetune(base, corrected(["b", "c", "a"]), one_step)
    assert three.held_out == "c"
    assert set(three.wrong_pixels) == {"a", "b"}

    single = finetune(base, corrected(["only"]), one_step)
    assert single.held_out is None and single.before_f1 is None and single.after_f1 is None
    assert "only one image" in single.card["hold_out"]
    assert set(single.wrong_pixels) == {"only"}

    unasked = finetune(base, corrected(["a", "b"]), replace(one_step, hold_out=False))
    assert unasked.held_out is None and "not asked for" in unasked.card["hold_out"]
    assert set(unasked.wrong_pixels) == {"a", "b"}


def test_a_diverging_learning_rate_is_caught_and_the_model_not_offered():
    out = finetune(tiny_base(), corrected(["a", "b", "c"]), replace(QUICK, lr=1e9, max_steps=30))

    assert not out.offered and out.checkpoint is None
    assert "diverged" in out.reason or "agrees less" in out.reason, out.reason


def test_a_nan_loss_stops_at_once_and_says_at_which_step(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(SegmentationLoss, "forward", lambda self, logits, target: logits.sum() * float("nan"))

    out = finetune(tiny_base(), corrected(["a", "b"]), QUICK)

    assert not out.offered and out.checkpoint is None
    assert out.reason.startswith("the loss became nan at step 1"), out.reason
    assert out.steps == 0 and out.card["offered"] is False


def test_a_clear_drop_on_the_held_out_image_or_more_wrong_pixels_refuse_the_model():
    used = [corrected(["a"])[0]]
    from core.ml.finetune import _sample

    sample_a = _sample(used[0], tiny_base().task)
    held = replace(sample_a, name="z")
    before = {"a": Agreement(0.7, 100), "z": Agreement(0.80, 50)}

    assert _verdict(held, [sample_a], before, {"a": Agreement(0.9, 10), "z": Agreement(0.79, 55)}) == ""
    dropped = _verdict(held, [sample_a], before, {"a": Agreement(0.9, 10), "z": Agreement(0.70, 90)})
    assert "z agrees less" in dropped and "0.800 -> 0.700" in dropped
    assert "more pixels wrong" in _verdict(None, [sample_a], before, {"a": Agreement(0.6, 120)})


def test_cancel_returns_no_model_and_writes_nothing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.chdir(tmp_path)
    asked = []

    def should_cancel() -> bool:
        asked.append(1)
        return len(asked) > 12  # after the base is scored and a few steps are done

    out = finetune(tiny_base(), corrected(["a", "b", "c"]), QUICK, should_cancel=should_cancel)

    assert not out.offered and out.checkpoint is None and out.reason.startswith("cancelled")
    assert 0 < out.steps < 60
    assert os.listdir(tmp_path) == []


def test_artery_vein_corrections_fine_tune_an_artery_vein_model():
    base = tiny_base(num_classes=3)
    images = []
    for c in corrected(["a", "b", "c"]):
        labels = np.where(c.labels > 0, ARTERY, 0).astype(np.uint8)
        labels[: labels.shape[0] // 2][labels[: labels.shape[0] // 2] > 0] = VEIN  # veins above, arteries below
        images.append(replace(c, labels=labels))

    # a random start calls everything vessel (F1 0.26); it needs more steps than a vessel model to do better
    out = finetune(base, images, replace(QUICK, max_steps=120))

    assert out.offered and out.checkpoint is not None and out.checkpoint.classes == base.classes
    assert all(after < before for before, after in out.wrong_pixels.values()), out.wrong_pixels
    assert out.card["task"] == "arteries_veins"


def test_bad_input_gets_one_clear_line():
    base = tiny_base()
    with pytest.raises(ValueError, match="no corrected images"):
        finetune(base, [], QUICK)
    with pytest.raises(ValueError, match="several images are named a"):
        finetune(base, corrected(["a", "a"]), QUICK)
    with pytest.raises(ValueError, match="minutes must be above 0"):
        finetune(base, corrected(["a"]), replace(QUICK, minutes=0))
    with pytest.raises(ValueError, match="the labels are 10×20 but the image is 112×96"):
        CorrectedImage("x", synthetic_fundus(), np.zeros((20, 10), np.uint8))


# --- corrected pairs from folders ---

def _write_pairs(folder: Path, names: list[str], with_mask: list[str], masks: Path | None = None) -> None:
    masks = masks or folder
    for i, name in enumerate(names):
        image = synthetic_fundus(40, 50, seed=i)
        Image.fromarray(image).save(folder / f"{name}.png")
        if name in with_mask:
            Image.fromarray(np.where(image[..., 0] < 155, 255, 0).astype(np.uint8)).save(masks / f"{name}_mask.png")


def test_load_corrected_reads_images_and_their_masks_from_one_folder(tmp_path: Path):
    _write_pairs(tmp_path, ["eye1", "eye2"], ["eye1", "eye2"])

    pairs = load_corrected(tmp_path, tmp_path)

    assert [p.name for p in pairs] == ["eye1", "eye2"], "the masks themselves are not taken for photographs"
    assert all(p.image.dtype == np.uint8 and p.image.shape == (40, 50, 3) for p in pairs)
    assert all(set(np.unique(p.labels)) <= {0, 1} and p.labels.any() for p in pairs), "0/255 masks read as 0/1"


def test_images_without_masks_are_all_named_before_anything_is_read(tmp_path: Path):
    images, masks = tmp_path / "images", tmp_path / "masks"
    images.mkdir()
    masks.mkdir()
    _write_pairs(images, ["a", "b", "c"], ["b"], masks)

    with pytest.raises(MissingMasksError) as caught:
        load_corrected(images, masks)

    assert caught.value.images == ("a.png", "c.png")
    assert "2 image(s) without a corrected mask (expected <stem>_mask.png): a.png, c.png" in str(caught.value)


def test_artery_vein_masks_are_read_in_the_rgb_convention(tmp_path: Path):
    Image.fromarray(synthetic_fundus(40, 50)).save(tmp_path / "eye.png")
    labels = np.zeros((40, 50), np.uint8)
    labels[5, :] = ARTERY
    labels[9, :] = VEIN
    Image.fromarray(rgb_from_labels(labels)).save(tmp_path / "eye_av.png")

    (pair,) = load_corrected(tmp_path, tmp_path, task="arteries_veins")

    assert np.array_equal(pair.labels, labels)


def test_a_mask_of_another_size_names_the_image(tmp_path: Path):
    Image.fromarray(synthetic_fundus(40, 50)).save(tmp_path / "eye.png")
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(tmp_path / "eye_mask.png")

    with pytest.raises(ValueError, match="eye: the labels are 30×30 but the image is 50×40"):
        load_corrected(tmp_path, tmp_path)


# --- saving a fine-tuned model ---

def test_a_crash_while_saving_leaves_the_old_model_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = save_checkpoint(tiny_base(), tmp_path / "model.pt")
    old = path.read_bytes()

    def crash(obj, f):  # type: ignore[no-untyped-def]
        f.write(old[:1000])  # half a file, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(ImageWriteError, match="No space left on device"):
        save_checkpoint(tiny_base(), path)

    assert path.read_bytes() == old
    assert [p.name for p in tmp_path.iterdir()] == ["model.pt"], "no temp file is left behind"


@pytest.mark.slow
def test_a_3504x2336_photograph_fine_tunes_within_3_gb(tmp_path: Path):
    """Peak memory of a whole run (scoring at full size included) with a camera's largest images."""
    code = f"""
import resource, sys, numpy as np, torch
sys.path.insert(0, {str(ROOT)!r})
from tests.core.test_finetune import tiny_base, QUICK
from core.adapt.corrections import CorrectedImage
from dataclasses import replace
torch.set_num_threads(2)
yy, xx = np.mgrid[0:2336, 0:3504]
disk = (yy - 1168) ** 2 + (xx - 1752) ** 2 < 1150 ** 2
image = np.zeros((2336, 3504, 3), np.uint8)
image[disk] = (200, 90, 40)
lines = disk & (np.sin(xx / 40.0) > 0.97)
image[lines] //= 2
del yy, xx
small = CorrectedImage("small", image[1000:1200, 1500:1800].copy(), lines[1000:1200, 1500:1800].astype(np.uint8))
big = CorrectedImage("big", image, lines.astype(np.uint8))
from core.ml.finetune import finetune
out = finetune(tiny_base(), [big, small], replace(QUICK, max_steps=3, consistency=1.0))  # the default's extra copy
assert out.steps == 3, out.reason
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024)
"""
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1200, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr[-2000:]
    peak_mb = int(proc.stdout.strip().splitlines()[-1])
    assert peak_mb < 3 * 1024, f"peak RSS {peak_mb} MB"
    print(f"peak RSS {peak_mb} MB")


def test_a_blend_keeps_the_model_between_the_base_and_the_fine_tuned_weights():
    base = tiny_base()
    images = corrected(["a", "b"])
    steps = replace(QUICK, max_steps=5, hold_out=False)

    full = finetune(base, images, steps).checkpoint
    half = finetune(base, images, replace(steps, blend=0.5)).checkpoint

    assert full is not None and half is not None
    for name, w in half.state_dict.items():
        if w.is_floating_point():
            torch.testing.assert_close(w, (base.state_dict[name] + full.state_dict[name]) / 2)
    assert half.metrics["finetune"]["settings"]["blend"] == 0.5


# --- holding what the base knew ---

def test_a_base_without_weight_importance_fine_tunes_as_before_whatever_the_anchor():
    base = tiny_base()
    images = corrected(["a", "b"])
    steps = replace(QUICK, max_steps=5, hold_out=False)

    free = finetune(base, images, steps).checkpoint
    asked = finetune(base, images, replace(steps, anchor=1000.0))

    assert free is not None and asked.checkpoint is not None
    for name, w in asked.checkpoint.state_dict.items():
        assert torch.equal(w, free.state_dict[name]), name
    assert asked.card["anchor"] == "none: the base model carries no weight importance"
    assert asked.checkpoint.importance == {}


def test_the_anchor_holds_the_weights_the_base_depends_on_and_the_importance_travels_on():
    from core.ml.finetune import _sample
    from core.ml.importance import with_importance

    plain = tiny_base()
    images = corrected(["a", "b", "c"])
    base = with_importance(plain, [_sample(c, plain.task) for c in corrected(["x", "y"], 80, 90)], draws=2)
    steps = replace(QUICK, max_steps=20, hold_out=False)

    def drift(ckpt) -> float:  # type: ignore[no-untyped-def]
        """Σ F (θ - θ_base)²: what the base's own images would lose, to second order."""
        return sum(float((f * (ckpt.state_dict[k] - base.state_dict[k]) ** 2).sum())
                   for k, f in base.importance.items())

    free = finetune(base, images, steps)
    held = finetune(base, images, replace(steps, anchor=100.0))

    assert free.checkpoint is not None and held.checkpoint is not None
    assert drift(held.checkpoint) < 0.05 * drift(free.checkpoint), (drift(held.checkpoint), drift(free.checkpoint))
    assert held.card["anchor"] == "EWC, strength 100, on the base's weight importance from 2 of its training images"
    assert free.card["anchor"] == "none"
    assert set(held.checkpoint.importance) == set(base.importance), "a later fine-tuning still holds them"
    assert held.checkpoint.metrics["importance"]["images"] == ["x", "y"]


def test_training_only_the_decoder_leaves_the_encoder_as_it_was():
    base = tiny_base()

    out = finetune(base, corrected(["a", "b"]), replace(QUICK, max_steps=5, hold_out=False, trainable="decoder"))

    assert out.checkpoint is not None
    changed = {k for k, w in out.checkpoint.state_dict.items() if w.is_floating_point()
               and not torch.equal(w, base.state_dict[k])}
    assert changed and all(k.startswith(("up", "out_conv")) for k in changed), sorted(changed)
    assert out.card["settings"]["trainable"] == "decoder"


def test_settings_that_cannot_hold_or_choose_weights_are_refused():
    assert FinetuneSettings(anchor=-1).problem() == "anchor must be 0 or above, got -1"
    assert FinetuneSettings(trainable="encoder").problem() == "trainable must be one of all, decoder, got 'encoder'"


def _answers_in_base_colours(ckpt, images: list[CorrectedImage]) -> torch.Tensor:  # type: ignore[no-untyped-def]
    """Vessel probabilities of ``ckpt`` on ``images`` standardised inside their FOV (the base's mean colour)."""
    from core.ml.finetune import _sample

    standardised = replace(ckpt.preprocessing, normalization="fov")
    model = ckpt.build_model()
    out = []
    with torch.no_grad():
        for c in images:
            s = _sample(c, ckpt.task)
            x = standardised.normalize(torch.from_numpy(s.image).permute(2, 0, 1).float() / 255, s.fov)
            out.append(model(x[None])["out"].softmax(1)[0, 1][torch.from_numpy(s.fov)])
    return torch.cat(out)


def test_the_consistency_keeps_the_base_answers_on_the_images_in_its_own_colours():
    base = tiny_base()
    images = corrected(["a", "b"])
    steps = replace(QUICK, max_steps=20, hold_out=False)
    before = _answers_in_base_colours(base, images)

    free = finetune(base, images, steps)
    kept = finetune(base, images, replace(steps, consistency=10.0))

    assert free.checkpoint is not None and kept.checkpoint is not None
    drift_free = (_answers_in_base_colours(free.checkpoint, images) - before).abs().mean()
    drift_kept = (_answers_in_base_colours(kept.checkpoint, images) - before).abs().mean()
    assert drift_kept < 0.5 * drift_free, (float(drift_kept), float(drift_free))
    assert all(a < b for b, a in kept.wrong_pixels.values()), "the corrections are still learnt"
    assert kept.card["consistency"].startswith("weight 10: the base's answers kept")
    assert free.card["consistency"] == "none"


def test_a_base_that_standardises_each_image_gets_no_consistency_term():
    base = replace(tiny_base(), preprocessing=replace(PRE, normalization="fov"))
    images = corrected(["a", "b"])
    steps = replace(QUICK, max_steps=5, hold_out=False)

    free = finetune(base, images, steps).checkpoint
    asked = finetune(base, images, replace(steps, consistency=10.0))

    assert free is not None and asked.checkpoint is not None
    assert all(torch.equal(w, free.state_dict[k]) for k, w in asked.checkpoint.state_dict.items())
    assert asked.card["consistency"].startswith("none: the base standardises each image itself")
    assert FinetuneSettings(consistency=-0.5).problem() == "consistency must be 0 or above, got -0.5"


def test_the_default_blend_depends_on_whether_the_consistency_term_applies() -> None:
    """A base that standardises each image gets the blend chosen without the term, which would otherwise let
    the model forget most of the other cameras; an explicit blend is kept."""
    from core.adapt.corrections import BLEND_ALONE, BLEND_WITH_CONSISTENCY

    assert FinetuneSettings().resolved(consistency_applies=True).blend == BLEND_WITH_CONSISTENCY
    assert FinetuneSettings().resolved(consistency_applies=False).blend == BLEND_ALONE
    assert FinetuneSettings(consistency=0).resolved(consistency_applies=True).blend == BLEND_ALONE
    assert FinetuneSettings(blend=0.7).resolved(consistency_applies=False).blend == 0.7
    assert "blend" in FinetuneSettings(blend=1.5).problem()


def test_the_default_blend_follows_the_number_of_images_trained_on_and_the_card_says_so() -> None:
    """Where the consistency term applies, the blend was chosen on validation images for 1, 2 and 4 images
    trained on (without it the blend is small already)."""
    from core.adapt.corrections import (
        BLEND_ALONE,
        BLEND_WITH_CONSISTENCY,
        BLEND_WITH_CONSISTENCY_FOUR_IMAGES,
        BLEND_WITH_CONSISTENCY_ONE_IMAGE,
    )

    settings = FinetuneSettings()
    assert [settings.trained_images(n) for n in (1, 2, 3, 5)] == [1, 1, 2, 4]
    assert FinetuneSettings(hold_out=False).trained_images(2) == 2
    assert settings.resolved(True, trained_images=1).blend == BLEND_WITH_CONSISTENCY_ONE_IMAGE
    assert settings.resolved(True, trained_images=3).blend == BLEND_WITH_CONSISTENCY
    assert settings.resolved(True, trained_images=4).blend == BLEND_WITH_CONSISTENCY_FOUR_IMAGES
    assert settings.resolved(True, trained_images=9).blend == BLEND_WITH_CONSISTENCY_FOUR_IMAGES
    assert settings.resolved(False, trained_images=1).blend == BLEND_ALONE

    quick = replace(QUICK, max_steps=2, blend=None, consistency=1.0)
    one = finetune(tiny_base(), corrected(["a"]), quick)
    two = finetune(tiny_base(), corrected(["a", "b"]), quick)  # one held out: one trained on
    three = finetune(tiny_base(), corrected(["a", "b", "c"]), quick)
    assert one.card["settings"]["blend"] == two.card["settings"]["blend"] == BLEND_WITH_CONSISTENCY_ONE_IMAGE
    assert three.card["settings"]["blend"] == BLEND_WITH_CONSISTENCY
