"""RetinaSeg desktop app (PySide6). No model logic: that lives in core."""

from gui import qt_compat

qt_compat.apply()
