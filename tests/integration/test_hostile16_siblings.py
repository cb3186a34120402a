"""Hostile tests (issue 16): concurrent edits and approvals across workstations, trying to get a text out that
no one but its own author approved. Real SQLite files exchanging their entries as the hub hands them over."""

from __future__ import annotations

import contextlib
from datetime import timedelta

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import PermissionDenied, UserError
from crisisdesk.domain.incidents import Mode
from tests.integration.test_incidents import FLOOD_FACTS
from tests.integration.test_merge_workstations import act, clock, desks, sync

__all__ = ["clock", "desks"]  # fixtures


def test_a_sibling_s_author_cannot_approve_the_merge_that_kept_her_text(
    desks: tuple[App, App, App], clock: FixedClock
) -> None:
    """ada (approver and communicator) writes a sibling version on the communicator's workstation; carla merges
    keeping ada's text whole; ada then approves the merged version: her own words, approved by herself."""
    a, b, _ = desks
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = a.messages().draft(act(a, "carla"), inc.id, "alert")
    sync(a, b)
    clock.advance(timedelta(minutes=1))
    a.messages().edit(act(a, "carla"), msg.id, "wea-90", "en", "Flash flood: climb to high ground now.")
    hers = b.messages().edit(act(b, "ada"), msg.id, "wea-90", "en", "All clear in Mill Creek: go home.")
    clock.advance(timedelta(minutes=1))
    sync(a, b)
    merged = a.messages().merge(act(a, "carla"), msg.id, hers.content_hash)
    assert merged.content_hash == hers.content_hash or merged.version == 3
    a.messages().submit(act(a, "carla"), msg.id)
    sync(a, b)
    clock.advance(timedelta(minutes=1))
    with contextlib.suppress(PermissionDenied, UserError):  # refused at once: what should happen
        b.messages().approve(act(b, "ada"), msg.id, merged.content_hash)
    sync(a, b)
    view = a.messages().show(act(a, "carla"), msg.id)
    assert not view.verdict.ok, f"ada's own text went out on her own approval: {view.verdict}"


def test_an_approval_of_a_version_that_became_a_sibling_does_not_carry_to_the_merge(
    desks: tuple[App, App, App], clock: FixedClock
) -> None:
    """ivan approves carla's v2 on the backup site while dan's concurrent v2 is on its way; after the merge (a new
    text) ivan's approval of the old hash must not make the merged version publishable."""
    a, b, c = desks
    inc = a.incidents().open(act(a, "carla"), "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = a.messages().draft(act(a, "carla"), inc.id, "alert")
    sync(a, b, c)
    clock.advance(timedelta(minutes=1))
    mine = a.messages().edit(act(a, "carla"), msg.id, "wea-90", "en", "Flash flood: climb to high ground now.")
    a.messages().submit(act(a, "carla"), msg.id)
    b.messages().edit(act(b, "dan"), msg.id, "wea-90", "en", "Flash flood in Mill Creek: leave the valley.")
    sync(a, c)
    clock.advance(timedelta(minutes=1))
    assert c.messages().approve(act(c, "ivan"), msg.id, mine.content_hash).verdict.ok
    sync(a, b, c)
    clock.advance(timedelta(minutes=1))
    merged = a.messages().merge(
        act(a, "carla"), msg.id, mine.content_hash, channel="wea-90", lang="en", text="Leave the valley now."
    )
    sync(a, b, c)
    for app in (a, b, c):
        view = app.messages().show(act(app, "carla"), msg.id)
        assert view.content_hash == merged.content_hash and not view.verdict.ok, view.verdict
        with pytest.raises((PermissionDenied, UserError)):
            app.messages().publish(act(app, "carla"), msg.id, confirm=f"PUBLISH LIVE {msg.id}")
