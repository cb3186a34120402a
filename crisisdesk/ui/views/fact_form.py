"""A form made from a playbook's typed facts: the right editor per type, labels in each language, required facts
marked, and each value checked as it is typed, in the words the service would refuse it with.

Used by the new-incident dialog (values sent together when the incident opens) and the incident workspace (each
fact set on its own with its Set button, each change recorded)."""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import QDate, Qt, Signal
from PySide6.QtWidgets import (
    QCalendarWidget,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QToolButton,
    QVBoxLayout,
    QWidget,
    QWidgetAction,
)

from crisisdesk.domain.facts import (
    BadFact,
    FactType,
    fact_key,
    language_name,
    parse_datetime,
    split_key,
    translation_problem,
    zone,
)
from crisisdesk.domain.messages import fact_problem, missing_translations
from crisisdesk.domain.playbook import Fact, Playbook
from crisisdesk.ui import palette


def fact_label(fact: Fact, languages: list[str]) -> str:
    """The label in the playbook's first language, the others after it: "Area (es: Zona)"."""
    first = fact.label.get(languages[0]) or next(iter(fact.label.values()), "")
    others = [f"{lang}: {fact.label[lang]}" for lang in languages[1:] if fact.label.get(lang, first) != first]
    return first + (f" ({'; '.join(others)})" if others else "")


class FactEditor(QWidget):
    """One fact's editor; ``text`` is what the service is given (empty: not set)."""

    changed = Signal()

    def text(self) -> str:
        raise NotImplementedError

    def set_text(self, value: str | None) -> None:
        raise NotImplementedError

    def focus_widget(self) -> QWidget:
        return self


class _LineBacked(FactEditor):
    """An editor whose value is one line of text (``self.line``), whatever else it shows beside it."""

    line: QLineEdit

    def text(self) -> str:
        return self.line.text().strip()

    def set_text(self, value: str | None) -> None:
        self.line.setText(value or "")

    def focus_widget(self) -> QWidget:
        return self.line


class LineEditor(_LineBacked):
    def __init__(self, name: str, fact: Fact, placeholder: str) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.line = QLineEdit()
        self.line.setPlaceholderText(placeholder)
        self.line.setAccessibleName(f"Fact {name}")
        self.line.setAccessibleDescription(fact.help)
        self.line.textChanged.connect(self.changed)
        if fact.type is FactType.PHONE:
            self.line.setInputMethodHints(Qt.InputMethodHint.ImhDialableCharactersOnly)
        elif fact.type is FactType.URL:
            self.line.setInputMethodHints(Qt.InputMethodHint.ImhUrlCharactersOnly)
        layout.addWidget(self.line)


class ChoiceEditor(FactEditor):
    """The playbook's choices, each labelled in every language; nothing chosen until someone chooses."""

    def __init__(self, name: str, fact: Fact, languages: list[str]) -> None:
        super().__init__()
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.combo = QComboBox()
        self.combo.setAccessibleName(f"Fact {name}")
        self.combo.setAccessibleDescription(fact.help)
        # Not as wide as the longest label: in the workspace's narrow facts panel that pushed the Set buttons out
        # of sight. The list that drops down still shows each label whole.
        self.combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.combo.setMinimumContentsLength(16)
        self.combo.addItem("— choose —", "")
        for key, labels in fact.choices.items():
            shown = " / ".join(labels[lang] for lang in languages if lang in labels) or key
            self.combo.addItem(shown, key)
        self.combo.currentIndexChanged.connect(self.changed)
        layout.addWidget(self.combo)

    def text(self) -> str:
        return str(self.combo.currentData() or "")

    def set_text(self, value: str | None) -> None:
        index = self.combo.findData(value or "")
        self.combo.setCurrentIndex(max(index, 0))

    def focus_widget(self) -> QWidget:
        return self.combo


class DateTimeEditor(_LineBacked):
    """A date and time on the incident's wall clock: typed (2026-11-22 21:30) or its date picked from a calendar,
    with how it reads in the incident's zone beside it, so a slip (AM for PM, the wrong day) shows at once.

    Typed rather than spun section by section: under stress a person types what they were told, and an empty field
    stays empty (no default time that looks like a decision)."""

    def __init__(self, name: str, fact: Fact, tz_name: str, now: datetime) -> None:
        super().__init__()
        self.tz_name = tz_name
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(1)
        self.line = QLineEdit()
        today = now.astimezone(zone(tz_name))
        self.line.setPlaceholderText(f"{today:%Y-%m-%d} 21:30, in {tz_name} time")
        self.line.setAccessibleName(f"Fact {name}")
        self.line.setAccessibleDescription(f"{fact.help} A date and time in {tz_name}, such as {today:%Y-%m-%d} 21:30.")
        self.line.textChanged.connect(self._changed)
        self.pick = QToolButton()
        self.pick.setText("Date…")
        self.pick.setAccessibleName(f"Pick the date of fact {name}")
        self.pick.setToolTip("Pick the date from a calendar; then type the time")
        self.pick.setPopupMode(QToolButton.ToolButtonPopupMode.InstantPopup)
        self.calendar = QCalendarWidget()
        self.calendar.setAccessibleName(f"Calendar for fact {name}")
        self.calendar.setSelectedDate(QDate(today.year, today.month, today.day))
        self.calendar.clicked.connect(self._picked)
        menu = QMenu(self.pick)
        holder = QWidgetAction(menu)
        holder.setDefaultWidget(self.calendar)
        menu.addAction(holder)
        self.pick.setMenu(menu)
        self.reading = QLabel()
        self.reading.setTextFormat(Qt.TextFormat.PlainText)
        self.reading.setAccessibleName(f"Fact {name} as read in {tz_name}")
        self.reading.setStyleSheet(palette.text_style("muted", bold=False))
        row = QHBoxLayout()
        row.addWidget(self.line, 1)
        row.addWidget(self.pick)
        layout.addLayout(row)
        layout.addWidget(self.reading)
        self._changed()

    def _picked(self, date: QDate) -> None:
        parts = self.line.text().strip().replace("T", " ").split(" ", 1)
        time = parts[1] if len(parts) == 2 else ""
        self.line.setText(f"{date.toString('yyyy-MM-dd')} {time}".rstrip() + ("" if time else " "))
        menu = self.pick.menu()
        if menu is not None:
            menu.hide()
        self.line.setFocus()
        self.line.end(False)

    def _changed(self) -> None:
        text = self.text()
        try:
            moment = parse_datetime(text, zone(self.tz_name)) if text else None
        except BadFact:
            moment = None
        if moment is None:
            self.reading.setText(f"{self.tz_name} time")
        else:
            self.reading.setText(moment.astimezone(zone(self.tz_name)).strftime("= %A %d %B %Y, %H:%M %Z"))
        self.changed.emit()


class AreaEditor(FactEditor):
    """An area: what people call it, then its shapes, one a line (polygon, circle or geocode), as CAP needs."""

    def __init__(self, name: str, fact: Fact) -> None:
        super().__init__()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        self.description = QLineEdit()
        self.description.setPlaceholderText("What people call it: Mill Creek valley")
        self.description.setAccessibleName(f"Fact {name}: description")
        self.description.setAccessibleDescription(fact.help)
        self.shapes = QPlainTextEdit()
        self.shapes.setPlaceholderText(
            "Shapes, one a line:\npolygon: 38.55,-121.50 38.60,-121.50 38.60,-121.40\n"
            "circle: 38.57,-121.45 12   ·   geocode: SAME=006067"
        )
        self.shapes.setAccessibleName(f"Fact {name}: shapes")
        self.shapes.setTabChangesFocus(True)
        self.shapes.setFixedHeight(self.shapes.fontMetrics().lineSpacing() * 3 + 14)
        self.description.textChanged.connect(self.changed)
        self.shapes.textChanged.connect(self.changed)
        layout.addWidget(self.description)
        layout.addWidget(self.shapes)

    def text(self) -> str:
        description = self.description.text().strip()
        shapes = [line.strip() for line in self.shapes.toPlainText().splitlines() if line.strip()]
        if not description and not shapes:
            return ""
        return " | ".join([description, *shapes])

    def set_text(self, value: str | None) -> None:
        parts = [p.strip() for p in (value or "").split("|")]
        self.description.setText(parts[0])
        self.shapes.setPlainText("\n".join(p for p in parts[1:] if p))

    def focus_widget(self) -> QWidget:
        return self.description


PLACEHOLDERS = {
    FactType.URL: "https://…",
    FactType.PHONE: "a number people can call",
    FactType.PLACE: "a place or address",
    FactType.DURATION: "90m, 2h or 1h30m",
    FactType.NUMBER: "a number",
}


def editor_for(name: str, fact: Fact, playbook: Playbook, tz_name: str, now: datetime) -> FactEditor:
    match fact.type:
        case FactType.CHOICE:
            return ChoiceEditor(name, fact, playbook.languages)
        case FactType.DATETIME:
            return DateTimeEditor(name, fact, tz_name, now)
        case FactType.AREA:
            return AreaEditor(name, fact)
    shown = fact.examples(playbook.languages).get(playbook.main_language, "")
    example = f" (e.g. {shown})" if shown else ""
    return LineEditor(name, fact, PLACEHOLDERS.get(fact.type, "") + example if fact.type in PLACEHOLDERS else example)


def translation_editor(name: str, fact: Fact, lang: str) -> LineEditor:
    """A translated fact's value in one more language: a line (for an area, its description: the shapes are given
    once, with the first language's value)."""
    example = fact.examples([lang]).get(lang, "")
    what = "the description" if fact.type is FactType.AREA else "the value"
    placeholder = f"{what} in {language_name(lang)}" + (f" (e.g. {example})" if example else "")
    return LineEditor(f"{name} in {language_name(lang)}", fact, placeholder)


class FactForm(QWidget):
    """The playbook's facts as a form. ``checked`` is emitted after any value changed and was checked.

    With ``set_buttons``, each fact has a Set button, enabled when its value differs from ``recorded`` and reads
    well; ``set_requested(name, value)`` asks the caller to record it."""

    checked = Signal()
    set_requested = Signal(str, str)

    def __init__(
        self,
        playbook: Playbook,
        tz_name: str,
        now: datetime,
        *,
        recorded: dict[str, str] | None = None,
        set_buttons: bool = False,
        labels_above: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.playbook = playbook
        self.tz_name = tz_name
        self.recorded = dict(recorded or {})
        # Keyed as the service keeps the values: "route", and "route@es" for a translated fact's Spanish value.
        self.editors: dict[str, FactEditor] = {}
        self.problem_labels: dict[str, QLabel] = {}
        self.set_buttons: dict[str, QPushButton] = {}
        self.translation_labels: dict[str, QLabel] = {}  # a missing translation, named under its editor
        main = playbook.main_language
        translated = len(playbook.languages) > 1
        grid = QGridLayout(self)
        grid.setContentsMargins(0, 0, 0, 0)
        grid.setVerticalSpacing(2)
        grid.setColumnStretch(0 if labels_above else 1, 1)
        row = 0
        for name, fact in playbook.facts.items():
            if fact.role == "false-alarm":
                continue  # set by False alarm… alone (its texts then say sent in error), never by hand in a form
            # A translated fact has an editor per language, each labelled with its language; the others, one.
            langs = playbook.languages if translated and fact.translated else [main]
            for lang in langs:
                key = fact_key(name, lang, main)
                if lang == main:
                    text = ("* " if fact.required else "") + fact_label(fact, playbook.languages)
                    editor = editor_for(name, fact, playbook, tz_name, now)
                else:
                    text = f"{fact.label.get(lang) or fact_label(fact, playbook.languages)}"
                    editor = translation_editor(name, fact, lang)
                if len(langs) > 1:
                    text += f" · in {language_name(lang)}"
                label = QLabel(text)
                label.setTextFormat(Qt.TextFormat.PlainText)
                label.setToolTip(fact.help)
                font = label.font()
                font.setBold(fact.required and lang == main)
                label.setFont(font)
                editor.set_text(self.recorded.get(key))
                editor.setToolTip(fact.help)
                label.setBuddy(editor.focus_widget())
                if labels_above:  # a narrow panel: each label on its own line, the editor the whole width below
                    grid.addWidget(label, row, 0, 1, 3)
                    row += 1
                    grid.addWidget(editor, row, 0, 1, 2)
                else:
                    grid.addWidget(label, row, 0, Qt.AlignmentFlag.AlignTop)
                    grid.addWidget(editor, row, 1)
                if set_buttons:
                    button = QPushButton("Set")
                    shown = name if lang == main else f"{name} in {language_name(lang)}"
                    button.setAccessibleName(f"Set fact {shown}")
                    button.setToolTip(f"Record the new {text.lstrip('* ')} (it goes in the audit log)")
                    button.clicked.connect(lambda _=False, k=key: self._set(k))
                    grid.addWidget(button, row, 2, Qt.AlignmentFlag.AlignTop)
                    self.set_buttons[key] = button
                row += 1
                if lang == main:
                    helper = QLabel(fact.help + ("" if fact.required else " (optional)"))
                    helper.setTextFormat(Qt.TextFormat.PlainText)
                    helper.setWordWrap(True)
                    helper.setStyleSheet(palette.text_style("muted", bold=False))
                    grid.addWidget(helper, row, 0 if labels_above else 1, 1, 2 if labels_above else 1)
                    row += 1
                problem = QLabel()
                problem.setTextFormat(Qt.TextFormat.PlainText)
                problem.setWordWrap(True)
                problem.setAccessibleName(f"Problem with fact {key}")
                problem.setStyleSheet(palette.text_style("bad"))
                problem.hide()
                grid.addWidget(problem, row, 0 if labels_above else 1, 1, 2 if labels_above else 1)
                row += 1
                if len(langs) > 1:
                    notice = QLabel()
                    notice.setTextFormat(Qt.TextFormat.PlainText)
                    notice.setWordWrap(True)
                    notice.setAccessibleName(f"Missing translation of fact {name} in {language_name(lang)}")
                    notice.setStyleSheet(palette.text_style("warning"))
                    notice.hide()
                    grid.addWidget(notice, row, 0 if labels_above else 1, 1, 2 if labels_above else 1)
                    row += 1
                    self.translation_labels[key] = notice
                self.editors[key] = editor
                self.problem_labels[key] = problem
                editor.changed.connect(lambda k=key: self._check(k))
        legend = QLabel("* required: drafts need it")
        legend.setTextFormat(Qt.TextFormat.PlainText)
        legend.setStyleSheet(palette.text_style("muted", bold=False))
        grid.addWidget(legend, row, 0 if labels_above else 1, 1, 2 if labels_above else 1)
        grid.setRowStretch(row + 1, 1)
        self._check_all()

    # -- reading ------------------------------------------------------------------------------------------

    def values(self) -> dict[str, str]:
        """Every fact with a value, as typed."""
        return {name: text for name, editor in self.editors.items() if (text := editor.text())}

    def problems(self) -> dict[str, str]:
        """Each fact whose value would be refused, with the refusal."""
        tz = zone(self.tz_name)
        return {
            name: problem
            for name, text in self.values().items()
            if (problem := fact_problem(self.playbook, name, text, tz))
        }

    def missing(self) -> list[str]:
        """Required facts still empty."""
        return [n for n, f in self.playbook.facts.items() if f.required and not self.editors[n].text()]

    # -- inside -------------------------------------------------------------------------------------------

    def missing_translations(self) -> list[tuple[str, str]]:
        """(fact, language) for each language a fact has a value in another language but none in this one."""
        return missing_translations(self.playbook, self.values())

    def _name_missing_translations(self) -> None:
        missing = {fact_key(name, lang, self.playbook.main_language) for name, lang in self.missing_translations()}
        for key, notice in self.translation_labels.items():
            name, lang = split_key(key)
            lang = lang or self.playbook.main_language
            said = (
                f"⚠ {translation_problem(name, lang)}: the {language_name(lang)} texts will show another language's "
                "value until it is given"
                if key in missing
                else ""
            )
            notice.setText(said)
            notice.setVisible(bool(said))

    def _check(self, name: str, *, emit: bool = True) -> None:
        self._check_one(name)
        self._name_missing_translations()  # a value in one language changes what the others miss
        if emit:
            self.checked.emit()

    def _check_all(self) -> None:
        """Every editor's problem, then the missing translations once (they are the whole form's, not a fact's)."""
        for name in self.editors:
            self._check_one(name)
        self._name_missing_translations()

    def _check_one(self, name: str) -> None:
        text = self.editors[name].text()
        problem = fact_problem(self.playbook, name, text, zone(self.tz_name))
        label = self.problem_labels[name]
        label.setText(f"⚠ {problem}" if problem else "")
        label.setVisible(bool(problem))
        if problem:
            # A wrapped label in a scroll area is not given the height its lines need unless it asks for it.
            # The editors' column is under two thirds of the form; asking for that width errs on the tall side.
            label.setMinimumHeight(label.heightForWidth(max(int(self.width() * 0.6), 300)))
        if name in self.set_buttons:
            self.set_buttons[name].setEnabled(bool(text) and not problem and text != self.recorded.get(name))

    def _set(self, name: str) -> None:
        text = self.editors[name].text()
        if text and not fact_problem(self.playbook, name, text, zone(self.tz_name)):
            self.set_requested.emit(name, text)

    def show_recorded(self, recorded: dict[str, str]) -> None:
        """The values the log now holds; a fact someone is editing keeps what they typed."""
        for name, editor in self.editors.items():
            before = self.recorded.get(name)
            now = recorded.get(name)
            if editor.text() == (before or "") and now != before:
                editor.set_text(now)
        self.recorded = dict(recorded)
        self._check_all()
