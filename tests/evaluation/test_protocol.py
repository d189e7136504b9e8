"""The student protocol, specified and versioned: the document a ``command`` student reads
(its JSON Schema is ``specdistill schema --student``), the same parts handed to a
``python`` student, and the ``openai`` student's request, field by field against the table
in docs/your-agent.md."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from specdistill.evaluation.protocol import STUDENT_PROTOCOL, student_input_schema
from specdistill.evaluation.scoring import Task
from specdistill.evaluation.spec_view import student_spec
from specdistill.evaluation.students import (
    OPENAI_PARAMS,
    CommandStudent,
    PythonStudent,
    build_chat_request,
)
from specdistill.home import init_home

jsonschema = pytest.importorskip("jsonschema")
DOC = Path(__file__).resolve().parents[2] / "docs" / "your-agent.md"
TASK = Task(id="t1", input="What is 2 + 2?", cluster="arithmetic", reference=4, scorer="numeric")
RECORDER = """\
import json, sys
document = json.load(sys.stdin)
with open(sys.argv[1], "w") as out:
    json.dump(document, out)
print("4")
"""

received: list[tuple[Any, ...]] = []


def remember(task: dict[str, Any], spec_home: str, spec: dict[str, Any]) -> str:
    received.append((task, spec_home, spec))
    return "4"


def remember_two(task: dict[str, Any], spec_home: str) -> str:
    received.append((task, spec_home))
    return "4"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    root = tmp_path / "home"
    init_home(root)
    (root / "agents" / "assistant" / "few_shot.json").write_text(
        '[{"input": "1 + 1?", "output": "2"}]'
    )
    return root


def test_schema_student_prints_the_schema_a_real_document_matches(
    home: Path, tmp_path: Path
) -> None:
    printed = subprocess.run(
        [sys.executable, "-m", "specdistill.cli", "schema", "--student"],
        capture_output=True, text=True, check=True, timeout=60,
    )  # fmt: skip
    schema = json.loads(printed.stdout)
    assert schema == json.loads(json.dumps(student_input_schema()))
    assert schema["properties"]["protocol"]["const"] == STUDENT_PROTOCOL == 1
    script = tmp_path / "recorder.py"
    script.write_text(RECORDER)
    out = tmp_path / "document.json"
    student = CommandStudent([sys.executable, str(script), str(out)], cwd=home)
    spec = student_spec(home)
    answer = asyncio.run(student.run(TASK, spec))
    assert answer.text == "4"
    document = json.loads(out.read_text())
    jsonschema.validate(document, schema)
    assert set(document) == {"protocol", "spec_home", "task", "spec"}
    assert document["spec"]["tools"] == [["calculator", "Evaluate an arithmetic expression."]]
    assert document["spec"]["few_shot"] == [["1 + 1?", "2"]]
    # the schema is closed: a key the protocol does not have is refused
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**document, "extra": 1}, schema)


def test_the_python_student_receives_the_same_resolved_spec(home: Path) -> None:
    received.clear()
    spec = student_spec(home)
    asyncio.run(PythonStudent(remember).run(TASK, spec))
    [(task, spec_home, given)] = received
    assert task == TASK.as_json() and spec_home == str(home)
    assert given == json.loads(json.dumps(spec.as_json()))  # what a command student reads
    received.clear()
    asyncio.run(PythonStudent(remember_two).run(TASK, spec))  # the older two-argument form
    assert received == [(TASK.as_json(), str(home))]


def table_rows() -> list[tuple[str, str]]:
    """(spec field, request field) rows of the openai table in docs/your-agent.md."""
    text = DOC.read_text(encoding="utf-8")
    table = text.split("| spec field | request field |", 1)[1].split("\n\n", 1)[0]
    rows = []
    for line in table.strip().splitlines()[1:]:
        cells = [c.strip() for c in line.strip("|").split("|")]
        rows.append((cells[0], cells[1]))
    return rows


def request_for(home: Path, **change: Any) -> dict[str, Any]:
    spec = student_spec(home)
    if change:
        spec = dataclasses.replace(spec, **change)
    return build_chat_request(TASK, spec)


def test_the_openai_mapping_table_holds_field_by_field(home: Path) -> None:
    rows = dict(table_rows())
    assert len(rows) == 8, rows
    body = request_for(home)
    checked = set()
    for field, target in rows.items():
        if field == "`model`":
            assert body["model"] == student_spec(home).model == "small-model"
        elif field == "`system_prompt`":
            assert body["messages"][0] == {"role": "system", "content": student_spec(home)
                                           .system_prompt}  # fmt: skip
            assert request_for(home, system_prompt="")["messages"][0]["role"] == "user"
        elif field == "`few_shot`":
            assert body["messages"][1:3] == [{"role": "user", "content": "1 + 1?"},
                                             {"role": "assistant", "content": "2"}]  # fmt: skip
        elif field == "`task.input`":
            assert body["messages"][-1] == {"role": "user", "content": TASK.input}
        elif field.startswith("`params.temperature`"):
            named = re.findall(r"`(?:params\.)?([a-z_]+)`", field)
            assert set(named) == set(OPENAI_PARAMS), "the table lists exactly what is sent"
            params = {name: (["x"] if name == "stop" else 1) for name in named}
            sent = request_for(home, params=params)
            assert {k: sent[k] for k in named} == params
        elif field.startswith("other `params`"):
            sent = request_for(home, params={"max_turns": 4, "top_k": 3})
            assert "max_turns" not in sent and "top_k" not in sent
        elif field == "`tools`":
            [tool] = body["tools"]
            assert tool["type"] == "function"
            assert tool["function"]["name"] == "calculator"
            assert tool["function"]["description"] == "Evaluate an arithmetic expression."
            assert tool["function"]["parameters"]["type"] == "object"
        elif field == "`agent`, `agent_class`":
            assert not {"agent", "agent_class"} & set(body)
            assert request_for(home, agent="x", agent_class="y") == body
        else:
            raise AssertionError(f"a row the test does not know: {field}")
        checked.add(field)
        assert target  # every row says where the field goes
    assert checked == set(rows)
