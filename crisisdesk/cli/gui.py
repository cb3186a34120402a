"""gui: open the console window (the one command that imports crisisdesk.ui, and only when run)."""

from __future__ import annotations

from crisisdesk.cli.context import AddCommand, Context, Subparsers
from crisisdesk.domain.errors import UserError


def cmd_gui(ctx: Context) -> int:
    # Before Qt is imported: without a display Qt aborts the process with only its own messages.
    from crisisdesk.cli.display import problem

    why = problem()
    if why is not None:
        raise UserError(why)
    try:
        from crisisdesk.ui.main import run_gui
    except ImportError as exc:
        raise UserError(
            f"the console cannot start because Qt cannot load ({exc}); on Debian install: "
            "libegl1 libgl1 libx11-6 libdbus-1-3 libfontconfig1 libfreetype6 libglib2.0-0 libxkbcommon0"
        ) from None
    return run_gui(ctx.db_path)


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    command(sub, "gui", "open the console window", cmd_gui)
