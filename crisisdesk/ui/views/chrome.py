"""The parts of the window around the places: the header, the LIVE/EXERCISE band, the badges, placeholders."""

from __future__ import annotations

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QStyle,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.domain.roles import Actor
from crisisdesk.ui import palette
from crisisdesk.ui.dialogs import shortcuts

BADGE_COUNT_ROLE = Qt.ItemDataRole.UserRole + 1
BADGE_URGENT_ROLE = Qt.ItemDataRole.UserRole + 2


def roles_text(actor: Actor) -> str:
    return ", ".join(sorted(r.value for r in actor.roles)) or "no roles"


class Header(QFrame):
    """Always in view: who acts, with their roles as the log gives them now, and on which workstation."""

    def __init__(self, actor: Actor, workstation: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("header")
        self.setFrameShape(QFrame.Shape.StyledPanel)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 10, 6)
        self.person = QLabel()
        self.person.setTextFormat(Qt.TextFormat.PlainText)
        self.person.setAccessibleName("Signed in as")
        font = self.person.font()
        font.setPointSizeF(font.pointSizeF() * 1.15)
        font.setBold(True)
        self.person.setFont(font)
        self.roles = QLabel()
        self.roles.setTextFormat(Qt.TextFormat.PlainText)
        self.roles.setAccessibleName("Roles")
        self.workstation = QLabel(f"Workstation: {workstation}")
        self.workstation.setTextFormat(Qt.TextFormat.PlainText)
        self.workstation.setAccessibleName("Workstation")
        self.lock_button = QPushButton("Lock")
        self.lock_button.setAccessibleName("Lock the console")
        self.lock_button.setToolTip(f"Hide the console until someone signs in ({shortcuts.COMMANDS['lock'].text()})")
        self.sign_out_button = QPushButton("Sign out")
        self.sign_out_button.setAccessibleName("Sign out")
        self.sign_out_button.setToolTip(
            f"Sign out and let another person sign in ({shortcuts.COMMANDS['sign_out'].text()})"
        )
        layout.addWidget(self.person)
        layout.addWidget(self.roles)
        layout.addSpacing(24)
        layout.addWidget(self.workstation)
        layout.addStretch(1)
        layout.addWidget(self.lock_button)
        layout.addWidget(self.sign_out_button)
        self.set_actor(actor)

    def set_actor(self, actor: Actor) -> None:
        self.person.setText(f"Signed in as {actor.name}")
        self.roles.setText(f"({roles_text(actor)})")


class ModeBand(QFrame):
    """The LIVE or EXERCISE band an incident view raises while an incident is open.

    Told apart without colour: LIVE is a solid band that says LIVE and that messages reach the public;
    EXERCISE is a striped band with a dashed edge that says EXERCISE at both ends. Hidden when no incident
    is open (``show_mode(None)``)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("modeBand")
        self.mode: palette.Mode | None = None
        layout = QHBoxLayout(self)
        layout.setContentsMargins(12, 6, 12, 6)
        self.label = QLabel()
        self.label.setTextFormat(Qt.TextFormat.PlainText)
        self.label.setAccessibleName("Incident mode")
        font = self.label.font()
        font.setBold(True)
        font.setPointSizeF(font.pointSizeF() * 1.3)
        self.label.setFont(font)
        layout.addWidget(self.label, 1)
        self.hide()

    def show_mode(self, mode: palette.Mode | None, incident: str = "") -> None:
        self.mode = mode
        if mode is None:
            self.hide()
            return
        background, foreground = palette.band_colours(mode)
        about = f"  ·  {incident}" if incident else ""
        if mode == "live":
            text = f"●  LIVE{about}  ·  messages reach the public"
        else:
            text = f"▨  EXERCISE{about}  ·  nothing reaches the public  ·  EXERCISE"
        self.label.setText(text)
        self.label.setStyleSheet(f"color: {foreground.name()}; background: transparent;")
        self.setAccessibleDescription(text)
        self.background = background
        self.show()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self.mode is None:
            return
        painter = QPainter(self)
        rect = self.rect()
        painter.fillRect(rect, self.background)
        if self.mode == "exercise":
            # Stripes and a dashed edge: an exercise looks different in greyscale too. Drawn as lines in the band's
            # own (device-independent) units: a pattern brush is drawn in device pixels, half as big and faint at 2x.
            painter.setRenderHint(QPainter.RenderHint.Antialiasing)
            painter.setPen(QPen(self.background.lighter(135), 2))
            step, height = max(6, self.fontMetrics().height() // 2), rect.height()
            for x in range(-height, rect.width() + height, step):
                painter.drawLine(x, height, x + height, 0)
            pen = QPen(palette.band_colours("exercise")[1], 2, Qt.PenStyle.DashLine)
            painter.setPen(pen)
            painter.drawRect(rect.adjusted(1, 1, -2, -2))
        painter.end()


class BadgeDelegate(QStyledItemDelegate):
    """Draws a place's count at the right of its row: urgent counts red and filled, the rest grey and outlined
    (so they differ in greyscale); no badge at zero."""

    def paint(
        self, painter: QPainter, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().paint(painter, option, index)
        count = index.data(BADGE_COUNT_ROLE)
        if not count:
            return
        urgent = bool(index.data(BADGE_URGENT_ROLE))
        text = str(count) if count < 1000 else "999+"
        metrics = option.fontMetrics
        height = metrics.height() + 4
        width = max(height, metrics.horizontalAdvance(text) + 14)
        rect: QRect = option.rect
        pill = QRect(rect.right() - width - 8, rect.center().y() - height // 2, width, height)
        background, foreground = palette.badge_colours(urgent, option.palette)
        painter.save()
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        if urgent:
            painter.setBrush(background)
            painter.setPen(Qt.PenStyle.NoPen)
        else:
            # Outlined in the row's own text colour: readable on the selection highlight too.
            selected = bool(option.state & QStyle.StateFlag.State_Selected)
            foreground = (
                option.palette.color(QPalette.ColorRole.HighlightedText)
                if selected
                else palette.state_colour("muted", option.palette)
            )
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.setPen(QPen(foreground, 1.5))
        painter.drawRoundedRect(pill, height / 2, height / 2)
        font = painter.font()
        font.setBold(True)
        painter.setFont(font)
        painter.setPen(foreground)
        painter.drawText(pill, Qt.AlignmentFlag.AlignCenter, text)
        painter.restore()

    def sizeHint(self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex) -> QSize:
        size = super().sizeHint(option, index)
        return QSize(size.width() + 48, max(size.height(), 34))


class PlaceholderPage(QWidget):
    """A place that is not built yet: says what will come, so nobody hunts for it (the window shows its name)."""

    def __init__(self, title: str, coming: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 12, 12, 12)
        self.body = QLabel(coming)
        self.body.setTextFormat(Qt.TextFormat.PlainText)
        self.body.setWordWrap(True)
        self.body.setAccessibleName(f"{title}: what comes here")
        self.body.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.body.setFrameShape(QFrame.Shape.StyledPanel)
        self.body.setMargin(16)
        layout.addWidget(self.body)
        layout.addStretch(1)
