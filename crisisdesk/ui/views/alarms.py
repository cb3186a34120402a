"""Team alarms: evidence that the team's logs disagree, in a banner every place of the window shows.

- ``sync.equivocation``: a workstation wrote two different entries with the same sequence number (one held here,
  another offered by the hub or a bundle). Its log was forked or rewritten; the offered entry is never merged.
- ``outbox.published_twice``: a version went out from two workstations.
- ``outbox.claim_unknown_holder``: the hub's claim names a workstation that never joined; the delivery waits.

They are evidence, so the banner never goes away while the log holds them: a person may collapse it to one line,
and it opens again when a new alarm arrives. "Details…" lists every alarm with what each holds.

    banner = AlarmBanner(window.session)
    layout.addWidget(banner)            # under the header and the LIVE/EXERCISE band: seen from every place

The alarms are read through the task helper on each change the watcher sees, from the audit log filtered by kind
(new entries only, after the last position read), so a log of a million entries costs one index look a change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.events import Kind
from crisisdesk.domain.roles import Actor
from crisisdesk.services.audit import AuditFilter
from crisisdesk.ui import palette, when
from crisisdesk.ui.session import Session

EQUIVOCATION = str(Kind.SYNC_EQUIVOCATION)
PUBLISHED_TWICE = str(Kind.OUTBOX_PUBLISHED_TWICE)
# A hub claim naming a workstation that never joined: the delivery is held back until a person looks.
UNKNOWN_HOLDER = str(Kind.OUTBOX_CLAIM_UNKNOWN_HOLDER)
ALARM_KINDS: tuple[str, ...] = (EQUIVOCATION, PUBLISHED_TWICE, UNKNOWN_HOLDER)
PAGE = 500


@dataclass(frozen=True)
class Alarm:
    position: int
    kind: str
    at: str
    payload: dict[str, Any]
    names: dict[str, str] = field(default_factory=dict)  # workstation id -> its name, as the log says

    def workstation(self, ws: object) -> str:
        text = str(ws or "?")
        name = self.names.get(text)
        return f"{name} ({text[:8]})" if name else text

    @property
    def line(self) -> str:
        """One line naming what happened, where."""
        p = self.payload
        if self.kind == EQUIVOCATION:
            return (
                f"EQUIVOCATION: workstation {self.workstation(p.get('workstation'))} wrote two different entries "
                f"with seq {p.get('seq')} (seen through {p.get('source', '?')})"
            )
        if self.kind == UNKNOWN_HOLDER:
            return (
                f"NOT SENT: delivery {p.get('row', '?')} is claimed at the hub by workstation "
                f"{self.workstation(p.get('workstation'))}, which never joined the team"
            )
        others = [v for k, v in sorted(p.items()) if "workstation" in k]
        who = " and ".join(self.workstation(w) for w in others) or "another workstation"
        return f"PUBLISHED TWICE: delivery {p.get('row', '?')} went out from {who}"

    @property
    def details(self) -> str:
        """Everything the alarm holds, for the details dialog (plain text, hashes in full)."""
        p = self.payload
        lines = [self.line, f"recorded {when.full(self.at)}"]
        if self.kind == EQUIVOCATION:
            lines += [
                f"  this log holds:  {p.get('held_hash', '?')}",
                f"  also offered:    {p.get('offered_hash', '?')}",
                "  Both entries are signed with that workstation's key: its log was forked or rewritten. The "
                "offered entry was not merged, nor that workstation's later entries in the same delivery "
                "('crisisdesk audit verify' and 'crisisdesk hub status' say more).",
            ]
        elif self.kind == UNKNOWN_HOLDER:
            lines += [f"  {key}: {value}" for key, value in sorted(p.items())]
            lines.append(
                "  The delivery waits and is retried: a hub admin deletes that claim row at the hub (or that "
                "workstation's join is synced), then it goes out once ('crisisdesk outbox list' shows its reason)."
            )
        else:
            lines += [f"  {key}: {value}" for key, value in sorted(p.items())]
            lines.append(
                "  The same version reached the same account twice: check the account, and tell the public "
                "if the repeat could confuse."
            )
        return "\n".join(lines)


@dataclass(frozen=True)
class AlarmNews:
    alarms: list[Alarm]
    cursor: int  # the last position read


def read_alarms(app: App, actor: Actor, after: int) -> AlarmNews:
    """The alarms recorded after position ``after`` (all of them at first: ``after`` = 0), oldest first."""
    rows = app.audit.page(actor, after=after, limit=PAGE, where=AuditFilter(kinds=ALARM_KINDS))
    if not rows:
        return AlarmNews([], after)
    records = list(app.audit._records_at([r.position for r in rows]))  # full payloads: the summary is cut short
    made = app.audit.page(actor, limit=PAGE, where=AuditFilter(kinds=(str(Kind.WORKSTATION_CREATED),)))
    names = {
        str(r["payload"].get("id")): str(r["payload"].get("name"))
        for r in app.audit._records_at([m.position for m in made])
    }
    alarms = [Alarm(int(r["position"]), str(r["kind"]), str(r["at"]), dict(r["payload"]), names) for r in records]
    alarms.sort(key=lambda a: a.position)
    return AlarmNews(alarms, max(a.position for a in alarms))


class AlarmBanner(QFrame):
    """Hidden while the log holds no alarm; then a bordered band (red edge, a mark and words: not colour alone)
    naming the newest alarm and how many there are, with Details… and Collapse."""

    changed = Signal()

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.alarms: list[Alarm] = []
        self.read_to = 0
        self.collapsed = False
        self.dialog: AlarmsDialog | None = None
        self._asking = False
        self._again = False
        self.setObjectName("teamAlarm")
        self.setFrameShape(QFrame.Shape.Box)
        self.setAccessibleName("Team alarm")
        bad = palette.state_colour("bad")
        ground = palette.row_tint("bad")
        self.setStyleSheet(f"QFrame#teamAlarm {{ border: 3px solid {bad.name()}; background: {ground.name()}; }}")
        text = palette.current().color(QPalette.ColorRole.WindowText)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        words = QVBoxLayout()
        self.title = QLabel()
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setAccessibleName("Alarm")
        self.title.setStyleSheet(palette.text_style("bad") + " border: none; background: transparent;")
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.title.setFont(font)
        self.body = QLabel()
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setWordWrap(True)
        self.body.setAccessibleName("What the alarm means")
        self.body.setStyleSheet(f"color: {text.name()}; border: none; background: transparent;")
        words.addWidget(self.title)
        words.addWidget(self.body)
        layout.addLayout(words, 1)
        self.details_button = QPushButton("Details…")
        self.details_button.setAccessibleName("Show every team alarm in full")
        self.details_button.setAutoDefault(False)
        self.details_button.clicked.connect(self.open_details)
        self.collapse_button = QPushButton("Collapse")
        self.collapse_button.setAccessibleName("Collapse the team alarm to one line")
        self.collapse_button.setAutoDefault(False)
        self.collapse_button.clicked.connect(lambda: self.set_collapsed(not self.collapsed))
        layout.addWidget(self.details_button, 0, Qt.AlignmentFlag.AlignTop)
        layout.addWidget(self.collapse_button, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()
        session.watcher.changed.connect(self.look)
        self.look()

    def look(self) -> None:
        if self._asking:
            self._again = True
            return
        self._asking = True
        actor, after = self.session.actor, self.read_to
        self.session.tasks.run(
            lambda app: read_alarms(app, actor, after), self._heard, self._not_read, on_done=self._done, owner=self
        )

    def _done(self) -> None:
        self._asking = False
        if self._again:
            self._again = False
            self.look()

    def _not_read(self, error: CrisisdeskError) -> None:
        pass  # someone who may not read the log hears of nothing; the watcher asks again

    def _heard(self, news: AlarmNews) -> None:
        if news.cursor <= self.read_to and not news.alarms:
            return
        known = {a.position for a in self.alarms}
        fresh = [a for a in news.alarms if a.position not in known]
        self.read_to = max(self.read_to, news.cursor)
        if not fresh:
            return
        self.alarms.extend(fresh)
        self.collapsed = False  # a new alarm is shown whole, even after a collapse
        self._show()
        self.changed.emit()

    def set_collapsed(self, collapsed: bool) -> None:
        self.collapsed = collapsed
        self._show()

    def _show(self) -> None:
        if not self.alarms:
            self.hide()
            return
        newest = self.alarms[-1]
        n = len(self.alarms)
        count = f"{n} team alarms" if n > 1 else "Team alarm"
        self.title.setText(f"⚠ {count} · {newest.line}")
        self.body.setText(
            "Evidence that the team's logs disagree: it stays here. Nothing offered against this log was merged. "
            "Tell the admin; open Details for the entries' hashes."
        )
        self.body.setVisible(not self.collapsed)
        self.title.setWordWrap(not self.collapsed)
        self.collapse_button.setText("Expand" if self.collapsed else "Collapse")
        self.collapse_button.setAccessibleName(
            "Expand the team alarm" if self.collapsed else "Collapse the team alarm to one line"
        )
        self.setAccessibleDescription(self.title.text())
        if self.dialog is not None:
            self.dialog.show_alarms(self.alarms)
        self.show()

    def open_details(self) -> AlarmsDialog:
        if self.dialog is None:
            self.dialog = AlarmsDialog(self.window())
            self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
            self.dialog.finished.connect(lambda _: setattr(self, "dialog", None))
        self.dialog.show_alarms(self.alarms)
        self.dialog.open()
        return self.dialog


class AlarmsDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Team alarms")
        self.setAccessibleName("Team alarms in full")
        self.resize(820, 420)
        layout = QVBoxLayout(self)
        about = QLabel(
            "Each alarm is an entry of this log (an audit entry like any other): it stays. The hashes are the two "
            "entries' own: compare them with 'crisisdesk audit verify' on the workstation named."
        )
        about.setTextFormat(Qt.TextFormat.PlainText)
        about.setWordWrap(True)
        about.setAccessibleName("About team alarms")
        layout.addWidget(about)
        self.text = QPlainTextEdit()
        self.text.setReadOnly(True)
        self.text.setAccessibleName("Every team alarm")
        self.text.setLineWrapMode(QPlainTextEdit.LineWrapMode.WidgetWidth)
        layout.addWidget(self.text, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.button(QDialogButtonBox.StandardButton.Close).setAccessibleName("Close the team alarms")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    def show_alarms(self, alarms: list[Alarm]) -> None:
        self.text.setPlainText("\n\n".join(a.details for a in reversed(alarms)))  # newest first
