"""Issue 16's "Done when", end to end, as a team runs it: the real ``crisisdesk`` command in a process of its own for
every step, one SQLite file per workstation, a real PostgreSQL hub (tests/support/postgres.py) and a webhook
receiver on 127.0.0.1 counting what the public gets.

Three workstations (the founder, a communicator's desk and the incident commander's desk) run an incident: people
and roles added on the founder reach the others; carla drafts on her desk, ivan approves on the commander's, carla
and dana publish the same version at once from two desks and the public gets it once; every log verifies, holds
the same entries and folds to the same state. Then the commander's desk loses the hub while dana and carla edit the
same message: sibling versions on both once it is back, carla merges, ivan approves, it goes out once. Then a site
with no network joins from a bundle, works, and its work reaches the team through the founder; a changed and a
replayed bundle are refused and change nothing.

Who signs in where: passwords stay on the workstation where they were set, so each desk joins with ``--as root``
(root's password there, recorded as ``user.password_set`` by root) and root sets the others' there with ``users
reset-password``; a channel's secret stays in the keyring where it was given, so each desk has its own keyring file
(as on its own machine) and root gives the webhook's secret to the desks that send with ``channels set-secret``.

What still stands in: the CLI has no clock override, so "offline for hours" is real time with entries written while
offline.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from crisisdesk.store.migrations import PROJECTION_TABLES
from tests.support import file_keyring
from tests.support.http_servers import ReceiverState, webhook_receiver
from tests.support.postgres import HubDatabase
from tests.support.servers import free_port

REPO = Path(__file__).resolve().parents[2]
CRISISDESK = Path(sys.prefix) / "bin" / "crisisdesk"
HOOK = "county-hook"
PASSWORDS = {
    "root": "correct horse battery",
    "carla": "carla password",
    "ivan": "ivan password",
    "dana": "dana password",
}


@dataclass
class Desk:
    """One workstation: its file, run through the real command line."""

    name: str
    db: Path
    timings: dict[str, float] = field(default_factory=dict)

    def command(self, *args: str, who: str | None = None) -> list[str]:
        return [str(CRISISDESK), *args, "--db", str(self.db), *(["--as", who] if who else [])]

    @property
    def keyring(self) -> Path:
        """This workstation's own keyring (as on its own machine): signing key, hub password, channel secrets."""
        return self.db.with_name(f"{self.name}-keyring.json")

    def env(self, who: str | None) -> dict[str, str]:
        env = {**os.environ, "PYTHONPATH": str(REPO)}  # the test keyring backend lives in tests/support
        env[file_keyring.ENV] = str(self.keyring)
        env.pop("CRISISDESK_PASSWORD", None)
        if who:
            env["CRISISDESK_PASSWORD"] = PASSWORDS[who]
        return env

    def run(self, *args: str, who: str | None = None, stdin: str = "", expect: int = 0) -> str:
        started = time.monotonic()
        done = subprocess.run(
            self.command(*args, who=who),
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env(who),
            timeout=120,
            check=False,
        )
        key = f"{args[0]} {args[1]}" if len(args) > 1 and not args[1].startswith(("-", "/")) else args[0]
        self.timings[key] = max(self.timings.get(key, 0.0), time.monotonic() - started)
        said = f"{self.name}: crisisdesk {' '.join(args)} -> exit {done.returncode}\n{done.stdout}\n{done.stderr}"
        assert done.returncode == expect, said
        assert "Traceback" not in done.stderr, said
        return done.stdout if expect == 0 else done.stderr

    def start(self, *args: str, who: str | None = None) -> subprocess.Popen[str]:
        return subprocess.Popen(
            self.command(*args, who=who),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=self.env(who),
        )

    def sync(self) -> str:
        return self.run("sync", "--once")

    def query(self, sql: str, params: tuple[object, ...] = ()) -> list[tuple[object, ...]]:
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=10)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def entries(self) -> set[tuple[str, int, str]]:
        return {(str(w), int(s), str(h)) for w, s, h in self.query("SELECT workstation_id, seq, hash FROM events")}

    def state(self) -> dict[str, list[tuple[object, ...]]]:
        """Every projection table's rows, sorted (rowids and insertion order are local)."""
        out = {}
        for table in PROJECTION_TABLES:
            rows = self.query(f"SELECT * FROM {table}")  # the schema's own table names
            out[table] = sorted(rows, key=repr)
        return out

    def set_local(self, key: str, value: str) -> None:
        conn = sqlite3.connect(self.db, timeout=10)
        try:
            with conn:
                conn.execute("UPDATE local_settings SET value = ? WHERE key = ?", (value, key))
        finally:
            conn.close()

    def local(self, key: str) -> str:
        ((value,),) = self.query("SELECT value FROM local_settings WHERE key = ?", (key,))
        return str(value)

    def message(self, msg: str, who: str) -> dict[str, object]:
        shown: dict[str, object] = orjson.loads(self.run("message", "show", msg, "--json", who=who))
        return shown


def passwords_for(desk: Desk, *names: str) -> None:
    """root (who joined this desk with --as root) sets the others' passwords here."""
    for name in names:
        desk.run("users", "reset-password", name, "--password-stdin", who="root", stdin=PASSWORDS[name] + "\n")


def together(*runs: tuple[Desk, tuple[str, ...], str]) -> list[tuple[int, str, str]]:
    """Start every command at once, then wait for all: two workstations acting at the same moment."""
    procs = [desk.start(*args, who=who) for desk, args, who in runs]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=120)
        out.append((proc.returncode, stdout, stderr))
    return out


def same_everywhere(desks: list[Desk]) -> None:
    """Once every desk has pushed and pulled: every log verifies, holds the same entries, folds to the same state."""
    for _ in range(2):
        for desk in desks:
            desk.sync()
    for desk in desks:
        said = desk.run("audit", "verify")
        assert "intact" in said, said
    entries = [desk.entries() for desk in desks]
    assert all(e == entries[0] for e in entries), [len(e) for e in entries]
    states = [desk.state() for desk in desks]
    for table in PROJECTION_TABLES:
        assert all(s[table] == states[0][table] for s in states), (table, [s[table] for s in states])


def version_hash(shown: dict[str, object]) -> str:
    value = shown["hash"]
    assert isinstance(value, str)
    return value


@pytest.fixture
def hook() -> Iterator[tuple[str, ReceiverState]]:
    with webhook_receiver() as served:
        yield served


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_a_team_runs_an_incident_through_the_hub_offline_and_by_bundle(
    tmp_path: Path, hub_db: HubDatabase, hook: tuple[str, ReceiverState]
) -> None:
    assert CRISISDESK.is_file(), f"{CRISISDESK}: run 'uv sync' first"
    hook_url, received = hook
    story_started = time.monotonic()
    founder, comms, command = (Desk(n, tmp_path / f"{n}.sqlite3") for n in ("founder", "communicator", "commander"))
    desks = [founder, comms, command]

    # -- the team: founded on one, joined by two, people added by the admin reach the others ---------------------
    founder.run("init", "--admin", "root", "--password-stdin", stdin=PASSWORDS["root"] + "\n")
    founder.run("hub", "init", hub_db.url_with_password, who="root")
    for desk, name in ((comms, "Communicator desk"), (command, "Commander desk")):
        said = desk.run("hub", "join", hub_db.url, "--workstation", name, "--password-stdin", who="root",
                        stdin=hub_db.password + "\n")  # fmt: skip
        assert "root can sign in here" in said, said
    roles = {"carla": "communicator", "ivan": "approver", "dana": "communicator"}
    for name, role in roles.items():
        founder.run("users", "add", name, "--role", role, "--password-stdin", who="root", stdin=PASSWORDS[name] + "\n")
    founder.run("channels", "add", "webhook", HOOK, "--set", f"url={hook_url}", "--secret-stdin", who="root",
                stdin="hook key\n")  # fmt: skip
    founder.sync()
    for desk in (comms, command):
        assert "applied" in desk.sync()
    passwords_for(comms, "carla")
    passwords_for(command, "ivan", "dana")
    # The webhook's secret is in the founder's keyring only: a desk without its copy says what to do.
    missing = comms.run("channels", "test", HOOK, who="root", expect=3)
    assert f"crisisdesk channels set-secret {HOOK} --secret-stdin" in missing, missing
    for desk in (comms, command):
        said = desk.run("channels", "set-secret", HOOK, "--secret-stdin", who="root", stdin="hook key\n")
        assert "keyring holds its HMAC signing key now" in said, said
        assert "hook key" in desk.keyring.read_text()
    for desk in (comms, command):
        people = {p["name"]: sorted(p["roles"]) for p in orjson.loads(desk.run("users", "list", "--json", who="root"))}
        assert people == {"root": ["admin"], **{n: [r] for n, r in roles.items()}}, (desk.name, people)

    # -- carla drafts on her desk, ivan approves on the commander's --------------------------------------------------
    expires = (datetime.now(UTC) + timedelta(hours=6)).strftime("%Y-%m-%dT%H:%M%z")
    facts = ["area=Mill Creek valley | geocode: SAME=006067", f"expires={expires}", "phone=211",
             "info_url=https://ready.millcounty.gov/flood", "area@es=el valle de Mill Creek"]  # fmt: skip
    inc = comms.run(
        "incident", "open", "flash-flood", "--mode", "live", "--quiet", *(f"--fact={f}" for f in facts), who="carla"
    ).strip()
    alert = comms.run("message", "draft", inc, "--type", "alert", "--quiet", who="carla").strip()
    comms.run("message", "targets", alert, HOOK, who="carla")
    comms.run("message", "submit", alert, who="carla")
    comms.sync()
    command.sync()
    shown = command.message(alert, "ivan")
    command.run("message", "approve", alert, "--hash", version_hash(shown), who="ivan")
    command.sync()
    comms.sync()
    founder.sync()

    # -- carla and dana publish it at the same moment from two desks; the public gets it once ------------------------
    confirm = f"PUBLISH LIVE {alert}"
    published = together(
        (comms, ("message", "publish", alert, "--confirm", confirm), "carla"),
        (command, ("message", "publish", alert, "--confirm", confirm), "dana"),
    )
    assert all(code == 0 for code, _, _ in published), published
    sent = together((comms, ("outbox", "run", "--once"), ""), (command, ("outbox", "run", "--once"), ""))
    assert all(code == 0 for code, _, _ in sent), sent
    assert len(received.posts()) == 1, [p.body for p in received.posts()]
    for _ in range(2):
        for desk in desks:
            desk.sync()
    for desk in (comms, command):
        desk.run("outbox", "run", "--once")
    assert len(received.posts()) == 1
    same_everywhere(desks)
    # Both desks tried: the one that lost the hub's claim recorded it, and the row is sent everywhere.
    lost = founder.query("SELECT workstation_id FROM events WHERE kind = 'outbox.claimed_elsewhere'")
    assert len(lost) == 1, lost
    for desk in desks:
        rows = orjson.loads(desk.run("outbox", "list", "--message", alert, "--json", who="root"))
        assert [r["state"] for r in rows] == ["sent"], (desk.name, rows)
    first_part = time.monotonic() - story_started

    # -- the commander's desk loses the hub while dana and carla edit the same message --------------------------------
    update = comms.run("message", "draft", inc, "--type", "update", "--quiet", who="carla").strip()
    comms.run("message", "targets", update, HOOK, who="carla")
    comms.sync()
    command.sync()
    base = version_hash(command.message(update, "dana"))
    hub_url = command.local("hub_url")
    dead = hub_url.replace(f":{hub_db.server.port}/", f":{free_port()}/")
    command.set_local("hub_url", dead)  # a hub the desk cannot reach (its cursor and password stay as they were)
    offline_started = time.monotonic()
    (tmp_path / "dana.txt").write_text("Mill Creek: water still rising at the Main St bridge. Stay away.\n")
    command.run("message", "edit", update, "--channel", "web", "--lang", "en", "--text-file",
                str(tmp_path / "dana.txt"), who="dana")  # fmt: skip
    command.run("incident", "set-fact", inc, "phone=311", who="dana")
    said = command.run("sync", "--once", expect=3)  # an outside service failed: one line, exit 3
    assert "is not reachable" in said and said.count("\n") == 1, said
    (tmp_path / "carla.txt").write_text("Mill Creek: the shelter at Lincoln School is open. Stay away.\n")
    comms.run("message", "edit", update, "--channel", "web", "--lang", "en", "--text-file",
              str(tmp_path / "carla.txt"), who="carla")  # fmt: skip
    comms.sync()
    command.set_local("hub_url", hub_url)
    offline_for = time.monotonic() - offline_started
    command.sync()
    comms.sync()
    for desk, who in ((comms, "carla"), (command, "dana")):
        shown = desk.message(update, who)
        siblings = shown["siblings"]
        assert isinstance(siblings, list) and len(siblings) == 2, (desk.name, shown)
        assert len({s["version"] for s in siblings}) == 1 and base not in {s["hash"] for s in siblings}, siblings
        assert {s["author"] for s in siblings} == {"carla", "dana"}, siblings
    refusal = comms.run("message", "submit", update, who="carla", expect=2)
    assert "message merge" in refusal and refusal.count("\n") == 1, refusal
    keep = next(s["hash"] for s in comms.message(update, "carla")["siblings"] if s["author"] == "carla")
    (tmp_path / "merged.txt").write_text(
        "Mill Creek: water still rising at the Main St bridge. The shelter at Lincoln School is open.\n"
    )
    comms.run("message", "merge", update, "--keep", keep, "--channel", "web", "--lang", "en", "--text-file",
              str(tmp_path / "merged.txt"), who="carla")  # fmt: skip
    comms.run("message", "submit", update, who="carla")
    comms.sync()
    command.sync()
    merged = command.message(update, "ivan")
    assert not merged.get("siblings"), merged
    command.run("message", "approve", update, "--hash", version_hash(merged), who="ivan")
    command.sync()
    comms.sync()
    comms.run("message", "publish", update, "--confirm", f"PUBLISH LIVE {update}", who="carla")
    comms.run("outbox", "run", "--once")
    for desk in desks:
        desk.sync()
    command.run("outbox", "run", "--once")
    posts = received.posts()
    assert len(posts) == 2, [p.body for p in posts]
    assert b"Lincoln School" in posts[1].body and b"Main St bridge" in posts[1].body
    comms.sync()
    same_everywhere(desks)

    # -- a site with no network joins from a bundle, works, and its work reaches the team ----------------------------
    site = Desk("field-site", tmp_path / "field-site.sqlite3")
    exported = founder.entries()
    founder.run("bundle", "export", "--since", "all", "--out", str(tmp_path / "to-site.bundle"))
    said = site.run("bundle", "join", str(tmp_path / "to-site.bundle"), "--workstation", "Field site", who="root")
    assert "joined the team" in said and "root can sign in here" in said, said
    assert site.entries() >= exported
    passwords_for(site, "dana")
    people = {p["name"]: sorted(p["roles"]) for p in orjson.loads(site.run("users", "list", "--json", who="root"))}
    assert people == {"root": ["admin"], **{n: [r] for n, r in roles.items()}}, people  # the team's admin counts
    site.run("incident", "set-fact", inc, "area=Mill Creek valley and Oak Flat", who="dana")
    site.run("incident", "step-done", inc, "1", who="dana")
    site_ws = site.local("workstation_id")
    cursor = founder.run("bundle", "cursor").strip()
    back = tmp_path / "back.bundle"
    site.run("bundle", "export", "--since", cursor, "--out", str(back))
    tampered = tmp_path / "tampered.bundle"
    data = back.read_bytes()
    tampered.write_bytes(flip(data))
    before = (founder.entries(), founder.state())
    refusal = founder.run("bundle", "import", str(tampered), expect=2)
    assert refusal.count("\n") == 1 and ("changed" in refusal or "does not match" in refusal), refusal
    assert (founder.entries(), founder.state()) == before
    founder.run("bundle", "import", str(back))
    before = (founder.entries(), founder.state())
    refusal = founder.run("bundle", "import", str(back), expect=2)
    assert "imported already" in refusal, refusal
    assert (founder.entries(), founder.state()) == before
    founder.sync()
    comms.sync()
    command.sync()
    for desk in desks:
        assert {e for e in site.entries() if e[0] == site_ws} <= desk.entries(), desk.name
    facts_now = dict(comms.query("SELECT name, value FROM incident_facts WHERE incident_id = ?", (inc,)))
    assert "Oak Flat" in str(facts_now.get("area")), facts_now
    same_everywhere(desks)
    assert "intact" in site.run("audit", "verify")
    assert len(received.posts()) == 2
    # Every desk's log says who set a password on which workstation, and which workstations hold the webhook's
    # secret (never the secret itself, nor a password hash).
    joined = {desk.local("workstation_id") for desk in (comms, command)}
    roots = {(founder.local("workstation_id"), "system")} | {(ws, "root") for ws in {*joined, site_ws}}
    for desk in desks:
        set_here = set(desk.query("SELECT workstation_id, actor FROM events WHERE kind = 'user.password_set' "
                                  "AND json_extract(body, '$.payload.name') = 'root'"))  # fmt: skip
        assert set_here == roots, (desk.name, set_here)
        secrets = desk.query("SELECT json_extract(body, '$.payload.workstation') FROM events "
                             "WHERE kind = 'channel.secret_set'")  # fmt: skip
        assert {str(ws) for (ws,) in secrets} == joined, (desk.name, secrets)
        for path in tmp_path.glob(f"{desk.name}.sqlite3*"):
            assert b"hook key" not in path.read_bytes(), path

    timings = {desk.name: desk.timings for desk in (*desks, site)}
    print(  # what the story showed, for the report (pytest -s)
        f"\nteam story: {time.monotonic() - story_started:.1f} s in all; first part (found, join, draft, approve, "
        f"publish twice at once) {first_part:.1f} s; the commander's desk offline {offline_for:.1f} s; slowest "
        f"step per command: {timings}"
    )


def flip(data: bytes) -> bytes:
    """One byte changed in an entry line's body (base64), where a changed byte is a changed entry."""
    lines = data.split(b"\n")
    entry = bytearray(lines[1])
    at = entry.index(b'"body":"') + 20
    entry[at] = ord("A") if entry[at] != ord("A") else ord("B")
    lines[1] = bytes(entry)
    return b"\n".join(lines)
