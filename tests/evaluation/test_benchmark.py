"""Benchmarks: the JSONL format, one clear error per bad line, identity by content."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from eval_helpers import task, write_jsonl
from specdistill.errors import InvalidInput
from specdistill.evaluation import Benchmark, BenchmarkError, Task, load_benchmark, parse_benchmark


def test_loads_every_field(tmp_path: Path) -> None:
    line = task(
        "t1",
        reference={"a": [1, 2]},
        scorer="json_equal",
        query_class="math",
        agent="alpha",
        metadata={"source": "unit"},
    )
    bench = load_benchmark(write_jsonl(tmp_path / "tasks.jsonl", [line, task("t2")]))
    assert [t.id for t in bench] == ["t1", "t2"]
    first = bench.by_id["t1"]
    assert (first.query_class, first.agent, first.metadata) == ("math", "alpha", {"source": "unit"})
    assert first.reference == {"a": [1, 2]}
    assert bench.by_id["t2"].scorer_options == {} and bench.by_id["t2"].agent is None
    assert bench.source == "tasks.jsonl" and bench.clusters == ["c"]


def test_blank_lines_are_skipped_and_null_reference_is_allowed() -> None:
    text = "\n" + json.dumps(task("a", reference=None, scorer="json_equal")) + "\n\n"
    assert parse_benchmark(text).by_id["a"].reference is None


# (id, the bad line, the message it must produce)
BAD_LINES = [
    ("missing-cluster", {k: v for k, v in task("t").items() if k != "cluster"},
     "tasks.jsonl line 2: field 'cluster': required key is missing"),
    ("missing-reference", {k: v for k, v in task("t").items() if k != "reference"},
     "line 2: field 'reference': required key is missing"),
    ("unknown-field", task("t", referense="x"), "line 2: field 'referense': unknown key"),
    ("id-not-string", task(7), "line 2: field 'id': Input should be a valid string"),
    ("empty-id", task(""), "line 2: field 'id': task id is empty"),
    ("agent-path", task("t", agent="../etc"), "line 2: field 'agent':"),
    ("unknown-scorer", task("t", scorer="fuzzy"), "line 2: field 'scorer': unknown scorer 'fuzzy'"),
    ("unknown-option", task("t", scorer_options={"strip": True, "tol": 1}),
     "line 2: field 'scorer_options.tol': unknown option (allowed: strip)"),
    ("bad-reference-type", task("t", reference=5),
     "line 2: field 'reference': must be a string or a non-empty list of strings"),
    ("regex-does-not-compile", task("t", scorer="regex", reference="(unclosed"),
     "line 2: field 'reference': pattern does not compile"),
    ("regex-too-long", task("t", scorer="regex", reference="a" * 1001),
     "line 2: field 'reference': pattern longer than 1000 characters"),
    ("numeric-bad-tolerance", task("t", scorer="numeric", reference=1,
                                   scorer_options={"abs_tol": -1}),
     "line 2: field 'scorer_options.abs_tol': must be a number >= 0"),
    ("judge-without-rubric", task("t", scorer="judge"),
     "line 2: field 'scorer_options.rubric': the judge needs a non-empty rubric string"),
    ("options-not-object", task("t", scorer_options=[1]), "line 2: field 'scorer_options':"),
]  # fmt: skip


@pytest.mark.parametrize(
    ("line", "message"), [b[1:] for b in BAD_LINES], ids=[b[0] for b in BAD_LINES]
)
def test_bad_line_is_named(tmp_path: Path, line: dict, message: str) -> None:
    path = write_jsonl(tmp_path / "tasks.jsonl", [task("ok"), line])
    with pytest.raises(BenchmarkError) as info:
        load_benchmark(path)
    assert message in info.value.message
    assert len(info.value.problems) == 1 and "\n" not in info.value.problems[0]
    assert isinstance(info.value, InvalidInput)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("not json\n", "line 1: not JSON"),
        ("[1, 2]\n", "line 1: not a JSON object (list)"),
        ("", "no tasks"),
        ('{"id": "t", "reference": NaN}\n', "line 1: not JSON (NaN is not a JSON number)"),
        ('{"id": "t", "reference": 1e999}\n', "line 1: not JSON (1e999 is out of range)"),
    ],
    ids=["not-json", "not-object", "empty-file", "nan", "overflow"],
)
def test_unparsable_lines(text: str, message: str) -> None:
    with pytest.raises(BenchmarkError, match=re.escape(message)):
        parse_benchmark(text)


def test_every_bad_line_is_listed_and_duplicates_refused(tmp_path: Path) -> None:
    lines = [task("a"), task("b"), {"id": "c"}, task("a"), task("d", scorer="nope")]
    with pytest.raises(BenchmarkError) as info:
        load_benchmark(write_jsonl(tmp_path / "tasks.jsonl", lines))
    problems = info.value.problems
    assert len(problems) == 3
    assert problems[1] == "tasks.jsonl line 4: field 'id': duplicate task id 'a' (first on line 1)"
    assert problems[0].startswith("tasks.jsonl line 3: field ")
    assert problems[2].startswith("tasks.jsonl line 5: field 'scorer'")


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(BenchmarkError, match="no such benchmark file"):
        load_benchmark(tmp_path / "absent.jsonl")


def test_version_is_a_content_hash_independent_of_line_order() -> None:
    a, b = task("a"), task("b", cluster="d")
    one = parse_benchmark(json.dumps(a) + "\n" + json.dumps(b))
    two = parse_benchmark(json.dumps(b) + "\n" + json.dumps(a))
    assert one.version == two.version and one.version.startswith("sha256:")
    changed = parse_benchmark(json.dumps(a) + "\n" + json.dumps({**b, "metadata": {"x": 1}}))
    assert changed.version != one.version
    # an explicit default hashes like an omitted one
    explicit = parse_benchmark(json.dumps({**a, "scorer_options": {}}) + "\n" + json.dumps(b))
    assert explicit.version == one.version


def test_task_hash_changes_with_any_field() -> None:
    base = Task.model_validate(task("a"))
    for field, value in [
        ("input", "other"),
        ("reference", "y"),
        ("cluster", "z"),
        ("query_class", "math"),
        ("scorer_options", {"strip": False}),
    ]:
        assert (
            Task.model_validate({**task("a"), field: value}).content_hash() != base.content_hash()
        )


def test_benchmark_refuses_duplicate_ids_in_memory() -> None:
    t = Task.model_validate(task("a"))
    with pytest.raises(BenchmarkError, match="duplicate"):
        Benchmark((t, t))


def test_public_names_are_sorted_and_importable() -> None:
    import specdistill.evaluation as evaluation

    assert evaluation.__all__ == sorted(evaluation.__all__)
    for name in evaluation.__all__:
        assert getattr(evaluation, name) is not None, name
