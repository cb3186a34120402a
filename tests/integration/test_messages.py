"""Messages: versions bound to content hashes, the two-person rule, and the publish hand-off, end to end."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.errors import PermissionDenied, UserError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.messages import ConfirmationNeeded
from tests.integration.test_event_log import snapshot
from tests.integration.test_incidents import FLOOD_FACTS


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    people = {
        "carla": [Role.COMMUNICATOR],
        "ivan": [Role.APPROVER],
        "ada": [Role.APPROVER, Role.COMMUNICATOR],
        "eve": [Role.EXERCISE_CONTROLLER],
        "vic": [Role.VIEWER],
    }
    for name, roles in people.items():
        core.people.add(admin, name, roles, f"{name} password")
    return {name: core.people.actor(name) for name in people}


def test_a_draft_renders_every_channel_and_language_with_a_hash_of_its_exact_content(core: App, team) -> None:  # type: ignore[no-untyped-def]
    inc = core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = core.messages().draft(team["carla"], inc.id, "alert")
    assert (msg.version, msg.state, msg.author) == (1, "draft", "carla")
    assert len(msg.variants) == 26 and {v.lang for v in msg.variants} == {"en", "es"}
    # It goes to every channel account of the incident's mode: here the live public page.
    assert msg.targets == [core.channels().get("public-page").id] and not msg.verdict.ok
    stored = core.db.conn.execute("SELECT content FROM message_versions WHERE message_id = ?", (msg.id,)).fetchone()[0]
    assert hashlib.sha256(stored.encode()).hexdigest() == msg.content_hash
    with pytest.raises(UserError, match="'correction' is needed"):
        core.messages().draft(team["carla"], inc.id, "correction")  # the correction fact is not set


def test_the_two_person_rule_is_bound_to_the_exact_hash(core: App, team) -> None:  # type: ignore[no-untyped-def]
    messages = core.messages()
    inc = core.incidents().open(team["ada"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = messages.draft(team["ada"], inc.id, "alert")
    messages.submit(team["ada"], msg.id)
    with pytest.raises(PermissionDenied, match=r"ada wrote part of .*someone who wrote none of it must approve it"):
        messages.approve(team["ada"], msg.id, msg.content_hash)  # the author, though an approver
    with pytest.raises(PermissionDenied, match="carla may not approve messages"):
        messages.approve(team["carla"], msg.id, msg.content_hash)
    approved = messages.approve(team["ivan"], msg.id, msg.content_hash, "ok")
    assert approved.verdict.ok and approved.verdict.counted == ("ivan",)
    # Any edit makes a new version that the earlier approval does not cover.
    edited = messages.edit(
        team["ada"], msg.id, "wea-90", "en", "Flash Flood Warning here until 9:30 PM. Climb to high ground."
    )
    assert edited.version == 2 and edited.content_hash != msg.content_hash and not edited.verdict.ok
    assert "earlier version no longer apply" in edited.verdict.reason
    messages.submit(team["ada"], msg.id)
    with pytest.raises(UserError, match="stale hash"):
        messages.approve(team["ivan"], msg.id, msg.content_hash)
    with pytest.raises(PermissionDenied, match="cannot be published"):
        messages.publish(team["ada"], msg.id, confirm=f"PUBLISH LIVE {msg.id}")
    refusals = [e.payload["action"] for e in core.log.events() if e.kind == Kind.ACCESS_DENIED]
    assert refusals == [f"approve {msg.id}", f"approve {msg.id}"]


def test_publishing_states_a_summary_and_needs_the_phrase(core: App, team) -> None:  # type: ignore[no-untyped-def]
    messages = core.messages()
    inc = core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = messages.draft(team["carla"], inc.id, "alert")
    messages.submit(team["carla"], msg.id)
    messages.approve(team["ivan"], msg.id, msg.content_hash)
    with pytest.raises(ConfirmationNeeded) as needed:
        messages.publish(team["carla"], msg.id, confirm=f"SEND EXERCISE {msg.id}")
    assert needed.value.phrase == f"PUBLISH LIVE {msg.id}"
    assert "LIVE: this goes to the public" in needed.value.summary
    assert "Mill Creek valley" in needed.value.summary and "--- web [es]" in needed.value.summary
    assert "channels: public-page (folder, live)" in needed.value.summary
    published = messages.publish(team["carla"], msg.id, confirm=f"PUBLISH LIVE {msg.id}")
    assert published.state == "published"
    assert published.published[0]["content_hash"] == msg.content_hash
    event = next(e for e in core.log.events() if e.kind == Kind.MESSAGE_PUBLISHED)
    assert event.payload["approved_by"] == ["ivan"] and event.payload["break_glass"] is False
    with pytest.raises(UserError, match="is published"):
        messages.edit(team["carla"], msg.id, "sms", "en", "changed")
    # An update references what was published, and its diff shows what changed for the public.
    incidents = core.incidents()
    incidents.set_fact(team["carla"], inc.id, "expires", "2026-11-22T23:00")
    update = messages.draft(team["carla"], inc.id, "update")
    assert update.references == [msg.id]
    diff = messages.diff(team["carla"], update.id)
    assert f"--- {msg.id} v1 sms [en]" in diff and "+UPDATE from Mill County" in diff


def test_exercise_messages_say_so_and_use_other_wording(core: App, team) -> None:  # type: ignore[no-untyped-def]
    messages = core.messages()
    inc = core.incidents().open(
        team["eve"],
        "tornado",
        Mode.EXERCISE,
        facts={
            "area": "Millbrook | geocode: SAME=006067",
            "expires": "2026-05-03T17:45",
            "info_url": "https://ready.millcounty.gov/storm",
            "phone": "211",
        },
    )
    msg = messages.draft(team["eve"], inc.id, "alert")
    assert all(("EXERCISE" if v.lang == "en" else "SIMULACRO") in v.text for v in msg.variants)
    edited = messages.edit(
        team["eve"], msg.id, "sms", "en", "Tornado Warning. Take shelter now. https://ready.millcounty.gov/storm"
    )
    sms = next(v for v in edited.variants if v.channel == "sms" and v.lang == "en")
    assert sms.text.startswith("EXERCISE: Tornado Warning")  # the marker survives an edit
    messages.submit(team["eve"], msg.id)
    messages.approve(team["ivan"], msg.id, edited.content_hash)
    with pytest.raises(ConfirmationNeeded) as needed:
        messages.publish(team["eve"], msg.id, confirm=f"PUBLISH LIVE {msg.id}")
    assert needed.value.phrase == f"SEND EXERCISE {msg.id}"
    assert messages.publish(team["eve"], msg.id, confirm=f"SEND EXERCISE {msg.id}").state == "published"


def test_break_glass_is_an_approver_alone_with_a_reason_marked_in_the_log(core: App, team) -> None:  # type: ignore[no-untyped-def]
    messages = core.messages()
    inc = core.incidents().open(team["ada"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = messages.draft(team["ada"], inc.id, "alert")
    with pytest.raises(PermissionDenied, match="carla may not approve"):
        messages.publish(team["carla"], msg.id, break_glass=True, reason="no approver reachable")
    with pytest.raises(UserError, match="needs --reason"):
        messages.publish(team["ada"], msg.id, break_glass=True, reason=" ")
    done = messages.publish(
        team["ada"], msg.id, break_glass=True, reason="IC unreachable, water rising", confirm=f"PUBLISH LIVE {msg.id}"
    )
    assert done.published[0]["break_glass"] == 1
    event = next(e for e in core.log.events() if e.kind == Kind.MESSAGE_PUBLISHED)
    assert event.payload["break_glass"] is True and event.payload["reason"] == "IC unreachable, water rising"


def test_replay_rebuilds_messages_approvals_and_publications(core: App, team) -> None:  # type: ignore[no-untyped-def]
    messages = core.messages()
    inc = core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = messages.draft(team["carla"], inc.id, "alert")
    messages.submit(team["carla"], msg.id)
    messages.return_(team["ivan"], msg.id, "say 'now' first")
    v2 = messages.edit(
        team["carla"], msg.id, "wea-90", "en", "Now: Flash Flood Warning until 9:30 PM. Go to high ground."
    )
    messages.submit(team["carla"], msg.id)
    messages.approve(team["ivan"], msg.id, v2.content_hash)
    messages.publish(team["carla"], msg.id, confirm=f"PUBLISH LIVE {msg.id}")
    before = snapshot(core.db.conn)
    assert before["messages"] and before["message_versions"] and before["approvals"] and before["publications"]
    core.log.replay()
    assert snapshot(core.db.conn) == before
    assert core.log.verify().ok


def test_a_whole_incident_from_the_command_line(core: App, team, cli_as, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """open, draft, edit, submit, return, edit, approve by a second person, publish; then an update."""
    run = cli_as

    facts = [f"--fact={k}={v}" for k, v in FLOOD_FACTS.items()]
    code, out, err = run("carla", "incident", "open", "flash-flood", "--mode", "live", *facts, "--json")
    assert code == 0, err
    inc = json.loads(out)["id"]
    code, out, err = run("carla", "message", "draft", inc, "--type", "alert", "--json")
    assert code == 0, err
    msg = json.loads(out)["id"]
    text = tmp_path / "web.txt"
    text.write_text("Flash Flood Warning here until 9:30 PM. Go to high ground now.\n")
    assert run("carla", "message", "edit", msg, "--channel", "web", "--lang", "en", "--text-file", str(text))[0] == 0
    assert run("carla", "message", "submit", msg)[0] == 0
    assert run("ivan", "message", "return", msg, "--comment", "say NOW first")[0] == 0
    code, _, _ = run(
        "carla",
        "message",
        "edit",
        msg,
        "--channel",
        "web",
        "--lang",
        "en",
        "--text-file",
        "-",
        stdin="NOW: Flash Flood Warning for Mill County until 9:30 PM. Go to high ground. "
        "Do not drive through water. More: https://ready.millcounty.gov/flood",
    )
    assert code == 0
    assert run("carla", "message", "submit", msg)[0] == 0
    shown = json.loads(run("ivan", "message", "show", msg, "--json")[1])
    assert (shown["version"], shown["state"], shown["approved"]) == (3, "submitted", False)
    code, _, err = run("carla", "message", "approve", msg, "--hash", shown["hash"])
    assert code == 2 and "carla may not approve messages" in err
    assert run("ivan", "message", "approve", msg, "--hash", shown["hash"], "--comment", "good")[0] == 0
    code, out, err = run("carla", "message", "publish", msg)
    assert code == 2 and f"--confirm 'PUBLISH LIVE {msg}'" in err
    assert "LIVE: this goes to the public" in out and "NOW: Flash Flood Warning" in out
    code, out, err = run("carla", "message", "publish", msg, "--confirm", f"PUBLISH LIVE {msg}")
    assert code == 0, err
    assert "published" in out
    assert run("carla", "incident", "set-fact", inc, "expires=2026-11-22T23:00")[0] == 0
    code, out, _ = run("carla", "message", "draft", inc, "--type", "update", "--json")
    update = json.loads(out)
    assert update["references"] == [msg]
    code, out, _ = run("carla", "message", "diff", update["id"])
    assert "+UPDATE from Mill County" in out
    code, out, _ = run("vic", "incident", "show", inc)
    assert "Message published" in out and "Message returned" in out


def _published_alert(core: App, team, clock=None):  # type: ignore[no-untyped-def]
    messages = core.messages()
    inc = core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    msg = messages.draft(team["carla"], inc.id, "alert")
    messages.submit(team["carla"], msg.id)
    messages.approve(team["ivan"], msg.id, msg.content_hash)
    messages.publish(team["carla"], msg.id, confirm=f"PUBLISH LIVE {msg.id}")
    return inc, msg


def test_false_alarm_drafts_the_cancel_and_a_correction_ready_for_approval(core: App, team) -> None:  # type: ignore[no-untyped-def]
    import time

    inc, alert = _published_alert(core, team)
    messages = core.messages()
    started = time.process_time()
    cancel, correction = messages.false_alarm(team["carla"], inc.id, correction="the alert was sent in error")
    took = time.process_time() - started
    assert took < 2.0, f"false alarm took {took:.2f} s of machine time"
    assert (cancel.type, correction.type) == ("cancel", "correction")
    assert cancel.references == correction.references == [alert.id]
    assert cancel.state == correction.state == "submitted"
    fix = next(v for v in correction.variants if v.channel == "sms" and v.lang == "en")
    assert "the alert was sent in error" in fix.text
    # The Hawaii lesson: both say, in both languages, that the warning was sent in error and that there is no
    # danger, and neither tells people to keep acting on it.
    assert core.incidents().get(team["carla"], inc.id).facts["false_alarm"] == "sent-in-error"
    for m in (cancel, correction):
        for v in m.variants:
            if v.channel == "cap-instruction":
                continue
            said = {"en": ("sent in error", "no flood danger"), "es": ("se envió por error", "no hay peligro")}[v.lang]
            assert all(s in v.text.casefold() for s in said), (m.type, v.channel, v.lang, v.text)
            assert "high ground" not in v.text and "lugar alto" not in v.text, (m.type, v.channel, v.text)
    for m in (cancel, correction):
        messages.approve(team["ivan"], m.id, m.content_hash)
        assert messages.publish(team["carla"], m.id, confirm=f"PUBLISH LIVE {m.id}").state == "published"


def test_a_correction_that_drops_what_was_wrong_or_a_cancel_that_drops_canceled_is_not_submitted(
    core: App, team
) -> None:  # type: ignore[no-untyped-def]
    inc, _ = _published_alert(core, team)
    messages = core.messages()
    core.incidents().set_fact(team["carla"], inc.id, "correction", "the warning ends at 9:30 PM, not 7:30 PM")
    fix = messages.draft(team["carla"], inc.id, "correction")
    vague = messages.edit(team["carla"], fix.id, "wea-90", "es", "CORRECCIÓN al Aviso de Inundación. Vea las noticias.")
    (finding,) = (f for v in vague.variants if v.channel == "wea-90" and v.lang == "es" for f in v.findings)
    assert (finding.code, finding.severity) == ("CD110", "error")
    with pytest.raises(UserError, match="wea-90/es: CD110"):
        messages.submit(team["carla"], fix.id)
    said = "CORRECCIÓN: the warning ends at 9:30 PM, not 7:30 PM."
    assert messages.submit(team["carla"], messages.edit(team["carla"], fix.id, "wea-90", "es", said).id).state == (
        "submitted"
    )
    cancel = messages.draft(team["carla"], inc.id, "cancel")
    messages.edit(team["carla"], cancel.id, "sms", "en", "Mill County: roads may still be closed.")
    with pytest.raises(UserError, match="sms/en: CD111"):
        messages.submit(team["carla"], cancel.id)


def test_false_alarm_needs_something_to_cancel_and_words_for_the_correction(core: App, team, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    inc, _ = _published_alert(core, team)
    with pytest.raises(UserError, match="say what was wrong"):
        core.messages().false_alarm(team["carla"], inc.id)
    clock.advance(timedelta(hours=20))  # past the warning's expiry
    with pytest.raises(UserError, match="nothing unexpired has been published"):
        core.messages().false_alarm(team["carla"], inc.id, correction="x")


def test_the_update_cadence_restarts_at_each_published_alert_or_update(core: App, team, clock) -> None:  # type: ignore[no-untyped-def]
    from datetime import timedelta

    inc = core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS)
    first = next(d for d in core.incidents().show(team["vic"], inc.id).due if d.kind == "update")
    clock.advance(timedelta(minutes=20))
    messages = core.messages()
    msg = messages.draft(team["carla"], inc.id, "alert")
    messages.submit(team["carla"], msg.id)
    messages.approve(team["ivan"], msg.id, msg.content_hash)
    messages.publish(team["carla"], msg.id, confirm=f"PUBLISH LIVE {msg.id}")
    after = next(d for d in core.incidents().show(team["vic"], inc.id).due if d.kind == "update")
    assert after.due_at - first.due_at == timedelta(minutes=20)
