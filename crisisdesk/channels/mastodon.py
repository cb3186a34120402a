"""Mastodon (Mastodon.py): a status posted with the idempotency key, the instance's own character limit,
media with alt text, deleted to retract.

The server keeps an idempotency key for an hour, so a send repeated within the hour returns the same status.
After that, a send whose outcome is unknown is looked up among the account's recent statuses.
"""

from __future__ import annotations

import html
import io
import mimetypes
import re
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from mastodon import (
    Mastodon,
    MastodonAPIError,
    MastodonNetworkError,
    MastodonNotFoundError,
    MastodonRatelimitError,
    MastodonServerError,
    MastodonUnauthorizedError,
)

from crisisdesk.channels.base import Adapter, ChannelError, Post, Receipt, http_failure
from crisisdesk.domain.accounts import Account
from crisisdesk.domain.text_rules import mastodon_length

_TAGS = re.compile(r"<[^>]+>")


def plain(content: str) -> str:
    """A status's HTML content as text, for comparing with what was sent."""
    text = re.sub(r"<br\s*/?>", "\n", content)
    text = re.sub(r"</p>\s*<p>", "\n\n", text)
    return " ".join(html.unescape(_TAGS.sub("", text)).split())


class MastodonAdapter(Adapter):
    def __init__(self, account: Account, secret: str | None) -> None:
        super().__init__(account, secret)
        self.base = account.setting("base_url").rstrip("/")
        self.api = Mastodon(
            access_token=secret,
            api_base_url=self.base,
            ratelimit_method="throw",
            request_timeout=self.timeout,
            version_check_mode="none",
            user_agent="crisisdesk/0.1",
        )
        self.what = f"Mastodon ({self.base})"
        self._limit: int | None = None
        self._me: str | None = None

    @property
    def resend_is_safe(self) -> bool:
        return True  # within the hour the server returns the same status for the same key

    @property
    def can_lookup(self) -> bool:
        return True

    def _call(self, fn: Callable[..., Any], *args: Any, missing_ok: bool = False, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except MastodonNotFoundError:
            if missing_ok:
                return None
            raise ChannelError(f"{self.what} has no such thing (HTTP 404)", permanent=True) from None
        except MastodonRatelimitError:
            reset = getattr(self.api, "ratelimit_reset", None)
            wait = max(1.0, float(reset) - time.time()) if reset else None
            raise ChannelError(f"{self.what} is rate-limiting (HTTP 429)", retry_after=wait) from None
        except MastodonUnauthorizedError:
            raise ChannelError(f"{self.what} refused the access token (HTTP 401)", permanent=True) from None
        except MastodonNetworkError as exc:
            raise ChannelError(f"{self.what} cannot be reached ({type(exc).__name__})") from None
        except MastodonServerError as exc:
            raise ChannelError(f"{self.what} had a server error ({_status(exc)})") from None
        except MastodonAPIError as exc:
            status = _status(exc)
            if isinstance(status, int):
                raise http_failure(status, self.what, detail=str(exc.args[3] if len(exc.args) > 3 else "")) from None
            raise ChannelError(f"{self.what}: {exc}") from None

    def limits(self) -> dict[str, int]:
        """The instance's own maximum, read from /api/v2/instance (500 if it does not say)."""
        if self._limit is None:
            instance = self._call(self.api.instance_v2)
            try:
                self._limit = int(instance["configuration"]["statuses"]["max_characters"])
            except (KeyError, TypeError, ValueError):
                self._limit = 500
        return {"mastodon": self._limit}

    def check(self) -> str:
        me = self._call(self.api.account_verify_credentials)
        self._me = str(me["id"])
        return f"signed in as @{me['acct']}; posts up to {self.limits()['mastodon']} characters"

    def _text(self, post: Post) -> tuple[str, str]:
        lang = post.langs(self.account)[0]
        return lang, post.text("mastodon", lang)

    def send(self, post: Post) -> Receipt:
        lang, text = self._text(post)
        limit = self.limits()["mastodon"]
        length = mastodon_length(text)  # as the server counts: graphemes, links 23, remote mentions as @user
        if length > limit:
            raise ChannelError(f"the text has {length} characters; {self.base} takes at most {limit}", permanent=True)
        media = [self._upload(m) for m in post.media]
        status = self._call(
            self.api.status_post,
            text,
            idempotency_key=post.key,
            language=lang,
            visibility=self.account.setting("visibility") or "public",
            media_ids=media or None,
        )
        return Receipt(remote_id=str(status["id"]), url=status.get("url"))

    def _upload(self, media: Mapping[str, str]) -> Any:
        """An image with its alt text. Read here (Mastodon.py leaves a file it opened itself open)."""
        path = Path(media["path"])
        try:
            data = io.BytesIO(path.read_bytes())
        except OSError as exc:
            raise ChannelError(f"cannot read the image {path}: {exc.strerror}", permanent=True) from None
        mime = media.get("mime") or mimetypes.guess_type(path.name)[0] or "application/octet-stream"
        return self._call(self.api.media_post, data, mime_type=mime, description=media.get("alt"), file_name=path.name)

    def lookup(self, post: Post) -> Receipt | None:
        if self._me is None:
            self._me = str(self._call(self.api.account_verify_credentials)["id"])
        _, text = self._text(post)
        wanted = " ".join(text.split())
        for status in self._call(self.api.account_statuses, self._me, limit=40) or []:
            if plain(status.get("content") or "") == wanted:
                return Receipt(remote_id=str(status["id"]), url=status.get("url"))
        return None

    def retract(self, receipt: Receipt, post: Post) -> None:
        self._call(self.api.status_delete, receipt.remote_id, missing_ok=True)  # already gone is gone

    def close(self) -> None:
        session = getattr(self.api, "session", None)
        if session is not None:
            session.close()


def _status(exc: MastodonAPIError) -> object:
    return exc.args[1] if len(exc.args) > 1 else None
