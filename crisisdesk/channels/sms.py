"""SMS through an HTTP gateway with a Twilio-compatible API (Twilio itself, or a gateway that copies it).

The API takes no idempotency key, so every recipient is looked up in the gateway's message list (same
recipient, sender and text, sent since the message was published) before it is sent: a retry after a crash,
or after a failure part-way through the recipients, never texts anyone twice.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from crisisdesk.channels.base import Adapter, ChannelError, Post, Receipt, http_client, request
from crisisdesk.domain.accounts import Account

API = "2010-04-01"


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

    def _find(self, post: Post, to: str) -> str | None:
        since = (post.published_at - timedelta(minutes=1)).strftime("%Y-%m-%d")
        response = request(
            self.client,
            "GET",
            f"{self.base}/{API}/Accounts/{self.sid}/Messages.json",
            self.what,
            params={"To": to, "From": self.sender, "DateSent>": since, "PageSize": 100},
        )
        body = self._text(post)
        for m in response.json().get("messages", []):
            if m.get("body") == body and m.get("status") not in ("failed", "undelivered", "canceled"):
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
            sid = self._find(post, to)
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
        sids = [self._find(post, to) for to in self.recipients]
        if any(s is None for s in sids):
            return None  # send() looks each recipient up again, so only the missing ones are texted
        return Receipt(remote_id=",".join(s for s in sids if s))

    def close(self) -> None:
        self.client.close()
