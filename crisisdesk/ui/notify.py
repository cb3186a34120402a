"""Dead deliveries raise a notification: a banner in the window that stays until someone dismisses it, and a
message in the system tray where there is one.

    notifier = DeadDeliveryNotifier(window.session, window)
    notifier.show_deliveries.connect(open_deliveries_of)   # the banner's "Show deliveries" (a message id)

It asks the deliveries service on each change the watcher sees (through the task helper), with a bookmark in the
log: its first look only sets the bookmark (what was dead before is counted on the Outbox badge), and each later
look names the deliveries that went dead since, once each.
"""

from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QSystemTrayIcon,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.services.deliveries import DeadDelivery, DeadNews
from crisisdesk.ui import palette
from crisisdesk.ui.models.deliveries import mode_words
from crisisdesk.ui.session import Session

MAX_BANNERS = 4  # more at once are summed up in the last one: the Outbox place lists them all
BANNER_WIDTH = 440


def dead_words(d: DeadDelivery) -> tuple[str, str]:
    title = f"✖ Delivery gave up: {d.account} ({d.kind})  [{mode_words(d.mode)}]"
    body = (
        f"{d.message_id} did not reach {d.account}: {d.reason}\n"
        "A person must act: retry it, or reach people another way."
    )
    return title, body


class Banner(QFrame):
    """One dead delivery, over the top right of the window; non-modal, it stays until dismissed."""

    dismissed = Signal()
    show_deliveries = Signal(str)

    def __init__(self, title: str, body: str, message_id: str, parent: QWidget) -> None:
        super().__init__(parent)
        self.setObjectName("deadDeliveryBanner")
        self.setFrameShape(QFrame.Shape.Box)
        self.setLineWidth(2)
        self.setAutoFillBackground(True)
        self.setFixedWidth(BANNER_WIDTH)
        self.setAccessibleName("Dead delivery notification")
        self.setAccessibleDescription(f"{title}. {body}")
        bad = palette.state_colour("bad")
        ground = palette.current().color(QPalette.ColorRole.Window)
        # Opaque: the banner lies over the page, whose text must not show through it.
        self.setStyleSheet(
            f"QFrame#deadDeliveryBanner {{ border: 2px solid {bad.name()}; background: {ground.name()}; }}"
        )
        layout = QVBoxLayout(self)
        self.title = QLabel(title)
        self.title.setTextFormat(Qt.TextFormat.PlainText)
        self.title.setWordWrap(True)
        self.title.setStyleSheet(palette.text_style("bad"))
        self.title.setAccessibleName("What happened")
        self.body = QLabel(body)
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setWordWrap(True)
        self.body.setAccessibleName("Why, and what to do")
        layout.addWidget(self.title)
        layout.addWidget(self.body)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        self.open_button = QPushButton("Show deliveries")
        self.open_button.setAccessibleName(f"Show the deliveries of {message_id}")
        self.open_button.setAutoDefault(False)
        self.open_button.clicked.connect(self._open)
        self.dismiss_button = QPushButton("Dismiss")
        self.dismiss_button.setAccessibleName("Dismiss this notification")
        self.dismiss_button.setAutoDefault(False)
        self.dismiss_button.clicked.connect(self.dismissed)
        buttons.addWidget(self.open_button)
        buttons.addWidget(self.dismiss_button)
        layout.addLayout(buttons)
        self.message_id = message_id

    def _open(self) -> None:
        self.show_deliveries.emit(self.message_id)
        self.dismissed.emit()


class DeadDeliveryNotifier(QObject):
    show_deliveries = Signal(str)

    def __init__(self, session: Session, window: QWidget, *, tray: bool | None = None) -> None:
        super().__init__(window)
        self.session = session
        self.window = window
        self.cursor: int | None = None
        self.banners: list[Banner] = []
        self.tray: QSystemTrayIcon | None = None
        if tray if tray is not None else QSystemTrayIcon.isSystemTrayAvailable():
            icon = window.windowIcon()
            if icon.isNull():
                icon = window.style().standardIcon(QStyle.StandardPixmap.SP_MessageBoxCritical)
            self.tray = QSystemTrayIcon(icon, self)
            self.tray.setToolTip("crisisdesk")
            self.tray.show()
        window.installEventFilter(self)
        session.watcher.changed.connect(self.look)
        self.look()

    def look(self) -> None:
        actor, after = self.session.actor, self.cursor
        self.session.tasks.run(
            lambda app: app.deliveries().dead_since(actor, after),
            self._heard,
            lambda _: None,  # a person who may not read hears of nothing; the watcher asks again
            owner=self.window,
        )

    def _heard(self, news: DeadNews) -> None:
        if self.cursor is not None and news.cursor < self.cursor:
            return  # an older look answered late
        self.cursor = news.cursor
        for d in news.deliveries:
            self.notify(d)

    def notify(self, d: DeadDelivery) -> None:
        title, body = dead_words(d)
        if len(self.banners) >= MAX_BANNERS:
            last = self.banners[-1]
            extra = int(last.property("more") or 0) + 1
            last.setProperty("more", extra)
            last.body.setText(f"{body}\n…and {extra} more dead deliveries: see the Outbox place.")
        else:
            banner = Banner(title, body, d.message_id, self.window)
            banner.dismissed.connect(lambda b=banner: self.dismiss(b))
            banner.show_deliveries.connect(self.show_deliveries)
            self.banners.append(banner)
            banner.show()
            banner.raise_()
            self._place()
        if self.tray is not None:
            self.tray.showMessage(title, body, QSystemTrayIcon.MessageIcon.Critical, 0)

    def dismiss(self, banner: Banner) -> None:
        if banner in self.banners:
            self.banners.remove(banner)
        banner.hide()
        banner.deleteLater()
        self._place()

    def _place(self) -> None:
        """Stack the banners down the window's top right, below its header."""
        y = 96
        for banner in self.banners:
            # Wrapped labels: the height that fits the fixed width (adjustSize guessed it, with gaps).
            banner.resize(banner.width(), banner.heightForWidth(banner.width()))
            banner.move(max(8, self.window.width() - banner.width() - 16), y)
            banner.raise_()
            y += banner.height() + 8

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.window and event.type() == QEvent.Type.Resize:
            self._place()
        return False
