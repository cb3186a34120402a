"""Matrix: a message in a room, sent with the idempotency key as the transaction id; redacted to retract.

A transaction id repeated by the same access token returns the same event instead of a second message, so
a send cut off mid-way is simply sent again.
"""

from __future__ import annotations

import html
import urllib.parse

from crisisdesk.channels.base import Adapter, ChannelError, Post, Receipt, http_client, request
from crisisdesk.domain.accounts import Account

API = "/_matrix/client/v3"


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")


class MatrixAdapter(Adapter):
    def __init__(self, account: Account, secret: str | None) -> None:
        super().__init__(account, secret)
        self.base = account.setting("base_url").rstrip("/")
        self.room = account.setting("room")
        self.client = http_client(self.timeout, headers={"Authorization": f"Bearer {secret or ''}"})
        self.what = f"the Matrix server {self.base}"
        self._room_id: str | None = None

    @property
    def resend_is_safe(self) -> bool:
        return True

    def room_id(self) -> str:
        if self._room_id is None:
            if self.room.startswith("#"):
                found = request(self.client, "GET", f"{self.base}{API}/directory/room/{_q(self.room)}", self.what)
                self._room_id = str(found.json()["room_id"])
            else:
                self._room_id = self.room
        return self._room_id

    def check(self) -> str:
        who = request(self.client, "GET", f"{self.base}{API}/account/whoami", self.what).json()["user_id"]
        joined = request(self.client, "GET", f"{self.base}{API}/joined_rooms", self.what).json()["joined_rooms"]
        room = self.room_id()
        if room not in joined:
            raise ChannelError(f"{who} has not joined {self.room}: invite it and accept the invitation", permanent=True)
        return f"signed in as {who}, a member of {self.room}"

    def send(self, post: Post) -> Receipt:
        langs = post.langs(self.account)
        plain = "\n\n".join(post.text("web", lang) for lang in langs)
        formatted = "".join(
            f'<div lang="{html.escape(lang)}"><p>'
            + html.escape(post.text("web", lang)).replace("\n\n", "</p><p>").replace("\n", "<br>")
            + "</p></div>"
            for lang in langs
        )
        room = self.room_id()
        answer = request(
            self.client,
            "PUT",
            f"{self.base}{API}/rooms/{_q(room)}/send/m.room.message/{_q(post.key)}",
            self.what,
            json={
                "msgtype": "m.text",
                "body": plain,
                "format": "org.matrix.custom.html",
                "formatted_body": formatted,
                "org.crisisdesk.key": post.key,
                "org.crisisdesk.mode": post.mode,
            },
        ).json()
        event = str(answer["event_id"])
        return Receipt(remote_id=event, url=f"https://matrix.to/#/{_q(room)}/{_q(event)}")

    def retract(self, receipt: Receipt, post: Post) -> None:
        room = self.room_id()
        request(
            self.client,
            "PUT",
            f"{self.base}{API}/rooms/{_q(room)}/redact/{_q(receipt.remote_id)}/{_q(post.key + '-redact')}",
            self.what,
            json={"reason": "withdrawn by the sender"},
        )

    def close(self) -> None:
        self.client.close()
