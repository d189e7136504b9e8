"""The command student (a real subprocess) and the python student."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from eval_helpers import apply_edit, make_home, task, write_jsonl
from specdistill.evaluation import (
    CommandStudent,
    EvaluationConfigError,
    PythonStudent,
    ResultCache,
    RetryPolicy,
    TaskResult,
    load_benchmark,
    score_spec,
    student_from_config,
)

AGENT = """\
import json, sys
doc = json.load(sys.stdin)
task = doc["task"]
prompt = open(doc["spec_home"] + "/agents/" + doc["spec"]["agent"] + "/system_prompt.md").read()
if task["input"] == "fail":
    sys.stderr.write("line 1\\n" + "x" * 1000 + "\\nthe real reason: boom\\n")
    sys.exit(3)
print(prompt.strip() + " | " + task["id"] + " | " + doc["spec"]["model"])
"""

SLOW_AGENT = """\
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
open(sys.argv[1], "w").write(str(child.pid))
time.sleep(60)
"""


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


def run(home: Path, lines: list[dict[str, Any]], student: Any, **options: Any) -> list[TaskResult]:
    bench = load_benchmark(write_jsonl(home.parent / "tasks.jsonl", lines))
    options.setdefault("retry", RetryPolicy(max_attempts=1))
    return asyncio.run(score_spec(home, bench, student, **options))


def test_command_reads_the_spec_and_answers_on_stdout(tmp_path: Path, home: Path) -> None:
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    student = CommandStudent([sys.executable, str(script)], timeout=20)
    lines = [
        task("t1", agent="alpha", query_class="math", reference="You are alpha. | t1 | math-model"),
        task("t2", agent="beta", reference="wrong"),
        task("t3", agent="beta", input="fail"),
    ]
    r1, r2, r3 = run(home, lines, student)
    assert (r1.score, r1.answer) == (1.0, "You are alpha. | t1 | math-model")
    assert (r2.score, r2.answer) == (0.0, "You are beta. | t2 | small-model")
    assert r3.score is None and r3.attempts == 1
    assert "exited with status 3" in (r3.error or "") and "the real reason: boom" in (
        r3.error or ""
    )
    assert len(r3.error or "") < 700  # a tail, not the whole stderr


def test_command_timeout_kills_the_process_group(tmp_path: Path, home: Path) -> None:
    script = tmp_path / "slow.py"
    script.write_text(SLOW_AGENT)
    pid_file = tmp_path / "child.pid"
    student = CommandStudent([sys.executable, str(script), str(pid_file)], timeout=1.0)
    started = time.monotonic()
    [result] = run(
        home,
        [task("t", agent="alpha")],
        student,
        retry=RetryPolicy(max_attempts=2, base_delay=0.01),
    )
    assert time.monotonic() - started < 10
    assert result.score is None and result.attempts == 2  # a timeout is retried
    assert "timed out after 1s (process group killed)" in (result.error or "")
    grandchild = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(grandchild) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(grandchild)


def _alive(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "\nState:\tZ" not in status  # a zombie is dead, only not yet reaped


def test_command_that_cannot_start(home: Path) -> None:
    student = CommandStudent(["/nonexistent/agent"])
    [result] = run(home, [task("t", agent="alpha")], student)
    assert "cannot start" in (result.error or "")


def test_command_student_from_config(home: Path, tmp_path: Path) -> None:
    (tmp_path / "agent.py").write_text(AGENT)
    config = home / "config.toml"
    argv = json.dumps([sys.executable, str(tmp_path / "agent.py")])
    config.write_text(
        config.read_text() + f'\n[specdistill.student]\nkind = "command"\nargv = {argv}\n'
    )
    student = student_from_config(home, environ={})
    assert isinstance(student, CommandStudent) and student.cwd == home.absolute()
    [result] = run(
        home, [task("t", agent="beta", reference="You are beta. | t | small-model")], student
    )
    assert result.score == 1.0


PY_MODULE = """\
import asyncio, pathlib

def answer(task, home):
    prompt = (pathlib.Path(home) / "agents" / (task["agent"] or "alpha") / "system_prompt.md")
    return prompt.read_text().strip()

async def async_answer(task, home):
    await asyncio.sleep(0)
    return {"id": task["id"], "n": 2}

def broken(task, home):
    raise ValueError("no idea")

def flaky_state():
    return {"calls": 0}

STATE = flaky_state()

def flaky(task, home):
    STATE["calls"] += 1
    if STATE["calls"] == 1:
        raise ConnectionError("network blip")
    return "x"

def sleepy(task, home):
    import time
    time.sleep(0.5)
    return "late"

def not_json(task, home):
    return object()
"""


@pytest.fixture
def module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    name = f"eval_py_student_{os.getpid()}_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(PY_MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_python_student_sync_and_async(home: Path, module: str) -> None:
    [r] = run(
        home,
        [task("t", agent="beta", reference="You are beta.")],
        PythonStudent(f"{module}:answer"),
    )
    assert r.score == 1.0
    [r] = run(
        home,
        [task("t", agent="beta", scorer="json_equal", reference={"id": "t", "n": 2})],
        PythonStudent(f"{module}:async_answer"),
    )
    assert r.score == 1.0


def test_python_student_errors(home: Path, module: str) -> None:
    [r] = run(home, [task("t", agent="alpha")], PythonStudent(f"{module}:broken"))
    assert r.score is None and r.error == f"{module}:broken raised ValueError: no idea"
    [r] = run(
        home,
        [task("t", agent="alpha")],
        PythonStudent(f"{module}:flaky"),
        retry=RetryPolicy(max_attempts=3, base_delay=0.01),
    )
    assert (r.score, r.attempts) == (1.0, 2)  # a ConnectionError is retried
    [r] = run(home, [task("t", agent="alpha")], PythonStudent(f"{module}:sleepy", timeout=0.1))
    assert "timed out after 0.1s" in (r.error or "")
    [r] = run(home, [task("t", agent="alpha")], PythonStudent(f"{module}:not_json"))
    assert "returned a object, not text or JSON" in (r.error or "")


def test_python_student_import_errors(module: str) -> None:
    with pytest.raises(EvaluationConfigError, match="cannot import"):
        PythonStudent(f"{module}:missing")
    with pytest.raises(EvaluationConfigError, match="cannot import"):
        PythonStudent("no_such_module_xyz:f")
    with pytest.raises(EvaluationConfigError, match="not callable"):
        PythonStudent(f"{module}:STATE")


def test_python_student_accepts_a_callable(home: Path) -> None:
    def local(task: dict, home_path: str) -> str:
        return task["input"].upper()

    student = PythonStudent(local)
    assert student.identity()["function"].endswith("local")
    [r] = run(home, [task("t", agent="alpha", input="abc", reference="ABC")], student)
    assert r.score == 1.0


def test_home_scope_reruns_on_any_spec_edit(tmp_path: Path, home: Path) -> None:
    script = tmp_path / "agent.py"
    script.write_text(AGENT)
    lines = [task("a", agent="alpha"), task("b", agent="beta")]
    for scope, rerun in [("view", {"a"}), ("home", {"a", "b"})]:
        student = CommandStudent([sys.executable, str(script)], fingerprint_scope=scope)
        with ResultCache(tmp_path / f"{scope}.db") as cache:
            run(home, lines, student, cache=cache)
            apply_edit(home, "set_agent_param", {"agent": "alpha", "param": "seed", "value": 1})
            again = run(home, lines, student, cache=cache)
        assert {r.task_id for r in again if not r.cached} == rerun, scope
        apply_edit(home, "set_agent_param", {"agent": "alpha", "param": "seed", "value": 2})


@pytest.mark.parametrize(
    ("section", "scope"),
    [
        ('kind = "command"\nargv = ["python", "agent.py"]', "home"),
        ('kind = "python"\nfunction = "json:dumps"', "home"),
        ('kind = "openai"\nbase_url = "http://127.0.0.1:9/v1"', "view"),
        ('kind = "command"\nargv = ["python", "agent.py"]\nfingerprint_scope = "view"', "view"),
        ('kind = "python"\nfunction = "json:dumps"\nfingerprint_scope = "view"', "view"),
        ('kind = "openai"\nbase_url = "http://127.0.0.1:9/v1"\nfingerprint_scope = "home"', "home"),
    ],
    ids=["command", "python", "openai", "command-declared", "python-declared", "openai-home"],
)
def test_the_scope_is_the_whole_home_unless_the_agent_is_declared_to_read_its_view(
    home: Path, section: str, scope: str
) -> None:
    """A command or python agent is handed the home's path: it may read any spec file, so
    its results key on the whole home until the user declares it reads only its view."""
    config = home / "config.toml"
    config.write_text(config.read_text() + f"\n[specdistill.student]\n{section}\n")
    assert student_from_config(home, environ={}).fingerprint_scope == scope
