"""Password hashing with Argon2id (argon2-cffi)."""

from __future__ import annotations

from typing import Protocol

import argon2


class PasswordHasher(Protocol):
    def hash(self, password: str) -> str: ...
    def verify(self, stored: str, password: str) -> bool: ...
    def needs_rehash(self, stored: str) -> bool: ...


class Argon2Hasher:
    """Argon2id. The defaults are argon2-cffi's (RFC 9106 low-memory profile); tests pass cheaper costs."""

    def __init__(self, *, time_cost: int | None = None, memory_cost: int | None = None) -> None:
        kwargs: dict[str, int] = {}
        if time_cost is not None:
            kwargs["time_cost"] = time_cost
        if memory_cost is not None:
            kwargs["memory_cost"] = memory_cost
        self._hasher = argon2.PasswordHasher(**kwargs)  # type: ignore[arg-type]

    def hash(self, password: str) -> str:
        return self._hasher.hash(password)

    def verify(self, stored: str, password: str) -> bool:
        try:
            return self._hasher.verify(stored, password)
        except argon2.exceptions.VerificationError:
            return False
        except argon2.exceptions.InvalidHashError:
            return False

    def needs_rehash(self, stored: str) -> bool:
        return self._hasher.check_needs_rehash(stored)
