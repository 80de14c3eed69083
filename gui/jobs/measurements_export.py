"""The biomarkers in an export, written in the export's worker: the sidecar's ``biomarkers`` block and
``<stem>_biomarkers.csv``, one header and one row beside the mask.

The sidecar block is the report as data (:meth:`BiomarkerReport.to_dict`): the scale, then one record per
biomarker with ``name``, ``vessels``, ``region``, ``status`` and either ``value``, ``unit``, ``physical``,
``physical_unit``, ``scale``, ``method``, ``note``, or the ``reason`` it was not measured. The CSV row is
``source`` and then the fixed columns of core.measure.biomarkers.table, the same as ``retinaseg measure``
writes, so the rows of many exports stack into one table: ``vessel_length_px``, ``vessel_length_mm``,
``average_width_artery_px``, ``crae_zone_b_um``, and beside each value a ``_missing`` cell with the reason it
was not measured. When the biomarkers cannot be computed at all the block and the row carry the one-line
reason; the export itself goes on.
"""

from __future__ import annotations

import csv
import io
import traceback
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import RetinaSegError
from core.io.atomic import write_bytes_atomic

if TYPE_CHECKING:
    from core.measure.biomarkers import BiomarkerReport


def csv_path(folder: str | Path, stem: str) -> Path:
    """``<folder>/<stem>_biomarkers.csv``."""
    return Path(folder) / f"{stem}_biomarkers.csv"


class Biomarkers:
    """The biomarkers of one export, computed at most once (an export asked again after the overwrite
    question reuses them). ``measure`` runs in the export's worker."""

    def __init__(self, measure: Callable[[], BiomarkerReport]) -> None:
        self._measure = measure
        self._done = False
        self.report: BiomarkerReport | None = None
        self.error = ""

    def get(self) -> Biomarkers:
        if not self._done:
            try:
                self.report = self._measure()
            except (RetinaSegError, ValueError) as exc:  # core's BiomarkerInputError is both
                self.error = str(exc)
            except Exception as exc:  # noqa: BLE001 - a measuring bug must not stop the mask from being saved
                traceback.print_exc()
                self.error = f"the biomarkers could not be computed ({type(exc).__name__}: {exc})"
            self._done = True
        return self

    def block(self) -> dict[str, Any]:
        """The sidecar's ``biomarkers``: the report's data, or ``{"error": reason}``."""
        return self.report.to_dict() if self.report is not None else {"error": self.error}

    def row(self, source: str) -> dict[str, Any]:
        """The CSV row: ``source``, then core.measure.biomarkers.table's columns (the same as
        ``retinaseg measure`` writes), every ``_missing`` cell the reason when nothing could be measured."""
        from core.measure.biomarkers import biomarker_row

        return {"source": source, **biomarker_row(self.report, self.error)}


def write_csv(path: Path, row: dict[str, Any]) -> Path:
    """Write one header and one row, atomically (the export checked beforehand whether it may replace it)."""
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(row), lineterminator="\n")
    writer.writeheader()
    writer.writerow(row)
    data = text.getvalue().encode("utf-8")
    write_bytes_atomic(path, lambda f: f.write(data))
    return path


def with_biomarkers(args: dict[str, Any], measure: Callable[[], BiomarkerReport], target: Path) -> Callable[[], dict]:
    """core.io.export.export_all's keyword ``args`` completed with the biomarkers: a function for the worker
    that measures (once), adds the ``biomarkers`` block to ``args["info"]``'s measurements and writes ``target``
    (the CSV row) with the other files, checked with them."""
    found = Biomarkers(measure)

    def complete() -> dict[str, Any]:
        found.get()
        info = args["info"]
        row = found.row(info.source)
        return {**args, "info": replace(info, measurements={**info.measurements, "biomarkers": found.block()}),
                "extra": [*args.get("extra", ()), (target, lambda p: write_csv(p, row))]}

    return complete
