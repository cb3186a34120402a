"""Polling every source on its own schedule, in the background (APScheduler 3.x).

One job per source at the source's interval, with jitter so sources do not poll in lockstep; never two runs of
one source at once (max_instances=1); missed runs coalesced into one; after a failure the next run moves out
by the backoff (doubling, capped at an hour, or the server's Retry-After). Each run opens its own database
connection: SQLite connections belong to the thread that made them, and the scheduler's pool has several.
Sources added or removed from another process (the CLI) are picked up by a periodic resync.
"""

from __future__ import annotations

import contextlib
import logging
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from crisisdesk.services.feeds import FeedService, PollReport

log = logging.getLogger(__name__)

PREFIX = "feed:"  # job ids of sources; other jobs (resync, prune) have plain ids


def jitter_for(interval: int) -> float:
    return min(interval * 0.1, 30.0)


class FeedScheduler:
    def __init__(
        self,
        open_feeds: Callable[[], FeedService],
        *,
        workers: int = 4,
        resync: float = 30.0,
        first_within: float = 10.0,
        rng: random.Random | None = None,
        on_poll: Callable[[PollReport], None] | None = None,
    ) -> None:
        self.open_feeds = open_feeds
        self.resync = resync
        self.first_within = first_within
        self.rng = rng or random.Random()
        self.on_poll = on_poll
        self.scheduler = BackgroundScheduler(
            executors={"default": ThreadPoolExecutor(workers)},
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone=UTC,
        )
        self._intervals: dict[str, int] = {}
        self._lock = threading.Lock()
        self.errors: list[str] = []

    # -- life --------------------------------------------------------------------------------------------

    def start(self) -> None:
        self.scheduler.start()
        self.sync()
        self.scheduler.add_job(self.sync, IntervalTrigger(seconds=self.resync), id="resync")
        self.scheduler.add_job(self._prune, IntervalTrigger(hours=1), id="prune")

    def stop(self, *, wait: bool = True) -> None:
        if self.scheduler.running:
            self.scheduler.shutdown(wait=wait)

    # -- jobs --------------------------------------------------------------------------------------------

    def sync(self) -> None:
        """Make the jobs match the sources: a job for each new source, none for a removed one."""
        feeds = self.open_feeds()
        try:
            sources = feeds.pollable()  # a drill's source has nothing to poll: its drill brings its items
        finally:
            _close(feeds)
        now = datetime.now(UTC)
        with self._lock:
            wanted = {s.id: s for s in sources}
            for source_id in list(self._intervals):
                if source_id not in wanted:
                    self._intervals.pop(source_id)
                    with contextlib.suppress(JobLookupError):
                        self.scheduler.remove_job(PREFIX + source_id)
            for source in sources:
                if self._intervals.get(source.id) == source.interval:
                    continue
                first = now + timedelta(seconds=self.rng.uniform(0, min(source.interval, self.first_within)))
                if source.failures and source.next_poll_at:
                    # a source in backoff stays in backoff across restarts
                    first = max(first, datetime.fromisoformat(source.next_poll_at))
                self.scheduler.add_job(
                    self.run,
                    IntervalTrigger(seconds=source.interval, jitter=jitter_for(source.interval)),
                    args=[source.id],
                    id=PREFIX + source.id,
                    name=source.name,
                    next_run_time=first,
                    replace_existing=True,
                )
                self._intervals[source.id] = source.interval

    def run(self, source_id: str) -> PollReport | None:
        """One poll of one source (a job; tests call it directly)."""
        feeds = self.open_feeds()
        try:
            report = feeds.poll_one(source_id)
            if report is None:
                return None
        except Exception as exc:  # a bug or a database error: keep the scheduler alive, say what happened
            log.exception("polling %s failed", source_id)
            self.errors.append(f"{source_id}: {type(exc).__name__}: {exc}")
            return None
        finally:
            _close(feeds)
        if report.error and report.next_poll_at and self.scheduler.running:
            # the backoff the service worked out (and stored in the source's health) moves the next run
            with contextlib.suppress(JobLookupError):  # removed while it ran
                self.scheduler.modify_job(PREFIX + source_id, next_run_time=datetime.fromisoformat(report.next_poll_at))
        if self.on_poll is not None:
            self.on_poll(report)
        return report

    def _prune(self) -> None:
        feeds = self.open_feeds()
        try:
            feeds.prune()
        finally:
            _close(feeds)

    def next_runs(self) -> dict[str, datetime | None]:
        return {
            job.id.removeprefix(PREFIX): job.next_run_time
            for job in self.scheduler.get_jobs()
            if job.id.startswith(PREFIX)
        }


def _close(feeds: FeedService) -> None:
    feeds.close()
    feeds.db.close()
