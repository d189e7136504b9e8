"""What scoring is about: a task, the scorer contract, and the judge's verdict.

The benchmark (:mod:`.benchmark`) reads tasks, the scorers (:mod:`.scorers`) check and
score them, and the LLM judge (:mod:`.judge`) is one scorer that grades through a
model. All three need these types; this module imports none of them, so they import
each other in one direction only: ``scoring`` ← ``judge`` ← ``scorers`` ← ``benchmark``.

A scorer is a :class:`Scorer`: a name, a function from :class:`ScoreInput` to a score in
[0, 1] (or an awaitable of one), a load-time check that raises :class:`BadTask`, and the
options it accepts. A scorer that needs a model grades through the :class:`Grader` it
is given (the :class:`~specdistill.evaluation.judge.Judge` is one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Protocol

from pydantic import BaseModel, ConfigDict, Field, JsonValue, StrictStr

from specdistill.evaluation.hashing import sha256_hex
from specdistill.home import check_name, check_text_key
from specdistill.validation import checked

TaskId = Annotated[StrictStr, checked(check_text_key, "task id")]
ClusterName = Annotated[StrictStr, checked(check_text_key, "cluster")]
QueryClassName = Annotated[StrictStr, checked(check_text_key, "query class")]
AgentName = Annotated[StrictStr, checked(check_name, "agent name")]


class Task(BaseModel):
    """One benchmark task. Frozen: a task is content, identified by :meth:`content_hash`.

    The fields are the benchmark file's (see :mod:`.benchmark` for the format).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: TaskId
    input: StrictStr
    cluster: ClusterName
    reference: JsonValue
    scorer: Annotated[StrictStr, Field(min_length=1, max_length=100)]
    scorer_options: dict[str, JsonValue] = Field(default_factory=dict)
    query_class: QueryClassName | None = None
    agent: AgentName | None = None
    metadata: dict[str, JsonValue] = Field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        """The task as plain JSON data (every field, defaults included)."""
        data: dict[str, Any] = self.model_dump(mode="json")
        return data

    def content_hash(self) -> str:
        """sha256 of the task's canonical JSON: any change to any field changes it."""
        return sha256_hex(self.as_json())


class BadTask(ValueError):
    """A task's reference or options do not suit its scorer; ``field`` names which."""

    def __init__(self, field: str, reason: str) -> None:
        self.field = field
        super().__init__(reason)


@dataclass(frozen=True)
class JudgeVerdict:
    """A grader's verdict on one answer: a score in [0, 1] and, optionally, why."""

    score: float
    reason: str = ""


class Grader(Protocol):
    """What a model-backed scorer grades through (the LLM judge implements it)."""

    async def grade(
        self, *, rubric: str, task_input: str, reference: Any, answer: str
    ) -> JudgeVerdict:
        """Grade ``answer`` to ``task_input`` against ``rubric`` and ``reference``."""
        ...


@dataclass(frozen=True)
class ScoreInput:
    """What a scorer sees."""

    answer: str
    reference: Any
    options: Mapping[str, Any]
    task_input: str = ""
    judge: Grader | None = None


@dataclass(frozen=True)
class Scorer:
    """A named scorer: its allowed options, a load-time check, and the scoring function."""

    name: str
    score: Callable[[ScoreInput], float | Awaitable[float]]
    check: Callable[[Any, Mapping[str, Any]], None] = lambda reference, options: None
    options: frozenset[str] = field(default_factory=frozenset)
    needs_judge: bool = False
