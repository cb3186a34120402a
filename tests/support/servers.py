"""Real servers started on 127.0.0.1 for the tests, installed on first use into a cache folder.

Synapse (Matrix) goes into its own virtual environment; the Bluesky PDS (@atproto/dev-env, which needs
Node 22) into its own npm folder. Both are kept in ``$CRISISDESK_TEST_SERVERS`` (default
``~/.cache/crisisdesk-test-servers``) so the second run starts in seconds. Where a server cannot be installed
the test is skipped with the reason, except under CI (``CI=true``), where that fails the run.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

SYNAPSE_VERSION = "1.163.2"
NODE_VERSION = "22"
ATPROTO_PACKAGES = ("@atproto/dev-env@0.3.250", "@atproto/pds@0.4.225")


# Read when the tests are collected, before each test's own HOME and XDG folders are set.
_DEFAULT_CACHE = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "crisisdesk-test-servers"
_CACHE = Path(os.environ.get("CRISISDESK_TEST_SERVERS") or _DEFAULT_CACHE)


def cache_dir() -> Path:
    path = _CACHE
    path.mkdir(parents=True, exist_ok=True)
    return path


def unavailable(reason: str) -> None:
    """Skip, or under CI fail: CI must really run every server."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"a test server is missing under CI: {reason}")
    pytest.skip(reason)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(url: str, timeout: float, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the server stopped (exit {proc.returncode}); its log:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(url, timeout=1).status_code < 500:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"the server did not answer {url} in {timeout} s; its log:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


# -- Synapse ------------------------------------------------------------------------------------------------


def synapse_python() -> Path:
    """Synapse's own virtual environment, made on first use (about a minute; seconds when uv has it cached)."""
    venv = cache_dir() / f"synapse-{SYNAPSE_VERSION}"
    python = venv / "bin" / "python"
    if python.exists():
        return python
    uv = shutil.which("uv")
    tmp = venv.with_name(venv.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        if uv:
            subprocess.run([uv, "venv", "-q", "--python", sys.executable, str(tmp)], check=True)
            subprocess.run(
                [
                    uv,
                    "pip",
                    "install",
                    "-q",
                    "--python",
                    str(tmp / "bin" / "python"),
                    f"matrix-synapse=={SYNAPSE_VERSION}",
                ],
                check=True,
            )
        else:
            subprocess.run([sys.executable, "-m", "venv", str(tmp)], check=True)
            subprocess.run(
                [str(tmp / "bin" / "pip"), "install", "-q", f"matrix-synapse=={SYNAPSE_VERSION}"], check=True
            )
    except (subprocess.CalledProcessError, OSError) as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        unavailable(f"Synapse {SYNAPSE_VERSION} could not be installed: {exc}")
    tmp.rename(venv)
    return python


@dataclass
class Synapse:
    url: str
    server_name: str
    secret: str

    def register(self, user: str, password: str, *, admin: bool = False) -> str:
        """A new user through the shared-secret admin API; returns an access token."""
        nonce = httpx.get(f"{self.url}/_synapse/admin/v1/register").json()["nonce"]
        mac = hmac.new(self.secret.encode(), digestmod=hashlib.sha1)
        mac.update(b"\x00".join([nonce.encode(), user.encode(), password.encode(), b"admin" if admin else b"notadmin"]))
        answer = httpx.post(
            f"{self.url}/_synapse/admin/v1/register",
            json={"nonce": nonce, "username": user, "password": password, "admin": admin, "mac": mac.hexdigest()},
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def client(self, token: str) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


SYNAPSE_CONFIG = """
server_name: "{name}"
pid_file: "{dir}/homeserver.pid"
listeners:
  - port: {port}
    bind_addresses: ["127.0.0.1"]
    type: http
    tls: false
    x_forwarded: false
    resources:
      - names: [client]
        compress: false
database:
  name: sqlite3
  args:
    database: "{dir}/homeserver.db"
log_config: "{dir}/log.config"
media_store_path: "{dir}/media"
signing_key_path: "{dir}/signing.key"
registration_shared_secret: "{secret}"
report_stats: false
trusted_key_servers: []
federation_domain_whitelist: []
presence:
  enabled: false
bcrypt_rounds: 4
suppress_key_server_warning: true
rc_message: {{per_second: 1000, burst_count: 1000}}
rc_login:
  address: {{per_second: 1000, burst_count: 1000}}
  account: {{per_second: 1000, burst_count: 1000}}
  failed_attempts: {{per_second: 1000, burst_count: 1000}}
rc_registration: {{per_second: 1000, burst_count: 1000}}
rc_room_creation: {{per_second: 1000, burst_count: 1000}}
rc_joins:
  local: {{per_second: 1000, burst_count: 1000}}
  remote: {{per_second: 1000, burst_count: 1000}}
"""

LOG_CONFIG = """
version: 1
formatters:
  plain: {format: "%(asctime)s %(levelname)s %(name)s %(message)s"}
handlers:
  file: {class: logging.FileHandler, filename: "DIR/homeserver.log", formatter: plain}
root: {level: WARNING, handlers: [file]}
disable_existing_loggers: false
"""


@contextmanager
def synapse_server(folder: Path) -> Iterator[Synapse]:
    python = synapse_python()
    port = free_port()
    secret = "shared secret for tests"
    config = folder / "homeserver.yaml"
    config.write_text(SYNAPSE_CONFIG.format(name="localhost", dir=folder, port=port, secret=secret))
    (folder / "log.config").write_text(LOG_CONFIG.replace("DIR", str(folder)))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    subprocess.run(
        [str(python), "-m", "synapse.app.homeserver", "-c", str(config), "--generate-keys"],
        check=True,
        env=env,
        capture_output=True,
    )
    log = folder / "stdout.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(python), "-m", "synapse.app.homeserver", "-c", str(config)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        wait_for(f"http://127.0.0.1:{port}/health", 60, proc, log)
        yield Synapse(f"http://127.0.0.1:{port}", "localhost", secret)
    finally:
        stop(proc)
