"""The load of tests/ui/test_under_load.py, built once per test session: SIZE public feed items and SIZE more events
in one workstation's log, through the real paths (see that module's notes).

Building 1,000,000 of each takes minutes of one core. So that the session does not wait for it, ``start`` runs the
build in a process of its own as soon as the tests are collected (tests/ui/conftest.py), beside the other tests,
which mostly leave the machine's second core idle; the test's fixture waits for it with a deadline (``wait``).
Run by hand: ``python -m tests.support.under_load FOLDER``.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO

import pytest

from crisisdesk.app import App
from crisisdesk.credentials import MemorySecrets
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.feeds import Item, fingerprint
from crisisdesk.domain.roles import Role
from crisisdesk.services.passwords import Argon2Hasher

SIZE = int(os.environ.get("CRISISDESK_LOAD_SIZE", "1000000"))
START = datetime(2026, 11, 22, 6, 0, tzinfo=UTC)
WORDS = (
    "road crew county council meeting library park school bus traffic weather report community hospital clinic "
    "volunteer donation street repair mayor budget housing market business downtown festival concert bridge lane"
).split()
REPO = Path(__file__).resolve().parents[2]
# Where tests/conftest.py keeps the build it started for the session.
LOAD_BUILD = pytest.StashKey["Build"]()


def text(i: int, words: int) -> str:
    # cheap and varied: every item its own rare token (for a search that finds one), common words around it
    return " ".join(WORDS[(i * 7 + k * 13 + k * k) % len(WORDS)] for k in range(words)) + f" tok{i}"


def database(folder: Path) -> Path:
    return folder / "loaded.sqlite3"


def build(folder: Path, size: int = SIZE) -> float:
    """Build the loaded database in ``folder``; the seconds it took. The folder's XDG variables keep the default
    public pages in it."""
    began = time.perf_counter()
    for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
        os.environ[var] = str(folder / var.lower())
    clock = FixedClock(START)
    core = App.open(
        database(folder),
        create=True,
        clock=clock,
        hasher=Argon2Hasher(time_cost=1, memory_cost=1024),
        secrets=MemorySecrets(),
    )
    try:
        core.initialise("alice", "correct horse", workstation_name="EOC desk 1")
        admin = core.people.actor("alice")
        core.people.add(admin, "carla", [Role.COMMUNICATOR], "carla password")
        core.people.add(admin, "ivan", [Role.APPROVER], "ivan password")
        from crisisdesk.feeds.poller import Outcome

        feeds = core.feeds()
        news = feeds.add(admin, "county-news", "https://news.example/county.xml", "rss")
        posts = feeds.add(admin, "county-tag", "https://social.example/tags/county", "mastodon")
        for start in range(0, size, 10_000):
            batch: dict[bool, list[Item]] = {False: [], True: []}
            for i in range(start, min(start + 10_000, size)):
                public = i % 10 == 0
                batch[public].append(
                    Item(
                        identity=f"{'county-tag' if public else 'county-news'}|{i}",
                        title=text(i, 6),
                        text=text(i, 30),
                        url=f"https://{'social' if public else 'news'}.example/{i}",
                        author=f"user{i % 5000}" if public else "County News",
                        published=(START + timedelta(seconds=i % 3600)).isoformat(),
                        lang="en",
                        public=public,
                    )
                )
            feeds.record_many([(news, Outcome(items=batch[False])), (posts, Outcome(items=batch[True]))])
            clock.advance(timedelta(seconds=1))
        public_posts = [fingerprint(f"county-tag|{i}") for i in range(0, size, 10)]
        for start in range(0, size, 20_000):
            with core.db.write() as conn:
                for n in range(start, min(start + 20_000, size)):
                    core.log.record(
                        conn,
                        "carla",
                        Kind.TRIAGE_SET,
                        {
                            "item": public_posts[n % len(public_posts)],
                            "status": ("acknowledged", "answered")[(n // len(public_posts)) % 2],
                            "priority": "normal",
                            "template": None,
                            "note": None,
                        },
                    )
            clock.advance(timedelta(seconds=1))
        if not (feeds.count() == size and core.log.count() > size):
            raise AssertionError(f"the load holds {feeds.count()} items and {core.log.count()} events, not {size}")
    finally:
        core.close()
    return time.perf_counter() - began


@dataclass
class Build:
    """A build running in a process of its own."""

    folder: Path
    process: subprocess.Popen[bytes]
    output: IO[bytes]

    def wait(self, deadline_s: float) -> Path:
        """The loaded database, once the build has finished; AssertionError with the build's own words if it
        failed or took longer than ``deadline_s``."""
        try:
            code = self.process.wait(timeout=deadline_s)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
            code = None
        self.output.seek(0)
        said = self.output.read().decode("utf-8", "replace").strip()
        if code != 0:
            raise AssertionError(f"building the load {'took too long' if code is None else f'failed ({code})'}: {said}")
        print(f"\n{said}", end="")
        return database(self.folder)

    def stop(self) -> None:
        """Stop it if it still runs (the session ended first) and remove its folder."""
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.output.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def start(folder: Path) -> Build:
    output = (folder / "build.log").open("w+b")
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support.under_load", str(folder)],
        cwd=REPO,
        stdout=output,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    return Build(folder, process, output)


if __name__ == "__main__":
    took = build(Path(sys.argv[1]))
    print(f"under load: {SIZE:,} items and {SIZE:,} events built in {took:.0f} s (in a process beside the tests)")
