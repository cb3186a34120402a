"""Settings → Rules, offscreen: a mistake is named by its line (and column) next to the editor, the text is kept and
nothing is saved; a valid edit previews on recent items (polled from a real local HTTP server) and saves; read-only
for those who may not manage feeds."""

from __future__ import annotations

import os
from pathlib import Path

from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.ui.session import Session
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.settings_rules import RulesPage
from crisisdesk.ui.watcher import Watcher
from tests.conftest import person
from tests.integration.test_feeds import toots
from tests.support.feed_server import Route, feed_server
from tests.ui.test_window import unnamed_controls

EDITED = """# our county's rules
keywords: [road crews, sandbags]
urgent_words: [trapped, help]
stakeholders:
  - group: press
    authors: ["*news*"]
"""


def page_for(qtbot: QtBot, core: App, who: Actor) -> RulesPage:
    session = Session(core=core, actor=who, tasks=Tasks(core), watcher=Watcher(core))
    page = RulesPage(session)
    qtbot.addWidget(page)
    page.resize(1200, 720)
    page.show()
    return page


def rules_set(core: App) -> list[str]:
    return [e.payload["text"] for e in core.log.events() if e.kind == Kind.RULES_SET]


def polled(core: App, admin: Actor) -> None:
    with feed_server() as server:
        core.feeds().add(admin, "flood-tag", server.add("/tag", Route(toots(), "application/json")), "mastodon")
        core.feeds().poll()


def test_a_mistake_is_named_by_its_line_and_nothing_is_saved(qtbot: QtBot, core: App, admin: Actor) -> None:
    page = page_for(qtbot, core, admin)
    assert unnamed_controls(page) == []
    assert page.text.startswith("# crisisdesk monitoring rules") and page.origin.text().endswith("(monitoring.yaml)")
    assert page.check.text() == "The rules are valid." and not page.save_button.isEnabled()

    bad = "keywords: [road crews]\nmin_severity: Awful\nmin_magnitude: 12\nspeling: 1\n"
    page.editor.setPlainText(bad)
    assert not page.save_button.isEnabled() and not page.preview_button.isEnabled()  # not checked yet
    page.check_now()
    lines = page.check.text().splitlines()
    assert lines[0] == "Line 2, column 15: min_severity: use one of Unknown, Minor, Moderate, Severe, Extreme"
    assert lines[1].startswith("Line 3, column 16: min_magnitude: ")
    assert lines[2] == "Line 4, column 1: unknown rule 'speling'"
    assert len(page.editor.extraSelections()) == len(lines)  # the lines named are marked in the editor
    assert not page.save_button.isEnabled() and not page.preview_button.isEnabled()
    page.save()
    assert page.text == bad and rules_set(core) == []

    page.editor.setPlainText("keywords: [road crews\n")
    page.check_now()
    assert page.check.text().startswith("Line 2, column 1: YAML: ")
    page.save()
    assert rules_set(core) == []

    page.revert()
    assert page.text.startswith("# crisisdesk monitoring rules") and page.check.text() == "The rules are valid."


def test_a_valid_edit_previews_on_recent_items_then_saves(qtbot: QtBot, core: App, admin: Actor) -> None:
    polled(core, admin)
    page = page_for(qtbot, core, admin)
    page.editor.setPlainText(EDITED)
    page.check_now()
    assert page.check.text() == "The rules are valid." and page.save_button.isEnabled()
    page.preview_button.click()
    assert page.preview is not None and page.preview.scanned == 4
    ModelTester(None).check(page.hits)  # type: ignore[arg-type]
    rows = {page.hits.row(i).title: page.hits.cells(page.hits.row(i)) for i in range(page.hits.rowCount())}
    crews = next(cells for title, cells in rows.items() if "road crews" in title)
    assert crews[3] == "alert" and crews[4] == "keyword" and "keywords 'road crews'" in crews[6]
    trapped = next(cells for title, cells in rows.items() if "trapped" in title)
    assert trapped[3] == "urgent" and trapped[4] == "urgent words" and "urgent words: 'trapped', 'help'" in trapped[6]
    reporter = next(cells for title, cells in rows.items() if "Reporter" in title)
    assert reporter[3] == "group only" and reporter[4] == "group" and reporter[5] == "press"
    assert not any("terrible" in title for title in rows)  # an angry post, but nothing these rules look for
    assert "would raise an alert for 1, flag 1 public message urgent" in page.summary.text()
    assert rules_set(core) == []  # a preview saves nothing
    page.hits_table.selectRow(0)
    assert page.why.text().startswith(page.hits.row(0).title) and "• " in page.why.text()
    if shots := os.environ.get("CRISISDESK_SCREENSHOTS"):
        page.grab().save(str(Path(shots) / "settings-rules.png"))

    page.save_button.click()
    assert rules_set(core) == [EDITED] and core.feeds().rules().keywords == ("road crews", "sandbags")
    assert page.status.text().startswith("Saved") and not page.save_button.isEnabled()
    assert page.origin.text() == "In force: edited in the console"


def test_read_only_for_those_who_may_not_manage_feeds(qtbot: QtBot, core: App, admin: Actor) -> None:
    polled(core, admin)
    approver = person(core, admin, "ivan", Role.APPROVER)
    page = page_for(qtbot, core, approver)
    assert page.editor.isReadOnly() and page.save_button.isHidden() and page.revert_button.isHidden()
    assert "Read-only" in "".join(w.text() for w in page.findChildren(type(page.check)))
    page.preview_button.click()
    assert page.preview is not None and page.preview.scanned == 4
    page.editor.setPlainText(EDITED)  # as a program might; the person cannot type
    page.check_now()
    page.save()
    assert rules_set(core) == []
