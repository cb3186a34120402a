"""A shipped scenario on a workstation without the exercise account it fails: the problem says what to do (add the
account, as an EXERCISE account, or name one the workstation has), not only that the name is unknown. Seen in a
walkthrough: the picker called the power outage scenario broken and said to fix its file, which was sound."""

from __future__ import annotations

from crisisdesk.app import App


def test_a_missing_outage_account_is_a_problem_that_says_how_to_mend_it(core: App) -> None:
    found = {f.path.name: f for f in core.drills().scenarios()}
    outage = found["power-outage.yaml"]
    assert outage.scenario is None and len(outage.problems) == 1
    problem = str(outage.problems[0])
    assert problem.startswith(f"{outage.path}:") and ":14: " in problem  # file:line:column, at the account's name
    assert "this workstation has no channel account 'exercise-social'" in problem
    assert "as an EXERCISE account" in problem and "crisisdesk channels add KIND exercise-social --exercise" in problem
    assert found["flash-flood.yaml"].problems == []  # it needs no outage account
