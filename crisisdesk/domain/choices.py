"""Reading a person's choice (a role, a channel, a mode...) into an enum, with an error that lists the options."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from crisisdesk.domain.errors import UserError

E = TypeVar("E", bound=StrEnum)


def parse_choice(cls: type[E], text: str, what: str) -> E:
    try:
        return cls(text.strip().lower())
    except ValueError:
        raise UserError(f"unknown {what} {text!r}: choose one of {', '.join(m.value for m in cls)}") from None
