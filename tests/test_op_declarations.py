"""One declaration per op: every table keyed by op is derived from payloads.DECLARATIONS.

These tests are the checklist of docs/architecture.md ("Adding an op"): a new op that
is declared incompletely, twice, or without a working applier fails here.
"""

from __future__ import annotations

import ast
import importlib
import sys
from dataclasses import replace
from pathlib import Path

import pytest

import specdistill
from specdistill.appliers.base import EditApplier
from specdistill.appliers.registry import builtin_appliers, default_registry
from specdistill.models import EditOp
from specdistill.payloads import (
    DECLARATIONS,
    DECLARED,
    PAYLOAD_MODELS,
    AgentRef,
    OpDeclaration,
    Payload,
    SpecArea,
    _by_op,
    ops_where,
)
from specdistill.teacher import plan as teacher_plan
from specdistill.teacher.prompts import render
from specdistill.tiers import DEFAULT_TIERS, PILLARS

SRC = Path(specdistill.__file__).parent


def test_every_op_is_declared_exactly_once_in_enum_order() -> None:
    assert [d.op for d in DECLARATIONS] == list(EditOp)
    assert list(DECLARED) == list(EditOp)
    assert all(DECLARED[d.op] is d for d in DECLARATIONS)


def test_every_table_is_derived_from_the_declarations() -> None:
    assert {d.op: d.payload for d in DECLARATIONS} == PAYLOAD_MODELS
    assert {d.op: d.default_tier for d in DECLARATIONS} == DEFAULT_TIERS
    assert {d.op: d.pillar for d in DECLARATIONS} == PILLARS
    assert list(PAYLOAD_MODELS) == list(DEFAULT_TIERS) == list(PILLARS) == list(EditOp)


@pytest.mark.parametrize("declaration", DECLARATIONS, ids=lambda d: d.op.value)
def test_each_declaration_is_complete(declaration: OpDeclaration) -> None:
    d = declaration
    assert issubclass(d.payload, Payload) and d.payload is not Payload
    assert d.applier.startswith("specdistill.appliers.") and ":" in d.applier
    module, _, name = d.applier.partition(":")
    applier_class = getattr(importlib.import_module(module), name)
    assert issubclass(applier_class, EditApplier)
    assert applier_class.op is d.op  # the applier applies the op it is declared for
    # An agent is named only by ops whose payload has an agent field.
    assert (d.agent is not AgentRef.NONE) == ("agent" in d.payload.model_fields)
    if d.agent is AgentRef.PAYLOAD:
        assert d.payload.model_fields["agent"].is_required()
    if d.agent is AgentRef.PAYLOAD_OR_TARGET:
        assert not d.payload.model_fields["agent"].is_required()


def test_the_builtin_appliers_are_the_declared_ones() -> None:
    appliers = builtin_appliers()
    assert [a.op for a in appliers] == list(EditOp)
    assert [f"{type(a).__module__}:{type(a).__qualname__}" for a in appliers] == [
        d.applier for d in DECLARATIONS
    ]
    registry = default_registry(plugins=False)
    assert registry.ops() == list(EditOp)
    assert all(registry.is_supported(op) for op in EditOp)


def test_a_duplicate_or_missing_declaration_is_refused() -> None:
    first = DECLARATIONS[0]
    with pytest.raises(TypeError, match=f"op {first.op.value} is declared twice"):
        _by_op([*DECLARATIONS, replace(first)])
    with pytest.raises(TypeError, match=f"ops without a declaration: {first.op.value}"):
        _by_op(DECLARATIONS[1:])


def test_teacher_op_sets_come_from_the_declarations() -> None:
    assert (
        teacher_plan.PROMPT_OPS
        == ops_where(area=SpecArea.SYSTEM_PROMPT)
        == {
            EditOp.PATCH_SYSTEM_PROMPT,
            EditOp.REPLACE_SYSTEM_PROMPT,
        }
    )
    assert {
        EditOp.PATCH_SYSTEM_PROMPT,
        EditOp.REPLACE_SYSTEM_PROMPT,
        EditOp.EDIT_FEW_SHOT_EXEMPLARS,
        EditOp.SET_AGENT_CLASS,
    } == teacher_plan.AGENT_FILE_OPS
    assert {
        EditOp.SET_AGENT_PARAM,
        EditOp.ADD_TOOL_TO_AGENT,
        EditOp.REMOVE_TOOL_FROM_AGENT,
    } == teacher_plan.AGENT_OPS
    assert {EditOp.EDIT_TOOL_DESCRIPTION} == teacher_plan.TOOL_CATALOG_OPS
    assert ops_where() == frozenset(EditOp)


@pytest.mark.parametrize("prompt", ["plan_system", "next_edit_system"])
def test_the_teacher_is_told_every_op_and_its_payload_keys(prompt: str) -> None:
    text = render(prompt)  # the vocabulary is generated from the declarations
    for d in DECLARATIONS:
        assert d.op.value in text, f"{prompt} does not list {d.op.value}"
        for key in d.payload.model_fields:
            assert key in text, f"{prompt} does not name {d.op.value}'s payload key {key}"


def _imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):  # function-local imports count too
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def test_validation_helpers_sit_at_the_bottom_layer() -> None:
    imported = _imported_modules(SRC / "validation.py")
    project = {m for m in imported if m.split(".")[0] == "specdistill"}
    assert project == {"specdistill.errors"}
    third_party = {m.split(".")[0] for m in imported} - set(sys.stdlib_module_names)
    assert third_party <= {"pydantic", "specdistill"}


def test_evaluation_does_not_depend_on_the_edit_vocabulary() -> None:
    for path in sorted((SRC / "evaluation").glob("*.py")):
        assert "specdistill.payloads" not in _imported_modules(path), path.name
