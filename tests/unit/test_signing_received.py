"""The receipt rule (domain/signing.py, issue 16 decision 1): which signatures of a received batch are verified,
and the check against the key table the log and the batch declare. Rows made here: no database."""

from __future__ import annotations

from crisisdesk.domain.events import Kind
from crisisdesk.domain.signing import (
    CHECK_EVERY_UP_TO,
    KeyEvent,
    SignedRow,
    Signer,
    check_received,
    must_verify,
    new_private_key,
    private_key_text,
)

WS, OTHER = "ws-a", "ws-b"


def signer() -> Signer:
    return Signer(private_key_text(new_private_key()))


def at(minute: int) -> str:
    return f"2026-11-22T09:{minute:02d}:00.000000+00:00"


def row(position: int, seq: int, key: Signer | None, ws: str = WS, minute: int = 1, sig: str | None = "") -> SignedRow:
    h = f"{position:064x}"
    signature = sig if sig != "" else (key.sign(h) if key else None)
    return SignedRow(position, ws, seq, at(minute), h, signature)


def joined(position: int, seq: int, key: Signer, ws: str = WS) -> KeyEvent:
    return KeyEvent(position, ws, seq, at(0), Kind.WORKSTATION_JOINED, ws, key.key_id, key.public)


def forged(r: SignedRow, key: Signer) -> SignedRow:
    """The row with a signature under ``key``'s id that is not ``key``'s (a stranger's bytes)."""
    stranger = signer().sign(r.hash).split(".")[1]
    return SignedRow(r.position, r.ws, r.seq, r.at, r.hash, key.key_id + "." + stranger)


def test_a_short_run_has_every_signature_verified() -> None:
    k = signer()
    run = [row(10 + i, 3 + i, k) for i in range(CHECK_EVERY_UP_TO)]
    assert must_verify(run) == {r.position for r in run}
    bad = [*run[:5], forged(run[5], k), *run[6:]]
    report = check_received(bad, [joined(2, 2, k)], [])
    assert report.bad[WS].seq == run[5].seq and "does not match" in report.bad[WS].reason


def test_a_long_run_has_its_last_entry_its_key_changes_and_its_key_events_verified() -> None:
    old, new = signer(), signer()
    n = CHECK_EVERY_UP_TO + 36
    # Entry 150 is the rotation (signed by the key it replaces); the new key signs from 151 on.
    run = [row(100 + i, 2 + i, old if i <= 50 else new) for i in range(n)]
    chosen = must_verify(run, key_positions={150})
    # The first entry (a key not seen before it), the key event, the first signed by the new key, the last.
    assert chosen == {100, 150, 151, 100 + n - 1}
    rotated = KeyEvent(150, WS, 52, at(1), Kind.WORKSTATION_KEY_ROTATED, WS, new.key_id, new.public, old.key_id)
    assert check_received(run, [joined(1, 1, old)], [rotated]).ok
    # A forged signature in the middle of the run is not looked at (the head's signature vouches for the chain);
    # audit verify checks every one.
    middle = [*run[:20], forged(run[20], old), *run[21:]]
    assert check_received(middle, [joined(1, 1, old)], [rotated]).ok
    # The head's is.
    head = [*run[:-1], forged(run[-1], new)]
    report = check_received(head, [joined(1, 1, old)], [rotated])
    assert report.bad[WS].seq == run[-1].seq


def test_an_unsigned_entry_and_a_key_used_outside_its_time_are_found_anywhere_in_a_long_run() -> None:
    """The cheap checks (signed at all, by a key valid then) apply to every entry, verified or not."""
    k = signer()
    run = [row(100 + i, 2 + i, k) for i in range(CHECK_EVERY_UP_TO * 2)]
    unsigned = [*run[:30], row(130, 32, None), *run[31:]]
    report = check_received(unsigned, [joined(1, 1, k)], [])
    assert report.bad[WS].seq == 32 and report.bad[WS].reason == "the entry is not signed"
    revoked = KeyEvent(5, OTHER, 4, at(1), Kind.WORKSTATION_KEY_REVOKED, WS, k.key_id)
    late = [*run[:40], row(140, 42, k, minute=3), *[row(141 + i, 43 + i, k, minute=3) for i in range(10)]]
    report = check_received(late, [joined(1, 1, k), revoked], [])
    assert report.bad[WS].seq == 42 and "after it was revoked at" in report.bad[WS].reason


def test_a_key_declared_in_the_batch_counts_for_the_entries_after_it() -> None:
    k = signer()
    created = row(50, 1, None)
    declared = row(51, 2, k)
    rest = [row(52 + i, 3 + i, k) for i in range(3)]
    report = check_received([created, declared, *rest], [], [joined(51, 2, k)])
    assert report.ok
    # Without its declaration, the same entries are signed by a key the workstation never declared.
    other = signer()
    report = check_received([created, declared, *rest], [joined(1, 2, other)], [])
    assert "which is not a key of workstation" in report.bad[WS].reason


def test_a_revocation_carried_by_a_workstation_that_fails_bars_no_one() -> None:
    a, b = signer(), signer()
    revocation = KeyEvent(60, OTHER, 5, at(1), Kind.WORKSTATION_KEY_REVOKED, WS, a.key_id)
    b_rows = [row(60, 5, b, ws=OTHER), forged(row(61, 6, b, ws=OTHER), b)]
    a_rows = [row(62, 7, a, minute=2)]
    report = check_received([*a_rows, *b_rows], [joined(1, 1, a), joined(2, 1, b, ws=OTHER)], [revocation])
    assert set(report.bad) == {OTHER}  # a's entry, dated after the revocation b carried, still holds
    good_b = [row(60, 5, b, ws=OTHER), row(61, 6, b, ws=OTHER)]
    report = check_received([*a_rows, *good_b], [joined(1, 1, a), joined(2, 1, b, ws=OTHER)], [revocation])
    assert set(report.bad) == {WS} and "revoked" in report.bad[WS].reason


def test_a_key_cannot_vouch_for_itself_once_the_workstation_has_one() -> None:
    """A second 'joined' (self-signed) or a rotation signed by the new key would let anyone holding the file add a
    key to a known workstation: both are bad."""
    k, intruder = signer(), signer()
    second = joined(5, 5, intruder)
    rows = [row(1, 1, k), row(5, 5, intruder), row(6, 6, intruder)]
    report = check_received(rows, [joined(1, 1, k)], [second])
    assert report.bad[WS].seq == 5 and "second key" in report.bad[WS].reason
    rotation = KeyEvent(5, WS, 5, at(1), Kind.WORKSTATION_KEY_ROTATED, WS, intruder.key_id, intruder.public, k.key_id)
    report = check_received(rows, [joined(1, 1, k)], [rotation])
    assert report.bad[WS].seq == 5 and "not by the key it replaces" in report.bad[WS].reason
    signed_by_old = [row(1, 1, k), row(5, 5, k), row(6, 6, intruder)]
    assert check_received(signed_by_old, [joined(1, 1, k)], [rotation]).ok
