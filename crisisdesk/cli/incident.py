"""incident: open and run incidents (LIVE or EXERCISE), and call a false alarm."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crisisdesk.cli.context import EXIT_OK, AddCommand, Context, Subparsers, fact_pairs, group, warn, whole_number
from crisisdesk.domain.drill import offset_text
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.facts import translation_problem, zone
from crisisdesk.domain.incidents import Mode, Status
from crisisdesk.domain.message_types import MODES

if TYPE_CHECKING:
    from crisisdesk.services.incidents import IncidentView


def _print_incident(ctx: Context, view: IncidentView) -> None:
    inc = view.incident
    banner = "EXERCISE" if inc.mode.value == "exercise" else "LIVE"
    ctx.out(f"{inc.id}  [{banner}]  {inc.title}")
    ctx.out(
        f"playbook {inc.playbook_id} v{inc.playbook_version}, {inc.status.value}, opened {inc.opened_at} by "
        f"{inc.opened_by} ({inc.timezone})"
    )
    if inc.facts:
        ctx.out("facts:")
        for name, value in inc.facts.items():
            ctx.out(f"  {name} = {value}")
    for name, lang in view.missing_translations:
        ctx.out(f"  {name}@{lang}: missing ({translation_problem(name, lang)})")
    ctx.out(f"due (times in {inc.timezone}):")
    local = zone(inc.timezone)
    for item in view.due:
        step = f"step {item.step}: " if item.step else ""
        if item.drill_at is not None:  # a drill's incident: due in drill time
            when = offset_text(item.drill_at).ljust(16)
        else:
            when = item.due_at.astimezone(local).strftime("%Y-%m-%d %H:%M") if item.due_at else "?"
        ctx.out(f"  {item.state.upper():<9} {when}  {step}{item.what} ({item.owner})")
    ctx.out("timeline:")
    for entry in view.timeline:
        ctx.out(f"  {entry.at}  {entry.actor}  {entry.what}  {entry.summary}")


def cmd_incident_open(ctx: Context) -> int:
    a = ctx.args
    app = ctx.app()
    actor = ctx.actor()
    incident = app.incidents().open(
        actor, a.playbook, Mode.parse(a.mode), title=a.title, facts=fact_pairs(a.fact or []), timezone=a.tz
    )
    if a.json:
        ctx.json(incident.as_dict())
    elif a.quiet:
        ctx.out(incident.id)
    else:
        ctx.out(f"opened {incident.id} ({incident.mode.value.upper()}): {incident.title}")
    _ask_for_translations(app.incidents().missing_translations(incident), incident.id)
    return EXIT_OK


def _ask_for_translations(missing: list[tuple[str, str]], incident_id: str, only: str | None = None) -> None:
    """One line on stderr for each language a fact was given without (stdout stays the command's answer)."""
    for name, lang in missing:
        if only is None or name == only:
            warn(
                f"crisisdesk: {translation_problem(name, lang)}: "
                f"crisisdesk incident set-fact {incident_id} '{name}@{lang}=...'"
            )


def cmd_incident_list(ctx: Context) -> int:
    actor = ctx.actor()
    incidents = ctx.app().incidents().list_all(actor)
    if ctx.args.json:
        ctx.json([i.as_dict() for i in incidents])
    else:
        for i in incidents:
            ctx.out(f"{i.id}  {i.mode.value.upper():<8}  {i.status.value:<10}  {i.opened_at[:16]}  {i.title}")
    return EXIT_OK


def cmd_incident_show(ctx: Context) -> int:
    actor = ctx.actor()
    view = ctx.app().incidents().show(actor, ctx.args.id)
    if ctx.args.json:
        ctx.json(view.as_dict())
    else:
        _print_incident(ctx, view)
    return EXIT_OK


def cmd_incident_set_fact(ctx: Context) -> int:
    actor = ctx.actor()
    [(name, value)] = fact_pairs([ctx.args.assignment]).items()
    incidents = ctx.app().incidents()
    incident = incidents.set_fact(actor, ctx.args.id, name, value)
    ctx.out(f"{ctx.args.id}: {name} = {value}")
    _ask_for_translations(incidents.missing_translations(incident), incident.id, only=name.partition("@")[0])
    return EXIT_OK


def cmd_incident_status(ctx: Context) -> int:
    actor = ctx.actor()
    incident = ctx.app().incidents().set_status(actor, ctx.args.id, Status.parse(ctx.args.status))
    ctx.out(f"{incident.id}: {incident.status.value}")
    return EXIT_OK


def cmd_incident_close(ctx: Context) -> int:
    actor = ctx.actor()
    incident = ctx.app().incidents().close(actor, ctx.args.id)
    ctx.out(f"{incident.id}: closed")
    return EXIT_OK


def cmd_incident_step_done(ctx: Context) -> int:
    actor = ctx.actor()
    ctx.app().incidents().step_done(actor, ctx.args.id, ctx.args.step)
    ctx.out(f"{ctx.args.id}: step {ctx.args.step} done")
    return EXIT_OK


def cmd_incident_false_alarm(ctx: Context) -> int:
    actor = ctx.actor()
    translations: dict[str, str] = {}
    for given in ctx.args.correction_in or []:
        lang, sep, text = given.partition("=")
        if not sep or not lang.strip() or not text.strip():
            raise UserError(f"--correction-in wants LANG=TEXT, e.g. 'es=la ruta es la 49 Sur', not {given!r}")
        translations[lang.strip()] = text
    views = (
        ctx.app().messages().false_alarm(actor, ctx.args.id, correction=ctx.args.correction, translations=translations)
    )
    if ctx.args.quiet:
        for view in views:
            ctx.out(view.id)
        return EXIT_OK
    for view in views:
        ctx.out(
            f"{view.id}: {view.type} v{view.version} submitted, hash {view.content_hash}, "
            f"references {', '.join(view.references)}"
        )
    ctx.out("ready for approval: 'crisisdesk message approve MESSAGE --hash HASH', then publish")
    return EXIT_OK


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    inc_sub = group(command, sub, "incident", "open and run incidents (LIVE or EXERCISE)")
    p = command(inc_sub, "open", "open an incident from a playbook; its mode is fixed for its life", cmd_incident_open)
    p.add_argument("playbook", metavar="PLAYBOOK")
    p.add_argument("--mode", required=True, choices=MODES)
    p.add_argument("--title", metavar="TEXT")
    p.add_argument(
        "--fact",
        action="append",
        metavar="NAME=VALUE",
        help="repeatable; a value in another of the playbook's languages as NAME@LANG=VALUE (way_out@es=...)",
    )
    p.add_argument("--tz", metavar="ZONE", help="the incident's IANA time zone (default: the playbook's)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the new incident's id")
    p = command(inc_sub, "list", "list incidents", cmd_incident_list)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(inc_sub, "show", "facts, what is due and overdue, and the timeline", cmd_incident_show)
    p.add_argument("id", metavar="ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(inc_sub, "set-fact", "set or change a fact", cmd_incident_set_fact)
    p.add_argument("id", metavar="ID")
    p.add_argument("assignment", metavar="NAME=VALUE", help="NAME@LANG=VALUE for the value in another language")
    p = command(inc_sub, "status", "set the status to active or monitoring", cmd_incident_status)
    p.add_argument("id", metavar="ID")
    p.add_argument("status", choices=("active", "monitoring"))
    p = command(inc_sub, "close", "close an incident", cmd_incident_close)
    p.add_argument("id", metavar="ID")
    p = command(
        inc_sub, "false-alarm", "draft and submit the cancel and a correction in one step", cmd_incident_false_alarm
    )
    p.add_argument("id", metavar="ID")
    p.add_argument("--correction", metavar="TEXT", help="what was wrong, for the public correction")
    p.add_argument(
        "--correction-in",
        action="append",
        metavar="LANG=TEXT",
        help="what was wrong in another of the playbook's languages (repeat per language), e.g. 'es=...'",
    )
    p.add_argument("-q", "--quiet", action="store_true", help="print only the two messages' ids, one a line")
    p = command(inc_sub, "step-done", "tick a checklist step", cmd_incident_step_done)
    p.add_argument("id", metavar="ID")
    p.add_argument("step", type=whole_number(1, 1000), metavar="STEP")
