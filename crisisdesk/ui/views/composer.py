"""The composer: edit a message's texts, one variant (channel and language) at a time, with its count in the
channel's own unit, its lint findings marked in the text as you type, a faithful preview, the CAP summary, the
changes since the last published version, and the channels it goes to; then submit it for approval.

    composer = Composer(session, message_id)
    composer.submitted.connect(lambda message_id: ...)   # after MessageService.submit accepted it
"""

from __future__ import annotations

import re
import time

from PySide6.QtCore import QItemSelection, Qt, QTimer, Signal
from PySide6.QtGui import QFont, QShowEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import (
    QHBoxLayout,
    QListWidget,
    QListWidgetItem,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTabWidget,
    QTextEdit,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.composing import Place, places, word_diff
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.text_rules import Channel, Finding, Measure
from crisisdesk.services.composer import ComposerService, Composition
from crisisdesk.ui import palette
from crisisdesk.ui.dialogs import shortcuts
from crisisdesk.ui.models.composer import FindingRow, FindingsModel, VariantRow, VariantsModel
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.chrome import ModeBand
from crisisdesk.ui.views.previews import (
    CHANNEL_ORDER,
    PreviewInput,
    PreviewPane,
    cap_preview,
    caption,
    channel_name,
    plain,
)
from crisisdesk.ui.views.siblings import SiblingVersions, conflict_reason
from crisisdesk.ui.views.tables import row_table

Key = tuple[str, str]  # (channel, language)
PREVIEW_AT_ONCE = 3_000  # characters: a longer text's preview is drawn when typing pauses
PREVIEW_PAUSE_MS = 150

UNITS = {
    "gsm7-septets": "GSM-7 septets",
    "ucs2-units": "UCS-2 units",
    "characters": "characters",
    "x-weighted": "X weighted characters",
    "graphemes": "graphemes",
}
UNDERLINES = {
    "error": QTextCharFormat.UnderlineStyle.WaveUnderline,
    "warning": QTextCharFormat.UnderlineStyle.DashUnderline,
    "info": QTextCharFormat.UnderlineStyle.DotLine,
}
SEVERITY_STATES: dict[str, palette.State] = {"error": "bad", "warning": "warning", "info": "muted"}
SEVERITY_TINTS: dict[str, palette.Tint] = {"error": "bad", "warning": "warning", "info": "quiet"}


def counter_text(m: Measure) -> str:
    unit = UNITS.get(m.unit, m.unit)
    text = f"{m.length} / {m.limit} {unit}"
    if m.channel == Channel.SMS.value:
        text += f" · {m.segments} part{'s' if m.segments != 1 else ''} · {m.encoding.upper()}"
    if m.length > m.limit:
        text = f"✕ {text} · over by {m.length - m.limit}"
    elif m.segment_limit and m.segments > m.segment_limit:
        text = (
            f"✕ {text} · over by {m.segments - m.segment_limit} part{'s' if m.segments - m.segment_limit > 1 else ''}"
        )
    elif m.over:
        text = f"✕ {text} · {m.byte_length:,} bytes, over the limit of {m.byte_limit:,}"
    return text


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def qt_positions(text: str) -> list[int] | None:
    """Qt counts positions in UTF-16 units: an index into ``text`` moves by two past an astral character. None when
    the two agree (the usual case: no emoji)."""
    if not _ASTRAL.search(text):
        return None
    out, pos = [], 0
    for ch in text:
        out.append(pos)
        pos += 2 if ord(ch) > 0xFFFF else 1
    out.append(pos)
    return out


class Composer(QWidget):
    """Edits one message, one variant at a time.

    When a change is saved: each save is ``MessageService.edit``, which records a new version of the whole message
    in the tamper-evident log and voids every approval of the old one. Saving on every keystroke would write
    hundreds of versions for one sentence (and an approver would see a flood of them), so typing changes only the
    window: the count, the findings and the preview follow each keystroke, and the variant is marked unsaved. The
    change is saved when the person says so (Save, Ctrl+S), when they move to another variant (leaving a text is
    finishing it), and before Submit (what is submitted is what is on screen). Channels are applied with their own
    button for the same reason. A refused save keeps the text on screen, unsaved, with the reason.
    """

    submitted = Signal(str)

    def __init__(self, session: Session, message_id: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.message_id = message_id
        self.composition: Composition | None = None
        self.unsaved: dict[Key, str] = {}
        self.current: Key | None = None
        self.current_places: list[Place] = []
        self.current_findings: list[Finding] = []
        self.last_check_ms = 0.0  # how long the last keystroke's count, lint and marks took
        self._loading = False
        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_PAUSE_MS)
        self._preview_timer.timeout.connect(self._show_typed)
        self.setAccessibleName("Composer")
        self.setWindowTitle(f"Composer · {message_id}")

        outer = QVBoxLayout(self)
        self.band = ModeBand()
        outer.addWidget(self.band)
        self.about = plain("Reading the message…", name="Message")
        bold_font = self.about.font()
        bold_font.setBold(True)
        self.about.setFont(bold_font)
        outer.addWidget(self.about)
        self.notice = plain("", name="Notice")
        self.notice.hide()
        outer.addWidget(self.notice)
        # A message in conflict (sibling versions from several workstations): both shown, and the way to merge.
        self.siblings = SiblingVersions(session)
        self.siblings.merged.connect(lambda _view: self.reload())
        outer.addWidget(self.siblings)

        split = QSplitter(Qt.Orientation.Horizontal)
        split.setChildrenCollapsible(False)
        # Left: every variant, with its count and worst finding.
        self.variants = VariantsModel()
        self.variants_table = row_table(self.variants, (112, 36, 84, 90, 0), 4)
        self.variants_table.setAccessibleName("Texts by channel and language")
        self.variants_table.setMinimumWidth(410)
        self.variants_table.selectionModel().selectionChanged.connect(self._picked)
        split.addWidget(self.variants_table)

        split.addWidget(self._build_editor(bold_font))
        split.addWidget(self._build_side())
        split.setSizes([410, 470, 500])
        outer.addWidget(split, 1)

        bottom = QHBoxLayout()
        self.goes_to = plain("", name="Goes to")
        bottom.addWidget(self.goes_to, 1)
        self.submit_button = QPushButton("Submit for approval")
        self.submit_button.setAccessibleName("Submit for approval")
        self.submit_button.setToolTip(
            f"Save every text and send this version to an approver ({shortcuts.COMMANDS['submit'].text()})"
        )
        self.submit_button.clicked.connect(self.submit)
        submit_font = self.submit_button.font()
        submit_font.setBold(True)
        self.submit_button.setFont(submit_font)
        self.submit_button.setMinimumHeight(34)
        bottom.addWidget(self.submit_button)
        outer.addLayout(bottom)

        shortcuts.bind(self, "save", self.save_current)
        shortcuts.bind(self, "submit", self.submit)

        self._stale = False  # the database changed while this composer was hidden
        session.watcher.changed.connect(self._changed)
        self.reload()

    def _build_editor(self, bold_font: QFont) -> QWidget:
        """The middle: the text being edited, its count, its findings."""
        middle = QWidget()
        mid = QVBoxLayout(middle)
        mid.setContentsMargins(6, 0, 6, 0)
        head = QHBoxLayout()
        self.variant_title = plain("", name="Text being edited")
        big = self.variant_title.font()
        big.setBold(True)
        big.setPointSizeF(big.pointSizeF() * 1.2)
        self.variant_title.setFont(big)
        head.addWidget(self.variant_title, 1)
        mid.addLayout(head)
        self.counter = plain("", name="Length in the channel's unit", wrap=False, selectable=False)
        counter_font = QFont(bold_font)
        counter_font.setPointSizeF(counter_font.pointSizeF() * 1.15)
        self.counter.setFont(counter_font)
        mid.addWidget(self.counter)
        self.editor = QPlainTextEdit()
        self.editor.setAccessibleName("Text")
        self.editor.setTabChangesFocus(True)
        self.editor.textChanged.connect(self._typed)
        mid.addWidget(self.editor, 3)
        buttons = QHBoxLayout()
        self.save_button = QPushButton("Save text")
        self.save_button.setAccessibleName("Save this text")
        self.save_button.setToolTip(
            f"Save this text as a new version of the message ({shortcuts.COMMANDS['save'].text()})"
        )
        self.save_button.clicked.connect(self.save_current)
        self.revert_button = QPushButton("Undo changes")
        self.revert_button.setAccessibleName("Undo unsaved changes to this text")
        self.revert_button.setToolTip("Put back the text as last saved")
        self.revert_button.clicked.connect(self.revert)
        self.saved_state = caption("", name="Saved or not")
        buttons.addWidget(self.save_button)
        buttons.addWidget(self.revert_button)
        buttons.addWidget(self.saved_state, 1)
        mid.addLayout(buttons)
        self.findings = FindingsModel()
        self.findings_table = row_table(self.findings, (70, 90, 0), 2)
        self.findings_table.setAccessibleName("Findings in this text")
        # A finding's message is what to do: two lines a row, wrapped, rather than cut off.
        self.findings_table.setWordWrap(True)
        self.findings_table.verticalHeader().setDefaultSectionSize(2 * self.findings_table.fontMetrics().height() + 8)
        self.findings_table.clicked.connect(self._finding_clicked)
        self.findings_heading = caption("", name="Findings heading")
        mid.addWidget(self.findings_heading)
        mid.addWidget(self.findings_table, 2)
        return middle

    def _build_side(self) -> QWidget:
        """The right: how it lands, what changed, the CAP summary, the channels."""
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName("Preview, changes, CAP and channels")
        self.preview = PreviewPane()
        self.tabs.addTab(self.preview, "Preview")
        self.diff_view = QTextEdit()
        self.diff_view.setReadOnly(True)
        self.diff_view.setAccessibleName("Changes since the last published version")
        self.tabs.addTab(self.diff_view, "Changes")
        self.cap_tab = QWidget()
        self.cap_layout = QVBoxLayout(self.cap_tab)
        self.tabs.addTab(self.cap_tab, "CAP")
        channels = QWidget()
        ch = QVBoxLayout(channels)
        self.channels_about = plain("", name="Which channels are offered")
        ch.addWidget(self.channels_about)
        self.channel_list = QListWidget()
        self.channel_list.setAccessibleName("Channels to send to")
        self.channel_list.itemChanged.connect(lambda _: self._channels_edited())
        ch.addWidget(self.channel_list, 1)
        self.apply_channels_button = QPushButton("Use these channels")
        self.apply_channels_button.setAccessibleName("Use the ticked channels")
        self.apply_channels_button.setToolTip("Save the ticked channels as the message's targets (a new version)")
        self.apply_channels_button.clicked.connect(self.apply_channels)
        ch.addWidget(self.apply_channels_button)
        self.tabs.addTab(channels, "Channels")
        self.tabs.currentChanged.connect(lambda _: self._show_side())
        return self.tabs

    # -- reading ------------------------------------------------------------------------------------------------

    def _changed(self) -> None:
        # Hidden (the workspace shows something else after a submit), it reads again when shown: each reading
        # measures and lints every text on the GUI thread, for nobody to see.
        if self.isVisible():
            self.reload()
        else:
            self._stale = True

    def showEvent(self, event: QShowEvent) -> None:
        if self._stale:
            self._stale = False
            self.reload()
        super().showEvent(event)

    def reload(self) -> None:
        actor, message_id = self.session.actor, self.message_id
        self.session.tasks.run(
            lambda app: _composer(app).open(actor, message_id), self._loaded, self._not_loaded, owner=self
        )

    def _loaded(self, c: Composition) -> None:
        if self.composition is not None and not self.isVisible():
            self._stale = True  # hidden meanwhile: read again when shown
            return
        self._apply(c)

    def _not_loaded(self, error: CrisisdeskError) -> None:
        self.about.setText(f"{self.message_id} could not be read: {error}")
        self.editor.setReadOnly(True)

    def _apply(self, c: Composition) -> None:
        self.composition = c
        m = c.message
        for key in [k for k, text in self.unsaved.items() if text == self._saved_text(k)]:
            del self.unsaved[key]
        mode: palette.Mode = "exercise" if c.mode == "exercise" else "live"
        self.band.show_mode(mode, c.incident_title)
        word = mode.upper()
        self.setWindowTitle(f"{word} · Composer · {m.id} v{m.version}")
        self.about.setText(
            f"{word} · {m.type} {m.id} · version {m.version} · {m.state} · last written by {m.author}"
            f" · {c.incident_title}"
        )
        published = m.state == "published"
        conflict = m.state == "conflict"
        self.editor.setReadOnly(published or conflict)
        for button in (self.save_button, self.revert_button, self.submit_button, self.apply_channels_button):
            button.setEnabled(not published and not conflict)
        self.siblings.show_siblings(m)
        self._conflict_tooltips(conflict)
        if conflict:
            self._say(conflict_reason("edited or submitted"), "warning")
        elif published:
            self._say("This message is published: it cannot change. Draft an update or a correction.", "muted")
        elif m.state == "submitted":
            self._say("Submitted and waiting for approval. Saving a change makes a new version to approve.", "muted")
        elif m.state == "returned":
            comment = c.returned_comment
            self._say("Returned for changes" + (f": {comment}" if comment else "."), "warning")
        self._fill_channels(c)
        self._refresh_rows()
        if self.current is None or self.variants.find(*self.current) is None:
            first = self._first_key()
            if first is not None:
                self._select(first)  # shows its preview: drawing it twice was a third of a first opening
                return
        else:
            self._reselect()
            if self.current not in self.unsaved and self._editor_text() != self._saved_text(self.current):
                self._load_editor(self.current)
            self._check()
        self._show_side()

    def _conflict_tooltips(self, conflict: bool) -> None:
        """A disabled button says why (in a conflict) in its tooltip; otherwise its usual words."""
        self.submit_button.setToolTip(
            conflict_reason("submitted")
            if conflict
            else f"Save every text and send this version to an approver ({shortcuts.COMMANDS['submit'].text()})"
        )
        self.save_button.setToolTip(
            conflict_reason("edited")
            if conflict
            else f"Save this text as a new version of the message ({shortcuts.COMMANDS['save'].text()})"
        )

    def _first_key(self) -> Key | None:
        if not self.variants.rows:
            return None
        sent = [r for r in self.variants.rows if r.sent]
        row = (sent or self.variants.rows)[0]
        return row.channel, row.lang

    def _saved_text(self, key: Key) -> str:
        assert self.composition is not None
        return next((v.text for v in self.composition.message.variants if (v.channel, v.lang) == key), "")

    def _text_of(self, key: Key) -> str:
        return self.unsaved.get(key, self._saved_text(key))

    def _refresh_rows(self) -> None:
        c = self.composition
        if c is None:
            return
        sent = c.message.sent_texts
        rows = []
        for v in c.message.variants:
            key = (v.channel, v.lang)
            rows.append(self._row(key, self._text_of(key), sent))
        rows.sort(key=lambda r: (CHANNEL_ORDER.index(r.channel) if r.channel in CHANNEL_ORDER else 99, r.lang))
        self.variants.set_rows(rows)
        self._reselect()

    def _row(
        self, key: Key, text: str, sent: set[str], found: tuple[Measure, list[Finding]] | None = None
    ) -> VariantRow:
        m, findings = found or self._measure_and_lint(key, text)
        return VariantRow(
            channel=key[0],
            channel_name=channel_name(key[0]),
            lang=key[1],
            length=m.length,
            limit=m.limit,
            errors=sum(f.severity == "error" for f in findings),
            warnings=sum(f.severity == "warning" for f in findings),
            sent=key[0] in sent,
            unsaved=key in self.unsaved,
        )

    def _measure_and_lint(self, key: Key, text: str) -> tuple[Measure, list[Finding]]:
        """The count and the findings (``Composition.check``); a saved text's come with the reading."""
        assert self.composition is not None
        if text == self._saved_text(key) and key in self.composition.checks:
            return self.composition.checks[key]
        return self.composition.check(key[0], key[1], text)

    # -- choosing and typing ------------------------------------------------------------------------------------

    def _picked(self, selected: QItemSelection, _deselected: QItemSelection) -> None:
        rows = self.variants_table.selectionModel().selectedRows()
        if not rows or self._loading:
            return
        r = self.variants.row(rows[0].row())
        key = (r.channel, r.lang)
        if key != self.current:
            self._select(key)

    def select(self, channel: str, lang: str) -> None:
        """Edit the variant of ``channel`` in ``lang`` (saving the one being left, if it changed)."""
        self._select((channel, lang))

    def _select(self, key: Key) -> None:
        leaving = self.current
        if leaving is not None and leaving != key and leaving in self.unsaved:
            self.save(leaving)  # leaving a text is finishing it
        self.current = key
        self._reselect()
        self._load_editor(key)
        self._check()
        self._show_side()

    def _reselect(self) -> None:
        if self.current is None:
            return
        i = self.variants.find(*self.current)
        if i is None:
            return
        selection = self.variants_table.selectionModel()
        if [x.row() for x in selection.selectedRows()] != [i]:
            self._loading = True
            try:
                self.variants_table.selectRow(i)
            finally:
                self._loading = False

    def _load_editor(self, key: Key) -> None:
        text = self._text_of(key)
        self.variant_title.setText(f"{channel_name(key[0])} · {key[1]}")
        if self._editor_text() == text:
            return
        cursor = self.editor.textCursor().position()
        self._loading = True
        try:
            self.editor.setPlainText(text)
        finally:
            self._loading = False
        c = self.editor.textCursor()
        c.setPosition(min(cursor, len(self.editor.document().toRawText())))
        self.editor.setTextCursor(c)

    def _editor_text(self) -> str:
        # toPlainText turns a no-break space into a space, which would hide what lint must find.
        return self.editor.document().toRawText().replace("\u2029", "\n")

    def _typed(self) -> None:
        if self._loading or self.current is None or self.composition is None:
            return
        text = self._editor_text()
        if text == self._saved_text(self.current):
            self.unsaved.pop(self.current, None)
        else:
            self.unsaved[self.current] = text
        self._check()
        self._typed_preview()

    def _check(self) -> None:
        """Count, lint and mark the text in the editor; update its row in the list."""
        if self.current is None or self.composition is None:
            return
        started = time.perf_counter()
        key, text = self.current, self._editor_text()
        m, findings = self._measure_and_lint(key, text)
        found = places(text, key[0], key[1], findings, limit=m.limit)
        self.current_findings, self.current_places = findings, found
        self.counter.setText(counter_text(m))
        near = m.length >= 0.9 * m.limit
        self.counter.setStyleSheet(palette.text_style("bad" if m.over else "warning" if near else "ok"))
        first: dict[str, int] = {}
        for p in found:
            first.setdefault(p.code, p.start)
        self.findings.set_rows([FindingRow(f.code, f.severity, f.message, first.get(f.code)) for f in findings])
        self.findings_heading.setText(
            f"Findings: {len(findings)} (click one to go to it in the text)"
            if findings
            else "Findings: none, this text passes every check"
        )
        self._mark(text, found)
        i = self.variants.find(*key)
        if i is not None:
            row = self._row(key, text, self.composition.message.sent_texts, (m, findings))
            if self.variants.rows[i] != row:
                self.variants.rows[i] = row
                self.variants.dataChanged.emit(self.variants.index(i, 0), self.variants.index(i, 4))
        dirty = key in self.unsaved
        self.saved_state.setText("● unsaved: Save (Ctrl+S) makes a new version" if dirty else "saved")
        self.saved_state.setStyleSheet(palette.text_style("warning" if dirty else "muted", bold=dirty))
        self.last_check_ms = (time.perf_counter() - started) * 1000

    def _mark(self, text: str, found: list[Place]) -> None:
        """Each finding underlined where it sits: a wave for errors, dashes for warnings, dots for information
        (told apart without colour), on a tint of its severity."""
        positions = qt_positions(text)
        selections = []
        document = self.editor.document()
        formats: dict[tuple[str, str], QTextCharFormat] = {}
        for p in found:
            start, end = (positions[p.start], positions[p.end]) if positions else (p.start, p.end)
            fmt = formats.get((p.code, p.severity))
            if fmt is None:
                fmt = formats[p.code, p.severity] = QTextCharFormat()
                fmt.setUnderlineStyle(UNDERLINES.get(p.severity, QTextCharFormat.UnderlineStyle.SingleUnderline))
                fmt.setUnderlineColor(palette.state_colour(SEVERITY_STATES.get(p.severity, "muted")))
                fmt.setBackground(palette.row_tint(SEVERITY_TINTS.get(p.severity, "quiet")))
                fmt.setToolTip(f"{p.code} ({p.severity})")
            selection = QTextEdit.ExtraSelection()
            cursor = QTextCursor(document)
            cursor.setPosition(start)
            cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
            selection.cursor = cursor
            selection.format = fmt
            selections.append(selection)
        self.editor.setExtraSelections(selections)

    def _finding_clicked(self) -> None:
        rows = self.findings_table.selectionModel().selectedRows()
        if not rows:
            return
        start = self.findings.row(rows[0].row()).start
        if start is None:
            return
        positions = qt_positions(self._editor_text())
        cursor = self.editor.textCursor()
        cursor.setPosition(positions[start] if positions else start)
        self.editor.setTextCursor(cursor)
        self.editor.setFocus()

    # -- the side: preview, changes, CAP, channels ----------------------------------------------------------------

    def _show_side(self) -> None:
        widget = self.tabs.currentWidget()
        if widget is self.preview:
            self._show_preview()
        elif widget is self.diff_view:
            self._show_diff()
        elif widget is self.cap_tab:
            self._show_cap()

    def _preview_input(self) -> PreviewInput | None:
        c = self.composition
        if c is None or self.current is None:
            return None
        channel, lang = self.current
        texts = {v.channel: self._text_of((v.channel, v.lang)) for v in c.message.variants if v.lang == lang}
        texts[channel] = self._editor_text()
        ctx = c.lint.get(lang)
        sender = next((w for w in (ctx.who if ctx else ()) if w), "")
        carriers = [a.name for a in c.message.accounts if channel in a.spec.texts]
        return PreviewInput(channel, lang, texts, c.mode, sender, c.message.type, c.cap, carriers)

    def _typed_preview(self) -> None:
        """A short text's preview (or its changes, when that tab is open) follows each keystroke; a long one's waits
        for a pause in typing (drawing a hundred paragraphs takes longer than a keystroke may)."""
        if len(self._editor_text()) <= PREVIEW_AT_ONCE:
            self._preview_timer.stop()
            self._show_typed()
        else:
            self._preview_timer.start()

    def _show_typed(self) -> None:
        if self.tabs.currentWidget() is self.diff_view:
            self._preview_timer.stop()
            self._show_diff()
        else:
            self._show_preview()

    def _show_preview(self) -> None:
        self._preview_timer.stop()
        if self.tabs.currentWidget() is not self.preview:
            return
        found = self._preview_input()
        if found is not None:
            self.preview.show_preview(found)

    def _show_cap(self) -> None:
        found = self._preview_input()
        if found is None:
            return
        layout = self.cap_layout
        while layout.count():
            item = layout.takeAt(0)
            if item is not None and (w := item.widget()) is not None:
                w.deleteLater()
        layout.addWidget(cap_preview(found))

    def _show_diff(self) -> None:
        """The text on screen against the same text of the last published version, word by word: added words
        underlined, removed ones struck through (told apart without colour)."""
        c = self.composition
        self.diff_view.clear()
        if c is None or self.current is None:
            return
        change = c.diff.of(*self.current)
        cursor = self.diff_view.textCursor()
        heading = QTextCharFormat()
        heading.setFontWeight(700)
        name = f"{channel_name(self.current[0])} [{self.current[1]}]"
        if c.diff.base is None:
            cursor.insertText(f"Nothing is published on this incident yet: every text is new.\n\n{name}:\n", heading)
            cursor.insertText(self._editor_text())
            return
        base = "".join(x.text for x in change.changes if x.op != "added") if change else ""
        cursor.insertText(f"{name}: what changes against {c.diff.base} (as published)\n\n", heading)
        plain_format = QTextCharFormat()
        for x in word_diff(base, self._editor_text()):
            fmt = QTextCharFormat()
            if x.op == "added":
                fmt.setFontUnderline(True)
                fmt.setBackground(palette.row_tint("ok"))
                fmt.setForeground(palette.state_colour("ok"))
            elif x.op == "removed":
                fmt.setFontStrikeOut(True)
                fmt.setBackground(palette.row_tint("bad"))
                fmt.setForeground(palette.state_colour("bad"))
            else:
                fmt = plain_format
            cursor.insertText(x.text, fmt)  # plain text with a format: never parsed as rich text
        others = [f"{channel_name(v.channel)} [{v.lang}]" for v in c.diff.variants if v.changed]
        cursor.insertText("\n\nTexts that differ from the published version: ", heading)
        cursor.insertText(", ".join(others) or "none", plain_format)

    def _fill_channels(self, c: Composition) -> None:
        word = c.mode.upper()
        self.channels_about.setText(
            f"This is an {word} message: only {word} channels are offered."
            if c.mode == "exercise"
            else f"This is a {word} message: only {word} channels are offered; they reach the public."
        )
        chosen = set(c.message.targets)
        self.channel_list.blockSignals(True)
        self.channel_list.clear()
        for account in c.offered:
            item = QListWidgetItem(f"{account.name} · {account.kind.value} · {account.mode.upper()}")
            item.setData(Qt.ItemDataRole.UserRole, account.name)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if account.id in chosen else Qt.CheckState.Unchecked)
            self.channel_list.addItem(item)
        self.channel_list.blockSignals(False)
        self.apply_channels_button.setEnabled(False)
        names = [f"{a.name} ({a.kind.value}, {a.mode.upper()})" for a in c.message.accounts]
        self.goes_to.setText(f"{word} · goes to: " + (", ".join(names) or "no channel chosen"))
        self.goes_to.setStyleSheet(palette.text_style("exercise" if c.mode == "exercise" else "live"))

    def checked_channels(self) -> list[str]:
        items = [self.channel_list.item(i) for i in range(self.channel_list.count())]
        return [str(i.data(Qt.ItemDataRole.UserRole)) for i in items if i.checkState() == Qt.CheckState.Checked]

    def _channels_edited(self) -> None:
        c = self.composition
        if c is None or c.message.state in ("published", "conflict"):
            return
        chosen = {a.name for a in c.message.accounts}
        self.apply_channels_button.setEnabled(set(self.checked_channels()) != chosen)

    # -- writing ------------------------------------------------------------------------------------------------

    def save_current(self) -> None:
        self.save()

    def save(self, key: Key | None = None) -> None:
        """Save one variant's unsaved text (the one being edited by default) as a new version."""
        key = key or self.current
        if key is None or key not in self.unsaved:
            return
        text = self.unsaved[key]
        actor, message_id = self.session.actor, self.message_id

        def call(app: App) -> Composition:
            app.messages().edit(actor, message_id, key[0], key[1], text)
            return _composer(app).open(actor, message_id)

        self.session.tasks.run(call, lambda c: self._saved(key, text, c), self._refused, owner=self)

    def _saved(self, key: Key, text: str, c: Composition) -> None:
        if self.unsaved.get(key) == text:
            del self.unsaved[key]
        self._apply(c)
        self._say(f"Saved {channel_name(key[0])} [{key[1]}] as version {c.message.version}.", "ok")

    def revert(self) -> None:
        if self.current is None:
            return
        self.unsaved.pop(self.current, None)
        self._load_editor(self.current)
        self._check()
        self._show_side()

    def apply_channels(self) -> None:
        names = self.checked_channels()
        actor, message_id = self.session.actor, self.message_id

        def call(app: App) -> Composition:
            app.messages().set_targets(actor, message_id, names)
            return _composer(app).open(actor, message_id)

        def done(c: Composition) -> None:
            self._apply(c)
            self._say(f"Channels saved as version {c.message.version}.", "ok")

        self.session.tasks.run(call, done, self._refused, owner=self)

    def submit(self) -> None:
        """Save every unsaved text, then submit: what is submitted is what is on screen."""
        if self.composition is None or not self.submit_button.isEnabled():
            return
        pending = dict(self.unsaved)
        actor, message_id = self.session.actor, self.message_id

        def call(app: App) -> Composition:
            for (channel, lang), text in pending.items():
                app.messages().edit(actor, message_id, channel, lang, text)
            app.messages().submit(actor, message_id)
            return _composer(app).open(actor, message_id)

        def done(c: Composition) -> None:
            for key, text in pending.items():
                if self.unsaved.get(key) == text:
                    del self.unsaved[key]
            self._apply(c)
            self._say(f"Submitted version {c.message.version} for approval.", "ok")
            self.submitted.emit(message_id)

        def refused(error: CrisisdeskError) -> None:
            self._refused(error)
            self.reload()  # edits made before the refusal were saved: the texts that match are no longer unsaved

        def ready() -> None:
            c = self.composition
            self.submit_button.setEnabled(c is None or c.message.state not in ("published", "conflict"))

        self.submit_button.setEnabled(False)
        self.session.tasks.run(call, done, refused, on_done=ready, owner=self)

    def _refused(self, error: CrisisdeskError) -> None:
        self._say(f"Not done: {error}", "bad")

    def _say(self, text: str, state: palette.State) -> None:
        self.notice.setText(text)
        self.notice.setStyleSheet(palette.text_style(state))
        self.notice.show()

    def has_unsaved(self) -> bool:
        return bool(self.unsaved)


def _composer(app: App) -> ComposerService:
    return ComposerService(app.messages())
