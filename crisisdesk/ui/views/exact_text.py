"""Exact message text, read-only, for the people who approve and publish it.

Every text is inserted as plain text (``QTextCursor.insertText``: nothing in it is read as markup). Characters
that do not show themselves (bidi controls, zero-width, control characters, odd spaces) are replaced by their
escape (``⟦U+202E RLO⟧``, from ``crisisdesk.domain.reveal``) and marked: a tinted background, bold, a wavy
underline and the brackets, so the mark shows in greyscale too; the escape means such a character never acts on
the text around it. Changes word by word: what came underlined on a green tint between ``[+ +]``, what went
struck through on a red tint between ``[- -]``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from PySide6.QtGui import QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QApplication, QTextEdit, QWidget

from crisisdesk.domain.accounts import Account
from crisisdesk.domain.composing import Change
from crisisdesk.domain.reveal import hidden_characters, reveal
from crisisdesk.domain.text_rules import Finding
from crisisdesk.services.composer import VariantChange
from crisisdesk.services.messages import VariantView
from crisisdesk.ui import palette

SEVERITY_STATE: dict[str, palette.State] = {"error": "bad", "warning": "warning", "info": "muted"}


def hidden_format() -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setBackground(palette.row_tint("warning"))
    fmt.setForeground(palette.state_colour("bad"))
    fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
    return fmt


def heading_format() -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setFontWeight(QFont.Weight.Bold)
    fmt.setFontPointSize(QApplication.font().pointSizeF() * 1.1)
    return fmt


def state_format(state: palette.State, *, bold: bool = False) -> QTextCharFormat:
    fmt = QTextCharFormat()
    fmt.setForeground(palette.state_colour(state))
    if bold:
        fmt.setFontWeight(QFont.Weight.Bold)
    return fmt


def channel_title(channel: str, lang: str) -> str:
    return f"{channel} [{lang}]"


class ExactText(QTextEdit):
    """A read-only page of texts; ``marks`` counts the hidden characters shown (for tests and the summary)."""

    def __init__(self, accessible_name: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setAcceptRichText(False)
        self.setAccessibleName(accessible_name)
        self.setUndoRedoEnabled(False)
        self.marks = 0
        self._filling: QTextCursor | None = None

    def _cursor(self) -> QTextCursor:
        if self._filling is not None:
            return self._filling
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor

    def _begin(self) -> None:
        """Start filling anew: one edit block, so the page is laid out once at the end, not at every insert."""
        self.clear()
        self.marks = 0
        self._filling = QTextCursor(self.document())
        self._filling.beginEditBlock()

    def _end(self) -> None:
        if self._filling is not None:
            self._filling.endEditBlock()
            self._filling = None
        self.moveCursor(QTextCursor.MoveOperation.Start)

    def add_line(self, text: str, fmt: QTextCharFormat | None = None) -> None:
        cursor = self._cursor()
        if not self.document().isEmpty():
            cursor.insertBlock()
        cursor.insertText(text, fmt or QTextCharFormat())

    def add_exact(self, text: str) -> None:
        """``text`` on new lines, every hidden character escaped and marked."""
        cursor = self._cursor()
        if not self.document().isEmpty():
            cursor.insertBlock()
        plain, marked = QTextCharFormat(), hidden_format()
        for piece in reveal(text):
            if piece.hidden:
                marked.setToolTip(piece.hidden)
                cursor.insertText(piece.text, marked)
                self.marks += 1
            else:
                cursor.insertText(piece.text, plain)
        if not text:
            cursor.insertText("(empty)", state_format("muted"))

    def add_changes(self, changes: Sequence[Change]) -> None:
        cursor = self._cursor()
        if not self.document().isEmpty():
            cursor.insertBlock()
        for change in changes:
            shown = "".join(p.text for p in reveal(change.text))
            if change.op == "same":
                cursor.insertText(shown, QTextCharFormat())
                continue
            fmt = QTextCharFormat()
            fmt.setFontWeight(QFont.Weight.Bold)
            if change.op == "added":
                fmt.setBackground(palette.row_tint("ok"))
                fmt.setFontUnderline(True)
                cursor.insertText(f"[+{shown}+]", fmt)
            else:
                fmt.setBackground(palette.row_tint("bad"))
                fmt.setFontStrikeOut(True)
                cursor.insertText(f"[-{shown}-]", fmt)

    def show_variants(self, variants: Sequence[VariantView], sent: Mapping[str, Sequence[str]] | None = None) -> None:
        """Each variant: a heading with its length in the channel's unit, its exact text, then its findings.
        ``sent``: text channel -> the chosen accounts that send it; those texts come first, the others after, said
        so.
        Hidden characters are listed at the top, where they cannot be missed."""
        self._begin()
        # What goes out first, and of that what hides characters first: where an approver's eye must go.
        ordered = sorted(
            variants, key=lambda v: (sent is not None and not sent.get(v.channel), not hidden_characters(v.text))
        )
        found = [(v, p) for v in ordered for p in hidden_characters(v.text)]
        if found:
            self.add_line(
                f"⚠ {len(found)} hidden character(s), shown below as ⟦…⟧ and marked:", state_format("bad", bold=True)
            )
            for v, p in found:
                self.add_line(
                    f"  {channel_title(v.channel, v.lang)} at character {p.offset + 1}: {p.hidden}", state_format("bad")
                )
            self.add_line("")
        for v in ordered:
            over = v.over
            hidden = len(hidden_characters(v.text))
            about = f"{v.length}/{v.limit} {v.unit}" + (" — OVER THE LIMIT" if over else "")
            if hidden:
                about += f" · {hidden} hidden"
            if sent is not None:
                senders = sent.get(v.channel)
                about += f" · sent by {', '.join(senders)}" if senders else " · no chosen channel sends this"
            self.add_line(f"{channel_title(v.channel, v.lang)}  ·  {about}", heading_format())
            self.add_exact(v.text)
            self.show_findings(v.findings)
            self.add_line("")
        self._end()

    def show_findings(self, findings: Sequence[Finding]) -> None:
        for f in findings:
            state = SEVERITY_STATE.get(f.severity, "muted")
            self.add_line(f"  {f.severity.upper()} {f.code}: {f.message}", state_format(state, bold=state == "bad"))

    def show_changes(self, base: str | None, changes: Sequence[VariantChange]) -> None:
        self._begin()
        if base is None:
            self.add_line("Nothing has been published on this incident yet: every text is new.", heading_format())
            self._end()
            return
        changed = [c for c in changes if c.changed]
        self.add_line(
            f"Against {base}: {len(changed)} of {len(changes)} texts changed "
            "(new words [+ like this +], removed words [- like this -])",
            heading_format(),
        )
        for c in changed:
            self.add_line("")
            self.add_line(channel_title(c.channel, c.lang), heading_format())
            self.add_changes(c.changes)
        unchanged = [channel_title(c.channel, c.lang) for c in changes if not c.changed]
        if unchanged:
            self.add_line("")
            self.add_line("Unchanged: " + ", ".join(unchanged), state_format("muted"))
        self._end()


def senders(accounts: Sequence[Account]) -> dict[str, list[str]]:
    """Text channel -> the names of the accounts that send it."""
    out: dict[str, list[str]] = {}
    for a in accounts:
        for text in a.spec.texts:
            out.setdefault(text, []).append(a.name)
    return out
