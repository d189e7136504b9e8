"""The applier interface, and the file-editing base that makes appliers reversible.

An applier validates an edit against the spec as it is, applies it, and can undo
it. :class:`FileEditApplier` does the I/O for the built-in appliers: a subclass
only computes the new bytes of the files it touches from their current bytes
(:meth:`FileEditApplier.plan_changes`); the base captures pre-images, checks
that every output still parses, writes atomically, and restores the exact
previous bytes on failure or rollback.
"""

from __future__ import annotations

import difflib
import json
import tomllib
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Protocol

from specdistill.context import ApplyContext
from specdistill.errors import ApplyError, InvalidEdit, NotReversible, UnsafePath
from specdistill.fsio import FileSnapshot, atomic_write_bytes, capture, restore_exact_bytes
from specdistill.models import Edit, EditOp
from specdistill.payloads import Payload, parse_payload


@dataclass(frozen=True)
class ValidationResult:
    """Whether an edit can be applied to the spec as it is now, and if not, why."""

    ok: bool
    reason: str | None = None
    field: str | None = None

    @classmethod
    def success(cls) -> ValidationResult:
        return cls(ok=True)

    @classmethod
    def failure(cls, reason: str, field: str | None = None) -> ValidationResult:
        return cls(ok=False, reason=reason, field=field)


@dataclass(frozen=True)
class FileChange:
    """One file's bytes before and after an edit (``None``: the file is absent)."""

    path: Path
    before: bytes | None
    after: bytes | None

    def unified_diff(self, label: str) -> str:
        before = (self.before or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
        after = (self.after or b"").decode("utf-8", errors="replace").splitlines(keepends=True)
        lines = difflib.unified_diff(
            before,
            after,
            fromfile=f"a/{label}" if self.before is not None else "/dev/null",
            tofile=f"b/{label}" if self.after is not None else "/dev/null",
        )
        return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


@dataclass(frozen=True)
class ApplyResult:
    """What an applied edit changed, with the pre-images needed to undo it exactly."""

    edit_id: str
    op: EditOp
    changes: tuple[FileChange, ...]
    pre_images: tuple[FileSnapshot, ...]

    def unified_diff(self, home: Path) -> str:
        return "".join(c.unified_diff(c.path.relative_to(home).as_posix()) for c in self.changes)


class EditJournal(Protocol):
    """Records an edit's intent before any of its files change (crash safety).

    Set on ``ctx.journal`` by a checkpointed run (see :mod:`specdistill.checkpoint`)
    for the duration of one edit; None otherwise, and then appliers behave as
    without it. ``record_intent`` must be durable when it returns.
    """

    def record_intent(
        self, edit: Edit, changes: Sequence[FileChange], pre_images: Sequence[FileSnapshot]
    ) -> None: ...

    def file_written(self, edit: Edit, change: FileChange) -> None: ...

    def record_snapshot(self, edit: Edit, snapshots: Sequence[FileSnapshot]) -> None: ...


class EditApplier(ABC):
    """Validates, applies and reverses the edits of one op.

    Third-party appliers subclass this (or :class:`FileEditApplier`) and are
    registered by op in an :class:`~specdistill.appliers.registry.EditApplierRegistry`.
    """

    op: ClassVar[EditOp]

    @abstractmethod
    def validate(self, edit: Edit, ctx: ApplyContext) -> ValidationResult:
        """Check ``edit`` against the spec as it is now. Never writes."""

    @abstractmethod
    def apply(self, edit: Edit, ctx: ApplyContext) -> ApplyResult:
        """Apply ``edit``. On failure, leave every file as it was and raise."""

    @abstractmethod
    def rollback(self, edit: Edit, ctx: ApplyContext) -> None:
        """Undo an applied ``edit`` exactly; raise NotReversible if there is nothing to undo."""


class FileEditApplier(EditApplier):
    """Base of the built-in appliers: pure "current bytes → new bytes", I/O done here."""

    #: Set by appliers that refuse every edit (e.g. lora_finetune) with a reason.
    refusal: ClassVar[str | None] = None

    @abstractmethod
    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        """The files this edit would write and their new bytes, computed from the
        current files. Raise InvalidEdit when the edit does not fit the spec."""

    # -- the public protocol ------------------------------------------------------
    def preview(self, edit: Edit, ctx: ApplyContext) -> list[FileChange]:
        """The changes ``apply`` would make now, without writing anything.

        Raises InvalidEdit (or UnsafePath) when the edit cannot be applied.
        """
        return [c for c in self._plan(edit, ctx) if c.before != c.after]

    def _plan(self, edit: Edit, ctx: ApplyContext) -> list[FileChange]:
        """Every file the edit would write, no-op writes included."""
        if self.refusal is not None:
            raise InvalidEdit(self.refusal, edit_id=edit.id, field="op")
        if edit.op != self.op:
            raise InvalidEdit(
                f"applier for {self.op.value} cannot apply op {edit.op.value}",
                edit_id=edit.id,
                field="op",
            )
        payload = parse_payload(edit)
        try:
            changes = self.plan_changes(edit, payload, ctx)
        except UnsafePath as exc:
            raise InvalidEdit(exc.message, edit_id=edit.id, field="payload") from None
        for change in changes:
            _check_output_parses(edit, change)
        return changes

    def validate(self, edit: Edit, ctx: ApplyContext) -> ValidationResult:
        ctx.take_plan(edit)  # drop any earlier plan for this edit
        try:
            planned = self._plan(edit, ctx)
        except InvalidEdit as exc:
            return ValidationResult.failure(exc.field_message, exc.field)
        # Kept for apply(): planning parses the files, which is most of an edit's cost.
        ctx.remember_plan(edit, planned)
        return ValidationResult.success()

    def apply(self, edit: Edit, ctx: ApplyContext) -> ApplyResult:
        planned = ctx.take_plan(edit)
        pre_images = tuple(capture(c.path) for c in planned or ())
        if planned is None or any(
            snapshot.data != change.before
            for change, snapshot in zip(planned, pre_images, strict=True)
        ):
            # Not validated in this context, or the files moved since: plan afresh.
            try:
                planned = self._plan(edit, ctx)
            except InvalidEdit as exc:
                raise ApplyError(exc.message, edit_id=edit.id) from None
            pre_images = tuple(capture(c.path) for c in planned)
            for change, snapshot in zip(planned, pre_images, strict=True):
                if snapshot.data != change.before:
                    raise ApplyError(
                        f"{change.path.name} changed while the edit was being applied",
                        edit_id=edit.id,
                    )
        kept = [(c, p) for c, p in zip(planned, pre_images, strict=True) if c.before != c.after]
        changes = [c for c, _ in kept]
        pre_images = tuple(p for _, p in kept)
        result = ApplyResult(edit.id, edit.op, tuple(changes), pre_images)
        journal = ctx.journal
        if journal is not None:
            journal.record_intent(edit, changes, pre_images)  # durable before any write
        try:
            for change in changes:
                write_change(change)
                if journal is not None:
                    journal.file_written(edit, change)
        except BaseException as exc:
            restore_all(pre_images)
            if isinstance(exc, Exception):
                raise ApplyError(f"writing failed, files restored: {exc}", edit_id=edit.id) from exc
            raise
        ctx.record_applied(result)
        return result

    def rollback(self, edit: Edit, ctx: ApplyContext) -> None:
        result = ctx.forget_applied(edit.id)
        if result is None:
            raise NotReversible(
                f"edit {edit.id!r} has no recorded pre-image in this context", edit_id=edit.id
            )
        restore_all(result.pre_images)


def write_change(change: FileChange) -> None:
    """Write one change atomically (or delete the file when ``after`` is None)."""
    if change.after is None:
        change.path.unlink(missing_ok=True)
        return
    change.path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(change.path, change.after)


def restore_all(pre_images: tuple[FileSnapshot, ...] | list[FileSnapshot]) -> None:
    """Restore pre-images newest-first, so overlapping writes unwind in order."""
    for snapshot in reversed(pre_images):
        restore_exact_bytes(snapshot)


def _check_output_parses(edit: Edit, change: FileChange) -> None:
    """Refuse any change that would leave a config or data file unparsable."""
    if change.after is None:
        return
    suffix = change.path.suffix
    try:
        text = change.after.decode("utf-8")
        if suffix == ".toml":
            tomllib.loads(text)
        elif suffix == ".json":
            json.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise InvalidEdit(
            f"the edit would leave {change.path.name} unparsable ({exc})", edit_id=edit.id
        ) from None
