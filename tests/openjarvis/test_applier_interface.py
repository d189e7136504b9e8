"""An applier written against OpenJarvis's ``EditApplier`` interface registers and runs
through ``execute_edits`` unchanged but for its imports: it reads ``ctx.config_path``,
``ctx.tools_dir``, returns ``ValidationResult(ok=True)`` and
``ApplyResult(changed_files=[...])``, splices text as OpenJarvis's appliers do, and its
``rollback`` does nothing. specdistill's safety still holds around it: the spec is
snapshotted before it writes, and a write that leaves a file unparsable is undone.
"""

from __future__ import annotations

from pathlib import Path

from openjarvis_helpers import copy_home
from run_helpers import spec_bytes
from specdistill import (
    ApplyContext,
    ApplyResult,
    AutonomyMode,
    Edit,
    EditApplier,
    EditOp,
    ValidationResult,
    execute_edits,
)
from specdistill.appliers.registry import EditApplierRegistry, default_registry


class SpliceModelParamApplier(EditApplier):
    """set_model_param the way OpenJarvis's intelligence applier writes: appended text."""

    op = EditOp.SET_MODEL_PARAM

    def validate(self, edit: Edit, ctx: ApplyContext) -> ValidationResult:
        for key in ("model", "param", "value"):
            if key not in edit.payload:
                return ValidationResult(ok=False, reason=f"Missing {key} in payload")
        return ValidationResult(ok=True)

    def apply(self, edit: Edit, ctx: ApplyContext) -> ApplyResult:
        config_path = ctx.config_path
        content = config_path.read_text(encoding="utf-8") if config_path.exists() else ""
        model, param, value = (edit.payload[k] for k in ("model", "param", "value"))
        content += f'\n[models."{model}"]\n{param} = {value}\n'
        config_path.write_text(content, encoding="utf-8")
        return ApplyResult(changed_files=[str(config_path)])

    def rollback(self, edit: Edit, ctx: ApplyContext) -> None:
        pass


class DescribeToolApplier(EditApplier):
    """edit_tool_description into ``ctx.tools_dir``, as OpenJarvis's applier does."""

    op = EditOp.EDIT_TOOL_DESCRIPTION

    def validate(self, edit: Edit, ctx: ApplyContext) -> ValidationResult:
        return ValidationResult(ok="tool_name" in edit.payload)

    def apply(self, edit: Edit, ctx: ApplyContext) -> ApplyResult:
        path = ctx.tools_dir / "descriptions.toml"
        path.parent.mkdir(parents=True, exist_ok=True)
        tool, text = edit.payload["tool_name"], edit.payload["new_description"]
        path.write_text(f'[{tool}]\ndescription = "{text}"\n', encoding="utf-8")
        return ApplyResult(changed_files=[str(path)])

    def rollback(self, edit: Edit, ctx: ApplyContext) -> None:
        pass


def edit(op: EditOp, payload: dict[str, object], edit_id: str = "e1") -> Edit:
    pillar = "tools" if op is EditOp.EDIT_TOOL_DESCRIPTION else "intelligence"
    return Edit.model_validate(
        {"id": edit_id, "pillar": pillar, "op": op, "payload": payload, "rationale": "r"}
    )


def registry_with(*appliers: EditApplier) -> EditApplierRegistry:
    registry = default_registry(plugins=False)
    for applier in appliers:
        registry.register(applier, replace=True)
    return registry


def test_openjarvis_defaults_of_the_result_types() -> None:
    assert ValidationResult(ok=True).reason == ""
    assert ApplyResult(changed_files=["config.toml"]).changed_files == ["config.toml"]
    assert ApplyResult().changed_files == []


def test_the_context_offers_openjarvis_attributes(tmp_path: Path) -> None:
    ctx = ApplyContext(openjarvis_home=tmp_path, session_id="s1")
    assert ctx.config_path == tmp_path / "config.toml"
    assert ctx.agents_dir == tmp_path / "agents"
    assert ctx.tools_dir == tmp_path / "tools"
    assert ctx.openjarvis_home == ctx.home == tmp_path
    # Positional, as OpenJarvis's dataclass is called.
    assert ApplyContext(tmp_path, "s1").session_id == "s1"


def test_an_openjarvis_applier_runs_through_execute_edits(tmp_path: Path) -> None:
    home = copy_home(tmp_path / "oj")
    ctx = ApplyContext(openjarvis_home=home, session_id="s1")
    registry = registry_with(SpliceModelParamApplier(), DescribeToolApplier())
    edits = [
        edit(EditOp.SET_MODEL_PARAM, {"model": "qwen3:8b", "param": "temperature", "value": 0.2}),
        edit(
            EditOp.EDIT_TOOL_DESCRIPTION,
            {"tool_name": "calculator", "new_description": "Exact arithmetic."},
            "e2",
        ),
    ]
    outcomes = execute_edits(
        edits=edits, ctx=ctx, autonomy_mode=AutonomyMode.AUTO, registry=registry
    )
    assert [(o.status, o.error) for o in outcomes] == [("applied", None), ("applied", None)]
    assert (home / "config.toml").read_text().endswith('[models."qwen3:8b"]\ntemperature = 0.2\n')
    assert (home / "tools" / "descriptions.toml").read_text() == (
        '[calculator]\ndescription = "Exact arithmetic."\n'
    )


def test_an_openjarvis_applier_that_breaks_a_file_is_undone(tmp_path: Path) -> None:
    home = copy_home(tmp_path / "oj")
    before = spec_bytes(home)
    ctx = ApplyContext(openjarvis_home=home, session_id="s1")
    registry = registry_with(SpliceModelParamApplier(), DescribeToolApplier())
    # Spliced unquoted, as OpenJarvis writes a string value: the TOML no longer parses.
    # A quote in a description breaks descriptions.toml the same way (and it was absent).
    edits = [
        edit(EditOp.SET_MODEL_PARAM, {"model": "qwen3:8b", "param": "stop", "value": "END"}),
        edit(
            EditOp.EDIT_TOOL_DESCRIPTION,
            {"tool_name": "calculator", "new_description": 'say "hi'},
            "e2",
        ),
    ]
    outcomes = execute_edits(
        edits=edits, ctx=ctx, autonomy_mode=AutonomyMode.AUTO, registry=registry
    )
    assert [o.status for o in outcomes] == ["rejected_by_gate", "rejected_by_gate"]
    assert all("unparsable" in (o.error or "") for o in outcomes), outcomes
    assert spec_bytes(home) == before  # byte-identical; no tools/ folder left behind
    assert not (home / "tools").exists()


def test_a_refusal_without_a_reason_still_says_who_refused(tmp_path: Path) -> None:
    home = copy_home(tmp_path / "oj")
    ctx = ApplyContext(openjarvis_home=home, session_id="s1")
    registry = registry_with(DescribeToolApplier())
    [outcome] = execute_edits(
        edits=[edit(EditOp.EDIT_TOOL_DESCRIPTION, {"new_description": "x"})],
        ctx=ctx,
        autonomy_mode=AutonomyMode.AUTO,
        registry=registry,
    )
    assert outcome.status == "rejected_by_gate"
    assert outcome.error == "DescribeToolApplier refused the edit (no reason given)"
