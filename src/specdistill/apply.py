"""Apply a plan to a spec home, for real or as a dry run, and collect per-edit diffs.

This is the library function behind ``specdistill apply`` (:func:`specdistill.commands.
apply_plan` is this one). With ``checkpoint=True`` (the CLI's default) the run holds the
home's lock, recovers an interrupted edit, refuses a dirty spec, and commits each applied
edit (see :mod:`specdistill.checkpoint`).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from specdistill.appliers.registry import EditApplierRegistry
from specdistill.checkpoint.run import Notify, checkpointed_run, new_session_id
from specdistill.context import ApplyContext
from specdistill.errors import InvalidInput
from specdistill.execute import INTERRUPTED_REASON, EditCheckpoint, EditGate, execute_edits
from specdistill.gate.config import GateMode
from specdistill.home import CONFIG_FILE, SpecHome, copy_spec, default_home
from specdistill.models import AutonomyMode, Edit, EditOutcome, LearningPlan
from specdistill.plan import load_plan
from specdistill.screen import Reach, TraceLookup, screen_plan
from specdistill.tiers import assign_tiers

if TYPE_CHECKING:
    from specdistill.gate.driver import GateProgress


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

    @property
    def not_attempted(self) -> int:
        """How many edits an interruption left unattempted."""
        return sum(1 for o in self.outcomes if o.error == INTERRUPTED_REASON)


def require_spec_home(home: SpecHome) -> None:
    """Refuse to edit a directory that is not a spec home (a typo must not create one)."""
    if not (home.root / CONFIG_FILE).is_file():
        raise InvalidInput(
            f"{home.root} is not a spec home (it has no {CONFIG_FILE})",
            hint="pass --home (or set $SPECDISTILL_HOME), or create one with 'specdistill init'",
        )


@contextmanager
def opened_gate(
    home: str | os.PathLike[str],
    gate: EditGate | GateMode | str | None,
    benchmark: str | os.PathLike[str] | None = None,
    progress: GateProgress | None = None,
) -> Iterator[EditGate | None]:
    """``gate`` itself, or for a mode the gate the home's config describes (None for
    ``off``), its result cache closed on exit. ``progress`` sees an opened gate's runs."""
    if gate is None or gate == GateMode.off:
        yield None
        return
    if not isinstance(gate, str):
        yield gate
        return
    from specdistill.gate.settings import open_gate

    built = open_gate(home, mode=gate, benchmark=benchmark, progress=progress)
    try:
        yield built
    finally:
        if built.cache is not None:
            built.cache.close()


def apply_plan(
    plan: LearningPlan | str | os.PathLike[str],
    home: str | os.PathLike[str] | None = None,
    *,
    mode: AutonomyMode | str = AutonomyMode.TIERED,
    dry_run: bool = False,
    session_id: str = "",
    registry: EditApplierRegistry | None = None,
    checkpoint: bool = False,
    allow_dirty: bool = False,
    notify: Notify | None = None,
    gate: EditGate | GateMode | str | None = None,
    benchmark: str | os.PathLike[str] | None = None,
    gate_progress: GateProgress | None = None,
    traces: TraceLookup | None = None,
) -> ApplyReport:
    """Execute ``plan`` (a plan, or its JSON file) on ``home`` (default:
    :func:`~specdistill.home.default_home`); with ``dry_run``, on a throwaway copy
    (nothing written).

    ``checkpoint``: one git commit per applied edit, under the home's lock, with
    crash recovery; the session id is ``session_id``, else the plan's, else a new
    one. ``allow_dirty`` first commits uncommitted spec changes instead of
    refusing them. ``notify`` receives the one-line notice of a deferred Ctrl-C.
    ``gate``: keep each applied edit only if the benchmark gate accepts it; a gate, or
    a :class:`~specdistill.gate.config.GateMode` to open the one the home's config
    describes (on ``benchmark``, reporting runs to ``gate_progress``; ``off``: none).
    ``traces``: how the plan screen finds the query classes of the sample traces of an
    OpenJarvis failure cluster an edit names (:func:`specdistill.screen.resolve_cluster`).
    """
    if not isinstance(plan, LearningPlan):
        plan = load_plan(Path(plan))
    home = home if home is not None else default_home()
    require_spec_home(SpecHome(home))
    with opened_gate(home, gate, benchmark, gate_progress) as edit_gate:
        plan = screen_against(plan, home, edit_gate, AutonomyMode(mode), registry, traces)
        return _apply(
            plan, home, AutonomyMode(mode), dry_run, session_id, registry, checkpoint,
            allow_dirty, notify, edit_gate,
        )  # fmt: skip


def screen_against(
    plan: LearningPlan,
    home: str | os.PathLike[str],
    gate: EditGate | None,
    mode: AutonomyMode,
    registry: EditApplierRegistry | None = None,
    traces: TraceLookup | None = None,
) -> LearningPlan:
    """The plan screen (:mod:`specdistill.screen`) before anything is written: against
    the home, and with a benchmark gate, its benchmark's clusters (``traces`` resolving
    failure-cluster ids to them) and its student."""
    bench = getattr(gate, "benchmark", None)
    runner = getattr(gate, "runner", None)
    if bench is None or runner is None:
        return screen_plan(plan, home, mode=mode, registry=registry)
    return screen_plan(
        plan, home, clusters=bench.clusters, reach=Reach.of(runner.student, bench.tasks),
        mode=mode, registry=registry, traces=traces,
    )  # fmt: skip


def _apply(
    plan: LearningPlan,
    home: str | os.PathLike[str],
    mode: AutonomyMode,
    dry_run: bool,
    session_id: str,
    registry: EditApplierRegistry | None,
    checkpoint: bool,
    allow_dirty: bool,
    notify: Notify | None,
    gate: EditGate | None,
) -> ApplyReport:
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
