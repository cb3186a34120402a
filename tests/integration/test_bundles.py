"""Bundle files (issue 16 item 5): `crisisdesk bundle export|import|cursor` between real workstation files, and
every way a bundle can be bad: changed in any byte, cut short, replayed, signed by a key that is not (or no longer)
its workstation's. A refused bundle changes nothing: the database's content and the bundle file are the same
before and after."""

from __future__ import annotations

import base64
import hashlib
import io
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.cli import main
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import Kind
from crisisdesk.domain.signing import Signer, new_private_key, private_key_text
from crisisdesk.services.bundles import FORMAT, BundleService
from tests.integration.sync_helpers import copy_file, count, note, notes, workstation, ws_of

EXIT_USER = 2


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))


@pytest.fixture
def sites(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[App, App, App]]:
    apps = (
        workstation(tmp_path / "commander.sqlite3", "alice", "commander", clock),
        workstation(tmp_path / "communicator.sqlite3", "carla", "communicator", clock),
        workstation(tmp_path / "backup-site.sqlite3", "bea", "backup site", clock),
    )
    yield apps
    for app in apps:
        app.close()


class Run:
    def __init__(self, capsys: pytest.CaptureFixture[str]) -> None:
        self.capsys = capsys

    def __call__(self, app: App, *args: str) -> tuple[int, str, str]:
        out = io.StringIO()
        code = main([*args, "--db", str(app.db.path)], stdin=io.StringIO(""), stdout=out)
        return code, out.getvalue(), self.capsys.readouterr().err


@pytest.fixture
def run(capsys: pytest.CaptureFixture[str]) -> Run:
    return Run(capsys)


def content(app: App) -> str:
    """Everything the database holds, table by table (its bytes on disk may move between the file and its WAL)."""
    conn = sqlite3.connect(app.db.path)
    try:
        return hashlib.sha256("\n".join(conn.iterdump()).encode()).hexdigest()
    finally:
        conn.close()


def export(run: Run, sender: App, receiver: App, out: Path) -> bytes:
    code, cursor, err = run(receiver, "bundle", "cursor")
    assert code == 0, err
    code, said, err = run(sender, "bundle", "export", "--since", cursor.strip(), "--out", str(out))
    assert code == 0, err
    assert said.startswith("wrote bundle ") and str(out) in said
    return out.read_bytes()


def refused(run: Run, app: App, bundle: Path) -> str:
    """Import ``bundle`` into ``app``, expect a refusal, check nothing changed; the one line said."""
    before, file_before, entries = content(app), bundle.read_bytes(), count(app)
    code, out, err = run(app, "bundle", "import", str(bundle))
    assert code == EXIT_USER, (code, out, err)
    assert out == "" and err.count("\n") == 1 and err.startswith("crisisdesk: error: "), err
    assert content(app) == before and count(app) == entries and bundle.read_bytes() == file_before
    return err.strip()


def test_a_bundle_carries_a_workstation_s_entries_and_is_taken_in_once(
    sites: tuple[App, App, App], run: Run, tmp_path: Path
) -> None:
    commander, communicator, _ = sites
    notes(communicator, 5, "shelter open")
    data = export(run, communicator, commander, tmp_path / "to-commander.bundle")
    header = orjson.loads(data.split(b"\n")[0])
    assert header["format"] == FORMAT and header["from"] == ws_of(communicator)
    assert header["count"] == communicator.log.last_seq(ws_of(communicator))  # the commander had none of them
    code, out, err = run(commander, "bundle", "import", str(tmp_path / "to-commander.bundle"))
    assert code == 0, err
    assert out.startswith(f"imported bundle {header['bundle']} from workstation {ws_of(communicator)}: ")
    assert f"{header['count']} entries applied" in out
    assert commander.log.last_seq(ws_of(communicator)) == header["count"]
    assert commander.audit.verify().ok, commander.audit.verify().describe()
    (imported,) = [e.payload for e in commander.log.events() if e.kind == Kind.BUNDLE_IMPORTED]
    assert imported["bundle"] == header["bundle"] and imported["entries"] == header["count"]
    # Replayed: refused, nothing changes.
    line = refused(run, commander, tmp_path / "to-commander.bundle")
    assert "was imported already" in line and header["bundle"] in line
    # The next bundle carries only what the commander lacks.
    note(communicator, "bridge closed")
    data = export(run, communicator, commander, tmp_path / "next.bundle")
    assert orjson.loads(data.split(b"\n")[0])["count"] == 1


def test_a_site_relays_what_it_received(sites: tuple[App, App, App], run: Run, tmp_path: Path) -> None:
    commander, communicator, backup = sites
    notes(communicator, 3)
    notes(commander, 2)
    export(run, communicator, commander, tmp_path / "a.bundle")
    assert run(commander, "bundle", "import", str(tmp_path / "a.bundle"))[0] == 0
    data = export(run, commander, backup, tmp_path / "relay.bundle")
    carried = {orjson.loads(base64.b64decode(orjson.loads(line)["body"]))["ws"] for line in data.split(b"\n")[1:-2]}
    assert carried == {ws_of(commander), ws_of(communicator)}
    code, _out, err = run(backup, "bundle", "import", str(tmp_path / "relay.bundle"))
    assert code == 0, err
    for ws in (ws_of(commander), ws_of(communicator)):
        source = commander if ws == ws_of(commander) else communicator
        assert backup.log.last_seq(ws) == source.log.last_seq(ws)
    assert backup.audit.verify().ok


@pytest.fixture
def bundle(sites: tuple[App, App, App], run: Run, tmp_path: Path) -> Path:
    commander, communicator, _ = sites
    notes(communicator, 4, "road closed")
    path = tmp_path / "good.bundle"
    export(run, communicator, commander, path)
    return path


def test_a_bundle_changed_in_any_byte_is_refused(
    sites: tuple[App, App, App], run: Run, bundle: Path, tmp_path: Path
) -> None:
    commander = sites[0]
    data = bundle.read_bytes()
    newlines = {i for i, b in enumerate(data) if b == 0x0A}
    # Every 29th byte, and the trailer's last 20: header, entries' hashes, bodies, signatures, trailer.
    places = sorted(({*range(0, len(data), 29), *range(len(data) - 20, len(data))}) - newlines)
    reasons = set()
    for place in places:
        changed = bytearray(data)
        changed[place] ^= 0x01
        target = tmp_path / "changed.bundle"
        target.write_bytes(bytes(changed))
        line = refused(run, commander, target)
        reasons.add(line)
    assert any("line 1 is not a crisisdesk bundle header" in r or "does not match the checksum" in r for r in reasons)
    text = " ".join(reasons)
    assert "does not match its hash" in text or "not a bundle entry" in text
    # And the good bundle still goes in.
    assert run(commander, "bundle", "import", str(bundle))[0] == 0


def test_a_changed_entry_is_named_by_its_line(sites: tuple[App, App, App], run: Run, bundle: Path) -> None:
    lines = bundle.read_bytes().split(b"\n")
    i = next(
        i for i, line in enumerate(lines[1:-2], 1) if b"road closed" in base64.b64decode(orjson.loads(line)["body"])
    )
    entry = orjson.loads(lines[i])
    entry["body"] = base64.b64encode(base64.b64decode(entry["body"]).replace(b"road closed", b"road opened")).decode()
    lines[i] = orjson.dumps(entry)
    bundle.write_bytes(b"\n".join(lines))
    line = refused(run, sites[0], bundle)
    assert f"line {i + 1}: the entry's content does not match its hash (changed)" in line


@pytest.mark.parametrize("cut", ["trailer", "half a line", "an entry"])
def test_a_truncated_bundle_is_refused(sites: tuple[App, App, App], run: Run, bundle: Path, cut: str) -> None:
    data = bundle.read_bytes()
    lines = data.split(b"\n")[:-1]
    if cut == "trailer":
        bundle.write_bytes(b"".join(line + b"\n" for line in lines[:-1]))
        expected = "is truncated: its last line (line"
    elif cut == "half a line":
        bundle.write_bytes(data[: len(data) - 30])
        expected = "is cut off"
    else:
        bundle.write_bytes(b"".join(line + b"\n" for line in [*lines[:2], *lines[3:]]))
        expected = f"its header announces {len(lines) - 2} entries, it holds {len(lines) - 3}"
    assert expected in refused(run, sites[0], bundle)


def test_a_bundle_signed_by_a_key_that_is_not_its_workstation_s_is_refused(
    sites: tuple[App, App, App], run: Run, bundle: Path
) -> None:
    lines = bundle.read_bytes().split(b"\n")[:-1]
    before = b"".join(line + b"\n" for line in lines[:-1])
    digest = hashlib.sha256(before).hexdigest()
    stranger = Signer(private_key_text(new_private_key()))
    bundle.write_bytes(before + orjson.dumps({"sha256": digest, "signature": stranger.sign_bundle(digest)}) + b"\n")
    line = refused(run, sites[0], bundle)
    assert f"signed by key {stranger.key_id}, which is not a key of workstation {ws_of(sites[1])}" in line
    # The right key id with another key's bytes: forged.
    real = orjson.loads(lines[-1])["signature"].split(".")[0]
    forged = real + "." + stranger.sign_bundle(digest).split(".")[1]
    bundle.write_bytes(before + orjson.dumps({"sha256": digest, "signature": forged}) + b"\n")
    assert "is not workstation" in refused(run, sites[0], bundle) and "(forged)" in refused(run, sites[0], bundle)


def test_a_bundle_signed_by_a_revoked_key_is_refused(
    sites: tuple[App, App, App], run: Run, tmp_path: Path, clock: FixedClock
) -> None:
    commander, communicator, _ = sites
    export(run, communicator, commander, tmp_path / "first.bundle")
    assert run(commander, "bundle", "import", str(tmp_path / "first.bundle"))[0] == 0
    remote = ws_of(communicator)
    key = next(k.key for k in commander.workstation_keys().declared() if k.workstation == remote)
    clock.advance(timedelta(hours=1))
    commander.workstation_keys().revoke(commander.people.actor("alice"), remote, key, "laptop stolen")
    note(communicator, "the communicator has not heard of it")
    export(run, communicator, commander, tmp_path / "second.bundle")
    line = refused(run, commander, tmp_path / "second.bundle")
    assert f"signed by key {key} of workstation {remote}, which was revoked at " in line


def test_a_bundle_with_an_equivocation_is_refused_and_the_alarm_kept(
    sites: tuple[App, App, App], run: Run, tmp_path: Path, clock: FixedClock
) -> None:
    commander, communicator, _ = sites
    twin = App.open(copy_file(communicator, tmp_path / "twin.sqlite3"), clock=clock)
    try:
        note(communicator, "the original")
        note(twin, "the twin")
        export(run, communicator, commander, tmp_path / "original.bundle")
        assert run(commander, "bundle", "import", str(tmp_path / "original.bundle"))[0] == 0
        held = commander.log.last_seq(ws_of(communicator))
        code, _out, err = run(twin, "bundle", "export", "--since", "all", "--out", str(tmp_path / "twin.bundle"))
        assert code == 0, err
        code, _out, err = run(commander, "bundle", "import", str(tmp_path / "twin.bundle"))
        assert code == EXIT_USER and "equivocation" in err and err.count("\n") == 1
        assert commander.log.last_seq(ws_of(communicator)) == held
        alarms = [e.payload for e in commander.log.events() if e.kind == Kind.SYNC_EQUIVOCATION]
        assert [(a["workstation"], a["seq"]) for a in alarms] == [(ws_of(communicator), held)]
    finally:
        twin.close()


def test_export_is_written_whole_or_not_at_all(sites: tuple[App, App, App], run: Run, tmp_path: Path) -> None:
    communicator = sites[1]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    code, _out, err = run(communicator, "bundle", "export", "--since", "all", "--out", str(blocker / "x.bundle"))
    assert code == EXIT_USER and err.count("\n") == 1 and "x.bundle" in err, err
    code, _out, err = run(communicator, "bundle", "export", "--since", "all", "--out", "/dev/full")
    assert code == EXIT_USER and "replaces only a regular file" in err, err
    code, _out, err = run(communicator, "bundle", "export", "--since", "all", "--out", str(tmp_path / "no" / "b"))
    assert code == EXIT_USER and "does not exist" in err
    code, _out, err = run(communicator, "bundle", "export", "--since", "ws=abc", "--out", str(tmp_path / "b"))
    assert code == EXIT_USER and "is not WORKSTATION=SEQ" in err and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []  # no temporary file left
    code, _out, err = run(sites[0], "bundle", "import", str(tmp_path / "missing.bundle"))
    assert code == EXIT_USER and "cannot read" in err
    # Into a database that was never set up: one line, not a crash.
    from crisisdesk.store.db import Database

    bare = Database.open(tmp_path / "bare.sqlite3", create=True)
    bare.close()
    out = io.BytesIO()
    BundleService(communicator).export(out, "all")
    (tmp_path / "c.bundle").write_bytes(out.getvalue())
    code = main(["bundle", "import", str(tmp_path / "c.bundle"), "--db", str(tmp_path / "bare.sqlite3")])
    err = run.capsys.readouterr().err
    assert code == EXIT_USER and "is not set up yet" in err, err


def test_the_service_exports_into_any_stream(sites: tuple[App, App, App]) -> None:
    commander, communicator, _ = sites
    out = io.BytesIO()
    done = BundleService(communicator).export(out, "all")
    imported = BundleService(commander).import_bytes(out.getvalue())
    assert imported.bundle == done.bundle and imported.report.applied == done.entries
