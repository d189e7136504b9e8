"""The applier interface, and the file-editing base that makes appliers reversible.

An applier validates an edit against the spec as it is, applies it, and can undo
it. :class:`FileEditApplier` does the I/O for the built-in appliers: a subclass
only computes the new bytes of the files it touches from their current bytes
(:meth:`FileEditApplier.plan_changes`); the base checks that every output still
parses and turns the plan into a :class:`~specdistill.changeset.ChangeSet`
(:meth:`FileEditApplier.prepare`), which is written atomically and restores the
exact previous bytes on failure or rollback. The execute loop drives those
steps itself (to journal and gate between them); :meth:`FileEditApplier.apply`
is the same steps without a journal or a gate.
"""

from __future__ import annotations

import json
import tomllib
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

from specdistill.appliers.toml_doc import plain_loads
from specdistill.changeset import ChangeSet, FileChange
from specdistill.context import ApplyContext, ApplyResult
from specdistill.errors import ApplyError, InvalidEdit, NotReversible, UnsafePath
from specdistill.models import Edit, EditOp
from specdistill.payloads import Payload, parse_payload


@dataclass(frozen=True)
class ValidationResult:
    """Whether an edit can be applied to the spec as it is now, and if not, why.

    ``reason`` is ``""`` when there is none, as in OpenJarvis's ValidationResult, so
    ``ValidationResult(ok=True)`` means the same in both.
    """

    ok: bool
    reason: str = ""
    field: str | None = None

    @classmethod
    def success(cls) -> ValidationResult:
        return cls(ok=True)

    @classmethod
    def failure(cls, reason: str, field: str | None = None) -> ValidationResult:
        return cls(ok=False, reason=reason, field=field)


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
            check_output_parses(edit, change)
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

    def prepare(self, edit: Edit, ctx: ApplyContext) -> ChangeSet:
        """The changes ``apply`` would write now, each with the pre-image it replaces.

        Writes nothing. Uses the plan kept by :meth:`validate` when the files
        are still what it was computed from; plans afresh otherwise. Raises
        ApplyError when the edit no longer fits the spec.
        """
        planned = ctx.take_plan(edit)
        change_set = ChangeSet.capture(planned) if planned is not None else None
        if change_set is None or change_set.moved():
            # Not validated in this context, or the files moved since: plan afresh.
            try:
                planned = self._plan(edit, ctx)
            except InvalidEdit as exc:
                raise ApplyError(exc.message, edit_id=edit.id) from None
            change_set = ChangeSet.capture(planned)
            moved = change_set.moved()
            if moved:
                raise ApplyError(
                    f"{moved[0].path.name} changed while the edit was being applied",
                    edit_id=edit.id,
                )
        return change_set.without_no_ops()

    def apply(self, edit: Edit, ctx: ApplyContext) -> ApplyResult:
        """:meth:`prepare`, write, and keep the pre-images on ``ctx`` for :meth:`rollback`."""
        change_set = self.prepare(edit, ctx)
        try:
            change_set.write()
        except BaseException as exc:
            change_set.restore()
            if isinstance(exc, Exception):
                raise writing_failed(edit, exc) from exc
            raise
        result = ApplyResult.of(edit, change_set)
        ctx.record_applied(result)
        return result

    def rollback(self, edit: Edit, ctx: ApplyContext) -> None:
        result = ctx.forget_applied(edit.id)
        if result is None:
            raise NotReversible(
                f"edit {edit.id!r} has no recorded pre-image in this context", edit_id=edit.id
            )
        result.change_set.restore()


def writing_failed(edit: Edit, exc: Exception) -> ApplyError:
    """The error for an edit whose write failed (its files already restored)."""
    return ApplyError(f"writing failed, files restored: {exc}", edit_id=edit.id)


def check_output_parses(edit: Edit, change: FileChange) -> None:
    """Refuse any change that would leave a config or data file unparsable."""
    if change.after is None:
        return
    suffix = change.path.suffix
    try:
        text = change.after.decode("utf-8")
        if suffix == ".toml":
            plain_loads(change.after)  # cached: the next edit's read-only look reuses it
        elif suffix == ".json":
            json.loads(text)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError, ValueError) as exc:
        raise InvalidEdit(
            f"the edit would leave {change.path.name} unparsable ({exc})", edit_id=edit.id
        ) from None
