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

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from specdistill.jsonl import json_objects, line_problem, read_head, read_text
from specdistill.teacher.errors import NotReady, TraceError
from specdistill.teacher.trace_model import ToolCall, Trace, row_problem
from specdistill.teacher.tracedb import read_traces_db

__all__ = [
    "SQLITE_MAGIC",
    "ClassCounts",
    "Readiness",
    "ToolCall",
    "Trace",
    "TraceThresholds",
    "check_readiness",
    "load_traces",
    "parse_traces_jsonl",
]

SQLITE_MAGIC = b"SQLite format 3\x00"


def parse_traces_jsonl(text: str, *, label: str = "traces.jsonl") -> list[Trace]:
    """Parse JSONL ``text`` into traces; raise TraceError listing every bad line."""
    problems: list[str] = []
    traces: list[Trace] = []
    first_line: dict[str, int] = {}
    for number, data in json_objects(text, label=label, problems=problems):
        try:
            trace = Trace.model_validate(data)
        except ValidationError as exc:
            problems.append(row_problem(label, f"line {number}", exc))
            continue
        if trace.id in first_line:
            reason = f"duplicate trace id {trace.id!r} (first on line {first_line[trace.id]})"
            problems.append(line_problem(label, number, reason, field="id"))
            continue
        first_line[trace.id] = number
        traces.append(trace)
    if problems:
        raise TraceError(problems)
    return traces


def load_traces(path: str | os.PathLike[str]) -> list[Trace]:
    """Read traces from a JSONL file or an OpenJarvis SQLite ``traces.db``.

    Only a regular file is read; a JSONL file of at most
    :data:`specdistill.jsonl.MAX_FILE_BYTES`.
    """
    path = Path(path)
    head = read_head(path, len(SQLITE_MAGIC), what="traces file", error=TraceError)
    if head == SQLITE_MAGIC:
        return read_traces_db(path)
    text = read_text(path, what="traces file", error=TraceError)
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
