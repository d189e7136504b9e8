"""The evaluation half's exceptions, grafted onto :mod:`specdistill.errors`.

They subclass the project's two roots, so the CLI's single handler prints them as
one-line messages (exit 2 for bad input, 1 for runtime failures)::

    SpecdistillError
    ├── InvalidInput (ValueError)
    │   ├── BenchmarkError          a tasks file has bad lines (every one is listed)
    │   └── ConfigError
    │       └── EvaluationConfigError   [specdistill.student|judge|runner] or the spec
    │                                   cannot build a student (unknown agent, bad JSON)
    └── RuntimeFailure
        ├── TaskRunError            one task's student run or scoring failed
        │   └── EndpointCallError (also EndpointError)  an HTTP chat call failed
        ├── CacheCorrupt            learning/cache.db is unreadable
        └── NothingScored           every task errored: there is no score to report

``TaskRunError.retryable`` says whether the runner may try again (timeouts, 5xx,
connection errors, garbage bodies) or must record the error at once (4xx, a non-zero
exit, a malformed judge verdict).
"""

from __future__ import annotations

from pathlib import Path

from specdistill.errors import BadLines, ConfigError, EndpointError, RuntimeFailure


class BenchmarkError(BadLines):
    """A benchmark file is malformed. ``problems`` holds one line per bad line."""

    def __init__(self, problems: list[str], *, path: Path | None = None) -> None:
        super().__init__(
            problems,
            path=path,
            hint="fix the lines named above; the task format is in docs/benchmarks.md",
        )


class EvaluationConfigError(ConfigError):
    """The spec home cannot build a student for a task, or a student/judge setting is wrong."""


class TaskRunError(RuntimeFailure):
    """One attempt at running or scoring a task failed."""

    def __init__(self, message: str, *, retryable: bool = False) -> None:
        self.retryable = retryable
        super().__init__(message)


class EndpointCallError(TaskRunError, EndpointError):
    """An OpenAI-compatible endpoint failed; ``status`` is the HTTP status, if any."""

    def __init__(self, message: str, *, retryable: bool, status: int | None = None) -> None:
        self.status = status
        super().__init__(message, retryable=retryable)


class CacheCorrupt(RuntimeFailure):
    """The result cache cannot be read; never ignored, since silence would fake scores."""

    def __init__(self, path: Path, reason: str) -> None:
        self.path = path
        super().__init__(
            f"the result cache {path} is unreadable ({reason})",
            hint="run `specdistill cache clear` to delete it (cached results are re-run)",
        )


class NothingScored(RuntimeFailure):
    """No task produced a score, so no snapshot can honestly be built."""
