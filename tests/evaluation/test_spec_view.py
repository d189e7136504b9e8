"""The student's view of a spec: resolution rules, and fingerprints that move only when
the parts a task's student reads move."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from eval_helpers import apply_edit, make_home
from specdistill.evaluation import EvaluationConfigError, SpecFiles, student_spec


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


def test_view_of_alpha_for_math(home: Path) -> None:
    spec = student_spec(home, query_class="math", agent="alpha")
    assert spec.model == "math-model" and spec.model_source == "policy_map.math"
    # agent params win over model params; class/tools are not params
    assert dict(spec.params) == {"temperature": 0.3, "max_tokens": 128}
    assert spec.system_prompt == "You are alpha.\n"
    assert [(e.input, e.output) for e in spec.few_shot] == [("1+1?", "2")]
    assert [(t.name, t.description) for t in spec.tools] == [
        ("calculator", "Evaluate an arithmetic expression."),
        ("search", "Search the web."),
    ]
    assert spec.agent_class == "simple" and spec.home == home.absolute()


def test_model_fallbacks(home: Path) -> None:
    # unknown class and no class fall back to 'general'
    assert student_spec(home, query_class="poetry", agent="beta").model == "small-model"
    assert student_spec(home, agent="beta").model_source == "policy_map.general"
    # the agent's own model beats the catch-all, but not a route for the task's class
    apply_edit(home, "set_agent_param", {"agent": "beta", "param": "model", "value": "beta-m"})
    assert student_spec(home, agent="beta").model == "beta-m"
    assert student_spec(home, query_class="math", agent="beta").model == "math-model"
    # 'default' is tried before 'general'
    apply_edit(home, "set_model_for_query_class", {"query_class": "default", "model": "dflt"})
    assert student_spec(home, agent="alpha").model == "dflt"


def test_params_merge_model_then_agent(home: Path) -> None:
    spec = student_spec(home, query_class="chat", agent="beta")
    assert dict(spec.params) == {
        "temperature": 0.2,
        "max_tokens": 64,
        "top_p": 0.9,
        "max_turns": 3,
    }


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('[agent.a]\n[agent.b]\n[learning.routing.policy_map]\ngeneral = "m"\n', "names no agent"),
        ("[agent.a]\n", "no model for query class None"),
        ("[agent\n", "config.toml is not valid TOML"),
    ],
    ids=["ambiguous-agent", "no-model", "bad-toml"],
)
def test_unresolvable_views(tmp_path: Path, config: str, message: str) -> None:
    (tmp_path / "config.toml").write_text(config)
    with pytest.raises(EvaluationConfigError, match=message):
        student_spec(tmp_path)


def test_unknown_agent_and_bad_few_shot(home: Path) -> None:
    with pytest.raises(EvaluationConfigError, match="unknown agent 'gamma'"):
        student_spec(home, agent="gamma")
    (home / "agents" / "beta" / "few_shot.json").write_text('{"input": "x"}')
    with pytest.raises(EvaluationConfigError, match=r"few_shot\.json must be a JSON list"):
        student_spec(home, agent="beta")


def test_single_agent_and_configured_default(tmp_path: Path, home: Path) -> None:
    (tmp_path / "one").mkdir()
    (tmp_path / "one" / "config.toml").write_text('[agent.solo]\nmodel = "m"\n')
    spec = student_spec(tmp_path / "one")
    assert (spec.agent, spec.model, spec.system_prompt, spec.few_shot, spec.tools) == (
        "solo",
        "m",
        "",
        (),
        (),
    )
    config = home / "config.toml"
    config.write_text(config.read_text() + '\n[specdistill.student]\nagent = "beta"\n')
    assert student_spec(home).agent == "beta"


# --- fingerprints ---------------------------------------------------------------------

CASES = [("alpha", "math"), ("alpha", None), ("beta", "math"), ("beta", None)]


def fingerprints(home: Path) -> dict[tuple[str, str | None], str]:
    files = SpecFiles(home)
    return {(a, q): files.view(query_class=q, agent=a).fingerprint() for a, q in CASES}


# (id, op, payload, target, the (agent, query_class) views whose fingerprint must change)
EDITS = [
    ("alpha-prompt", "replace_system_prompt", {"new_content": "Be careful.\n", "agent": "alpha"},
     "", {("alpha", "math"), ("alpha", None)}),
    ("beta-few-shot", "edit_few_shot_exemplars",
     {"exemplars": [{"input": "q", "output": "a"}], "agent": "beta"},
     "", {("beta", "math"), ("beta", None)}),
    ("alpha-param", "set_agent_param", {"agent": "alpha", "param": "top_p", "value": 0.5},
     "", {("alpha", "math"), ("alpha", None)}),
    ("beta-class", "set_agent_class", {"new_class": "react"}, "agents.beta.system_prompt",
     {("beta", "math"), ("beta", None)}),
    ("calculator-description", "edit_tool_description",
     {"tool_name": "calculator", "new_description": "Do maths."}, "",
     {("alpha", "math"), ("alpha", None)}),
    ("search-description", "edit_tool_description",
     {"tool_name": "search", "new_description": "Find pages."}, "", set(CASES)),
    ("unused-tool-description", "edit_tool_description",
     {"tool_name": "weather", "new_description": "Forecast."}, "", set()),
    ("add-tool-to-beta", "add_tool_to_agent", {"agent": "beta", "tool_name": "weather"}, "",
     {("beta", "math"), ("beta", None)}),
    ("route-math", "set_model_for_query_class", {"query_class": "math", "model": "big"}, "",
     {("alpha", "math"), ("beta", "math")}),
    ("route-unused-class", "set_model_for_query_class",
     {"query_class": "poetry", "model": "big"}, "", set()),
    ("small-model-param", "set_model_param",
     {"model": "small-model", "param": "top_p", "value": 0.7}, "",
     {("alpha", None), ("beta", None)}),
    ("math-model-param", "set_model_param",
     {"model": "math-model", "param": "seed", "value": 7}, "",
     {("alpha", "math"), ("beta", "math")}),
]  # fmt: skip


@pytest.mark.parametrize(
    ("op", "payload", "target", "changed"), [e[1:] for e in EDITS], ids=[e[0] for e in EDITS]
)
def test_an_edit_moves_exactly_the_fingerprints_of_its_readers(
    home: Path, op: str, payload: dict, target: str, changed: set
) -> None:
    before = fingerprints(home)
    apply_edit(home, op, payload, target)
    after = fingerprints(home)
    assert {case for case in CASES if before[case] != after[case]} == changed


def test_fingerprint_ignores_location_and_unread_files(tmp_path: Path) -> None:
    one = make_home(tmp_path / "one")
    two = make_home(tmp_path / "two")
    (two / "agents" / "beta" / "notes.txt").write_text("not read by any student")
    (two / "learning" / "whatever.json").write_text(json.dumps({"x": 1}))
    assert fingerprints(one) == fingerprints(two)


def test_fingerprint_is_stable_across_processes(home: Path) -> None:
    import subprocess
    import sys

    code = (
        "import sys; from specdistill.evaluation import student_spec;"
        "print(student_spec(sys.argv[1], agent='alpha').fingerprint())"
    )
    out = subprocess.run([sys.executable, "-c", code, str(home)], capture_output=True, text=True)
    assert out.stdout.strip() == student_spec(home, agent="alpha").fingerprint()
