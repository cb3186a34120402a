"""A log that lost its tail, or whose history was rewritten and re-hashed (issue 16 item 6): found by `audit verify`
once another site's bundle (or the hub) shows what it had seen of this workstation's chain."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from crisisdesk.app import App, verify_database
from crisisdesk.cli import main
from crisisdesk.domain.clock import FixedClock
from crisisdesk.services.bundles import BundleService
from crisisdesk.store.peer_heads import compare_heads, record_peer_heads
from tests.integration.sync_helpers import copy_file, notes, rewrite_chain, workstation, ws_of


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 22, 9, 30, tzinfo=UTC))


@pytest.fixture
def pair(tmp_path: Path, clock: FixedClock) -> Iterator[tuple[App, App]]:
    apps = (
        workstation(tmp_path / "commander.sqlite3", "alice", "commander", clock),
        workstation(tmp_path / "backup-site.sqlite3", "bea", "backup site", clock),
    )
    yield apps
    for app in apps:
        app.close()


def carry(sender: App, receiver: App) -> str:
    """A bundle from ``sender`` with what ``receiver`` lacks (by its cursor), imported there; the bundle's source."""
    out = io.BytesIO()
    done = BundleService(sender).export(out, BundleService(receiver).cursor())
    BundleService(receiver).import_bytes(out.getvalue())
    return f"bundle {done.bundle} from {ws_of(sender)}"


def verify_json(path: Path) -> dict[str, object]:
    out = io.StringIO()
    code = main(["audit", "verify", "--json", "--db", str(path)], stdout=out)
    data = json.loads(out.getvalue())
    assert code == (0 if data["ok"] else 1)
    return data  # type: ignore[no-any-return]


def test_a_log_that_lost_its_tail_is_named_once_a_bundle_shows_more(
    pair: tuple[App, App], tmp_path: Path, clock: FixedClock
) -> None:
    commander, backup = pair
    notes(commander, 5, "before the copy")
    # A copy of the file from before its last entries: a restored backup, or an attacker's old snapshot put back.
    old = copy_file(commander, tmp_path / "restored.sqlite3")
    notes(commander, 4, "after the copy")
    full = commander.log.last_seq(ws_of(commander))
    head = commander.log.head_entry(ws_of(commander), full)
    assert head is not None
    carry(commander, backup)
    restored = App.open(old, clock=clock)
    try:
        ours = restored.log.last_seq(ws_of(commander))
        assert ours < full and restored.audit.verify().ok  # alone, the shorter log chains correctly
        notes(backup, 2, "the backup site's own")
        source = carry(backup, restored)  # carries the lost entries too: never taken back
        # Only its own record of the import was appended (it forks from the lost entries: another alarm's matter).
        assert [e.kind for e in restored.log.events()][-1] == "bundle.imported"
        ours += 1
        assert restored.log.last_seq(ws_of(commander)) == ours
        report = restored.audit.verify()
        assert not report.ok
        (finding,) = report.peers
        assert (finding.kind, finding.source, finding.seq, finding.their_hash, finding.our_seq) == (
            "lost_tail",
            source,
            full,
            head[0],
            ours,
        )
        text = report.describe()
        assert text.splitlines()[0].startswith("audit check FAILED") and "this log lost its tail" in text
        assert (
            f"this log lost its tail: {source} has seen workstation {ws_of(commander)}'s entries up to seq {full} "
            f"(hash {head[0][:16]}…), this log ends at seq {ours}"
        ) in text
    finally:
        restored.close()
    data = verify_json(old)
    assert data["ok"] is False
    (shown,) = data["peer_heads"]  # type: ignore[misc]
    assert shown["kind"] == "lost_tail" and shown["their_hash"] == head[0] and shown["seq"] == full


def test_a_rewritten_and_rehashed_history_is_named(pair: tuple[App, App], clock: FixedClock) -> None:
    commander, backup = pair
    notes(commander, 6, "shelter at the school")
    ws = ws_of(commander)
    last = commander.log.last_seq(ws)
    original = commander.log.head_entry(ws, last)
    assert original is not None
    carry(commander, backup)
    path = commander.db.path
    commander.close()
    # The attacker rewrites an entry in the middle and re-hashes the chain after it: the chain verifies again.
    rewrite_chain(path, ws, last - 3, {"note": "shelter at the mall"})
    again = App.open(path, clock=clock)
    try:
        rewritten = again.log.head_entry(ws, last)
        assert rewritten is not None and rewritten[0] != original[0]
        assert again.log.verify().ok
        notes(backup, 1, "the backup site's own")
        source = carry(backup, again)
        report = again.audit.verify()
        assert not report.ok
        (finding,) = report.peers
        assert (finding.kind, finding.seq, finding.their_hash, finding.our_hash) == (
            "rewritten",
            last,
            original[0],
            rewritten[0],
        )
        assert (
            f"this workstation's history was rewritten: {source} has workstation {ws}'s entry seq {last} as "
            f"{original[0][:16]}…, this log's is {rewritten[0][:16]}…"
        ) in report.describe()
    finally:
        again.close()
    shown = verify_database(path).as_dict()["peer_heads"]
    assert [(f["kind"], f["their_hash"], f["our_hash"]) for f in shown] == [("rewritten", original[0], rewritten[0])]


def test_the_hub_s_heads_are_compared_the_same_way(pair: tuple[App, App]) -> None:
    """The hook the hub's check uses: heads in, findings out; and recorded heads keep the highest seq seen."""
    commander, _ = pair
    ws = ws_of(commander)
    last = commander.log.last_seq(ws)
    entry = commander.log.head_entry(ws, last)
    assert entry is not None
    conn = commander.db.conn
    assert compare_heads(conn, "hub db.example", {ws: (last, entry[0])}) == []
    assert compare_heads(conn, "hub db.example", {"ws-other": (40, "f" * 64)}) == []  # only behind it
    (lost,) = compare_heads(conn, "hub db.example", {ws: (last + 3, "a" * 64)})
    assert lost.kind == "lost_tail" and lost.our_seq == last and "hub db.example has seen" in lost.text
    (other,) = compare_heads(conn, "hub db.example", {ws: (last, "b" * 64)})
    assert other.kind == "rewritten" and other.our_hash == entry[0]
    assert commander.audit.compare_with("hub db.example", {ws: (last + 3, "a" * 64)}) == [lost]
    with commander.db.write() as c:
        record_peer_heads(c, "hub db.example", {ws: (last + 3, "a" * 64)})
        record_peer_heads(c, "hub db.example", {ws: (last, entry[0])})  # lower: what was seen stays seen
    (kept,) = commander.audit.verify().peers
    assert kept.seq == last + 3
    # A live source for verify (the sync service registers the hub's): asked at each check.
    commander.audit.live_heads.append(lambda: ("hub live", {ws: (last, "c" * 64)}))
    kinds = sorted((f.source, f.kind) for f in commander.audit.verify().peers)
    assert kinds == [("hub db.example", "lost_tail"), ("hub live", "rewritten")]


def test_this_workstation_s_entries_a_bundle_carries_are_evidence_too(
    pair: tuple[App, App], tmp_path: Path, clock: FixedClock
) -> None:
    """A bundle whose header leaves this workstation out of its heads (another program made it, say) still shows,
    by the entries of this workstation it carries, how far its chain reached."""
    import hashlib

    import keyring
    import orjson

    from crisisdesk.domain.signing import Signer

    commander, backup = pair
    old = copy_file(commander, tmp_path / "restored.sqlite3")
    notes(commander, 3, "lost later")
    full = commander.log.last_seq(ws_of(commander))
    carry(commander, backup)
    restored = App.open(old, clock=clock)
    try:
        out = io.BytesIO()
        BundleService(backup).export(out, BundleService(restored).cursor())
        lines = out.getvalue().split(b"\n")[:-1]
        header = orjson.loads(lines[0])
        del header["heads"][ws_of(commander)]
        body = orjson.dumps(header, option=orjson.OPT_SORT_KEYS) + b"\n" + b"".join(x + b"\n" for x in lines[1:-1])
        digest = hashlib.sha256(body).hexdigest()
        signer = Signer(str(keyring.get_password("crisisdesk", f"workstation-key:{ws_of(backup)}")))
        bundle = body + orjson.dumps({"sha256": digest, "signature": signer.sign_bundle(digest)}) + b"\n"
        BundleService(restored).import_bytes(bundle)
        (finding,) = restored.audit.verify().peers
        assert finding.kind == "lost_tail" and finding.seq == full
    finally:
        restored.close()
