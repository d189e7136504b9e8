"""The student's API key reaches the endpoint and nothing else: not logs, reprs, errors,
results or the cache file."""

from __future__ import annotations

import asyncio
import logging
import pickle
from pathlib import Path

import pytest

from eval_helpers import chat_server, make_home, task, write_jsonl
from specdistill.evaluation import (
    EvaluationConfigError,
    ResultCache,
    RetryPolicy,
    Secret,
    judge_from_config,
    load_benchmark,
    score_spec,
    student_from_config,
)

KEY = "sk-test-7f3a9c1e5b2d4e6f8a0b"


def test_key_never_leaks(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, httpx and httpcore included
    home = make_home(tmp_path / "home")
    config = home / "config.toml"
    config.write_text(config.read_text() + '\n[specdistill.student]\napi_key_env = "MY_KEY"\n')
    lines = [task(f"t{i}", agent="alpha") for i in range(4)]
    bench = load_benchmark(write_jsonl(tmp_path / "tasks.jsonl", lines))
    with chat_server() as server:
        # t0 succeeds; t1 gets a 401 whose body echoes the Authorization header; t2 a 500
        # with the same echo, retried then successful; t3 a garbage body then success.
        server.faults = ["ok", "echo-auth:401", "echo-auth:500", "ok", "garbage", "ok"]
        environ = {"MY_KEY": KEY, "SPECDISTILL_STUDENT_BASE_URL": server.base_url}
        student = student_from_config(home, environ=environ)
        with ResultCache.for_home(home) as cache:
            results = asyncio.run(
                score_spec(
                    home,
                    bench,
                    student,
                    cache=cache,
                    concurrency=1,
                    retry=RetryPolicy(base_delay=0.01),
                )
            )
        assert all(h.get("Authorization") == f"Bearer {KEY}" for h in server.headers)
    errors = [r.error for r in results if r.error]
    assert len(errors) == 1 and "HTTP 401" in errors[0] and "Bearer ***" in errors[0]
    texts = [repr(student), str(student), repr(student.endpoint), repr(results), caplog.text]
    assert "retrying" in caplog.text  # the retried 500 was logged ...
    for text in texts:
        assert KEY not in text  # ... without the key
    for path in (home / "learning").iterdir():
        assert KEY.encode() not in path.read_bytes(), path.name


def test_secret_masks_itself() -> None:
    secret = Secret(KEY)
    assert KEY not in repr(secret) and KEY not in str(secret) and KEY not in f"{secret}"
    assert secret.redact(f"got {KEY}!") == "got ***!"
    with pytest.raises(TypeError):
        pickle.dumps(secret)


def test_a_key_in_config_is_refused_without_echoing_it(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    config = home / "config.toml"
    config.write_text(config.read_text() + f'\n[specdistill.judge]\napi_key = "{KEY}"\n')
    with pytest.raises(EvaluationConfigError) as info:
        judge_from_config(home, environ={})
    assert "api_key is refused" in info.value.message and KEY not in str(info.value)


def test_a_long_error_body_is_redacted_before_it_is_cut(tmp_path: Path) -> None:
    """A 401 whose long body quotes the key where the quoted tail starts: no piece of the
    key reaches the error (redacted first, then cut)."""
    home = make_home(tmp_path / "home")
    config = home / "config.toml"
    config.write_text(config.read_text() + '\n[specdistill.student]\napi_key_env = "MY_KEY"\n')
    bench = load_benchmark(write_jsonl(tmp_path / "tasks.jsonl", [task("t0", agent="alpha")]))
    with chat_server() as server:
        server.faults = ["echo-auth-cut:401"]
        environ = {"MY_KEY": KEY, "SPECDISTILL_STUDENT_BASE_URL": server.base_url}
        student = student_from_config(home, environ=environ)
        [result] = asyncio.run(score_spec(home, bench, student, concurrency=1))
    assert result.error is not None and "HTTP 401" in result.error
    assert "***" in result.error
    assert not any(KEY[i : i + 8] in result.error for i in range(len(KEY) - 7))
