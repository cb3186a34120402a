"""bundle: carry events between sites with no network at all, in signed files (docs/design/sync.md, "Bundles")."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from crisisdesk.cli.audit import refuse_unless_regular
from crisisdesk.cli.context import (
    EXIT_OK,
    JOIN_AS_HELP,
    AddCommand,
    Context,
    Subparsers,
    group,
    joining_as,
    read_named_file,
    signing_in_line,
)
from crisisdesk.domain.errors import UserError
from crisisdesk.services.bundles import BundleService

# A bundle is read whole before anything is checked; 10,000 entries take about 5 MB.
MAX_BUNDLE_BYTES = 2 * 1024**3


def cmd_bundle_cursor(ctx: Context) -> int:
    ctx.out(BundleService(ctx.app()).cursor())
    return EXIT_OK


def cmd_bundle_export(ctx: Context) -> int:
    a = ctx.args
    service = BundleService(ctx.app())
    target = Path(a.out)
    if target.is_dir():
        raise UserError(f"--out {target} is a folder; give a file name")
    if not target.parent.exists():
        raise UserError(f"--out: the folder {target.parent} does not exist")
    refuse_unless_regular(target)
    # Written beside the target and renamed into place: a failed export never leaves half a bundle.
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise UserError(f"--out {target}: cannot write in {target.parent}: {exc.strerror or exc}") from None
    try:
        with os.fdopen(fd, "wb") as f:
            done = service.export(f, a.since)
            f.flush()
            os.fsync(f.fileno())
        refuse_unless_regular(target)  # again: something may have appeared there while the export ran
        os.replace(tmp, target)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise UserError(f"--out {target}: the bundle could not be written: {exc.strerror or exc}") from None
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    ctx.out(f"wrote bundle {done.bundle} to {target}: {done.entries} entries of {done.workstations} workstation(s)")
    return EXIT_OK


def cmd_bundle_import(ctx: Context) -> int:
    path = ctx.args.file
    data = read_named_file(path, MAX_BUNDLE_BYTES, "a bundle is at most 2 GiB: export it in parts (--since)")
    done = BundleService(ctx.app()).import_bytes(data, name=f"bundle file {path}")
    report = done.report
    ctx.out(
        f"imported bundle {done.bundle} from workstation {done.sender}: {report.applied} entries applied, "
        f"{report.already_held} already held"
    )
    for line in report.lines()[1:]:
        ctx.out(line)
    return EXIT_OK


def cmd_bundle_join(ctx: Context) -> int:
    a = ctx.args
    data = read_named_file(a.file, MAX_BUNDLE_BYTES, "a bundle is at most 2 GiB: export it in parts (--since)")
    then = joining_as(ctx)
    service = BundleService(ctx.app(create=True))
    ws, done = service.join(data, a.workstation, name=f"bundle file {a.file}", then=then)
    ctx.out(f"this workstation joined the team as {ws} ({a.workstation.strip()}), with its own signing key")
    ctx.out(f"imported bundle {done.bundle} from workstation {done.sender}: {done.report.applied} entries applied")
    ctx.out(signing_in_line(ctx))
    return EXIT_OK


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    bundle_sub = group(command, sub, "bundle", "carry events between sites with no network, in signed bundle files")
    command(
        bundle_sub,
        "cursor",
        "print what this workstation holds of each chain, for the other site's 'bundle export --since'",
        cmd_bundle_cursor,
    )
    p = command(
        bundle_sub,
        "export",
        "write a signed bundle of the entries the other site lacks",
        cmd_bundle_export,
    )
    p.add_argument(
        "--since",
        required=True,
        metavar="CURSOR",
        help="what the other site holds: its 'crisisdesk bundle cursor' (WS=SEQ,WS=SEQ), or 'all'",
    )
    p.add_argument("--out", required=True, metavar="FILE", help="the bundle file to write (a new or a regular file)")
    p = command(
        bundle_sub,
        "import",
        "check a bundle whole (every byte, its signature, every entry's chain and signature) and apply it, "
        "or refuse it naming the problem and change nothing",
        cmd_bundle_import,
    )
    p.add_argument("file", metavar="FILE")
    p = command(
        bundle_sub,
        "join",
        "a new database joins the team from a bundle, where there is no network: this workstation's identity and "
        "signing key, then the bundle, all or nothing (a refused bundle leaves the database not set up); "
        + JOIN_AS_HELP,
        cmd_bundle_join,
    )
    p.add_argument("file", metavar="FILE")
    p.add_argument("--workstation", required=True, metavar="NAME", help="this workstation's name, such as 'Site B'")
