"""People, roles and what each role may do. Services check these; the UI only mirrors them."""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass

from crisisdesk.domain.choices import parse_choice
from crisisdesk.domain.errors import PermissionDenied, UserError


class Role(enum.StrEnum):
    ADMIN = "admin"
    COMMUNICATOR = "communicator"
    APPROVER = "approver"
    EXERCISE_CONTROLLER = "exercise-controller"
    VIEWER = "viewer"

    @classmethod
    def parse(cls, text: str) -> Role:
        return parse_choice(cls, text, "role")


class Permission(enum.StrEnum):
    READ = "read"
    MANAGE_PEOPLE = "manage people"
    MANAGE_CHANNELS = "manage channels"
    DRAFT = "draft and edit messages"
    APPROVE = "approve messages"
    RUN_EXERCISES = "run exercises"
    MANAGE_FEEDS = "manage feeds and monitoring rules"


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.VIEWER: frozenset({Permission.READ}),
    Role.COMMUNICATOR: frozenset({Permission.READ, Permission.DRAFT, Permission.MANAGE_FEEDS}),
    Role.APPROVER: frozenset({Permission.READ, Permission.APPROVE}),
    Role.EXERCISE_CONTROLLER: frozenset({Permission.READ, Permission.RUN_EXERCISES}),
    Role.ADMIN: frozenset(
        {Permission.READ, Permission.MANAGE_PEOPLE, Permission.MANAGE_CHANNELS, Permission.MANAGE_FEEDS}
    ),
}


# Which roles grant a permission, for messages that tell a person whom to ask.
def roles_granting(permission: Permission) -> list[Role]:
    return [role for role, perms in ROLE_PERMISSIONS.items() if permission in perms]


_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")  # fullmatch: "$" would let a trailing newline in
MIN_PASSWORD_LENGTH = 8


def check_user_name(name: str) -> str:
    if not _NAME.fullmatch(name):
        raise UserError(
            f"invalid user name {name!r}: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise UserError(f"password too short: use at least {MIN_PASSWORD_LENGTH} characters")
    if password != password.strip():
        raise UserError("password must not start or end with spaces")
    return password


@dataclass(frozen=True, slots=True)
class Actor:
    """The person acting, after they proved who they are."""

    name: str
    roles: frozenset[Role]

    def may(self, permission: Permission) -> bool:
        return any(permission in ROLE_PERMISSIONS[role] for role in self.roles)

    def refusal(self, permission: Permission) -> str | None:
        """Why this actor may not do it, or None if they may."""
        if self.may(permission):
            return None
        needed = " or ".join(r.value for r in roles_granting(permission))
        held = ", ".join(sorted(r.value for r in self.roles)) or "no roles"
        return f"{self.name} may not {permission.value}: that needs the role {needed} (has {held})"

    def require(self, permission: Permission) -> None:
        reason = self.refusal(permission)
        if reason is not None:
            raise PermissionDenied(reason)
