"""audit: check and export the tamper-evident audit log."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

from crisisdesk.app import verify_database
from crisisdesk.cli.context import (
    EXIT_CHECK_FAILED,
    EXIT_OK,
    AddCommand,
    Context,
    Subparsers,
    file_kind,
    group,
    warn,
)
from crisisdesk.domain.errors import UserError
from crisisdesk.services.audit import EXPORT_FORMATS


def cmd_audit_verify(ctx: Context) -> int:
    # Opened read-only, apart from the context's App: verify never creates, migrates or writes anything.
    report = verify_database(ctx.db_path, deep=ctx.args.deep)
    if ctx.args.json:
        ctx.json(report.as_dict())
    else:
        for line in report.lines():
            ctx.out(line)
    return EXIT_OK if report.ok else EXIT_CHECK_FAILED


def cmd_audit_export(ctx: Context) -> int:
    a = ctx.args
    actor = ctx.actor()
    audit = ctx.app().audit
    if not a.out or a.out == "-":
        audit.export(actor, a.format, ctx.data_stream())
        return EXIT_OK
    target = Path(a.out)
    if target.is_dir():
        raise UserError(f"--out {target} is a folder; give a file name")
    if not target.parent.exists():
        raise UserError(f"--out: the folder {target.parent} does not exist")
    refuse_unless_regular(target)
    # Written beside the target and renamed into place, so a failed export never leaves half a file.
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
            n = audit.export(actor, a.format, f)
        refuse_unless_regular(target)  # again: something may have appeared there while the export ran
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    warn(f"exported {n} entries to {target}")
    return EXIT_OK


def refuse_unless_regular(target: Path) -> None:
    """The export replaces only a regular file: renaming over anything else swaps the node itself (as root,
    ``--out /dev/full`` replaced the device with a file)."""
    try:
        mode = os.lstat(target).st_mode
    except FileNotFoundError:
        return
    except OSError as exc:
        raise UserError(f"--out {target}: {exc.strerror}") from None
    if stat.S_ISREG(mode):
        return
    raise UserError(
        f"--out {target} is {file_kind(mode)}; the export replaces only a regular file "
        "(give a new file name, or leave out --out for standard output)"
    )


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    audit_sub = group(command, sub, "audit", "check and export the tamper-evident audit log")
    p = command(
        audit_sub,
        "verify",
        "check the file, the hash chain and the log's head kept in the keyring; exit 1 naming what is wrong",
        cmd_audit_verify,
    )
    p.add_argument(
        "--deep",
        action="store_true",
        help="also replay the log into a scratch copy and name every table row that disagrees with it",
    )
    p.add_argument("--json", action="store_true", help="print JSON")
    p = command(audit_sub, "export", "write every entry with the exact bytes that were hashed", cmd_audit_export)
    p.add_argument("--format", required=True, choices=EXPORT_FORMATS)
    p.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
