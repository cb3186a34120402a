"""Canonical bytes: the exact form that is hashed and stored.

JSON with sorted keys, no whitespace, UTF-8 (not ASCII-escaped), every string NFC-normalised.
Floats are refused because two correct JSON writers may print the same float differently, and a hash
must not depend on which program wrote it. Use integers or decimal strings instead.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any

import orjson

# Integers beyond 2**53 lose precision in JavaScript and many JSON readers.
MAX_INT = 2**53 - 1
MIN_INT = -MAX_INT

JsonValue = None | bool | int | str | list["JsonValue"] | dict[str, "JsonValue"]


class NotCanonical(ValueError):
    """A value cannot be put in canonical form."""


def normalise(value: Any, where: str = "$") -> JsonValue:  # one branch per JSON type, fast ones first
    """Return ``value`` with NFC strings and plain containers, or raise ``NotCanonical``.

    Every event and every message version goes through here, so the common types are tested first and
    ASCII strings (always NFC) skip normalisation.
    """
    kind = type(value)
    if kind is str:
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if kind is dict:
        out: dict[str, JsonValue] = {}
        for key, item in value.items():
            if type(key) is not str and not isinstance(key, str):
                raise NotCanonical(f"{where}: keys must be strings, not {type(key).__name__}")
            plain = str(key)
            nkey = plain if plain.isascii() else unicodedata.normalize("NFC", plain)
            if nkey in out:
                raise NotCanonical(f"{where}: keys {key!r} collide after NFC normalisation")
            out[nkey] = normalise(item, where + "." + nkey)
        return out
    if kind is int:
        if not MIN_INT <= value <= MAX_INT:
            raise NotCanonical(f"{where}: integer {value} is outside the range JSON readers agree on (53 bits)")
        return int(value)
    if value is None or kind is bool:
        return value  # type: ignore[no-any-return]
    if kind is list or kind is tuple:
        return [normalise(item, f"{where}[{i}]") for i, item in enumerate(value)]
    if isinstance(value, float):
        raise NotCanonical(f"{where}: floats are not allowed in canonical data; use a decimal string")
    # Subclasses (StrEnum, IntEnum, other mappings and sequences) become their plain JSON form.
    if isinstance(value, str):
        return normalise(str(value), where)
    if isinstance(value, bool):
        return bool(value)
    if isinstance(value, int):
        return normalise(int(value), where)
    if isinstance(value, Mapping):
        return normalise(dict(value), where)
    if isinstance(value, list | tuple):
        return normalise(list(value), where)
    raise NotCanonical(f"{where}: {type(value).__name__} is not a JSON value")


def canonical_bytes(value: Any) -> bytes:
    return orjson.dumps(normalise(value), option=orjson.OPT_SORT_KEYS)


def parse(data: bytes | str) -> Any:
    return orjson.loads(data)
