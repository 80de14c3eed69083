"""Guard against a reference-count bug in PySide6 6.12.0 on Python < 3.12.

That build drops one reference to ``None`` on every call of a void C++ method and one to ``True``
on every signal emit, as if those objects were immortal (they are from Python 3.12 on). On
Python 3.11 their counts reach zero after a few hundred to a few thousand calls and the
interpreter aborts ("deallocating None" / "deallocating True or False"), typically while the
worker imports torch. The real fix is a PySide6 without the bug (6.11.x here); until then,
:func:`apply` detects the bug and gives the three singletons the effectively infinite count they
have on Python 3.12, so no amount of dropped references can free them.
"""

from __future__ import annotations

import ctypes
import sys

HEADROOM = 1 << 40  # far more dropped references than an app could ever make
_applied = False


def singleton_refcount_leak() -> bool:
    """True when void PySide calls or emits drop references to None/True."""
    if sys.version_info >= (3, 12):
        return False  # immortal objects: dropped references are harmless there
    from PySide6.QtCore import QObject, Signal

    class _Probe(QObject):
        ping = Signal(int)

    probe = _Probe()
    probe.ping.connect(lambda _v: None)
    none_before, true_before = sys.getrefcount(None), sys.getrefcount(True)
    for _ in range(64):
        probe.setObjectName("probe")
        probe.ping.emit(1)
    return sys.getrefcount(None) < none_before - 32 or sys.getrefcount(True) < true_before - 32


def apply() -> bool:
    """Detect the bug and, if present, make None/True/False unfreeable. Returns whether it was needed."""
    global _applied
    if _applied:
        return True
    if not singleton_refcount_leak():
        return False
    if sys.implementation.name != "cpython" or hasattr(sys, "getobjects"):
        return False  # ob_refcnt is not the first field there (Py_TRACE_REFS builds); leave them alone
    for obj in (None, True, False):
        # ob_refcnt is the first field of a CPython object (release builds before 3.12)
        cell = ctypes.c_ssize_t.from_address(id(obj))
        before = sys.getrefcount(obj)
        if cell.value != before - 1:  # getrefcount's own argument adds one; anything else: wrong layout
            return False
        cell.value += HEADROOM
    _applied = True
    return True
