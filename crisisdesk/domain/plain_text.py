"""Text stored as a name or a setting is one line of plain text: no control characters."""

from __future__ import annotations

import re

# C0 and C1 controls (newline and tab too) and the bidi embeddings, overrides and isolates, which reorder what
# is shown ("Trojan Source").
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def control_character(text: str) -> str | None:
    """The first control character in ``text`` as U+XXXX, or None when it is plain text on one line."""
    found = _CONTROL.search(text)
    return f"U+{ord(found.group()):04X}" if found else None
