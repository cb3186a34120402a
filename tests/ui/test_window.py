"""The window's shape, offscreen: places and navigation, badges from what waits for the person, the header, the
LIVE/EXERCISE band, accessible names on every control, and pictures in a light and a dark palette."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QImage, QKeySequence
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTabBar,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.ui import palette
from crisisdesk.ui.views.incidents_view import IncidentsView
from crisisdesk.ui.views.main_window import (
    APPROVALS,
    AUDIT,
    DRILLS,
    INCIDENTS,
    MONITOR,
    OUTBOX,
    SETTINGS,
    MainWindow,
)
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.support.http_servers import webhook_receiver


def open_window(qtbot: QtBot, core: App, who: Actor) -> MainWindow:
    window = MainWindow(core, who)
    qtbot.addWidget(window)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    return window


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


def test_the_places_in_order_and_how_to_reach_them(qtbot: QtBot, core: App, admin: Actor) -> None:
    window = open_window(qtbot, core, admin)
    assert window.places == [INCIDENTS, APPROVALS, MONITOR, OUTBOX, AUDIT, SETTINGS, DRILLS]
    assert window.current_place() == INCIDENTS and isinstance(window.stack.currentWidget(), IncidentsView)
    assert window.place_title.text() == INCIDENTS and "overdue" in window.place_about.text()
    qtbot.keyClick(window.nav, Qt.Key.Key_4, Qt.KeyboardModifier.ControlModifier)
    assert window.current_place() == OUTBOX and window.stack.currentWidget() is window.outbox
    outbox_row = window.nav.visualItemRect(window.nav.item(4)).center()
    qtbot.mouseClick(window.nav.viewport(), Qt.MouseButton.LeftButton, pos=outbox_row)
    assert window.current_place() == AUDIT and window.stack.currentWidget() is window.audit
    qtbot.keyClick(window.nav, Qt.Key.Key_Up)
    assert window.current_place() == OUTBOX
    # A view builder's one call: the placeholder gives way, the place keeps its name and badge.
    window.set_badge(INCIDENTS, 2, urgent=True)
    board = QWidget()
    board.setAccessibleName("Incident board")
    window.replace_place(INCIDENTS, board)
    window.show_place(INCIDENTS)
    assert window.stack.currentWidget() is board and window.place(INCIDENTS) is board
    assert window.badge(INCIDENTS) == (2, True)
    extra = window.add_place("Library", QWidget())
    assert window.places[-1] == "Library" and extra.item.text() == "Library"
    with pytest.raises(ValueError, match="already has a place 'Library'"):
        window.add_place("Library", QWidget())


def test_the_header_names_the_person_their_roles_and_the_workstation(
    qtbot: QtBot, core: App, admin: Actor, team: dict[str, Actor]
) -> None:
    window = open_window(qtbot, core, team["ivan"])
    assert window.header.person.text() == "Signed in as ivan" and window.header.roles.text() == "(approver)"
    assert window.header.workstation.text() == "Workstation: EOC desk 1"
    assert window.windowTitle() == "crisisdesk: EOC desk 1: ivan"
    # Roles come from the log at each change: a grant shows without signing in again.
    core.people.grant(admin, "ivan", Role.COMMUNICATOR)
    assert window.session.watcher.check()
    assert window.header.roles.text() == "(approver, communicator)"
    core.people.revoke(admin, "ivan", Role.APPROVER)
    core.people.revoke(admin, "ivan", Role.COMMUNICATOR)
    assert window.session.watcher.check()
    assert window.header.roles.text() == "(no roles)"


def test_a_submitted_message_raises_the_approvers_badge_not_the_authors(
    qtbot: QtBot, core: App, team: dict[str, Actor]
) -> None:
    inc = open_incident(core, team)
    ivan = open_window(qtbot, core, team["ivan"])
    carla = open_window(qtbot, core, team["carla"])
    assert ivan.badge(APPROVALS) == (0, False) and carla.badge(APPROVALS) == (0, False)
    messages = core.messages()
    draft = messages.draft(team["carla"], inc, "alert")
    assert ivan.session.watcher.check() and ivan.badge(APPROVALS) == (0, False)  # a draft waits for nobody
    messages.submit(team["carla"], draft.id)
    assert ivan.session.watcher.check() and carla.session.watcher.check()
    assert ivan.badge(APPROVALS) == (1, True)
    assert carla.badge(APPROVALS) == (0, False)  # her own version is not hers to approve
    item = ivan.nav.item(ivan.places.index(APPROVALS))
    assert item.data(Qt.ItemDataRole.AccessibleTextRole) == "Approvals, 1 waiting, urgent"
    messages.approve(team["ivan"], draft.id, draft.content_hash)
    assert ivan.session.watcher.check() and ivan.badge(APPROVALS) == (0, False)
    assert item.data(Qt.ItemDataRole.AccessibleTextRole) == "Approvals"


def test_a_dead_delivery_raises_the_outbox_badge_and_overdue_steps_the_incidents_badge(
    qtbot: QtBot, core: App, admin: Actor, team: dict[str, Actor], clock
) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    window = open_window(qtbot, core, team["vic"])
    assert window.badge(OUTBOX) == (0, False) and window.badge(INCIDENTS) == (0, False)
    inc = open_incident(core, team)
    core.channels().add(admin, "webhook", "down-hook", settings=["url=http://127.0.0.1:9/hook"], secret="k")
    publish(core, team, inc, ["down-hook"])
    core.outbox().run_once()
    assert window.session.watcher.check()
    assert window.badge(OUTBOX) == (1, False)  # failed: it will be tried again
    with webhook_receiver() as (url, hook):
        core.channels().add(admin, "webhook", "refusing-hook", settings=[f"url={url}"], secret="k2")
        hook.script.queue.append((401, {}, b'{"error": "bad signature"}'))
        publish(core, team, inc, ["refusing-hook"], message_type="update")
        core.outbox().run_once()
    assert window.session.watcher.check()
    assert window.badge(OUTBOX) == (2, True)  # one is dead: a person must act
    clock.advance(timedelta(minutes=6))  # time alone makes steps overdue: the watcher's tick looks again
    window.session.watcher.tick.emit()
    assert window.badge(INCIDENTS) == (2, True)


def test_the_mode_band_and_title_say_live_or_exercise(qtbot: QtBot, core: App, admin: Actor) -> None:
    window = open_window(qtbot, core, admin)
    assert not window.mode_band.isVisible()
    window.show_mode("exercise", "Flood on the Elm")
    assert window.mode_band.isVisible() and window.mode_band.label.text().startswith("▨  EXERCISE")
    assert window.mode_band.label.text().endswith("EXERCISE")  # said at both ends of a wide band
    assert window.windowTitle() == "EXERCISE · Flood on the Elm · crisisdesk: EOC desk 1: alice"
    # Elsewhere (the outbox lists rows of both modes, each marked) the open incident's band would mislead.
    window.show_place(OUTBOX)
    assert not window.mode_band.isVisible() and window.windowTitle() == "crisisdesk: EOC desk 1: alice"
    window.show_place(INCIDENTS)
    assert window.mode_band.isVisible() and window.windowTitle().startswith("EXERCISE · Flood on the Elm")
    exercise = grab_band(window)
    window.show_mode("live", "Flood on the Elm")
    assert window.mode_band.label.text().startswith("●  LIVE · ".replace(" · ", "  ·  "))
    assert window.windowTitle().startswith("LIVE · Flood on the Elm · ")
    live = grab_band(window)
    # Told apart without colour: in greyscale the exercise band is striped, the live band is flat.
    assert grey_levels(exercise) > grey_levels(live)
    window.show_mode(None)
    assert not window.mode_band.isVisible() and window.windowTitle() == "crisisdesk: EOC desk 1: alice"


def grab_band(window: MainWindow) -> QImage:
    band = window.mode_band
    image = band.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8)
    # The band's left edge, away from the words.
    return image.copy(0, 0, 10, band.height())


def grey_levels(image: QImage) -> int:
    return len({image.pixelColor(x, y).value() for x in range(image.width()) for y in range(image.height())})


# -- accessible names --------------------------------------------------------------------------------------------

CONTROLS = (
    QAbstractButton,
    QLineEdit,
    QAbstractItemView,
    QComboBox,
    QAbstractSpinBox,
    QTextEdit,
    QPlainTextEdit,
    QAbstractSlider,
    QTabBar,
)


def unnamed_controls(root: QWidget) -> list[str]:
    """Controls a person operates that have no accessible name. Qt's own parts of a control (a table's header
    and corner button, scroll bars, a line edit's clear button) are named by Qt and skipped."""
    missing = []
    for widget in root.findChildren(QWidget):
        if not isinstance(widget, CONTROLS) or isinstance(widget, QScrollBar):
            continue
        if widget.objectName().startswith("qt_") or _inside_a_control(widget, root):
            continue
        if not widget.accessibleName():
            text = widget.text() if isinstance(widget, QAbstractButton | QLineEdit) else ""
            missing.append(f"{type(widget).__name__} {text!r} in {type(widget.parentWidget()).__name__}")
    return missing


def _inside_a_control(widget: QWidget, root: QWidget) -> bool:
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        if isinstance(parent, QAbstractItemView | QLineEdit | QComboBox | QAbstractSpinBox | QTabBar):
            return True
        parent = parent.parentWidget()
    return False


def test_every_control_in_the_window_has_an_accessible_name(qtbot: QtBot, core: App, admin: Actor) -> None:
    window = open_window(qtbot, core, admin)
    for name in window.places:
        window.show_place(name)
    assert unnamed_controls(window) == []
    # The check can fail: a control without a name is found.
    window.replace_place(SETTINGS, QLineEdit())
    assert unnamed_controls(window) == ["QLineEdit '' in QStackedWidget"]


# -- pictures ------------------------------------------------------------------------------------------------------


@pytest.fixture
def styled() -> Iterator[QApplication]:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    style, previous = app.style().name(), app.palette()
    app.setStyle("Fusion")
    yield app
    app.setStyle(style)
    app.setPalette(previous)


@pytest.mark.parametrize(("shade", "mode"), [("light", Mode.LIVE), ("dark", Mode.EXERCISE)])
def test_the_window_drawn_in_a_light_and_a_dark_palette(
    qtbot: QtBot,
    core: App,
    admin: Actor,
    team: dict[str, Actor],
    styled: QApplication,
    shade: str,
    mode: Mode,
    tmp_path: Path,
) -> None:
    styled.setPalette(palette.light_palette() if shade == "light" else palette.dark_palette())
    exercise = mode is Mode.EXERCISE
    inc = open_incident(core, team, mode)
    hook = "drill-hook" if exercise else "county-hook"
    core.channels().add(admin, "webhook", hook, exercise=exercise, settings=["url=http://127.0.0.1:9/hook"], secret="k")
    publish(core, team, inc, ["exercise-page" if exercise else "public-page", hook], mode=mode)
    core.outbox().run_once()
    author = team["eve"] if exercise else team["carla"]
    waiting = core.messages().draft(author, inc, "update")
    core.messages().submit(author, waiting.id)
    window = open_window(qtbot, core, team["ivan"])
    window.resize(1180, 640)
    window.show_mode(mode.value, core.incidents().get(admin, inc).title)  # type: ignore[arg-type]
    window.show_place(OUTBOX)
    assert window.badge(APPROVALS) == (1, True) and window.badge(OUTBOX) == (1, False)
    assert not window.windowTitle().startswith(mode.value.upper())  # the outbox holds rows of both modes
    window.show_place(INCIDENTS)
    assert window.windowTitle().startswith(mode.value.upper())
    picture = window.grab()
    assert picture.save(str(tmp_path / f"window-{shade}.png"))
    assert palette.is_dark(styled.palette()) == (shade == "dark")
    # The header's words are in the palette's text colour on its window colour: readable.
    text = styled.palette().color(window.header.person.foregroundRole())
    assert palette.contrast_ratio(text, styled.palette().color(window.header.backgroundRole())) >= 4.5
    assert picture.width() >= 1000
    if shots := os.environ.get("CRISISDESK_SCREENSHOTS"):
        picture.save(str(Path(shots) / f"window-{shade}.png"))


def test_nav_badge_colours_differ_for_urgent_and_calm(styled: QApplication) -> None:
    for p in (palette.light_palette(), palette.dark_palette()):
        urgent, calm = palette.badge_colours(True, p), palette.badge_colours(False, p)
        assert urgent != calm
        assert palette.contrast_ratio(*urgent) >= 4.5 and palette.contrast_ratio(*calm) >= 4.5
    assert QKeySequence("Ctrl+Shift+O").toString() == "Ctrl+Shift+O"
    assert QColor(palette.TEXT["exercise"].light) != QColor(palette.TEXT["live"].light)


def test_an_incident_opened_from_an_alert_shows_its_workspace(
    qtbot: QtBot, core: App, admin: Actor, team: dict[str, Actor]
) -> None:
    """The Monitor says which incident it opened (its dialog is tested in test_feeds_view); the window takes the
    person to that incident's workspace, where the first message is drafted."""
    incident = open_incident(core, team, Mode.EXERCISE)
    window = open_window(qtbot, core, team["carla"])
    monitor = window.monitor
    window.show_place(MONITOR)
    monitor.incident_opened.emit(incident)
    assert window.current_place() == INCIDENTS
    workspace = window.incidents.workspace
    assert workspace is not None and workspace.incident_id == incident
    assert window.incidents.pages.currentWidget() is workspace
