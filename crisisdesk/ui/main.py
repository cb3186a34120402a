"""Starting the console: open (or create) the database, sign in, show the main window."""

from __future__ import annotations

import contextlib
import sys
from pathlib import Path

from PySide6.QtWidgets import QApplication, QMessageBox

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.services.feed_scheduler import FeedScheduler
from crisisdesk.services.outbox import Worker, WorkerBusy, worker_lock
from crisisdesk.ui.console import Console
from crisisdesk.ui.scaling import prepare_high_dpi


def run_gui(db_path: Path) -> int:
    prepare_high_dpi()  # before the application exists
    qapp = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName("crisisdesk")
    try:
        core = App.open(db_path, create=True)
    except CrisisdeskError as exc:
        QMessageBox.critical(None, "crisisdesk cannot open its database", str(exc))
        return 2
    console = Console(core)
    quit_on_last = qapp.quitOnLastWindowClosed()
    # Signing out and locking swap the window for a dialog: the console decides when it is over, not the last
    # window to close.
    qapp.setQuitOnLastWindowClosed(False)
    try:
        actor = console.first_sign_in()
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
            console.finished.connect(qapp.quit)
            console.open_window(actor)
            return qapp.exec()
    finally:
        console.stop()
        qapp.setQuitOnLastWindowClosed(quit_on_last)
        core.close()
