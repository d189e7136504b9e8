"""The teacher half's exceptions, grafted onto :mod:`specdistill.errors`.

They subclass the project's two roots, so the CLI's single handler prints them as
one-line messages (exit 2 for bad input, 1 for runtime failures)::

    SpecdistillError
    ├── InvalidInput (ValueError)
    │   ├── TraceError              a traces file has bad lines/rows (every one is listed)
    │   ├── NotReady                too few traces (or high-feedback traces) for the job
    │   └── ConfigError
    │       └── TeacherConfigError  [specdistill.teacher] / [specdistill.traces] is wrong
    └── RuntimeFailure
        ├── BudgetExceeded          the next teacher call could pass the cost budget
        └── EndpointError
            └── TeacherReplyError   the teacher's reply stayed invalid after a retry

``BudgetExceeded`` is raised *before* the call that could exceed the budget, so a caller
that catches it still holds everything earlier calls produced and can stop cleanly.
"""

from __future__ import annotations

from pathlib import Path

from specdistill.errors import BadLines, ConfigError, EndpointError, InvalidInput, RuntimeFailure


class TraceError(BadLines):
    """A traces file is malformed or unreadable. ``problems`` holds one line per bad line."""

    def __init__(self, problems: list[str], *, path: Path | None = None) -> None:
        super().__init__(
            problems, path=path, hint="the trace format is in docs/teacher.md (Traces)"
        )


class NotReady(InvalidInput):
    """There are not enough traces for what was asked; ``problems`` says what is missing."""

    def __init__(self, problems: list[str], *, hint: str | None = None) -> None:
        self.problems = tuple(problems)
        super().__init__(
            "\n".join(problems),
            hint=hint or "collect more traces, or lower the thresholds in [specdistill.traces]",
        )


class TeacherConfigError(ConfigError):
    """``[specdistill.teacher]`` or ``[specdistill.traces]`` in config.toml is wrong."""


class BudgetExceeded(RuntimeFailure):
    """The next teacher call could take the session past its cost budget; it was not made.

    ``spent_usd`` is what earlier calls cost, ``estimate_usd`` the next call's worst case,
    ``limit_usd`` the budget that would be passed, ``purpose`` what the call was for.
    """

    def __init__(
        self, *, purpose: str, spent_usd: float, estimate_usd: float, limit_usd: float
    ) -> None:
        self.purpose = purpose
        self.spent_usd = spent_usd
        self.estimate_usd = estimate_usd
        self.limit_usd = limit_usd
        super().__init__(
            f"teacher budget reached: the {purpose} call could cost up to ${estimate_usd:.4f} "
            f"and ${spent_usd:.4f} of ${limit_usd:.4f} is already spent; the call was not made",
            hint="raise [specdistill.teacher] max_cost_per_session_usd, or lower max_tokens",
        )


class TeacherReplyError(EndpointError):
    """The teacher's reply could not be used (not JSON, or not the asked shape), even after
    one retry that told it what was wrong."""
