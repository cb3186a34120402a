"""False alarm…: the pre-approved cancel and the public correction in every language as they would go out, the
messages they cancel and how long ago the wrong one went out; the person says what was wrong and submits. Then it
follows both to the correction confirmed on every channel, and shows (and records) the time that took.

The clock starts at the click on **False alarm…**: whoever opens this dialog from that click passes nothing (the
moment the dialog is made is the click) or ``clicked_at``. It is read from the services' clock, the one the log
uses, and recorded with the declaration; the end is the correction's last receipt in the log.
"""

from __future__ import annotations

from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.facts import language_name, zone
from crisisdesk.services.deliveries import DraftPreview, FalseAlarmPreview, FalseAlarmProgress, Step
from crisisdesk.ui import palette
from crisisdesk.ui.dialogs.publish import PublishDialog
from crisisdesk.ui.models.deliveries import STATE_WORDS, mode_words, span
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.chrome import ModeBand
from crisisdesk.ui.when import moment_text

LANGUAGES = {"en": "English", "es": "Español", "fr": "Français", "vi": "Tiếng Việt", "zh": "中文"}


def plain_label(name: str, *, bold: bool = False, scale: float = 1.0) -> QLabel:
    label = QLabel()
    label.setTextFormat(Qt.TextFormat.PlainText)  # texts and names typed by people: never rich text
    label.setWordWrap(True)
    label.setAccessibleName(name)
    if bold or scale != 1.0:
        font = label.font()
        font.setBold(bold)
        font.setPointSizeF(font.pointSizeF() * scale)
        label.setFont(font)
    return label


class DraftBox(QGroupBox):
    """One drafted message, a tab per language, each channel's text as it would go out."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(title, parent)
        self.setAccessibleName(title)
        layout = QVBoxLayout(self)
        self.tabs = QTabWidget()
        self.tabs.setAccessibleName(f"{title}: languages")
        layout.addWidget(self.tabs)
        self.texts: dict[str, QPlainTextEdit] = {}

    def show_draft(self, draft: DraftPreview) -> None:
        for lang, variants in draft.texts.items():
            box = self.texts.get(lang)
            if box is None:
                box = QPlainTextEdit()
                box.setReadOnly(True)
                box.setAccessibleName(f"{self.title()} in {LANGUAGES.get(lang, lang)}")
                self.texts[lang] = box
                self.tabs.addTab(box, LANGUAGES.get(lang, lang))
            text = "\n\n".join(f"── {channel} ──\n{body.strip()}" for channel, body in variants)
            if box.toPlainText() != text:
                box.setPlainText(text)


class FalseAlarmDialog(QDialog):
    def __init__(
        self,
        session: Session,
        incident_id: str,
        parent: QWidget | None = None,
        *,
        clicked_at: datetime | None = None,
    ) -> None:
        super().__init__(parent)
        # The clock starts now: this dialog is made by the click on False alarm….
        self.clicked_at = clicked_at or session.core.clock.now()
        self.session = session
        self.incident_id = incident_id
        self.preview: FalseAlarmPreview | None = None
        self.progress: FalseAlarmProgress | None = None
        self.publish_dialog: PublishDialog | None = None  # the Publish… opened from here, while it is open
        self._asked = 0  # previews asked for; a late answer to an older one is dropped
        self.setWindowTitle(f"False alarm on {incident_id}")
        self.setAccessibleName("False alarm")
        self.setModal(False)
        self.resize(1100, 760)

        layout = QVBoxLayout(self)
        self.band = ModeBand()
        layout.addWidget(self.band)
        self.heading = plain_label("Incident", bold=True, scale=1.25)
        self.heading.setText(f"False alarm on {incident_id}")
        layout.addWidget(self.heading)
        self.since = plain_label("Since the wrong message went out", bold=True)
        self.since.setStyleSheet(palette.text_style("bad"))
        layout.addWidget(self.since)
        self.references = plain_label("Messages the cancel and the correction refer to")
        layout.addWidget(self.references)

        said = QLabel("What was &wrong? The public correction says this (in the playbook's first language):")
        said.setTextFormat(Qt.TextFormat.PlainText)
        self.fact = QLineEdit()
        self.fact.setAccessibleName("What was wrong")
        self.fact.setPlaceholderText("for example: the warning was for Elm Creek, not Mill Creek")
        self.fact.setMaxLength(300)
        said.setBuddy(self.fact)
        self.fact.textChanged.connect(self._fact_changed)
        layout.addWidget(said)
        layout.addWidget(self.fact)
        # The playbook's other languages each say it anew (a Spanish correction must not read the English words);
        # made when the preview says which languages there are.
        self.translations: dict[str, QLineEdit] = {}
        self._translations_at = layout.count()
        self.translation_problem = plain_label("Missing translation")
        self.translation_problem.setStyleSheet(palette.text_style("warning"))
        self.translation_problem.hide()
        layout.addWidget(self.translation_problem)

        drafts = QHBoxLayout()
        self.cancel_box = DraftBox("Pre-approved cancel")
        self.correction_box = DraftBox("Public correction")
        drafts.addWidget(self.cancel_box)
        drafts.addWidget(self.correction_box)
        layout.addLayout(drafts, 1)
        self.channels = plain_label("Channels")
        self.policy = plain_label("Approval")
        layout.addWidget(self.channels)
        layout.addWidget(self.policy)

        self.status = plain_label("Progress")
        self.status.hide()
        layout.addWidget(self.status)
        self.elapsed = plain_label("Time to correction", bold=True, scale=1.2)
        self.elapsed.hide()
        layout.addWidget(self.elapsed)
        self.problem = plain_label("Problem")
        self.problem.setStyleSheet(palette.text_style("bad"))
        self.problem.hide()
        layout.addWidget(self.problem)

        buttons = QHBoxLayout()
        self.submit_button = QPushButton("Submit cancel and correction for approval")
        self.submit_button.setAccessibleName("Submit the cancel and the correction")
        self.submit_button.clicked.connect(self.submit)
        self.publish_cancel = QPushButton("Publish cancel…")
        self.publish_cancel.setAccessibleName("Publish the cancel")
        self.publish_cancel.clicked.connect(lambda: self._publish("cancel"))
        self.publish_correction = QPushButton("Publish correction…")
        self.publish_correction.setAccessibleName("Publish the correction")
        self.publish_correction.clicked.connect(lambda: self._publish("correction"))
        self.close_button = QPushButton("Close")
        self.close_button.setAccessibleName("Close the false alarm dialog")
        self.close_button.clicked.connect(self.close)
        for b in (self.submit_button, self.publish_cancel, self.publish_correction, self.close_button):
            b.setAutoDefault(False)  # Enter in the field never submits by itself
            buttons.addWidget(b)
        buttons.insertStretch(1, 1)
        layout.addLayout(buttons)
        self.submit_button.setEnabled(False)
        self.publish_cancel.hide()
        self.publish_correction.hide()

        session.watcher.changed.connect(self._refresh)
        session.watcher.tick.connect(self._refresh)
        self._load()

    # -- before submitting ------------------------------------------------------------------------------------

    def _load(self) -> None:
        actor, incident = self.session.actor, self.incident_id
        self.session.tasks.run(
            lambda app: app.deliveries().false_alarm_progress(actor, incident),
            self._found_progress,
            self._refused,
            owner=self,
        )

    def _found_progress(self, progress: FalseAlarmProgress | None) -> None:
        if progress is not None and not progress.recorded:
            # A false alarm on this incident is under way: follow it (its clock started at its own click).
            self.clicked_at = progress.clicked_at
            self._show_progress(progress)
        self._render()

    def _fact_changed(self, _: str) -> None:
        self._enable_submit()
        if self.progress is None:
            self._render()

    def _render(self) -> None:
        self._asked += 1
        asked, actor, incident, text = self._asked, self.session.actor, self.incident_id, self.fact.text()
        translations = self._translated()

        def show(preview: FalseAlarmPreview) -> None:
            if asked == self._asked:
                self._show_preview(preview)

        self.session.tasks.run(
            lambda app: app.deliveries().false_alarm_preview(actor, incident, text, translations),
            show,
            self._refused,
            owner=self,
        )

    def _translated(self) -> dict[str, str]:
        return {lang: field.text().strip() for lang, field in self.translations.items() if field.text().strip()}

    def _add_translation_fields(self, preview: FalseAlarmPreview) -> None:
        layout = self.layout()
        assert isinstance(layout, QVBoxLayout)
        at = self._translations_at
        for lang in preview.other_languages:
            if lang in self.translations:
                continue
            label = QLabel(f"… in {language_name(lang)} ({lang}), for the {language_name(lang)} correction:")
            label.setTextFormat(Qt.TextFormat.PlainText)
            field = QLineEdit()
            field.setAccessibleName(f"What was wrong, in {language_name(lang)}")
            field.setMaxLength(300)
            field.setText(preview.correction_translations.get(lang, ""))
            field.textChanged.connect(self._fact_changed)
            label.setBuddy(field)
            layout.insertWidget(at, label)
            layout.insertWidget(at + 1, field)
            at += 2
            self.translations[lang] = field
        self._translations_at = at

    def _show_preview(self, preview: FalseAlarmPreview) -> None:
        self.preview = preview
        mode: palette.Mode = "exercise" if preview.mode == "exercise" else "live"
        tz = zone(preview.timezone)
        self.band.show_mode(mode, preview.incident_title)
        self.setWindowTitle(f"False alarm · {mode.upper()} · {preview.incident_title}")
        self.heading.setText(f"{mode_words(mode)}  ·  False alarm on {preview.incident_title}")
        if not self.fact.text() and preview.correction_fact and self.progress is None:
            self.fact.setText(preview.correction_fact)
        self._add_translation_fields(preview)
        missing = [language_name(lang) for lang, f in self.translations.items() if not f.text().strip()]
        self.translation_problem.setText(
            f"Not said in {', '.join(missing)} yet: that correction would show the English words."
        )
        self.translation_problem.setVisible(bool(missing) and self.progress is None)
        self._show_since()
        self.references.setText(
            "It cancels and corrects:\n"
            + "\n".join(
                f"  • {r.message_id} ({r.type} v{r.version}), sent "
                f"{moment_text(r.published_at, tz, now=self.clicked_at)}: “{_first_line(r.text)}”"
                for r in preview.references
            )
            if preview.references
            else "Nothing unexpired has been published on this incident: there is nothing to cancel."
        )
        self.cancel_box.show_draft(preview.cancel)
        self.correction_box.show_draft(preview.correction)
        reach = "exercise channels only" if mode == "exercise" else "the public"
        self.channels.setText(f"Goes to ({reach}): " + (", ".join(preview.channels) or "no channel of this mode"))
        who = " or ".join(preview.approver_roles)
        self.policy.setText(
            f"Approval: one {who} who wrote neither may approve each; the playbook allows a single approver "
            "for a false alarm. Then publish each."
            if preview.single_approver
            else f"Approval: {preview.approvers_needed} people with the {who} role must approve each, as for any "
            "message (the playbook does not allow a single approver for a false alarm). Then publish each."
        )
        self._enable_submit()

    def _show_since(self) -> None:
        preview = self.preview
        if preview is None or preview.first_sent is None:
            self.since.setText("")
            return
        tz = zone(preview.timezone)
        now = self.session.core.clock.now()
        self.since.setText(
            f"The wrong message went out {span((now - preview.first_sent).total_seconds())} ago "
            f"({moment_text(preview.first_sent, tz, now=self.clicked_at)})."
        )

    def _enable_submit(self) -> None:
        ready = bool(self.preview and self.preview.references and self.fact.text().strip())
        self.submit_button.setEnabled(ready and self.progress is None)
        self.submit_button.setToolTip(
            "Drafts and submits both; approval and publish follow the playbook" if ready else "Say what was wrong first"
        )

    def submit(self) -> None:
        actor, incident, text, clicked = self.session.actor, self.incident_id, self.fact.text().strip(), self.clicked_at
        translations = self._translated()
        self.submit_button.setEnabled(False)
        self.problem.hide()
        self.session.tasks.run(
            lambda app: app.deliveries().declare_false_alarm(
                actor, incident, text, clicked_at=clicked, translations=translations
            ),
            self._show_progress,
            self._refused,
            on_done=self._enable_submit,
            owner=self,
        )

    # -- after submitting -------------------------------------------------------------------------------------

    def _refresh(self) -> None:
        self._show_since()
        if self.progress is None:
            return
        actor, incident = self.session.actor, self.incident_id

        def track(app: App) -> FalseAlarmProgress | None:
            return app.deliveries().record_false_alarm_time(actor, incident)

        self.session.tasks.run(track, self._show_progress, self._refused, owner=self)

    def _show_progress(self, progress: FalseAlarmProgress | None) -> None:
        if progress is None:
            return
        self.progress = progress
        self.fact.setReadOnly(True)
        for field in self.translations.values():
            field.setReadOnly(True)
        self.translation_problem.hide()
        tz = zone(self.preview.timezone if self.preview else "UTC")
        lines = [
            f"Declared at {moment_text(progress.declared_at, tz, now=self.clicked_at, seconds=True)} by clicking at "
            f"{moment_text(progress.clicked_at, tz, now=self.clicked_at, seconds=True)}."
        ]
        lines += [_step_words(s) for s in (progress.cancel, progress.correction)]
        if progress.deliveries:
            lines.append(
                "Correction deliveries: "
                + "; ".join(f"{r.account} ({r.kind}): {STATE_WORDS.get(r.state, r.state)}" for r in progress.deliveries)
            )
        self.status.setText("\n".join(lines))
        self.status.show()
        # A wrapped label's height is not asked of it when the dialog is full: keep every line of progress readable.
        self.status.setMinimumHeight(self.status.fontMetrics().lineSpacing() * (len(lines) + 1))
        took = span(progress.elapsed.total_seconds())
        if progress.confirmed_at is not None:
            self.elapsed.setText(
                f"✔ Correction confirmed on every channel {took} after False alarm… was clicked"
                + (" (recorded in the audit log)." if progress.recorded else ".")
            )
            self.elapsed.setStyleSheet(palette.text_style("ok"))
        else:
            self.elapsed.setText(f"⏱ {took} since False alarm… was clicked; the correction is not confirmed yet.")
            self.elapsed.setStyleSheet(palette.text_style("warning"))
        self.elapsed.show()
        for button, step in ((self.publish_cancel, progress.cancel), (self.publish_correction, progress.correction)):
            button.setVisible(step.state != "published")
            button.setEnabled(step.approval.startswith("approved"))
        self._enable_submit()
        if progress.confirmed_at is not None and not progress.recorded:
            self._refresh()  # record it now

    def _publish(self, which: str) -> None:
        progress = self.progress
        if progress is None:
            return
        step = progress.cancel if which == "cancel" else progress.correction
        # Kept and parented: a dialog held only by a local name is deleted with it, before anyone can type the phrase.
        dialog = PublishDialog(self.session, step.message_id, parent=self)
        dialog.finished.connect(lambda _: self._refresh())
        self.publish_dialog = dialog
        dialog.open()

    def _say(self, text: str) -> None:
        self.problem.setText(text)
        self.problem.show()

    def _refused(self, error: CrisisdeskError) -> None:
        self._say(str(error))


def _first_line(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    return line if len(line) <= 160 else line[:159] + "…"


def _step_words(step: Step) -> str:
    return f"{step.type.capitalize()} {step.message_id}: {step.approval}."
