"""The agency a workstation speaks for: its name, and the sender and identifier prefix of every CAP alert it makes.

They are set when the workstation is set up and changed in its settings, each change an event: the CAP sender is
what an IPAWS gateway and every receiver trust an alert by, so it is read from the log when an alert is made.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crisisdesk.domain.errors import UserError
from crisisdesk.domain.plain_text import control_character

# What a CAP alert says before the agency has set its sender: ".invalid" is reserved for names that can never be
# real (RFC 2606), so no receiver can take it for an agency, and 'cap validate --profile ipaws' names it.
UNSET_SENDER = "sender-not-set.invalid"
DEFAULT_PREFIX = "crisisdesk"
MAX_AGENCY_NAME = 160
MAX_SENDER = 120
_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,39}")  # fullmatch
_PLACEHOLDER = re.compile(r"(?i).*(@|\.|^)(localhost|invalid)")  # fullmatch


@dataclass(frozen=True, slots=True)
class Agency:
    name: str = ""
    cap_sender: str = ""
    cap_prefix: str = ""

    @property
    def sender(self) -> str:
        """The CAP <sender>: the agency's, or the reserved placeholder while it is not set."""
        return self.cap_sender or UNSET_SENDER

    @property
    def prefix(self) -> str:
        return self.cap_prefix or DEFAULT_PREFIX

    def identifier(self, local_id: str) -> str:
        """A CAP <identifier>: the agency's prefix, then the message's own id."""
        return f"{self.prefix}-{local_id}"

    def as_dict(self) -> dict[str, str]:
        return {"name": self.name, "cap_sender": self.cap_sender, "cap_prefix": self.cap_prefix}

    @classmethod
    def from_payload(cls, payload: Mapping[str, Any] | None) -> Agency:
        if not payload:
            return cls()
        return cls(
            name=str(payload.get("name", "")),
            cap_sender=str(payload.get("cap_sender", "")),
            cap_prefix=str(payload.get("cap_prefix", "")),
        )


def check_agency_name(text: str) -> str:
    name = text.strip()
    control = control_character(name)
    if control or len(name) > MAX_AGENCY_NAME:
        why = f"holds a control character ({control})" if control else f"is over {MAX_AGENCY_NAME} characters"
        raise UserError(f"the agency name {name[:40]!r} {why}: give it on one line, such as 'Mill County OES'")
    return name


def check_cap_sender(text: str) -> str:
    """A CAP sender: one word with no spaces, commas, '<' or '&' (CAP 1.2), and not a placeholder."""
    sender = text.strip()
    shown = sender[:40]
    if not sender:
        raise UserError(
            "the CAP sender is empty: give the sender ID your alerting authority uses, such as oes@county.gov"
        )
    if len(sender) > MAX_SENDER or control_character(sender) or any(c.isspace() or c in ",<&" for c in sender):
        raise UserError(
            f"the CAP sender {shown!r} is not one word of at most {MAX_SENDER} characters without spaces, commas, "
            "'<' or '&' (CAP 1.2): give it as oes@county.gov"
        )
    if _PLACEHOLDER.fullmatch(sender):
        raise UserError(f"the CAP sender {shown!r} is a placeholder: give the sender ID your alerting authority uses")
    return sender


def check_cap_prefix(text: str) -> str:
    prefix = text.strip()
    if not _PREFIX.fullmatch(prefix):
        raise UserError(
            f"the CAP identifier prefix {prefix[:40]!r} is not 1-40 letters, digits, '.', '_' or '-' starting with "
            "a letter or digit, such as CA-MillOES"
        )
    return prefix


def check_agency(name: str | None, cap_sender: str | None, cap_prefix: str | None) -> None:
    """Check whichever of the three is given (a person's mistake is named before anything is recorded)."""
    if name is not None:
        check_agency_name(name)
    if cap_sender is not None:
        check_cap_sender(cap_sender)
    if cap_prefix is not None:
        check_cap_prefix(cap_prefix)
