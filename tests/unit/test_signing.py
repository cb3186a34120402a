"""The rule deciding which signature counts (domain/signing.py), on rows made here: no database needed."""

from __future__ import annotations

from crisisdesk.domain.events import Kind
from crisisdesk.domain.signing import KeyEvent, SignedRow, Signer, check_signatures, new_private_key, private_key_text

WS, OTHER = "ws-a", "ws-b"


def signer() -> Signer:
    return Signer(private_key_text(new_private_key()))


def at(minute: int) -> str:
    return f"2026-11-22T09:{minute:02d}:00.000000+00:00"


def row(position: int, seq: int, minute: int, key: Signer | None, ws: str = WS) -> SignedRow:
    h = f"{position:064x}"
    return SignedRow(position, ws, seq, at(minute), h, key.sign(h) if key else None)


def joined(position: int, seq: int, key: Signer, ws: str = WS, about: str = WS) -> KeyEvent:
    return KeyEvent(position, ws, seq, at(0), Kind.WORKSTATION_JOINED, about, key.key_id, key.public)


def test_entries_before_joining_may_be_unsigned_and_after_it_must_be_signed() -> None:
    k = signer()
    rows = [row(1, 1, 0, None), row(2, 2, 0, k), row(3, 3, 1, k), row(4, 4, 2, None)]
    report = check_signatures(rows, [joined(2, 2, k)])
    assert report.bad[WS].position == 4 and report.bad[WS].reason == "the entry is not signed"
    assert check_signatures(rows[:3], [joined(2, 2, k)]).ok


def test_a_new_key_signs_nothing_dated_before_its_rotation_and_the_old_nothing_after() -> None:
    old, new = signer(), signer()
    rotated = KeyEvent(3, WS, 3, at(10), Kind.WORKSTATION_KEY_ROTATED, WS, new.key_id, new.public, old.key_id)
    events = [joined(1, 1, old), rotated]
    good = [row(1, 1, 0, old), row(2, 2, 5, old), row(3, 3, 10, old), row(4, 4, 11, new)]
    assert check_signatures(good, events).ok
    early = [*good[:3], row(4, 4, 9, new)]
    assert "before the key was declared" in check_signatures(early, events).bad[WS].reason
    late = [*good[:3], row(4, 4, 11, old)]
    assert "after it was replaced at" in check_signatures(late, events).bad[WS].reason


def test_a_revocation_recorded_later_still_decides_an_entry_dated_after_it() -> None:
    k, admin = signer(), signer()
    revoked = KeyEvent(9, OTHER, 3, at(20), Kind.WORKSTATION_KEY_REVOKED, WS, k.key_id)
    rows = [row(1, 1, 0, k), row(2, 2, 25, k), row(9, 3, 20, admin, ws=OTHER)]
    report = check_signatures(rows, [joined(1, 1, k), joined(5, 1, admin, ws=OTHER, about=OTHER), revoked])
    assert set(report.bad) == {WS} and report.bad[WS].position == 2 and "revoked at" in report.bad[WS].reason


def test_a_workstation_cannot_declare_another_s_key_nor_a_key_id_that_is_not_its_own() -> None:
    k, stranger = signer(), signer()
    report = check_signatures([row(1, 1, 0, k)], [joined(1, 1, k, about=OTHER)])
    assert "another workstation" in report.bad[WS].reason
    lying = KeyEvent(1, WS, 1, at(0), Kind.WORKSTATION_JOINED, WS, stranger.key_id, k.public)
    assert "does not belong" in check_signatures([row(1, 1, 0, k)], [lying]).bad[WS].reason
