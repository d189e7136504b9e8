"""Every exception specdistill raises, in one place.

Two roots: misuse (bad input from a teacher or a caller) and runtime failures
(something went wrong while doing a valid thing). Both descend from
``SpecdistillError`` so one handler can print any of them as a one-line message.

    SpecdistillError
    ├── InvalidInput (ValueError)           misuse: the input is wrong, fix the input
    │   ├── InvalidEdit                     an edit or its payload is malformed
    │   ├── InvalidPlan                     a plan file is not JSON / not a plan
    │   ├── BadLines                        a benchmark / traces file has bad lines
    │   ├── UnsafePath                      a name or path would leave the spec home
    │   └── ConfigError                     config.toml / tier overrides are wrong
    └── RuntimeFailure                      a valid operation failed
        ├── ApplyError                      an applier could not apply an edit
        ├── NotReversible                   rollback asked with no recorded pre-image
        ├── CheckpointError                 git / journal / lock trouble
        │   ├── DirtyTree                   tracked files carry uncommitted edits
        │   └── LockHeld                    another writer holds the home
        ├── GateInterrupted                 Ctrl-C while gating (the edit is undone)
        └── EndpointError                   an HTTP endpoint failed

Errors carry their context (edit id, field, path) as attributes, so callers can
act on them without parsing messages.
"""

from __future__ import annotations

from pathlib import Path


class SpecdistillError(Exception):
    """Root of every specdistill error."""

    #: What the user can do about it; the CLI prints it after the message.
    hint: str | None = None

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        if hint is not None:
            self.hint = hint

    @property
    def message(self) -> str:
        return str(self.args[0]) if self.args else ""


# --- misuse -------------------------------------------------------------------


class InvalidInput(SpecdistillError, ValueError):
    """The input is wrong; nothing was changed."""


class InvalidEdit(InvalidInput):
    """An edit (or its payload) is malformed. Names the edit and the field."""

    def __init__(
        self,
        reason: str,
        *,
        edit_id: str | None = None,
        field: str | None = None,
        hint: str | None = None,
    ) -> None:
        self.edit_id = edit_id
        self.field = field
        self.reason = reason
        where = []
        if edit_id is not None:
            where.append(f"edit {edit_id!r}")
        if field is not None:
            where.append(f"field {field!r}")
        prefix = ", ".join(where)
        super().__init__(f"{prefix}: {reason}" if prefix else reason, hint=hint)

    @property
    def field_message(self) -> str:
        """The message without the edit id, for places that already name the edit."""
        return f"field {self.field!r}: {self.reason}" if self.field else self.reason


class InvalidPlan(InvalidInput):
    """A plan file is not JSON, or not a plan."""


class BadLines(InvalidInput):
    """A line-oriented file (benchmark, traces) has bad lines: one problem per line.

    ``problems`` holds every problem; the message shows the first 20.
    """

    def __init__(self, problems: list[str], *, path: Path | None = None, hint: str) -> None:
        self.problems = tuple(problems)
        self.path = path
        shown = list(problems[:20])
        if len(problems) > 20:
            shown.append(f"… and {len(problems) - 20} more bad lines")
        super().__init__("\n".join(shown), hint=hint)


class UnsafePath(InvalidInput):
    """A name or path would resolve outside the spec home."""

    def __init__(self, reason: str, *, name: str | None = None) -> None:
        self.name = name
        super().__init__(reason)


class ConfigError(InvalidInput):
    """The spec home's configuration is wrong (e.g. unknown tier override)."""


# --- runtime failures ---------------------------------------------------------


class RuntimeFailure(SpecdistillError):
    """A valid operation failed."""


class ApplyError(RuntimeFailure):
    """An applier could not apply an edit (files were restored)."""

    def __init__(self, reason: str, *, edit_id: str | None = None) -> None:
        self.edit_id = edit_id
        super().__init__(reason)


class NotReversible(RuntimeFailure):
    """Rollback was asked for an edit with no recorded pre-image."""

    def __init__(self, reason: str, *, edit_id: str | None = None) -> None:
        self.edit_id = edit_id
        super().__init__(reason)


class CheckpointError(RuntimeFailure):
    """Git, journal or lock trouble in the spec home."""


class DirtyTree(CheckpointError):
    """Tracked spec files carry uncommitted hand edits."""

    def __init__(self, paths: list[str]) -> None:
        self.paths = paths
        shown = ", ".join(paths[:5]) + (" …" if len(paths) > 5 else "")
        super().__init__(
            f"uncommitted changes in tracked spec files: {shown}",
            hint="commit them yourself, or pass --allow-dirty to checkpoint them as "
            "'manual changes' first",
        )


class LockHeld(CheckpointError):
    """Another writer holds the spec home's lock."""

    def __init__(self, path: Path, holder: str) -> None:
        self.path = path
        self.holder = holder
        super().__init__(
            f"the spec home is locked by {holder}",
            hint=f"wait for it to finish; if that process is gone the lock ({path}) "
            "is taken over automatically",
        )


class GateInterrupted(RuntimeFailure):
    """A stop was requested (Ctrl-C) while the gate was running; the edit is undone."""


class EndpointError(RuntimeFailure):
    """An OpenAI-compatible (or other HTTP) endpoint failed."""
