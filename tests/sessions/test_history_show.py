"""``history``, ``show`` and ``doctor`` through the CLI, on real sessions.

``show --json`` is exactly ``session.json``; ``history --json`` is those records; the
human output carries the same facts. Damaged state (a missing or corrupt
``session.json``, a corrupt ``learning.db``, an unknown id) is one clear error and
changes nothing; ``doctor --reindex`` repairs the index.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from conftest import tree_bytes
from session_helpers import (
    gated_home,
    prompt_edit,
    record_session,
    session_json,
    temperature_edit,
)
from specdistill import AutonomyMode
from specdistill.checkpoint import CheckpointStore
from specdistill.checkpoint.journal import Journal, JournalEntry
from specdistill.cli import app
from specdistill.home import SpecHome

AUTO_SID = "20260101-120000-aaaaaa"
TIERED_SID = "20260102-120000-bbbbbb"


def cli(home: Path, *args: str):
    # Wide enough for the tables (at 80 columns they become lists: tests/cli/test_output.py)
    return CliRunner().invoke(app, [*args, "--home", str(home)], env={"COLUMNS": "200"})


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Two sessions: an auto one (an edit kept, two rejected) and a tiered one (queued)."""
    root = gated_home(tmp_path / "home", monkeypatch)
    edits = [
        prompt_edit("good", "HELP\n"),
        prompt_edit("harmful", "HELP BREAK\n"),
        temperature_edit("cooler"),
    ]
    record_session(root, AUTO_SID, edits, mode=AutonomyMode.AUTO)
    record_session(root, TIERED_SID, [prompt_edit("more", "HELP more\n")])
    return root


def session_path(home: Path, session_id: str) -> Path:
    return home / "learning/sessions" / session_id / "session.json"


def test_show_json_is_exactly_session_json(home: Path) -> None:
    for sid in (AUTO_SID, TIERED_SID):
        result = cli(home, "show", sid, "--json")
        assert result.exit_code == 0, result.output
        assert result.output == session_path(home, sid).read_text()


def test_show_prints_the_facts_of_session_json(home: Path) -> None:
    data = session_json(home, AUTO_SID)
    result = cli(home, "show", AUTO_SID)
    assert result.exit_code == 0, result.output
    text = result.output
    assert data["status"] == "completed"
    for fact in (
        f"status: {data['status']}",
        f"trigger: {data['trigger']}",
        f"mode: {data['autonomy_mode']}",
        f"checkpoint before: {data['git_checkpoint_pre']}",
        f"checkpoint after: {data['git_checkpoint_post']}",
        f"teacher cost: ${data['teacher_cost_usd']:.4f}",
    ):
        assert fact in text
    for cluster, before in data["benchmark_before"]["cluster_scores"].items():
        after = data["benchmark_after"]["cluster_scores"][cluster]
        assert f"{before:.3f}" in text and f"{after:.3f}" in text and cluster in text
    statuses = [(o["edit_id"], o["status"]) for o in data["edit_outcomes"]]
    assert statuses == [
        ("good", "applied"),
        ("harmful", "rejected_by_gate"),
        ("cooler", "rejected_by_gate"),
    ]
    for o in data["edit_outcomes"]:
        row = next(line for line in text.splitlines() if line.startswith(f"│ {o['edit_id']} "))
        assert o["status"] in row and f"{o['benchmark_delta']:+.3f}" in row
        if o["error"]:
            assert f"  {o['edit_id']}: {o['error']}" in text  # the reason, in full
    # The session's commits, from git: exactly the kept edit's.
    commits = [e for e in CheckpointStore(home).log() if e.session_id == AUTO_SID]
    assert [e.edit_id for e in commits] == ["good"]
    assert f"{commits[0].short} edit replace_system_prompt" in text


def test_history_json_is_the_session_records_newest_first(home: Path) -> None:
    result = cli(home, "history", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.output)
    assert listed == [session_json(home, TIERED_SID), session_json(home, AUTO_SID)]
    limited = json.loads(cli(home, "history", "--limit", "1", "--json").output)
    assert [s["id"] for s in limited] == [TIERED_SID]
    human = cli(home, "history").output
    for sid, status, summary in (
        (AUTO_SID, "completed", "1 applied, 2 gate-rejected"),
        (TIERED_SID, "awaiting_review", "1 queued"),
    ):
        row = next(line for line in human.splitlines() if sid in line)
        assert status in row and summary.split(",")[0] in row


@pytest.mark.parametrize(
    ("damage", "command", "code", "message"),
    [
        ("missing", "show", 1, f"session {AUTO_SID}: session.json is missing"),
        ("corrupt", "show", 1, "is corrupt"),
        ("missing", "history", 1, "session.json is missing"),
        ("corrupt", "review", 1, "is corrupt"),
        ("unknown", "show", 2, "no session '20991231-000000-ffffff'"),
    ],
    ids=["show-missing", "show-corrupt", "history-missing", "review-corrupt", "show-unknown"],
)
def test_a_damaged_or_unknown_session_is_one_clear_error_and_changes_nothing(
    home: Path, damage: str, command: str, code: int, message: str
) -> None:
    sid = AUTO_SID
    if damage == "missing":
        session_path(home, sid).unlink()
    elif damage == "corrupt":
        session_path(home, TIERED_SID).write_text('{"id": "x", "status": "exploded"}')
        sid = TIERED_SID
    else:
        sid = "20991231-000000-ffffff"
    before = tree_bytes(home)
    args = [command, sid] if command == "show" else [command]
    result = cli(home, *args)
    assert result.exit_code == code, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and message in errors[0], result.output
    assert tree_bytes(home) == before


def test_a_corrupt_index_points_to_doctor_reindex_which_fixes_it(home: Path) -> None:
    db = home / "learning/learning.db"
    db.write_bytes(b"not a database at all " * 200)
    before = tree_bytes(home)
    for args in (["history"], ["review"], ["approve", "more"]):
        result = cli(home, *args)
        assert result.exit_code == 1, result.output
        assert "cannot be used" in result.output and "doctor --reindex" in result.output
    assert tree_bytes(home) == before

    checked = cli(home, "doctor")
    assert checked.exit_code == 1 and "error index" in checked.output
    # A corrupt session on top: reindex skips it and says so.
    session_path(home, AUTO_SID).write_text("{not json")
    fixed = cli(home, "doctor", "--reindex", "--json")
    report = json.loads(fixed.output)
    assert report["reindexed"] == 1 and AUTO_SID in report["skipped"][0]
    assert [s["id"] for s in json.loads(cli(home, "history", "--json").output)] == [TIERED_SID]


def test_an_emptied_index_is_reported_not_shown_as_no_sessions(home: Path) -> None:
    index = home / "learning/learning.db"
    with sqlite3.connect(index) as db:
        db.execute("DELETE FROM edit_outcomes")
        db.execute("DELETE FROM sessions")
    db.close()
    result = cli(home, "history")
    assert result.exit_code == 1 and "doctor --reindex" in result.output
    assert cli(home, "doctor", "--reindex").exit_code == 0
    assert len(json.loads(cli(home, "history", "--json").output)) == 2


def test_a_missing_index_is_built_from_the_session_files(home: Path) -> None:
    # As on a home OpenJarvis wrote: session files, no learning.db.
    (home / "learning/learning.db").unlink()
    listed = json.loads(cli(home, "history", "--json").output)
    assert [s["id"] for s in listed] == [TIERED_SID, AUTO_SID]
    assert (home / "learning/learning.db").is_file()
    assert cli(home, "doctor").exit_code == 0


def test_doctor_reports_a_clean_home_and_an_interrupted_operation(home: Path) -> None:
    result = cli(home, "doctor")
    assert result.exit_code == 0, result.output
    for name in ("config", "repository", "index", "sessions", "lock", "journal"):
        assert f"ok {name}" in result.output
    Journal(SpecHome(home)).write(
        JournalEntry(kind="edit", label="e9", head=None, marker={"edit_id": "e9"}, files=())
    )
    warned = json.loads(cli(home, "doctor", "--json").output)
    journal = next(c for c in warned["checks"] if c["name"] == "journal")
    assert journal["level"] == "warn" and "specdistill recover" in journal["hint"]
    (home / "config.toml").write_text("[broken\n")
    broken = cli(home, "doctor")
    assert broken.exit_code == 1 and "error config: config.toml is not valid TOML" in broken.output
