"""The outbox's rules: one row per (version, account), its idempotency key, which rows may go next, backoff."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from crisisdesk.domain.accounts import Account, mode_refusal
from crisisdesk.domain.errors import PermissionDenied, UserError

STATES = (
    "queued",
    "sending",
    "sent",
    "failed",
    "dead",
    "unknown",
    "elsewhere",
)  # elsewhere: another workstation sent it
UNFINISHED = ("queued", "sending", "failed", "unknown")
BACKOFF_BASE = 2.0  # seconds
BACKOFF_CAP = 900.0  # a channel that is down is tried at least every 15 minutes, for as long as it takes


def idempotency_key(content_hash: str, account_id: str) -> str:
    """SHA-256 over the content hash and the account id: the same version to the same account, same key."""
    return hashlib.sha256(f"{content_hash}\n{account_id}".encode()).hexdigest()


def row_id(key: str) -> str:
    return f"ob-{key[:12]}"


def plan(content_hash: str, mode: str, targets: Sequence[tuple[str, Account | None]]) -> list[dict[str, str]]:
    """The outbox rows for a publish, or a refusal: no target, a removed account, or a mode mismatch.

    This is the first of the two exercise/live checks (the outbox refuses to queue); the channel layer makes
    the second when it sends.
    """
    if not targets:
        raise UserError(
            "this message has no channel to go to: add one ('crisisdesk channels add') and draft again, "
            "or set its channels with 'crisisdesk message targets'"
        )
    rows = []
    for account_id, account in targets:
        if account is None:
            raise UserError(
                f"channel {account_id} was removed after this version was drafted; "
                "set the message's channels again ('crisisdesk message targets')"
            )
        refusal = mode_refusal(account, mode)
        if refusal:
            raise PermissionDenied(f"the outbox refuses to queue: {refusal}")
        key = idempotency_key(content_hash, account.id)
        rows.append({"row": row_id(key), "account": account.id, "key": key})
    return rows


def backoff(attempts: int, rng: random.Random, *, retry_after: float | None = None) -> float:
    """Seconds to wait before the next try: the channel's Retry-After, else exponential with full jitter."""
    if retry_after is not None:
        return max(0.0, retry_after)
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(0, attempts - 1))
    return rng.uniform(0, ceiling)


@dataclass(frozen=True, slots=True)
class Next:
    """What the worker does next for one account: send these rows in order, or check this unknown one."""

    account_id: str
    send: tuple[str, ...] = ()
    reconcile: tuple[str, ...] = ()
    stop: tuple[str, ...] = ()  # unsent rows whose retraction was asked for: they must never go


def next_work(rows: Iterable[Mapping[str, Any]], now: datetime, *, batch: int = 50) -> list[Next]:
    """Given every unfinished row (ordered by account, then position), what may go now.

    Order is kept per account: a row goes only when every earlier unfinished row of its account has gone,
    so a correction never overtakes what it corrects. Dead rows do not hold the queue up (they wait for a
    person, visibly); rows in flight (sending) and rows waiting for their retry time do.
    """
    by_account: dict[str, list[Mapping[str, Any]]] = {}
    for r in rows:
        by_account.setdefault(r["account_id"], []).append(r)
    out = []
    for account_id, queue in by_account.items():
        send: list[str] = []
        reconcile: list[str] = []
        stop: list[str] = []
        for r in queue:
            if r["retract_state"] == "requested" and r["state"] in ("queued", "failed"):
                stop.append(r["id"])
                continue
            if r["state"] == "unknown":
                reconcile.append(r["id"])
                break  # nothing after it goes until we know whether it went
            if r["state"] == "sending":
                break  # in flight
            due = r["next_try_at"] is None or datetime.fromisoformat(r["next_try_at"]) <= now
            if not due:
                break
            send.append(r["id"])
            if len(send) >= batch:
                break
        if send or reconcile or stop:
            out.append(Next(account_id, tuple(send), tuple(reconcile), tuple(stop)))
    return out
