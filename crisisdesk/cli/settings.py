"""settings: the agency this workstation speaks for and the CAP identity of its alerts."""

from __future__ import annotations

from crisisdesk.cli.context import EXIT_OK, AddCommand, Context, Parser, Subparsers, group
from crisisdesk.domain.agency import DEFAULT_PREFIX, UNSET_SENDER, Agency
from crisisdesk.domain.errors import UserError


def add_agency_options(p: Parser, *, name_flag: str = "--agency-name") -> None:
    p.add_argument(name_flag, dest="agency_name", metavar="TEXT", help="the agency this workstation speaks for")
    p.add_argument(
        "--cap-sender",
        metavar="ID",
        help="the <sender> of its CAP alerts: the ID your alerting authority uses, such as oes@county.gov",
    )
    p.add_argument(
        "--cap-prefix",
        metavar="PREFIX",
        help=f"what its CAP identifiers start with, such as CA-MillOES (default: {DEFAULT_PREFIX})",
    )


def agency_lines(agency: Agency) -> list[str]:
    return [
        f"agency       {agency.name or '(not set)'}",
        f"CAP sender   {agency.cap_sender or f'(not set: alerts say {UNSET_SENDER})'}",
        f"CAP prefix   {agency.cap_prefix or f'(not set: {DEFAULT_PREFIX})'}",
    ]


def cmd_settings_show(ctx: Context) -> int:
    ctx.actor()  # anyone who may sign in may read them
    agency = ctx.app().settings().agency()
    if ctx.args.json:
        ctx.json({"agency": agency.as_dict(), "cap_sender_in_use": agency.sender, "cap_prefix_in_use": agency.prefix})
    else:
        for line in agency_lines(agency):
            ctx.out(line)
    return EXIT_OK


def cmd_settings_agency(ctx: Context) -> int:
    a = ctx.args
    if a.agency_name is None and a.cap_sender is None and a.cap_prefix is None:
        raise UserError("give at least one of --name, --cap-sender, --cap-prefix")
    actor = ctx.actor()
    agency = (
        ctx.app().settings().set_agency(actor, name=a.agency_name, cap_sender=a.cap_sender, cap_prefix=a.cap_prefix)
    )
    for line in agency_lines(agency):
        ctx.out(line)
    return EXIT_OK


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    settings_sub = group(command, sub, "settings", "this workstation's settings: the agency and its CAP identity")
    p = command(settings_sub, "show", "show the agency, its CAP sender and identifier prefix", cmd_settings_show)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(
        settings_sub, "agency", "change the agency, its CAP sender or identifier prefix (admins)", cmd_settings_agency
    )
    add_agency_options(p, name_flag="--name")
