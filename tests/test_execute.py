"""execute_edits: every branch of the seed's order of decisions, their precedence, the
call form of the seed, outcomes in order, and restoration when an apply raises."""

from __future__ import annotations

import inspect
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from conftest import APPLYING_OPS, HOME_CONFIG, make_edit, tree_bytes, valid_edit
from specdistill import (
    ApplyContext,
    ApplyResult,
    AutonomyMode,
    Edit,
    EditApplier,
    EditApplierRegistry,
    EditOp,
    EditOutcome,
    FileChange,
    FileEditApplier,
    ValidationResult,
    default_registry,
    execute_edits,
)
from specdistill.errors import InvalidInput
from specdistill.execute import MANUAL_TIER_REASON
from specdistill.payloads import Payload

AUTO, TIERED, MANUAL = AutonomyMode.AUTO, AutonomyMode.TIERED, AutonomyMode.MANUAL

#: Edits whose payload is invalid (the op's payload schema refuses them).
INVALID = {
    EditOp.SET_MODEL_PARAM: {"model": "small-model", "param": "temperature"},  # no value
    EditOp.REPLACE_SYSTEM_PROMPT: {"agent": "../etc", "new_content": "x"},
    EditOp.LORA_FINETUNE: {"target_model": ""},
}


def registry_without(*ops: EditOp) -> EditApplierRegistry:
    registry = default_registry(plugins=False)
    for op in ops:
        registry.unregister(op)
    return registry


# (id, mode, op, payload valid?, ops missing from the registry, status, error substring)
DECISIONS: list[Any] = [
    # 1. autonomy MANUAL -> pending_review, whatever comes after
    ("manual-mode-auto-tier", MANUAL, EditOp.SET_MODEL_PARAM, True, (), "pending_review", None),
    ("manual-mode-review-tier", MANUAL, EditOp.SET_AGENT_CLASS, True, (), "pending_review", None),
    ("manual-mode-beats-manual-tier", MANUAL, EditOp.LORA_FINETUNE, True, (), "pending_review",
     None),
    ("manual-mode-beats-unsupported", MANUAL, EditOp.SET_MODEL_PARAM, True,
     (EditOp.SET_MODEL_PARAM,), "pending_review", None),
    ("manual-mode-beats-invalid", MANUAL, EditOp.SET_MODEL_PARAM, False, (), "pending_review",
     None),
    # 2. tier MANUAL -> skipped
    ("manual-tier-auto-mode", AUTO, EditOp.LORA_FINETUNE, True, (), "skipped",
     MANUAL_TIER_REASON),
    ("manual-tier-tiered-mode", TIERED, EditOp.LORA_FINETUNE, True, (), "skipped",
     MANUAL_TIER_REASON),
    ("manual-tier-beats-unsupported", AUTO, EditOp.LORA_FINETUNE, True, (EditOp.LORA_FINETUNE,),
     "skipped", MANUAL_TIER_REASON),
    ("manual-tier-beats-invalid", AUTO, EditOp.LORA_FINETUNE, False, (), "skipped",
     MANUAL_TIER_REASON),
    # 3. tier REVIEW and autonomy TIERED -> pending_review
    ("review-tier-tiered-mode", TIERED, EditOp.REPLACE_SYSTEM_PROMPT, True, (), "pending_review",
     None),
    ("review-tier-beats-unsupported", TIERED, EditOp.REPLACE_SYSTEM_PROMPT, True,
     (EditOp.REPLACE_SYSTEM_PROMPT,), "pending_review", None),
    ("review-tier-beats-invalid", TIERED, EditOp.REPLACE_SYSTEM_PROMPT, False, (),
     "pending_review", None),
    ("review-tier-auto-mode-is-applied", AUTO, EditOp.REPLACE_SYSTEM_PROMPT, True, (), "applied",
     None),
    # 4. no applier -> skipped, the error names the op
    ("unsupported-auto-tier", TIERED, EditOp.SET_MODEL_PARAM, True, (EditOp.SET_MODEL_PARAM,),
     "skipped", "set_model_param"),
    ("unsupported-review-tier-auto-mode", AUTO, EditOp.REPLACE_SYSTEM_PROMPT, True,
     (EditOp.REPLACE_SYSTEM_PROMPT,), "skipped", "replace_system_prompt"),
    ("unsupported-beats-invalid", AUTO, EditOp.SET_MODEL_PARAM, False, (EditOp.SET_MODEL_PARAM,),
     "skipped", "set_model_param"),
    # 5. validation fails -> rejected_by_gate with the reason
    ("invalid-payload", AUTO, EditOp.SET_MODEL_PARAM, False, (), "rejected_by_gate",
     "payload.value"),
    ("invalid-review-edit-auto-mode", AUTO, EditOp.REPLACE_SYSTEM_PROMPT, False, (),
     "rejected_by_gate", "'../etc'"),
    # 7. otherwise -> applied
    ("auto-tier-tiered-mode", TIERED, EditOp.SET_MODEL_PARAM, True, (), "applied", None),
    ("auto-tier-auto-mode", AUTO, EditOp.ADD_TOOL_TO_AGENT, True, (), "applied", None),
]  # fmt: skip


@pytest.mark.parametrize(
    ("mode", "op", "valid", "missing", "status", "error"),
    [pytest.param(*case[1:], id=case[0]) for case in DECISIONS],
)
def test_order_of_decisions(
    home: Path,
    mode: AutonomyMode,
    op: EditOp,
    valid: bool,
    missing: tuple[EditOp, ...],
    status: str,
    error: str | None,
) -> None:
    edit = valid_edit(op) if valid else make_edit(op, INVALID[op])
    before = tree_bytes(home)
    [outcome] = execute_edits(
        edits=[edit],
        ctx=ApplyContext(home=home),
        autonomy_mode=mode,
        registry=registry_without(*missing),
    )
    assert outcome.edit_id == edit.id
    assert outcome.status == status
    if error is None:
        assert outcome.error is None
    else:
        assert error in (outcome.error or "")
    assert (outcome.applied_at is not None) == (status == "applied")
    assert outcome.benchmark_delta is None and outcome.cluster_deltas == {}
    # only an applied edit changes files
    assert (tree_bytes(home) != before) == (status == "applied")


def test_unsupported_error_names_the_op_exactly(home: Path) -> None:
    [outcome] = execute_edits(
        edits=[valid_edit(EditOp.EDIT_TOOL_DESCRIPTION)],
        ctx=ApplyContext(home=home),
        autonomy_mode=AUTO,
        registry=EditApplierRegistry(),
    )
    assert outcome.status == "skipped"
    assert outcome.error == "op edit_tool_description has no registered applier"


def test_validation_failure_against_files_is_rejected_with_reason(home: Path) -> None:
    edit = make_edit(
        EditOp.REMOVE_TOOL_FROM_AGENT, {"agent": "assistant", "tool_name": "web_search"}
    )
    before = tree_bytes(home)
    [outcome] = execute_edits(edits=[edit], ctx=ApplyContext(home=home), autonomy_mode=AUTO)
    assert outcome.status == "rejected_by_gate"
    assert "agent 'assistant' has no tool 'web_search'" in (outcome.error or "")
    assert tree_bytes(home) == before


# --- step 6: apply raises --------------------------------------------------------------------


class WritesThenRaises(EditApplier):
    """A plug-in applier (not a FileEditApplier) that writes files, then fails."""

    op = EditOp.SET_MODEL_PARAM

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc
        self.applied = 0

    def validate(self, edit: Edit, ctx: ApplyContext) -> ValidationResult:
        return ValidationResult.success()

    def apply(self, edit: Edit, ctx: ApplyContext) -> ApplyResult:
        self.applied += 1
        home = ctx.home
        with (home / "config.toml").open("a") as handle:
            handle.write("\n[half]\nwritten = true\n")
        (home / "agents" / "assistant" / "system_prompt.md").write_text("clobbered\n")
        (home / "agents" / "coder" / "system_prompt.md").unlink()
        (home / "agents" / "assistant" / "new.md").write_text("new\n")
        (home / "agents" / "ghost" / "deep").mkdir(parents=True)
        (home / "agents" / "ghost" / "deep" / "system_prompt.md").write_text("boo\n")
        raise self.exc

    def rollback(self, edit: Edit, ctx: ApplyContext) -> None:  # pragma: no cover
        raise AssertionError("not called by execute_edits")


def _registry_with(applier: EditApplier) -> EditApplierRegistry:
    registry = default_registry(plugins=False)
    registry.register(applier, replace=True)
    return registry


def test_apply_raising_is_rejected_and_files_restored(home: Path) -> None:
    before = tree_bytes(home)
    failing = WritesThenRaises(RuntimeError("disk on fire"))
    ctx = ApplyContext(home=home)
    outcomes = execute_edits(
        edits=[valid_edit(EditOp.SET_MODEL_PARAM), valid_edit(EditOp.ADD_TOOL_TO_AGENT)],
        ctx=ctx,
        autonomy_mode=TIERED,
        registry=_registry_with(failing),
    )
    assert failing.applied == 1
    assert [(o.status, o.error) for o in outcomes] == [
        ("rejected_by_gate", "disk on fire"),
        ("applied", None),
    ]
    after = tree_bytes(home)
    assert after.pop("config.toml") != before.pop("config.toml")  # the second edit's change
    assert after == before
    assert "[half]" not in (home / "config.toml").read_text()
    # no empty folder is left behind: it would make "ghost" look like a known agent
    assert not (home / "agents" / "ghost").exists()


def test_apply_raising_base_exception_restores_then_propagates(home: Path) -> None:
    class Interrupted(BaseException):
        pass

    before = tree_bytes(home)
    with pytest.raises(Interrupted):
        execute_edits(
            edits=[valid_edit(EditOp.SET_MODEL_PARAM)],
            ctx=ApplyContext(home=home),
            autonomy_mode=AUTO,
            registry=_registry_with(WritesThenRaises(Interrupted())),
        )
    assert tree_bytes(home) == before


class ConfigThenDanglingLink(FileEditApplier):
    """A real two-file applier whose second write hits a real OS error: its parent
    folder is a dangling symlink, so creating it fails (FileExistsError)."""

    op = EditOp.SET_MODEL_PARAM

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        config = ctx.spec_home.config_path
        target = ctx.home / "agents" / "link" / "system_prompt.md"
        return [
            FileChange(config, config.read_bytes(), config.read_bytes() + b"# touched\n"),
            FileChange(target, None, b"x\n"),
        ]


def test_file_applier_failing_on_its_second_write_is_restored(home: Path) -> None:
    (home / "agents" / "link").symlink_to("nowhere")  # dangling, inside the home
    before = tree_bytes(home)
    [outcome] = execute_edits(
        edits=[valid_edit(EditOp.SET_MODEL_PARAM)],
        ctx=ApplyContext(home=home),
        autonomy_mode=AUTO,
        registry=_registry_with(ConfigThenDanglingLink()),
    )
    assert outcome.status == "rejected_by_gate"
    assert "writing failed, files restored" in (outcome.error or "")
    assert tree_bytes(home) == before
    assert (home / "agents" / "link").is_symlink()


# --- outcomes ---------------------------------------------------------------------------------


def test_one_outcome_per_edit_in_order(home: Path) -> None:
    edits = [valid_edit(op) for op in EditOp]
    edits.insert(3, make_edit(EditOp.SET_AGENT_PARAM, {"agent": "ghost", "param": "x", "value": 1}))
    outcomes = execute_edits(edits=edits, ctx=ApplyContext(home=home), autonomy_mode=TIERED)
    assert [o.edit_id for o in outcomes] == [e.id for e in edits]
    assert all(isinstance(o, EditOutcome) for o in outcomes)
    by_op = {e.op.value + ("-bad" if e.payload.get("agent") == "ghost" else ""): o.status
             for e, o in zip(edits, outcomes, strict=True)}  # fmt: skip
    assert by_op == {
        "set_model_for_query_class": "applied",
        "set_model_param": "applied",
        "patch_system_prompt": "pending_review",
        "set_agent_param-bad": "rejected_by_gate",
        "replace_system_prompt": "pending_review",
        "set_agent_class": "pending_review",
        "set_agent_param": "applied",
        "edit_few_shot_exemplars": "pending_review",
        "add_tool_to_agent": "applied",
        "remove_tool_from_agent": "applied",
        "edit_tool_description": "applied",
        "lora_finetune": "skipped",
    }


def test_edits_are_validated_against_the_spec_as_it_stands(home: Path) -> None:
    add = valid_edit(EditOp.ADD_TOOL_TO_AGENT)
    remove = make_edit(
        EditOp.REMOVE_TOOL_FROM_AGENT, {"agent": "assistant", "tool_name": "web_search"}
    )
    remove_again = make_edit(
        EditOp.REMOVE_TOOL_FROM_AGENT, {"agent": "assistant", "tool_name": "web_search"}
    )
    outcomes = execute_edits(
        edits=[remove, add, remove_again], ctx=ApplyContext(home=home), autonomy_mode=AUTO
    )
    assert [o.status for o in outcomes] == ["rejected_by_gate", "applied", "applied"]
    assert (home / "config.toml").read_text() == HOME_CONFIG


def test_applied_at_is_timezone_aware_utc(home: Path) -> None:
    start = datetime.now(UTC)
    outcomes = execute_edits(
        edits=[valid_edit(EditOp.SET_MODEL_PARAM), valid_edit(EditOp.SET_AGENT_PARAM)],
        ctx=ApplyContext(home=home),
        autonomy_mode=AUTO,
    )
    end = datetime.now(UTC)
    for outcome in outcomes:
        assert outcome.applied_at is not None
        assert outcome.applied_at.tzinfo is not None
        assert outcome.applied_at.utcoffset() == timedelta(0)
        assert start <= outcome.applied_at <= end
    assert outcomes[0].applied_at <= outcomes[1].applied_at  # type: ignore[operator]


def test_empty_plan(home: Path) -> None:
    assert execute_edits(edits=[], ctx=ApplyContext(home=home), autonomy_mode=AUTO) == []


def test_on_outcome_is_called_per_edit_in_order(home: Path) -> None:
    seen: list[tuple[str, str]] = []
    edits = [valid_edit(EditOp.SET_MODEL_PARAM), valid_edit(EditOp.LORA_FINETUNE)]
    execute_edits(
        edits=edits,
        ctx=ApplyContext(home=home),
        autonomy_mode=AUTO,
        on_outcome=lambda edit, outcome: seen.append((edit.id, outcome.status)),
    )
    assert seen == [(edits[0].id, "applied"), (edits[1].id, "skipped")]


def test_applied_edits_can_be_rolled_back_through_the_context(home: Path) -> None:
    before = tree_bytes(home)
    ctx = ApplyContext(home=home)
    edits = [valid_edit(op) for op in EditOp]
    outcomes = execute_edits(edits=edits, ctx=ctx, autonomy_mode=AUTO)
    registry = default_registry(plugins=False)
    applied = [e for e, o in zip(edits, outcomes, strict=True) if o.status == "applied"]
    assert len(applied) == len(APPLYING_OPS)
    for edit in reversed(applied):
        registry.get(edit.op).rollback(edit, ctx)
    assert tree_bytes(home) == before


# --- the seed's call form and ApplyContext ------------------------------------------------------


def test_seed_call_form(home: Path) -> None:
    outcomes = execute_edits(
        edits=[valid_edit(EditOp.SET_MODEL_PARAM)],
        ctx=ApplyContext(home=home, session_id="s1"),
        autonomy_mode=AutonomyMode.TIERED,
        registry=None,
    )
    assert [o.status for o in outcomes] == ["applied"]


def test_seed_signature_is_keyword_only_with_optional_registry() -> None:
    params = inspect.signature(execute_edits).parameters
    for name in ("edits", "ctx", "autonomy_mode", "registry"):
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
    assert params["registry"].default is None
    extras = [n for n in params if n not in ("edits", "ctx", "autonomy_mode", "registry")]
    for name in extras:  # additions must be optional, default off
        assert params[name].kind is inspect.Parameter.KEYWORD_ONLY
        assert params[name].default in (None, False), name


def test_positional_call_is_refused(home: Path) -> None:
    with pytest.raises(TypeError):
        execute_edits([], ApplyContext(home=home), AUTO)  # type: ignore[misc]


def test_autonomy_mode_as_a_string(home: Path) -> None:
    [outcome] = execute_edits(
        edits=[valid_edit(EditOp.SET_AGENT_CLASS)],
        ctx=ApplyContext(home=home),
        autonomy_mode="tiered",  # type: ignore[arg-type]
    )
    assert outcome.status == "pending_review"
    with pytest.raises(ValueError):
        execute_edits(edits=[], ctx=ApplyContext(home=home), autonomy_mode="yolo")  # type: ignore[arg-type]


def test_apply_context_accepts_openjarvis_home(home: Path) -> None:
    ctx = ApplyContext(openjarvis_home=home, session_id="oj")
    assert ctx.home == home
    assert ctx.openjarvis_home == home
    assert ctx.session_id == "oj"
    [outcome] = execute_edits(
        edits=[valid_edit(EditOp.SET_MODEL_PARAM)], ctx=ctx, autonomy_mode=AUTO
    )
    assert outcome.status == "applied"
    assert "temperature = 0.7" in (home / "config.toml").read_text()


def test_apply_context_home_forms(home: Path, tmp_path: Path) -> None:
    assert ApplyContext(home=str(home)).home == home
    assert ApplyContext(home, "s").session_id == "s"  # positional, as OpenJarvis does
    assert ApplyContext(home=home, openjarvis_home=home).home == home
    with pytest.raises(TypeError):
        ApplyContext(home=home, openjarvis_home=tmp_path / "other")
    assert "session_id='s'" in repr(ApplyContext(home=home, session_id="s"))


def test_duplicate_edit_ids_are_refused_before_anything_is_written(home: Path) -> None:
    before = tree_bytes(home)
    first = make_edit(EditOp.SET_MODEL_PARAM, valid_edit(EditOp.SET_MODEL_PARAM).payload, id="dup")
    second = make_edit(
        EditOp.ADD_TOOL_TO_AGENT, valid_edit(EditOp.ADD_TOOL_TO_AGENT).payload, id="dup"
    )
    with pytest.raises(InvalidInput, match="'dup'"):
        execute_edits(
            edits=[first, valid_edit(EditOp.SET_AGENT_PARAM), second],
            ctx=ApplyContext(home=home),
            autonomy_mode=AUTO,
        )
    assert tree_bytes(home) == before


def test_input_edits_are_not_mutated(home: Path) -> None:
    edit = make_edit(EditOp.REPLACE_SYSTEM_PROMPT, {"agent": "coder", "new_content": "x"},
                     risk_tier="auto")  # fmt: skip
    snapshot = edit.model_dump()
    execute_edits(edits=[edit], ctx=ApplyContext(home=home), autonomy_mode=TIERED)
    assert edit.model_dump() == snapshot
