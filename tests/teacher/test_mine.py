"""Mining traces into a benchmark: the scorer rule, dedup, clusters, the content-hash version,
teacher-written references from a loopback teacher, and `specdistill benchmark build`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eval_helpers import write_jsonl
from specdistill.cli import app
from specdistill.evaluation import load_benchmark
from specdistill.teacher import (
    NotReady,
    Trace,
    build_benchmark,
    build_benchmark_file,
    choose_scorer,
    parse_traces_jsonl,
)
from teacher_helpers import TeacherServer, teacher_server, trace

LONG = "The answer depends on context. " * 8


@pytest.mark.parametrize(
    ("answer", "scorer", "reference"),
    [
        ("42", "numeric", 42),
        (" -3.5 ", "numeric", -3.5),
        ("1,234", "numeric", 1234),
        ("1.5e3", "numeric", 1500.0),
        ('{"a": [1, 2]}', "json_equal", {"a": [1, 2]}),
        ("[1, 2]", "json_equal", [1, 2]),
        ("Paris", "normalized_exact", "Paris"),
        ("{not json", "normalized_exact", "{not json"),
        ("42 apples", "normalized_exact", "42 apples"),
    ],
)
def test_scorer_rule(answer: str, scorer: str, reference: Any) -> None:
    assert choose_scorer(answer, judge_available=False)[:2] == (scorer, reference)


def test_free_form_needs_a_judge() -> None:
    with pytest.raises(ValueError, match="needs the judge scorer"):
        choose_scorer(LONG, judge_available=False)
    scorer, value, options = choose_scorer("line one\nline two", judge_available=True)
    assert scorer == "judge" and value == "line one\nline two" and "rubric" in options
    with pytest.raises(ValueError, match="empty answer"):
        choose_scorer("  ", judge_available=True)


def traces() -> list[Trace]:
    lines = [
        trace("h1", "What is 2+2?", "4", 0.9, query_class="math", ended_at=100),
        trace("h2", "what is 2+2", "4.0", 1.0, query_class="math", ended_at=50),
        trace("h3", "Capital of France?", "Paris", 0.85, agent="alpha"),
        trace("h4", "Give the config as JSON", '{"a": 1}', 0.9, query_class="json"),
        trace("h5", "Explain the plan", LONG, 0.95, query_class="math"),
        trace("h6", "WHAT is 2+2!!", "4", 1.0, query_class="math", ended_at=10),
        trace("l1", "What is 3+3?", "7", 0.3, query_class="math"),
        trace("u1", "What is 5+5?", "10", None, query_class="math"),
    ]
    return parse_traces_jsonl("".join(json.dumps(line) + "\n" for line in lines))


def test_build_dedupes_clusters_and_skips(tmp_path: Path) -> None:
    build = build_benchmark(traces())
    tasks = {t.id: t for t in build.benchmark}
    assert sorted(tasks) == ["h2", "h3", "h4"]  # h2: best-rated, newer than h6
    assert tasks["h2"].metadata["trace_ids"] == ["h1", "h2", "h6"]
    assert (tasks["h2"].scorer, tasks["h2"].reference, tasks["h2"].cluster) == (
        "numeric",
        4.0,
        "math",
    )
    assert (tasks["h3"].cluster, tasks["h3"].query_class, tasks["h3"].agent) == (
        "general",
        None,
        "alpha",
    )
    assert (tasks["h4"].scorer, tasks["h4"].reference) == ("json_equal", {"a": 1})
    assert build.duplicates == 2
    assert [(d.id, d.reason.split(" (")[0]) for d in build.skipped] == [("h5", "free-form answer")]
    assert build.cluster_counts() == {"general": 1, "json": 1, "math": 1}
    path = tmp_path / "bench.jsonl"
    path.write_text(build.text)
    assert load_benchmark(path).version == build.version  # the file is the benchmark


def test_version_is_the_content_hash() -> None:
    first = build_benchmark(traces())
    assert build_benchmark(list(reversed(traces()))).version == first.version
    assert build_benchmark(traces(), judge_available=True).version != first.version
    changed = [t.model_copy(update={"answer": "Lyon"}) if t.id == "h3" else t for t in traces()]
    assert build_benchmark(changed).version != first.version
    assert first.version.startswith("sha256:") and len(first.version) == 7 + 64


def test_nothing_to_mine_is_not_ready() -> None:
    only_long = parse_traces_jsonl(json.dumps(trace("x", "q", LONG, 1.0)) + "\n")
    with pytest.raises(NotReady, match="no task could be mined from 1 high-feedback traces"):
        build_benchmark(only_long)


def small_home(tmp_path: Path) -> Path:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        "[specdistill.traces]\nmin_traces = 4\nmin_high_feedback = 3\n"
    )
    return home


def write_traces(path: Path) -> Path:
    return write_jsonl(path, [t.model_dump(mode="json", exclude_none=True) for t in traces()])


def test_teacher_written_references(tmp_path: Path) -> None:
    home = small_home(tmp_path)
    with teacher_server() as server:
        server.add(
            "references",
            {"references": [{"id": "R4", "reference": "Do it in two steps"},
                            {"id": "R9", "reference": "?"}]},
        )  # fmt: skip
        env = {"SPECDISTILL_TEACHER_BASE_URL": server.base_url, "SPECDISTILL_TEACHER_MODEL": "t"}
        report = build_benchmark_file(
            write_traces(tmp_path / "t.jsonl"), home=home, teacher=True, environ=env
        )
        check_reference_request(server)
    tasks = report.build.benchmark.by_id
    assert tasks["h5"].reference == "Do it in two steps"  # mined thanks to the teacher
    assert tasks["h5"].scorer == "normalized_exact"
    assert tasks["h5"].metadata["reference_source"] == "teacher"
    assert tasks["h5"].metadata["trace_answer"] == LONG
    assert tasks["h3"].metadata["reference_source"] == "trace"
    assert any("unknown id" in note for note in report.build.notes)
    assert report.path == home / "benchmark.jsonl" and report.path.exists()


def check_reference_request(server: TeacherServer) -> None:
    [body] = server.bodies("references")
    user = body["messages"][1]["content"]
    items = json.loads(user.split("## Items")[1].split("## Reply format")[0])
    assert [i["id"] for i in items] == ["R1", "R2", "R3", "R4"]  # winners only, by alias
    assert items[0] == {"id": "R1", "query": "what is 2+2", "rated_answer": "4.0"}
    assert "h1" not in user and "What is 3+3?" not in user  # no ids, no low-rated traces


def test_cli_benchmark_build(tmp_path: Path) -> None:
    home = small_home(tmp_path)
    runner = CliRunner()
    source = write_traces(tmp_path / "t.jsonl")
    out = tmp_path / "out" / "b.jsonl"
    result = runner.invoke(
        app, ["benchmark", "build", "--traces", str(source), "--out", str(out), "--home", str(home)]
    )
    assert result.exit_code == 0, result.output
    version = load_benchmark(out).version
    assert f"version {version}" in result.output and "wrote 3 tasks" in result.output
    assert "2 duplicates merged; 1 skipped" in result.output
    result = runner.invoke(
        app, ["benchmark", "build", "--traces", str(source), "--home", str(home)]
    )
    assert result.exit_code == 0 and load_benchmark(home / "benchmark.jsonl").version == version
    (home / "config.toml").write_text("[specdistill.traces]\nmin_high_feedback = 50\n")
    result = runner.invoke(
        app, ["benchmark", "build", "--traces", str(source), "--home", str(home)]
    )
    assert result.exit_code == 2
    assert "too few high-feedback traces for a benchmark: 6" in result.stderr
