"""The chain check's fast loop (domain.events.verify_segment) against the plain one it replaced, kept here as the
oracle: on interleaved chains of several workstations, intact or tampered in every way verify names, both give the
same segment, and a body that continues its chain but is not canonical is still caught (the usual-link fast path
skips no check)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crisisdesk.domain.events import GENESIS, NOT_CANONICAL, Segment, link_problem, seal, verify_segment

Row = tuple[int, str, object]


def plain_verify_segment(rows: Iterable[Row]) -> Segment:
    """The loop as it was before it was made faster: every check in turn, one entry at a time."""
    entries: dict[str, tuple[int, int, str, int]] = {}
    heads: dict[str, tuple[int, str]] = {}
    checked = 0
    ws_now: str | None = None
    last_seq, last_hash = 0, GENESIS
    failure: tuple[int, int | None, str] | None = None
    for position, stored_hash, body in rows:
        if type(body) is not bytes:
            failure = (position, None, "its content is stored as text, not as the bytes that were hashed (edited)")
            break
        if hashlib.sha256(body).hexdigest() != stored_hash:
            failure = (position, None, "its content does not match its hash (the entry was edited)")
            break
        try:
            data = orjson.loads(body)
            ws, seq, prev = data["ws"], data["seq"], data["prev"]
            if type(ws) is not str or type(seq) is not int or type(prev) is not str:
                raise TypeError
        except (ValueError, KeyError, TypeError):
            failure = (position, None, "its content is not a crisisdesk event")
            break
        if orjson.dumps(data, option=orjson.OPT_SORT_KEYS) != body:
            failure = (position, None, NOT_CANONICAL)
            break
        if ws != ws_now:
            if ws_now is not None:
                heads[ws_now] = (last_seq, last_hash)
            ws_now = ws
            if ws in heads:
                last_seq, last_hash = heads[ws]
            else:
                entries[ws] = (position, seq, prev, checked)
                last_seq, last_hash = seq - 1, prev
        if seq != last_seq + 1 or prev != last_hash:
            failure = (position, seq, link_problem(last_seq, last_hash, seq, prev) or "broken link")
            break
        last_seq, last_hash = seq, stored_hash
        checked += 1
    if ws_now is not None:
        heads[ws_now] = (last_seq, last_hash)
    return Segment(checked=checked, entries=entries, heads=heads, failure=failure)


def chains(order: list[int], first_position: int = 1) -> list[Row]:
    """Entries of workstations ws-0, ws-1, ... appended in ``order`` (each item names the workstation)."""
    heads: dict[int, tuple[int, str]] = {}
    rows: list[Row] = []
    for i, w in enumerate(order):
        seq, prev = heads.get(w, (0, GENESIS))
        event = seal(
            workstation_id=f"ws-{w}",
            seq=seq + 1,
            at=f"2026-11-22T09:{i // 60 % 60:02d}:{i % 60:02d}.000000+00:00",
            actor="carla",
            kind="triage.set",
            payload={"item": f"item-{i}", "note": "road closed é", "priority": "high"},
            prev_hash=prev,
        )
        heads[w] = (seq + 1, event.hash)
        rows.append((first_position + i, event.hash, event.body))
    return rows


def relinked(rows: list[Row], at: int, body: bytes) -> list[Row]:
    """``rows`` with entry ``at`` replaced by ``body`` (hashed anew) and the later entries of its workstation
    relinked to it and hashed anew: what someone rewriting the file would do so that every link still holds."""
    out = list(rows)
    ws = orjson.loads(body)["ws"]
    new_hash = hashlib.sha256(body).hexdigest()
    out[at] = (rows[at][0], new_hash, body)
    for j in range(at + 1, len(out)):
        position, _, later = out[j]
        assert isinstance(later, bytes)
        data = orjson.loads(later)
        if data["ws"] != ws:
            continue
        data["prev"] = new_hash
        later = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        new_hash = hashlib.sha256(later).hexdigest()
        out[j] = (position, new_hash, later)
    return out


def not_canonical(body: bytes, how: str) -> bytes:
    """The same fields (so the same links) written in a form that is not canonical."""
    if how == "space":
        return body.replace(b'"kind":', b'"kind": ', 1)
    if how == "key twice":
        return body.replace(b'"payload":{', b'"payload":{"item":"forged",', 1)
    if how == "unsorted":
        data = orjson.loads(body)
        return orjson.dumps(dict(reversed(data["payload"].items()))).join(
            body.split(orjson.dumps(data["payload"], option=orjson.OPT_SORT_KEYS))
        )
    if how == "escaped":
        return body.replace("é".encode(), b"\\u00e9", 1)
    if how == "ws twice":  # SQLite's json_extract reads the first, the parser the last
        return body.replace(b'"ws":', b'"ws":"ws-elsewhere","ws":', 1)
    raise AssertionError(how)


SHAPES = ["space", "key twice", "unsorted", "escaped", "ws twice"]
TAMPERINGS = [
    "none",
    "edited",
    "text",
    "not json",
    "no ws",
    "seq true",
    "seq float",
    "deleted",
    "swapped",
    "duplicated",
]


@pytest.mark.parametrize("how", SHAPES)
@pytest.mark.parametrize("at", [0, 1, 4, 9])
def test_a_body_that_continues_its_chain_but_is_not_canonical_is_caught(how: str, at: int) -> None:
    rows = chains([0, 0, 1, 0, 0, 1, 1, 0, 0, 0])
    body = rows[at][2]
    assert isinstance(body, bytes)
    forged = relinked(rows, at, not_canonical(body, how))
    assert plain_verify_segment(forged[:at]).failure is None  # everything before it holds
    segment = verify_segment(forged)
    assert segment.failure == (at + 1, None, NOT_CANONICAL)
    assert segment == plain_verify_segment(forged)


@settings(max_examples=300, deadline=None)
@given(
    order=st.lists(st.integers(0, 2), min_size=1, max_size=30),
    tamper=st.sampled_from([*TAMPERINGS, *SHAPES]),
    where=st.integers(0, 29),
    first_position=st.integers(1, 5),
)
def test_the_fast_loop_gives_the_plain_loops_segment(
    order: list[int], tamper: str, where: int, first_position: int
) -> None:
    rows = chains(order, first_position)
    at = where % len(rows)
    position, stored_hash, body = rows[at]
    assert isinstance(body, bytes)
    if tamper == "edited":
        rows[at] = (position, stored_hash, body.replace(b"road", b"rood"))
    elif tamper == "text":
        rows[at] = (position, stored_hash, body.decode())
    elif tamper == "not json":
        junk = b"{" + body
        rows[at] = (position, hashlib.sha256(junk).hexdigest(), junk)
    elif tamper in {"no ws", "seq true", "seq float"}:
        data = orjson.loads(body)
        if tamper == "no ws":
            ws = data.pop("ws")
            data["workstation"] = ws
        else:
            data["seq"] = True if tamper == "seq true" else float(data["seq"])
        forged = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
        rows[at] = (position, hashlib.sha256(forged).hexdigest(), forged)
    elif tamper == "deleted":
        del rows[at]
    elif tamper == "swapped" and at + 1 < len(rows):
        rows[at], rows[at + 1] = rows[at + 1], rows[at]
    elif tamper == "duplicated":
        rows.insert(at, rows[at])
    elif tamper in SHAPES:
        rows = relinked(rows, at, not_canonical(body, tamper))
    assert verify_segment(rows) == plain_verify_segment(rows)
