"""Traces: the JSONL format and its bad lines, a real OpenJarvis-style traces.db, and the
readiness checks (library and `specdistill traces check`)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from eval_helpers import write_jsonl
from specdistill.cli import app
from specdistill.teacher import (
    NotReady,
    TeacherConfigError,
    TraceError,
    TraceThresholds,
    check_readiness,
    load_traces,
    parse_traces_jsonl,
    trace_thresholds,
)
from teacher_helpers import trace


def test_jsonl_reads_every_field(tmp_path: Path) -> None:
    line = trace(
        "t1", "What is 17 * 3?", "51", 1, query_class="math", agent="alpha",
        started_at="2025-06-01T10:00:00Z", ended_at=1748772002.5,
        tool_calls=[{"name": "calculator", "arguments": {"expr": "17*3"}, "result": "51"}],
        metadata={"user": "u1"},
    )  # fmt: skip
    t, unrated = load_traces(write_jsonl(tmp_path / "t.jsonl", [line, {"id": "t2", "query": "hi"}]))
    assert (t.id, t.query, t.answer, t.feedback) == ("t1", "What is 17 * 3?", "51", 1.0)
    assert t.started_at == datetime(2025, 6, 1, 10, tzinfo=UTC)
    assert t.ended_at is not None and t.ended_at.timestamp() == 1748772002.5
    assert t.tool_calls[0].name == "calculator" and t.tool_calls[0].arguments == {"expr": "17*3"}
    assert unrated.feedback is None and unrated.answer == "" and unrated.tool_calls == []


# (id, line text, expected problem)
BAD_LINES = [
    ("not-json", "{nope", "line 1: not JSON"),
    ("not-object", "[1, 2]", "line 1: not a JSON object (list)"),
    ("feedback-high", '{"id": "a", "query": "q", "feedback": 1.5}', "field 'feedback': Input "
     "should be less than or equal to 1 (got 1.5)"),
    ("feedback-bool", '{"id": "a", "query": "q", "feedback": true}', "field 'feedback': must be "
     "a number in [0, 1], not a boolean"),
    ("feedback-nan", '{"id": "a", "query": "q", "feedback": NaN}', "not JSON (NaN is not a JSON"),
    ("unknown-field", '{"id": "a", "query": "q", "score": 1}', "field 'score': unknown key"),
    ("no-query", '{"id": "a"}', "field 'query': required key is missing"),
    ("agent-path", '{"id": "a", "query": "q", "agent": "../x"}', "field 'agent': agent name"),
    ("bad-time", '{"id": "a", "query": "q", "started_at": "yesterday"}', "field 'started_at'"),
    ("tool-no-name", '{"id": "a", "query": "q", "tool_calls": [{"arguments": 1}]}',
     "field 'tool_calls.0.name': required key is missing"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "expected"), [b[1:] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES]
)
def test_each_bad_line_gets_one_clear_message(text: str, expected: str) -> None:
    with pytest.raises(TraceError) as caught:
        parse_traces_jsonl(text + "\n", label="t.jsonl")
    assert len(caught.value.problems) == 1
    assert caught.value.problems[0].startswith("t.jsonl line 1")
    assert expected in caught.value.problems[0]


def test_every_bad_line_is_reported_with_its_number() -> None:
    text = '{"id": "a", "query": "q"}\n\n{bad\n{"id": "a", "query": "q2"}\n{"id": "b"}\n'
    with pytest.raises(TraceError) as caught:
        parse_traces_jsonl(text, label="t.jsonl")
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "t.jsonl line 3",
        "t.jsonl line 4",
        "t.jsonl line 5",
    ]
    assert "duplicate trace id 'a' (first on line 1)" in caught.value.problems[1]


# --- SQLite (OpenJarvis traces.db) ---------------------------------------------------

OPENJARVIS_SCHEMA = """
CREATE TABLE traces (
    id INTEGER PRIMARY KEY AUTOINCREMENT, trace_id TEXT NOT NULL UNIQUE,
    query TEXT NOT NULL DEFAULT '', agent TEXT NOT NULL DEFAULT '',
    model TEXT NOT NULL DEFAULT '', engine TEXT NOT NULL DEFAULT '',
    result TEXT NOT NULL DEFAULT '', outcome TEXT, feedback REAL,
    started_at REAL NOT NULL DEFAULT 0.0, ended_at REAL NOT NULL DEFAULT 0.0,
    total_tokens INTEGER NOT NULL DEFAULT 0, total_latency_seconds REAL NOT NULL DEFAULT 0.0,
    metadata TEXT NOT NULL DEFAULT '{}', messages TEXT NOT NULL DEFAULT '[]'
);
CREATE TABLE trace_steps (
    id INTEGER PRIMARY KEY AUTOINCREMENT, trace_id TEXT NOT NULL, step_index INTEGER NOT NULL,
    step_type TEXT NOT NULL, timestamp REAL NOT NULL DEFAULT 0.0,
    duration_seconds REAL NOT NULL DEFAULT 0.0, input TEXT NOT NULL DEFAULT '{}',
    output TEXT NOT NULL DEFAULT '{}', metadata TEXT NOT NULL DEFAULT '{}'
);
"""


def make_db(path: Path, rows: list[dict[str, Any]], schema: str = OPENJARVIS_SCHEMA) -> Path:
    db = sqlite3.connect(path)
    db.executescript(schema)
    for row in rows:
        columns = ", ".join(row)
        db.execute(
            f"INSERT INTO traces ({columns}) VALUES ({', '.join('?' * len(row))})",
            list(row.values()),
        )
    db.commit()
    db.close()
    return path


def test_reads_an_openjarvis_traces_db(tmp_path: Path) -> None:
    db_path = make_db(
        tmp_path / "traces.db",
        [
            {"trace_id": "a", "query": "2+2?", "agent": "alpha", "model": "m", "result": "4",
             "feedback": 0.9, "started_at": 1748772000.0, "ended_at": 1748772002.0,
             "metadata": json.dumps({"query_class": "math"}), "outcome": "success"},
            {"trace_id": "b", "query": "hello", "result": "hi", "feedback": None},
        ],
    )  # fmt: skip
    db = sqlite3.connect(db_path)
    db.execute(
        "INSERT INTO trace_steps (trace_id, step_index, step_type, input, output) "
        "VALUES ('a', 0, 'tool_call', ?, ?), ('a', 1, 'generate', '{}', '{}')",
        (json.dumps({"tool": "calculator", "arguments": {"expr": "2+2"}}), json.dumps("4")),
    )
    db.commit()
    db.close()
    before = db_path.read_bytes()
    a, b = load_traces(db_path)
    assert (a.id, a.query, a.answer, a.feedback, a.agent) == ("a", "2+2?", "4", 0.9, "alpha")
    assert a.query_class == "math"  # from metadata: the table has no query_class column
    assert a.started_at == datetime.fromtimestamp(1748772000.0, tz=UTC)
    assert a.metadata["model"] == "m" and a.metadata["outcome"] == "success"
    assert [(c.name, c.arguments, c.result) for c in a.tool_calls] == [
        ("calculator", {"expr": "2+2"}, "4")
    ]
    assert (b.feedback, b.agent, b.started_at, b.tool_calls) == (None, None, None, [])
    assert db_path.read_bytes() == before  # read-only


def test_sqlite_without_the_table_or_columns_is_refused(tmp_path: Path) -> None:
    other = make_db(tmp_path / "other.db", [], schema="CREATE TABLE runs (x TEXT);")
    with pytest.raises(TraceError, match=r"no table 'traces' \(expected an OpenJarvis"):
        load_traces(other)
    partial = make_db(
        tmp_path / "partial.db",
        [],
        schema="CREATE TABLE traces (trace_id TEXT, query TEXT, result TEXT);",
    )
    with pytest.raises(TraceError) as caught:
        load_traces(partial)
    message = caught.value.message
    assert "lacks column(s) feedback" in message and "has: trace_id, query, result" in message


def test_sqlite_bad_rows_are_named_by_row_and_trace_id(tmp_path: Path) -> None:
    db_path = make_db(
        tmp_path / "traces.db",
        [
            {"trace_id": "ok", "query": "q", "result": "a", "feedback": 1.0},
            {"trace_id": "bad", "query": "q", "result": "a", "feedback": 7.0},
            {"trace_id": "evil", "query": "q", "result": "a", "feedback": 1.0, "agent": "../x"},
        ],
    )
    with pytest.raises(TraceError) as caught:
        load_traces(db_path)
    assert [p.split(":")[0] for p in caught.value.problems] == [
        "traces.db row 2 (trace_id 'bad')",
        "traces.db row 3 (trace_id 'evil')",
    ]


def test_garbage_with_a_sqlite_header_and_missing_files(tmp_path: Path) -> None:
    fake = tmp_path / "fake.db"
    fake.write_bytes(b"SQLite format 3\x00" + b"\xff" * 200)
    with pytest.raises(TraceError, match=r"fake\.db"):
        load_traces(fake)
    with pytest.raises(TraceError, match="no such traces file"):
        load_traces(tmp_path / "absent.jsonl")


# --- readiness -------------------------------------------------------------------------


def _traces(n_high: int, n_failing: int, n_unrated: int = 0) -> list[Any]:
    lines = [trace(f"h{i}", f"q{i}", "a", 0.9, query_class="math") for i in range(n_high)]
    lines += [trace(f"f{i}", f"p{i}", "b", 0.1) for i in range(n_failing)]
    lines += [trace(f"u{i}", f"r{i}", "c", None) for i in range(n_unrated)]
    return parse_traces_jsonl("".join(json.dumps(line) + "\n" for line in lines))


def test_readiness_counts_and_messages() -> None:
    ready = check_readiness(_traces(10, 5, 5))
    assert (ready.total, ready.rated, ready.high, ready.failing) == (20, 15, 10, 5)
    assert ready.ok and ready.by_query_class["math"].high == 10
    assert ready.by_query_class[None].failing == 5

    short = check_readiness(_traces(3, 0))
    assert short.benchmark_problems == (
        "too few traces: 3 (need at least 20; [specdistill.traces] min_traces)",
        "too few high-feedback traces for a benchmark: 3 with feedback >= 0.8 (need at least "
        "10; [specdistill.traces] min_high_feedback)",
    )
    assert short.diagnosis_problems[0].startswith("no failing traces to diagnose")
    with pytest.raises(NotReady, match="too few traces: 3"):
        short.require_benchmark()
    relaxed = check_readiness(_traces(3, 1), TraceThresholds(min_traces=4, min_high_feedback=3))
    assert relaxed.ok


def test_thresholds_from_config(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        "[specdistill.traces]\nmin_traces = 2\nhigh_feedback = 0.95\n"
    )
    limits = trace_thresholds(tmp_path)
    assert (limits.min_traces, limits.high_feedback, limits.min_high_feedback) == (2, 0.95, 10)
    (tmp_path / "config.toml").write_text("[specdistill.traces]\nlow_feedback = 0.9\n")
    with pytest.raises(TeacherConfigError, match="low_feedback <= high_feedback"):
        trace_thresholds(tmp_path)


def test_cli_traces_check(tmp_path: Path) -> None:
    runner = CliRunner()
    path = tmp_path / "t.jsonl"
    path.write_text("".join(json.dumps(t.model_dump(mode="json")) + "\n" for t in _traces(10, 10)))
    result = runner.invoke(app, ["traces", "check", "--traces", str(path), "--home", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "ready: enough traces" in result.output and "math" in result.output
    small = write_jsonl(tmp_path / "small.jsonl", [trace("a", "q", "x", 1.0)])
    result = runner.invoke(app, ["traces", "check", "--traces", str(small), "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["problems"][0].startswith("too few traces: 1")
    assert "too few high-feedback traces" in result.stderr
