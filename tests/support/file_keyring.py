"""A keyring backend for tests: a JSON file in the test's own folder (``CRISISDESK_TEST_KEYRING``).

Tests never touch the machine's real keyring. A file (not memory) so that a worker started as a separate
process, and killed, finds the same secrets. Selected with ``keyring.set_keyring`` in-process and with
``PYTHON_KEYRING_BACKEND=tests.support.file_keyring.FileKeyring`` in subprocesses.

Several processes write it at once (the console and a worker both keep the log's head here), so a change is
made under an exclusive lock and the file replaced whole: a reader never sees half a file and no writer
loses another's entry.
"""

from __future__ import annotations

import fcntl
import json
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError

ENV = "CRISISDESK_TEST_KEYRING"


class FileKeyring(KeyringBackend):
    priority = 1  # type: ignore[assignment]

    @property
    def _path(self) -> Path:
        # A module- or session-scoped fixture runs before the per-test folder is set: it gets one file per
        # process (init now stores the workstation's signing key here).
        return Path(os.environ.get(ENV) or Path(tempfile.gettempdir()) / f"crisisdesk-test-keyring-{os.getpid()}.json")

    def _load(self) -> dict[str, str]:
        try:
            return dict(json.loads(self._path.read_text()))
        except FileNotFoundError:
            return {}

    @contextmanager
    def _changing(self) -> Iterator[dict[str, str]]:
        path = self._path
        with path.with_name(path.name + ".lock").open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # one open file each, so threads of one process queue too
            data = self._load()
            yield data
            tmp = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
            tmp.write_text(json.dumps(data))
            os.replace(tmp, path)

    def get_password(self, service: str, username: str) -> str | None:
        return self._load().get(f"{service}\0{username}")

    def set_password(self, service: str, username: str, password: str) -> None:
        with self._changing() as data:
            data[f"{service}\0{username}"] = password

    def delete_password(self, service: str, username: str) -> None:
        with self._changing() as data:
            if data.pop(f"{service}\0{username}", None) is None:
                raise PasswordDeleteError(username)
