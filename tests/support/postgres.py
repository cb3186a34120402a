"""A real PostgreSQL server on 127.0.0.1 for the hub tests (Debian's ``postgresql`` package: initdb + pg_ctl).

One server per test session, in a temporary folder; each test gets a fresh database (``CREATE DATABASE``, a few
milliseconds). ``initdb`` and ``pg_ctl`` refuse to run as root, so as root they run as the ``postgres`` user with
the folder owned by it. Connections over TCP on 127.0.0.1:

- the superuser ``postgres`` logs in without a password (the fixture's own administration);
- the role ``hub`` must give its password (scram-sha-256), so the workstations' path of a hub password kept in
  the keyring is the real one, and a wrong password is really refused.

A test may stop and start the server (``server.stop()`` / ``server.start()``) to play a hub that is down for a
while; the data folder and the port stay the same. Where PostgreSQL is not installed the tests are skipped with
the reason, except under CI (``CI=true``), where that fails the run.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

from tests.support.servers import free_port, unavailable
from tests.support.wait import wait_until

HUB_ROLE, HUB_PASSWORD = "hub", "hub password with spaces & symbols"
SUPERUSER = "postgres"
START_TIMEOUT = 30.0


def postgres_bin() -> Path | None:
    """The folder holding initdb, pg_ctl and pg_isready: Debian keeps them out of PATH under
    /usr/lib/postgresql/N/bin (a link to initdb on PATH may come without its siblings, so resolve it)."""
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if versions:
        return Path(versions[-1]).parent
    found = shutil.which("initdb")
    return Path(found).resolve().parent if found else None


def _as_owner() -> list[str]:
    """The command prefix that runs PostgreSQL's tools as a non-root user when we are root."""
    if os.geteuid() != 0:
        return []
    runuser = shutil.which("runuser")
    if runuser is None:
        unavailable("running as root without runuser: PostgreSQL's initdb and pg_ctl refuse to run as root")
    return [str(runuser), "-u", SUPERUSER, "--"]


@dataclass
class PostgresServer:
    bindir: Path
    folder: Path  # owned by the server's user; holds data/, the socket and the log
    port: int
    host: str = "127.0.0.1"
    databases: list[str] = field(default_factory=list)

    @property
    def data(self) -> Path:
        return self.folder / "data"

    @property
    def log(self) -> Path:
        return self.folder / "server.log"

    def _tool(self, name: str, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*_as_owner(), str(self.bindir / name), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def log_tail(self) -> str:
        try:
            return self.log.read_text(errors="replace")[-3000:]
        except OSError:
            return ""

    def initialise(self) -> None:
        done = self._tool("initdb", "-D", str(self.data), "-A", "trust", "-U", SUPERUSER, "-E", "UTF8", "--no-sync")
        if done.returncode != 0:
            raise RuntimeError(f"initdb failed: {done.stderr.strip() or done.stdout.strip()}")
        # Only TCP on 127.0.0.1 for the tests' roles: the superuser is trusted, the hub role gives its password.
        rules = [
            "local all all trust",
            f"host all {SUPERUSER} 127.0.0.1/32 trust",
            "host all all 127.0.0.1/32 scram-sha-256",
        ]
        (self.data / "pg_hba.conf").write_text("".join(f"{rule}\n" for rule in rules))

    def start(self) -> None:
        # fsync off: a test server's data need not survive a power cut, and every commit would wait for the disk.
        options = f"-c listen_addresses={self.host} -p {self.port} -k {self.folder} -c fsync=off -c max_connections=200"
        done = self._tool(
            "pg_ctl", "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "-t", str(int(START_TIMEOUT)),
            "start", timeout=START_TIMEOUT + 10,
        )  # fmt: skip
        if done.returncode != 0:
            raise RuntimeError(f"pg_ctl start failed: {done.stderr.strip()}\n{self.log_tail()}")
        wait_until(self.ready, START_TIMEOUT, f"PostgreSQL to accept connections on {self.host}:{self.port}")

    def stop(self) -> None:
        """Stop now (fast shutdown: open connections are cut, as when a hub goes down)."""
        done = self._tool("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        if done.returncode != 0 and self.running():
            raise RuntimeError(f"pg_ctl stop failed: {done.stderr.strip()}")

    def running(self) -> bool:
        return self._tool("pg_ctl", "-D", str(self.data), "status").returncode == 0

    def ready(self) -> bool:
        probe = self._tool("pg_isready", "-h", self.host, "-p", str(self.port), "-U", SUPERUSER, "-t", "1")
        return probe.returncode == 0

    def admin_url(self, database: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}@{self.host}:{self.port}/{database}"

    def url(self, database: str, *, password: str | None = None, user: str = HUB_ROLE) -> str:
        """A hub URL for ``database``; with ``password`` it is in the URL, as a person would type it once."""
        secret = f":{quote(password, safe='')}" if password is not None else ""
        return f"postgresql://{user}{secret}@{self.host}:{self.port}/{database}"

    def admin(self, sql: str, database: str = "postgres") -> None:
        import psycopg

        with psycopg.connect(self.admin_url(database), autocommit=True, connect_timeout=5) as conn:
            conn.execute(sql.encode())

    def create_database(self, name: str | None = None) -> str:
        name = name or f"hub_{uuid.uuid4().hex[:12]}"
        self.admin(f'CREATE DATABASE "{name}" OWNER "{HUB_ROLE}"')
        self.databases.append(name)
        return name

    def drop_database(self, name: str) -> None:
        if self.running():
            self.admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    bindir = postgres_bin()
    if bindir is None:
        unavailable("PostgreSQL is not installed (apt-get install postgresql)")
    assert bindir is not None
    try:
        import psycopg  # noqa: F401
    except ImportError as exc:
        unavailable(f"psycopg is not installed: {exc}")
    # Not pytest's tmp folder: the postgres user must own its data folder and reach it.
    folder = Path(tempfile.mkdtemp(prefix="crisisdesk-pg-"))
    if os.geteuid() == 0:
        shutil.chown(folder, user=SUPERUSER, group=None)
    server = PostgresServer(bindir=bindir, folder=folder, port=free_port())
    try:
        try:
            server.initialise()
            server.start()
        except (RuntimeError, AssertionError, OSError, subprocess.TimeoutExpired) as exc:
            unavailable(f"PostgreSQL could not start: {exc}")
        server.admin(f"CREATE ROLE \"{HUB_ROLE}\" LOGIN PASSWORD '{HUB_PASSWORD}'")
        yield server
    finally:
        if server.data.exists() and server.running():
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class HubDatabase:
    """A fresh, empty database on the session's server for one test, owned by the password-protected hub role."""

    server: PostgresServer
    name: str

    @property
    def url(self) -> str:
        """The URL as a workstation stores it: no password."""
        return self.server.url(self.name)

    @property
    def url_with_password(self) -> str:
        return self.server.url(self.name, password=HUB_PASSWORD)

    password: str = HUB_PASSWORD
