"""One registry: an account's kind names the module and class that send for it (imported on first use, so
the console does not pay for Mastodon.py or atproto unless an account needs them)."""

from __future__ import annotations

import importlib

from crisisdesk.channels.base import Adapter, ChannelError
from crisisdesk.domain.accounts import Account, AccountKind

ADAPTERS: dict[AccountKind, str] = {
    AccountKind.FOLDER: "crisisdesk.channels.folder:FolderAdapter",
    AccountKind.EMAIL: "crisisdesk.channels.email:EmailAdapter",
    AccountKind.MASTODON: "crisisdesk.channels.mastodon:MastodonAdapter",
    AccountKind.BLUESKY: "crisisdesk.channels.bluesky:BlueskyAdapter",
    AccountKind.MATRIX: "crisisdesk.channels.matrix:MatrixAdapter",
    AccountKind.WEBHOOK: "crisisdesk.channels.webhook:WebhookAdapter",
    AccountKind.SMS: "crisisdesk.channels.sms:SmsAdapter",
    AccountKind.APPRISE: "crisisdesk.channels.apprise:AppriseAdapter",
}


def make_adapter(account: Account, secret: str | None) -> Adapter:
    if account.spec.secret_label and not account.spec.secret_optional and not secret:
        raise ChannelError(
            f"{account.name} has no {account.spec.secret_label} in this workstation's keyring: give it its copy "
            f"with 'crisisdesk channels set-secret {account.name} --secret-stdin --as ADMIN'",
            permanent=True,
        )
    module_name, _, class_name = ADAPTERS[account.kind].partition(":")
    cls: type[Adapter] = getattr(importlib.import_module(module_name), class_name)
    return cls(account, secret)
