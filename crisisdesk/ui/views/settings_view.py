"""The Settings place: its pages listed on the left, one shown on the right.

Pages are built the first time they are shown (a page reads its rows in a task when built):

    view = SettingsView(session)
    view.add_page("Feed sources", lambda: FeedSourcesPage(session), about="Where monitoring reads from")
    view.show_page("People")

Admins change things; everyone else sees what they may see, read-only, each page saying why.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractItemView,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.domain.roles import Permission
from crisisdesk.services.people import IDLE_LOCK_MAX_MINUTES
from crisisdesk.ui.session import Session
from crisisdesk.ui.views import settings_feeds, settings_playbooks, settings_rules
from crisisdesk.ui.views.chrome import roles_text
from crisisdesk.ui.views.settings_accounts import AccountsPage
from crisisdesk.ui.views.settings_common import StatusLine, plain_label, read_only_note
from crisisdesk.ui.views.settings_people import PeoplePage

PEOPLE = "People"
ACCOUNTS = "Channel accounts"
WORKSTATION = "This workstation"


@dataclass
class _Page:
    title: str
    about: str
    build: Callable[[], QWidget] | None
    holder: QWidget  # stands in the stack until the page is built
    widget: QWidget | None = None


class SettingsView(QWidget):
    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.list = QListWidget()
        self.list.setAccessibleName("Settings pages")
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setMaximumWidth(190)
        self.list.setSpacing(3)
        layout.addWidget(self.list)
        layout.addSpacing(8)
        right = QVBoxLayout()
        self.title = QLabel()
        self.title.setAccessibleName("Settings page")
        font = self.title.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.2)
        self.title.setFont(font)
        right.addWidget(self.title)
        self.about = plain_label(name="What this page is for", state="muted")
        right.addWidget(self.about)
        self.stack = QStackedWidget()
        right.addWidget(self.stack, 1)
        layout.addLayout(right, 1)
        self._pages: list[_Page] = []
        self.list.currentRowChanged.connect(self._page_changed)

        self.add_page(
            PEOPLE,
            lambda: PeoplePage(session),
            about="Who may sign in, with which roles. A disabled person cannot sign in; their past stays in the log.",
        )
        self.add_page(
            ACCOUNTS,
            lambda: AccountsPage(session),
            about="Where messages go. EXERCISE accounts never share a destination with LIVE ones; secrets live in "
            "this computer's keyring.",
        )
        self.add_page(
            settings_feeds.TITLE, lambda: settings_feeds.Page(session, heading=False), about=settings_feeds.ABOUT
        )
        self.add_page(
            settings_rules.TITLE, lambda: settings_rules.Page(session, heading=False), about=settings_rules.ABOUT
        )
        self.add_page(
            settings_playbooks.TITLE,
            lambda: settings_playbooks.Page(session, heading=False),
            about=settings_playbooks.ABOUT,
        )
        self.add_page(
            WORKSTATION,
            lambda: WorkstationPage(session),
            about="This computer's name, its database and when the console locks itself.",
        )

    def add_page(self, title: str, build: Callable[[], QWidget], about: str = "") -> None:
        """Add a page at the end of the list; ``build`` makes its widget the first time it is shown."""
        if any(p.title == title for p in self._pages):
            raise ValueError(f"Settings already has a page {title!r}")
        holder = QWidget()
        self._pages.append(_Page(title, about, build, holder))
        self.stack.addWidget(holder)
        self.list.addItem(title)
        item = self.list.item(self.list.count() - 1)
        item.setToolTip(about or title)
        item.setData(Qt.ItemDataRole.AccessibleTextRole, title)
        if self.list.currentRow() < 0:
            self.list.setCurrentRow(0)

    @property
    def titles(self) -> list[str]:
        return [p.title for p in self._pages]

    def show_page(self, title: str) -> QWidget:
        self.list.setCurrentRow(self.titles.index(title))
        return self.page(title)

    def page(self, title: str) -> QWidget:
        """The page's widget, built now if it has not been shown yet."""
        return self._built(self._pages[self.titles.index(title)])

    def current_title(self) -> str:
        row = self.list.currentRow()
        return self._pages[row].title if row >= 0 else ""

    def _built(self, page: _Page) -> QWidget:
        if page.widget is None:
            assert page.build is not None
            page.widget = page.build()
            page.build = None
            index = self.stack.indexOf(page.holder)
            self.stack.insertWidget(index, page.widget)
            self.stack.removeWidget(page.holder)
            page.holder.deleteLater()
        return page.widget

    def _page_changed(self, row: int) -> None:
        if not 0 <= row < len(self._pages):
            return
        page = self._pages[row]
        self.stack.setCurrentWidget(self._built(page))
        self.title.setText(page.title)
        self.about.setText(page.about)
        self.about.setVisible(bool(page.about))


class WorkstationPage(QWidget):
    """This workstation: its name, its database file, the idle lock (an admin changes it) and who is signed in."""

    def __init__(self, session: Session, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.session = session
        self.admin = session.actor.may(Permission.MANAGE_PEOPLE)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        note = read_only_note(session.actor, Permission.MANAGE_PEOPLE, "this workstation's settings")
        if note is not None:
            layout.addWidget(note)
        form = QFormLayout()
        self.name = plain_label(name="Workstation name")
        form.addRow("Name", self.name)
        self.database = plain_label(name="Database file")
        form.addRow("Database", self.database)
        self.idle = QSpinBox()
        self.idle.setAccessibleName("Idle lock in minutes (0: never)")
        self.idle.setRange(0, IDLE_LOCK_MAX_MINUTES)
        self.idle.setSuffix(" min")
        self.idle.setSpecialValueText("never")
        self.idle.lineEdit().setAccessibleName("Idle lock in minutes (0: never)")
        self.idle.setEnabled(self.admin)
        self.save = QPushButton("Save idle lock")
        self.save.setAccessibleName("Save idle lock")
        self.save.setEnabled(self.admin)
        self.save.setToolTip("Takes effect the next time the console starts" if self.admin else "Only an admin")
        self.save.clicked.connect(self.save_idle_lock)
        row = QHBoxLayout()
        row.addWidget(self.idle)
        row.addWidget(self.save)
        row.addStretch(1)
        idle = QVBoxLayout()
        idle.addLayout(row)
        idle.addWidget(
            plain_label(
                "0 never locks. A change takes effect the next time the console starts.",
                name="About the idle lock",
                state="muted",
            )
        )
        form.addRow("Lock when idle for", idle)
        actor = session.actor
        self.signed_in = plain_label(f"{actor.name} ({roles_text(actor)})", name="Signed in")
        form.addRow("Signed in", self.signed_in)
        layout.addLayout(form)
        self.status = StatusLine("What the last change did")
        layout.addWidget(self.status)
        layout.addStretch(1)
        self.loaded = False
        self.reload()

    def reload(self) -> None:
        self.session.tasks.run(
            lambda app: (app.people.workstation_name(), str(app.db.path), app.people.idle_lock_minutes()),
            self._show,
            lambda error: self.status.say(f"This workstation's settings could not be read: {error}", "bad"),
            owner=self,
        )

    def _show(self, found: tuple[str, str, int]) -> None:
        name, path, minutes = found
        self.name.setText(name)
        self.database.setText(path)
        self.idle.setValue(minutes)
        self.loaded = True

    def save_idle_lock(self) -> None:
        minutes, actor = self.idle.value(), self.session.actor
        self.session.tasks.run(
            lambda app: app.people.set_idle_lock_minutes(actor, minutes),
            lambda m: self.status.say(
                f"The console will lock after {m} idle minutes, from its next start."
                if m
                else "The console will never lock when idle, from its next start.",
                "ok",
            ),
            lambda error: self.status.say(str(error), "bad"),
            owner=self,
        )
