"""Bluesky: a post with links and hashtags as facets, under a record key derived from the idempotency key.

One session is kept for the adapter's life (logins are rate-limited: 30 per 5 minutes). The record key is a
TID made from the publish time and the key, so the same message to the same account always has the same
record: before any retry the record is looked up, and a post that exists is never posted again. Retraction
deletes the record.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from atproto import Client, models
from atproto_client.exceptions import (
    AtProtocolError,
    InvokeTimeoutError,
    NetworkError,
    RequestErrorBase,
    UnauthorizedError,
)

from crisisdesk.channels.base import Adapter, ChannelError, Post, Receipt, http_failure
from crisisdesk.domain.accounts import Account

COLLECTION = "app.bsky.feed.post"
_TID_ALPHABET = "234567abcdefghijklmnopqrstuvwxyz"
_URL = re.compile(r"https?://[^\s<>\"')\]]+[^\s<>\"')\].,;:!?]")
_TAG = re.compile(r"(?<![\w#])#([^\s#.,;:!?()\[\]\"']{1,64})")


def record_key(post: Post) -> str:
    """A TID (13 characters, base32-sortable): microseconds of the publish time, and 10 bits of the key."""
    micros = int(post.published_at.timestamp() * 1_000_000)
    value = (micros << 10) | (int(post.key[:4], 16) & 0x3FF)
    out = ""
    for _ in range(13):
        out = _TID_ALPHABET[value & 31] + out
        value >>= 5
    return out


def facets(text: str) -> list[models.AppBskyRichtextFacet.Main]:
    """Links and hashtags as facets, with UTF-8 byte offsets as the lexicon asks."""

    def span(start: int, end: int) -> models.AppBskyRichtextFacet.ByteSlice:
        return models.AppBskyRichtextFacet.ByteSlice(
            byte_start=len(text[:start].encode()), byte_end=len(text[:end].encode())
        )

    found: list[models.AppBskyRichtextFacet.Main] = []
    for m in _URL.finditer(text):
        found.append(
            models.AppBskyRichtextFacet.Main(
                index=span(m.start(), m.end()), features=[models.AppBskyRichtextFacet.Link(uri=m.group(0))]
            )
        )
    for m in _TAG.finditer(text):
        if any(f.index.byte_start <= len(text[: m.start()].encode()) < f.index.byte_end for f in found):
            continue  # a "#" inside a link
        found.append(
            models.AppBskyRichtextFacet.Main(
                index=span(m.start(), m.end()), features=[models.AppBskyRichtextFacet.Tag(tag=m.group(1))]
            )
        )
    return found


class BlueskyAdapter(Adapter):
    def __init__(self, account: Account, secret: str | None) -> None:
        super().__init__(account, secret)
        self.base = account.setting("base_url").rstrip("/")
        self.handle = account.setting("handle")
        self.what = f"Bluesky ({self.base})"
        self._client: Client | None = None
        self._did = ""

    @property
    def can_lookup(self) -> bool:
        return True

    def _call(self, what: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except AtProtocolError as exc:
            raise self._failure(what, exc) from None

    def _failure(self, what: str, exc: AtProtocolError) -> ChannelError:
        """What the PDS said, as a ChannelError (credentials and client errors are permanent)."""
        if isinstance(exc, NetworkError | InvokeTimeoutError):
            return ChannelError(f"{self.what} cannot be reached ({type(exc).__name__})")
        if isinstance(exc, UnauthorizedError):
            self._client = None
            return ChannelError(f"{self.what} refused the credentials of {self.handle}", permanent=True)
        if isinstance(exc, RequestErrorBase) and exc.response is not None:
            response = exc.response
            headers = {k.lower(): v for k, v in (response.headers or {}).items()}
            return http_failure(
                response.status_code, self.what, retry_after=headers.get("retry-after"), detail=str(exc)
            )
        return ChannelError(f"{self.what}: {what} failed ({type(exc).__name__}: {exc})")

    def client(self) -> Client:
        if self._client is None:
            client = Client(base_url=f"{self.base}/xrpc")
            try:
                self._call("sign-in", client.login, self.handle, self.secret, fetch_bsky_profile=False)
                self._did = self._call("reading the session", client.com.atproto.server.get_session).did
            except BaseException:
                client.request.close()
                raise
            self._client = client
        return self._client

    def check(self) -> str:
        self.client()
        return f"signed in as {self.handle} ({self._did})"

    def send(self, post: Post) -> Receipt:
        found = self.lookup(post)
        if found is not None:
            return found  # posted before a crash or a lost answer: never post twice
        lang = post.langs(self.account)[0]
        text = post.text("bluesky", lang)
        client = self.client()
        record = models.AppBskyFeedPost.Record(
            text=text,
            created_at=post.published_at.isoformat(),
            langs=[lang],
            facets=facets(text) or None,
            embed=self._images(client, post),
        )
        answer = self._call(
            "posting",
            client.com.atproto.repo.create_record,
            models.ComAtprotoRepoCreateRecord.Data(
                repo=self._did, collection=COLLECTION, rkey=record_key(post), record=record
            ),
        )
        return self._receipt(answer.uri)

    def _images(self, client: Client, post: Post) -> models.AppBskyEmbedImages.Main | None:
        """Up to four images, each with its alt text (a post's images must be described)."""
        images = []
        for media in post.media[:4]:
            try:
                data = Path(media["path"]).read_bytes()
            except OSError as exc:
                raise ChannelError(f"cannot read the image {media['path']}: {exc.strerror}", permanent=True) from None
            blob = self._call("uploading an image", client.upload_blob, data).blob
            images.append(models.AppBskyEmbedImages.Image(alt=media.get("alt") or "", image=blob))
        return models.AppBskyEmbedImages.Main(images=images) if images else None

    def lookup(self, post: Post) -> Receipt | None:
        client = self.client()
        try:
            answer = client.com.atproto.repo.get_record(
                models.ComAtprotoRepoGetRecord.Params(repo=self._did, collection=COLLECTION, rkey=record_key(post))
            )
        except RequestErrorBase as exc:
            if exc.response is not None and exc.response.status_code in (400, 404):
                return None  # RecordNotFound
            raise self._failure("looking the post up", exc) from None
        return self._receipt(answer.uri)

    def retract(self, receipt: Receipt, post: Post) -> None:
        client = self.client()
        self._call(
            "deleting the post",
            client.com.atproto.repo.delete_record,
            models.ComAtprotoRepoDeleteRecord.Data(repo=self._did, collection=COLLECTION, rkey=record_key(post)),
        )

    def close(self) -> None:
        if self._client is not None:
            self._client.request.close()
            self._client = None

    def _receipt(self, uri: str) -> Receipt:
        rkey = uri.rsplit("/", 1)[-1]
        return Receipt(remote_id=uri, url=f"https://bsky.app/profile/{self.handle}/post/{rkey}")
