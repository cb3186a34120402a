"""The outbox: every published version reaches every account it names exactly once, in order, offline-first.

A row is claimed (state ``sending``) just before its own send, and that claim committed before the network call;
the receipt is committed only after the channel confirmed it, together with the claim of the account's next row.
So a crash leaves at most one row per account in doubt: it becomes ``unknown`` and is looked up on the channel
before anything is sent again; rows never attempted stay queued. Every change of state is an event, so the audit
log shows each try, its reason and its receipt.

What is sent is taken from the event log at the moment of the send, not from the tables: the publication event
names the row, its account and key and the approved hash; the version's content is re-hashed against it; the
modes of the message, the incident and the account must agree; an exercise account must not share a destination
with a live one. Any error of one account (its set-up, a check, a send, even a bug in its adapter) becomes that
account's row's reason, and every other account goes on sending.

Sends to different accounts run in parallel threads; the worker's own thread alone writes the database.

In a team (issue 16, docs/design/sync.md "Publishing once"), a row is also claimed at the hub just before its
send: the first workstation to claim a version on an account sends it, any other records that it was published
elsewhere and sends nothing. With the hub away (or none configured) a row goes alone only if the approvals this
workstation holds satisfy the policy, the send says it went without a claim, and the claim is registered when the
hub answers again (a conflict then is the "published twice" alarm). A worker sends only the rows of its own
workstation's publications.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import queue
import random
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any, ClassVar

import orjson

from crisisdesk.channels.base import Adapter, ChannelError, NotRetractable, Post, Receipt, guarded
from crisisdesk.channels.registry import make_adapter
from crisisdesk.credentials import SecretStore
from crisisdesk.domain.approval import content_hash
from crisisdesk.domain.clock import Clock, utc_iso
from crisisdesk.domain.errors import ExternalError, NotFound, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode, working_permissions
from crisisdesk.domain.outbox import UNFINISHED, Next, backoff, next_work
from crisisdesk.domain.roles import Actor, Permission
from crisisdesk.services.channels import ChannelService
from crisisdesk.services.claims import BoardSource, ClaimBoard, Playbooks, cached_board, held_refusal
from crisisdesk.services.guard import require
from crisisdesk.store.db import Database
from crisisdesk.store.eventlog import EventLog
from crisisdesk.store.ledger import Ledger, TamperedLog

WORKER = "outbox"  # the actor named on the worker's events
# When the hub is away and the approvals held here do not let a row go alone, it waits this long for the hub.
WAIT_FOR_HUB = 60.0
# Rows claimed at once for a channel that can be asked whether a send arrived (or drops a repeated key): a few
# seconds' worth at most, so a crash puts no more than this in doubt, and each of those is looked up, not lost.
CLAIM_AHEAD = 16
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class OutboxRow:
    id: str
    pos: int
    message_id: str
    version: int
    account_id: str
    account: str
    kind: str
    mode: str
    state: str
    attempts: int
    next_try_at: str | None
    reason: str | None
    remote_id: str | None
    remote_url: str | None
    sent_at: str | None
    retract_state: str | None
    retract_reason: str | None
    idem_key: str
    content_hash: str
    first_try_at: str | None = None
    timezone: str | None = None  # the incident's zone, for showing its times (read by ``rows``, not the worker)

    def as_dict(self) -> dict[str, Any]:
        return {
            "row": self.id,
            "message": self.message_id,
            "version": self.version,
            "channel": self.account,
            "kind": self.kind,
            "mode": self.mode,
            "state": self.state,
            "attempts": self.attempts,
            "next_try": self.next_try_at,
            "reason": self.reason,
            "receipt": {"id": self.remote_id, "url": self.remote_url, "at": self.sent_at} if self.remote_id else None,
            "retraction": {"state": self.retract_state, "reason": self.retract_reason} if self.retract_state else None,
            "key": self.idem_key,
        }


@dataclass
class RunReport:
    sent: int = 0
    failed: int = 0
    dead: int = 0
    reconciled: int = 0
    retracted: int = 0
    not_retractable: int = 0
    elsewhere: int = 0  # not sent: another workstation holds the hub's claim
    notes: list[str] = field(default_factory=list)
    COUNTS: ClassVar[tuple[str, ...]] = (
        "sent",
        "failed",
        "dead",
        "reconciled",
        "retracted",
        "not_retractable",
        "elsewhere",
    )

    def busy(self) -> bool:
        return any(getattr(self, name) for name in self.COUNTS)

    def add(self, other: RunReport) -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        self.notes += other.notes


@dataclass
class LateClaims:
    """What ``register_late_claims`` did: rows now claimed at the hub, rows another workstation also sent (the
    "published twice" alarm, with that workstation), and why it stopped early (the hub away), if it did."""

    registered: list[str] = field(default_factory=list)
    twice: list[tuple[str, str]] = field(default_factory=list)
    waiting: str | None = None


# What a person lists: each row with its incident's zone. Newest first by pos (UNIQUE, so indexed): a page
# before a given pos is a range read of that index however long the outbox has grown.
_LIST_SQL = (
    "SELECT o.*, a.name AS account_name, a.kind AS account_kind, i.timezone AS timezone FROM outbox o "
    "JOIN channel_accounts a ON a.id = o.account_id "
    "LEFT JOIN messages m ON m.id = o.message_id LEFT JOIN incidents i ON i.id = m.incident_id"
)


# (account id, now) -> (why sends to it fail now, the wall moment that ends at the present pace or None), or None.
Outages = Callable[[str, datetime], tuple[str, datetime | None] | None]


class WorkerBusy(UserError):
    """Another worker already sends from this database."""


class OutboxService:
    def __init__(
        self,
        db: Database,
        log: EventLog,
        clock: Clock,
        channels: ChannelService,
        secrets: SecretStore,
        *,
        rng: random.Random | None = None,
        max_parallel: int = 8,
        outage: Outages | None = None,
        hub: BoardSource | None = None,
        playbooks: Callable[[], Playbooks] | None = None,
    ) -> None:
        self.db = db
        # The team hub's claims (None from the source: no hub configured), and the playbooks whose approval
        # policy decides whether a row may go without a claim (asked for on first need: loading them is slow).
        self.hub = hub or cached_board(db, secrets, now=lambda: clock.now().timestamp())
        self.playbooks = playbooks
        self._boards: list[ClaimBoard] = []  # closed with the outbox
        # Sends made without the hub's claim and not yet claimed there (an ordered set), read up to this position.
        self._late: dict[str, None] = {}
        self._late_seen = 0
        self._published_here: set[str] = set()  # messages this workstation published (see ``_mine``)
        # Drills (services.drills): why an exercise account is made to fail now, and until when, or None.
        self.outage = outage
        self.log = log
        self.clock = clock
        self.channels = channels
        self.secrets = secrets
        self.rng = rng or random.Random()
        self.max_parallel = max_parallel
        self._adapters: dict[str, Adapter] = {}
        self._reconciled = False

    # -- reading --------------------------------------------------------------------------------------

    def rows(
        self, actor: Actor, *, message_id: str | None = None, limit: int = 200, before: int | None = None
    ) -> list[OutboxRow]:
        """Newest first; ``before``: only rows older than that pos (the next page of a long outbox)."""
        require(self.db, self.log, actor, Permission.READ, "read the outbox")
        where: list[str] = []
        params: list[Any] = []
        if message_id:
            where.append("o.message_id = ?")
            params.append(message_id)
        if before is not None:
            where.append("o.pos < ?")
            params.append(before)
        clause = f"WHERE {' AND '.join(where)}" if where else ""
        found = self.db.utils.query(f"{_LIST_SQL} {clause} ORDER BY o.pos DESC LIMIT ?", (*params, limit))
        return [self._row(r) for r in found]

    def get(self, row_id: str) -> OutboxRow:
        found = next(self.db.utils.query(f"{_LIST_SQL} WHERE o.id = ?", (row_id,)), None)
        if found is None:
            raise NotFound(f"no outbox row {row_id!r}; 'crisisdesk outbox list' shows them")
        return self._row(found)

    @staticmethod
    def _row(r: dict[str, Any]) -> OutboxRow:
        return OutboxRow(
            id=r["id"],
            pos=r["pos"],
            message_id=r["message_id"],
            version=r["version"],
            account_id=r["account_id"],
            account=r["account_name"],
            kind=r["account_kind"],
            mode=r["mode"],
            state=r["state"],
            attempts=r["attempts"],
            next_try_at=r["next_try_at"],
            reason=r["reason"],
            remote_id=r["remote_id"],
            remote_url=r["remote_url"],
            sent_at=r["sent_at"],
            retract_state=r["retract_state"],
            retract_reason=r["retract_reason"],
            idem_key=r["idem_key"],
            content_hash=r["content_hash"],
            first_try_at=r["first_try_at"],
            timezone=r.get("timezone"),
        )

    # -- what people do -------------------------------------------------------------------------------

    def retry(self, actor: Actor, row_id: str) -> OutboxRow:
        """Send a failed, dead or unknown row again now (a person decided it should go)."""
        row = self.get(row_id)
        require(self.db, self.log, actor, working_permissions_for(row.mode), f"retry {row_id}")
        if row.state not in ("failed", "dead", "unknown"):
            raise UserError(f"{row_id} is {row.state}: only a failed, dead or unknown row can be retried")
        if row.retract_state:
            raise UserError(f"{row_id}'s message was withdrawn: it will not be sent")
        if self.channels.current(row.account_id) is None:
            raise UserError(f"{row.account} was removed: {row_id} cannot be sent again")
        with self.db.write() as conn:
            self.log.record(conn, actor.name, Kind.OUTBOX_RETRIED, {"row": row_id, "message": row.message_id})
        return self.get(row_id)

    def request_retract(self, actor: Actor, message_id: str, channel: str | None = None) -> list[OutboxRow]:
        """Ask for a message to be taken back: sent posts are deleted where the channel allows, and anything
        not yet sent is stopped. The worker carries it out; ``run_once`` right after makes it immediate."""
        require(self.db, self.log, actor, Permission.APPROVE, f"retract {message_id}")
        account_id = self.channels.get(channel).id if channel else None
        with self.db.write() as conn:
            rows = request_retractions(
                self.log,
                conn,
                actor.name,
                [message_id],
                asked_by=message_id,
                reason="asked by a person",
                account_id=account_id,
            )
        if not rows:
            raise UserError(f"nothing of {message_id} is left to retract" + (f" on {channel}" if channel else ""))
        return [self.get(r) for r in rows]

    # -- the worker's side ----------------------------------------------------------------------------

    def reconcile(self) -> RunReport:
        """On start: every row left in sending was cut off mid-send; mark it unknown (checked before any retry)."""
        report = RunReport()
        stuck = self._mine(
            self.db.conn.execute("SELECT id, message_id FROM outbox WHERE state = 'sending' ORDER BY pos")
        )
        if stuck:
            with self.db.write() as conn:
                self.log.record(
                    conn,
                    WORKER,
                    Kind.OUTBOX_UNKNOWN,
                    {"rows": stuck, "reason": "the program stopped during the send: checking the channel first"},
                )
            report.notes.append(f"{len(stuck)} row(s) were cut off mid-send and will be checked on the channel")
        self._reconciled = True
        return report

    def run_once(self, *, batch: int = 50) -> RunReport:
        """One pass: retractions, then unknown rows checked, then every account's next rows sent in parallel.

        If the database refuses a write (locked, disk full) the error goes up with every row as it was; the next
        pass first marks rows left in sending as unknown, exactly as after a crash.
        """
        try:
            return self._pass(batch)
        except (UserError, ExternalError):
            self._reconciled = False
            raise

    def _board(self) -> ClaimBoard | None:
        """The hub's claims now (None: no hub configured), remembered to be closed with the outbox."""
        board = self.hub()
        if board is not None and all(b is not board for b in self._boards):
            self._boards.append(board)
        return board

    def _mine(self, rows: Iterable[tuple[str, str]]) -> list[str]:
        """Of (row, message) pairs, the rows this workstation's worker handles: those of its own publications
        (another workstation's publication is that workstation's to send: its events update the same row here),
        less any another workstation claimed at the hub. A message found published here is remembered: a
        publication never goes away."""
        ws = self.log.workstation_id() or ""
        conn = self.db.conn
        elsewhere = {
            r[0]
            for r in conn.execute(
                "SELECT json_extract(body, '$.payload.row') FROM events WHERE kind = ? AND +workstation_id = ?",
                (Kind.OUTBOX_CLAIMED_ELSEWHERE, ws),
            )
        }
        out = []
        for row_id, message_id in rows:
            if row_id in elsewhere:
                continue
            if message_id not in self._published_here:
                # By the message's own events (its index), not by scanning every publication.
                if not conn.execute(
                    "SELECT 1 FROM events WHERE json_extract(body, '$.payload.message') = ? AND +kind = ? "
                    "AND +workstation_id = ? LIMIT 1",
                    (message_id, Kind.MESSAGE_PUBLISHED, ws),
                ).fetchone():
                    continue
                self._published_here.add(message_id)
            out.append(row_id)
        return out

    def _pass(self, batch: int) -> RunReport:
        report = self.reconcile() if not self._reconciled else RunReport()
        self._retractions(report)
        found = list(
            self.db.utils.query(
                f"SELECT id, message_id, account_id, state, next_try_at, retract_state FROM outbox "  # noqa: S608
                f"WHERE state IN ({','.join('?' * len(UNFINISHED))}) ORDER BY account_id, pos",
                UNFINISHED,
            )
        )
        mine = set(self._mine((r["id"], r["message_id"]) for r in found))
        unfinished = [r for r in found if r["id"] in mine]
        work = next_work(unfinished, self.clock.now(), batch=batch)
        for item in work:
            self._stop(item, report)
            self._reconcile_rows(item, report)
        sends = [w for w in work if w.send]
        if sends:
            self._send(sends, report)
        self._late_claims(report)
        return report

    def _late_claims(self, report: RunReport) -> None:
        """Sends made without the hub's claim are claimed there as soon as it answers (the sync loop may ask too)."""
        if self._board() is None or not self.late_claims():
            return
        done = self.register_late_claims()
        if done.registered:
            report.notes.append(f"{len(done.registered)} send(s) made without the hub are now claimed there")
        for row, workstation in done.twice:
            report.notes.append(f"{row}: PUBLISHED TWICE: workstation {workstation} also sent it")

    def late_claims(self) -> list[str]:
        """Rows this workstation sent without the hub's claim and has not yet claimed there, oldest first. Read
        from the events after those read by the last call (a year of sends is not re-read at every sync)."""
        found = self.db.conn.execute(
            "SELECT position, kind, json_extract(body, '$.payload.row') FROM events WHERE kind IN (?, ?, ?) "
            "AND position > ? AND workstation_id = ? AND (kind != ? OR json_extract(body, '$.payload.claim') = "
            "'none') ORDER BY position",
            (
                Kind.OUTBOX_SENT,
                Kind.OUTBOX_CLAIM_REGISTERED,
                Kind.OUTBOX_PUBLISHED_TWICE,
                self._late_seen,
                self.log.workstation_id() or "",
                Kind.OUTBOX_SENT,
            ),
        ).fetchall()
        for position, kind, row in found:
            if kind == Kind.OUTBOX_SENT:
                self._late[str(row)] = None
            else:
                self._late.pop(str(row), None)
            self._late_seen = int(position)
        return list(self._late)

    def register_late_claims(self) -> LateClaims:
        """Claim at the hub what was sent without its claim (offline, or before the hub was configured). Called
        by the sync loop once the hub answers. Each row is recorded as registered, or, when another workstation
        claimed the same version on the account meanwhile, as published twice (an alarm for a person). Stops at
        the first sign the hub is away again; what is left is tried on the next call."""
        done = LateClaims()
        board = self._board()
        if board is None:
            return done
        me = self.log.workstation_id() or ""
        for row_id in self.late_claims():
            row = self.get(row_id)
            try:
                holder = board.claim(row.message_id, row.content_hash, row.account_id, me, row.id, offline=True)
            except (ExternalError, UserError) as exc:
                done.waiting = str(exc)
                break
            with self.db.write() as conn:
                if holder.workstation_id == me:
                    self.log.record(conn, WORKER, Kind.OUTBOX_CLAIM_REGISTERED, {"row": row.id})
                    done.registered.append(row.id)
                else:
                    payload = {"row": row.id, "workstation": holder.workstation_id}
                    self.log.record(conn, WORKER, Kind.OUTBOX_PUBLISHED_TWICE, payload)
                    done.twice.append((row.id, holder.workstation_id))
        return done

    def _stop(self, item: Next, report: RunReport) -> None:
        if not item.stop:
            return
        with self.db.write() as conn:
            for row in item.stop:
                self.log.record(
                    conn,
                    WORKER,
                    Kind.RETRACT_DONE,
                    {"row": row, "outcome": "retracted", "reason": "stopped before it was sent"},
                )
                self.log.record(
                    conn,
                    WORKER,
                    Kind.OUTBOX_FAILED,
                    {"row": row, "reason": "withdrawn before it was sent", "dead": True},
                )
        report.retracted += len(item.stop)

    def _reconcile_rows(self, item: Next, report: RunReport) -> None:
        for row_id in item.reconcile:
            row = self.get(row_id)
            try:
                self._injected(row)
                adapter = self._adapter(row.account_id)
                post = self.post_for(row)
                found = guarded(row.kind, "checking", adapter.lookup, post)
            except ChannelError as exc:
                self._fail(row, exc, report, during="checking whether it was sent")
                continue
            with self.db.write() as conn:
                if found is not None:
                    self._record_sent(conn, row.id, found, via="lookup")
                    report.reconciled += 1
                elif adapter.can_lookup or adapter.resend_is_safe:
                    how = "not found on the channel" if adapter.can_lookup else "the channel drops a repeated key"
                    self.log.record(
                        conn,
                        WORKER,
                        Kind.OUTBOX_FAILED,
                        {"row": row.id, "reason": f"{how}: sending again", "dead": False, "next_try": None},
                    )
                    report.reconciled += 1
                else:
                    self.log.record(
                        conn,
                        WORKER,
                        Kind.OUTBOX_FAILED,
                        {
                            "row": row.id,
                            "dead": True,
                            "reason": "the program stopped during the send and this channel cannot be asked "
                            f"whether it arrived ({row.kind}: {adapter.account.spec.lookup}); check by hand, "
                            "then 'crisisdesk outbox retry' or leave it",
                        },
                    )
                    report.dead += 1

    def _send(self, work: list[Next], report: RunReport) -> None:
        """Each account's due rows in order, in its own thread, each claimed just before it is sent.

        A sender thread asks this thread (the one that writes) to claim its next rows and waits; this thread
        checks each against the log, commits the claims and hands back the posts. For a channel that cannot be
        asked whether a send arrived (Apprise, email) or cannot take a message back (SMS), one row is claimed at a
        time, so a crash leaves at most that row in doubt and a withdrawal stops every row not yet claimed. A
        channel that can be asked (or drops a repeated key) and can retract may claim the next few rows
        (``CLAIM_AHEAD``, what it sends in well under a second) and send them while their outcomes are recorded:
        a row of those left in doubt by a crash is looked up or sent again, never sent twice to people, and one
        withdrawn while it waited is taken back right after.
        The outcome of the last send and the next claim go into one transaction; rows claimed behind a failure
        are released, never attempted, back to queued."""
        rows: dict[str, list[OutboxRow]] = {}
        adapters: dict[str, Adapter] = {}
        for w in work:
            batch = [self.get(r) for r in w.send]
            try:
                self._injected(batch[0])
                adapters[w.account_id] = self._adapter(w.account_id)
                self._check_destination(adapters[w.account_id])
            except ChannelError as exc:
                self._fail(batch[0], exc, report)  # the rows behind it were never tried: they stay queued
                continue
            rows[w.account_id] = batch
        if not rows:
            return
        board = self._board()
        inbox: queue.Queue[_Turn] = queue.Queue()

        def send_in_order(account_id: str) -> None:
            adapter = adapters[account_id]
            # Claiming ahead is for channels where a row in doubt is looked up or resent safely AND a row withdrawn
            # while it waits can still be taken back after it went (SMS can be looked up, not recalled).
            ahead = CLAIM_AHEAD if (adapter.can_lookup or adapter.resend_is_safe) and adapter.can_retract else 1
            todo = rows[account_id]
            last: tuple[OutboxRow, Outcome] | None = None
            while todo:
                turn = _Turn(done=last, claims=todo[:ahead])
                todo = todo[ahead:]
                last = None
                inbox.put(turn)
                turn.ready.wait()
                if not turn.posts:
                    return  # nothing granted: the thread that writes has recorded why (and counts this thread out)
                if turn.halt:
                    todo = []  # a row of this turn waits (for the hub): nothing behind it goes in this pass
                for i, (row, post, go) in enumerate(turn.posts):
                    outcome: Outcome
                    try:
                        receipt = guarded(adapter.account.kind.value, "sending", adapter.deliver, post)
                        outcome = receipt if go.claimed else _Alone(receipt, go.why)
                    except ChannelError as exc:
                        outcome = exc
                    if isinstance(outcome, ChannelError):
                        released = [r for r, _, _ in turn.posts[i + 1 :]]
                        inbox.put(_Turn(done=(row, outcome), release=released, final=True))
                        return  # order is kept: nothing after a failure goes in this pass
                    if i + 1 < len(turn.posts):
                        inbox.put(_Turn(done=(row, outcome)))  # recorded while the next one is sent
                    else:
                        last = (row, outcome)  # recorded with the next claim, in one transaction
            inbox.put(_Turn(done=last, final=True))

        running = len(rows)
        error: BaseException | None = None
        with ThreadPoolExecutor(max_workers=min(self.max_parallel, len(rows)), thread_name_prefix="send") as pool:
            for account_id in rows:
                pool.submit(send_in_order, account_id)
            while running:
                turns = [inbox.get()]
                with contextlib.suppress(queue.Empty):
                    while True:
                        turns.append(inbox.get_nowait())
                if error is None:
                    try:
                        self._take_turns(turns, report, board)
                    except BaseException as exc:  # the database refused: no more claims; rows in sending are reconciled
                        error = exc
                for turn in turns:
                    turn.ready.set()  # a thread is never left waiting, whatever happened here
                # A thread ends after its final turn, or after a claim of which nothing was granted.
                running -= sum(turn.final or (bool(turn.claims) and not turn.posts) for turn in turns)
        if error is not None:
            raise error

    def _claim_at_hub(self, board: ClaimBoard | None, row: OutboxRow, post: Post) -> _Go | _Elsewhere:
        """Just before the row is claimed here: go (claimed at the hub, or alone by the offline rule) or not here
        (another workstation holds the claim). Raises ``Refused``, or a ChannelError to wait for the hub, when the
        approvals held here do not let it go alone."""
        me = self.log.workstation_id() or ""
        if board is None:
            alone = self._alone_refusal(row, team=False)
            if alone is not None:
                raise Refused(f"refused: it cannot go without the hub's claim: {alone}")
            return _Go(claimed=False, why="no hub is configured")
        try:
            # What is claimed is what the log says goes (the post), not the table's copy of it.
            holder = board.claim(post.message_id, post.content_hash, row.account_id, me, row.id)
        except Exception as exc:  # the hub away, or a bug in reaching it: the offline rule decides either way
            if not isinstance(exc, (ExternalError, UserError)):
                log.exception("claiming %s at the hub failed unexpectedly", row.id)
            alone = self._alone_refusal(row, team=True)
            if alone is not None:
                raise ChannelError(
                    f"waiting for the hub: it cannot be reached ({exc}) and this row may go alone only if the "
                    f"approvals held here satisfy the policy: {alone}",
                    retry_after=WAIT_FOR_HUB,
                ) from None
            return _Go(claimed=False, why=f"the hub was unreachable: {exc}")
        if holder.workstation_id != me:
            if not self._joined(holder.workstation_id):
                raise _UnknownHolder(holder.workstation_id)
            return _Elsewhere(holder.workstation_id)
        return _Go(claimed=True)

    def _joined(self, workstation: str) -> bool:
        """Whether this log holds ``workstation``'s own ``workstation.joined``: only then is its claim at the hub a
        team member's publication (a claim row written into the hub by hand for anyone else is not)."""
        return (
            self.db.conn.execute(
                "SELECT 1 FROM events WHERE kind = ? AND workstation_id = ? LIMIT 1",
                (Kind.WORKSTATION_JOINED, workstation),
            ).fetchone()
            is not None
        )

    def _alone_refusal(self, row: OutboxRow, *, team: bool) -> str | None:
        """Why ``row`` may not be sent without the hub's claim (None: it may): the approvals this workstation holds
        must satisfy the policy, read from the log now. A break-glass publication holds none: it goes alone only
        where no hub is configured (a workstation on its own, as before teams). Without the playbooks the policy
        cannot be read: refused in a team, as before teams otherwise."""
        ledger = Ledger(self.db.conn)
        try:
            pub = ledger.publication(row.message_id, row.version)
            if pub is None:
                return f"the audit log has no publication of {row.message_id} v{row.version}"
            if pub.break_glass:
                return "it was published with break glass, without approvals" if team else None
            if self.playbooks is None:
                return "the approval policy cannot be read here (no playbooks)" if team else None
            return held_refusal(ledger, self.playbooks(), pub)
        except UserError as exc:  # the playbook is gone or the log is tampered: the row waits for a person
            return str(exc)

    def _take_turns(self, turns: list[_Turn], report: RunReport, board: ClaimBoard | None = None) -> None:
        """Record outcomes, releases and claims in one transaction; hand each claimed row's post to its thread.

        Each row is checked against the log, then claimed at the hub (when one is configured) before it is claimed
        here: a row another workstation holds is recorded as published elsewhere and never becomes 'sending'."""
        prepared: dict[str, Post | ChannelError | _Elsewhere] = {}
        goes: dict[str, _Go] = {}
        for turn in turns:
            for row in turn.claims:
                try:
                    post = self._claimable(row)
                    go = self._claim_at_hub(board, row, post)
                    if isinstance(go, _Go):
                        prepared[row.id], goes[row.id] = post, go
                    else:
                        prepared[row.id] = go
                except ChannelError as exc:
                    prepared[row.id] = exc
                    if not exc.permanent and not isinstance(exc, NotDue):
                        turn.halt = True  # it waits for the hub: the rows behind it are not claimed anywhere now
                        break
                except (UserError, ExternalError):
                    raise  # the database itself: the pass stops with every row as it was
                except Exception as exc:  # a bug reading the log: this row waits for a person, the others go on
                    log.exception("could not prepare %s", row.id)
                    prepared[row.id] = Refused(f"refused: could not prepare the send ({type(exc).__name__}: {exc})")
        granted: dict[int, list[tuple[OutboxRow, Post, _Go]]] = {}
        with self.db.write() as conn:
            for n, turn in enumerate(turns):
                if turn.done is not None:
                    row, outcome = turn.done
                    if isinstance(outcome, Receipt):
                        self._record_sent(conn, row.id, outcome, via="send", claim="hub")
                        report.sent += 1
                    elif isinstance(outcome, _Alone):
                        self._record_sent(conn, row.id, outcome.receipt, via="send", claim="none", why=outcome.why)
                        report.sent += 1
                    else:
                        self._record_failure(conn, row, outcome, report)
                if turn.release:
                    self.log.record(
                        conn,
                        WORKER,
                        Kind.OUTBOX_RELEASED,
                        {"rows": [r.id for r in turn.release], "reason": "not sent: an earlier message failed"},
                    )
                for row in turn.claims:
                    ready = prepared.get(row.id)  # None: behind a row that waits, so not claimed and still queued
                    if isinstance(ready, Post):
                        granted.setdefault(n, []).append((row, ready, goes[row.id]))
                    elif isinstance(ready, _Elsewhere):
                        payload = {"row": row.id, "workstation": ready.workstation}
                        self.log.record(conn, WORKER, Kind.OUTBOX_CLAIMED_ELSEWHERE, payload)
                        report.elsewhere += 1
                        report.notes.append(f"{row.id}: workstation {ready.workstation} published it; not sent here")
                    elif isinstance(ready, ChannelError) and not isinstance(ready, NotDue):
                        self._record_failure(conn, row, ready, report)  # refused: recorded, the rest still go
                        if isinstance(ready, _UnknownHolder):
                            self._unknown_holder_alarm(conn, row.id, ready.workstation, report)
            claimed = [row.id for grants in granted.values() for row, _, _ in grants]
            if claimed:
                self.log.record(conn, WORKER, Kind.OUTBOX_CLAIMED, {"rows": claimed})
        for n, pairs in granted.items():
            turns[n].posts = pairs

    def _unknown_holder_alarm(self, conn: Any, row_id: str, workstation: str, report: RunReport) -> None:
        """The alarm for a row whose hub claim names a workstation this log never saw join: recorded once."""
        report.notes.append(f"{row_id}: the hub's claim names workstation {workstation}, which never joined: waiting")
        if conn.execute(
            "SELECT 1 FROM events WHERE kind = ? AND json_extract(body, '$.payload.row') = ? "
            "AND json_extract(body, '$.payload.workstation') = ? LIMIT 1",
            (Kind.OUTBOX_CLAIM_UNKNOWN_HOLDER, row_id, workstation),
        ).fetchone():
            return
        self.log.record(conn, WORKER, Kind.OUTBOX_CLAIM_UNKNOWN_HOLDER, {"row": row_id, "workstation": workstation})

    def _claimable(self, row: OutboxRow) -> Post:
        """The post for ``row`` if it is still to be sent now (re-read: a retraction may have come meanwhile)."""
        now = self.get(row.id)
        if now.state not in ("queued", "failed") or now.retract_state is not None:
            raise NotDue(f"{row.id} is {now.state}")
        return self.post_for(now)

    def _injected(self, row: OutboxRow) -> None:
        """A drill's outage or network loss on this exercise account: an ordinary, transient failure with its reason
        and the usual backoff, no sooner than needed (the retry is never put after the outage's planned end: drill
        time may run 60 times faster than the backoff's wall time). Never for a LIVE row (the drill service also
        answers only for exercise accounts)."""
        if self.outage is None or row.mode != Mode.EXERCISE.value:
            return
        now = self.clock.now()
        held = self.outage(row.account_id, now)
        if held is None:
            return
        reason, ends = held
        delay = backoff(row.attempts + 1, self.rng)
        if ends is not None:
            delay = min(delay, max(0.0, (ends - now).total_seconds()))
        raise ChannelError(reason, retry_after=delay)

    def _check_destination(self, adapter: Adapter) -> None:
        """At send, again: an exercise account must not reach where a live one does."""
        if not adapter.account.exercise:
            return
        conflict = self.channels.destination_conflict(adapter.account)
        if conflict:
            raise Refused(f"refused: {conflict}")

    def _record_sent(
        self, conn: Any, row_id: str, receipt: Receipt, *, via: str, claim: str | None = None, why: str = ""
    ) -> None:
        """``claim``: "hub" when the hub's claim was held, "none" when it went alone (``why``: no hub, or the hub
        unreachable; registered later by ``register_late_claims``); absent for a lookup after a restart."""
        payload: dict[str, Any] = {"row": row_id, "remote_id": receipt.remote_id, "url": receipt.url, "via": via}
        if claim is not None:
            payload["claim"] = claim
        if claim == "none":
            payload["without_claim"] = why
        self.log.record(conn, WORKER, Kind.OUTBOX_SENT, payload)

    def _record_failure(self, conn: Any, row: OutboxRow, exc: ChannelError, report: RunReport) -> str | None:
        if exc.permanent:
            report.dead += 1
            self.log.record(conn, WORKER, Kind.OUTBOX_FAILED, {"row": row.id, "reason": exc.reason, "dead": True})
            return None
        delay = backoff(row.attempts + 1, self.rng, retry_after=exc.retry_after)
        next_try = utc_iso(self.clock.now() + timedelta(seconds=delay))
        report.failed += 1
        self.log.record(
            conn,
            WORKER,
            Kind.OUTBOX_FAILED,
            {"row": row.id, "reason": exc.reason, "dead": False, "next_try": next_try},
        )
        return next_try

    def _fail(self, row: OutboxRow, exc: ChannelError, report: RunReport, *, during: str = "") -> None:
        if during:
            exc = ChannelError(f"{during}: {exc.reason}", permanent=exc.permanent, retry_after=exc.retry_after)
        with self.db.write() as conn:
            self._record_failure(conn, row, exc, report)

    def _retractions(self, report: RunReport) -> None:
        ids = self._mine(
            self.db.conn.execute(
                "SELECT id, message_id FROM outbox WHERE retract_state = 'requested' AND state = 'sent' ORDER BY pos"
            )
        )
        for row_id in ids:
            row = self.get(row_id)
            outcome, reason = "retracted", None
            try:
                self._injected(row)
                adapter = self._adapter(row.account_id)
                post = self.post_for(row)
                guarded(row.kind, "retracting", adapter.retract, Receipt(row.remote_id or "", row.remote_url), post)
            except NotRetractable as exc:
                outcome, reason = "impossible", str(exc)
            except ChannelError as exc:
                outcome, reason = ("failed", exc.reason) if exc.permanent else ("requested", exc.reason)
            if outcome == "requested":
                report.notes.append(f"{row_id}: retraction will be tried again ({reason})")
                continue  # transient: the next pass tries again
            with self.db.write() as conn:
                self.log.record(conn, WORKER, Kind.RETRACT_DONE, {"row": row_id, "outcome": outcome, "reason": reason})
            if outcome == "retracted":
                report.retracted += 1
            else:
                report.not_retractable += 1

    # -- posts and adapters ---------------------------------------------------------------------------

    def post_for(self, row: OutboxRow) -> Post:
        """What ``row`` sends, from the event log: the publication that made the row, the version it approved
        (re-hashed), and the modes of the message, its incident and the account, which must all agree.
        Raises ``Refused`` (a permanent ChannelError) on any mismatch."""
        try:
            return self._post_from_log(row)
        except TamperedLog as exc:
            raise Refused(f"refused: {exc}") from None

    def _post_from_log(self, row: OutboxRow) -> Post:
        ledger = Ledger(self.db.conn)
        what = f"{row.message_id} v{row.version} to {row.account}"
        pub = ledger.publication(row.message_id, row.version)
        if pub is None:
            raise Refused(f"refused: the audit log has no publication of {row.message_id} v{row.version}")
        entry = pub.outbox_entry(row.id)
        if entry is None or entry["account"] != row.account_id or entry["key"] != row.idem_key:
            raise Refused(f"refused: {what} is not what the publication handed to the outbox")
        version = ledger.version(row.message_id, row.version, pub.hash)
        if version is None or version.hash != pub.hash or content_hash(version.content.encode("utf-8")) != pub.hash:
            raise Refused(f"refused: the text of {what} does not match the approved hash {pub.hash[:12]}")
        content = orjson.loads(version.content)
        incident = ledger.incident(content["incident"])
        account = ledger.account(entry["account"])
        if incident is None or account is None:
            raise Refused(f"refused: the audit log does not know the incident or the account of {what}")
        modes = {
            "message": content["mode"],
            "publication": pub.mode,
            "incident": incident.mode,
            "account": "exercise" if account.exercise else "live",
        }
        if len(set(modes.values())) != 1:
            said = ", ".join(f"{k} {v}" for k, v in modes.items())
            raise Refused(f"refused: exercise and live do not match for {what} ({said})")
        texts: dict[str, dict[str, str]] = {}
        for v in content["variants"]:
            texts.setdefault(v["lang"], {})[v["channel"]] = v["text"]
        return Post(
            row=row.id,
            key=entry["key"],
            message_id=row.message_id,
            version=row.version,
            content_hash=pub.hash,
            message_type=content["type"],
            mode=content["mode"],
            title=incident.title,
            texts=texts,
            published_at=datetime.fromisoformat(pub.at),
            cap=pub.cap.encode("utf-8") if pub.cap else None,
            references=tuple(content["references"]),
            media=tuple(content.get("media", ())),
            first_try_at=datetime.fromisoformat(row.first_try_at) if row.first_try_at else None,
            timezone=incident.timezone,
        )

    def _adapter(self, account_id: str) -> Adapter:
        adapter = self._adapters.get(account_id)
        if adapter is None:
            account = self.channels.by_id(account_id)
            if account is None:
                raise ChannelError(f"channel {account_id} no longer exists", permanent=True)
            try:
                secret = self.secrets.get(account.id) if account.spec.secret_label else None
            except (UserError, ExternalError) as exc:  # the keyring is locked or refused: try again later
                raise ChannelError(f"the keyring could not give {account.name}'s secret: {exc}") from None
            adapter = guarded(account.kind.value, "setting up", make_adapter, account, secret)
            self._adapters[account_id] = adapter
        return adapter

    def close(self) -> None:
        for adapter in self._adapters.values():
            with contextlib.suppress(Exception):
                adapter.close()
        self._adapters.clear()
        for board in self._boards:
            with contextlib.suppress(Exception):
                board.close()
        self._boards.clear()


class Refused(ChannelError):
    """A row the log does not allow to go as it stands: recorded as dead with the reason, for a person."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, permanent=True)


class _UnknownHolder(ChannelError):
    """The hub's claim names a workstation this log never saw join: not published elsewhere; the row waits."""

    def __init__(self, workstation: str) -> None:
        super().__init__(
            f"waiting: the hub's claim on it names workstation {workstation}, which never joined this team in this "
            f"log; an admin must check the hub's claims (delete that row if no such workstation sent it) or sync "
            f"that workstation's join",
            retry_after=WAIT_FOR_HUB,
        )
        self.workstation = workstation


class NotDue(ChannelError):
    """A row that changed since the pass began (withdrawn, or sent by a retry): not sent, nothing recorded."""


@dataclass(frozen=True)
class _Go:
    """Send it: with the hub's claim held, or alone (``why``: no hub, or the hub unreachable)."""

    claimed: bool
    why: str = ""


@dataclass(frozen=True)
class _Alone:
    """Sent without the hub's claim."""

    receipt: Receipt
    why: str


@dataclass(frozen=True)
class _Elsewhere:
    """Not sent: this workstation holds the hub's claim."""

    workstation: str


Outcome = Receipt | ChannelError | _Alone  # what a sender thread hands back for one row


@dataclass
class _Turn:
    """A sender thread's message to the thread that writes: an outcome to record, rows to claim or release."""

    done: tuple[OutboxRow, Outcome] | None = None
    claims: list[OutboxRow] = field(default_factory=list)
    release: list[OutboxRow] = field(default_factory=list)  # claimed behind a failure, never attempted
    final: bool = False  # the thread ends after this turn
    # What was granted, in order, each with how it goes (claimed at the hub, or alone and why).
    posts: list[tuple[OutboxRow, Post, _Go]] = field(default_factory=list)
    halt: bool = False  # a row of this turn waits: the thread sends what was granted and takes no more
    ready: threading.Event = field(default_factory=threading.Event)


def request_retractions(
    log: EventLog,
    conn: Any,
    actor_name: str,
    messages: list[str],
    *,
    asked_by: str,
    reason: str,
    account_id: str | None = None,
) -> list[str]:
    """Inside a write: ask for every row of ``messages`` not yet withdrawn (and not dead) to be taken back.
    Returns the rows asked for; records nothing when there are none."""
    if not messages:
        return []
    where = f"message_id IN ({','.join('?' * len(messages))}) AND retract_state IS NULL AND state != 'dead'"
    params: list[str] = list(messages)
    if account_id:
        where += " AND account_id = ?"
        params.append(account_id)
    rows = [r[0] for r in conn.execute(f"SELECT id FROM outbox WHERE {where} ORDER BY pos", params)]  # noqa: S608
    if rows:
        log.record(conn, actor_name, Kind.RETRACT_REQUESTED, {"message": asked_by, "rows": rows, "reason": reason})
    return rows


def working_permissions_for(mode: str) -> tuple[Permission, ...]:
    """Who may send a row again: whoever may work on an incident of its mode, and approvers."""
    return (*working_permissions(Mode(mode)), Permission.APPROVE)


# -- running in the background --------------------------------------------------------------------------


@contextlib.contextmanager
def worker_lock(db_path: Path) -> Iterator[IO[str]]:
    """One worker per database: a second would find rows in sending that are not cut off at all."""
    path = db_path.with_name(db_path.name + ".worker.lock")
    fh = open(path, "a+")  # noqa: SIM115 - held for the worker's life
    try:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            fh.seek(0)
            other = fh.read().strip() or "another process"
            raise WorkerBusy(
                f"another outbox worker ({other}) is already sending from {db_path}; only one may run"
            ) from None
        fh.seek(0)
        fh.truncate()
        fh.write(f"pid {os.getpid()}")
        fh.flush()
        yield fh
    finally:
        fh.close()


class Worker:
    """Runs the outbox in a background thread until stopped; wakes when the database changes.

    ``open_outbox`` is called in the worker's thread: SQLite connections belong to the thread that made them.
    """

    def __init__(self, open_outbox: Callable[[], OutboxService], *, poll: float = 0.05, idle_pass: float = 1.0) -> None:
        self.open_outbox = open_outbox
        self.poll = poll
        self.idle_pass = idle_pass
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None
        self.passes = 0

    def wake(self) -> None:
        self._wake.set()

    def run(self) -> None:
        """Run in the calling thread until ``stop``."""
        outbox = self.open_outbox()
        try:
            self._loop(outbox)
        finally:
            outbox.close()
            outbox.db.close()

    def _loop(self, outbox: OutboxService) -> None:
        conn = outbox.db.conn
        seen = -1
        waited = self.idle_pass
        while not self._stop.is_set():
            version = conn.execute("PRAGMA data_version").fetchone()[0]
            if version != seen or waited >= self.idle_pass or self._wake.is_set():
                self._wake.clear()
                waited = 0.0
                try:
                    while outbox.run_once().busy() and not self._stop.is_set():
                        pass
                except (UserError, ExternalError) as exc:  # a locked or full database: keep the rows, try again
                    log.warning("outbox pass failed: %s", exc)
                except Exception:  # a bug: logged, and the worker goes on (the channels' own errors never get here)
                    log.exception("outbox pass failed unexpectedly")
                self.passes += 1
                seen = conn.execute("PRAGMA data_version").fetchone()[0]
            self._wake.wait(self.poll)
            waited += self.poll

    def start(self) -> None:
        def target() -> None:
            try:
                self.run()
            except BaseException as exc:  # kept for the caller to show
                self.error = exc
                log.exception("outbox worker stopped")

        self._thread = threading.Thread(target=target, name="outbox-worker", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
