"""What the composer reads about a message version: lint contexts, the accounts it may target, the CAP summary and
the word diff from the last published version, on a real SQLite file."""

from __future__ import annotations

import pytest

from crisisdesk.app import App
from crisisdesk.domain.composing import Change
from crisisdesk.domain.errors import PermissionDenied
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from crisisdesk.services.composer import ComposerService
from tests.conftest import actor
from tests.integration.outbox_helpers import add_team, open_incident, publish


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    found = add_team(core, admin)
    core.channels().add(
        admin, "webhook", "drill-hook", exercise=True, settings=["url=http://127.0.0.1:9/h"], secret="k"
    )
    core.channels().add(admin, "webhook", "county-hook", settings=["url=http://127.0.0.1:9/c"], secret="k")
    return found


def test_an_exercise_message_offers_exercise_accounts_only_and_says_exercise_in_its_cap(
    core: App, team: dict[str, Actor]
) -> None:
    inc = open_incident(core, team, Mode.EXERCISE)
    draft = core.messages().draft(team["eve"], inc, "alert")
    found = ComposerService(core.messages()).open(team["eve"], draft.id)
    assert found.mode == "exercise" and found.incident_title == "Flash flood warning"
    assert sorted(a.name for a in found.offered) == ["drill-hook", "exercise-page"]
    assert found.message.version == 1 and found.message.id == draft.id
    cap = found.cap
    assert (cap.status, cap.msg_type, cap.identifier) == ("Exercise", "Alert", f"crisisdesk-{draft.id}-v1")
    [en, es] = cap.infos
    assert (en.lang, en.event, en.urgency, en.severity, en.certainty) == (
        "en-US",
        "Flash Flood Warning",
        "Immediate",
        "Severe",
        "Likely",
    )
    assert es.event == "Aviso de Inundación Repentina" and en.response == "Evacuate"
    assert en.areas == ("Mill Creek valley",)
    assert cap.expires == "2026-11-22T21:30:00-08:00"  # the incident's zone, as a numeric offset
    assert en.headline is not None and en.headline.startswith("EXERCISE:")
    # The lint context knows the playbook's names and the incident's facts, per language.
    en_ctx, es_ctx = found.lint["en"], found.lint["es"]
    assert en_ctx.mode == "exercise" and en_ctx.message_type == "alert"
    assert "Mill County Emergency Management" in en_ctx.who and "Flash Flood Warning" in en_ctx.what
    assert "Mill Creek valley" in en_ctx.where and any("9:30 PM" in e for e in en_ctx.expiry)
    assert "Aviso de Inundación Repentina" in es_ctx.what
    # Nothing was published: every text is new.
    assert found.diff.base is None
    pairs = zip(found.diff.variants, found.message.variants, strict=True)
    assert all(v.changes == (Change("added", t.text),) for v, t in pairs)


def test_a_live_message_never_offers_an_exercise_account(core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team, Mode.LIVE)
    draft = core.messages().draft(team["carla"], inc, "alert")
    composer = ComposerService(core.messages())
    offered = {a.name for a in composer.offered_accounts(team["carla"], draft.id)}
    assert offered == {"public-page", "county-hook"}
    assert all(a.mode == "live" for a in composer.offered_accounts(team["carla"], draft.id))
    assert composer.cap_summary(team["carla"], draft.id).status == "Actual"


def test_the_word_diff_compares_with_the_last_published_version(core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team, Mode.LIVE)
    alert = publish(core, team, inc, ["public-page"])
    update = core.messages().draft(team["carla"], inc, "update")
    before = next(v.text for v in alert.variants if (v.channel, v.lang) == ("wea-90", "en"))
    core.messages().edit(team["carla"], update.id, "wea-90", "en", before.replace("Go to higher", "Climb to higher"))
    composer = ComposerService(core.messages())
    diff = composer.word_diff(team["carla"], update.id)
    assert diff.base == f"{alert.id} v{alert.version}"
    wea = diff.of("wea-90", "en")
    assert wea is not None and wea.changed
    assert Change("removed", "Go") in wea.changes and Change("added", "Climb") in wea.changes
    assert "".join(c.text for c in wea.changes if c.op != "added") == before
    # The update's CAP says Update and references what it updates.
    cap = composer.cap_summary(team["carla"], update.id)
    assert cap.msg_type == "Update" and cap.references is not None and alert.id in cap.references


def test_someone_unknown_reads_nothing(core: App, team: dict[str, Actor]) -> None:
    inc = open_incident(core, team, Mode.LIVE)
    draft = core.messages().draft(team["carla"], inc, "alert")
    with pytest.raises(PermissionDenied):
        ComposerService(core.messages()).open(actor("mallory"), draft.id)
