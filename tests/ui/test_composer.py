"""The composer, offscreen, driven by real typing and clicks: the count and the findings follow each keystroke
(under 50 ms on a long text), a save makes one new version, leaving a text saves it, submit emits ``submitted``,
refusals show in the window, only the incident mode's channels are offered, and the previews draw what lands."""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, Qt
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QApplication, QLabel, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from crisisdesk.domain.text_rules import Channel, measure
from crisisdesk.ui import palette
from crisisdesk.ui.session import Session
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.composer import Composer, counter_text
from crisisdesk.ui.watcher import Watcher
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.ui.test_window import unnamed_controls

SMS = ["account_sid=AC1", "to=+15556660000"]


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    found = add_team(core, admin)
    ch = core.channels()
    ch.add(admin, "sms", "county-sms", settings=[*SMS, "base_url=https://sms.millcounty.test", "from=+15550001111"],
           secret="t")  # fmt: skip
    ch.add(admin, "sms", "drill-sms", exercise=True,
           settings=["account_sid=AC2", "to=+15557770000", "base_url=https://drill.millcounty.test",
                     "from=+15550002222"], secret="t")  # fmt: skip
    ch.add(admin, "mastodon", "county-social", settings=["base_url=https://social.millcounty.test"], secret="t")
    ch.add(
        admin, "mastodon", "drill-social", exercise=True, settings=["base_url=https://drill.social.test"], secret="t"
    )
    return found


def author(team: dict[str, Actor], mode: Mode) -> Actor:
    return team["eve"] if mode is Mode.EXERCISE else team["carla"]


def open_composer(qtbot: QtBot, core: App, who: Actor, message_id: str) -> Composer:
    session = Session(core=core, actor=who, tasks=Tasks(core), watcher=Watcher(core))
    composer = Composer(session, message_id)
    qtbot.addWidget(composer)
    composer.resize(1400, 820)
    with qtbot.waitActive(composer):  # shortcuts work in the active window
        composer.show()
        composer.activateWindow()
    return composer


def draft(core: App, team: dict[str, Actor], mode: Mode, channels: list[str] | None = None) -> str:
    inc = open_incident(core, team, mode)
    view = core.messages().draft(author(team, mode), inc, "alert")
    if channels:
        core.messages().set_targets(author(team, mode), view.id, channels)
    return view.id


def type_text(widget: QWidget, text: str) -> None:
    """Key presses carrying each character, as a keyboard sends them (QTest.keyClicks takes Latin-1 only and
    aborts on a curly quote)."""
    for ch in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch))


def type_at_end(qtbot: QtBot, composer: Composer, text: str) -> None:
    composer.editor.setFocus()
    composer.editor.moveCursor(QTextCursor.MoveOperation.End)
    type_text(composer.editor, text)


def row_of(composer: Composer, channel: str, lang: str = "en") -> tuple[str, ...]:
    i = composer.variants.find(channel, lang)
    assert i is not None
    return composer.variants.cells(composer.variants.row(i))


def test_typing_counts_and_lints_saving_makes_one_version_and_submit_emits(
    qtbot: QtBot, core: App, team: dict[str, Actor]
) -> None:
    message_id = draft(core, team, Mode.EXERCISE, ["exercise-page", "drill-sms"])
    composer = open_composer(qtbot, core, team["eve"], message_id)
    ModelTester(None).check(composer.variants)  # type: ignore[arg-type]
    composer.select("sms", "en")
    before_count, events = composer.counter.text(), core.log.count()
    assert before_count.endswith("GSM-7") and "2 parts" in before_count
    type_at_end(qtbot, composer, " Stay away from “Mill Creek”.")
    # The count follows the keystrokes: the curly quotes made it UCS-2, in more parts.
    assert "UCS-2 units" in composer.counter.text() and "4 parts" in composer.counter.text()
    codes = {(r.code, r.severity) for r in composer.findings.rows}
    assert ("CD101", "error") in codes and ("CD010", "info") in codes
    ModelTester(None).check(composer.findings)  # type: ignore[arg-type]
    # The quotes are marked where they are, with a wave (an error).
    text = composer.editor.toPlainText()
    marked = {(s.cursor.selectionStart(), s.cursor.selectionEnd()) for s in composer.editor.extraSelections()}
    assert (text.index("“"), text.index("“") + 1) in marked and (text.index("”"), text.index("”") + 1) in marked
    assert row_of(composer, "sms")[0] == "SMS • unsaved" and row_of(composer, "sms")[3] == "✕ 1 error"
    assert core.log.count() == events, "typing alone records nothing"
    # Save: one new version with exactly the text on screen.
    qtbot.mouseClick(composer.save_button, Qt.MouseButton.LeftButton)
    assert core.log.count() == events + 1
    saved = core.messages().show(team["eve"], message_id)
    assert saved.version == 3 and next(v.text for v in saved.variants if v.channel == "sms" and v.lang == "en") == text
    assert "Saved SMS [en] as version 3" in composer.notice.text() and not composer.has_unsaved()
    # Submit is refused while lint errors remain: the service's reason shows in the window.
    with qtbot.assertNotEmitted(composer.submitted):
        qtbot.mouseClick(composer.submit_button, Qt.MouseButton.LeftButton)
    assert "lint errors to fix before it is submitted" in composer.notice.text()
    assert "sms/en: CD101" in composer.notice.text()
    assert composer.notice.styleSheet() == palette.text_style("bad")
    # Fix the quotes by typing, and submit with its shortcut: the unsaved text is saved first.
    for _ in range(len("“Mill Creek”.")):
        qtbot.keyClick(composer.editor, Qt.Key.Key_Backspace)
    type_text(composer.editor, '"Mill Creek".')
    assert not [r for r in composer.findings.rows if r.severity == "error"]
    with qtbot.waitSignal(composer.submitted, timeout=5000) as signal:
        qtbot.keyClick(composer.editor, Qt.Key.Key_Return, Qt.KeyboardModifier.ControlModifier)
    assert signal.args == [message_id]
    done = core.messages().show(team["eve"], message_id)
    assert done.state == "submitted" and done.version == 4
    assert next(v.text for v in done.variants if v.channel == "sms" and v.lang == "en").endswith('"Mill Creek".')
    assert "Submitted version 4 for approval" in composer.notice.text()


def test_leaving_a_text_saves_it_and_undo_puts_back_the_saved_one(
    qtbot: QtBot, core: App, team: dict[str, Actor]
) -> None:
    message_id = draft(core, team, Mode.LIVE, ["public-page", "county-sms"])
    composer = open_composer(qtbot, core, team["carla"], message_id)
    composer.select("wea-90", "en")
    type_at_end(qtbot, composer, " Now.")
    assert composer.has_unsaved()
    version = core.messages().show(team["carla"], message_id).version
    x_row = composer.variants.find("x", "en")
    assert x_row is not None
    qtbot.mouseClick(
        composer.variants_table.viewport(),
        Qt.MouseButton.LeftButton,
        pos=composer.variants_table.visualRect(composer.variants.index(x_row, 0)).center(),
    )
    assert composer.current == ("x", "en") and composer.variant_title.text() == "X · en"
    after = core.messages().show(team["carla"], message_id)
    assert after.version == version + 1
    assert next(v.text for v in after.variants if (v.channel, v.lang) == ("wea-90", "en")).endswith(" Now.")
    # Undo: the typed words go, nothing is recorded.
    saved = composer.editor.toPlainText()
    type_at_end(qtbot, composer, " extra")
    events = core.log.count()
    qtbot.mouseClick(composer.revert_button, Qt.MouseButton.LeftButton)
    assert composer.editor.toPlainText() == saved and not composer.has_unsaved() and core.log.count() == events


def test_a_keystroke_on_a_long_text_takes_under_50_ms(qtbot: QtBot, core: App, team: dict[str, Actor]) -> None:
    message_id = draft(core, team, Mode.LIVE)
    composer = open_composer(qtbot, core, team["carla"], message_id)
    composer.select("web", "en")
    paragraph = (
        "Mill County Emergency Management: a Flash Flood Warning is in effect for Mill Creek valley until 9:30 PM. "
        "Go to higher ground now. Do not walk or drive into water: “turn around”. Info: https://ready.millcounty.gov "
        "#floodwarningnow\n\n"
    )
    long_text = (paragraph * 100)[:19_000]
    composer.editor.setPlainText(long_text)
    composer.editor.moveCursor(QTextCursor.MoveOperation.End)
    assert len(composer.current_places) > 200  # a long text full of findings, every one marked
    gc.collect()  # earlier tests' garbage is not this keystroke's cost
    took, cpu = [], []
    for ch in "Stay safe":
        started, started_cpu = time.perf_counter(), time.thread_time()
        type_text(composer.editor, ch)
        took.append((time.perf_counter() - started) * 1000)
        cpu.append((time.thread_time() - started_cpu) * 1000)
    assert composer.editor.toPlainText().endswith("Stay safe")
    assert composer.counter.text().startswith("19009 / 20000 characters")
    # Each keystroke (the count, the lint, the marks, the row and the preview, on the GUI thread) costs under 50 ms
    # of this thread's time. The wall clock agrees on a quiet machine (16-24 ms, bench/README.md); on a machine
    # busy with other work (the suite beside a CPU hog) it also counts other processes' turns, so it is not held.
    assert max(cpu) < 50, (cpu, took)
    assert composer.last_check_ms > 0  # the composer measures its own check too


def test_only_the_incident_modes_channels_are_offered_and_the_mode_is_loud(
    qtbot: QtBot, core: App, team: dict[str, Actor]
) -> None:
    live = open_composer(qtbot, core, team["carla"], draft(core, team, Mode.LIVE))
    offered = [live.channel_list.item(i).text() for i in range(live.channel_list.count())]
    assert offered == [
        "county-sms · sms · LIVE",
        "county-social · mastodon · LIVE",
        "public-page · folder · LIVE",
    ]
    assert live.band.mode == "live" and "LIVE" in live.band.label.text()
    assert live.about.text().startswith("LIVE · alert") and live.windowTitle().startswith("LIVE")
    assert live.goes_to.text().startswith("LIVE · goes to:") and "EXERCISE" not in live.goes_to.text()
    assert "only LIVE channels are offered" in live.channels_about.text()

    exercise = open_composer(qtbot, core, team["eve"], draft(core, team, Mode.EXERCISE))
    items = [exercise.channel_list.item(i) for i in range(exercise.channel_list.count())]
    assert [i.text() for i in items] == [
        "drill-sms · sms · EXERCISE",
        "drill-social · mastodon · EXERCISE",
        "exercise-page · folder · EXERCISE",
    ]
    assert exercise.band.mode == "exercise" and exercise.about.text().startswith("EXERCISE")
    # Choose the channels: applied with their own button, as one new version.
    assert row_of(exercise, "sms")[4] == "chosen"  # every account of the mode is a target at first
    assert not exercise.apply_channels_button.isEnabled()
    items[0].setCheckState(Qt.CheckState.Unchecked)
    assert exercise.apply_channels_button.isEnabled()
    qtbot.mouseClick(exercise.apply_channels_button, Qt.MouseButton.LeftButton)
    view = core.messages().show(team["eve"], exercise.message_id)
    assert {a.name for a in view.accounts} == {"drill-social", "exercise-page"} and view.version == 2
    assert row_of(exercise, "sms")[4] == "none chosen" and "drill-sms" not in exercise.goes_to.text()
    assert "Channels saved as version 2" in exercise.notice.text()


def test_the_previews_draw_what_lands_as_plain_text(qtbot: QtBot, core: App, team: dict[str, Actor]) -> None:
    message_id = draft(core, team, Mode.LIVE, ["public-page", "county-sms", "county-social"])
    composer = open_composer(qtbot, core, team["carla"], message_id)

    def labels() -> dict[str, str]:
        found = composer.preview.widget().findChildren(QLabel)
        for label in found:
            assert label.textFormat() == Qt.TextFormat.PlainText, label.accessibleName()
        return {label.accessibleName(): label.text() for label in found}

    composer.select("sms", "en")
    shown = labels()
    assert composer.preview.kind == "sms" and shown["SMS sender"] == "Text message from county-sms"
    assert shown["SMS part 1 marker"] == "── part 1 of 2 · 153 septets ──"
    assert shown["SMS part 1"] + shown["SMS part 2"] == composer.editor.toPlainText()
    composer.select("wea-360", "en")
    shown = labels()
    assert composer.preview.kind == "wea" and shown["WEA 360 alert"] == composer.editor.toPlainText()
    assert shown["WEA 90 alert"].startswith("Flash Flood Warning here") and shown["WEA 90 alert heading"]
    composer.select("mastodon", "en")
    type_at_end(qtbot, composer, " <b>not bold</b>")
    shown = labels()
    assert composer.preview.kind == "post" and shown["Post text"].endswith("<b>not bold</b>")
    assert (
        shown["Post author"] == "Mill County Emergency Management" and shown["Post account"] == "@county-social · now"
    )
    composer.revert()
    composer.select("email-subject", "en")
    shown = labels()
    assert composer.preview.kind == "email" and shown["Email subject"] == composer.editor.toPlainText()
    assert shown["Email body"].startswith("Mill County Emergency Management")
    composer.select("cap-headline", "en")
    shown = labels()
    assert (shown["CAP event"], shown["CAP urgency"], shown["CAP severity"], shown["CAP certainty"]) == (
        "Flash Flood Warning",
        "Immediate",
        "Severe",
        "Likely",
    )
    assert shown["CAP area"] == "Mill Creek valley"
    assert shown["CAP expiry"].endswith(" 21:30") and "-08:00" not in shown["CAP expiry"]  # as read, in its offset
    assert shown["CAP status"] == "Actual · Alert"
    composer.select("web", "en")
    shown = labels()
    assert composer.preview.kind == "page" and "Page exercise note" not in shown
    assert shown["Page heading"].startswith("● LIVE  Flash Flood Warning for Mill Creek valley")  # as the page says
    assert shown["Page paragraph 1"].startswith("Mill County Emergency Management")
    # The CAP tab says the same for whichever text is chosen; every control is named.
    for i in range(composer.tabs.count()):
        composer.tabs.setCurrentIndex(i)
    assert unnamed_controls(composer) == []


def test_the_changes_since_the_published_version_word_by_word(qtbot: QtBot, core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team, Mode.LIVE)
    alert = publish(core, team, inc, ["public-page"])
    update = core.messages().draft(team["carla"], inc, "update")
    composer = open_composer(qtbot, core, team["carla"], update.id)
    composer.select("wea-90", "en")
    composer.tabs.setCurrentWidget(composer.diff_view)
    published = next(v.text for v in alert.variants if (v.channel, v.lang) == ("wea-90", "en"))
    composer.editor.selectAll()
    type_text(composer.editor, published.replace("Go to higher", "Climb to higher"))
    composer.tabs.setCurrentIndex(0)
    composer.tabs.setCurrentWidget(composer.diff_view)  # the changes are drawn when looked at
    shown = composer.diff_view.toPlainText()
    assert f"what changes against {alert.id} v{alert.version} (as published)" in shown
    document = composer.diff_view.document()

    def format_at(word: str) -> tuple[bool, bool]:
        cursor = QTextCursor(document)
        cursor.setPosition(shown.index(word) + 1)
        return cursor.charFormat().fontUnderline(), cursor.charFormat().fontStrikeOut()

    assert "PM. GoClimb to higher" in shown  # the removed word, then the added one
    assert format_at("Climb") == (True, False)  # added: underlined
    assert format_at("GoClimb") == (False, True)  # removed: struck through
    assert format_at("higher") == (False, False)


def test_a_published_message_cannot_change_in_the_composer(qtbot: QtBot, core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team, Mode.LIVE)
    alert = publish(core, team, inc, ["public-page"])
    composer = open_composer(qtbot, core, team["carla"], alert.id)
    assert composer.editor.isReadOnly() and not composer.submit_button.isEnabled()
    assert "published: it cannot change" in composer.notice.text()


def test_a_returned_message_shows_what_the_approver_asked_to_change(
    qtbot: QtBot, core: App, team: dict[str, Actor]
) -> None:
    msg = draft(core, team, Mode.LIVE, ["public-page"])
    core.messages().submit(team["carla"], msg)
    core.messages().return_(team["ivan"], msg, "Name the shelter: Mill High School")
    composer = open_composer(qtbot, core, team["carla"], msg)
    assert composer.notice.text() == "Returned for changes: Name the shelter: Mill High School"
    assert composer.composition is not None and composer.composition.returned_comment is not None


@pytest.fixture
def styled() -> QApplication:
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    style, previous = app.style().name(), app.palette()
    app.setStyle("Fusion")
    app.setPalette(palette.light_palette())
    yield app  # type: ignore[misc]
    app.setStyle(style)
    app.setPalette(previous)


@pytest.mark.parametrize("mode", [Mode.LIVE, Mode.EXERCISE])
@pytest.mark.parametrize("channel", ["sms", "wea-360", "mastodon"])
def test_pictures_of_the_composer(
    qtbot: QtBot, core: App, team: dict[str, Actor], styled: QApplication, mode: Mode, channel: str, tmp_path: Path
) -> None:
    exercise = mode is Mode.EXERCISE
    channels = (
        ["exercise-page", "drill-sms", "drill-social"] if exercise else ["public-page", "county-sms", "county-social"]
    )
    composer = open_composer(qtbot, core, author(team, mode), draft(core, team, mode, channels))
    composer.select(channel, "en")
    if channel == "sms":  # a finding to show: typographic quotes, marked in the text
        type_at_end(qtbot, composer, " Stay away from “Mill Creek”.")
    picture = composer.grab()
    name = f"composer-{channel.removesuffix('-360')}-{mode.value}.png"
    assert picture.save(str(tmp_path / name)) and picture.width() >= 1300
    if shots := os.environ.get("CRISISDESK_SCREENSHOTS"):
        picture.save(str(Path(shots) / name))


def test_a_refused_save_keeps_the_text_on_screen_with_the_reason(
    qtbot: QtBot, core: App, team: dict[str, Actor]
) -> None:
    message_id = draft(core, team, Mode.LIVE)
    composer = open_composer(qtbot, core, team["vic"], message_id)  # a viewer may read, not write
    composer.select("wea-90", "en")
    type_at_end(qtbot, composer, " Now.")
    qtbot.keyClick(composer.editor, Qt.Key.Key_S, Qt.KeyboardModifier.ControlModifier)
    assert composer.notice.text().startswith("Not done: ") and "vic" in composer.notice.text()
    assert composer.has_unsaved() and composer.editor.toPlainText().endswith(" Now.")
    assert core.messages().show(team["carla"], message_id).version == 1


def test_the_counter_says_which_limit_a_text_passes() -> None:
    # 611 septets, under the 612 of four parts, but packed without splitting an escape pair: five parts.
    shown = counter_text(measure(Channel.SMS, "€" * 305 + "a"))
    assert shown.startswith("✕ 611 / 612 GSM-7 septets · 5 parts") and shown.endswith("over by 1 part")
    assert counter_text(measure(Channel.SMS, "a" * 620)).endswith("over by 8")  # past the septets too
    # 300 graphemes fit Bluesky's count, but not its 3,000 bytes.
    shown = counter_text(measure(Channel.BLUESKY, "👨\u200d👩\u200d👧\u200d👦" * 300))
    assert shown == "✕ 300 / 300 graphemes · 7,500 bytes, over the limit of 3,000"
    assert counter_text(measure(Channel.X, "Shelter ⚠️ now")) == "14 / 280 X weighted characters"
