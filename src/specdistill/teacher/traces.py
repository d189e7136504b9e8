"""Traces: what the agent was asked, what it answered and how the answer was rated.

The teacher diagnoses failing traces; the benchmark miner turns well-rated ones into
tasks. Two sources are read, both into :class:`Trace`:

**JSONL** (one object per line; blank lines are skipped)::

    {"id": "t-0042", "query": "What is 17 * 3?", "answer": "51", "feedback": 1.0,
     "query_class": "math", "agent": "assistant",
     "started_at": "2025-06-01T10:00:00Z", "ended_at": "2025-06-01T10:00:02Z",
     "tool_calls": [{"name": "calculator", "arguments": {"expr": "17*3"}, "result": "51"}],
     "metadata": {"user": "u1"}}

================  ========  ==========================================================
field             required  meaning
================  ========  ==========================================================
``id``            yes       unique trace id (1–200 printable characters)
``query``         yes       the user's message
``answer``        no        the agent's final answer (default ``""``)
``feedback``      no        the rating in [0, 1]; ``null``/absent = unrated
``query_class``   no        the routing class of the query
``agent``         no        the agent that answered (a plain name)
``started_at``    no        ISO 8601 time or Unix seconds
``ended_at``      no        ISO 8601 time or Unix seconds
``tool_calls``    no        ``[{"name": str, "arguments": any, "result": any}]``
``metadata``      no        an object carried along (never sent to the teacher)
================  ========  ==========================================================

Unknown fields are refused (a typo is an error, not a silently missing rating), and so are
duplicate ids. Every bad line is reported, one line each::

    traces.jsonl line 3: field 'feedback': Input should be less than or equal to 1 (got 1.5)

**SQLite** (an OpenJarvis ``traces.db``): see :mod:`specdistill.teacher.tracedb`.
:func:`load_traces` picks the reader by the file's first bytes (``SQLite format 3``).

**Readiness** (:func:`check_readiness`): a trace is *high-feedback* when its feedback is
``>= high_feedback`` and *failing* when it is ``< low_feedback``. Building a benchmark
needs ``min_traces`` traces, of which ``min_high_feedback`` high-feedback ones; a
diagnosis needs at least one failing trace. Each shortfall is one clear message.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
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

from specdistill.evaluation.benchmark import AgentName, QueryClassName, TaskId
from specdistill.payloads import describe_validation_error
from specdistill.teacher.errors import NotReady, TraceError

#: A line longer than this is refused before it is parsed.
MAX_LINE_BYTES = 4 * 1024 * 1024
SQLITE_MAGIC = b"SQLite format 3\x00"


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
    """One interaction: query, answer, rating and context (see the module docstring)."""

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


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def row_problem(label: str, where: str, exc: ValidationError) -> str:
    """One line for a trace that failed validation: ``<label> <where>: field 'x': reason``."""
    field_name, reason = describe_validation_error(exc, prefix="")
    field_name = field_name.lstrip(".")
    reason = reason.removeprefix("Value error, ")
    if field_name:
        return f"{label} {where}: field {field_name!r}: {reason}"
    return f"{label} {where}: {reason}"


def parse_traces_jsonl(text: str, *, label: str = "traces.jsonl") -> list[Trace]:
    """Parse JSONL ``text`` into traces; raise TraceError listing every bad line."""
    problems: list[str] = []
    traces: list[Trace] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        where = f"line {number}"
        if len(line.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES:
            problems.append(f"{label} {where}: longer than {MAX_LINE_BYTES} B")
            continue
        try:
            data = json.loads(line, parse_constant=_refuse_constant, parse_float=_finite_float)
        except json.JSONDecodeError as exc:
            problems.append(f"{label} {where}: not JSON ({exc.msg})")
            continue
        except ValueError as exc:
            problems.append(f"{label} {where}: not JSON ({exc})")
            continue
        if not isinstance(data, dict):
            problems.append(f"{label} {where}: not a JSON object ({type(data).__name__})")
            continue
        try:
            trace = Trace.model_validate(data)
        except ValidationError as exc:
            problems.append(row_problem(label, where, exc))
            continue
        if trace.id in first_line:
            problems.append(
                f"{label} {where}: field 'id': duplicate trace id {trace.id!r} "
                f"(first on line {first_line[trace.id]})"
            )
            continue
        first_line[trace.id] = number
        traces.append(trace)
    if problems:
        raise TraceError(problems)
    return traces


def load_traces(path: str | os.PathLike[str]) -> list[Trace]:
    """Read traces from a JSONL file or an OpenJarvis SQLite ``traces.db``."""
    path = Path(path)
    try:
        with path.open("rb") as handle:
            head = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise TraceError([f"{path}: no such traces file"], path=path) from None
    except OSError as exc:
        raise TraceError([f"{path}: cannot read ({exc})"], path=path) from None
    if head == SQLITE_MAGIC:
        from specdistill.teacher.tracedb import read_traces_db

        return read_traces_db(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise TraceError([f"{path}: cannot read ({exc})"], path=path) from None
    try:
        return parse_traces_jsonl(text, label=path.name)
    except TraceError as exc:
        raise TraceError(list(exc.problems), path=path) from None


# --- readiness ------------------------------------------------------------------------


@dataclass(frozen=True)
class TraceThresholds:
    """What counts as a good or a failing trace, and how many a job needs.

    Configurable in ``[specdistill.traces]`` (see :mod:`specdistill.teacher.settings`).
    """

    min_traces: int = 20
    min_high_feedback: int = 10
    high_feedback: float = 0.8
    low_feedback: float = 0.5

    def __post_init__(self) -> None:
        if not 0.0 <= self.low_feedback <= self.high_feedback <= 1.0:
            raise ValueError("thresholds need 0 <= low_feedback <= high_feedback <= 1")
        if self.min_traces < 0 or self.min_high_feedback < 0:
            raise ValueError("minimum counts must be >= 0")

    def is_high(self, trace: Trace) -> bool:
        return trace.feedback is not None and trace.feedback >= self.high_feedback

    def is_failing(self, trace: Trace) -> bool:
        return trace.feedback is not None and trace.feedback < self.low_feedback


@dataclass(frozen=True)
class ClassCounts:
    """Counts for one query class (``None``: traces without one)."""

    total: int = 0
    rated: int = 0
    high: int = 0
    failing: int = 0


@dataclass(frozen=True)
class Readiness:
    """How many traces of each kind there are, and what is missing for each job."""

    total: int
    rated: int
    high: int
    failing: int
    by_query_class: dict[str | None, ClassCounts]
    benchmark_problems: tuple[str, ...] = ()
    diagnosis_problems: tuple[str, ...] = ()
    thresholds: TraceThresholds = field(default_factory=TraceThresholds)

    @property
    def ok(self) -> bool:
        return not self.benchmark_problems and not self.diagnosis_problems

    def require_benchmark(self) -> None:
        """Raise NotReady unless there are enough traces to mine a benchmark."""
        if self.benchmark_problems:
            raise NotReady(list(self.benchmark_problems))

    def require_diagnosis(self) -> None:
        """Raise NotReady unless there are failing traces to diagnose."""
        if self.diagnosis_problems:
            raise NotReady(list(self.diagnosis_problems))


def check_readiness(
    traces: Sequence[Trace], thresholds: TraceThresholds | None = None
) -> Readiness:
    """Count traces and say, one message each, what a benchmark or a diagnosis lacks."""
    limits = thresholds or TraceThresholds()
    classes: dict[str | None, list[Trace]] = {}
    for trace in traces:
        classes.setdefault(trace.query_class, []).append(trace)

    def counts(group: Iterable[Trace]) -> ClassCounts:
        group = list(group)
        return ClassCounts(
            total=len(group),
            rated=sum(1 for t in group if t.feedback is not None),
            high=sum(1 for t in group if limits.is_high(t)),
            failing=sum(1 for t in group if limits.is_failing(t)),
        )

    overall = counts(traces)
    bench: list[str] = []
    if overall.total < limits.min_traces:
        bench.append(
            f"too few traces: {overall.total} (need at least {limits.min_traces}; "
            "[specdistill.traces] min_traces)"
        )
    if overall.high < limits.min_high_feedback:
        bench.append(
            f"too few high-feedback traces for a benchmark: {overall.high} with feedback >= "
            f"{limits.high_feedback:g} (need at least {limits.min_high_feedback}; "
            "[specdistill.traces] min_high_feedback)"
        )
    diag: list[str] = []
    if overall.failing == 0:
        diag.append(
            f"no failing traces to diagnose: none has feedback < {limits.low_feedback:g} "
            f"({overall.rated} of {overall.total} are rated)"
        )
    ordered = sorted(classes, key=lambda name: (name is None, name or ""))
    return Readiness(
        total=overall.total,
        rated=overall.rated,
        high=overall.high,
        failing=overall.failing,
        by_query_class={name: counts(classes[name]) for name in ordered},
        benchmark_problems=tuple(bench),
        diagnosis_problems=tuple(diag),
        thresholds=limits,
    )
