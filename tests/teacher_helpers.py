"""Shared helpers for the teacher tests: a scripted teacher on loopback, a python student,
a benchmark and traces that go with the eval_helpers spec home.

:class:`TeacherServer` is a real OpenAI-compatible HTTP server (eval_helpers' ChatServer,
with its own handler). It plays the teacher from a script: replies are queued per task,
the task being read from the ``TASK: <name>`` line that starts every teacher user prompt
(``diagnose``, ``plan``, ``next_edit``, ``references``). Each reply is either content
(a string, or an object sent as JSON text) with an optional ``usage``, or an HTTP error.
An unscripted request gets HTTP 500 "no scripted reply", so a test cannot pass by
accident. Every raw request body is kept in ``raw`` for leak checks.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any

from eval_helpers import ChatServer, write_jsonl
from specdistill.evaluation.endpoint import ChatEndpoint
from specdistill.evaluation.runner import RetryPolicy
from specdistill.teacher import CostLedger, Pricing, TeacherClient

TASK_LINE = re.compile(r"^TASK: (\w+)")


@dataclass
class Reply:
    """One scripted teacher reply."""

    content: Any = None
    usage: tuple[int, int] | None = (100, 50)
    status: int = 200


class TeacherServer(ChatServer):
    """A loopback teacher replying from per-task queues (see the module docstring)."""

    def __init__(self) -> None:
        super().__init__()
        self.script: dict[str, list[Reply]] = {}
        self.raw: list[bytes] = []
        self.tasks: list[str] = []

    def add(self, task: str, *replies: Reply | Any) -> None:
        """Queue replies for ``task``; a bare value is content with the default usage."""
        queue = self.script.setdefault(task, [])
        queue.extend(r if isinstance(r, Reply) else Reply(r) for r in replies)

    def bodies(self, task: str | None = None) -> list[dict[str, Any]]:
        with self.lock:
            return [
                body
                for body, name in zip(self.requests, self.tasks, strict=True)
                if task is None or name == task
            ]

    def handle(self, request: BaseHTTPRequestHandler) -> None:
        length = int(request.headers.get("Content-Length", "0"))
        raw = request.rfile.read(length)
        body = json.loads(raw)
        users = [m["content"] for m in body.get("messages", []) if m.get("role") == "user"]
        match = TASK_LINE.match(users[0]) if users else None
        task = match.group(1) if match else "?"
        with self.lock:
            self.raw.append(raw)
            self.requests.append(body)
            self.headers.append(dict(request.headers.items()))
            self.tasks.append(task)
            queue = self.script.get(task) or []
            reply = queue.pop(0) if queue else None
        if reply is None:
            return self.reply(request, 500, b'{"error": "no scripted reply"}')
        if reply.status != 200:
            data = json.dumps({"error": {"message": f"scripted {reply.status}"}}).encode()
            return self.reply(request, reply.status, data)
        content = reply.content if isinstance(reply.content, str) else json.dumps(reply.content)
        answer: dict[str, Any] = {
            "id": "chatcmpl-teacher",
            "object": "chat.completion",
            "model": body.get("model"),
            "choices": [{"index": 0, "message": {"role": "assistant", "content": content}}],
        }
        if reply.usage is not None:
            prompt, completion = reply.usage
            answer["usage"] = {
                "prompt_tokens": prompt,
                "completion_tokens": completion,
                "total_tokens": prompt + completion,
            }
        return self.reply(request, 200, json.dumps(answer).encode())


@contextmanager
def teacher_server() -> Iterator[TeacherServer]:
    with TeacherServer() as server:
        yield server


def make_client(
    server: TeacherServer,
    *,
    limit: float | None = None,
    pricing: Pricing | None = None,
    max_tokens: int = 1000,
    api_key: str | None = None,
    ledger: CostLedger | None = None,
) -> TeacherClient:
    """A teacher client on ``server`` that never sleeps between retries."""
    return TeacherClient(
        ChatEndpoint(server.base_url, api_key=api_key, timeout=10, name="teacher"),
        "teacher-model",
        pricing=pricing,
        ledger=ledger if ledger is not None else CostLedger(limit),
        max_tokens=max_tokens,
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
    )


# --- a python student and its benchmark ---------------------------------------------

STUDENT_CALLS: list[str] = []
CAREFUL = "multiply carefully"


def arithmetic_student(task: dict[str, Any], home: str) -> str:
    """Answers 'What is A op B?' and capitals; gets products wrong unless the agent's
    system prompt says to multiply carefully (so a prompt edit changes its score)."""
    STUDENT_CALLS.append(task["id"])
    agent = task.get("agent") or "alpha"
    prompt = (Path(home) / "agents" / agent / "system_prompt.md").read_text()
    match = re.search(r"What is (\d+) ([+*]) (\d+)\?", task["input"])
    if match:
        a, op, b = int(match[1]), match[2], int(match[3])
        if op == "+":
            return str(a + b)
        return str(a * b if CAREFUL in prompt else a * b + 1)
    if "capital of France" in task["input"]:
        return "Paris"
    return "I do not know"


def benchmark_lines() -> list[dict[str, Any]]:
    """math: two sums (passed) and two products (failed); capitals: one (passed)."""

    def numeric(id: str, text: str, ref: int) -> dict[str, Any]:
        return {
            "id": id,
            "input": text,
            "cluster": "math",
            "reference": ref,
            "scorer": "numeric",
            "query_class": "math",
            "agent": "alpha",
        }

    return [
        numeric("m1", "What is 2 + 3?", 5),
        numeric("m2", "What is 10 + 7?", 17),
        numeric("m3", "What is 4 * 5?", 20),
        numeric("m4", "What is 6 * 7?", 42),
        {"id": "c1", "input": "What is the capital of France?", "cluster": "capitals",
         "reference": "Paris", "scorer": "normalized_exact", "agent": "alpha"},
    ]  # fmt: skip


def write_benchmark_file(path: Path) -> Path:
    return write_jsonl(path, benchmark_lines())


def trace(id: str, query: str, answer: str, feedback: float | None, **fields: Any) -> dict:
    """A trace line for JSONL files."""
    return {"id": id, "query": query, "answer": answer, "feedback": feedback, **fields}


def failing_traces() -> list[dict[str, Any]]:
    return [
        trace("tr-1", "What is 12 * 12?", "145", 0.0, query_class="math", agent="alpha"),
        trace("tr-2", "What is 3 * 9?", "28", 0.1, query_class="math", agent="alpha"),
        trace("tr-3", "Capital of Peru?", "Quito", 0.2, query_class="capitals"),
        trace("tr-4", "What is 2 + 2?", "4", 1.0, query_class="math"),
    ]


def tree_bytes(root: Path) -> dict[str, bytes]:
    """``{relative path: bytes}`` of every file under ``root`` (learning/ excluded)."""
    return {
        p.relative_to(root).as_posix(): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "learning" not in p.relative_to(root).parts
    }


#: The teacher's config for the CLI tests of the whole loop ({url}: the scripted
#: server; {extra}: more teacher keys).
TEACHER_CONFIG = """
[specdistill.teacher]
base_url = "{url}"
model = "teacher-model"
price_per_1k_input = 0.01
price_per_1k_output = 0.03
max_tokens = 1000
max_attempts = 1
{extra}
[specdistill.traces]
path = "traces.jsonl"
"""

#: Traces of the example agent's failures (math, geo, units) and two passes.
TRACES = [
    trace("t-arith-1", "What is 4 + 5 * 3?", "27", 0.0, query_class="math"),
    trace("t-arith-2", "What is 38 + 8 * 9?", "414", 0.1, query_class="math"),
    trace("t-geo-1", "What is the capital of Peru?", "Quito", 0.0, query_class="geo"),
    trace("t-geo-2", "What is the capital of Mongolia?", "Beijing", 0.2, query_class="geo"),
    trace("t-units-1", "How many grams are in 7 kilograms?", "7000", 0.3, query_class="units"),
    trace("t-ok-1", "Reverse the letters of 'planet'.", "tenalp", 1.0, query_class="text"),
    trace("t-ok-2", "What is 2 + 2?", "4", 0.9, query_class="math"),
]

#: The plan edit that fixes arithmetic on the example home.
CALC_EDIT = {
    "id": "e1-calculator-exact", "pillar": "tools", "op": "edit_tool_description",
    "target": "tools.calculator", "expected_improvement": "arithmetic",
    "payload": {"tool_name": "calculator", "new_description":
                "Evaluates an arithmetic expression exactly, with operator precedence."},
    "rationale": "The agent only calls a calculator it trusts to be exact.",
}  # fmt: skip
