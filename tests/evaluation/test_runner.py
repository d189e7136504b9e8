"""The runner against a real loopback server: retries, error accounting, concurrency,
progress, summaries."""

from __future__ import annotations

import asyncio
import random
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from eval_helpers import ChatServer, chat_server, closed_port, make_home, task, write_jsonl
from specdistill.evaluation import (
    Benchmark,
    ChatEndpoint,
    NothingScored,
    OpenAIStudent,
    RetryPolicy,
    TaskResult,
    load_benchmark,
    score_spec,
    summarize,
    to_snapshot,
)

FAST = RetryPolicy(max_attempts=3, base_delay=0.01, max_delay=0.02)


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


def bench(tmp_path: Path, n: int = 1, **fields: Any) -> Benchmark:
    lines = [task(f"t{i}", **{"agent": "alpha", **fields}) for i in range(n)]
    return load_benchmark(write_jsonl(tmp_path / "tasks.jsonl", lines))


def run(
    home: Path, benchmark: Benchmark, base_url: str, *, timeout: float = 5.0, **options: Any
) -> list[TaskResult]:
    student = OpenAIStudent(ChatEndpoint(base_url, timeout=timeout))
    options.setdefault("retry", FAST)
    return asyncio.run(score_spec(home, benchmark, student, **options))


def answer_x(body: dict[str, Any]) -> str:
    return "x"  # the reference of every default task: a pass


# (id, faults for the one task, expected attempts, scored?, error must contain)
FAULTS = [
    ("two-500s-then-ok", ["500", "500"], 3, True, None),
    ("three-500s", ["500", "500", "500"], 3, False, "HTTP 500"),
    ("429-then-ok", ["429"], 2, True, None),
    ("timeout-then-ok", ["sleep:1"], 2, True, None),
    ("timeouts", ["sleep:1"] * 3, 3, False, "timed out after 0.25s"),
    ("garbage-then-no-choices-then-ok", ["garbage", "nochoices"], 3, True, None),
    ("garbage", ["garbage"] * 3, 3, False, "garbage body"),
    ("dropped-connection-then-ok", ["close"], 2, True, None),
    ("401-is-not-retried", ["echo-auth:401"], 1, False, "HTTP 401"),
    ("400-is-not-retried", ["echo-auth:400"], 1, False, "HTTP 400"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("faults", "attempts", "scored", "error"), [f[1:] for f in FAULTS], ids=[f[0] for f in FAULTS]
)
def test_retries_and_error_accounting(
    tmp_path: Path, home: Path, faults: list[str], attempts: int, scored: bool, error: str | None
) -> None:
    with chat_server(answer_x) as server:
        server.faults = list(faults)
        [result] = run(home, bench(tmp_path), server.base_url, timeout=0.25)
        assert server.count == attempts  # every attempt reached the server, no more
    assert result.attempts == attempts and not result.cached
    if scored:
        assert (result.score, result.error) == (1.0, None)
    else:
        assert result.score is None and error in (result.error or "")
        if attempts > 1:
            assert f"(after {attempts} attempts)" in (result.error or "")


def test_connection_refused_is_an_error_after_bounded_retries(tmp_path: Path, home: Path) -> None:
    [result] = run(home, bench(tmp_path), f"http://127.0.0.1:{closed_port()}/v1")
    assert result.score is None and result.attempts == 3
    assert "connection failed (ConnectError" in (result.error or "")


def test_errors_are_neither_pass_nor_fail(tmp_path: Path, home: Path) -> None:
    lines = [
        task("pass-1", cluster="a"),
        task("pass-2", cluster="a"),
        task("fail", cluster="a", reference="y"),
        task("err", cluster="b"),
    ]
    lines = [{**line, "agent": "beta"} for line in lines]
    benchmark = load_benchmark(write_jsonl(tmp_path / "tasks.jsonl", lines))

    def answer(body: dict[str, Any]) -> str:
        return "x"

    with chat_server(answer) as server:
        server.faults = ["ok", "ok", "ok", "echo-auth:403"]
        results = run(home, benchmark, server.base_url, concurrency=1)
    assert [r.task_id for r in results] == ["pass-1", "pass-2", "fail", "err"]
    assert [r.score for r in results] == [1.0, 1.0, 0.0, None]
    a, b, overall = summarize(results)
    assert (a.cluster, a.n, a.scored, a.errors, a.mean) == ("a", 3, 3, 0, pytest.approx(2 / 3))
    assert (b.cluster, b.n, b.scored, b.errors, b.mean) == ("b", 1, 0, 1, None)
    assert (overall.n, overall.errors, overall.mean) == (4, 1, pytest.approx(2 / 3))
    snapshot = to_snapshot(benchmark, results, elapsed_seconds=1.5)
    assert snapshot.cluster_scores == {"a": pytest.approx(2 / 3)}  # b has no score: left out
    assert (snapshot.task_count, snapshot.error_count) == (4, 1)
    assert snapshot.benchmark_version == benchmark.version


def test_nothing_scored_gives_no_snapshot(tmp_path: Path, home: Path) -> None:
    benchmark = bench(tmp_path, 2)
    results = run(
        home, benchmark, f"http://127.0.0.1:{closed_port()}/v1", retry=RetryPolicy(max_attempts=1)
    )
    with pytest.raises(NothingScored, match="no task was scored"):
        to_snapshot(benchmark, results)


def test_concurrency_limit_and_progress(tmp_path: Path, home: Path) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def slow(body: dict[str, Any]) -> str:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.05)
        with lock:
            state["now"] -= 1
        return "x"

    seen: list[tuple[int, int, str]] = []
    with chat_server(slow) as server:
        results = run(
            home,
            bench(tmp_path, 12),
            server.base_url,
            concurrency=3,
            progress=lambda done, total, r: seen.append((done, total, r.task_id)),
        )
        assert server.count == 12
    assert 2 <= state["peak"] <= 3
    assert [d for d, _, _ in seen] == list(range(1, 13)) and {t for _, t, _ in seen} == {12}
    assert sorted(t for _, _, t in seen) == sorted(r.task_id for r in results)
    assert [r.task_id for r in results] == [f"t{i}" for i in range(12)]  # task order kept


def test_repeats_are_separate_samples(tmp_path: Path, home: Path) -> None:
    with chat_server(answer_x) as server:
        results = run(home, bench(tmp_path, 2), server.base_url, repeats=3)
        assert server.count == 6
    assert [(r.task_id, r.repeat) for r in results] == [
        (f"t{i}", k) for i in range(2) for k in range(3)
    ]


def test_a_spec_problem_stops_the_run_before_any_request(tmp_path: Path, home: Path) -> None:
    from specdistill.evaluation import EvaluationConfigError

    benchmark = bench(tmp_path, 1, agent="nobody")
    with chat_server() as server:
        with pytest.raises(EvaluationConfigError, match="task 't0': unknown agent 'nobody'"):
            run(home, benchmark, server.base_url)
        assert server.count == 0


def test_backoff_grows_with_jitter_and_is_capped() -> None:
    policy = RetryPolicy(max_attempts=5, base_delay=1.0, max_delay=3.0)
    rng = random.Random(0)
    for attempt, ceiling in [(1, 1.0), (2, 2.0), (3, 3.0), (4, 3.0)]:
        delays = {policy.delay(attempt, rng) for _ in range(50)}
        assert all(ceiling / 2 <= d <= ceiling for d in delays) and len(delays) > 1


def test_server_helper_counts_requests(tmp_path: Path) -> None:
    # the fault-free path of the helper itself: one request, one count
    with ChatServer() as server:
        assert server.count == 0
