"""The issue's whole path from the command line: one message to SMTP, Matrix, the PDS, a webhook and the folder,
each exactly once with receipts in 'outbox list'; then a retraction that takes the posts down where it can and
says where it cannot."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

from crisisdesk.app import App
from tests.integration.outbox_helpers import add_team
from tests.integration.test_incidents import FLOOD_FACTS
from tests.support.http_servers import webhook_receiver
from tests.support.smtp_server import PASSWORD, USER, smtp_server


def test_one_message_reaches_five_channels_once_and_is_retracted(  # type: ignore[no-untyped-def]
    core: App, admin, synapse, pds, cli_as, tmp_path: Path
) -> None:
    add_team(core, admin)
    run = cli_as

    bot = f"eoc{uuid.uuid4().hex[:8]}"
    token = synapse.register(bot, "bot password 1")
    with synapse.client(token) as matrix, webhook_receiver() as (hook_url, hook), smtp_server(tmp_path) as smtp:
        port, cert, mailbox = smtp
        room = matrix.post("/_matrix/client/v3/createRoom", json={"name": "alerts"}).json()["room_id"]
        handle = f"mill{uuid.uuid4().hex[:8]}.test"
        did = pds.create_account(handle, "app password 1")
        adds = [
            (["email", "mail", "--set", "host=127.0.0.1", "--set", f"port={port}", "--set", f"from={USER}",
              "--set", "to=residents@millcounty.test", "--set", f"cafile={cert}"], PASSWORD),
            (["matrix", "room", "--set", f"base_url={synapse.url}", "--set", f"room={room}"], token),
            (["bluesky", "sky", "--set", f"base_url={pds.url}", "--set", f"handle={handle}"], "app password 1"),
            (["webhook", "hook", "--set", f"url={hook_url}"], "hook key 1"),
        ]  # fmt: skip
        for args, secret in adds:
            code, _, err = run("alice", "channels", "add", *args, "--secret-stdin", stdin=secret + "\n")
            assert code == 0, err
        for name in ("mail", "room", "sky", "hook"):
            code, out, err = run("vic", "channels", "test", name)
            assert code == 0 and "ok:" in out, err

        facts = [f"--fact={k}={v}" for k, v in FLOOD_FACTS.items()]
        code, out, err = run("carla", "incident", "open", "flash-flood", "--mode", "live", *facts, "--json")
        assert code == 0, err
        inc = json.loads(out)["id"]
        msg = json.loads(run("carla", "message", "draft", inc, "--type", "alert", "--json")[1])["id"]
        code, out, err = run("carla", "message", "targets", msg, "mail", "room", "sky", "hook", "public-page")
        assert code == 0 and "needs approval again" in out, err
        assert run("carla", "message", "submit", msg)[0] == 0
        shown = json.loads(run("ivan", "message", "show", msg, "--json")[1])
        assert {c["name"] for c in shown["channels"]} == {"mail", "room", "sky", "hook", "public-page"}
        assert run("ivan", "message", "approve", msg, "--hash", shown["hash"])[0] == 0
        code, out, err = run("carla", "message", "publish", msg, "--confirm", f"PUBLISH LIVE {msg}")
        assert code == 0, err

        code, out, err = run("carla", "outbox", "run", "--once")
        assert code == 0 and "sent 5," in out, out + err
        code, out, _ = run("vic", "outbox", "list", "--json")
        rows = {r["channel"]: r for r in json.loads(out)}
        assert set(rows) == {"mail", "room", "sky", "hook", "public-page"}
        for r in rows.values():
            assert r["state"] == "sent" and r["receipt"]["id"] and r["attempts"] == 1, r
        text = run("vic", "outbox", "list")[1]
        assert text.count("SENT x1  receipt") == 5

        # Each exactly once.
        assert len(mailbox.messages) == 1
        events = matrix.get(f"/_matrix/client/v3/rooms/{room}/messages", params={"dir": "b"}).json()["chunk"]
        posted = [e for e in events if e["type"] == "m.room.message"]
        assert len(posted) == 1 and posted[0]["event_id"] == rows["room"]["receipt"]["id"]
        assert [r["uri"] for r in pds.records(did)] == [rows["sky"]["receipt"]["id"]]
        assert len(hook.unique) == 1 and len(hook.posts()) == 1
        page = Path(core.channels().get("public-page").settings["path"]) / "index.html"
        assert msg in page.read_text()
        assert run("carla", "outbox", "run", "--once")[1].startswith("sent 0,")

        # Retraction: down from the PDS, the room, the webhook and the page; the email says it cannot.
        code, out, err = run("ivan", "outbox", "retract", msg)
        assert code == 1, err
        lines = {line.split()[1]: line for line in out.splitlines() if line.startswith("ob-")}
        for name in ("room", "sky", "hook", "public-page"):
            assert "retracted" in lines[name], out
        assert "impossible: an email cannot be recalled once delivered" in lines["mail"]
        assert "publish a correction on those channels" in out
        assert pds.records(did) == []
        events = matrix.get(f"/_matrix/client/v3/rooms/{room}/messages", params={"dir": "b"}).json()["chunk"]
        (redacted,) = [e for e in events if e["type"] == "m.room.message"]
        assert redacted["content"] == {}
        assert msg not in page.read_text()
        assert hook.posts()[-1].json()["event"] == "retract"
