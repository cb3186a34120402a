"""How long each channel's count takes, against the plain code-point count it replaced (issue 13).

    uv run python bench/text_counts.py [--rounds 300]

The composer counts and lints the text on every keystroke (target: the whole check under 50 ms). Each count runs
on a 280-character and a 1,000-character alert (English and Spanish with links, emoji and accents), a
1,000-character Chinese text with a link, and a 1,000-character run of dotted labels (the worst shape for the
link scan). Figures are per call: median and maximum over the rounds, each round a new text (its last letter changed).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

started = time.perf_counter()
from crisisdesk.domain import twitter_text  # noqa: E402 - timed: importing the counters
from crisisdesk.domain.composing import overflow_at, places  # noqa: E402
from crisisdesk.domain.lint import LintContext, lint  # noqa: E402
from crisisdesk.domain.text_rules import Channel, measure  # noqa: E402

IMPORTED = time.perf_counter() - started

ALERT = (
    "FLASH FLOOD WARNING for Mill County until 9:30 PM. Move to higher ground now 🚨. Do not drive through water. "
    "Shelter: Mill Valley High School, 100 Oak St. Info: https://ready.millcounty.gov/flood or ready.nyc/maps. "
    "Aviso de inundación: vaya a un lugar más alto ahora. Refugio en la escuela. Familias 👨‍👩‍👧‍👦 bienvenidas. "
)
# Flash flood warning: go to high ground now, do not drive through water (full-width punctuation, as written).
CHINESE = "山洪警报\uff1a立即前往高处\uff0c不要涉水驾驶。详情见 https://ready.example.gov/flood 。"
TEXTS = {
    "alert, 280 characters": ALERT[:280],
    "alert, 1,000 characters": (ALERT * 4)[:1000],
    "Chinese, 1,000 characters": (CHINESE * 30)[:1000],
    "dotted labels, 1,000 characters": ("x.com日" + "ab." * 400)[:1000],
}
_V3_RANGES = twitter_text.X_V3.ranges


def old_code_points(text: str) -> int:
    """What crisisdesk counted before for Mastodon and Bluesky's plain cases: code points."""
    return len(text)


def old_x_code_points(text: str) -> int:
    """Before: every code point weighed by the ranges alone (no emoji sequences, no links found)."""
    return sum(next((w for a, b, w in _V3_RANGES if a <= ord(ch) <= b), 200) for ch in text) // 100


def keystroke(channel: Channel) -> Callable[[str], object]:
    """What the composer runs on a keystroke: count, lint, and place every finding in the text."""

    def check(text: str) -> object:
        m = measure(channel, text)
        findings = [*m.findings, *lint(text, channel, "en", LintContext(mode="live"))]
        return places(text, channel, "en", findings, limit=m.limit)

    return check


COUNTERS: dict[str, Callable[[str], object]] = {
    "old: code points (len)": old_code_points,
    "old: X weight per code point": old_x_code_points,
    "X (twitter-text v3)": lambda t: measure(Channel.X, t),
    "Mastodon (graphemes, links, mentions)": lambda t: measure(Channel.MASTODON, t),
    "Bluesky (graphemes, bytes)": lambda t: measure(Channel.BLUESKY, t),
    "SMS (packed parts)": lambda t: measure(Channel.SMS, t),
    "X overflow point": lambda t: overflow_at(Channel.X, t, 280),
    "composer keystroke, X": keystroke(Channel.X),
    "composer keystroke, SMS": keystroke(Channel.SMS),
}


def timed(fn: Callable[[str], object], text: str, rounds: int) -> tuple[float, float]:
    """Each round a different last letter, as a keystroke makes a new text (the counters keep their last few
    answers, which a keystroke's count and its overflow point share)."""
    variants = [text[:-1] + letter for letter in "abcdefghijklmnopqrstuvwxyz"]
    fn(text)  # warm: compiled patterns
    seconds = []
    for i in range(rounds):
        typed = variants[i % len(variants)]
        started = time.perf_counter()
        fn(typed)
        seconds.append(time.perf_counter() - started)
    return statistics.median(seconds) * 1000, max(seconds) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=300)
    rounds = parser.parse_args().rounds
    first = time.perf_counter()
    measure(Channel.X, "first link: example.com")
    took = 1000 * (time.perf_counter() - first)
    print(f"import of the counters {IMPORTED * 1000:.0f} ms; first count with a link (patterns compiled) {took:.0f} ms")
    for name, text in TEXTS.items():
        print(f"\n{name} (X counts {measure(Channel.X, text).length}, code points {len(text)})")
        for counter, fn in COUNTERS.items():
            median, worst = timed(fn, text, rounds)
            print(f"  {counter:<40} median {median:8.3f} ms   max {worst:8.3f} ms")


if __name__ == "__main__":
    main()
