"""The playbook library: load, validate and render playbooks; build and check CAP."""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from lxml import etree

from crisisdesk.domain.agency import DEFAULT_PREFIX, UNSET_SENDER
from crisisdesk.domain.cap import (
    CapError,
    CapSettings,
    build_xml,
    cap_time,
    ipaws_problems,
    message_to_cap,
    parse_xml,
    rule_problems,
    schema_problems,
)
from crisisdesk.domain.clock import Clock
from crisisdesk.domain.errors import CrisisdeskError, NotFound
from crisisdesk.domain.facts import Area, split_key, zone
from crisisdesk.domain.message_types import MESSAGE_TYPES, MODES
from crisisdesk.domain.messages import Variant, check_message_type, parse_values, render_message
from crisisdesk.domain.playbook import MAX_PLAYBOOK_BYTES, Playbook, Problem, size_problem
from crisisdesk.domain.render import TemplateError
from crisisdesk.domain.validate import validate_text

PLAYBOOK_SUFFIXES = (".yaml", ".yml")


@dataclass
class Library:
    playbooks: dict[str, Playbook] = field(default_factory=dict)
    sources: dict[str, Path] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)


def playbook_files(paths: Sequence[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files += sorted(p for p in path.iterdir() if p.suffix in PLAYBOOK_SUFFIXES and p.is_file())
        elif path.exists():
            files.append(path)
        else:
            raise NotFound(f"no playbook file or folder at {path}")
    return files


def read_playbook(path: Path) -> str | Problem:
    """A playbook file's text, or the problem that keeps it out. No more than the size limit is ever read, so a
    huge file (or a device given as a playbook) costs nothing."""
    try:
        if not path.is_file():
            return Problem(str(path), 1, 1, "not a regular file: a playbook is a .yaml file")
        with path.open("rb") as f:
            data = f.read(MAX_PLAYBOOK_BYTES + 1)
    except OSError as exc:
        return Problem(str(path), 1, 1, f"cannot read: {exc.strerror or exc}")
    too_big = size_problem(len(data), str(path))
    if too_big:
        return too_big
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return Problem(str(path), 1, 1, f"cannot read: {exc}")
    return text.replace("\r\n", "\n").replace("\r", "\n")  # as reading in text mode did


def validated(text: str, source: str) -> tuple[Playbook | None, list[Problem]]:
    """``validate_text``, once per text and file in a process: validating renders every template (0.2 s a playbook),
    and every App has its own PlaybookService (the console's task threads, the outbox worker, the feed poller);
    a playbook is immutable. The problems come as a new list each time (callers add to it). One validation at a
    time: two threads needing the same playbook (the console's board and its attention badge) validate it once.
    Kept by the text's digest, not the text (a playbook may be up to MAX_PLAYBOOK_BYTES), the last 64."""
    key = (hashlib.sha256(text.encode("utf-8")).digest(), source)
    found = _validated.get(key)  # a hit waits for no one (another thread may be validating another playbook)
    if found is not None:
        return found[0], list(found[1])
    with _validating:
        found = _validated.get(key)
        if found is None:
            playbook, problems = validate_text(text, source)
            found = _validated[key] = (playbook, tuple(problems))
            while len(_validated) > 64:
                _validated.pop(next(iter(_validated)))
    return found[0], list(found[1])


_validating = threading.Lock()
_validated: dict[tuple[bytes, str], tuple[Playbook | None, tuple[Problem, ...]]] = {}


@dataclass(frozen=True)
class Rendered:
    playbook: Playbook
    message_type: str
    mode: str
    variants: dict[str, list[Variant]]  # lang -> variants
    values: dict[str, Any]
    tz_name: str


class PlaybookService:
    def __init__(self, folders: Sequence[Path], schema_path: Path, clock: Clock) -> None:
        self.folders = list(folders)
        self.schema_path = schema_path
        self.clock = clock
        self._schema: etree.XMLSchema | None = None
        self._library: Library | None = None
        self._single: dict[str, tuple[Path, int, Playbook]] = {}

    # -- loading ----------------------------------------------------------------------------------------

    def load(self, paths: Sequence[Path] | None = None) -> Library:
        """Every playbook that validates; one bad file never stops the others."""
        library = Library()
        existing = [f for f in self.folders if f.exists()] if paths is None else list(paths)
        for path in playbook_files(existing):
            text = read_playbook(path)
            if isinstance(text, Problem):
                library.problems.append(text)
                continue
            playbook, problems = validated(text, str(path))
            library.problems += problems
            if playbook is None:
                continue
            if playbook.id in library.playbooks:
                first = library.sources[playbook.id]
                library.problems.append(Problem(str(path), 1, 1, f"playbook id {playbook.id!r} is already in {first}"))
                continue
            library.playbooks[playbook.id] = playbook
            library.sources[playbook.id] = path
        if paths is None:
            self._library = library
        return library

    def library(self) -> Library:
        return self._library or self.load()

    def get(self, playbook_id: str) -> Playbook:
        """A loaded playbook. Its own file (``<id>.yaml``) is checked first, so one render does not wait
        for the whole library to be validated; the whole library is loaded only if that file is not it."""
        if self._library is None:
            for folder in self.folders:
                for suffix in PLAYBOOK_SUFFIXES:
                    path = folder / f"{playbook_id}{suffix}"
                    if path.is_file():
                        # Checked once per change of the file: validating renders every template (0.2 s).
                        stamp = path.stat().st_mtime_ns
                        cached = self._single.get(playbook_id)
                        if cached and cached[0] == path and cached[1] == stamp:
                            return cached[2]
                        found = self.load([path])
                        if playbook_id in found.playbooks:
                            self._single[playbook_id] = (path, stamp, found.playbooks[playbook_id])
                            return found.playbooks[playbook_id]
        library = self.library()
        if playbook_id not in library.playbooks:
            known = ", ".join(sorted(library.playbooks)) or "none"
            raise NotFound(
                f"no playbook {playbook_id!r} (known: {known}); 'crisisdesk playbooks validate' shows errors"
            )
        return library.playbooks[playbook_id]

    # -- rendering --------------------------------------------------------------------------------------

    def render(
        self,
        playbook_id: str,
        message_type: str,
        langs: Sequence[str] | None,
        facts: Mapping[str, str],
        *,
        example_facts: bool = False,
        mode: str = "live",
        tz_name: str | None = None,
    ) -> Rendered:
        playbook = self.get(playbook_id)
        check_message_type(message_type)
        tz_name = tz_name or playbook.timezone
        tz = zone(tz_name)
        raw = {**(playbook.example_facts(self.clock.now(), tz) if example_facts else {}), **facts}
        values = parse_values(playbook, raw, tz)
        variants = {
            lang: render_message(playbook, message_type, lang, values, mode=mode, tz=tz)
            for lang in (langs or playbook.languages)
        }
        return Rendered(playbook, message_type, mode, variants, values, tz_name)

    def cap(
        self,
        rendered: Rendered,
        *,
        ipaws: bool = False,
        sender: str = UNSET_SENDER,
        identifier_prefix: str = DEFAULT_PREFIX,
        identifier: str | None = None,
        references: Sequence[str] = (),
        sent: datetime | None = None,
    ) -> bytes:
        """CAP XML for a rendered message (one <info> per language). ``sender`` and ``identifier_prefix`` are the
        workstation's agency settings (a preview without a workstation says the sender is not set)."""
        return self.cap_from_texts(
            rendered.playbook,
            rendered.message_type,
            mode=rendered.mode,
            texts={lang: {v.channel: v.text for v in vs} for lang, vs in rendered.variants.items()},
            values=rendered.values,
            tz_name=rendered.tz_name,
            ipaws=ipaws,
            sender=sender,
            identifier_prefix=identifier_prefix,
            identifier=identifier,
            references=references,
            sent=sent,
        )

    def cap_from_texts(
        self,
        pb: Playbook,
        message_type: str,
        *,
        mode: str,
        texts: Mapping[str, Mapping[str, str]],
        values: Mapping[str, Any],
        tz_name: str,
        ipaws: bool = False,
        sender: str = UNSET_SENDER,
        identifier_prefix: str = DEFAULT_PREFIX,
        identifier: str | None = None,
        references: Sequence[str] = (),
        sent: datetime | None = None,
    ) -> bytes:
        """CAP XML from texts as approved (lang -> channel -> text) and the incident's typed facts."""
        tz = zone(tz_name)
        sent = sent or self.clock.now()
        if not references and message_type != "alert":
            # A preview has no earlier message: refer to an example alert so the CAP is complete.
            earlier = sent - timedelta(minutes=30)
            references = [f"{sender},{identifier_prefix}-{pb.id}-example-alert,{cap_time(earlier, tz)}"]
        alert = message_to_cap(
            identifier=identifier or f"{identifier_prefix}-{pb.id}-{uuid.uuid4().hex[:12]}",
            sender=sender,
            sent=sent,
            tz=tz,
            message_type=message_type,
            mode=mode,
            settings=CapSettings(**pb.cap.model_dump()),
            texts=texts,
            events=pb.event,
            sender_names=pb.sender,
            facts={name: (fact.type, fact.role, values[name]) for name, fact in pb.facts.items() if name in values},
            references=references,
            ipaws=ipaws,
            wea=pb.sends_wea(),
            area_descriptions={
                (name, lang): value.description
                for name, lang, value in ((*split_key(k), v) for k, v in values.items())
                if lang is not None and isinstance(value, Area)
            },
        )
        return build_xml(alert)

    # -- CAP checks -------------------------------------------------------------------------------------

    def schema(self) -> etree.XMLSchema:
        if self._schema is None:
            self._schema = etree.XMLSchema(etree.parse(str(self.schema_path)))
        return self._schema

    def check_cap(self, data: bytes, *, ipaws: bool = False) -> list[str]:
        """Every reason a CAP document is not valid (empty when it is)."""
        problems = schema_problems(data, self.schema())
        try:
            alert = parse_xml(data)
        except CapError as exc:
            return problems or [str(exc)]
        problems += rule_problems(alert)
        if ipaws:
            problems += ipaws_problems(alert)
        return problems

    # -- for the console's playbook library ---------------------------------------------------------------

    def files(self) -> list[PlaybookFile]:
        """Every playbook file in the library folders, read afresh, each with its playbook (when it is valid) and
        its problems (``file:line:column``); a file that cannot be read or parsed is listed with its problems."""
        library = self.load()
        by_source: dict[str, list[Problem]] = {}
        for problem in library.problems:
            by_source.setdefault(problem.source, []).append(problem)
        valid = {str(library.sources[pb_id]): pb for pb_id, pb in library.playbooks.items()}
        out = []
        for path in playbook_files([f for f in self.folders if f.exists()]):
            out.append(PlaybookFile(path, valid.get(str(path)), by_source.pop(str(path), [])))
        for source, problems in by_source.items():  # problems placed in no listed file: shown all the same
            out.append(PlaybookFile(Path(source), None, problems))
        return out

    def preview(self, playbook: Playbook) -> list[Preview]:
        """Every message type of ``playbook`` in each of its languages, LIVE and EXERCISE, rendered with its
        example facts: each channel's text, or what kept it from rendering."""
        tz = zone(playbook.timezone)
        problem: str | None = None
        try:
            values = parse_values(playbook, playbook.example_facts(self.clock.now(), tz), tz)
        except CrisisdeskError as exc:
            values, problem = {}, f"the example facts: {exc}"
        out = []
        for message_type in MESSAGE_TYPES:
            if message_type not in playbook.messages:
                continue
            for lang in playbook.languages:
                for mode in MODES:
                    if problem is not None:
                        out.append(Preview(message_type, lang, mode, [], problem))
                        continue
                    try:
                        variants = render_message(playbook, message_type, lang, values, mode=mode, tz=tz)
                    except (TemplateError, CrisisdeskError) as exc:
                        out.append(Preview(message_type, lang, mode, [], str(exc)))
                        continue
                    out.append(Preview(message_type, lang, mode, variants, None))
        return out


@dataclass(frozen=True)
class PlaybookFile:
    path: Path
    playbook: Playbook | None  # None: the file does not validate
    problems: list[Problem]


@dataclass(frozen=True)
class Preview:
    message_type: str
    lang: str
    mode: str
    variants: list[Variant]
    problem: str | None
