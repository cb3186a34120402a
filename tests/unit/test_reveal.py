"""Exact text for an approver: hidden characters escaped and named, and the change word by word (the one word
diff the composer and the approvals place share)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from crisisdesk.domain.composing import Change, word_diff
from crisisdesk.domain.reveal import hidden_characters, is_hidden, reveal, revealed


def test_bidi_zero_width_control_and_odd_spaces_are_escaped_and_named() -> None:
    text = "Go\u200b to\u00a0high ground\u202e now\tplease\r\nok"
    shown = revealed(text)
    assert shown == "Go⟦U+200B ZWSP⟧ to⟦U+00A0 NBSP⟧high ground⟦U+202E RLO⟧ now⟦U+0009 TAB⟧please⟦U+000D CR⟧\nok"
    names = [p.hidden for p in hidden_characters(text)]
    assert names == [
        "U+200B ZERO WIDTH SPACE",
        "U+00A0 NO-BREAK SPACE",
        "U+202E RIGHT-TO-LEFT OVERRIDE",
        "U+0009 CONTROL CHARACTER",
        "U+000D CONTROL CHARACTER",
    ]
    assert [p.offset for p in hidden_characters(text)] == [2, 6, 18, 23, 30]


def test_ordinary_text_in_any_script_shows_as_it_is() -> None:
    for text in ("Evacúe ahora.", "اذهب إلى مكان مرتفع", "洪水警報", "Line one\nline two", "🌊 flood"):
        assert revealed(text) == text and not hidden_characters(text)
    assert not is_hidden(" ") and not is_hidden("\n") and is_hidden("\u2028") and is_hidden("\U000e0041")


@given(st.text())
def test_every_character_is_in_exactly_one_piece(text: str) -> None:
    pieces = reveal(text)
    rebuilt = "".join(text[p.offset] if p.hidden else p.text for p in pieces)
    assert rebuilt == text
    shown = "".join(p.text for p in pieces)
    assert not any(is_hidden(ch) for ch in shown)  # nothing hidden survives into what is shown


def test_word_diff_says_what_went_and_what_came() -> None:
    old = "Flash flood warning until 7:30 PM. Go to higher ground."
    new = "Flash flood warning until 9:30 PM. Go to higher ground now."
    assert word_diff(old, new) == [
        Change("same", "Flash flood warning until "),
        Change("removed", "7"),
        Change("added", "9"),
        Change("same", ":30 PM. Go to higher ground"),
        Change("added", " now"),
        Change("same", "."),
    ]
    assert word_diff("", "All new") == [Change("added", "All new")]
    assert word_diff("same", "same") == [Change("same", "same")]


@given(st.text(), st.text())
def test_word_diff_rebuilds_both_texts(old: str, new: str) -> None:
    changes = word_diff(old, new)
    assert "".join(c.text for c in changes if c.op != "added") == old
    assert "".join(c.text for c in changes if c.op != "removed") == new
