"""Publishing once across the team: the claim board the outbox asks before it sends (plan decision 8).

The outbox knows the board only by this protocol, so it neither imports psycopg nor knows how the hub is
reached; ``hub_board`` builds the real one (``crisisdesk.store.hub_claims``) from the workstation's settings.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from crisisdesk.credentials import SecretStore
from crisisdesk.domain.approval import Approval, verdict
from crisisdesk.domain.errors import CrisisdeskError, ExternalError
from crisisdesk.domain.playbook import Playbook
from crisisdesk.store.db import Database
from crisisdesk.store.ledger import Ledger, PublicationRecord

HUB_URL_SETTING = "hub_url"


class Holder(Protocol):
    """Who holds a claim: the workstation that sends (or sent) the version on the account."""

    @property
    def workstation_id(self) -> str: ...

    @property
    def outbox_row(self) -> str: ...

    @property
    def offline(self) -> bool: ...


class ClaimBoard(Protocol):
    """The hub's claims. Every call raises ``ExternalError`` when the hub cannot be reached in a few seconds."""

    def claim(
        self,
        message_id: str,
        content_hash: str,
        account_id: str,
        workstation_id: str,
        outbox_row: str,
        *,
        offline: bool = False,
    ) -> Holder:
        """First claim wins; returns the holder (this workstation's own claim when it won or already held it)."""
        ...

    def reachable(self) -> bool:
        """Whether the hub answers now (a short check: never longer than the board's timeout)."""
        ...

    def close(self) -> None:
        """Let go of any connection kept open."""
        ...


# What the outbox and the publish call to find the board now: None when no hub is configured.
BoardSource = Callable[[], ClaimBoard | None]


def hub_board(db: Database, secrets: SecretStore) -> ClaimBoard | None:
    """The board of the hub this workstation is configured for (``local_settings`` ``hub_url``), or None.

    The password is read from the keyring when the board is made. A URL that is not a hub address, or a keyring
    that will not answer, gives a board that is never reachable and says why: the outbox then follows its
    offline rule and records the reason, rather than stopping.
    """
    url = db.get_setting(HUB_URL_SETTING)
    if not url:
        return None
    from crisisdesk.store.hub import parse_hub_url
    from crisisdesk.store.hub_claims import HubClaims

    try:
        address, _ = parse_hub_url(url)
        password = secrets.hub_password(address.secret_key)
    except CrisisdeskError as exc:
        return Unusable(f"the hub configured here cannot be used: {exc}")
    return HubClaims(address, password)


class Unusable:
    """The board of a hub that cannot be used as configured: never reachable, with the reason."""

    def __init__(self, why: str) -> None:
        self.why = why

    def claim(
        self,
        message_id: str,
        content_hash: str,
        account_id: str,
        workstation_id: str,
        outbox_row: str,
        *,
        offline: bool = False,
    ) -> Holder:
        raise ExternalError(self.why)

    def reachable(self) -> bool:
        return False

    def close(self) -> None:
        pass


# After the hub failed to answer, claims fail at once for this long: with the hub away, every row would otherwise
# wait out a connect timeout before going by the offline rule.
PAUSE_AFTER_FAILURE = 10.0


class PausingBoard:
    """A board that, once the hub failed to answer, answers "unreachable" at once for ``pause`` seconds."""

    def __init__(
        self, board: ClaimBoard, *, pause: float = PAUSE_AFTER_FAILURE, now: Callable[[], float] = time.monotonic
    ) -> None:
        self.board = board
        self.pause = pause
        self.now = now
        self._down_until = 0.0
        self._why = ""

    def claim(
        self,
        message_id: str,
        content_hash: str,
        account_id: str,
        workstation_id: str,
        outbox_row: str,
        *,
        offline: bool = False,
    ) -> Holder:
        if self.now() < self._down_until:
            raise ExternalError(self._why)
        try:
            return self.board.claim(message_id, content_hash, account_id, workstation_id, outbox_row, offline=offline)
        except ExternalError as exc:
            self._down_until, self._why = self.now() + self.pause, str(exc)
            raise

    def reachable(self) -> bool:
        if self.now() < self._down_until:
            return False
        up = self.board.reachable()
        if not up:
            self._down_until, self._why = self.now() + self.pause, "the hub did not answer"
        return up

    def close(self) -> None:
        self.board.close()


def cached_board(db: Database, secrets: SecretStore, *, now: Callable[[], float] = time.monotonic) -> BoardSource:
    """A source that builds the board once per hub URL (reading the setting each time is one indexed query; the
    keyring is read only when the URL changes), pausing after the hub failed to answer (``now``: seconds)."""
    made: dict[str, ClaimBoard | None] = {}

    def source() -> ClaimBoard | None:
        url = db.get_setting(HUB_URL_SETTING) or ""
        if url not in made:
            for old in made.values():
                if old is not None:
                    old.close()
            made.clear()
            board = hub_board(db, secrets) if url else None
            made[url] = PausingBoard(board, now=now) if board is not None else None
        return made[url]

    return source


class Playbooks(Protocol):
    """Where the approval policy of an incident's playbook is read (``PlaybookService``)."""

    def get(self, playbook_id: str) -> Playbook: ...


def held_refusal(ledger: Ledger, playbooks: Playbooks, publication: PublicationRecord) -> str | None:
    """Why the approvals this workstation holds do not satisfy the policy for ``publication`` (None: they do).

    Read from the log now, as the publish read them: the approval events of the published hash given after that
    version was made, by people who wrote none of it and who hold a role of the playbook's policy now, counted
    against the policy as it stood when the version was published (an approval cannot expire on a queued row).
    A break-glass publication holds no approvals by design: it is the caller's to decide whether it may go alone.
    """
    record = ledger.message(publication.message)
    if record is None:
        return f"the audit log has no message {publication.message}"
    # By number and hash: sibling versions (the same number edited on two workstations) differ by their hash.
    version = next(
        (v for v in record.versions if v.version == publication.version and v.hash == publication.hash), None
    )
    incident = ledger.incident(record.incident)
    if version is None or incident is None:
        return f"the audit log does not know {publication.message} v{publication.version} or its incident"
    policy = playbooks.get(incident.playbook).approval.policy(record.type)
    before = max((p.version for p in record.publications if p.version < publication.version), default=0)
    authors: list[str] = []
    for v in record.versions:
        if before < v.version <= publication.version and v.author.casefold() not in {a.casefold() for a in authors}:
            authors.append(v.author)
    everyone = ledger.everyone_roles()
    published_at = datetime.fromisoformat(publication.at)
    approvals = [
        Approval(
            a.approver,
            # Held now and when it was given, as the publish counted it: a revocation wins from its time on.
            everyone.get(a.approver.casefold(), frozenset()) & a.roles_then,
            a.hash,
            datetime.fromisoformat(a.at),
            after_version=a.order > version.order and a.at <= publication.at,
        )
        for a in record.approvals
    ]
    found = verdict(policy, content_hash=publication.hash, authors=authors, approvals=approvals, now=published_at)
    return None if found.ok else found.reason
