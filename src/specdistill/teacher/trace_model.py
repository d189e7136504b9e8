"""The trace model: one interaction as both trace readers produce it.

:mod:`.traces` (JSONL, readiness) and :mod:`.tracedb` (an OpenJarvis SQLite
``traces.db``) both build :class:`Trace` objects and word a trace that fails validation
the same way (:func:`row_problem`). This module imports neither, so the readers import
in one direction: ``trace_model`` ← ``tracedb`` ← ``traces``. The fields are listed in
:mod:`.traces`'s docstring.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    JsonValue,
    StrictStr,
    ValidationError,
)

from specdistill.evaluation.scoring import AgentName, QueryClassName, TaskId
from specdistill.validation import describe_validation_error


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must be a number in [0, 1], not a boolean")
    return value


#: A rating: a finite number in [0, 1].
Feedback = Annotated[float, Field(ge=0.0, le=1.0, allow_inf_nan=False)]


class ToolCall(BaseModel):
    """One tool call the agent made while answering."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Annotated[StrictStr, Field(min_length=1, max_length=200)]
    arguments: JsonValue = None
    result: JsonValue = None


class Trace(BaseModel):
    """One interaction: query, answer, rating and context (see :mod:`.traces`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: TaskId
    query: StrictStr
    answer: StrictStr = ""
    feedback: Annotated[Feedback | None, BeforeValidator(_not_bool)] = None
    query_class: QueryClassName | None = None
    agent: AgentName | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    tool_calls: list[ToolCall] = Field(default_factory=list)
    metadata: dict[str, JsonValue] = Field(default_factory=dict)


def row_problem(label: str, where: str, exc: ValidationError) -> str:
    """One line for a trace that failed validation: ``<label> <where>: field 'x': reason``."""
    field_name, reason = describe_validation_error(exc, prefix="")
    field_name = field_name.lstrip(".")
    reason = reason.removeprefix("Value error, ")
    if field_name:
        return f"{label} {where}: field {field_name!r}: {reason}"
    return f"{label} {where}: {reason}"
