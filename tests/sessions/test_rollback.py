"""Rolling back a recorded session updates its record, not only git."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from session_helpers import gated_home, prompt_edit, record_session, session_json
from specdistill import AutonomyMode
from specdistill.cli import app
from specdistill.sessions.store import SessionStore


def test_rollback_marks_the_session_and_its_reverted_edits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = gated_home(tmp_path / "home", monkeypatch)
    prompt = home / "agents/assistant/system_prompt.md"
    before = prompt.read_bytes()
    record_session(
        home,
        "s-1",
        [prompt_edit("good", "HELP\n"), prompt_edit("bad", "BREAK\n")],
        mode=AutonomyMode.AUTO,
    )
    assert prompt.read_bytes() == b"HELP\n"
    statuses = {o["edit_id"]: o["status"] for o in session_json(home, "s-1")["edit_outcomes"]}
    assert statuses == {"good": "applied", "bad": "rejected_by_gate"}

    result = CliRunner().invoke(app, ["rollback", "s-1", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert prompt.read_bytes() == before
    record = session_json(home, "s-1")
    assert record["status"] == "rolled_back" and record["ended_at"]
    statuses = {o["edit_id"]: o["status"] for o in record["edit_outcomes"]}
    assert statuses == {"good": "rolled_back", "bad": "rejected_by_gate"}
    history = CliRunner().invoke(app, ["history", "--home", str(home), "--json"])
    assert '"rolled_back"' in history.output
    assert "rolled_back" in (home / "learning/sessions/s-1/report.md").read_text()


def git_head(home: Path) -> str:
    import subprocess

    return subprocess.run(
        ["git", "-C", str(home), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_a_corrupt_record_stops_the_rollback_before_anything_is_reverted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = gated_home(tmp_path / "home", monkeypatch)
    record_session(home, "s-1", [prompt_edit("good", "HELP\n")], mode=AutonomyMode.AUTO)
    head = git_head(home)
    (home / "learning/sessions/s-1/session.json").write_text("{")
    result = CliRunner().invoke(app, ["rollback", "s-1", "--home", str(home)])
    assert result.exit_code == 1
    assert "corrupt" in result.output
    assert git_head(home) == head
    assert (home / "agents/assistant/system_prompt.md").read_bytes() == b"HELP\n"


def test_a_session_that_committed_nothing_is_closed_by_rollback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = gated_home(tmp_path / "home", monkeypatch)
    record_session(home, "s-q", [prompt_edit("queued", "HELP\n")], mode=AutonomyMode.TIERED)
    assert session_json(home, "s-q")["status"] == "awaiting_review"
    head = git_head(home)
    result = CliRunner().invoke(app, ["rollback", "s-q", "--home", str(home)])
    assert result.exit_code == 0, result.output
    assert git_head(home) == head
    assert session_json(home, "s-q")["status"] == "rolled_back"
    queue = CliRunner().invoke(app, ["review", "--home", str(home), "--json"])
    assert "queued" not in queue.output


@pytest.mark.parametrize("command", ["approve", "reject"])
def test_a_corrupt_index_stops_approve_and_reject_before_they_act(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str
) -> None:
    home = gated_home(tmp_path / "home", monkeypatch)
    record_session(home, "s-q", [prompt_edit("queued", "HELP\n")], mode=AutonomyMode.TIERED)
    head, record = git_head(home), (home / "learning/sessions/s-q/session.json").read_bytes()
    (home / "learning/learning.db").write_bytes(b"garbage" * 100)
    args = [command, "s-q:queued", "--home", str(home)]
    if command == "reject":
        args += ["--reason", "no"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 1
    assert "doctor --reindex" in result.output
    assert git_head(home) == head
    assert (home / "learning/sessions/s-q/session.json").read_bytes() == record


def test_apply_refuses_a_plan_that_claims_a_recorded_session(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import json

    home = gated_home(tmp_path / "home", monkeypatch)
    record_session(home, "s-1", [prompt_edit("good", "HELP\n")], mode=AutonomyMode.AUTO)
    head = git_head(home)
    plan = {"session_id": "s-1", "edits": [json.loads(prompt_edit("x", "X\n").model_dump_json())]}
    (tmp_path / "plan.json").write_text(json.dumps(plan))
    result = CliRunner().invoke(
        app, ["apply", str(tmp_path / "plan.json"), "--home", str(home), "--mode", "auto"]
    )
    assert result.exit_code == 2 and "recorded session" in result.output
    assert git_head(home) == head


def test_an_approval_that_died_after_its_commit_is_recorded_not_gated_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Simulate the crash window: the commit landed, session.json still says pending."""
    home = gated_home(tmp_path / "home", monkeypatch)
    record_session(home, "s-q", [prompt_edit("queued", "HELP\n")], mode=AutonomyMode.TIERED)
    pending_record = (home / "learning/sessions/s-q/session.json").read_bytes()
    approved = CliRunner().invoke(app, ["approve", "s-q:queued", "--home", str(home)])
    assert approved.exit_code == 0, approved.output
    head = git_head(home)
    # the process "died" before writing the record: put the pending record back
    (home / "learning/sessions/s-q/session.json").write_bytes(pending_record)
    SessionStore(home).reindex()  # the index only ('doctor --reindex' would repair the record)
    doctor = CliRunner().invoke(app, ["doctor", "--home", str(home)])
    assert doctor.exit_code == 1 and "committed" in doctor.output  # doctor sees the gap

    refused = CliRunner().invoke(
        app, ["reject", "s-q:queued", "--reason", "x", "--home", str(home)]
    )
    assert refused.exit_code == 2 and "already in the spec" in refused.output
    again = CliRunner().invoke(app, ["approve", "s-q:queued", "--home", str(home)])
    assert again.exit_code == 0, again.output
    assert "recovered" in again.output
    assert git_head(home) == head  # no second commit, no second gate
    assert {o["edit_id"]: o["status"] for o in session_json(home, "s-q")["edit_outcomes"]} == {
        "queued": "applied"
    }
