"""`specdistill bench run` and `specdistill cache stats|clear` through typer's CliRunner."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from eval_helpers import chat_server, make_home, task, write_jsonl
from specdistill.cli import app
from specdistill.evaluation import bench_run


@pytest.fixture
def home(tmp_path: Path) -> Path:
    home = make_home(tmp_path / "home")
    lines = [
        task("a", agent="alpha", cluster="arith", reference="x"),
        task("b", agent="beta", cluster="arith", reference="nope"),
        task("c", agent="beta", cluster="facts", reference="x"),
    ]
    write_jsonl(home / "benchmark.jsonl", lines)
    return home


def invoke(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env=env)
    return result.exit_code, result.output


def test_bench_run_cache_stats_and_clear(home: Path) -> None:
    with chat_server(lambda body: "x") as server:
        env = {"SPECDISTILL_STUDENT_BASE_URL": server.base_url}
        code, output = invoke("bench", "run", "--home", str(home), env=env)
        assert code == 0, output
        assert "arith" in output and "0.500" in output and "facts" in output and "1.000" in output
        code, output = invoke("bench", "run", "--home", str(home), "--json", env=env)
        assert code == 0 and server.count == 3  # the second run was all cache hits
        report = json.loads(output)
        assert report["snapshot"]["cluster_scores"] == {"arith": 0.5, "facts": 1.0}
        assert [c["cached"] for c in report["clusters"]] == [2, 1, 3]
    code, output = invoke("cache", "stats", "--home", str(home))
    assert code == 0 and "3 results for 3 tasks" in output
    code, output = invoke("cache", "clear", "--home", str(home))
    assert code == 0 and "removed 3 cached results" in output


def test_corrupt_cache_exits_with_the_hint(home: Path) -> None:
    (home / "learning" / "cache.db").write_bytes(b"garbage" * 200)
    code, output = invoke("cache", "stats", "--home", str(home))
    assert code == 1 and "unreadable" in output and "specdistill cache clear" in output
    code, output = invoke("cache", "clear", "--home", str(home))
    assert code == 0 and "removed an unreadable cache file" in output


def test_all_errors_exit_non_zero_and_list_them(home: Path) -> None:
    env = {"SPECDISTILL_STUDENT_BASE_URL": "http://127.0.0.1:9/v1"}
    config = home / "config.toml"
    config.write_text(config.read_text() + "\n[specdistill.runner]\nmax_attempts = 1\n")
    code, output = invoke("bench", "run", "--home", str(home), "--no-cache", env=env)
    assert code == 1 and "no task was scored" in output and "connection failed" in output
    assert not (home / "learning" / "cache.db").exists()


def test_bad_benchmark_exits_2(home: Path, tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    code, output = invoke("bench", "run", "--home", str(home), "--benchmark", str(bad))
    assert code == 2 and "bad.jsonl line 1: field" in output


def test_bench_run_library_function(home: Path) -> None:
    with chat_server(lambda body: "x") as server:
        config = home / "config.toml"
        config.write_text(
            config.read_text() + f'\n[specdistill.student]\nbase_url = "{server.base_url}"\n'
        )
        run = bench_run(home, use_cache=False, repeats=2)
        assert server.count == 6
    assert run.snapshot is not None and run.snapshot.task_count == 6
    assert [s.cluster for s in run.summaries] == ["arith", "facts", "(overall)"]
