"""Plan against a scripted loopback teacher: valid plans, invalid JSON, schema-violating edits,
paths outside the home, big patches shown whole, and a budget that stops before the call."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from eval_helpers import make_home
from specdistill import ApplyContext, AutonomyMode, execute_edits, parse_plan
from specdistill.models import EditOp, EditPillar, EditRiskTier, FailureCluster
from specdistill.teacher import (
    BudgetExceeded,
    PlanResult,
    Pricing,
    TeacherClient,
    TeacherReplyError,
    plan_edits,
    rewrite_fraction,
    screen_edits,
)
from teacher_helpers import TeacherServer, make_client, teacher_server, tree_bytes

CLUSTERS = [
    FailureCluster(id="math", description="products", sample_trace_ids=["tr-1"],
                   student_failure_rate=0.5, skill_gap="multiplication"),
    FailureCluster(id="capitals", sample_trace_ids=["tr-3"], student_failure_rate=1.0),
]  # fmt: skip


def edit(id: str, op: str, payload: Any, cluster: str = "math", **fields: Any) -> dict[str, Any]:
    return {"id": id, "op": op, "pillar": "agent", "payload": payload, "rationale": "because",
            "expected_improvement": cluster, **fields}  # fmt: skip


VALID = edit("ok", "set_model_param", {"model": "math-model", "param": "temperature", "value": 0.0})


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


@pytest.fixture
def server() -> Any:
    with teacher_server() as running:
        yield running


def run_plan(
    client: TeacherClient, home: Path, clusters: list[FailureCluster] = CLUSTERS
) -> PlanResult:
    async def run() -> PlanResult:
        try:
            return await plan_edits(client, home=home, clusters=clusters, session_id="s-1")
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_a_valid_plan_is_kept_with_our_tiers(server: TeacherServer, home: Path) -> None:
    server.add(
        "plan",
        {
            "diagnosis_summary": "Products go wrong.",
            "failure_clusters": [{"id": "invented", "student_failure_rate": 0.0}],
            "edits": [
                {**VALID, "pillar": "tools", "risk_tier": "review"},
                edit("prompt", "replace_system_prompt",
                     {"agent": "alpha", "new_content": "Multiply carefully.\n"}, risk_tier="auto"),
                edit("tool", "add_tool_to_agent", {"agent": "beta", "tool_name": "calculator"},
                     "capitals", risk_tier="superuser"),
            ],
        },
    )  # fmt: skip
    before = tree_bytes(home)
    client = make_client(server)
    result = run_plan(client, home)
    plan = result.plan
    assert [e.id for e in plan.edits] == ["ok", "prompt", "tool"] and result.dropped == []
    assert [e.risk_tier for e in plan.edits] == [
        EditRiskTier.AUTO,  # the teacher's "review" is ignored too: the tier is ours
        EditRiskTier.REVIEW,
        EditRiskTier.AUTO,
    ]
    assert plan.edits[0].pillar == EditPillar.INTELLIGENCE
    assert plan.failure_clusters == CLUSTERS  # measured clusters, not the teacher's echo
    assert plan.session_id == "s-1" and plan.diagnosis_summary == "Products go wrong."
    assert plan.estimated_cost_usd == client.ledger.spent_usd
    assert parse_plan(plan.model_dump(mode="json")) == plan  # ready to freeze
    assert json.loads(json.dumps(result.as_json()))["plan"]["session_id"] == "s-1"
    assert tree_bytes(home) == before  # planning writes nothing
    [body] = server.bodies("plan")
    assert body["response_format"]["json_schema"]["schema"]["title"] == "specdistill LearningPlan"
    assert "tr-1" not in body["messages"][1]["content"]  # trace ids stay home


# (id, raw edit, reason it is dropped)
BAD_EDITS: list[tuple[str, Any, str]] = [
    ("unknown-op", edit("a", "delete_everything", {}), "field 'op': Input should be"),
    ("missing-key", edit("b", "set_model_param", {"model": "m", "param": "top_p"}),
     "field 'payload.value': required key is missing"),
    ("extra-payload-key", edit("c", "add_tool_to_agent",
     {"agent": "alpha", "tool_name": "weather", "force": True}),
     "field 'payload.force': unknown key"),
    ("wrong-type", edit("d", "set_model_for_query_class", {"query_class": "math", "model": 42}),
     "field 'payload.model'"),
    ("toml-injection-value", edit("e", "set_model_param", {"model": "m", "param": "x\"]\n[evil",
     "value": 1}), "field 'payload.param'"),
    ("extra-edit-key", {**VALID, "id": "f", "confidence": 0.9}, "field 'confidence': unknown key"),
    ("not-an-object", "set temperature to 0", "not a JSON object (str)"),
    ("duplicate-id", {**VALID}, "duplicate id: already used by another edit of this plan"),
    ("unknown-cluster", {**VALID, "id": "g", "expected_improvement": "weather"},
     "expected_improvement 'weather' is not a diagnosed cluster (clusters: math, capitals)"),
    ("no-cluster", {**VALID, "id": "h", "expected_improvement": ""}, "expected_improvement ''"),
    ("not-a-toml-value", edit("i", "set_model_param", {"model": "m", "param": "stop",
     "value": {"nested": 1}}), "field 'payload.value': must be a bool"),
]  # fmt: skip


def test_schema_violating_edits_are_dropped_and_the_rest_kept(
    server: TeacherServer, home: Path
) -> None:
    server.add("plan", {"edits": [VALID, *(bad for _, bad, _ in BAD_EDITS)]})
    result = run_plan(make_client(server), home)
    assert [e.id for e in result.plan.edits] == ["ok"]
    assert len(result.dropped) == len(BAD_EDITS)
    for (case, _, reason), dropped in zip(BAD_EDITS, result.dropped, strict=True):
        assert reason in dropped.reason, (case, dropped)
        assert dropped.kind == "edit"
    assert result.dropped[6].id == "#7"  # no id of its own: its index in the reply


def test_edits_naming_paths_outside_the_home_are_dropped(
    server: TeacherServer, home: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "system_prompt.md").write_text("not yours\n")
    (home / "agents" / "gamma").symlink_to(outside, target_is_directory=True)
    escapes = [
        {**VALID, "id": "p1", "target": "../../etc/passwd"},
        edit("p2", "patch_system_prompt", {"diff": "@@ -1 +1 @@\n-not yours\n+mine\n"},
             target="agents/../../outside/system_prompt"),
        edit("p3", "replace_system_prompt", {"agent": "gamma", "new_content": "owned\n"}),
        edit("p4", "lora_finetune", {"target_model": "m", "data_source": "/etc/shadow"}),
        edit("p5", "edit_few_shot_exemplars", {"exemplars": []}, target="agents.../x.few_shot"),
        edit("p6", "replace_system_prompt", {"agent": "..", "new_content": "x"}),
    ]  # fmt: skip
    server.add("plan", {"edits": [*escapes, VALID]})
    before, outside_before = tree_bytes(home), tree_bytes(outside)
    result = run_plan(make_client(server), home)
    assert [e.id for e in result.plan.edits] == ["ok"]
    reasons = {d.id: d.reason for d in result.dropped}
    assert reasons["p1"] == "target '../../etc/passwd' names a path outside the spec home"
    assert "names a path outside the spec home" in reasons["p2"]
    assert "resolves outside the spec home" in reasons["p3"]
    assert reasons["p4"] == "payload.data_source '/etc/shadow' names a path outside the spec home"
    assert "agent name" in reasons["p5"] and "agent name" in reasons["p6"]
    assert tree_bytes(home) == before
    # executing what was kept changes only the spec, never anything outside it
    outcomes = execute_edits(
        edits=result.plan.edits, ctx=ApplyContext(home=home), autonomy_mode=AutonomyMode.AUTO
    )
    assert [o.status for o in outcomes] == ["applied"]
    assert tree_bytes(outside) == outside_before


PROMPT = "You are alpha.\nBe brief.\nUse tools.\nCite sources.\n"


def test_a_patch_rewriting_most_of_the_prompt_becomes_a_replace(home: Path) -> None:
    (home / "agents" / "alpha" / "system_prompt.md").write_text(PROMPT)
    big = (
        "@@ -1,4 +1,4 @@\n You are alpha.\n-Be brief.\n-Use tools.\n-Cite sources.\n"
        "+Multiply carefully.\n+Check every product.\n+Answer with a number.\n"
    )
    follow_up = "@@ -4 +4 @@\n-Answer with a number.\n+Answer with a number only.\n"
    stale = "@@ -2 +2 @@\n-Be brief.\n+Be brief and exact.\n"
    raws = [
        edit("big", "patch_system_prompt", {"agent": "alpha", "diff": big}),
        edit("small", "patch_system_prompt", {"agent": "alpha", "diff": follow_up}),
        edit("stale", "patch_system_prompt", {"agent": "alpha", "diff": stale}),
    ]
    screened = screen_edits(raws, home=home, clusters=["math"], max_edits=5)
    big_edit, small_edit = screened.edits
    assert screened.converted == ["big"]
    assert big_edit.op is EditOp.REPLACE_SYSTEM_PROMPT
    assert big_edit.risk_tier is EditRiskTier.REVIEW
    assert big_edit.payload == {
        "agent": "alpha",
        "new_content": "You are alpha.\nMultiply carefully.\nCheck every product.\n"
        "Answer with a number.\n",
    }
    assert "rewrote 75% of the prompt" in big_edit.rationale
    # a small patch on top of the new prompt stays a patch (1 line of 4)
    assert small_edit.op is EditOp.PATCH_SYSTEM_PROMPT and small_edit.payload["diff"] == follow_up
    # a patch against text the big one removed no longer applies: dropped
    [dropped] = screened.dropped
    assert dropped.id == "stale" and "patch does not apply" in dropped.reason
    # applying the kept edits gives exactly the text the plan was screened against
    outcomes = execute_edits(
        edits=screened.edits, ctx=ApplyContext(home=home), autonomy_mode=AutonomyMode.AUTO
    )
    assert [o.status for o in outcomes] == ["applied", "applied"]
    assert (home / "agents" / "alpha" / "system_prompt.md").read_text() == (
        "You are alpha.\nMultiply carefully.\nCheck every product.\nAnswer with a number only.\n"
    )


@pytest.mark.parametrize(
    ("before", "after", "fraction"),
    [
        ("a\nb\n", "a\nb\n", 0.0),
        ("a\nb\nc\nd\n", "a\nX\nc\nd\n", 0.25),
        ("a\nb\n", "a\nb\nc\nd\ne\n", 0.6),
        ("", "new\n", 1.0),
        ("old\n", "", 1.0),
        ("", "", 0.0),
    ],
    ids=["same", "one-of-four", "grown", "from-empty", "to-empty", "both-empty"],
)
def test_rewrite_fraction(before: str, after: str, fraction: float) -> None:
    assert rewrite_fraction(before, after) == pytest.approx(fraction)


def test_max_edits_keeps_the_first_valid_ones(home: Path) -> None:
    raws = [
        {**VALID, "id": f"e{i}", "payload": {**VALID["payload"], "value": i / 10}} for i in range(4)
    ]
    screened = screen_edits(raws, home=home, clusters=["math"], max_edits=2)
    assert [e.id for e in screened.edits] == ["e0", "e1"]
    assert [d.reason for d in screened.dropped] == ["over the limit of 2 edits"] * 2


def test_invalid_json_twice_is_a_clear_error(server: TeacherServer, home: Path) -> None:
    server.add("plan", "I think you should lower the temperature.", "{edits: [}")
    with pytest.raises(TeacherReplyError, match="plan reply was not usable twice: not JSON"):
        run_plan(make_client(server), home)
    assert server.count == 2


def test_a_reply_without_edits_is_retried_then_used(server: TeacherServer, home: Path) -> None:
    server.add("plan", {"plan": "lower temperature"}, {"edits": [VALID]})
    result = run_plan(make_client(server), home)
    assert [e.id for e in result.plan.edits] == ["ok"] and server.count == 2


def test_no_cluster_no_call(server: TeacherServer, home: Path) -> None:
    result = run_plan(make_client(server), home, clusters=[])
    assert result.plan.edits == [] and server.count == 0


def test_budget_stops_before_the_plan_call(server: TeacherServer, home: Path) -> None:
    """Diagnose-then-plan on one ledger: the plan call does not fit, so it is never sent
    and what the earlier call produced is still in hand."""
    client = make_client(server, pricing=Pricing(0.01, 0.01))
    server.add("references", {"references": []})
    server.add("plan", {"edits": [VALID]})

    async def earlier_call() -> Any:
        try:
            return await client.complete_json(
                "references", system="s", user="TASK: references\n[]", check=lambda d: d
            )
        finally:
            await client.aclose()

    kept = asyncio.run(earlier_call())
    client.ledger.limit_usd = client.ledger.spent_usd + 0.001
    with pytest.raises(BudgetExceeded) as caught:
        run_plan(client, home)
    assert caught.value.purpose == "plan"
    assert server.bodies("plan") == [] and server.count == 1
    assert kept == {"references": []} and len(client.ledger.calls) == 1
