"""Model registry: architectures by name, as torchvision's ``get_model`` (a new one is one decorator)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torch import nn

from core.errors import CheckpointError

_BUILDERS: dict[str, Callable[..., nn.Module]] = {}


def register_model(name: str) -> Callable[[Callable[..., nn.Module]], Callable[..., nn.Module]]:
    """Class decorator: make an architecture loadable from checkpoints that name it."""
    def add(builder: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
        _BUILDERS[name] = builder
        return builder

    return add


def model_names() -> list[str]:
    return sorted(_BUILDERS)


def build_model(name: str, **kwargs: Any) -> nn.Module:
    """An untrained ``name`` model; CheckpointError for unknown names or arguments."""
    import core.ml.model  # noqa: F401 - registers the built-in architectures

    builder = _BUILDERS.get(name)
    if builder is None:
        raise CheckpointError(f"unknown architecture {name!r}; this app knows {', '.join(model_names())}")
    try:
        return builder(**kwargs)
    except TypeError as exc:
        raise CheckpointError(f"architecture {name!r} does not take these arguments: {exc}") from exc
