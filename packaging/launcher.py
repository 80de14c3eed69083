"""Entry point of the bundled executable (``dist/RetinaSeg/RetinaSeg``).

``RetinaSeg --self-test`` checks the installation in a terminal without importing Qt (so it works
without a display); every other invocation opens the desktop app with the given arguments.

This folder has no ``__init__.py`` on purpose: a package named ``packaging`` would shadow the
PyPI ``packaging`` library that torch and PyInstaller import.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if "--self-test" in args:
        from core.selftest import main as self_test

        return self_test(args)
    from gui.app import main as gui_main

    # gui.app.main reads sys.argv itself when given None, as `python -m gui` does.
    return int(gui_main(None if argv is None else args) or 0)


if __name__ == "__main__":
    # A frozen program must call this first, or a child process would start another app window.
    multiprocessing.freeze_support()
    sys.exit(main())
