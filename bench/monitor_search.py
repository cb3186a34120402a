"""The Monitor's search (issue 14 item 2) over 1,000,000 items, with each filter, side by side with LIKE.

The database is built through the real service path a poll round takes (``FeedService.record_many``: de-duplicate,
rules and alert matching, sentiment and groups for public messages, FTS5 index), from generated items: nine news
sources (RSS) and one public source (Mastodon, 10% of the items, each scored for sentiment and a group), spread
over the last 30 days. Then a flash-flood incident (EXERCISE) opens and a last round brings 2,000 posts of which
half name its keywords: alerts for the incident, as a real Monitor has (few, beside many items).

Measured, 21 runs each (median and worst), the first page of 100 and a page deep in the results (``before``):
``FeedService.find`` with words and every filter, and with filters alone (browsing), and the mood counts for the
chart; then the obvious alternative: ``LIKE '%word%'`` over title and text, with the same filters, once each.

Run: uv run python bench/monitor_search.py [--items 1000000] [--keep PATH]
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TMP = Path(tempfile.mkdtemp(prefix="crisisdesk-bench-monitor-"))
for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
    os.environ[var] = str(TMP / var.lower())

from bench.words import sentence  # noqa: E402
from crisisdesk.app import App  # noqa: E402
from crisisdesk.domain.clock import utc_iso  # noqa: E402
from crisisdesk.domain.feeds import Item  # noqa: E402
from crisisdesk.domain.incidents import Mode  # noqa: E402
from crisisdesk.domain.roles import Role  # noqa: E402
from crisisdesk.feeds.poller import Outcome  # noqa: E402
from crisisdesk.services.feeds import FeedService, Source  # noqa: E402
from crisisdesk.services.passwords import Argon2Hasher  # noqa: E402

# No phrase of the default rules' keywords ("evacuation order", "shelter in place"...) nor of the flash-flood
# playbook's ("flooding", "flash flood"...) comes out of bench/words.py's sentences: the million raise no alert.
MOODS = ("thank you so much, great work", "this is terrible and awful, nobody told us", "when does the bus run")
AUTHORS = ("ann", "bo", "cy", "kmill_news", "mayor.office", "firefighter_dee", "eli", "fay")


def build(app: App, feeds: FeedService, n: int) -> tuple[list[Source], str, float]:
    admin = app.people.actor("alice")
    news = [feeds.add(admin, f"news{k}", f"https://news{k}.example/rss", "rss") for k in range(9)]
    toots = feeds.add(admin, "toots", "https://social.example/tags/millcounty", "mastodon")
    rng = random.Random(14)
    now = app.clock.now()
    span = 30 * 24 * 3600
    started = time.perf_counter()
    batch = 10_000
    for start in range(0, n, batch):
        polls: dict[str, tuple[Source, list[Item]]] = {}
        for i in range(start, min(n, start + batch)):
            public = i % 10 == 9
            source = toots if public else news[i % 9]
            text = sentence(rng, 40) + (f" {MOODS[i % 3]}" if public else "")
            item = Item(
                identity=f"bench|{i}",
                title=sentence(rng, 8).capitalize() + f" {i % 97}-{i}",
                text=text,
                url=f"https://{source.name}.example/{i}",
                author=AUTHORS[i % len(AUTHORS)] if public else "newsdesk",
                published=utc_iso(now - timedelta(seconds=span * (n - i) / n)),
                public=public,
            )
            polls.setdefault(source.id, (source, []))[1].append(item)
        feeds.record_many([(s, Outcome(items=items)) for s, items in polls.values()])
        if start and start % 200_000 == 0:
            print(f"  {start:,} items, {time.perf_counter() - started:.0f} s", flush=True)
    fill = time.perf_counter() - started
    playbook = app.incidents().playbooks.get("flash-flood")
    app.people.add(admin, "cam", [Role.COMMUNICATOR], "cam password")
    cam = app.people.actor("cam")
    incident = app.incidents().open(cam, "flash-flood", Mode.EXERCISE, facts=playbook.example_facts(now)).id
    last = [
        Item(
            identity=f"bench|late|{j}",
            title=("Creek rising on Elm Rd" if j % 2 else "Bus times") + f" {j}",
            text=("flooding here, " if j % 2 else "") + sentence(rng, 20) + f" {MOODS[j % 3]}",
            url=f"https://social.example/{j}",
            author=AUTHORS[j % len(AUTHORS)],
            published=utc_iso(now - timedelta(seconds=j * 30)),
            public=True,
        )
        for j in range(2_000)
    ]
    feeds.record_many([(toots, Outcome(items=last))])
    return [*news, toots], incident, fill


def timed(call: Callable[[], int], runs: int = 21) -> tuple[float, float, int]:
    times, found = [], 0
    for _ in range(runs):
        t = time.perf_counter()
        found = call()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times), max(times), found


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--keep", type=Path, help="reuse (or leave) the database at this path")
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, {platform.machine()}, "
        f"{os.cpu_count()} CPUs, {platform.platform()}"
    )
    path = args.keep or TMP / "monitor.sqlite3"
    existed = path.exists()
    app = App.open(path, create=not existed, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    if not existed:
        app.initialise("alice", "correct horse")
    feeds = app.feeds()
    admin = app.people.actor("alice")
    if existed:
        incident = feeds.alerts(admin, include_handled=True)[0].incident_id or ""
        print(f"reusing {path}")
    else:
        _, incident, fill = build(app, feeds, args.items)
        print(
            f"built through FeedService.record_many: {feeds.count():,} items in {fill:.0f} s "
            f"({feeds.count() / fill:,.0f} items/s)"
        )
    size = path.stat().st_size / 1e6
    alerts = len(feeds.alerts(admin, include_handled=True))
    print(f"{feeds.count():,} items, {alerts:,} alerts, file {size:,.0f} MB")

    now = app.clock.now()
    week_ago, two_weeks_ago = utc_iso(now - timedelta(days=7)), utc_iso(now - timedelta(days=14))
    cases: list[tuple[str, str, dict[str, object]]] = [
        ("common word", "flood", {}),
        ("two words", "evacuation shelter", {}),
        ("phrase", '"road closed"', {}),
        ("prefix", "vacc*", {}),
        ("rare word", "4242", {}),
        ("no match", "zzznotthere", {}),
        ("word + source", "flood", {"source": "news3"}),
        ("word + kind", "flood", {"kind": "mastodon"}),
        ("word + last 7 days", "flood", {"since": week_ago}),
        ("word + 7-14 days ago", "flood", {"since": two_weeks_ago, "until": week_ago}),
        ("word + incident", "creek", {"incident": incident}),
        ("word + has alert", "creek", {"has_alert": True}),
        ("word + no alert", "flood", {"has_alert": False}),
        ("rare word + source", "4242", {"source": "news3"}),
        ("all filters", "creek", {"kind": "mastodon", "since": week_ago, "has_alert": True}),
        ("browse: newest", "", {}),
        ("browse: source", "", {"source": "news3"}),
        ("browse: kind", "", {"kind": "mastodon"}),
        ("browse: 7-14 days ago", "", {"since": two_weeks_ago, "until": week_ago}),
        ("browse: incident", "", {"incident": incident}),
        ("browse: has alert", "", {"has_alert": True}),
    ]
    print("\nFeedService.find, 100 per page, 21 runs: first page | a page deep (before = the 1,000th hit or last)")
    for label, query, filters in cases:

        def first(q: str = query, f: dict[str, object] = filters) -> int:
            return len(feeds.find(admin, q, limit=100, **f))  # type: ignore[arg-type]

        med, worst, found = timed(first)
        # a page deep: where someone scrolling has got to
        deep_rows = feeds.find(admin, query, limit=1000, **filters)  # type: ignore[arg-type]
        before = deep_rows[-1].id if deep_rows else None

        def deep(q: str = query, f: dict[str, object] = filters, b: int | None = before) -> int:
            return len(feeds.find(admin, q, limit=100, before=b, **f))  # type: ignore[arg-type]

        dmed, dworst, dfound = timed(deep) if before else (0.0, 0.0, 0)
        shown = f"{query} {filters}".replace(incident, "INC").strip() if incident else f"{query} {filters}"
        print(
            f"  {label:<22} {med:7.2f} ms median {worst:7.2f} max ({found:>3} hits) | "
            f"{dmed:7.2f} ms median {dworst:7.2f} max ({dfound:>3})   [{shown[:60]}]"
        )

    med, worst, found = timed(lambda: len(feeds.mood_counts(admin)))
    print(f"  {'mood counts (chart)':<22} {med:7.2f} ms median {worst:7.2f} max ({found} buckets)")

    print("\nThe obvious alternative: LIKE '%word%' over title and text, newest first, 100 rows, once each")
    source_id = feeds.get("news3").id
    likes: list[tuple[str, str, str, tuple[object, ...]]] = [
        ("common word", "flood", "", ()),
        ("phrase", "road closed", "", ()),
        ("rare word", "4242", "", ()),
        ("no match", "zzznotthere", "", ()),
        ("word + source", "flood", " AND source_id = ?", (source_id,)),
        ("rare word + source", "4242", " AND source_id = ?", (source_id,)),
        ("word + 7-14 days ago", "flood", " AND at >= ? AND at < ?", (two_weeks_ago, week_ago)),
    ]
    conn = app.db.conn
    for label, word, extra, params in likes:
        t = time.perf_counter()
        rows = conn.execute(
            "SELECT id FROM feed_items WHERE (title LIKE ? OR text LIKE ?)" + extra + " ORDER BY id DESC LIMIT 100",
            (f"%{word}%", f"%{word}%", *params),
        ).fetchall()
        print(f"  {label:<22} {(time.perf_counter() - t) * 1000:9.1f} ms   ({len(rows)} hits)   [LIKE '%{word}%']")
    app.close()
    if not args.keep:
        print(f"(database left in {path}; delete it when done)")


if __name__ == "__main__":
    main()
