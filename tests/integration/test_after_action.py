"""The after-action report from a played drill: the evaluation from the log, the controller's edits as events, and
the export (HTML checked with lxml, the PDF turned into pages with pdftoppm and read back with pdftotext, the
drill's audit export checked entry by entry)."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import orjson
import pytest
from lxml import html as lxml_html

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.errors import NotFound, PermissionDenied, UserError
from crisisdesk.domain.evaluation import Rating
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.services.after_action import PlanRow
from tests.conftest import person
from tests.support.aar_drill import PlayedDrill, RealDrill, confirm, play, team

M = timedelta(minutes=1)
NEEDS_POPPLER = "pdftoppm and pdftotext (poppler-utils) turn the PDF into pages and text"


def poppler() -> None:
    if shutil.which("pdftoppm") is None or shutil.which("pdftotext") is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{NEEDS_POPPLER}: .ci/run installs poppler-utils")
        pytest.skip(NEEDS_POPPLER)


@pytest.fixture
def played(core: App, admin: Actor, clock: FixedClock, tmp_path: Path) -> PlayedDrill:
    return play(core, clock, admin, tmp_path / "scenario")


def eve(core: App) -> Actor:
    return core.people.actor("eve")


def kinds(core: App, kind: str) -> list[dict[str, object]]:
    return [dict(e.payload) for e in core.log.events() if e.kind == kind]


def test_the_evaluation_comes_from_the_played_drill(core: App, played: PlayedDrill) -> None:
    result = core.after_action().evaluate(eve(core), played.drill_id)
    by_id = {o.objective_id: o for o in result.objectives}
    summary = {k: (o.suggested, [(m.value, m.share) for m in o.measurements]) for k, o in by_id.items()}
    assert summary == {
        "alert": (Rating.P, [(7 * M, None)]),
        "approvals": (Rating.M, [(3 * M, None), (2 * M, None), (8 * M, None)]),  # the last took 1.6x its 5m
        "cadence": (Rating.P, [(26 * M, 1.0)]),
        "triage": (Rating.P, [(3 * M, None)]),
        "checklist": (Rating.S, [(None, 0.75)]),  # step 3 never ticked
        "outbox": (Rating.P, [(3 * M, None)]),  # the outage ended at T+30m, the held update went at T+33m
    }
    first, update, _ = played.messages
    assert f"T+7m {first} (alert) published by carla" in by_id["alert"].measurements[0].evidence
    assert "T+11m marked answered by dora" in by_id["triage"].measurements[0].evidence
    (story,) = result.outbox_stories
    assert story.message == f"{update} (update)" and story.account == "exercise-page"
    assert [str(e) for e in story.events] == [
        "T+24m failed: drill: channel outage injected until T+30m",
        "T+33m retried by carla",
        "T+33m sent",
    ]
    assert story.outcome == "delivered after 1 failure"
    assert result.break_glass == []
    # The lint's warnings on what went out, each once with every text it was found in; no "info" notes.
    assert result.lint_findings_sent and all(" info:" not in line for line in result.lint_findings_sent)
    assert all(line.split(" ")[0] in played.messages for line in result.lint_findings_sent)
    o = result.overview
    assert o is not None
    assert (o.controller, o.players, o.status, o.length) == ("eve", ["carla", "ivan", "dora"], "ended", 60 * M)
    assert [i.fired for i in o.injects] == [timedelta(0), 8 * M, 15 * M, 20 * M, 35 * M]
    assert o.timezone == "America/Los_Angeles"
    # Anyone who may read evaluates; nothing is recorded by reading.
    viewer = person(core, core.people.actor("alice"), "vic", Role.VIEWER)
    before = core.log.count()
    assert core.after_action().evaluate(viewer, played.drill_id).objectives == result.objectives
    assert core.log.count() == before


def test_a_false_alarm_drill_times_the_correction_on_every_channel(
    core: App, admin: Actor, clock: FixedClock, tmp_path: Path
) -> None:
    text = """\
id: false-alarm-sample
name: Wrong alert (sample)
summary: A flash flood alert goes out for the wrong valley; the desk corrects it on every channel.
duration: 30m
incidents:
  - key: flood
    playbook: flash-flood
    facts: {area: "Mill Creek valley | geocode: SAME=006067", expires: "2026-11-23T21:30",
            info_url: "https://ready.millcounty.gov/flood", phone: "211"}
objectives:
  - id: correct
    title: Correct the wrong alert on every channel within 15 minutes
    expect: {measure: correction, within: 15m}
injects:
  - {id: warning, at: T+0, kind: feed-item, incident: flood, headline: Flash flood warning}
  - {id: wrong, at: T+5m, kind: note, incident: flood, text: The valley in the alert is the wrong one}
"""
    people = team(core, admin)
    drill = RealDrill(core, clock, people["eve"], tmp_path, text)
    incident = drill.start()
    messages, outbox, deliveries = core.messages(), core.outbox(), core.deliveries()
    drill.to(2)
    wrong = messages.draft(people["carla"], incident, "alert")
    messages.submit(people["carla"], wrong.id)
    messages.approve(people["ivan"], wrong.id, wrong.content_hash)
    messages.publish(people["carla"], wrong.id, confirm=confirm(wrong))
    outbox.run_once()
    drill.to(5)  # the note: the valley is the wrong one
    drill.to(6)
    progress = deliveries.declare_false_alarm(
        people["carla"], incident, "the alert named the wrong valley", clicked_at=clock.now()
    )
    drill.to(9)
    for step in (progress.cancel, progress.correction):
        view = messages.show(people["ivan"], step.message_id)
        messages.approve(people["ivan"], view.id, view.content_hash)
    drill.to(10)
    for step in (progress.cancel, progress.correction):
        messages.publish(
            people["carla"], step.message_id, confirm=confirm(messages.show(people["carla"], step.message_id))
        )
    drill.to(13)
    outbox.run_once()
    deliveries.record_false_alarm_time(people["carla"], incident)
    drill.to(30)
    drill.end()

    result = core.after_action().evaluate(people["eve"], drill.id)
    (m,) = result.objective("correct").measurements
    assert m.value == 11 * M and m.rating is Rating.P  # published wrong at T+2m, confirmed everywhere at T+13m
    assert str(m.events[0]) == f"T+2m {wrong.id} (alert) published by carla"
    assert "T+6m false alarm declared by carla" in m.evidence
    assert "T+13m correction confirmed on every channel" in m.evidence
    lanes = {(e.lane, e.label) for e in result.timeline}
    assert ("False alarm", "declared") in lanes and ("False alarm", "corrected") in lanes


def test_ratings_and_edits_need_run_exercises_and_are_events(core: App, played: PlayedDrill) -> None:
    service = core.after_action()
    carla = core.people.actor("carla")
    with pytest.raises(PermissionDenied):
        service.rate(carla, played.drill_id, "approvals", "S", "one slow approval")
    assert kinds(core, Kind.ACCESS_DENIED)[-1]["permission"] == "run exercises"
    with pytest.raises(UserError, match="'X' is not an HSEEP rating"):
        service.rate(eve(core), played.drill_id, "approvals", "X", "why")
    with pytest.raises(UserError, match="say why with --note"):
        service.rate(eve(core), played.drill_id, "approvals", "S", "  ")
    with pytest.raises(NotFound, match="has no objective 'nope'"):
        service.rate(eve(core), played.drill_id, "nope", "S", "why")
    with pytest.raises(NotFound, match="no drill 'drl-0000000000'"):
        service.rate(eve(core), "drl-0000000000", "approvals", "S", "why")
    assert kinds(core, Kind.DRILL_RATED) == []

    result = service.rate(eve(core), played.drill_id, "approvals", "s", "one slow approval, on a busy desk")
    approvals = result.objective("approvals")
    assert (approvals.suggested, approvals.rating, approvals.rated_by) == (Rating.M, Rating.S, "eve")
    result = service.edit_objective(
        eve(core), played.drill_id, "approvals", strengths=["Clear texts", " "], areas=["A second approver on call"]
    )
    assert result.objective("approvals").strengths == ["Clear texts"]
    rows = [
        PlanRow(
            "Approvals slow at shift change",
            "Name a second approver on each shift",
            "Public Information and Warning",
            "EM director",
            date(2026, 12, 1),
            date(2027, 1, 15),
        ),
    ]
    result = service.set_plan(eve(core), played.drill_id, rows)
    assert result.plan == rows
    with pytest.raises(UserError, match="completion 2026-11-01 is before its start 2026-12-01"):
        service.set_plan(eve(core), played.drill_id, [PlanRow("x", "", "", "", date(2026, 12, 1), date(2026, 11, 1))])
    with pytest.raises(UserError, match="say what the issue is"):
        service.set_plan(eve(core), played.drill_id, [PlanRow(" ", "", "", "", None, None)])
    assert [p["rating"] for p in kinds(core, Kind.DRILL_RATED)] == ["S"]
    edited = kinds(core, Kind.DRILL_REPORT_EDITED)
    assert edited[0]["strengths"] == ["Clear texts"] and edited[1]["plan"][0]["start"] == "2026-12-01"  # type: ignore[index]


def test_the_export_writes_the_report_and_the_drills_audit_export(
    core: App, played: PlayedDrill, tmp_path: Path
) -> None:
    poppler()
    service = core.after_action()
    service.rate(eve(core), played.drill_id, "checklist", "M", "the road crews were never told")
    service.edit_objective(
        eve(core),
        played.drill_id,
        "checklist",
        strengths=["Steps 1 and 2 on time"],
        areas=["Step 3 <tell 911> was forgotten"],
    )
    plan = [
        PlanRow(
            "Checklist step forgotten",
            "Read the checklist aloud at each update",
            "Public Information and Warning",
            "PIO lead",
            date(2026, 12, 1),
            None,
        )
    ]
    service.set_plan(eve(core), played.drill_id, plan)
    out = tmp_path / "report"
    files = service.export(eve(core), played.drill_id, out)
    assert [f.name for f in files] == [
        f"{played.drill_id}-aar.html",
        f"{played.drill_id}-aar.pdf",
        f"{played.drill_id}-audit.jsonl",
    ]
    (exported,) = kinds(core, Kind.DRILL_REPORT_EXPORTED)
    assert exported == {"drill": played.drill_id, "files": [f.name for f in files], "formats": ["html", "pdf", "audit"]}

    # -- the HTML: the AAR/IP's sections, the plan, the two charts inline, nothing fetched from elsewhere
    page = lxml_html.fromstring(files[0].read_bytes())
    for section in ("overview", "analysis", "other-measures", "improvement-plan", "method"):
        assert page.get_element_by_id(section) is not None
    headings = [h.text_content() for h in page.iter("h3")]
    assert "Objective 1: Alert the public within 10 minutes of the flash flood warning" in headings
    plan_rows = page.xpath("//section[@id='improvement-plan']//tbody/tr")
    assert [[td.text_content() for td in tr.xpath("td")] for tr in plan_rows] == [
        [
            "Checklist step forgotten",
            "Read the checklist aloud at each update",
            "Public Information and Warning",
            "PIO lead",
            "2026-12-01",
            "",
        ]
    ]
    svgs = page.xpath("//figure/*[local-name()='svg']")
    assert len(svgs) == 2 and all(len(svg.xpath(".//*[local-name()='text']")) > 5 for svg in svgs)
    assert page.xpath("//script | //link | //img | //iframe") == []
    assert "Step 3 <tell 911> was forgotten" in page.get_element_by_id("objective-checklist").text_content()
    assert (
        f"exported beside this report ({played.drill_id}-audit.jsonl)"
        in page.get_element_by_id("method").text_content()
    )
    checklist = page.get_element_by_id("objective-checklist").text_content()
    assert "Controller's note: the road crews were never told" in checklist and "suggested from the log: S" in checklist

    # -- the PDF: pages that are not blank, and a text layer with the objectives and the measured times
    pages = tmp_path / "pages"
    pages.mkdir()
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(files[1]), str(pages / "page")], check=True, timeout=120)
    pngs = sorted(pages.glob("page-*.png"))
    assert len(pngs) >= 4
    for png in pngs:
        assert not_blank(png), f"{png.name} is blank"
    text = subprocess.run(
        ["pdftotext", str(files[1]), "-"], check=True, capture_output=True, text=True, timeout=120
    ).stdout
    flat = " ".join(text.split())
    for o in service.evaluate(eve(core), played.drill_id).objectives:
        assert o.title in flat, o.title
    for shown in ("T+7m", "8m of 5m", "7m of 10m", "75%", "delivered after 1 failure", "Checklist step forgotten"):
        assert shown in flat, shown

    # -- the audit export: exactly the drill's entries, each verifiable on its own, and the export recorded
    lines = [orjson.loads(line) for line in (out / f"{played.drill_id}-audit.jsonl").read_text().splitlines()]
    assert {e["kind"] for e in lines} >= {
        Kind.DRILL_LOADED,
        Kind.DRILL_STARTED,
        Kind.MESSAGE_PUBLISHED,
        Kind.OUTBOX_SENT,
        Kind.OUTBOX_FAILED,
        Kind.TRIAGE_SET,
        Kind.STEP_DONE,
        Kind.DRILL_RATED,
        Kind.DRILL_REPORT_EDITED,
    }
    assert Kind.USER_ADDED not in {e["kind"] for e in lines} and Kind.FEED_ADDED not in {e["kind"] for e in lines}
    for e in lines:
        assert hashlib.sha256(e["body"].encode()).hexdigest() == e["hash"]
    positions = [e["position"] for e in lines]
    assert positions == sorted(positions)
    (audit,) = kinds(core, Kind.AUDIT_EXPORTED)
    assert audit["filter"] == {"drill": played.drill_id} and audit["entries"] == len(lines)


def not_blank(png: Path) -> bool:
    """The page's body (between its running header and footer) holds ink (read from the PNG's pixels)."""
    from PIL import Image

    with Image.open(png) as image:
        width, height = image.size
        body = image.convert("L").crop((0, round(height * 0.09), width, round(height * 0.9)))
        dark = sum(body.histogram()[:160])  # pixels darker than light grey
        return dark > body.width * body.height * 0.0005  # two lines of text are 0.2 %


def test_the_export_takes_only_what_is_asked_and_refuses_a_bad_folder(
    core: App, played: PlayedDrill, tmp_path: Path
) -> None:
    service = core.after_action()
    files = service.export(eve(core), played.drill_id, tmp_path, pdf=False, audit=False)
    assert [f.name for f in files] == [f"{played.drill_id}-aar.html"]
    method = lxml_html.fromstring(files[0].read_bytes()).get_element_by_id("method").text_content()
    assert "-audit.jsonl" not in method and f"crisisdesk drill report {played.drill_id}" in " ".join(method.split())
    assert kinds(core, Kind.DRILL_REPORT_EXPORTED)[-1]["formats"] == ["html"]
    with pytest.raises(UserError, match="nothing to export"):
        service.export(eve(core), played.drill_id, tmp_path, html=False, pdf=False, audit=False)
    a_file = tmp_path / "a-file"
    a_file.write_text("x")
    with pytest.raises(UserError, match="is not a folder"):
        service.export(eve(core), played.drill_id, a_file)
    with pytest.raises(UserError, match="does not exist"):
        service.export(eve(core), played.drill_id, tmp_path / "no" / "such")
    with pytest.raises(NotFound, match="no drill 'drl-nothere'"):
        service.export(eve(core), "drl-nothere", tmp_path)
    assert len(kinds(core, Kind.DRILL_REPORT_EXPORTED)) == 1


def test_a_drill_only_loaded_or_still_running_is_reported_as_it_stands(
    core: App, admin: Actor, clock: FixedClock, tmp_path: Path
) -> None:
    people = team(core, admin)
    drill = RealDrill(core, clock, people["eve"], tmp_path)
    service = core.after_action()
    result = service.evaluate(people["eve"], drill.id)
    assert result.overview is not None and result.overview.status == "loaded"
    assert {o.suggested for o in result.objectives} == {Rating.U}  # nothing could be done yet
    page = lxml_html.fromstring(service.html(people["eve"], drill.id))
    assert "No timed measurements" not in page.text_content()  # the never-happened ones are drawn as such
    assert len(page.xpath("//figure/*[local-name()='svg']")) == 2

    drill.start()
    drill.to(12)  # running: the evaluation ends now, at T+12m
    result = service.evaluate(people["eve"], drill.id)
    assert result.overview is not None and (result.overview.status, result.overview.length) == ("running", 12 * M)
    (m,) = result.objective("alert").measurements
    assert m.value is None and "T+12m nothing published by the end" in m.evidence
    assert "(still running)" in service.html(people["eve"], drill.id)
