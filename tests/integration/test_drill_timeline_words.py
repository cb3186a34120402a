"""A drill incident's timeline says what each inject did in words (a walkthrough read "by_hand=False drill=drl-..."
in the workspace's Details column)."""

from __future__ import annotations

from pathlib import Path

from crisisdesk.app import App
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from tests.integration.drill_helpers import controller, scenario_text, write_scenario


def test_an_inject_on_the_timeline_reads_as_words(core: App, admin: Actor, tmp_path: Path) -> None:
    eve = controller(core, admin)
    drills = core.drills()
    drill = drills.load(eve, write_scenario(tmp_path, scenario_text()))
    drill = drills.start(eve, drill.id)
    drills.tick()
    drill = drills.inject(eve, drill.id, "shelter-question")  # by hand: a comment, into triage
    incident_id = next(iter(drill.incidents.values()))
    rows = [r for r in core.incidents().timeline(incident_id) if r.kind == Kind.DRILL_INJECT_FIRED]
    assert rows
    for row in rows:
        assert "by_hand=" not in row.summary and "drill=drl-" not in row.summary, row.summary
        assert row.summary.split(":", 1)[0] in {i.id for i in drill.injects}
