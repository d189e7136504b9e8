"""Teacher-driven sessions: ``specdistill run`` without ``--plan``, and ``run --rounds N``.

The whole loop, traces in and a better spec out, as one recorded session::

    INITIATED    the session's record (under the home's lock, like any run)
    DIAGNOSING   teacher.diagnose over the scrubbed sample of failing traces; the student
                 is run on sample tasks of each proposed cluster     -> diagnosis.json
    PLANNING     teacher.plan_edits over the measured clusters; the screened plan is
                 frozen (plan.json, read-only) before anything executes
    EXECUTING    execute_phase: baseline, every edit through the gate and the
                 checkpoint (one commit per kept edit), after snapshot, reports
    COMPLETED / AWAITING_REVIEW / FAILED

**Hill-climbing** (``rounds=N``): PLANNING freezes a plan with the diagnosis and no edit;
then, during EXECUTING, each round asks :func:`~specdistill.teacher.propose_next_edit`
for ONE edit given every earlier edit with its gate outcome and measured deltas, freezes
it as ``plan-round-K.json`` (read-only, never rewritten) and appends it to ``plan.json``
*before* it executes, then gates it. So ``plan.json`` is append-only during a hill-climb:
at every moment it lists exactly the edits executed or executing, and each round's own
proposal is frozen apart. A round whose proposals are all dropped applies nothing.

**What the teacher did** is recorded in the session directory as ``teacher.json`` (every
call with its tokens and cost, every dropped cluster or edit with its stage and reason,
converted patches, rounds, why it stopped) and ``diagnosis.json`` (the kept clusters, the
measurements and the exact scrubbed sample that was sent), and summarised in
``session.json``'s ``trigger_metadata["teacher"]``. ``teacher_cost_usd`` is kept up to
date after every call.

**Budget** (``max_cost_per_session_usd``, and a ``loop``'s total through the ledger's
parent) is checked before each call (:class:`~specdistill.teacher.BudgetExceeded`). A
session that reaches it stops cleanly with what it has and still completes: no diagnosis
or no plan means no edits; in a hill-climb, the rounds done are kept. ``error`` says why
it stopped (``teacher budget reached: ...``), so history, show and the reports show it.
Nothing is half-applied: the teacher is never called while an edit is in flight.

**Teacher failures**: an unusable reply (:class:`~specdistill.teacher.TeacherReplyError`)
or an unreachable teacher before execution marks the session FAILED (nothing was applied)
and is re-raised; during a hill-climb it ends the rounds like the budget does, keeping
the rounds already gated.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TypeVar

from specdistill.apply import require_spec_home
from specdistill.checkpoint.run import CheckpointRun, Notify, checkpointed_run, new_session_id
from specdistill.errors import EndpointError, InvalidInput
from specdistill.fsio import atomic_write_bytes
from specdistill.gate.config import GateMode
from specdistill.gate.settings import parse_gate_mode
from specdistill.home import SpecHome
from specdistill.models import (
    AutonomyMode,
    Edit,
    EditOutcome,
    FailureCluster,
    LearningPlan,
    LearningSession,
    SessionStatus,
    TriggerKind,
)
from specdistill.screen import Reach
from specdistill.sessions.home_traces import default_traces
from specdistill.sessions.run import (
    Progress,
    SessionEvaluation,
    advance,
    execute_phase,
    freeze_plan,
    record_failure,
    start_session,
)
from specdistill.sessions.store import SessionStore
from specdistill.sessions.teacher_log import DIAGNOSIS_FILE, TeacherLog
from specdistill.teacher import (
    BudgetExceeded,
    CostLedger,
    Diagnosis,
    TeacherClient,
    TeacherReplyError,
    TeacherSettings,
    check_readiness,
    diagnose,
    load_traces,
    plan_edits,
    propose_next_edit,
    share_policy,
    teacher_settings,
    trace_thresholds,
)
from specdistill.teacher.share import SharePolicy
from specdistill.teacher.traces import Trace

T = TypeVar("T")
#: Teacher failures that end a hill-climb cleanly (the rounds done are kept).
ROUND_STOPS = (BudgetExceeded, TeacherReplyError, EndpointError)


def addressed(plan: LearningPlan) -> LearningPlan:
    """The plan with each cluster's ``addressed_by_edit_ids``: the edits whose
    ``expected_improvement`` names it (what OpenJarvis's planner records)."""
    clusters = [
        cluster.model_copy(
            update={
                "addressed_by_edit_ids": [
                    e.id for e in plan.edits if e.expected_improvement == cluster.id
                ]
            }
        )
        for cluster in plan.failure_clusters
    ]
    return plan.model_copy(update={"failure_clusters": clusters})


class _Teacher:
    """The teacher's side of one session: its client, its log, and how calls are made."""

    def __init__(self, store: SessionStore, client: TeacherClient, log: TeacherLog) -> None:
        self.store = store
        self.client = client
        self.log = log

    def call(self, make: Callable[[], Coroutine[Any, Any, T]]) -> T:
        """Run one teacher coroutine in its own event loop (the gate and snapshots run
        theirs in between); the HTTP client is closed with the loop."""

        async def go() -> T:
            try:
                return await make()
            finally:
                await self.client.aclose()

        return asyncio.run(go())

    def sync(self, session: LearningSession, **update: Any) -> LearningSession:
        """Record the cost and the log in ``session`` and save both."""
        metadata = {**session.trigger_metadata, "teacher": self.log.summary()}
        session = session.model_copy(
            update={
                "teacher_cost_usd": round(self.log.ledger.spent_usd, 6),
                "trigger_metadata": metadata,
                **update,
            }
        )
        self.log.write(self.store, session.id)
        self.store.save(session)
        return session


class _Rounds:
    """The hill-climb: one edit per round, proposed with the measured history."""

    def __init__(
        self,
        teacher: _Teacher,
        rounds: int,
        clusters: Sequence[FailureCluster],
        policy: SharePolicy,
    ) -> None:
        self.teacher = teacher
        self.rounds = rounds
        self.clusters = list(clusters)
        self.policy = policy
        self.done = 0
        self.reach: Reach | None = None  # the plan screen's param check

    def __call__(
        self, session: LearningSession, history: Sequence[tuple[Edit, EditOutcome]]
    ) -> tuple[LearningSession, list[Edit]]:
        teacher, store = self.teacher, self.teacher.store
        if not self.clusters:  # nothing an edit could target (the log says why)
            return teacher.sync(session), []
        while self.done < self.rounds:
            self.done += 1
            stage = f"round {self.done}"
            try:
                proposal = teacher.call(
                    lambda: propose_next_edit(
                        teacher.client,
                        history,
                        home=store.home,
                        clusters=self.clusters,
                        policy=self.policy,
                        reach=self.reach,
                    )
                )
            except ROUND_STOPS as exc:
                done = f"stopped at round {self.done} of {self.rounds}; {self.done - 1} done"
                reason = teacher.log.stop(exc, done)
                return teacher.sync(session, error=reason), []
            teacher.log.drop(stage, proposal.dropped)
            edit = proposal.edit
            teacher.log.round(self.done, edit)
            if edit is None:
                session = teacher.sync(session)
                continue
            plan = LearningPlan(
                session_id=session.id,
                failure_clusters=self.clusters,
                edits=[edit],
                teacher_model=teacher.log.model,
                estimated_cost_usd=round(teacher.log.ledger.spent_usd, 6),
            )
            plan = addressed(plan)
            path = store.session_dir(session.id) / f"plan-round-{self.done}.json"
            atomic_write_bytes(path, plan.model_dump_json(indent=2).encode() + b"\n", mode=0o444)
            return teacher.sync(session), [edit]
        return teacher.sync(session), []


def _diagnose_and_plan(
    teacher: _Teacher,
    session: LearningSession,
    *,
    traces: Sequence[Trace],
    evaluation: SessionEvaluation,
    policy: SharePolicy,
    settings: TeacherSettings,
    rounds: int | None,
    stop_requested: Callable[[], bool],
) -> tuple[LearningSession, LearningPlan]:
    """DIAGNOSING then PLANNING; return the session and the frozen plan. After a Ctrl-C
    (deferred by the checkpoint run) no further teacher call is made."""
    store, home, log = teacher.store, teacher.store.home, teacher.log
    gate = evaluation.benchmark_gate
    session = advance(store, session, SessionStatus.DIAGNOSING)
    diagnosis: Diagnosis | None = None
    try:
        diagnosis = teacher.call(
            lambda: diagnose(
                teacher.client,
                home=home,
                traces=traces,
                benchmark=gate.benchmark,
                student=gate.runner.student,
                policy=policy,
                thresholds=trace_thresholds(home),
                judge=gate.runner.judge,
                cache=gate.cache,
                registry=gate.runner.registry,
                tasks_per_cluster=settings.tasks_per_cluster,
                concurrency=gate.concurrency,
                seed=session.id,
            )
        )
    except BudgetExceeded as exc:
        session = session.model_copy(update={"error": log.stop(exc, "no diagnosis, no edits")})
    update: dict[str, Any] = {}
    if diagnosis is not None:
        log.drop("diagnose", diagnosis.dropped)
        log.clusters = [c.id for c in diagnosis.clusters]
        data = log.dump(diagnosis.as_json())
        update["diagnosis_path"] = store.write_file(session.id, DIAGNOSIS_FILE, data)
    session = teacher.sync(session, **update)
    session = advance(store, session, SessionStatus.PLANNING)
    clusters = diagnosis.clusters if diagnosis is not None else []
    summary = diagnosis.summary if diagnosis is not None else ""
    plan = LearningPlan(session_id=session.id, diagnosis_summary=summary, failure_clusters=clusters)
    if rounds is None and clusters and session.error is None and not stop_requested():
        try:
            result = teacher.call(
                lambda: plan_edits(
                    teacher.client,
                    home=home,
                    clusters=clusters,
                    session_id=session.id,
                    summary=summary,
                    policy=policy,
                    max_edits=settings.max_edits,
                    reach=evaluation.reach(),
                )
            )
        except BudgetExceeded as exc:
            session = session.model_copy(update={"error": log.stop(exc, "no plan, no edits")})
        else:
            plan = result.plan
            log.drop("plan", result.dropped)
            log.converted.extend(result.converted)
    elif not clusters and session.error is None:
        log.note("no failure cluster was confirmed by the student's runs: nothing to plan")
    cost = round(log.ledger.spent_usd, 6)
    plan = addressed(
        plan.model_copy(update={"estimated_cost_usd": cost, "teacher_model": log.model})
    )
    session = freeze_plan(store, session, plan)  # frozen before anything executes
    return teacher.sync(session), plan


def teach_session(
    home: str | os.PathLike[str] | SpecHome,
    *,
    traces: str | os.PathLike[str] | None = None,
    rounds: int | None = None,
    mode: AutonomyMode | str = AutonomyMode.TIERED,
    gate_mode: GateMode | str = GateMode.sequential,
    benchmark: str | os.PathLike[str] | None = None,
    allow_dirty: bool = False,
    trigger: TriggerKind = TriggerKind.ON_DEMAND,
    session_id: str | None = None,
    parent_session_id: str | None = None,
    total_ledger: CostLedger | None = None,
    metadata: dict[str, Any] | None = None,
    progress: Progress | None = None,
    notify: Notify | None = None,
) -> LearningSession:
    """Diagnose, plan (or hill-climb ``rounds`` edits), execute, gate and record a session.

    ``traces`` defaults to ``[specdistill.traces] path``. The traces, the teacher's and
    the evaluation's settings are all read before anything is written, so a bad config
    changes nothing. ``total_ledger`` (a ``loop``'s budget) becomes the session ledger's
    parent. Returns the session; see the module docstring for what a budget or a teacher
    failure does.
    """
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    require_spec_home(spec_home)
    if rounds is not None and rounds < 1:
        raise InvalidInput(f"--rounds {rounds}: must be at least 1")
    trace_file = Path(traces) if traces is not None else default_traces(spec_home, notify)
    if trace_file is None:
        raise InvalidInput(
            "no traces: pass --traces FILE (or a ready plan with --plan)",
            hint="or set [specdistill.traces] path in config.toml",
        )
    loaded = load_traces(trace_file)
    check_readiness(loaded, trace_thresholds(spec_home)).require_diagnosis()
    settings = teacher_settings(spec_home)
    policy = share_policy(spec_home)
    store = SessionStore(spec_home)
    sid = session_id or new_session_id()
    if store.session_dir(sid).exists():
        raise InvalidInput(f"session {sid} already exists in {spec_home.root}")
    gate = parse_gate_mode(gate_mode)
    evaluation = SessionEvaluation.from_config(spec_home, gate, benchmark)
    meta: dict[str, Any] = {"command": "run", "gate": gate.value, **(metadata or {})}
    meta |= {"benchmark": str(evaluation.benchmark_path), "traces": str(trace_file.absolute())}
    if rounds is not None:
        meta["rounds"] = rounds
    ledger = settings.ledger(parent=total_ledger)
    teacher = _Teacher(store, settings.client(ledger), TeacherLog(settings.model, ledger))
    try:
        with checkpointed_run(
            spec_home, command="run", session_id=sid, allow_dirty=allow_dirty, notify=notify
        ) as run:
            for note in [*run.notes, *store.close_interrupted()]:
                if notify is not None:
                    notify(note)
            session = start_session(
                store, None, mode=mode, trigger=trigger, trigger_metadata=meta, session_id=sid
            )
            if parent_session_id is not None:
                session = teacher.sync(session, parent_session_id=parent_session_id)
            return _run(teacher, session, run, evaluation, loaded, policy, settings,
                        rounds, progress, notify)  # fmt: skip
    finally:
        evaluation.close()


def _run(
    teacher: _Teacher,
    session: LearningSession,
    run: CheckpointRun,
    evaluation: SessionEvaluation,
    traces: Sequence[Trace],
    policy: SharePolicy,
    settings: TeacherSettings,
    rounds: int | None,
    progress: Progress | None,
    notify: Notify | None,
) -> LearningSession:
    store = teacher.store
    try:
        session, plan = _diagnose_and_plan(
            teacher, session, traces=traces, evaluation=evaluation, policy=policy,
            settings=settings, rounds=rounds, stop_requested=lambda: run.stop_requested,
        )  # fmt: skip
    except BaseException as exc:
        with contextlib.suppress(Exception):  # recording must not mask ``exc``
            session = teacher.sync(store.load(session.id))  # the calls made before it, too
        record_failure(store, session, LearningPlan(session_id=session.id), run, exc, notify)
        raise
    more = None
    if rounds is not None and session.error is None:
        more = _Rounds(teacher, rounds, plan.failure_clusters, policy)
        more.reach = evaluation.reach()
    return execute_phase(
        store, session, plan, run=run, evaluation=evaluation, progress=progress,
        notify=notify, more_edits=more,
    )  # fmt: skip
