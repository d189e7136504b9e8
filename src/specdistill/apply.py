"""Apply a plan to a spec home, for real or as a dry run, and collect per-edit diffs.

This is the library function behind ``specdistill apply``. With ``checkpoint=True``
(the CLI's default) the run holds the home's lock, recovers an interrupted edit,
refuses a dirty spec, and commits each applied edit (see :mod:`specdistill.checkpoint`).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from specdistill.appliers.registry import EditApplierRegistry
from specdistill.checkpoint.run import Notify, checkpointed_run, new_session_id
from specdistill.context import ApplyContext
from specdistill.errors import InvalidInput
from specdistill.execute import EditCheckpoint, EditGate, execute_edits
from specdistill.home import CONFIG_FILE, SpecHome, copy_spec
from specdistill.models import AutonomyMode, Edit, EditOutcome, LearningPlan
from specdistill.tiers import assign_tiers


@dataclass
class ApplyReport:
    """The outcome of each edit, and the unified diff of each applied one."""

    home: Path
    dry_run: bool
    edits: list[Edit]
    outcomes: list[EditOutcome]
    diffs: dict[str, str] = field(default_factory=dict)
    #: With checkpoints: the session id on the commits, each applied edit's commit,
    #: what setting up the run did (recovery, baseline, manual changes), and the
    #: signal that stopped the run early (None if it ran to the end).
    session_id: str = ""
    commits: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    interrupted_by: int | None = None

    @property
    def applied(self) -> list[EditOutcome]:
        return [o for o in self.outcomes if o.status == "applied"]


def require_spec_home(home: SpecHome) -> None:
    """Refuse to edit a directory that is not a spec home (a typo must not create one)."""
    if not (home.root / CONFIG_FILE).is_file():
        raise InvalidInput(
            f"{home.root} is not a spec home (it has no {CONFIG_FILE})",
            hint="pass --home (or set $SPECDISTILL_HOME), or create one with 'specdistill init'",
        )


def apply_plan(
    plan: LearningPlan,
    home: str | Path,
    *,
    mode: AutonomyMode = AutonomyMode.TIERED,
    dry_run: bool = False,
    session_id: str = "",
    registry: EditApplierRegistry | None = None,
    checkpoint: bool = False,
    allow_dirty: bool = False,
    notify: Notify | None = None,
    gate: EditGate | None = None,
) -> ApplyReport:
    """Execute ``plan`` on ``home``; with ``dry_run``, on a throwaway copy (nothing written).

    ``checkpoint``: one git commit per applied edit, under the home's lock, with
    crash recovery; the session id is ``session_id``, else the plan's, else a new
    one. ``allow_dirty`` first commits uncommitted spec changes instead of
    refusing them. ``notify`` receives the one-line notice of a deferred Ctrl-C.
    ``gate``: keep each applied edit only if the benchmark gate accepts it.
    """
    spec_home = SpecHome(home)
    require_spec_home(spec_home)
    if not dry_run and checkpoint:
        sid = session_id or plan.session_id or new_session_id()
        if not session_id and (spec_home.learning_dir / "sessions" / sid).is_dir():
            # The plan's id is the teacher's to choose: it must not fold these commits
            # into a recorded session (whose rollback would then revert them too).
            raise InvalidInput(
                f"the plan's session_id {sid!r} is a recorded session of this home",
                hint="remove session_id from the plan (a new one is made), or run it with "
                "'specdistill run --plan'",
            )
        with checkpointed_run(
            spec_home, command="apply", session_id=sid, allow_dirty=allow_dirty, notify=notify
        ) as run:
            report = _run(
                plan, spec_home.root, mode, sid, registry, spec_home.root, False, run, gate
            )
            report.session_id = sid
            report.commits = dict(run.commits)
            report.notes = run.notes
            report.interrupted_by = run.signals.received
            return report
    if not dry_run:
        return _run(
            plan, spec_home.root, mode, session_id, registry, spec_home.root, False, None, gate
        )
    with tempfile.TemporaryDirectory(prefix="specdistill-dry-run-") as scratch:
        copy = copy_spec(spec_home, Path(scratch))
        return _run(plan, copy.root, mode, session_id, registry, spec_home.root, True, None, gate)


def _run(
    plan: LearningPlan,
    work_root: Path,
    mode: AutonomyMode,
    session_id: str,
    registry: EditApplierRegistry | None,
    reported_home: Path,
    dry_run: bool,
    checkpoint: EditCheckpoint | None = None,
    gate: EditGate | None = None,
) -> ApplyReport:
    ctx = ApplyContext(home=work_root, session_id=session_id or plan.session_id)
    edits = assign_tiers(plan.edits, ctx.tier_overrides())  # report the tiers we route by
    diffs: dict[str, str] = {}

    def collect_diff(edit: Edit, outcome: EditOutcome) -> None:
        result = ctx.applied_result(edit.id)
        if outcome.status == "applied" and result is not None:
            diffs[edit.id] = result.unified_diff(work_root)

    outcomes = execute_edits(
        edits=edits,
        ctx=ctx,
        autonomy_mode=mode,
        registry=registry,
        on_outcome=collect_diff,
        checkpoint=checkpoint,
        gate=gate,
    )
    return ApplyReport(reported_home, dry_run, edits, outcomes, diffs)
