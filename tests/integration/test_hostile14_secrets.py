"""Hostile test (issue 14, Settings > Channel accounts): a secret never ends up in the database, the log or an
error message. A Matrix token holding a control character (pasted across a line break, say) is refused by the HTTP
library with the whole header, token included, in its message; Test connection shows it and records it in the
append-only log."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from crisisdesk.app import App
from crisisdesk.domain.errors import ExternalError, UserError
from crisisdesk.domain.roles import Actor

SECRET = "tok-SEKRIT-1234\x0b5678"


@pytest.fixture
def listening() -> Iterator[int]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1]
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


def test_hostile14_test_connection_never_shows_or_records_the_token(core: App, admin: Actor, listening: int) -> None:
    channels = core.channels()
    settings = [f"base_url=http://127.0.0.1:{listening}", "room=!abc:example.org"]
    shown = ""
    # A secret with a control character is refused when it is typed now; one already in the keyring (typed
    # before that check, or put there by hand) must still never be shown or recorded.
    with pytest.raises(UserError, match="control character"):
        channels.add(admin, "matrix", "matrix-room", settings=settings, secret=SECRET)
    account = channels.add(admin, "matrix", "matrix-room", settings=settings, secret="tok-clean")
    core.secrets.set(account.id, SECRET)
    try:
        channels.test(admin, "matrix-room")
    except ExternalError as exc:  # what Test connection says to the person
        shown = str(exc)
    assert shown  # the test failed (the header was refused), and said why
    assert "SEKRIT" not in shown, shown
    recorded = core.db.conn.execute("SELECT count(*) FROM events WHERE instr(body, ?) > 0", (b"SEKRIT",)).fetchone()
    assert recorded[0] == 0
