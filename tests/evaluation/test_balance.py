"""Several endpoints for an openai student: the pure EndpointPool policy, then real
loopback servers (one slow, one failing) behind one OpenAIStudent driven by the runner."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from eval_helpers import ChatServer, make_home, task, write_jsonl
from specdistill.evaluation import (
    ChatEndpoint,
    EvaluationConfigError,
    OpenAIStudent,
    RetryPolicy,
    Runner,
    load_benchmark,
    student_from_config,
)
from specdistill.evaluation.balance import EndpointPool

# --- the policy --------------------------------------------------------------------------


def test_one_request_at_a_time_goes_round_robin() -> None:
    pool = EndpointPool(3)
    chosen = []
    for _ in range(6):
        index = pool.acquire(now=0.0)
        chosen.append(index)
        pool.release(index, failed=False, now=0.0)
    assert chosen == [0, 1, 2, 0, 1, 2]


def test_requests_go_to_the_endpoint_with_the_fewest_in_flight() -> None:
    pool = EndpointPool(3)
    assert [pool.acquire(now=0.0) for _ in range(3)] == [0, 1, 2]
    pool.release(1, failed=False, now=0.0)
    assert pool.acquire(now=0.0) == 1  # the only one with nothing in flight
    pool.release(0, failed=False, now=0.0)
    pool.release(2, failed=False, now=0.0)
    assert pool.outstanding == [0, 1, 0]
    assert {pool.acquire(now=0.0), pool.acquire(now=0.0)} == {0, 2}


def test_a_failing_endpoint_is_out_for_a_doubling_cooldown_then_tried_again() -> None:
    pool = EndpointPool(2, cooldown=5.0)
    pool.release(pool.acquire(now=0.0), failed=True, now=0.0)  # endpoint 0 fails
    assert [pool.choose(now=t) for t in (0.0, 2.0, 4.9)] == [1, 1, 1]
    assert pool.is_up(0, now=5.0)
    one = EndpointPool(1, cooldown=5.0, max_cooldown=12.0)
    one.release(one.acquire(now=0.0), failed=True, now=0.0)
    one.release(one.acquire(now=5.0), failed=True, now=5.0)  # again, in a row: 10 s
    assert not one.is_up(0, now=14.9) and one.is_up(0, now=15.0)
    one.release(one.acquire(now=15.0), failed=True, now=15.0)  # 20 s, capped at 12
    assert one.down_until[0] == 27.0
    one.release(one.acquire(now=27.0), failed=False, now=27.0)  # one success: back
    assert one.failures[0] == 0 and one.is_up(0, now=27.0)


def test_all_out_tries_the_one_due_back_first_and_neutral_results_change_nothing() -> None:
    pool = EndpointPool(2, cooldown=5.0)
    pool.release(pool.acquire(now=0.0), failed=True, now=0.0)  # 0 out until 5
    pool.release(pool.acquire(now=1.0), failed=True, now=1.0)  # 1 out until 6
    assert pool.choose(now=2.0) == 0
    index = pool.acquire(now=2.0)
    pool.release(index, failed=None, now=2.0)  # a 4xx or a cancel: no news
    assert pool.failures == [1, 1] and not pool.is_up(0, now=2.0)
    with pytest.raises(ValueError):
        EndpointPool(0)


# --- real loopback servers -----------------------------------------------------------------


def bench(tmp_path: Path, n: int):
    lines = [task(f"t{i}", agent="alpha", reference="ok", scorer="contains") for i in range(n)]
    return load_benchmark(write_jsonl(tmp_path / "b.jsonl", lines))


def student_over(*servers: ChatServer, cooldown: float = 5.0) -> OpenAIStudent:
    endpoints = [ChatEndpoint(s.base_url, timeout=5, name="student") for s in servers]
    return OpenAIStudent(endpoints, cooldown=cooldown)


def test_requests_spread_over_endpoints_and_a_failing_one_is_avoided(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    with (
        ChatServer(lambda body: "ok") as a,
        ChatServer(lambda body: "ok") as b,
        ChatServer(lambda body: "ok") as bad,
    ):
        bad.faults = ["500"] * 1000
        runner = Runner(student_over(a, b, bad), concurrency=3, retry=RetryPolicy(3, 0.0, 0.0))
        results = asyncio.run(runner.run(home, bench(tmp_path, 40).tasks))
        counts = (a.count, b.count, bad.count)
    assert all(r.score == 1.0 for r in results), [r.error for r in results if r.error]
    assert bad.count <= 3, counts  # at most the first wave, then out for the cooldown
    assert a.count >= 15 and b.count >= 15, counts
    assert a.count + b.count == 40
    assert sum(r.attempts for r in results) == 40 + bad.count  # each failure retried once


def test_a_slow_endpoint_gets_fewer_requests(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    with ChatServer(lambda body: "ok", delay=0.2) as slow, ChatServer(lambda body: "ok") as fast:
        runner = Runner(student_over(slow, fast), concurrency=4)
        results = asyncio.run(runner.run(home, bench(tmp_path, 24).tasks))
        counts = (slow.count, fast.count)
    assert all(r.scored for r in results)
    assert fast.count > 2 * slow.count, counts


def test_an_endpoint_taken_out_is_tried_again_after_its_cooldown(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    with ChatServer(lambda body: "ok") as good, ChatServer(lambda body: "ok") as flaky:
        flaky.faults = ["500"]
        runner = Runner(
            student_over(good, flaky, cooldown=0.3), concurrency=1, retry=RetryPolicy(2, 0, 0)
        )
        first = asyncio.run(runner.run(home, bench(tmp_path, 4).tasks))
        assert flaky.count == 1  # failed once, then out
        time.sleep(0.35)
        second = asyncio.run(runner.run(home, bench(tmp_path, 4).tasks))
        assert flaky.count == 3, "back in after the cooldown: it takes its share again"
    assert all(r.scored for r in first + second)


# --- settings ------------------------------------------------------------------------------


def test_base_urls_in_config_build_one_student_over_every_endpoint(tmp_path: Path) -> None:
    urls = ["http://127.0.0.1:9001/v1", "http://127.0.0.1:9002/v1"]
    home = make_home(
        tmp_path / "home",
        extra_config=f"\n[specdistill.student]\nbase_urls = {urls!r}\n".replace("'", '"'),
    )
    student = student_from_config(home, environ={})
    assert isinstance(student, OpenAIStudent)
    assert [e.base_url for e in student.endpoints] == urls
    assert student.identity() == {"kind": "openai", "base_urls": sorted(urls)}
    one = student_from_config(home, environ={"SPECDISTILL_STUDENT_BASE_URL": urls[0]})
    assert isinstance(one, OpenAIStudent) and [e.base_url for e in one.endpoints] == urls[:1]


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        ('base_url = "http://a/v1"\nbase_urls = ["http://b/v1"]', "not both"),
        ("base_urls = []", "non-empty list"),
        ('base_urls = ["http://a/v1", 3]', "non-empty list"),
        ('base_urls = ["http://a/v1", "http://a/v1"]', "twice"),
        ('base_urls = ["ftp://a"]', "must start with http"),
    ],
    ids=["both", "empty", "not-a-string", "duplicate", "bad-scheme"],
)
def test_bad_base_urls_are_one_line_errors(tmp_path: Path, lines: str, message: str) -> None:
    home = make_home(tmp_path / "home", extra_config=f"\n[specdistill.student]\n{lines}\n")
    with pytest.raises(EvaluationConfigError) as info:
        student_from_config(home, environ={})
    assert message in info.value.message and "\n" not in info.value.message
