"""The result cache: hits cost no request, edits re-run only the tasks that read them,
errors are not cached, a corrupt file is a clear error."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from eval_helpers import ChatServer, apply_edit, chat_server, make_home, task, write_jsonl
from specdistill.evaluation import (
    Benchmark,
    CacheCorrupt,
    ChatEndpoint,
    OpenAIStudent,
    ResultCache,
    RetryPolicy,
    TaskResult,
    cache_clear,
    cache_path,
    cache_stats,
    load_benchmark,
    score_spec,
)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


@pytest.fixture
def benchmark(tmp_path: Path) -> Benchmark:
    lines = [task(f"a{i}", agent="alpha") for i in range(3)]
    lines += [task(f"b{i}", agent="beta", cluster="d") for i in range(2)]
    lines += [task("b-math", agent="beta", query_class="math")]
    return load_benchmark(write_jsonl(tmp_path / "tasks.jsonl", lines))


def run(home: Path, benchmark: Benchmark, server: ChatServer, **options: Any) -> list[TaskResult]:
    student = OpenAIStudent(ChatEndpoint(server.base_url, timeout=5))
    with ResultCache.for_home(home) as cache:
        return asyncio.run(
            score_spec(
                home, benchmark, student, cache=cache, retry=RetryPolicy(base_delay=0.01), **options
            )
        )


def test_second_run_is_served_from_the_cache(home: Path, benchmark: Benchmark) -> None:
    with chat_server() as server:
        first = run(home, benchmark, server)
        assert server.count == 6 and not any(r.cached for r in first)
        second = run(home, benchmark, server)
        assert server.count == 6  # not one request more
    assert all(r.cached and r.attempts == 0 for r in second)
    assert [(r.task_id, r.score, r.answer) for r in second] == [
        (r.task_id, r.score, r.answer) for r in first
    ]
    assert cache_path(home) == home / "learning" / "cache.db"
    stats = cache_stats(home)
    assert (stats.entries, stats.tasks) == (6, 6) and stats.size_bytes > 0


# (id, op, payload, target, the tasks that must run again)
EDITS = [
    ("alpha-prompt", "replace_system_prompt", {"new_content": "New.\n", "agent": "alpha"}, "",
     {"a0", "a1", "a2"}),
    ("beta-param", "set_agent_param", {"agent": "beta", "param": "temperature", "value": 0.9},
     "", {"b0", "b1", "b-math"}),
    ("math-route", "set_model_for_query_class", {"query_class": "math", "model": "m2"}, "",
     {"b-math"}),
    ("calculator-description", "edit_tool_description",
     {"tool_name": "calculator", "new_description": "Maths."}, "", {"a0", "a1", "a2"}),
    ("unused-tool", "edit_tool_description",
     {"tool_name": "weather", "new_description": "Rain?"}, "", set()),
    # the openai student never sends these: its cache keys on what it sends
    ("never-sent-param", "set_agent_param",
     {"agent": "beta", "param": "max_turns", "value": 12}, "", set()),
    ("never-sent-class", "set_agent_class", {"new_class": "react", "agent": "alpha"}, "",
     set()),
    ("sent-param", "set_model_param",
     {"model": "math-model", "param": "seed", "value": 7}, "", {"b-math"}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("op", "payload", "target", "rerun"), [e[1:] for e in EDITS], ids=[e[0] for e in EDITS]
)
def test_an_edit_reruns_only_the_tasks_that_read_it(
    home: Path, benchmark: Benchmark, op: str, payload: dict, target: str, rerun: set[str]
) -> None:
    with chat_server() as server:
        run(home, benchmark, server)
        apply_edit(home, op, payload, target)
        before = server.count
        results = run(home, benchmark, server)
        assert server.count - before == len(rerun)
    assert {r.task_id for r in results if not r.cached} == rerun


def test_a_different_runner_config_misses(home: Path, benchmark: Benchmark) -> None:
    with chat_server() as one, chat_server() as two:
        run(home, benchmark, one)
        results = run(home, benchmark, two)  # another endpoint: another runner hash
        assert two.count == 6 and not any(r.cached for r in results)
        run(home, benchmark, one)
        assert one.count == 6  # both configurations stay cached side by side


def test_repeats_are_cached_by_index(home: Path, benchmark: Benchmark) -> None:
    with chat_server() as server:
        run(home, benchmark, server, repeats=2)
        assert server.count == 12
        results = run(home, benchmark, server, repeats=3)
        assert server.count == 18 and [r.repeat for r in results if not r.cached] == [2] * 6


def test_errors_are_not_cached(home: Path, benchmark: Benchmark) -> None:
    with chat_server() as server:
        server.faults = ["echo-auth:401"]
        first = run(home, benchmark, server, concurrency=1)
        assert [r.task_id for r in first if r.error] == ["a0"]
        second = run(home, benchmark, server)
        assert server.count == 7  # a0 ran again; the rest were cached
    assert [r.task_id for r in second if not r.cached] == ["a0"] and second[0].scored


def test_a_task_change_misses(home: Path, tmp_path: Path, benchmark: Benchmark) -> None:
    with chat_server() as server:
        run(home, benchmark, server)
        lines = [t.as_json() for t in benchmark]
        lines[0]["input"] = "a different question"
        changed = load_benchmark(write_jsonl(tmp_path / "changed.jsonl", lines))
        results = run(home, changed, server)
        assert server.count == 7 and [r.task_id for r in results if not r.cached] == ["a0"]


@pytest.mark.parametrize(
    "garbage",
    [b"this is not sqlite at all" * 100, b"SQLite format 3\x00" + b"\xff" * 4000],
    ids=["text", "damaged-header"],
)
def test_a_corrupt_cache_is_a_clear_error(home: Path, benchmark: Benchmark, garbage: bytes) -> None:
    path = cache_path(home)
    path.write_bytes(garbage)
    with pytest.raises(CacheCorrupt) as info:
        ResultCache.for_home(home)
    assert str(path) in info.value.message and "specdistill cache clear" in (info.value.hint or "")
    with pytest.raises(CacheCorrupt):
        cache_stats(home)
    assert cache_clear(home) is None and not path.exists()
    with chat_server() as server:
        assert all(r.scored for r in run(home, benchmark, server))


def test_an_unexpected_schema_is_corrupt(home: Path) -> None:
    with sqlite3.connect(cache_path(home)) as db:
        db.execute("CREATE TABLE results (key TEXT, score REAL)")
    db.close()
    with pytest.raises(CacheCorrupt, match="unexpected columns"):
        ResultCache.for_home(home)


def test_clear_removes_entries(home: Path, benchmark: Benchmark) -> None:
    assert cache_clear(home) == 0  # nothing yet
    with chat_server() as server:
        run(home, benchmark, server)
        assert cache_clear(home) == 6
        assert cache_stats(home).entries == 0
        run(home, benchmark, server)
        assert server.count == 12
    with ResultCache.for_home(home) as cache:
        assert cache.clear() == 6 and cache.stats().entries == 0


def test_editing_the_agents_code_invalidates_its_cached_results(tmp_path: Path) -> None:
    """A command or python student's own files are part of its cache identity."""
    from specdistill.evaluation.students import CommandStudent

    script = tmp_path / "agent.py"
    script.write_text("print('v1')\n")
    student = CommandStudent(["python3", str(script)])
    first = student.identity()
    assert student.identity() == first
    script.write_text("print('v2')\n")
    assert student.identity() != first
