"""The background poller: APScheduler jobs per source, backoff, resync, and `crisisdesk worker` running it."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.services.feed_scheduler import PREFIX, FeedScheduler, jitter_for
from crisisdesk.services.feeds import FeedService
from tests.conftest import ADMIN, ADMIN_PASSWORD
from tests.support.feed_server import FeedServer, Route, feed_server
from tests.support.wait import wait_until

# They wait for another process or a timeout: they must hold on a busy machine (tests/support/cpu_hog.py).
pytestmark = pytest.mark.usefixtures("busy_machine")

DATA = Path(__file__).parent.parent / "data"


@pytest.fixture
def server() -> Iterator[FeedServer]:
    with feed_server() as fs:
        yield fs


def test_one_job_per_source_polls_in_the_background_with_backoff(
    core: App, admin: Actor, server: FeedServer, db_path: Path
) -> None:
    feeds = core.feeds()
    feeds.add(
        admin,
        "news",
        server.add("/news.xml", Route((DATA / "feeds/feedparser/rss20.xml").read_bytes())),
        "rss",
        interval=60,
    )
    feeds.add(admin, "broken", server.add("/broken.xml", Route(b"<rss><channel>")), "rss", interval=30)

    def open_feeds() -> FeedService:
        return App.open(db_path).feeds()

    polled: list[str] = []
    scheduler = FeedScheduler(
        open_feeds, first_within=0.2, rng=random.Random(1), on_poll=lambda r: polled.append(r.source)
    )
    scheduler.start()
    try:
        wait_until(lambda: {"news", "broken"} <= set(polled), 20, "the first poll of news and broken")
        jobs = {j.name: j for j in scheduler.scheduler.get_jobs() if j.id.startswith(PREFIX)}
        assert set(jobs) == {"news", "broken"}
        for job in jobs.values():
            assert job.max_instances == 1 and job.coalesce is True
        assert jobs["news"].trigger.interval == timedelta(seconds=60)
        assert jobs["news"].trigger.jitter == jitter_for(60) == 6.0
        # the broken source's next run moved out by the backoff: twice its interval after one failure
        broken = feeds.get("broken")
        assert broken.health == "unhealthy" and "not well-formed XML" in (broken.last_error or "")
        next_run = scheduler.next_runs()[broken.id]
        assert next_run is not None and next_run >= datetime.now(UTC) + timedelta(seconds=50)
        assert feeds.get("news").health == "ok" and feeds.search(admin, '"first item title"')

        # a source added from elsewhere (the CLI) is picked up by the resync, a removed one dropped
        feeds.add(
            admin,
            "more",
            server.add("/more.xml", Route((DATA / "feeds/feedparser/atom10.xml").read_bytes())),
            "atom",
            interval=30,
        )
        feeds.remove(admin, "broken")
        scheduler.sync()
        names = {j.name for j in scheduler.scheduler.get_jobs() if j.id.startswith(PREFIX)}
        assert names == {"news", "more"}
        wait_until(lambda: "more" in polled, 20, "the first poll of the source added later")
    finally:
        scheduler.stop()
    assert scheduler.errors == []
    assert server.hits["/news.xml"] == 1  # no run overlapped or repeated within the interval


def test_a_source_in_backoff_stays_in_backoff_across_a_restart(
    core: App, admin: Actor, server: FeedServer, db_path: Path
) -> None:
    feeds = core.feeds()
    feeds.add(admin, "gone", server.url + "/gone.xml", "rss", interval=300)
    # Polled on the real clock, as the scheduler runs: on the fixture's frozen clock the backoff would already
    # be over, and whether the restarted scheduler polled again would depend on how fast it was stopped.
    real = App.open(db_path)
    try:
        real.feeds().poll()
    finally:
        real.close()
    backoff_until = datetime.fromisoformat(feeds.get("gone").next_poll_at or "")
    assert backoff_until >= datetime.now(UTC) + timedelta(seconds=500)
    scheduler = FeedScheduler(lambda: App.open(db_path).feeds(), first_within=0.1)
    scheduler.start()
    try:
        next_run = scheduler.next_runs()[feeds.get("gone").id]
        assert next_run is not None and next_run >= backoff_until
    finally:
        scheduler.stop()
    assert server.hits["/gone.xml"] == 1


@pytest.mark.slow
def test_crisisdesk_worker_polls_the_feeds(core: App, admin: Actor, server: FeedServer, db_path: Path) -> None:
    feeds = core.feeds()
    feeds.add(
        admin,
        "quakes",
        server.add("/q.json", Route((DATA / "feeds/geojson/usgs-2.5_week.json").read_bytes())),
        "geojson",
        interval=60,
    )
    # faulthandler: if the worker does not stop, SIGABRT makes it print every thread's stack for the report
    env = {**os.environ, "CRISISDESK_PASSWORD": ADMIN_PASSWORD, "PYTHONFAULTHANDLER": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "crisisdesk", "worker", "--db", str(db_path), "--as", ADMIN],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        wait_until(
            lambda: feeds.get("quakes").last_success is not None or proc.poll() is not None,
            60,
            "the worker's first poll of the quakes feed (or its exit)",
        )
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        assert feeds.count() == 247
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            _, err = proc.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGABRT)
            _, err = proc.communicate(timeout=30)
            pytest.fail(f"the worker did not stop within 30 s of SIGTERM; its threads:\n{err.decode()[-8000:]}")
    assert proc.returncode == 0, err
    assert b"outbox worker and feed poller" in err
