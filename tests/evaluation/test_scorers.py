"""Scorers as tables with readable ids, and the LLM judge against a loopback server."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from eval_helpers import chat_server, make_home, task, write_jsonl
from specdistill.evaluation import (
    ChatEndpoint,
    EvaluationConfigError,
    Judge,
    JudgeVerdict,
    OpenAIStudent,
    RetryPolicy,
    Scorer,
    ScorerRegistry,
    Task,
    TaskRunError,
    default_registry,
    judge_from_config,
    load_benchmark,
    normalize_text,
    parse_verdict,
    score_spec,
)


def score(scorer: str, reference: Any, answer: str, **options: Any) -> float:
    t = Task.model_validate(task("t", scorer=scorer, reference=reference, scorer_options=options))
    registry = default_registry()
    assert registry.check_task(t) is None
    return asyncio.run(registry.score(t, answer))


# (id, scorer, reference, options, answer, expected score)
CASES = [
    ("exact-match", "exact", "Paris", {}, "Paris", 1.0),
    ("exact-strips-whitespace", "exact", "Paris", {}, "  Paris\n", 1.0),
    ("exact-no-strip", "exact", "Paris", {"strip": False}, "Paris\n", 0.0),
    ("exact-is-case-sensitive", "exact", "Paris", {}, "paris", 0.0),
    ("exact-any-of-list", "exact", ["Paris", "Paris, France"], {}, "Paris, France", 1.0),
    ("normalized-case-punct-space", "normalized_exact", "The U.S.A.", {}, "  the   usa! ", 1.0),
    ("normalized-unicode-nfkc", "normalized_exact", "ﬁne", {}, "FINE", 1.0),
    ("normalized-different-words", "normalized_exact", "new york", {}, "york new", 0.0),
    ("contains-hit", "contains", "42", {}, "The answer is 42.", 1.0),
    ("contains-miss", "contains", "43", {}, "The answer is 42.", 0.0),
    ("contains-case-sensitive", "contains", "Paris", {}, "paris is nice", 0.0),
    ("contains-normalized", "contains", "PARIS!", {"normalize": True}, "paris is nice", 1.0),
    ("contains-all", "contains", ["red", "blue"], {"all": True}, "red and green", 0.0),
    ("contains-any", "contains", ["red", "blue"], {}, "red and green", 1.0),
    ("regex-search", "regex", r"\b4\d\b", {}, "maybe 42 or so", 1.0),
    ("regex-fullmatch-fails", "regex", r"\d+", {"fullmatch": True}, "42 apples", 0.0),
    ("regex-flags", "regex", r"^yes$", {"flags": "im"}, "well\nYES", 1.0),
    ("numeric-last-number", "numeric", 12, {}, "3 * 4 = 12", 1.0),
    ("numeric-last-not-first", "numeric", 3, {}, "3 * 4 = 12", 0.0),
    ("numeric-thousands", "numeric", 1234567, {}, "about 1,234,567 people", 1.0),
    ("numeric-negative-decimal", "numeric", -2.5, {}, "x = -2.50", 1.0),
    ("numeric-exponent", "numeric", 1500, {}, "1.5e3", 1.0),
    ("numeric-abs-tol", "numeric", 10, {"abs_tol": 0.5}, "10.4", 1.0),
    ("numeric-abs-tol-miss", "numeric", 10, {"abs_tol": 0.5}, "10.6", 0.0),
    ("numeric-rel-tol", "numeric", 1000, {"rel_tol": 0.01}, "1009", 1.0),
    ("numeric-string-reference", "numeric", "3.5", {}, "3.5 kg", 1.0),
    ("numeric-no-number-is-fail", "numeric", 1, {}, "I don't know", 0.0),
    ("numeric-trailing-period", "numeric", 42, {}, "It is 42.", 1.0),
    ("json-equal-object", "json_equal", {"a": [1, 2]}, {}, '{"a": [1, 2.0]}', 1.0),
    ("json-equal-fenced", "json_equal", [1], {}, "```json\n[1]\n```", 1.0),
    ("json-bool-is-not-number", "json_equal", {"a": 1}, {}, '{"a": true}', 0.0),
    ("json-key-order-irrelevant", "json_equal", {"a": 1, "b": 2}, {}, '{"b":2,"a":1}', 1.0),
    ("json-unparsable-is-fail", "json_equal", {"a": 1}, {}, "{a: 1}", 0.0),
    ("json-null", "json_equal", None, {}, "null", 1.0),
]  # fmt: skip


@pytest.mark.parametrize(
    ("scorer", "reference", "options", "answer", "expected"),
    [c[1:] for c in CASES],
    ids=[c[0] for c in CASES],
)
def test_scorer(scorer: str, reference: Any, options: dict, answer: str, expected: float) -> None:
    assert score(scorer, reference, answer, **options) == expected


def test_normalize_text() -> None:
    assert normalize_text("  Hello,\tWORLD!! ") == "hello world"


def test_regex_input_is_bounded() -> None:
    # a match beyond the bound is not seen: time spent matching is bounded
    assert score("regex", "needle", "x" * 100_000 + "needle") == 0.0


def test_registry_refuses_duplicates_and_checks_results() -> None:
    registry = ScorerRegistry((Scorer("half", lambda inp: 0.5),))
    with pytest.raises(ValueError, match="already registered"):
        registry.register(Scorer("half", lambda inp: 1.0))
    registry.register(Scorer("half", lambda inp: 2.0), replace=True)
    t = Task.model_validate(task("t", scorer="half"))
    with pytest.raises(TaskRunError, match=r"returned 2.0, not a score in \[0, 1\]"):
        asyncio.run(registry.score(t, "x"))
    with pytest.raises(KeyError, match="unknown scorer 'exact'"):
        registry.get("exact")


def test_custom_registry_at_load(tmp_path: Path) -> None:
    registry = ScorerRegistry((Scorer("always", lambda inp: 1.0),))
    path = write_jsonl(tmp_path / "tasks.jsonl", [task("t", scorer="always")])
    assert len(load_benchmark(path, registry=registry)) == 1


# --- the judge ------------------------------------------------------------------------


def judge_and_student(body: dict[str, Any]) -> str:
    """Grade by the rubric if this is a judge request; else answer as a student."""
    if body["model"] == "judge-m":
        prompt = body["messages"][1]["content"]
        if "MALFORMED" in prompt:
            return "Sure! The score is 0.8."
        if "OUT-OF-RANGE" in prompt:
            return '{"score": 1.5}'
        return json.dumps({"score": 0.75 if "Paris" in prompt else 0.0, "reason": "ok"})
    return "It is Paris."


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        ('{"score": 0.5, "reason": "half"}', JudgeVerdict(0.5, "half")),
        ('{"score": 1}', JudgeVerdict(1.0, "")),
        ("The score is 0.8", "not JSON"),
        ('```json\n{"score": 0.8}\n```', "not JSON"),
        ('{"score": "0.8"}', "needs a 'score'"),
        ('{"score": true}', "needs a 'score'"),
        ('{"score": -0.1}', "needs a 'score'"),
        ('{"verdict": 1}', "needs a 'score'"),
        ("[0.5]", "needs a 'score'"),
    ],
    ids=["ok", "int-ok", "prose", "fenced", "string", "bool", "negative", "no-score", "list"],
)
def test_parse_verdict(reply: str, expected: JudgeVerdict | str) -> None:
    if isinstance(expected, JudgeVerdict):
        verdict = parse_verdict(reply)
        assert verdict == expected and type(verdict.score) is float
    else:
        with pytest.raises(TaskRunError, match=expected) as info:
            parse_verdict(reply)
        assert not info.value.retryable


def test_judge_scores_and_malformed_replies_are_errors(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    lines = [
        task(
            "good",
            agent="alpha",
            scorer="judge",
            reference="Paris",
            scorer_options={"rubric": "Names the capital of France."},
        ),
        task(
            "malformed",
            agent="alpha",
            scorer="judge",
            reference="Paris",
            scorer_options={"rubric": "MALFORMED"},
        ),
        task(
            "range",
            agent="alpha",
            scorer="judge",
            reference="x",
            scorer_options={"rubric": "OUT-OF-RANGE"},
        ),
        task(
            "judge-500",
            agent="alpha",
            scorer="judge",
            reference="Paris",
            scorer_options={"rubric": "retry me"},
        ),
    ]
    bench = load_benchmark(write_jsonl(tmp_path / "tasks.jsonl", lines))
    with chat_server(judge_and_student) as server:
        # concurrency 1: request order is student, judge per task; the 4th judge call fails once
        server.faults = ["ok"] * 7 + ["500"]
        config = home / "config.toml"
        config.write_text(
            config.read_text() + '\n[specdistill.judge]\nmodel = "judge-m"\nbase_url = "x"\n'
        )
        judge = judge_from_config(home, environ={"SPECDISTILL_JUDGE_BASE_URL": server.base_url})
        assert isinstance(judge, Judge)
        student = OpenAIStudent(ChatEndpoint(server.base_url))
        results = asyncio.run(
            score_spec(
                home, bench, student, judge=judge, concurrency=1, retry=RetryPolicy(base_delay=0.01)
            )
        )
        judged = [r for r in server.requests if r["model"] == "judge-m"]
        assert len(judged) == 5  # one each, plus one retry after the 500; malformed not retried
    by_id = {r.task_id: r for r in results}
    assert by_id["good"].score == 0.75 and by_id["good"].error is None
    assert by_id["malformed"].score is None
    assert "scoring failed: malformed judge reply (not JSON)" in (by_id["malformed"].error or "")
    assert by_id["range"].score is None and "needs a 'score'" in (by_id["range"].error or "")
    assert by_id["judge-500"].score == 0.75 and by_id["judge-500"].attempts == 1
    request = judged[0]
    assert request["temperature"] == 0 and "Names the capital" in request["messages"][1]["content"]
    assert "It is Paris." in request["messages"][1]["content"]


def test_judge_tasks_without_a_judge_fail_before_running(tmp_path: Path) -> None:
    home = make_home(tmp_path / "home")
    line = task("t", agent="alpha", scorer="judge", scorer_options={"rubric": "r"})
    bench = load_benchmark(write_jsonl(tmp_path / "tasks.jsonl", [line]))
    assert judge_from_config(home, environ={}) is None
    with chat_server() as server:
        student = OpenAIStudent(ChatEndpoint(server.base_url))
        with pytest.raises(EvaluationConfigError, match="no judge is configured"):
            asyncio.run(score_spec(home, bench, student))
        assert server.count == 0


def test_runner_checks_tasks_against_its_own_registry(tmp_path: Path) -> None:
    from specdistill.evaluation import BenchmarkError

    home = make_home(tmp_path / "home")
    bench = load_benchmark(write_jsonl(tmp_path / "t.jsonl", [task("t", agent="alpha")]))
    with chat_server() as server:
        student = OpenAIStudent(ChatEndpoint(server.base_url))
        registry = ScorerRegistry((Scorer("always", lambda inp: 1.0),))
        with pytest.raises(BenchmarkError, match="task 't': field 'scorer': unknown scorer"):
            asyncio.run(score_spec(home, bench, student, registry=registry))
        assert server.count == 0
