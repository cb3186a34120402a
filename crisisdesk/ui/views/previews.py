"""How a variant will look where it lands: an SMS bubble with its parts marked, a WEA alert on a phone at 90 and 360
characters, a post card for Mastodon, Bluesky, X and Facebook, an email with its subject, the CAP summary, and the
public page's entry.

Every text shown here is untrusted (typed by a person, rendered from facts): it goes into labels set to plain text,
never rich text. Colours come from the palette in use (style sheets name palette roles), so the previews read in
light and dark alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from crisisdesk.channels.public_page import LABELS as PAGE_LABELS
from crisisdesk.domain.composing import sms_parts
from crisisdesk.domain.text_rules import gsm7_septets, is_gsm7, ucs2_units
from crisisdesk.services.composer import CapSummary
from crisisdesk.ui import palette
from crisisdesk.ui.when import full, moment_text

CHANNEL_NAMES = {
    "sms": "SMS",
    "wea-90": "WEA 90",
    "wea-360": "WEA 360",
    "x": "X",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "facebook": "Facebook",
    "email-subject": "Email subject",
    "email-body": "Email body",
    "web": "Public page",
    "cap-headline": "CAP headline",
    "cap-description": "CAP description",
    "cap-instruction": "CAP instruction",
}
CHANNEL_ORDER = tuple(CHANNEL_NAMES)
SMS_PARTS_SHOWN = 12  # a longer text is refused anyway (four parts at most); the rest is counted, not drawn
PHONE_WIDTH = 205


def channel_name(channel: str) -> str:
    return CHANNEL_NAMES.get(channel, channel)


@dataclass(frozen=True)
class PreviewInput:
    """What a preview draws: the texts of one language (with the person's unsaved edits), the mode, and names."""

    channel: str
    lang: str
    texts: Mapping[str, str]  # channel -> text, in ``lang``
    mode: str
    sender: str
    message_type: str
    cap: CapSummary | None
    accounts: Sequence[str]  # the chosen accounts' names that would carry this channel


def cap_moment(value: str | None) -> tuple[str, str]:
    """A CAP time (ISO with the incident's offset) as a person reads it, in that offset, and the value as the CAP
    writes it (for the tooltip). Anything else is shown as it is."""
    if not value:
        return "", ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value, ""
    return moment_text(moment, moment.tzinfo), f"{full(moment, moment.tzinfo)} (in the CAP: {value})"


def plain(text: str, *, name: str, wrap: bool = True, selectable: bool = True) -> QLabel:
    label = QLabel(text)
    label.setTextFormat(Qt.TextFormat.PlainText)  # untrusted: never rich text
    label.setWordWrap(wrap)
    label.setAccessibleName(name)
    if selectable:
        label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


def caption(text: str, *, name: str) -> QLabel:
    label = plain(text, name=name, selectable=False)
    label.setStyleSheet(palette.text_style("muted", bold=False))
    return label


def bold(label: QLabel, scale: float = 1.0) -> QLabel:
    font = label.font()
    font.setBold(True)
    if scale != 1.0:
        font.setPointSizeF(font.pointSizeF() * scale)
    label.setFont(font)
    return label


class _Card(QFrame):
    """A rounded frame in the palette's base colour."""

    def __init__(self, object_name: str, radius: int = 10, border: str = "mid", width: int = 1) -> None:
        super().__init__()
        self.setObjectName(object_name)
        self.setStyleSheet(
            f"QFrame#{object_name} {{ background: palette(base); border: {width}px solid palette({border});"
            f" border-radius: {radius}px; }}"
        )
        self.body = QVBoxLayout(self)
        self.body.setContentsMargins(12, 10, 12, 10)


def sms_preview(p: PreviewInput) -> QWidget:
    text = p.texts.get("sms", "")
    parts = sms_parts(text)
    gsm = is_gsm7(text)
    box = QWidget()
    layout = QVBoxLayout(box)
    encoding = "GSM-7 (160 a text, 153 a part)" if gsm else "UCS-2 (70 a text, 67 a part)"
    layout.addWidget(caption(f"Text message from {', '.join(p.accounts) or 'the SMS gateway'}", name="SMS sender"))
    layout.addWidget(caption(f"{len(parts)} part(s), sent as {encoding}", name="SMS parts and encoding"))
    bubble = _Card("smsBubble", radius=16)
    bubble.setStyleSheet(
        "QFrame#smsBubble { background: palette(alternate-base); border: 1px solid palette(mid); border-radius: 16px; }"
    )
    bubble.setMaximumWidth(PHONE_WIDTH + 80)
    for i, part in enumerate(parts[:SMS_PARTS_SHOWN], start=1):
        size = gsm7_septets(part) if gsm else ucs2_units(part)
        unit = "septets" if gsm else "units"
        if len(parts) > 1:
            marker = caption(f"── part {i} of {len(parts)} · {size} {unit} ──", name=f"SMS part {i} marker")
            bubble.body.addWidget(marker)
        bubble.body.addWidget(plain(part, name=f"SMS part {i}"))
    if len(parts) > SMS_PARTS_SHOWN:
        bubble.body.addWidget(caption(f"… and {len(parts) - SMS_PARTS_SHOWN} more parts", name="SMS parts left out"))
    if not parts:
        bubble.body.addWidget(caption("(empty: nothing would be sent)", name="SMS empty"))
    layout.addWidget(bubble)
    layout.addStretch(1)
    return box


def _phone(title: str, text: str, limit: int, name: str) -> QWidget:
    phone = _Card(f"phone{limit}", radius=22, border="window-text", width=6)
    phone.setFixedWidth(PHONE_WIDTH)
    phone.setMinimumHeight(300)
    phone.body.setContentsMargins(16, 26, 16, 26)
    alert = _Card(f"alert{limit}", radius=8)
    alert.body.addWidget(bold(plain(title, name=f"{name} heading", selectable=False)))
    alert.body.addWidget(plain(text or "(empty)", name=name))
    phone.body.addWidget(alert)
    phone.body.addStretch(1)
    column = QWidget()
    layout = QVBoxLayout(column)
    layout.addWidget(caption(f"WEA {limit}: {len(text)} of {limit} characters", name=f"{name} count"))
    layout.addWidget(phone)
    return column


def wea_preview(p: PreviewInput) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    title = "Emergency Alert" if p.lang == "en" else "Alerta de emergencia"
    if p.cap and p.cap.infos and p.cap.infos[0].severity == "Extreme":
        title += " · Extreme"
    layout.addWidget(caption("A phone in the area shows (the 90-character text on older phones):", name="WEA about"))
    row = QHBoxLayout()
    row.addWidget(_phone(title, p.texts.get("wea-90", ""), 90, "WEA 90 alert"))
    row.addWidget(_phone(title, p.texts.get("wea-360", ""), 360, "WEA 360 alert"))
    row.addStretch(1)
    layout.addLayout(row)
    layout.addStretch(1)
    return box


def post_preview(p: PreviewInput) -> QWidget:
    network = channel_name(p.channel)
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.addWidget(caption(f"A post on {network}", name="Post network"))
    card = _Card("postCard", radius=12)
    card.setMaximumWidth(520)
    head = QHBoxLayout()
    initials = "".join(w[0] for w in p.sender.split()[:2] if w).upper() or "?"
    avatar = bold(plain(initials, name="Post avatar", selectable=False))
    avatar.setObjectName("avatar")
    avatar.setAlignment(Qt.AlignmentFlag.AlignCenter)
    avatar.setFixedSize(40, 40)
    avatar.setStyleSheet(
        "QLabel#avatar { background: palette(highlight); color: palette(highlighted-text); border-radius: 20px; }"
    )
    head.addWidget(avatar)
    who = QVBoxLayout()
    who.addWidget(bold(plain(p.sender or "Your agency", name="Post author")))
    account = f"@{', @'.join(p.accounts)} · now" if p.accounts else f"no {network} channel chosen: not sent"
    who.addWidget(caption(account, name="Post account"))
    head.addLayout(who, 1)
    card.body.addLayout(head)
    card.body.addWidget(plain(p.texts.get(p.channel, "") or "(empty)", name="Post text"))
    card.body.addWidget(caption("Reply · Repost · Like", name="Post actions"))
    layout.addWidget(card)
    layout.addStretch(1)
    return box


def email_preview(p: PreviewInput) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    card = _Card("emailCard", radius=4)
    form = QFormLayout()
    form.addRow(
        plain("From:", name="From label", selectable=False), plain(p.sender or "Your agency", name="Email from")
    )
    form.addRow(
        plain("To:", name="To label", selectable=False),
        plain(", ".join(p.accounts) or "(no email channel chosen)", name="Email to"),
    )
    form.addRow(
        plain("Subject:", name="Subject label", selectable=False),
        bold(plain(p.texts.get("email-subject", "") or "(no subject)", name="Email subject")),
    )
    card.body.addLayout(form)
    rule = QFrame()
    rule.setFrameShape(QFrame.Shape.HLine)
    card.body.addWidget(rule)
    card.body.addWidget(plain(p.texts.get("email-body", "") or "(empty)", name="Email body"))
    layout.addWidget(card)
    layout.addStretch(1)
    return box


def cap_preview(p: PreviewInput) -> QWidget:
    box = QWidget()
    layout = QVBoxLayout(box)
    cap = p.cap
    if cap is None:
        layout.addWidget(caption("The CAP summary is being read…", name="CAP summary"))
        return box
    card = _Card("capCard", radius=4)
    form = QFormLayout()
    status = plain(f"{cap.status} · {cap.msg_type}", name="CAP status")
    status.setStyleSheet(palette.text_style("exercise" if cap.status == "Exercise" else "live"))
    form.addRow(plain("Status:", name="Status label", selectable=False), status)
    info = next((i for i in cap.infos if i.lang.startswith(p.lang)), cap.infos[0] if cap.infos else None)
    if info is not None:
        form.addRow(plain("Event:", name="Event label", selectable=False), plain(info.event, name="CAP event"))
        form.addRow(plain("Urgency:", name="Urgency label", selectable=False), plain(info.urgency, name="CAP urgency"))
        form.addRow(
            plain("Severity:", name="Severity label", selectable=False), plain(info.severity, name="CAP severity")
        )
        form.addRow(
            plain("Certainty:", name="Certainty label", selectable=False), plain(info.certainty, name="CAP certainty")
        )
        form.addRow(
            plain("Response:", name="Response label", selectable=False), plain(info.response, name="CAP response")
        )
        form.addRow(
            plain("Area:", name="Area label", selectable=False),
            plain("; ".join(info.areas) or "(no area)", name="CAP area"),
        )
        shown, written = cap_moment(info.expires)
        expiry = plain(shown or "(none)", name="CAP expiry")
        expiry.setToolTip(written)
        form.addRow(
            plain("Expires:", name="Expires label", selectable=False),
            expiry,
        )
        form.addRow(plain("Language:", name="Language label", selectable=False), plain(info.lang, name="CAP language"))
    if cap.references:
        form.addRow(
            plain("References:", name="References label", selectable=False),
            plain(cap.references, name="CAP references"),
        )
    card.body.addLayout(form)
    for channel, title in (
        ("cap-headline", "Headline"),
        ("cap-description", "Description"),
        ("cap-instruction", "Instruction"),
    ):
        card.body.addWidget(bold(plain(title, name=f"CAP {title} label", selectable=False)))
        card.body.addWidget(plain(p.texts.get(channel, "") or "(empty)", name=f"CAP {title}"))
    layout.addWidget(card)
    layout.addWidget(caption(f"As saved: version {cap.identifier}", name="CAP identifier"))
    layout.addStretch(1)
    return box


def page_preview(p: PreviewInput) -> QWidget:
    """The entry the public page shows, as the folder channel writes it: a heading (the CAP headline, else the
    email subject), the page text in paragraphs, and a line with the message type."""
    box = QWidget()
    layout = QVBoxLayout(box)
    layout.addWidget(caption("On the public page (index.html):", name="Page about"))
    card = _Card("pageEntry", radius=0, border="mid")
    card.setStyleSheet(
        "QFrame#pageEntry { background: palette(base); border: none; border-left: 6px solid palette(window-text); }"
    )
    heading = p.texts.get("cap-headline") or p.texts.get("email-subject") or "(no heading)"
    words = PAGE_LABELS.get(p.lang.partition("-")[0], PAGE_LABELS["en"])
    mode = "exercise" if p.mode == "exercise" else "live"
    marker = ("▨ " if mode == "exercise" else "● ") + words[mode]  # in words on the page as here, not colour alone
    card.body.addWidget(bold(plain(f"{marker}  {heading}", name="Page heading"), 1.15))
    if mode == "exercise":
        card.body.addWidget(bold(plain(words["exercise-note"], name="Page exercise note")))
    for i, para in enumerate(x.strip() for x in p.texts.get("web", "").split("\n\n")):
        if para:
            card.body.addWidget(plain(para, name=f"Page paragraph {i + 1}"))
    exercise = " · EXERCISE" if p.mode == "exercise" else ""
    card.body.addWidget(caption(f"{p.message_type} · when published{exercise}", name="Page meta"))
    layout.addWidget(card)
    layout.addStretch(1)
    return box


PREVIEWS = {
    "sms": sms_preview,
    "wea-90": wea_preview,
    "wea-360": wea_preview,
    "x": post_preview,
    "mastodon": post_preview,
    "bluesky": post_preview,
    "facebook": post_preview,
    "email-subject": email_preview,
    "email-body": email_preview,
    "web": page_preview,
    "cap-headline": cap_preview,
    "cap-description": cap_preview,
    "cap-instruction": cap_preview,
}


class PreviewPane(QScrollArea):
    """Shows the preview of one variant; ``show_preview`` redraws it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Preview")
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.kind = ""
        self.setWidget(caption("Choose a text to see how it lands.", name="Preview empty"))

    def show_preview(self, p: PreviewInput) -> None:
        build = PREVIEWS.get(p.channel, page_preview)
        widget = build(p)
        widget.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Preferred)
        self.kind = build.__name__.removesuffix("_preview")
        old = self.takeWidget()
        self.setWidget(widget)
        if old is not None:
            old.deleteLater()
