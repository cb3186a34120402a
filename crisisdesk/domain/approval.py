"""Message versions, their content hash, and the two-person rule bound to that exact hash."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from crisisdesk.domain.canonical import canonical_bytes


def version_content(
    *,
    message: str,
    incident: str,
    message_type: str,
    mode: str,
    references: Sequence[str],
    targets: Sequence[str],
    expires: str | None,
    variants: Sequence[dict[str, str]],
) -> dict[str, Any]:
    """Everything an approval covers. Variants are sorted so the same content always hashes the same.

    The message id is part of it: two messages with the same words are still two hashes, so an approval,
    an idempotency key or a receipt never stands for the other one.
    """
    return {
        "message": message,
        "incident": incident,
        "type": message_type,
        "mode": mode,
        "references": sorted(references),
        "targets": sorted(targets),
        "expires": expires,
        "variants": sorted(variants, key=lambda v: (v["channel"], v["lang"])),
    }


def content_bytes(content: dict[str, Any]) -> bytes:
    return canonical_bytes(content)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def replace_variant(content: dict[str, Any], channel: str, lang: str, text: str) -> dict[str, Any]:
    """A copy of ``content`` with one variant's text replaced (the variant must exist)."""
    variants = [dict(v) for v in content["variants"]]
    for v in variants:
        if v["channel"] == channel and v["lang"] == lang:
            v["text"] = text
            break
    else:
        raise KeyError((channel, lang))
    return {**content, "variants": variants}


@dataclass(frozen=True, slots=True)
class Approval:
    approver: str
    roles: frozenset[str]  # the approver's roles now (an approval counts only while they hold the role)
    content_hash: str
    at: datetime
    # Given after the current version was made and after the last return: an approval of identical content
    # given before an edit (and an edit back), or before an approver sent the message back, does not carry over.
    after_version: bool = True


@dataclass(frozen=True, slots=True)
class Policy:
    roles: tuple[str, ...] = ("approver",)
    count: int = 1
    expires_after: timedelta | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    ok: bool
    counted: tuple[str, ...]
    reason: str


def verdict(
    policy: Policy, *, content_hash: str, authors: Sequence[str], approvals: Sequence[Approval], now: datetime
) -> Verdict:
    """Whether the exact content ``content_hash`` may be published under ``policy``.

    An approval counts only if it names this hash, was given by someone who wrote none of the version (every
    author since the last published version), whose roles *now* include one of the policy's (a revoked approver's
    approvals stop counting), and has not expired. Each person counts once.
    """
    wrote = {a.casefold() for a in authors}
    counted: list[str] = []
    stale = expired = own = wrong_role = 0
    for a in approvals:
        if a.content_hash != content_hash or not a.after_version:
            stale += 1
        elif a.approver.casefold() in wrote:
            own += 1
        elif not a.roles & set(policy.roles):
            wrong_role += 1
        elif policy.expires_after is not None and now - a.at > policy.expires_after:
            expired += 1
        elif a.approver.casefold() not in {c.casefold() for c in counted}:
            counted.append(a.approver)
    if len(counted) >= policy.count:
        return Verdict(True, tuple(counted), f"approved by {', '.join(counted)}")
    need = policy.count - len(counted)
    notes = []
    if stale:
        notes.append(f"{stale} approval(s) of an earlier version no longer apply")
    if own:
        notes.append("an author's own approval does not count")
    if wrong_role:
        notes.append(f"{wrong_role} approval(s) from people who do not now hold the role {' or '.join(policy.roles)}")
    if expired:
        notes.append(f"{expired} approval(s) expired")
    who = " or ".join(policy.roles)
    reason = (
        f"needs {need} more approval(s) of this exact version by someone with the role {who} "
        f"who wrote none of it (authors: {', '.join(authors) or 'none'})"
    )
    return Verdict(False, tuple(counted), reason + (f" ({'; '.join(notes)})" if notes else ""))


def own_version_refusal(name: str, message_id: str, authors: Sequence[str]) -> str | None:
    """Why ``name`` may not approve the version: they wrote part of it (None when they wrote none of it)."""
    if name.casefold() not in {a.casefold() for a in authors}:
        return None
    return (
        f"{name} wrote part of {message_id} since it was last published "
        f"(authors: {', '.join(authors)}); someone who wrote none of it must approve it"
    )


def confirm_phrase(message_id: str, mode: str) -> str:
    """What the publisher types. Exercise and live are worded differently so one cannot be typed for the other."""
    return f"SEND EXERCISE {message_id}" if mode == "exercise" else f"PUBLISH LIVE {message_id}"
