import pytest

from crisisdesk.domain.errors import PermissionDenied, UserError
from crisisdesk.domain.roles import Permission, Role, check_password, check_user_name
from tests.conftest import actor


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        (Role.VIEWER, {Permission.READ}),
        (Role.COMMUNICATOR, {Permission.READ, Permission.DRAFT, Permission.MANAGE_FEEDS}),
        (Role.APPROVER, {Permission.READ, Permission.APPROVE}),
        (Role.EXERCISE_CONTROLLER, {Permission.READ, Permission.RUN_EXERCISES}),
        (Role.ADMIN, {Permission.READ, Permission.MANAGE_PEOPLE, Permission.MANAGE_CHANNELS, Permission.MANAGE_FEEDS}),
    ],
)
def test_each_role_may_do_exactly_its_own_work(role: Role, allowed: set[Permission]) -> None:
    person = actor("p", role)
    assert {p for p in Permission if person.may(p)} == allowed


def test_a_refusal_says_who_what_and_which_role_is_needed() -> None:
    with pytest.raises(PermissionDenied, match=r"bob may not manage people: that needs the role admin \(has viewer\)"):
        actor("bob", Role.VIEWER).require(Permission.MANAGE_PEOPLE)


def test_roles_parse_case_insensitively_and_unknown_roles_list_the_choices() -> None:
    assert Role.parse(" Approver ") is Role.APPROVER
    with pytest.raises(UserError, match="choose one of admin, communicator"):
        Role.parse("boss")


@pytest.mark.parametrize("name", ["", "-x", "a b", "x" * 65, "é"])
def test_bad_user_names_are_refused(name: str) -> None:
    with pytest.raises(UserError, match="invalid user name"):
        check_user_name(name)


def test_passwords_need_eight_characters_and_no_edge_spaces() -> None:
    with pytest.raises(UserError, match="at least 8"):
        check_password("short")
    with pytest.raises(UserError, match="spaces"):
        check_password(" padded password ")
    assert check_password("long enough") == "long enough"
