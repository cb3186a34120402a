"""The language lint (CD120, lingua): what it costs the first time, for each new clause, and on a keystroke.

Targets: a keystroke in the composer (the count and the whole lint of the text, language check included) within
50 ms on a 19,000-character text; a whole message rendered and linted within 20 ms (bench/render.py) once the
detector is loaded.

    uv run python bench/languages.py [--keystrokes 60]
"""

from __future__ import annotations

import argparse
import platform
import resource
import statistics
import time
from collections.abc import Callable
from datetime import datetime
from zoneinfo import ZoneInfo

from crisisdesk.app import playbook_service
from crisisdesk.domain import languages
from crisisdesk.domain.lint import LintContext, lint
from crisisdesk.domain.message_types import MESSAGE_TYPES, MODES
from crisisdesk.domain.messages import parse_values, render_message
from crisisdesk.domain.text_rules import Channel, measure

CHECKED = LintContext(languages=("en", "es"))
UNCHECKED = LintContext()
# The composer test's long text (tests/ui/test_composer.py): a paragraph a hundred times, cut at 19,000 characters.
PARAGRAPH = (
    "Mill County Emergency Management: a Flash Flood Warning is in effect for Mill Creek valley until 9:30 PM. "
    "Go to higher ground now. Do not walk or drive into water: \u201cturn around\u201d. "
    "Info: https://ready.millcounty.gov #floodwarningnow\n\n"
)


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ms(values: list[float], q: int) -> str:
    if q >= 100:
        return f"{max(values) * 1000:.2f}"
    return f"{statistics.quantiles(values, n=100)[q - 1] * 1000:.2f}"


def timed(call: Callable[[], object]) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def shipped_texts() -> list[tuple[str, str, str]]:
    """(channel, language, text) of every shipped variant, both modes, from the example facts."""
    service = playbook_service()
    library = service.load()
    out = []
    for playbook in library.playbooks.values():
        tz = ZoneInfo(playbook.timezone)
        values = parse_values(playbook, playbook.example_facts(datetime(2026, 11, 22, 19, 30, tzinfo=tz)), tz)
        for message_type in MESSAGE_TYPES:
            for mode in MODES:
                for lang in playbook.languages:
                    for v in render_message(playbook, message_type, lang, values, mode=mode, tz=tz):
                        out.append((v.channel, lang, v.text))
    return out


def keystrokes(text: str, typed: str, lang: str, channel: Channel = Channel.WEB) -> tuple[list[float], list[float]]:
    """The composer's work per keystroke (count, then lint the whole text after each character), without and with
    the language check, both on each keystroke so that the machine's load falls on both alike, taking turns to go
    first (text_rules remembers its scan of the last text, so whichever goes second finds it done). Processor time
    of this thread, as the composer's test holds it (wall time also counts other processes)."""
    without: list[float] = []
    with_check: list[float] = []
    for n in range(1, len(typed) + 1):
        current = text + typed[:n]
        turns = ((UNCHECKED, without), (CHECKED, with_check))
        for ctx, out in turns if n % 2 else turns[::-1]:
            start = time.thread_time()
            measure(channel, current)
            lint(current, channel, lang, ctx)
            out.append(time.thread_time() - start)
    return without, with_check


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--keystrokes", type=int, default=60, help="characters typed in each keystroke test")
    args = parser.parse_args()
    print(f"machine: {platform.node()} {platform.machine()} Python {platform.python_version()}")

    before = rss_mib()
    first = timed(lambda: languages.foreign_passages("Evacúe ahora hacia la escuela.", "es", ("en", "es")))
    print(
        f"first detection (builds the en+es detector, loads its models): {first * 1000:.0f} ms, "
        f"resident memory +{rss_mib() - before:.0f} MiB"
    )

    texts = shipped_texts()
    languages.forget()
    # Each clause once, uncached: what a new clause costs.
    per_clause: list[float] = []
    seen: set[tuple[str, tuple[str, ...]]] = set()
    for _, _lang, text in texts:
        for clause in languages._CLAUSE.finditer(languages._mask(text, ())):
            words = " ".join(languages._WORD.findall(clause.group(0)))
            if len(words.split()) < languages.MIN_WORDS or (words, ("en", "es")) in seen:
                continue
            seen.add((words, ("en", "es")))
            per_clause.append(timed(lambda w=words: languages.clause_language.__wrapped__(w, ("en", "es"))))
    print(
        f"one new clause (uncached): median {ms(per_clause, 50)} ms, p95 {ms(per_clause, 95)} ms, "
        f"max {ms(per_clause, 100)} ms over {len(per_clause)} distinct clauses of the shipped texts"
    )

    # A whole variant's lint, with and without the language check; cold (new clauses) and warm (seen before).
    languages.forget()
    plain, cold, warm = [], [], []
    for channel, lang, text in texts:
        c = Channel(channel)
        plain.append(timed(lambda t=text, c=c, lang=lang: lint(t, c, lang, UNCHECKED)))
        cold.append(timed(lambda t=text, c=c, lang=lang: lint(t, c, lang, CHECKED)))
        warm.append(timed(lambda t=text, c=c, lang=lang: lint(t, c, lang, CHECKED)))
    print(
        f"lint of a shipped variant ({len(texts)}): without the language check median {ms(plain, 50)} ms; "
        f"with it, first time median {ms(cold, 50)} ms (p95 {ms(cold, 95)}, max {ms(cold, 100)}), "
        f"again median {ms(warm, 50)} ms"
    )

    # The composer: typing at the end of the 19,000-character text, and inside a long Spanish text.
    long_text = (PARAGRAPH * 100)[:19_000]
    typed = (" Stay safe and check on your neighbors tonight." * 4)[: args.keystrokes]
    spanish = "\n\n".join(t for _, lang, t in texts if lang == "es")[:19_000]
    typed_es = (" Revise a sus vecinos esta noche y quédese lejos del agua." * 4)[: args.keystrokes]
    for what, text, keys, lang in (
        ("the composer test's 19,000-character English text", long_text, typed, "en"),
        ("19,000 characters of shipped Spanish texts", spanish, typed_es, "es"),
    ):
        without, with_check = keystrokes(text, keys, lang)
        print(
            f"keystroke on {what} (count + lint, processor time), {len(keys)} keys: without the language check "
            f"median {ms(without, 50)} ms, max {ms(without, 100)} ms; with it median {ms(with_check, 50)} ms, "
            f"max {ms(with_check, 100)} ms (target 50 ms)"
        )

    # A paste: 19,000 characters of clauses never seen, linted once (the worst case, one time).
    languages.forget()
    pasted = timed(lambda: lint(spanish, Channel.WEB, "es", CHECKED))
    print(
        f"a paste of 19,000 characters of new clauses, linted once: {pasted * 1000:.0f} ms "
        f"({len(languages._CLAUSE.findall(spanish))} clauses)"
    )
    info, lines = languages.clause_language.cache_info(), languages._read_line.cache_info()
    print(
        f"remembered: {info.currsize} clauses (at most {info.maxsize}), {lines.currsize} lines "
        f"(at most {lines.maxsize})"
    )


if __name__ == "__main__":
    main()
