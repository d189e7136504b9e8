"""The edit vocabulary: each op's typed payload and its declaration, one row per op.

A payload is what a teacher must send for an op, checked before any write. Unknown
keys are refused, types are strict (``"1"`` is not an int), names that become paths
must be plain names, and sizes are bounded so a hostile payload cannot make us write
a gigabyte.

:data:`DECLARATIONS` holds one :class:`OpDeclaration` per :class:`EditOp`: its payload
model, pillar, default tier, applier and the part of the spec it edits. Every table
keyed by op is derived from it (:data:`PAYLOAD_MODELS` here,
:data:`specdistill.tiers.DEFAULT_TIERS` and :data:`~specdistill.tiers.PILLARS`, the
built-in appliers of :func:`specdistill.appliers.registry.builtin_appliers`, the
teacher's op sets); docs/architecture.md ("Adding an op") is the recipe.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictFloat,
    StrictInt,
    StrictStr,
    ValidationError,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
)
from pydantic_core import PydanticCustomError

from specdistill.errors import InvalidEdit, UnsafePath
from specdistill.home import NAME_PATTERN, check_name, check_text_key
from specdistill.models import Edit, EditOp, EditPillar, EditRiskTier
from specdistill.validation import checked, describe_validation_error

#: Upper bounds on teacher-supplied text (characters).
MAX_PROMPT_CHARS = 256 * 1024
MAX_SHORT_TEXT_CHARS = 16 * 1024
MAX_EXEMPLARS = 200
MAX_ARRAY_ITEMS = 256


def _finite(value: float) -> float:
    if not math.isfinite(value):
        raise ValueError("must be a finite number")
    return value


def _float_not_int(value: Any) -> Any:
    # Strict floats still accept ints; an int too large for TomlInt would then be
    # written as a float, silently changing its type.
    if isinstance(value, int) and not isinstance(value, bool):
        raise ValueError("an integer must be a signed 64-bit integer")
    return value


# The pattern is also published in the JSON Schema, so a teacher following the
# schema sends names we accept; the validator gives the clearer error message.
_NAME_SCHEMA = WithJsonSchema({"type": "string", "pattern": f"^{NAME_PATTERN.pattern}$"})
AgentName = Annotated[StrictStr, checked(check_name, "agent name"), _NAME_SCHEMA]
ToolName = Annotated[StrictStr, checked(check_name, "tool name"), _NAME_SCHEMA]
ModelName = Annotated[StrictStr, checked(check_text_key, "model name")]
QueryClass = Annotated[StrictStr, checked(check_text_key, "query class")]
#: A TOML bare key: what a param may be called.
ParamName = Annotated[StrictStr, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")]
ShortText = Annotated[StrictStr, Field(max_length=MAX_SHORT_TEXT_CHARS)]
PromptText = Annotated[StrictStr, Field(max_length=MAX_PROMPT_CHARS)]
FiniteFloat = Annotated[StrictFloat, BeforeValidator(_float_not_int), AfterValidator(_finite)]
#: TOML integers are signed 64-bit; a parser must refuse a larger one.
TomlInt = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]
TomlScalar = StrictBool | TomlInt | FiniteFloat | ShortText


def _one_value_error(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    # Without this, a bad value reports one error per union member, the first being
    # "payload.value.bool: Input should be a valid boolean": the wrong field and reason.
    try:
        return handler(value)
    except ValidationError:
        raise PydanticCustomError(
            "toml_value",
            "must be a bool, a 64-bit integer, a finite float, a string of at most "
            f"{MAX_SHORT_TEXT_CHARS} characters, or an array of at most {MAX_ARRAY_ITEMS} "
            "of those",
        ) from None


#: A typed TOML value: never pasted TOML text.
TomlValue = Annotated[
    TomlScalar | Annotated[list[TomlScalar], Field(max_length=MAX_ARRAY_ITEMS)],
    WrapValidator(_one_value_error),
]


class Payload(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SetModelForQueryClass(Payload):
    query_class: QueryClass
    model: ModelName


class SetModelParam(Payload):
    model: ModelName
    param: ParamName
    value: TomlValue


class PatchSystemPrompt(Payload):
    diff: Annotated[StrictStr, Field(min_length=1, max_length=MAX_PROMPT_CHARS)]
    agent: AgentName | None = None


class ReplaceSystemPrompt(Payload):
    new_content: PromptText
    agent: AgentName | None = None


class SetAgentClass(Payload):
    new_class: Annotated[StrictStr, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$")]
    agent: AgentName | None = None


class SetAgentParam(Payload):
    agent: AgentName
    param: ParamName
    value: TomlValue


class Exemplar(Payload):
    input: Annotated[StrictStr, Field(max_length=MAX_SHORT_TEXT_CHARS * 2)]
    output: Annotated[StrictStr, Field(max_length=MAX_SHORT_TEXT_CHARS * 2)]


class EditFewShotExemplars(Payload):
    exemplars: Annotated[list[Exemplar], Field(max_length=MAX_EXEMPLARS)]
    agent: AgentName | None = None


class AddToolToAgent(Payload):
    agent: AgentName
    tool_name: ToolName


class RemoveToolFromAgent(Payload):
    agent: AgentName
    tool_name: ToolName


class EditToolDescription(Payload):
    tool_name: ToolName
    new_description: Annotated[StrictStr, Field(min_length=1, max_length=MAX_SHORT_TEXT_CHARS)]


class LoraFinetune(Payload):
    target_model: ModelName
    data_source: ShortText


class SpecArea(StrEnum):
    """The part of the spec home an op writes."""

    CONFIG = "config"  # config.toml
    SYSTEM_PROMPT = "system_prompt"  # agents/<agent>/system_prompt.md
    FEW_SHOT = "few_shot"  # agents/<agent>/few_shot.json
    TOOL_CATALOG = "tool_catalog"  # tools/descriptions.toml


class AgentRef(StrEnum):
    """How an op's edit names the agent it is about."""

    NONE = "none"  # no agent
    PAYLOAD = "payload"  # payload.agent, required
    PAYLOAD_OR_TARGET = "payload_or_target"  # payload.agent, else the target (resolve_agent)


@dataclass(frozen=True)
class OpDeclaration:
    """Everything specdistill knows about one op, declared once.

    ``applier`` names the built-in applier as ``"module:Class"``, the way a plug-in's
    entry point does, so this table sits below the appliers that implement it.
    """

    op: EditOp
    payload: type[Payload]
    pillar: EditPillar
    default_tier: EditRiskTier
    applier: str
    area: SpecArea
    agent: AgentRef = AgentRef.NONE
    #: What the teacher's prompt adds to the op's payload keys (the vocabulary it reads
    #: is generated from these declarations).
    teacher_note: str = ""


#: The edit vocabulary: one declaration per op, in EditOp order.
DECLARATIONS: tuple[OpDeclaration, ...] = (
    OpDeclaration(
        EditOp.SET_MODEL_FOR_QUERY_CLASS,
        payload=SetModelForQueryClass,
        pillar=EditPillar.INTELLIGENCE,
        default_tier=EditRiskTier.AUTO,
        applier="specdistill.appliers.routing:SetModelForQueryClassApplier",
        area=SpecArea.CONFIG,
    ),
    OpDeclaration(
        EditOp.SET_MODEL_PARAM,
        payload=SetModelParam,
        pillar=EditPillar.INTELLIGENCE,
        default_tier=EditRiskTier.AUTO,
        applier="specdistill.appliers.routing:SetModelParamApplier",
        area=SpecArea.CONFIG,
        teacher_note="value is typed: temperature, top_p, max_tokens, ...",
    ),
    OpDeclaration(
        EditOp.PATCH_SYSTEM_PROMPT,
        payload=PatchSystemPrompt,
        pillar=EditPillar.AGENT,
        default_tier=EditRiskTier.REVIEW,
        applier="specdistill.appliers.prompt:PatchSystemPromptApplier",
        area=SpecArea.SYSTEM_PROMPT,
        agent=AgentRef.PAYLOAD_OR_TARGET,
        teacher_note="diff is a unified diff against the agent's current system prompt",
    ),
    OpDeclaration(
        EditOp.REPLACE_SYSTEM_PROMPT,
        payload=ReplaceSystemPrompt,
        pillar=EditPillar.AGENT,
        default_tier=EditRiskTier.REVIEW,
        applier="specdistill.appliers.prompt:ReplaceSystemPromptApplier",
        area=SpecArea.SYSTEM_PROMPT,
        agent=AgentRef.PAYLOAD_OR_TARGET,
        teacher_note="new_content is the whole new prompt",
    ),
    OpDeclaration(
        EditOp.SET_AGENT_CLASS,
        payload=SetAgentClass,
        pillar=EditPillar.AGENT,
        default_tier=EditRiskTier.REVIEW,
        applier="specdistill.appliers.agent:SetAgentClassApplier",
        area=SpecArea.CONFIG,
        agent=AgentRef.PAYLOAD_OR_TARGET,
    ),
    OpDeclaration(
        EditOp.SET_AGENT_PARAM,
        payload=SetAgentParam,
        pillar=EditPillar.AGENT,
        default_tier=EditRiskTier.AUTO,
        applier="specdistill.appliers.agent:SetAgentParamApplier",
        area=SpecArea.CONFIG,
        agent=AgentRef.PAYLOAD,
        teacher_note='not "class", "tools" or "model"',
    ),
    OpDeclaration(
        EditOp.EDIT_FEW_SHOT_EXEMPLARS,
        payload=EditFewShotExemplars,
        pillar=EditPillar.AGENT,
        default_tier=EditRiskTier.REVIEW,
        applier="specdistill.appliers.prompt:EditFewShotExemplarsApplier",
        area=SpecArea.FEW_SHOT,
        agent=AgentRef.PAYLOAD_OR_TARGET,
        teacher_note='exemplars is the full new list of {"input", "output"}',
    ),
    OpDeclaration(
        EditOp.ADD_TOOL_TO_AGENT,
        payload=AddToolToAgent,
        pillar=EditPillar.TOOLS,
        default_tier=EditRiskTier.AUTO,
        applier="specdistill.appliers.tools:AddToolToAgentApplier",
        area=SpecArea.CONFIG,
        agent=AgentRef.PAYLOAD,
    ),
    OpDeclaration(
        EditOp.REMOVE_TOOL_FROM_AGENT,
        payload=RemoveToolFromAgent,
        pillar=EditPillar.TOOLS,
        default_tier=EditRiskTier.AUTO,
        applier="specdistill.appliers.tools:RemoveToolFromAgentApplier",
        area=SpecArea.CONFIG,
        agent=AgentRef.PAYLOAD,
    ),
    OpDeclaration(
        EditOp.EDIT_TOOL_DESCRIPTION,
        payload=EditToolDescription,
        pillar=EditPillar.TOOLS,
        default_tier=EditRiskTier.AUTO,
        applier="specdistill.appliers.tools:EditToolDescriptionApplier",
        area=SpecArea.TOOL_CATALOG,
    ),
    OpDeclaration(
        EditOp.LORA_FINETUNE,
        payload=LoraFinetune,
        pillar=EditPillar.INTELLIGENCE,
        default_tier=EditRiskTier.MANUAL,
        applier="specdistill.appliers.lora:LoraFinetuneApplier",
        area=SpecArea.CONFIG,
        teacher_note="never applied automatically",
    ),
)


def _by_op(declarations: Iterable[OpDeclaration]) -> dict[EditOp, OpDeclaration]:
    """Declarations keyed by op, in EditOp order; every op must be declared exactly once."""
    by_op: dict[EditOp, OpDeclaration] = {}
    for declaration in declarations:
        if declaration.op in by_op:
            raise TypeError(f"op {declaration.op.value} is declared twice")
        by_op[declaration.op] = declaration
    missing = [op.value for op in EditOp if op not in by_op]
    if missing:
        raise TypeError(f"ops without a declaration: {', '.join(missing)}")
    return {op: by_op[op] for op in EditOp}


#: The declaration of each op, keyed by op (checked complete at import).
DECLARED: dict[EditOp, OpDeclaration] = _by_op(DECLARATIONS)

#: Each op's payload model (derived from :data:`DECLARATIONS`).
PAYLOAD_MODELS: dict[EditOp, type[Payload]] = {op: d.payload for op, d in DECLARED.items()}


def ops_where(*, area: SpecArea | None = None, agent: AgentRef | None = None) -> frozenset[EditOp]:
    """The ops whose declaration edits ``area`` and/or names its agent as ``agent``."""
    return frozenset(
        op
        for op, declaration in DECLARED.items()
        if (area is None or declaration.area is area)
        and (agent is None or declaration.agent is agent)
    )


def parse_payload(edit: Edit) -> Payload:
    """Validate ``edit.payload`` against its op's schema; raise InvalidEdit naming the field."""
    model = PAYLOAD_MODELS[edit.op]
    try:
        return model.model_validate(edit.payload)
    except ValidationError as exc:
        field, reason = describe_validation_error(exc)
        raise InvalidEdit(reason, edit_id=edit.id, field=field) from None


def resolve_agent(edit: Edit, payload_agent: str | None) -> str:
    """The agent an edit is about: the payload's, else ``agents.<agent>...`` of the target."""
    if payload_agent is not None:
        return payload_agent
    parts = edit.target.split(".")
    if len(parts) >= 2 and parts[0] == "agents":
        # agents.<agent>.<file>: agent names may themselves contain dots ("v1.2"),
        # so the agent is everything between the first and the last part.
        name = ".".join(parts[1:-1]) if len(parts) >= 3 else parts[1]
        try:
            return check_name(name, "agent name")
        except UnsafePath as exc:
            raise InvalidEdit(exc.message, edit_id=edit.id, field="target") from None
    raise InvalidEdit(
        "no agent: give payload.agent or a target like 'agents.<agent>.system_prompt'",
        edit_id=edit.id,
        field="payload.agent",
    )


#: Range checks for well-known model and agent params: (type check, predicate, rule).
def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


WELL_KNOWN_PARAMS: dict[str, tuple[Any, Any, str]] = {
    "temperature": (_number, lambda v: 0.0 <= v <= 2.0, "a number in [0, 2]"),
    "top_p": (_number, lambda v: 0.0 < v <= 1.0, "a number in (0, 1]"),
    "top_k": (_int, lambda v: v >= 0, "an integer >= 0"),
    "max_tokens": (_int, lambda v: 1 <= v <= 1_000_000, "an integer in [1, 1000000]"),
    "max_turns": (_int, lambda v: 1 <= v <= 1000, "an integer in [1, 1000]"),
    "presence_penalty": (_number, lambda v: -2.0 <= v <= 2.0, "a number in [-2, 2]"),
    "frequency_penalty": (_number, lambda v: -2.0 <= v <= 2.0, "a number in [-2, 2]"),
    "seed": (_int, lambda v: True, "an integer"),
}


def check_param_value(param: str, value: Any) -> str | None:
    """None if ``value`` is acceptable for ``param``, else the rule it breaks."""
    rule = WELL_KNOWN_PARAMS.get(param)
    if rule is None:
        return None
    type_ok, in_range, description = rule
    if not type_ok(value) or not in_range(value):
        return f"{param} must be {description}, got {value!r}"
    return None
