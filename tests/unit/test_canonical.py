import unicodedata

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crisisdesk.domain.canonical import NotCanonical, canonical_bytes, parse

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def test_keys_are_sorted_and_output_is_compact_utf8() -> None:
    assert canonical_bytes({"b": 1, "a": [True, None], "c": "é"}) == '{"a":[true,null],"b":1,"c":"é"}'.encode()


def test_strings_are_nfc_normalised_so_equal_text_hashes_equal() -> None:
    composed, decomposed = "Cañon", unicodedata.normalize("NFD", "Cañon")
    assert composed != decomposed
    assert canonical_bytes({"place": decomposed}) == canonical_bytes({"place": composed})


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"x": 1.5}, "floats are not allowed"),
        ({1: "a"}, "keys must be strings"),
        ({"x": object()}, "not a JSON value"),
        ({"x": 2**53}, "outside the range"),
        ({"e\u0301": 1, "é": 2}, "collide after NFC"),
    ],
)
def test_values_that_cannot_be_canonical_are_refused(value: object, message: str) -> None:
    with pytest.raises(NotCanonical, match=message):
        canonical_bytes(value)


@given(json_values)
def test_canonical_form_is_a_fixed_point(value: object) -> None:
    once = canonical_bytes(value)
    assert canonical_bytes(parse(once)) == once


def test_enum_members_and_tuples_become_plain_json() -> None:
    import enum

    class Colour(enum.StrEnum):
        RED = "red"

    class Size(enum.IntEnum):
        BIG = 3

    assert canonical_bytes({"c": Colour.RED, "s": Size.BIG, "t": (1, 2)}) == b'{"c":"red","s":3,"t":[1,2]}'
    assert canonical_bytes({"b": True, "n": None}) == b'{"b":true,"n":null}'


@pytest.mark.parametrize("keys", [("K", "\u212a"), ("\u212a", "K")])
def test_an_ascii_key_and_one_that_nfc_makes_ascii_collide_in_either_order(keys: tuple[str, str]) -> None:
    # KELVIN SIGN is NFC-normalised to a plain K: the fast path for ASCII keys must still see the collision.
    with pytest.raises(NotCanonical, match="collide after NFC"):
        canonical_bytes({keys[0]: 1, keys[1]: 2})
    with pytest.raises(NotCanonical, match="collide after NFC"):
        canonical_bytes({"outer": [{keys[0]: 1, keys[1]: 2}]})


@pytest.mark.parametrize(
    ("value", "where"),
    [
        ({"a": {"b": [1, 2.5]}}, r"\$\.a\.b\[1\]"),
        ({"a": [{"b": 2**60}]}, r"\$\.a\[0\]\.b"),
        ([1, [None, 1.0]], r"\$\[1\]\[1\]"),
    ],
)
def test_a_refusal_names_where_the_value_is(value: object, where: str) -> None:
    with pytest.raises(NotCanonical, match=where):
        canonical_bytes(value)


def reference_normalise(value: object) -> object:
    """The canonical form written the plain way (one call a value), as the oracle for the fast one."""
    if isinstance(value, float):
        raise NotCanonical("float")
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        if abs(value) > 2**53 - 1:
            raise NotCanonical("range")
        return int(value)
    if isinstance(value, str):
        return unicodedata.normalize("NFC", value)
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            nkey = unicodedata.normalize("NFC", key)
            if nkey in out:
                raise NotCanonical("collide")
            out[nkey] = reference_normalise(item)
        return out
    if isinstance(value, list | tuple):
        return [reference_normalise(item) for item in value]
    raise NotCanonical("type")


# Text that NFC changes, including into plain ASCII (KELVIN SIGN, ANGSTROM SIGN, a combining accent).
tricky_text = st.text(alphabet=st.sampled_from(["K", "\u212a", "A", "\u00c5", "\u212b", "e", "\u0301", "\u00e9", "x"]))
# Keys that NFC makes equal to another key here, so dicts often hold a colliding pair.
tricky_keys = st.sampled_from(["K", "\u212a", "A\u030a", "\u00c5", "\u212b", "e\u0301", "\u00e9", "x"])
any_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**54), 2**54)
    | st.floats(allow_nan=False)
    | tricky_text
    | st.text(max_size=6),
    lambda children: (
        st.lists(children, max_size=4)
        | st.lists(children, max_size=3).map(tuple)
        | st.dictionaries(tricky_keys | tricky_text | st.text(max_size=4), children, max_size=5)
    ),
    max_leaves=25,
)


def agrees_with_the_reference(value: object) -> None:
    from crisisdesk.domain.canonical import normalise

    try:
        expected = reference_normalise(value)
    except NotCanonical:
        with pytest.raises(NotCanonical):
            normalise(value)
        return
    assert normalise(value) == expected
    assert canonical_bytes(value) == orjson.dumps(expected, option=orjson.OPT_SORT_KEYS)


@given(any_values)
def test_normalise_agrees_with_the_plain_reference(value: object) -> None:
    agrees_with_the_reference(value)


@given(st.lists(st.dictionaries(tricky_keys, st.integers(0, 9) | tricky_text, min_size=2, max_size=6), max_size=3))
def test_keys_that_nfc_makes_equal_are_refused_in_any_order(value: list[dict[str, object]]) -> None:
    agrees_with_the_reference(value)
