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

JsonValue = None | bool | int | str | list["JsonValue"] | dict[str, "JsonValue"]


class NotCanonical(ValueError):
    """A value cannot be put in canonical form."""


def normalise(value: Any, where: str = "$") -> JsonValue:
    """Return ``value`` with NFC strings and plain containers, or raise ``NotCanonical``."""
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        if not -(2**63) <= value < 2**63:
            raise NotCanonical(f"{where}: integer {value} is outside the 64-bit range")
        return value
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, float):
        raise NotCanonical(f"{where}: floats are not allowed in canonical data; use a decimal string")
    if isinstance(value, Mapping):
        out: dict[str, JsonValue] = {}
        for key, item in value.items():
            if not isinstance(key, str):
                raise NotCanonical(f"{where}: keys must be strings, not {type(key).__name__}")
            nkey = unicodedata.normalize("NFC", key)
            if nkey in out:
                raise NotCanonical(f"{where}: keys {key!r} collide after NFC normalisation")
            out[nkey] = normalise(item, f"{where}.{nkey}")
        return out
    if isinstance(value, list | tuple):
        return [normalise(item, f"{where}[{i}]") for i, item in enumerate(value)]
    raise NotCanonical(f"{where}: {type(value).__name__} is not a JSON value")


def canonical_bytes(value: Any) -> bytes:
    return orjson.dumps(normalise(value), option=orjson.OPT_SORT_KEYS)


def parse(data: bytes | str) -> Any:
    return orjson.loads(data)
