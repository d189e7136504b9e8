"""The one bounded JSONL reader: regular files only, a size bound, problems per line."""

from __future__ import annotations

import faulthandler
import json
import os
import sys
from pathlib import Path

import pytest

from specdistill.evaluation import BenchmarkError, load_benchmark, parse_benchmark
from specdistill.jsonl import json_objects, line_problem, read_head, read_text
from specdistill.teacher import TraceError, load_traces, parse_traces_jsonl


def objects(text: str) -> tuple[list[tuple[int, dict[str, object]]], list[str]]:
    problems: list[str] = []
    found = list(json_objects(text, label="f.jsonl", problems=problems))
    return found, problems


def test_line_problem_format() -> None:
    assert line_problem("f.jsonl", 3, "bad") == "f.jsonl line 3: bad"
    assert line_problem("f.jsonl", 3, "bad", field="id") == "f.jsonl line 3: field 'id': bad"


def test_objects_keep_their_line_numbers_and_blank_lines_count() -> None:
    found, problems = objects('{"a": 1}\n\n   \r\n{"b": 2}\r\n')
    assert found == [(1, {"a": 1}), (4, {"b": 2})]
    assert problems == []


@pytest.mark.parametrize(
    ("line", "problem"),
    [
        pytest.param("nope", "f.jsonl line 1: not JSON (Expecting value)", id="not-json"),
        pytest.param("[1]", "f.jsonl line 1: not a JSON object (list)", id="list"),
        pytest.param('{"x": NaN}', "f.jsonl line 1: not JSON (NaN is not a JSON number)", id="nan"),
        pytest.param('{"x": 1e999}', "f.jsonl line 1: not JSON (1e999 is out of range)", id="inf"),
        pytest.param(
            "[" * 100_000 + "]" * 100_000,
            "f.jsonl line 1: not JSON (nested too deeply)",
            id="deep",
        ),
    ],
)
def test_bad_lines_are_problems_not_exceptions(line: str, problem: str) -> None:
    found, problems = objects(line + '\n{"ok": true}\n')
    assert problems == [problem]
    assert found == [(2, {"ok": True})]


def test_a_long_line_is_refused_before_parsing() -> None:
    problems: list[str] = []
    text = json.dumps({"x": "y" * 100}) + "\n"
    found = list(json_objects(text, label="f.jsonl", problems=problems, max_line_bytes=50))
    assert found == []
    assert problems == ["f.jsonl line 1: longer than 50 B"]


@pytest.mark.parametrize("separator", ["\u2028", "\u2029", "\x0c", "\x85", "\x1e"])
def test_only_newline_ends_a_line(separator: str) -> None:
    # str.splitlines() would cut these JSON strings in two (the old readers did).
    line = json.dumps({"text": f"a{separator}b"}, ensure_ascii=False)
    found, problems = objects(line + "\n")
    assert problems == []
    assert found == [(1, {"text": f"a{separator}b"})]


def test_a_mined_answer_with_a_line_separator_loads_back() -> None:
    task = {
        "id": "t1",
        "input": "q\u2028more",
        "cluster": "c",
        "reference": "a",
        "scorer": "exact",
    }
    benchmark = parse_benchmark(json.dumps(task, ensure_ascii=False) + "\n")
    assert benchmark.tasks[0].input == "q\u2028more"


def test_problems_stay_in_line_order_with_the_callers_own() -> None:
    text = (
        '{"id": "a", "query": "q", "feedback": 2}\n'  # line 1: the caller's validation
        "not json\n"  # line 2: the reader's
        '{"id": "a", "query": "q"}\n'  # line 3: fine
        '{"id": "a", "query": "q"}\n'  # line 4: the caller's duplicate check
    )
    with pytest.raises(TraceError) as caught:
        parse_traces_jsonl(text)
    lines = [problem.split(":")[0] for problem in caught.value.problems]
    assert lines == [
        "traces.jsonl line 1",
        "traces.jsonl line 2",
        "traces.jsonl line 4",
    ]


def test_missing_file_names_it_and_carries_the_hint(tmp_path: Path) -> None:
    path = tmp_path / "nope.jsonl"
    with pytest.raises(TraceError) as caught:
        read_text(path, what="widget file", error=TraceError, missing_hint="make one")
    assert caught.value.problems == (f"{path}: no such widget file",)
    assert caught.value.hint == "make one"
    assert caught.value.path == path


def test_missing_benchmark_keeps_its_hint(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="no such benchmark file") as caught:
        load_benchmark(tmp_path / "benchmark.jsonl")
    assert caught.value.hint is not None and "--benchmark FILE" in caught.value.hint


def test_a_directory_is_refused(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError) as caught:
        load_benchmark(tmp_path)
    assert caught.value.problems == (f"{tmp_path}: not a regular file (a directory)",)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_without_waiting_for_a_writer(tmp_path: Path) -> None:
    fifo = tmp_path / "traces.jsonl"
    os.mkfifo(fifo)
    faulthandler.dump_traceback_later(10, exit=True)  # a blocking open would hang here
    try:
        with pytest.raises(TraceError) as caught:
            load_traces(fifo)
        with pytest.raises(BenchmarkError, match="not a regular file"):
            load_benchmark(fifo)
    finally:
        faulthandler.cancel_dump_traceback_later()
    assert caught.value.problems == (f"{fifo}: not a regular file (a special file)",)


def test_a_file_over_the_bound_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    path.write_bytes(b"x" * 101)
    with pytest.raises(TraceError) as caught:
        read_text(path, what="file", error=TraceError, max_bytes=100)
    assert caught.value.problems == (f"{path}: larger than 100 B",)
    path.write_bytes(b"x" * 100)
    assert read_text(path, what="file", error=TraceError, max_bytes=100) == "x" * 100


def test_text_that_is_not_utf8_cannot_be_read(tmp_path: Path) -> None:
    path = tmp_path / "latin1.jsonl"
    path.write_bytes(b'{"id": "caf\xe9"}\n')
    with pytest.raises(TraceError, match=r"cannot read \('utf-8' codec"):
        read_text(path, what="file", error=TraceError)


def test_read_head_reads_only_the_start(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"SQLite format 3\x00and more")
    assert read_head(path, 16, what="file", error=TraceError) == b"SQLite format 3\x00"


@pytest.mark.skipif(sys.platform == "win32" or os.geteuid() == 0, reason="needs POSIX perms")
def test_an_unreadable_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "secret.jsonl"
    path.write_text("{}\n")
    path.chmod(0)
    with pytest.raises(TraceError, match="cannot read"):
        read_text(path, what="file", error=TraceError)
