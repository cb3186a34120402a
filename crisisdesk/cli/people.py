"""init and users: the database, the first admin, people and their roles."""

from __future__ import annotations

import getpass
import os

from crisisdesk.cli.context import (
    EXIT_OK,
    PASSWORD_ENV,
    AddCommand,
    Context,
    Subparsers,
    acting_password,
    group,
    read_password_stdin,
    warn,
)
from crisisdesk.cli.settings import add_agency_options
from crisisdesk.domain.agency import check_agency
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.roles import Role


def cmd_init(ctx: Context) -> int:
    a = ctx.args
    if a.password_stdin:
        password = read_password_stdin(ctx.stdin)
    else:
        password = acting_password(a.admin)
        if not os.environ.get(PASSWORD_ENV) and getpass.getpass("again: ") != password:
            raise UserError("the two passwords differ; nothing was created")
    check_agency(a.agency_name, a.cap_sender, a.cap_prefix)  # before the database file is made
    app = ctx.app(create=True)
    ws = app.initialise(
        a.admin,
        password,
        workstation_name=a.workstation_name,
        agency_name=a.agency_name,
        cap_sender=a.cap_sender,
        cap_prefix=a.cap_prefix,
    )
    ctx.out(f"created {app.db.path} (workstation {ws}) with admin {a.admin}")
    if app.key_problem:
        warn(
            f"crisisdesk: this workstation's entries are not signed: {app.key_problem}; once the keyring works, "
            "an admin runs 'crisisdesk workstation join'"
        )
    if a.cap_sender is None:
        warn(
            "crisisdesk: no CAP sender yet: alerts say 'sender-not-set.invalid' until an admin sets it with "
            "'crisisdesk settings agency --cap-sender ID'"
        )
    return EXIT_OK


def cmd_workstation_keys(ctx: Context) -> int:
    app = ctx.app()
    app.people.require_initialised()
    keys = app.workstation_keys().declared()
    own = app.log.workstation_id()
    if ctx.args.json:
        ctx.json(
            [
                {
                    "workstation": k.workstation,
                    "key": k.key,
                    "declared_at": k.declared_at,
                    "how": k.how,
                    "ended": k.ended,
                }
                for k in keys
            ]
        )
        return EXIT_OK
    if not any(k.workstation == own for k in keys):
        ctx.out(f"this workstation ({own}) has no signing key yet: an admin runs 'crisisdesk workstation join'")
    for k in keys:
        mine = " (this workstation)" if k.workstation == own else ""
        ctx.out(f"{k.workstation}{mine}  key {k.key}  {k.how} at {k.declared_at}  {k.ended or 'in use'}")
    return EXIT_OK


def cmd_workstation_join(ctx: Context) -> int:
    actor = ctx.actor()
    key, made = ctx.app().workstation_keys().join(actor)
    ctx.out(f"declared signing key {key}: every entry is signed from now on" if made else f"already signing with {key}")
    return EXIT_OK


def cmd_workstation_rotate(ctx: Context) -> int:
    actor = ctx.actor()
    key = ctx.app().workstation_keys().rotate(actor)
    ctx.out(f"replaced this workstation's key: signing with {key} from now on")
    return EXIT_OK


def cmd_workstation_revoke(ctx: Context) -> int:
    a = ctx.args
    actor = ctx.actor()
    ctx.app().workstation_keys().revoke(actor, a.workstation, a.key, a.reason or "")
    ctx.out(f"revoked key {a.key} of workstation {a.workstation}: its signatures from now on are bad")
    return EXIT_OK


def cmd_users_add(ctx: Context) -> int:
    a = ctx.args
    actor = ctx.actor()
    if not a.password_stdin:
        raise UserError("give the new person's password on standard input with --password-stdin")
    password = read_password_stdin(ctx.stdin)
    person = ctx.app().people.add(actor, a.name, [Role.parse(r) for r in a.role], password, display_name=a.display_name)
    ctx.out(f"added {person.name} ({', '.join(person.roles)})")
    return EXIT_OK


def cmd_users_list(ctx: Context) -> int:
    people = ctx.app().people.list_people(ctx.actor())
    if ctx.args.json:
        ctx.json([p.as_dict() for p in people])
        return EXIT_OK
    width = max([4, *(len(p.name) for p in people)])
    ctx.out(f"{'NAME':<{width}}  ROLES")
    for p in people:
        state = "  (disabled: cannot sign in)" if p.disabled else ""
        ctx.out(f"{p.name:<{width}}  {', '.join(p.roles) or '-'}{state}")
    return EXIT_OK


def _change_roles(ctx: Context, grant: bool) -> int:
    actor = ctx.actor()
    people = ctx.app().people
    for text in ctx.args.role:
        role = Role.parse(text)
        changed = people.grant(actor, ctx.args.name, role) if grant else people.revoke(actor, ctx.args.name, role)
        verb = ("granted" if grant else "revoked") if changed else ("already has" if grant else "does not have")
        ctx.out(f"{ctx.args.name}: {verb} {role.value}")
    return EXIT_OK


def cmd_users_grant(ctx: Context) -> int:
    return _change_roles(ctx, grant=True)


def cmd_users_revoke(ctx: Context) -> int:
    return _change_roles(ctx, grant=False)


def cmd_users_disable(ctx: Context) -> int:
    changed = ctx.app().people.disable(ctx.actor(), ctx.args.name)
    ctx.out(
        f"{ctx.args.name}: disabled; they cannot sign in, and their past stays in the log"
        if changed
        else f"{ctx.args.name}: already disabled"
    )
    return EXIT_OK


def cmd_users_enable(ctx: Context) -> int:
    changed = ctx.app().people.enable(ctx.actor(), ctx.args.name)
    ctx.out(f"{ctx.args.name}: enabled; they may sign in again" if changed else f"{ctx.args.name}: not disabled")
    return EXIT_OK


def cmd_users_reset_password(ctx: Context) -> int:
    actor = ctx.actor()
    if not ctx.args.password_stdin:
        raise UserError("give the new password on standard input with --password-stdin")
    password = read_password_stdin(ctx.stdin)
    ctx.app().people.reset_password(actor, ctx.args.name, password)
    ctx.out(f"{ctx.args.name}: password reset; the old one no longer works")
    return EXIT_OK


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    p = command(sub, "init", "create the database, this workstation's identity and the first admin", cmd_init)
    p.add_argument("--admin", required=True, metavar="NAME", help="the first admin's user name")
    p.add_argument("--password-stdin", action="store_true", help="read the admin's password from standard input")
    p.add_argument("--workstation-name", metavar="NAME", help="a name for this workstation (default: the host name)")
    add_agency_options(p)

    ws_sub = group(command, sub, "workstation", "this workstation's signing key (issue 16: signed events)")
    p = command(ws_sub, "keys", "list the signing keys the log declares, for every workstation", cmd_workstation_keys)
    p.add_argument("--json", action="store_true", help="print JSON")
    command(ws_sub, "join", "make and declare this workstation's signing key (admins; once)", cmd_workstation_join)
    command(
        ws_sub, "rotate-key", "replace this workstation's signing key with a new one (admins)", cmd_workstation_rotate
    )
    p = command(
        ws_sub,
        "revoke-key",
        "revoke a workstation's key: its later signatures are bad (admins)",
        cmd_workstation_revoke,
    )
    p.add_argument("workstation", metavar="WORKSTATION", help="the workstation id ('workstation keys' lists them)")
    p.add_argument("key", metavar="KEY", help="the key id")
    p.add_argument("--reason", required=True, metavar="TEXT", help="why, for the audit log (e.g. 'laptop stolen')")

    users_sub = group(command, sub, "users", "manage people and their roles (admins only)")
    roles_help = "one of: " + ", ".join(r.value for r in Role)
    p = command(users_sub, "add", "add a person", cmd_users_add)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--role", action="append", required=True, metavar="ROLE", help=f"repeatable; {roles_help}")
    p.add_argument("--password-stdin", action="store_true", help="read the new person's password from standard input")
    p.add_argument("--display-name", metavar="TEXT", help="the name shown in the console (default: NAME)")
    p = command(users_sub, "list", "list people and their roles", cmd_users_list)
    p.add_argument("--json", action="store_true", help="print JSON")
    for verb, handler in (("grant", cmd_users_grant), ("revoke", cmd_users_revoke)):
        p = command(users_sub, verb, f"{verb} roles", handler)
        p.add_argument("name", metavar="NAME")
        p.add_argument("--role", action="append", required=True, metavar="ROLE", help=f"repeatable; {roles_help}")
    p = command(users_sub, "disable", "stop a person signing in (their past stays in the log)", cmd_users_disable)
    p.add_argument("name", metavar="NAME")
    p = command(users_sub, "enable", "let a disabled person sign in again", cmd_users_enable)
    p.add_argument("name", metavar="NAME")
    p = command(users_sub, "reset-password", "give a person a new password", cmd_users_reset_password)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--password-stdin", action="store_true", help="read the new password from standard input")
