"""specdistill.commands called directly, as a script would: typed results on real homes;
and the CLI's import stays light (no teacher, evaluation, HTTP or asyncio stack)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest

from checkpoint_helpers import isolate_git
from conftest import tree_bytes
from session_helpers import gated_home, prompt_edit, record_session
from specdistill import (
    ApplyReport,
    AutonomyMode,
    Edit,
    EditOp,
    History,
    InitResult,
    InvalidInput,
    LearningPlan,
    RollbackReport,
    SessionRun,
    SessionView,
    commands,
)
from specdistill.checkpoint import LogEntry


def max_turns_edit(value: int) -> Edit:
    return Edit(
        id=f"turns-{value}",
        pillar="agent",
        op=EditOp.SET_AGENT_PARAM,
        payload={"agent": "assistant", "param": "max_turns", "value": value},
        expected_improvement="math",
    )


def test_init_apply_log_rollback_on_a_new_home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    root = tmp_path / "home"
    made = commands.init(root)
    assert isinstance(made, InitResult)
    assert made.home == root and root / "config.toml" in made.created
    assert any("baseline" in note for note in made.notes), made.notes
    assert commands.init(root).created == []  # existing files are left alone
    pristine = tree_bytes(root / "agents") | {"config.toml": (root / "config.toml").read_bytes()}

    plan = LearningPlan(edits=[max_turns_edit(6)])
    report = commands.apply_plan(plan, root, mode="auto", checkpoint=True)
    assert isinstance(report, ApplyReport)
    assert [o.status for o in report.outcomes] == ["applied"]
    assert "max_turns = 6" in (root / "config.toml").read_text()
    assert set(report.commits) == {"turns-6"}

    entries = commands.log(root)
    assert all(isinstance(entry, LogEntry) for entry in entries)
    newest = entries[0]
    assert (newest.kind, newest.edit_id, newest.session_id) == (
        "edit",
        "turns-6",
        report.session_id,
    )
    assert len(commands.log(root, limit=1)) == 1

    with pytest.raises(InvalidInput, match="either a SESSION_ID or --last"):
        commands.rollback(root)
    undone = commands.rollback(root, last=True)
    assert isinstance(undone, RollbackReport)
    assert undone.session_id == report.session_id
    assert [entry.edit_id for entry in undone.reverted] == ["turns-6"]
    restored = tree_bytes(root / "agents") | {"config.toml": (root / "config.toml").read_bytes()}
    assert restored == pristine
    assert commands.recover(root) == []  # nothing was interrupted


def test_apply_plan_reads_a_plan_file_and_refuses_a_non_home(tmp_path: Path) -> None:
    plan_file = tmp_path / "plan.json"
    plan_file.write_text(LearningPlan(edits=[max_turns_edit(7)]).model_dump_json())
    with pytest.raises(InvalidInput, match="is not a spec home"):
        commands.apply_plan(plan_file, tmp_path / "nowhere")
    with pytest.raises(InvalidInput, match="is not a spec home"):
        commands.log(tmp_path / "nowhere")


def test_run_session_history_and_show_tell_the_same_story(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = gated_home(tmp_path / "home", monkeypatch)
    record_session(home, "20260101-120000-aaaaaa", [prompt_edit("queued", "HELP\n")])
    run = commands.run_session(
        home, plan=LearningPlan(edits=[prompt_edit("good", "HELP\n")]), mode="auto", gate="off"
    )
    assert isinstance(run, SessionRun)
    assert run.plan_error is None and run.interrupted_by is None
    assert [o.status for o in run.session.edit_outcomes] == ["applied"]
    assert set(run.edits) == {"good"} and run.report is not None and run.report.exists()
    with pytest.raises(InvalidInput, match="use one or the other"):
        commands.run_session(home, plan=LearningPlan(), rounds=2)

    listed = commands.history(home)
    assert isinstance(listed, History) and listed.unreadable == []
    assert [s.id for s in listed.sessions] == [run.session.id, "20260101-120000-aaaaaa"]
    assert len(commands.history(home, limit=1).entries) == 1

    view = commands.show(home, session_id=run.session.id)
    assert isinstance(view, SessionView)
    session_file = home / "learning/sessions" / run.session.id / "session.json"
    assert view.record == session_file.read_text()
    assert [row.status for row in view.facts.edits] == ["applied"]
    assert [entry.edit_id for entry in view.commits] == ["good"]

    [queued] = commands.review(home)
    assert queued.item.queue_id == "20260101-120000-aaaaaa:queued"
    rejected = commands.reject(home, queue_id=queued.item.queue_id, reason="not now")
    assert rejected.outcome.status == "rejected_by_user"
    assert commands.review(home) == []


def test_the_cli_mode_choices_are_the_autonomy_modes() -> None:
    from specdistill.cli.app import AutonomyModeName

    assert get_args(AutonomyModeName) == tuple(mode.value for mode in AutonomyMode)


def test_the_cli_imports_no_teacher_evaluation_http_or_asyncio() -> None:
    heavy = ("httpx", "specdistill.teacher", "specdistill.evaluation", "asyncio", "pydantic")
    # nor the review page's web stack (``specdistill view`` imports it when it runs)
    heavy += ("starlette", "uvicorn", "jinja2", "specdistill.web")
    code = (
        "import specdistill.cli, sys; "
        f"print(sorted(m for m in sys.modules if m.startswith({heavy!r})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]", proc.stdout


def test_commit_diff_shows_a_specdistill_commit_and_refuses_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from specdistill.example.quickstart import run_quickstart

    isolate_git(monkeypatch, tmp_path)
    home = run_quickstart(tmp_path / "demo", notify=None).home
    edit = next(e for e in commands.log(home) if e.edit_id == "e2-route-geo-big")
    diff = commands.commit_diff(home, commit=edit.commit)
    assert "--- a/config.toml" in diff and '\n+geo = "big-model"' in diff
    assert "tools/descriptions.toml" not in diff  # that was e1's commit, not this one
    with pytest.raises(InvalidInput, match="is not a commit specdistill wrote"):
        commands.commit_diff(home, commit="HEAD~1")
