"""Plans as untrusted input: loading, validating every edit, and the JSON Schema.

A plan file is validated whole before anything executes: a bad edit makes the
whole load fail with one line naming the edit id and the field, so a caller can
refuse the plan without writing anything.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import Field, TypeAdapter, ValidationError, create_model

from specdistill.errors import InvalidEdit, InvalidPlan
from specdistill.jsonl import read_text
from specdistill.models import Edit, EditOp, EditPillar, LearningPlan
from specdistill.payloads import DECLARED, PAYLOAD_MODELS, parse_payload
from specdistill.validation import describe_validation_error

#: What the plan screen (:mod:`specdistill.screen`) needs of a plan and of each edit
#: beyond the models' own required fields: marked required in :func:`plan_json_schema`.
SCREEN_REQUIRED_PLAN = ("edits",)
SCREEN_REQUIRED_EDIT = ("expected_improvement",)


def _allowed(field: str, raw: Any, index: Any) -> str:
    """The allowed values of a pillar a hand-written plan got wrong: the op's own."""
    if field != "pillar":
        return ""
    op = raw["edits"][index].get("op") if _edit_at(raw, index) else None
    if isinstance(op, str) and op in EditOp._value2member_map_:
        return f" (op {op} has pillar {DECLARED[EditOp(op)].pillar.value!r})"
    return f" (pillars: {', '.join(p.value for p in EditPillar)})"


def _edit_at(raw: Any, index: Any) -> bool:
    try:
        return isinstance(raw["edits"][index], dict)
    except (KeyError, IndexError, TypeError):
        return False


def _edit_id_at(raw: Any, index: Any) -> str | None:
    try:
        edit_id = raw["edits"][index]["id"]
    except (KeyError, IndexError, TypeError):
        return None
    return edit_id if isinstance(edit_id, str) else None


def parse_plan(raw: Any) -> LearningPlan:
    """Validate decoded JSON as a plan, including every edit's payload."""
    if not isinstance(raw, dict):
        raise InvalidPlan(f"a plan is a JSON object, got {type(raw).__name__}")
    try:
        plan = LearningPlan.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors(include_url=False)[0]
        loc = first["loc"]
        if len(loc) >= 2 and loc[0] == "edits":
            index, rest = loc[1], loc[2:]
            field, reason = describe_validation_error(exc, prefix="")
            field = ".".join(str(part) for part in rest) or "edit"
            edit_id = _edit_id_at(raw, index) or f"#{index}"
            reason += _allowed(field, raw, index)
            raise InvalidEdit(reason, edit_id=edit_id, field=field) from None
        field, reason = describe_validation_error(exc, prefix="plan")
        raise InvalidPlan(f"{field}: {reason}") from None
    seen: set[str] = set()
    for edit in plan.edits:
        if edit.id in seen:
            raise InvalidEdit("duplicate edit id in plan", edit_id=edit.id, field="id")
        seen.add(edit.id)
        parse_payload(edit)
    return plan


def load_plan(path: str | Path) -> LearningPlan:
    """Read and validate a plan file; raise InvalidPlan / InvalidEdit with one-line reasons."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise InvalidPlan(f"plan file {path} does not exist")
    # Bounded, and only a regular file: a FIFO or /dev/zero never hangs or fills memory.
    text = read_text(path, what="plan file", error=_plan_error, max_bytes=MAX_PLAN_BYTES)
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InvalidPlan(
            f"{path} is not JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None
    return parse_plan(raw)


#: A plan file larger than this is refused before it is read.
MAX_PLAN_BYTES = 16 * 1024 * 1024


def _plan_error(problems: list[str], *, path: Path | None = None) -> InvalidPlan:
    return InvalidPlan(f"cannot read plan file: {problems[0]}")


def _typed_edit_models() -> list[type[Edit]]:
    """One Edit model per op, with the op pinned and the payload typed."""
    models: list[type[Edit]] = []
    for op, payload_model in PAYLOAD_MODELS.items():
        name = "".join(part.title() for part in op.value.split("_")) + "Edit"
        models.append(
            create_model(
                name,
                __base__=Edit,
                op=(Literal[op.value], ...),  # type: ignore[arg-type]  # a literal made at runtime
                payload=(payload_model, ...),
            )
        )
    return models


def plan_json_schema() -> dict[str, Any]:
    """The JSON Schema a teacher's structured output must match: a plan with typed edits."""
    edit_union = Union[tuple(_typed_edit_models())]  # type: ignore[valid-type]  # noqa: UP007
    union = Annotated[edit_union, Field(discriminator="op")]  # type: ignore[valid-type]
    typed_plan = create_model(
        "LearningPlan",
        __base__=LearningPlan,
        edits=(list[union], Field(default_factory=list)),
    )
    schema = TypeAdapter(typed_plan).json_schema()
    # What the plan screen requires is required here too, so a teacher held to the
    # schema by guided decoding cannot leave it out (the models keep their defaults, so
    # frozen plans written before still load).
    schema["required"] = sorted({*schema.get("required", []), *SCREEN_REQUIRED_PLAN})
    for name, definition in schema.get("$defs", {}).items():
        if name.endswith("Edit") and "op" in definition.get("properties", {}):
            definition["required"] = [
                *definition.get("required", []),
                *(k for k in SCREEN_REQUIRED_EDIT if k not in definition.get("required", [])),
            ]
    schema["title"] = "specdistill LearningPlan"
    schema["description"] = (
        "A teacher's plan: failure clusters and typed edits. Risk tiers in the plan are "
        "ignored; specdistill assigns them."
    )
    return schema
