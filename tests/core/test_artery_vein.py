"""Artery/vein labels: the file convention, the target, the loss, the task, the scores, the start weights."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from core.io.artery_vein import ARTERY, CROSSING, UNCERTAIN, VEIN, labels_from_rgb, rgb_from_labels
from core.io.datasets import IGNORE_INDEX, VESSEL_OF_UNKNOWN_TYPE, Sample
from core.measure.artery_vein import ArteryVeinAccumulator
from core.predict.tasks import get_task, task_for_classes


def _labels() -> np.ndarray:
    labels = np.zeros((6, 8), np.uint8)
    labels[1, :] = ARTERY
    labels[3, :] = VEIN
    labels[1:4, 4] = CROSSING
    labels[5, 0] = UNCERTAIN
    return labels


def test_rgb_file_convention_round_trips() -> None:
    labels = _labels()
    rgb = rgb_from_labels(labels)
    assert tuple(rgb[1, 0]) == (255, 0, 0) and tuple(rgb[3, 0]) == (0, 0, 255)
    assert tuple(rgb[2, 4]) == (0, 255, 0) and tuple(rgb[5, 0]) == (255, 255, 255)
    np.testing.assert_array_equal(labels_from_rgb(rgb), labels)


def test_near_colours_read_as_their_class() -> None:
    rgb = np.array([[[250, 12, 3], [4, 9, 240], [10, 230, 20], [240, 240, 250], [30, 30, 30]]], np.uint8)
    assert labels_from_rgb(rgb).tolist() == [[ARTERY, VEIN, CROSSING, UNCERTAIN, 0]]


def test_target_types_known_vessels_and_leaves_the_rest_to_either() -> None:
    labels = _labels()
    fov = np.ones(labels.shape, bool)
    fov[:, -1] = False
    sample = Sample("x", np.zeros((*labels.shape, 3), np.uint8), labels > 0, fov, "drive", labels)
    t = sample.artery_vein_target()
    assert t[1, 0] == 1 and t[3, 0] == 2 and t[0, 0] == 0
    assert t[2, 4] == VESSEL_OF_UNKNOWN_TYPE and t[5, 0] == VESSEL_OF_UNKNOWN_TYPE
    assert (t[:, -1] == IGNORE_INDEX).all()
    unlabelled = Sample("y", sample.image, labels > 0, fov, "chase")
    assert set(np.unique(unlabelled.artery_vein_target())) == {0, VESSEL_OF_UNKNOWN_TYPE, IGNORE_INDEX}


def test_scores_count_only_typed_reference_pixels() -> None:
    labels = _labels()
    predicted_artery = np.zeros(labels.shape, bool)
    predicted_artery[1, :4] = True  # 4 of the 7 artery-only pixels right, every vein right
    acc = ArteryVeinAccumulator()
    acc.add(predicted_artery, labels)
    s = acc.scores()
    assert s.pixels == 14  # 7 artery + 7 vein; the crossing column and the uncertain pixel left out
    assert s.sensitivity == pytest.approx(4 / 7) and s.specificity == 1.0
    assert s.accuracy == pytest.approx(11 / 14)


def test_task_decodes_vessel_then_type() -> None:
    task = task_for_classes(("background", "artery", "vein"))
    p = np.array([[[0.9, 0.2, 0.3]], [[0.05, 0.7, 0.2]], [[0.05, 0.1, 0.5]]], np.float32)
    assert task.decode(p, {"vessel": 0.5}).tolist() == [[0, 1, 2]]
    np.testing.assert_allclose(task.vessel_probability(p), 1 - p[0], atol=1e-6)


def test_loss_on_unknown_type_ignores_the_artery_vein_split() -> None:
    from core.ml.losses import ArteryVeinLoss

    loss = ArteryVeinLoss(dice_weight=0.0)
    target = torch.full((1, 1, 1), VESSEL_OF_UNKNOWN_TYPE)
    as_artery = torch.tensor([[0.0, 5.0, -5.0]]).view(1, 3, 1, 1)
    as_vein = torch.tensor([[0.0, -5.0, 5.0]]).view(1, 3, 1, 1)
    assert loss(as_artery, target).item() == pytest.approx(loss(as_vein, target).item(), abs=1e-6)
    artery = torch.full((1, 1, 1), 1)
    assert loss(as_artery, artery).item() < loss(as_vein, artery).item()
    ignored = torch.full((1, 1, 1), IGNORE_INDEX)
    assert loss(as_vein, ignored).item() == 0.0


def test_artery_vein_model_starts_from_a_vessel_model_with_the_same_vessel_probability() -> None:
    from core.ml.checkpoint import model_checkpoint
    from core.ml.model import UNet
    from core.ml.preprocessing import Preprocessing
    from core.ml.train import initial_weights

    torch.manual_seed(0)
    vessel = UNet(3, 2, True, 4).eval()
    start = model_checkpoint(vessel, Preprocessing((0.5,) * 3, (0.2,) * 3, "RGB", 0, "fov"))
    av = UNet(3, 3, True, 4).eval()
    av.load_state_dict(initial_weights(av, start, get_task("arteries_veins")))
    x = torch.rand(1, 3, 32, 32)
    with torch.no_grad():
        p_vessel = vessel(x)["out"].softmax(1)[0, 1]
        p_av = av(x)["out"].softmax(1)[0]
    torch.testing.assert_close(p_av[1] + p_av[2], p_vessel, atol=1e-5, rtol=1e-5)
    with pytest.raises(ValueError, match="base_c"):
        initial_weights(UNet(3, 3, True, 8), start, get_task("arteries_veins"))


def test_resizing_a_sample_keeps_artery_and_vein_labels() -> None:
    from core.ml.train import resized_to_fov

    h = w = 200
    yy, xx = np.mgrid[:h, :w]
    fov = (yy - 100) ** 2 + (xx - 100) ** 2 < 95**2
    labels = np.zeros((h, w), np.uint8)
    labels[60:66, 20:180] = ARTERY
    labels[130:140, 20:180] = VEIN
    sample = Sample("x", np.full((h, w, 3), 100, np.uint8), labels > 0, fov, "hrf", labels)
    small = resized_to_fov(sample, 95)
    assert small.av is not None and small.av.shape == small.vessels.shape
    assert set(np.unique(small.av[small.vessels])) == {ARTERY, VEIN}
    assert (small.av[~small.vessels] == 0).all()


def test_artery_vein_labels_export_and_read_back(tmp_path) -> None:
    from core.errors import ExportExistsError, ImageReadError
    from core.io.export import export_artery_vein, read_artery_vein
    from core.io.outputs import OutputNames

    labels = _labels()
    path = OutputNames(tmp_path, "eye").av
    assert path.name == "eye_av.png"
    export_artery_vein(path, labels)
    np.testing.assert_array_equal(read_artery_vein(path, labels.shape), labels)
    with pytest.raises(ExportExistsError):
        export_artery_vein(path, labels)
    with pytest.raises(ImageReadError, match="8x6"):
        read_artery_vein(path, (7, 7))


def test_the_type_term_pulls_typed_pixels_towards_their_type() -> None:
    from core.ml.losses import ArteryVeinLoss

    target = torch.tensor([[[0, 1], [2, VESSEL_OF_UNKNOWN_TYPE]]])
    logits = torch.zeros(1, 3, 2, 2, requires_grad=True)
    ArteryVeinLoss(dice_weight=0.0, type_weight=0.0)(logits, target).backward()
    without = logits.grad.clone()
    logits.grad = None
    ArteryVeinLoss(dice_weight=0.0, type_weight=1.0)(logits, target).backward()
    extra = logits.grad - without
    assert extra[0, 1, 0, 1] < 0 < extra[0, 2, 0, 1]  # the artery pixel: more artery, less vein
    assert extra[0, 2, 1, 0] < 0 < extra[0, 1, 1, 0]  # the vein pixel: the other way round
    assert extra[0, :, 0, 0].abs().max() == 0 and extra[0, :, 1, 1].abs().max() == 0  # others untouched
