"""Publish…: what goes where (text per channel, channels with their mode, area, audience, expiry), then the confirm
phrase the service states, typed by the person.

LIVE and EXERCISE read and look different: the band (solid red ``● LIVE`` or striped violet ``▨ EXERCISE``), the
title, the words on the button and the phrase itself (``PUBLISH LIVE …`` against ``SEND EXERCISE …``). Break glass
(``break_glass=True``) is for approvers only: a dashed warning banner, a required reason, its own button words; the
publish is recorded as break glass and shows in the audit.

The summary and phrase come from ``ReviewService.publish_preview`` (a question, nothing recorded); the publish is
``MessageService.publish`` through the task helper, which decides again from the log; its refusal is shown here.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFont
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.services.messages import ConfirmationNeeded, MessageView
from crisisdesk.services.review import PublishPreview
from crisisdesk.ui import palette
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.chrome import ModeBand
from crisisdesk.ui.views.exact_text import ExactText, senders
from crisisdesk.ui.views.previews import cap_moment


def _label(name: str, text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    return label


def what_it_means(mode: str, break_glass: bool) -> str:
    if mode == "exercise":
        text = (
            "EXERCISE: these texts go to exercise channels only; nothing reaches the public. They carry the "
            "exercise marker and CAP status Exercise."
        )
    else:
        text = (
            "LIVE: these texts go to the public on every channel below as soon as you confirm. Email and SMS "
            "cannot be taken back once delivered."
        )
    if break_glass:
        text += " Break glass skips the second person's approval."
    return text


def button_words(mode: str, break_glass: bool, channels: int) -> str:
    plural = "s" if channels != 1 else ""
    if break_glass:
        return f"⚠ Break glass: {'send EXERCISE' if mode == 'exercise' else 'publish LIVE'} alone"
    if mode == "exercise":
        return f"▨ Send EXERCISE to {channels} exercise channel{plural}"
    return f"● Publish LIVE to {channels} channel{plural}"


class PublishDialog(QDialog):
    """``published(message_id)`` once the service recorded the publish (the outbox rows are queued)."""

    published = Signal(str)

    def __init__(
        self, session: Session, message_id: str, break_glass: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.session = session
        self.message_id = message_id
        self.break_glass = break_glass
        self.preview: PublishPreview | None = None
        self.outcome: MessageView | None = None
        self._busy = False
        self.setModal(True)
        self.setAccessibleName("Break glass" if break_glass else "Publish")
        self.setWindowTitle(("Break glass: " if break_glass else "Publish ") + message_id)
        self.resize(780, 720)

        layout = QVBoxLayout(self)
        self.band = ModeBand()
        self.band.label.setAccessibleName("Mode")
        layout.addWidget(self.band)
        self.glass = _label("Break glass warning")
        if break_glass:
            colour = palette.state_colour("warning").name()
            self.glass.setText(
                "⚠ BREAK GLASS ⚠  You publish alone, without a second person's approval. Your name and reason "
                "are recorded, marked as break glass, and shown in the audit log and the after-action report."
            )
            self.glass.setStyleSheet(
                f"{palette.text_style('warning')} border: 3px dashed {colour}; padding: 8px; font-size: 110%;"
            )
        self.glass.setVisible(break_glass)
        layout.addWidget(self.glass)

        self.heading = _label("What is published")
        font = self.heading.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.25)
        self.heading.setFont(font)
        self.heading.setText(f"Reading what {message_id} would publish…")
        layout.addWidget(self.heading)
        self.meaning = _label("What publishing means")
        layout.addWidget(self.meaning)

        form = QFormLayout()
        self.channels = _label("Channels and their modes")
        self.area = _label("Area")
        self.audience = _label("Audience")
        self.expires = _label("Expires")
        self.hash = _label("Content hash")
        self.approvals = _label("Approved by")
        form.addRow("Channels", self.channels)
        form.addRow("Area", self.area)
        form.addRow("Audience", self.audience)
        form.addRow("Expires", self.expires)
        form.addRow("Hash", self.hash)
        form.addRow("Approval", self.approvals)
        layout.addLayout(form)

        self.texts = ExactText("Text per channel, exactly as it goes out")
        layout.addWidget(self.texts, 1)
        self.blocked = _label("Why it cannot be published now")
        self.blocked.setStyleSheet(palette.text_style("bad"))
        self.blocked.hide()
        layout.addWidget(self.blocked)

        layout.addLayout(self._build_confirm(break_glass))

        self.result_label = _label("Result")
        self.result_label.hide()
        layout.addWidget(self.result_label)

        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setAccessibleName("Cancel: publish nothing")
        self.cancel_button.clicked.connect(self.reject)
        self.publish_button = QPushButton("Publish")
        self.publish_button.setAccessibleName("Publish")
        self.publish_button.clicked.connect(self.publish)
        # Neither is a default: Enter in the phrase field neither publishes nor throws the phrase away.
        for button in (self.cancel_button, self.publish_button):
            button.setAutoDefault(False)
            button.setDefault(False)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.publish_button)
        layout.addLayout(buttons)
        self._enable()
        self.load()

    def _build_confirm(self, break_glass: bool) -> QFormLayout:
        confirm = QFormLayout()
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason for breaking glass")
        self.reason.setPlaceholderText("Why this cannot wait for a second person (required)")
        self.reason.textChanged.connect(self._enable)
        self.reason_label = QLabel("Reason")
        if break_glass:
            confirm.addRow(self.reason_label, self.reason)
        else:
            self.reason.hide()
            self.reason_label.hide()
        self.phrase_label = _label("The phrase to type")
        phrase_font = QFont("monospace")
        phrase_font.setStyleHint(QFont.StyleHint.Monospace)
        phrase_font.setBold(True)
        self.phrase_label.setFont(phrase_font)
        self.phrase = QLineEdit()
        self.phrase.setAccessibleName("Confirm phrase")
        self.phrase.setFont(phrase_font)
        self.phrase.textChanged.connect(self._enable)
        confirm.addRow("Type exactly", self.phrase_label)
        confirm.addRow("Confirm", self.phrase)
        return confirm

    # -- reading --------------------------------------------------------------------------------------------------

    def load(self) -> None:
        actor, message_id = self.session.actor, self.message_id
        self.session.tasks.run(
            lambda app: app.review().publish_preview(actor, message_id), self._show, self._not_loaded, owner=self
        )

    def _not_loaded(self, error: CrisisdeskError) -> None:
        self.heading.setText(f"{self.message_id} cannot be shown")
        self.show_result(f"✖ {error}", "bad")

    def _show(self, preview: PublishPreview) -> None:
        self.preview = preview
        view, mode = preview.message, preview.mode
        self.band.show_mode("exercise" if mode == "exercise" else "live", preview.incident_title)
        if self.break_glass:
            verb = "Break glass: send EXERCISE" if mode == "exercise" else "Break glass: publish LIVE"
        else:
            verb = "Send EXERCISE" if mode == "exercise" else "Publish LIVE"
        self.heading.setText(f"{verb} {view.id} v{view.version} · {view.type} · {preview.incident_title}")
        self.setWindowTitle(f"{verb} {view.id} · {mode.upper()} · {preview.incident_title}")
        self.meaning.setText(what_it_means(mode, self.break_glass))
        self.meaning.setStyleSheet(palette.text_style("exercise" if mode == "exercise" else "live"))
        self.channels.setText(
            "\n".join(f"{c.name} ({c.kind}, {c.mode.upper()})" for c in preview.channels) or "none chosen"
        )
        self.area.setText(preview.area)
        self.audience.setText(preview.audience)
        shown, written = cap_moment(preview.expires)
        self.expires.setText(shown or preview.expires)
        self.expires.setToolTip(written)
        self.hash.setText(view.content_hash)
        self.approvals.setText(view.verdict.reason)
        self.texts.show_variants(preview.texts, senders(view.accounts))
        blocked = preview.break_glass_blocked if self.break_glass else preview.blocked
        self.blocked.setText(f"✖ Cannot be published now: {blocked}" if blocked else "")
        self.blocked.setVisible(bool(blocked))
        self.phrase_label.setText(preview.phrase)
        self.phrase.setPlaceholderText("type the phrase above, exactly")
        background, foreground = palette.band_colours("exercise" if mode == "exercise" else "live")
        self.publish_button.setText(button_words(mode, self.break_glass, len(preview.channels)))
        self.publish_button.setAccessibleName(self.publish_button.text())
        border = "3px dashed" if mode == "exercise" or self.break_glass else "2px solid"
        self.publish_button.setStyleSheet(
            f"QPushButton {{ background: {background.name()}; color: {foreground.name()}; font-weight: bold;"
            f" border: {border} {foreground.name()}; padding: 6px 14px; }}"
            " QPushButton:disabled { background: palette(button); color: palette(mid); }"
        )
        self._enable()

    # -- acting ---------------------------------------------------------------------------------------------------

    def _enable(self) -> None:
        p = self.preview
        blocked = p is None or bool(p.break_glass_blocked if self.break_glass else p.blocked)
        typed = bool(self.phrase.text().strip())
        reason = not self.break_glass or bool(self.reason.text().strip())
        done = self.outcome is not None
        self.publish_button.setEnabled(not blocked and typed and reason and not self._busy and not done)
        self.phrase.setEnabled(not done)
        self.reason.setEnabled(not done)
        if self.break_glass and not reason and p is not None and not blocked:
            self.publish_button.setToolTip("Give a reason first: break glass is recorded with it")
        else:
            self.publish_button.setToolTip("")

    def publish(self) -> None:
        if self.preview is None:
            return
        actor, message_id = self.session.actor, self.message_id
        typed, glass = self.phrase.text(), self.break_glass
        reason = self.reason.text().strip() if glass else None
        self._busy = True
        self.result_label.hide()
        self._enable()
        self.session.tasks.run(
            lambda app: app.messages().publish(actor, message_id, confirm=typed, break_glass=glass, reason=reason),
            self._published,
            self._refused,
            on_done=self._finish,
            owner=self,
        )

    def _finish(self) -> None:
        self._busy = False
        self._enable()

    def _published(self, view: MessageView) -> None:
        self.outcome = view
        rows = len(self.preview.channels) if self.preview else 0
        if view.mode == "exercise":
            text = f"✔ Sent EXERCISE {view.id} v{view.version} to {rows} exercise channel(s)."
        else:
            text = f"✔ Published LIVE {view.id} v{view.version} to {rows} channel(s)."
        self.show_result(text + " The Outbox shows each delivery as the channel confirms it.", "ok")
        self.publish_button.hide()
        self.cancel_button.setText("Close")
        self.cancel_button.setAccessibleName("Close")
        self.published.emit(view.id)

    def _refused(self, error: CrisisdeskError) -> None:
        if isinstance(error, ConfirmationNeeded):
            self.show_result(f"✖ That is not the phrase; nothing was published. Type exactly: {error.phrase}", "bad")
            self.phrase.selectAll()
            self.phrase.setFocus()
        else:
            self.show_result(f"✖ Not published: {error}", "bad")

    def show_result(self, text: str, state: palette.State) -> None:
        self.result_label.setText(text)
        self.result_label.setStyleSheet(palette.text_style(state))
        self.result_label.show()
