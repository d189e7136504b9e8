"""The plan screen (``specdistill.screen``): one check of every edit against the home and
the benchmark, before any student run and before a session exists, used by ``run``,
``apply``, ``approve`` and the teacher. Real homes, a real ``command`` student that
leaves a mark when it runs, real subprocesses of the console script."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from checkpoint_helpers import isolate_git
from specdistill import commands
from specdistill.errors import InvalidEdit
from specdistill.evaluation.settings import student_from_config
from specdistill.models import LearningPlan
from specdistill.plan import parse_plan, plan_json_schema
from specdistill.screen import Reach, screen_plan
from specdistill.teacher.plan import screen_edits

CONFIG = """\
[agent.assistant]
class = "simple"
tools = ["calculator"]
max_turns = 4
temperature = 0.2

[learning.routing.policy_map]
general = "small-model"

[models."small-model"]
temperature = 0.2
max_tokens = 512

[specdistill.student]
kind = "command"
argv = ["{python}", "agent.py"]
fingerprint_scope = "view"
"""
TOOLS = """\
[calculator]
description = "Evaluate an arithmetic expression."

[web_search]
description = "Search the web."
"""
#: Answers 4 to everything, and leaves a mark in ran.txt each time it runs.
AGENT = """\
import json, sys
json.load(sys.stdin)
with open("ran.txt", "a") as mark:
    mark.write("ran\\n")
print("4")
"""


def make_home(root: Path) -> Path:
    (root / "agents" / "assistant").mkdir(parents=True)
    (root / "tools").mkdir()
    (root / "config.toml").write_text(CONFIG.replace("{python}", sys.executable))
    (root / "tools" / "descriptions.toml").write_text(TOOLS)
    (root / "agents" / "assistant" / "system_prompt.md").write_text("Answer.\n")
    (root / "agent.py").write_text(AGENT)
    tasks = [
        {"id": f"t{i}", "input": "2+2?", "cluster": "arithmetic", "reference": "4",
         "scorer": "exact"}
        for i in range(4)
    ]  # fmt: skip
    (root / "benchmark.jsonl").write_text("".join(json.dumps(t) + "\n" for t in tasks))
    return root


def edit(op: str, payload: dict[str, Any], **extra: Any) -> dict[str, Any]:
    pillars = {"set_model_param": "intelligence", "add_tool_to_agent": "tools",
               "remove_tool_from_agent": "tools"}  # fmt: skip
    pillar = extra.pop("pillar", pillars.get(op, "agent"))
    return {"id": extra.pop("id", "e1"), "pillar": pillar, "op": op, "payload": payload,
            "expected_improvement": "arithmetic", **extra}  # fmt: skip


GOOD = edit("set_model_param", {"model": "small-model", "param": "max_tokens", "value": 256},
            id="good")  # fmt: skip

# (id, the bad edit, the field named, a part of the one-line reason)
BAD: list[tuple[str, dict[str, Any], str, str]] = [
    ("no-target-cluster", {**GOOD, "id": "bad", "expected_improvement": ""},
     "expected_improvement", "is empty: name the benchmark cluster"),
    ("unknown-cluster", {**GOOD, "id": "bad", "expected_improvement": "arithmtic"},
     "expected_improvement", "clusters: arithmetic"),
    ("unknown-tool", edit("add_tool_to_agent", {"agent": "assistant", "tool_name": "shell"},
                          id="bad"), "payload.tool_name", "unknown tool 'shell'"),
    ("temperature-7", edit("set_model_param", {"model": "small-model", "param": "temperature",
                                               "value": 7}, id="bad"),
     "payload.value", "temperature must be a number in [0, 2], got 7"),
    ("max-turns-negative", edit("set_agent_param", {"agent": "assistant", "param": "max_turns",
                                                    "value": -5}, id="bad"),
     "payload.value", "max_turns must be an integer in [1, 1000]"),
    ("unknown-agent", edit("set_agent_param", {"agent": "ghost", "param": "max_turns",
                                               "value": 5}, id="bad"),
     "payload.agent", "unknown agent 'ghost'"),
    ("wrong-pillar", {**GOOD, "id": "bad", "pillar": "tools"}, "pillar",
     "belongs to pillar 'intelligence', not 'tools'"),
    ("shadowed-by-the-agent", edit("set_model_param", {"model": "small-model",
                                                       "param": "temperature", "value": 0.5},
                                   id="bad"),
     "payload.param", "agent(s) assistant set their own temperature"),
    ("patch-does-not-apply", edit("patch_system_prompt", {"diff": "--- a\n+++ b\n@@ -1 +1 @@\n"
                                                          "-Nope.\n+Yes.\n"}, id="bad"),
     "payload.diff", "patch does not apply"),
]  # fmt: skip


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    isolate_git(monkeypatch, tmp_path, ("T", "t@example.com"))
    return make_home(tmp_path / "home")


@pytest.mark.parametrize(("bad", "field", "reason"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_run_refuses_a_bad_plan_before_any_student_run_or_session(
    home: Path, bad: dict[str, Any], field: str, reason: str
) -> None:
    plan = parse_plan({"edits": [GOOD, bad]})
    with pytest.raises(InvalidEdit) as caught:
        commands.run_session(home, plan=plan)
    assert (caught.value.edit_id, caught.value.field) == ("bad", field)
    assert reason in caught.value.reason
    assert not (home / "ran.txt").exists(), "the student ran"
    assert not (home / "learning" / "sessions").exists(), "a session was recorded"
    assert not (home / ".git").exists(), "a baseline was committed"


def test_the_cli_exits_2_with_one_line_naming_the_edit_and_field(home: Path) -> None:
    plan = home.parent / "plan.json"
    plan.write_text(json.dumps({"edits": [GOOD, BAD[2][1]]}))
    for command in (["run", "--plan"], ["apply"], ["apply", "--gate", "sequential"]):
        result = subprocess.run(
            [sys.executable, "-m", "specdistill.cli", *command, str(plan), "--home", str(home)],
            capture_output=True, text=True, timeout=120, env=os.environ,
        )  # fmt: skip
        assert result.returncode == 2, (command, result.stdout, result.stderr)
        lines = [line for line in result.stderr.splitlines() if line.strip()]
        assert lines[0].startswith("error: edit 'bad', field 'payload.tool_name': unknown tool")
        assert len([line for line in lines if line.startswith("error:")]) == 1
        assert not (home / "ran.txt").exists()
        assert not (home / "learning" / "sessions").exists()
    assert "max_tokens = 512" in (home / "config.toml").read_text()


def test_a_missing_agent_in_a_one_agent_home_is_that_agent(home: Path) -> None:
    patch = edit(
        "patch_system_prompt",
        {"diff": "--- a\n+++ b\n@@ -1 +1,2 @@\n Answer.\n+Be brief.\n"},
        id="prompt",
    )
    run = commands.run_session(home, plan=parse_plan({"edits": [patch]}))
    [frozen] = run.plan.edits
    assert frozen.payload["agent"] == "assistant"
    [queued] = commands.review(home)
    assert queued.state != "stale", queued.reason
    # With a second agent the same edit is ambiguous: refused, naming both.
    (home / "agents" / "coder").mkdir()
    with pytest.raises(InvalidEdit) as caught:
        screen_plan(parse_plan({"edits": [patch]}), home)
    assert caught.value.field == "payload.agent"
    assert "agents: assistant, coder" in caught.value.reason


def test_edits_that_build_on_each_other_pass(home: Path) -> None:
    """Each edit is checked on the spec as the plan's earlier edits leave it."""
    add = edit("add_tool_to_agent", {"agent": "assistant", "tool_name": "web_search"}, id="a")
    remove = edit("remove_tool_from_agent", {"agent": "assistant", "tool_name": "web_search"},
                  id="r")  # fmt: skip
    screened = screen_plan(parse_plan({"edits": [add, remove]}), home)
    assert [e.id for e in screened.edits] == ["a", "r"]
    with pytest.raises(InvalidEdit, match="has no tool 'web_search'"):
        screen_plan(parse_plan({"edits": [remove]}), home)


def test_a_param_the_openai_student_never_sends_is_refused(home: Path) -> None:
    openai = student_from_config(home, kind="openai", environ={
        "SPECDISTILL_STUDENT_BASE_URL": "http://127.0.0.1:9/v1"})  # fmt: skip
    turns = edit("set_agent_param", {"agent": "assistant", "param": "max_turns", "value": 6})
    plan = parse_plan({"edits": [turns]})
    with pytest.raises(InvalidEdit) as caught:
        screen_plan(plan, home, reach=Reach.of(openai, []))
    assert caught.value.field == "payload.param"
    assert "the openai student never sends 'max_turns'" in caught.value.reason
    assert "temperature" in caught.value.reason  # what it does send
    command = student_from_config(home, environ={})
    assert screen_plan(plan, home, reach=Reach.of(command, [])).edits  # a program gets all


def test_the_teacher_screen_drops_a_bad_edit_before_it_counts_against_max_edits(
    home: Path,
) -> None:
    bad = BAD[3][1]  # temperature = 7
    screened = screen_edits([bad, GOOD], home=home, clusters=["arithmetic"], max_edits=1)
    assert [e.id for e in screened.edits] == ["good"]
    [dropped] = screened.dropped
    assert "temperature must be a number in [0, 2]" in dropped.reason


def test_the_plan_schema_requires_what_the_screen_requires() -> None:
    schema = plan_json_schema()
    assert "edits" in schema["required"]
    edits = [
        d for n, d in schema["$defs"].items() if n.endswith("Edit") and "op" in d["properties"]
    ]
    assert len(edits) >= 11
    for definition in edits:
        assert {"id", "pillar", "op", "payload", "expected_improvement"} <= set(
            definition["required"]
        )


def test_a_missing_pillar_names_the_ops_pillar() -> None:
    raw = {"edits": [{"id": "x", "op": "add_tool_to_agent", "payload": {}}]}
    with pytest.raises(InvalidEdit) as caught:
        parse_plan(raw)
    assert caught.value.field == "pillar"
    assert "op add_tool_to_agent has pillar 'tools'" in caught.value.reason


def test_the_screen_writes_nothing(home: Path) -> None:
    before = {p: p.read_bytes() for p in home.rglob("*") if p.is_file()}
    screen_plan(LearningPlan.model_validate({"edits": [GOOD]}), home)
    assert {p: p.read_bytes() for p in home.rglob("*") if p.is_file()} == before
