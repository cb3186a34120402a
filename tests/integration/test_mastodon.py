"""The Mastodon channel against responses written from Mastodon's API documentation.

No Mastodon server (nor GoToSocial, Takahe, Pleroma or Akkoma) can be installed from the registries this
machine reaches, so this is NOT a real Mastodon: ``responses`` stands in for the HTTP API, following
docs.joinmastodon.org for POST/DELETE /api/v1/statuses (with Idempotency-Key), /api/v2/instance
(configuration.statuses.max_characters), verify_credentials, account statuses, and the 401, 422 and 429
(with X-RateLimit-Reset) answers. The fake keeps statuses by idempotency key, as the server does for an hour.
"""

from __future__ import annotations

import dataclasses
import json
import re
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl

import pytest
import responses

from crisisdesk.app import App
from crisisdesk.channels.mastodon import plain
from crisisdesk.domain.errors import ExternalError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from tests.integration.outbox_helpers import add_team, open_incident, publish

BASE = "https://social.millcounty.test"
TOKEN = "mastodon-token-1"


class FakeMastodon:
    """A stateful stand-in for the parts of the Mastodon API the channel uses (see the module's docstring)."""

    def __init__(self, mock: responses.RequestsMock, max_characters: int = 500) -> None:
        self.statuses: dict[str, dict] = {}
        self.by_key: dict[str, str] = {}
        self.posts = 0
        self.fail_next: list[tuple[int, dict, dict]] = []
        mock.add_callback(
            responses.GET, re.compile(rf"{re.escape(BASE)}/api/v2/instance/?"), self._instance(max_characters)
        )
        mock.add_callback(responses.GET, re.compile(rf"{re.escape(BASE)}/api/v1/instance/?"), self._instance_v1)
        mock.add_callback(responses.GET, f"{BASE}/api/v1/accounts/verify_credentials", self._me)
        mock.add_callback(responses.POST, f"{BASE}/api/v1/statuses", self._post)
        mock.add_callback(responses.GET, f"{BASE}/api/v1/accounts/109/statuses", self._list)
        mock.add_callback(responses.POST, re.compile(rf"{re.escape(BASE)}/api/v[12]/media"), self._media)
        self.media: list[dict] = []
        mock.add_callback(responses.DELETE, re.compile(rf"{re.escape(BASE)}/api/v1/statuses/\d+"), self._delete)

    def _auth(self, request) -> tuple[int, dict, str] | None:  # type: ignore[no-untyped-def]
        if request.headers.get("Authorization") != f"Bearer {TOKEN}":
            return 401, {}, json.dumps({"error": "The access token is invalid"})
        if self.fail_next:
            status, headers, body = self.fail_next.pop(0)
            return status, headers, json.dumps(body)
        return None

    def _instance(self, limit: int):  # type: ignore[no-untyped-def]
        def answer(request):  # type: ignore[no-untyped-def]
            return (
                200,
                {},
                json.dumps(
                    {
                        "domain": "social.millcounty.test",
                        "title": "Mill County",
                        "api_versions": {"mastodon": 2},
                        "version": "4.3.0",
                        "configuration": {"statuses": {"max_characters": limit, "max_media_attachments": 4}},
                    }
                ),
            )

        return answer

    def _instance_v1(self, request):  # type: ignore[no-untyped-def]
        return 200, {}, json.dumps({"uri": "social.millcounty.test", "title": "Mill County", "version": "4.3.0"})

    def _me(self, request):  # type: ignore[no-untyped-def]
        return self._auth(request) or (
            200,
            {},
            json.dumps({"id": "109", "username": "millcounty", "acct": "millcounty"}),
        )

    def _post(self, request):  # type: ignore[no-untyped-def]
        refused = self._auth(request)
        if refused:
            return refused
        body = request.body.decode() if isinstance(request.body, bytes) else request.body or ""
        pairs = parse_qsl(body)
        form = dict(pairs)
        form_media = [v for k, v in pairs if k == "media_ids[]"]
        key = request.headers.get("Idempotency-Key")
        if key and key in self.by_key:  # the same key within the hour: the same status
            return 200, {}, json.dumps(self.statuses[self.by_key[key]])
        if len(form["status"]) > 500:
            return 422, {}, json.dumps({"error": "Validation failed: Text character limit of 500 exceeded"})
        self.posts += 1
        sid = str(110000 + self.posts)
        status = {
            "id": sid,
            "uri": f"{BASE}/users/millcounty/statuses/{sid}",
            "url": f"{BASE}/@millcounty/{sid}",
            "created_at": datetime.now(UTC).isoformat(),
            "content": "<p>" + form["status"].replace("\n\n", "</p><p>").replace("\n", "<br />") + "</p>",
            "language": form.get("language"),
            "visibility": form.get("visibility"),
            "account": {"id": "109", "username": "millcounty", "acct": "millcounty"},
            "media_attachments": [m for m in self.media if m["id"] in form_media],
        }
        self.statuses[sid] = status
        if key:
            self.by_key[key] = sid
        return 200, {}, json.dumps(status)

    def _media(self, request):  # type: ignore[no-untyped-def]
        refused = self._auth(request)
        if refused:
            return refused
        body = request.body if isinstance(request.body, bytes) else request.body.read()
        description = body.split(b'name="description"\r\n\r\n', 1)[1].split(b"\r\n", 1)[0].decode()
        item = {"id": str(900 + len(self.media)), "type": "image", "url": f"{BASE}/m.png", "description": description}
        self.media.append(item)
        return 200, {}, json.dumps(item)

    def _list(self, request):  # type: ignore[no-untyped-def]
        return self._auth(request) or (200, {}, json.dumps(list(reversed(self.statuses.values()))))

    def _delete(self, request):  # type: ignore[no-untyped-def]
        refused = self._auth(request)
        if refused:
            return refused
        sid = request.url.rsplit("/", 1)[-1]
        if sid not in self.statuses:
            return 404, {}, json.dumps({"error": "Record not found"})
        return 200, {}, json.dumps(self.statuses.pop(sid))


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


@pytest.fixture
def mastodon(core: App, admin: Actor):  # type: ignore[no-untyped-def]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        fake = FakeMastodon(mock)
        core.channels().add(admin, "mastodon", "county-toot", settings=[f"base_url={BASE}"], secret=TOKEN)
        yield fake


def test_a_status_is_posted_once_with_the_key_and_language_and_deleted_to_retract(core: App, team, mastodon) -> None:  # type: ignore[no-untyped-def]
    assert "posts up to 500 characters" in core.channels().test(team["vic"], "county-toot")
    msg = publish(core, team, open_incident(core, team), ["county-toot"])
    assert core.outbox().run_once().sent == 1
    (status,) = mastodon.statuses.values()
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    assert row.remote_id == status["id"] and row.remote_url == status["url"]
    assert mastodon.by_key == {row.idem_key: status["id"]} and status["language"] == "en"
    assert "Mill Creek valley" in plain(status["content"])
    core.outbox().request_retract(team["ivan"], msg.id)
    assert core.outbox().run_once().retracted == 1 and mastodon.statuses == {}


def test_a_send_cut_off_mid_way_is_found_not_posted_twice(core: App, team, mastodon, db_path, clock, hasher) -> None:  # type: ignore[no-untyped-def]
    msg = publish(core, team, open_incident(core, team), ["county-toot"])
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    with core.db.write() as conn:
        core.log.record(conn, "outbox", Kind.OUTBOX_CLAIMED, {"rows": [row.id]})
    outbox = core.outbox()
    outbox._adapter(row.account_id).deliver(outbox.post_for(outbox.get(row.id)))  # posted; receipt lost
    restarted = App.open(db_path, clock=clock, hasher=hasher)
    try:
        assert restarted.outbox().run_once().reconciled == 1
        (after,) = restarted.outbox().rows(team["vic"], message_id=msg.id)
        assert after.state == "sent" and mastodon.posts == 1
    finally:
        restarted.close()


def test_429_waits_until_the_rate_limit_resets(core: App, team, mastodon, clock) -> None:  # type: ignore[no-untyped-def]
    reset = datetime.now(UTC) + timedelta(seconds=300)
    mastodon.fail_next.append(
        (429, {"X-RateLimit-Reset": reset.isoformat(), "X-RateLimit-Remaining": "0"}, {"error": "Too many requests"})
    )
    msg = publish(core, team, open_incident(core, team), ["county-toot"])
    core.outbox().run_once()
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    assert row.state == "failed" and "429" in (row.reason or "")
    wait = (datetime.fromisoformat(row.next_try_at or "") - clock.now()).total_seconds()
    assert 250 < wait <= 301
    clock.advance(timedelta(seconds=301))
    assert core.outbox().run_once().sent == 1


def test_401_and_422_are_dead_with_the_reason(core: App, team, admin, mastodon) -> None:  # type: ignore[no-untyped-def]
    core.channels().add(admin, "mastodon", "bad-toot", settings=[f"base_url={BASE}"], secret="wrong")
    with pytest.raises(ExternalError, match="refused the access token"):
        core.channels().test(team["vic"], "bad-toot")
    msg = publish(core, team, open_incident(core, team), ["bad-toot"])
    core.outbox().run_once()
    (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
    assert row.state == "dead" and "refused the access token (HTTP 401)" in (row.reason or "")
    mastodon.fail_next.append((422, {}, {"error": "Validation failed: Text character limit of 500 exceeded"}))
    second = publish(core, team, open_incident(core, team), ["county-toot"])
    core.outbox().run_once()
    (row,) = core.outbox().rows(team["vic"], message_id=second.id)
    assert row.state == "dead" and "HTTP 422" in (row.reason or "") and "character limit" in (row.reason or "")


def test_the_instance_limit_is_read_from_the_server(core: App, team, admin) -> None:  # type: ignore[no-untyped-def]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        FakeMastodon(mock, max_characters=100)
        core.channels().add(admin, "mastodon", "small-toot", settings=[f"base_url={BASE}"], secret=TOKEN)
        msg = publish(core, team, open_incident(core, team), ["small-toot"])
        core.outbox().run_once()
        (row,) = core.outbox().rows(team["vic"], message_id=msg.id)
        assert row.state == "dead" and "takes at most 100" in (row.reason or "")


def test_an_image_goes_with_its_alt_text(core: App, team, mastodon, tmp_path) -> None:  # type: ignore[no-untyped-def]
    image = tmp_path / "map.png"
    image.write_bytes(bytes.fromhex("89504e470d0a1a0a"))
    msg = publish(core, team, open_incident(core, team), ["county-toot"])
    outbox = core.outbox()
    (row,) = outbox.rows(team["vic"], message_id=msg.id)
    post = dataclasses.replace(
        outbox.post_for(outbox.get(row.id)),
        media=({"path": str(image), "alt": "Map of the flood zone", "mime": "image/png"},),
    )
    outbox._adapter(row.account_id).deliver(post)
    (status,) = mastodon.statuses.values()
    assert [m["description"] for m in status["media_attachments"]] == ["Map of the flood zone"]
