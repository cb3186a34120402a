"""Hostile text in the console's tooltips. Qt shows a tooltip as rich text when it looks like HTML, and rich text
loads the images it names: a scenario summary, an inject's words or a plan cell reading <img src="/dev/zero"> froze
the console for good at the first hover (QTextDocument reads the device forever). Every tooltip these views give
from people's or scenarios' words is plain text, shown as such."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import Qt as GuiQt
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.models.rows import plain_tip
from crisisdesk.ui.views.drill_models import PlanModel
from tests.ui.test_drill_view import SCENARIO, open_drills, team

__all__ = ["team"]

BOMB = '<img src="/dev/zero">'


def inert(tip: object) -> bool:
    """Shown as the words it holds: plain text, or rich text in which the tag is escaped."""
    text = str(tip or "")
    return not GuiQt.mightBeRichText(text) or "<img" not in text


def test_plain_tip_escapes_what_looks_like_html_and_leaves_plain_text_as_it_is() -> None:
    assert plain_tip("Flood on Oak Street") == "Flood on Oak Street"
    assert plain_tip("a < b") == "a < b"
    shown = plain_tip(f"Flood {BOMB}\nsecond line")
    assert shown is not None and "&lt;img" in shown and "<img" not in shown and "second line" in shown
    assert plain_tip(None) is None


def test_the_drills_place_tooltips_never_carry_live_markup(
    qtbot: QtBot,
    core: App,
    team: dict[str, Actor],
    tmp_path: Path,
) -> None:
    text = SCENARIO.replace("summary: A short drill for the console's Drills place.", f"summary: 'Flood {BOMB}'")
    text = text.replace("text: Prepare the all-clear.", f"text: 'Prepare {BOMB}'")
    path = tmp_path / "bomb.yaml"
    path.write_text(text, encoding="utf-8")
    drills = core.drills()
    drill = drills.load(team["eve"], path).id
    drills.start(team["eve"], drill)
    _window, view = open_drills(qtbot, core, team["eve"])
    qtbot.waitUntil(lambda: view.drill is not None and view.drill.id == drill, timeout=10_000)
    view.select_inject("later-note")
    view._show_clock()
    assert "/dev/zero" in view.name.toolTip() and inert(view.name.toolTip())
    tips = [
        view.msel.index(r, c).data(Qt.ItemDataRole.ToolTipRole)
        for r in range(view.msel.rowCount())
        for c in range(view.msel.columnCount())
    ]
    assert any("/dev/zero" in str(t) for t in tips) and all(inert(t) for t in tips)
    assert inert(view.next_line.toolTip())
    plan = PlanModel()
    row = plan.add_row()
    plan.setData(plan.index(row, 0), f"Issue {BOMB}")
    tip = plan.index(row, 0).data(Qt.ItemDataRole.ToolTipRole)
    assert "/dev/zero" in str(tip) and inert(tip)
