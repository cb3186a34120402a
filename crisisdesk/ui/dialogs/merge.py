"""Merge…: end a message's conflict by keeping one sibling version, or one with a text the person edits.

The merge is ``MessageService.merge`` through the task helper: a new version that names every sibling it replaces
(so every workstation sees the conflict ended) and, like any new version, needs approval again. The service
decides (who may write on the incident, which sibling the hash names); its refusal is shown here in its words.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.services.messages import MessageView
from crisisdesk.ui import palette, when
from crisisdesk.ui.session import Session
from crisisdesk.ui.views.siblings import SHORT_HASH, differing, sibling_title


def _label(name: str, text: str = "") -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setWordWrap(True)
    label.setAccessibleName(name)
    return label


def variant_key(channel: str, lang: str) -> str:
    """A variant as the choice's data (a channel name holds no space)."""
    return f"{channel} {lang}"


class MergeDialog(QDialog):
    """``merged(view)`` once the service recorded the merged version."""

    merged = Signal(object)

    def __init__(self, session: Session, view: MessageView, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.view = view
        self.siblings: list[dict[str, Any]] = sorted(view.siblings, key=lambda s: (s["version"], s["at"], s["hash"]))
        self.differ = differing(self.siblings)
        self.setWindowTitle(f"Merge the sibling versions of {view.id}")
        self.setAccessibleName(f"Merge the sibling versions of {view.id}")
        self.setMinimumWidth(620)
        layout = QVBoxLayout(self)
        layout.addWidget(
            _label(
                "What merging does",
                f"{view.id} has {len(self.siblings)} sibling versions. Keep one of them as it is, or keep one and "
                "put in a text you edit. The merge is a new version: it needs approval again.",
            )
        )
        self.choice = QButtonGroup(self)
        self.keep_buttons: list[QRadioButton] = []
        for i, s in enumerate(self.siblings):
            button = QRadioButton(
                f"Keep {sibling_title(s)} · {when.moment_text(s['at'])} · hash {s['hash'][:SHORT_HASH]}…"
            )
            button.setAccessibleName(f"Keep {sibling_title(s)}")
            button.setToolTip(s["hash"])
            self.choice.addButton(button, i)
            self.keep_buttons.append(button)
            layout.addWidget(button)
        if self.keep_buttons:
            self.keep_buttons[0].setChecked(True)
        self.edit_box = QCheckBox("…and replace one of its texts with this one:")
        self.edit_box.setAccessibleName("Replace one text of the kept version")
        layout.addWidget(self.edit_box)
        self.variant = QComboBox()
        self.variant.setAccessibleName("Which text to replace (channel and language)")
        layout.addWidget(self.variant)
        self.text = QPlainTextEdit()
        self.text.setAccessibleName("Merged text")
        self.text.setMinimumHeight(140)
        layout.addWidget(self.text, 1)
        self.outcome = _label("Result")
        self.outcome.hide()
        layout.addWidget(self.outcome)
        buttons = QDialogButtonBox()
        self.merge_button = QPushButton("Merge")
        self.merge_button.setAccessibleName("Record the merged version")
        self.merge_button.setDefault(True)
        buttons.addButton(self.merge_button, QDialogButtonBox.ButtonRole.AcceptRole)
        cancel = buttons.addButton(QDialogButtonBox.StandardButton.Cancel)
        cancel.setAccessibleName("Cancel the merge")
        self.merge_button.clicked.connect(self.merge)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

        self.choice.idToggled.connect(self._toggled)
        self.variant.currentIndexChanged.connect(lambda _: self._fill_text())
        self.edit_box.toggled.connect(self._editing)
        self._kept_changed()
        self._editing(False)

    def _toggled(self, _id: int, on: bool) -> None:
        if on:
            self._kept_changed()

    def kept(self) -> dict[str, Any]:
        return self.siblings[max(0, self.choice.checkedId())]

    def _kept_changed(self) -> None:
        s = self.kept()
        current = self.variant.currentData()
        self.variant.blockSignals(True)
        self.variant.clear()
        # The texts the siblings disagree on first (the ones a merge is about), marked in words.
        for v in sorted(
            s["variants"], key=lambda v: ((v["channel"], v["lang"]) not in self.differ, v["channel"], v["lang"])
        ):
            differs = (v["channel"], v["lang"]) in self.differ
            words = (
                f"≠ {v['channel']} · {v['lang']} (differs between the siblings)"
                if differs
                else f"{v['channel']} · {v['lang']}"
            )
            self.variant.addItem(words, variant_key(v["channel"], v["lang"]))
        if current is not None:
            i = self.variant.findData(current)
            if i >= 0:
                self.variant.setCurrentIndex(i)
        self.variant.blockSignals(False)
        self._fill_text()

    def _fill_text(self) -> None:
        key = self.variant.currentData()
        s = self.kept()
        found = next((v["text"] for v in s["variants"] if variant_key(v["channel"], v["lang"]) == key), "")
        self.text.setPlainText(found)

    def _editing(self, on: bool) -> None:
        self.variant.setEnabled(on)
        self.text.setReadOnly(not on)

    def merge(self) -> None:
        s = self.kept()
        actor, message_id, keep = self.session.actor, self.view.id, str(s["hash"])
        channel = lang = text = None
        if self.edit_box.isChecked():
            channel, lang = str(self.variant.currentData()).split(" ", 1)
            text = self.text.toPlainText()

        def call(app: App) -> MessageView:
            return app.messages().merge(actor, message_id, keep, channel=channel, lang=lang, text=text)

        self.merge_button.setEnabled(False)
        self.session.tasks.run(
            call, self._merged, self._refused, on_done=lambda: self.merge_button.setEnabled(True), owner=self
        )

    def _merged(self, view: MessageView) -> None:
        self.merged.emit(view)
        self.accept()

    def _refused(self, error: CrisisdeskError) -> None:
        self.outcome.setText(f"✖ Not merged: {error}")
        self.outcome.setStyleSheet(palette.text_style("bad"))
        self.outcome.show()
