"""feeds, alerts, triage and rules: the sources watched during incidents and what comes of them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crisisdesk.cli.context import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    MAX_ROWS,
    AddCommand,
    Context,
    Subparsers,
    group,
    read_named_text,
    whole_number,
)
from crisisdesk.cli.outbox import cmd_worker
from crisisdesk.domain.incidents import Mode


def cmd_feeds_add(ctx: Context) -> int:
    a = ctx.args
    source = ctx.app().feeds().add(ctx.actor(), a.name, a.url, a.kind, interval=a.interval)
    ctx.out(f"added {source.name}: {source.kind.value} {source.url}, every {source.interval} s ({source.id})")
    return EXIT_OK


def cmd_feeds_list(ctx: Context) -> int:
    sources = ctx.app().feeds().sources(ctx.actor())
    if ctx.args.json:
        ctx.json([s.as_dict() for s in sources])
        return EXIT_OK
    for s in sources:
        if s.kind.value == "drill":  # never polled: its items are its drill's injects
            ctx.out(f"{s.name:<20} {s.kind.value:<9} {'never polled':<14} {'':<14} {s.url}")
            ctx.out(f"{'':<20} a drill's exercise-only source: {s.items_seen} item(s) injected so far")
            continue
        if s.failures:
            detail = (
                f"{s.failures} failure(s) in a row since {s.last_error_at}: {s.last_error}; next try {s.next_poll_at}"
            )
        elif s.last_success:
            detail = f"last success {s.last_success}, {s.items_seen} items seen, next poll {s.next_poll_at}"
            if s.health == "problems":
                detail += f"; problems: {s.last_error}"
        else:
            detail = "not polled yet"
        ctx.out(f"{s.name:<20} {s.kind.value:<9} every {s.interval:>5} s  {s.health.upper():<14} {s.url}")
        ctx.out(f"{'':<20} {detail}")
    if not sources:
        ctx.out("no feeds: add one with 'crisisdesk feeds add NAME URL --kind KIND'")
    return EXIT_OK


def cmd_feeds_remove(ctx: Context) -> int:
    source = ctx.app().feeds().remove(ctx.actor(), ctx.args.name)
    ctx.out(f"removed {source.name}; its items stay searchable until the retention deletes them")
    return EXIT_OK


def cmd_feeds_poll(ctx: Context) -> int:
    actor = ctx.actor()
    if not ctx.args.once:
        return cmd_worker(ctx, outbox=False)
    reports = ctx.app().feeds().poll(ctx.args.names, actor=actor)
    if ctx.args.json:
        ctx.json([r.as_dict() for r in reports])
    else:
        for r in reports:
            if r.error:
                ctx.out(f"{r.source}: UNHEALTHY: {r.error}; next try {r.next_poll_at}")
                continue
            what = "not modified" if r.not_modified and not r.seen else f"{r.new} new of {r.seen}"
            alerts = f", {r.alerts} alert(s)" if r.alerts else ""
            ctx.out(f"{r.source}: ok: {what}{alerts} in {r.seconds:.2f} s")
            for problem in r.problems:
                ctx.out(f"  problem: {problem}")
        if not reports:
            ctx.out("no feeds to poll: add one with 'crisisdesk feeds add NAME URL --kind KIND'")
    return EXIT_CHECK_FAILED if any(r.error for r in reports) else EXIT_OK


def _item_line(i: Any) -> str:
    extra = []
    if i.severity:
        extra.append(i.severity)
    if i.magnitude is not None:
        extra.append(f"M{i.magnitude:g}")
    if i.public:
        extra.append(f"{i.priority or '-'}/{i.status}")
    tag = f" [{', '.join(extra)}]" if extra else ""
    return f"{i.id:>7}  {i.at[:16]}  {i.source:<14} {i.title[:90]}{tag}"


def cmd_feeds_search(ctx: Context) -> int:
    a = ctx.args
    items = ctx.app().feeds().search(ctx.actor(), " ".join(a.query), since=a.since, limit=a.limit)
    if a.json:
        ctx.json([i.as_dict() for i in items])
        return EXIT_OK
    for i in items:
        ctx.out(_item_line(i))
        if i.url:
            ctx.out(f"{'':>9}{i.url}")
    if not items:
        ctx.out("nothing found")
    return EXIT_OK


def cmd_feeds_show(ctx: Context) -> int:
    item, responses = ctx.app().feeds().show(ctx.actor(), ctx.args.item)
    if ctx.args.json:
        ctx.json({**item.as_dict(), "responses": [r.__dict__ for r in responses]})
        return EXIT_OK
    ctx.out(_item_line(item))
    ctx.out(f"source {item.source} ({item.kind}), by {item.author or 'unknown'}, fingerprint {item.fingerprint}")
    if item.url:
        ctx.out(item.url)
    if item.public:
        ctx.out(
            f"triage: {item.status}, priority {item.priority}, sentiment {item.sentiment}, group {item.stakeholder}"
        )
    ctx.out("")
    ctx.out(item.text)
    for r in responses:
        ctx.out("")
        ctx.out(
            f"response {r.name} ({r.lang}): {r.text if r.text is not None else 'cannot be filled: ' + str(r.problem)}"
        )
    return EXIT_OK


def cmd_alerts_list(ctx: Context) -> int:
    alerts = ctx.app().feeds().alerts(ctx.actor(), include_handled=ctx.args.all, incident=ctx.args.incident)
    if ctx.args.json:
        ctx.json([a.as_dict() for a in alerts])
        return EXIT_OK
    for a in alerts:
        tied = a.incident_id or "no incident"
        ctx.out(f"{a.id}  {a.raised_at[:16]}  {a.status.upper():<12} {tied:<16} {a.title[:80]}")
        ctx.out(f"{'':<17}{'; '.join(a.reasons)} (from {a.source}, item {a.item_id})")
    if not alerts:
        ctx.out("no alerts")
    return EXIT_OK


def cmd_alerts_handle(ctx: Context) -> int:
    status = {"ack": "acknowledged", "dismiss": "dismissed"}[ctx.args.action]
    alert = ctx.app().feeds().handle_alert(ctx.actor(), ctx.args.alert, status)
    ctx.out(f"{alert.id}: {alert.status}")
    return EXIT_OK


def cmd_alerts_open(ctx: Context) -> int:
    mode = Mode.EXERCISE if ctx.args.exercise else Mode.LIVE
    incident, notes = (
        ctx.app().feeds().open_incident(ctx.actor(), ctx.args.alert, playbook_id=ctx.args.playbook, mode=mode)
    )
    ctx.out(f"opened {incident.id} ({incident.playbook_id}, {incident.mode.value}): {incident.title}")
    for name, value in sorted(incident.facts.items()):
        ctx.out(f"  {name} = {value}")
    for note in notes:
        ctx.out(f"  note: {note}")
    return EXIT_OK


def cmd_triage_list(ctx: Context) -> int:
    statuses = ctx.args.status or ["new", "acknowledged"]
    items = ctx.app().feeds().triage(ctx.actor(), statuses=statuses, limit=ctx.args.limit)
    if ctx.args.json:
        ctx.json([i.as_dict() for i in items])
        return EXIT_OK
    for i in items:
        ctx.out(
            f"{i.id:>7}  {(i.priority or '-').upper():<7} {i.status:<12} {i.stakeholder or '-':<10}"
            f" {i.sentiment if i.sentiment is not None else '-':>6}  {i.author or '-':<20} {i.title[:70]}"
        )
    if not items:
        ctx.out("nothing to triage")
    return EXIT_OK


def cmd_triage_set(ctx: Context) -> int:
    a = ctx.args
    item = (
        ctx.app()
        .feeds()
        .set_triage(ctx.actor(), a.item, status=a.status, priority_value=a.priority, template=a.template, note=a.note)
    )
    ctx.out(f"{item.id}: {item.status}, priority {item.priority}")
    return EXIT_OK


def cmd_rules_show(ctx: Context) -> int:
    import yaml

    ctx.actor()
    origin, rules = ctx.app().feeds().rules_text()
    ctx.out(f"# from {origin}")
    ctx.out(yaml.safe_dump(rules, allow_unicode=True, sort_keys=False).rstrip())
    return EXIT_OK


def cmd_rules_set(ctx: Context) -> int:
    from crisisdesk.domain.playbook import MAX_PLAYBOOK_BYTES

    path = Path(ctx.args.file)
    limit = f"a rules file may be at most {MAX_PLAYBOOK_BYTES // 1024} KiB, like a playbook"
    text = read_named_text(ctx.args.file, MAX_PLAYBOOK_BYTES, limit)
    rules = ctx.app().feeds().set_rules(ctx.actor(), text, path.name)
    ctx.out(
        f"rules set from {path.name}: severity >= {rules.min_severity}, magnitude >= {rules.min_magnitude:g},"
        f" {len(rules.keywords)} keyword(s), {len(rules.stakeholders)} stakeholder group(s),"
        f" retention {rules.retention_days} days"
    )
    return EXIT_OK


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    from crisisdesk.domain.feeds import ADDABLE_KINDS, DEFAULT_INTERVAL, KIND_HELP, MAX_INTERVAL, MIN_INTERVAL

    fs = group(command, sub, "feeds", "sources watched during incidents: news, official alerts, social, 311")
    p = command(fs, "add", "add a source", cmd_feeds_add)
    p.add_argument("name", metavar="NAME")
    p.add_argument("url", metavar="URL", help="its address (a folder path for --kind folder)")
    p.add_argument(
        "--kind", required=True, metavar="KIND", help="; ".join(f"{k.value}: {KIND_HELP[k]}" for k in ADDABLE_KINDS)
    )
    p.add_argument(
        "--interval",
        type=whole_number(MIN_INTERVAL, MAX_INTERVAL),
        default=DEFAULT_INTERVAL,
        metavar="SECONDS",
        help="how often to poll",
    )
    p = command(fs, "list", "sources and their health", cmd_feeds_list)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(fs, "remove", "stop watching a source", cmd_feeds_remove)
    p.add_argument("name", metavar="NAME")
    p = command(fs, "poll", "poll now (with --once: one round, then exit; else until stopped)", cmd_feeds_poll)
    p.add_argument("names", nargs="*", metavar="NAME", help="only these sources")
    p.add_argument("--once", action="store_true")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(fs, "search", "full-text search over stored items, newest first", cmd_feeds_search)
    p.add_argument("query", nargs="+", metavar="WORD", help='words (all must match), "a phrase", prefix*, OR')
    p.add_argument("--since", metavar="T", help="an ISO time, or a span back from now: 90m, 6h, 2d")
    p.add_argument("--limit", type=whole_number(1, MAX_ROWS), default=50, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(fs, "show", "one item in full, with the reply templates of its incidents", cmd_feeds_show)
    p.add_argument("item", metavar="ITEM", help="the item's number or fingerprint")
    p.add_argument("--json", action="store_true", help="print JSON")

    al = group(command, sub, "alerts", "items that matched an incident's keywords or area, or a severity threshold")
    p = command(al, "list", "alerts not yet handled (with --all: every alert)", cmd_alerts_list)
    p.add_argument("--all", action="store_true")
    p.add_argument("--incident", metavar="INCIDENT")
    p.add_argument("--json", action="store_true", help="print JSON")
    for action, help_text in (("ack", "acknowledge an alert"), ("dismiss", "dismiss an alert as not relevant")):
        p = command(al, action, help_text, cmd_alerts_handle)
        p.add_argument("alert", metavar="ALERT")
        p.set_defaults(action=action)
    p = command(al, "open", "open an incident from an alert, facts filled in from its item", cmd_alerts_open)
    p.add_argument("alert", metavar="ALERT")
    p.add_argument("--playbook", metavar="ID", help="the playbook (guessed from the item's words if left out)")
    p.add_argument("--exercise", action="store_true", help="open an EXERCISE incident")

    tr = group(command, sub, "triage", "the queue of public messages to answer")
    p = command(tr, "list", "public messages, most pressing first", cmd_triage_list)
    p.add_argument("--status", action="append", choices=("new", "acknowledged", "answered", "ignored"))
    p.add_argument("--limit", type=whole_number(1, MAX_ROWS), default=200, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(tr, "set", "record a triage decision", cmd_triage_set)
    p.add_argument("item", metavar="ITEM")
    p.add_argument("--status", required=True, choices=("new", "acknowledged", "answered", "ignored"))
    p.add_argument("--priority", choices=("urgent", "high", "normal", "low"))
    p.add_argument("--template", metavar="NAME", help="the response template used ('feeds show ITEM' lists them)")
    p.add_argument("--note", metavar="TEXT")

    ru = group(command, sub, "rules", "monitoring rules: severity thresholds, keywords, stakeholder groups, retention")
    command(ru, "show", "the rules in force", cmd_rules_show)
    p = command(ru, "set", "load rules from a YAML file (recorded in the audit log)", cmd_rules_set)
    p.add_argument("file", metavar="FILE")
