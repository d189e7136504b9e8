"""The per-edit execute loop: the seed's order of decisions, kept exactly.

For each edit, first match wins:

1. autonomy MANUAL                    → pending_review
2. tier MANUAL                        → skipped ("manual tier, requires explicit approval")
3. tier REVIEW and autonomy TIERED    → pending_review
4. no applier for the op              → skipped (the error names the op)
5. validation fails                   → rejected_by_gate (error = the reason)
6. apply raises                       → rejected_by_gate (files restored first)
7. otherwise                          → applied (applied_at = now, UTC)

Tiers are ours: each edit's tier is re-assigned from the default table and the
home's overrides before routing, whatever the teacher claimed.

Steps 6–7 for one edit, as :func:`_validate_and_apply` reads: preview (the
change set: new bytes and pre-images, nothing written) → journal (the intent,
durable, when checkpointed) → write → gate (when given) → commit; or restore,
from the change set, the one place the edit's pre-images are kept.

With a gate, step 7 has three endings: accepted → ``applied``; rejected →
restored, ``rejected_by_gate``; inconclusive (the gate could not decide) →
restored, then ``pending_review`` with the gate's report as its evidence when
``on_inconclusive="review"`` (a session in tiered mode), else ``rejected_by_gate``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from specdistill.appliers.base import (
    EditApplier,
    FileEditApplier,
    check_output_parses,
    writing_failed,
)
from specdistill.appliers.registry import EditApplierRegistry, default_registry
from specdistill.changeset import ChangeSet, FileChange, TreeSnapshot
from specdistill.context import ApplyContext, ApplyResult
from specdistill.errors import CheckpointError, GateInterrupted, InvalidInput
from specdistill.home import SPEC_PATHS, SpecHome, copy_spec
from specdistill.models import AutonomyMode, Edit, EditOutcome, EditRiskTier, utc_now
from specdistill.tiers import assign_tiers

if TYPE_CHECKING:
    from specdistill.gate.driver import GateVerdict

logger = logging.getLogger(__name__)

MANUAL_TIER_REASON = "manual tier, requires explicit approval"
INTERRUPTED_REASON = "not attempted: the run was interrupted (Ctrl-C) before this edit"
GATE_STOPPED = "interrupted (Ctrl-C) while gating: the edit was undone"
#: Where an edit the gate could not decide goes: a person's queue, or rejected.
OnInconclusive = Literal["review", "reject"]


class EditGate(Protocol):
    """What the loop asks of a gate (``specdistill.gate.driver.BenchmarkGate``)."""

    def evaluate(
        self,
        edit: Edit,
        *,
        baseline: SpecHome,
        candidate: SpecHome,
        should_stop: Callable[[], bool] | None = None,
    ) -> GateVerdict: ...


#: What undoes an edit in flight: its change set, or for a plug-in applier doing
#: its own I/O, a snapshot of the whole spec.
PendingEdit = ChangeSet | TreeSnapshot


class EditCheckpoint(Protocol):
    """What the loop asks of a checkpoint (``specdistill.checkpoint.CheckpointRun``).

    Per edit: ``edit_started``; ``record_intent`` with the edit's pre-images
    (durable when it returns: nothing is written before); ``file_written``
    after each file of a change set; then exactly one of ``edit_applied``
    (record it, e.g. commit; if that fails, it restores the change set it was
    given and raises CheckpointError) or ``edit_not_applied`` (the loop has restored the files:
    forget the intent). When a restore fails, neither is called: the intent
    stays for recovery. ``stop_requested`` turns true after a Ctrl-C: the loop
    then attempts no further edit.
    """

    @property
    def stop_requested(self) -> bool: ...

    def edit_started(self, edit: Edit, ctx: ApplyContext) -> None: ...

    def record_intent(self, edit: Edit, pending: PendingEdit) -> None: ...

    def file_written(self, edit: Edit, change: FileChange) -> None: ...

    def edit_applied(self, edit: Edit, ctx: ApplyContext) -> None: ...

    def edit_not_applied(self, edit: Edit, ctx: ApplyContext) -> None: ...


def route_edit(edit: Edit, autonomy_mode: AutonomyMode, supported: bool) -> EditOutcome | None:
    """Steps 1–4 of the order of decisions, as a pure function.

    Returns the outcome when the edit stops here, or None when it goes on to
    validation and apply.
    """
    if autonomy_mode == AutonomyMode.MANUAL:
        return EditOutcome(edit_id=edit.id, status="pending_review")
    if edit.risk_tier == EditRiskTier.MANUAL:
        return EditOutcome(edit_id=edit.id, status="skipped", error=MANUAL_TIER_REASON)
    if edit.risk_tier == EditRiskTier.REVIEW and autonomy_mode == AutonomyMode.TIERED:
        return EditOutcome(edit_id=edit.id, status="pending_review")
    if not supported:
        return EditOutcome(
            edit_id=edit.id,
            status="skipped",
            error=f"op {edit.op.value} has no registered applier",
        )
    return None


def execute_edits(
    *,
    edits: list[Edit],
    ctx: ApplyContext,
    autonomy_mode: AutonomyMode,
    registry: EditApplierRegistry | None = None,
    on_outcome: Callable[[Edit, EditOutcome], None] | None = None,
    checkpoint: EditCheckpoint | None = None,
    gate: EditGate | None = None,
    on_inconclusive: OnInconclusive | None = None,
) -> list[EditOutcome]:
    """Route, validate and apply ``edits`` in order; one outcome per edit, in order.

    ``on_outcome`` (optional) is called after each edit, e.g. to report progress.
    ``checkpoint`` (optional) records each applied edit (a git commit, with a
    crash-safety journal) and can stop the loop between edits after a Ctrl-C;
    edits not attempted then are ``skipped`` with :data:`INTERRUPTED_REASON`.
    A CheckpointError stops the loop (the edit in flight is undone first).
    ``gate`` (optional) runs the benchmark on each applied edit against the spec
    as it stood before it: kept (``applied``, with its deltas) only if the gate
    accepts, otherwise undone to the exact previous bytes (``rejected_by_gate``,
    with the deltas and the reason). Without a gate, an applied edit stays
    applied (the seed's behaviour). ``on_inconclusive="review"`` sends an edit
    the gate could not decide to a person instead: undone all the same, and
    ``pending_review`` with the gate's reason and report (a session passes it
    in tiered mode; without a session there is no queue: None rejects).

    >>> outcomes = execute_edits(edits=plan.edits, ctx=ApplyContext(home="."),
    ...                          autonomy_mode=AutonomyMode.TIERED)  # doctest: +SKIP
    """
    if registry is None:
        registry = default_registry()
    autonomy_mode = AutonomyMode(autonomy_mode)
    ids = [edit.id for edit in edits]
    if len(set(ids)) != len(ids):
        duplicate = next(i for i in ids if ids.count(i) > 1)
        raise InvalidInput(f"edit ids must be unique; {duplicate!r} appears more than once")
    edits = assign_tiers(edits, ctx.tier_overrides())

    outcomes: list[EditOutcome] = []
    for edit in edits:
        outcome: EditOutcome | None
        if checkpoint is not None and checkpoint.stop_requested:
            outcome = EditOutcome(edit_id=edit.id, status="skipped", error=INTERRUPTED_REASON)
        else:
            outcome = route_edit(edit, autonomy_mode, registry.is_supported(edit.op))
        if outcome is None:
            outcome = _validate_and_apply(
                registry.get(edit.op), edit, ctx, checkpoint, gate, on_inconclusive
            )
        outcomes.append(outcome)
        if on_outcome is not None:
            on_outcome(edit, outcome)
    return outcomes


def _validate_and_apply(
    applier: EditApplier,
    edit: Edit,
    ctx: ApplyContext,
    checkpoint: EditCheckpoint | None = None,
    gate: EditGate | None = None,
    on_inconclusive: OnInconclusive | None = None,
) -> EditOutcome:
    """Steps 5–7: validate, then preview → journal → write → gate → commit, or restore."""
    validation = applier.validate(edit, ctx)
    if not validation.ok:
        reason = validation.reason or f"{type(applier).__name__} refused the edit (no reason given)"
        return EditOutcome(edit_id=edit.id, status="rejected_by_gate", error=reason)
    with contextlib.ExitStack() as scratch:
        baseline = None
        if gate is not None:
            # The baseline is the spec as it stands now (the last accepted state).
            directory = scratch.enter_context(tempfile.TemporaryDirectory(prefix="sd-base-"))
            baseline = copy_spec(ctx.spec_home, Path(directory))
        if checkpoint is not None:
            checkpoint.edit_started(edit, ctx)
        writing: PendingEdit | None = None  # set once a file may have changed
        try:
            pending = _preview(applier, edit, ctx)
            if checkpoint is not None:
                checkpoint.record_intent(edit, pending)
            writing = pending
            _write(applier, edit, ctx, pending, checkpoint)
        except BaseException as exc:
            _restore(edit, ctx, writing, checkpoint)
            if not isinstance(exc, Exception) or isinstance(exc, CheckpointError):
                raise
            logger.warning("edit %s failed: %s", edit.id, exc)
            error = str(writing_failed(edit, exc) if isinstance(writing, ChangeSet) else exc)
            return EditOutcome(edit_id=edit.id, status="rejected_by_gate", error=error)
        verdict = None
        if gate is not None and baseline is not None:
            stop = (lambda: checkpoint.stop_requested) if checkpoint is not None else None
            try:
                verdict = gate.evaluate(
                    edit, baseline=baseline, candidate=ctx.spec_home, should_stop=stop
                )
            except BaseException as exc:
                _restore(edit, ctx, pending, checkpoint)  # no verdict, no edit
                if isinstance(exc, GateInterrupted):
                    return EditOutcome(edit_id=edit.id, status="skipped", error=GATE_STOPPED)
                raise
            if not verdict.accepted:
                _restore(edit, ctx, pending, checkpoint)
                # A gate that cannot tell "inconclusive" (no outcome) is asked only when needed.
                queue = on_inconclusive == "review" and verdict.outcome == "inconclusive"
                return EditOutcome(
                    edit_id=edit.id,
                    status="pending_review" if queue else "rejected_by_gate",
                    benchmark_delta=verdict.benchmark_delta,
                    cluster_deltas=verdict.cluster_deltas,
                    error=verdict.reason,
                    gate_report=verdict.report,
                )
    _commit(edit, ctx, pending, checkpoint)
    return EditOutcome(
        edit_id=edit.id,
        status="applied",
        applied_at=utc_now(),
        benchmark_delta=verdict.benchmark_delta if verdict else None,
        cluster_deltas=verdict.cluster_deltas if verdict else {},
        gate_report=verdict.report if verdict else None,
    )


def _preview(applier: EditApplier, edit: Edit, ctx: ApplyContext) -> PendingEdit:
    """What the edit will write and the pre-images that undo it; nothing is written.

    A plug-in applier (not a :class:`FileEditApplier`) does its own I/O, so we
    cannot know what it touches: the whole spec is kept.
    """
    if isinstance(applier, FileEditApplier):
        return applier.prepare(edit, ctx)
    return TreeSnapshot.capture(ctx.spec_home.root / name for name in SPEC_PATHS)


def _write(
    applier: EditApplier,
    edit: Edit,
    ctx: ApplyContext,
    pending: PendingEdit,
    checkpoint: EditCheckpoint | None = None,
) -> None:
    """Write the edit's files (a plug-in applier writes its own). Does not undo on failure."""
    if isinstance(pending, TreeSnapshot):
        applier.apply(edit, ctx)
        # A foreign applier (e.g. one written for OpenJarvis) may splice text: what it
        # wrote must still parse, or the edit is undone like any failed write.
        for change in pending.changed():
            check_output_parses(edit, change)
        return
    if checkpoint is None:
        pending.write()
    else:
        pending.write(functools.partial(checkpoint.file_written, edit))


def _restore(
    edit: Edit, ctx: ApplyContext, pending: PendingEdit | None, checkpoint: EditCheckpoint | None
) -> None:
    """Undo the edit from its pre-images (None: nothing was written), then forget its intent.

    If the restore fails, the journal keeps the intent: the next command
    restores the files (recovery), and we stop.
    """
    if pending is not None:
        try:
            pending.restore()
        except OSError as exc:
            if checkpoint is None:
                raise
            raise CheckpointError(
                f"edit {edit.id!r} failed and its files could not be restored: {exc}",
                hint="fix the cause (disk full? permissions?), then run any command: the "
                "journal restores them",
            ) from exc
    if checkpoint is not None:
        checkpoint.edit_not_applied(edit, ctx)


def _commit(
    edit: Edit, ctx: ApplyContext, pending: PendingEdit, checkpoint: EditCheckpoint | None
) -> None:
    """Record the kept edit (a commit, when checkpointed); its pre-images go to ``ctx``
    so that ``applier.rollback(edit, ctx)`` can undo it."""
    if checkpoint is not None:
        checkpoint.edit_applied(edit, ctx)
    if isinstance(pending, ChangeSet):
        ctx.record_applied(ApplyResult.of(edit, pending))
