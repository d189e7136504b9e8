"""Run a learning session: the library behind ``specdistill run``.

A session is phases over one spec home, each recorded in ``session.json`` as it
happens (:mod:`specdistill.sessions.lifecycle` says which status may follow which)::

    start_session      INITIATED      the session's record (and, given one, its frozen plan)
    (the teacher)      DIAGNOSING     cluster failing traces   } the teacher drives these:
    (the teacher)      PLANNING       propose typed edits      } specdistill.sessions.teach
    execute_phase      EXECUTING      baseline snapshot, execute_edits through the gate
                                      and the checkpoint, after snapshot
                       AWAITING_REVIEW  if an edit waits for a person, else COMPLETED
                       FAILED         on any exception (recorded, then re-raised)

:func:`run_session` is the whole thing for a ready plan: it builds the evaluation
(benchmark, student, result cache and gate) from the home's config *before* touching
anything, so a bad config or benchmark changes nothing; then, under the home's lock
(:func:`~specdistill.checkpoint.checkpointed_run`), it starts the session and runs
:func:`execute_phase`. A teacher slots its phases in between::

    evaluation = SessionEvaluation.from_config(SpecHome(home))   # fails early on bad config
    with checkpointed_run(home, command="learn", session_id=sid) as run:
        session = start_session(store, None, mode=mode, session_id=sid)
        session = advance(store, session, SessionStatus.DIAGNOSING)
        ...
        session = advance(store, session, SessionStatus.PLANNING)
        plan = ...
        session = execute_phase(store, session, plan, run=run, evaluation=evaluation)

The baseline snapshot and the gate share one result cache, so the gate's baseline runs
are the snapshot's, paid for once; the after snapshot mostly reuses the gate's
candidate runs. Ctrl-C (or SIGTERM) is deferred by the checkpoint run: the edit in
flight is finished (or undone), the rest are ``skipped``, the after snapshot is not
taken, and the session records ``interrupted by SIGINT`` in ``error``
(:func:`interrupted_by` reads it back).

Hill-climbing (``run --rounds N``) passes ``more_edits`` to :func:`execute_phase`: after
the plan's edits it is asked, with every (edit, outcome) so far, for the next edits; its
edits are appended to ``plan.json`` (atomically, still read-only: edits are only ever
added, never changed) *before* they execute, and an empty answer ends the phase.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specdistill.appliers.base import FileEditApplier
from specdistill.appliers.registry import default_registry
from specdistill.apply import require_spec_home
from specdistill.checkpoint.run import CheckpointRun, Notify, checkpointed_run, new_session_id
from specdistill.context import ApplyContext
from specdistill.errors import InvalidInput, SpecdistillError
from specdistill.evaluation.runner import TaskResult, score_spec
from specdistill.evaluation.settings import benchmark_path
from specdistill.evaluation.summary import to_snapshot
from specdistill.execute import INTERRUPTED_REASON, OnInconclusive, execute_edits
from specdistill.gate.config import GateMode
from specdistill.gate.driver import BenchmarkGate, GateTally, GateVerdict
from specdistill.gate.settings import open_gate, parse_gate_mode
from specdistill.home import SpecHome
from specdistill.models import (
    AutonomyMode,
    BenchmarkSnapshot,
    Edit,
    EditOutcome,
    LearningPlan,
    LearningSession,
    SessionStatus,
    TriggerKind,
)
from specdistill.screen import Reach, screen_plan
from specdistill.sessions.evidence import (
    EditEvidence,
    EvidenceRecord,
    RecordingGate,
    edit_evidence,
    paired_change,
    save_evidence,
)
from specdistill.sessions.home_traces import home_trace_classes
from specdistill.sessions.lifecycle import can_transition, transition
from specdistill.sessions.preflight import plan_shortfalls, shortfall_notice
from specdistill.sessions.report import write_reports
from specdistill.sessions.routing import RoutedEdit, save_routing
from specdistill.sessions.store import PLAN_FILE, RecordNotWritten, SessionStore

logger = logging.getLogger(__name__)

#: Called as (what is running, runs done, runs expected): "baseline" and "after" (the
#: whole benchmark: expected is known), or a live line while an edit is gated,
#: "edit 3/8 e3-warmer: target 7↑ 1↓, others 24 = 1↓, leaning reject" (expected = the
#: gate's budget, which it rarely uses). Once an edit's outcome is known, a last call
#: "edit 3/8 e3-warmer: rejected — target …" comes with done == expected == 0: a line
#: to keep (:data:`EDIT_DONE`).
Progress = Callable[[str, int, int], None]

#: The (done, expected) of the final progress call of each edit.
EDIT_DONE = (0, 0)

#: Outcome statuses in the words of the live line.
OUTCOME_WORDS = {
    "applied": "kept",
    "rejected_by_gate": "rejected",
    "pending_review": "queued for review",
    "rejected_by_user": "rejected by you",
    "rolled_back": "rolled back",
    "skipped": "skipped",
}

#: Asked for more edits after the plan's (hill-climbing): given the session and every
#: (edit, outcome) so far, oldest first, it returns the session (possibly updated, e.g.
#: the teacher's cost) and the next edits to run; an empty list ends the phase.
MoreEdits = Callable[
    [LearningSession, Sequence[tuple[Edit, EditOutcome]]], tuple[LearningSession, list[Edit]]
]


@dataclass
class SessionEvaluation:
    """The benchmark, student and result cache of a session, and whether edits are gated.

    Build with :meth:`from_config`; :meth:`close` the cache when done.
    """

    benchmark_gate: BenchmarkGate  # always built: its runner, benchmark and cache serve snapshots
    gated: bool
    benchmark_path: Path | None = None
    #: Each snapshot's per-task mean scores, by label ("baseline", "after").
    task_scores: dict[str, dict[str, float]] = field(default_factory=dict)

    @classmethod
    def from_config(
        cls,
        home: SpecHome,
        gate_mode: GateMode | str = GateMode.sequential,
        benchmark: str | os.PathLike[str] | None = None,
    ) -> SessionEvaluation:
        """Read ``[specdistill.student|gate|runner|benchmark]`` and load the benchmark."""
        mode = parse_gate_mode(gate_mode)
        gated = mode is not GateMode.off
        # With the gate off the config still describes the student and benchmark that the
        # snapshots use; mode "sequential" only fills the unused gate settings.
        gate = open_gate(home, mode=mode if gated else GateMode.sequential, benchmark=benchmark)
        path = Path(benchmark) if benchmark else benchmark_path(home)
        return cls(gate, gated=gated, benchmark_path=path.absolute())

    def snapshot(
        self, home: SpecHome, label: str, progress: Progress | None = None
    ) -> BenchmarkSnapshot:
        """Score the spec at ``home`` on the whole benchmark (cached runs are free)."""
        runner, bench = self.benchmark_gate.runner, self.benchmark_gate.benchmark

        def report(done: int, total: int, result: TaskResult) -> None:
            if progress is not None:
                progress(label, done, total)

        started = time.perf_counter()
        results = asyncio.run(
            score_spec(
                home,
                bench,
                runner.student,
                concurrency=self.benchmark_gate.concurrency,
                cache=self.benchmark_gate.cache,
                judge=runner.judge,
                registry=runner.registry,
                retry=runner.retry,
                progress=report,
            )
        )
        self.task_scores[label] = _task_means(results)
        return to_snapshot(bench, results, elapsed_seconds=time.perf_counter() - started)

    def gate(
        self,
        progress: Progress | None = None,
        position: Callable[[], tuple[int, int]] | None = None,
    ) -> _LabelledGate | None:
        """The edit gate for execute_edits, reporting progress per edit; None when off.

        ``position`` gives the (number, count) of the edit about to be gated."""
        if not self.gated:
            return None
        return _LabelledGate(self.benchmark_gate, progress, position)

    def on_inconclusive(self, mode: AutonomyMode) -> OnInconclusive:
        """Where an edit the gate could not decide goes: ``[specdistill.gate]
        on_inconclusive`` if set, else a person's queue in tiered mode, rejected otherwise."""
        return inconclusive_route(self.benchmark_gate.config.on_inconclusive, mode)

    def reach(self) -> Reach:
        """The student and the benchmark's tasks, for the plan screen's param check."""
        gate = self.benchmark_gate
        return Reach.of(gate.runner.student, gate.benchmark.tasks)

    def close(self) -> None:
        if self.benchmark_gate.cache is not None:
            self.benchmark_gate.cache.close()


class _LabelledGate(RecordingGate):
    """The benchmark gate, with its progress labelled by the edit it is gating; as a
    :class:`RecordingGate` it keeps each verdict and the diff it judged, for the
    session's evidence, and the gate's last tally per edit."""

    def __init__(
        self,
        gate: BenchmarkGate,
        progress: Progress | None,
        position: Callable[[], tuple[int, int]] | None = None,
    ) -> None:
        super().__init__(gate)
        self._benchmark_gate = gate
        self._progress = progress
        self._position = position
        self.tallies: dict[str, GateTally] = {}

    def evaluate(
        self,
        edit: Edit,
        *,
        baseline: SpecHome,
        candidate: SpecHome,
        should_stop: Callable[[], bool] | None = None,
    ) -> GateVerdict:
        head = edit_label(edit.id, self._position)
        line, counts = [f"{head}: starting"], [0, 0]  # the live line; runs done, budget
        report = self._progress

        def runs(done: int, budget: int, result: TaskResult) -> None:
            counts[:] = [done, budget]
            if report is not None:
                report(line[0], done, budget)

        def watch(tally: GateTally) -> None:
            self.tallies[edit.id] = tally
            line[0] = f"{head}: {tally.line()}"
            if report is not None:
                report(line[0], counts[0], counts[1])

        gate = self._benchmark_gate
        gate.progress, gate.watch = runs, watch
        try:
            return super().evaluate(
                edit, baseline=baseline, candidate=candidate, should_stop=should_stop
            )
        finally:
            gate.progress = gate.watch = None


def edit_label(edit_id: str, position: Callable[[], tuple[int, int]] | None) -> str:
    """``edit 3/8 e3-warmer`` (``edit e3-warmer`` when the position is unknown)."""
    if position is None:
        return f"edit {edit_id}"
    number, count = position()
    return f"edit {number}/{count} {edit_id}"


def inconclusive_route(configured: OnInconclusive | None, mode: AutonomyMode) -> OnInconclusive:
    """The configured route for inconclusive edits, else by autonomy: ``review`` in
    tiered mode (a person decides what the benchmark could not), ``reject`` in auto (no
    one is watching) and manual (every edit is queued before the gate anyway)."""
    if configured is not None:
        return configured
    return "review" if mode == AutonomyMode.TIERED else "reject"


def run_session(
    home: str | os.PathLike[str] | SpecHome,
    plan: LearningPlan,
    *,
    mode: AutonomyMode | str = AutonomyMode.TIERED,
    gate_mode: GateMode | str = GateMode.sequential,
    benchmark: str | os.PathLike[str] | None = None,
    allow_dirty: bool = False,
    trigger: TriggerKind = TriggerKind.ON_DEMAND,
    session_id: str | None = None,
    progress: Progress | None = None,
    notify: Notify | None = None,
) -> LearningSession:
    """Run ``plan`` on ``home`` as a new session, gated on the benchmark; return the session.

    Each applied edit is a git commit carrying the session id (so ``specdistill rollback
    ID`` undoes the session); ``session.json``, the frozen ``plan.json`` and the reports
    are under ``learning/sessions/<id>/``. ``session_id`` defaults to a new one (a plan's
    own ``session_id`` is kept in ``trigger_metadata``). ``notify`` receives one-line
    notices (what setting up the checkpoint did, a deferred Ctrl-C, a report that could
    not be written). Raises before anything is written if the home, config or benchmark
    is unusable; an error after the session started marks it FAILED and is re-raised.

    >>> session = run_session(home, load_plan("plan.json"), mode="tiered")  # doctest: +SKIP
    >>> session.status, [o.status for o in session.edit_outcomes]           # doctest: +SKIP
    """
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    require_spec_home(spec_home)
    mode = AutonomyMode(mode)
    store = SessionStore(spec_home)
    sid = session_id or new_session_id()
    if store.session_dir(sid).exists():
        raise InvalidInput(f"session {sid} already exists in {spec_home.root}")
    gate = parse_gate_mode(gate_mode)
    evaluation = SessionEvaluation.from_config(spec_home, gate, benchmark)
    metadata: dict[str, Any] = {"command": "run", "gate": gate.value}
    metadata["benchmark"] = str(evaluation.benchmark_path)
    if plan.session_id and plan.session_id != sid:
        metadata["plan_session_id"] = plan.session_id
    try:
        plan = screen_session_plan(plan, spec_home, evaluation, mode)  # before anything runs
        with checkpointed_run(
            spec_home, command="run", session_id=sid, allow_dirty=allow_dirty, notify=notify
        ) as run:
            for note in [*run.notes, *store.close_interrupted()]:
                _tell(notify, note)
            session = start_session(
                store, plan, mode=mode, trigger=trigger, trigger_metadata=metadata, session_id=sid
            )
            return execute_phase(
                store, session, plan, run=run, evaluation=evaluation, progress=progress,
                notify=notify,
            )  # fmt: skip
    finally:
        evaluation.close()


def screen_session_plan(
    plan: LearningPlan, home: SpecHome, evaluation: SessionEvaluation, mode: AutonomyMode
) -> LearningPlan:
    """The plan screen (:mod:`specdistill.screen`) against the home and the session's
    benchmark and student: a bad edit raises InvalidEdit before any student run, any
    commit or any session record. An OpenJarvis failure-cluster id in an edit's
    ``expected_improvement`` is resolved through the home's traces."""
    gate = evaluation.benchmark_gate
    return screen_plan(
        plan,
        home,
        clusters=gate.benchmark.clusters if evaluation.gated else None,
        reach=evaluation.reach(),
        mode=mode,
        traces=home_trace_classes(home),
    )


def start_session(
    store: SessionStore,
    plan: LearningPlan | None,
    *,
    mode: AutonomyMode | str = AutonomyMode.TIERED,
    trigger: TriggerKind = TriggerKind.ON_DEMAND,
    trigger_metadata: dict[str, Any] | None = None,
    session_id: str | None = None,
) -> LearningSession:
    """Record a new INITIATED session; with a ``plan``, freeze it too (else execute_phase will)."""
    session = LearningSession(
        id=session_id or new_session_id(),
        trigger=trigger,
        trigger_metadata=trigger_metadata or {},
        autonomy_mode=AutonomyMode(mode),
    )
    if plan is None:
        if store.session_dir(session.id).exists():
            raise InvalidInput(f"session {session.id} already exists")
        store.save(session)
        return session
    directory = store.create(session, _for_session(plan, session.id))
    return session.model_copy(update={"plan_path": directory / PLAN_FILE})


def advance(
    store: SessionStore,
    session: LearningSession,
    status: SessionStatus,
    *,
    error: str | None = None,
) -> LearningSession:
    """Move ``session`` to ``status`` (IllegalTransition if not allowed) and save it."""
    session = transition(session, status, error=error)
    store.save(session)
    return session


def execute_phase(
    store: SessionStore,
    session: LearningSession,
    plan: LearningPlan,
    *,
    run: CheckpointRun,
    evaluation: SessionEvaluation,
    progress: Progress | None = None,
    notify: Notify | None = None,
    more_edits: MoreEdits | None = None,
) -> LearningSession:
    """Snapshot, execute ``plan`` through the gate and ``run``'s checkpoint, snapshot, record.

    ``session`` must be INITIATED or PLANNING, and ``run`` hold the lock of ``store``'s
    home. ``session.json`` is saved at each step (after every edit too), so ``show``
    sees a session in progress; the reports are written at the end, even on failure.
    ``more_edits`` (hill-climbing) is asked for further edits after the plan's, until it
    returns none or a Ctrl-C arrives (see the module docstring).
    """
    home = store.home
    plan = _for_session(plan, session.id)
    session = transition(session, SessionStatus.EXECUTING)  # refused before anything changes
    try:
        session = freeze_plan(store, session, plan)
        session = _save(store, session, git_checkpoint_pre=run.head)
        if evaluation.gated:  # say up front what the benchmark cannot accept, before any run
            found = plan_shortfalls(
                evaluation.benchmark_gate, home, plan.edits, session.autonomy_mode
            )
            if (notice := shortfall_notice(found)) is not None:
                _tell(notify, notice)
        before = evaluation.snapshot(home, "baseline", progress)
        session = _save(store, session, benchmark_before=before)
        outcomes: list[EditOutcome] = []
        history: list[tuple[Edit, EditOutcome]] = []
        routing: list[RoutedEdit] = []
        evidence = EvidenceRecord()
        contexts: list[ApplyContext] = []

        def position() -> tuple[int, int]:
            return len(outcomes) + 1, len(plan.edits)

        gate = evaluation.gate(progress, position)

        def record(edit: Edit, outcome: EditOutcome) -> None:
            nonlocal session
            label = edit_label(edit.id, position)
            # ``edit`` carries the tier execute routed it with: freeze that before the
            # outcome, so no recorded outcome lacks the routing it came from.
            routing.append(
                RoutedEdit.of(
                    edit, outcome, autonomy_mode=session.autonomy_mode, gated=evaluation.gated
                )
            )
            save_routing(store, session.id, routing)
            evidence.edits.append(_edit_evidence(edit, outcome, gate, contexts[-1]))
            save_evidence(store, session.id, evidence)
            outcomes.append(outcome)
            history.append((edit, outcome))
            session = _save(store, session, edit_outcomes=list(outcomes))
            if progress is not None:
                tally = gate.tallies.get(edit.id) if gate is not None else None
                words = OUTCOME_WORDS.get(outcome.status, outcome.status)
                progress(f"{label}: {words}" + (f" — {tally.counts()}" if tally else ""),
                         *EDIT_DONE)  # fmt: skip

        def execute(edits: list[Edit]) -> None:
            contexts.append(ApplyContext(home=home.root, session_id=session.id))
            execute_edits(
                edits=edits,
                ctx=contexts[-1],
                autonomy_mode=session.autonomy_mode,
                on_outcome=record,
                checkpoint=run,
                gate=gate,
                on_inconclusive=evaluation.on_inconclusive(session.autonomy_mode),
            )

        execute(plan.edits)
        while more_edits is not None and not run.stop_requested:
            session, extra = more_edits(session, list(history))
            if not extra:
                break
            plan = plan.model_copy(update={"edits": [*plan.edits, *extra]})
            session = freeze_plan(store, session, plan, grow=True)
            store.save(session)
            execute(extra)
        update: dict[str, Any] = {"git_checkpoint_post": run.store.head()}
        if run.signals.received is None:
            after = evaluation.snapshot(home, "after", progress)
            update["benchmark_after"] = after
            evidence.overall = paired_change(
                evaluation.task_scores.get("baseline", {}),
                evaluation.task_scores.get("after", {}),
                after.overall_score - before.overall_score,
            )
            save_evidence(store, session.id, evidence)
        else:
            not_attempted = sum(o.error == INTERRUPTED_REASON for o in outcomes)
            update["error"] = (
                f"interrupted by {signal.Signals(run.signals.received).name}: stopped after "
                f"the edit in flight; {not_attempted} edit(s) not attempted"
            )
        session = session.model_copy(update=update)
        pending = any(o.status == "pending_review" for o in outcomes)
        final = SessionStatus.AWAITING_REVIEW if pending else SessionStatus.COMPLETED
        session = transition(session, final)
        store.save(session)
    except BaseException as exc:
        record_failure(store, session, plan, run, exc, notify)
        raise
    _write_reports(store, session, plan, notify)
    return session


def _edit_evidence(
    edit: Edit, outcome: EditOutcome, gate: _LabelledGate | None, ctx: ApplyContext
) -> EditEvidence:
    """The edit's diff and the gate's verdict on it (see :mod:`~specdistill.sessions.evidence`)."""
    verdict = gate.verdicts.pop(edit.id, None) if gate is not None else None
    diff = gate.diffs.pop(edit.id, None) if gate is not None else None
    source = "gate" if diff is not None else ""
    if diff is None and outcome.status == "applied":
        applied = ctx.applied_result(edit.id)
        diff, source = (applied.unified_diff(ctx.home), "applied") if applied else (None, "")
    if diff is None and outcome.status == "pending_review":
        diff = preview_diff(edit, ctx)
        source = "preview" if diff is not None else ""
    return edit_evidence(edit.id, diff or "", source, verdict)


def preview_diff(edit: Edit, ctx: ApplyContext) -> str | None:
    """What ``edit`` would change in the spec at ``ctx`` now, as a unified diff; None when
    it cannot be previewed (no applier, a plug-in applier, or it no longer applies)."""
    registry = default_registry()
    if not registry.is_supported(edit.op):
        return None
    applier = registry.get(edit.op)
    if not isinstance(applier, FileEditApplier):
        return None
    try:
        changes = applier.preview(edit, ctx)
    except SpecdistillError:
        return None
    return "".join(c.unified_diff(c.path.relative_to(ctx.home).as_posix()) for c in changes)


def _task_means(results: Sequence[TaskResult]) -> dict[str, float]:
    """Each task's mean score over its scored runs (tasks with none are left out)."""
    scores: dict[str, list[float]] = {}
    for r in results:
        if r.scored and r.score is not None:
            scores.setdefault(r.task_id, []).append(r.score)
    return {t: sum(v) / len(v) for t, v in scores.items()}


def interrupted_by(session: LearningSession) -> int | None:
    """The signal that stopped ``session`` early (SIGINT, SIGTERM), or None."""
    prefix = "interrupted by "
    if not session.error or not session.error.startswith(prefix):
        return None
    name = session.error[len(prefix) :].split(":", 1)[0]
    try:
        return int(signal.Signals[name])
    except KeyError:
        return None


# -- helpers --------------------------------------------------------------------------------


def _for_session(plan: LearningPlan, session_id: str) -> LearningPlan:
    """The plan as this session runs it: the same edits, carrying the session's id."""
    return plan.model_copy(update={"session_id": session_id})


def freeze_plan(
    store: SessionStore, session: LearningSession, plan: LearningPlan, *, grow: bool = False
) -> LearningSession:
    """Write ``plan.json`` read-only unless it exists; with ``grow``, rewrite it atomically
    (hill-climbing appends each round's edits before they run; nothing else rewrites it)."""
    path = store.session_dir(session.id) / PLAN_FILE
    if grow or not path.exists():
        data = plan.model_dump_json(indent=2).encode() + b"\n"
        store.write_file(session.id, PLAN_FILE, data, mode=0o444)
    return session.model_copy(update={"plan_path": path})


def _save(store: SessionStore, session: LearningSession, **update: Any) -> LearningSession:
    session = session.model_copy(update=update)
    store.save(session)
    return session


def record_failure(
    store: SessionStore,
    session: LearningSession,
    plan: LearningPlan,
    run: CheckpointRun,
    exc: BaseException,
    notify: Notify | None,
) -> None:
    """Mark the session FAILED with the error, best effort: the caller re-raises ``exc``,
    which must not be masked by a second failure while recording it."""
    if not can_transition(session.status, SessionStatus.FAILED):
        return  # it already ended (only saving it failed); nothing truthful to add
    try:
        failed = transition(session, SessionStatus.FAILED, error=_describe(exc))
        failed = failed.model_copy(update={"git_checkpoint_post": run.store.head()})
        store.save(failed)
    except Exception as second:  # the error raised next says what went wrong (one line)
        logger.debug("session %s: could not record the failure: %s", session.id, second)
        return
    with contextlib.suppress(RecordNotWritten):  # the caller's error is the one to show
        _write_reports(store, failed, plan, notify)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, SpecdistillError):
        return exc.message
    if isinstance(exc, KeyboardInterrupt):
        return "interrupted (KeyboardInterrupt)"
    return f"{type(exc).__name__}: {exc}"


def _tell(notify: Notify | None, message: str) -> None:
    if notify is not None:
        notify(message)


def _write_reports(
    store: SessionStore, session: LearningSession, plan: LearningPlan, notify: Notify | None
) -> None:
    """Write report.md and report.html. They are views of session.json (which is already
    saved): a bug rendering them is reported, not raised, but a failure to write them
    (RecordNotWritten: disk full, read-only) fails the command like any record."""
    try:
        write_reports(store, session, plan)
    except RecordNotWritten:
        raise
    except Exception as exc:  # a report bug must not turn a recorded session into an error
        logger.debug("session %s: reports not written", session.id, exc_info=True)
        _tell(notify, f"warning: the reports of session {session.id} were not written ({exc})")
