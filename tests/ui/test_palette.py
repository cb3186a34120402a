"""Every state colour a text is drawn in reads on both palettes (WCAG contrast at least 4.5:1)."""

from __future__ import annotations

import pytest
from PySide6.QtGui import QColor, QPalette

from crisisdesk.ui import palette

PALETTES = {"light": palette.light_palette, "dark": palette.dark_palette}
BACKGROUNDS = (QPalette.ColorRole.Base, QPalette.ColorRole.Window, QPalette.ColorRole.AlternateBase)


def test_the_contrast_ratio_is_wcags() -> None:
    assert palette.contrast_ratio(QColor("#000000"), QColor("#ffffff")) == pytest.approx(21.0)
    assert palette.contrast_ratio(QColor("#777777"), QColor("#ffffff")) == pytest.approx(4.48, abs=0.01)
    assert palette.contrast_ratio(QColor("#ffffff"), QColor("#ffffff")) == pytest.approx(1.0)


@pytest.mark.parametrize("shade", PALETTES)
@pytest.mark.parametrize("state", palette.STATES)
def test_each_state_colour_reads_on_the_palettes_backgrounds(shade: str, state: palette.State) -> None:
    p = PALETTES[shade]()
    assert palette.is_dark(p) == (shade == "dark")
    text = palette.state_colour(state, p)
    for role in BACKGROUNDS:
        ratio = palette.contrast_ratio(text, p.color(role))
        assert ratio >= palette.MIN_TEXT_CONTRAST, f"{state} on {shade} {role.name}: {ratio:.2f}"


@pytest.mark.parametrize("shade", PALETTES)
@pytest.mark.parametrize("tint", list(palette.TINTS))
def test_table_text_reads_on_each_row_tint(shade: str, tint: palette.Tint) -> None:
    p = PALETTES[shade]()
    ratio = palette.contrast_ratio(p.color(QPalette.ColorRole.Text), palette.row_tint(tint, p))
    assert ratio >= palette.MIN_TEXT_CONTRAST, f"text on {tint} rows, {shade}: {ratio:.2f}"


@pytest.mark.parametrize("mode", ["live", "exercise"])
def test_band_words_read_on_the_band(mode: palette.Mode) -> None:
    background, foreground = palette.band_colours(mode)
    assert palette.contrast_ratio(foreground, background) >= palette.MIN_TEXT_CONTRAST


def test_live_and_exercise_differ_more_than_by_a_shade() -> None:
    live, exercise = palette.band_colours("live")[0], palette.band_colours("exercise")[0]
    assert abs(live.hslHue() - exercise.hslHue()) > 60  # red against violet


def test_a_failing_colour_would_be_caught() -> None:
    p = palette.light_palette()
    pale = QColor("#bbbbbb")  # the kind of grey that looks fine on a designer's screen
    assert palette.contrast_ratio(pale, p.color(QPalette.ColorRole.Base)) < palette.MIN_TEXT_CONTRAST
