"""Every shipped scenario runs headless in compressed time, with scripted players reacting to its injects, and
produces its evaluation and its after-action report.

The drill runs at 60x on the test's clock: each step moves the wall clock one second (one drill minute), the drill
service fires what is due (``DrillService.tick``), the players act on what fired (after a delay in drill time, as
people take a moment), and the outbox runs as the worker would. Everything goes through the real services: the
drill's feed source and triage queue, the message round with a second person's approval, the outbox with the
drill's outages, the false alarm; only exercise accounts (folder channels) exist besides the live public page,
and nothing reaches it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from html import unescape
from pathlib import Path

import pytest

from crisisdesk.app import App
from crisisdesk.domain.clock import FixedClock
from crisisdesk.domain.roles import Actor
from crisisdesk.services.after_action import Evaluation, Rating
from crisisdesk.services.drills import Drill, DrillStatus, InjectStatus
from tests.support.players import Players, Team, exercise_accounts, local_time, seat_team

REPO = Path(__file__).resolve().parents[2]
SCENARIOS = REPO / "scenarios"
COMPRESSION = 60.0
WALL_STEP = timedelta(seconds=1)  # one drill minute at 60x

Action = Callable[["Run"], None]


@dataclass
class Run:
    """One drill being played: the services, the players, and what they have planned."""

    app: App
    clock: FixedClock
    team: Team
    players: Players
    drill_id: str
    planned: list[tuple[timedelta, str, Action]] = field(default_factory=list)  # (drill time, what, action)
    triaged: list[int] = field(default_factory=list)  # the public messages the players triaged
    done: list[tuple[timedelta, str]] = field(default_factory=list)
    fired: set[str] = field(default_factory=set)

    def drill(self) -> Drill:
        return self.app.drills().get(self.team.controller, self.drill_id)

    def incident(self, key: str) -> str:
        return self.drill().incidents[key]

    def at(self, when: timedelta, what: str, action: Action) -> None:
        self.planned.append((when, what, action))

    def triage(self) -> None:
        """Whoever has the queue open answers what is urgent in it (an earlier look may have taken this one)."""
        self.triaged += [item.id for item in self.players.triage_urgent()]

    def all_urgent_triaged(self) -> None:
        urgent = [i for i in self.drill().scenario.injects if getattr(i, "urgent", False)]
        assert len(self.triaged) == len(set(self.triaged)) == len(urgent), (self.triaged, urgent)
        assert not [i for i in self.players.triage_queue() if i.priority == "urgent"]


def play(run: Run, reactions: dict[str, tuple[timedelta, Action]]) -> Drill:
    """Run the drill to its end: fire what is due, let the players react to each inject (``reactions``: inject id ->
    delay after it fired, action), deliver; end the drill at its planned length."""
    drills = run.app.drills()
    drill = run.drill()
    length = drill.scenario.length
    for _ in range(int(length / timedelta(minutes=1)) + 30):
        run.clock.advance(WALL_STEP)
        drills.tick(run.clock.now())
        drill = run.drill()
        now = drill.drill_time
        for state in drill.injects:
            if state.status is InjectStatus.FIRED and state.id not in run.fired:
                run.fired.add(state.id)
                if state.id in reactions:
                    delay, action = reactions[state.id]
                    assert state.fired_at is not None
                    run.at(state.fired_at + delay, f"react to {state.id}", action)
        for item in sorted(run.planned, key=lambda p: p[0]):
            if item[0] <= now:
                run.planned.remove(item)
                item[2](run)
                run.done.append((now, item[1]))
        run.players.deliver()
        if now >= length:
            break
    assert not run.planned, f"never done: {run.planned}"
    drill = run.drill()
    if drill.status is not DrillStatus.ENDED:
        drill = drills.end(run.team.controller, run.drill_id)
    assert drill.status is DrillStatus.ENDED
    assert all(i.status is InjectStatus.FIRED for i in drill.injects), [(i.id, i.status) for i in drill.injects]
    return drill


def start(core: App, admin: Actor, clock: FixedClock, name: str) -> Run:
    team = seat_team(core, admin)
    exercise_accounts(core, admin, ["exercise-page", "exercise-social"])
    drills = core.drills()
    drill = drills.load(team.controller, SCENARIOS / f"{name}.yaml")
    drills.start(team.controller, drill.id, compression=COMPRESSION)
    return Run(core, clock, team, Players(core, team), drill.id)


def report(run: Run, folder: Path, *, pdf: bool) -> tuple[Evaluation, list[Path]]:
    service = run.app.after_action()
    evaluation = service.evaluate(run.team.controller, run.drill_id)
    files = service.export(run.team.controller, run.drill_id, folder, pdf=pdf)
    assert files and all(f.is_file() and f.stat().st_size > 0 for f in files), files
    html = next(f for f in files if f.suffix == ".html")
    page = unescape(html.read_text(encoding="utf-8"))
    for objective in run.drill().scenario.objectives:
        assert objective.title in page, objective.title
    return evaluation, files


def ratings(evaluation: Evaluation) -> dict[str, Rating]:
    return {o.objective_id: o.suggested for o in evaluation.objectives}


def nothing_live(run: Run) -> None:
    """Nothing of the drill went to a live account: every message is EXERCISE and every outbox row of the
    workstation (the live public page is there too) is an exercise account's."""
    for view in run.players.published:
        assert view.mode == "exercise"
    rows = run.app.outbox().rows(run.team.communicator, limit=1000)
    assert rows and {r.mode for r in rows} == {"exercise"}
    assert "public-page" not in {r.account for r in rows}


# -- the flash flood ---------------------------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_the_flash_flood_runs_with_an_alert_two_updates_and_urgent_comments(
    core: App, admin: Actor, clock: FixedClock, tmp_path: Path
) -> None:
    run = start(core, admin, clock, "flash-flood")
    flood = run.incident("flood")
    first: list[timedelta] = []

    def alert(r: Run) -> None:
        r.players.step_done(flood, 1)  # confirmed with the weather service
        r.players.send(flood, "alert", facts={"expires": local_time(r.app, flood, timedelta(hours=3))})
        r.players.step_done(flood, 2)
        first.append(r.drill().drill_time)
        # Updates on the 30-minute cadence, a little early as a careful desk does.
        r.at(first[0] + timedelta(minutes=27), "first update", update)
        r.at(first[0] + timedelta(minutes=55), "second update", update)

    def update(r: Run) -> None:
        r.players.send(flood, "update")
        if len(r.players.published) == 2:
            r.players.step_done(flood, 4)  # the first update, with road closures and shelters

    def tell_crews(r: Run) -> None:
        r.players.step_done(flood, 3)

    def triage(r: Run) -> None:
        r.triage()

    def shelter(r: Run) -> None:
        r.players.set_facts(flood, {"shelter": "Mill County Fairgrounds, 900 Fair Way"})

    drill = play(
        run,
        {
            "nws-warning": (timedelta(minutes=4), alert),
            "sheriff-call": (timedelta(minutes=5), tell_crews),
            "creek-lane": (timedelta(minutes=3), triage),
            "refugio": (timedelta(minutes=4), triage),
            "shelter-open": (timedelta(minutes=1), shelter),
            "trapped-neighbor": (timedelta(minutes=2), triage),
        },
    )
    run.all_urgent_triaged()
    # The comments name the flood, so they are the incident's: each answered with the playbook's reply.
    assert {core.feeds().item(str(i)).status for i in run.triaged} == {"answered"}
    assert [v.type for v in run.players.published] == ["alert", "update", "update"]
    assert run.players.undelivered() == []
    nothing_live(run)
    evaluation, files = report(run, tmp_path / "aar", pdf=True)
    assert ratings(evaluation) == {
        "first-alert": Rating.P,
        "updates": Rating.P,
        "approvals": Rating.P,
        "urgent-questions": Rating.P,
        "checklist": Rating.P,
    }, evaluation
    assert {f.suffix for f in files} >= {".html", ".pdf"}
    assert drill.incidents == {"flood": flood}


# -- the false alarm, Hawaii 2018 shape -----------------------------------------------------------------------------


@pytest.mark.timeout(120)
def test_the_false_alarm_runs_until_the_correction_is_confirmed_on_every_channel(
    core: App, admin: Actor, clock: FixedClock, tmp_path: Path
) -> None:
    run = start(core, admin, clock, "false-alarm-hawaii-2018")
    wrong = run.incident("wrong-alert")

    def send_wrong_alert(r: Run) -> None:  # as the script tells them: this is the mistake the drill is about
        r.players.send(wrong, "alert", facts={"expires": local_time(r.app, wrong, timedelta(minutes=45))})

    def false_alarm(r: Run) -> None:
        r.players.false_alarm(
            wrong,
            correction="there is no tornado: the warning was sent in error",
            translations={"es": "no hay tornado: el aviso se envió por error"},
        )

    def confirm(r: Run) -> None:
        progress = r.players.confirm_false_alarm(wrong)
        assert progress is not None and progress.recorded, progress

    def triage(r: Run) -> None:
        r.triage()

    play(
        run,
        {
            "shift-change": (timedelta(minutes=1), send_wrong_alert),
            "nws-call": (timedelta(minutes=1), false_alarm),  # they check, and declare it at once
            "is-it-real": (timedelta(minutes=2), triage),
            "es-real": (timedelta(minutes=2), triage),
            "commander": (timedelta(minutes=1), confirm),
            "news-desk": (timedelta(minutes=3), triage),
        },
    )
    run.all_urgent_triaged()
    assert [v.type for v in run.players.published] == ["alert", "cancel", "correction"]
    assert all(run.players.delivered(v.id) for v in run.players.published)
    nothing_live(run)
    evaluation, _ = report(run, tmp_path / "aar", pdf=False)
    assert ratings(evaluation)["correction"] is Rating.P, evaluation
    [measured] = next(o for o in evaluation.objectives if o.objective_id == "correction").measurements
    assert measured.value is not None and measured.value <= timedelta(minutes=15)


# -- the power outage, with a channel outage and a network loss --------------------------------------------------


@pytest.mark.timeout(120)
def test_the_power_outage_holds_messages_through_the_outages_and_delivers_after(
    core: App, admin: Actor, clock: FixedClock, tmp_path: Path
) -> None:
    run = start(core, admin, clock, "power-outage")
    outage = run.incident("outage")
    held: list[int] = []

    def notice(r: Run) -> None:
        r.players.send(outage, "alert", facts={"expires": local_time(r.app, outage, timedelta(hours=14))})

    def update_during_outage(r: Run) -> None:
        r.players.send(outage, "update")
        r.players.deliver()
        held.append(len(r.players.undelivered()))  # exercise-social is failing: its row waits

    def triage(r: Run) -> None:
        r.triage()

    play(
        run,
        {
            "utility-report": (timedelta(minutes=10), notice),
            "library-hours": (timedelta(minutes=2), update_during_outage),
            "it-desk": (timedelta(minutes=1), update_during_outage),
            "oxygen": (timedelta(minutes=3), triage),
            "cargar": (timedelta(minutes=3), triage),
        },
    )
    run.all_urgent_triaged()
    assert held[0] >= 1 and held[1] >= 2, held  # held through the channel outage, then through the network loss
    assert run.players.undelivered() == []  # and delivered after by the outbox alone, no one sending again
    # When each row of the two updates went out, in drill time (60x, never paused): the social row of the first
    # update only once its outage was over, every row of the second only once the network was back.
    started = run.drill().started_at
    assert started is not None

    def sent(message_id: str) -> dict[str, timedelta]:
        return {
            r.account: (datetime.fromisoformat(r.sent_at) - started) * COMPRESSION
            for r in run.players.rows(message_id)
            if r.sent_at
        }

    first_update, second_update = (sent(v.id) for v in run.players.published[1:])
    assert first_update["exercise-page"] < timedelta(minutes=35) <= first_update["exercise-social"], first_update
    assert min(second_update.values()) >= timedelta(minutes=55), second_update
    nothing_live(run)
    evaluation, _ = report(run, tmp_path / "aar", pdf=False)
    assert ratings(evaluation)["channel-recovery"] in (Rating.P, Rating.S), evaluation
    assert ratings(evaluation)["network-recovery"] in (Rating.P, Rating.S), evaluation
    assert evaluation.outbox_failures, "the failures during the outages are in the evaluation"
