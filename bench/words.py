"""Words for the feed benchmarks' made-up items, and sentences of them with a Zipf-like spread (a few words are
everywhere, most are rare), as real text has. Imported by bench/feeds.py and bench/monitor_search.py."""

from __future__ import annotations

import random

WORDS = (
    "flood water road closed creek river bridge shelter evacuation county fire smoke wind storm power outage "
    "school bus traffic council meeting police report weather rain snow heat warning advisory watch update "
    "community park library hospital clinic vaccine health food bank volunteer donation street repair crew "
    "mayor budget housing market business downtown festival concert game team season coach player election "
    "vote ballot court judge trial crime arrest fireworks holiday parade museum art music theater history"
).split()


def sentence(rng: random.Random, n: int) -> str:
    return " ".join(WORDS[min(int(rng.paretovariate(1.2)) - 1, len(WORDS) - 1)] for _ in range(n))
