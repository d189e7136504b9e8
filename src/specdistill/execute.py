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
"""

from __future__ import annotations

import contextlib
import functools
import logging
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from specdistill.appliers.base import EditApplier, FileEditApplier, restore_all
from specdistill.appliers.registry import EditApplierRegistry, default_registry
from specdistill.context import ApplyContext
from specdistill.errors import CheckpointError, GateInterrupted, InvalidInput
from specdistill.fsio import FileSnapshot, capture
from specdistill.home import SPEC_PATHS, SpecHome, copy_spec
from specdistill.models import AutonomyMode, Edit, EditOutcome, EditRiskTier, utc_now
from specdistill.tiers import assign_tiers

if TYPE_CHECKING:
    from specdistill.gate.driver import GateVerdict

logger = logging.getLogger(__name__)

MANUAL_TIER_REASON = "manual tier, requires explicit approval"
INTERRUPTED_REASON = "not attempted: the run was interrupted (Ctrl-C) before this edit"
GATE_STOPPED = "interrupted (Ctrl-C) while gating: the edit was undone"


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


class EditCheckpoint(Protocol):
    """What the loop asks of a checkpoint (``specdistill.checkpoint.CheckpointRun``).

    ``edit_started`` comes before an edit's apply (it may set ``ctx.journal``);
    then exactly one of ``edit_applied`` (record it, e.g. commit) or
    ``edit_not_applied`` (make sure it left no trace). ``stop_requested`` turns
    true after a Ctrl-C: the loop then attempts no further edit.
    """

    @property
    def stop_requested(self) -> bool: ...

    def edit_started(self, edit: Edit, ctx: ApplyContext) -> None: ...

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


def snapshot_spec_files(ctx: ApplyContext) -> list[FileSnapshot]:
    """Pre-images of every file in the user's spec (for appliers we did not write)."""
    root = ctx.spec_home.root
    snapshots = []
    for name in SPEC_PATHS:
        top = root / name
        paths = [top] if top.is_file() else sorted(p for p in top.rglob("*") if p.is_file())
        snapshots.extend(capture(path) for path in paths)
    return snapshots


def apply_with_restore(applier: EditApplier, edit: Edit, ctx: ApplyContext) -> Callable[[], None]:
    """Apply; if it raises, the spec's files are as they were before the call.

    Returns the way to undo the applied edit exactly (used when the gate rejects it).
    """
    if isinstance(applier, FileEditApplier):
        applier.apply(edit, ctx)  # restores its own pre-images on failure
        return functools.partial(applier.rollback, edit, ctx)
    # A plug-in applier: we cannot know what it touches, so keep the whole spec.
    before = snapshot_spec_files(ctx)
    dirs_before = _spec_dirs(ctx)
    if ctx.journal is not None:
        ctx.journal.record_snapshot(edit, before)

    def undo() -> None:
        for snapshot in snapshot_spec_files(ctx):
            if snapshot.path not in {b.path for b in before}:
                snapshot.path.unlink(missing_ok=True)
        restore_all(before)
        # New folders go too: an empty agents/<name>/ would make <name> a known agent.
        for directory in sorted(_spec_dirs(ctx) - dirs_before, reverse=True):
            with contextlib.suppress(OSError):
                directory.rmdir()  # children sort after parents; only empty ones go

    try:
        applier.apply(edit, ctx)
    except BaseException:
        undo()
        raise
    return undo


def _spec_dirs(ctx: ApplyContext) -> set[Path]:
    root = ctx.spec_home.root
    tops = [root / name for name in SPEC_PATHS if (root / name).is_dir()]
    return {*tops, *(p for top in tops for p in top.rglob("*") if p.is_dir())}


def execute_edits(
    *,
    edits: list[Edit],
    ctx: ApplyContext,
    autonomy_mode: AutonomyMode,
    registry: EditApplierRegistry | None = None,
    on_outcome: Callable[[Edit, EditOutcome], None] | None = None,
    checkpoint: EditCheckpoint | None = None,
    gate: EditGate | None = None,
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
    applied (the seed's behaviour).

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
        if checkpoint is not None and checkpoint.stop_requested:
            outcome = EditOutcome(edit_id=edit.id, status="skipped", error=INTERRUPTED_REASON)
        else:
            outcome = route_edit(edit, autonomy_mode, registry.is_supported(edit.op))
        if outcome is None:
            outcome = _validate_and_apply(registry.get(edit.op), edit, ctx, checkpoint, gate)
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
) -> EditOutcome:
    """Steps 5–7, and the gate between apply and record."""
    validation = applier.validate(edit, ctx)
    if not validation.ok:
        return EditOutcome(edit_id=edit.id, status="rejected_by_gate", error=validation.reason)
    with contextlib.ExitStack() as scratch:
        baseline = None
        if gate is not None:
            # The baseline is the spec as it stands now (the last accepted state).
            directory = scratch.enter_context(tempfile.TemporaryDirectory(prefix="sd-base-"))
            baseline = copy_spec(ctx.spec_home, Path(directory))
        if checkpoint is not None:
            checkpoint.edit_started(edit, ctx)
        try:
            undo = apply_with_restore(applier, edit, ctx)
        except BaseException as exc:
            if checkpoint is not None:
                checkpoint.edit_not_applied(edit, ctx)
            if not isinstance(exc, Exception) or isinstance(exc, CheckpointError):
                raise
            logger.warning("edit %s failed: %s", edit.id, exc)
            return EditOutcome(edit_id=edit.id, status="rejected_by_gate", error=str(exc))
        verdict = None
        if gate is not None and baseline is not None:
            stop = (lambda: checkpoint.stop_requested) if checkpoint is not None else None
            try:
                verdict = gate.evaluate(
                    edit, baseline=baseline, candidate=ctx.spec_home, should_stop=stop
                )
            except BaseException as exc:
                undo()  # no verdict, no edit
                if checkpoint is not None:
                    checkpoint.edit_not_applied(edit, ctx)
                if isinstance(exc, GateInterrupted):
                    return EditOutcome(edit_id=edit.id, status="skipped", error=GATE_STOPPED)
                raise
            if not verdict.accepted:
                undo()
                if checkpoint is not None:
                    checkpoint.edit_not_applied(edit, ctx)
                return EditOutcome(
                    edit_id=edit.id,
                    status="rejected_by_gate",
                    benchmark_delta=verdict.benchmark_delta,
                    cluster_deltas=verdict.cluster_deltas,
                    error=verdict.reason,
                    gate_report=verdict.report,
                )
    if checkpoint is not None:
        checkpoint.edit_applied(edit, ctx)
    return EditOutcome(
        edit_id=edit.id,
        status="applied",
        applied_at=utc_now(),
        benchmark_delta=verdict.benchmark_delta if verdict else None,
        cluster_deltas=verdict.cluster_deltas if verdict else {},
        gate_report=verdict.report if verdict else None,
    )
