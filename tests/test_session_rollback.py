"""Rolling back a recorded session updates its record, not only git."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from session_helpers import gated_home, prompt_edit, record_session, session_json
from specdistill import AutonomyMode
from specdistill.cli import app


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
