"""Settings > People, offscreen: an admin adds a person, grants and revokes roles, disables and enables them, resets
a password; the refusals the service gives (the last admin) are shown as its line; others see the page read-only.
Sign-ins go through the real LoginDialog and PeopleService."""

from __future__ import annotations

import os
from pathlib import Path

from PySide6.QtWidgets import QDialogButtonBox, QMessageBox, QWidget
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.ui.dialogs.sign_in import LoginDialog
from crisisdesk.ui.session import Session
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.settings_accounts import AccountsPage
from crisisdesk.ui.views.settings_people import PeoplePage
from crisisdesk.ui.views.settings_view import ACCOUNTS, PEOPLE, WORKSTATION, SettingsView, WorkstationPage
from crisisdesk.ui.watcher import Watcher
from tests.conftest import person
from tests.ui.test_window import unnamed_controls


def settings(qtbot: QtBot, core: App, who: Actor) -> SettingsView:
    view = SettingsView(Session(core=core, actor=who, tasks=Tasks(core), watcher=Watcher(core)))
    qtbot.addWidget(view)
    view.resize(1100, 560)
    view.show()
    return view


def people_page(view: SettingsView) -> PeoplePage:
    page = view.show_page(PEOPLE)
    assert isinstance(page, PeoplePage) and page.loaded
    return page


def press_yes(box: QMessageBox | None) -> None:
    assert box is not None and box.isVisible()
    (yes,) = [b for b in box.buttons() if box.buttonRole(b) == QMessageBox.ButtonRole.AcceptRole]
    yes.click()


def sign_in(core: App, name: str, password: str) -> LoginDialog:
    dialog = LoginDialog(core.people)
    dialog.name.setText(name)
    dialog.password.setText(password)
    dialog.ok_button.click()
    return dialog


def names(page: PeoplePage) -> list[str]:
    return [page.model.row(i).name for i in range(page.model.rowCount())]


def cell(page: PeoplePage, name: str, column: int) -> str:
    return str(page.model.index(page.model.find(name), column).data())


def test_an_admin_adds_a_person_grants_revokes_disables_and_resets(qtbot: QtBot, core: App, admin: Actor) -> None:
    view = settings(qtbot, core, admin)
    assert view.titles == [PEOPLE, ACCOUNTS, "Feed sources", "Monitoring rules", "Playbook library", WORKSTATION]
    page = people_page(view)
    ModelTester(None).check(page.model)  # type: ignore[arg-type]
    assert names(page) == ["alice"]
    assert page.read_only is None and page.add_button.isEnabled()

    # Add: the two passwords must match; then the person is listed, selected, and can sign in.
    page.add_button.click()
    dialog = page.add_dialog
    assert dialog is not None and dialog.isVisible()
    dialog.name.setText("carla")
    dialog.display_name.setText("Carla Ruiz")
    dialog.roles[Role.COMMUNICATOR].setChecked(True)
    dialog.password.setText("carla's password")
    dialog.again.setText("carla's passwort")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert dialog.error.text() == "The two passwords differ; type the same password twice."
    dialog.again.setText("carla's password")
    dialog.buttons.button(QDialogButtonBox.StandardButton.Ok).click()
    assert not dialog.isVisible()
    assert names(page) == ["alice", "carla"]
    assert page.selected() is not None and page.selected().name == "carla"  # type: ignore[union-attr]
    assert page.status.text() == "Added carla (communicator); they can sign in now."
    assert cell(page, "carla", 1) == "Carla Ruiz" and cell(page, "carla", 3) == "May sign in"
    assert sign_in(core, "carla", "carla's password").actor is not None

    # A name the service refuses: its line stays in the form.
    page.add_button.click()
    again = page.add_dialog
    assert again is not None
    again.name.setText("Carla")
    again.roles[Role.VIEWER].setChecked(True)
    again.password.setText("another password")
    again.again.setText("another password")
    again.ok_button.click()
    assert again.isVisible() and "already exists" in again.error.text()
    again.reject()

    # Grant and revoke by ticking the role boxes of the selected person.
    page.select("carla")
    page.role_checks[Role.APPROVER].click()
    assert page.status.text() == "Granted approver to carla."
    assert core.people.actor("carla").roles == {Role.COMMUNICATOR, Role.APPROVER}
    page.role_checks[Role.COMMUNICATOR].click()
    assert page.status.text() == "Revoked communicator from carla."
    assert core.people.actor("carla").roles == {Role.APPROVER}
    assert cell(page, "carla", 2) == "approver"
    assert page.role_checks[Role.APPROVER].isChecked() and not page.role_checks[Role.COMMUNICATOR].isChecked()

    # Disable (asked first): carla's sign-in through the real dialog is then refused with one clear line.
    page.select("carla")
    page.disable_button.click()
    assert page.confirm is not None and "stays in the log" in page.confirm.text()
    press_yes(page.confirm)
    assert page.status.text() == "carla is disabled: they cannot sign in."
    assert cell(page, "carla", 3) == "⊘ Disabled: cannot sign in"
    assert not page.disable_button.isEnabled() and page.enable_button.isEnabled()
    refused = sign_in(core, "carla", "carla's password")
    assert refused.actor is None and refused.isVisible() is False
    assert refused.error.text().startswith("carla is disabled and cannot sign in; an admin can enable them again")
    page.enable_button.click()
    assert page.status.text() == "carla may sign in again."
    assert sign_in(core, "carla", "carla's password").actor is not None

    # Reset a password: the new one works, the old one not.
    page.select("carla")
    page.reset_button.click()
    reset = page.reset_dialog
    assert reset is not None
    reset.password.setText("carla's new password")
    reset.again.setText("carla's new password")
    reset.ok_button.click()
    assert not reset.isVisible() and page.status.text().startswith("carla has a new password")
    assert sign_in(core, "carla", "carla's new password").actor is not None
    assert "wrong password" in sign_in(core, "carla", "carla's password").error.text()
    kinds = [e.kind for e in core.log.events()]
    assert kinds.count(Kind.USER_DISABLED) == 1 and kinds.count(Kind.USER_ENABLED) == 1

    if folder := os.environ.get("CRISISDESK_SCREENSHOTS"):
        view.grab().save(str(Path(folder) / "settings-people.png"))


def test_the_last_admin_refusal_is_shown_and_the_tick_goes_back(qtbot: QtBot, core: App, admin: Actor) -> None:
    view = settings(qtbot, core, admin)
    page = people_page(view)
    page.select("alice")
    assert page.role_checks[Role.ADMIN].isChecked()
    page.role_checks[Role.ADMIN].click()  # unticked by the click: the service refuses
    assert page.status.text() == (
        "cannot revoke admin from alice: they are the last admin who can sign in; grant admin to someone else first"
    )
    assert page.status.state == "bad"
    assert page.role_checks[Role.ADMIN].isChecked()  # back to what the log says
    assert core.people.actor("alice").roles == {Role.ADMIN}
    page.disable_button.click()
    press_yes(page.confirm)
    assert page.status.text().startswith("cannot disable alice: they are the last admin who can sign in")
    assert cell(page, "alice", 3) == "May sign in"


def test_a_non_admin_sees_people_read_only(qtbot: QtBot, core: App, admin: Actor) -> None:
    carla = person(core, admin, "carla", Role.COMMUNICATOR)
    view = settings(qtbot, core, carla)
    page = people_page(view)
    assert names(page) == ["alice", "carla"]
    assert page.read_only is not None
    assert page.read_only.text() == (
        "Read-only: only an admin changes people and their roles. You are signed in as carla (communicator)."
    )
    page.select("alice")
    controls: list[QWidget] = [
        page.add_button,
        page.reset_button,
        page.disable_button,
        page.enable_button,
        *page.role_checks.values(),
    ]
    assert not any(c.isEnabled() for c in controls)
    workstation = view.show_page(WORKSTATION)
    assert isinstance(workstation, WorkstationPage)
    assert not workstation.idle.isEnabled() and not workstation.save.isEnabled()
    assert workstation.name.text() == "EOC desk 1" and workstation.database.text() == str(core.db.path)


def test_an_admin_sets_the_idle_lock_on_this_workstation(qtbot: QtBot, core: App, admin: Actor) -> None:
    view = settings(qtbot, core, admin)
    page = view.show_page(WORKSTATION)
    assert isinstance(page, WorkstationPage) and page.loaded
    assert page.idle.value() == 15 and page.signed_in.text() == "alice (admin)"
    page.idle.setValue(5)
    page.save.click()
    assert page.status.text() == "The console will lock after 5 idle minutes, from its next start."
    assert core.people.idle_lock_minutes() == 5
    page.idle.setValue(0)
    assert page.idle.text() == "never"
    page.save.click()
    assert core.people.idle_lock_minutes() == 0


def test_pages_are_built_when_first_shown_and_others_can_be_added(qtbot: QtBot, core: App, admin: Actor) -> None:
    view = settings(qtbot, core, admin)
    built: list[str] = []

    def rules() -> QWidget:
        built.append("rules")
        widget = QWidget()
        widget.setAccessibleName("Rules page")
        return widget

    view.add_page("Rules", rules, about="Keywords, areas and thresholds")
    assert built == [] and view.titles[-1] == "Rules"
    view.list.setCurrentRow(view.titles.index("Rules"))
    assert built == ["rules"] and view.current_title() == "Rules"
    assert view.about.text() == "Keywords, areas and thresholds"
    assert view.stack.currentWidget().accessibleName() == "Rules page"
    view.show_page(PEOPLE)
    view.show_page("Rules")
    assert built == ["rules"]  # once


def test_every_control_of_the_settings_pages_has_an_accessible_name(qtbot: QtBot, core: App, admin: Actor) -> None:
    view = settings(qtbot, core, admin)
    for title in view.titles:
        view.show_page(title)
    people = view.page(PEOPLE)
    assert isinstance(people, PeoplePage)
    people.select("alice")
    people.add()
    people.reset_password()
    people.disable()
    accounts = view.page(ACCOUNTS)
    assert isinstance(accounts, AccountsPage)
    accounts.select("public-page")
    accounts.add()
    accounts.remove()
    windows = [view, people.add_dialog, people.reset_dialog, people.confirm, accounts.add_dialog, accounts.confirm]
    assert all(w is not None for w in windows)
    assert [name for w in windows if w is not None for name in unnamed_controls(w)] == []
    # Every kind's form, too.
    dialog = accounts.add_dialog
    assert dialog is not None
    for i in range(dialog.kind.count()):
        dialog.kind.setCurrentIndex(i)
        assert unnamed_controls(dialog) == [], dialog.kind.currentText()


def test_two_quick_clicks_on_a_role_never_leave_the_opposite_of_the_last_one(
    qtbot: QtBot, core: App, admin: Actor
) -> None:
    """On the real thread pool, a grant and a revoke clicked in quick succession ran side by side and the one that
    finished last won. The ticks wait for each change: a click while one runs does nothing, and what the tick shows
    is what the log says."""
    carla = person(core, admin, "carla", Role.COMMUNICATOR)
    view = SettingsView(Session(core=core, actor=admin, tasks=Tasks(core, synchronous=False), watcher=Watcher(core)))
    qtbot.addWidget(view)
    view.show()
    page = view.show_page(PEOPLE)
    assert isinstance(page, PeoplePage)
    qtbot.waitUntil(lambda: page.loaded, timeout=10_000)
    page.select("carla")
    tick = page.role_checks[Role.ADMIN]
    tick.click()
    assert not page.roles_box.isEnabled()  # the grant is running
    tick.click()  # ignored: no revoke races the grant
    qtbot.waitUntil(lambda: page.roles_box.isEnabled() and tick.isChecked(), timeout=10_000)
    assert Role.ADMIN in core.people.actor(carla.name).roles
    tick.click()
    qtbot.waitUntil(lambda: page.roles_box.isEnabled() and not tick.isChecked(), timeout=10_000)
    assert Role.ADMIN not in core.people.actor(carla.name).roles
