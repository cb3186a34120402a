"""The acceptable-use policy for public messages: when one may be left unanswered, and how moods are counted.

A public message is answered unless one of these reasons holds; an "ignored" decision names the reason, so the
audit log says why nobody answered. The list is short on purpose: a person under stress picks from it rather
than writing prose, and a reviewer can check each choice against it.
"""

from __future__ import annotations

IGNORE_REASONS: tuple[str, ...] = (
    "Spam, advertising or a bot",
    "Abuse, harassment or hate speech (not answered; reported to the platform)",
    "A threat of violence (not answered; passed to law enforcement)",
    "Off-topic: not about an incident or public safety",
    "A duplicate of a message already answered",
    "Personal data we must not repeat in public (answered privately)",
    "Political or campaign content",
)

# Sentiment bands (VADER's compound score, -1..1), with VADER's own cut-offs: what the Monitor's chart counts.
NEGATIVE_BELOW = -0.05
POSITIVE_ABOVE = 0.05
MOODS: tuple[str, ...] = ("negative", "neutral", "positive")


def ignore_note(reason: str, note: str | None = None) -> str:
    """The note an "ignored" decision records: the policy's reason, then the person's own words if any."""
    if reason not in IGNORE_REASONS:
        raise ValueError(reason)
    extra = (note or "").strip()
    return f"policy: {reason}" + (f" | {extra}" if extra else "")


def mood(score: float | None) -> str:
    """The band a sentiment score falls in ("neutral" when there is none)."""
    if score is None:
        return "neutral"
    if score <= NEGATIVE_BELOW:
        return "negative"
    if score >= POSITIVE_ABOVE:
        return "positive"
    return "neutral"
