"""Feed benchmarks (issue 6's targets), side by side with the obvious alternative in the same run.

The alternative: feedparser on each feed, then one INSERT OR IGNORE per item into the same table (with the same
FTS5 index), committed per feed.

1. Ingest from a local corpus (parse, de-duplicate, store with full-text search): at least 20,000 items/s.
2. A poll cycle of 100 feeds x 50 items from a local HTTP server (in another process, so its CPU is not
   counted): within 1 s of CPU, first poll (everything new) and second poll (conditional GET: 304s).
3. A full-text query over 1,000,000 items: within 50 ms (median and worst over the queries below).

Run: uv run python bench/feeds.py [--feeds 200 --items 100] [--million 1000000] [--skip-million]
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TMP = Path(tempfile.mkdtemp(prefix="crisisdesk-bench-"))
for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
    os.environ[var] = str(TMP / var.lower())

import feedparser  # noqa: E402
import httpx  # noqa: E402

from bench.words import sentence  # noqa: E402
from crisisdesk.app import App  # noqa: E402
from crisisdesk.domain.feeds import SourceKind, fingerprint  # noqa: E402
from crisisdesk.feeds.parse import parse  # noqa: E402
from crisisdesk.feeds.poller import Outcome  # noqa: E402
from crisisdesk.services.feeds import FeedService  # noqa: E402
from crisisdesk.services.passwords import Argon2Hasher  # noqa: E402


def rss(feed: int, items: int, rng: random.Random, *, offset: int = 0) -> bytes:
    parts = [
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Feed {feed}</title>'
        f"<link>https://news{feed}.example/</link><description>Local news {feed}</description>"
    ]
    for i in range(offset, offset + items):
        title = sentence(rng, 8).capitalize()
        body = sentence(rng, 45)
        parts.append(
            f"<item><title>{title} {feed}-{i}</title><link>https://news{feed}.example/story/{i}</link>"
            f'<guid isPermaLink="false">news{feed}-{i}</guid><pubDate>Sun, 22 Nov 2026 0{i % 10}:{i % 60:02d}:00 GMT'
            f'</pubDate><description>&lt;p&gt;{body} &lt;a href="https://news{feed}.example/{i}"&gt;more'
            f"&lt;/a&gt;&lt;/p&gt;</description><category>local</category></item>"
        )
    parts.append("</channel></rss>")
    return "".join(parts).encode()


def open_app(path: Path) -> tuple[App, FeedService]:
    app = App.open(path, create=True, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    app.initialise("alice", "correct horse")
    return app, app.feeds()


BASELINE_SCHEMA = (
    """CREATE TABLE items (id INTEGER PRIMARY KEY, fingerprint TEXT UNIQUE, source TEXT, url TEXT, title TEXT,
       text TEXT, author TEXT, at TEXT)""",
    "CREATE VIRTUAL TABLE items_fts USING fts5(title, text, author, content='items', content_rowid='id')",
    """CREATE TRIGGER items_ai AFTER INSERT ON items BEGIN
       INSERT INTO items_fts (rowid, title, text, author) VALUES (new.id, new.title, new.text, new.author); END""",
)


def baseline_db(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    for statement in BASELINE_SCHEMA:
        conn.execute(statement)
    return conn


def baseline_store(conn: sqlite3.Connection, source: str, parsed: feedparser.FeedParserDict) -> int:
    new = 0
    conn.execute("BEGIN IMMEDIATE")
    for e in parsed.entries:
        fp = fingerprint("id|" + (e.get("id") or e.get("link") or e.get("title", "")))
        cur = conn.execute(
            "INSERT OR IGNORE INTO items (fingerprint, source, url, title, text, author, at) VALUES (?,?,?,?,?,?,?)",
            (fp, source, e.get("link"), e.get("title", ""), e.get("summary", ""), e.get("author"), e.get("published")),
        )
        new += cur.rowcount
    conn.execute("COMMIT")
    return new


# -- 1. ingest ------------------------------------------------------------------------------------------


def bench_ingest(feeds_n: int, items_n: int) -> None:
    rng = random.Random(6)
    corpus = [rss(f, items_n, rng) for f in range(feeds_n)]
    total = feeds_n * items_n
    # every item twice: the second pass is all duplicates, as the next poll of a feed mostly is
    app, service = open_app(TMP / "ingest.sqlite3")
    admin = app.people.actor("alice")
    sources = [service.add(admin, f"feed{f}", f"https://news{f}.example/rss", "rss") for f in range(feeds_n)]

    def ingest() -> int:
        # as a poll round does: the feeds parsed, then recorded in one transaction (here per 50 feeds)
        new = 0
        for start in range(0, feeds_n, 50):
            polls = [
                (s, Outcome(items=parse(SourceKind.RSS, body)))
                for s, body in zip(sources[start : start + 50], corpus[start : start + 50], strict=True)
            ]
            new += sum(r.new for r in service.record_many(polls))
        return new

    started = time.perf_counter()
    new = ingest()
    ours_first = time.perf_counter() - started
    started = time.perf_counter()
    again = ingest()
    ours_again = time.perf_counter() - started
    if not (new == total == service.count() and again == 0):
        raise AssertionError((new, again, service.count()))
    app.close()

    conn = baseline_db(TMP / "baseline.sqlite3")
    started = time.perf_counter()
    base_new = sum(baseline_store(conn, f"feed{f}", feedparser.parse(body)) for f, body in enumerate(corpus))
    base_first = time.perf_counter() - started
    started = time.perf_counter()
    for f, body in enumerate(corpus):
        baseline_store(conn, f"feed{f}", feedparser.parse(body))
    base_again = time.perf_counter() - started
    if base_new != total:
        raise AssertionError(base_new)
    conn.close()
    print(f"ingest, {feeds_n} feeds x {items_n} items = {total:,} items ({sum(map(len, corpus)) / 1e6:.1f} MB of RSS)")
    print(
        f"  crisisdesk (lxml parser, batch de-dup, FTS5):   new {total / ours_first:>8,.0f} items/s   "
        f"all seen {total / ours_again:>8,.0f} items/s"
    )
    print(
        f"  baseline (feedparser + INSERT per item, FTS5): new {total / base_first:>8,.0f} items/s   "
        f"all seen {total / base_again:>8,.0f} items/s"
    )


# -- 2. a poll cycle ------------------------------------------------------------------------------------


def bench_poll_cycle(feeds_n: int = 100, items_n: int = 50) -> None:
    rng = random.Random(7)
    site = TMP / "site"
    site.mkdir()
    for f in range(feeds_n):
        (site / f"feed{f}.xml").write_bytes(rss(f, items_n, rng))
    port_file = TMP / "port"
    server = subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(site), str(port_file)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists() or not port_file.read_text():
            if time.monotonic() > deadline:
                raise RuntimeError("the local feed server did not start")
            time.sleep(0.05)
        base = f"http://127.0.0.1:{port_file.read_text().strip()}"
        app, service = open_app(TMP / "poll.sqlite3")
        admin = app.people.actor("alice")
        for f in range(feeds_n):
            service.add(admin, f"feed{f}", f"{base}/feed{f}.xml", "rss", interval=60)
        figures = []
        for label in ("first poll (all new)", "second poll (304s)"):
            cpu, wall = time.process_time(), time.perf_counter()
            reports = service.poll(parallel=8)
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
            assert not any(r.error for r in reports), [r.error for r in reports if r.error][:3]
            figures.append((label, cpu, wall, sum(r.new for r in reports)))
        app.close()

        conn = baseline_db(TMP / "poll-baseline.sqlite3")
        with httpx.Client() as http:
            for label in ("first poll (all new)", "second poll"):
                cpu, wall = time.process_time(), time.perf_counter()
                new = 0
                for f in range(feeds_n):
                    body = http.get(f"{base}/feed{f}.xml").content
                    new += baseline_store(conn, f"feed{f}", feedparser.parse(body))
                cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
                figures.append((f"baseline {label}", cpu, wall, new))
        conn.close()
    finally:
        server.terminate()
        server.wait()
    print(f"poll cycle, {feeds_n} feeds x {items_n} items from a local HTTP server (another process)")
    for label, cpu, wall, new in figures:
        print(f"  {label:<36} CPU {cpu:5.2f} s   wall {wall:5.2f} s   {new:>6,} new items")


_SERVER = """
import sys, functools
from http.server import ThreadingHTTPServer, SimpleHTTPRequestHandler
class H(SimpleHTTPRequestHandler):
    def log_message(self, *a): pass
h = functools.partial(H, directory=sys.argv[1])
s = ThreadingHTTPServer(("127.0.0.1", 0), h)
open(sys.argv[2], "w").write(str(s.server_address[1]))
s.serve_forever()
"""


# -- 3. search over a million items ---------------------------------------------------------------------

QUERIES = [
    "flood",  # common
    "evacuation shelter",  # two common words
    '"road closed"',  # a phrase
    "vacc*",  # a prefix
    "4242",  # a rare word (one item)
    "zzznotthere",  # nothing
]


def bench_million(n: int) -> None:
    app, service = open_app(TMP / "million.sqlite3")
    admin = app.people.actor("alice")
    rng = random.Random(8)
    started = time.perf_counter()
    batch = 20_000
    for start in range(0, n, batch):
        rows = []
        for i in range(start, min(n, start + batch)):
            rows.append(
                (
                    fingerprint(f"bench|{i}"),
                    "feed-bench",
                    "rss",
                    f"https://news.example/{i}",
                    sentence(rng, 8).capitalize() + f" {i % 97}-{i}",
                    sentence(rng, 45),
                    "newsdesk",
                    f"2026-11-{1 + i * 21 // n:02d}T09:00:00.000000+00:00",
                    "2026-11-22T09:00:00.000000+00:00",
                    0,
                )
            )
        with app.db.write() as conn:
            conn.executemany(
                "INSERT INTO feed_items (fingerprint, source_id, kind, url, title, text, author, at, fetched_at,"
                " public) VALUES (?,?,?,?,?,?,?,?,?,?)",
                rows,
            )
    fill = time.perf_counter() - started
    size = (TMP / "million.sqlite3").stat().st_size / 1e6
    print(f"search over {service.count():,} items (filled in {fill:.0f} s; file {size:,.0f} MB)")
    for query in QUERIES:
        for since in (None, "2026-11-20"):
            times, found = [], 0
            for _ in range(21):
                t = time.perf_counter()
                found = len(service.search(admin, query, since=since, limit=50))
                times.append((time.perf_counter() - t) * 1000)
            label = query + (f" --since {since}" if since else "")
            print(f"  {label:<36} median {statistics.median(times):7.2f} ms   max {max(times):7.2f} ms   {found} hits")
    # the obvious alternative to an index: LIKE over the text
    for word in ("road closed", "4242"):
        t = time.perf_counter()
        hits = app.db.conn.execute(
            "SELECT count(*) FROM (SELECT id FROM feed_items WHERE title LIKE ? OR text LIKE ?"
            " ORDER BY id DESC LIMIT 50)",
            (f"%{word}%", f"%{word}%"),
        ).fetchone()[0]
        label = f"baseline LIKE '%{word}%'"
        print(f"  {label:<36} once   {(time.perf_counter() - t) * 1000:9.1f} ms   {hits} hits")
    app.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--feeds", type=int, default=200)
    parser.add_argument("--items", type=int, default=100)
    parser.add_argument("--million", type=int, default=1_000_000)
    parser.add_argument("--skip-million", action="store_true")
    args = parser.parse_args()
    print(f"python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}, feedparser {feedparser.__version__}")
    bench_ingest(args.feeds, args.items)
    bench_poll_cycle()
    if not args.skip_million:
        bench_million(args.million)


if __name__ == "__main__":
    main()
