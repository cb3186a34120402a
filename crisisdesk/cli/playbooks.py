"""playbooks, text and cap: the playbook library, counting and linting text, CAP files (no database needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from crisisdesk.app import playbook_service
from crisisdesk.cli.context import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    AddCommand,
    Context,
    Subparsers,
    fact_pairs,
    group,
    read_named_file,
    read_stdin_text,
    warn,
    whole_number,
)
from crisisdesk.domain.agency import Agency, check_cap_prefix, check_cap_sender
from crisisdesk.domain.errors import CrisisdeskError
from crisisdesk.domain.message_types import MESSAGE_TYPES, MODES
from crisisdesk.domain.text_rules import Channel, measure

MAX_CAP_BYTES = 1024**2  # CAP files read by 'cap validate'
MAX_CHECKED_TEXT = 1_000_000  # characters 'text check' reads from standard input


def cmd_playbooks_list(ctx: Context) -> int:
    library = playbook_service().load()
    rows: list[dict[str, Any]] = [
        {
            "id": pb.id,
            "title": pb.title,
            "version": pb.version,
            "hazard": pb.hazard,
            "languages": pb.languages,
            "file": str(library.sources[pb.id]),
        }
        for pb in sorted(library.playbooks.values(), key=lambda p: p.id)
    ]
    if ctx.args.json:
        ctx.json(rows)
    else:
        width = max([2, *(len(r["id"]) for r in rows)])
        for r in rows:
            ctx.out(f"{r['id']:<{width}}  v{r['version']:<5} {r['title'].get('en') or next(iter(r['title'].values()))}")
    if library.problems:
        bad = sorted({p.source for p in library.problems})
        warn(
            f"crisisdesk: {len(library.problems)} problem(s) kept {len(bad)} file(s) out: {', '.join(bad)}; "
            "'crisisdesk playbooks validate' shows them"
        )
    return EXIT_OK


def cmd_playbooks_validate(ctx: Context) -> int:
    service = playbook_service()
    paths = [Path(p) for p in ctx.args.paths] if ctx.args.paths else None
    library = service.load(paths)
    for problem in library.problems:
        ctx.out(str(problem))
    if library.problems:
        warn(f"crisisdesk: {len(library.problems)} problem(s); {len(library.playbooks)} playbook(s) valid")
        return EXIT_CHECK_FAILED
    warn(f"crisisdesk: {len(library.playbooks)} playbook(s) valid")
    return EXIT_OK


def cmd_playbooks_render(ctx: Context) -> int:
    a = ctx.args
    service = playbook_service()
    rendered = service.render(
        a.playbook,
        a.type,
        [a.lang] if a.lang else None,
        fact_pairs(a.fact or []),
        example_facts=a.example_facts,
        mode=a.mode,
        tz_name=a.tz,
    )
    if a.cap or a.ipaws:
        agency = _agency(ctx)
        xml = service.cap(
            rendered,
            ipaws=a.ipaws,
            sender=check_cap_sender(a.sender) if a.sender else agency.sender,
            identifier_prefix=check_cap_prefix(a.identifier_prefix) if a.identifier_prefix else agency.prefix,
            references=a.reference or (),
        )
        problems = service.check_cap(xml, ipaws=a.ipaws)
        ctx.data_stream().write(xml.decode("utf-8"))
        for problem in problems:
            warn(f"crisisdesk: CAP: {problem}")
        return EXIT_CHECK_FAILED if problems else EXIT_OK
    variants = [v for vs in rendered.variants.values() for v in vs]
    if a.json:
        ctx.json([v.as_dict() for v in variants])
    else:
        for v in variants:
            m = v.measure
            parts = f", {m.segments} parts" if m.segments > 1 else ""
            ctx.out(f"== {v.channel} [{v.lang}] {m.length}/{m.limit} {m.unit}{parts}")
            ctx.out(v.text)
            for f in v.findings:
                ctx.out(f"   {f.severity} {f.code}: {f.message}")
            ctx.out()
    return EXIT_CHECK_FAILED if any(v.has_errors for v in variants) else EXIT_OK


def _agency(ctx: Context) -> Agency:
    """The workstation's agency, when there is a set-up database to read it from; a preview needs none."""
    from crisisdesk.app import App

    if not ctx.db_path.is_file():
        return Agency()
    try:
        app = App.open(ctx.db_path, readonly=True)
    except CrisisdeskError:
        return Agency()  # not a database this preview can read: render it all the same
    try:
        return app.settings().agency()
    except CrisisdeskError:
        return Agency()
    finally:
        app.close()


def cmd_text_check(ctx: Context) -> int:
    from crisisdesk.domain.lint import LintContext, lint
    from crisisdesk.domain.messages import Variant

    a = ctx.args
    if a.text in (None, "-"):
        text = read_stdin_text(ctx.stdin, MAX_CHECKED_TEXT, "give a text of a channel's size")
    else:
        text = a.text
    text = text.removesuffix("\n") if a.text in (None, "-") else text
    channel = Channel.parse(a.channel)
    m = measure(channel, text, mastodon_limit=a.mastodon_limit)
    # The language is told apart from English and Spanish, the languages of the US counties' playbooks (CD120).
    checked = LintContext(mode=a.mode, message_type=a.type, languages=(a.lang, "en", "es"))
    findings = (*m.findings, *lint(text, channel, a.lang, checked))
    variant = Variant(channel.value, a.lang, text, m, findings)
    if a.json:
        ctx.json(variant.as_dict())
    else:
        ctx.out(f"{m.length}/{m.limit} {m.unit}, {m.segments} part(s), {m.encoding}")
        for f in findings:
            ctx.out(f"{f.severity} {f.code}: {f.message}")
    return EXIT_CHECK_FAILED if variant.has_errors else EXIT_OK


def cmd_cap_validate(ctx: Context) -> int:
    limit = f"a CAP alert is a few kilobytes; this command reads at most {MAX_CAP_BYTES // 1024**2} MiB"
    data = read_named_file(ctx.args.file, MAX_CAP_BYTES, limit)
    problems = playbook_service().check_cap(data, ipaws=ctx.args.profile == "ipaws")
    if ctx.args.json:
        ctx.json({"valid": not problems, "problems": problems})
    else:
        for problem in problems:
            ctx.out(f"{ctx.args.file}: {problem}")
        if not problems:
            ctx.out(f"{ctx.args.file}: valid CAP 1.2" + (" (IPAWS profile)" if ctx.args.profile == "ipaws" else ""))
    return EXIT_CHECK_FAILED if problems else EXIT_OK


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    pb_sub = group(command, sub, "playbooks", "list, validate and render the playbook library")
    p = command(pb_sub, "list", "list the playbooks that load", cmd_playbooks_list)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(
        pb_sub, "validate", "check playbook files; exit 1 listing file:line:column problems", cmd_playbooks_validate
    )
    p.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default: every playbook it loads)")
    p = command(pb_sub, "render", "render a message for every channel and language", cmd_playbooks_render)
    p.add_argument("playbook", metavar="PLAYBOOK")
    p.add_argument("--type", required=True, choices=MESSAGE_TYPES)
    p.add_argument("--lang", metavar="LANG", help="one language (default: all of the playbook's)")
    p.add_argument("--fact", action="append", metavar="NAME=VALUE", help="repeatable")
    p.add_argument("--example-facts", action="store_true", help="start from the playbook's example facts")
    p.add_argument("--mode", choices=MODES, default="live")
    p.add_argument("--tz", metavar="ZONE", help="the incident's IANA time zone (default: the playbook's)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--cap", action="store_true", help="print CAP 1.2 XML instead")
    p.add_argument("--ipaws", action="store_true", help="CAP with the IPAWS profile (code, CMAM texts)")
    p.add_argument("--reference", action="append", metavar="SENDER,ID,SENT", help="CAP references (repeatable)")
    p.add_argument("--sender", metavar="ID", help="the CAP sender (default: this workstation's agency settings)")
    p.add_argument(
        "--identifier-prefix", metavar="PREFIX", help="the CAP identifier prefix (default: the agency settings)"
    )

    text_sub = group(command, sub, "text", "count and lint any text")
    p = command(text_sub, "check", "length in the channel's unit, segments and lint", cmd_text_check)
    p.add_argument("text", nargs="?", metavar="TEXT", help="the text, or - (default) for standard input")
    p.add_argument("--channel", required=True, metavar="CHANNEL", help=", ".join(c.value for c in Channel))
    p.add_argument("--lang", default="en", metavar="LANG")
    p.add_argument("--mode", choices=MODES, default="live")
    p.add_argument("--type", choices=MESSAGE_TYPES, default="update", help="message type, for the alert checks")
    p.add_argument("--mastodon-limit", type=whole_number(1, 100_000), default=500, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON")

    cap_sub = group(command, sub, "cap", "CAP 1.2 alerts")
    p = command(cap_sub, "validate", "check a CAP file against the CAP 1.2 schema and rules", cmd_cap_validate)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--profile", choices=("ipaws",), help="also check the IPAWS profile")
    p.add_argument("--json", action="store_true", help="print JSON")
