"""Team sync in the console: an item in the status bar that says whether this workstation reaches the team hub, and
a dialog with the details (the hub, the last sync, what waits to go and to come, the last error).

    indicator = SyncIndicator(window.session)
    window.statusBar().addPermanentWidget(indicator)

It asks ``SyncService.status()`` through the task helper, never on the GUI thread: asking the hub is a network call
(up to the hub's 5 s connection timeout when it is down). On each change the watcher sees, it reads what this
workstation knows (the background sync writes its last sync time and its last error into the file, so a change is
seen at once) and asks the hub too while the hub answered last time; every half minute (the watcher's tick), and
whenever the dialog is opened or refreshed, it asks the hub whatever happened before. One status call at a time: a
change seen meanwhile asks again when the answer comes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.ui import palette, when
from crisisdesk.ui.session import Session

if TYPE_CHECKING:  # the sync service (and the hub's driver) are imported by the first status task, off this thread
    from crisisdesk.services.sync import SyncStatus

MAX_ERROR = 160  # characters of the last error in the dialog: one line, the rest in its tooltip


@dataclass(frozen=True)
class Shown:
    """What the console says about sync, from a status (asked of the hub or not) and what was known before."""

    state: str  # "connected", "not connected" or "not set up"
    colour: palette.State
    status: SyncStatus
    to_apply: int | None  # from the hub's last answer when this status did not ask it

    @property
    def line(self) -> str:
        """The status bar's words."""
        if self.status.cannot_sign:
            return "✖ CANNOT SIGN: the team refuses what this workstation writes (click for why)"
        if self.state == "not set up":
            return "Team hub: not set up (this workstation works alone)"
        mark = "⇅ Team hub: connected" if self.state == "connected" else "✖ Team hub: NOT CONNECTED"
        parts = [mark, f"last sync {when.moment_text(self.status.last_sync) or 'never'}"]
        if self.status.to_push:
            parts.append(f"{self.status.to_push} to push")
        if self.to_apply:
            parts.append(f"{self.to_apply} to apply")
        return " · ".join(parts)


def shown(status: SyncStatus, reached: bool, before: Shown | None) -> Shown:
    """``reached``: the hub was asked for this status. Without asking, the file says whether the last sync worked:
    the background sync records its time, or its error (and clears the error when a sync works again)."""
    if not status.configured:
        return Shown("not set up", "bad" if status.cannot_sign else "muted", status, None)
    if reached:
        ok, to_apply = status.connected, status.to_apply
    else:
        ok = bool(status.last_sync) and not status.last_error
        to_apply = before.to_apply if before is not None else None
    good = ok and not status.cannot_sign
    return Shown("connected" if ok else "not connected", "ok" if good else "bad", status, to_apply)


def one_line(text: str | None, limit: int = MAX_ERROR) -> str:
    if not text:
        return ""
    first = text.splitlines()[0] if text.splitlines() else text
    return first if len(first) <= limit else first[: limit - 1] + "…"


class SyncIndicator(QPushButton):
    """The status bar's sync item: flat, in words (and a mark) as well as colour; a click opens the details."""

    updated = Signal(object)  # a Shown, after each answer

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.current: Shown | None = None
        self.dialog: SyncDialog | None = None
        self._asking = False
        self._again: bool | None = None  # a change seen while asking: ask again (True: of the hub too)
        self.setFlat(True)
        self.setAutoDefault(False)
        self.setAccessibleName("Team sync status")
        self.setToolTip("Sync with the team hub: click for the details")
        self.setText("Team hub: …")
        self.clicked.connect(self.open_details)
        session.watcher.changed.connect(self.look)
        session.watcher.tick.connect(lambda: self.refresh(reach=True))
        self.refresh(reach=True)

    def look(self) -> None:
        """The database changed: ask again, of the hub too while it answered last time."""
        self.refresh(reach=self.current is not None and self.current.state == "connected")

    def refresh(self, *, reach: bool = True) -> None:
        if self._asking:
            self._again = bool(self._again) or reach
            return
        self._asking = True

        def ask(app: App) -> tuple[SyncStatus, bool]:
            return app.sync().status(reach=reach), reach

        self.session.tasks.run(ask, self._answered, self._failed, on_done=self._done, owner=self)

    def _done(self) -> None:
        self._asking = False
        again, self._again = self._again, None
        if again is not None:
            self.refresh(reach=again)

    def _answered(self, answer: tuple[SyncStatus, bool]) -> None:
        status, reached = answer
        self.show_state(shown(status, reached, self.current))

    def _failed(self, error: CrisisdeskError) -> None:
        self.setText(f"Team hub: status unknown ({one_line(str(error), 80)})")
        self.setStyleSheet(palette.text_style("warning", bold=False))

    def show_state(self, now: Shown) -> None:
        self.current = now
        self.setText(now.line)
        self.setStyleSheet(palette.text_style(now.colour, bold=now.state == "not connected") + " border: none;")
        about = now.status.hub_url or "no hub set up"
        self.setToolTip(f"{about}\nClick for the details")
        self.setAccessibleDescription(now.line)
        if self.dialog is not None:
            self.dialog.show_state(now)
        self.updated.emit(now)

    def open_details(self) -> SyncDialog:
        if self.dialog is None:
            self.dialog = SyncDialog(self.window())
            self.dialog.refresh_button.clicked.connect(lambda: self.refresh(reach=True))
            self.dialog.finished.connect(lambda _: setattr(self, "dialog", None))
            self.dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        if self.current is not None:
            self.dialog.show_state(self.current)
        self.dialog.open()
        self.refresh(reach=True)
        return self.dialog


class SyncDialog(QDialog):
    """Sync's details: what a person checks when a colleague's approval does not show up here."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Team sync")
        self.setAccessibleName("Team sync details")
        self.setMinimumWidth(520)
        layout = QVBoxLayout(self)
        self.headline = self._label("Sync state")
        font = self.headline.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.headline.setFont(font)
        layout.addWidget(self.headline)
        form = QFormLayout()
        self.hub = self._label("Hub address")
        self.last_sync = self._label("Last sync")
        self.to_push = self._label("Entries waiting to push")
        self.to_apply = self._label("Entries waiting to apply")
        self.equivocations = self._label("Equivocations seen")
        self.error = self._label("Last error")
        self.signing = self._label("Signing")
        form.addRow("Signing", self.signing)
        form.addRow("Hub", self.hub)
        form.addRow("Last sync", self.last_sync)
        form.addRow("Waiting to push", self.to_push)
        form.addRow("Waiting to apply", self.to_apply)
        form.addRow("Equivocations", self.equivocations)
        form.addRow("Last error", self.error)
        layout.addLayout(form)
        self.about = self._label("What this means")
        self.about.setStyleSheet(palette.text_style("muted", bold=False))
        layout.addWidget(self.about)
        buttons = QDialogButtonBox()
        self.refresh_button = QPushButton("Ask the hub now")
        self.refresh_button.setAccessibleName("Ask the hub for its status now")
        self.refresh_button.setAutoDefault(False)
        buttons.addButton(self.refresh_button, QDialogButtonBox.ButtonRole.ActionRole)
        close = buttons.addButton(QDialogButtonBox.StandardButton.Close)
        close.setAccessibleName("Close the sync details")
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)

    @staticmethod
    def _label(name: str) -> QLabel:
        label = QLabel()
        label.setTextFormat(Qt.TextFormat.PlainText)
        label.setWordWrap(True)
        label.setAccessibleName(name)
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        return label

    def show_state(self, now: Shown) -> None:
        s = now.status
        if now.state == "not set up":
            self.headline.setText("Not set up: this workstation works alone")
            self.about.setText(
                "Nothing is shared with other workstations. An admin founds a team hub with "
                "'crisisdesk hub init URL --as ADMIN'; a new workstation joins one with "
                "'crisisdesk hub join URL --workstation NAME'."
            )
        elif now.state == "connected":
            self.headline.setText("✔ Connected to the team hub")
            self.about.setText(
                "Entries written here reach the hub within a second; the other workstations' entries are "
                "checked (hashes, chains, signatures) and applied as they arrive."
            )
        else:
            self.headline.setText("✖ Not connected to the team hub")
            self.about.setText(
                "This workstation keeps working: what is written here waits and is pushed when the hub is back "
                "(the console retries on its own). Approvals given elsewhere meanwhile do not show here."
            )
        if s.cannot_sign:
            self.headline.setText("✖ This workstation cannot sign what it writes")
            self.about.setText(
                "Entries written here go out unsigned and the other workstations refuse them: an approval or a "
                "change made here does not reach the team until an admin gives this workstation a key again. "
                + ("The hub is reachable." if now.state == "connected" else "")
            )
        self.headline.setStyleSheet(palette.text_style(now.colour))
        self.signing.setText(s.cannot_sign or "no problem found (a key declared in the log is in this keyring)")
        self.signing.setStyleSheet(palette.text_style("bad") if s.cannot_sign else "")
        self.hub.setText(s.hub_url or "none")
        self.last_sync.setText(when.moment_text(s.last_sync, seconds=True) or "never")
        self.last_sync.setToolTip(when.full(s.last_sync))
        self.to_push.setText(_count(s.to_push, "entry", "entries"))
        self.to_apply.setText(_count(now.to_apply, "entry", "entries"))
        self.equivocations.setText(
            "none" if not s.equivocations else f"⚠ {s.equivocations}: see the alarm at the top of the window"
        )
        self.equivocations.setStyleSheet(palette.text_style("bad") if s.equivocations else "")
        self.error.setText(one_line(s.last_error) or "none")
        self.error.setToolTip(s.last_error or "")
        self.error.setStyleSheet(palette.text_style("bad", bold=False) if s.last_error else "")


def _count(n: int | None, one: str, many: str) -> str:
    if n is None:
        return "not known (the hub has not answered)"
    return f"{n} {one if n == 1 else many}"
