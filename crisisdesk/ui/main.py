"""Starting the console: open (or create) the database, sign in, show the main window."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.roles import Actor
from crisisdesk.services.feed_scheduler import FeedScheduler
from crisisdesk.services.outbox import Worker, WorkerBusy, worker_lock
from crisisdesk.ui.dialogs.sign_in import FirstRunDialog, LoginDialog
from crisisdesk.ui.views.main_window import MainWindow


def sign_in(core: App) -> Actor | None:
    """First run: create the first admin. Otherwise: the sign-in dialog. None if the person cancels."""
    dialog: LoginDialog | FirstRunDialog
    if core.people.is_initialised():
        dialog = LoginDialog(core.people)
    else:
        dialog = FirstRunDialog(core.people, str(core.db.path), setup=core.initialise)
    if dialog.exec() != dialog.DialogCode.Accepted:
        return None
    return dialog.actor


def run_gui(db_path: Path) -> int:
    qapp = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName("crisisdesk")
    try:
        core = App.open(db_path, create=True)
    except CrisisdeskError as exc:
        QMessageBox.critical(None, "crisisdesk cannot open its database", str(exc))
        return 2
    try:
        actor = sign_in(core)
        if actor is None:
            return 0
        # The outbox worker sends and the feed poller polls in the background, each with its own connections;
        # neither touches widgets (the views read the database when it changes).
        worker = Worker(lambda: App.open(db_path).outbox())
        feeds = FeedScheduler(lambda: App.open(db_path).feeds())
        with contextlib.ExitStack() as stack:
            try:
                stack.enter_context(worker_lock(db_path))
                worker.start()
                stack.callback(worker.stop)
                feeds.start()
                stack.callback(feeds.stop)
            except WorkerBusy:
                pass  # a 'crisisdesk worker' already sends and polls for this database
            window = MainWindow(core, actor)
            window.show()
            return qapp.exec()
    finally:
        core.close()
