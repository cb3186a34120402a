"""The command line: a headless front end over the same services as the console.

Exit codes: 0 done; 1 a check failed (for example the audit log is broken); 2 a person's mistake (bad flag,
unknown user, wrong password, missing database), said in one line on stderr; 3 something outside
crisisdesk failed (retry); 70 a bug, with the details in the log file.
"""

from __future__ import annotations

import argparse
import contextlib
import getpass
import logging
import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, NoReturn

import orjson

from crisisdesk import __version__
from crisisdesk.app import App, log_dir, playbook_service, resolve_db_path
from crisisdesk.domain.errors import ExternalError, UserError
from crisisdesk.domain.facts import zone
from crisisdesk.domain.incidents import Mode, Status
from crisisdesk.domain.message_types import MESSAGE_TYPES, MODES
from crisisdesk.domain.roles import Actor, Role
from crisisdesk.domain.text_rules import Channel, measure
from crisisdesk.services.audit import EXPORT_FORMATS

if TYPE_CHECKING:
    from crisisdesk.services.incidents import IncidentView
    from crisisdesk.services.messages import MessageView
    from crisisdesk.services.outbox import OutboxService, RunReport

PASSWORD_ENV = "CRISISDESK_PASSWORD"  # noqa: S105 - the variable's name, not a password
EXIT_OK, EXIT_CHECK_FAILED, EXIT_USER, EXIT_EXTERNAL, EXIT_BUG = 0, 1, 2, 3, 70

log = logging.getLogger("crisisdesk")


class UsageError(UserError):
    pass


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line and exit code 2, like every other user error."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see '{self.prog} --help')")


# -- input helpers -----------------------------------------------------------------------------------


def read_password_stdin(stdin: IO[str]) -> str:
    line = stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise UserError("--password-stdin: no password on standard input (give it as the first line)")
    return password


def acting_password(name: str) -> str:
    env = os.environ.get(PASSWORD_ENV)
    if env:
        return env
    if os.name == "posix":
        try:
            os.close(os.open("/dev/tty", os.O_RDWR))
        except OSError:
            raise UserError(f"no password for {name}: set {PASSWORD_ENV} or run from a terminal") from None
    return getpass.getpass(f"password for {name}: ")


# -- commands ------------------------------------------------------------------------------------------


class Context:
    def __init__(self, args: argparse.Namespace, stdin: IO[str], stdout: IO[str]) -> None:
        self.args = args
        self.stdin = stdin
        self.stdout = stdout
        self._app: App | None = None

    @property
    def db_path(self) -> Path:
        return resolve_db_path(getattr(self.args, "db", None))

    def app(self, *, create: bool = False) -> App:
        if self._app is None:
            self._app = App.open(self.db_path, create=create)
        return self._app

    def actor(self) -> Actor:
        name = getattr(self.args, "as_user", None)
        if not name:
            raise UserError("this command needs --as NAME: the person acting (password from $CRISISDESK_PASSWORD)")
        people = self.app().people
        people.require_initialised()  # before asking for a password that could not be checked
        return people.authenticate(name, acting_password(name))

    def out(self, text: str = "") -> None:
        self.stdout.write(text + "\n")

    def json(self, data: object) -> None:
        self.stdout.write(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode() + "\n")

    def close(self) -> None:
        if self._app is not None:
            self._app.close()


def cmd_init(ctx: Context) -> int:
    a = ctx.args
    if a.password_stdin:
        password = read_password_stdin(ctx.stdin)
    else:
        password = acting_password(a.admin)
        if not os.environ.get(PASSWORD_ENV) and getpass.getpass("again: ") != password:
            raise UserError("the two passwords differ; nothing was created")
    app = ctx.app(create=True)
    ws = app.initialise(a.admin, password, workstation_name=a.workstation_name)
    ctx.out(f"created {app.db.path} (workstation {ws}) with admin {a.admin}")
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
        ctx.out(f"{p.name:<{width}}  {', '.join(p.roles) or '-'}")
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


def cmd_audit_verify(ctx: Context) -> int:
    report = ctx.app().audit.verify()
    if ctx.args.json:
        ctx.json(
            {
                "ok": report.ok,
                "checked": report.checked,
                "bad_position": report.bad_position,
                "bad_seq": report.bad_seq,
                "reason": report.reason,
                "heads": {ws: {"seq": s, "hash": h} for ws, (s, h) in report.head.items()},
            }
        )
    else:
        ctx.out(report.describe())
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def cmd_audit_export(ctx: Context) -> int:
    a = ctx.args
    actor = ctx.actor()
    audit = ctx.app().audit
    if not a.out or a.out == "-":
        audit.export(actor, a.format, ctx.stdout)
        return EXIT_OK
    target = Path(a.out)
    if target.is_dir():
        raise UserError(f"--out {target} is a folder; give a file name")
    if not target.parent.exists():
        raise UserError(f"--out: the folder {target.parent} does not exist")
    # Written beside the target and renamed into place, so a failed export never leaves half a file.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            n = audit.export(actor, a.format, f)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    print(f"exported {n} entries to {target}", file=sys.stderr)
    return EXIT_OK


# -- playbooks, text and CAP (no database needed) ----------------------------------------------------------


def _fact_pairs(items: Sequence[str]) -> dict[str, str]:
    facts = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--fact {item!r}: write NAME=VALUE")
        facts[name.strip()] = value
    return facts


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
        print(
            f"crisisdesk: {len(library.problems)} problem(s) kept {len(bad)} file(s) out: {', '.join(bad)}; "
            "'crisisdesk playbooks validate' shows them",
            file=sys.stderr,
        )
    return EXIT_OK


def cmd_playbooks_validate(ctx: Context) -> int:
    service = playbook_service()
    paths = [Path(p) for p in ctx.args.paths] if ctx.args.paths else None
    library = service.load(paths)
    for problem in library.problems:
        ctx.out(str(problem))
    if library.problems:
        print(
            f"crisisdesk: {len(library.problems)} problem(s); {len(library.playbooks)} playbook(s) valid",
            file=sys.stderr,
        )
        return EXIT_CHECK_FAILED
    print(f"crisisdesk: {len(library.playbooks)} playbook(s) valid", file=sys.stderr)
    return EXIT_OK


def cmd_playbooks_render(ctx: Context) -> int:
    a = ctx.args
    service = playbook_service()
    rendered = service.render(
        a.playbook,
        a.type,
        [a.lang] if a.lang else None,
        _fact_pairs(a.fact or []),
        example_facts=a.example_facts,
        mode=a.mode,
        tz_name=a.tz,
    )
    if a.cap or a.ipaws:
        xml = service.cap(rendered, ipaws=a.ipaws, references=a.reference or ())
        problems = service.check_cap(xml, ipaws=a.ipaws)
        ctx.stdout.write(xml.decode("utf-8"))
        for problem in problems:
            print(f"crisisdesk: CAP: {problem}", file=sys.stderr)
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


def cmd_text_check(ctx: Context) -> int:
    from crisisdesk.domain.lint import LintContext, lint
    from crisisdesk.domain.messages import Variant

    a = ctx.args
    text = ctx.stdin.read() if a.text in (None, "-") else a.text
    text = text.removesuffix("\n") if a.text in (None, "-") else text
    channel = Channel.parse(a.channel)
    m = measure(channel, text, mastodon_limit=a.mastodon_limit)
    findings = (*m.findings, *lint(text, channel, a.lang, LintContext(mode=a.mode, message_type=a.type)))
    variant = Variant(channel.value, a.lang, text, m, findings)
    if a.json:
        ctx.json(variant.as_dict())
    else:
        ctx.out(f"{m.length}/{m.limit} {m.unit}, {m.segments} part(s), {m.encoding}")
        for f in findings:
            ctx.out(f"{f.severity} {f.code}: {f.message}")
    return EXIT_CHECK_FAILED if variant.has_errors else EXIT_OK


def cmd_cap_validate(ctx: Context) -> int:
    problems = playbook_service().check_cap_file(Path(ctx.args.file), ipaws=ctx.args.profile == "ipaws")
    if ctx.args.json:
        ctx.json({"valid": not problems, "problems": problems})
    else:
        for problem in problems:
            ctx.out(f"{ctx.args.file}: {problem}")
        if not problems:
            ctx.out(f"{ctx.args.file}: valid CAP 1.2" + (" (IPAWS profile)" if ctx.args.profile == "ipaws" else ""))
    return EXIT_CHECK_FAILED if problems else EXIT_OK


# -- incidents ------------------------------------------------------------------------------------------


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
    ctx.out(f"due (times in {inc.timezone}):")
    local = zone(inc.timezone)
    for item in view.due:
        step = f"step {item.step}: " if item.step else ""
        when = item.due_at.astimezone(local).strftime("%Y-%m-%d %H:%M")
        ctx.out(f"  {item.state.upper():<9} {when}  {step}{item.what} ({item.owner})")
    ctx.out("timeline:")
    for entry in view.timeline:
        ctx.out(f"  {entry.at}  {entry.actor}  {entry.what}  {entry.summary}")


def cmd_incident_open(ctx: Context) -> int:
    a = ctx.args
    app = ctx.app()
    actor = ctx.actor()
    incident = app.incidents().open(
        actor, a.playbook, Mode.parse(a.mode), title=a.title, facts=_fact_pairs(a.fact or []), timezone=a.tz
    )
    if a.json:
        ctx.json(incident.as_dict())
    else:
        ctx.out(f"opened {incident.id} ({incident.mode.value.upper()}): {incident.title}")
    return EXIT_OK


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
    [(name, value)] = _fact_pairs([ctx.args.assignment]).items()
    ctx.app().incidents().set_fact(actor, ctx.args.id, name, value)
    ctx.out(f"{ctx.args.id}: {name} = {value}")
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


# -- messages -------------------------------------------------------------------------------------------


def _print_message(ctx: Context, view: MessageView) -> None:
    if ctx.args.json:
        ctx.json(view.as_dict())
        return
    banner = "EXERCISE" if view.mode == "exercise" else "LIVE"
    ctx.out(f"{view.id}  [{banner}]  {view.type}  v{view.version} by {view.author}  {view.state}")
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


def cmd_message_draft(ctx: Context) -> int:
    actor = ctx.actor()
    _print_message(ctx, ctx.app().messages().draft(actor, ctx.args.incident, ctx.args.type))
    return EXIT_OK


def cmd_message_edit(ctx: Context) -> int:
    a = ctx.args
    actor = ctx.actor()
    if a.text_file == "-":
        text = ctx.stdin.read()
    else:
        try:
            text = Path(a.text_file).read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UserError(f"cannot read --text-file {a.text_file}: {exc}") from None
    view = ctx.app().messages().edit(actor, a.message, a.channel, a.lang, text.strip())
    ctx.out(f"{view.id}: v{view.version}, hash {view.content_hash} (earlier approvals no longer apply)")
    return EXIT_OK


def cmd_message_show(ctx: Context) -> int:
    actor = ctx.actor()
    _print_message(ctx, ctx.app().messages().show(actor, ctx.args.message))
    return EXIT_OK


def cmd_message_diff(ctx: Context) -> int:
    actor = ctx.actor()
    ctx.stdout.write(ctx.app().messages().diff(actor, ctx.args.message))
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


def cmd_incident_false_alarm(ctx: Context) -> int:
    actor = ctx.actor()
    views = ctx.app().messages().false_alarm(actor, ctx.args.id, correction=ctx.args.correction)
    for view in views:
        ctx.out(
            f"{view.id}: {view.type} v{view.version} submitted, hash {view.content_hash}, "
            f"references {', '.join(view.references)}"
        )
    ctx.out("ready for approval: 'crisisdesk message approve MESSAGE --hash HASH', then publish")
    return EXIT_OK


# -- channels, outbox and the worker ---------------------------------------------------------------------


def cmd_channels_add(ctx: Context) -> int:
    from crisisdesk.credentials import KeyringSecrets

    a = ctx.args
    actor = ctx.actor()
    app = ctx.app()
    if a.allow_insecure_keyring:
        app.secrets = KeyringSecrets(allow_insecure=True)
    secret = read_password_stdin(ctx.stdin) if a.secret_stdin else None
    account = app.channels().add(actor, a.kind, a.name, exercise=a.exercise, settings=a.set or [], secret=secret)
    ctx.out(f"added {account.name}: {account.kind.value}, {account.mode.upper()} ({account.id})")
    if account.spec.retract:
        ctx.out(f"note: {account.name} cannot retract what it sends: {account.spec.retract}")
    return EXIT_OK


def cmd_channels_list(ctx: Context) -> int:
    actor = ctx.actor()
    accounts = ctx.app().channels().accounts(actor)
    if ctx.args.json:
        ctx.json([a.as_dict() for a in accounts])
        return EXIT_OK
    for a in accounts:
        settings = " ".join(f"{k}={v}" for k, v in sorted(a.settings.items()))
        retract = "can retract" if a.spec.retract is None else f"cannot retract ({a.spec.retract})"
        ctx.out(f"{a.name:<20} {a.kind.value:<9} {a.mode.upper():<8} {retract}  {settings}")
    if not accounts:
        ctx.out("no channels: add one with 'crisisdesk channels add KIND NAME'")
    return EXIT_OK


def cmd_channels_test(ctx: Context) -> int:
    actor = ctx.actor()
    detail = ctx.app().channels().test(actor, ctx.args.name)
    ctx.out(f"{ctx.args.name}: ok: {detail}")
    return EXIT_OK


def cmd_channels_remove(ctx: Context) -> int:
    actor = ctx.actor()
    account = ctx.app().channels().remove(actor, ctx.args.name)
    ctx.out(f"removed {account.name}; its secret is gone from the keyring")
    return EXIT_OK


def cmd_outbox_list(ctx: Context) -> int:
    actor = ctx.actor()
    rows = ctx.app().outbox().rows(actor, message_id=ctx.args.message, limit=ctx.args.limit)
    if ctx.args.json:
        ctx.json([r.as_dict() for r in rows])
        return EXIT_OK
    for r in rows:
        if r.state == "sent":
            detail = f"receipt {r.remote_id} {r.remote_url or ''} at {r.sent_at}".rstrip()
        elif r.state == "failed":
            detail = f"{r.reason}; next try {r.next_try_at or 'now'}"
        else:
            detail = r.reason or ""
        if r.retract_state:
            detail += f"; retraction {r.retract_state}" + (f" ({r.retract_reason})" if r.retract_reason else "")
        ctx.out(
            f"{r.id}  {r.message_id} v{r.version}  {r.account} ({r.kind}, {r.mode})  {r.state.upper()}"
            f" x{r.attempts}  {detail}".rstrip()
        )
    if not rows:
        ctx.out("the outbox is empty")
    return EXIT_OK


def _run_once(ctx: Context) -> RunReport:
    from crisisdesk.services.outbox import RunReport, worker_lock

    total = RunReport()
    with worker_lock(ctx.db_path):
        outbox = ctx.app().outbox()
        for _ in range(1000):  # pass after pass while something goes; what failed waits for its next try
            report = outbox.run_once()
            total.add(report)
            if not (report.sent or report.reconciled or report.retracted):
                break
    return total


def _print_report(ctx: Context, report: RunReport) -> None:
    for note in report.notes:
        ctx.out(note)
    ctx.out(
        f"sent {report.sent}, failed {report.failed} (will retry), dead {report.dead}, "
        f"checked after a restart {report.reconciled}, retracted {report.retracted}, "
        f"could not retract {report.not_retractable}"
    )


def cmd_outbox_run(ctx: Context) -> int:
    if not ctx.args.once:
        return cmd_worker(ctx)
    ctx.app().people.require_initialised()
    report = _run_once(ctx)
    _print_report(ctx, report)
    return EXIT_OK if not report.dead else EXIT_CHECK_FAILED


def cmd_outbox_retry(ctx: Context) -> int:
    actor = ctx.actor()
    row = ctx.app().outbox().retry(actor, ctx.args.row)
    ctx.out(f"{row.id}: queued again for {row.account}; the worker sends it next")
    return EXIT_OK


def cmd_outbox_retract(ctx: Context) -> int:
    from crisisdesk.services.outbox import WorkerBusy

    actor = ctx.actor()
    outbox = ctx.app().outbox()
    requested = outbox.request_retract(actor, ctx.args.message, ctx.args.channel)
    try:
        _run_once(ctx)
    except WorkerBusy:
        ctx.out("a worker is running: it carries the retraction out now; see 'crisisdesk outbox list'")
    for r in requested:
        row = outbox.get(r.id)
        state = row.retract_state or "requested"
        why = f": {row.retract_reason}" if row.retract_reason and state != "requested" else ""
        ctx.out(f"{row.id}  {row.account} ({row.kind})  {state}{why}")
    if any(outbox.get(r.id).retract_state in ("impossible", "failed") for r in requested):
        ctx.out("some posts could not be taken back: publish a correction on those channels")
        return EXIT_CHECK_FAILED
    return EXIT_OK


def cmd_worker(ctx: Context, *, outbox: bool = True) -> int:
    """The outbox worker and the feed poller without the console: runs until stopped (SIGTERM or Ctrl-C)."""
    import signal
    import threading

    from crisisdesk.services.feed_scheduler import FeedScheduler
    from crisisdesk.services.outbox import Worker, WorkerBusy, worker_lock

    path = ctx.db_path
    ctx.app().people.require_initialised()
    ctx.close()  # the worker opens its own connection in its own thread

    def open_outbox() -> OutboxService:
        return App.open(path).outbox()

    worker = Worker(open_outbox)
    feeds = FeedScheduler(lambda: App.open(path).feeds())
    stopped = threading.Event()

    def stop(*_: object) -> None:
        stopped.set()
        worker.stop(timeout=0)

    with contextlib.ExitStack() as stack:
        try:
            stack.enter_context(worker_lock(path))
        except WorkerBusy:
            if outbox:
                raise
            raise UserError("a worker (or the console) already polls the feeds of this database") from None
        previous = signal.signal(signal.SIGTERM, stop)
        stack.callback(signal.signal, signal.SIGTERM, previous)
        what = "outbox worker and feed poller" if outbox else "feed poller"
        print(f"crisisdesk: {what} on {path}; stop with Ctrl-C", file=sys.stderr)
        feeds.start()
        stack.callback(feeds.stop)
        try:
            if outbox:
                worker.run()
            else:
                while not stopped.wait(0.5):
                    pass
        except KeyboardInterrupt:
            pass
    return EXIT_OK


# -- feeds, alerts and triage ---------------------------------------------------------------------------


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
    path = Path(ctx.args.file)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror}") from None
    rules = ctx.app().feeds().set_rules(ctx.actor(), text, path.name)
    ctx.out(
        f"rules set from {path.name}: severity >= {rules.min_severity}, magnitude >= {rules.min_magnitude:g},"
        f" {len(rules.keywords)} keyword(s), {len(rules.stakeholders)} stakeholder group(s),"
        f" retention {rules.retention_days} days"
    )
    return EXIT_OK


def cmd_message_targets(ctx: Context) -> int:
    actor = ctx.actor()
    view = ctx.app().messages().set_targets(actor, ctx.args.message, ctx.args.names)
    names = ", ".join(f"{a.name} ({a.mode})" for a in view.accounts)
    ctx.out(f"{view.id}: v{view.version} goes to {names}; hash {view.content_hash} (needs approval again)")
    return EXIT_OK


def cmd_gui(ctx: Context) -> int:
    try:
        from crisisdesk.ui.main import run_gui
    except ImportError as exc:
        raise UserError(
            f"the console cannot start because Qt cannot load ({exc}); on Debian install: "
            "libegl1 libgl1 libx11-6 libdbus-1-3 libfontconfig1 libfreetype6 libglib2.0-0 libxkbcommon0"
        ) from None
    return run_gui(ctx.db_path)


# -- parser --------------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    common = _Parser(add_help=False)
    common.add_argument(
        "--db",
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the database file (default: $CRISISDESK_DB, then the user data folder)",
    )
    common.add_argument(
        "--as",
        dest="as_user",
        metavar="NAME",
        default=argparse.SUPPRESS,
        help="the person acting; password from $CRISISDESK_PASSWORD or a prompt",
    )

    parser = _Parser(
        prog="crisisdesk",
        description="Crisis-communications console. With no command, opens the console window.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"crisisdesk {__version__}")
    parser.set_defaults(handler=cmd_gui)
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(
        parent: argparse._SubParsersAction[_Parser],
        name: str,
        help_text: str,
        handler: Callable[[Context], int] | None = None,
    ) -> _Parser:
        p = parent.add_parser(name, help=help_text, description=help_text, parents=[common])
        if handler is not None:
            p.set_defaults(handler=handler)
        return p

    command(sub, "gui", "open the console window", cmd_gui)

    p = command(sub, "init", "create the database, this workstation's identity and the first admin", cmd_init)
    p.add_argument("--admin", required=True, metavar="NAME", help="the first admin's user name")
    p.add_argument("--password-stdin", action="store_true", help="read the admin's password from standard input")
    p.add_argument("--workstation-name", metavar="NAME", help="a name for this workstation (default: the host name)")

    users = command(sub, "users", "manage people and their roles (admins only)")
    users.set_defaults(handler=_missing_subcommand(users))
    users_sub = users.add_subparsers(title="commands", metavar="COMMAND")
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

    playbooks = command(sub, "playbooks", "list, validate and render the playbook library")
    playbooks.set_defaults(handler=_missing_subcommand(playbooks))
    pb_sub = playbooks.add_subparsers(title="commands", metavar="COMMAND")
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

    text = command(sub, "text", "count and lint any text")
    text.set_defaults(handler=_missing_subcommand(text))
    text_sub = text.add_subparsers(title="commands", metavar="COMMAND")
    p = command(text_sub, "check", "length in the channel's unit, segments and lint", cmd_text_check)
    p.add_argument("text", nargs="?", metavar="TEXT", help="the text, or - (default) for standard input")
    p.add_argument("--channel", required=True, metavar="CHANNEL", help=", ".join(c.value for c in Channel))
    p.add_argument("--lang", default="en", metavar="LANG")
    p.add_argument("--mode", choices=MODES, default="live")
    p.add_argument("--type", choices=MESSAGE_TYPES, default="update", help="message type, for the alert checks")
    p.add_argument("--mastodon-limit", type=int, default=500, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON")

    cap = command(sub, "cap", "CAP 1.2 alerts")
    cap.set_defaults(handler=_missing_subcommand(cap))
    cap_sub = cap.add_subparsers(title="commands", metavar="COMMAND")
    p = command(cap_sub, "validate", "check a CAP file against the CAP 1.2 schema and rules", cmd_cap_validate)
    p.add_argument("file", metavar="FILE")
    p.add_argument("--profile", choices=("ipaws",), help="also check the IPAWS profile")
    p.add_argument("--json", action="store_true", help="print JSON")

    _add_incident_commands(sub, command)

    _add_message_commands(sub, command)

    _add_outbox_commands(sub, command)
    _add_feed_commands(sub, command)

    audit = command(sub, "audit", "check and export the tamper-evident audit log")
    audit.set_defaults(handler=_missing_subcommand(audit))
    audit_sub = audit.add_subparsers(title="commands", metavar="COMMAND")
    p = command(audit_sub, "verify", "recompute the hash chain; exit 1 naming the first bad entry", cmd_audit_verify)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(audit_sub, "export", "write every entry with the exact bytes that were hashed", cmd_audit_export)
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    return parser


def _add_incident_commands(sub: argparse._SubParsersAction[_Parser], command: Callable[..., _Parser]) -> None:
    incident = command(sub, "incident", "open and run incidents (LIVE or EXERCISE)")
    incident.set_defaults(handler=_missing_subcommand(incident))
    inc_sub = incident.add_subparsers(title="commands", metavar="COMMAND")
    p = command(inc_sub, "open", "open an incident from a playbook; its mode is fixed for its life", cmd_incident_open)
    p.add_argument("playbook", metavar="PLAYBOOK")
    p.add_argument("--mode", required=True, choices=MODES)
    p.add_argument("--title", metavar="TEXT")
    p.add_argument("--fact", action="append", metavar="NAME=VALUE", help="repeatable")
    p.add_argument("--tz", metavar="ZONE", help="the incident's IANA time zone (default: the playbook's)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(inc_sub, "list", "list incidents", cmd_incident_list)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(inc_sub, "show", "facts, what is due and overdue, and the timeline", cmd_incident_show)
    p.add_argument("id", metavar="ID")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(inc_sub, "set-fact", "set or change a fact", cmd_incident_set_fact)
    p.add_argument("id", metavar="ID")
    p.add_argument("assignment", metavar="NAME=VALUE")
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
    p = command(inc_sub, "step-done", "tick a checklist step", cmd_incident_step_done)
    p.add_argument("id", metavar="ID")
    p.add_argument("step", type=int, metavar="STEP")


def _add_message_commands(sub: argparse._SubParsersAction[_Parser], command: Callable[..., _Parser]) -> None:
    message = command(sub, "message", "draft, approve and publish messages (two-person rule)")
    message.set_defaults(handler=_missing_subcommand(message))
    msg_sub = message.add_subparsers(title="commands", metavar="COMMAND")
    p = command(
        msg_sub, "draft", "render the playbook's templates for an incident into a new message", cmd_message_draft
    )
    p.add_argument("incident", metavar="INCIDENT")
    p.add_argument("--type", required=True, choices=MESSAGE_TYPES)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(msg_sub, "edit", "change one variant's text (a new version)", cmd_message_edit)
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--channel", required=True, metavar="CHANNEL")
    p.add_argument("--lang", required=True, metavar="LANG")
    p.add_argument("--text-file", required=True, metavar="FILE", help="the new text, or - for standard input")
    p = command(msg_sub, "show", "variants, lengths, lint, hash, approvals and status", cmd_message_show)
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--json", action="store_true", help="print JSON")
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


def _add_outbox_commands(sub: argparse._SubParsersAction[_Parser], command: Callable[..., _Parser]) -> None:
    from crisisdesk.domain.accounts import KINDS

    channels = command(sub, "channels", "channel accounts: where messages go (secrets in the OS keyring)")
    channels.set_defaults(handler=_missing_subcommand(channels))
    ch_sub = channels.add_subparsers(title="commands", metavar="COMMAND")
    kinds = "; ".join(
        f"{k.value}: {spec.help} (settings: {', '.join([*spec.required, *spec.optional]) or 'none'})"
        for k, spec in KINDS.items()
    )
    p = command(ch_sub, "add", "add a channel account (admins only)", cmd_channels_add)
    p.add_argument("kind", metavar="KIND", help=kinds)
    p.add_argument("name", metavar="NAME")
    p.add_argument("--exercise", action="store_true", help="an exercise account: only EXERCISE incidents use it")
    p.add_argument("--set", action="append", metavar="KEY=VALUE", help="a setting (repeatable)")
    p.add_argument("--secret-stdin", action="store_true", help="read the secret (token, password) from stdin")
    p.add_argument(
        "--allow-insecure-keyring", action="store_true", help="accept a keyring that keeps secrets in a plain file"
    )
    p = command(ch_sub, "list", "list channel accounts", cmd_channels_list)
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(ch_sub, "test", "check the connection and credentials without posting", cmd_channels_test)
    p.add_argument("name", metavar="NAME")
    p = command(ch_sub, "remove", "remove a channel account and its secret (admins only)", cmd_channels_remove)
    p.add_argument("name", metavar="NAME")

    outbox = command(sub, "outbox", "what is queued, sent, failed or dead on every channel")
    outbox.set_defaults(handler=_missing_subcommand(outbox))
    ob_sub = outbox.add_subparsers(title="commands", metavar="COMMAND")
    p = command(ob_sub, "list", "outbox rows, newest first, with receipts and reasons", cmd_outbox_list)
    p.add_argument("--message", metavar="MESSAGE", help="only this message's rows")
    p.add_argument("--limit", type=int, default=200, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(ob_sub, "run", "send what is due (with --once: one pass, then exit)", cmd_outbox_run)
    p.add_argument("--once", action="store_true")
    p = command(ob_sub, "retry", "send a failed, dead or unknown row again", cmd_outbox_retry)
    p.add_argument("row", metavar="ROW")
    p = command(ob_sub, "retract", "take a message back where the channel allows", cmd_outbox_retract)
    p.add_argument("message", metavar="MESSAGE")
    p.add_argument("--channel", metavar="NAME", help="only on this channel")

    command(sub, "worker", "run the outbox worker and the feed poller without the console, until stopped", cmd_worker)


def _add_feed_commands(sub: argparse._SubParsersAction[_Parser], command: Callable[..., _Parser]) -> None:
    from crisisdesk.domain.feeds import DEFAULT_INTERVAL, KIND_HELP

    feeds = command(sub, "feeds", "sources watched during incidents: news, official alerts, social, 311")
    feeds.set_defaults(handler=_missing_subcommand(feeds))
    fs = feeds.add_subparsers(title="commands", metavar="COMMAND")
    p = command(fs, "add", "add a source", cmd_feeds_add)
    p.add_argument("name", metavar="NAME")
    p.add_argument("url", metavar="URL", help="its address (a folder path for --kind folder)")
    p.add_argument(
        "--kind", required=True, metavar="KIND", help="; ".join(f"{k.value}: {h}" for k, h in KIND_HELP.items())
    )
    p.add_argument("--interval", type=int, default=DEFAULT_INTERVAL, metavar="SECONDS", help="how often to poll")
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
    p.add_argument("--limit", type=int, default=50, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(fs, "show", "one item in full, with the reply templates of its incidents", cmd_feeds_show)
    p.add_argument("item", metavar="ITEM", help="the item's number or fingerprint")
    p.add_argument("--json", action="store_true", help="print JSON")

    alerts = command(sub, "alerts", "items that matched an incident's keywords or area, or a severity threshold")
    alerts.set_defaults(handler=_missing_subcommand(alerts))
    al = alerts.add_subparsers(title="commands", metavar="COMMAND")
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

    triage = command(sub, "triage", "the queue of public messages to answer")
    triage.set_defaults(handler=_missing_subcommand(triage))
    tr = triage.add_subparsers(title="commands", metavar="COMMAND")
    p = command(tr, "list", "public messages, most pressing first", cmd_triage_list)
    p.add_argument("--status", action="append", choices=("new", "acknowledged", "answered", "ignored"))
    p.add_argument("--limit", type=int, default=200, metavar="N")
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(tr, "set", "record a triage decision", cmd_triage_set)
    p.add_argument("item", metavar="ITEM")
    p.add_argument("--status", required=True, choices=("new", "acknowledged", "answered", "ignored"))
    p.add_argument("--priority", choices=("urgent", "high", "normal", "low"))
    p.add_argument("--template", metavar="NAME", help="the response template used ('feeds show ITEM' lists them)")
    p.add_argument("--note", metavar="TEXT")

    rules = command(sub, "rules", "monitoring rules: severity thresholds, keywords, stakeholder groups, retention")
    rules.set_defaults(handler=_missing_subcommand(rules))
    ru = rules.add_subparsers(title="commands", metavar="COMMAND")
    command(ru, "show", "the rules in force", cmd_rules_show)
    p = command(ru, "set", "load rules from a YAML file (recorded in the audit log)", cmd_rules_set)
    p.add_argument("file", metavar="FILE")


def _missing_subcommand(parser: _Parser) -> Callable[[Context], int]:
    def handler(ctx: Context) -> int:
        raise UsageError(f"{parser.prog} needs a command (see '{parser.prog} --help')")

    return handler


def _setup_logging() -> Path | None:
    try:
        folder = log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "crisisdesk.log"
        handler = logging.FileHandler(path, encoding="utf-8")
    except OSError:
        return None
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return path


def main(argv: Sequence[str] | None = None, *, stdin: IO[str] | None = None, stdout: IO[str] | None = None) -> int:
    stdin = stdin or sys.stdin
    stdout = stdout or sys.stdout
    ctx: Context | None = None
    try:
        args = build_parser().parse_args(argv)
        ctx = Context(args, stdin, stdout)
        code: int = args.handler(ctx)
        return code
    except UserError as exc:
        print(f"crisisdesk: error: {exc}", file=sys.stderr)
        return EXIT_USER
    except ExternalError as exc:
        print(f"crisisdesk: {exc}", file=sys.stderr)
        return EXIT_EXTERNAL
    except BrokenPipeError:
        # The reader went away (``| head``): stop quietly, as other command-line tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_OK
    except KeyboardInterrupt:
        print("crisisdesk: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: keep the details in the log, give the person one line
        path = _setup_logging()
        log.exception("internal error")
        where = f"; details in {path}" if path else ""
        print(
            f"crisisdesk: internal error (a bug, please report it): {type(exc).__name__}: {exc}{where}", file=sys.stderr
        )
        return EXIT_BUG
    finally:
        if ctx is not None:
            ctx.close()


if __name__ == "__main__":
    sys.exit(main())
