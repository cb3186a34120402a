"""Composition root: settings and paths in, services out. The CLI and the GUI both start here."""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from crisisdesk.credentials import KeyringSecrets, SecretStore
from crisisdesk.domain.clock import Clock, SystemClock
from crisisdesk.domain.errors import CrisisdeskError, DatabaseDamaged, NotADatabase
from crisisdesk.services.audit import AuditService, HeadCheck, HeadKeeper, VerifyReport, database_key
from crisisdesk.services.passwords import Argon2Hasher, PasswordHasher
from crisisdesk.services.people import PeopleService
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog

if TYPE_CHECKING:
    from crisisdesk.services.after_action import AfterActionService
    from crisisdesk.services.attention import AttentionService
    from crisisdesk.services.board import BoardService
    from crisisdesk.services.channels import ChannelService
    from crisisdesk.services.deliveries import DeliveryService
    from crisisdesk.services.drills import DrillService
    from crisisdesk.services.feeds import FeedService
    from crisisdesk.services.incidents import IncidentService
    from crisisdesk.services.messages import MessageService
    from crisisdesk.services.outbox import OutboxService
    from crisisdesk.services.playbooks import PlaybookService
    from crisisdesk.services.review import ReviewService
    from crisisdesk.services.settings import SettingsService
    from crisisdesk.services.sync import SyncService
    from crisisdesk.services.workstation_keys import WorkstationKeys

APP_NAME = "crisisdesk"
DB_ENV = "CRISISDESK_DB"
DB_FILE = "crisisdesk.sqlite3"


PACKAGE_DIR = Path(__file__).resolve().parent


def _bundled(name: str) -> Path:
    """A folder shipped with crisisdesk: inside the installed package, or beside it in a source checkout."""
    inside = PACKAGE_DIR / name
    return inside if inside.exists() else PACKAGE_DIR.parent / name


def resources_dir() -> Path:
    return _bundled("resources")


def shipped_playbooks_dir() -> Path:
    return _bundled("playbooks")


def user_playbooks_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME, appauthor=False) / "playbooks"


def shipped_scenarios_dir() -> Path:
    return _bundled("scenarios")


def user_scenarios_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME, appauthor=False) / "scenarios"


def playbook_service(clock: Clock | None = None) -> PlaybookService:
    """Playbooks need no database: the CLI's playbook, text and CAP commands start here.

    Imported on first use: the playbook stack (pydantic, Jinja2, Babel, lxml) costs half a second to import,
    which the console's start and the people and audit commands should not pay.
    """
    from crisisdesk.services.playbooks import PlaybookService

    return PlaybookService(
        [shipped_playbooks_dir(), user_playbooks_dir()], resources_dir() / "CAP-v1.2.xsd", clock or SystemClock()
    )


def default_db_path() -> Path:
    """The workstation's database in the platform's user data folder."""
    return platformdirs.user_data_path(APP_NAME, appauthor=False) / DB_FILE


def data_dir() -> Path:
    return platformdirs.user_data_path(APP_NAME, appauthor=False)


def log_dir() -> Path:
    return platformdirs.user_log_path(APP_NAME, appauthor=False)


def resolve_db_path(explicit: str | os.PathLike[str] | None = None) -> Path:
    """``--db`` first, then ``CRISISDESK_DB``, then the default."""
    if explicit:
        return Path(explicit).expanduser()
    env = os.environ.get(DB_ENV)
    if env:
        return Path(env).expanduser()
    return default_db_path()


@dataclass
class App:
    db: Database
    clock: Clock
    log: EventLog
    people: PeopleService
    audit: AuditService
    secrets: SecretStore
    _incidents: IncidentService | None = None
    _messages: MessageService | None = None
    _channels: ChannelService | None = None
    _outbox: OutboxService | None = None
    _feeds: FeedService | None = None
    _attention: AttentionService | None = None
    _deliveries: DeliveryService | None = None
    _board: BoardService | None = None
    _review: ReviewService | None = None
    _settings: SettingsService | None = None
    _after_action: AfterActionService | None = None
    _drills: DrillService | None = None
    _head_keeper: HeadKeeper | None = None
    _sync: SyncService | None = None
    # Why initialise could not declare a signing key (None: it did, or it was not asked to).
    key_problem: str | None = None

    @classmethod
    def open(
        cls,
        path: Path,
        *,
        create: bool = False,
        readonly: bool = False,
        clock: Clock | None = None,
        hasher: PasswordHasher | None = None,
        secrets: SecretStore | None = None,
        any_thread: bool = False,
    ) -> App:
        """Open (or with ``create``, make) a workstation's database. ``readonly`` is for checking a file:
        nothing is created, migrated or written, and a file that is not a crisisdesk database is refused.
        ``any_thread``: the App may be used from any one thread at a time (see ``Database.open``)."""
        clock = clock or SystemClock()
        db = (
            Database.open_readonly(path)
            if readonly
            else Database.open(path, create=create, clock=clock, any_thread=any_thread)
        )
        log = EventLog(db, clock)
        secrets = secrets or KeyringSecrets()
        keeper = None
        if not readonly:
            # The store may not know about the keyring: it offers a hook after each commit, connected here.
            keeper = HeadKeeper(secrets, database_key(db.path))
            log.on_head(keeper.committed)
            # Entries this workstation writes are signed with its key, read from the keyring on first write.
            from crisisdesk.services.workstation_keys import find_signer

            log.find_signer = lambda ws: find_signer(secrets, ws)
        app = cls(
            db=db,
            clock=clock,
            log=log,
            people=PeopleService(db, log, hasher or Argon2Hasher(), clock),
            audit=AuditService(db, log, secrets),
            secrets=secrets,
            _head_keeper=keeper,
        )
        # With a team hub configured, audit verify holds this log against the hub's own heads (the authority).
        app.audit.live_heads.append(lambda: app.sync().live_heads())
        return app

    def sibling(self, *, any_thread: bool = False) -> App:
        """Another App on the same database, with this one's clock, secrets and password hasher: for a thread
        that needs its own connection (SQLite connections belong to the thread that opened them)."""
        return App.open(
            self.db.path, clock=self.clock, hasher=self.people.hasher, secrets=self.secrets, any_thread=any_thread
        )

    def data_version(self) -> tuple[int, int]:
        """Changes whenever the database may have changed, by any connection (see ``Database.data_version``)."""
        return self.db.data_version()

    def initialise(
        self,
        admin: str,
        password: str,
        *,
        workstation_name: str | None = None,
        agency_name: str | None = None,
        cap_sender: str | None = None,
        cap_prefix: str | None = None,
    ) -> str:
        """Set up a new workstation: its identity, its first admin, the agency it speaks for (when given), and
        the two local-folder channels (a live and an exercise public page) so a whole incident can run with no
        accounts at all."""
        from crisisdesk.domain.agency import check_agency

        check_agency(agency_name, cap_sender, cap_prefix)  # before anything is created
        keys = self.workstation_keys()

        def declare_key(conn: sqlite3.Connection, ws: str) -> None:
            try:
                keys.declare(conn, ws)
            except CrisisdeskError as exc:
                # A workstation without a usable keyring still works; its entries stay unsigned until an admin
                # runs 'crisisdesk workstation keys' (verify says so meanwhile).
                self.key_problem = str(exc)

        ws = self.people.initialise(admin, password, workstation_name=workstation_name, on_identity=declare_key)
        if agency_name is not None or cap_sender is not None or cap_prefix is not None:
            self.settings().set_agency(
                self.people.actor(admin),
                name=agency_name,
                cap_sender=cap_sender,
                cap_prefix=cap_prefix,
                setting_up=True,
            )
        self.channels().add_defaults()
        return ws

    def workstation_keys(self) -> WorkstationKeys:
        """This workstation's signing key: declared, replaced, revoked."""
        from crisisdesk.services.workstation_keys import WorkstationKeys

        return WorkstationKeys(self.db, self.log, self.secrets)

    def sync(self) -> SyncService:
        """Sync with the team hub (PostgreSQL): push, pull, status. Built on first use (psycopg is imported only
        when a hub is reached); closed with the App."""
        if self._sync is None:
            from crisisdesk.services.sync import SyncService

            self._sync = SyncService(self.db, self.log, self.clock, self.secrets)
        return self._sync

    def settings(self) -> SettingsService:
        """The agency and its CAP identity."""
        if self._settings is None:
            from crisisdesk.services.settings import SettingsService

            self._settings = SettingsService(self.db, self.log)
        return self._settings

    def incidents(self) -> IncidentService:
        """The incident service, built on first use (it needs the playbook library)."""
        if self._incidents is None:
            from crisisdesk.services.incidents import IncidentService

            self._incidents = IncidentService(self.db, self.log, self.clock, playbook_service(self.clock))
            # A drill's incident is due in drill time (the drill service knows which incidents drills opened).
            self._incidents.drill_clock = lambda incident_id: self.drills().clock_of_incident(incident_id)
        return self._incidents

    def messages(self) -> MessageService:
        if self._messages is None:
            from crisisdesk.services.messages import MessageService

            self._messages = MessageService(self.db, self.log, self.clock, self.incidents(), self.channels())
        return self._messages

    def channels(self) -> ChannelService:
        if self._channels is None:
            from crisisdesk.services.channels import ChannelService

            self._channels = ChannelService(self.db, self.log, self.secrets, data_dir())
        return self._channels

    def outbox(self) -> OutboxService:
        if self._outbox is None:
            from crisisdesk.services.outbox import OutboxService

            # A drill's injected outages fail exercise sends through the outbox's ordinary failure path.
            self._outbox = OutboxService(
                self.db,
                self.log,
                self.clock,
                self.channels(),
                self.secrets,
                outage=lambda account, now: self.drills().outage_until(account, now),
            )
        return self._outbox

    def feeds(self) -> FeedService:
        if self._feeds is None:
            from crisisdesk.services.feeds import FeedService

            self._feeds = FeedService(
                self.db, self.log, self.clock, self.incidents(), resources_dir() / "monitoring.yaml"
            )
        return self._feeds

    def attention(self) -> AttentionService:
        """What waits for a person: the console's badges."""
        if self._attention is None:
            from crisisdesk.services.attention import AttentionService

            self._attention = AttentionService(self.db, self.messages(), self.incidents(), self.drills)
        return self._attention

    def deliveries(self) -> DeliveryService:
        """A published message's deliveries, dead-delivery news, and the false alarm as the console runs it."""
        if self._deliveries is None:
            from crisisdesk.services.deliveries import DeliveryService

            self._deliveries = DeliveryService(self.db, self.log, self.clock, self.messages(), self.outbox())
        return self._deliveries

    def board(self) -> BoardService:
        """What the console's incident views read: the board, an incident's workspace, its messages."""
        if self._board is None:
            from crisisdesk.services.board import BoardService

            self._board = BoardService(self.db, self.incidents(), self.messages(), self.outbox())
        return self._board

    def drills(self) -> DrillService:
        """Exercise control: scenarios, drills, their clock and injects (services.drills)."""
        if self._drills is None:
            from crisisdesk.services.drills import DrillService

            self._drills = DrillService(
                self.db,
                self.log,
                self.clock,
                incidents=self.incidents,
                feeds=self.feeds,
                channels=self.channels,
                folders=[shipped_scenarios_dir(), user_scenarios_dir()],
            )
        return self._drills

    def review(self) -> ReviewService:
        """What an approver and a publisher read before they act: the queue, a version's review, the publish
        summary and its phrase."""
        if self._review is None:
            from crisisdesk.services.review import ReviewService

            self._review = ReviewService(self.messages(), self.incidents())
        return self._review

    def after_action(self) -> AfterActionService:
        """A drill's evaluation and its after-action report (HSEEP AAR/IP), from the log."""
        if self._after_action is None:
            from crisisdesk.services.after_action import AfterActionService

            self._after_action = AfterActionService(
                self.db, self.log, self.clock, self.messages(), self.audit, templates=resources_dir() / "aar"
            )
        return self._after_action

    def close(self) -> None:
        if self._outbox is not None:
            self._outbox.close()
        if self._feeds is not None:
            self._feeds.close()
        if self._head_keeper is not None:
            self._head_keeper.close()
        if self._sync is not None:
            self._sync.close()
        self.db.close()


def verify_database(
    path: Path, *, deep: bool = False, secrets: SecretStore | None = None, scratch_dir: Path | None = None
) -> VerifyReport:
    """``audit verify`` on a file: opened read-only, checked, closed; never creates or changes anything.

    A file that is not a crisisdesk database (empty, foreign, its log gone) is a mistake in the path, unless
    the keyring records a log head for this very file: then the log was lost, and that is the report.
    """
    secrets = secrets or KeyringSecrets()
    try:
        app = App.open(path, readonly=True, secrets=secrets)
    except DatabaseDamaged as exc:
        return VerifyReport(chain=None, damage=exc.damage)  # the report adds the advice
    except NotADatabase as exc:
        try:
            recorded = secrets.log_head(database_key(path))
        except CrisisdeskError:
            recorded = None
        if recorded is None:
            raise
        text = (
            f"{exc}, yet the keyring records workstation {recorded.workstation_id}'s log up to seq {recorded.seq} "
            f"(hash {recorded.hash[:16]}…) for this file: the log was lost or the file replaced"
        )
        return VerifyReport(chain=None, head=HeadCheck("lost", text, recorded))
    try:
        return app.audit.verify(deep=deep, scratch_dir=scratch_dir)
    finally:
        app.close()
