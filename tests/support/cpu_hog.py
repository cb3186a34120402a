"""A CPU hog beside the tests that wait for another process or a timeout (the fault, feed, feed-scheduler and
kill-loop tests): they must hold on a busy machine, so they always run beside one, in ``uv run pytest`` itself.

The hog is ``stress-ng --cpu N``, one CPU-bound worker a core, for the length of a test module. Under CI a missing
stress-ng fails the run (``.ci/run`` installs it); elsewhere the tests run on the machine as it is.
``CRISISDESK_TEST_HOG=0`` leaves the hog out (a quick look on a laptop).
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager, suppress

import pytest

from tests.support.processes import processes


@contextmanager
def cpu_hog() -> Iterator[None]:
    exe = shutil.which("stress-ng")
    if os.environ.get("CRISISDESK_TEST_HOG") == "0":
        yield
        return
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail(
                "stress-ng is not installed: under CI these tests run beside a CPU hog (apt-get install stress-ng)"
            )
        yield
        return
    # Its own session, so that stopping it stops its workers too; its --timeout ends it even if the tests are killed.
    hog = subprocess.Popen(
        [exe, "--cpu", str(os.cpu_count() or 2), "--timeout", "20m", "--quiet"],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield
    finally:
        try:
            os.killpg(hog.pid, signal.SIGTERM)
            hog.wait(timeout=30)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            with suppress(ProcessLookupError):
                os.killpg(hog.pid, signal.SIGKILL)
            hog.wait()


@pytest.fixture(scope="module")
def busy_machine() -> Iterator[None]:
    """This module's tests run beside the CPU hog (use with ``pytestmark = pytest.mark.usefixtures(...)``)."""
    with cpu_hog():
        yield


def hogs_running() -> int:
    """How many stress-ng processes are running on this machine (its workers rename themselves stress-ng-cpu)."""
    return sum(1 for p in processes() if p.command.startswith(b"stress-ng") or b"/stress-ng\0" in p.command)
