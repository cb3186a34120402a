"""Sealing an event: the fast path for plain ASCII fields gives the same event as the general one."""

from __future__ import annotations

import hashlib
import unicodedata

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from crisisdesk.domain.canonical import NotCanonical, normalise
from crisisdesk.domain.events import FORMAT_VERSION, GENESIS, seal

json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53) + 1, 2**53 - 1) | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)


def reference_body(**fields: object) -> bytes:
    """The event's bytes as the format defines them: every field normalised, keys sorted, compact."""
    return orjson.dumps(
        normalise(
            {
                "v": FORMAT_VERSION,
                "ws": fields["workstation_id"],
                "seq": fields["seq"],
                "at": fields["at"],
                "actor": fields["actor"],
                "kind": fields["kind"],
                "payload": fields["payload"],
                "prev": fields["prev_hash"],
            }
        ),
        option=orjson.OPT_SORT_KEYS,
    )


@given(
    payload=st.dictionaries(st.text(max_size=8), json_values, max_size=5),
    actor=st.text(min_size=1, max_size=12),
    seq=st.integers(1, 2**53 - 1),
)
def test_the_body_is_the_canonical_form_of_every_field_whichever_path_seals_it(
    payload: dict[str, object], actor: str, seq: int
) -> None:
    fields = {
        "workstation_id": "ws-1",
        "seq": seq,
        "at": "2026-11-22T09:30:00.000000+00:00",
        "actor": actor,
        "kind": "triage.set",
        "payload": payload,
        "prev_hash": GENESIS,
    }
    event = seal(**fields)  # type: ignore[arg-type]
    assert event.body == reference_body(**fields)
    assert event.hash == hashlib.sha256(event.body).hexdigest()
    assert orjson.loads(event.body)["payload"] == event.payload
    assert (event.workstation_id, event.seq, event.actor, event.prev_hash) == (
        "ws-1",
        seq,
        unicodedata.normalize("NFC", actor),
        GENESIS,
    )


def test_a_payload_that_cannot_be_canonical_is_refused_with_its_place() -> None:
    with pytest.raises(NotCanonical, match=r"\$\.payload\.n"):
        seal(workstation_id="ws", seq=1, at="t", actor="a", kind="k", payload={"n": 1.5}, prev_hash=GENESIS)
    with pytest.raises(NotCanonical, match="outside the range"):
        seal(workstation_id="ws", seq=2**53, at="t", actor="a", kind="k", payload={}, prev_hash=GENESIS)
