"""The openai student against a real loopback server: every spec field reaches the request."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from eval_helpers import ChatServer, apply_edit, chat_server, make_home, task
from specdistill.evaluation import (
    ChatEndpoint,
    EvaluationConfigError,
    OpenAIStudent,
    Task,
    student_from_config,
    student_spec,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


@pytest.fixture
def server() -> Any:
    with chat_server() as running:
        yield running


def ask(server: ChatServer, home: Path, **fields: Any) -> tuple[str, dict[str, Any]]:
    """Run the openai student for one task on ``home``; (answer text, request received)."""
    t = Task.model_validate(task("t", **fields))
    spec = student_spec(home, query_class=t.query_class, agent=t.agent)
    student = OpenAIStudent(ChatEndpoint(server.base_url, timeout=5))

    async def run() -> str:
        try:
            return (await student.run(t, spec)).text
        finally:
            await student.aclose()

    answer = asyncio.run(run())
    return answer, server.requests[-1]


def test_request_carries_the_whole_spec(server: ChatServer, home: Path) -> None:
    answer, request = ask(server, home, agent="alpha", query_class="math", input="2+2?")
    assert request["model"] == "math-model"
    assert (request["temperature"], request["max_tokens"]) == (0.3, 128)
    assert request["messages"] == [
        {"role": "system", "content": "You are alpha.\n"},
        {"role": "user", "content": "1+1?"},
        {"role": "assistant", "content": "2"},
        {"role": "user", "content": "2+2?"},
    ]
    functions = [tool["function"] for tool in request["tools"]]
    assert [(f["name"], f["description"]) for f in functions] == [
        ("calculator", "Evaluate an arithmetic expression."),
        ("search", "Search the web."),
    ]
    assert all(f["parameters"]["type"] == "object" for f in functions)
    assert answer.startswith("echo:")


def test_only_openai_params_are_sent(server: ChatServer, home: Path) -> None:
    apply_edit(home, "set_agent_param", {"agent": "beta", "param": "top_k", "value": 5})
    _, request = ask(server, home, agent="beta")
    assert (request["top_p"], request["max_tokens"]) == (0.9, 64)
    assert "max_turns" not in request and "top_k" not in request and "class" not in request


def test_empty_prompt_and_no_tools_are_omitted(server: ChatServer, tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text('[agent.solo]\nmodel = "m"\n')
    _, request = ask(server, tmp_path)
    assert request == {"model": "m", "messages": [{"role": "user", "content": "question t"}]}


Check = Callable[[dict[str, Any]], Any]

# (id, op, payload, target, task fields, what of the request must show the edit)
EDITS: list[tuple[str, str, dict[str, Any], str, dict[str, Any], Check]] = [
    ("routing", "set_model_for_query_class", {"query_class": "math", "model": "big-model"}, "",
     {"query_class": "math"}, lambda r: r["model"] == "big-model"),
    ("model-param", "set_model_param", {"model": "math-model", "param": "temperature",
     "value": 0.7}, "", {"query_class": "math", "agent": "beta"},
     lambda r: r["temperature"] == 0.7),
    ("agent-param", "set_agent_param", {"agent": "alpha", "param": "max_tokens", "value": 99},
     "", {}, lambda r: r["max_tokens"] == 99),
    ("new-openai-param", "set_agent_param", {"agent": "alpha", "param": "seed", "value": 11},
     "", {}, lambda r: r.get("seed") == 11),
    ("system-prompt", "replace_system_prompt", {"new_content": "Think step by step.\n",
     "agent": "alpha"}, "", {}, lambda r: r["messages"][0]["content"] == "Think step by step.\n"),
    ("patched-prompt", "patch_system_prompt",
     {"diff": "--- a\n+++ b\n@@ -1 +1 @@\n-You are alpha.\n+You are ALPHA.\n", "agent": "alpha"},
     "", {}, lambda r: r["messages"][0]["content"] == "You are ALPHA.\n"),
    ("few-shot", "edit_few_shot_exemplars", {"exemplars": [{"input": "a?", "output": "b"},
     {"input": "c?", "output": "d"}]}, "agents.alpha.few_shot", {},
     lambda r: [m["content"] for m in r["messages"][1:5]] == ["a?", "b", "c?", "d"]),
    ("add-tool", "add_tool_to_agent", {"agent": "alpha", "tool_name": "weather"}, "", {},
     lambda r: [t["function"]["name"] for t in r["tools"]] == ["calculator", "search", "weather"]),
    ("remove-tool", "remove_tool_from_agent", {"agent": "alpha", "tool_name": "calculator"}, "",
     {}, lambda r: [t["function"]["name"] for t in r["tools"]] == ["search"]),
    ("tool-description", "edit_tool_description", {"tool_name": "calculator",
     "new_description": 'Evaluate "exact" maths;\nno guessing.'}, "", {},
     lambda r: r["tools"][0]["function"]["description"] == 'Evaluate "exact" maths;\nno guessing.'),
]  # fmt: skip


@pytest.mark.parametrize(
    ("op", "payload", "target", "fields", "check"),
    [e[1:] for e in EDITS],
    ids=[e[0] for e in EDITS],
)
def test_each_edit_reaches_the_request(
    server: ChatServer,
    home: Path,
    op: str,
    payload: dict[str, Any],
    target: str,
    fields: dict[str, Any],
    check: Check,
) -> None:
    fields = {"agent": "alpha", **fields}
    answer_before, before = ask(server, home, **fields)
    assert not check(before)
    apply_edit(home, op, payload, target)
    answer_after, after = ask(server, home, **fields)
    assert check(after)
    assert answer_after != answer_before  # the server's answer depends on the edit too


def test_tool_call_only_reply_answers_empty_text(server: ChatServer, home: Path) -> None:
    server.faults = ["toolcall"]
    t = Task.model_validate(task("t", agent="alpha"))
    student = OpenAIStudent(ChatEndpoint(server.base_url))

    async def run() -> Any:
        try:
            return await student.run(t, student_spec(home, agent="alpha"))
        finally:
            await student.aclose()

    answer = asyncio.run(run())
    assert answer.text == ""
    assert answer.raw["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "calculator"
    assert answer.usage == {"prompt_tokens": 10, "completion_tokens": 2, "total_tokens": 12}


def test_student_from_config_and_environment(home: Path, server: ChatServer) -> None:
    config = home / "config.toml"
    config.write_text(config.read_text() + '\n[specdistill.student]\nbase_url = "http://x:1/v1"\n')
    student = student_from_config(home, environ={})
    assert isinstance(student, OpenAIStudent) and student.endpoint.base_url == "http://x:1/v1"
    # the environment wins over the file
    student = student_from_config(home, environ={"SPECDISTILL_STUDENT_BASE_URL": server.base_url})
    assert student.endpoint.base_url == server.base_url


@pytest.mark.parametrize(
    ("section", "environ", "message"),
    [
        ("", {}, "no student endpoint"),
        ('base_url = "ftp://x"', {}, "must start with http"),
        ('base_url = "http://x"\napi_key_env = "NOPE"', {}, "names 'NOPE', which is not set"),
        ('kind = "telepathy"', {}, "kind 'telepathy' is unknown"),
        ('kind = "command"\nargv = "python agent.py"', {}, "argv must be a list"),
        ('kind = "python"\nfunction = "nodots"', {}, "is not 'module:function'"),
    ],
    ids=["no-url", "bad-scheme", "unset-key-var", "unknown-kind", "argv-string", "bad-function"],
)
def test_bad_student_settings(home: Path, section: str, environ: dict, message: str) -> None:
    config = home / "config.toml"
    config.write_text(config.read_text() + f"\n[specdistill.student]\n{section}\n")
    with pytest.raises(EvaluationConfigError, match=message):
        student_from_config(home, environ=environ)


def test_request_json_is_what_build_chat_request_says(server: ChatServer, home: Path) -> None:
    from specdistill.evaluation import build_chat_request

    _, request = ask(server, home, agent="beta", query_class="math")
    spec = student_spec(home, agent="beta", query_class="math")
    expected = build_chat_request(Task.model_validate(task("t", agent="beta")), spec)
    assert json.loads(json.dumps(expected)) == request
