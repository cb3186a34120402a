"""Settings > Channel accounts, offscreen: add a folder and a webhook account (a real HTTP receiver on 127.0.0.1),
LIVE or EXERCISE chosen deliberately, the secret into the keyring and nowhere in the database file, Test
connection showing the adapter's answer, remove; an exercise account refused on a live one's destination with the
reason shown; no usable keyring said in one line; read-only for non-admins."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import keyring
import keyring.backends.fail
import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLineEdit, QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.credentials import SERVICE
from crisisdesk.domain.accounts import AccountKind
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.ui.session import Session
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.settings_accounts import AccountsPage, AddAccountDialog
from crisisdesk.ui.views.settings_view import ACCOUNTS, SettingsView
from crisisdesk.ui.watcher import Watcher
from tests.conftest import person
from tests.support.http_servers import ReceiverState, webhook_receiver
from tests.ui.heartbeat import Heartbeat

SECRET = "hmac-Kestrel-4417-never-in-sqlite"


@pytest.fixture
def receiver() -> Iterator[tuple[str, ReceiverState]]:
    with webhook_receiver() as found:
        yield found


def accounts_page(qtbot: QtBot, core: App, who: Actor) -> tuple[SettingsView, AccountsPage]:
    view = SettingsView(Session(core=core, actor=who, tasks=Tasks(core), watcher=Watcher(core)))
    qtbot.addWidget(view)
    view.resize(1200, 560)
    view.show()
    page = view.show_page(ACCOUNTS)
    assert isinstance(page, AccountsPage) and page.loaded
    return view, page


def open_form(page: AccountsPage, kind: AccountKind, name: str) -> AddAccountDialog:
    page.add_button.click()
    dialog = page.add_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.choose_kind(kind)
    dialog.name.setText(name)
    return dialog


def press_yes(box: QMessageBox | None) -> None:
    assert box is not None and box.isVisible()
    (yes,) = [b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole]
    yes.click()


def names(page: AccountsPage) -> list[str]:
    return [page.model.row(i).name for i in range(page.model.rowCount())]


def database_bytes(core: App) -> bytes:
    files = [core.db.path, Path(f"{core.db.path}-wal")]
    return b"".join(f.read_bytes() for f in files if f.exists())


def test_an_admin_adds_tests_and_removes_accounts(
    qtbot: QtBot, core: App, admin: Actor, receiver: tuple[str, ReceiverState], tmp_path: Path
) -> None:
    url, _state = receiver
    view, page = accounts_page(qtbot, core, admin)
    ModelTester(None).check(page.model)  # type: ignore[arg-type]
    assert names(page) == ["exercise-page", "public-page"]
    mode = page.model.index(page.model.find("public-page"), 1)
    assert mode.data() == "● LIVE"
    font = mode.data(Qt.ItemDataRole.FontRole)
    assert isinstance(font, QFont) and font.bold()
    assert page.model.index(page.model.find("exercise-page"), 1).data() == "▨ EXERCISE"
    assert page.keyring_line.isHidden()

    # A folder account: no secret field, and no mode chosen yet, so it is refused until one is.
    dialog = open_form(page, AccountKind.FOLDER, "drill-board")
    assert dialog.secret.isHidden() and set(dialog.fields) == {"path", "title", "base_url", "langs"}
    assert dialog.fields["title"].placeholderText() == "default: Public alerts"
    dialog.fields["path"].setText(str(tmp_path / "drill-board"))
    dialog.ok_button.click()
    assert dialog.error.text().startswith("Choose LIVE or EXERCISE: there is no default")
    dialog.exercise.setChecked(True)
    assert dialog.live_warning.isHidden()
    dialog.ok_button.click()
    assert not dialog.isVisible()
    assert page.status.text() == "Added drill-board: folder, EXERCISE."
    assert core.channels().get("drill-board").exercise is True

    # A LIVE webhook with its signing key: LIVE says so loudly and must be confirmed.
    dialog = open_form(page, AccountKind.WEBHOOK, "county-hook")
    assert set(dialog.fields) == {"url", "langs"} and dialog.secret.isVisible()
    assert dialog.secret.echoMode() == QLineEdit.EchoMode.Password
    assert dialog.secret_label.text() == "HMAC signing key"
    assert dialog.secret_note.text() == "Kept in this computer's keyring only, never in the database."
    dialog.fields["url"].setText(url)
    dialog.secret.setText(SECRET)
    dialog.live.setChecked(True)
    assert dialog.live_warning.isVisible() and "reaches the public" in dialog.live_warning.text()
    dialog.ok_button.click()
    assert dialog.error.text().startswith("This account is LIVE: tick the box")
    dialog.live_confirm.setChecked(True)
    dialog.ok_button.click()
    assert not dialog.isVisible() and dialog.secret.text() == ""
    assert page.status.text() == "Added county-hook: webhook, LIVE. Its secret is in the keyring."
    assert names(page) == ["county-hook", "drill-board", "exercise-page", "public-page"]
    hook = core.channels().get("county-hook")
    assert hook.exercise is False and hook.settings == {"url": url}
    # The secret is in the keyring the tests use, and nowhere in the database file.
    assert keyring.get_password(SERVICE, f"channel:{hook.id}") == SECRET
    assert SECRET.encode() not in database_bytes(core)
    core.db.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert SECRET.encode() not in database_bytes(core)

    # Test connection: the adapter's answer, from the real receiver.
    page.select("county-hook")
    page.test_button.click()
    assert page.answer.text() == (
        f"county-hook: connection works. {url} answers (HTTP 200); the signing key is checked by the receiver"
    )
    page.select("drill-board")
    page.test_button.click()
    assert page.answer.text().startswith(f"drill-board: connection works. {tmp_path / 'drill-board'} is writable")
    if folder := os.environ.get("CRISISDESK_SCREENSHOTS"):
        view.grab().save(str(Path(folder) / "settings-accounts.png"))

    # Remove, asked first: the account and its secret go.
    page.select("county-hook")
    page.remove_button.click()
    assert page.confirm is not None and "its secret is deleted from the keyring" in page.confirm.text()
    press_yes(page.confirm)
    assert page.status.text() == "Removed county-hook."
    assert names(page) == ["drill-board", "exercise-page", "public-page"]
    assert keyring.get_password(SERVICE, f"channel:{hook.id}") is None


def test_a_failed_test_shows_the_reason(qtbot: QtBot, core: App, admin: Actor) -> None:
    core.channels().add(admin, "webhook", "down-hook", settings=["url=http://127.0.0.1:9/hook"], secret="k")
    _view, page = accounts_page(qtbot, core, admin)
    page.select("down-hook")
    page.test_button.click()
    assert page.answer.text() == (
        "down-hook: the test failed. down-hook: http://127.0.0.1:9/hook cannot be reached (ConnectError)"
    )
    assert page.answer.state == "bad"


def test_an_exercise_account_is_refused_on_a_live_ones_destination(
    qtbot: QtBot, core: App, admin: Actor, receiver: tuple[str, ReceiverState]
) -> None:
    url, _state = receiver
    core.channels().add(admin, "webhook", "county-hook", settings=[f"url={url}"], secret="live key")
    _view, page = accounts_page(qtbot, core, admin)
    dialog = open_form(page, AccountKind.WEBHOOK, "drill-hook")
    dialog.fields["url"].setText(url)
    dialog.secret.setText("drill key")
    dialog.exercise.setChecked(True)
    dialog.ok_button.click()
    assert dialog.isVisible()
    assert dialog.error.text().startswith(f"drill-hook would share a destination with county-hook ({url}")
    assert dialog.error.text().endswith(
        "the EXERCISE channel drill-hook and the LIVE channel county-hook must reach different places, "
        "or a drill reaches the public"
    )
    assert "drill-hook" not in names(page)


def test_without_a_usable_keyring_the_page_says_what_to_do_and_stores_no_secret(
    qtbot: QtBot, core: App, admin: Actor, receiver: tuple[str, ReceiverState]
) -> None:
    url, _state = receiver
    keyring.set_keyring(keyring.backends.fail.Keyring())
    _view, page = accounts_page(qtbot, core, admin)
    assert page.keyring_line.isVisible()
    assert page.keyring_line.text().startswith(
        "Secrets cannot be stored here: crisisdesk will not store a secret: no OS keyring is available"
    )
    assert "CRISISDESK_ALLOW_INSECURE_KEYRING=1" in page.keyring_line.text()
    dialog = open_form(page, AccountKind.WEBHOOK, "county-hook")
    assert not dialog.secret.isEnabled()
    assert dialog.secret_note.text().startswith("No secret can be stored: crisisdesk will not store a secret")
    dialog.fields["url"].setText(url)
    dialog.exercise.setChecked(True)
    dialog.ok_button.click()
    assert dialog.error.text().startswith("No secret can be stored, so a webhook account cannot be added:")
    assert "county-hook" not in names(page)
    # An account that needs no secret can still be added.
    dialog.choose_kind(AccountKind.FOLDER)
    dialog.ok_button.click()
    assert not dialog.isVisible() and "county-hook" in names(page)


def test_a_non_admin_sees_accounts_read_only_and_may_test(qtbot: QtBot, core: App, admin: Actor) -> None:
    ivan = person(core, admin, "ivan", Role.APPROVER)
    _view, page = accounts_page(qtbot, core, ivan)
    assert page.read_only is not None and page.read_only.text().startswith(
        "Read-only: only an admin changes channel accounts. You are signed in as ivan (approver)."
    )
    page.select("public-page")
    assert not page.add_button.isEnabled() and not page.remove_button.isEnabled()
    assert page.test_button.isEnabled()
    page.test_button.click()
    assert page.answer.text().startswith("public-page: connection works.")


class _HeldAnswer(BaseHTTPRequestHandler):
    """A receiver that answers only when the test lets it: a network slower than any window may wait for."""

    release = threading.Event()

    def do_GET(self) -> None:
        self.release.wait(30)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


def test_test_connection_waits_for_the_network_off_the_gui_thread(qtbot: QtBot, core: App, admin: Actor) -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HeldAnswer)
    _HeldAnswer.release.clear()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    tasks = Tasks(core, synchronous=False)
    try:
        core.channels().add(admin, "webhook", "slow-hook", settings=[f"url={url}"], secret="k")
        view = SettingsView(Session(core=core, actor=admin, tasks=tasks, watcher=Watcher(core)))
        qtbot.addWidget(view)
        view.show()
        page = view.show_page(ACCOUNTS)
        assert isinstance(page, AccountsPage)
        qtbot.waitUntil(lambda: page.loaded, timeout=10_000)
        page.select("slow-hook")
        with Heartbeat() as heart:
            page.test_button.click()
            assert page.answer.text() == "slow-hook: testing…" and not page.test_button.isEnabled()
            beats = heart.beats
            # The window keeps beating while the channel has not answered.
            qtbot.waitUntil(lambda: heart.beats >= beats + 20, timeout=10_000)
            assert page.answer.text() == "slow-hook: testing…"
            _HeldAnswer.release.set()
            qtbot.waitUntil(lambda: "connection works" in page.answer.text(), timeout=10_000)
        assert (
            page.answer.text()
            == f"slow-hook: connection works. {url} answers (HTTP 200); the signing key is checked by the receiver"
        )
        assert page.test_button.isEnabled()
        assert heart.longest < 0.05, heart.report()
    finally:
        _HeldAnswer.release.set()
        tasks.stop()
        server.shutdown()
        server.server_close()
