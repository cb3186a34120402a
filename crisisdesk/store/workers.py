"""Worker processes for the event log's checks (hashing, parsing and Ed25519 hold Python's GIL: threads would not
help, and a window's thread must keep the GIL).

Each worker is ``python -m crisisdesk.store.verify_worker`` given a list of tasks on its standard input. It starts
in about 0.1 s: ``multiprocessing``'s spawn imports the caller's main module again (the command line, or the
console with Qt), 0.25-0.5 s, which took the gain of a second process on logs under about 300,000 entries.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from types import TracebackType
from typing import IO, Any

# A task: the name of a function in verify_worker.TASKS and its arguments (plain values: they are pickled).
Task = tuple[str, tuple[Any, ...]]


class WorkerFailed(RuntimeError):
    """A worker process ended without giving its outcome (killed, or it could not start)."""


class Workers:
    """One process per plan, each running its plan's tasks in order. ``next`` gives ``(worker, index, result)`` as
    outcomes come in; a task's exception is raised in this process. Leaving the ``with`` block kills any worker
    still running (a cancelled check leaves nothing behind)."""

    def __init__(self, plans: Sequence[Sequence[Task]]) -> None:
        self._outcomes: queue.SimpleQueue[tuple[int, int, str, Any]] = queue.SimpleQueue()
        self._procs: list[subprocess.Popen[bytes]] = []
        self._errors: list[IO[bytes]] = []
        self._readers: list[threading.Thread] = []
        self.pending = sum(len(plan) for plan in plans)
        try:
            for w, plan in enumerate(plans):
                # A file, not a pipe: a worker's stderr can never fill and stall it. Closed by close().
                errors = tempfile.TemporaryFile()  # noqa: SIM115
                self._errors.append(errors)
                proc = subprocess.Popen(
                    # -P: the current folder is not searched first, so a folder named crisisdesk where the command
                    # was run cannot stand in for the installed package.
                    [sys.executable, "-P", "-m", "crisisdesk.store.verify_worker"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=errors,
                    env={**os.environ, "PYTHONUNBUFFERED": "1"},
                )
                self._procs.append(proc)
                assert proc.stdin is not None
                try:
                    proc.stdin.write(pickle.dumps(list(plan)))
                    proc.stdin.close()
                except BrokenPipeError:
                    pass  # it ended at once: its reader says so, with what it wrote to stderr
                reader = threading.Thread(target=self._read, args=(w, proc, len(plan), errors), daemon=True)
                self._readers.append(reader)
                reader.start()
        except BaseException:
            self.close()
            raise

    def _read(self, w: int, proc: subprocess.Popen[bytes], count: int, errors: IO[bytes]) -> None:
        assert proc.stdout is not None
        for i in range(count):
            try:
                status, value = pickle.load(proc.stdout)  # noqa: S301 - our own worker's output
            except (EOFError, OSError, pickle.UnpicklingError, ValueError):
                proc.wait()
                errors.seek(0)
                lines = errors.read().decode("utf-8", "replace").strip().splitlines()
                why = lines[-1] if lines else f"exit status {proc.returncode}"
                self._outcomes.put((w, i, "died", why))
                return
            self._outcomes.put((w, i, status, value))
            if status != "ok":
                return

    def next(self, timeout: float | None) -> tuple[int, int, Any]:
        """The next outcome: (worker, index of the task in its plan, result). Raises ``queue.Empty`` after
        ``timeout`` seconds with none (None: wait as long as it takes), a task's exception, or ``WorkerFailed``."""
        w, i, status, value = self._outcomes.get(timeout=timeout)
        self.pending -= 1
        if status == "ok":
            return w, i, value
        if status == "died":
            raise WorkerFailed(f"a verify worker stopped before it finished: {value}")
        raise value

    def close(self) -> None:
        for proc in self._procs:
            if proc.poll() is None:
                proc.kill()
        for proc in self._procs:
            proc.wait()
        for reader in self._readers:
            reader.join()  # at the end of its worker's output now: the pipes can be closed under no reader
        for proc in self._procs:
            for pipe in (proc.stdin, proc.stdout):
                if pipe is not None and not pipe.closed:
                    with contextlib.suppress(BrokenPipeError):
                        pipe.close()
        for errors in self._errors:
            errors.close()

    def __enter__(self) -> Workers:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
