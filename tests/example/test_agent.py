"""The bundled example agent: its answers depend on the spec it reads, field by field,
and nothing else; and the example data it ships with says what the agent does.

Each test changes one part of a real example home on disk (prompt, tools, params,
routing, exemplars) and checks that the agent's answer changes the way its docstring
says, through the same ``student_spec`` view the runner builds."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from specdistill.evaluation import load_benchmark
from specdistill.evaluation.command import bench_run
from specdistill.example import agent
from specdistill.example.quickstart import create_example_home
from specdistill.plan import load_plan


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return create_example_home(tmp_path / "home")


def task(question: str, query_class: str = "text", task_id: str = "t-1") -> dict[str, Any]:
    return {"id": task_id, "input": question, "query_class": query_class, "agent": "assistant"}


def set_text(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new), encoding="utf-8")


ARITH = task("What is 4 + 5 * 3?", "math")
CAPITAL = task("What is the capital of Peru?", "geo")  # beyond what small-model knows


def test_prompt_concise_gives_the_bare_answer(home: Path) -> None:
    question = task("Reverse the letters of 'planet'.")
    chatty = agent.answer(question, str(home))
    assert chatty != "tenalp" and "tenalp" in chatty
    prompt = home / "agents/assistant/system_prompt.md"
    prompt.write_text("Be concise.\n", encoding="utf-8")
    assert agent.answer(question, str(home)) == "tenalp"


def test_few_shot_exemplars_with_short_outputs_make_it_concise(home: Path) -> None:
    question = task("Reverse the letters of 'garden'.")
    exemplars = home / "agents/assistant/few_shot.json"
    exemplars.write_text(json.dumps([{"input": "q", "output": "a long chatty reply here"}]))
    assert agent.answer(question, str(home)) != "nedrag"
    exemplars.write_text(json.dumps([{"input": "q", "output": "short"}]))
    assert agent.answer(question, str(home)) == "nedrag"


def test_tools_a_calculator_described_as_exact_fixes_precedence(home: Path) -> None:
    descriptions = home / "tools/descriptions.toml"
    guess = agent.answer(ARITH, str(home))
    assert "27" in guess and "19" not in guess  # left to right: (4 + 5) * 3
    set_text(descriptions, '"A calculator."', '"Evaluates arithmetic exactly."')
    assert "19" in agent.answer(ARITH, str(home))
    # the same description, but the agent no longer has the tool: back to guessing
    set_text(home / "config.toml", 'tools = ["calculator"]', "tools = []")
    assert "27" in agent.answer(ARITH, str(home))


def test_params_temperature_makes_some_tasks_slip_deterministically(home: Path) -> None:
    tasks = [task("Reverse the letters of 'candle'.", task_id=f"t-{i}") for i in range(200)]
    assert all(agent.answer(t, str(home)) != agent.SLIP_ANSWER for t in tasks)
    set_text(home / "config.toml", "temperature = 0.2 ", "temperature = 1.5 ")
    first = [agent.answer(t, str(home)) for t in tasks]
    slipped = sum(a == agent.SLIP_ANSWER for a in first)
    assert 100 < slipped < 170  # p = 2/3 at 1.5
    assert [agent.answer(t, str(home)) for t in tasks] == first  # the same every time


def test_routing_big_model_knows_more_capitals(home: Path) -> None:
    assert "Lima" not in agent.answer(CAPITAL, str(home))
    assert "Paris" in agent.answer(task("What is the capital of France?", "geo"), str(home))
    set_text(home / "config.toml", 'geo = "small-model"', 'geo = "big-model"')
    assert "Lima" in agent.answer(CAPITAL, str(home))


def test_params_it_does_not_use_change_nothing(home: Path) -> None:
    questions = [ARITH, CAPITAL, task("How many grams are in 3 kilograms?", "units")]
    before = [agent.answer(q, str(home)) for q in questions]
    set_text(home / "config.toml", "max_turns = 4", "max_turns = 8")
    assert [agent.answer(q, str(home)) for q in questions] == before


def test_unknown_questions_are_not_guessed(home: Path) -> None:
    assert agent.answer(task("Tell me a joke."), str(home)) == agent.UNKNOWN_ANSWER
    miles = task("How many feet are in 3 miles?", "units")  # a unit it has no factor for
    assert agent.answer(miles, str(home)) == agent.UNKNOWN_ANSWER


@pytest.mark.parametrize(
    ("expression", "exact", "left_to_right"),
    [("2 + 3 * 4", 14, 20), ("2 * 3 + 4", 10, 10), ("10 - 2 * 3", 4, 24), ("1 + 2 * 3 - 4", 3, 5)],
    ids=["plus-times", "times-plus", "minus-times", "four-terms"],
)
def test_the_two_ways_of_doing_arithmetic(expression: str, exact: int, left_to_right: int) -> None:
    tokens = expression.split()
    assert agent.evaluate(tokens) == exact == eval(expression)  # the oracle: Python
    assert agent.evaluate_left_to_right(tokens) == left_to_right


def test_capital_table_has_no_accidental_matches() -> None:
    """A wrong guess must never contain the right capital (the scorer is 'contains')."""
    capitals = [c for _, c in agent.CAPITALS]
    for country, capital in agent.CAPITALS:
        assert capital.lower() not in country.lower()
        assert all(capital.lower() not in other.lower() for other in capitals if other != capital)
        assert capital.lower() not in agent.SLIP_ANSWER.lower()


def test_the_shipped_benchmark_matches_the_agent_and_the_plan(home: Path) -> None:
    bench = load_benchmark(home / "benchmark.jsonl")
    assert len(bench) == 160
    assert {c: sum(t.cluster == c for t in bench) for c in bench.clusters} == {
        "arithmetic": 40, "capitals": 40, "units": 40, "formatting": 40,
    }  # fmt: skip
    capitals = dict(agent.CAPITALS)
    for t in bench:
        if t.cluster == "arithmetic":
            expression = re.fullmatch(r"What is (.*)\?", t.input).group(1)  # type: ignore[union-attr]
            assert t.reference == agent.evaluate(expression.split())
        elif t.cluster == "capitals":
            country = re.fullmatch(r"What is the capital of (.*)\?", t.input).group(1)  # type: ignore[union-attr]
            assert t.reference == capitals[country]
    plan = load_plan(home / "plan.json")
    assert {e.expected_improvement for e in plan.edits} <= set(bench.clusters)


def test_baseline_scores_of_the_example_home(home: Path) -> None:
    run = bench_run(home, use_cache=False)
    assert run.snapshot is not None and run.snapshot.error_count == 0
    assert run.snapshot.cluster_scores == {
        "arithmetic": 0.25, "capitals": 0.3, "units": 1.0, "formatting": 0.0,
    }  # fmt: skip
