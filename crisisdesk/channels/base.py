"""The contract every channel keeps: limits, check, send with a key, look a key up, retract by receipt.

Adapters raise ``ChannelError`` for anything the channel or the network says; the outbox turns it into data
(a state, a reason and the next try). ``Adapter.deliver`` is the only way the outbox sends, and it refuses a
message whose mode does not match the account's: the second of the two checks DESIGN.md asks for.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, TypeVar

import httpx

from crisisdesk.domain.accounts import Account, message_langs, mode_refusal
from crisisdesk.domain.clock import retry_after_seconds

log = logging.getLogger(__name__)
PERMANENT_HTTP = frozenset({400, 401, 403, 404, 405, 410, 413, 422})


@dataclass(frozen=True, slots=True)
class Post:
    """One message version, as one account sends it."""

    row: str
    key: str  # the idempotency key: SHA-256(content hash, account id)
    message_id: str
    version: int
    content_hash: str
    message_type: str
    mode: str
    title: str  # the incident's title, for pages and feeds
    texts: Mapping[str, Mapping[str, str]]  # lang -> text channel -> text, every language of the version
    published_at: datetime
    cap: bytes | None = None
    references: tuple[str, ...] = ()  # message ids this one changes (an update, a correction, a cancel)
    media: tuple[Mapping[str, str], ...] = field(default=())  # {"path", "alt", "mime"}
    # When this row was first tried, if it was before (a retry, or a send in doubt): a channel that looks a send
    # up by its content (SMS) looks only from then on, so another message with the same words is never taken for
    # this one. None on the first try: nothing of this row can be out there yet.
    first_try_at: datetime | None = None
    timezone: str = "UTC"  # the incident's IANA time zone: pages show times in it

    def langs(self, account: Account) -> list[str]:
        return message_langs(account, self.texts)

    def text(self, channel: str, lang: str) -> str:
        return self.texts[lang][channel]


@dataclass(frozen=True, slots=True)
class Receipt:
    remote_id: str
    url: str | None = None


class ChannelError(Exception):
    """What the channel said, as data: the reason, whether retrying can help, and when."""

    def __init__(self, reason: str, *, permanent: bool = False, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.permanent = permanent
        self.retry_after = retry_after


class NotRetractable(Exception):
    """The channel cannot take a message back; the reason says why."""


def http_failure(status: int, what: str, *, retry_after: str | None = None, detail: str = "") -> ChannelError:
    """An HTTP error status as a ChannelError: 429 waits, 4xx client errors are permanent, the rest retry."""
    detail = f": {detail[:200]}" if detail else ""
    if status == 429:
        return ChannelError(f"{what} is rate-limiting (HTTP 429){detail}", retry_after=retry_after_seconds(retry_after))
    if status in (401, 403):
        return ChannelError(f"{what} refused the credentials (HTTP {status}){detail}", permanent=True)
    if status in PERMANENT_HTTP:
        return ChannelError(f"{what} refused the message (HTTP {status}){detail}", permanent=True)
    return ChannelError(
        f"{what} answered HTTP {status}{detail}", retry_after=retry_after_seconds(retry_after) if retry_after else None
    )


class Adapter(ABC):
    """One channel account, ready to send. Adapters keep their sessions between sends; ``close`` ends them."""

    timeout = 10.0

    def __init__(self, account: Account, secret: str | None) -> None:
        self.account = account
        self.secret = secret

    @property
    def can_retract(self) -> bool:
        return self.account.spec.retract is None

    @property
    def can_lookup(self) -> bool:
        """Whether ``lookup`` can tell for sure that a key was never sent (then resending is safe)."""
        return False

    @property
    def resend_is_safe(self) -> bool:
        """Whether sending the same key twice reaches people once (the channel takes an idempotency key)."""
        return False

    def limits(self) -> dict[str, int]:
        """Text limits the channel states (it may ask the server); empty when the rules in text_rules apply."""
        return {}

    @abstractmethod
    def check(self) -> str:
        """Check the connection and the credentials without posting; say what was checked."""

    @abstractmethod
    def send(self, post: Post) -> Receipt:
        """Send ``post`` with its idempotency key; return the channel's receipt. Raises ChannelError."""

    def lookup(self, post: Post) -> Receipt | None:
        """The receipt of an earlier send of ``post.key``, or None if the channel has none."""
        return None

    def retract(self, receipt: Receipt, post: Post) -> None:
        raise NotRetractable(self.account.spec.retract or "this channel cannot retract")

    def close(self) -> None:  # noqa: B027 - most adapters hold nothing
        """End any session the adapter keeps."""

    def deliver(self, post: Post) -> Receipt:
        """Send, after refusing a mode mismatch (an exercise message to a live account, or the reverse)."""
        refusal = mode_refusal(self.account, post.mode)
        if refusal:
            raise ChannelError(f"refused by the channel layer: {refusal}", permanent=True)
        return self.send(post)


T = TypeVar("T")


def guarded(kind: str, doing: str, fn: Callable[..., T], *args: Any) -> T:
    """Call into a channel: whatever goes wrong (a bug in an adapter, a library's surprise, a secret that cannot
    go in a header) becomes a ChannelError that names it, so it marks that account's row and nothing else stops."""
    try:
        return fn(*args)
    except (ChannelError, NotRetractable):
        raise
    except Exception as exc:
        # The details go to the log file only: the ChannelError below is what the person sees (the row's reason,
        # the command's error line), so the terminal gets no second line and no traceback.
        log.exception("the %s channel failed unexpectedly while %s", kind, doing, extra={"terminal": False})
        raise ChannelError(
            f"unexpected error in the {kind} channel while {doing}: {type(exc).__name__}: {exc}; "
            "check the channel's settings and secret ('crisisdesk channels test')"
        ) from None


def request(client: httpx.Client, method: str, url: str, what: str, **kwargs: Any) -> httpx.Response:
    """One HTTP request; a network failure or an error status becomes a ChannelError saying what to expect."""
    try:
        response = client.request(method, url, **kwargs)
    except httpx.TimeoutException:
        raise ChannelError(f"{what} did not answer in time") from None
    except httpx.LocalProtocolError:
        # Never the library's words here: they quote the header it refused, and that header carries the secret.
        raise ChannelError(
            f"the request to {what} could not be made: a header value was refused (a control character or line "
            "break in the secret or a setting?); enter the secret again"
        ) from None
    except httpx.TransportError as exc:
        raise ChannelError(f"{what} cannot be reached ({type(exc).__name__}: {exc})") from None
    if response.status_code >= 400:
        raise http_failure(
            response.status_code, what, retry_after=response.headers.get("Retry-After"), detail=response.text
        )
    return response


def http_client(timeout: float, *, headers: dict[str, str] | None = None, **kwargs: Any) -> httpx.Client:
    return httpx.Client(
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        headers={"User-Agent": "crisisdesk/0.1 (crisis communications)", **(headers or {})},
        follow_redirects=False,
        **kwargs,
    )
