"""Every keyboard shortcut of the window, in one table (the README's shortcut table documents it).

Keys are written out as portable strings ("Ctrl" is Cmd on macOS), never taken from
``QKeySequence.StandardKey``: a standard key means different sequences on each platform (Quit has none
on some Linux desktops), and ``QKeySequence(StandardKey.Redo)`` keeps only the first of them
(Ctrl+Y), so a documented key such as Ctrl+Shift+Z silently did nothing. An action lists all its keys.
"""

from __future__ import annotations

from PySide6.QtGui import QAction, QKeySequence

#: action name -> its keys, the first one shown in menus
SHORTCUTS: dict[str, tuple[str, ...]] = {
    "open": ("Ctrl+O",),
    "open_folder": ("Ctrl+Shift+O",),
    "export": ("Ctrl+S",),
    "batch": ("Ctrl+B",),
    "previous": ("PgUp",),
    "next": ("PgDown",),
    "quit": ("Ctrl+Q",),
    "undo": ("Ctrl+Z",),
    "redo": ("Ctrl+Shift+Z", "Ctrl+Y"),
    "brush": ("B",),
    "eraser": ("E",),
    "lasso_add": ("L",),
    "lasso_remove": ("Shift+L",),
    "artery_brush": ("A",),
    "vein_brush": ("V",),
    "swap_av": ("S",),
    "disc": ("D",),
    "smaller_brush": ("[",),
    "bigger_brush": ("]",),
    "fit": ("Ctrl+0",),
    "actual_pixels": ("Ctrl+1",),
    "zoom_in": ("Ctrl++", "Ctrl+="),
    "zoom_out": ("Ctrl+-",),
    "show_mask": ("M",),
    "show_heat": ("H",),
    "show_fov": ("F",),
    "show_av": ("Shift+A",),
    "show_disc": ("Shift+D",),
    "show_crossings": ("Shift+X",),
    "segment": ("Ctrl+R",),
    "arteries_veins": ("Ctrl+Shift+R",),
    "cancel": ("Esc",),
}


def key_sequences(name: str) -> list[QKeySequence]:
    """The keys of action ``name`` (KeyError for a name the table does not know)."""
    return [QKeySequence(k) for k in SHORTCUTS[name]]


def first_key(name: str) -> str:
    """The main key of ``name`` as shown to the user (for tooltips)."""
    return QKeySequence(SHORTCUTS[name][0]).toString(QKeySequence.SequenceFormat.NativeText)


def bind(action: QAction, name: str) -> QAction:
    """Give ``action`` every key of ``name``; returns the action."""
    action.setShortcuts(key_sequences(name))
    return action
