"""Model > Adapt to my images…: the dialog lists the corrected images (open ones with hand edits, hand-edited
exports), lets the user untick any, runs the fine-tuning in a job runner with progress, time left and
Cancel, and ends with Keep (a saved version, handed on) or Discard (nothing written).

A fake fine-tuning stands in for core.ml.finetune; the helpers here are shared with
test_model_versions_menu.py.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtWidgets import QListWidget, QListWidgetItem, QStyle, QStyleOptionViewItem

from core.io.export import export_mask, export_probability, export_sidecar, make_info
from core.io.images import read_image, write_image
from core.io.model_versions import ModelVersionStore, file_sha256
from gui.dialogs.adapt import HELD_OUT_NOTE, AdaptDialog
from gui.jobs.runner import JobRunner
from tests.conftest import synthetic_fundus


def model_and_corrected(h: int, w: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(probabilities, the model's mask at 0.5, a corrected mask with a 4×10 block added by hand)."""
    rng = np.random.default_rng(seed)
    prob = rng.random((h, w)).astype(np.float32) * 0.4
    prob[h // 2, :] = 0.9  # one horizontal "vessel"
    model = (prob >= 0.5).astype(np.uint8)
    corrected = model.copy()
    corrected[10:14, 20:30] = 1  # 40 pixels drawn by hand
    return prob, model, corrected


def write_export(folder: Path, stem: str, edited: bool = True, seed: int = 0, image_dir: Path | None = None) -> Path:
    """An export as File > Export writes it: mask, probabilities and sidecar, the image beside them."""
    folder.mkdir(parents=True, exist_ok=True)
    image = write_image((image_dir or folder) / f"{stem}.png", synthetic_fundus(96, 112, seed=seed))
    prob, model, corrected = model_and_corrected(96, 112, seed)
    export_mask(folder / f"{stem}_mask.png", corrected if edited else model)
    export_probability(folder / f"{stem}_prob.png", prob)
    info = make_info(image, corrected if edited else model, None, model="tiny.pt", model_path="tiny.pt",
                     threshold=0.5, edited_by_hand=edited)
    export_sidecar(folder / f"{stem}_info.json", info)
    return image


def open_document(name: str, edited: bool = True, seed: int = 0, path: Path | None = None) -> SimpleNamespace:
    """What the dialog reads of an ImageDocument."""
    _prob, model, corrected = model_and_corrected(96, 112, seed)
    mask = corrected if edited else model
    return SimpleNamespace(name=name, path=path, image=synthetic_fundus(96, 112, seed=seed), mask=mask,
                           model_mask=lambda: model, fov=None, has_manual_edits=edited)


class FakeFinetune:
    """core.ml.finetune's stand-in: ``steps`` steps of ``delay`` s with progress and cancel checks.

    ``block`` makes it wait (checking cancel) until released; ``diverge`` returns a run that went wrong.
    """

    def __init__(self, steps: int = 5, delay: float = 0.01, diverge: bool = False, block: bool = False) -> None:
        self.steps, self.delay, self.diverge = steps, delay, diverge
        self.release = threading.Event()
        if not block:
            self.release.set()
        self.started = threading.Event()
        self.calls: list[dict] = []
        self.stopped_by_cancel = False

    def __call__(self, base, images, settings, progress, should_cancel):  # noqa: ANN001, ANN204
        self.started.set()
        self.calls.append({"base": base, "names": sorted(i.name for i in images), "settings": settings,
                           "images": images})
        while not self.release.is_set():
            if should_cancel():
                self.stopped_by_cancel = True
                return self._outcome(None, images, "cancelled: nothing was kept")
            time.sleep(0.01)
        for step in range(1, self.steps + 1):
            if should_cancel():
                self.stopped_by_cancel = True
                return self._outcome(None, images, "cancelled: nothing was kept")
            time.sleep(self.delay)
            progress(step, self.steps, (self.steps - step) * 30.0)
        if self.diverge:
            return self._outcome(None, images, "the loss became nan at step 3: the fine-tuning diverged "
                                               "(try a lower learning rate); nothing was kept")
        return self._outcome(base, images, "")

    def _outcome(self, checkpoint, images, reason):  # noqa: ANN001, ANN202
        names = sorted(i.name for i in images)
        held = names[-1] if len(names) >= 2 else None
        wrong = {n: (400 + i, 120 + i) for i, n in enumerate(names) if n != held}
        return SimpleNamespace(checkpoint=checkpoint, held_out=held, before_f1=0.712 if held else None,
                               after_f1=0.768 if held else None, wrong_pixels=wrong, steps=self.steps, seconds=3.2,
                               offered=not reason, reason=reason, card={"task": "vessels", "fake": True})


def click_check_box(view: QListWidget, item: QListWidgetItem, qtbot) -> None:  # noqa: ANN001
    """A real click on ``item``'s check box, where the style draws it."""
    option = QStyleOptionViewItem()
    view.initViewItemOption(option)
    option.rect = view.visualItemRect(item)
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasCheckIndicator
    option.features |= QStyleOptionViewItem.ViewItemFeature.HasDecoration
    option.decorationSize = view.iconSize()
    rect = view.style().subElementRect(QStyle.SubElement.SE_ItemViewItemCheckIndicator, option, view)
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=QPoint(rect.center()))


# --- the dialog -------------------------------------------------------------------------------------------

@pytest.fixture
def runner(qtbot) -> Iterator[JobRunner]:  # noqa: ANN001
    jobs = JobRunner("test-jobs")
    yield jobs
    jobs.shutdown()


@pytest.fixture
def store(tmp_path: Path) -> ModelVersionStore:
    return ModelVersionStore(tmp_path / "appdata" / "models",
                             write_checkpoint=lambda ckpt, path: path.write_bytes(ckpt))


def make_dialog(qtbot, runner: JobRunner, store: ModelVersionStore, fake: FakeFinetune,  # noqa: ANN001
                documents=(), folders=()) -> AdaptDialog:  # noqa: ANN001
    dialog = AdaptDialog(runner, store, None, "vessels_unet16.pt", documents, folders, finetune=fake,
                         load_base=lambda _path: b"base weights")
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitExposed(dialog)
    qtbot.waitUntil(lambda: not dialog._finding, timeout=30_000)
    return dialog


def item_texts(dialog: AdaptDialog) -> list[str]:
    return [dialog.images.item(i).text() for i in range(dialog.images.count())]


def test_the_dialog_lists_open_and_exported_corrections_with_thumbnail_and_amount(qtbot, runner, store,  # noqa: ANN001
                                                                                   tmp_path: Path) -> None:
    exports = tmp_path / "exports"
    write_export(exports, "exported_eye", seed=3)
    write_export(exports, "untouched", edited=False, seed=4)  # no hand edits: not offered
    write_export(exports, "moved_away", seed=5)
    (exports / "moved_away.png").unlink()  # its image is gone: listed, not usable
    docs = [open_document("b_open.png", seed=1), open_document("a_open.png", seed=2),
            open_document("plain.png", edited=False)]
    dialog = make_dialog(qtbot, runner, store, FakeFinetune(), docs, [exports])

    texts = item_texts(dialog)
    assert [t.splitlines()[0] for t in texts] == ["b_open", "a_open", f"exported_eye  ({HELD_OUT_NOTE})", "moved_away"]
    assert "40 pixels changed by hand" in texts[0] and "% of vessel pixels" in texts[0]
    assert texts[0].splitlines()[2] == "open in this session"
    assert texts[2].splitlines()[1].startswith("40 pixels changed by hand")
    assert texts[2].splitlines()[2] == f"exported to {exports}"
    assert "cannot be used: its image moved_away.png is not at" in texts[3]
    assert [c.name for c in dialog.ticked()] == ["b_open", "a_open", "exported_eye"]
    moved = dialog.images.item(3)
    assert not moved.flags() & Qt.ItemFlag.ItemIsUserCheckable and moved.checkState() == Qt.CheckState.Unchecked
    assert all(not dialog.images.item(i).icon().isNull() for i in range(3))
    assert dialog.summary.text() == "3 of 4 images ticked."
    assert dialog.start.isEnabled()


def test_unticked_images_are_left_out_and_the_held_out_image_follows(qtbot, runner, store) -> None:  # noqa: ANN001
    fake = FakeFinetune()
    docs = [open_document(f"{n}.png", seed=i) for i, n in enumerate(["a", "b", "c"])]
    dialog = make_dialog(qtbot, runner, store, fake, docs)
    click_check_box(dialog.images, dialog.images.item(2), qtbot)
    assert dialog.images.item(2).checkState() == Qt.CheckState.Unchecked
    assert [c.name for c in dialog.ticked()] == ["a", "b"]
    assert HELD_OUT_NOTE in item_texts(dialog)[1] and HELD_OUT_NOTE not in item_texts(dialog)[2]
    click_check_box(dialog.images, dialog.images.item(0), qtbot)
    assert HELD_OUT_NOTE not in "".join(item_texts(dialog))  # one image: nothing held out
    click_check_box(dialog.images, dialog.images.item(1), qtbot)
    assert dialog.summary.text() == "0 of 3 images ticked." and not dialog.start.isEnabled()
    click_check_box(dialog.images, dialog.images.item(1), qtbot)
    click_check_box(dialog.images, dialog.images.item(0), qtbot)
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == 2, timeout=30_000)
    assert fake.calls[0]["names"] == ["a", "b"]
    image = fake.calls[0]["images"][0]
    assert image.labels.dtype == np.uint8 and set(np.unique(image.labels)) == {0, 1}


def test_a_run_shows_progress_and_time_left_then_the_before_and_after(qtbot, runner, store) -> None:  # noqa: ANN001
    fake = FakeFinetune(steps=4, block=True)
    docs = [open_document("a.png", seed=1), open_document("b.png", seed=2)]
    dialog = make_dialog(qtbot, runner, store, fake, docs)
    dialog.minutes.setValue(2)
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    assert dialog.pages.currentIndex() == 1
    assert fake.started.wait(30)
    qtbot.wait(50)  # the window keeps handling events while the job waits
    assert dialog.cancel_button.isEnabled() and dialog.pages.currentIndex() == 1
    fake.release.set()
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == 2, timeout=30_000)
    assert fake.calls[0]["settings"].minutes == 2.0 and fake.calls[0]["base"] == b"base weights"
    assert dialog.progress.maximum() == 4 and dialog.progress.value() == 4
    assert dialog.time_left.text() == "about 5 s left"
    text = dialog.result_page.headline.text()
    assert "in 4 steps (3 s)" in text and "Checked on <b>b</b>" in text
    assert "<b>0.712</b> before, <b>0.768</b> after" in text
    assert dialog.result_page.table.rowCount() == 1
    assert [dialog.result_page.table.item(0, c).text() for c in range(3)] == ["a", "400", "120"]
    page = dialog.result_page
    assert page.keep.isVisible() and page.discard.text() == "Discard" and not page.reason.isVisible()
    assert list(store.folder.glob("*")) == []  # nothing written before Keep


def test_cancel_stops_the_run_and_writes_nothing(qtbot, runner, store) -> None:  # noqa: ANN001
    fake = FakeFinetune(block=True)
    dialog = make_dialog(qtbot, runner, store, fake, [open_document("a.png")])
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    assert fake.started.wait(30)
    qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
    assert dialog.pages.currentIndex() == 0
    assert dialog.summary.text() == "Cancelled: nothing was saved."
    qtbot.waitUntil(lambda: runner.idle, timeout=30_000)
    assert fake.stopped_by_cancel
    assert dialog.result is None and not store.folder.exists()
    assert dialog.start.isEnabled()  # and it can start again


def test_discard_saves_nothing(qtbot, runner, store) -> None:  # noqa: ANN001
    dialog = make_dialog(qtbot, runner, store, FakeFinetune(), [open_document("a.png"), open_document("b.png")])
    kept = []
    dialog.kept.connect(kept.append)
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == 2, timeout=30_000)
    qtbot.mouseClick(dialog.result_page.discard, Qt.MouseButton.LeftButton)
    assert dialog.pages.currentIndex() == 0 and dialog.summary.text() == "Discarded: nothing was saved."
    assert kept == [] and store.list() == [] and not store.folder.exists()


def test_a_diverged_run_says_why_and_offers_no_keep(qtbot, runner, store) -> None:  # noqa: ANN001
    dialog = make_dialog(qtbot, runner, store, FakeFinetune(diverge=True), [open_document("a.png")])
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == 2, timeout=30_000)
    assert dialog.result_page.reason.isVisible()
    assert dialog.result_page.reason.text().startswith("Not offered: the loss became nan at step 3")
    assert not dialog.result_page.keep.isVisible() and dialog.result_page.discard.text() == "Back"
    assert "Only one image" in dialog.result_page.headline.text()
    assert dialog.keep_result() is None and not store.folder.exists()


def test_a_failing_run_is_reported_on_the_images_page(qtbot, runner, store) -> None:  # noqa: ANN001
    def broken(*_args):  # noqa: ANN002, ANN202
        raise ValueError("several images are named a: names must be unique")

    dialog = make_dialog(qtbot, runner, store, broken, [open_document("a.png")])  # type: ignore[arg-type]
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == 0 and "failed" in dialog.summary.text(), timeout=30_000)
    assert dialog.summary.text() == "Adapting failed: several images are named a: names must be unique"


def test_keep_saves_a_version_with_its_card_and_hands_it_on(qtbot, runner, store, tmp_path: Path) -> None:  # noqa: ANN001
    exports = tmp_path / "exports"
    image = write_export(exports, "z_exported", seed=3)
    fake = FakeFinetune()
    dialog = make_dialog(qtbot, runner, store, fake, [open_document("a.png", seed=1)], [exports])
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == 2, timeout=30_000)
    exported = next(i for i in fake.calls[0]["images"] if i.name == "z_exported")  # read in the worker
    assert np.array_equal(exported.labels, model_and_corrected(96, 112, 3)[2])
    assert np.array_equal(exported.image, read_image(image))
    with qtbot.waitSignal(dialog.kept, timeout=30_000) as kept:
        qtbot.mouseClick(dialog.result_page.keep, Qt.MouseButton.LeftButton)
    version = kept.args[0]
    assert store.list() == [version] and version.path.read_bytes() == b"base weights"
    card = version.card
    assert card["base_model"] == "vessels_unet16.pt"
    assert card["images"] == [{"name": "a", "sha256": None}, {"name": "z_exported", "sha256": file_sha256(image)}]
    assert card["results"]["held_out"] == "z_exported" and card["results"]["after_f1"] == 0.768
    assert card["results"]["wrong_pixels"] == {"a": {"before": 400, "after": 120}}
    assert card["settings"]["minutes"] == 4.0 and card["finetune"] == {"task": "vessels", "fake": True}
    assert not dialog.isVisible()


def test_a_failed_save_says_why_and_keeps_the_result(qtbot, runner, tmp_path: Path) -> None:  # noqa: ANN001
    def full_disk(_checkpoint: bytes, _path: Path) -> None:
        raise OSError(28, "No space left on device")

    store = ModelVersionStore(tmp_path / "models", write_checkpoint=full_disk)
    dialog = make_dialog(qtbot, runner, store, FakeFinetune(), [open_document("a.png")])
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: dialog.pages.currentIndex() == 2, timeout=30_000)
    qtbot.mouseClick(dialog.result_page.keep, Qt.MouseButton.LeftButton)
    assert dialog.result_page.save_error.text().startswith("Not saved: cannot save the model version in")
    assert dialog.result_page.save_error.text().endswith("No space left on device")
    assert dialog.isVisible() and dialog.result is not None and store.list() == []


def test_closing_the_dialog_cancels_a_run(qtbot, runner, store) -> None:  # noqa: ANN001
    fake = FakeFinetune(block=True)
    dialog = make_dialog(qtbot, runner, store, fake, [open_document("a.png")])
    qtbot.mouseClick(dialog.start, Qt.MouseButton.LeftButton)
    assert fake.started.wait(30)
    qtbot.keyClick(dialog, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: runner.idle, timeout=30_000)
    assert fake.stopped_by_cancel and not dialog.isVisible() and not store.folder.exists()
