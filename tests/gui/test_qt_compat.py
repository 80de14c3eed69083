"""The PySide6 6.12.0 / Python 3.11 reference-count guard keeps thousands of Qt calls from aborting."""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal

from gui import qt_compat


class Pinger(QObject):
    ping = Signal(int)


def test_many_void_calls_and_emits_cannot_free_the_singletons(qapp) -> None:  # noqa: ANN001
    qt_compat.apply()  # done on `import gui`; idempotent
    p = Pinger()
    p.ping.connect(lambda _v: None)
    for _ in range(20_000):  # far beyond the few thousand references None/True start with on 3.11
        p.setObjectName("x")
        p.ping.emit(1)
    assert sys.getrefcount(None) > 0 and sys.getrefcount(True) > 0


def test_guard_is_only_applied_when_the_bug_is_present() -> None:
    assert qt_compat._applied == (sys.version_info < (3, 12) and qt_compat.singleton_refcount_leak())
