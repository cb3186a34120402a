"""Local HTTP servers on 127.0.0.1 for the webhook and SMS channels: real sockets, real HTTP, in the test process.

``Receiver`` is a webhook receiver that records what it gets and can be told to fail for a while (down, 429
with Retry-After, 401). ``SmsGateway`` speaks the part of Twilio's REST API the SMS channel uses (create a
message, list messages with To/From/DateSent filters, fetch the account), with HTTP Basic auth.
"""

from __future__ import annotations

import base64
import json
import sys
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Script:
    """What the server answers next: a queue of (status, headers, body) used before the normal answer."""

    queue: list[tuple[int, dict[str, str], bytes]] = field(default_factory=list)
    down: bool = False  # close the connection without answering

    def next(self) -> tuple[int, dict[str, str], bytes] | None:
        return self.queue.pop(0) if self.queue else None


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A sender killed mid-request (the fault tests do it on purpose) resets the connection: not an error.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@contextmanager
def serve(handler_cls: type[BaseHTTPRequestHandler], state: Any) -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), handler_cls)
    server.state = state  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


class _Base(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    @property
    def state(self) -> Any:
        return self.server.state  # type: ignore[attr-defined]

    def _body(self) -> bytes | None:
        """The request's body, or None if the sender hung up before all of it came (it was killed): a real
        server never acts on half a request, so neither does this one."""
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            self.close_connection = True
            return None
        return body

    def _answer(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Type", (headers or {}).get("Content-Type", "application/json"))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _scripted(self) -> bool:
        script: Script = self.state.script
        if script.down:
            self.close_connection = True
            self.connection.close()
            return True
        step = script.next()
        if step is None:
            return False
        self._answer(step[0], step[2], step[1])
        return True


# -- webhook receiver ------------------------------------------------------------------------------------


@dataclass
class ReceiverState:
    """Records every POST; ``unique`` keeps one per Idempotency-Key, as a receiver should.

    ``before_record`` and ``after_record`` run in the handler (a fault test kills the sender there); if one
    returns True the connection is dropped without an answer.
    """

    script: Script = field(default_factory=Script)
    requests: list[Recorded] = field(default_factory=list)
    unique: dict[str, Recorded] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    before_record: Any = None
    after_record: Any = None

    def posts(self) -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.method == "POST"]


class _ReceiverHandler(_Base):
    def do_GET(self) -> None:
        self._answer(200, b'{"ok": true}')

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.close()

    def do_POST(self) -> None:
        body = self._body()
        if body is None or self._scripted():
            return
        if self.state.before_record and self.state.before_record():
            return self._drop()
        recorded = Recorded("POST", self.path, dict(self.headers.items()), body)
        with self.state.lock:
            self.state.requests.append(recorded)
            first = self.state.unique.setdefault(self.headers.get("Idempotency-Key", ""), recorded)
            n = self.state.requests.index(first) + 1
        if self.state.after_record and self.state.after_record():
            return self._drop()
        self._answer(200, json.dumps({"id": f"hook-{n}", "url": f"http://receiver.invalid/{n}"}).encode())


@contextmanager
def webhook_receiver() -> Iterator[tuple[str, ReceiverState]]:
    state = ReceiverState()
    with serve(_ReceiverHandler, state) as url:
        yield url + "/hook", state


# -- SMS gateway (Twilio-compatible subset) ----------------------------------------------------------------


@dataclass
class GatewayState:
    sid: str
    token: str
    script: Script = field(default_factory=Script)
    messages: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    drop_after_create: bool = False  # store the message but cut the connection before answering
    after_create: Any = None  # called once the message is stored; True drops the connection


class _GatewayHandler(_Base):
    def _authorised(self) -> bool:
        expected = base64.b64encode(f"{self.state.sid}:{self.state.token}".encode()).decode()
        if self.headers.get("Authorization") != f"Basic {expected}":
            self._answer(401, b'{"code": 20003, "message": "Authenticate", "status": 401}')
            return False
        return True

    def do_GET(self) -> None:
        if not self._authorised() or self._scripted():
            return
        url = urllib.parse.urlsplit(self.path)
        q = dict(urllib.parse.parse_qsl(url.query))
        prefix = f"/2010-04-01/Accounts/{self.state.sid}"
        if url.path == prefix + ".json":
            self._answer(200, json.dumps({"sid": self.state.sid, "status": "active"}).encode())
        elif url.path == prefix + "/Messages.json":
            with self.state.lock:
                found = [
                    m
                    for m in self.state.messages
                    if (not q.get("To") or m["to"] == q["To"])
                    and (not q.get("From") or m["from"] == q["From"])
                    and (not q.get("DateSent>") or m["date_sent"][:10] >= q["DateSent>"])
                ]
            self._answer(200, json.dumps({"messages": found}).encode())
        else:
            self._answer(404, b'{"status": 404}')

    def do_POST(self) -> None:
        body = self._body()
        if body is None or not self._authorised() or self._scripted():
            return
        form = dict(urllib.parse.parse_qsl(body.decode()))
        with self.state.lock:
            sid = f"SM{len(self.state.messages) + 1:032d}"
            message = {
                "sid": sid,
                "to": form["To"],
                "from": form["From"],
                "body": form["Body"],
                "status": "queued",
                "date_sent": datetime.now(UTC).isoformat(),
            }
            self.state.messages.append(message)
        if self.state.drop_after_create or (self.state.after_create and self.state.after_create()):
            self.close_connection = True
            self.connection.close()
            return
        self._answer(201, json.dumps(message).encode())


@contextmanager
def sms_gateway(sid: str = "AC" + "0" * 32, token: str = "gateway-token-1") -> Iterator[tuple[str, GatewayState]]:
    state = GatewayState(sid=sid, token=token)
    with serve(_GatewayHandler, state) as url:
        yield url, state
