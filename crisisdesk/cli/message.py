"""message: draft, edit, approve and publish messages (the two-person rule)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from crisisdesk.cli.context import EXIT_OK, AddCommand, Context, Subparsers, group, read_named_text, read_stdin_text
from crisisdesk.domain.message_types import MESSAGE_TYPES

if TYPE_CHECKING:
    from crisisdesk.services.messages import MessageView


def _print_message(ctx: Context, view: MessageView) -> None:
    if ctx.args.json:
        ctx.json(view.as_dict())
        return
    banner = "EXERCISE" if view.mode == "exercise" else "LIVE"
    ctx.out(f"{view.id}  [{banner}]  {view.type}  v{view.version} by {view.author}  {view.state}")
    if view.siblings:
        _print_siblings(ctx, view)
        return
    ctx.out(f"hash {view.content_hash}")
    ctx.out(f"approval: {view.verdict.reason}")
    if view.references:
        ctx.out(f"references: {', '.join(view.references)}")
    ctx.out("channels: " + (", ".join(f"{a.name} ({a.kind.value}, {a.mode})" for a in view.accounts) or "none"))
    sent = view.sent_texts
    for v in view.variants:
        target = "" if v.channel in sent else " (not sent by these channels)"
        ctx.out(f"== {v.channel} [{v.lang}] {v.length}/{v.limit} {v.unit}{target}")
        ctx.out(v.text)
        for f in v.findings:
            ctx.out(f"   {f.severity} {f.code}: {f.message}")


def _print_siblings(ctx: Context, view: MessageView) -> None:
    """A conflict: every sibling version in full, with who wrote it where, and how to end it."""
    ctx.out(
        f"CONFLICT: {len(view.siblings)} versions were edited at the same time on different workstations; "
        "nothing can be submitted, approved or published until a person merges them:"
    )
    ctx.out(f"  crisisdesk message merge {view.id} --keep HASH")
    ctx.out(f"  crisisdesk message merge {view.id} --keep HASH --channel CHANNEL --lang LANG --text-file FILE")
    for s in view.siblings:
        where = s["workstation_name"]
        where = f"{where} ({s['workstation'][:8]})" if where != s["workstation"] else where
        ctx.out(f"-- v{s['version']} hash {s['hash']}")
        ctx.out(f"   by {s['author']} on workstation {where} at {s['at']}")
        for v in s["variants"]:
            ctx.out(f"== {v['channel']} [{v['lang']}]")
            ctx.out(v["text"])


def cmd_message_merge(ctx: Context) -> int:
    from crisisdesk.services.messages import MAX_VARIANT_CHARS

    a = ctx.args
    actor = ctx.actor()
    text = None
    if a.text_file is not None:
        limit = f"a variant may hold at most {MAX_VARIANT_CHARS:,} characters (put long material on a web page)"
        if a.text_file == "-":
            text = read_stdin_text(ctx.stdin, MAX_VARIANT_CHARS, limit)
        else:
            text = read_named_text(a.text_file, 4 * MAX_VARIANT_CHARS, limit, option="--text-file")
        text = text.strip()
    view = ctx.app().messages().merge(actor, a.message, a.keep, channel=a.channel, lang=a.lang, text=text)
    ctx.out(f"{view.id}: merged into v{view.version}, hash {view.content_hash} (it needs approval again)")
    return EXIT_OK


def cmd_message_draft(ctx: Context) -> int:
    actor = ctx.actor()
    view = ctx.app().messages().draft(actor, ctx.args.incident, ctx.args.type)
    if ctx.args.quiet and not ctx.args.json:
        ctx.out(view.id)
    else:
        _print_message(ctx, view)
    return EXIT_OK


def cmd_message_edit(ctx: Context) -> int:
    from crisisdesk.services.messages import MAX_VARIANT_CHARS

    a = ctx.args
    actor = ctx.actor()
    limit = f"a variant may hold at most {MAX_VARIANT_CHARS:,} characters (put long material on a web page)"
    if a.text_file == "-":
        text = read_stdin_text(ctx.stdin, MAX_VARIANT_CHARS, limit)
    else:
        # Up to 4 bytes a character in UTF-8; the service counts the characters.
        text = read_named_text(a.text_file, 4 * MAX_VARIANT_CHARS, limit, option="--text-file")
    view = ctx.app().messages().edit(actor, a.message, a.channel, a.lang, text.strip())
    ctx.out(f"{view.id}: v{view.version}, hash {view.content_hash} (earlier approvals no longer apply)")
    return EXIT_OK


def cmd_message_show(ctx: Context) -> int:
    actor = ctx.actor()
    _print_message(ctx, ctx.app().messages().show(actor, ctx.args.message))
    return EXIT_OK


def cmd_message_diff(ctx: Context) -> int:
    actor = ctx.actor()
    ctx.write(ctx.app().messages().diff(actor, ctx.args.message))
    return EXIT_OK


def cmd_message_submit(ctx: Context) -> int:
    actor = ctx.actor()
    view = ctx.app().messages().submit(actor, ctx.args.message)
    ctx.out(f"{view.id}: v{view.version} submitted for approval, hash {view.content_hash}")
    return EXIT_OK


def cmd_message_approve(ctx: Context) -> int:
    actor = ctx.actor()
    view = ctx.app().messages().approve(actor, ctx.args.message, ctx.args.hash, ctx.args.comment)
    status = "ready to publish" if view.verdict.ok else view.verdict.reason
    ctx.out(f"{view.id}: v{view.version} approved by {actor.name}; {status}")
    return EXIT_OK


def cmd_message_return(ctx: Context) -> int:
    actor = ctx.actor()
    view = ctx.app().messages().return_(actor, ctx.args.message, ctx.args.comment)
    ctx.out(f"{view.id}: returned to {view.author}: {ctx.args.comment}")
    return EXIT_OK


def cmd_message_publish(ctx: Context) -> int:
    from crisisdesk.services.messages import ConfirmationNeeded

    a = ctx.args
    actor = ctx.actor()
    try:
        view = (
            ctx.app()
            .messages()
            .publish(actor, a.message, confirm=a.confirm, break_glass=a.break_glass, reason=a.reason)
        )
    except ConfirmationNeeded as needed:
        ctx.out(needed.summary)
        raise
    note = " WITH BREAK GLASS" if a.break_glass else ""
    ctx.out(f"{view.id}: v{view.version} published{note} ({view.mode}); handed to the outbox")
    return EXIT_OK


def cmd_message_targets(ctx: Context) -> int:
    actor = ctx.actor()
    view = ctx.app().messages().set_targets(actor, ctx.args.message, ctx.args.names)
    names = ", ".join(f"{a.name} ({a.mode})" for a in view.accounts)
    ctx.out(f"{view.id}: v{view.version} goes to {names}; hash {view.content_hash} (needs approval again)")
    return EXIT_OK


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    msg_sub = group(command, sub, "message", "draft, approve and publish messages (two-person rule)")
    p = command(
        msg_sub, "draft", "render the playbook's templates for an incident into a new message", cmd_message_draft
    )
    p.add_argument("incident", metavar="INCIDENT")
    p.add_argument("--type", required=True, choices=MESSAGE_TYPES)
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("-q", "--quiet", action="store_true", help="print only the new message's id")
    p = command(msg_sub, "edit", "change one variant's text (a new version)", cmd_message_edit)
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--channel", required=True, metavar="CHANNEL")
    p.add_argument("--lang", required=True, metavar="LANG")
    p.add_argument("--text-file", required=True, metavar="FILE", help="the new text, or - for standard input")
    p = command(msg_sub, "show", "variants, lengths, lint, hash, approvals and status", cmd_message_show)
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(
        msg_sub,
        "merge",
        "end a conflict: keep one sibling version, or a merged text (a new version)",
        cmd_message_merge,
    )
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--keep", required=True, metavar="HASH", help="the sibling to keep ('message show' lists them)")
    p.add_argument("--channel", metavar="CHANNEL", help="with --text-file: the variant the merged text replaces")
    p.add_argument("--lang", metavar="LANG")
    p.add_argument("--text-file", metavar="FILE", help="a merged text for that variant, or - for standard input")
    p = command(msg_sub, "diff", "what changed since the last published version", cmd_message_diff)
    p.add_argument("message", metavar="MESSAGE")
    p = command(msg_sub, "submit", "ask for approval of the current version", cmd_message_submit)
    p.add_argument("message", metavar="MESSAGE")
    p = command(msg_sub, "approve", "approve the exact version with this hash", cmd_message_approve)
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--hash", required=True, metavar="HASH", help="the hash 'message show' prints")
    p.add_argument("--comment", metavar="TEXT")
    p = command(msg_sub, "return", "send it back to the author with a comment", cmd_message_return)
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--comment", required=True, metavar="TEXT")
    p = command(msg_sub, "publish", "hand the approved version to the outbox", cmd_message_publish)
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--confirm", metavar="PHRASE", help="the phrase the command states after its summary")
    p.add_argument("--break-glass", action="store_true", help="an approver publishing alone (recorded loudly)")
    p.add_argument("--reason", metavar="TEXT", help="why, with --break-glass")
    p = command(msg_sub, "targets", "choose the channels it goes to (a new version)", cmd_message_targets)
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("names", nargs="+", metavar="CHANNEL", help="channel names ('crisisdesk channels list')")
