"""Webhook: the message as JSON to a URL, signed with HMAC-SHA256, carrying the idempotency key.

Receivers check ``X-Crisisdesk-Signature: sha256=HEX``, where HEX is HMAC-SHA256 with the shared key over
``X-Crisisdesk-Timestamp``, a dot, and the raw body; and drop a repeated ``Idempotency-Key``. A retraction is
a signed ``{"event": "retract"}`` with the same key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from typing import Any

import orjson

from crisisdesk.channels.base import Adapter, ChannelError, Post, Receipt, http_client, request
from crisisdesk.domain.accounts import Account


def signature(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class WebhookAdapter(Adapter):
    def __init__(self, account: Account, secret: str | None) -> None:
        super().__init__(account, secret)
        self.url = account.setting("url")
        self.client = http_client(self.timeout)

    @property
    def resend_is_safe(self) -> bool:
        return True  # the receiver drops a repeated Idempotency-Key

    def check(self) -> str:
        try:
            response = self.client.get(self.url)
        except Exception as exc:
            raise ChannelError(f"{self.url} cannot be reached ({type(exc).__name__})") from None
        return f"{self.url} answers (HTTP {response.status_code}); the signing key is checked by the receiver"

    def _post(self, data: dict[str, Any], key: str) -> Receipt:
        body = orjson.dumps(data)
        ts = str(int(time.time()))
        response = request(
            self.client,
            "POST",
            self.url,
            f"the webhook {self.account.name}",
            content=body,
            headers={
                "Content-Type": "application/json",
                "Idempotency-Key": key,
                "X-Crisisdesk-Timestamp": ts,
                "X-Crisisdesk-Signature": signature(self.secret or "", ts, body),
            },
        )
        try:
            answer = response.json()
        except ValueError:
            answer = {}
        if not isinstance(answer, dict):
            answer = {}
        return Receipt(remote_id=str(answer.get("id") or key), url=answer.get("url"))

    def send(self, post: Post) -> Receipt:
        langs = post.langs(self.account)
        return self._post(
            {
                "event": "message",
                "key": post.key,
                "message": post.message_id,
                "version": post.version,
                "hash": post.content_hash,
                "type": post.message_type,
                "mode": post.mode,
                "title": post.title,
                "published_at": post.published_at.isoformat(),
                "references": list(post.references),
                "texts": {lang: dict(post.texts[lang]) for lang in langs},
                "cap": post.cap.decode("utf-8") if post.cap else None,
            },
            post.key,
        )

    def retract(self, receipt: Receipt, post: Post) -> None:
        self._post(
            {"event": "retract", "key": post.key, "message": post.message_id, "remote_id": receipt.remote_id},
            post.key + ":retract",
        )

    def close(self) -> None:
        self.client.close()
