"""A year of a busy county's activity in one database, built through the real services.

    uv run python bench/year.py --out /tmp/year.sqlite3              # the whole year (see bench/README.md)
    uv run python bench/year.py --out /tmp/small.sqlite3 --scale 0.01   # a hundredth of it, in seconds

What goes in, at scale 1 (every figure scales with ``--scale``):

- a team: alice (admin), carla (communicator, the author) and ivan (approver);
- five folder channel accounts: three public pages (LIVE) and two practice pages (EXERCISE);
- six feed sources and monitoring rules that keep items for the year;
- 1,000 incidents over 365 days from the shipped playbooks with their example facts, one in five an exercise,
  each with its checklist ticked and 20 messages about ten minutes apart (an alert, 18 updates, an all-clear):
  drafted by carla, submitted, approved by ivan, published to every page of the incident's mode and delivered
  by the outbox worker's own pass (``run_once``), and the incident closed after its all-clear;
- 1,000,000 feed items recorded by ``FeedService.record_many`` in hourly rounds, one item in about 150 carrying
  a watched phrase, so the rules raise alerts as the year goes by.

A fixed clock walks the year: every event carries the time it would have had. Nothing is written behind the
services' backs: each row comes from a service call, and every change is an event in the log.

The channel folders (the pages the outbox wrote) are kept beside the database in ``<out>.channels/``.
Exit 0 with a summary; a bad argument or an existing output file is one line on stderr and exit 2.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from crisisdesk.app import App  # noqa: E402
from crisisdesk.credentials import MemorySecrets  # noqa: E402
from crisisdesk.domain.clock import FixedClock  # noqa: E402
from crisisdesk.domain.feeds import Item  # noqa: E402
from crisisdesk.domain.incidents import Mode  # noqa: E402
from crisisdesk.domain.roles import Role  # noqa: E402
from crisisdesk.services.passwords import Argon2Hasher  # noqa: E402

START = datetime(2025, 11, 29, 6, 0, tzinfo=UTC)
DAYS = 365
INCIDENTS = 1_000
MESSAGES_PER_INCIDENT = 20
ITEMS = 1_000_000
ROUNDS_PER_DAY = 24  # the feeds are recorded hourly
EXERCISE_EVERY = 5  # one incident in five is a drill

ADMIN, AUTHOR, APPROVER = "alice", "carla", "ivan"
PASSWORDS = {ADMIN: "correct horse battery", AUTHOR: "carla password", APPROVER: "ivan password"}
# Beside the two pages every workstation starts with (public-page, exercise-page): every account of the
# incident's mode is a target of its messages, as a draft chooses them.
MORE_LIVE_PAGES = ("county-page", "city-page")
MORE_EXERCISE_PAGES = ("drill-page",)
SOURCES = (
    ("county-news", "rss", False),
    ("city-news", "atom", False),
    ("nws-alerts", "cap", False),
    ("usgs-quakes", "geojson", False),
    ("county-311", "open311", True),
    ("flood-tag", "mastodon", True),
)
# Neutral words for the items: none of them is a playbook keyword, a rule keyword or an urgent word, so alerts come
# only from the phrases below, put in on purpose.
WORDS = (
    "road crew county council meeting library park school bus traffic weather report community hospital "
    "clinic volunteer donation street repair mayor budget housing market business downtown festival concert "
    "game team season coach player vote ballot court judge museum art music theater history bridge lane "
    "sunny cloudy windy morning evening weekend market farmers garden trail bike parking permit tax"
).split()
WATCHED = ("evacuation order", "boil water", "shelter in place", "levee breach", "dam failure")
RETENTION_RULES = """\
areas: []
min_severity: Extreme
min_magnitude: 9.5
keywords: [evacuation order, shelter in place, boil water, dam failure, levee breach]
urgent_words: [trapped, stranded, rescue]
stakeholders:
  - group: media
    authors: ["*news*"]
    words: [reporter]
default_group: public
retention_days: 400
"""


class Builder:
    def __init__(self, out: Path, scale: float, seed: int = 14) -> None:
        self.out = out
        self.scale = scale
        self.rng = random.Random(seed)
        self.clock = FixedClock(START)
        self.channels = out.with_name(out.name + ".channels")
        # The folder channels' default place and the playbook folder are under the data folder: keep them scratch.
        scratch = out.with_name(out.name + ".home")
        for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
            os.environ[var] = str(scratch / var.lower())
        self.core = App.open(
            out,
            create=True,
            clock=self.clock,
            hasher=Argon2Hasher(time_cost=1, memory_cost=1024),  # cheap sign-ins for the benches that follow
            secrets=MemorySecrets(),
        )
        self.incidents_n = max(2, round(INCIDENTS * scale))
        self.items_n = max(100, round(ITEMS * scale))
        self.messages_n = 0
        self.deliveries = 0
        self.alerts = 0
        self.item_seq = 0
        self.progress, self.began = False, time.perf_counter()
        self.rounds, self.next_round, self.incidents_done = DAYS * ROUNDS_PER_DAY, 0, 0
        self.timings: dict[str, float] = {"incidents": 0.0, "messages": 0.0, "outbox": 0.0, "feeds": 0.0}

    # -- the setting up ------------------------------------------------------------------------------------

    def team(self) -> None:
        core = self.core
        core.initialise(ADMIN, PASSWORDS[ADMIN], workstation_name="EOC desk 1", agency_name="Mill County OES")
        self.admin = core.people.actor(ADMIN)
        core.people.add(self.admin, AUTHOR, [Role.COMMUNICATOR], PASSWORDS[AUTHOR])
        core.people.add(self.admin, APPROVER, [Role.APPROVER], PASSWORDS[APPROVER])
        self.author, self.approver = core.people.actor(AUTHOR), core.people.actor(APPROVER)
        channels = core.channels()
        for name in MORE_LIVE_PAGES + MORE_EXERCISE_PAGES:
            exercise = name in MORE_EXERCISE_PAGES
            settings = [f"path={self.channels / name}", f"title={name.replace('-', ' ').title()}"]
            channels.add(self.admin, "folder", name, exercise=exercise, settings=settings)
        feeds = core.feeds()
        feeds.set_rules(self.admin, RETENTION_RULES, "bench/year.py")
        self.sources = [
            feeds.add(self.admin, name, f"https://feeds.millcounty.test/{name}", kind) for name, kind, _ in SOURCES
        ]
        self.public = {name: public for name, _, public in SOURCES}
        self.playbooks = sorted(core.incidents().playbooks.library().playbooks)

    # -- incidents and messages ----------------------------------------------------------------------------

    def incident(self, n: int) -> None:
        core, clock = self.core, self.clock
        playbook_id = self.playbooks[n % len(self.playbooks)]
        playbook = core.incidents().playbooks.get(playbook_id)
        mode = Mode.EXERCISE if n % EXERCISE_EVERY == EXERCISE_EVERY - 1 else Mode.LIVE
        facts = playbook.example_facts(clock.now())
        started = time.perf_counter()
        incident = core.incidents().open(
            self.author, playbook_id, mode, title=f"{playbook.title.get('en', playbook_id)} #{n + 1}", facts=facts
        )
        self.timings["incidents"] += time.perf_counter() - started
        types = ["alert"] + ["update"] * (MESSAGES_PER_INCIDENT - 2) + ["all-clear"]
        messages = core.messages()
        phrase = "SEND EXERCISE" if mode is Mode.EXERCISE else "PUBLISH LIVE"
        steps = len(playbook.checklist)  # ticked one after each of the first messages, as a team works through them
        for n, message_type in enumerate(types):
            if n < steps:
                core.incidents().step_done(self.author, incident.id, n + 1)
            started = time.perf_counter()
            draft = messages.draft(self.author, incident.id, message_type)  # to every page of the mode
            clock.advance(timedelta(minutes=2))
            view = messages.submit(self.author, draft.id)
            clock.advance(timedelta(minutes=3))
            messages.approve(self.approver, draft.id, view.content_hash)
            clock.advance(timedelta(minutes=1))
            messages.publish(self.author, draft.id, confirm=f"{phrase} {draft.id}")
            self.timings["messages"] += time.perf_counter() - started
            started = time.perf_counter()
            self.deliver()
            self.timings["outbox"] += time.perf_counter() - started
            self.messages_n += 1
            clock.advance(timedelta(minutes=self.rng.randint(3, 12)))
            self.catch_up()
        started = time.perf_counter()
        core.incidents().close(self.author, incident.id)
        self.timings["incidents"] += time.perf_counter() - started

    def deliver(self) -> None:
        """The outbox worker's pass, until nothing is left to send (a folder never refuses)."""
        while True:
            report = self.core.outbox().run_once()
            self.deliveries += report.sent
            if not report.busy():
                return

    # -- feed items ----------------------------------------------------------------------------------------

    def items_round(self, count: int) -> None:
        """One hour's polls of every source, as the scheduler's round records them: one ``record_many``."""
        from crisisdesk.feeds.poller import Outcome

        rng = self.rng
        per_source: dict[int, list[Item]] = {i: [] for i in range(len(self.sources))}
        at = self.clock.now()
        for _ in range(count):
            self.item_seq += 1
            s = rng.randrange(len(self.sources))
            source = self.sources[s]
            words = [rng.choice(WORDS) for _ in range(rng.randint(25, 45))]
            if rng.random() < 1 / 150:
                words.insert(rng.randrange(len(words)), rng.choice(WATCHED))
            title = " ".join(words[:8]).capitalize()
            published = (at - timedelta(seconds=rng.randint(0, 3600))).isoformat(timespec="seconds")
            per_source[s].append(
                Item(
                    identity=f"{source.name}|{self.item_seq}",
                    title=title,
                    text=" ".join(words),
                    url=f"https://feeds.millcounty.test/{source.name}/{self.item_seq}",
                    author=f"user{rng.randrange(5000)}" if self.public[source.name] else source.name,
                    published=published,
                    lang="en",
                    public=self.public[source.name],
                )
            )
        polls = [(self.sources[s], Outcome(items=items)) for s, items in per_source.items() if items]
        if not polls:
            return
        started = time.perf_counter()
        reports = self.core.feeds().record_many(polls)
        self.timings["feeds"] += time.perf_counter() - started
        self.alerts += sum(r.alerts for r in reports)

    # -- the year ------------------------------------------------------------------------------------------

    def catch_up(self) -> None:
        """Record the hourly item rounds the clock has reached."""
        while self.next_round < self.rounds and START + timedelta(hours=self.next_round) <= self.clock.now():
            r = self.next_round
            self.items_round((r + 1) * self.items_n // self.rounds - r * self.items_n // self.rounds)
            self.next_round += 1
            if self.progress and r % (ROUNDS_PER_DAY * 30) == 0 and r:
                print(
                    f"  day {r // ROUNDS_PER_DAY:>3}: {self.incidents_done:,} incidents, {self.messages_n:,} messages, "
                    f"{self.item_seq:,} items, {time.perf_counter() - self.began:.0f} s",
                    flush=True,
                )

    def year(self, progress: bool = True) -> None:
        self.progress, self.began = progress, time.perf_counter()
        self.rounds, self.next_round, self.incidents_done = DAYS * ROUNDS_PER_DAY, 0, 0
        # Incidents start at hours spread over the year; one still running delays the next.
        for start in sorted(self.rng.sample(range(self.rounds), self.incidents_n)):
            self.walk_to(START + timedelta(hours=start, minutes=self.rng.randint(0, 59)))
            self.incident(self.incidents_done)
            self.incidents_done += 1
        self.walk_to(START + timedelta(days=DAYS))

    def walk_to(self, moment: datetime) -> None:
        if self.clock.now() < moment:
            self.clock.advance(moment - self.clock.now())
        self.catch_up()

    def close(self) -> None:
        self.core.close()


def _companions(db: Path) -> list[Path]:
    """The database and what is kept beside it (the channel folders, the scratch home)."""
    return [db.with_name(db.name + suffix) for suffix in ("", ".channels", ".home")]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build a year of a busy county's activity through the services.")
    parser.add_argument("--out", type=Path, required=True, help="the database file to create (must not exist)")
    parser.add_argument("--scale", type=float, default=1.0, help="a fraction of the year's volume (default 1)")
    parser.add_argument(
        "--build-in",
        type=Path,
        help="build in this folder (e.g. /dev/shm, memory-backed: no fsync wait per commit), then move to --out",
    )
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--quiet", action="store_true", help="no progress lines")
    args = parser.parse_args(argv)
    out: Path = args.out.expanduser().absolute()
    if not 0 < args.scale <= 10:
        print(f"year: --scale {args.scale} is out of range: give a number above 0 and at most 10", file=sys.stderr)
        return 2
    if any(p.exists() for p in _companions(out)):
        print(f"year: {out} (or its .channels/.home folder) exists: remove it or give another --out", file=sys.stderr)
        return 2
    if not out.parent.is_dir():
        print(f"year: {out.parent} is not a folder: create it first", file=sys.stderr)
        return 2
    work = out
    if args.build_in is not None:
        if not args.build_in.is_dir():
            print(f"year: --build-in {args.build_in} is not a folder", file=sys.stderr)
            return 2
        work = args.build_in.absolute() / out.name
        for stale in _companions(work):
            if stale.is_dir():
                shutil.rmtree(stale)
            elif stale.exists():
                stale.unlink()
    began = time.perf_counter()
    builder = Builder(work, args.scale, args.seed)
    try:
        builder.team()
        builder.year(progress=not args.quiet)
        events = builder.core.log.count()
    finally:
        builder.close()
    built = time.perf_counter() - began
    if work != out:
        for source, target in zip(_companions(work), _companions(out), strict=True):
            if source.exists():
                shutil.move(source, target)
    took = time.perf_counter() - began
    size = out.stat().st_size
    t = builder.timings
    print(
        f"built {out} in {took:.1f} s ({built:.1f} s building, {took - built:.1f} s moving): "
        f"{builder.incidents_n:,} incidents, {builder.messages_n:,} messages, {builder.deliveries:,} deliveries, "
        f"{builder.item_seq:,} items, {builder.alerts:,} alerts, {events:,} events, {size / 1e6:,.0f} MB"
    )
    print(
        f"  time in: incidents {t['incidents']:.1f} s, messages (draft to publish) {t['messages']:.1f} s, "
        f"outbox {t['outbox']:.1f} s, feed items {t['feeds']:.1f} s"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
