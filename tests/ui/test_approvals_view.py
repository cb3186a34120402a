"""The Approvals place and the Publish dialog, offscreen, driven with real clicks and typing: ivan approves from
the badge, a return needs a comment, an author's own version and a stale hash are refused in the window, the
wrong phrase is refused, EXERCISE and LIVE publish read differently, break glass needs a reason."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.errors import PermissionDenied
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.ui import palette
from crisisdesk.ui.dialogs.publish import PublishDialog
from crisisdesk.ui.views.approvals_view import ApprovalsView
from crisisdesk.ui.views.exact_text import ExactText
from crisisdesk.ui.views.main_window import APPROVALS, MainWindow
from tests.conftest import person
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.ui.heartbeat import Heartbeat
from tests.ui.test_window import unnamed_controls

SHOTS = os.environ.get("CRISISDESK_SCREENSHOTS")


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    people = add_team(core, admin)
    people["dana"] = person(core, admin, "dana", Role.COMMUNICATOR, Role.APPROVER)
    return people


def open_window(qtbot: QtBot, core: App, who: Actor) -> MainWindow:
    window = MainWindow(core, who)
    qtbot.addWidget(window)
    window.resize(1280, 800)
    with qtbot.waitActive(window):
        window.show()
        window.activateWindow()
    return window


def submitted(core: App, who: Actor, incident: str, message_type: str = "alert", sms: str | None = None) -> str:
    messages = core.messages()
    draft = messages.draft(who, incident, message_type)
    if sms is not None:
        messages.edit(who, draft.id, "sms", "en", sms)
    messages.submit(who, draft.id)
    return draft.id


def save(widget: QWidget, name: str) -> None:
    if SHOTS:
        assert widget.grab().save(str(Path(SHOTS) / name))


class Interactions:
    """Counts what a person does (clicks, typed fields, named-shortcut key presses), as issue 12 item 11 counts."""

    def __init__(self, qtbot: QtBot) -> None:
        self.qtbot = qtbot
        self.count = 0

    def click(self, widget: QWidget, pos: QPoint | None = None) -> None:
        assert widget.isVisible() and widget.isEnabled(), widget.accessibleName()
        self.count += 1
        self.qtbot.mouseClick(widget, Qt.MouseButton.LeftButton, pos=pos or widget.rect().center())

    def type(self, widget: QWidget, text: str) -> None:
        assert widget.isVisible() and widget.isEnabled(), widget.accessibleName()
        self.count += 1
        self.qtbot.keyClicks(widget, text)


def click_place(people: Interactions, window: MainWindow, name: str) -> None:
    item = window.nav.item(window.places.index(name))
    people.click(window.nav.viewport(), window.nav.visualItemRect(item).center())


def test_ivan_approves_from_the_badge_in_two_interactions(qtbot: QtBot, core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team)
    window = open_window(qtbot, core, team["ivan"])
    msg = submitted(core, team["carla"], inc)
    qtbot.waitUntil(lambda: window.badge(APPROVALS) == (1, True), timeout=5000)  # the watcher's own timer
    people = Interactions(qtbot)
    click_place(people, window, APPROVALS)
    view = window.approvals
    assert window.stack.currentWidget() is view and isinstance(view, ApprovalsView)
    # The oldest waiting version is chosen on arrival, with what to read and the hash the button names.
    shown = core.messages().show(team["ivan"], msg)
    assert view.review is not None and view.review.message.content_hash == shown.content_hash
    assert view.approve_button.text() == f"Approve v1 · {shown.content_hash[:12]}"
    assert view.verdict.text().startswith("You may approve it")
    assert view.count.text() == "1 version waits for your approval (oldest first)."
    assert view.heading.text().startswith(f"{msg} v1 · alert · Flash flood warning")
    assert view.band.label.text().startswith("●  LIVE")
    assert view.cap_fields["urgency"].text() == "Immediate"
    # The expiry as a person reads it, in the incident's offset; the CAP's own value in the tooltip.
    assert view.cap_fields["expires"].text().endswith("21:30") and "-08:00" not in view.cap_fields["expires"].text()
    assert view.cap_fields["expires"].toolTip().endswith("-08:00)")
    assert view.channels.text() == "public-page (folder, LIVE)"
    assert view.tabs.tabText(1) == "Changes: all new"
    people.click(view.approve_button)
    assert people.count == 2  # issue 12 item 11: at most 3 from the badge
    approved = core.messages().show(team["ivan"], msg)
    assert approved.verdict.ok and approved.verdict.counted == ("ivan",)
    assert approved.approvals[0]["content_hash"] == shown.content_hash
    assert view.result.text().startswith(f"✔ Approved {msg} v1") and "ready for a communicator" in view.result.text()
    assert window.session.watcher.check() and window.badge(APPROVALS) == (0, False)
    assert view.proxy.rowCount() == 0 and view.review is None and not view.approve_button.isEnabled()
    assert view.count.text() == "Nothing waits for your approval."


def test_a_return_needs_a_comment_and_reaches_the_authors(qtbot: QtBot, core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team)
    msg = submitted(core, team["carla"], inc)
    window = open_window(qtbot, core, team["ivan"])
    window.show_place(APPROVALS)
    view = window.approvals
    people = Interactions(qtbot)
    assert not view.return_button.isEnabled()  # no comment, no return
    people.type(view.comment, "Name the shelter; the fairgrounds are open")
    people.click(view.return_button)
    returned = core.messages().show(team["ivan"], msg)
    assert returned.state == "returned" and not returned.verdict.ok
    assert view.result.text() == f"↩ Returned {msg} v1 to carla with your comment."
    assert view.comment.text() == "" and view.proxy.rowCount() == 0
    last = list(core.log.events())[-1]
    assert (last.kind, last.actor, last.payload["comment"]) == (
        Kind.MESSAGE_RETURNED,
        "ivan",
        "Name the shelter; the fairgrounds are open",
    )


def test_an_author_sees_their_own_version_as_not_theirs_to_approve(
    qtbot: QtBot, core: App, team: dict[str, Actor]
) -> None:
    inc = open_incident(core, team)
    own = submitted(core, team["dana"], inc)  # dana writes and approves: not this one
    window = open_window(qtbot, core, team["dana"])
    window.show_place(APPROVALS)
    view = window.approvals
    assert view.proxy.rowCount() == 0 and view.count.text() == "Nothing waits for your approval."
    people = Interactions(qtbot)
    people.click(view.show_every, QPoint(8, view.show_every.height() // 2))
    assert view.proxy.rowCount() == 1 and view.proxy.entry(0).message_id == own
    assert view.model.data(view.proxy.mapToSource(view.proxy.index(0, 4))) == "not yours to approve"
    people.click(view.table.viewport(), view.table.visualRect(view.proxy.index(0, 1)).center())
    with pytest.raises(PermissionDenied) as refused:
        core.messages().approve(team["dana"], own, core.messages().show(team["dana"], own).content_hash)
    assert view.verdict.text() == f"Not yours to approve: {refused.value}"
    assert "dana wrote part of" in view.verdict.text()
    assert not view.approve_button.isEnabled()


def test_self_approval_refused_by_the_service_is_shown_in_the_window(
    qtbot: QtBot, core: App, team: dict[str, Actor]
) -> None:
    """dana has carla's version open, then (at another desk) writes it herself: the same words, so the same hash,
    but now she is an author. The button was enabled when she looked; the service refuses and the window says so."""
    inc = open_incident(core, team)
    msg = submitted(core, team["carla"], inc)
    window = open_window(qtbot, core, team["dana"])
    window.show_place(APPROVALS)
    view = window.approvals
    assert view.approve_button.isEnabled()
    messages = core.messages()
    web = next(v for v in messages.show(team["dana"], msg).variants if v.channel == "web" and v.lang == "en")
    messages.edit(team["dana"], msg, "web", "en", web.text)  # the same words: the same hash, a new author
    messages.submit(team["dana"], msg)
    Interactions(qtbot).click(view.approve_button)
    assert view.result.text().startswith(f"✖ Not done: dana wrote part of {msg}")
    assert not messages.show(team["dana"], msg).verdict.ok
    assert not view.approve_button.isEnabled() and view.verdict.text().startswith("Not yours to approve: dana wrote")


def test_a_stale_hash_is_refused_and_the_new_version_shown(qtbot: QtBot, core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team)
    msg = submitted(core, team["carla"], inc)
    window = open_window(qtbot, core, team["ivan"])
    window.show_place(APPROVALS)
    view = window.approvals
    seen = view.review.message.content_hash if view.review else ""
    messages = core.messages()
    sms = next(v for v in messages.show(team["carla"], msg).variants if v.channel == "sms" and v.lang == "en")
    messages.edit(team["carla"], msg, "sms", "en", sms.text.replace("higher ground", "high ground"))
    messages.submit(team["carla"], msg)  # before ivan's window looked again
    Interactions(qtbot).click(view.approve_button)
    assert view.result.text().startswith(f"✖ Not done: stale hash: {msg} is now v2")
    assert not messages.show(team["ivan"], msg).verdict.ok
    now = messages.show(team["ivan"], msg).content_hash
    assert view.review is not None and view.review.message.content_hash == now != seen
    assert view.changed_notice.isVisible() and "now v2 (was v1)" in view.changed_notice.text()
    assert view.approve_button.text() == f"Approve v2 · {now[:12]}"


def test_the_queue_model_and_its_filter_pass_the_model_tester(qtbot: QtBot, core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team)
    submitted(core, team["carla"], inc)
    submitted(core, team["dana"], inc, "update")
    view = ApprovalsView(MainWindow(core, team["dana"]).session)
    qtbot.addWidget(view)
    ModelTester(None).check(view.model)  # type: ignore[arg-type]
    ModelTester(None).check(view.proxy)  # type: ignore[arg-type]
    assert (view.model.rowCount(), view.proxy.rowCount()) == (2, 1)
    view.show_every.setChecked(True)
    ModelTester(None).check(view.proxy)  # type: ignore[arg-type]
    assert view.proxy.rowCount() == 2
    mode = view.model.index(0, 0)
    assert view.model.data(mode) == "● LIVE"
    assert view.model.data(mode, Qt.ItemDataRole.ForegroundRole) == palette.state_colour("live")
    assert view.model.data(view.model.index(1, 4), Qt.ItemDataRole.ToolTipRole).startswith("dana wrote part of")
    assert unnamed_controls(view) == []


def test_hidden_characters_are_escaped_and_marked_not_acted_on(qtbot: QtBot, core: App, team: dict[str, Actor]) -> None:
    """Lint refuses bidi and zero-width controls in a submitted text, but not every invisible character: an
    invisible separator (zero width), a soft hyphen and a non-breaking space reach the approver, named and marked."""
    inc = open_incident(core, team)
    publish(core, team, inc, ["public-page"])
    messages = core.messages()
    draft = messages.draft(team["carla"], inc, "update")
    web = next(v for v in draft.variants if v.channel == "web" and v.lang == "en")
    sly = web.text.replace("Mill Creek", "Mill\u2063 Creek", 1).replace("Do not", "Do\u00a0not", 1) + "\u00ad"
    messages.edit(team["carla"], draft.id, "web", "en", sly)
    messages.submit(team["carla"], draft.id)
    window = open_window(qtbot, core, team["ivan"])
    window.show_place(APPROVALS)
    view = window.approvals
    text = view.texts.toPlainText()
    assert "⚠ 3 hidden character(s)" in text
    assert "U+2063 INVISIBLE SEPARATOR" in text and "Mill⟦U+2063⟧ Creek" in text and "Do⟦U+00A0 NBSP⟧not" in text
    assert "\u2063" not in text and "\u00ad" not in text and "\u00a0" not in text  # escaped, never acting
    assert view.texts.marks == 3 and "3 hidden" in view.tabs.tabText(0)
    # Marked: the escape carries the mark's format (not colour alone: bold and a wavy underline too).
    document = view.texts.document()
    at = text.index("⟦U+2063⟧") + 1
    cursor = view.texts.textCursor()
    cursor.setPosition(at)
    fmt = cursor.charFormat()
    assert fmt.fontWeight() >= 700 and fmt.underlineStyle().name == "WaveUnderline"
    assert document.toPlainText() == text
    # The sent text comes first; the change from the published update is shown word by word.
    assert text.index("web [en]") < text.index("sms [en]")
    assert view.changes.toPlainText() == ""  # filled when its tab is opened
    bar = view.tabs.tabBar()
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(1).center())
    changes = view.changes.toPlainText()
    assert changes.startswith(f"Against {view.review.base if view.review else ''}: 26 of 26 texts changed")
    assert "[+UPDATE from +]" in changes and "⟦U+2063⟧" in changes and "\u2063" not in changes
    qtbot.mouseClick(bar, Qt.MouseButton.LeftButton, pos=bar.tabRect(0).center())
    if SHOTS:
        view.full_hash_button.setChecked(True)
        view.texts.verticalScrollBar().setValue(0)
        save(window, "approvals-queue.png")


# -- Publish… ----------------------------------------------------------------------------------------------------


def approved(core: App, team: dict[str, Actor], incident: str, author: Actor) -> str:
    msg = submitted(core, author, incident)
    core.messages().approve(team["ivan"], msg, core.messages().show(author, msg).content_hash)
    return msg


def open_publish(qtbot: QtBot, window: MainWindow, msg: str, *, break_glass: bool = False) -> PublishDialog:
    dialog = PublishDialog(window.session, msg, break_glass, parent=window)
    dialog.open()
    qtbot.waitExposed(dialog)
    return dialog


def test_the_wrong_phrase_is_refused_and_the_right_one_publishes(
    qtbot: QtBot, core: App, team: dict[str, Actor]
) -> None:
    inc = open_incident(core, team)
    msg = approved(core, team, inc, team["carla"])
    window = open_window(qtbot, core, team["carla"])
    dialog = open_publish(qtbot, window, msg)
    assert dialog.phrase_label.text() == f"PUBLISH LIVE {msg}"
    assert dialog.heading.text().startswith(f"Publish LIVE {msg} v1 · alert")
    assert dialog.channels.text() == "public-page (folder, LIVE)" and dialog.expires.toolTip().endswith("-08:00)")
    assert dialog.expires.text().endswith("21:30") and "-08:00" not in dialog.expires.text()
    assert dialog.approvals.text() == "approved by ivan" and not dialog.blocked.isVisible()
    assert not dialog.publish_button.isEnabled()  # nothing typed yet
    assert not dialog.publish_button.isDefault() and not dialog.cancel_button.isDefault()
    assert "web [en]  ·  292/20000 characters · sent by public-page" in dialog.texts.toPlainText()
    if SHOTS:
        qtbot.keyClicks(dialog.phrase, f"PUBLISH LIVE {msg}")
        save(dialog, "publish-live.png")
        dialog.phrase.clear()
    people = Interactions(qtbot)
    people.type(dialog.phrase, f"PUBLISH EXERCISE {msg}")
    people.click(dialog.publish_button)
    assert dialog.result_label.text() == (
        f"✖ That is not the phrase; nothing was published. Type exactly: PUBLISH LIVE {msg}"
    )
    assert core.messages().show(team["carla"], msg).state == "submitted"
    assert dialog.isVisible() and dialog.phrase.selectedText() == f"PUBLISH EXERCISE {msg}"
    with qtbot.waitSignal(dialog.published) as sent:
        people.type(dialog.phrase, f"PUBLISH LIVE {msg}")  # replaces the selected wrong phrase
        people.click(dialog.publish_button)
    assert sent.args == [msg]
    view = core.messages().show(team["carla"], msg)
    assert view.state == "published" and view.published[0]["break_glass"] == 0
    assert [r.account for r in core.outbox().rows(team["carla"], message_id=msg)] == ["public-page"]
    assert dialog.result_label.text().startswith(f"✔ Published LIVE {msg} v1 to 1 channel(s).")
    assert not dialog.publish_button.isVisible() and dialog.cancel_button.text() == "Close"


def test_an_exercise_publish_reads_and_looks_different_from_a_live_one(
    qtbot: QtBot, core: App, team: dict[str, Actor]
) -> None:
    live_msg = approved(core, team, open_incident(core, team), team["carla"])
    drill_msg = approved(core, team, open_incident(core, team, Mode.EXERCISE), team["eve"])
    live = open_publish(qtbot, open_window(qtbot, core, team["carla"]), live_msg)
    drill = open_publish(qtbot, open_window(qtbot, core, team["eve"]), drill_msg)
    # Words: band, heading, what it means, the phrase, the button.
    assert live.band.label.text().startswith("●  LIVE") and "messages reach the public" in live.band.label.text()
    assert drill.band.label.text().startswith("▨  EXERCISE") and "nothing reaches the public" in drill.band.label.text()
    assert live.heading.text().startswith("Publish LIVE") and drill.heading.text().startswith("Send EXERCISE")
    assert " · LIVE · " in live.windowTitle() and " · EXERCISE · " in drill.windowTitle()  # the title too
    assert live.meaning.text().startswith("LIVE: these texts go to the public")
    assert drill.meaning.text().startswith("EXERCISE: these texts go to exercise channels only")
    assert (live.phrase_label.text(), drill.phrase_label.text()) == (
        f"PUBLISH LIVE {live_msg}",
        f"SEND EXERCISE {drill_msg}",
    )
    assert live.publish_button.text() == "● Publish LIVE to 1 channel"
    assert drill.publish_button.text() == "▨ Send EXERCISE to 1 exercise channel"
    assert drill.channels.text() == "exercise-page (folder, EXERCISE)"
    # Colour: the bands' and buttons' backgrounds; shape: the exercise band is striped (also in greyscale).
    assert palette.band_colours("live")[0].name() in live.publish_button.styleSheet()
    assert palette.band_colours("exercise")[0].name() in drill.publish_button.styleSheet()
    assert "dashed" in drill.publish_button.styleSheet() and "solid" in live.publish_button.styleSheet()
    assert grey_levels(drill.band) > grey_levels(live.band)
    if SHOTS:
        qtbot.keyClicks(drill.phrase, f"SEND EXERCISE {drill_msg}")
        save(drill, "publish-exercise.png")
        drill.phrase.clear()
    # The exercise one goes out on the exercise channel only.
    Interactions(qtbot).type(drill.phrase, f"SEND EXERCISE {drill_msg}")
    Interactions(qtbot).click(drill.publish_button)
    assert drill.result_label.text().startswith(f"✔ Sent EXERCISE {drill_msg} v1 to 1 exercise channel(s).")
    assert [r.account for r in core.outbox().rows(team["eve"], message_id=drill_msg)] == ["exercise-page"]
    assert unnamed_controls(live) == [] and unnamed_controls(drill) == []


def grey_levels(widget: QWidget) -> int:
    image = widget.grab().toImage().convertToFormat(QImage.Format.Format_Grayscale8).copy(0, 0, 10, widget.height())
    return len({image.pixelColor(x, y).value() for x in range(image.width()) for y in range(image.height())})


def test_break_glass_is_for_approvers_and_needs_a_reason(qtbot: QtBot, core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team)
    msg = submitted(core, team["carla"], inc)
    # carla may not break glass: no button in her window, and the dialog says why if opened.
    carla = open_window(qtbot, core, team["carla"])
    carla.show_place(APPROVALS)
    assert not carla.approvals.break_glass_button.isVisible()
    refused = open_publish(qtbot, carla, msg, break_glass=True)
    assert refused.blocked.text() == (
        "✖ Cannot be published now: carla may not approve messages: that needs the role approver (has communicator)"
    )
    refused.close()
    ivan = open_window(qtbot, core, team["ivan"])
    people = Interactions(qtbot)
    click_place(people, ivan, APPROVALS)
    people.click(ivan.approvals.break_glass_button)
    dialog = ivan.approvals.dialog
    assert isinstance(dialog, PublishDialog) and dialog.isVisible() and dialog.break_glass
    assert dialog.glass.isVisible() and dialog.glass.text().startswith("⚠ BREAK GLASS ⚠")
    assert "dashed" in dialog.glass.styleSheet()
    assert dialog.heading.text().startswith(f"Break glass: publish LIVE {msg} v1")
    assert dialog.publish_button.text() == "⚠ Break glass: publish LIVE alone"
    assert dialog.approvals.text().startswith("needs 1 more approval(s)")  # it is not approved: that is the point
    people.type(dialog.phrase, f"PUBLISH LIVE {msg}")
    assert not dialog.publish_button.isEnabled()  # no reason, no break glass
    assert dialog.publish_button.toolTip() == "Give a reason first: break glass is recorded with it"
    people.type(dialog.reason, "   ")
    assert not dialog.publish_button.isEnabled()  # spaces are not a reason
    dialog.reason.clear()
    if SHOTS:
        qtbot.keyClicks(dialog.reason, "Levee breach at Mill Creek; the commander is on the radio")
        save(dialog, "publish-break-glass.png")
        dialog.reason.clear()
    people.type(dialog.reason, "Levee breach at Mill Creek; the commander is on the radio")
    people.click(dialog.publish_button)
    view = core.messages().show(team["ivan"], msg)
    assert (
        view.state == "published" and view.published[0]["break_glass"] == 1 and view.published[0]["by_name"] == "ivan"
    )
    last = next(e for e in reversed(list(core.log.events())) if e.kind == Kind.MESSAGE_PUBLISHED)
    assert last.payload["break_glass"] is True
    assert last.payload["reason"] == "Levee breach at Mill Creek; the commander is on the radio"
    assert dialog.result_label.text().startswith(f"✔ Published LIVE {msg} v1")
    assert unnamed_controls(dialog) == []


def test_reading_and_approving_never_blocks_the_window(qtbot: QtBot, core: App, team: dict[str, Actor]) -> None:
    """With the real thread pool: the queue, the review (CAP, word changes) and the approval run off the GUI thread;
    what is left on it (filling the texts) keeps the window answering within 50 ms."""
    inc = open_incident(core, team)
    publish(core, team, inc, ["public-page"])
    msg = submitted(core, team["carla"], inc, "update")
    window = MainWindow(core, team["ivan"], synchronous=False)
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    view = window.approvals
    qtbot.waitUntil(lambda: view.review is not None and not window.session.tasks.busy, timeout=10_000)
    # Fonts are loaded once per process, at their first use: not this view's cost, so paid before measuring.
    warm = ExactText("warm-up")
    warm.show_changes(view.review.base, view.review.changes) if view.review else None
    warm.grab()
    with Heartbeat() as heart:
        window.show_place(APPROVALS)
        qtbot.wait(50)
        view.tabs.setCurrentIndex(1)  # the changes, filled when first opened
        qtbot.wait(50)
        view.tabs.setCurrentIndex(0)
        qtbot.mouseClick(view.approve_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(view.result.isVisible, timeout=10_000)
        qtbot.waitUntil(lambda: not window.session.tasks.busy, timeout=10_000)
        qtbot.wait(50)
    assert view.result.text().startswith(f"✔ Approved {msg}")
    # The GUI thread's own time between two beats: on a loaded machine the wall clock counts other processes' turns.
    assert heart.longest < 0.050, f"the GUI thread was kept busy {heart.longest * 1000:.0f} ms\n{heart.report()}"
