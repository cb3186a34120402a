"""Fetching a source safely: bounded in time, size, decompression and redirects, and polite (conditional GET).

crisisdesk fetches every source itself and hands the parser the bytes. The body is read raw and decompressed
here with a hard cap on the output, so a gzip bomb stops at the cap instead of filling memory; a source that
drips bytes slowly is cut at a total deadline the read timeout alone would not catch.
"""

from __future__ import annotations

import time
import zlib
from dataclasses import dataclass
from pathlib import Path

import httpx

from crisisdesk import __version__
from crisisdesk.domain.clock import retry_after_seconds

USER_AGENT = f"crisisdesk/{__version__} (crisis communications feed monitor)"
ACCEPT = (
    "application/atom+xml, application/rss+xml, application/cap+xml, application/feed+json, "
    "application/geo+json, application/json;q=0.9, application/xml;q=0.9, text/xml;q=0.8, */*;q=0.5"
)


@dataclass(frozen=True)
class Limits:
    connect: float = 5.0  # seconds to connect
    read: float = 15.0  # seconds with no data
    total: float = 30.0  # seconds for the whole response
    max_body: int = 5 * 1024 * 1024  # bytes on the wire
    max_decoded: int = 20 * 1024 * 1024  # bytes after decompression
    max_redirects: int = 3


DEFAULT_LIMITS = Limits()


class FetchError(Exception):
    """The source could not be read. ``reason`` is for the source's health; ``retry_after`` if the server asked."""

    def __init__(self, reason: str, *, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


@dataclass(frozen=True)
class Fetched:
    body: bytes | None  # None: not modified since the last poll (HTTP 304)
    etag: str | None
    last_modified: str | None
    url: str  # after redirects


def client(limits: Limits = DEFAULT_LIMITS) -> httpx.Client:
    """One client per poller, shared by its polls so connections are reused."""
    return httpx.Client(
        timeout=httpx.Timeout(connect=limits.connect, read=limits.read, write=limits.read, pool=limits.connect),
        follow_redirects=True,
        max_redirects=limits.max_redirects,
        # Only what this module can decompress under a cap; httpx never decodes the body (it is read raw).
        headers={"User-Agent": USER_AGENT, "Accept": ACCEPT, "Accept-Encoding": "gzip, deflate"},
        trust_env=False,
    )


class _Decoder:
    """gzip or deflate (zlib or raw), with the output capped."""

    def __init__(self, encoding: str, cap: int) -> None:
        self.cap = cap
        self.size = 0
        self.out: list[bytes] = []
        encoding = encoding.strip().lower()
        if encoding in ("", "identity"):
            self._z = None
        elif encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(16 + zlib.MAX_WBITS)
        elif encoding == "deflate":
            self._z = zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib header or gzip, detected
        else:
            raise FetchError(f"the server used content encoding {encoding!r}, which crisisdesk did not ask for")

    def _take(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.cap:
            raise FetchError(f"the body decompresses to more than {self.cap // (1024 * 1024)} MB (a compression bomb?)")
        self.out.append(data)

    def feed(self, chunk: bytes) -> None:
        if self._z is None:
            self._take(chunk)
            return
        data = chunk
        try:
            while data:
                piece = self._z.decompress(data, self.cap - self.size + 1)
                self._take(piece)
                data = self._z.unconsumed_tail
        except zlib.error as exc:
            raise FetchError(f"the compressed body is corrupt ({exc})") from None

    def finish(self) -> bytes:
        if self._z is not None:
            try:
                self._take(self._z.flush())
            except zlib.error as exc:
                raise FetchError(f"the compressed body is corrupt ({exc})") from None
        return b"".join(self.out)


def fetch(
    http: httpx.Client,
    url: str,
    *,
    etag: str | None = None,
    last_modified: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> Fetched:
    """GET ``url`` within ``limits``. Raises FetchError with the reason for anything but a usable body or 304."""
    headers = {}
    if etag:
        headers["If-None-Match"] = etag
    if last_modified:
        headers["If-Modified-Since"] = last_modified
    started = time.monotonic()
    try:
        with http.stream("GET", url, headers=headers) as response:
            if response.status_code == 304:
                return Fetched(None, etag, last_modified, str(response.url))
            if response.status_code >= 400:
                why = response.reason_phrase or "error"
                raise FetchError(
                    f"HTTP {response.status_code} {why}",
                    retry_after=retry_after_seconds(response.headers.get("Retry-After")),
                )
            if response.status_code >= 300:
                raise FetchError(f"HTTP {response.status_code} without a usable redirect")
            declared = response.headers.get("Content-Length")
            if declared and declared.isdigit() and int(declared) > limits.max_body:
                raise FetchError(f"the body is {int(declared):,} bytes, over the {limits.max_body:,}-byte cap")
            decoder = _Decoder(response.headers.get("Content-Encoding", ""), limits.max_decoded)
            received = 0
            for chunk in response.iter_raw():  # as it arrives: the deadline is checked at every read
                received += len(chunk)
                if received > limits.max_body:
                    raise FetchError(f"the body is over the {limits.max_body:,}-byte cap")
                if time.monotonic() - started > limits.total:
                    raise FetchError(f"the source sent too slowly: not finished after {limits.total:g} s")
                decoder.feed(chunk)
            body = decoder.finish()
            return Fetched(body, response.headers.get("ETag"), response.headers.get("Last-Modified"), str(response.url))
    except httpx.TooManyRedirects:
        raise FetchError(f"more than {limits.max_redirects} redirects (a redirect loop?)") from None
    except httpx.ConnectTimeout:
        raise FetchError(f"no connection within {limits.connect:g} s") from None
    except httpx.ReadTimeout:
        raise FetchError(f"the source stopped sending for {limits.read:g} s") from None
    except httpx.TimeoutException as exc:
        raise FetchError(f"timed out ({type(exc).__name__})") from None
    except httpx.UnsupportedProtocol:
        raise FetchError(f"{url!r} is not an http or https address") from None
    except httpx.InvalidURL as exc:
        raise FetchError(f"{url!r} is not a valid address: {exc}") from None
    except httpx.TransportError as exc:
        raise FetchError(f"cannot reach the source ({type(exc).__name__}: {exc})") from None
    except httpx.DecodingError as exc:
        raise FetchError(f"the body cannot be decoded ({exc})") from None


# -- watched folders -------------------------------------------------------------------------------------

FOLDER_SUFFIXES = frozenset({".xml", ".cap", ".atom", ".rss", ".rdf", ".json", ".geojson"})


@dataclass(frozen=True)
class DroppedFile:
    name: str
    stamp: tuple[int, int]  # modification time (ns) and size: a changed file is read again
    body: bytes | None  # None if it could not be read (then ``problem`` says why)
    problem: str | None = None


def read_folder(folder: Path, seen: dict[str, tuple[int, int]], limits: Limits = DEFAULT_LIMITS) -> list[DroppedFile]:
    """Files in ``folder`` that are new or changed since ``seen``, read whole (up to the body cap)."""
    if not folder.is_dir():
        raise FetchError(f"{folder} is not a folder (was it moved or unmounted?)")
    out = []
    try:
        entries = sorted(folder.iterdir())
    except OSError as exc:
        raise FetchError(f"cannot list {folder}: {exc.strerror}") from None
    for path in entries:
        if path.name.startswith(".") or path.suffix.lower() not in FOLDER_SUFFIXES:
            continue
        try:
            st = path.stat()
        except OSError:
            continue
        if not path.is_file():
            continue
        stamp = (st.st_mtime_ns, st.st_size)
        if seen.get(path.name) == (stamp[0], stamp[1]):
            continue
        if st.st_size > limits.max_body:
            out.append(DroppedFile(path.name, stamp, None, f"{st.st_size:,} bytes, over the {limits.max_body:,} cap"))
            continue
        try:
            with path.open("rb") as fh:
                body = fh.read(limits.max_body + 1)
        except OSError as exc:
            out.append(DroppedFile(path.name, stamp, None, f"cannot read: {exc.strerror}"))
            continue
        out.append(DroppedFile(path.name, stamp, body))
    return out
