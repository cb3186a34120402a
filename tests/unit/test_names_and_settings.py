"""Names and channel settings as people type them: no hidden line ends or control characters, and settings
that cannot work refused when the channel is added, not when the first alert fails (issue 11)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from crisisdesk.domain.accounts import check_account_name
from crisisdesk.domain.errors import UserError
from crisisdesk.domain.roles import check_user_name
from crisisdesk.domain.validate import validate_text

REPO = Path(__file__).resolve().parents[2]


# -- names ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("check", [check_user_name, check_account_name])
@pytest.mark.parametrize("name", ["carla\n", "carla\r\n", "car\nla", "carla\x00", "carla\x1b", "carla "])
def test_a_name_with_a_line_end_or_a_control_character_is_refused(check: Callable[[str], str], name: str) -> None:
    # A trailing newline passed '^...$' (which allows one before the end): "carla\n" approved carla's own text.
    with pytest.raises(UserError, match="invalid"):
        check(name)


@pytest.mark.parametrize(("check", "name"), [(check_user_name, "Carla.M-2"), (check_account_name, "public-page")])
def test_a_plain_name_is_accepted(check: Callable[[str], str], name: str) -> None:
    assert check(name) == name


def test_a_playbook_id_or_language_with_a_line_end_is_refused() -> None:
    text = (REPO / "playbooks" / "flash-flood.yaml").read_text(encoding="utf-8")
    assert validate_text(text, "ok.yaml")[0] is not None
    bad_id = text.replace("id: flash-flood", 'id: "flash-flood\\n"', 1)
    assert bad_id != text
    playbook, problems = validate_text(bad_id, "bad.yaml")
    assert playbook is None and any("an id is" in p.message for p in problems), problems
