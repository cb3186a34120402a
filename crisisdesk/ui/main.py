"""Starting the console: open (or create) the database, sign in, show the main window.

What the sign-in dialog needs is imported before it shows (Qt, the App, the people service, the dialog); nothing
else is. The rest goes off the GUI thread:

- once the dialog is up, a thread loads the keyring's backend, imports the main window (with the Incidents view and
  the services its first screen calls) and the outbox worker's and feed scheduler's modules (httpx, the channels,
  the feed parsers, APScheduler), loads the language check's models, then validates the open incidents' playbooks:
  by the time the person has typed their password they are loaded, and the first screen comes up without waiting
  for them (``Warm``);
- a second after sign-in (the window's first screen first), another thread starts the outbox worker and the feed
  scheduler, so the window never waits for them (``Background``).

``tests/ui/test_startup.py`` holds the sign-in path to this; ``bench/startup.py`` times it.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox

from crisisdesk.app import App, playbook_service
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.ui.collector import Collector
from crisisdesk.ui.console import Console
from crisisdesk.ui.scaling import prepare_high_dpi

if TYPE_CHECKING:
    from crisisdesk.services.sync import SyncWorker

log = logging.getLogger(__name__)

BACKGROUND_AFTER_MS = 1_000  # after sign-in, when the outbox worker and the feed scheduler start

# Imported by a thread while the sign-in dialog waits: what the first screen needs, before the playbooks it needs...
WARM = (
    "crisisdesk.ui.views.main_window",
    "crisisdesk.ui.views.incidents_view",
    "crisisdesk.services.board",
    "crisisdesk.services.attention",
)
# ... and after them what the outbox worker and the feed scheduler need (they start a second after sign-in).
WARM_LATER = ("crisisdesk.services.outbox", "crisisdesk.services.feed_scheduler")


class Warm:
    """A daemon thread that loads the keyring's backend, imports ``modules``, loads the language check's models,
    validates the open incidents' playbooks once for the whole process (the board and the attention badge need them,
    and validating one renders all its templates: 0.2 s each, more for the first, which loads Babel's locale data),
    imports ``later``, then validates the rest of the library. ``enough`` (Sign in was pressed: the tasks validate
    what they still need) stops the playbooks after the one at hand (the imports go on: the window and the
    background need them, better here than on the GUI thread); ``stop`` everything, and waits for the step at hand.
    ``steps`` says what took how long.
    Anything that fails here is left for the real call, on the path that needs it, to report."""

    def __init__(
        self,
        db_path: Path | None = None,
        modules: tuple[str, ...] = WARM,
        later: tuple[str, ...] = WARM_LATER,
        *,
        playbooks: bool = True,
    ) -> None:
        self.db_path = db_path
        self.modules = modules
        self.later = later
        self.playbooks = playbooks
        self._stop = threading.Event()
        self._enough = threading.Event()
        self.thread = threading.Thread(target=self._load, name="crisisdesk-warm", daemon=True)
        self.done = threading.Event()
        self.steps: list[tuple[str, float, float]] = []  # (what, started, ended) on time.perf_counter(): for tests

    def start(self) -> Warm:
        self.thread.start()
        return self

    def enough(self) -> None:
        self._enough.set()

    def stop(self) -> None:
        self._enough.set()
        self._stop.set()
        if self.thread.ident is not None:
            self.thread.join()

    def _load(self) -> None:
        try:
            with self._step("keyring"):  # signing in records the session: its log head goes to the keyring
                import keyring

                keyring.get_keyring()
            self._import(self.modules)
            if self.playbooks and not self._enough.is_set():
                self._load_language_models()
                self._validate_playbooks_in_use()
            self._import(self.later)
            if self.playbooks:
                self._validate_library()
        finally:
            self.done.set()

    def _load_language_models(self) -> None:
        """The language check's models load on its first detection (``crisisdesk.domain.languages``: 0.5 s on a
        quiet machine, 1-2.5 s on a busy one), and lingua holds the interpreter meanwhile: the GUI thread cannot run
        Python then. Here, soon after the dialog shows, while the person is still starting to type; otherwise the
        first board's validation loads them and the new window stands still."""
        from crisisdesk.domain.languages import clause_language

        with self._step("language models"):
            clause_language("the way out is the highway south", ("en", "es"))

    def _import(self, modules: tuple[str, ...]) -> None:
        for name in modules:
            if self._stop.is_set():
                return
            with self._step(name):
                importlib.import_module(name)

    def _validate_playbooks_in_use(self) -> None:
        """The open incidents' playbooks, into the process's cache of validated playbooks: the board and the badges
        need them."""
        first: list[str] = []
        if self.db_path is not None:
            with self._step("playbooks in use"):
                core = App.open(self.db_path, readonly=True)
                try:
                    first = core.incidents().playbooks_in_use()
                finally:
                    core.close()
        service = playbook_service()
        for playbook_id in first:
            if self._enough.is_set():
                return
            with self._step(playbook_id):
                service.get(playbook_id)

    def _validate_library(self) -> None:
        """The rest of the library (the New incident dialog lists it), while the person is still typing."""
        from crisisdesk.services.playbooks import playbook_files

        service = playbook_service()
        try:
            paths = playbook_files([f for f in service.folders if f.exists()])
        except OSError:
            return
        for path in paths:
            if self._enough.is_set():
                return
            with self._step(path.name):
                service.load([path])

    @contextlib.contextmanager
    def _step(self, what: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        except Exception:
            log.debug("warming %s failed", what, exc_info=True)
        self.steps.append((what, started, time.perf_counter()))


class Background:
    """The outbox worker, the feed scheduler, the drills' clock and team sync, started on a thread of their own after
    sign-in (each with its own connections; none touches widgets: the views read the database when it changes). If a
    ``crisisdesk worker`` already sends and polls for this database, this console leaves sending and polling to it.

    Team sync runs only when a hub is set up (``crisisdesk hub init`` or ``hub join``): ``SyncService.run`` in a
    thread of its own (``SyncWorker``), woken by the hub's notifications and by any commit to this file (the
    console's tasks write through their own connections, which the loop sees within 50 ms), so what is written
    here reaches the hub within a second. It stops with the console."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.stack = contextlib.ExitStack()
        self.running = False
        self.sync: SyncWorker | None = None  # running when a hub is set up
        self.thread = threading.Thread(target=self._start, name="crisisdesk-background-start", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def _start(self) -> None:
        from crisisdesk.services.drill_runner import DrillRunner
        from crisisdesk.services.feed_scheduler import FeedScheduler
        from crisisdesk.services.outbox import Worker, WorkerBusy, worker_lock

        db_path = self.db_path
        self._start_sync()
        try:
            self.stack.enter_context(worker_lock(db_path))
        except WorkerBusy:
            return  # a 'crisisdesk worker' already sends and polls for this database
        except Exception:
            log.exception("the outbox worker could not start")
            return
        try:
            worker = Worker(lambda: App.open(db_path).outbox())
            worker.start()
            self.stack.callback(worker.stop)
            feeds = FeedScheduler(lambda: App.open(db_path).feeds())
            feeds.start()
            self.stack.callback(feeds.stop)
            # The drills' clock: fires each running drill's injects when their drill time comes.
            drills = DrillRunner(lambda: App.open(db_path).drills())
            drills.start()
            self.stack.callback(drills.stop)
            self.running = True
        except Exception:
            log.exception("the outbox worker or the feed scheduler could not start")

    def _start_sync(self) -> None:
        """Sync with the team hub in the background, when one is set up (each console syncs its own file: two
        syncs of one file, a console's and a 'crisisdesk sync', only repeat each other's work)."""
        db_path = self.db_path
        try:
            from crisisdesk.services.sync import SyncWorker

            probe = App.open(db_path, readonly=True)
            try:
                configured = probe.sync().address() is not None
            finally:
                probe.close()
            if not configured:
                return
            self.sync = SyncWorker(lambda: App.open(db_path).sync())
            self.sync.start()
            self.stack.callback(self.sync.stop)
        except Exception:
            log.exception("team sync could not start")

    def stop(self) -> None:
        if self.thread.ident is not None:
            self.thread.join()
        self.stack.close()


def run_gui(db_path: Path) -> int:
    prepare_high_dpi()  # before the application exists
    qapp = QApplication.instance() or QApplication(sys.argv)
    assert isinstance(qapp, QApplication)
    qapp.setApplicationName("crisisdesk")
    collector = Collector(qapp).start()  # cycles (Qt objects among them) collected on this thread only
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
    background = Background(db_path)
    starter = QTimer()
    starter.setSingleShot(True)
    starter.timeout.connect(background.start)
    warming = Warm(db_path)
    try:
        # Warming starts once the dialog is up (not to slow its first frame) and stops taking on playbooks when
        # Sign in is pressed: the password check (Argon2, on every core) should not share them.
        actor = console.first_sign_in(shown=warming.start, pressed=warming.enough)
        if actor is None:
            return 0
        warming.enough()
        console.finished.connect(qapp.quit)
        console.open_window(actor)
        # The window's first screen first: the worker's and the poller's first rounds would share the interpreter
        # with its first reads.
        starter.start(BACKGROUND_AFTER_MS)
        return qapp.exec()
    finally:
        starter.stop()
        warming.stop()
        background.stop()
        console.stop()
        qapp.setQuitOnLastWindowClosed(quit_on_last)
        core.close()
        collector.stop()
