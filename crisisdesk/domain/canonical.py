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

    Every event and every message version goes through here, so the common types are tested first, ASCII
    strings (always NFC) skip normalisation, and the plain scalars in a dict or a list are taken in the loop
    itself: one Python call per container, not per value (the event log's append path, bench/event_log.py).
    """
    kind = type(value)
    if kind is str:
        return value if value.isascii() else unicodedata.normalize("NFC", value)
    if kind is dict:
        out: dict[str, JsonValue] = {}
        # The keys of a dict are distinct and ASCII keys stay as they are, so they can collide only with a key
        # that NFC turned into ASCII (KELVIN SIGN becomes K): looked for once such a key was seen.
        changed = False
        for key, item in value.items():
            if type(key) is str and key.isascii():
                nkey = key
                if changed and nkey in out:
                    raise NotCanonical(f"{where}: keys {key!r} collide after NFC normalisation")
            else:
                changed = True
                if not isinstance(key, str):
                    raise NotCanonical(f"{where}: keys must be strings, not {type(key).__name__}")
                plain = str(key)
                nkey = plain if plain.isascii() else unicodedata.normalize("NFC", plain)
                if nkey in out:
                    raise NotCanonical(f"{where}: keys {key!r} collide after NFC normalisation")
            t = type(item)
            if t is str:
                out[nkey] = item if item.isascii() else unicodedata.normalize("NFC", item)
            elif (t is int and MIN_INT <= item <= MAX_INT) or t is bool or item is None:
                out[nkey] = item
            else:
                out[nkey] = normalise(item, where + "." + nkey)
        return out
    if kind is int:
        if not MIN_INT <= value <= MAX_INT:
            raise NotCanonical(f"{where}: integer {value} is outside the range JSON readers agree on (53 bits)")
        return int(value)
    if value is None or kind is bool:
        return value  # type: ignore[no-any-return]
    if kind is list or kind is tuple:
        items: list[JsonValue] = []
        for i, item in enumerate(value):
            t = type(item)
            if t is str:
                items.append(item if item.isascii() else unicodedata.normalize("NFC", item))
            elif (t is int and MIN_INT <= item <= MAX_INT) or t is bool or item is None:
                items.append(item)
            else:
                items.append(normalise(item, f"{where}[{i}]"))
        return items
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
