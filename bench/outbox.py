"""Outbox benchmarks (issue 5's targets), on real local servers.

1. From approval to the first channel request: a published message, a worker thread already running (as in
   the console or ``crisisdesk worker``), a local webhook receiver noting when the request arrives.
   Target: under 200 ms.
2. One message to six channels on local servers (folder, webhook, SMS gateway, SMTP with STARTTLS, Synapse,
   a Bluesky PDS), from the start of the outbox pass until all six receipts are committed. Target: within 1 s.
3. Throughput to the local folder channel: N published messages drained by the outbox.
   Target: at least 200 messages/s.

Run: uv run python bench/outbox.py [--messages 1000] [--skip-servers]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TMP = Path(tempfile.mkdtemp(prefix="crisisdesk-bench-"))
for var in ("XDG_DATA_HOME", "XDG_STATE_HOME", "XDG_CONFIG_HOME"):
    os.environ[var] = str(TMP / var.lower())
os.environ["CRISISDESK_TEST_KEYRING"] = str(TMP / "keyring.json")

import keyring  # noqa: E402

from crisisdesk.app import App  # noqa: E402
from crisisdesk.domain.incidents import Mode  # noqa: E402
from crisisdesk.domain.roles import Role  # noqa: E402
from crisisdesk.services import audit  # noqa: E402
from crisisdesk.services.outbox import Worker  # noqa: E402
from crisisdesk.services.passwords import Argon2Hasher  # noqa: E402
from tests.support.file_keyring import FileKeyring  # noqa: E402
from tests.support.http_servers import sms_gateway, webhook_receiver  # noqa: E402

FACTS = {
    "area": "Mill Creek valley | geocode: SAME=006067",
    "expires": "2026-12-31T21:30",
    "info_url": "https://ready.millcounty.gov/flood",
    "phone": "211",
}


def setup(path: Path) -> tuple[App, dict[str, object], str]:
    app = App.open(path, create=True, hasher=Argon2Hasher(time_cost=1, memory_cost=1024))
    app.initialise("alice", "correct horse")
    admin = app.people.actor("alice")
    app.people.add(admin, "carla", [Role.COMMUNICATOR], "carla password")
    app.people.add(admin, "ivan", [Role.APPROVER], "ivan password")
    team = {"admin": admin, "carla": app.people.actor("carla"), "ivan": app.people.actor("ivan")}
    inc = app.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts=FACTS).id  # type: ignore[arg-type]
    return app, team, inc


def approved(
    app: App, team: dict[str, object], inc: str, channels: list[str] | None = None, message_type: str = "alert"
) -> str:
    m = app.messages()
    view = m.draft(team["carla"], inc, message_type)  # type: ignore[arg-type]
    if channels:
        view = m.set_targets(team["carla"], view.id, channels)  # type: ignore[arg-type]
    m.submit(team["carla"], view.id)  # type: ignore[arg-type]
    m.approve(team["ivan"], view.id, view.content_hash)  # type: ignore[arg-type]
    return view.id


def publish(app: App, team: dict[str, object], msg: str) -> None:
    app.messages().publish(team["carla"], msg, confirm=f"PUBLISH LIVE {msg}")  # type: ignore[arg-type]


def bench_first_request(runs: int) -> list[float]:
    app, team, inc = setup(TMP / "first.sqlite3")
    arrived: list[float] = []
    got = threading.Event()
    with webhook_receiver() as (url, hook):

        def note_arrival() -> bool:
            arrived.append(time.perf_counter())
            got.set()
            return False  # record and answer as usual

        hook.before_record = note_arrival
        app.channels().add(team["admin"], "webhook", "hook", settings=[f"url={url}"], secret="k")  # type: ignore[arg-type]
        worker = Worker(lambda: App.open(app.db.path).outbox())
        worker.start()
        times = []
        try:
            for _ in range(runs):
                msg = approved(app, team, inc, ["hook"])
                got.clear()
                arrived.clear()
                t0 = time.perf_counter()
                publish(app, team, msg)
                assert got.wait(10), "the worker never sent"
                times.append((arrived[0] - t0) * 1000)
        finally:
            worker.stop()
    app.close()
    return times


def bench_six_channels(runs: int) -> list[float]:
    from tests.support.servers import pds_server, synapse_server
    from tests.support.smtp_server import PASSWORD, USER, smtp_server

    app, team, inc = setup(TMP / "six.sqlite3")
    admin = team["admin"]
    folder = TMP / "servers"
    folder.mkdir()
    (folder / "synapse").mkdir()
    (folder / "pds").mkdir()
    (folder / "smtp").mkdir()
    times = []
    with (
        synapse_server(folder / "synapse") as synapse,
        pds_server(folder / "pds") as pds,
        smtp_server(folder / "smtp") as (port, cert, _),
        webhook_receiver() as (hook_url, _),
        sms_gateway() as (sms_url, gateway),
    ):
        token = synapse.register(f"bench{uuid.uuid4().hex[:6]}", "bench password")
        with synapse.client(token) as client:
            room = client.post("/_matrix/client/v3/createRoom", json={}).json()["room_id"]
        handle = f"bench{uuid.uuid4().hex[:6]}.test"
        pds.create_account(handle, "app password")
        ch = app.channels()
        ch.add(admin, "webhook", "hook", settings=[f"url={hook_url}"], secret="k")  # type: ignore[arg-type]
        ch.add(
            admin,  # type: ignore[arg-type]
            "sms",
            "sms",
            settings=[f"base_url={sms_url}", f"account_sid={gateway.sid}", "from=+15550100", "to=+15550111"],
            secret=gateway.token,
        )
        ch.add(
            admin,  # type: ignore[arg-type]
            "email",
            "mail",
            settings=["host=127.0.0.1", f"port={port}", f"from={USER}", "to=r@millcounty.test", f"cafile={cert}"],
            secret=PASSWORD,
        )
        ch.add(admin, "matrix", "room", settings=[f"base_url={synapse.url}", f"room={room}"], secret=token)  # type: ignore[arg-type]
        ch.add(admin, "bluesky", "sky", settings=[f"base_url={pds.url}", f"handle={handle}"], secret="app password")  # type: ignore[arg-type]
        outbox = app.outbox()
        names = ["public-page", "hook", "sms", "mail", "room", "sky"]
        for i in range(runs + 1):
            msg = approved(app, team, inc, names)
            publish(app, team, msg)
            t0 = time.perf_counter()
            report = outbox.run_once()
            elapsed = (time.perf_counter() - t0) * 1000
            assert report.sent == 6, report
            if i:  # the first pass also signs in (Bluesky) and opens sessions: reported apart
                times.append(elapsed)
            else:
                print(f"  first pass (sign-ins, sessions): {elapsed:.0f} ms")
    app.close()
    return times


def bench_folder_throughput(n: int, *, incidents: int) -> tuple[float, float]:
    """``incidents`` incidents, each an alert then updates (an update supersedes what it references), so at most
    ``incidents`` alerts are current at once; with ``incidents == n`` every message is a current alert."""
    app, team, inc = setup(TMP / f"folder-{incidents}.sqlite3")
    ids = [inc] + [
        app.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts=FACTS).id  # type: ignore[arg-type]
        for _ in range(min(incidents, n) - 1)
    ]
    t0 = time.perf_counter()
    for i in range(n):
        kind = "alert" if i < len(ids) else "update"
        publish(app, team, approved(app, team, ids[i % len(ids)], message_type=kind))
    made = time.perf_counter() - t0
    outbox = app.outbox()
    t0 = time.perf_counter()
    sent = 0
    while True:
        report = outbox.run_once()
        if not report.sent:
            break
        sent += report.sent
    elapsed = time.perf_counter() - t0
    assert sent == n, sent
    app.close()
    return n / elapsed, n / made


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--skip-servers", action="store_true", help="skip the six-channel run (Synapse, PDS)")
    parser.add_argument(
        "--os-keyring", action="store_true", help="secrets and log heads in the OS keyring (else a file, as in tests)"
    )
    parser.add_argument("--head-every", type=float, help="seconds between log head writes (default: as shipped)")
    parser.add_argument("--no-head", action="store_true", help="keep no log head (the figures before it existed)")
    a = parser.parse_args()
    if not a.os_keyring:
        keyring.set_keyring(FileKeyring())  # a file, not the machine's keyring: benchmarks leave nothing behind
    if a.head_every is not None:
        audit.HEAD_EVERY_S = a.head_every
    if a.no_head:
        audit.HeadKeeper.committed = lambda self, head: None  # type: ignore[method-assign]
    print(f"keyring: {keyring.get_keyring()}; log head: {'none' if a.no_head else f'every {audit.HEAD_EVERY_S} s'}")
    times = bench_first_request(a.runs)
    print(
        f"approval -> first channel request (worker thread running, {a.runs} runs): "
        f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms  (target < 200 ms)"
    )
    if not a.skip_servers:
        six = bench_six_channels(5)
        print(
            f"one message to six channels, all receipts committed (5 runs): median {statistics.median(six):.0f} ms, "
            f"max {max(six):.0f} ms  (target < 1000 ms)"
        )
    for incidents, what in ((10, "10 incidents, alerts then updates"), (a.messages, "every message a current alert")):
        rate, made = bench_folder_throughput(a.messages, incidents=incidents)
        print(
            f"outbox to the local folder, {a.messages} messages ({what}): {rate:.0f} messages/s (target >= 200); "
            f"(drafting, approving and publishing them ran at {made:.0f}/s)"
        )


if __name__ == "__main__":
    main()
