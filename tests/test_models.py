"""Models: enum values, field names and outcome statuses as DESIGN.md states them,
strictness (extra keys refused), the Edit JSON round trip, and ``specdistill schema``."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from conftest import VALID_PAYLOADS, make_edit
from specdistill import (
    AutonomyMode,
    BenchmarkSnapshot,
    Edit,
    EditOp,
    EditOutcome,
    EditPillar,
    EditRiskTier,
    FailureCluster,
    LearningPlan,
    LearningSession,
    SessionStatus,
    TriggerKind,
)
from specdistill.cli import app
from specdistill.models import OUTCOME_STATUSES
from specdistill.plan import plan_json_schema

# --- enums: values are the wire format, shared with OpenJarvis ------------------------------


def test_edit_op_values_are_the_eleven_ops_of_design_md() -> None:
    assert [op.value for op in EditOp] == [
        "set_model_for_query_class",
        "set_model_param",
        "patch_system_prompt",
        "replace_system_prompt",
        "set_agent_class",
        "set_agent_param",
        "edit_few_shot_exemplars",
        "add_tool_to_agent",
        "remove_tool_from_agent",
        "edit_tool_description",
        "lora_finetune",
    ]


@pytest.mark.parametrize(
    ("enum", "values"),
    [
        pytest.param(EditPillar, ["intelligence", "agent", "tools", "engine"], id="pillar"),
        pytest.param(EditRiskTier, ["auto", "review", "manual"], id="risk-tier"),
        pytest.param(AutonomyMode, ["auto", "tiered", "manual"], id="autonomy-mode"),
    ],
)
def test_enum_values(enum: type, values: list[str]) -> None:
    assert [member.value for member in enum] == values
    # StrEnum: members compare equal to (and serialize as) their value
    assert all(member == member.value for member in enum)


def test_session_and_trigger_enums_are_strings() -> None:
    assert SessionStatus("rolled_back") is SessionStatus.ROLLED_BACK
    assert TriggerKind("on_demand") is TriggerKind.ON_DEMAND
    assert {s.value for s in SessionStatus} >= {"completed", "failed", "awaiting_review"}


def test_outcome_statuses_are_exactly_design_md() -> None:
    assert set(OUTCOME_STATUSES) == {
        "applied",
        "rejected_by_gate",
        "pending_review",
        "rejected_by_user",
        "rolled_back",
        "skipped",
    }
    for status in OUTCOME_STATUSES:
        assert EditOutcome(edit_id="e", status=status).status == status


def test_unknown_outcome_status_is_refused() -> None:
    with pytest.raises(ValidationError):
        EditOutcome(edit_id="e", status="accepted")


# --- field names: what the seed and OpenJarvis read ------------------------------------------


def test_edit_field_names() -> None:
    assert list(Edit.model_fields) == [
        "id",
        "pillar",
        "op",
        "target",
        "payload",
        "rationale",
        "expected_improvement",
        "risk_tier",
        "references",
        "benchmark_cluster",  # ours, after OpenJarvis's fields; it ignores it
    ]


def test_edit_outcome_field_names_match_the_seed() -> None:
    # The seed constructs EditOutcome with exactly these keywords; specdistill adds
    # only optional fields after them (the gate's report).
    assert list(EditOutcome.model_fields) == [
        "edit_id",
        "status",
        "benchmark_delta",
        "cluster_deltas",
        "error",
        "applied_at",
        "gate_report",
    ]
    assert not EditOutcome.model_fields["gate_report"].is_required()
    outcome = EditOutcome(
        edit_id="e1",
        status="pending_review",
        benchmark_delta=None,
        cluster_deltas={},
        error=None,
        applied_at=None,
    )
    assert outcome.cluster_deltas == {}


def test_plan_session_and_snapshot_field_names() -> None:
    assert {"session_id", "diagnosis_summary", "failure_clusters", "edits"} <= set(
        LearningPlan.model_fields
    )
    assert {"benchmark_version", "overall_score", "cluster_scores", "task_count"} <= set(
        BenchmarkSnapshot.model_fields
    )
    assert {
        "id",
        "trigger",
        "status",
        "autonomy_mode",
        "edit_outcomes",
        "benchmark_before",
        "benchmark_after",
        "git_checkpoint_pre",
        "git_checkpoint_post",
    } <= set(LearningSession.model_fields)
    assert {"id", "description", "student_failure_rate", "teacher_success_rate"} <= set(
        FailureCluster.model_fields
    )


# --- strictness ----------------------------------------------------------------------------


def _edit_dict(**extra: Any) -> dict[str, Any]:
    return {"id": "e1", "pillar": "tools", "op": "add_tool_to_agent", "payload": {}, **extra}


@pytest.mark.parametrize(
    ("model", "data"),
    [
        pytest.param(Edit, _edit_dict(confidence=0.9), id="edit"),
        pytest.param(EditOutcome, {"edit_id": "e", "status": "applied", "x": 1}, id="outcome"),
        pytest.param(LearningPlan, {"edits": [], "notes": "hi"}, id="plan"),
        pytest.param(FailureCluster, {"id": "c", "severity": 3}, id="cluster"),
        pytest.param(
            BenchmarkSnapshot, {"benchmark_version": "v", "overall_score": 0.5, "n": 1}, id="snap"
        ),
        pytest.param(LearningSession, {"id": "s", "owner": "me"}, id="session"),
    ],
)
def test_extra_keys_are_refused(model: type, data: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as info:
        model.model_validate(data)
    assert info.value.errors()[0]["type"] == "extra_forbidden"


def test_edit_in_a_plan_with_extra_key_is_refused() -> None:
    with pytest.raises(ValidationError):
        LearningPlan.model_validate({"edits": [_edit_dict(sneaky=True)]})


def test_unknown_op_is_refused() -> None:
    with pytest.raises(ValidationError):
        Edit.model_validate(_edit_dict(op="delete_everything"))


@pytest.mark.parametrize("bad_id", ["", "x" * 201], ids=["empty", "201-chars"])
def test_edit_id_length_is_bounded(bad_id: str) -> None:
    with pytest.raises(ValidationError):
        Edit.model_validate(_edit_dict(id=bad_id))


def test_assignment_is_validated() -> None:
    edit = make_edit(EditOp.ADD_TOOL_TO_AGENT, VALID_PAYLOADS[EditOp.ADD_TOOL_TO_AGENT])
    with pytest.raises(ValidationError):
        edit.op = "nope"  # type: ignore[assignment]


# --- JSON round trip -----------------------------------------------------------------------


@pytest.mark.parametrize("op", list(EditOp), ids=lambda op: op.value)
def test_edit_json_round_trip(op: EditOp) -> None:
    edit = make_edit(op, VALID_PAYLOADS[op], target="agents.coder.system_prompt")
    edit = edit.model_copy(update={"rationale": 'quote " and\nnewline', "references": ["t1"]})
    text = edit.model_dump_json()
    assert Edit.model_validate_json(text) == edit
    assert json.loads(text)["op"] == op.value
    assert json.loads(text)["risk_tier"] in {"auto", "review", "manual"}


def test_plan_and_outcome_json_round_trip() -> None:
    plan = LearningPlan(
        session_id="s1",
        failure_clusters=[FailureCluster(id="c1", student_failure_rate=0.5)],
        edits=[make_edit(op, VALID_PAYLOADS[op]) for op in EditOp],
    )
    assert LearningPlan.model_validate_json(plan.model_dump_json()) == plan
    outcome = EditOutcome(edit_id="e", status="applied", applied_at=datetime.now(UTC))
    back = EditOutcome.model_validate_json(outcome.model_dump_json())
    assert back == outcome
    assert back.applied_at is not None and back.applied_at.utcoffset() is not None


# --- specdistill schema ----------------------------------------------------------------------

JSON_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}


def _check(instance: Any, schema: dict[str, Any], root: dict[str, Any], path: str) -> list[str]:
    """A tiny JSON Schema validator for the keywords pydantic emits (no new dependency).

    Returns the list of violations (empty when ``instance`` is valid).
    """
    if "$ref" in schema:
        name = schema["$ref"].removeprefix("#/$defs/")
        return _check(instance, root["$defs"][name], root, path)
    errors: list[str] = []
    kinds = {
        "object": dict,
        "array": list,
        "string": str,
        "boolean": bool,
        "null": type(None),
    }
    expected = schema.get("type")
    if expected == "integer":
        if not isinstance(instance, int) or isinstance(instance, bool):
            return [f"{path}: not an integer"]
    elif expected == "number":
        if not isinstance(instance, int | float) or isinstance(instance, bool):
            return [f"{path}: not a number"]
    elif expected is not None and not isinstance(instance, kinds[expected]):
        return [f"{path}: not {expected}"]
    if "const" in schema and instance != schema["const"]:
        errors.append(f"{path}: != const {schema['const']!r}")
    if "enum" in schema and instance not in schema["enum"]:
        errors.append(f"{path}: not in enum")
    for keyword in ("anyOf", "oneOf"):
        if keyword in schema:
            matches = [s for s in schema[keyword] if not _check(instance, s, root, path)]
            if not matches or (keyword == "oneOf" and len(matches) > 1):
                errors.append(f"{path}: {keyword} matched {len(matches)}")
    discriminator = schema.get("discriminator")
    if discriminator and isinstance(instance, dict):
        # What a discriminator-aware validator reports: the chosen branch's errors.
        ref = discriminator["mapping"].get(instance.get(discriminator["propertyName"]))
        if ref is not None:
            errors += _check(instance, {"$ref": ref}, root, path)
    if isinstance(instance, str):
        if len(instance) > schema.get("maxLength", float("inf")):
            errors.append(f"{path}: too long")
        if len(instance) < schema.get("minLength", 0):
            errors.append(f"{path}: too short")
        if "pattern" in schema and not re.search(schema["pattern"], instance):
            errors.append(f"{path}: pattern")
    if isinstance(instance, list):
        if len(instance) > schema.get("maxItems", float("inf")):
            errors.append(f"{path}: too many items")
        for i, item in enumerate(instance):
            errors += _check(item, schema.get("items", {}), root, f"{path}[{i}]")
    if isinstance(instance, dict):
        props = schema.get("properties", {})
        errors += [f"{path}.{k}: required" for k in schema.get("required", []) if k not in instance]
        for key, value in instance.items():
            if key in props:
                errors += _check(value, props[key], root, f"{path}.{key}")
            elif schema.get("additionalProperties") is False:
                errors.append(f"{path}.{key}: additional property")
    return errors


def _walk_schemas(node: Any):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk_schemas(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk_schemas(value)


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    result = CliRunner().invoke(app, ["schema"])
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_schema_cli_prints_the_library_schema(schema: dict[str, Any]) -> None:
    assert schema == plan_json_schema()
    assert schema["type"] == "object"
    assert "edits" in schema["properties"]


def test_schema_is_well_formed(schema: dict[str, Any]) -> None:
    defs = schema["$defs"]
    for node in _walk_schemas(schema):
        ref = node.get("$ref")
        if isinstance(ref, str):
            assert ref.startswith("#/$defs/") and ref.removeprefix("#/$defs/") in defs, ref
        kind = node.get("type")
        if isinstance(kind, str):
            assert kind in JSON_TYPES, node
        if "required" in node and "properties" in node:
            assert set(node["required"]) <= set(node["properties"]), node


def test_schema_edits_are_discriminated_by_op(schema: dict[str, Any]) -> None:
    items = schema["properties"]["edits"]["items"]
    assert items["discriminator"]["propertyName"] == "op"
    mapping = items["discriminator"]["mapping"]
    assert set(mapping) == {op.value for op in EditOp}
    branches = {branch["$ref"] for branch in items["oneOf"]}
    assert branches == set(mapping.values())
    for op_value, ref in mapping.items():
        edit_schema = schema["$defs"][ref.removeprefix("#/$defs/")]
        assert edit_schema["properties"]["op"]["const"] == op_value
        assert edit_schema["additionalProperties"] is False
        assert "payload" in edit_schema["required"]


def test_schema_payloads_refuse_unknown_keys(schema: dict[str, Any]) -> None:
    items = schema["properties"]["edits"]["items"]
    payload_defs = set()
    for ref in items["discriminator"]["mapping"].values():
        edit_schema = schema["$defs"][ref.removeprefix("#/$defs/")]
        payload_ref = edit_schema["properties"]["payload"]["$ref"]
        payload_defs.add(payload_ref.removeprefix("#/$defs/"))
    assert len(payload_defs) == len(EditOp)
    payload_defs.add("Exemplar")  # nested in edit_few_shot_exemplars
    for name in payload_defs:
        assert schema["$defs"][name]["additionalProperties"] is False, name


def _plan_json(edits: list[Edit]) -> Any:
    return json.loads(LearningPlan(session_id="s", edits=edits).model_dump_json())


def test_schema_accepts_a_valid_plan(schema: dict[str, Any]) -> None:
    plan = _plan_json([make_edit(op, VALID_PAYLOADS[op]) for op in EditOp])
    assert _check(plan, schema, schema, "$") == []


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(
            lambda e: e["payload"].update(extra=1),
            "payload.extra: additional property",
            id="unknown-payload-key",
        ),
        pytest.param(
            lambda e: e["payload"].pop("model"), "payload.model: required", id="missing-payload-key"
        ),
        pytest.param(
            lambda e: e.update(op="set_agent_param"),
            "payload.model: additional property",
            id="payload-of-another-op",
        ),
        pytest.param(lambda e: e.update(op="explode"), "oneOf matched 0", id="unknown-op"),
    ],
)
def test_schema_refuses_bad_edits(schema: dict[str, Any], mutate: Any, expected: str) -> None:
    plan = _plan_json([make_edit(EditOp.SET_MODEL_PARAM, VALID_PAYLOADS[EditOp.SET_MODEL_PARAM])])
    mutate(plan["edits"][0])
    errors = _check(plan, schema, schema, "$")
    assert any(expected in error for error in errors), errors
