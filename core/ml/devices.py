"""Choosing the compute device: CUDA, then Apple MPS, then CPU."""

from __future__ import annotations

import torch


def available_devices() -> dict[str, str]:
    """Device name -> human description, for the devices this machine can use."""
    found = {"cpu": "CPU"}
    if torch.cuda.is_available():
        found["cuda"] = f"CUDA ({torch.cuda.get_device_name(0)})"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        found["mps"] = "Apple MPS"
    return found


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` picks CUDA, then MPS, then CPU; a named device that is missing is an error."""
    name = (name or "auto").lower()
    have = available_devices()
    if name == "auto":
        for candidate in ("cuda", "mps", "cpu"):
            if candidate in have:
                return torch.device(candidate)
    base = name.split(":")[0]
    if base not in ("cpu", "cuda", "mps"):
        raise ValueError(f"unknown device {name!r}; use auto, cpu, cuda or mps")
    if base not in have:
        raise ValueError(f"device {name!r} is not available on this machine (available: {', '.join(have)})")
    return torch.device(name)
