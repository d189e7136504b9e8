"""Printed commands are runnable as printed: the executable as it was invoked."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from specdistill.cli.invocation import prog, runnable

SCRIPT = str(Path(sys.executable).parent / "specdistill")
MODULE_MAIN = str(Path(__file__).resolve().parents[2] / "src/specdistill/cli/__main__.py")


@pytest.fixture(autouse=True)
def _venv_not_on_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """As a user who has not activated the venv (scripts/test puts it on PATH)."""
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    monkeypatch.delenv("SPECDISTILL_INVOKED_AS", raising=False)


@pytest.mark.parametrize(
    ("argv0", "expected"),
    [
        (".venv/bin/specdistill", ".venv/bin/specdistill"),
        (SCRIPT, SCRIPT),
        ("specdistill", "specdistill"),
        ("/usr/lib/python3/pytest", "specdistill"),
    ],
    ids=["relative-path", "absolute-path", "bare-name", "not-specdistill"],
)
def test_prog_is_the_executable_as_invoked(argv0: str, expected: str) -> None:
    assert prog(argv0) == expected


def test_the_module_form_prints_python_dash_m() -> None:
    assert prog(MODULE_MAIN).endswith(" -m specdistill.cli")


def test_hints_are_rewritten_only_where_they_quote_a_command() -> None:
    hint = (
        "reject it (specdistill reject s:e --reason ...); see: specdistill log; specdistill never"
    )
    assert runnable(hint, ".venv/bin/specdistill") == (
        "reject it (.venv/bin/specdistill reject s:e --reason ...); see: "
        ".venv/bin/specdistill log; specdistill never"
    )
    assert runnable(hint, "specdistill") == hint


def test_an_error_hint_through_the_real_script_names_it(tmp_path: Path) -> None:
    result = subprocess.run(
        [SCRIPT, "history", "--home", str(tmp_path / "none")],
        capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert result.returncode == 2
    assert f"create one with '{SCRIPT} init'" in result.stderr


def test_the_scripts_name_the_venv_script(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """scripts/ put .venv/bin on their own PATH only: the printed command is the path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SPECDISTILL_INVOKED_AS", str(tmp_path / ".venv" / "bin" / "specdistill"))
    assert prog() == ".venv/bin/specdistill"
    monkeypatch.setenv("SPECDISTILL_INVOKED_AS", "/opt/sd/bin/specdistill")
    assert prog() == "/opt/sd/bin/specdistill"
