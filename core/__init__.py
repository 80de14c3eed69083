"""RetinaSeg core: model, data, training, evaluation, inference and image I/O (no Qt)."""

__version__ = "0.1.0"
