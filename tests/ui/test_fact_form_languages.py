"""The fact form, offscreen: a translated fact has one editor per language, each labelled with its language, a
missing translation is named under its editor, and each value goes to the service under its own key."""

from __future__ import annotations

from datetime import UTC, datetime

from PySide6.QtWidgets import QLabel
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.ui.views.fact_form import AreaEditor, FactForm, LineEditor

NOW = datetime(2026, 11, 23, 3, 30, tzinfo=UTC)


def label_of(form: FactForm, key: str) -> str:
    buddy = form.editors[key].focus_widget()
    [label] = [w for w in form.findChildren(QLabel) if w.buddy() is buddy]
    return label.text()


def test_a_translated_fact_has_an_editor_per_language_and_a_missing_one_is_named(qtbot: QtBot, core: App) -> None:
    wildfire = core.incidents().playbooks.get("wildfire-evacuation")
    form = FactForm(wildfire, wildfire.timezone, NOW)
    qtbot.addWidget(form)
    form.show()
    # The route (a place marked translate: true), the zone's description and the correction (free text) are asked
    # in English and in Spanish; the shelter's name, the link and the phone once.
    assert [k for k in form.editors if "@" in k] == ["zone@es", "route@es", "correction@es"]
    assert "shelter@es" not in form.editors and "info_url@es" not in form.editors
    assert label_of(form, "route") == "* Way out (es: Ruta de salida) · in English"
    assert label_of(form, "route@es") == "Ruta de salida · in Spanish"
    assert label_of(form, "shelter") == "Shelter (es: Refugio)"
    spanish = form.editors["route@es"]
    assert isinstance(spanish, LineEditor) and isinstance(form.editors["zone"], AreaEditor)
    assert spanish.line.accessibleName() == "Fact route in Spanish"
    assert spanish.line.placeholderText() == "the value in Spanish (e.g. Carretera 49 Sur)"
    assert form.editors["zone@es"].focus_widget().placeholderText().startswith("the description in Spanish")

    notice = form.translation_labels["route@es"]
    assert not notice.isVisible()  # nothing typed: nothing to translate yet
    english = form.editors["route"]
    assert isinstance(english, LineEditor)
    qtbot.keyClicks(english.line, "Highway 49 south")
    assert notice.isVisible()
    assert notice.text() == (
        "⚠ fact route has no es value (Spanish): the Spanish texts will show another language's value until it is given"
    )
    assert form.missing_translations() == [("route", "es")]
    assert form.problems() == {}  # named, not refused: an incident may open without it
    qtbot.keyClicks(spanish.line, "Carretera 49 Sur")
    assert not notice.isVisible() and form.missing_translations() == []
    assert form.values() == {"route": "Highway 49 south", "route@es": "Carretera 49 Sur"}
    # A Spanish area is its description only: shapes there are refused in the service's words.
    qtbot.keyClicks(form.editors["zone@es"].focus_widget(), "Zona 4 | circle: 38.5,-121.1 2")
    assert form.problem_labels["zone@es"].text() == (
        "⚠ fact zone@es: zone@es is the description in es only: give the shapes once, in zone"
    )
    # Only Spanish typed: the English is what is named.
    form.editors["route"].set_text("")
    assert form.translation_labels["route"].isVisible()
    assert form.translation_labels["route"].text().startswith("⚠ fact route has no en value (English)")


def test_each_language_is_set_on_its_own_under_its_key(qtbot: QtBot, core: App) -> None:
    flood = core.incidents().playbooks.get("flash-flood")
    form = FactForm(flood, flood.timezone, NOW, recorded={"route": "Highway 16 east"}, set_buttons=True)
    qtbot.addWidget(form)
    form.show()
    set_spanish = form.set_buttons["route@es"]
    assert set_spanish.accessibleName() == "Set fact route in Spanish" and not set_spanish.isEnabled()
    assert form.translation_labels["route@es"].isVisible()  # recorded in English only
    spanish = form.editors["route@es"]
    assert isinstance(spanish, LineEditor)
    qtbot.keyClicks(spanish.line, "Carretera 16 Este")
    with qtbot.waitSignal(form.set_requested) as asked:
        set_spanish.click()
    assert asked.args == ["route@es", "Carretera 16 Este"]
    form.show_recorded({"route": "Highway 16 east", "route@es": "Carretera 16 Este"})
    assert not set_spanish.isEnabled() and not form.translation_labels["route@es"].isVisible()
