"""The optic disc as the rest of the program sees it: a circle, how it was found, or why it was not."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: How a disc was placed: by the automatic detector, by a learned model, or by the user's hand.
METHODS = ("detector", "model", "hand")


@dataclass(frozen=True)
class OpticDisc:
    """The disc as a circle in image pixels (x: column, y: row, of the original photograph).

    ``score`` is the detector's confidence in 0..1 (1.0 for a disc placed by hand).
    """

    x: float
    y: float
    diameter: float
    score: float = 1.0
    method: str = "detector"

    def __post_init__(self) -> None:
        if not self.diameter > 0:
            raise ValueError(f"an optic disc needs a positive diameter, got {self.diameter}")
        if self.method not in METHODS:
            raise ValueError(f"unknown optic disc method {self.method!r}; expected one of {', '.join(METHODS)}")
        if not 0.0 <= self.score <= 1.0:
            raise ValueError(f"an optic disc score must lie in 0..1, got {self.score}")

    @property
    def radius(self) -> float:
        return self.diameter / 2

    def moved(self, x: float, y: float) -> OpticDisc:
        """The disc dragged by the user to a new centre: now placed by hand."""
        return OpticDisc(x, y, self.diameter, 1.0, "hand")

    def resized(self, diameter: float) -> OpticDisc:
        """The disc resized by the user: now placed by hand."""
        return OpticDisc(self.x, self.y, diameter, 1.0, "hand")

    def as_dict(self) -> dict[str, Any]:
        """Sidecar form: centre and diameter in image pixels, score, method."""
        return {"x": round(self.x, 2), "y": round(self.y, 2), "diameter": round(self.diameter, 2),
                "score": round(self.score, 3), "method": self.method}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> OpticDisc:
        """Read a sidecar entry written by :meth:`as_dict`; ValueError naming what is wrong."""
        try:
            return cls(float(data["x"]), float(data["y"]), float(data["diameter"]),
                       float(data.get("score", 1.0)), str(data.get("method", "hand")))
        except (KeyError, TypeError) as e:
            raise ValueError(f"optic disc entry needs numeric x, y and diameter: {e}") from None


@dataclass(frozen=True)
class DiscNotFound:
    """No disc was placed; ``reason`` is one sentence a user understands."""

    reason: str

    def as_dict(self) -> dict[str, Any]:
        return {"found": False, "reason": self.reason}
