"""A picklable recipe for a Segmenter, from which each worker process builds its own."""

from __future__ import annotations

from dataclasses import dataclass

from core.predict.prediction import Predictor


@dataclass(frozen=True)
class SegmenterSpec:
    """What ``Segmenter(...)`` is built from; calling it builds one (torch is imported only then)."""

    model_path: str | None
    device: str = "cpu"
    precision: str | None = None
    tta: bool | None = None
    #: torch threads per process: workers × threads should not exceed the CPU cores.
    threads: int | None = None

    def __call__(self) -> Predictor:
        from core.ml.inference import Segmenter

        return Segmenter(self.model_path, device=self.device, precision=self.precision, tta=self.tta,
                         threads=self.threads)
