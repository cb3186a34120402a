"""Sentiment of public messages, offline, with VADER (its lexicon ships inside the package).

VADER was made for English social media text; other languages score near neutral, so for them priority rests
on keywords, the incident and the stakeholder group.
"""

from __future__ import annotations

import threading

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

_lock = threading.Lock()
_analyzers: list[SentimentIntensityAnalyzer] = []


def _analyzer() -> SentimentIntensityAnalyzer:
    if not _analyzers:
        with _lock:
            if not _analyzers:
                _analyzers.append(SentimentIntensityAnalyzer())  # reads its lexicon once (~30 ms)
    return _analyzers[0]


def sentiment(text: str) -> float:
    """VADER's compound score, -1 (most negative) to +1 (most positive)."""
    return round(float(_analyzer().polarity_scores(text[:2000])["compound"]), 3)
