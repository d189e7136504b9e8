"""The CLI on an OpenJarvis home and the files OpenJarvis wrote (fixtures: FIXTURES.md):
``show``, ``review``, ``history``, ``doctor``, ``apply``, ``traces check`` and
``benchmark build``, as an OpenJarvis user would run them. Real files, real SQLite, real
git; nothing mocked."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

from typer.testing import CliRunner

from openjarvis_helpers import PLAN, SESSION_ID, STOPPED_SESSION_ID
from run_helpers import spec_bytes
from specdistill.cli import app
from specdistill.evaluation.benchmark import load_benchmark

runner = CliRunner()
ENV = {"COLUMNS": "250"}


def invoke(*args: str) -> tuple[int, str]:
    result = runner.invoke(app, list(args), env=ENV)
    return result.exit_code, result.output


def test_show_prints_every_op_and_tier_of_an_openjarvis_session(oj_home: Path) -> None:
    code, output = invoke("show", SESSION_ID, "--home", str(oj_home))
    assert code == 0, output
    for op in ("edit_tool_description", "add_tool_to_agent", "set_agent_param",
               "set_model_for_query_class", "replace_system_prompt"):  # fmt: skip
        assert op in output
    assert "?" not in output.replace("(?", "")  # no op or tier left unknown
    assert "awaiting_review" in output and "cluster" in output


def test_show_json_keeps_openjarvis_fields(oj_home: Path) -> None:
    code, output = invoke("show", SESSION_ID, "--home", str(oj_home), "--json")
    assert code == 0, output
    shown = json.loads(output)
    written = json.loads((oj_home / PLAN).with_name("session.json").read_text())
    for key in ("trigger", "diagnosis_path", "plan_path", "git_checkpoint_pre", "status"):
        assert shown[key] == written[key], key


def test_review_lists_the_edit_openjarvis_queued(oj_home: Path) -> None:
    code, output = invoke("review", "--home", str(oj_home))
    assert code == 0, output
    assert f"{SESSION_ID}:edit-005" in output
    assert "replace_system_prompt" in output
    # The queue id resolves: its preview is the prompt it would write.
    code, output = invoke("review", "show", f"{SESSION_ID}:edit-005", "--home", str(oj_home))
    assert code == 0, output
    assert "Use the calculator for any arithmetic." in output


def test_history_lists_the_openjarvis_session(oj_home: Path) -> None:
    code, output = invoke("history", "--home", str(oj_home))
    assert code == 0, output
    assert SESSION_ID in output


def test_doctor_notes_the_folder_of_a_session_openjarvis_stopped_early(oj_home: Path) -> None:
    code, output = invoke("doctor", "--home", str(oj_home), "--json")
    report = json.loads(output)
    levels = {c["level"] for c in report["checks"]}
    notes = [c for c in report["checks"] if c["level"] == "note"]
    assert [STOPPED_SESSION_ID in c["detail"] for c in notes] == [True], report
    assert "error" not in levels, report
    assert code == 0, output
    # A folder of ours without its record is still an error.
    (oj_home / "learning" / "sessions" / "20260101-000000-abcdef").mkdir()
    code, output = invoke("doctor", "--home", str(oj_home), "--json")
    assert code == 1
    errors = [c for c in json.loads(output)["checks"] if c["level"] == "error"]
    assert any("20260101-000000-abcdef" in c["detail"] for c in errors)


def fresh(oj_home: Path) -> Path:
    """The home as ``jarvis init`` left it (no learning/), and OpenJarvis's plan beside it."""
    plan = oj_home.parent / "plan.json"
    shutil.copy(oj_home / PLAN, plan)
    shutil.rmtree(oj_home / "learning")
    return plan


def test_apply_an_openjarvis_plan_on_a_fresh_openjarvis_home(oj_home: Path) -> None:
    config_before = (oj_home / "config.toml").read_text()
    assert not (oj_home / "tools").exists()
    code, output = invoke("apply", str(fresh(oj_home)), "--home", str(oj_home))
    assert code == 0, output
    # The built-in calculator is described although no descriptions.toml existed.
    descriptions = tomllib.loads((oj_home / "tools" / "descriptions.toml").read_text())
    assert descriptions["calculator"]["description"].startswith("Evaluate arithmetic exactly")
    # [agent.orchestrator] is created for the default agent; [agent]'s keys stay.
    config = tomllib.loads((oj_home / "config.toml").read_text())
    assert config["agent"]["orchestrator"] == {"tools": ["calculator"], "max_turns": 6}
    assert config["agent"]["default_agent"] == "orchestrator"
    assert config["agent"]["max_turns"] == 10
    assert config["learning"]["routing"]["policy_map"] == {"math": "qwen3:8b"}
    # The user's comments survive; the new table sits after [agent], laid out as by hand.
    text = (oj_home / "config.toml").read_text()
    new_table = '[agent.orchestrator]\ntools = ["calculator"]\nmax_turns = 6\n\n[tools]\n'
    assert "context_from_memory = true\n\n" + new_table in text
    assert text.startswith(config_before.split("[engine]")[0])
    # The review-tier prompt edit waits; the prompt is unchanged.
    assert "edit-005" in output
    prompt = (oj_home / "agents" / "orchestrator" / "system_prompt.md").read_text()
    assert "calculator" not in prompt


def test_apply_refuses_an_unknown_tool_and_agent_and_writes_nothing(oj_home: Path) -> None:
    path = fresh(oj_home)
    plan = json.loads(path.read_text())
    tool = {"agent": "orchestrator", "tool_name": "ghost_tool"}
    agent = {"agent": "nobody", "param": "max_turns", "value": 3}
    before = spec_bytes(oj_home)
    for edit, payload, expected in [
        (plan["edits"][1], tool, "unknown tool 'ghost_tool'"),
        (plan["edits"][2], agent, "unknown agent 'nobody' (known agents: orchestrator;"),
    ]:
        path.write_text(json.dumps(plan | {"edits": [edit | {"payload": payload}]}))
        code, output = invoke("apply", str(path), "--home", str(oj_home), "--no-checkpoint")
        assert code == 2 and expected in output, output
        # Agents are listed, not [agent]'s scalar keys.
        assert "default_agent," not in output and "max_turns," not in output
        assert spec_bytes(oj_home) == before


def test_traces_check_on_openjarvis_traces_db_has_query_classes(oj_home: Path) -> None:
    code, output = invoke(
        "traces", "check", "--traces", str(oj_home / "traces.db"), "--home", str(oj_home), "--json"
    )
    assert code == 0, output
    report = json.loads(output)
    assert report["total"] == 24
    classes = {name: row["total"] for name, row in report["by_query_class"].items()}
    assert classes == {"code": 4, "general": 6, "math": 7, "short": 7}


def test_benchmark_build_from_openjarvis_traces_db_has_clusters(oj_home: Path) -> None:
    out = oj_home.parent / "benchmark.jsonl"
    code, output = invoke(
        "benchmark", "build", "--traces", str(oj_home / "traces.db"),
        "--home", str(oj_home), "--out", str(out),
    )  # fmt: skip
    assert code == 0, output
    benchmark = load_benchmark(out)
    clusters = {task.cluster for task in benchmark.tasks}
    assert clusters == {"math", "short", "code", "general"}
    assert all(task.query_class == task.cluster for task in benchmark.tasks)
