"""A message in conflict: its sibling versions side by side, and the way out (Merge…).

Two workstations that edited the same version while apart both made "the next version"; both are kept and the
message is in state ``conflict`` until a person merges them (``MessageService.merge``): nothing is submitted,
approved or published meanwhile (which text would it be?). The composer and the Approvals place show this panel
in place of their usual actions' promise:

    panel = SiblingVersions(session)
    panel.show_siblings(view)            # a MessageView in conflict (hidden otherwise)
    panel.merged.connect(reload)         # after the merge was recorded

Each column is one sibling: its version, author, workstation and time, its hash, and every text, with the texts
that differ between the siblings first, marked "≠ ... differs" (in words, not colour alone), and the texts they
share only named.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFrame,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.services.messages import MessageView
from crisisdesk.ui import palette, when
from crisisdesk.ui.session import Session

SHORT_HASH = 12
REASON = "it has sibling versions edited at the same time on different workstations: merge them first (Merge…)"


def conflict_reason(what: str) -> str:
    """The one line a disabled button says, in the service's terms."""
    return f"Cannot be {what}: {REASON}"


def sibling_title(s: dict[str, Any]) -> str:
    return f"v{s['version']} by {s['author']} on {s.get('workstation_name') or s.get('workstation') or '?'}"


def differing(siblings: list[dict[str, Any]]) -> set[tuple[str, str]]:
    """The (channel, language) texts that are not the same in every sibling."""
    texts: dict[tuple[str, str], set[str | None]] = {}
    keys = {(v["channel"], v["lang"]) for s in siblings for v in s["variants"]}
    for key in keys:
        for s in siblings:
            found = next((v["text"] for v in s["variants"] if (v["channel"], v["lang"]) == key), None)
            texts.setdefault(key, set()).add(found)
    return {k for k, found in texts.items() if len(found) > 1}


class SiblingVersions(QFrame):
    """Hidden unless the message shown is in conflict."""

    merged = Signal(object)  # the MessageView after the merge

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.view: MessageView | None = None
        self.dialog: QWidget | None = None
        self.setObjectName("siblingVersions")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setAccessibleName("Sibling versions")
        warning = palette.state_colour("warning")
        self.setStyleSheet(f"QFrame#siblingVersions {{ border: 2px dashed {warning.name()}; }}")
        outer = QVBoxLayout(self)
        head = QHBoxLayout()
        self.heading = QLabel()
        self.heading.setTextFormat(Qt.TextFormat.PlainText)
        self.heading.setWordWrap(True)
        self.heading.setAccessibleName("Why this message is in conflict")
        self.heading.setStyleSheet(palette.text_style("warning"))
        head.addWidget(self.heading, 1)
        self.merge_button = QPushButton("Merge…")
        self.merge_button.setAccessibleName("Merge the sibling versions")
        self.merge_button.setToolTip("Keep one sibling, or one with a text you edit: a new version to approve")
        self.merge_button.setAutoDefault(False)
        self.merge_button.clicked.connect(self.open_merge)
        head.addWidget(self.merge_button, 0, Qt.AlignmentFlag.AlignTop)
        outer.addLayout(head)
        self.columns = QHBoxLayout()
        holder = QWidget()
        holder.setLayout(self.columns)
        scroll = QScrollArea()
        scroll.setWidget(holder)
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setAccessibleName("The sibling versions side by side")
        scroll.setMinimumHeight(220)
        outer.addWidget(scroll, 1)
        self.boxes: list[QGroupBox] = []
        self.hide()

    def show_siblings(self, view: MessageView | None) -> None:
        if view is None or view.state != "conflict" or not view.siblings:
            self.view = None
            self.hide()
            return
        if self.view == view and self.isVisible():
            return
        self.view = view
        siblings = sorted(view.siblings, key=lambda s: (s["version"], s["at"], s["hash"]))
        self.heading.setText(
            f"⚠ {view.id} is in conflict: {len(siblings)} sibling versions were written at the same time on "
            "different workstations. It cannot be submitted, approved or published until someone merges them."
        )
        while self.columns.count():
            item = self.columns.takeAt(0)
            if item is not None and (w := item.widget()) is not None:
                w.deleteLater()
        self.boxes = []
        differ = differing(siblings)
        for s in siblings:
            box = QGroupBox(sibling_title(s))
            box.setAccessibleName(f"Sibling {sibling_title(s)}")
            column = QVBoxLayout(box)
            about = QLabel(f"written {when.moment_text(s['at'])} · hash {s['hash'][:SHORT_HASH]}…")
            about.setTextFormat(Qt.TextFormat.PlainText)
            about.setToolTip(f"{when.full(s['at'])}\n{s['hash']}")
            about.setAccessibleName("When and which hash")
            about.setStyleSheet(palette.text_style("muted", bold=False))
            column.addWidget(about)
            texts = QPlainTextEdit()
            texts.setReadOnly(True)
            texts.setAccessibleName(f"Texts of {sibling_title(s)}")
            # The texts that differ first, in full; those the siblings share only named (a message has a dozen).
            variants = sorted(s["variants"], key=lambda v: (v["channel"], v["lang"]))
            parts = [
                f"≠ [{v['channel']} · {v['lang']}] differs:\n{v['text']}"
                for v in variants
                if (v["channel"], v["lang"]) in differ
            ]
            same = [f"{v['channel']} · {v['lang']}" for v in variants if (v["channel"], v["lang"]) not in differ]
            if same:
                parts.append("= The same in every sibling: " + ", ".join(same))
            texts.setPlainText("\n\n".join(parts))
            column.addWidget(texts, 1)
            self.columns.addWidget(box, 1)
            self.boxes.append(box)
        self.show()

    def open_merge(self) -> QWidget | None:
        if self.view is None:
            return None
        from crisisdesk.ui.dialogs.merge import MergeDialog

        dialog = MergeDialog(self.session, self.view, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        dialog.merged.connect(self.merged)
        self.dialog = dialog
        dialog.open()
        return dialog
