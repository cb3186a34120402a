"""Publishing a message to chosen channels, and the headless worker as a real process, for the outbox tests."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

from crisisdesk.app import App
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.messages import MessageView
from crisisdesk.services.passwords import Argon2Hasher
from tests.conftest import ADMIN, ADMIN_PASSWORD
from tests.integration.test_incidents import FLOOD_FACTS

REPO = Path(__file__).resolve().parents[2]

PEOPLE = {
    "carla": [Role.COMMUNICATOR],
    "ivan": [Role.APPROVER],
    "eve": [Role.EXERCISE_CONTROLLER],
    "vic": [Role.VIEWER],
}


def add_team(core: App, admin: Actor) -> dict[str, Actor]:
    for name, roles in PEOPLE.items():
        core.people.add(admin, name, roles, f"{name} password")
    return {name: core.people.actor(name) for name in PEOPLE}


def open_incident(core: App, team: dict[str, Actor], mode: Mode = Mode.LIVE) -> str:
    who = team["carla"] if mode is Mode.LIVE else team["eve"]
    return core.incidents().open(who, "flash-flood", mode, facts=FLOOD_FACTS).id


def publish(
    core: App,
    team: dict[str, Actor],
    incident: str,
    channels: list[str],
    *,
    message_type: str = "alert",
    mode: Mode = Mode.LIVE,
) -> MessageView:
    """Draft, aim at ``channels``, submit, approve by a second person and publish."""
    who = team["carla"] if mode is Mode.LIVE else team["eve"]
    messages = core.messages()
    view = messages.draft(who, incident, message_type)
    view = messages.set_targets(who, view.id, channels)
    messages.submit(who, view.id)
    messages.approve(team["ivan"], view.id, view.content_hash)
    phrase = ("PUBLISH LIVE " if mode is Mode.LIVE else "SEND EXERCISE ") + view.id
    return messages.publish(who, view.id, confirm=phrase)


def open_live(db_path: Path, hasher: Argon2Hasher) -> App:
    """A set-up workstation on the real clock: a worker process shares the database and its times."""
    app = App.open(db_path, create=True, hasher=hasher)
    app.initialise(ADMIN, ADMIN_PASSWORD, workstation_name="EOC desk 1")
    return app


class WorkerProcess:
    """``crisisdesk worker`` as a real process, killed with SIGKILL from the test or a server's handler thread."""

    def __init__(self, db_path: Path) -> None:
        self.db_path = db_path
        self.proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.killed = 0
        self._lock = threading.Lock()
        self._kill_sent = False

    def start(self) -> None:
        env = {**os.environ, "PYTHONPATH": str(REPO), "CRISISDESK_DB": str(self.db_path)}
        self.log = self.db_path.with_name(f"worker-{self.starts}.log")
        with self._lock, self.log.open("ab") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "crisisdesk", "worker"], env=env, stderr=subprocess.STDOUT, stdout=out
            )
            self.starts += 1
            self._kill_sent = False

    def kill(self) -> bool:
        """SIGKILL the running worker, once per start (a second caller finds it done); returns True so a
        server's handler drops the connection."""
        with self._lock:
            if self.proc is not None and self.proc.returncode is None and not self._kill_sent:
                os.kill(self.proc.pid, signal.SIGKILL)
                self._kill_sent = True
                self.killed += 1
        return True

    def wait_killed(self, timeout: float = 30) -> None:
        assert self.proc is not None
        self.proc.wait(timeout)
        assert self.proc.returncode == -signal.SIGKILL, self.log.read_text()[-2000:]

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
