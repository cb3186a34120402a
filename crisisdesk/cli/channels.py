"""channels: the accounts messages go to (secrets in the OS keyring)."""

from __future__ import annotations

from crisisdesk.cli.context import EXIT_OK, AddCommand, Context, Subparsers, group, read_password_stdin
from crisisdesk.domain.errors import UserError


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


def cmd_channels_set_secret(ctx: Context) -> int:
    from crisisdesk.credentials import KeyringSecrets

    a = ctx.args
    if not a.secret_stdin:
        raise UserError("set-secret reads the secret from standard input: add --secret-stdin and pipe it in")
    actor = ctx.actor()
    app = ctx.app()
    if a.allow_insecure_keyring:
        app.secrets = KeyringSecrets(allow_insecure=True)
    secret = read_password_stdin(ctx.stdin, option="--secret-stdin", what="secret")
    account = app.channels().set_secret(actor, a.name, secret)
    label = account.spec.secret_label
    ctx.out(f"{account.name}: this workstation's keyring holds its {label} now (recorded, without the secret)")
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


def add_commands(sub: Subparsers, command: AddCommand) -> None:
    from crisisdesk.domain.accounts import KINDS

    ch_sub = group(command, sub, "channels", "channel accounts: where messages go (secrets in the OS keyring)")
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
    p = command(
        ch_sub,
        "set-secret",
        "keep this workstation's copy of an existing channel's secret in its keyring (a secret never travels with "
        "the team's log; admins only)",
        cmd_channels_set_secret,
    )
    p.add_argument("name", metavar="NAME")
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
