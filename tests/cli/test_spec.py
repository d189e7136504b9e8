"""``specdistill apply`` / ``init`` / ``schema`` through typer's CliRunner, plus real
subprocess runs of the installed console script."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from conftest import APPLYING_OPS, VALID_PAYLOADS, make_edit, tree_bytes, valid_edit
from specdistill import EditOp, LearningPlan
from specdistill.cli import app

SCRIPT = Path(sys.executable).parent / "specdistill"


def write_plan(path: Path, edits: list[Any]) -> Path:
    path.write_text(LearningPlan(session_id="cli", edits=edits).model_dump_json(indent=2))
    return path


def spec_bytes(home: Path) -> dict[str, bytes]:
    """The user's spec files only: not learning/ nor the checkpoints' .git/."""
    return {
        path: data
        for path, data in tree_bytes(home).items()
        if not path.startswith(("learning/", ".git/"))
    }


def squash(text: str) -> str:
    """Text without whitespace or table borders, so a wrapped table cell still matches."""
    return re.sub(r"[\s│]", "", text)


def run(*args: str | Path, env: dict[str, str] | None = None) -> Any:
    return CliRunner().invoke(app, [str(a) for a in args], env=env)


@pytest.fixture
def plan(tmp_path: Path) -> Path:
    """One valid edit per op (auto, review and manual tiers)."""
    return write_plan(tmp_path / "plan.json", [valid_edit(op) for op in EditOp])


# --- apply -----------------------------------------------------------------------------------


def test_apply_prints_outcomes_and_diffs(home: Path, plan: Path) -> None:
    result = run("apply", plan, "--home", home)
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert squash(f"Applied to {home}") in squash(out)
    edits = LearningPlan.model_validate_json(plan.read_text()).edits
    for edit in edits:
        assert edit.id in squash(out)
    # tiered (the default mode): auto-tier applied, review-tier pending, manual skipped
    assert out.count("pending_review") == 4
    assert squash("manual tier, requires explicit approval") in squash(out)
    # a unified diff per applied edit, headed by its id
    assert "--- a/config.toml\n+++ b/config.toml" in out
    assert "-max_turns = 4\n+max_turns = 6" in out
    assert '+tools = ["calculator", "web_search"]  # what it may call' in out
    assert '+description = "Do math."' in out
    assert "system_prompt.md" not in out  # review tier: not applied, no diff
    config = (home / "config.toml").read_text()
    assert "max_turns = 6" in config


def test_apply_auto_mode_applies_review_tier(home: Path, plan: Path) -> None:
    result = run("apply", plan, "--home", home, "--mode", "auto")
    assert result.exit_code == 0, result.stderr
    assert "+++ b/agents/coder/few_shot.json" in result.stdout
    assert "+Be brief." in result.stdout
    assert (home / "agents" / "coder" / "system_prompt.md").read_text() == "Be brief.\n"


def test_apply_manual_mode_changes_no_spec_file(home: Path, plan: Path) -> None:
    before = spec_bytes(home)
    result = run("apply", plan, "--home", home, "--mode", "manual")
    assert result.exit_code == 0, result.stderr
    assert result.stdout.count("pending_review") == len(EditOp)
    assert spec_bytes(home) == before


def test_dry_run_writes_nothing_but_shows_diffs(home: Path, plan: Path) -> None:
    before = tree_bytes(home)
    result = run("apply", plan, "--home", home, "--dry-run", "--mode", "auto")
    assert result.exit_code == 0, result.stderr
    out = result.stdout
    assert "Dry run: nothing was written" in out
    assert out.count("would apply") == len(APPLYING_OPS)
    assert "-max_turns = 4\n+max_turns = 6" in out
    assert "+++ b/agents/coder/few_shot.json" in out
    assert tree_bytes(home) == before
    assert not (home / "agents" / "coder" / "few_shot.json").exists()


def test_dry_run_refuses_a_bad_plan_like_a_real_run(home: Path, tmp_path: Path) -> None:
    """The plan screen (issue 11): an edit that cannot apply refuses the whole plan, in a
    dry run as in a real one: exit 2, one line naming the edit and the field, nothing
    written, no commit."""
    bad = make_edit(
        EditOp.REMOVE_TOOL_FROM_AGENT, {"agent": "assistant", "tool_name": "web_search"}
    )
    plan = write_plan(tmp_path / "p.json", [valid_edit(EditOp.SET_AGENT_PARAM), bad])
    before = spec_bytes(home)
    dry = run("apply", plan, "--home", home, "--dry-run")
    real = run("apply", plan, "--home", home)
    assert spec_bytes(home) == before
    for result in (dry, real):
        assert result.exit_code == 2, result.stdout
        first = result.stderr.splitlines()[0]
        assert f"edit {bad.id!r}, field 'payload.tool_name'" in first
        assert "has no tool 'web_search'" in first
        assert "max_turns" not in result.stdout


def test_apply_uses_specdistill_home_env(home: Path, plan: Path) -> None:
    result = run("apply", plan, env={"SPECDISTILL_HOME": str(home)})
    assert result.exit_code == 0, result.stderr
    assert "max_turns = 6" in (home / "config.toml").read_text()


# --- refusals: exit code 2, one line, nothing written ------------------------------------------


def _invalid_edit_plan(path: Path) -> tuple[Path, str, str]:
    edits = [
        valid_edit(EditOp.SET_AGENT_PARAM),  # valid, and must not be applied either
        make_edit(EditOp.ADD_TOOL_TO_AGENT, {"agent": "../../etc", "tool_name": "x"}, id="evil-1"),
    ]
    return write_plan(path, edits), "evil-1", "payload.agent"


BAD_PLANS: list[Any] = [
    pytest.param("not json at all {", ("is not JSON", "line 1"), id="not-json"),
    pytest.param("", ("is not JSON",), id="empty-file"),
    pytest.param("[1, 2]", ("a plan is a JSON object",), id="json-list"),
    pytest.param('"plan"', ("a plan is a JSON object",), id="json-string"),
    pytest.param('{"edits": 3}', ("plan.edits",), id="edits-not-a-list"),
    pytest.param('{"edits": [], "surprise": 1}', ("plan.surprise", "unknown key"), id="extra-key"),
    pytest.param(
        '{"edits": [{"id": "x9", "pillar": "tools", "op": "frobnicate", "payload": {}}]}',
        ("edit 'x9'", "field 'op'"),
        id="unknown-op",
    ),
    pytest.param(
        '{"edits": [{"pillar": "tools", "op": "add_tool_to_agent", "payload": {}}]}',
        ("edit '#0'", "field 'id'"),
        id="edit-without-id",
    ),
    pytest.param(
        '{"edits": [{"id": "p1", "pillar": "intelligence", "op": "set_model_param",'
        ' "payload": {"model": "m", "param": "temperature", "value": "hot", "x": 1}}]}',
        ("edit 'p1'", "field 'payload.x'", "unknown key"),
        id="payload-unknown-key",
    ),
    pytest.param(
        '{"edits": [{"id": "d", "pillar": "tools", "op": "add_tool_to_agent",'
        ' "payload": {"agent": "a", "tool_name": "t"}},'
        ' {"id": "d", "pillar": "tools", "op": "add_tool_to_agent",'
        ' "payload": {"agent": "a", "tool_name": "u"}}]}',
        ("edit 'd'", "duplicate edit id"),
        id="duplicate-ids",
    ),
]


@pytest.mark.parametrize(("content", "expected"), BAD_PLANS)
def test_bad_plan_files_are_refused(
    home: Path, tmp_path: Path, content: str, expected: tuple[str, ...]
) -> None:
    plan = tmp_path / "bad.json"
    plan.write_text(content)
    before = tree_bytes(home)
    result = run("apply", plan, "--home", home, "--mode", "auto")
    assert result.exit_code == 2
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr  # one error line, one hint line
    assert lines[0].startswith("error: ") and lines[1].startswith("hint: ")
    for needle in expected:
        assert needle in lines[0]
    assert tree_bytes(home) == before


def test_invalid_edit_names_the_id_and_field_and_nothing_is_written(
    home: Path, tmp_path: Path
) -> None:
    plan, edit_id, field = _invalid_edit_plan(tmp_path / "p.json")
    before = tree_bytes(home)
    for extra in ([], ["--dry-run"]):
        result = run("apply", plan, "--home", home, "--mode", "auto", *extra)
        assert result.exit_code == 2
        line, hint = result.stderr.strip().splitlines()  # one error line, one hint line
        assert line.startswith("error: ") and hint.startswith("hint: ")
        assert f"edit '{edit_id}'" in line
        assert f"field '{field}'" in line
        assert "'../../etc'" in line
    assert tree_bytes(home) == before


def test_missing_plan_file(home: Path, tmp_path: Path) -> None:
    result = run("apply", tmp_path / "absent.json", "--home", home)
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


def test_non_home_directory_is_refused(tmp_path: Path, plan: Path) -> None:
    not_a_home = tmp_path / "typo"
    not_a_home.mkdir()
    (not_a_home / "notes.txt").write_text("mine\n")
    result = run("apply", plan, "--home", not_a_home)
    assert result.exit_code == 2
    assert "is not a spec home" in result.stderr
    assert "specdistill init" in result.stderr  # the hint says what to do
    assert tree_bytes(not_a_home) == {"notes.txt": b"mine\n"}
    assert sorted(p.name for p in not_a_home.iterdir()) == ["notes.txt"]
    missing = run("apply", plan, "--home", tmp_path / "nowhere")
    assert missing.exit_code == 2
    assert not (tmp_path / "nowhere").exists()


def test_bad_mode_is_refused(home: Path, plan: Path) -> None:
    before = tree_bytes(home)
    result = run("apply", plan, "--home", home, "--mode", "yolo")
    assert result.exit_code == 2
    assert tree_bytes(home) == before


# --- init and schema -------------------------------------------------------------------------


def test_init_then_apply(tmp_path: Path) -> None:
    new_home = tmp_path / "fresh"
    result = run("init", "--home", new_home)
    assert result.exit_code == 0, result.stderr
    assert "created config.toml" in result.stdout
    again = run("init", "--home", new_home)
    assert "nothing to create" in again.stdout
    edits = [
        make_edit(EditOp.SET_AGENT_PARAM, {"agent": "assistant", "param": "max_turns", "value": 9}),
        make_edit(EditOp.SET_MODEL_FOR_QUERY_CLASS, {"query_class": "math", "model": "big"}),
        make_edit(EditOp.EDIT_TOOL_DESCRIPTION, VALID_PAYLOADS[EditOp.EDIT_TOOL_DESCRIPTION]),
    ]
    plan = write_plan(tmp_path / "plan.json", edits)
    applied = run("apply", plan, "--home", new_home)
    assert applied.exit_code == 0, applied.stderr
    assert applied.stdout.count("applied") >= 3
    config = (new_home / "config.toml").read_text()
    assert "max_turns = 9" in config and 'math = "big"' in config


def test_init_uses_specdistill_home_env(tmp_path: Path) -> None:
    result = run("init", env={"SPECDISTILL_HOME": str(tmp_path / "env-home")})
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "env-home" / "config.toml").is_file()


def test_schema_prints_json() -> None:
    result = run("schema")
    assert result.exit_code == 0
    schema = json.loads(result.stdout)
    assert schema["title"] == "specdistill LearningPlan"
    assert "$defs" in schema


# --- the real console script -----------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed here")
def test_console_script_apply_with_colours(home: Path, plan: Path) -> None:
    env = {**os.environ, "FORCE_COLOR": "1", "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    proc = subprocess.run(
        [str(SCRIPT), "apply", str(plan), "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert "\x1b[" in proc.stdout  # coloured
    plain = [line for line in proc.stdout.splitlines() if "+max_turns = 6" in line]
    assert plain and "\x1b[32m" in plain[0]  # an added line is green
    removed = [line for line in proc.stdout.splitlines() if "-max_turns = 4" in line]
    assert removed and "\x1b[31m" in removed[0]  # a removed line is red
    assert "max_turns = 6" in (home / "config.toml").read_text()


@pytest.mark.slow
@pytest.mark.skipif(not SCRIPT.exists(), reason="the console script is not installed here")
def test_console_script_refuses_an_invalid_plan(home: Path, tmp_path: Path) -> None:
    plan, edit_id, field = _invalid_edit_plan(tmp_path / "p.json")
    before = tree_bytes(home)
    env = {**os.environ, "NO_COLOR": "1"}
    proc = subprocess.run(
        [str(SCRIPT), "apply", str(plan), "--home", str(home)],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2
    assert proc.stdout == ""
    line, hint = proc.stderr.strip().splitlines()
    assert edit_id in line and field in line and hint.startswith("hint: ")
    assert tree_bytes(home) == before
