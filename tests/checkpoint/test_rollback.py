"""Rolling back sessions in real git repositories: exact bytes, new commits only,
refusal (with nothing changed) when a later session changed the same lines."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoint_helpers import (
    commit_count,
    describe_calculator,
    few_shot,
    git,
    head,
    max_turns,
    plan,
    replace_prompt,
    spec_bytes,
    status,
    temperature,
    trailers,
)
from specdistill import EditOp
from specdistill.apply import apply_plan
from specdistill.checkpoint import CheckpointStore, rollback_session
from specdistill.cli import app
from specdistill.errors import CheckpointError


def _apply(home: Path, session_id: str, *edits) -> dict[str, str]:
    report = apply_plan(plan(*edits, session_id=session_id), home, checkpoint=True, mode="auto")
    assert all(o.status == "applied" for o in report.outcomes), report.outcomes
    return report.commits


def test_rollback_restores_the_exact_bytes_with_new_commits(home: Path) -> None:
    before = spec_bytes(home)
    commits = _apply(
        home,
        "s-a",
        temperature(0.0, id="a1"),
        replace_prompt("Be brief.\nNo filler.", id="a2"),  # no final newline, on purpose
        few_shot([("2+2?", "4"), ("ünïcode", "ok")], id="a3"),
        describe_calculator('Exact "math".\nMultiline.', id="a4"),
        max_turns(6, id="a5"),
    )
    applied_head = head(home)
    assert spec_bytes(home) != before

    report = rollback_session(home, "s-a", notify=None)
    assert spec_bytes(home) == before
    assert [e.edit_id for e in report.reverted] == ["a5", "a4", "a3", "a2", "a1"]
    assert status(home) == ""
    # history is appended to, never rewritten
    assert git(home, "merge-base", "--is-ancestor", applied_head, "HEAD", check=False) == ""
    assert git(home, "rev-list", f"{applied_head}..HEAD").split() == report.commits[::-1]
    newest = trailers(home)
    assert newest["Reverts-Edit-ID"] == "a1"
    assert newest["Reverts-Commit"] == commits["a1"]
    assert newest["Session-ID"] == "s-a" and newest["Op"] == "set_model_param"
    assert newest["Rollback-ID"] == report.rollback_id
    # the session's commits are all still there, and the log shows the reverts
    kinds = [e.kind for e in CheckpointStore(home).log()]
    assert kinds == ["revert"] * 5 + ["edit"] * 5 + ["baseline"]


def test_rollback_last_and_already_rolled_back(home: Path) -> None:
    _apply(home, "s-old", temperature(0.0, id="o1"))
    after_old = spec_bytes(home)
    _apply(home, "s-new", max_turns(9, id="n1"))
    result = CliRunner().invoke(app, ["rollback", "--last", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert "rolled back session s-new" in result.output
    assert spec_bytes(home) == after_old
    again = CliRunner().invoke(app, ["rollback", "--last", "--home", str(home)])
    assert again.exit_code == 1
    assert "already rolled back" in again.output


def test_rollback_refuses_when_a_later_session_changed_the_same_lines(home: Path) -> None:
    before = spec_bytes(home)
    _apply(home, "s-a", temperature(0.0, id="a1"), max_turns(5, id="a2"))
    after_a = spec_bytes(home)
    _apply(home, "s-b", temperature(0.9, id="b1"))
    state = (head(home), spec_bytes(home), git(home, "ls-files", "-s"), commit_count(home))

    with pytest.raises(CheckpointError) as caught:
        rollback_session(home, "s-a", notify=None)
    message = caught.value.message
    assert "cannot roll back session 's-a'" in message
    assert "session 's-b'" in message and "config.toml" in message
    assert "specdistill rollback s-b" in (caught.value.hint or "")
    # nothing moved: HEAD, work tree, index, history
    assert (head(home), spec_bytes(home), git(home, "ls-files", "-s"), commit_count(home)) == state
    assert status(home) == ""

    rollback_session(home, "s-b", notify=None)
    assert spec_bytes(home) == after_a
    rollback_session(home, "s-a", notify=None)
    assert spec_bytes(home) == before


def test_rollback_keeps_a_later_sessions_unrelated_changes(home: Path) -> None:
    before = spec_bytes(home)
    _apply(home, "s-a", describe_calculator("Do math.", id="a1"))
    _apply(home, "s-b", replace_prompt("Later prompt.\n", id="b1"))
    b_prompt = (home / "agents/assistant/system_prompt.md").read_bytes()
    rollback_session(home, "s-a", notify=None)
    assert (home / "tools/descriptions.toml").read_bytes() == before["tools/descriptions.toml"]
    assert (home / "agents/assistant/system_prompt.md").read_bytes() == b_prompt


def test_rollback_refusal_names_a_manual_commit_too(home: Path) -> None:
    _apply(home, "s-a", temperature(0.0, id="a1"))
    text = (home / "config.toml").read_text().replace("temperature = 0.0", "temperature = 0.7")
    (home / "config.toml").write_text(text)
    git(home, "commit", "-qam", "my own tweak")
    with pytest.raises(CheckpointError) as caught:
        rollback_session(home, "s-a", notify=None)
    assert "not made by specdistill" in caught.value.message
    assert "my own tweak" in caught.value.message


def test_rollback_of_an_unknown_session_or_a_dirty_spec_is_refused(home: Path) -> None:
    with pytest.raises(CheckpointError, match="no commits"):
        rollback_session(home, "nope", notify=None)
    with pytest.raises(CheckpointError, match="no session to roll back"):
        rollback_session(home, last=True, notify=None)
    _apply(home, "s-a", temperature(0.0, id="a1"))
    (home / "config.toml").write_text((home / "config.toml").read_text() + "# hand edit\n")
    with pytest.raises(CheckpointError, match="uncommitted changes"):
        rollback_session(home, "s-a", notify=None)


def test_rollback_of_empty_and_file_creating_commits(home: Path) -> None:
    from checkpoint_helpers import edit

    before = spec_bytes(home)
    (home / "agents/assistant/few_shot.json").unlink()
    git(home, "commit", "-qam", "no exemplars")
    no_few_shot = spec_bytes(home)
    _apply(
        home,
        "s-a",
        edit(EditOp.ADD_TOOL_TO_AGENT, {"agent": "assistant", "tool_name": "calculator"}),
        few_shot([("q", "a")], id="creates-file"),
    )
    assert (home / "agents/assistant/few_shot.json").exists()
    rollback_session(home, "s-a", notify=None)
    assert spec_bytes(home) == no_few_shot != before
    assert status(home) == ""


def test_cli_rollback_needs_exactly_one_target(home: Path) -> None:
    none = CliRunner().invoke(app, ["rollback", "--home", str(home)])
    both = CliRunner().invoke(app, ["rollback", "s", "--last", "--home", str(home)])
    assert none.exit_code == both.exit_code == 2
    assert "SESSION_ID or --last" in none.output
