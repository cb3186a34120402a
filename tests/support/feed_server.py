"""A local HTTP server for feed sources, real sockets on 127.0.0.1: good feeds and every hostile case.

Each route is a ``Route``: a body with its content type (answered with ETag and Last-Modified, and 304 to a
matching conditional GET), or a misbehaviour: gzip, a gzip bomb, an over-size body (declared or chunked), a
drip-feed, a stall, a redirect loop, a 429 with Retry-After. The server counts requests per path and keeps the
conditional headers it was sent.

Heavy bodies are made once per test session, not per request: compressing the bomb takes a third of a second
on an idle machine and over a second on a busy one, longer than the client's read timeout, and the tests
measure the client, not the server.
"""

from __future__ import annotations

import contextlib
import functools
import gzip
import hashlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.support.wait import wait_until

LAST_MODIFIED = "Sun, 22 Nov 2026 08:00:00 GMT"


@functools.cache
def gzip_bomb() -> bytes:
    """64 MB of zeros is about 64 KB compressed: far below the 5 MB wire cap, far above 20 MB decoded."""
    return gzip.compress(b"<rss>" + b"\0" * (64 * 1024 * 1024), compresslevel=9)


@functools.cache
def huge_body() -> bytes:
    return b"<rss>" + b" " * (6 * 1024 * 1024)


@dataclass
class Route:
    body: bytes = b""
    content_type: str = "application/xml"
    status: int = 200
    behaviour: str = "plain"  # plain, gzip, bomb, huge, chunked-huge, drip, stall, loop, redirect, retry-after
    headers: dict[str, str] = field(default_factory=dict)
    target: str = ""  # for redirect


@dataclass
class FeedServer:
    url: str
    routes: dict[str, Route]
    hits: dict[str, int] = field(default_factory=dict)
    conditional: list[tuple[str, str | None, str | None]] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    busy: int = 0  # requests being answered right now (an idle keep-alive connection is not one)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, path: str, route: Route) -> str:
        self.routes[path] = route
        return self.url + path


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def fs(self) -> FeedServer:
        return self.server.feed_server  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        with self.fs.lock:
            self.fs.busy += 1
        try:
            self._answer()
        finally:
            with self.fs.lock:
                self.fs.busy -= 1

    def _answer(self) -> None:
        path = self.path.split("?")[0]
        fs = self.fs
        fs.hits[path] = fs.hits.get(path, 0) + 1
        route = fs.routes.get(path)
        if route is None:
            self._send(404, b"not here", {"Content-Type": "text/plain"})
            return
        etag = '"' + hashlib.sha256(route.body).hexdigest()[:16] + '"'
        fs.conditional.append((path, self.headers.get("If-None-Match"), self.headers.get("If-Modified-Since")))
        b = route.behaviour
        if b == "loop":
            self._send(302, b"", {"Location": path})
        elif b == "redirect":
            self._send(301, b"", {"Location": route.target})
        elif b == "retry-after":
            self._send(429, b"slow down", {"Retry-After": "600", "Content-Type": "text/plain"})
        elif self.headers.get("If-None-Match") == etag:
            self._send(304, b"", {"ETag": etag}, length=False)
        elif b == "gzip":
            self._send(
                route.status, gzip.compress(route.body), {"Content-Encoding": "gzip", "ETag": etag, **self._ct(route)}
            )
        elif b == "bomb":
            self._send(200, gzip_bomb(), {"Content-Encoding": "gzip", **self._ct(route)})
        elif b == "huge":
            self._send(200, huge_body(), self._ct(route))
        elif b == "chunked-huge":
            self._chunked(route, (b" " * 65536 for _ in range(100)))  # 6.4 MB with no Content-Length
        elif b == "drip":
            self._chunked(route, self._drip())
        elif b == "stall":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            self.wfile.write(b"<rss>")
            self.wfile.flush()
            fs.stop.wait(10)
        else:
            headers = {"ETag": etag, "Last-Modified": LAST_MODIFIED, **self._ct(route), **route.headers}
            self._send(route.status, route.body, headers)

    def _drip(self) -> Iterator[bytes]:
        """A byte every 0.1 s until the client hangs up (or the server stops): never a whole body."""
        yield b"<rss><channel>"
        while not self.fs.stop.wait(0.1):
            yield b" "

    @staticmethod
    def _ct(route: Route) -> dict[str, str]:
        return {"Content-Type": route.content_type}

    def _chunked(self, route: Route, chunks: Iterator[bytes]) -> None:
        self.send_response(200)
        self.send_header("Content-Type", route.content_type)
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        try:
            for chunk in chunks:
                self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
                self.wfile.flush()
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up, as it should

    def _send(self, status: int, body: bytes, headers: dict[str, str], *, length: bool = True) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def feed_server() -> Iterator[FeedServer]:
    gzip_bomb()  # made when the first server starts, never inside a request
    server = _Server(("127.0.0.1", 0), _Handler)
    fs = FeedServer(url=f"http://127.0.0.1:{server.server_address[1]}", routes={})
    server.feed_server = fs  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield fs
    finally:
        fs.stop.set()  # a stalled or drip-feeding handler returns at once
        server.shutdown()
        server.server_close()
        # no handler thread outlives its test (and writes to a socket the next test may have reused)
        wait_until(lambda: fs.busy == 0, 10, "the feed server's requests to finish")
