"""Benchmarks: a JSONL file of tasks, validated line by line, identified by content.

The format (one JSON object per line; blank lines are skipped)::

    {"id": "arith-001", "input": "What is 17 * 3?", "cluster": "arithmetic",
     "reference": 51, "scorer": "numeric", "scorer_options": {"abs_tol": 0.5},
     "query_class": "math", "agent": "assistant", "metadata": {"source": "gsm8k"}}

=================  ========  ==========================================================
field              required  meaning
=================  ========  ==========================================================
``id``             yes       unique task id (1–200 printable characters)
``input``          yes       the user message the student answers
``cluster``        yes       the failure cluster the task measures (gate's unit)
``reference``      yes       the reference answer: any JSON value (may be ``null``);
                             each scorer says which types it accepts
``scorer``         yes       a registered scorer name (see :mod:`.scorers`)
``scorer_options`` no        an object of the scorer's options, default ``{}``;
                             unknown options are refused
``query_class``    no        selects the model through the routing map
``agent``          no        the agent that serves the task (see :mod:`.spec_view`)
``metadata``       no        an object carried along untouched (it is part of the hash)
=================  ========  ==========================================================

Unknown fields are refused, so a typo (``"referense"``) is an error rather than a
silently missing answer. Every bad line is reported, one line each::

    tasks.jsonl line 7: field 'cluster': required key is missing

A :class:`Benchmark`'s ``version`` is ``sha256:<hex>`` over the canonical JSON of its
tasks sorted by id: the same tasks in any line order have the same version, and any
change to any field of any task gives a new one.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    JsonValue,
    StrictStr,
    ValidationError,
)

from specdistill.evaluation.errors import BenchmarkError
from specdistill.evaluation.hashing import sha256_hex
from specdistill.home import check_name, check_text_key
from specdistill.payloads import checked, describe_validation_error

#: A line longer than this is refused before it is parsed.
MAX_LINE_BYTES = 4 * 1024 * 1024


TaskId = Annotated[StrictStr, checked(check_text_key, "task id")]
ClusterName = Annotated[StrictStr, checked(check_text_key, "cluster")]
QueryClassName = Annotated[StrictStr, checked(check_text_key, "query class")]
AgentName = Annotated[StrictStr, checked(check_name, "agent name")]


class Task(BaseModel):
    """One benchmark task. Frozen: a task is content, identified by :meth:`content_hash`."""

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
        return self.model_dump(mode="json")

    def content_hash(self) -> str:
        """sha256 of the task's canonical JSON: any change to any field changes it."""
        return sha256_hex(self.as_json())


@dataclass(frozen=True)
class Benchmark:
    """An ordered, validated set of tasks with unique ids.

    ``source`` names where it came from (for messages only; not part of ``version``).
    """

    tasks: tuple[Task, ...]
    source: str = "<memory>"

    def __post_init__(self) -> None:
        seen: set[str] = set()
        for task in self.tasks:
            if task.id in seen:
                raise BenchmarkError([f"{self.source}: duplicate task id {task.id!r}"])
            seen.add(task.id)

    @cached_property
    def version(self) -> str:
        """``sha256:<hex>`` over the canonical JSON of the tasks, sorted by id."""
        ordered = sorted(self.tasks, key=lambda task: task.id)
        return "sha256:" + sha256_hex([task.as_json() for task in ordered])

    @cached_property
    def by_id(self) -> Mapping[str, Task]:
        return {task.id: task for task in self.tasks}

    @property
    def clusters(self) -> list[str]:
        """The clusters, in order of first appearance."""
        return list(dict.fromkeys(task.cluster for task in self.tasks))

    def __len__(self) -> int:
        return len(self.tasks)

    def __iter__(self) -> Iterator[Task]:
        return iter(self.tasks)


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text} is out of range")
    return value


def _line_problem(label: str, number: int, field: str | None, reason: str) -> str:
    where = f"{label} line {number}"
    return f"{where}: field {field!r}: {reason}" if field else f"{where}: {reason}"


def parse_benchmark(text: str, *, label: str = "tasks.jsonl", registry: Any = None) -> Benchmark:
    """Parse JSONL ``text`` into a Benchmark; raise BenchmarkError listing every bad line.

    ``registry`` is the :class:`~specdistill.evaluation.scorers.ScorerRegistry` that
    names and options are checked against (default: the built-in scorers), so an unknown
    scorer, a bad option or a regex that does not compile fails here, not mid-run.
    """
    from specdistill.evaluation.scorers import default_registry

    scorers = registry if registry is not None else default_registry()
    problems: list[str] = []
    tasks: list[Task] = []
    first_line: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if len(line.encode("utf-8", "surrogatepass")) > MAX_LINE_BYTES:
            problems.append(_line_problem(label, number, None, f"longer than {MAX_LINE_BYTES} B"))
            continue
        try:
            data = json.loads(line, parse_constant=_refuse_constant, parse_float=_finite_float)
        except json.JSONDecodeError as exc:
            problems.append(_line_problem(label, number, None, f"not JSON ({exc.msg})"))
            continue
        except ValueError as exc:
            problems.append(_line_problem(label, number, None, f"not JSON ({exc})"))
            continue
        if not isinstance(data, dict):
            kind = type(data).__name__
            problems.append(_line_problem(label, number, None, f"not a JSON object ({kind})"))
            continue
        try:
            task = Task.model_validate(data)
        except ValidationError as exc:
            field, reason = describe_validation_error(exc, prefix="")
            reason = reason.removeprefix("Value error, ")
            problems.append(_line_problem(label, number, field.lstrip(".") or None, reason))
            continue
        problem = scorers.check_task(task)
        if problem is not None:
            field, reason = problem
            problems.append(_line_problem(label, number, field, reason))
            continue
        if task.id in first_line:
            reason = f"duplicate task id {task.id!r} (first on line {first_line[task.id]})"
            problems.append(_line_problem(label, number, "id", reason))
            continue
        first_line[task.id] = number
        tasks.append(task)
    if problems:
        raise BenchmarkError(problems)
    if not tasks:
        raise BenchmarkError([f"{label}: no tasks (the file is empty)"])
    return Benchmark(tasks=tuple(tasks), source=label)


def load_benchmark(path: str | os.PathLike[str], *, registry: Any = None) -> Benchmark:
    """Read and parse a JSONL benchmark file; errors name the file and the line."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        missing = BenchmarkError([f"{path}: no such benchmark file"], path=path)
        missing.hint = (
            "pass --benchmark FILE, or set [specdistill.benchmark] path in config.toml "
            "(default: <home>/benchmark.jsonl)"
        )
        raise missing from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchmarkError([f"{path}: cannot read ({exc})"], path=path) from None
    try:
        return parse_benchmark(text, label=path.name, registry=registry)
    except BenchmarkError as exc:
        raise BenchmarkError(list(exc.problems), path=path) from None
