"""DocumentState: what is known about one image besides its pixels, Qt-free.

The field of view, one :class:`core.edit.task_result.TaskResult` per task ("vessels",
"arteries_veins"), created on first use, and the optic disc (found, placed by hand, or why there is
none). The GUI's ImageDocument wraps it with signals, an undo stack and display caches.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from core.edit.mask_ops import vessel_fraction
from core.edit.task_result import MaskChange, TaskResult
from core.predict.prediction import Prediction
from core.predict.tasks import get_task

if TYPE_CHECKING:  # the detector's imports (scipy.signal) are not needed to hold its answer
    from core.measure.optic_disc import DiscNotFound, OpticDisc


class DocumentState:
    """The FOV and the results per task of an image of ``shape`` (height, width)."""

    def __init__(self, shape: tuple[int, int]) -> None:
        self.shape = (int(shape[0]), int(shape[1]))
        self.fov: np.ndarray | None = None
        self.results: dict[str, TaskResult] = {}
        #: the optic disc, or why the detector found none (None: not looked for, not placed)
        self.disc: OpticDisc | DiscNotFound | None = None

    def result(self, task: str) -> TaskResult:
        """The result of ``task`` (an empty one, with default thresholds, until something arrives)."""
        if task not in self.results:
            self.results[task] = TaskResult(get_task(task))
        return self.results[task]

    def set_fov(self, fov: np.ndarray) -> None:
        f = np.asarray(fov, bool)
        self.check_shape(f, "FOV mask")
        self.fov = f

    def adopt(self, prediction: Prediction, keep_edits: bool = False) -> MaskChange | None:
        """Take ``prediction`` (and its FOV) into its task's result; see :meth:`TaskResult.adopt`."""
        self.check_shape(prediction.probabilities[0], "probability map")
        self.set_fov(prediction.fov)
        return self.result(prediction.task.name).adopt(prediction, keep_edits)

    def labelled_fraction(self, task: str) -> float | None:
        """Fraction of the FOV (whole image without one) labelled as anything but background; None
        without a mask."""
        mask = self.result(task).mask
        return None if mask is None else vessel_fraction(mask, self.fov)

    def check_shape(self, a: np.ndarray, what: str) -> None:
        """ValueError giving both sizes unless ``a`` is the image's height × width."""
        h, w = self.shape
        if a.shape != (h, w):
            size = f"{a.shape[1]}x{a.shape[0]}" if a.ndim == 2 else f"of shape {a.shape}"
            raise ValueError(f"{what} is {size} but the image is {w}x{h}")
