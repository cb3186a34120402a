"""Hostile test (issue 14, Settings > Channel accounts): an EXERCISE account cannot be added on a LIVE account's
destination by spelling it differently. A WSGI or ASGI receiver (Flask, Django, FastAPI) is handed the path with
%2F decoded, so ``/alerts%2Fin`` reaches the same handler as ``/alerts/in``; the check keeps %2F as a separate
character and accepts the drill."""

from __future__ import annotations

import pytest

from crisisdesk.app import App
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.roles import Actor

LIVE = "https://hooks.example.org:8443/alerts/in"


@pytest.mark.parametrize(
    "drill",
    [
        "https://hooks.example.org:8443/alerts%2Fin",
        "https://hooks.example.org:8443/alerts%2fin%2F",
        "https://hooks.example.org:8443/alerts/in;",
        "https://hooks.example.org:8443/alerts/in/..;/in",
        "https://hooks.example.org:8443/ALERTS/in",
    ],
)
def test_hostile14_an_escaped_slash_does_not_hide_a_live_webhook(core: App, admin: Actor, drill: str) -> None:
    channels = core.channels()
    channels.add(admin, "webhook", "live-hook", settings=[f"url={LIVE}"], secret="k" * 32)
    with pytest.raises(UserError, match="share a destination"):
        channels.add(admin, "webhook", "drill-hook", exercise=True, settings=[f"url={drill}"], secret="k" * 32)
