"""Draw every view and dialog of the console, with sample data, to PNG files.

    uv run python scripts/screenshots.py [--out DIR]        # DIR: docs/screenshots unless given

The sample data is made in a temporary folder through the services (crisisdesk.app.App), never in the user's
own database: a team (alice the admin, carla a communicator, ivan an approver), channel accounts (the two public
pages as folders in the temporary folder, an SMS gateway, a webhook that refuses, one that cannot be reached, and
two social accounts that are only drafted to), a LIVE flash flood and an EXERCISE wildfire drill from the shipped
playbooks, and messages in every state (draft, submitted, returned with a comment, approved, published and
delivered, a dead delivery). The gateway, the refusing webhook and a social feed are one small HTTP server on
127.0.0.1 started here; nothing leaves the machine.

The views load through the console's own task helper on its thread pool, as in the console: the script waits for
each view to say it has loaded (and for no task to be running), with a deadline, and then draws it. The clock is
fixed, so the pictures show the same times on every run. Exit 0 when every picture was written; otherwise one line
on stderr saying which view did not load, and exit 1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QEvent, QEventLoop, QMessageLogContext, Qt, QTimer, QtMsgType, qInstallMessageHandler
from PySide6.QtGui import QKeyEvent, QTextCursor
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from crisisdesk.app import App
from crisisdesk.credentials import MemorySecrets
from crisisdesk.domain.accounts import AccountKind
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Role
from crisisdesk.services.passwords import Argon2Hasher
from crisisdesk.ui import palette
from crisisdesk.ui.dialogs.false_alarm import FalseAlarmDialog
from crisisdesk.ui.dialogs.new_incident import NewIncidentDialog
from crisisdesk.ui.dialogs.publish import PublishDialog
from crisisdesk.ui.dialogs.sign_in import LoginDialog
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.composer import Composer
from crisisdesk.ui.views.deliveries import DeliveriesView
from crisisdesk.ui.views.drill_view import DrillView
from crisisdesk.ui.views.fact_form import AreaEditor, DateTimeEditor, LineEditor
from crisisdesk.ui.views.main_window import APPROVALS, AUDIT, DRILLS, MONITOR, OUTBOX, MainWindow
from crisisdesk.ui.views.settings_accounts import AccountsPage
from crisisdesk.ui.views.settings_people import PeoplePage
from crisisdesk.ui.views.settings_view import ACCOUNTS, PEOPLE, WORKSTATION, SettingsView, WorkstationPage

REPO = Path(__file__).resolve().parents[1]
DEADLINE_S = 90.0  # for one view to load: the playbook library's first load renders every template
START = datetime(2026, 11, 22, 14, 40, tzinfo=UTC)  # 08:40 in Mill County (America/Chicago)

ADMIN = "alice"
SAMPLE_CREDENTIAL = "sample"  # kept in memory only (MemorySecrets), never in a keyring
TEAM = {"carla": [Role.COMMUNICATOR], "ivan": [Role.APPROVER]}
FLOOD_FACTS = {
    "area": "Mill Creek valley | geocode: SAME=006067",
    "expires": "2026-11-22T21:30",
    "info_url": "https://ready.millcounty.gov/flood",
    "phone": "211",
}
FIRE_FACTS = {
    "level": "go",
    "zone": "Zone 4 (Pine Ridge) | geocode: SAME=006067",
    "expires": "2026-11-22T14:00",
    "route": "Highway 49 south",
    "info_url": "https://ready.millcounty.gov/fire",
    "phone": "211",
}
ALERT_WEB_EN = (
    "NOW: go to higher ground. Mill County Emergency Management: a Flash Flood Warning is in effect for Mill Creek "
    "valley.\nWater is rising fast. Highway 16 is closed at the Mill Creek bridge. Do not walk or drive into water: "
    "turn around.\nUpdates: https://ready.millcounty.gov/flood. Questions: call 211. In danger, call 911."
)

TORNADO_WITH_MISTAKES = """\
# A tornado warning for Pine Ridge, written by the county's exercise officer (two mistakes left in).
id: tornado-warning
name: Tornado warning, Pine Ridge
summary: A tornado warning at rush hour; the sirens sound and the public asks where to shelter.
duration: 45 minutes
incidents:
  - {key: tornado, playbook: tornado-warning, title: "Drill: Pine Ridge tornado"}
objectives:
  - id: first-alert
    title: Warn the public within 5 minutes of the NWS warning
    expect: {measure: first-message, after: nws-tornado, within: 5m}
injects:
  - {id: nws-tornado, at: T+0, kind: feed-item, headline: Tornado Warning for Pine Ridge}
  - {id: sirens, at: T+2m, kind: siren, text: Sirens sound across Pine Ridge}
"""

# Every picture the script writes, in the order it draws them.
PICTURES = (
    "sign-in",
    "incidents-board",
    "new-incident-1-choose",
    "new-incident-2-exercise-chosen",
    "new-incident-3-facts-with-a-problem",
    "new-incident-4-facts-ready",
    "composer-sms-live",
    "composer-wea-live",
    "composer-mastodon-live",
    "composer-sms-exercise",
    "composer-wea-exercise",
    "composer-mastodon-exercise",
    "incident-workspace-live",
    "incident-workspace-exercise",
    "approvals-queue",
    "publish-break-glass",
    "publish-live",
    "publish-exercise",
    "deliveries",
    "deliveries-retract-confirm",
    "outbox",
    "feeds",
    "false-alarm-live",
    "dead-delivery-notification",
    "window-light",
    "window-dark",
    "false-alarm-exercise",
    "false-alarm-exercise-confirmed",
    "audit",
    "settings-people",
    "settings-people-dark",
    "settings-people-read-only",
    "settings-people-add",
    "settings-accounts",
    "settings-accounts-dark",
    "settings-accounts-add-live",
    "settings-accounts-add-dark",
    "settings-workstation",
    "settings-feeds",
    "settings-feeds-dark",
    "settings-rules",
    "settings-rules-dark",
    "settings-playbooks",
    "settings-playbooks-dark",
    "feel-shortcuts-light",
    "feel-shortcuts-dark",
    "monitor",
    "monitor-search",
    "monitor-triage",
    "monitor-chart",
    "monitor-open-incident",
    "monitor-dark",
    "monitor-triage-dark",
    "monitor-chart-dark",
    "drill-picker",
    "drill-control",
    "drill-control-dark",
    "drill-read-only",
    "drill-evaluation",
    "drill-plan",
    "drill-report",
    "drill-evaluation-dark",
    "audit-dark",
    "audit-broken",
    "team-alarm-window-light",
    "team-alarm-collapsed-light",
    "team-alarm-details-light",
    "team-siblings-composer-light",
    "team-siblings-approvals-light",
    "team-merge-light",
    "team-sync-not-set-up-light",
    "team-sync-connected-light",
    "team-sync-not-connected-light",
    "team-sync-cannot-sign-light",
    "team-sync-cannot-sign-window-light",
    "team-alarm-window-dark",
    "team-alarm-collapsed-dark",
    "team-alarm-details-dark",
    "team-siblings-composer-dark",
    "team-siblings-approvals-dark",
    "team-merge-dark",
    "team-sync-not-set-up-dark",
    "team-sync-connected-dark",
    "team-sync-not-connected-dark",
    "team-sync-cannot-sign-dark",
    "team-sync-cannot-sign-window-dark",
)


class NotLoaded(Exception):
    """A view did not say it had loaded before the deadline, or a console task hit a bug."""


# -- a stand-in for the outside world: an SMS gateway, a webhook that refuses, a social feed ------------------------


def _toots() -> list[dict[str, Any]]:
    """Public posts under the county's flood hashtag, as Mastodon's tag timeline returns them."""
    posts = [
        ("ann", "We are trapped on the roof on Elm Rd, water rising, please help"),
        ("kmill_news", "Reporter here: is the flooding on Elm Rd closing schools tomorrow?"),
        ("bo", "Thank you to the road crews on Highway 16, great work this morning!"),
        ("cy", "This flooding response is terrible. Nobody warned us on Creek Lane."),
        ("dee", "Is the Mill Creek bridge open? Need to get to work"),
    ]
    return [
        {
            "id": str(110000000000000000 + n),
            "uri": f"https://social.example/users/{who}/statuses/{110000000000000000 + n}",
            "url": f"https://social.example/@{who}/{110000000000000000 + n}",
            "created_at": f"2026-11-22T14:{10 + 4 * n:02d}:00.000Z",
            "language": "en",
            "content": f"<p>{text} #millcountyflood</p>",
            "account": {"acct": who, "username": who, "display_name": who.title()},
        }
        for n, (who, text) in enumerate(posts)
    ]


class _World(BaseHTTPRequestHandler):
    sent = 0

    def log_message(self, format: str, *args: Any) -> None:
        pass  # quiet: the script prints only what went wrong

    def _answer(self, status: int, body: object, content_type: str = "application/json") -> None:
        data = json.dumps(body).encode() if not isinstance(body, bytes) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        if self.path.startswith("/feeds/flood-tag"):
            self._answer(200, _toots())
        elif self.path.endswith("/Messages.json") or "/Messages.json?" in self.path:
            self._answer(200, {"messages": []})  # an SMS lookup after a retry: nothing sent before
        else:
            self._answer(404, b"not here", "text/plain")

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        if self.path.startswith("/hooks/county"):
            self._answer(401, {"error": "bad signature"})  # a permanent refusal: the delivery goes dead
        elif self.path.endswith("/Messages.json"):
            _World.sent += 1
            sid = "SM" + hashlib.sha256(str(_World.sent).encode()).hexdigest()[:32]  # as a gateway names it
            self._answer(201, {"sid": sid, "status": "queued"})
        else:
            self._answer(404, {"error": "no such endpoint"})


@contextmanager
def outside_world() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _World)
    thread = threading.Thread(target=server.serve_forever, name="sample-world", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


# -- waiting for the console ----------------------------------------------------------------------------------------


class Console:
    """The windows and dialogs drawn so far, and the one way to wait for them."""

    def __init__(self, core: App, out: Path) -> None:
        self.core = core
        self.out = out
        self.tasks: list[Tasks] = []
        self.bugs: list[str] = []
        self.written: list[str] = []
        self._wake = QTimer()
        self._wake.setInterval(20)  # wakes the wait below so the deadline is looked at even when nothing happens

    def window(self, who: str, *, size: tuple[int, int] = (1280, 800)) -> MainWindow:
        window = MainWindow(self.core, self.core.people.actor(who), synchronous=False)
        self.watch(window.session.tasks)
        window.resize(*size)
        window.show()
        self.settle(f"{who}'s window")
        return window

    def watch(self, tasks: Tasks) -> None:
        self.tasks.append(tasks)
        tasks.bug.connect(lambda summary, _trace: self.bugs.append(summary))

    def settle(self, what: str, until: Callable[[], object] = lambda: True) -> None:
        """Run the event loop until ``until()`` holds and no console task is running, or fail at the deadline."""
        deadline = time.monotonic() + DEADLINE_S
        self._wake.start()
        try:
            while True:
                if self.bugs:
                    raise NotLoaded(f"{what}: a console task failed: {self.bugs[0]}")
                if not any(t.busy for t in self.tasks) and until():
                    break
                if time.monotonic() > deadline:
                    raise NotLoaded(f"{what} did not load within {DEADLINE_S:.0f} s")
                QApplication.processEvents(QEventLoop.ProcessEventsFlag.WaitForMoreEvents)
        finally:
            self._wake.stop()
        for _ in range(3):  # layouts and repaints posted by what was just shown
            QApplication.processEvents()

    def changed(self, window: MainWindow, what: str, until: Callable[[], object] = lambda: True) -> None:
        """The database changed behind the window: let its watcher look now rather than at its next beat."""
        window.session.watcher.check()
        self.settle(what, until)

    def picture(self, widget: QWidget, name: str) -> None:
        assert name in PICTURES, name
        QApplication.processEvents()
        path = self.out / f"{name}.png"
        if not widget.grab().save(str(path)):
            raise NotLoaded(f"{path} could not be written")
        self.written.append(name)
        print(f"  {path}")

    def close(self, widget: QWidget) -> None:
        if isinstance(widget, MainWindow):
            widget.dispose()
            self.tasks.remove(widget.session.tasks)
        else:
            widget.close()
            widget.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def loaded(view: object, attribute: str) -> Callable[[], bool]:
    """True once the view has what it reads (its ``attribute`` is set when the service's answer arrived)."""
    return lambda: getattr(view, attribute) is not None


def type_text(widget: QWidget, text: str) -> None:
    """Key presses carrying each character, as a keyboard sends them, into the field that has the focus."""
    widget.setFocus()
    for ch in text:
        for kind in (QEvent.Type.KeyPress, QEvent.Type.KeyRelease):
            QApplication.sendEvent(widget, QKeyEvent(kind, Qt.Key.Key_unknown, Qt.KeyboardModifier.NoModifier, ch))


# -- the sample data ------------------------------------------------------------------------------------------------


class Sample:
    """The team, the channels and the two incidents, made through the services."""

    def __init__(self, core: App, clock: FixedClock, folder: Path, world: str, drill_world: str) -> None:
        self.core, self.clock = core, clock
        core.people.initialise(ADMIN, "correct horse battery", workstation_name="EOC desk 1")
        self.admin = core.people.actor(ADMIN)
        for name, roles in TEAM.items():
            core.people.add(self.admin, name, roles, f"{name} password")
        self.carla, self.ivan = core.people.actor("carla"), core.people.actor("ivan")
        self.channels(folder, world, drill_world)
        self.feeds(world)

    def channels(self, folder: Path, world: str, drill_world: str) -> None:
        """(kind, name, exercise, settings): the two public pages in the scratch folder, an SMS gateway each, a
        county webhook that refuses, a radio one nobody answers, and a social account each for the drafts."""
        accounts = [
            ("folder", "public-page", False, [f"path={folder / 'public-page'}", "title=Public alerts"]),
            ("folder", "exercise-page", True,
             [f"path={folder / 'exercise-page'}", "title=EXERCISE: public alerts (practice page)"]),
            ("sms", "county-sms", False,
             [f"base_url={world}", "account_sid=AC1", "from=+15550001111", "to=+15556660000"]),
            ("sms", "drill-sms", True,
             [f"base_url={drill_world}", "account_sid=AC2", "from=+15550002222", "to=+15557770000"]),
            ("webhook", "county-hook", False, [f"url={world}/hooks/county"]),
            ("webhook", "radio-hook", False, ["url=http://127.0.0.1:9/hook"]),
            ("mastodon", "county-social", False, ["base_url=https://social.millcounty.test"]),
            ("mastodon", "drill-social", True, ["base_url=https://drill.social.test"]),
        ]  # fmt: skip
        for kind, name, exercise, settings in accounts:
            secret = None if kind == "folder" else SAMPLE_CREDENTIAL
            self.core.channels().add(self.admin, kind, name, exercise=exercise, settings=settings, secret=secret)

    def feeds(self, world: str) -> None:
        feeds = self.core.feeds()
        feeds.add(self.admin, "flood-tag", f"{world}/feeds/flood-tag", "mastodon")
        feeds.add(self.admin, "county-news", f"{world}/feeds/gone.xml", "rss")

    def story(self) -> None:
        """What has happened by the time the pictures are drawn."""
        core, clock, carla, ivan = self.core, self.clock, self.carla, self.ivan
        messages, incidents = core.messages(), core.incidents()
        # 08:40: the flash flood, LIVE. The alert is returned once, then approved and published.
        self.live = incidents.open(carla, "flash-flood", Mode.LIVE, facts=FLOOD_FACTS).id
        incidents.step_done(carla, self.live, 1)
        alert = messages.draft(carla, self.live, "alert")
        messages.set_targets(carla, alert.id, ["public-page", "county-sms", "county-hook", "radio-hook"])
        messages.submit(carla, alert.id)
        clock.advance(timedelta(minutes=2))
        messages.return_(ivan, alert.id, "Say NOW first, and name the road that is closed.")
        clock.advance(timedelta(minutes=2))
        incidents.set_fact(carla, self.live, "route", "Highway 16 east")
        messages.edit(carla, alert.id, "web", "en", ALERT_WEB_EN)
        view = messages.submit(carla, alert.id)
        clock.advance(timedelta(minutes=1))
        messages.approve(ivan, alert.id, view.content_hash)
        messages.publish(carla, alert.id, confirm=f"PUBLISH LIVE {alert.id}")
        self.alert = alert.id
        core.outbox().run_once()  # the page and the SMS go out; the county webhook refuses; the radio one is down
        self.feeds_polled()
        # 08:50: the wildfire drill, EXERCISE. Its alert goes to the practice page; the first update is returned.
        clock.advance(timedelta(minutes=5))
        self.drill = incidents.open(carla, "wildfire-evacuation", Mode.EXERCISE, title="Pine Ridge drill",
                                    facts=FIRE_FACTS).id  # fmt: skip
        drill_alert = messages.draft(carla, self.drill, "alert")
        messages.set_targets(carla, drill_alert.id, ["exercise-page", "drill-sms"])
        view = messages.submit(carla, drill_alert.id)
        messages.approve(ivan, drill_alert.id, view.content_hash)
        messages.publish(carla, drill_alert.id, confirm=f"SEND EXERCISE {drill_alert.id}")
        core.outbox().run_once()
        clock.advance(timedelta(minutes=6))
        update = messages.draft(carla, self.drill, "update")
        messages.set_targets(carla, update.id, ["exercise-page", "drill-sms", "drill-social"])
        messages.submit(carla, update.id)
        clock.advance(timedelta(minutes=3))
        messages.return_(ivan, update.id, "Give the shelter's address: Pine Ridge High School, 400 School Road.")
        self.drill_update = update.id
        # 09:05: carla drafts the flood's first update.
        clock.advance(timedelta(minutes=6))
        update = messages.draft(carla, self.live, "update")
        messages.set_targets(carla, update.id, ["public-page", "county-sms", "county-social"])
        self.live_update = update.id
        clock.advance(timedelta(minutes=4))

    def feeds_polled(self) -> None:
        self.core.feeds().poll()

    def approved(self) -> None:
        """ivan approves the flood's update; carla puts the shelter in the drill's update, and ivan approves it.

        The social accounts were there for the composer's post cards: no instance answers for them here, so they
        go before anything is sent to every channel of a mode (as a false alarm's cancel and correction are)."""
        messages, carla, ivan = self.core.messages(), self.carla, self.ivan
        messages.approve(ivan, self.live_update, messages.show(ivan, self.live_update).content_hash)
        web = next(v for v in messages.show(carla, self.drill_update).variants if v.channel == "web")
        messages.edit(carla, self.drill_update, "web", web.lang,
                      web.text + "\nShelter: Pine Ridge High School, 400 School Road.")  # fmt: skip
        messages.set_targets(carla, self.drill_update, ["exercise-page", "drill-sms"])
        view = messages.submit(carla, self.drill_update)
        self.clock.advance(timedelta(minutes=2))
        messages.approve(ivan, self.drill_update, view.content_hash)
        for name in ("county-social", "drill-social"):
            self.core.channels().remove(self.admin, name)


# -- the pictures ---------------------------------------------------------------------------------------------------


def sign_in(console: Console) -> None:
    dialog = LoginDialog(console.core.people)
    dialog.resize(460, dialog.sizeHint().height())
    dialog.open()
    console.settle("the sign-in dialog")
    type_text(dialog.name, "carla")
    type_text(dialog.password, "carla password")
    dialog.name.setFocus()
    console.picture(dialog, "sign-in")
    console.close(dialog)


def board_and_new_incident(console: Console) -> None:
    window = console.window("carla", size=(1280, 600))
    board = window.incidents
    console.settle("the incident board", lambda: board.model.rowCount() == 2)
    console.picture(window, "incidents-board")
    board.new_incident()
    dialog = board.dialog
    assert isinstance(dialog, NewIncidentDialog)
    console.settle("the playbook list", lambda: dialog.playbooks.rowCount() == 12)
    console.picture(dialog, "new-incident-1-choose")
    type_text(dialog.search, "flash")
    dialog.mode_buttons[Mode.EXERCISE].click()
    console.settle("the chosen playbook", dialog.next_button.isEnabled)
    console.picture(dialog, "new-incident-2-exercise-chosen")
    dialog.next_button.click()
    form = dialog.form
    assert form is not None
    area, expires, url, phone = (form.editors[n] for n in ("area", "expires", "info_url", "phone"))
    assert isinstance(area, AreaEditor)
    assert isinstance(expires, DateTimeEditor)
    assert isinstance(url, LineEditor)
    assert isinstance(phone, LineEditor)
    type_text(area.description, "Mill Creek valley")
    type_text(area.shapes, "circle: 38.57,-121.45 12")
    type_text(expires.line, "2026-11-22 21:30")
    type_text(url.line, "ready.millcounty.gov/flood")  # no https://: the form says so as it is typed
    console.settle("the fact form", lambda: not dialog.ok_button.isEnabled())
    console.picture(dialog, "new-incident-3-facts-with-a-problem")
    url.line.clear()
    type_text(url.line, "https://ready.millcounty.gov/flood")
    type_text(phone.line, "211")
    dialog.title.clear()
    type_text(dialog.title, "Mill Creek drill")
    console.settle("the fact form", dialog.ok_button.isEnabled)
    console.picture(dialog, "new-incident-4-facts-ready")
    dialog.reject()  # not opened: the board keeps its two incidents
    console.close(window)


def composers(console: Console, sample: Sample) -> None:
    window = console.window("carla")
    for mode, message_id in (("live", sample.live_update), ("exercise", sample.drill_update)):
        for channel in ("sms", "wea-360", "mastodon"):
            composer = Composer(window.session, message_id)
            composer.resize(1400, 820)
            composer.show()
            console.settle(f"the composer of {message_id}", loaded(composer, "composition"))
            composer.select(channel, "en")
            if channel == "sms":  # a finding to show: typographic quotes, marked where they are
                composer.editor.moveCursor(QTextCursor.MoveOperation.End)
                type_text(composer.editor, " Stay away from “Mill Creek”.")
            console.settle(f"the composer's {channel} text")
            console.picture(composer, f"composer-{channel.removesuffix('-360')}-{mode}")
            console.close(composer)
    console.close(window)


def workspaces(console: Console, sample: Sample) -> None:
    window = console.window("carla")
    view = window.incidents
    for mode, incident in (("live", sample.live), ("exercise", sample.drill)):
        view.open_incident(incident)
        workspace = view.workspace
        assert workspace is not None
        console.settle(f"the workspace of {incident}", loaded(workspace, "space"))
        console.picture(window, f"incident-workspace-{mode}")
    console.close(window)


def approvals(console: Console, sample: Sample) -> None:
    window = console.window("ivan")
    window.show_place(APPROVALS)
    view = window.approvals
    console.settle("the approval queue", lambda: view.review is not None)
    view.full_hash_button.setChecked(True)
    view.texts.verticalScrollBar().setValue(0)
    console.picture(window, "approvals-queue")
    view.break_glass_button.click()
    dialog = view.dialog
    assert isinstance(dialog, PublishDialog)
    console.settle("the break-glass dialog", lambda: dialog.preview is not None)
    type_text(dialog.reason, "Levee breach at Mill Creek; the commander is on the radio")
    type_text(dialog.phrase, dialog.phrase_label.text())
    console.picture(dialog, "publish-break-glass")
    dialog.reject()
    console.close(window)


def publishing(console: Console, sample: Sample) -> None:
    window = console.window("carla")
    for mode, message_id in (("live", sample.live_update), ("exercise", sample.drill_update)):
        dialog = PublishDialog(window.session, message_id, parent=window)
        dialog.open()
        console.settle(f"the publish dialog of {message_id}", loaded(dialog, "preview"))
        type_text(dialog.phrase, dialog.phrase_label.text())
        console.picture(dialog, f"publish-{mode}")
        dialog.reject()
    console.close(window)


def deliveries_and_places(console: Console, sample: Sample) -> None:
    window = console.window("ivan")
    view = DeliveriesView(window.session, sample.alert)
    view.resize(1240, 420)
    view.show()
    console.settle("the deliveries", lambda: view.model.rowCount() == 4)
    console.picture(view, "deliveries")
    view.ask_retract(one_channel=False)
    box = view.confirm
    assert isinstance(box, QMessageBox)
    console.settle("the retract confirm", box.isVisible)
    console.picture(box, "deliveries-retract-confirm")
    box.reject()
    console.close(view)
    window.show_place(OUTBOX)
    console.settle("the outbox", lambda: window.outbox.model.rowCount() > 0)
    console.picture(window, "outbox")
    console.close(window)

    window = console.window("carla")
    window.show_place(MONITOR)
    console.settle("the feeds", lambda: window.monitor.triage.rowCount() > 0)
    console.picture(window, "feeds")
    console.close(window)


def audit(console: Console, app: QApplication) -> None:
    """The Audit place in both palettes: the whole log checked intact; the approvals found by their label; then an
    entry edited behind the program's back, found by the check and selected."""
    for name, colours in (("audit", palette.light_palette()), ("audit-dark", palette.dark_palette())):
        app.setPalette(colours)
        try:
            window = console.window(ADMIN)
            window.show_place(AUDIT)
            view = window.audit
            console.settle("the audit log", lambda view=view: view.model.rowCount() > 0)
            if name == "audit-dark":
                view.kind.setCurrentIndex(view.kind.findText("Message approved"))
                console.settle("the approvals", lambda view=view: view.model.row(0).kind == "message.approved")
            view.verify()
            console.settle("the audit check", lambda view=view: not view.verifying)
            console.picture(window, name)
            console.close(window)
        finally:
            app.setPalette(palette.light_palette())
    core = console.core
    approval = core.db.conn.execute("SELECT max(position) FROM events WHERE kind = 'message.approved'").fetchone()[0]
    with core.db.write() as conn:  # as someone with the file and a SQLite shell would
        conn.execute("DROP TRIGGER events_no_update")
        conn.execute(
            "UPDATE events SET body = CAST(replace(CAST(body AS TEXT), 'ivan', 'carla') AS BLOB) WHERE position = ?",
            (approval,),
        )
    window = console.window(ADMIN)
    window.show_place(AUDIT)
    window.audit.deep.setChecked(False)
    window.audit.verify()
    console.settle("the broken chain", lambda: window.audit.last_report is not None)
    console.picture(window, "audit-broken")
    console.close(window)


def false_alarm_live(console: Console, sample: Sample) -> None:
    window = console.window("carla")
    dialog = FalseAlarmDialog(window.session, sample.live, window)
    dialog.show()
    console.settle("the false alarm dialog", lambda: dialog.preview is not None)
    type_text(dialog.fact, "the warning was for Elm Creek, not Mill Creek")
    console.settle("the correction's text", dialog.submit_button.isEnabled)
    console.picture(dialog, "false-alarm-live")
    dialog.reject()
    console.close(window)


def dead_delivery(console: Console, sample: Sample) -> None:
    """The flood's update goes out while ivan's window is open; the county webhook refuses it."""
    window = console.window("ivan", size=(1180, 720))
    messages = console.core.messages()
    messages.publish(sample.carla, sample.live_update, confirm=f"PUBLISH LIVE {sample.live_update}")
    console.core.outbox().run_once()
    console.changed(window, "the dead-delivery banner", lambda: bool(window.notifier.banners))
    console.picture(window, "dead-delivery-notification")
    console.close(window)


def light_and_dark(console: Console, sample: Sample, app: QApplication) -> None:
    window = console.window("ivan", size=(1180, 640))
    window.show_place(OUTBOX)
    console.settle("the outbox", lambda: window.outbox.model.rowCount() > 0)
    console.picture(window, "window-light")
    console.close(window)
    app.setPalette(palette.dark_palette())
    try:
        window = console.window("carla", size=(1180, 640))
        window.incidents.open_incident(sample.drill)
        workspace = window.incidents.workspace
        assert workspace is not None
        console.settle("the drill's workspace", lambda: workspace.space is not None)
        console.picture(window, "window-dark")
        console.close(window)
    finally:
        app.setPalette(palette.light_palette())


def feel_shortcuts(console: Console, app: QApplication) -> None:
    """Help → Keyboard shortcuts, in the light and the dark palette."""
    for shade, colours in (("light", palette.light_palette()), ("dark", palette.dark_palette())):
        app.setPalette(colours)
        try:
            window = console.window("carla")
            dialog = window.show_shortcuts()
            console.settle("the shortcuts dialog", dialog.isVisible)
            console.picture(dialog, f"feel-shortcuts-{shade}")
            console.close(window)
        finally:
            app.setPalette(palette.light_palette())


def false_alarm_exercise(console: Console, sample: Sample) -> None:
    """The whole false alarm on the drill: said, submitted, approved, published, delivered, timed."""
    clock, messages = sample.clock, console.core.messages()
    window = console.window("carla")
    dialog = FalseAlarmDialog(window.session, sample.drill, window)
    dialog.show()
    console.settle("the drill's false alarm dialog", lambda: dialog.preview is not None)
    type_text(dialog.fact, "Zone 4 was told GO; only Zone 5 had to leave")
    console.settle("the correction's text", dialog.submit_button.isEnabled)
    console.picture(dialog, "false-alarm-exercise")
    clock.advance(timedelta(seconds=40))
    dialog.submit_button.click()
    console.settle("the false alarm's submission", lambda: dialog.progress is not None)
    progress = dialog.progress
    assert progress is not None
    for step in (progress.cancel, progress.correction):
        view = messages.show(sample.ivan, step.message_id)
        messages.approve(sample.ivan, view.id, view.content_hash)
    clock.advance(timedelta(seconds=30))
    for step in (progress.cancel, progress.correction):
        messages.publish(sample.carla, step.message_id, confirm=f"SEND EXERCISE {step.message_id}")
    clock.advance(timedelta(seconds=50))
    console.core.outbox().run_once()
    console.changed(window, "the correction's delivery", lambda: dialog.elapsed.text().startswith("✔"))
    console.picture(dialog, "false-alarm-exercise-confirmed")
    dialog.reject()
    console.close(window)


def settings_pages(console: Console, sample: Sample, app: QApplication) -> None:
    """Settings, as alice (an admin) and carla (read-only), in the light and the dark palette; dana was added
    and then disabled, and the county webhook's connection was tested."""
    people = console.core.people
    people.add(sample.admin, "dana", [Role.VIEWER], "dana password", display_name="Dana Okafor")
    people.disable(sample.admin, "dana")
    try:
        settings_as_admin(console, "")
        app.setPalette(palette.dark_palette())
        settings_as_admin(console, "-dark")
    finally:
        app.setPalette(palette.light_palette())
    window = console.window("carla")
    view = SettingsView(window.session)
    view.resize(1180, 480)
    view.show()
    page = view.show_page(PEOPLE)
    assert isinstance(page, PeoplePage)
    console.settle("the people, read-only", lambda: page.loaded)
    page.select("dana")
    console.picture(view, "settings-people-read-only")
    console.close(view)
    console.close(window)


def settings_as_admin(console: Console, suffix: str) -> None:
    window = console.window(ADMIN)
    view = SettingsView(window.session)
    view.resize(1180, 560)
    view.show()
    page = view.show_page(PEOPLE)
    assert isinstance(page, PeoplePage)
    console.settle("the people", lambda: page.loaded)
    page.select("carla")
    admin_role = page.role_checks[Role.ADMIN]
    admin_role.click()
    console.settle("carla made admin", lambda: page.roles_box.isEnabled() and admin_role.isChecked())
    admin_role.click()  # granted, then revoked: the line says what the last change did
    console.settle("carla's roles", lambda: page.roles_box.isEnabled() and not admin_role.isChecked())
    console.picture(view, f"settings-people{suffix}")
    accounts = view.show_page(ACCOUNTS)
    assert isinstance(accounts, AccountsPage)
    console.settle("the channel accounts", lambda: accounts.loaded)
    accounts.select("county-hook")
    accounts.test()
    console.settle("the county webhook's test", lambda: "county-hook:" in accounts.answer.text())
    console.picture(view, f"settings-accounts{suffix}")
    accounts.add()
    dialog = accounts.add_dialog
    assert dialog is not None
    dialog.choose_kind(AccountKind.WEBHOOK)
    type_text(dialog.name, "state-eoc-hook")
    type_text(dialog.fields["url"], "https://eoc.state.example/hooks/county")
    type_text(dialog.secret, "sample signing key")
    dialog.live.setChecked(True)
    dialog.resize(680, dialog.sizeHint().height())
    console.settle("the add-account form", dialog.isVisible)
    console.picture(dialog, "settings-accounts-add-dark" if suffix else "settings-accounts-add-live")
    dialog.reject()
    if not suffix:
        view.show_page(PEOPLE)
        page.add()
        add = page.add_dialog
        assert add is not None
        type_text(add.name, "omar")
        type_text(add.display_name, "Omar Haddad")
        add.roles[Role.APPROVER].setChecked(True)
        type_text(add.password, "a first password")
        type_text(add.again, "a first passwort")
        add.ok_button.click()
        console.settle("the add-person form's refusal", add.error.isVisible)
        console.picture(add, "settings-people-add")
        add.reject()
        workstation = view.show_page(WORKSTATION)
        assert isinstance(workstation, WorkstationPage)
        console.settle("this workstation", lambda: workstation.loaded)
        console.picture(view, "settings-workstation")
    console.close(view)
    console.close(window)


def settings_feeds_rules_playbooks(console: Console, sample: Sample, app: QApplication) -> None:
    """Settings → Feed sources, Rules and Playbook library, as alice (an admin) sees them, in the light and dark
    palettes: the failing county-news source and its history; the rules edited and previewed, then with mistakes
    named; the library with a broken file in the library folder, and a playbook's EXERCISE preview in Spanish."""
    from crisisdesk.app import shipped_playbooks_dir, user_playbooks_dir
    from crisisdesk.ui.session import Session
    from crisisdesk.ui.views.settings_feeds import FeedSourcesPage
    from crisisdesk.ui.views.settings_playbooks import PlaybooksPage
    from crisisdesk.ui.views.settings_rules import RulesPage
    from crisisdesk.ui.watcher import Watcher

    core = console.core
    sample.clock.advance(timedelta(minutes=10))
    core.feeds().poll()  # a second round: the history shows the failures in a row
    library = user_playbooks_dir()
    library.mkdir(parents=True, exist_ok=True)
    flood = (shipped_playbooks_dir() / "flash-flood.yaml").read_text(encoding="utf-8")
    broken = flood.replace("id: flash-flood", "id: mill-flood").replace(
        "hazard: flood\n", "hazard: flood\nhazzard: x\n"
    )
    (library / "mill-flood.yaml").write_text(broken, encoding="utf-8")
    rules = "# Mill County\nkeywords: [road crews, sandbags, levee breach]\nurgent_words: [trapped, help]\n"

    def draw_in(suffix: str) -> None:
        dark = suffix == "-dark"
        tasks = Tasks(core, synchronous=False)
        console.watch(tasks)
        session = Session(core=core, actor=sample.admin, tasks=tasks, watcher=Watcher(core))

        feeds = FeedSourcesPage(session)
        feeds.resize(1180, 720)
        feeds.show()
        console.settle("the feed sources", lambda: feeds.sources is not None)
        feeds.table.selectRow(next(i for i, s in enumerate(feeds.model.rows) if s.name == "county-news"))
        console.settle("a source's history", lambda: bool(feeds.history))
        console.picture(feeds, f"settings-feeds{suffix}")
        console.close(feeds)

        page = RulesPage(session)
        page.resize(1180, 720)
        page.show()
        console.settle("the rules", lambda: page.saved is not None and page.problems is not None)
        page.editor.setPlainText(rules + ("min_severity: Awful\nmin_magnitude: 12\n" if dark else ""))
        page.check_now()
        console.settle("the rules' check", lambda: page.problems is not None)
        if not dark:
            page.run_preview()
            console.settle("the rules' preview", lambda: page.preview is not None)
            page.hits_table.selectRow(0)
        console.picture(page, f"settings-rules{suffix}")
        console.close(page)

        books = PlaybooksPage(session)
        books.resize(1280, 760)
        books.show()
        console.settle("the playbook library", lambda: books.files is not None)
        if dark:
            books.table.selectRow(0)  # the broken file, listed first
        else:
            books.table.selectRow(next(i for i, f in enumerate(books.model.rows) if f.path.name == "flash-flood.yaml"))
            console.settle("the previews", lambda: bool(books.previews))
            books.preview_of("update", "es", "exercise")
            books.tabs.setCurrentIndex(4)
        console.settle("the playbook")
        console.picture(books, f"settings-playbooks{suffix}")
        console.close(books)
        tasks.stop()
        console.tasks.remove(tasks)

    draw_in("")
    app.setPalette(palette.dark_palette())
    try:
        draw_in("-dark")
    finally:
        app.setPalette(palette.light_palette())


def monitor(console: Console, app: QApplication) -> None:
    """The Monitor: health and alerts, a search with an item open, triage with a response, the chart, the
    open-incident dialog; then health, triage and chart again in the dark palette."""
    for dark in (False, True):
        app.setPalette(palette.dark_palette() if dark else palette.light_palette())
        suffix = "-dark" if dark else ""
        window = console.window("carla")
        window.show_place(MONITOR)
        view = window.monitor
        console.settle("the monitor", lambda v=view: v.triage.rowCount() > 0 and v.alerts.rowCount() > 0)
        view.alerts_table.selectRow(0)
        console.picture(window, f"monitor{suffix}")
        if not dark:
            view.tabs.setCurrentIndex(1)
            view.query.setText("elm")
            view.search()
            console.settle("the search", lambda v=view: v.found.rowCount() > 0 and not v.found.loading)
            view.found_table.selectRow(0)
            console.settle("the item's alerts", lambda v=view: v.item_alerts.text() != "")
            console.picture(window, "monitor-search")
        view.tabs.setCurrentIndex(2)
        rows = range(view.triage.rowCount())
        view.triage_table.selectRow(next(r for r in rows if "Reporter" in view.triage.row(r).text))  # about the flood
        console.settle("the responses", lambda v=view: v.response_choice.count() > 1)
        view.response_choice.setCurrentIndex(1)
        console.picture(window, f"monitor-triage{suffix}")
        view.tabs.setCurrentIndex(3)
        console.settle("the chart", lambda v=view: v.chart is not None and bool(v.chart.hours))
        console.picture(window, f"monitor-chart{suffix}")
        if not dark:
            view.tabs.setCurrentIndex(0)
            view.alerts_table.selectRow(0)
            view.open_button.click()
            dialog = view.open_dialog
            assert dialog is not None
            console.settle("the playbooks", lambda d=dialog: d.playbook.count() > 1)
            dialog.choose("flash-flood", Mode.EXERCISE)
            console.picture(dialog, "monitor-open-incident")
            dialog.reject()
        console.close(window)
    app.setPalette(palette.light_palette())


def drills(console: Console, sample: Sample, app: QApplication) -> None:
    """The Drills place: erin (an exercise controller) loads the shipped flash flood scenario (a broken one of her
    own beside it), starts it at 10x, and carla and ivan play it: the alert published at T+7m, the urgent question
    answered at T+10m; erin fires one inject by hand. The control tab at T+12m30s in both palettes, carla's read-only
    view; then the drill ended and evaluated (a rating changed with its note), its improvement plan and its report
    exported."""
    from crisisdesk.app import user_scenarios_dir
    from crisisdesk.services.after_action import PlanRow

    core, clock, carla, ivan = console.core, sample.clock, sample.carla, sample.ivan
    core.people.add(sample.admin, "erin", [Role.EXERCISE_CONTROLLER], "erin password")
    erin = core.people.actor("erin")
    library = user_scenarios_dir()
    library.mkdir(parents=True, exist_ok=True)
    (library / "tornado-warning.yaml").write_text(TORNADO_WITH_MISTAKES, encoding="utf-8")

    def shown(who: str) -> tuple[MainWindow, DrillView]:
        window = console.window(who, size=(1280, 800))
        window.show_place(DRILLS)
        view = window.drills
        view.monotonic = lambda: 0.0  # the clock shows the drill time read, not the seconds the drawing took
        console.settle(f"{who}'s drills", lambda: view.drills is not None)
        return window, view

    window, view = shown("erin")
    picker = view.open_picker()
    console.settle("the scenarios", lambda: picker.files is not None)
    picker.select("tornado-warning.yaml")
    console.picture(picker, "drill-picker")
    picker.select("flash-flood.yaml")  # shipped; its one exercise account, exercise-page, is the sample's
    picker.load_selected()
    console.settle("the loaded drill", lambda: view.drill is not None)
    drill = view.drill  # not None: the settle waited for it
    view.speed.setValue(10)
    view.start()
    console.settle("the started drill", lambda: view.drill is not None and view.drill.status.value == "running")
    service, messages = core.drills(), core.messages()

    def to(minutes: float) -> None:  # the wall clock moves on until drill time reaches ``minutes``, at 10x
        clock.advance(timedelta(minutes=minutes) / 10 - service.get(erin, drill.id).drill_time / 10)
        service.tick()

    def play() -> None:
        """carla and ivan play to T+12m30s; erin fires the second pending inject by hand."""
        incident = service.get(erin, drill.id).incidents["flood"]
        to(4)
        core.incidents().set_fact(carla, incident, "expires", "2026-11-22T21:30")  # the scenario leaves it to her
        alert = messages.draft(carla, incident, "alert")
        messages.set_targets(carla, alert.id, ["exercise-page"])
        submitted = messages.submit(carla, alert.id)
        to(6)
        messages.approve(ivan, alert.id, submitted.content_hash)
        to(7)
        messages.publish(carla, alert.id, confirm=f"SEND EXERCISE {alert.id}")
        core.outbox().run_once()
        to(10)
        question = next(i for i in service.get(erin, drill.id).injects if i.kind.value == "comment")
        if question.item is not None:
            core.feeds().set_triage(carla, question.item, status="answered", priority_value="urgent")
        to(12.5)
        by_hand = [i for i in service.get(erin, drill.id).injects if i.status.value == "pending"][1]
        service.inject(erin, drill.id, by_hand.id)

    play()
    console.changed(window, "the drill at T+12m30s", lambda: view.drill is not None and view.msel.rowCount() > 0)
    later = [i for i, inject in enumerate(view.msel.rows) if inject.status.value == "pending"]
    view.msel_table.selectRow(later[0])
    console.picture(window, "drill-control")
    console.close(window)

    for who, name, colours in (
        ("erin", "drill-control-dark", palette.dark_palette()),
        ("carla", "drill-read-only", palette.light_palette()),
    ):
        app.setPalette(colours)
        window, _ = shown(who)
        console.picture(window, name)
        console.close(window)
    app.setPalette(palette.light_palette())

    def evaluated() -> str:
        """The drill ended at T+30m; erin rates the first objective with a note, writes its strengths and areas,
        and the improvement plan; the objective's id."""
        to(30)
        service.end(erin, drill.id)
        aar = core.after_action()
        first = aar.evaluate(erin, drill.id).objectives[0]
        other = "S" if first.rating.value != "S" else "M"
        aar.rate(erin, drill.id, first.objective_id, other, "The alert left out Old Mill Road, closed at T+3m")
        aar.edit_objective(erin, drill.id, first.objective_id, strengths=["Drafted from the playbook at once"],
                           areas=["The sheriff's road closure reached the alert only in the update"])  # fmt: skip
        aar.set_plan(erin, drill.id, [
            PlanRow("Road closures phoned in miss the alert", "The PIO desk reads calls out before submitting",
                    first.capability, "PIO lead", START.date(), START.date() + timedelta(days=45)),
        ])  # fmt: skip
        return first.objective_id

    objective = evaluated()
    for dark in (False, True):
        app.setPalette(palette.dark_palette() if dark else palette.light_palette())
        suffix = "-dark" if dark else ""
        window, view = shown("erin")
        view.tabs.setCurrentWidget(view.evaluation)
        console.settle("the evaluation", lambda v=view: v.evaluation.evaluation is not None)
        view.evaluation.select(objective)
        console.picture(window, f"drill-evaluation{suffix}")
        if not dark:
            view.tabs.setCurrentWidget(view.plan)
            console.settle("the plan", lambda v=view: v.plan.evaluation is not None)
            console.picture(window, "drill-plan")
            view.tabs.setCurrentWidget(view.export)
            view.export.export_to(core.db.path.parent / "after-action")  # the scratch folder
            console.settle("the export", lambda v=view: v.export.written is not None)
            console.picture(window, "drill-report")
        console.close(window)
    app.setPalette(palette.light_palette())


def team_sync(console: Console, sample: Sample, app: QApplication) -> None:
    """Issue 16 in the console: a second workstation (a backup site) edits the flood's new update while apart and
    their bundles cross, so the update is in conflict; an equivocation alarm; the sync status and its details
    (not set up: this sample has no hub; connected and not connected drawn from a status as the hub gives it)."""
    import io
    import uuid

    from crisisdesk.domain.events import Kind
    from crisisdesk.services.bundles import BundleService
    from crisisdesk.services.sync import SyncStatus
    from crisisdesk.ui.views.alarms import AlarmBanner
    from crisisdesk.ui.views.sync_status import shown

    core, clock = console.core, sample.clock
    core.workstation_keys().join(sample.admin)  # its entries are signed from here on: the backup site trusts them
    with core.db.write() as conn:  # the team's founding workstation: its admin is the team's
        core.log.record(conn, ADMIN, Kind.HUB_FOUNDED, {"hub_id": "sample", "workstation": core.log.workstation_id()})
    backup = App.open(core.db.path.with_name("backup-site.sqlite3"), create=True, clock=clock, secrets=MemorySecrets())
    try:
        ws = str(uuid.uuid4())  # joining a team: identity and key only, as 'crisisdesk hub join' makes them
        with backup.db.write() as conn:
            conn.execute("INSERT INTO local_settings (key, value) VALUES ('workstation_id', ?)", (ws,))
            backup.log.record(conn, "system", Kind.WORKSTATION_CREATED, {"id": ws, "name": "Backup site"})
            backup.workstation_keys().declare(conn, ws)

        def hand(src: App, dst: App) -> None:
            out = io.BytesIO()
            BundleService(src).export(out, BundleService(dst).cursor())
            BundleService(dst).import_bytes(out.getvalue())

        update = core.messages().draft(sample.carla, sample.live, "update")
        hand(core, backup)
        clock.advance(timedelta(minutes=1))
        sms = next(v for v in update.variants if v.channel == "sms")
        mine = sms.text + " Shelter open at Mill Creek High School."
        core.messages().edit(sample.carla, update.id, "sms", sms.lang, mine)
        theirs = "Mill Creek flood: Highway 16 east is closed. Leave the valley by the north road."
        backup.messages().edit(backup.people.actor("carla"), update.id, "sms", sms.lang, theirs)
        clock.advance(timedelta(minutes=1))
        hand(backup, core)
        hand(core, backup)
    finally:
        backup.close()
    with core.db.write() as conn:  # what the Receiver records when the backup site's log was forked
        core.log.record(conn, "system", Kind.SYNC_EQUIVOCATION, {
            "workstation": ws, "seq": 4, "held_hash": "4f" * 32, "offered_hash": "9c" * 32, "source": "hub",
        })  # fmt: skip
    statuses = {
        "connected": SyncStatus(True, "postgresql://hub@eoc-hub.millcounty.test:5432/crisisdesk", True,
                                clock.now().isoformat(), 0, 3, 1),
        "not-connected": SyncStatus(True, "postgresql://hub@eoc-hub.millcounty.test:5432/crisisdesk", False,
                                    (clock.now() - timedelta(minutes=7)).isoformat(), 12, None, 1,
                                    "hub postgresql://hub@eoc-hub.millcounty.test:5432/crisisdesk is not reachable: "
                                    "connection refused (is the server running on that host?)"),
        "cannot-sign": SyncStatus(True, "postgresql://hub@eoc-hub.millcounty.test:5432/crisisdesk", True,
                                  clock.now().isoformat(), 0, 0, 0,
                                  cannot_sign="THIS WORKSTATION CANNOT SIGN: its key 3f2a9c1b7e44d0a2 is not in this "
                                  "keyring, so entries written here without it are unsigned and the team's other "
                                  "workstations refuse them; an admin replaces the key ('crisisdesk workstation "
                                  "rotate-key') on a keyring that holds it, or revokes it and sets this workstation "
                                  "up again"),
    }  # fmt: skip
    for shade, colours in (("light", palette.light_palette()), ("dark", palette.dark_palette())):
        app.setPalette(colours)
        try:
            window = console.window("carla", size=(1280, 760))
            banner = window.alarm_banner
            assert isinstance(banner, AlarmBanner)
            console.settle("the team alarm", lambda b=banner: bool(b.alarms))
            console.settle("the sync status", lambda w=window: w.sync_indicator.current is not None)
            console.picture(window, f"team-alarm-window-{shade}")
            banner.set_collapsed(True)
            console.picture(window, f"team-alarm-collapsed-{shade}")
            details = banner.open_details()
            details.resize(860, 380)
            console.picture(details, f"team-alarm-details-{shade}")
            console.close(details)
            dialog = window.sync_indicator.open_details()
            console.settle("the sync details")
            console.picture(dialog, f"team-sync-not-set-up-{shade}")
            for name, status in statuses.items():
                window.sync_indicator.show_state(shown(status, True, None))
                dialog.resize(560, dialog.sizeHint().height())
                console.picture(dialog, f"team-sync-{name}-{shade}")
            dialog.close()
            console.picture(window, f"team-sync-cannot-sign-window-{shade}")  # the status bar says it too
            composer = Composer(window.session, update.id)
            composer.resize(1380, 900)
            composer.show()
            console.settle("the composer in conflict", lambda c=composer: c.siblings.isVisible())
            console.picture(composer, f"team-siblings-composer-{shade}")
            merge = composer.siblings.open_merge()
            assert merge is not None
            merge.resize(680, 520)
            console.settle("the merge dialog")
            console.picture(merge, f"team-merge-{shade}")
            console.close(merge)
            console.close(composer)
            console.close(window)
            window = console.window("ivan", size=(1280, 900))
            window.show_place(APPROVALS)
            view = window.approvals
            view.open_message(update.id)
            console.settle("the version in conflict", lambda v=view: v.siblings.isVisible())
            console.picture(window, f"team-siblings-approvals-{shade}")
            console.close(window)
        finally:
            app.setPalette(palette.light_palette())


def quiet_qt(kind: QtMsgType, _context: QMessageLogContext, message: str) -> None:
    """Qt's warnings on stderr, but for the offscreen platform's notice that it cannot resize windows itself."""
    if "propagateSizeHints" not in message:
        print(f"Qt {kind.name}: {message}", file=sys.stderr)


def desktop_screen(folder: Path) -> None:
    """The offscreen platform's screen is 800 x 800 unless told otherwise, and message boxes size themselves to
    the screen: draw on a common office screen, 1920 x 1080, so the pictures show what a desk shows."""
    if os.environ.get("QT_QPA_PLATFORM") != "offscreen":
        return
    config = folder / "offscreen-screen.json"
    screen = {"name": "desk", "x": 0, "y": 0, "width": 1920, "height": 1080, "logicalDpi": 96, "dpr": 1}
    config.write_text(json.dumps({"screens": [screen]}))
    os.environ["QT_QPA_PLATFORM"] = f"offscreen:configfile={config}"


def draw(out: Path) -> list[str]:
    qInstallMessageHandler(quiet_qt)
    with (
        tempfile.TemporaryDirectory(prefix="crisisdesk-screenshots-") as scratch,
        outside_world() as world,
        outside_world() as drill_world,
    ):
        folder = Path(scratch)
        desktop_screen(folder)
        app = QApplication.instance() or QApplication(sys.argv[:1])
        assert isinstance(app, QApplication)
        app.setStyle("Fusion")
        app.setPalette(palette.light_palette())
        # Never the user's folders: the data folder (its playbooks, its channels) and the log folder are scratch.
        for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
            os.environ[var] = str(folder / var.lower())
        clock = FixedClock(START)
        core = App.open(
            folder / "crisisdesk.sqlite3",
            create=True,
            clock=clock,
            hasher=Argon2Hasher(time_cost=1, memory_cost=1024),  # sample people: cheap to sign in
            secrets=MemorySecrets(),
        )
        console = Console(core, out)
        try:
            sample = Sample(core, clock, folder / "channels", world, drill_world)
            sample.story()
            sign_in(console)
            board_and_new_incident(console)
            composers(console, sample)
            core.messages().set_targets(sample.carla, sample.live_update, ["public-page", "county-sms", "county-hook"])
            core.messages().submit(sample.carla, sample.live_update)
            workspaces(console, sample)
            approvals(console, sample)
            sample.approved()
            publishing(console, sample)
            deliveries_and_places(console, sample)
            false_alarm_live(console, sample)
            dead_delivery(console, sample)
            light_and_dark(console, sample, app)
            feel_shortcuts(console, app)
            false_alarm_exercise(console, sample)
            settings_pages(console, sample, app)
            settings_feeds_rules_playbooks(console, sample, app)
            monitor(console, app)
            drills(console, sample, app)
            team_sync(console, sample, app)  # before audit, which breaks the log's chain for its last picture
            audit(console, app)
        finally:
            for widget in QApplication.topLevelWidgets():
                if isinstance(widget, MainWindow):
                    widget.dispose()
                else:
                    widget.close()
                    widget.deleteLater()
            QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)  # each window stops its own tasks
            core.close()
    return console.written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Draw every view and dialog of the console to PNG files.")
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "screenshots", help="folder for the PNG files")
    args = parser.parse_args(argv)
    out: Path = args.out
    if out.exists() and not out.is_dir():
        print(f"screenshots: {out} is not a folder", file=sys.stderr)
        return 2
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    print(f"Drawing {len(PICTURES)} pictures into {out}")
    try:
        written = draw(out)
    except NotLoaded as exc:
        print(f"screenshots: {exc}", file=sys.stderr)
        return 1
    missing = [name for name in PICTURES if name not in written]
    if missing:
        print(f"screenshots: not drawn: {', '.join(missing)}", file=sys.stderr)
        return 1
    print(f"{len(written)} pictures in {time.monotonic() - started:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
