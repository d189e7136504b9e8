"""Every ``--help`` shows every word its help texts hold: nothing in ``[...]`` is eaten as
markup, and the help is plain text (no rich markup mode, which also keeps start-up cheap).
Every command that prints data takes ``--json`` (walked from the app, like the help)."""

from __future__ import annotations

import re
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from specdistill.cli import app

BRACKETED = re.compile(r"\[[^\]\s]+\]")


def _commands(group: Any, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    # typer vendors its own click: groups are recognised by their ``commands``.
    found = [path]
    if hasattr(group, "commands"):
        for name, sub in group.commands.items():
            found += _commands(sub, (*path, name))
    return found


ROOT = typer.main.get_command(app)
PATHS = _commands(ROOT)


def _resolve(path: tuple[str, ...]) -> Any:
    command: Any = ROOT
    for name in path:
        command = command.commands[name]
    return command


@pytest.mark.parametrize("path", PATHS, ids=lambda p: " ".join(p) or "(top)")
def test_help_keeps_every_bracketed_word(path: tuple[str, ...]) -> None:
    command = _resolve(path)
    texts = [command.help or ""] + [getattr(param, "help", None) or "" for param in command.params]
    wanted = {m for text in texts for m in BRACKETED.findall(text)}
    result = CliRunner().invoke(app, [*path, "--help"], terminal_width=200)
    assert result.exit_code == 0, result.output
    shown = " ".join(result.output.split())
    for word in wanted:
        assert word in shown, f"{' '.join(path)} --help lost {word!r}"


def test_some_help_text_has_brackets_to_keep() -> None:
    # Guards the test above against passing vacuously.
    assert any(
        BRACKETED.search(getattr(p, "help", None) or "")
        for path in PATHS
        for p in _resolve(path).params
    )


#: Commands that print no data, so take no ``--json``; every other command must.
NO_DATA = {
    # Starts the local review page and prints only where it listens, until Ctrl-C.
    ("view",),
}
COMMANDS = [path for path in PATHS if path and not hasattr(_resolve(path), "commands")]


@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p))
def test_every_command_that_prints_data_takes_json(path: tuple[str, ...]) -> None:
    flags = {opt for param in _resolve(path).params for opt in getattr(param, "opts", [])}
    if path in NO_DATA:
        assert "--json" not in flags, f"{' '.join(path)} takes --json: drop it from NO_DATA"
    else:
        assert "--json" in flags, f"{' '.join(path)} prints data but has no --json"


def test_the_no_data_list_names_real_commands() -> None:
    assert set(COMMANDS) >= NO_DATA
    assert {("loop",), ("benchmark", "build"), ("schema",)} <= set(COMMANDS)
