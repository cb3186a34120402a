"""Any Apprise URL, as a catch-all. Apprise returns no remote id, so nothing sent through it can be retracted,
and it cannot be asked what it delivered: a send cut off mid-way needs a person to check."""

from __future__ import annotations

import apprise

from crisisdesk.channels.base import Adapter, ChannelError, Post, Receipt
from crisisdesk.domain.accounts import Account


class AppriseAdapter(Adapter):
    def __init__(self, account: Account, secret: str | None) -> None:
        super().__init__(account, secret)
        self.apprise = apprise.Apprise()
        if not self.apprise.add(secret or ""):
            raise ChannelError(f"{account.name}: Apprise does not understand its URL", permanent=True)

    def check(self) -> str:
        return "Apprise accepts the URL; it cannot check a connection without sending, so nothing was sent"

    def send(self, post: Post) -> Receipt:
        lang = post.langs(self.account)[0]
        channel = self.account.setting("text") or "web"
        texts = post.texts[lang]
        title = texts.get("cap-headline") or texts.get("email-subject") or post.title
        try:
            ok = self.apprise.notify(title=title, body=texts.get(channel) or texts.get("web", ""))
        except Exception as exc:
            raise ChannelError(f"Apprise failed ({type(exc).__name__}: {exc})") from None
        if not ok:
            raise ChannelError("Apprise reported that the service did not take the message")
        return Receipt(remote_id=f"apprise:{post.key[:16]}")
