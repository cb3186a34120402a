"""False alarm…, offscreen: both texts in both languages as they would go out, the messages they cancel and the
time since, the person's words in the correction; submit; after approval, publish and an outbox run the correction
is on the exercise folder page and the time from the click to the correction confirmed everywhere is shown and
recorded."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from crisisdesk.services.deliveries import CORRECTION_PLACEHOLDER
from crisisdesk.ui.dialogs.false_alarm import FalseAlarmDialog
from crisisdesk.ui.views.main_window import MainWindow
from tests.integration.outbox_helpers import add_team, publish
from tests.integration.test_incidents import FLOOD_FACTS

WRONG = "the warning was for Elm Creek, not Mill Creek"
WRONG_ES = "el aviso era para Elm Creek, no para Mill Creek"


def save(widget: object, name: str) -> None:
    folder = os.environ.get("CRISISDESK_SCREENSHOTS")
    if folder:
        widget.grab().save(str(Path(folder) / f"{name}.png"))  # type: ignore[attr-defined]


def test_an_exercise_false_alarm_from_the_dialog_to_the_correction_on_the_page(
    qtbot: QtBot, core: App, admin: Actor, clock: FixedClock
) -> None:
    team = add_team(core, admin)
    inc = core.incidents().open(team["eve"], "flash-flood", Mode.EXERCISE, facts=FLOOD_FACTS).id
    alert = publish(core, team, inc, ["exercise-page"], mode=Mode.EXERCISE)
    core.outbox().run_once()
    clock.advance(timedelta(minutes=7))
    window = MainWindow(core, team["eve"])
    qtbot.addWidget(window)
    dialog = FalseAlarmDialog(window.session, inc, window)  # made by the click: the clock starts now
    dialog.show()
    clicked = clock.now()
    assert dialog.clicked_at == clicked and not dialog.isModal()
    assert (
        dialog.band.mode == "exercise" and "EXERCISE" in dialog.windowTitle() and "▨ EXERCISE" in dialog.heading.text()
    )
    assert "went out 7 min 00 s ago" in dialog.since.text()
    assert alert.id in dialog.references.text() and "alert v" in dialog.references.text()
    assert set(dialog.cancel_box.texts) == set(dialog.correction_box.texts) == {"en", "es"}
    assert "canceled" in dialog.cancel_box.texts["en"].toPlainText()
    assert "cancelado" in dialog.cancel_box.texts["es"].toPlainText()
    assert CORRECTION_PLACEHOLDER in dialog.correction_box.texts["en"].toPlainText()
    assert "EXERCISE" in dialog.correction_box.texts["en"].toPlainText()
    assert "exercise channels only" in dialog.channels.text() and "exercise-page (folder)" in dialog.channels.text()
    assert "single approver" in dialog.policy.text()
    assert not dialog.submit_button.isEnabled()  # nothing said yet about what was wrong
    qtbot.keyClicks(dialog.fact, WRONG)
    assert WRONG in dialog.correction_box.texts["en"].toPlainText()
    # Until it is said in Spanish, the Spanish correction shows the English words, and the dialog says so.
    assert WRONG in dialog.correction_box.texts["es"].toPlainText()
    assert set(dialog.translations) == {"es"} and dialog.translation_problem.isVisible()
    assert "Spanish" in dialog.translation_problem.text()
    assert dialog.submit_button.isEnabled()  # a missing translation is named, never a reason to hold a correction
    qtbot.keyClicks(dialog.translations["es"], WRONG_ES)
    assert WRONG_ES in dialog.correction_box.texts["es"].toPlainText()
    assert WRONG not in dialog.correction_box.texts["es"].toPlainText()
    assert not dialog.translation_problem.isVisible()
    save(dialog, "false-alarm-exercise")

    clock.advance(timedelta(seconds=40))
    before = core.log.count()
    qtbot.mouseClick(dialog.submit_button, Qt.MouseButton.LeftButton)
    progress = dialog.progress
    assert progress is not None and core.log.count() > before
    assert "waiting for approval" in dialog.status.text() and not dialog.submit_button.isEnabled()
    assert "since False alarm… was clicked" in dialog.elapsed.text()
    assert not dialog.publish_correction.isEnabled()

    # ivan approves both (one approver is enough by the playbook); eve publishes; the outbox delivers.
    messages = core.messages()
    for step in (progress.cancel, progress.correction):
        view = messages.show(team["ivan"], step.message_id)
        messages.approve(team["ivan"], view.id, view.content_hash)
    window.session.watcher.check()
    assert dialog.publish_cancel.isEnabled() and dialog.publish_correction.isEnabled()
    clock.advance(timedelta(seconds=30))
    for step in (progress.cancel, progress.correction):
        messages.publish(team["eve"], step.message_id, confirm=f"SEND EXERCISE {step.message_id}")
    window.session.watcher.check()
    assert "exercise-page (folder): queued" in dialog.status.text()
    clock.advance(timedelta(seconds=50))
    core.outbox().run_once()
    window.session.watcher.check()
    assert "✔ sent" in dialog.status.text()
    assert dialog.elapsed.text() == (
        "✔ Correction confirmed on every channel 2 min 00 s after False alarm… was clicked (recorded in the audit log)."
    )
    (timed,) = [e for e in core.log.events() if e.kind == Kind.FALSE_ALARM_CORRECTED]
    assert timed.payload["elapsed_ms"] == 120_000 and timed.payload["correction"] == progress.correction.message_id
    page = (Path(core.channels().get("exercise-page").settings["path"]) / "index.html").read_text()
    assert WRONG in page and f'id="{alert.id}-' not in page  # corrected, and the wrong alert taken down
    assert WRONG_ES in page  # in each language's own words
    save(dialog, "false-alarm-exercise-confirmed")

    # Opened again (a later click), the finished false alarm is history: a new one could be started.
    again = FalseAlarmDialog(window.session, inc, window)
    assert again.progress is None


def test_a_live_false_alarm_reads_live_and_refuses_without_the_words(qtbot: QtBot, core: App, admin: Actor) -> None:
    team = add_team(core, admin)
    inc = core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS).id
    alert = publish(core, team, inc, ["public-page"])
    window = MainWindow(core, team["carla"])
    qtbot.addWidget(window)
    dialog = FalseAlarmDialog(window.session, inc, window)
    dialog.show()
    assert dialog.band.mode == "live" and "LIVE" in dialog.windowTitle() and "● LIVE" in dialog.heading.text()
    assert "(the public)" in dialog.channels.text() and "public-page (folder)" in dialog.channels.text()
    assert "EXERCISE" not in dialog.correction_box.texts["en"].toPlainText()
    assert alert.id in dialog.references.text()
    qtbot.keyClicks(dialog.fact, "   ")
    assert not dialog.submit_button.isEnabled()
    dialog.fact.clear()
    qtbot.keyClicks(dialog.fact, "the shelter is at Mill High School, not the Fairgrounds")
    save(dialog, "false-alarm-live")
    # Someone who may not work on the incident: the service's refusal is what the dialog shows.
    vic_window = MainWindow(core, team["vic"])
    qtbot.addWidget(vic_window)
    refused = FalseAlarmDialog(vic_window.session, inc, vic_window)
    qtbot.keyClicks(refused.fact, "wrong road")
    qtbot.mouseClick(refused.submit_button, Qt.MouseButton.LeftButton)
    assert not refused.problem.isHidden() and "vic may not" in refused.problem.text()
    assert refused.progress is None
