"""The console's colours, in one place: state colours for text that read on light and on dark palettes, and the
LIVE and EXERCISE bands.

No colour carries meaning alone: every state is also said in words (and the bands differ in shape), so a
colour-blind reader or a greyscale print tells them apart. Views ask for a colour by meaning:

    label.setStyleSheet(text_style("bad"))          # text in the state colour for the palette in use
    brush = QBrush(state_colour("warning"))         # the same, as a QColor
    background, foreground = band_colours("exercise")

Each text colour has a light-palette and a dark-palette shade (no one colour reaches 4.5:1 against both white and
near-black); ``tests/ui/test_palette.py`` checks WCAG contrast of each against both palettes' Base and Window.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PySide6.QtGui import QColor, QPalette
from PySide6.QtWidgets import QApplication

State = Literal["ok", "warning", "bad", "live", "exercise", "muted"]
STATES: tuple[State, ...] = ("ok", "warning", "bad", "live", "exercise", "muted")
Mode = Literal["live", "exercise"]

MIN_TEXT_CONTRAST = 4.5  # WCAG AA for normal text


@dataclass(frozen=True, slots=True)
class Shades:
    light: str  # on a light palette (dark text)
    dark: str  # on a dark palette (light text)


TEXT: dict[State, Shades] = {
    "ok": Shades("#1b5e20", "#81c784"),
    "warning": Shades("#8a4500", "#ffb74d"),  # amber: due soon, failed and retrying
    "bad": Shades("#b00020", "#ff8a80"),  # red: overdue, dead, broken
    "live": Shades("#b00020", "#ff8a80"),
    "exercise": Shades("#5e2b97", "#ce93d8"),  # violet: never mistaken for the live red
    "muted": Shades("#555555", "#b0b0b0"),
}

# Row backgrounds behind the palette's own text colour: a pale tint on light palettes, a deep one on dark.
Tint = Literal["ok", "warning", "bad", "busy", "quiet"]
TINTS: dict[Tint, Shades] = {
    "ok": Shades("#e8f5e9", "#1f3b22"),
    "warning": Shades("#fff4d6", "#3d3219"),
    "bad": Shades("#ffe3e6", "#4a1f24"),
    "busy": Shades("#e3f2fd", "#1c2e40"),
    "quiet": Shades("#f2f2f2", "#2a2a2a"),
}

# Bands and badges: text on a filled background, the same in both palettes.
BANDS: dict[Mode, tuple[str, str]] = {
    "live": ("#b00020", "#ffffff"),
    "exercise": ("#4a148c", "#ffffff"),
}
BADGE_URGENT = ("#b00020", "#ffffff")
BADGE_CALM_LIGHT = ("#5f6368", "#ffffff")
BADGE_CALM_DARK = ("#c8c8c8", "#000000")


def current() -> QPalette:
    app = QApplication.instance()
    return app.palette() if isinstance(app, QApplication) else QPalette()


def is_dark(palette: QPalette | None = None) -> bool:
    """Whether text is light on dark in ``palette`` (the application's by default)."""
    p = palette or current()
    return p.color(QPalette.ColorRole.Base).lightness() < 128


def state_colour(state: State, palette: QPalette | None = None) -> QColor:
    shades = TEXT[state]
    return QColor(shades.dark if is_dark(palette) else shades.light)


def text_style(state: State, palette: QPalette | None = None, *, bold: bool = True) -> str:
    """A style sheet for a label whose text is in ``state``'s colour."""
    weight = " font-weight: bold;" if bold else ""
    return f"color: {state_colour(state, palette).name()};{weight}"


def row_tint(tint: Tint, palette: QPalette | None = None) -> QColor:
    """The background of a table row in state ``tint``; its text stays the palette's Text colour."""
    shades = TINTS[tint]
    return QColor(shades.dark if is_dark(palette) else shades.light)


def band_colours(mode: Mode) -> tuple[QColor, QColor]:
    """(background, text) of a LIVE or EXERCISE band."""
    background, foreground = BANDS[mode]
    return QColor(background), QColor(foreground)


def badge_colours(urgent: bool, palette: QPalette | None = None) -> tuple[QColor, QColor]:
    """(background, text) of a count badge: urgent ones red; the rest grey."""
    if urgent:
        return QColor(BADGE_URGENT[0]), QColor(BADGE_URGENT[1])
    background, foreground = BADGE_CALM_DARK if is_dark(palette) else BADGE_CALM_LIGHT
    return QColor(background), QColor(foreground)


# -- contrast (WCAG 2.x) ------------------------------------------------------------------------------------


def _channel(value: float) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: QColor) -> float:
    return 0.2126 * _channel(colour.red()) + 0.7152 * _channel(colour.green()) + 0.0722 * _channel(colour.blue())


def contrast_ratio(a: QColor, b: QColor) -> float:
    la, lb = sorted((luminance(a), luminance(b)), reverse=True)
    return (la + 0.05) / (lb + 0.05)


# -- the two palettes the console is drawn and checked with ---------------------------------------------------


def _palette(roles: dict[QPalette.ColorRole, str]) -> QPalette:
    p = QPalette()
    for role, colour in roles.items():
        p.setColor(role, QColor(colour))
    return p


def light_palette() -> QPalette:
    return _palette(
        {
            QPalette.ColorRole.Window: "#efefef",
            QPalette.ColorRole.WindowText: "#1a1a1a",
            QPalette.ColorRole.Base: "#ffffff",
            QPalette.ColorRole.AlternateBase: "#f5f5f5",
            QPalette.ColorRole.Text: "#1a1a1a",
            QPalette.ColorRole.Button: "#e6e6e6",
            QPalette.ColorRole.ButtonText: "#1a1a1a",
            QPalette.ColorRole.Highlight: "#1f5fa8",
            QPalette.ColorRole.HighlightedText: "#ffffff",
            QPalette.ColorRole.ToolTipBase: "#ffffdc",
            QPalette.ColorRole.ToolTipText: "#1a1a1a",
            QPalette.ColorRole.PlaceholderText: "#6b6b6b",
        }
    )


def dark_palette() -> QPalette:
    return _palette(
        {
            QPalette.ColorRole.Window: "#2b2b2b",
            QPalette.ColorRole.WindowText: "#ececec",
            QPalette.ColorRole.Base: "#1e1e1e",
            QPalette.ColorRole.AlternateBase: "#262626",
            QPalette.ColorRole.Text: "#ececec",
            QPalette.ColorRole.Button: "#3a3a3a",
            QPalette.ColorRole.ButtonText: "#ececec",
            QPalette.ColorRole.Highlight: "#3473c0",  # white selected text on it: 4.8:1
            QPalette.ColorRole.HighlightedText: "#ffffff",
            QPalette.ColorRole.ToolTipBase: "#3a3a3a",
            QPalette.ColorRole.ToolTipText: "#ececec",
            QPalette.ColorRole.PlaceholderText: "#9a9a9a",
        }
    )
