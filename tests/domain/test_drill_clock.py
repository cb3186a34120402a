"""The drill clock from control events, and a drill's state folded from its events: pure, no database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crisisdesk.domain.drill import DrillClock, DrillRecord, offset_text

T0 = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def test_drill_time_runs_at_the_compression_stops_while_paused_and_jumps_forward() -> None:
    clock = DrillClock.from_events(
        [
            ("drill.started", at(0), {"drill": "d", "compression": "60"}),
            ("drill.paused", at(10), {"drill": "d"}),
            ("drill.resumed", at(70), {"drill": "d"}),
            ("drill.compression_set", at(80), {"drill": "d", "factor": "1"}),
            ("drill.jumped", at(90), {"drill": "d", "to_seconds": "3600.000"}),
            ("drill.ended", at(100), {"drill": "d"}),
        ]
    )
    assert clock.seconds(at(-5)) == 0
    assert clock.seconds(at(5)) == 300  # 5 s at 60x
    assert clock.seconds(at(10)) == clock.seconds(at(69)) == 600  # paused
    assert clock.seconds(at(80)) == 600 + 600  # 10 s more at 60x
    assert clock.seconds(at(89)) == 1209  # 1x
    assert clock.seconds(at(95)) == 3605  # jumped to T+1h, then 1x
    assert clock.seconds(at(100)) == clock.seconds(at(5000)) == 3610  # ended: frozen
    assert (clock.running, clock.ended, clock.rate) == (False, True, 0.0)


def test_a_jump_at_the_very_moment_of_the_start_counts() -> None:
    clock = DrillClock.from_events(
        [("drill.started", at(0), {"compression": "10"}), ("drill.jumped", at(0), {"to_seconds": "900.000"})]
    )
    assert clock.seconds(at(0)) == 900 and clock.seconds(at(1)) == 910


def test_wall_at_finds_when_drill_time_is_reached_even_over_a_jump() -> None:
    clock = DrillClock.from_events(
        [
            ("drill.started", at(0), {"compression": "10"}),
            ("drill.jumped", at(10), {"to_seconds": "1000.000"}),
        ]
    )
    assert clock.wall_at(50) == at(5)
    assert clock.wall_at(500) == at(10)  # jumped over at 10 s: reached at the jump
    assert clock.wall_at(1100) == at(20)  # from 1000 at 10 s, 10x
    paused = DrillClock.from_events([("drill.started", at(0), {"compression": "1"}), ("drill.paused", at(5), {})])
    assert paused.wall_at(3) == at(3)  # already reached
    assert paused.wall_at(60) is None  # never at this pace


def test_offsets_are_written_as_controllers_write_them() -> None:
    assert [offset_text(s) for s in (0, 45, 300, 750, 3900, 3600)] == [
        "T+0",
        "T+45s",
        "T+5m",
        "T+12m30s",
        "T+1h05m",
        "T+1h00m",
    ]


def test_a_drill_record_folds_its_events_into_status_fired_skipped_and_outages() -> None:
    loaded = {"drill": "drl-1", "text": "...", "sha256": "x"}
    events: list[tuple[str, datetime, str, dict[str, Any]]] = [
        ("drill.loaded", at(0), "eve", loaded),
        ("drill.started", at(10), "eve", {"drill": "drl-1", "compression": "1", "incidents": {}}),
        (
            "drill.inject_fired",
            at(20),
            "system",
            {
                "drill": "drl-1",
                "inject": "down",
                "kind": "channel-outage",
                "account": "ch-1",
                "until_seconds": "70.000",
            },
        ),
        ("drill.inject_skipped", at(30), "eve", {"drill": "drl-1", "inject": "late"}),
        ("drill.inject_fired", at(31), "eve", {"drill": "drl-1", "inject": "late", "kind": "note"}),  # too late
    ]
    record = DrillRecord.from_events(events)
    assert record is not None
    assert record.status == "running"
    assert set(record.fired) == {"down"} and set(record.skipped) == {"late"}
    assert [o.accounts for o in record.outages(at(40))] == [("ch-1",)]
    assert record.outages(at(40))[0].reason == "drill: channel outage injected until T+1m10s"
    assert record.outages(at(80)) == []  # over at T+70s (drill time 70 at wall 80)
    record.apply("drill.ended", at(50), "eve", {"drill": "drl-1"})
    assert record.status == "ended" and record.outages(at(55)) == []
    assert DrillRecord.from_events(events[1:]) is None  # nothing without its loaded event


# -- properties: drill time never runs backwards, and is frozen while paused ------------------------------------

_control = st.one_of(
    st.just(("drill.paused", {})),
    st.just(("drill.resumed", {})),
    st.just(("drill.ended", {})),
    st.integers(1, 60).map(lambda f: ("drill.compression_set", {"factor": str(f)})),
    st.integers(0, 20_000).map(lambda s: ("drill.jumped", {"to_seconds": f"{s}.000"})),
    st.just(("drill.started", {"compression": "5"})),  # a second start is ignored
)


@settings(max_examples=300, deadline=None)
@given(
    compression=st.integers(1, 60),
    controls=st.lists(st.tuples(st.floats(0, 600, allow_nan=False), _control), max_size=12),
    probes=st.lists(st.floats(-100, 10_000, allow_nan=False), min_size=2, max_size=40),
)
def test_drill_time_never_runs_backwards_and_stands_still_while_paused(
    compression: int, controls: list[tuple[float, tuple[str, dict[str, str]]]], probes: list[float]
) -> None:
    wall = 0.0
    events = [("drill.started", at(0), {"compression": str(compression)})]
    for gap, (kind, payload) in controls:
        wall += gap
        events.append((kind, at(wall), payload))
    clock = DrillClock.from_events(events)
    moments = sorted(probes)
    readings = [clock.seconds(at(m)) for m in moments]
    assert all(a <= b for a, b in itertools.pairwise(readings)), "drill time ran backwards"
    # Frozen while paused (or ended): between a pause and the next control event, drill time does not move.
    stopped: list[tuple[float, float]] = []
    running = True
    ended = False
    times = [0.0] + [sum(g for g, _ in controls[: i + 1]) for i in range(len(controls))]
    for i, (kind, _, _) in enumerate(events):
        if ended:
            break
        if kind == "drill.paused":
            running = False
        elif kind == "drill.resumed":
            running = True
        elif kind == "drill.ended":
            running, ended = False, True
        if not running:
            following = times[i + 1] if i + 1 < len(times) and not ended else times[i] + 10_000
            stopped.append((times[i], following))
    for start, stop in stopped:
        inside = [m for m in moments if start <= m < stop]
        values = {clock.seconds(at(m)) for m in inside} | {clock.seconds(at(start))}
        assert len(values) == 1, f"drill time moved while paused between {start} and {stop}"
    # And it reaches a moment no sooner than the pace allows: never faster than 60 drill seconds per wall second,
    # jumps aside.
    if not any(kind == "drill.jumped" for _, (kind, _) in controls):
        for a, b in itertools.pairwise(moments):
            if a >= 0:
                assert (
                    clock.seconds(at(b)) - clock.seconds(at(a)) <= (b - a) * 60 + 1e-3
                )  # times are kept to the microsecond
