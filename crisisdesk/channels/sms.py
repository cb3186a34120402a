"""SMS through an HTTP gateway with a Twilio-compatible API (Twilio itself, or a gateway that copies it).

The API takes no idempotency key, so a row tried before (a retry after a failure part-way through the
recipients, or a send in doubt after a crash) has every recipient looked up in the gateway's message list first:
same recipient, sender and text, created since the row was first tried. Never earlier: another message with the
same words (a repeated warning, an all-clear) is not this one, and a first try looks nothing up.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

from crisisdesk.channels.base import Adapter, ChannelError, Post, Receipt, http_client, request
from crisisdesk.domain.accounts import Account

API = "2010-04-01"
CLOCK_SKEW = timedelta(minutes=1)  # between this workstation's clock and the gateway's


def _when(text: object) -> datetime | None:
    """A gateway's time: RFC 2822 as Twilio writes it, or ISO 8601."""
    if not isinstance(text, str) or not text:
        return None
    try:
        found = parsedate_to_datetime(text)
    except (TypeError, ValueError):
        try:
            found = datetime.fromisoformat(text)
        except ValueError:
            return None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


class SmsAdapter(Adapter):
    def __init__(self, account: Account, secret: str | None) -> None:
        super().__init__(account, secret)
        self.base = account.setting("base_url").rstrip("/")
        self.sid = account.setting("account_sid")
        self.sender = account.setting("from")
        self.recipients = [x.strip() for x in account.setting("to").split(",") if x.strip()]
        self.client = http_client(self.timeout, auth=(self.sid, secret or ""))
        self.what = f"the SMS gateway {self.account.name}"

    @property
    def can_lookup(self) -> bool:
        return True

    def check(self) -> str:
        request(self.client, "GET", f"{self.base}/{API}/Accounts/{self.sid}.json", self.what)
        return f"{self.base}: account {self.sid} signed in; {len(self.recipients)} recipient(s)"

    def _text(self, post: Post) -> str:
        return post.text("sms", post.langs(self.account)[0])

    def _find(self, post: Post, to: str, since: datetime) -> str | None:
        since = since - CLOCK_SKEW
        response = request(
            self.client,
            "GET",
            f"{self.base}/{API}/Accounts/{self.sid}/Messages.json",
            self.what,
            params={"To": to, "From": self.sender, "DateSent>": since.strftime("%Y-%m-%d"), "PageSize": 100},
        )
        body = self._text(post)
        for m in response.json().get("messages", []):
            if m.get("body") != body or m.get("status") in ("failed", "undelivered", "canceled"):
                continue
            created = _when(m.get("date_created") or m.get("date_sent"))
            if created is None or created >= since:  # a gateway that gives no time: this row's, to be safe
                return str(m["sid"])
        return None

    def _require_recipients(self) -> None:
        # An account added before 'to' was checked (to=",,,"): sending to nobody must not count as sent.
        if not self.recipients:
            raise ChannelError(
                f"{self.account.name} has no recipient: its 'to' setting names no phone number; "
                "add the account again with the numbers",
                permanent=True,
            )

    def send(self, post: Post) -> Receipt:
        self._require_recipients()
        sids = []
        for to in self.recipients:
            sid = self._find(post, to, post.first_try_at) if post.first_try_at else None
            if sid is None:
                response = request(
                    self.client,
                    "POST",
                    f"{self.base}/{API}/Accounts/{self.sid}/Messages.json",
                    self.what,
                    data={"To": to, "From": self.sender, "Body": self._text(post)},
                )
                answer: dict[str, Any] = response.json()
                if "sid" not in answer:
                    raise ChannelError(f"{self.what} answered without a message id: {str(answer)[:200]}")
                sid = str(answer["sid"])
            sids.append(sid)
        return Receipt(remote_id=",".join(sids))

    def lookup(self, post: Post) -> Receipt | None:
        self._require_recipients()  # else an empty list would be "found" and marked sent
        since = post.first_try_at or post.published_at
        sids = [self._find(post, to, since) for to in self.recipients]
        if any(s is None for s in sids):
            return None  # send() looks each recipient up again, so only the missing ones are texted
        return Receipt(remote_id=",".join(s for s in sids if s))

    def close(self) -> None:
        self.client.close()
