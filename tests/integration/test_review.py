"""What an approver and a publisher read before they act, from a real database: the queue with who may approve
what and why not, a version's review (CAP summary, word changes from what was published), and the publish summary
and phrase without publishing."""

from __future__ import annotations

import pytest

from crisisdesk.app import App
from crisisdesk.domain.composing import Change
from crisisdesk.domain.errors import PermissionDenied
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.messages import ConfirmationNeeded
from tests.conftest import person
from tests.integration.outbox_helpers import add_team, open_incident, publish


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    people = add_team(core, admin)
    people["dana"] = person(core, admin, "dana", Role.COMMUNICATOR, Role.APPROVER)  # writes and approves
    return people


def test_the_queue_lists_every_submitted_version_and_says_who_may_approve_it(core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team)
    messages, review = core.messages(), core.review()
    draft = messages.draft(team["dana"], inc, "alert")
    assert review.queue(team["ivan"]) == []  # a draft waits for nobody
    messages.submit(team["dana"], draft.id)
    before = core.log.count()
    [for_ivan] = review.queue(team["ivan"])
    assert (for_ivan.message_id, for_ivan.may_approve, for_ivan.why_not) == (draft.id, True, "")
    assert (for_ivan.mode, for_ivan.type, for_ivan.version, for_ivan.authors) == ("live", "alert", 1, ("dana",))
    assert for_ivan.incident_title == "Flash flood warning" and for_ivan.content_hash == draft.content_hash
    # The author holds the approver role too: listed, not hers to approve, in the words approve refuses with.
    [for_dana] = review.queue(team["dana"])
    assert not for_dana.may_approve
    with pytest.raises(PermissionDenied) as refused:
        messages.approve(team["dana"], draft.id, draft.content_hash)
    assert for_dana.why_not == str(refused.value)
    assert "dana wrote part of" in for_dana.why_not
    [for_vic] = review.queue(team["vic"])
    assert for_vic.why_not == "vic may not approve messages: that needs the role approver (has viewer)"
    assert core.log.count() == before + 1  # only dana's refused attempt was recorded: the queue asks, never acts
    # The badge's count and the queue agree.
    assert [e.message_id for e in review.queue(team["ivan"]) if e.may_approve] == messages.awaiting_approval(
        team["ivan"]
    )
    messages.approve(team["ivan"], draft.id, draft.content_hash)
    [after] = review.queue(team["ivan"])
    assert not after.may_approve and "approved by ivan" in after.why_not and "waits for a publisher" in after.why_not


def test_a_review_has_the_cap_summary_and_the_change_from_what_was_published(core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team)
    messages, review = core.messages(), core.review()
    first = messages.draft(team["carla"], inc, "alert")
    seen = review.review(team["ivan"], first.id)
    assert seen.base is None and all(c.changes == (Change("added", c_text(seen, c)),) for c in seen.changes)
    assert (seen.cap.status, seen.cap.msg_type) == ("Actual", "Alert")
    assert seen.cap.event == "Flash Flood Warning / Aviso de Inundación Repentina"
    assert (seen.cap.urgency, seen.cap.severity, seen.cap.certainty) == ("Immediate", "Severe", "Likely")
    assert seen.cap.area == "Mill Creek valley (SAME 006067)"
    assert seen.cap.expires == "2026-11-22T21:30:00-08:00"
    assert seen.area.startswith("Mill Creek valley") and seen.audience == "the public in the area, in en, es"
    assert seen.cap == review.cap_summary(team["ivan"], first.id)
    assert not seen.may_approve and seen.why_not == f"{first.id} is draft: only a submitted message can be approved"
    published = publish(core, team, inc, ["public-page"])
    update = messages.draft(team["carla"], inc, "update")
    sms = next(v for v in update.variants if v.channel == "sms" and v.lang == "en")
    messages.edit(team["carla"], update.id, "sms", "en", sms.text + " Roads are closed.")
    messages.submit(team["carla"], update.id)
    seen = review.review(team["ivan"], update.id)
    assert seen.base == f"{published.id} v{published.version}" and seen.may_approve and seen.cap.msg_type == "Update"
    changed = next(c for c in seen.changes if (c.channel, c.lang) == ("sms", "en"))
    assert changed.changed and any(c.op == "added" and c.text.endswith(" Roads are closed.") for c in changed.changes)


def c_text(seen, change) -> str:  # type: ignore[no-untyped-def]
    return next(v.text for v in seen.message.variants if (v.channel, v.lang) == (change.channel, change.lang))


@pytest.mark.parametrize("mode", [Mode.LIVE, Mode.EXERCISE])
def test_the_publish_preview_is_what_publish_asks_without_publishing(
    core: App, team: dict[str, Actor], mode: Mode
) -> None:
    inc = open_incident(core, team, mode)
    who = team["carla"] if mode is Mode.LIVE else team["eve"]
    messages, review = core.messages(), core.review()
    draft = messages.draft(who, inc, "alert")
    messages.submit(who, draft.id)
    before = core.log.count()
    preview = review.publish_preview(who, draft.id)
    assert core.log.count() == before  # a question: nothing recorded
    assert preview.blocked.startswith(f"{draft.id} v1 cannot be published: needs 1 more approval")
    assert preview.break_glass_blocked == f"{who.name} may not approve messages: that needs the role approver " + (
        "(has communicator)" if mode is Mode.LIVE else "(has exercise-controller)"
    )
    assert review.publish_preview(team["ivan"], draft.id).break_glass_blocked == ""
    messages.approve(team["ivan"], draft.id, draft.content_hash)
    preview = review.publish_preview(who, draft.id)
    assert preview.blocked == "" and preview.mode == mode.value
    with pytest.raises(ConfirmationNeeded) as asked:
        messages.publish(who, draft.id)
    assert (preview.summary, preview.phrase) == (asked.value.summary, asked.value.phrase)
    page = "public-page" if mode is Mode.LIVE else "exercise-page"
    assert [(c.name, c.mode) for c in preview.channels] == [(page, mode.value)]
    assert preview.phrase == ("PUBLISH LIVE " if mode is Mode.LIVE else "SEND EXERCISE ") + draft.id
    assert preview.expires == "2026-11-22T21:30:00-08:00" and preview.area.startswith("Mill Creek valley")
    assert {v.channel for v in preview.texts} == {
        "web",
        "email-subject",
        "cap-headline",
        "cap-description",
        "cap-instruction",
    }
    # A viewer is told why they may not, in the words publish refuses with.
    with pytest.raises(PermissionDenied) as refused:
        messages.publish(team["vic"], draft.id, confirm=preview.phrase)
    assert review.publish_preview(team["vic"], draft.id).blocked == str(refused.value)
    messages.publish(who, draft.id, confirm=preview.phrase)
    done = review.publish_preview(who, draft.id)
    assert done.blocked == done.break_glass_blocked == f"{draft.id} is already published"
