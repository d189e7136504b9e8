"""The README's tour, as a test, on the quickstart home: review, approve (through the
gate), reject, history/show agreeing with session.json, and a rollback of the whole
session back to the example's starting bytes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoint_helpers import isolate_git
from run_helpers import example_spec_bytes
from specdistill.cli import app
from specdistill.example.quickstart import run_quickstart

runner = CliRunner()


def cli(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def spec_files(home: Path) -> dict[str, bytes]:
    return {
        path.relative_to(home).as_posix(): path.read_bytes()
        for top in ("config.toml", "agents", "tools")
        for path in ([home / top] if (home / top).is_file() else (home / top).rglob("*"))
        if path.is_file()
    }


def test_the_tour(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    isolate_git(monkeypatch, tmp_path)
    result = run_quickstart(tmp_path / "demo", notify=None)
    home, sid = result.home, result.session.id
    h = ["--home", str(home)]

    queue = json.loads(cli("review", *h, "--json"))
    ids = sorted(item["id"] for item in queue)
    assert ids == [f"{sid}:e6-concise-prompt", f"{sid}:e7-terse-examples"]

    prompt = home / "agents/assistant/system_prompt.md"
    before_approve = prompt.read_bytes()
    approved = cli("approve", f"{sid}:e6-concise-prompt", *h)
    assert "applied" in approved
    assert prompt.read_bytes() != before_approve  # the gate kept it: the prompt changed
    cli("reject", "e7-terse-examples", "--reason", "the prompt fix covers it", *h)
    assert json.loads(cli("review", *h, "--json")) == []

    record = json.loads((result.session_dir / "session.json").read_text())
    statuses = {o["edit_id"]: o["status"] for o in record["edit_outcomes"]}
    assert statuses["e6-concise-prompt"] == "applied"
    assert statuses["e7-terse-examples"] == "rejected_by_user"
    assert record["status"] == "completed"
    # show --json is session.json; history lists the same session and status
    assert json.loads(cli("show", sid, *h, "--json")) == record
    [listed] = json.loads(cli("history", *h, "--json"))
    assert listed["id"] == sid and listed["status"] == "completed"
    human = cli("show", sid, *h)
    for outcome in record["edit_outcomes"]:
        assert outcome["edit_id"] in human

    cli("rollback", sid, *h)
    assert spec_files(home) == example_spec_bytes()
    assert json.loads(cli("show", sid, *h, "--json"))["status"] == "rolled_back"
