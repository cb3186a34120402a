"""The random-SIGKILL loop (issue 11, item 2): the real worker is killed 30 times at random moments while it sends
120 messages to a folder, a webhook and an Apprise account, restarted each time, then left to finish.

What must hold afterwards:

1. nothing is lost: every message is in the folder and reached the webhook, and every Apprise row was either
   sent (and received) or is dead, waiting for a person;
2. a row is dead only if its send was in doubt: each dead Apprise row was in flight when the worker was
   killed, no kill leaves more than one, and its reason says the program stopped during the send (Apprise
   cannot be asked what it delivered, so a row in doubt must go to a person, but a row never tried must not);
3. every duplicate delivery carries the same idempotency key (the webhook's Idempotency-Key header, the
   folder's entry file named by the key), and Apprise, which carries no key, is never sent anything twice.

The event log says which rows each worker run claimed and finished; the receivers say what arrived. Half of
the kills come from inside a receiver's handler on a planned request (before it keeps the message, so it
never arrives, or after), half from a timer started at the run's first claim. The plan comes from a seeded
RNG, so a failing run can be repeated with the same plan (thread timing still varies).
"""

from __future__ import annotations

import json
import random
import re
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crisisdesk.app import App
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from tests.integration.outbox_helpers import WorkerProcess, add_team, open_incident, open_live
from tests.support.http_servers import ReceiverState, webhook_receiver
from tests.support.wait import wait_until

# They wait for another process or a timeout: they must hold on a busy machine (tests/support/cpu_hog.py).
pytestmark = pytest.mark.usefixtures("busy_machine")

SEED = 11
KILLS = 30
PER_RUN = 4  # messages published while each killed run goes: 30 x 4 = 120
MARK = re.compile(r"\[kill-loop (\d{3})\]")  # numbers each message's text, so an Apprise delivery is known


@dataclass
class Plan:
    """Kill the worker from ``receiver``'s handler on its ``nth`` request from now, before or after keeping it."""

    receiver: str
    before: bool
    nth: int
    seen: int = 0


class Killer:
    def __init__(self, worker: WorkerProcess) -> None:
        self.worker = worker
        self.plan: Plan | None = None
        self.lock = threading.Lock()

    def arm(self, plan: Plan | None) -> None:
        with self.lock:
            self.plan = plan

    def hook(self, receiver: str, *, before: bool) -> Callable[[], bool]:
        def maybe_kill() -> bool:
            with self.lock:
                plan = self.plan
                if plan is None or plan.receiver != receiver or plan.before != before:
                    return False
                plan.seen += 1
                if plan.seen < plan.nth:
                    return False
                self.plan = None
            return self.worker.kill()

        return maybe_kill


@dataclass(frozen=True)
class Run:
    """One life of the worker: the event positions it may have written, and how it ended."""

    after: int  # the last event before it started
    until: int  # the last event once it was dead
    how: str


@dataclass(frozen=True)
class Row:
    id: str
    message_id: str
    kind: str
    state: str
    reason: str | None
    key: str


def read(db_path: Path, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def last_event(db_path: Path) -> int:
    return int(read(db_path, "SELECT coalesce(max(position), 0) FROM events")[0][0])


def claimed_since(db_path: Path, position: int) -> bool:
    sql = "SELECT 1 FROM events WHERE position > ? AND kind = ? LIMIT 1"
    return bool(read(db_path, sql, (position, Kind.OUTBOX_CLAIMED)))


def unfinished(db_path: Path) -> int:
    return int(read(db_path, "SELECT count(*) FROM outbox WHERE state NOT IN ('sent', 'dead')")[0][0])


def outbox_rows(db_path: Path) -> list[Row]:
    sql = (
        "SELECT o.id, o.message_id, a.kind, o.state, o.reason, o.idem_key FROM outbox o "
        "JOIN channel_accounts a ON a.id = o.account_id ORDER BY o.pos"
    )
    return [Row(*r) for r in read(db_path, sql)]


def outbox_events(db_path: Path) -> list[tuple[int, str, dict[str, Any]]]:
    sql = "SELECT position, kind, json_extract(body, '$.payload') FROM events WHERE kind LIKE 'outbox.%' ORDER BY 1"
    return [(pos, kind, json.loads(payload)) for pos, kind, payload in read(db_path, sql)]


def in_flight_at_each_kill(events: list[tuple[int, str, dict[str, Any]]], runs: list[Run]) -> list[set[str]]:
    """The rows each killed run had claimed and not finished (sent or failed) when it was killed."""
    out = []
    for run in runs:
        flying: set[str] = set()
        for pos, kind, payload in events:
            if not run.after < pos <= run.until:
                continue
            if kind == Kind.OUTBOX_CLAIMED:
                flying |= set(payload.get("rows") or [payload["row"]])
            elif kind in (Kind.OUTBOX_SENT, Kind.OUTBOX_FAILED):
                flying.discard(payload["row"])
        out.append(flying)
    return out


def publish_numbered(core: App, team: dict[str, Actor], incident: str, n: int, channels: list[str]) -> str:
    """Draft, number the web text, aim, submit, approve by a second person, publish; returns the message id."""
    messages, carla = core.messages(), team["carla"]
    view = messages.draft(carla, incident, "alert")
    web = next(v for v in view.variants if v.channel == "web" and v.lang == "en")
    messages.edit(carla, view.id, "web", "en", f"{web.text} [kill-loop {n:03d}]")
    view = messages.set_targets(carla, view.id, channels)
    messages.submit(carla, view.id)
    messages.approve(team["ivan"], view.id, view.content_hash)
    messages.publish(carla, view.id, confirm=f"PUBLISH LIVE {view.id}")
    return view.id


@pytest.fixture
def live(db_path: Path, hasher) -> Iterator[App]:  # type: ignore[no-untyped-def]
    app = open_live(db_path, hasher)
    yield app
    app.close()


@pytest.fixture
def worker(db_path: Path) -> Iterator[WorkerProcess]:
    w = WorkerProcess(db_path)
    yield w
    w.stop()


@pytest.mark.slow
def test_thirty_random_kills_lose_nothing_strand_nothing_and_double_nothing(
    live: App, worker: WorkerProcess, db_path: Path, tmp_path: Path
) -> None:
    rng = random.Random(SEED)
    admin = live.people.actor("alice")
    team = add_team(live, admin)
    folder = tmp_path / "public-page"
    killer = Killer(worker)
    with webhook_receiver() as (hook_url, hook), webhook_receiver() as (json_url, apprise):
        channels = live.channels()
        channels.add(admin, "folder", "page", settings=[f"path={folder}"])
        channels.add(admin, "webhook", "hook", settings=[f"url={hook_url}"], secret="k1")
        channels.add(admin, "apprise", "catch-all", secret=json_url.replace("http://", "json://", 1))
        receivers: dict[str, ReceiverState] = {"webhook": hook, "apprise": apprise}
        for name, state in receivers.items():
            state.before_record = killer.hook(name, before=True)
            state.after_record = killer.hook(name, before=False)
        incident = open_incident(live, team)

        numbered: dict[int, str] = {}  # n -> message id
        runs: list[Run] = []
        for k in range(KILLS):
            after = last_event(db_path)
            worker.start()
            proc = worker.proc
            assert proc is not None
            for _ in range(PER_RUN):  # published while the worker starts and sends
                n = len(numbered) + 1
                numbered[n] = publish_numbered(live, team, incident, n, ["page", "hook", "catch-all"])
            timer: threading.Timer | None = None
            if rng.random() < 0.5:
                plan = Plan(rng.choice(["webhook", "apprise"]), rng.random() < 0.5, rng.randint(1, 3))
                how = f"{plan.receiver} handler, request {plan.nth}, {'before' if plan.before else 'after'} it kept it"
                killer.arm(plan)
            else:
                delay = rng.uniform(0.0, 0.3)
                how = f"{delay:.2f} s after the run's first claim"
                wait_until(
                    lambda: proc.poll() is not None or claimed_since(db_path, after),  # noqa: B023 - this run's
                    60,
                    f"run {k + 1}'s first claim",
                )
                timer = threading.Timer(delay, worker.kill)
                timer.start()
            # If the plan's request never comes (nothing left to send), the kill lands between passes instead.
            wait_until(
                lambda: proc.poll() is not None or unfinished(db_path) == 0,  # noqa: B023 - this run's
                60,
                f"run {k + 1} to be killed ({how}) or to finish its work",
            )
            worker.kill()
            worker.wait_killed()
            killer.arm(None)
            if timer is not None:
                timer.cancel()
                timer.join()
            runs.append(Run(after, last_event(db_path), how))

        # The last run goes undisturbed until every row is sent or dead.
        worker.start()
        proc = worker.proc
        assert proc is not None
        wait_until(lambda: proc.poll() is not None or unfinished(db_path) == 0, 120, "every row to be sent or dead")
        assert proc.poll() is None, worker.log.read_text()[-3000:]
        worker.stop()
        hook_posts, apprise_posts = hook.posts(), apprise.posts()

    assert worker.killed == KILLS and len(numbered) == KILLS * PER_RUN
    rows = outbox_rows(db_path)
    by_kind: dict[str, list[Row]] = {}
    for row in rows:
        by_kind.setdefault(row.kind, []).append(row)
    assert {kind: len(found) for kind, found in by_kind.items()} == {"folder": 120, "webhook": 120, "apprise": 120}
    number_of = {m: n for n, m in numbered.items()}

    # What arrived: folder entries by key, webhook posts by message, Apprise posts by the number in the text.
    entries = [json.loads(p.read_bytes()) for p in sorted((folder / "entries").glob("*.json"))]
    hook_keys: dict[str, list[str]] = {}
    for post in hook_posts:
        hook_keys.setdefault(post.json()["message"], []).append(post.headers.get("Idempotency-Key", ""))
    apprise_got: Counter[int] = Counter()
    for post in apprise_posts:
        found = MARK.search(post.json()["message"])
        assert found, post.body[:300]
        apprise_got[int(found.group(1))] += 1

    events = outbox_events(db_path)
    flying = in_flight_at_each_kill(events, runs)
    apprise_rows = {r.id: r for r in by_kind["apprise"]}
    dead = sorted((r for r in apprise_rows.values() if r.state == "dead"), key=lambda r: number_of[r.message_id])
    never_got = [r for r in dead if apprise_got[number_of[r.message_id]] == 0]
    blamed: dict[int, list[str]] = {}  # kill -> the dead Apprise rows in flight when it came
    unexplained: list[str] = []
    for row in dead:
        kills = [k for k, rows_in_flight in enumerate(flying) if row.id in rows_in_flight]
        if kills:
            blamed.setdefault(kills[-1], []).append(row.id)
        else:
            unexplained.append(row.id)
    apprise_flying = [len(f & apprise_rows.keys()) for f in flying]
    hook_doubled = sum(1 for keys in hook_keys.values() if len(keys) > 1)
    figures = (
        f"{worker.killed} kills, {len(numbered)} messages; Apprise: {len(dead)} dead, {len(never_got)} of them "
        f"never received, {sum(apprise_got.values())} deliveries of {len(apprise_got)} messages; Apprise rows in "
        f"flight at each kill: {apprise_flying}; kills leaving more than one dead Apprise row: "
        f"{sum(1 for b in blamed.values() if len(b) > 1)} (the most: {max(map(len, blamed.values()), default=0)}); "
        f"dead but never in flight at a kill: {len(unexplained)}; webhook: {len(hook_keys)} messages, "
        f"{hook_doubled} received more than once; folder: {len(entries)} entries; kills: "
        + "; ".join(f"{i + 1}: {r.how}" for i, r in enumerate(runs))
    )
    print(figures)

    # 1. Nothing lost.
    assert all(r.state == "sent" for r in by_kind["folder"]), figures
    assert {e["message"] for e in entries} == set(number_of), figures
    assert all(r.state == "sent" for r in by_kind["webhook"]), figures
    assert set(hook_keys) == set(number_of), figures
    assert {r.state for r in apprise_rows.values()} <= {"sent", "dead"}, figures
    sent_not_received = [
        r.id for r in apprise_rows.values() if r.state == "sent" and not apprise_got[number_of[r.message_id]]
    ]
    assert sent_not_received == [], figures

    # 2. Dead only when the send was in doubt: in flight at a kill, at most one per kill, and it says so.
    assert unexplained == [], figures
    assert all(len(b) == 1 for b in blamed.values()), figures
    assert len(dead) <= worker.killed, figures
    for row in dead:
        assert row.reason and "stopped during the send" in row.reason, (row.id, row.reason)

    # 3. Every duplicate carries the same key; Apprise, which has no key, is never sent twice.
    keys = {(r.kind, r.message_id): r.key for r in rows}
    for message, sent_keys in hook_keys.items():
        assert set(sent_keys) == {keys["webhook", message]}, (message, sent_keys)
    assert len({k for ks in hook_keys.values() for k in ks}) == 120
    assert sorted(e["key"] for e in entries) == sorted(keys["folder", m] for m in number_of), figures
    assert all(count == 1 for count in apprise_got.values()), figures
    assert apprise_got.keys() <= numbered.keys(), figures
