"""A published message's deliveries in place, offscreen: receipts that open, Retry, Retract with a confirm that names
what cannot be retracted and keeps Cancel the default, and the notification when a delivery goes dead."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QObject, Qt, QUrl, Slot
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import QMessageBox
from pytestqt.modeltest import ModelTester
from pytestqt.qtbot import QtBot

from crisisdesk.app import App
from crisisdesk.domain.roles import Actor
from crisisdesk.ui.models.deliveries import RECEIPT
from crisisdesk.ui.notify import DeadDeliveryNotifier
from crisisdesk.ui.views.deliveries import DeliveriesView
from crisisdesk.ui.views.main_window import MainWindow
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.support.http_servers import ReceiverState, sms_gateway, webhook_receiver


def save(widget: object, name: str) -> None:
    folder = os.environ.get("CRISISDESK_SCREENSHOTS")
    if folder:
        widget.grab().save(str(Path(folder) / f"{name}.png"))  # type: ignore[attr-defined]


class Opened(QObject):
    """Where QDesktopServices sends file:// links during a test: the receipt opens, nothing else starts."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


@pytest.fixture
def opened() -> Iterator[Opened]:
    handler = Opened()
    QDesktopServices.setUrlHandler("file", handler, "open")
    yield handler
    QDesktopServices.unsetUrlHandler("file")


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


@pytest.fixture
def hook(core: App, admin: Actor) -> Iterator[ReceiverState]:
    with webhook_receiver() as (url, state):
        core.channels().add(admin, "webhook", "county-hook", settings=[f"url={url}"], secret="k1")
        yield state


def row_of(view: DeliveriesView, account: str) -> int:
    return next(i for i in range(view.model.rowCount()) if view.model.row(i).row.account == account)


def test_deliveries_show_each_channel_open_receipts_retry_and_retract_with_a_safe_confirm(
    qtbot: QtBot, core: App, admin: Actor, team, hook: ReceiverState, opened: Opened
) -> None:  # type: ignore[no-untyped-def]
    core.channels().add(admin, "webhook", "radio-hook", settings=["url=http://127.0.0.1:9/hook"], secret="k")
    with sms_gateway() as (sms_url, gateway):
        core.channels().add(
            admin,
            "sms",
            "county-sms",
            settings=[f"base_url={sms_url}", f"account_sid={gateway.sid}", "from=+15550100", "to=+15550111"],
            secret=gateway.token,
        )
        inc = open_incident(core, team)
        hook.script.queue.append((401, {}, b'{"error": "bad signature"}'))
        msg = publish(core, team, inc, ["public-page", "county-hook", "radio-hook", "county-sms"])
        core.outbox().run_once()
    window = MainWindow(core, team["ivan"])
    qtbot.addWidget(window)
    view = DeliveriesView(window.session, msg.id)
    qtbot.addWidget(view)
    view.resize(1240, 420)
    view.show()
    ModelTester(None).check(view.model)  # type: ignore[arg-type]
    states = {view.model.row(i).row.account: view.model.cells(view.model.row(i))[2] for i in range(4)}
    assert states == {
        "public-page": "✔ sent",
        "county-sms": "✔ sent",
        "county-hook": "✖ DEAD: needs a person",
        "radio-hook": "failed: will retry",
    }
    assert "● LIVE" in view.heading.text() and "published" in view.heading.text()
    assert view.band.isVisible() and "LIVE" in view.band.label.text()
    assert "1 dead" in view.summary.text() and "2 sent" in view.summary.text()
    radio = view.model.cells(view.model.row(row_of(view, "radio-hook")))
    assert radio[4].endswith(")") and "in " in radio[4]  # the next try, with the time left
    sms = view.model.cells(view.model.row(row_of(view, "county-sms")))
    assert sms[7] == "cannot be retracted"
    save(view, "deliveries")

    # The page's receipt is a link; clicking it opens the file:// page through the desktop.
    page = row_of(view, "public-page")
    cell = view.model.index(page, RECEIPT)
    assert view.model.data(cell, Qt.ItemDataRole.FontRole).underline()
    qtbot.mouseClick(view.table.viewport(), Qt.MouseButton.LeftButton, pos=view.table.visualRect(cell).center())
    (url,) = opened.urls
    assert url.startswith("file://") and url.endswith(f"index.html#{msg.id}-v{msg.version}")

    # Retry the dead row: the webhook answers this time.
    view.table.selectRow(page)
    assert not view.retry_button.isEnabled()  # a sent row has nothing to retry
    view.table.selectRow(row_of(view, "county-hook"))
    assert view.retry_button.isEnabled()
    qtbot.mouseClick(view.retry_button, Qt.MouseButton.LeftButton)
    assert "sent again" in view.outcome.text()
    core.outbox().run_once()
    window.session.watcher.check()
    assert view.model.cells(view.model.row(row_of(view, "county-hook")))[2] == "✔ sent"
    assert view.selected() is not None and view.selected().row.account == "county-hook"  # type: ignore[union-attr]

    # Retract everywhere: the confirm names the channels, the mode, what cannot be retracted; Cancel is default.
    qtbot.mouseClick(view.retract_button, Qt.MouseButton.LeftButton)
    box = view.confirm
    assert box is not None and box.isVisible()
    text = box.text() + "\n" + box.informativeText()
    assert "LIVE" in box.text() and "every channel" in box.text()
    taken = next(line for line in text.splitlines() if line.startswith("Taken back (the channel deletes it): "))
    assert sorted(taken.split(": ", 1)[1].split(", ")) == ["county-hook (webhook)", "public-page (folder)"]
    assert "Stopped before it is sent: radio-hook (webhook)" in text
    assert "county-sms (sms): a text message cannot be recalled once delivered" in text
    assert box.defaultButton() is box.button(QMessageBox.StandardButton.Cancel)
    assert box.escapeButton() is box.button(QMessageBox.StandardButton.Cancel)
    save(box, "deliveries-retract-confirm")
    qtbot.keyClick(box, Qt.Key.Key_Return)  # Enter keeps everything as it is
    assert not box.isVisible() and view.outcome.text() == "Nothing was retracted."
    assert all(r.retract_state is None for r in core.outbox().rows(admin, message_id=msg.id))
    qtbot.mouseClick(view.retract_button, Qt.MouseButton.LeftButton)
    box = view.confirm
    go = next(b for b in box.buttons() if b.text().startswith("Retract on 4 channel"))
    qtbot.mouseClick(go, Qt.MouseButton.LeftButton)
    assert "Retraction asked on 4 channel(s)" in view.outcome.text()
    assert {r.retract_state for r in core.outbox().rows(admin, message_id=msg.id)} == {"requested"}


def test_who_may_not_retract_sees_it_disabled_and_a_refusal_reads_in_the_view(
    qtbot: QtBot, core: App, team, hook: ReceiverState
) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    msg = publish(core, team, inc, ["public-page"])
    core.outbox().run_once()
    window = MainWindow(core, team["carla"])
    qtbot.addWidget(window)
    view = DeliveriesView(window.session, msg.id)
    qtbot.addWidget(view)
    assert not view.retract_button.isEnabled() and "Only approvers" in view.retract_button.toolTip()
    view.table.selectRow(0)
    # The service decides: forced through, carla's retraction is refused and the refusal is what she reads.
    view.ask_retract(one_channel=True)
    box = view.confirm
    assert box is not None and "on public-page (folder)" in box.text()
    go = next(b for b in box.buttons() if b.text().startswith("Retract on 1 channel"))
    qtbot.mouseClick(go, Qt.MouseButton.LeftButton)
    assert "carla may not approve messages" in view.outcome.text()


def test_a_delivery_that_goes_dead_raises_a_banner_in_the_window(
    qtbot: QtBot, core: App, team, hook: ReceiverState
) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    hook.script.queue.append((401, {}, b'{"error": "bad signature"}'))
    before = publish(core, team, inc, ["county-hook"])
    core.outbox().run_once()  # dead before the window opened: the Outbox badge counts it, no banner
    window = MainWindow(core, team["ivan"])
    qtbot.addWidget(window)
    window.resize(1180, 720)
    window.show()
    notifier = window.notifier  # the window's own
    assert isinstance(notifier, DeadDeliveryNotifier) and notifier.banners == []
    shown: list[str] = []
    notifier.show_deliveries.connect(shown.append)
    hook.script.queue.append((403, {}, b"{}"))
    msg = publish(core, team, inc, ["county-hook"], message_type="update")
    core.outbox().run_once()
    assert window.session.watcher.check()
    (banner,) = notifier.banners
    assert banner.isVisible() and not banner.isWindow()  # in the window, not a modal dialog
    assert "county-hook (webhook)" in banner.title.text() and "LIVE" in banner.title.text()
    assert msg.id in banner.body.text() and "403" in banner.body.text() and before.id not in banner.body.text()
    assert window.badge("Outbox") == (2, True)
    save(window, "dead-delivery-notification")
    window.session.watcher.check()
    assert len(notifier.banners) == 1  # said once
    qtbot.mouseClick(banner.open_button, Qt.MouseButton.LeftButton)
    assert shown == [msg.id] and notifier.banners == []
    opened = next(w for w in window.findChildren(DeliveriesView) if w.message_id == msg.id)
    assert opened.isWindow() and opened.isVisible() and "DEAD" in opened.model.cells(opened.model.row(0))[2]
