"""One poll of one source, with no database: fetch (or read the folder), parse, and say what happened.

The service records the outcome; keeping the network and the parser apart from the database lets polls run
in parallel threads while one connection writes.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from crisisdesk.domain.feeds import Item, SourceKind
from crisisdesk.feeds.fetch import DEFAULT_LIMITS, FetchError, Limits, fetch, read_folder
from crisisdesk.feeds.parse import ParseError, parse


@dataclass(frozen=True)
class Target:
    """What a poll needs to know about its source (a snapshot taken before the poll)."""

    id: str
    name: str
    kind: SourceKind
    url: str
    etag: str | None = None
    last_modified: str | None = None
    folder_state: Mapping[str, tuple[int, int]] = field(default_factory=dict)


@dataclass
class Outcome:
    items: list[Item] = field(default_factory=list)
    not_modified: bool = False
    etag: str | None = None
    last_modified: str | None = None
    folder_state: dict[str, tuple[int, int]] | None = None
    error: str | None = None  # the source failed: nothing usable came
    retry_after: float | None = None
    problems: list[str] = field(default_factory=list)  # partial trouble: some files of a folder were unreadable
    seconds: float = 0.0


def poll_target(target: Target, http: httpx.Client, limits: Limits = DEFAULT_LIMITS) -> Outcome:
    """Never raises for anything a source can do: every failure is the outcome's ``error``."""
    started = time.perf_counter()
    out = _folder(target, limits) if target.kind is SourceKind.FOLDER else _http(target, http, limits)
    out.seconds = time.perf_counter() - started
    return out


def _http(target: Target, http: httpx.Client, limits: Limits) -> Outcome:
    try:
        got = fetch(http, target.url, etag=target.etag, last_modified=target.last_modified, limits=limits)
    except FetchError as exc:
        return Outcome(error=exc.reason, retry_after=exc.retry_after)
    if got.body is None:
        return Outcome(not_modified=True, etag=got.etag, last_modified=got.last_modified)
    try:
        items = parse(target.kind, got.body)
    except ParseError as exc:
        return Outcome(error=str(exc))
    return Outcome(items=items, etag=got.etag, last_modified=got.last_modified)


def _folder(target: Target, limits: Limits) -> Outcome:
    seen = dict(target.folder_state)
    try:
        files = read_folder(Path(target.url), seen, limits)
    except FetchError as exc:
        return Outcome(error=exc.reason)
    out = Outcome(folder_state=seen)
    for f in files:
        seen[f.name] = f.stamp
        if f.body is None:
            out.problems.append(f"{f.name}: {f.problem}")
            continue
        try:
            out.items.extend(parse(SourceKind.FOLDER, f.body))
        except ParseError as exc:
            out.problems.append(f"{f.name}: {exc}")
    if not files:
        out.not_modified = True
    return out
