"""Every colour pair the console draws text in reads at WCAG AA (4.5:1) in the light and the dark palette, and no
view brings a colour of its own: colours come from ``crisisdesk/ui/palette.py`` only.

The pairs, as the views draw them: a state's words (ok, warning, bad, LIVE, EXERCISE, muted) on the window, a
table, a table's alternate rows, a button (the Break glass button) and each row tint (a table's state colour sits
on its row's tint: an OVERDUE step on the overdue tint, a closed incident's LIVE on the quiet tint, a diff's words
on their tint); the palette's text on each row tint; the band's words on the band and on the exercise band's
stripes; the badges; selected rows; placeholders and tooltips.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QPalette

from crisisdesk.ui import palette

PALETTES = {"light": palette.light_palette, "dark": palette.dark_palette}
Role = QPalette.ColorRole
STATE_GROUNDS = (Role.Base, Role.Window, Role.AlternateBase, Role.Button)
OWN_PAIRS = (
    (Role.Text, Role.Base),
    (Role.Text, Role.AlternateBase),
    (Role.WindowText, Role.Window),
    (Role.ButtonText, Role.Button),
    (Role.HighlightedText, Role.Highlight),  # a selected row
    (Role.PlaceholderText, Role.Base),
    (Role.ToolTipText, Role.ToolTipBase),
)
UI = Path(__file__).resolve().parents[2] / "crisisdesk" / "ui"


def pairs(shade: str) -> list[tuple[str, QColor, QColor]]:
    """(what, text, background) of every pair of colours the console draws words in, in ``shade``."""
    p = PALETTES[shade]()
    out = []
    for state in palette.STATES:
        text = palette.state_colour(state, p)
        out += [(f"{state} on {role.name}", text, p.color(role)) for role in STATE_GROUNDS]
        out += [(f"{state} on the {tint} tint", text, palette.row_tint(tint, p)) for tint in palette.TINTS]
    out += [(f"text on the {tint} tint", p.color(Role.Text), palette.row_tint(tint, p)) for tint in palette.TINTS]
    out += [(f"{fg.name} on {bg.name}", p.color(fg), p.color(bg)) for fg, bg in OWN_PAIRS]
    for mode in ("live", "exercise"):
        background, words = palette.band_colours(mode)
        out.append((f"{mode} band", words, background))
        if mode == "exercise":  # the stripes the band's words cross (chrome.ModeBand.paintEvent)
            out.append(("exercise band's stripes", words, background.lighter(135)))
    for urgent in (True, False):
        background, words = palette.badge_colours(urgent, p)
        out.append((f"{'urgent' if urgent else 'calm'} badge", words, background))
    return out


@pytest.mark.parametrize("shade", PALETTES)
def test_every_pair_reads_at_wcag_aa(shade: str) -> None:
    found = pairs(shade)
    assert len(found) > 70
    low = [
        f"{what}: {palette.contrast_ratio(text, ground):.2f}"
        for what, text, ground in found
        if palette.contrast_ratio(text, ground) < palette.MIN_TEXT_CONTRAST
    ]
    assert low == []


def test_the_dark_selection_was_too_pale_for_white_words() -> None:
    """The dark palette's first selection colour (#3d7fd0) gave white words 4.08:1: the check catches it."""
    assert palette.contrast_ratio(QColor("#ffffff"), QColor("#3d7fd0")) < palette.MIN_TEXT_CONTRAST
    dark = palette.dark_palette()
    assert palette.contrast_ratio(dark.color(Role.HighlightedText), dark.color(Role.Highlight)) >= 4.5


# -- no colour outside the palette ------------------------------------------------------------------------------

HEX = re.compile(r"#[0-9a-fA-F]{3,8}(?![\w-])")  # "#b00020", not "QFrame#deadDeliveryBanner"
LITERAL_QCOLOR = re.compile(r"QColor\(\s*(\d|[\"'])")  # QColor(176, 0, 32), QColor("red")
GLOBAL = re.compile(r"\bQt\.(GlobalColor\.)?(red|white|black|green|blue|yellow|cyan|magenta|gray|darkGray|lightGray)\b")
NAMED = re.compile(
    r"(color|background|border)[\w-]*\s*:[^;{}]*\b(red|white|black|green|blue|yellow|orange|gr[ae]y|purple|pink|"
    r"navy|maroon|silver|teal|olive|lime|aqua|fuchsia)\b",
    re.IGNORECASE,
)


def hard_coded(text: str) -> list[str]:
    return [m.group(0) for pattern in (HEX, LITERAL_QCOLOR, GLOBAL, NAMED) for m in pattern.finditer(text)]


def test_no_view_brings_a_colour_of_its_own() -> None:
    found = {}
    files = [f for f in sorted(UI.rglob("*.py")) if f.name != "palette.py"]
    assert len(files) > 20
    for path in files:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
            if hits := hard_coded(line):
                found[f"{path.relative_to(UI)}:{number}"] = hits
    assert found == {}


def test_the_colour_guard_finds_colours() -> None:
    assert hard_coded('label.setStyleSheet("color: #bbbbbb")') == ["#bbbbbb"]
    assert hard_coded("brush = QBrush(QColor(255, 240, 240))") == ["QColor(2"]
    assert hard_coded("painter.setPen(Qt.GlobalColor.white)") == ["Qt.GlobalColor.white"]
    assert hard_coded('f"QLabel {{ background: white; }}"') == ["background: white"]
    assert hard_coded('"QFrame#deadDeliveryBanner { border: 2px solid " + bad.name()') == []
    assert hard_coded('f"color: {foreground.name()}; background: transparent;"') == []
