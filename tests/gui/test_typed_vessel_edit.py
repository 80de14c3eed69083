"""Vessel edits after the artery/vein labelling: the brush gives painted vessel the type of the vessel it extends,
the eraser takes the type away with the vessel, a stroke touching no typed vessel stays untyped, and each stroke
with its labels' change is one undo step."""

from __future__ import annotations

import numpy as np

from gui.canvas.tools import Tool
from tests.gui.test_artery_vein import av_checkpoint_path, labelled, segmented  # noqa: F401 (fixtures)
from tests.gui.test_editing import drag


def test_a_stroke_extending_a_typed_vessel_takes_its_type_in_the_same_undo_step(labelled) -> None:  # noqa: ANN001, F811
    doc, editing = labelled.document, labelled.editing
    vessels_before, labels_before = doc.mask.copy(), doc.artery_vein.copy()
    kind = int(labels_before[71, 95])  # the lower vessel ends at column 99
    assert kind in (1, 2)
    editing.tool_actions[Tool.BRUSH].trigger()
    editing.tools.set_size(3)
    drag(labelled.canvas, [(99.5, 71.5), (103.5, 71.5), (108.5, 71.5)])

    painted = (doc.mask != 0) & (vessels_before == 0)
    assert painted[71, 100:108].all()
    assert (doc.artery_vein[painted] == kind).all()
    np.testing.assert_array_equal(doc.artery_vein != 0, doc.mask != 0)  # every vessel still typed, none else
    assert doc.undo_stack.count() == 1 and doc.undo_stack.undoText() == "Paint"
    after_mask, after_labels = doc.mask.copy(), doc.artery_vein.copy()

    editing.act_undo.trigger()
    np.testing.assert_array_equal(doc.mask, vessels_before)
    np.testing.assert_array_equal(doc.artery_vein, labels_before)
    editing.act_redo.trigger()
    np.testing.assert_array_equal(doc.mask, after_mask)
    np.testing.assert_array_equal(doc.artery_vein, after_labels)


def test_the_eraser_takes_the_type_away_with_the_vessel(labelled) -> None:  # noqa: ANN001, F811
    doc, editing = labelled.document, labelled.editing
    labels_before = doc.artery_vein.copy()
    editing.tool_actions[Tool.ERASER].trigger()
    editing.tools.set_size(8)
    drag(labelled.canvas, [(20.5, 26.5), (20.5, 38.5)])  # across the upper vessel

    assert not doc.mask[30:34, 18:23].any() and not doc.artery_vein[30:34, 18:23].any()
    np.testing.assert_array_equal(doc.artery_vein != 0, doc.mask != 0)
    editing.act_undo.trigger()
    np.testing.assert_array_equal(doc.artery_vein, labels_before)


def test_a_stroke_touching_no_typed_vessel_stays_untyped(labelled) -> None:  # noqa: ANN001, F811
    doc, editing = labelled.document, labelled.editing
    labels_before = doc.artery_vein.copy()
    editing.tool_actions[Tool.BRUSH].trigger()
    editing.tools.set_size(3)
    drag(labelled.canvas, [(20.5, 50.5), (35.5, 50.5)])

    assert doc.mask[50, 21:35].all()
    np.testing.assert_array_equal(doc.artery_vein, labels_before)
    assert labelled.canvas.mask_layer.image.pixelColor(28, 50).alpha() > 0  # shown in the vessel colour
