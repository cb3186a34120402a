"""What other sites have seen of each workstation's chain (issue 16 decision 10), and what that says of this log.

The hub (on push and pull) and every imported bundle show how far each workstation's chain reached there and the
hash of its last entry. Kept in the local table ``peer_heads`` (one row per source and workstation, the highest
seq seen), they are evidence ``audit verify`` holds this log against: a source that has seen more of this
workstation's chain than the log holds means the log lost its tail; a source whose entry at some seq is not the
log's entry at that seq means the history was rewritten (and re-hashed) here, or the workstation equivocated.
The hub itself, when reachable, is the authority: its check hands its heads to ``compare_heads`` directly.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

from crisisdesk.domain.clock import utc_iso

LOST_TAIL, REWRITTEN = "lost_tail", "rewritten"


@dataclass(frozen=True, slots=True)
class PeerFinding:
    kind: Literal["lost_tail", "rewritten"]
    source: str  # "bundle <id> from <workstation>", "hub <where>"
    workstation: str
    seq: int  # the seq the source has seen
    their_hash: str
    our_seq: int  # this log's last seq of that workstation
    our_hash: str | None  # this log's entry at ``seq`` (None: it has none)
    seen_at: str = ""

    @property
    def text(self) -> str:
        theirs = f"{self.their_hash[:16]}…"
        if self.kind == LOST_TAIL:
            return (
                f"this log lost its tail: {self.source} has seen workstation {self.workstation}'s entries up to seq "
                f"{self.seq} (hash {theirs}), this log ends at seq {self.our_seq}"
            )
        return (
            f"this workstation's history was rewritten: {self.source} has workstation {self.workstation}'s entry seq "
            f"{self.seq} as {theirs}, this log's is {(self.our_hash or '')[:16]}…"
        )

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "source": self.source,
            "workstation": self.workstation,
            "seq": self.seq,
            "their_hash": self.their_hash,
            "our_seq": self.our_seq,
            "our_hash": self.our_hash,
            "seen_at": self.seen_at,
            "text": self.text,
        }


def record_peer_heads(
    conn: sqlite3.Connection, source: str, heads: Mapping[str, tuple[int, str]], *, seen_at: str | None = None
) -> None:
    """Keep what ``source`` showed of each workstation's chain: its last (seq, hash). A lower seq than the one
    kept for that source is not kept (what a source once showed stays shown). Call inside ``Database.write()``."""
    at = seen_at or utc_iso(datetime.now(UTC))
    conn.executemany(
        "INSERT INTO peer_heads (source, workstation_id, seq, hash, seen_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT (source, workstation_id) DO UPDATE SET seq = excluded.seq, hash = excluded.hash, "
        "seen_at = excluded.seen_at WHERE excluded.seq > peer_heads.seq",
        [(source, ws, int(seq), str(h), at) for ws, (seq, h) in heads.items()],
    )


def compare_heads(
    conn: sqlite3.Connection,
    source: str,
    heads: Mapping[str, tuple[int, str]],
    *,
    own: str | None = None,
    seen_at: str = "",
) -> list[PeerFinding]:
    """What ``source``'s heads say of this log: for this workstation (``own``, default the log's), a lost tail or a
    rewritten entry; for another workstation, a rewritten entry only (holding less of another's chain than a
    source is only being behind)."""
    if own is None:
        row = conn.execute("SELECT value FROM local_settings WHERE key = 'workstation_id'").fetchone()
        own = str(row[0]) if row else ""
    findings = []
    for ws, (seq, their_hash) in sorted(heads.items()):
        last = conn.execute("SELECT max(seq) FROM events WHERE workstation_id = ?", (ws,)).fetchone()[0]
        our_seq = int(last or 0)
        entry = conn.execute(
            "SELECT hash FROM events WHERE workstation_id = ? AND seq = ? ORDER BY position LIMIT 1", (ws, seq)
        ).fetchone()
        ours = None if entry is None else str(entry[0])
        if ours is None:
            if ws == own and seq > our_seq:
                findings.append(PeerFinding("lost_tail", source, ws, seq, their_hash, our_seq, None, seen_at))
        elif ours != their_hash:
            findings.append(PeerFinding("rewritten", source, ws, seq, their_hash, our_seq, ours, seen_at))
    return findings


def recorded_findings(conn: sqlite3.Connection) -> list[PeerFinding]:
    """``compare_heads`` over every source recorded in ``peer_heads`` (none on a file older than the table)."""
    exists = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'peer_heads'").fetchone()
    if exists is None:
        return []
    by_source: dict[str, dict[str, tuple[int, str]]] = {}
    seen: dict[tuple[str, str], str] = {}
    for source, ws, seq, h, at in conn.execute(
        "SELECT source, workstation_id, seq, hash, seen_at FROM peer_heads ORDER BY seen_at, source, workstation_id"
    ):
        by_source.setdefault(str(source), {})[str(ws)] = (int(seq), str(h))
        seen[(str(source), str(ws))] = str(at)
    findings = []
    for source, heads in by_source.items():
        for f in compare_heads(conn, source, heads):
            findings.append(
                PeerFinding(
                    f.kind,
                    f.source,
                    f.workstation,
                    f.seq,
                    f.their_hash,
                    f.our_seq,
                    f.our_hash,
                    seen[(source, f.workstation)],
                )
            )
    return findings
