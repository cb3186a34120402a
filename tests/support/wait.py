"""Waiting for another process or thread: poll for the condition until a deadline, never a fixed sleep.

A fixed sleep is either too short on a busy machine (the test fails) or too long on an idle one (the suite
crawls); polling the condition is as fast as the other side and as patient as the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

T = TypeVar("T")

POLL = 0.02  # seconds between checks: short beside any deadline, long beside a SQLite read


def wait_until(predicate: Callable[[], T], timeout: float, what: str) -> T:
    """Call ``predicate`` until it returns something truthy and return that; fail naming ``what`` at the deadline."""
    deadline = time.monotonic() + timeout
    while True:
        found = predicate()
        if found:
            return found
        if time.monotonic() >= deadline:
            raise AssertionError(f"gave up after {timeout:g} s waiting for {what}")
        time.sleep(POLL)
