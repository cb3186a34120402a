"""Hostile tests (issue 16): bundles made by a team member who holds a valid workstation key and signs whatever
they like (header, entries, trailer). Whatever the content, the import says one line, exit 2, never a traceback,
and changes nothing it should not. Real SQLite files, real keys, the CLI."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import orjson
import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.events import seal
from crisisdesk.domain.signing import Signer
from tests.integration.sync_helpers import note, ws_of
from tests.integration.test_bundles import EXIT_USER, Run, clock, content, export, run, sites

__all__ = ["clock", "run", "sites"]  # fixtures


def resign(sender: App, lines: list[bytes]) -> bytes:
    """Header and entry lines as the member chose them, with a trailer signed by the member's own valid key."""
    key = sender.secrets.signing_key(ws_of(sender))
    assert key is not None
    before = b"".join(line + b"\n" for line in lines)
    digest = hashlib.sha256(before).hexdigest()
    return before + orjson.dumps({"sha256": digest, "signature": Signer(key).sign_bundle(digest)}) + b"\n"


def one_line_refusal(run: Run, app: App, bundle: Path) -> str:
    before = content(app)
    code, out, err = run(app, "bundle", "import", str(bundle))
    assert code == EXIT_USER, (code, out, err)
    assert err.count("\n") == 1 and err.startswith("crisisdesk: error: ") and "Traceback" not in err, err
    assert content(app) == before
    return err


@pytest.mark.parametrize("seq", [2**63, -1])
def test_a_signed_bundle_whose_header_heads_hold_an_absurd_seq_is_one_line(
    sites: tuple[App, App, App], run: Run, tmp_path: Path, seq: int
) -> None:
    commander, communicator, _ = sites
    note(communicator, "road closed")
    lines = export(run, communicator, commander, tmp_path / "real.bundle").split(b"\n")[:-2]
    header = orjson.loads(lines[0])
    header["heads"][ws_of(commander)] = [seq, "0" * 64]
    lines[0] = orjson.dumps(header, option=orjson.OPT_SORT_KEYS)
    (tmp_path / "forged.bundle").write_bytes(resign(communicator, lines))
    code, out, err = run(commander, "bundle", "import", str(tmp_path / "forged.bundle"))
    assert code in {0, EXIT_USER} and "Traceback" not in err and err.count("\n") <= 1, (code, out, err)


def test_a_signed_bundle_claiming_this_workstation_s_chain_went_further_does_not_fail_its_audit(
    sites: tuple[App, App, App], run: Run, tmp_path: Path
) -> None:
    """A member's bundle says it has seen the importing workstation's chain up to seq 1,000,000 (it has not: it
    can show no such entry). The importer's audit must not then say its own log lost its tail, for ever."""
    commander, communicator, _ = sites
    note(communicator, "road closed")
    lines = export(run, communicator, commander, tmp_path / "real.bundle").split(b"\n")[:-2]
    header = orjson.loads(lines[0])
    header["heads"][ws_of(commander)] = [1_000_000, "0" * 64]
    lines[0] = orjson.dumps(header, option=orjson.OPT_SORT_KEYS)
    (tmp_path / "forged.bundle").write_bytes(resign(communicator, lines))
    run(commander, "bundle", "import", str(tmp_path / "forged.bundle"))
    verified = commander.audit.verify()
    assert verified.ok, verified.describe()


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 5000 + b"]" * 5000,
        b'{"ws":"\xff\xfe","seq":1}',
        b'{"actor":"x","at":"t","kind":"note.added","payload":'
        + b'{"a":' * 2000
        + b"1"
        + b"}" * 2000
        + b',"prev":"","seq":1,"v":1,"ws":"w"}',
    ],
    ids=["deep-list", "not-utf8", "deep-payload"],
)
def test_a_signed_bundle_with_a_hostile_entry_body_is_one_line(
    sites: tuple[App, App, App], run: Run, tmp_path: Path, body: bytes
) -> None:
    commander, communicator, _ = sites
    lines = export(run, communicator, commander, tmp_path / "real.bundle").split(b"\n")[:-2]
    entry = {"body": base64.b64encode(body).decode(), "hash": hashlib.sha256(body).hexdigest(), "signature": None}
    lines.append(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS))
    header = orjson.loads(lines[0])
    header["count"] += 1
    lines[0] = orjson.dumps(header, option=orjson.OPT_SORT_KEYS)
    (tmp_path / "hostile.bundle").write_bytes(resign(communicator, lines))
    one_line_refusal(run, commander, tmp_path / "hostile.bundle")


def test_a_signed_bundle_with_an_entry_of_this_workstation_s_own_id_changes_nothing_here(
    sites: tuple[App, App, App], run: Run, tmp_path: Path, clock: FixedClock
) -> None:
    """The communicator impersonates the commander: a next entry in the commander's own chain, signed by nobody's
    key. The commander must not take it (nor let it fail its audit)."""
    commander, communicator, _ = sites
    me = ws_of(commander)
    last = commander.db.conn.execute(
        "SELECT seq, hash, body FROM events WHERE workstation_id = ? ORDER BY seq DESC LIMIT 1", (me,)
    ).fetchone()
    fake = seal(
        workstation_id=me,
        seq=int(last[0]) + 1,
        at=str(orjson.loads(last[2])["at"]),
        actor="alice",
        kind="note.added",
        payload={"note": "I never wrote this"},
        prev_hash=str(last[1]),
    )
    lines = export(run, communicator, commander, tmp_path / "real.bundle").split(b"\n")[:-2]
    entry = {"body": base64.b64encode(fake.body).decode(), "hash": fake.hash, "signature": None}
    lines.append(orjson.dumps(entry, option=orjson.OPT_SORT_KEYS))
    header = orjson.loads(lines[0])
    header["count"] += 1
    lines[0] = orjson.dumps(header, option=orjson.OPT_SORT_KEYS)
    (tmp_path / "impostor.bundle").write_bytes(resign(communicator, lines))
    _code, _out, err = run(commander, "bundle", "import", str(tmp_path / "impostor.bundle"))
    assert "Traceback" not in err and err.count("\n") <= 1, err
    assert commander.db.conn.execute("SELECT count(*) FROM events WHERE hash = ?", (fake.hash,)).fetchone()[0] == 0
    verified = commander.audit.verify()
    assert verified.ok, verified.describe()
