"""drill: scenarios, and exercise control from the command line (load, start, pause, resume, compression, jump,
inject, end, status, and the clock in the foreground with 'run'); evaluate, rate and report come from
``crisisdesk.cli.drill_report``."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from crisisdesk.cli.context import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    AddCommand,
    Context,
    Handler,
    Subparsers,
    group,
    warn,
)
from crisisdesk.domain.errors import UserError

if TYPE_CHECKING:
    from crisisdesk.app import App
    from crisisdesk.domain.roles import Actor
    from crisisdesk.services.drills import Drill, InjectState


def _line(drill: Drill) -> str:
    """One line: what the drill is and where it stands."""
    from crisisdesk.domain.drill import offset_text

    parts = [f"{drill.id}  {drill.name}  {drill.status.value.upper()}"]
    if drill.started_at is not None:
        parts.append(f"{offset_text(drill.drill_time)} at {drill.compression:g}x")
    following = drill.next_inject
    if following is not None and drill.status.value in ("running", "paused"):
        parts.append(f"next: {following.id} at {offset_text(following.scheduled)}")
    return "  ".join(parts)


def _inject_line(inject: InjectState) -> str:
    from crisisdesk.domain.drill import offset_text

    when = offset_text(inject.scheduled)
    state = inject.status.value
    if inject.fired_at is not None:
        state += f" at {offset_text(inject.fired_at)}" + (" by hand" if inject.by_hand else "")
    detail = f"  ({inject.detail})" if inject.detail else ""
    return f"{when:>9}  {inject.id:<20} {state:<22} {inject.summary}{detail}"


def cmd_drill_validate(ctx: Context) -> int:
    drills = ctx.app().drills()
    bad = 0
    for name in ctx.args.files:
        _, problems = drills.validate(Path(name))
        for problem in problems:
            ctx.out(str(problem))
        bad += bool(problems)
    good = len(ctx.args.files) - bad
    warn(f"crisisdesk: {good} scenario(s) valid" + (f", {bad} with problems" if bad else ""))
    return EXIT_CHECK_FAILED if bad else EXIT_OK


def cmd_drill_scenarios(ctx: Context) -> int:
    actor = ctx.actor()
    drills = ctx.app().drills()
    found = drills.scenarios()
    running = drills.drills(actor, include_ended=False)
    for item in found:
        if item.scenario is None:
            state = f"{len(item.problems)} problem(s): {item.problems[0]}" if item.problems else "not a scenario"
            ctx.out(f"{item.path}  BROKEN  {state}")
            continue
        mine = [d for d in running if d.scenario.id == item.scenario.id]
        state = "; ".join(f"{d.id} {d.status.value}" for d in mine) or "ready"
        ctx.out(f"{item.path}  {item.scenario.id}  {item.scenario.name}  {state}")
    if not found:
        ctx.out("no scenario files: put them in " + " or ".join(str(f) for f in drills.folders))
    return EXIT_OK


def cmd_drill_load(ctx: Context) -> int:
    drill = ctx.app().drills().load(ctx.actor(), Path(ctx.args.file))
    ctx.out(drill.id)  # alone on its line: DRILL=$(crisisdesk drill load FILE)
    warn(f"crisisdesk: loaded {drill.name!r} as {drill.id}: start it with 'crisisdesk drill start {drill.id}'")
    return EXIT_OK


def cmd_drill_start(ctx: Context) -> int:
    drill = ctx.app().drills().start(ctx.actor(), ctx.args.drill, compression=ctx.args.compression)
    ctx.out(_line(drill))
    ctx.out("incidents: " + ", ".join(f"{k} = {v} (EXERCISE)" for k, v in drill.incidents.items()))
    return EXIT_OK


def _control(verb: str) -> Handler:
    def handler(ctx: Context) -> int:
        service = ctx.app().drills()
        drill: Drill = getattr(service, verb)(ctx.actor(), ctx.args.drill)
        ctx.out(_line(drill))
        return EXIT_OK

    return handler


def cmd_drill_compression(ctx: Context) -> int:
    drill = ctx.app().drills().set_compression(ctx.actor(), ctx.args.drill, ctx.args.factor)
    ctx.out(_line(drill))
    return EXIT_OK


def cmd_drill_jump(ctx: Context) -> int:
    drill = ctx.app().drills().jump(ctx.actor(), ctx.args.drill, ctx.args.inject)
    ctx.out(_line(drill))
    for inject in drill.injects:
        if inject.id == ctx.args.inject or (inject.status.value == "skipped"):
            ctx.out(_inject_line(inject))
    return EXIT_OK


def cmd_drill_inject(ctx: Context) -> int:
    drill = ctx.app().drills().inject(ctx.actor(), ctx.args.drill, ctx.args.inject)
    ctx.out(_inject_line(next(i for i in drill.injects if i.id == ctx.args.inject.strip())))
    return EXIT_OK


def _as_shown_to(app: App, actor: Actor, drill: Drill) -> Drill:
    """The drill as this person may see it: the injects still ahead are the controllers' script, so someone who does
    not run exercises (a player) sees those that came, until the drill ends (as in the console's Drills place)."""
    from dataclasses import replace

    from crisisdesk.domain.roles import Permission
    from crisisdesk.services.drills import DrillStatus, InjectStatus

    if drill.status is DrillStatus.ENDED or app.people.actor(actor.name).may(Permission.RUN_EXERCISES):
        return drill
    return replace(drill, injects=[i for i in drill.injects if i.status is not InjectStatus.PENDING])


def cmd_drill_status(ctx: Context) -> int:
    actor = ctx.actor()
    drills = ctx.app().drills()
    if not ctx.args.drill:
        listed = [_as_shown_to(ctx.app(), actor, d) for d in drills.drills(actor)]
        if ctx.args.json:
            ctx.json([d.as_dict() for d in listed])
            return EXIT_OK
        for drill in listed:
            ctx.out(_line(drill))
        if not listed:
            ctx.out("no drills yet: 'crisisdesk drill load FILE'")
        return EXIT_OK
    drill = _as_shown_to(ctx.app(), actor, drills.get(actor, ctx.args.drill))
    if ctx.args.json:
        ctx.json(drill.as_dict())
        return EXIT_OK
    ctx.out(_line(drill))
    if drill.incidents:
        ctx.out("incidents: " + ", ".join(f"{k} = {v}" for k, v in drill.incidents.items()))
    ctx.out("injects:")
    for inject in sorted(drill.injects, key=lambda i: (i.scheduled, i.id)):
        ctx.out("  " + _inject_line(inject))
    if drill.notes:
        from crisisdesk.domain.drill import offset_text

        ctx.out("notes for the players:")
        for note in drill.notes:
            ctx.out(f"  {offset_text(note.fired_at)}  to the {note.to.value}, from {note.source}: {note.text}")
    if drill.outages:
        ctx.out("failing now:")
        for line in drill.outages:
            ctx.out(f"  {line}")
    return EXIT_OK


def cmd_drill_run(ctx: Context) -> int:
    """The drill's clock in the foreground until the drill ends; Ctrl-C stops the clock, the drill keeps its state."""
    import signal
    import time

    from crisisdesk.app import App
    from crisisdesk.domain.drill import offset_text
    from crisisdesk.services.drill_runner import DrillRunner
    from crisisdesk.services.drills import DrillService, DrillStatus

    actor = ctx.actor()
    drill = ctx.app().drills().get(actor, ctx.args.drill)
    if drill.status is DrillStatus.LOADED:
        raise UserError(f"drill {drill.id} is not started: 'crisisdesk drill start {drill.id}' first")
    if drill.status is DrillStatus.ENDED:
        raise UserError(f"drill {drill.id} has ended")
    path = ctx.db_path
    drill_id = drill.id
    end_at = drill.scenario.length.total_seconds() if ctx.args.end else None
    ctx.close()  # the clock opens its own connection

    def until(service: DrillService) -> bool:
        now = service.view(drill_id)  # read at every tick: checked once above, not recorded each time
        if now.status is DrillStatus.ENDED:
            return True
        if end_at is not None and now.next_inject is None and now.drill_time.total_seconds() >= end_at:
            service.end(actor, drill_id)
            ctx.out(
                f"{offset_text(now.drill_time)}  the planned length ({drill.scenario.duration}) is over: drill ended"
            )
            return True
        return False

    def told(fired: list[InjectState]) -> None:
        for inject in fired:
            ctx.out(_inject_line(inject))
        ctx.stdout.flush()

    runner = DrillRunner(lambda: App.open(path).drills(), until=until, on_fire=told)
    if end_at is not None:
        runner.cap = 0.2  # the planned end is no inject: look at the clock often enough to end close to it

    def stop(*_: object) -> None:
        raise KeyboardInterrupt  # SIGTERM stops the clock as Ctrl-C does

    # The clock runs in its own thread, started before Ctrl-C is taken as "stop"; this thread only sleeps, so the
    # interrupt never lands inside a wait on a lock (it can leave the lock half released).
    runner.start()
    previous = signal.signal(signal.SIGTERM, stop)
    try:
        warn(f"crisisdesk: {drill.name!r} ({drill_id}) on the clock at {drill.compression:g}x; stop it with Ctrl-C")
        while runner.is_alive():
            time.sleep(0.1)
    except KeyboardInterrupt:
        runner.stop()
        warn(f"crisisdesk: the clock stopped; drill {drill_id} keeps its state ('crisisdesk drill status {drill_id}')")
        return EXIT_OK
    finally:
        signal.signal(signal.SIGTERM, previous)
    if runner.error is not None:
        raise runner.error
    return EXIT_OK


def _factor(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text[:40]}: give a number from 1 to 60") from None
    return value


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    dr = group(command, sub, "drill", "drills: scenarios with timed injects, run by an exercise controller")
    p = command(dr, "validate", "check scenario files: problems as file:line:column", cmd_drill_validate)
    p.add_argument("files", nargs="+", metavar="FILE")
    command(dr, "scenarios", "the shipped and the user's scenarios, with their state", cmd_drill_scenarios)
    p = command(dr, "load", "load a scenario as a drill (prints its id)", cmd_drill_load)
    p.add_argument("file", metavar="FILE")
    p = command(dr, "start", "start a drill: opens its EXERCISE incidents and its drill feed", cmd_drill_start)
    p.add_argument("drill", metavar="DRILL")
    p.add_argument(
        "--compression", type=_factor, default=1.0, metavar="N", help="drill seconds per second, 1 to 60 (default 1)"
    )
    for verb, text in (
        ("pause", "pause a drill's clock"),
        ("resume", "resume a paused drill"),
        ("end", "end a drill (its outages end with it)"),
    ):
        p = command(dr, verb, text, _control(verb))
        p.add_argument("drill", metavar="DRILL")
    p = command(dr, "compression", "change a drill's time compression (1 to 60)", cmd_drill_compression)
    p.add_argument("drill", metavar="DRILL")
    p.add_argument("factor", type=_factor, metavar="N")
    p = command(dr, "jump", "jump forward to an inject (earlier pending ones are skipped)", cmd_drill_jump)
    p.add_argument("drill", metavar="DRILL")
    p.add_argument("inject", metavar="INJECT")
    p = command(dr, "inject", "fire a pending inject now, by hand", cmd_drill_inject)
    p.add_argument("drill", metavar="DRILL")
    p.add_argument("inject", metavar="INJECT")
    p = command(dr, "status", "the drills, or one drill's injects, drill time, notes and outages", cmd_drill_status)
    p.add_argument("drill", nargs="?", metavar="DRILL")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(dr, "run", "run a drill's clock in the foreground until the drill ends (Ctrl-C stops)", cmd_drill_run)
    p.add_argument("drill", metavar="DRILL")
    p.add_argument(
        "--end", action="store_true", help="end the drill at its planned length, once every inject has fired"
    )
    # evaluate, rate and report: the after-action's commands, in their own module (crisisdesk.cli.drill_report).
    from crisisdesk.cli.drill_report import add_report_commands

    add_report_commands(dr, command)
