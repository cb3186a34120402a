"""What the command line prints: text from people and files never drives the terminal, and a page says so."""

from __future__ import annotations

import argparse
import hashlib
import io
import json

import pytest

from crisisdesk.app import App
from crisisdesk.cli.context import Context, terminal_safe
from crisisdesk.domain.incidents import Mode
from crisisdesk.domain.roles import Actor
from tests.conftest import CliRun
from tests.integration.outbox_helpers import add_team, open_incident, publish
from tests.integration.test_incidents import FLOOD_FACTS

# Clears the screen, retitles the window (OSC ... BEL), an 8-bit CSI, and a right-to-left override.
HOSTILE = "Mill Creek \x1b[2J\x1b]0;pwned\x07 valley \x9b31m \u202eevil\u202c"
RAW = ("\x1b", "\x07", "\x9b", "\u202e", "\u202c")


@pytest.fixture
def team(core: App, admin: Actor) -> dict[str, Actor]:
    return add_team(core, admin)


def assert_terminal_safe(text: str) -> None:
    found = sorted({f"U+{ord(c):04X}" for c in text if c in RAW})
    assert not found, f"raw control characters reached the output: {found}"


def test_terminal_safe_makes_controls_and_bidi_overrides_visible() -> None:
    assert terminal_safe(HOSTILE) == "Mill Creek \\x1b[2J\\x1b]0;pwned\\x07 valley \\x9b31m \\u202eevil\\u202c"
    assert terminal_safe("a\tb\nc\rd\x7f\x00") == "a\tb\nc\\x0dd\\x7f\\x00"  # the layout keeps tab and newline
    assert terminal_safe("Río Grande, 北京, עברית\u200f") == "Río Grande, 北京, עברית\u200f"  # letters untouched


def test_incident_and_message_show_print_no_raw_control_characters(cli_as: CliRun, core: App, team) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    publish(core, team, inc, ["public-page"])  # so that 'message diff' has a published text to compare with
    core.incidents().set_fact(team["carla"], inc, "expires", "2026-11-22T23:00")
    code, out, err = cli_as("carla", "incident", "set-fact", inc, f"area={HOSTILE}")
    assert code == 0, err
    assert_terminal_safe(out)
    code, out, err = cli_as("carla", "incident", "show", inc)
    assert code == 0, err
    assert_terminal_safe(out)
    assert "area = Mill Creek \\x1b[2J\\x1b]0;pwned\\x07 valley \\x9b31m \\u202eevil\\u202c" in out  # shown, not lost

    code, out, err = cli_as("carla", "message", "draft", inc, "--type", "update")
    assert code == 0, err
    assert_terminal_safe(out)
    msg = out.split()[0]
    code, out, err = cli_as("ivan", "message", "show", msg)
    assert code == 0, err
    assert_terminal_safe(out)
    assert "\\x1b]0;pwned\\x07" in out and "\\u202eevil" in out
    code, out, err = cli_as("carla", "message", "diff", msg)
    assert code == 0, err
    assert_terminal_safe(out)
    assert "\\x1b]0;pwned" in out

    # JSON: the encoder's escapes (and ours for C1 and bidi) read back as the very same text.
    code, out, err = cli_as("carla", "incident", "show", inc, "--json")
    assert code == 0, err
    assert_terminal_safe(out)
    assert "\\u001b]0;pwned\\u0007" in out and "\\u202eevil" in out
    assert json.loads(out)["facts"]["area"] == HOSTILE
    code, out, err = cli_as("ivan", "message", "show", msg, "--json")
    assert code == 0, err
    assert_terminal_safe(out)
    assert any(HOSTILE in v["text"] for v in json.loads(out)["variants"])


def test_error_lines_on_stderr_are_terminal_safe(cli_as: CliRun, core: App, team, tmp_path) -> None:  # type: ignore[no-untyped-def]
    # An error that quotes what was typed as it is (not as a Python repr), and one from argparse.
    folder = tmp_path / "no\x1b]0;pwned\x07\u202e"
    code, _, err = cli_as("alice", "audit", "export", "--format", "csv", "--out", str(folder / "x.csv"))
    assert code == 2 and err.startswith("crisisdesk: error: ") and err.count("\n") == 1, err
    assert_terminal_safe(err)
    assert "no\\x1b]0;pwned\\x07\\u202e does not exist" in err
    code, _, err = cli_as("carla", "incident", "status", "x", "\x1b[2J\u202e")
    assert code == 2
    assert_terminal_safe(err)


def test_data_for_a_file_stays_byte_exact_and_is_escaped_only_on_a_terminal(cli_as: CliRun, core: App, team) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    core.incidents().set_fact(team["carla"], inc, "area", HOSTILE)
    code, out, err = cli_as("alice", "audit", "export", "--format", "csv")
    assert code == 0, err
    assert "\u202eevil" in out  # into a pipe or a file: the exact bytes that were hashed
    code, out, err = cli_as("alice", "audit", "export", "--format", "jsonl")
    bodies = [json.loads(line)["body"] for line in out.splitlines()]
    assert any(HOSTILE in json.loads(body)["payload"].get("value", "") for body in bodies)
    for line in out.splitlines():
        record = json.loads(line)
        assert hashlib.sha256(record["body"].encode()).hexdigest() == record["hash"]

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal, pipe = Terminal(), io.StringIO()
    Context(argparse.Namespace(), io.StringIO(), terminal).data_stream().write(HOSTILE)
    Context(argparse.Namespace(), io.StringIO(), pipe).data_stream().write(HOSTILE)
    assert terminal.getvalue() == "Mill Creek \\x1b[2J\\x1b]0;pwned\\x07 valley \\x9b31m \\u202eevil\\u202c"
    assert pipe.getvalue() == HOSTILE


def test_outbox_list_says_when_it_shows_a_page_of_more(cli_as: CliRun, core: App, team) -> None:  # type: ignore[no-untyped-def]
    inc = open_incident(core, team)
    alert = publish(core, team, inc, ["public-page"])
    core.incidents().set_fact(team["carla"], inc, "expires", "2026-11-22T23:00")
    update = publish(core, team, inc, ["public-page"], message_type="update")
    code, out, err = cli_as("vic", "outbox", "list")
    assert code == 0, err
    assert len(out.splitlines()) == 2 and "showing" not in out  # everything fits: no note
    code, out, err = cli_as("vic", "outbox", "list", "--limit", "1")
    assert code == 0, err
    lines = out.splitlines()
    assert len(lines) == 2 and update.id in lines[0]  # the newest first
    assert lines[1] == "showing the newest 1 rows; there are more: --limit N or --message MSG to see more"
    code, out, err = cli_as("vic", "outbox", "list", "--limit", "1", "--json")
    assert code == 0
    assert [r["message"] for r in json.loads(out)] == [update.id]  # still a plain list for scripts
    assert err == "crisisdesk: showing the newest 1 rows; there are more: --limit N or --message MSG to see more\n"
    code, out, err = cli_as("vic", "outbox", "list", "--limit", "1", "--message", alert.id)
    assert code == 0 and "showing" not in out and alert.id in out
    code, out, err = cli_as("vic", "outbox", "list", "--limit", "0")
    assert code == 2 and "argument --limit: 0: give a whole number from 1" in err


def test_quiet_prints_only_the_new_ids_for_a_script(cli_as: CliRun, core: App, team) -> None:  # type: ignore[no-untyped-def]
    facts = [f"--fact={name}={value}" for name, value in FLOOD_FACTS.items()]
    code, out, err = cli_as("carla", "incident", "open", "flash-flood", "--mode", "live", "-q", *facts)
    assert code == 0, err
    inc = out.strip()
    assert out == f"{inc}\n" and [i.id for i in core.incidents().list_all(team["vic"])] == [inc]
    code, out, err = cli_as("carla", "message", "draft", inc, "--type", "alert", "--quiet")
    assert code == 0, err
    assert out == f"{out.strip()}\n" and core.messages().show(team["vic"], out.strip()).type == "alert"
    publish(core, team, inc, ["public-page"])
    code, out, err = cli_as("carla", "incident", "false-alarm", inc, "--correction", "sent in error", "-q")
    assert code == 0, err
    ids = out.split()
    assert out == "".join(f"{i}\n" for i in ids)
    assert [core.messages().show(team["vic"], i).type for i in ids] == ["cancel", "correction"]


def test_a_false_alarm_says_what_was_wrong_in_each_language(cli_as: CliRun, core: App, team) -> None:  # type: ignore[no-untyped-def]
    inc = core.incidents().open(team["carla"], "flash-flood", Mode.LIVE, facts=FLOOD_FACTS).id
    publish(core, team, inc, ["public-page"])
    code, out, err = cli_as("carla", "incident", "false-alarm", inc, "--correction", "x", "--correction-in", "es")
    wants = "--correction-in wants LANG=TEXT, e.g. 'es=la ruta es la 49 Sur', not 'es'"
    assert (code, out, err) == (2, "", f"crisisdesk: error: {wants}\n")
    code, out, err = cli_as("carla", "incident", "false-alarm", inc, "--correction", "x", "--correction-in", "fr=y")
    no_fr = "the playbook has no second language 'fr' (its other languages: es)"
    assert (code, err) == (2, f"crisisdesk: error: {no_fr}\n")
    code, out, err = cli_as("carla", "incident", "false-alarm", inc, "--correction-in", "es=y")  # no English
    assert code == 2 and "say what was wrong for the public correction" in err
    assert not any(k.startswith("correction") for k in core.incidents().get(team["vic"], inc).facts)  # nothing set
    wrong, mal = "the warning was for Elm Creek", "el aviso era para Elm Creek"
    code, out, err = cli_as(
        "carla", "incident", "false-alarm", inc, "--correction", wrong, "--correction-in", f"es={mal}", "-q"
    )
    assert code == 0, err
    fix = core.messages().show(team["vic"], out.split()[1])
    spanish = [v.text for v in fix.variants if v.lang == "es"]
    english = [v.text for v in fix.variants if v.lang == "en"]
    assert spanish and all(wrong not in t for t in spanish) and any(mal in t for t in spanish)
    assert any(wrong in t for t in english)
    untranslated = {f.message for v in fix.variants for f in v.findings if f.code == "CD121"}
    assert not any("fact correction " in m for m in untranslated), untranslated  # said in Spanish
