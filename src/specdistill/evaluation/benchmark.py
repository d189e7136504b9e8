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

import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from pydantic import ValidationError

from specdistill.evaluation.errors import BenchmarkError
from specdistill.evaluation.hashing import sha256_hex
from specdistill.evaluation.scorers import ScorerRegistry, default_registry
from specdistill.evaluation.scoring import Task
from specdistill.jsonl import json_objects, line_problem, read_text
from specdistill.validation import describe_validation_error

__all__ = [
    "Benchmark",
    "Task",
    "load_benchmark",
    "parse_benchmark",
]

#: Shown when the benchmark file is missing: where the path comes from.
MISSING_HINT = (
    "pass --benchmark FILE, or set [specdistill.benchmark] path in config.toml "
    "(default: <home>/benchmark.jsonl)"
)


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


def parse_benchmark(
    text: str, *, label: str = "tasks.jsonl", registry: ScorerRegistry | None = None
) -> Benchmark:
    """Parse JSONL ``text`` into a Benchmark; raise BenchmarkError listing every bad line.

    ``registry`` is the :class:`~specdistill.evaluation.scorers.ScorerRegistry` that
    names and options are checked against (default: the built-in scorers), so an unknown
    scorer, a bad option or a regex that does not compile fails here, not mid-run.
    """
    scorers = registry if registry is not None else default_registry()
    problems: list[str] = []
    tasks: list[Task] = []
    first_line: dict[str, int] = {}
    for number, data in json_objects(text, label=label, problems=problems):
        try:
            task = Task.model_validate(data)
        except ValidationError as exc:
            field, reason = describe_validation_error(exc, prefix="")
            reason = reason.removeprefix("Value error, ")
            problems.append(line_problem(label, number, reason, field=field.lstrip(".") or None))
            continue
        problem = scorers.check_task(task)
        if problem is not None:
            field, reason = problem
            problems.append(line_problem(label, number, reason, field=field))
            continue
        if task.id in first_line:
            reason = f"duplicate task id {task.id!r} (first on line {first_line[task.id]})"
            problems.append(line_problem(label, number, reason, field="id"))
            continue
        first_line[task.id] = number
        tasks.append(task)
    if problems:
        raise BenchmarkError(problems)
    if not tasks:
        raise BenchmarkError([f"{label}: no tasks (the file is empty)"])
    return Benchmark(tasks=tuple(tasks), source=label)


def load_benchmark(
    path: str | os.PathLike[str], *, registry: ScorerRegistry | None = None
) -> Benchmark:
    """Read and parse a JSONL benchmark file; errors name the file and the line.

    Only a regular file of at most :data:`specdistill.jsonl.MAX_FILE_BYTES` is read.
    """
    path = Path(path)
    text = read_text(path, what="benchmark file", error=BenchmarkError, missing_hint=MISSING_HINT)
    try:
        return parse_benchmark(text, label=path.name, registry=registry)
    except BenchmarkError as exc:
        raise BenchmarkError(list(exc.problems), path=path) from None
