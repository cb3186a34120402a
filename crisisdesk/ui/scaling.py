"""High-DPI screens: what Qt must be told before the application object exists.

Qt 6 always scales by the screen's device pixel ratio; sizes in the views are device-independent pixels (or
font-relative), so a window at 150% or 200% is the same window, sharper. What is left to choose is how a
fractional ratio (125%, 150%) is rounded: Qt 6's default passes it through, and the console says so explicitly so
that an environment or a later default cannot round 150% down to 100% (text too small) or up to 200% (a window
that no longer fits a laptop's screen).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication

ROUNDING = Qt.HighDpiScaleFactorRoundingPolicy.PassThrough


def prepare_high_dpi() -> None:
    """Call before the QApplication is made (Qt ignores it afterwards)."""
    if QGuiApplication.instance() is None:
        QGuiApplication.setHighDpiScaleFactorRoundingPolicy(ROUNDING)
