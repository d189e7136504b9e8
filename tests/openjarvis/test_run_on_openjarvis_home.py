"""``specdistill run`` on an OpenJarvis home without ``--traces``: it reads the home's
``traces.db`` (and says so), derives query classes the way OpenJarvis does, diagnoses
with a scripted loopback teacher, and applies the teacher's edit to a built-in tool
OpenJarvis's ``jarvis init`` left without a ``descriptions.toml``. The student is a real
Python student reading the home; the benchmark is built from the same traces.db."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from checkpoint_helpers import isolate_git
from openjarvis_helpers import copy_home
from specdistill.checkpoint import init_checkpoints
from specdistill.cli import app
from specdistill.models import SessionStatus
from specdistill.sessions.store import SessionStore
from specdistill.teacher import SharePolicy, TraceThresholds, build_sample, load_traces
from teacher_helpers import TeacherServer, teacher_server

runner = CliRunner()

CONFIG = """
[specdistill.student]
kind = "python"
function = "openjarvis_helpers:calculator_student"

[specdistill.teacher]
base_url = "{url}"
model = "teacher-model"
max_tokens = 1000
max_attempts = 1
"""

EDIT = {
    "id": "e1", "pillar": "tools", "op": "edit_tool_description",
    "target": "tools.calculator", "expected_improvement": "math",
    "payload": {"tool_name": "calculator",
                "new_description": "Evaluates arithmetic exactly; use it for every sum."},
    "rationale": "The student does arithmetic in its head.",
}  # fmt: skip


@pytest.fixture
def server() -> Iterator[TeacherServer]:
    with teacher_server() as running:
        yield running


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, server: TeacherServer) -> Path:
    isolate_git(monkeypatch, tmp_path)
    monkeypatch.delenv("SPECDISTILL_HOME", raising=False)
    root = copy_home(tmp_path / ".openjarvis")
    with (root / "config.toml").open("a") as config:
        config.write(CONFIG.format(url=server.base_url))
    built = runner.invoke(
        app, ["benchmark", "build", "--traces", str(root / "traces.db"), "--home", str(root)]
    )
    assert built.exit_code == 0, built.output
    init_checkpoints(root)
    return root


def test_run_without_traces_uses_the_openjarvis_traces_db(
    home: Path, server: TeacherServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    traces = load_traces(home / "traces.db")
    aliases = {
        trace_id: alias
        for alias, trace_id in build_sample(
            traces, SharePolicy(), TraceThresholds()
        ).aliases.items()
    }
    server.add(
        "diagnose",
        {
            "summary": "arithmetic without the calculator",
            "clusters": [
                {"cluster": "math", "description": "products off by one",
                 "sample_trace_ids": [aliases["t-003"], aliases["t-004"]],
                 "skill_gap": "does not trust the calculator"},
            ],
        },
    )  # fmt: skip
    server.add("plan", {"edits": [EDIT]})
    # $OPENJARVIS_HOME names the home, as it does for OpenJarvis itself.
    monkeypatch.setenv("OPENJARVIS_HOME", str(home))
    result = runner.invoke(app, ["run", "--gate", "off"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert f"using the OpenJarvis traces database {home / 'traces.db'}" in result.output
    [summary] = [s for s in SessionStore(home).list() if not s.id.startswith("session-")]
    session = SessionStore(home).load(summary.id)
    assert session.status is SessionStatus.COMPLETED, session.error
    assert [(o.edit_id, o.status) for o in session.edit_outcomes] == [("e1", "applied")]
    assert session.trigger_metadata["traces"] == str(home / "traces.db")
    before, after = session.benchmark_before, session.benchmark_after
    assert before is not None and after is not None
    assert before.cluster_scores["math"] == 0.0 and after.cluster_scores["math"] == 1.0
    assert "exactly" in (home / "tools" / "descriptions.toml").read_text()
    plan = json.loads((SessionStore(home).session_dir(session.id) / "plan.json").read_text())
    assert plan["teacher_model"] == "teacher-model"
    assert plan["failure_clusters"][0]["addressed_by_edit_ids"] == ["e1"]


def test_run_on_a_home_without_traces_says_how_to_give_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    isolate_git(monkeypatch, tmp_path)
    root = copy_home(tmp_path / ".openjarvis")
    (root / "traces.db").unlink()
    result = runner.invoke(app, ["run", "--home", str(root)])
    assert result.exit_code == 2
    assert "no traces: pass --traces FILE" in result.output
    assert "OpenJarvis traces database" not in result.output
