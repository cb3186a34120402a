"""Names and channel settings as people type them: no hidden line ends or control characters, and settings
that cannot work refused when the channel is added, not when the first alert fails (issue 11)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from crisisdesk.domain.accounts import AccountKind, check_account_name, parse_settings
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.roles import check_user_name
from crisisdesk.domain.validate import validate_text

REPO = Path(__file__).resolve().parents[2]


# -- names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("check", [check_user_name, check_account_name])
@pytest.mark.parametrize("name", ["carla\n", "carla\r\n", "car\nla", "carla\x00", "carla\x1b", "carla "])
def test_a_name_with_a_line_end_or_a_control_character_is_refused(check: Callable[[str], str], name: str) -> None:
    # A trailing newline passed '^...$' (which allows one before the end): "carla\n" approved carla's own text.
    with pytest.raises(UserError, match="invalid"):
        check(name)


@pytest.mark.parametrize(("check", "name"), [(check_user_name, "Carla.M-2"), (check_account_name, "public-page")])
def test_a_plain_name_is_accepted(check: Callable[[str], str], name: str) -> None:
    assert check(name) == name


def test_a_playbook_id_or_language_with_a_line_end_is_refused() -> None:
    text = (REPO / "playbooks" / "flash-flood.yaml").read_text(encoding="utf-8")
    assert validate_text(text, "ok.yaml")[0] is not None
    bad_id = text.replace("id: flash-flood", 'id: "flash-flood\\n"', 1)
    assert bad_id != text
    playbook, problems = validate_text(bad_id, "bad.yaml")
    assert playbook is None and any("an id is" in p.message for p in problems), problems


# -- channel settings -------------------------------------------------------------------------------------

EMAIL = ["host=smtp.example.gov", "from=alerts@example.gov", "to=residents@example.gov"]
SMS = ["base_url=https://gateway.example", "account_sid=AC1", "from=+15550100", "to=+15550111"]
MATRIX = ["base_url=https://matrix.example.gov", "room=!abc:example.gov"]


def refused(kind: str, pairs: list[str], match: str) -> None:
    with pytest.raises(UserError, match=match):
        parse_settings(AccountKind.parse(kind), pairs)


@pytest.mark.parametrize(
    ("kind", "pairs"),
    [
        ("folder", ["title=line1\nline2"]),
        ("folder", ["title=A\x1b]0;pwned\x07B"]),
        ("folder", ["title=right\u202eto left"]),
        ("email", [*EMAIL[:1], "from=a@example.gov\r\nBcc: everyone@example.gov", EMAIL[2]]),
        ("email", ["host=x\ny", *EMAIL[1:]]),
        ("webhook", ["url=http://a\x00b/"]),
    ],
)
def test_a_setting_with_a_control_character_is_refused(kind: str, pairs: list[str]) -> None:
    refused(kind, pairs, "control character")


@pytest.mark.parametrize("port", ["notaport", "0", "65536", "99999999999999999999", "-1", "2_5", "\u00b2"])
def test_a_port_outside_1_to_65535_or_not_a_number_is_refused(port: str) -> None:
    refused("email", [*EMAIL, f"port={port}"], "port")


def test_a_port_inside_the_range_is_kept() -> None:
    assert parse_settings(AccountKind.EMAIL, [*EMAIL, "port=465"])["port"] == "465"


@pytest.mark.parametrize(
    ("kind", "pairs"),
    [
        ("webhook", ["url=http://[::1"]),
        ("webhook", ["url=notaurl"]),
        ("webhook", ["url=http://127.0.0.1:99999/x"]),
        ("webhook", ["url=http://127.0.0.1:0/x"]),
        ("webhook", ["url=http:///nohost"]),
        ("webhook", ["url=ftp://files.example.gov/x"]),
        ("webhook", ["url=http://[not:an:address]/x"]),
        ("matrix", ["base_url=ftp://x", MATRIX[1]]),
        ("mastodon", ["base_url=mastodon.example"]),
        ("sms", ["base_url=https://gateway example", *SMS[1:]]),
        ("bluesky", ["handle=county.example.gov", "base_url=https://"]),
        ("folder", ["base_url=www.example.gov/alerts"]),
    ],
)
def test_a_url_setting_that_is_not_a_web_address_with_a_host_is_refused(kind: str, pairs: list[str]) -> None:
    refused(kind, pairs, "http:// or https:// address")


@pytest.mark.parametrize(
    ("kind", "pairs"),
    [
        # A Matrix base_url ending in '?' made the rest of the request path a query: it posted into another room.
        (
            "matrix",
            ["base_url=https://evil.example/_matrix/client/v3/rooms/!other:x/send/m.room.message/1?", MATRIX[1]],
        ),
        ("matrix", ["base_url=https://matrix.example.gov#", MATRIX[1]]),
        ("mastodon", ["base_url=https://mastodon.example/?x=1"]),
        ("sms", ["base_url=https://gateway.example/?", *SMS[1:]]),
        ("bluesky", ["handle=county.example.gov", "base_url=https://bsky.example#x"]),
        ("folder", ["base_url=https://www.example.gov/alerts?page="]),
    ],
)
def test_a_base_url_with_a_query_or_a_fragment_is_refused(kind: str, pairs: list[str]) -> None:
    refused(kind, pairs, r"no '\?' or '#'")


@pytest.mark.parametrize(
    ("kind", "pairs"),
    [
        (
            "webhook",
            ["url=https://hooks.example.gov:8443/alerts?channel=county"],
        ),  # the whole address: a query is its own
        ("webhook", ["url=http://[::1]:8080/hook"]),
        ("webhook", ["url=HTTP://127.0.0.1/"]),
        ("matrix", ["base_url=https://matrix.example.gov/", "room=#county-alerts:example.gov"]),
        ("folder", ["base_url="]),
        ("folder", ["base_url=https://www.example.gov/alerts"]),
        ("mastodon", ["base_url=https://b\u00fccher.example"]),
    ],
)
def test_a_well_formed_url_setting_is_kept(kind: str, pairs: list[str]) -> None:
    parse_settings(AccountKind.parse(kind), pairs)


@pytest.mark.parametrize("room", ["!abc/def:x", "!abc?x", "!abc#x", "#alias/../x:y", "!abc def:x", "abc:x"])
def test_a_matrix_room_that_is_not_an_id_or_an_alias_is_refused(room: str) -> None:
    refused("matrix", [MATRIX[0], f"room={room}"], "room")


@pytest.mark.parametrize("to", [",,,", " , ", ";"])
def test_an_sms_or_email_recipient_list_with_no_recipient_is_refused(to: str) -> None:
    refused("sms", [*SMS[:3], f"to={to}"], "no recipient|not a phone number")
    refused("email", [*EMAIL[:2], f"to={to}"], "no recipient|not an email address")


@pytest.mark.parametrize("number", ["1", "+1555", "12345678901234567", "call me", "+1-555-0111x", "+15550111;rm"])
def test_an_sms_recipient_that_is_not_a_phone_number_is_refused(number: str) -> None:
    refused("sms", [*SMS[:3], f"to=+15550122,{number}"], "not a phone number")


def test_phone_numbers_in_their_usual_spellings_are_kept() -> None:
    to = "+1 (555) 010-0111, +44 20 7946 0958,555.010.0122"
    assert parse_settings(AccountKind.SMS, [*SMS[:3], f"to={to}"])["to"] == to


@pytest.mark.parametrize("address", ["residents", "a@", "@example.gov", "a b@example.gov", "a@b@c", "<a@example.gov>"])
def test_an_email_recipient_or_sender_that_is_not_an_address_is_refused(address: str) -> None:
    refused("email", [*EMAIL[:2], f"to=ok@example.gov,{address}"], "not an email address")
    refused("email", [EMAIL[0], f"from={address}", EMAIL[2]], "not an email address")
