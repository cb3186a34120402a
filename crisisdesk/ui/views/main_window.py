"""The main window: a header that says who acts where, the LIVE/EXERCISE band, and the places a person goes.

Places (left-hand navigation, Ctrl+1 … Ctrl+6) each hold one view in a stacked widget, with a count badge where
something waits. Adding a view is one call, in ``MainWindow._build_places`` or from outside:

    window.add_place("Drills", DrillsView(window.session), icon)   # a new place, at the end
    window.replace_place(INCIDENTS, IncidentBoard(window.session))  # a placeholder's real view
    window.set_badge(APPROVALS, 3, urgent=True)
    window.show_mode("exercise", "Flood on the Elm")                # the band and the title say EXERCISE
    window.show_mode(None)                                          # no incident open

Views receive ``window.session`` (``crisisdesk.ui.session.Session``): the actor, the task helper and the watcher.
The badges of Incidents (overdue items), Approvals (submitted versions this person may approve) and Outbox
(failed and dead deliveries) are counted by ``AttentionService`` on each change the watcher sees, through a task.

Only the place shown first (Incidents) is built with the window; the others are built the first time they are
shown or asked for (``window.approvals``...): building every view at once kept the GUI thread busy 50-70 ms at each
sign-in, longer than a window may stand still.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QCloseEvent, QIcon, QKeySequence
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMainWindow,
    QStackedWidget,
    QStyle,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.services.attention import Attention
from crisisdesk.ui import palette
from crisisdesk.ui.dialogs import shortcuts
from crisisdesk.ui.dialogs.shortcuts import ShortcutsDialog
from crisisdesk.ui.notify import DeadDeliveryNotifier
from crisisdesk.ui.session import Session
from crisisdesk.ui.tasks import Tasks
from crisisdesk.ui.views.alarms import AlarmBanner
from crisisdesk.ui.views.approvals_view import ApprovalsView
from crisisdesk.ui.views.audit_view import AuditView
from crisisdesk.ui.views.chrome import (
    BADGE_COUNT_ROLE,
    BADGE_URGENT_ROLE,
    BadgeDelegate,
    Header,
    ModeBand,
    roles_text,
)
from crisisdesk.ui.views.deliveries import DeliveriesView
from crisisdesk.ui.views.drill_view import DrillView
from crisisdesk.ui.views.feeds_view import FeedsView
from crisisdesk.ui.views.incidents_view import IncidentsView
from crisisdesk.ui.views.outbox_view import OutboxView
from crisisdesk.ui.views.settings_view import SettingsView
from crisisdesk.ui.views.sync_status import SyncIndicator
from crisisdesk.ui.watcher import Watcher

INCIDENTS, APPROVALS, MONITOR, OUTBOX, AUDIT, SETTINGS, DRILLS = (
    "Incidents",
    "Approvals",
    "Monitor",
    "Outbox",
    "Audit",
    "Settings",
    "Drills",
)


@dataclass
class Place:
    name: str
    widget: QWidget
    item: QListWidgetItem
    about: str = ""
    count: int = 0
    urgent: bool = False
    build: Callable[[], QWidget] | None = None  # the real view, made when the place is first shown


class MainWindow(QMainWindow):
    """One person's console. ``sign_out_requested``, ``lock_requested`` and ``quit_requested`` are for whoever
    runs the session (``crisisdesk.ui.console.Console``); the window never signs anybody in itself."""

    sign_out_requested = Signal()
    lock_requested = Signal()
    quit_requested = Signal()

    def __init__(
        self, core: App, actor: Actor, *, watcher: Watcher | None = None, synchronous: bool | None = None
    ) -> None:
        super().__init__()
        self.core = core
        self.actor = actor
        self._disposed = False
        if watcher is None:
            watcher = Watcher(core, self)
            watcher.start()
        tasks = Tasks(core, self, synchronous=synchronous, dialog_parent=lambda: self)
        self.session = Session(core=core, actor=actor, tasks=tasks, watcher=watcher)
        self.workstation_name = core.people.workstation_name()
        self.incident_title: str | None = None
        self.mode: palette.Mode | None = None
        self._drill_notes: tuple[str, ...] = ()  # the notes for the person's roles in drills under way
        self._notes_seen: set[str] = set()  # ...and those they have had the Drills place open for
        self.resize(1180, 720)

        central = QWidget()
        outer = QVBoxLayout(central)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        self.header = Header(actor, self.workstation_name)
        self.header.lock_button.clicked.connect(self.lock_requested)
        self.header.sign_out_button.clicked.connect(self.sign_out_requested)
        outer.addWidget(self.header)
        self.mode_band = ModeBand()
        outer.addWidget(self.mode_band)
        # Team alarms (equivocation, published twice): under the header, so every place shows them.
        self.alarm_banner = AlarmBanner(self.session)
        outer.addWidget(self.alarm_banner)

        body = QHBoxLayout()
        body.setContentsMargins(0, 0, 0, 0)
        self.nav = QListWidget()
        self.nav.setAccessibleName("Places")
        self.nav.setItemDelegate(BadgeDelegate(self.nav))
        self.nav.setIconSize(QSize(22, 22))
        self.nav.setFixedWidth(190)
        self.nav.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.nav.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        font = self.nav.font()
        font.setPointSizeF(font.pointSizeF() * 1.1)
        self.nav.setFont(font)
        self.stack = QStackedWidget()
        self.nav.currentRowChanged.connect(self._place_changed)
        page = QVBoxLayout()
        page.setContentsMargins(8, 8, 0, 0)
        page.setSpacing(2)
        self.place_title = QLabel()
        self.place_title.setTextFormat(Qt.TextFormat.PlainText)
        self.place_title.setAccessibleName("Place")
        title_font = self.place_title.font()
        title_font.setBold(True)
        title_font.setPointSizeF(title_font.pointSizeF() * 1.35)
        self.place_title.setFont(title_font)
        self.place_about = QLabel()
        self.place_about.setTextFormat(Qt.TextFormat.PlainText)
        self.place_about.setAccessibleName("About this place")
        self.place_about.setWordWrap(True)
        page.addWidget(self.place_title)
        page.addWidget(self.place_about)
        page.addWidget(self.stack, 1)
        body.addWidget(self.nav)
        body.addLayout(page, 1)
        outer.addLayout(body, 1)
        self.setCentralWidget(central)

        self._places: dict[str, Place] = {}
        self._build_places()
        self._build_menu()
        path = QLabel(f"Database: {core.db.path}")
        path.setTextFormat(Qt.TextFormat.PlainText)
        path.setAccessibleName("Database file")
        self.statusBar().addPermanentWidget(path)
        self.sync_indicator = SyncIndicator(self.session)
        self.statusBar().addPermanentWidget(self.sync_indicator)
        self._update_title()
        self.show_place(INCIDENTS)
        self.nav.setFocus()

        watcher.changed.connect(self.refresh_attention)
        watcher.tick.connect(self.refresh_attention)
        self.refresh_attention()
        # A delivery that goes dead says so in the window (and the tray where there is one).
        self.notifier = DeadDeliveryNotifier(self.session, self)
        self.notifier.show_deliveries.connect(self.open_deliveries)

    # -- places ------------------------------------------------------------------------------------------------

    def _build_places(self) -> None:
        """The places, in the order a person goes through an incident. The view builders replace the
        placeholders here (or call ``replace_place``)."""
        style = self.style()
        icon = style.standardIcon
        self.incidents = IncidentsView(self.session)
        self.add_place(
            INCIDENTS,
            self.incidents,
            icon(QStyle.StandardPixmap.SP_MessageBoxWarning),
            about="Active incidents and their workspaces; the badge counts overdue checklist steps and updates",
        )
        session = self.session
        self.add_place(
            APPROVALS,
            lambda: ApprovalsView(session),
            icon(QStyle.StandardPixmap.SP_DialogApplyButton),
            about="Submitted messages waiting for your approval (the badge counts them): read, then approve or return",
        )
        self.add_place(
            MONITOR,
            self._build_monitor,
            icon(QStyle.StandardPixmap.SP_FileDialogContentsView),
            about="Source health, alerts for incidents, search over every item, the triage queue and the public's mood",
        )
        self.add_place(
            OUTBOX,
            lambda: OutboxView(session),
            icon(QStyle.StandardPixmap.SP_ArrowForward),
            about="Every delivery: its state, tries and receipt or reason; the badge counts failed and dead ones",
        )
        self.add_place(
            AUDIT,
            lambda: AuditView(session),
            icon(QStyle.StandardPixmap.SP_FileDialogDetailedView),
            about="Everything anyone did, newest first, each entry chained to the one before",
        )
        self.add_place(
            SETTINGS,
            lambda: SettingsView(session),
            icon(QStyle.StandardPixmap.SP_FileDialogInfoView),
            about="People, channel accounts and this workstation: admins change them, everyone else reads them",
        )
        self.add_place(  # last: the places before it keep their Ctrl+number
            DRILLS,
            self._build_drills,
            icon(QStyle.StandardPixmap.SP_MediaPlay),
            about="EXERCISE only: load a scenario, run its timed injects, evaluate it, export the after-action report",
        )

    def _build_monitor(self) -> QWidget:
        view = FeedsView(self.session)
        view.incident_opened.connect(self._incident_opened)
        return view

    def _build_drills(self) -> QWidget:
        view = DrillView(self.session)
        view.incident_opened.connect(self._incident_opened)
        return view

    def _incident_opened(self, incident_id: str) -> None:
        """An incident opened from an alert: its workspace, where the person continues."""
        self.show_place(INCIDENTS)
        self.incidents.open_incident(incident_id)

    def add_place(
        self, name: str, widget: QWidget | Callable[[], QWidget], icon: QIcon | None = None, *, about: str = ""
    ) -> Place:
        """Add a place at the end of the navigation; Ctrl+<its number> goes there. ``widget``: the view, or a
        function that makes it when the place is first shown. ``about``: one line under the place's name at the top
        of the page (and the navigation's tooltip)."""
        if name in self._places:
            raise ValueError(f"the window already has a place {name!r}")
        item = QListWidgetItem(icon or QIcon(), name)
        item.setToolTip(about or name)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, name)
        build = None
        if not isinstance(widget, QWidget):
            build, widget = widget, QWidget()  # an empty page until the place is first shown
        self.stack.addWidget(widget)
        place = Place(name, widget, item, about=about, build=build)
        self._places[name] = place
        self.nav.addItem(item)  # after the page is known: the first place becomes current here
        number = len(self._places)
        if number <= 9:
            action = QAction(shortcuts.GO_TO.format(place=name), self)
            action.setShortcut(QKeySequence(f"Ctrl+{number}"))  # listed by Help → Keyboard shortcuts with it
            action.triggered.connect(lambda _=False, n=name: self.show_place(n))
            self.addAction(action)
        return place

    def replace_place(self, name: str, widget: QWidget) -> None:
        """Put ``widget`` where the place's current view (a placeholder) is; the badge stays."""
        place = self._places[name]
        place.build = None
        index = self.stack.indexOf(place.widget)
        self.stack.insertWidget(index, widget)
        self.stack.removeWidget(place.widget)
        place.widget.deleteLater()
        place.widget = widget
        if self.nav.currentRow() == index:
            self.stack.setCurrentIndex(index)

    def _show_new_notes(self) -> None:
        """Drills' badge: the notes for the person's roles that came since they last had the Drills place in front
        of them. Kept by this window: after signing in again, the notes of the drills still under way count once
        more, which errs on the side of being seen."""
        if DRILLS not in self._places:
            return  # the places are still being made
        if self.nav.currentItem() is not None and self.current_place() == DRILLS:
            self._notes_seen.update(self._drill_notes)
        new = [n for n in self._drill_notes if n not in self._notes_seen]
        self.set_badge(DRILLS, len(new), urgent=bool(new))

    def _place_changed(self, row: int) -> None:
        place = list(self._places.values())[row] if 0 <= row < len(self._places) else None
        if place is not None:
            self._built(place)
        self._show_new_notes()
        self.stack.setCurrentIndex(row)
        self.place_title.setText(place.name if place else "")
        self.place_about.setText(place.about if place else "")
        self.place_about.setVisible(bool(place and place.about))
        if hasattr(self, "mode_band"):
            self._show_band()

    def place(self, name: str) -> QWidget:
        return self._built(self._places[name])

    def _built(self, place: Place) -> QWidget:
        """The place's view, made now if it was waiting to be shown."""
        if place.build is not None:
            self.replace_place(place.name, place.build())
        return place.widget

    @property
    def approvals(self) -> ApprovalsView:
        view = self.place(APPROVALS)
        assert isinstance(view, ApprovalsView)
        return view

    @property
    def monitor(self) -> FeedsView:
        view = self.place(MONITOR)
        assert isinstance(view, FeedsView)
        return view

    @property
    def outbox(self) -> OutboxView:
        view = self.place(OUTBOX)
        assert isinstance(view, OutboxView)
        return view

    @property
    def audit(self) -> AuditView:
        view = self.place(AUDIT)
        assert isinstance(view, AuditView)
        return view

    @property
    def drills(self) -> DrillView:
        view = self.place(DRILLS)
        assert isinstance(view, DrillView)
        return view

    @property
    def places(self) -> list[str]:
        return list(self._places)

    def show_place(self, name: str) -> None:
        self.nav.setCurrentItem(self._places[name].item)

    def current_place(self) -> str:
        return self.nav.currentItem().text()

    def set_badge(self, name: str, count: int, urgent: bool = False) -> None:
        """Show ``count`` on a place (nothing at 0); ``urgent`` draws it red and filled."""
        place = self._places[name]
        place.count, place.urgent = count, urgent and count > 0
        place.item.setData(BADGE_COUNT_ROLE, count)
        place.item.setData(BADGE_URGENT_ROLE, place.urgent)
        waiting = "" if count == 0 else f", {count} waiting" + (", urgent" if place.urgent else "")
        place.item.setData(Qt.ItemDataRole.AccessibleTextRole, name + waiting)

    def badge(self, name: str) -> tuple[int, bool]:
        place = self._places[name]
        return place.count, place.urgent

    def open_deliveries(self, message_id: str) -> DeliveriesView:
        """A published message's deliveries in a window of their own (non-modal)."""
        view = DeliveriesView(self.session, message_id, self)
        view.setWindowFlag(Qt.WindowType.Window)
        view.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        view.setWindowTitle(f"Deliveries of {message_id} · {self.windowTitle()}")
        view.resize(1100, 420)
        view.show()
        return view

    # -- who, where, which mode ----------------------------------------------------------------------------------

    def show_mode(self, mode: palette.Mode | None, incident: str = "") -> None:
        """The incident views call this when an incident is open (and ``None`` when none is): the band shows
        LIVE or EXERCISE in words and shape, and so does the window title."""
        self.mode = mode
        self.incident_title = incident if mode else None
        self._show_band()

    def _show_band(self) -> None:
        """The band and the title speak for the open incident only where it is shown: elsewhere (the outbox, the
        audit log) rows of both modes sit side by side, each marked in its own row, and one band over them would
        mislead."""
        here = self.nav.currentItem() is not None and self.current_place() == INCIDENTS
        self.mode_band.show_mode(self.mode if here else None, (self.incident_title or "") if here else "")
        self._update_title(here)

    def _update_title(self, here: bool = True) -> None:
        base = f"crisisdesk: {self.workstation_name}: {self.actor.name}"
        if self.mode is None or not here:
            self.setWindowTitle(base)
        else:
            about = f" · {self.incident_title}" if self.incident_title else ""
            self.setWindowTitle(f"{self.mode.upper()}{about} · {base}")

    def refresh_attention(self) -> None:
        """Re-read the person's roles and what waits for them; update the header and the badges."""
        name = self.actor.name

        def look(app: App) -> tuple[Actor, Attention]:
            now = app.people.actor(name)
            return now, app.attention().for_person(now)

        self.session.tasks.run(look, self._show_attention, lambda e: self.statusBar().showMessage(str(e)), owner=self)

    def _show_attention(self, found: tuple[Actor, Attention]) -> None:
        actor, attention = found
        self.header.set_actor(actor)
        self.set_badge(APPROVALS, len(attention.approvals), urgent=bool(attention.approvals))
        self.set_badge(OUTBOX, attention.deliveries, urgent=attention.dead > 0)
        self.set_badge(INCIDENTS, attention.overdue, urgent=attention.overdue > 0)
        self.set_badge(MONITOR, attention.urgent_comments, urgent=attention.urgent_comments > 0)
        self._drill_notes = attention.notes
        self._show_new_notes()
        self.header.roles.setToolTip(f"{actor.name}'s roles now: {roles_text(actor)}")

    # -- menu, closing -------------------------------------------------------------------------------------------

    def _build_menu(self) -> None:
        """The menus; every key comes from ``dialogs.shortcuts.COMMANDS`` (Help → Keyboard shortcuts lists them)."""
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        new_incident = shortcuts.action(self, "new_incident", "N")
        new_incident.triggered.connect(self.new_incident)
        file_menu.addAction(new_incident)
        export = QAction("&Export audit log…", self)
        export.triggered.connect(self._export_audit)
        file_menu.addAction(export)
        file_menu.addSeparator()
        self.lock_action = shortcuts.action(self, "lock", "L")
        self.lock_action.triggered.connect(self.lock_requested)
        file_menu.addAction(self.lock_action)
        self.sign_out_action = shortcuts.action(self, "sign_out", "o")
        self.sign_out_action.triggered.connect(self.sign_out_requested)
        file_menu.addAction(self.sign_out_action)
        file_menu.addSeparator()
        quit_action = shortcuts.action(self, "quit", "Q")
        quit_action.triggered.connect(self.close)
        file_menu.addAction(quit_action)
        go_menu = bar.addMenu("&Go")
        for action in self.actions():
            if action.text().startswith(shortcuts.GO_TO.format(place="")):
                go_menu.addAction(action)
        view_menu = bar.addMenu("&View")
        find = shortcuts.action(self, "find", "S")
        find.triggered.connect(self.search_here)
        view_menu.addAction(find)
        refresh = shortcuts.action(self, "refresh", "R")
        refresh.triggered.connect(self.refresh)
        view_menu.addAction(refresh)
        help_menu = bar.addMenu("&Help")
        self.shortcuts_action = shortcuts.action(self, "shortcuts", "K")
        self.shortcuts_action.triggered.connect(self.show_shortcuts)
        help_menu.addAction(self.shortcuts_action)

    def new_incident(self) -> None:
        """New incident… from anywhere: the board comes forward with the dialog over it."""
        self.show_place(INCIDENTS)
        self.incidents.new_incident()

    def search_here(self) -> None:
        """Put the keyboard in the shown place's search or filter field (a line edit named for searching or
        filtering), with its text selected to type over; say so when the place has none."""
        page = self.stack.currentWidget()
        for edit in page.findChildren(QLineEdit) if page is not None else []:
            name = edit.accessibleName().casefold()
            if edit.isVisible() and edit.isEnabled() and ("search" in name or "filter" in name):
                edit.setFocus(Qt.FocusReason.ShortcutFocusReason)
                edit.selectAll()
                return
        self.statusBar().showMessage(f"{self.current_place()} has nothing to search here", 4000)

    def show_shortcuts(self) -> ShortcutsDialog:
        dialog = ShortcutsDialog(self.places, self)
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        self.shortcuts_dialog = dialog
        dialog.open()
        return dialog

    def _export_audit(self) -> None:
        self.audit.export_dialog()  # the Audit place is built here if it was not shown yet

    def refresh(self) -> None:
        """Look at the database now, as if the watcher had seen a change."""
        self.session.watcher.changed.emit()

    def dispose(self) -> None:
        """Close for good without asking anyone to quit (signing out, another person signing in)."""
        self._disposed = True
        self.session.tasks.stop()
        self.close()
        self.deleteLater()

    def closeEvent(self, event: QCloseEvent) -> None:
        if not self._disposed:
            self._disposed = True
            self.session.tasks.stop()
            self.quit_requested.emit()
        super().closeEvent(event)
