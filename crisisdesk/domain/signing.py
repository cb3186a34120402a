"""Workstation keys and event signatures (Ed25519), and the rule that says which signature is good.

Each workstation signs every event it writes over the event's hash. The signature cannot be inside the hashed
body, so it is stored beside it (the events table's ``signature`` column) as ``<key id>.<signature>``: the key
id is the first 16 hex digits of SHA-256 over the raw public key, the signature base64url without padding.

Which key may sign what is read from the log itself:

- ``workstation.joined`` (written by the workstation, signed by the key it declares) gives a workstation its
  first key; its entries from that sequence number on must be signed; those before it (its creation, or a log
  older than signing) may be unsigned, or signed by that first key.
- ``workstation.key_rotated`` (an admin, on that workstation) declares a new key: the previous key's
  signatures on entries dated after the rotation are bad, and the new key's on entries dated before it.
- ``workstation.key_revoked`` (an admin, on any workstation) revokes a key: its signatures on entries dated
  after the revocation are bad.

Pure: no I/O; the store hands the rows in.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat, PublicFormat

from crisisdesk.domain.events import Kind

# What is signed: a fixed tag, so an event signature can never be taken for a signature of anything else.
_TAG = b"crisisdesk event v1\0"
# A bundle file's trailer is signed under its own tag: it can never be taken for an event's signature.
_BUNDLE_TAG = b"crisisdesk bundle v1\0"


def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_key_text(key: Ed25519PrivateKey) -> str:
    """The raw 32-byte private key as hex: what the keyring keeps."""
    return key.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption()).hex()


def private_key_from_text(text: str) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes.fromhex(text))


def public_key_text(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def key_id(public_text: str) -> str:
    return hashlib.sha256(bytes.fromhex(public_text)).hexdigest()[:16]


class Signer:
    """Signs event hashes with one workstation key (the key object is built once: signing is then ~20 µs)."""

    def __init__(self, private_text: str) -> None:
        self._key = private_key_from_text(private_text)
        self.public = public_key_text(self._key)
        self.key_id = key_id(self.public)
        self._prefix = self.key_id + "."

    def sign(self, event_hash: str) -> str:
        raw = self._key.sign(_TAG + event_hash.encode())
        return self._prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")

    def sign_bundle(self, digest: str) -> str:
        """A bundle file's signature over the SHA-256 (hex) of everything before its trailer."""
        raw = self._key.sign(_BUNDLE_TAG + digest.encode())
        return self._prefix + base64.urlsafe_b64encode(raw).decode().rstrip("=")


def signature_good(public_text: str, event_hash: str, signature: str) -> bool:
    """Does ``signature`` (``<key id>.<sig>``) by this public key cover ``event_hash``?"""
    try:
        _, _, sig = signature.partition(".")
        raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_text)).verify(raw, _TAG + event_hash.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


def bundle_signature_good(public_text: str, digest: str, signature: str) -> bool:
    """Does ``signature`` by this public key cover a bundle whose content (before its trailer) hashes to ``digest``?"""
    try:
        _, _, sig = signature.partition(".")
        raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(public_text)).verify(raw, _BUNDLE_TAG + digest.encode())
    except (InvalidSignature, ValueError):
        return False
    return True


KEY_KINDS = (Kind.WORKSTATION_JOINED, Kind.WORKSTATION_KEY_ROTATED, Kind.WORKSTATION_KEY_REVOKED)


@dataclass(frozen=True, slots=True)
class KeyEvent:
    """A key event as the log holds it: the entry's own workstation and seq, its time, kind and payload fields."""

    position: int
    ws: str  # the workstation that wrote the entry
    seq: int
    at: str
    kind: str
    workstation: str  # the workstation whose key it is about
    key: str  # key id
    public_key: str = ""  # joined and rotated
    previous: str = ""  # rotated: the key it replaces


@dataclass(slots=True)
class _Key:
    public: str
    valid_from: str  # entries dated before this may not carry its signature
    valid_until: str | None = None  # replaced or revoked: entries dated after may not
    why_ended: str = ""


@dataclass(frozen=True, slots=True)
class SignedRow:
    position: int
    ws: str
    seq: int
    at: str
    hash: str
    signature: str | None


@dataclass(frozen=True, slots=True)
class BadSignature:
    position: int
    seq: int
    reason: str


@dataclass(frozen=True, slots=True)
class SignatureReport:
    checked: int
    signed: int
    # Per workstation: its first bad entry. Empty when every signature is good.
    bad: dict[str, BadSignature] = field(default_factory=dict)
    # Workstations with no key declared in this log (their entries are not checked: written before signing).
    unsigned_workstations: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.bad

    @classmethod
    def joined(cls, parts: Sequence[SignatureReport]) -> SignatureReport:
        """One report from those of consecutive stretches of the log, each checked against the whole log's keys:
        each workstation's first bad entry is the earliest any stretch names. (``signed`` then counts past a bad
        entry, where one pass stops counting that workstation's: it is shown only when every signature holds.)"""
        bad: dict[str, BadSignature] = {}
        for part in parts:
            for ws, b in part.bad.items():
                if ws not in bad or b.position < bad[ws].position:
                    bad[ws] = b
        return cls(
            sum(p.checked for p in parts),
            sum(p.signed for p in parts),
            bad,
            tuple(sorted({ws for p in parts for ws in p.unsigned_workstations})),
        )

    def first_bad(self) -> tuple[str, BadSignature] | None:
        return min(self.bad.items(), key=lambda item: item[1].position, default=None)

    def lines(self) -> list[str]:
        out = []
        for ws, b in sorted(self.bad.items(), key=lambda item: item[1].position):
            out.append(f"signature bad at entry #{b.position} (workstation {ws}, seq {b.seq}): {b.reason}")
        if self.ok:
            out.append(f"signatures good: {self.signed} of {self.checked} entries signed")
        for ws in self.unsigned_workstations:
            out.append(f"workstation {ws} has declared no signing key: its entries are not signed")
        return out


def key_table(
    events: Iterable[KeyEvent], *, revokers: Collection[tuple[str, int]] | None = None
) -> tuple[dict[str, dict[str, _Key]], dict[str, int], list[BadSignature]]:
    """Each workstation's keys (by id) with when each is valid, the seq from which its entries must be signed,
    and the key events that break the rules themselves (a workstation declaring another's key...).

    ``revokers``: the (workstation, seq) of the ``workstation.key_revoked`` entries whose actor was an admin at
    their place in the merge order (``merge.admin_revocations``); any other revocation counts for nothing (else a
    member with no admin role revokes the commander's key). None: every revocation counts (a caller that holds
    no people events to decide by)."""
    keys: dict[str, dict[str, _Key]] = {}
    signed_from: dict[str, int] = {}
    wrong: list[BadSignature] = []
    revocations: list[KeyEvent] = []
    for e in events:
        if e.kind == Kind.WORKSTATION_KEY_REVOKED:
            if revokers is None or (e.ws, e.seq) in revokers:
                revocations.append(e)
            continue
        if e.public_key and key_id(e.public_key) != e.key:
            wrong.append(BadSignature(e.position, e.seq, f"the key id {e.key} does not belong to its public key"))
            continue
        if e.kind == Kind.WORKSTATION_JOINED:
            if e.workstation != e.ws:
                wrong.append(
                    BadSignature(e.position, e.seq, f"it declares a key for another workstation ({e.workstation})")
                )
                continue
            if e.ws in keys:
                # Only a workstation's first key declares itself (signed by itself); a later key comes by rotation,
                # signed by the key it replaces: else anyone could add a key to a known workstation.
                wrong.append(
                    BadSignature(e.position, e.seq, "it declares a second key for its workstation (only by rotation)")
                )
                continue
            # A workstation's first key covers its whole chain: the entries before it (its own creation, written
            # in the same transaction) may carry its signature, or none.
            keys.setdefault(e.ws, {})[e.key] = _Key(e.public_key, "")
            signed_from[e.ws] = min(signed_from.get(e.ws, e.seq), e.seq)
        elif e.kind == Kind.WORKSTATION_KEY_ROTATED:
            if e.workstation != e.ws:
                # A workstation rotates only its own key: else one signing with its own key as ``previous`` adds a
                # key to another workstation and writes in that workstation's chain.
                wrong.append(
                    BadSignature(e.position, e.seq, f"it rotates the key of another workstation ({e.workstation})")
                )
                continue
            own = keys.setdefault(e.workstation, {})
            old = own.get(e.previous)
            if old is not None and (old.valid_until is None or old.valid_until > e.at):
                old.valid_until, old.why_ended = e.at, f"replaced at {e.at}"
            own[e.key] = _Key(e.public_key, e.at)
    for e in revocations:
        revoked = keys.get(e.workstation, {}).get(e.key)
        if revoked is not None and (revoked.valid_until is None or revoked.valid_until >= e.at):
            revoked.valid_until, revoked.why_ended = e.at, f"revoked at {e.at}"
    return keys, signed_from, wrong


def check_signatures(
    rows: Iterable[SignedRow],
    key_events: Iterable[KeyEvent],
    *,
    verify: Collection[int] | None = None,
    revokers: Collection[tuple[str, int]] | None = None,
) -> SignatureReport:
    """Check every row's signature against the keys the log declares; name each workstation's first bad one.

    ``verify``: the positions whose signature is verified with Ed25519 (None: every one). The rest still have the
    cheap checks: signed when they must be, by a key of their workstation valid at their time."""
    key_events = list(key_events)
    keys, signed_from, wrong = key_table(key_events, revokers=revokers)
    # A rotation is signed by the key it replaces (a new key cannot vouch for itself).
    rotated_by = {e.position: e.previous for e in key_events if e.kind == Kind.WORKSTATION_KEY_ROTATED}
    bad: dict[str, BadSignature] = {}
    publics: dict[str, Ed25519PublicKey] = {}
    wrong_at = {w.position: w for w in wrong}
    checked = signed = 0
    unsigned: set[str] = set()
    for row in rows:
        checked += 1
        if row.ws in bad:
            continue
        if row.position in wrong_at:
            bad[row.ws] = wrong_at[row.position]
            continue
        own = keys.get(row.ws)
        if row.signature is None:
            if own is None:
                unsigned.add(row.ws)
            elif row.seq >= signed_from.get(row.ws, 1):
                bad[row.ws] = BadSignature(row.position, row.seq, "the entry is not signed")
            continue
        signed += 1
        kid, _, sig = row.signature.partition(".")
        key = (own or {}).get(kid)
        if key is None:
            bad[row.ws] = BadSignature(
                row.position, row.seq, f"signed by key {kid}, which is not a key of workstation {row.ws}"
            )
            continue
        if row.at < key.valid_from:
            bad[row.ws] = BadSignature(
                row.position, row.seq, f"signed by key {kid}, dated {row.at}, before the key was declared"
            )
            continue
        if key.valid_until is not None and row.at > key.valid_until:
            bad[row.ws] = BadSignature(
                row.position, row.seq, f"signed by key {kid} after it was {key.why_ended} (entry dated {row.at})"
            )
            continue
        previous = rotated_by.get(row.position)
        if previous is not None and kid != previous:
            bad[row.ws] = BadSignature(
                row.position, row.seq, f"a key rotation signed by key {kid}, not by the key it replaces ({previous})"
            )
            continue
        if verify is not None and row.position not in verify:
            continue
        public = publics.get(kid)
        if public is None:
            public = publics[kid] = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key.public))
        try:
            raw = base64.urlsafe_b64decode(sig + "=" * (-len(sig) % 4))
            public.verify(raw, _TAG + row.hash.encode())
        except (InvalidSignature, ValueError):
            bad[row.ws] = BadSignature(
                row.position, row.seq, f"the signature does not match the entry's hash under key {kid}"
            )
    return SignatureReport(checked, signed, bad, tuple(sorted(unsigned - set(keys))))


def key_event(position: int, ws: str, seq: int, at: str, kind: str, payload: Mapping[str, object]) -> KeyEvent:  # noqa: PLR0917
    """A key event from an entry's fields (the payload as the entry holds it)."""
    return KeyEvent(
        position,
        ws,
        seq,
        at,
        kind,
        str(payload.get("workstation", "")),
        str(payload.get("key", "")),
        str(payload.get("public_key", "")),
        str(payload.get("previous", "")),
    )


# Receiving (the hub's pull, a bundle's import): a workstation's run of new entries in one batch has every
# signature verified up to this many entries; a longer run only its last entry's and those of the entries whose
# key differs from the entry before (each key in use is proved once), and of its key events. Each entry's hash
# covers the whole chain before it, so a good signature on the run's last entry vouches for every entry before
# it: 20 workstations x 9,500 entries is then a few hundred checks (~100 µs each), not 190,000.
CHECK_EVERY_UP_TO = 64


def signing_key_of(signature: str | None) -> str | None:
    return None if signature is None else signature.partition(".")[0]


def must_verify(run: Sequence[SignedRow], key_positions: Collection[int] = ()) -> set[int]:
    """The positions of one workstation's run of received entries (in seq order) whose signature is verified."""
    if len(run) <= CHECK_EVERY_UP_TO:
        return {r.position for r in run}
    chosen = {run[-1].position}
    before: str | None = None
    for r in run:
        kid = signing_key_of(r.signature)
        if kid != before or r.position in key_positions:
            chosen.add(r.position)
        before = kid
    return chosen


def check_received(
    rows: Sequence[SignedRow],
    held: Sequence[KeyEvent],
    received: Sequence[KeyEvent],
    *,
    revokers: Collection[tuple[str, int]] | None = None,
) -> SignatureReport:
    """Check the signatures of a batch of received entries (``rows``: each workstation's new entries in seq order,
    at positions after every held entry) by the rule of ``must_verify``.

    The key table is the log's own key events (``held``) followed by the batch's (``received``, in order): a key
    declared, replaced or revoked in the batch counts for the entries it covers. A workstation whose entries
    fail does not get its key events counted for the others either: the check is repeated without them until no
    other workstation fails (a revocation it carried no longer bars anyone; a key it declared no longer admits
    anyone)."""
    key_positions = {e.position for e in received}
    runs: dict[str, list[SignedRow]] = {}
    for r in rows:
        runs.setdefault(r.ws, []).append(r)
    chosen: set[int] = set()
    for run in runs.values():
        chosen |= must_verify(run, key_positions)
    failed: dict[str, BadSignature] = {}

    def check(of: Collection[str] | None, without: Collection[str]) -> SignatureReport:
        return check_signatures(
            [r for r in rows if r.ws not in failed and (of is None or r.ws in of)],
            [*held, *(e for e in received if e.ws not in without)],
            verify=chosen,
            revokers=revokers,
        )

    while True:
        report = check(None, failed)
        if not report.bad:
            break
        # A workstation that still fails without the key events of the others failing now fails on its own.
        suspects = set(report.bad)
        alone = {ws: check((ws,), (suspects | set(failed)) - {ws}).bad.get(ws) for ws in suspects}
        failed.update({ws: bad for ws, bad in alone.items() if bad is not None} or report.bad)
    return SignatureReport(report.checked, report.signed, failed, report.unsigned_workstations)


def bundle_key(
    key_events: Iterable[KeyEvent],
    workstation: str,
    signature: str,
    created: str,
    *,
    revokers: Collection[tuple[str, int]] | None = None,
) -> tuple[str, str]:
    """(public key, "") for the key that signed a bundle of ``workstation`` made at ``created``, or ("", why not):
    a key the log (and the bundle) declares for that workstation, not revoked, not replaced before the bundle."""
    keys, _, _ = key_table(key_events, revokers=revokers)
    kid = signature.partition(".")[0]
    key = keys.get(workstation, {}).get(kid)
    if key is None:
        return "", f"it is signed by key {kid}, which is not a key of workstation {workstation}"
    if key.why_ended.startswith("revoked"):
        return "", f"it is signed by key {kid} of workstation {workstation}, which was {key.why_ended}"
    if key.valid_until is not None and created > key.valid_until:
        return "", f"it is signed by key {kid} of workstation {workstation}, {key.why_ended}, before it was made"
    if created < key.valid_from:
        return "", f"it is signed by key {kid} of workstation {workstation}, dated before the key was declared"
    return key.public, ""
