"""UI tests run every task at once on the test's thread (see crisisdesk.ui.tasks); a test that checks the
threading makes its own ``Tasks(..., synchronous=False)``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crisisdesk.ui.tasks import run_synchronously


@pytest.fixture(autouse=True)
def synchronous_tasks() -> Iterator[None]:
    run_synchronously(True)
    yield
    run_synchronously(False)
