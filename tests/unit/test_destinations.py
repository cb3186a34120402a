"""One destination, many spellings: every pair a hostile tester got past the first check (issue 11, item 3) is
one destination now, and places that really differ stay apart."""

from __future__ import annotations

import pytest

from crisisdesk.domain.accounts import Account, AccountKind
from crisisdesk.domain.destinations import destinations, shared


def acct(kind: str, secret: str | None = None, **settings: str) -> tuple[Account, str | None]:
    return Account(f"ch-{kind}", kind, AccountKind(kind), False, settings), secret


def same(a: tuple[Account, str | None], b: tuple[Account, str | None]) -> bool:
    return shared(destinations(a[0], secret=a[1]), destinations(b[0], secret=b[1])) is not None


SAME = [
    ("url=https://hooks.county.example/alerts", "url=HTTPS://Hooks.County.Example:443/alerts/"),
    ("url=https://h1.example/alerts", "url=https://h1.example./alerts"),
    ("url=https://h2.example/alerts", "url=http://h2.example/alerts"),
    ("url=https://h3.example/alerts", "url=https://h3.example/%61lerts"),
    ("url=https://h4.example/alerts", "url=https://h4.example/./alerts"),
    ("url=https://h5.example/alerts", "url=https://h5.example/x/../alerts"),
    ("url=https://bücher.example/a", "url=https://xn--bcher-kva.example/a"),
    ("url=https://b%C3%BCcher.example/a", "url=https://xn--bcher-kva.example/a"),
    ("url=http://[::1]:9000/a", "url=http://[0:0:0:0:0:0:0:1]:9000/a"),
    ("url=http://127.0.0.1:9001/a", "url=http://localhost:9001/a"),
    ("url=http://127.0.0.1:9002/a", "url=http://2130706433:9002/a"),
    ("url=https://h6.example/alerts", "url=https://h6.example/alerts#x"),
    ("url=https://h7.example/alerts", "url=https://h7.example//alerts"),
    ("url=https://h8.example/alerts", "url=https://user@h8.example/alerts"),
    ("url=https://h9.example/alerts?a=1&b=2", "url=https://h9.example/alerts?b=2&a=1"),
    ("url=https://h11.example/alerts", "url=https://h11.example:0443/alerts"),
    # Round two: short and octal IPv4, IPv4 inside IPv6, a query the receiver ignores, fullwidth letters.
    ("url=http://127.0.0.1:9003/hook", "url=http://127.1:9003/hook"),
    ("url=http://127.0.0.1:9004/hook", "url=http://0177.0.0.1:9004/hook"),
    ("url=http://127.0.0.1:9005/hook", "url=http://[::ffff:127.0.0.1]:9005/hook"),
    ("url=http://10.0.0.5/hook", "url=http://[::ffff:10.0.0.5]/hook"),
    ("url=http://10.0.0.5/hook", "url=http://0x0a.0.0.5/hook"),
    ("url=https://h12.example/hook", "url=https://h12.example/hook?drill=1"),
    ("url=http://localhost:9006/hook", "url=http://ｌｏｃａｌｈｏｓｔ:9006/hook"),  # noqa: RUF001 - on purpose
]


@pytest.mark.parametrize(("live", "drill"), SAME)
def test_one_web_address_however_it_is_spelt(live: str, drill: str) -> None:
    a = acct("webhook", url=live.removeprefix("url="))
    b = acct("webhook", url=drill.removeprefix("url="))
    assert same(a, b)


def test_a_matrix_room_is_one_room_from_any_homeserver_address() -> None:
    live = acct("matrix", base_url="https://m2.example", room="!abc:m2.example")
    assert same(live, acct("matrix", base_url="https://matrix.m2.example", room="!abc:m2.example"))
    alias = acct("matrix", base_url="https://m4.example", room="#alerts:m4.example")
    assert same(alias, acct("matrix", base_url="https://m4.example", room="#Alerts:m4.example"))


@pytest.mark.parametrize(
    "drill",
    ["PUBLIC@County.Example", "public+drill@county.example", "Drill <public@county.example>", "public@county.example."],
)
def test_one_mailbox_however_it_is_spelt(drill: str) -> None:
    assert same(acct("email", to="public@county.example"), acct("email", to=f"x@y.example, {drill}"))


def test_idna_mail_domains() -> None:
    assert same(acct("email", to="l5@bücher.example"), acct("email", to="l5@xn--bcher-kva.example"))


@pytest.mark.parametrize(
    ("live", "drill"),
    [("+15551230001", "1 (555) 123-0001"), ("+15551230002", "5551230002"), ("+445551230003", "00445551230003")],
)
def test_one_phone_number_however_it_is_spelt(live: str, drill: str) -> None:
    gateway = {"base_url": "https://gw.example", "account_sid": "AC1"}
    a = acct("sms", **gateway, to=live, **{"from": "+15550000001"})
    assert same(a, acct("sms", **gateway, to=drill, **{"from": "+15559990000"}))


def test_handles_and_secrets() -> None:
    assert same(acct("bluesky", handle="county.bsky.social"), acct("bluesky", handle="@County.bsky.social."))
    assert same(acct("apprise", "json://hooks.example/a"), acct("apprise", "JSON://Hooks.Example/a/"))
    toot = acct("mastodon", "tok1", base_url="https://social.example")
    assert same(toot, acct("mastodon", "tok1", base_url="https://Social.Example/"))


def test_across_kinds_an_apprise_url_shares_a_webhook_or_a_mailbox() -> None:
    assert same(acct("webhook", url="https://hooks2.example/a"), acct("apprise", "json://hooks2.example/a"))
    assert same(acct("webhook", url="http://127.0.0.1:9/a"), acct("apprise", "jsons://localhost:9/a"))
    mailbox = acct("email", to="list9@county.example")
    assert same(mailbox, acct("apprise", "mailto://u:p@smtp.example?to=list9@county.example"))
    assert same(mailbox, acct("apprise", "mailtos://list9:pw@county.example"))
    assert same(mailbox, acct("apprise", "mailtos://u:p@county.example/list9@county.example"))
    assert same(mailbox, acct("apprise", "mailto://u:p@smtp.example?to=list9%40county.example"))


def test_apprise_options_several_urls_and_other_services() -> None:
    hook = acct("webhook", url="http://127.0.0.1:8080/hook")
    assert same(hook, acct("apprise", "json://127.0.0.1:8080/hook?format=text"))
    assert same(hook, acct("apprise", "json://127.0.0.1:9/nothing, json://127.0.0.1:8080/hook"))
    room = acct("matrix", base_url="https://m.county.gov", room="!live:county.gov")
    assert same(room, acct("apprise", "matrixs://bot:token@m.county.gov/!live:county.gov"))
    sms = acct("sms", base_url="https://gw", account_sid="A", to="+15550100111", **{"from": "+15550100999"})
    assert same(sms, acct("apprise", "twilio://AC123:token@15550100222/15550100111"))
    toot = acct("mastodon", "TOKEN1", base_url="https://social.county.gov")
    assert same(toot, acct("apprise", "mastodons://TOKEN1@social.county.gov"))


@pytest.mark.parametrize(
    ("a", "b"),
    [
        (acct("webhook", url="https://hooks.example/live"), acct("webhook", url="https://hooks.example/drill")),
        (acct("webhook", url="https://hooks.example/a"), acct("webhook", url="https://hooks.example:8443/a")),
        (acct("email", to="public@county.example"), acct("email", to="drill@county.example")),
        (
            acct("sms", base_url="https://g", account_sid="A", to="+15551230001", **{"from": "+1555"}),
            acct("sms", base_url="https://g", account_sid="A", to="+15551230002", **{"from": "+1666"}),
        ),
        (acct("matrix", base_url="https://m", room="!live:m"), acct("matrix", base_url="https://m", room="!drill:m")),
        (
            acct("mastodon", "tok1", base_url="https://social.example"),
            acct("mastodon", "tok2", base_url="https://social.x"),
        ),
        (acct("apprise", "tgram://bot/chat1"), acct("apprise", "tgram://bot/chat2")),
        # Round two: places that only looked alike.
        (
            acct("sms", base_url="https://g", account_sid="A", to="+12079460958", **{"from": "+15550001111"}),
            acct("sms", base_url="https://g", account_sid="B", to="+442079460958", **{"from": "+15550002222"}),
        ),
        (
            acct("sms", base_url="https://g", account_sid="A", to="+4915123456789", **{"from": "+15550001111"}),
            acct("sms", base_url="https://g", account_sid="B", to="+15123456789", **{"from": "+15550002222"}),
        ),
        (acct("webhook", url="http://h.example:443/a"), acct("webhook", url="http://h.example/a")),
        (acct("webhook", url="https://straße.example/a"), acct("webhook", url="https://strasse.example/a")),
    ],
)
def test_different_places_stay_apart(a: tuple[Account, str | None], b: tuple[Account, str | None]) -> None:
    assert not same(a, b)


def test_a_refusal_never_shows_a_secret() -> None:
    a = acct("apprise", "json://user:hunter2@hooks.example/a")
    b = acct("webhook", url="https://hooks.example/a")
    found = shared(destinations(a[0], secret=a[1]), destinations(b[0], secret=b[1]))
    assert found is not None and "hunter2" not in found.shown
