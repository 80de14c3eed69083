"""The compute devices a user can ask for, shared by the command line and the GUI's Device menu.

Torch-free: which of them this machine actually has is asked of ``core.ml.devices`` in a worker.
"""

from __future__ import annotations

DEVICE_LABELS: dict[str, str] = {"auto": "Auto", "cuda": "CUDA", "mps": "Apple MPS", "cpu": "CPU"}
DEVICE_CHOICES: tuple[str, ...] = tuple(DEVICE_LABELS)
DEVICE_HELP = "auto (CUDA, then Apple MPS, then CPU), cuda, mps or cpu"
