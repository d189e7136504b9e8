"""The review queue: edits a person must look at before they may reach the spec.

An edit is queued when its session recorded it as ``pending_review`` (review-tier
edits in tiered mode, every edit in manual mode, and in tiered mode an edit the gate
could not decide, restored and queued with the gate's report as its evidence). Its queue id is
``<session_id>:<edit_id>``; a bare edit id is accepted when it is unique across the
queue. The queue is found through the index (``learning.db``) and confirmed
against each ``session.json``, which stays the authority.

* :func:`preview_queued` re-validates a queued edit against the spec **as it is
  now** and shows the diff it would make. One that no longer applies (its target
  changed since it was queued) is *stale*.
* :func:`approve` applies one queued edit **through the gate** — approval means
  "try it", not "force it" — inside a checkpointed run carrying the edit's
  original session id, so its commit has that Session-ID trailer and a rollback
  of the session covers it. A stale edit is refused, with nothing written. If the
  gate is inconclusive again, the edit stays queued (undone) with the new evidence,
  unless ``[specdistill.gate] on_inconclusive = "reject"``.
* :func:`reject` records ``rejected_by_user`` with the person's reason.

Both update the session's outcome, save ``session.json`` (and the index), record
the decision in the session's ``evidence.json`` (an approval: the diff its gate run
judged, the verdict, every cluster's estimate and the tasks that flipped; a rejection:
the reason, beside what the edit was queued with), move the session from
``awaiting_review`` to ``completed`` once its queue is empty, and rewrite its reports.
A resolved edit cannot be resolved again.
"""

from __future__ import annotations

import dataclasses
import os
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from specdistill.appliers.base import FileEditApplier
from specdistill.appliers.registry import default_registry
from specdistill.changeset import FileChange
from specdistill.checkpoint.lock import HomeLock
from specdistill.checkpoint.run import Notify, checkpointed_run
from specdistill.checkpoint.store import CheckpointStore
from specdistill.context import ApplyContext
from specdistill.errors import CheckpointError, InvalidInput, SpecdistillError
from specdistill.execute import GATE_STOPPED, INTERRUPTED_REASON, EditGate, execute_edits
from specdistill.gate.config import GateMode
from specdistill.gate.driver import BenchmarkGate
from specdistill.gate.settings import open_gate, parse_gate_mode
from specdistill.home import SpecHome
from specdistill.models import (
    AutonomyMode,
    Edit,
    EditOutcome,
    EditRiskTier,
    LearningSession,
    SessionStatus,
    utc_now,
)
from specdistill.sessions.evidence import (
    EditEvidence,
    EvidenceRecord,
    RecordingGate,
    read_evidence,
    rejected_evidence,
    save_evidence,
)
from specdistill.sessions.lifecycle import transition
from specdistill.sessions.report import write_reports
from specdistill.sessions.report_facts import QUEUE_SEPARATOR, queue_id
from specdistill.sessions.routing import routed_edits
from specdistill.sessions.store import RecordNotWritten, SessionStore
from specdistill.tiers import assign_tiers

#: Sessions whose queue is closed: their pending edits can no longer be resolved.
CLOSED = frozenset({SessionStatus.ROLLED_BACK, SessionStatus.FAILED})
PENDING = "pending_review"


class AlreadyResolved(InvalidInput):
    """The edit was already approved, rejected or otherwise decided."""


class StaleEdit(InvalidInput):
    """A queued edit no longer applies to the spec as it is now."""


@dataclass(frozen=True)
class QueuedEdit:
    """One edit waiting for review, with the tier its session routed it with (recorded in
    ``routing.json``; an edit of an older session gets the tier today's config gives)."""

    queue_id: str
    session: LearningSession
    edit: Edit

    @property
    def session_id(self) -> str:
        return self.session.id


@dataclass(frozen=True)
class EditPreview:
    """A queued edit checked against the current spec.

    ``state`` is ``ready`` (it applies; ``diff`` shows how), ``stale`` (it no longer
    applies; ``reason`` says why) or ``manual`` (a manual-tier edit: never applied
    by specdistill). ``changed_since_queued`` lists the files the edit touches that
    differ from the session's final checkpoint. ``gate_reason`` and ``gate_report``
    are the evidence of an edit queued because the gate could not decide it (None for
    an edit queued by its tier).
    """

    item: QueuedEdit
    state: Literal["ready", "stale", "manual"]
    reason: str | None = None
    diff: str = ""
    changed_since_queued: list[str] = field(default_factory=list)
    gate_reason: str | None = None
    gate_report: str | None = None

    def to_json(self) -> dict[str, Any]:
        edit = self.item.edit
        return {
            "id": self.item.queue_id,
            "session_id": self.item.session_id,
            "edit_id": edit.id,
            "op": edit.op.value,
            "tier": edit.risk_tier.value,
            "target": edit.target,
            "expected_improvement": edit.expected_improvement,
            "benchmark_cluster": edit.gate_cluster,
            "rationale": edit.rationale,
            "references": list(edit.references),
            "payload": edit.payload,
            "state": self.state,
            "reason": self.reason,
            "changed_since_queued": self.changed_since_queued,
            "diff": self.diff,
            "gate_reason": self.gate_reason,
            "gate_report": self.gate_report,
        }


@dataclass
class Resolution:
    """What approve/reject did to one queued edit and its session."""

    item: QueuedEdit
    outcome: EditOutcome
    session: LearningSession
    commit: str | None = None
    reports: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The signal that stopped an approval before the edit ran (nothing recorded).
    interrupted_by: int | None = None


def _store(home: str | os.PathLike[str] | SpecHome) -> SessionStore:
    return SessionStore(home if isinstance(home, SpecHome) else SpecHome(home))


def _queued(
    store: SessionStore,
    session: LearningSession,
    edit_id: str,
    edits: dict[str, Edit] | None = None,
) -> QueuedEdit:
    """The queued edit ``edit_id`` of ``session``; a clear error if it is not queued.

    ``edits``: the session's plan with its routed tiers, if the caller already read it.
    """
    qid = queue_id(session.id, edit_id)
    outcome = next((o for o in session.edit_outcomes if o.edit_id == edit_id), None)
    if outcome is None:
        raise InvalidInput(
            f"session {session.id} has no edit {edit_id!r}",
            hint=f"'specdistill show {session.id}' lists its edits",
        )
    if outcome.status != PENDING:
        raise AlreadyResolved(
            f"{qid} is already resolved ({outcome.status}); nothing was changed",
            hint="'specdistill review' lists the edits still waiting",
        )
    if session.status in CLOSED:
        raise InvalidInput(
            f"{qid}: session {session.id} is {session.status.value}; its queue is closed"
        )
    if edits is None:
        edits = routed_edits(store.load_plan(session.id), store, session.id)
    edit = edits.get(edit_id)
    if edit is None:
        raise InvalidInput(f"{qid}: the session's plan.json has no edit {edit_id!r}")
    return QueuedEdit(qid, session, edit)


def list_queue(home: str | os.PathLike[str] | SpecHome) -> list[QueuedEdit]:
    """Every edit waiting for review, oldest session first (sessions in a closed state
    are left out)."""
    store = _store(home)
    items: list[QueuedEdit] = []
    sessions: dict[str, tuple[LearningSession, dict[str, Edit]]] = {}
    for session_id, edit_id in store.pending_review():
        if session_id not in sessions:
            loaded = store.load(session_id)
            plan = store.load_plan(session_id)
            sessions[session_id] = (loaded, routed_edits(plan, store, session_id))
        session, edits = sessions[session_id]
        if session.status in CLOSED:
            continue
        outcome = next((o for o in session.edit_outcomes if o.edit_id == edit_id), None)
        if outcome is None or outcome.status != PENDING:
            continue  # the index lags the file; the file wins
        items.append(_queued(store, session, edit_id, edits))
    return items


def resolve_queue_id(home: str | os.PathLike[str] | SpecHome, raw: str) -> QueuedEdit:
    """The queued edit ``raw`` names: ``<session_id>:<edit_id>``, or a bare edit id
    that is unique across the queue."""
    store = _store(home)
    session_id, sep, edit_id = raw.partition(QUEUE_SEPARATOR)
    if sep and session_id and (store.sessions_dir / session_id).is_dir():
        return _queued(store, store.load(session_id), edit_id)
    candidates = [item for item in list_queue(home) if item.edit.id == raw]
    if len(candidates) == 1:
        return candidates[0]
    if candidates:
        names = ", ".join(item.queue_id for item in candidates)
        raise InvalidInput(f"edit id {raw!r} is ambiguous: it is queued as {names}")
    resolved = store.find_edit(raw)
    if resolved:
        where = ", ".join(f"{queue_id(sid, raw)} ({status})" for sid, status in resolved)
        raise AlreadyResolved(
            f"{raw!r} is not waiting for review: {where}; nothing was changed",
            hint="'specdistill review' lists the edits still waiting",
        )
    if sep and session_id:
        store.load(session_id)  # raises SessionNotFound with its hint
    raise InvalidInput(
        f"no queued edit {raw!r}", hint="'specdistill review' lists the queue with their ids"
    )


def preview_queued(item: QueuedEdit, home: str | os.PathLike[str] | SpecHome) -> EditPreview:
    """Re-validate ``item`` against the current spec; its diff, or why it is stale; with
    the gate's evidence if the gate left it undecided."""
    preview = _preview(item, home)
    outcome = next((o for o in item.session.edit_outcomes if o.edit_id == item.edit.id), None)
    if outcome is None or outcome.gate_report is None:
        return preview
    return replace(preview, gate_reason=outcome.error, gate_report=outcome.gate_report)


def _preview(item: QueuedEdit, home: str | os.PathLike[str] | SpecHome) -> EditPreview:
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    edit = item.edit
    registry = default_registry()
    if edit.risk_tier == EditRiskTier.MANUAL:
        return EditPreview(
            item, "manual", "manual tier: specdistill never applies it, even approved"
        )
    if not registry.is_supported(edit.op):
        return EditPreview(item, "stale", f"op {edit.op.value} has no registered applier")
    applier = registry.get(edit.op)
    ctx = ApplyContext(home=spec_home.root, session_id=item.session_id)
    if not isinstance(applier, FileEditApplier):  # a plug-in: it can validate, not preview
        result = applier.validate(edit, ctx)
        return EditPreview(item, "ready" if result.ok else "stale", result.reason or None)
    try:
        changes = applier.preview(edit, ctx)
    except SpecdistillError as exc:
        return EditPreview(item, "stale", exc.message)
    paths = [spec_home.relative(c.path) for c in changes]
    diff = "".join(c.unified_diff(path) for c, path in zip(changes, paths, strict=True))
    changed = _changed_since(spec_home, item.session.git_checkpoint_post, changes, paths)
    return EditPreview(item, "ready", None, diff, changed)


def _changed_since(
    home: SpecHome, commit: str | None, changes: list[FileChange], paths: list[str]
) -> list[str]:
    """The files among ``changes`` whose current bytes differ from ``commit``'s."""
    if not commit:
        return []
    store = CheckpointStore(home)
    changed = []
    try:
        if not store.find_repo():
            return []
        for change, path in zip(changes, paths, strict=True):
            spec = f"{commit}:{store.repo_path(path)}"
            proc = store.git.run("cat-file", "blob", spec, ok=(0, 128))
            then = proc.stdout if proc.returncode == 0 else None
            if then != change.before:
                changed.append(path)
    except CheckpointError:
        return []
    return changed


def show_queued(home: str | os.PathLike[str] | SpecHome, raw_id: str) -> EditPreview:
    """The queued edit ``raw_id`` with its rationale, references and a diff preview."""
    return preview_queued(resolve_queue_id(home, raw_id), home)


def review_queue(home: str | os.PathLike[str] | SpecHome) -> list[EditPreview]:
    """The whole queue, each edit checked against the current spec."""
    return [preview_queued(item, home) for item in list_queue(home)]


def committed_edit(checkpoints: CheckpointStore, session_id: str, edit_id: str) -> str | None:
    """The commit of ``edit_id`` in ``session_id`` if it is in the spec (not reverted)."""
    entries = checkpoints.log()  # empty without a repository
    reverted = {e.reverts_commit for e in entries if e.kind == "revert"}
    for entry in entries:
        if (
            entry.kind == "edit"
            and entry.edit_id == edit_id
            and entry.session_id == session_id
            and entry.commit not in reverted
        ):
            return entry.commit
    return None


def _record(
    store: SessionStore,
    session: LearningSession,
    outcome: EditOutcome,
    notes: list[str],
    evidence: EditEvidence | None = None,
) -> tuple[LearningSession, list[Path]]:
    """Replace the edit's outcome, close an emptied queue, save, add ``evidence`` to the
    session's ``evidence.json``, rewrite the reports.

    The evidence and the reports are views beside the saved ``session.json``: if reading
    or rendering them fails, that is added to ``notes`` rather than raised, since the
    decision itself is recorded; a failure to write them (RecordNotWritten: disk full,
    read-only) fails the command like any record.
    """
    outcomes = [outcome if o.edit_id == outcome.edit_id else o for o in session.edit_outcomes]
    session = session.model_copy(update={"edit_outcomes": outcomes})
    still_queued = any(o.status == PENDING for o in outcomes)
    if not still_queued and session.status == SessionStatus.AWAITING_REVIEW:
        session = transition(session, SessionStatus.COMPLETED)
    store.save(session)
    if evidence is not None:
        try:
            record = read_evidence(store, session.id) or EvidenceRecord()
            record.edits.append(evidence)
            save_evidence(store, session.id, record)
        except RecordNotWritten:
            raise
        except (SpecdistillError, OSError) as exc:
            notes.append(
                f"warning: the evidence of {queue_id(session.id, outcome.edit_id)} was not "
                f"recorded ({exc})"
            )
    try:
        return session, write_reports(store, session, store.load_plan(session.id))
    except RecordNotWritten:
        raise
    except (SpecdistillError, OSError) as exc:
        notes.append(f"warning: the reports of session {session.id} were not rewritten ({exc})")
        return session, []


def approve(
    home: str | os.PathLike[str] | SpecHome,
    raw_id: str,
    *,
    gate_mode: GateMode | str = GateMode.sequential,
    benchmark: str | os.PathLike[str] | None = None,
    allow_dirty: bool = False,
    gate: EditGate | None = None,
    notify: Notify | None = None,
    screened: Edit | None = None,
) -> Resolution:
    """Apply one queued edit through the gate, as part of its original session.

    The gate is ``gate`` if given, else the one the home's config describes in
    ``gate_mode`` (``sequential`` or ``mean``; there is no ungated approval). The
    outcome is ``applied`` (committed, with its deltas) or ``rejected_by_gate``
    (files restored, with the reason); if the gate cannot decide, the files are
    restored and the edit stays queued (``pending_review``) with the new evidence
    (``rejected_by_gate`` with ``[specdistill.gate] on_inconclusive = "reject"``).
    A stale or manual-tier edit is refused before anything is written. ``screened``: the
    queued edit as the plan screen passed it (e.g. with an OpenJarvis failure-cluster id
    resolved to the benchmark cluster it is measured on), used in place of the record's.

    >>> approve(home, "20260101-120000-abc123:e3-prompt")  # doctest: +SKIP
    """
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    store = _store(spec_home)
    store.check_index()  # a broken index must stop us before the commit, not after
    if gate is None and parse_gate_mode(gate_mode) is GateMode.off:
        raise InvalidInput(
            f"approve needs a gate (sequential or mean), got {str(gate_mode)!r}",
            hint="approval means 'try it through the gate'; to force an edit, use "
            "'specdistill apply' with a plan of that edit",
        )
    item = check_approvable(spec_home, raw_id)
    with ExitStack() as stack:
        if gate is None:
            built = open_gate(spec_home, mode=gate_mode, benchmark=benchmark)
            if built.cache is not None:
                stack.callback(built.cache.close)
            gate = built
        run = stack.enter_context(
            checkpointed_run(
                spec_home,
                command="approve",
                session_id=item.session_id,
                allow_dirty=allow_dirty,
                notify=notify,
            )
        )
        # Under the lock: read the session again, so a concurrent change is not lost.
        item = _queued(store, store.load(item.session_id), item.edit.id)
        if screened is not None and screened.id == item.edit.id:
            item = dataclasses.replace(item, edit=screened)
        landed = committed_edit(run.store, item.session_id, item.edit.id)
        if landed is not None:
            # An earlier approval committed this edit but died before recording it.
            notes = [
                *run.notes,
                f"recovered: {item.queue_id} was already committed as "
                f"{landed[:10]} by an interrupted approval; recorded it as applied",
            ]
            outcome = EditOutcome(edit_id=item.edit.id, status="applied", applied_at=utc_now())
            session, reports = _record(store, item.session, outcome, notes)
            return Resolution(item, outcome, session, landed, reports, notes)
        _refuse_unappliable(preview_queued(item, spec_home))
        ctx = ApplyContext(home=spec_home.root, session_id=item.session_id)
        _refuse_manual_now(item, ctx)
        configured = gate.config.on_inconclusive if isinstance(gate, BenchmarkGate) else None
        queued_diff = _queued_diff(store, item)
        recorder = RecordingGate(gate)
        [outcome] = execute_edits(
            edits=[item.edit], ctx=ctx, autonomy_mode=AutonomyMode.AUTO, checkpoint=run,
            gate=recorder, on_inconclusive=configured or "review",
        )  # fmt: skip
        if outcome.error in (INTERRUPTED_REASON, GATE_STOPPED):  # still queued
            stopped = run.signals.received
            return Resolution(item, outcome, item.session, None, [], run.notes, stopped)
        notes = list(run.notes)
        evidence = recorder.evidence(item.edit.id, fallback_diff=queued_diff)
        session, reports = _record(store, item.session, outcome, notes, evidence)
        return Resolution(item, outcome, session, run.commits.get(item.edit.id), reports, notes)
    raise AssertionError("unreachable")  # pragma: no cover


def _previous_evidence(
    store: SessionStore, item: QueuedEdit, notes: list[str] | None = None
) -> EditEvidence | None:
    """The edit's newest recorded evidence (None for an older session or a corrupt file,
    which ``notes`` then mentions)."""
    try:
        record = read_evidence(store, item.session_id)
    except SpecdistillError as exc:
        if notes is not None:
            notes.append(f"warning: {exc}")
        return None
    return record.for_edit(item.edit.id) if record is not None else None


def _queued_diff(store: SessionStore, item: QueuedEdit) -> str:
    """The diff the edit was queued with: shown for an approval whose gate never ran."""
    previous = _previous_evidence(store, item)
    return previous.diff if previous is not None else ""


def check_approvable(home: str | os.PathLike[str] | SpecHome, raw_id: str) -> QueuedEdit:
    """The queued edit ``raw_id``, if it could be approved now; else the clear error.

    Cheap (no gate is built), so a command can fail fast on a bad id or a stale edit.
    """
    item = resolve_queue_id(home, raw_id)
    _refuse_unappliable(preview_queued(item, home))
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    _refuse_manual_now(item, ApplyContext(home=spec_home.root))
    return item


def _refuse_manual_now(item: QueuedEdit, ctx: ApplyContext) -> None:
    """Refuse an edit whose op today's config made manual-tier since it was queued.

    The queue shows the tier the edit was routed with, but an approval applies it now,
    under today's tiers: the execute loop would skip it, so say so before anything runs.
    """
    [today] = assign_tiers([item.edit], ctx.tier_overrides())
    if today.risk_tier == EditRiskTier.MANUAL != item.edit.risk_tier:
        qid = item.queue_id
        raise InvalidInput(
            f"{qid} ({item.edit.op.value}) was queued as {item.edit.risk_tier.value}-tier, but "
            "[specdistill.tier_overrides] makes it manual-tier now: specdistill no longer "
            "applies it; nothing was changed",
            hint=f"reject it (specdistill reject {qid} --reason ...), or change the override",
        )


def _refuse_unappliable(preview: EditPreview) -> None:
    qid = preview.item.queue_id
    if preview.state == "manual":
        raise InvalidInput(
            f"{qid} is a manual-tier edit ({preview.item.edit.op.value}): specdistill never "
            "applies it, even approved; nothing was changed",
            hint=f"reject it (specdistill reject {qid} --reason ...) and act on it yourself",
        )
    if preview.state == "stale":
        raise StaleEdit(
            f"{qid} is stale: it no longer applies to the current spec ({preview.reason}); "
            "nothing was changed",
            hint=f"reject it: specdistill reject {qid} --reason stale",
        )


def reject(home: str | os.PathLike[str] | SpecHome, raw_id: str, reason: str) -> Resolution:
    """Record ``rejected_by_user`` with ``reason`` for one queued edit (the spec is untouched)."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    if not reason.strip():
        raise InvalidInput("a rejection needs a reason (--reason TEXT)")
    store = _store(spec_home)
    store.check_index()  # a broken index must stop us before session.json changes
    item = resolve_queue_id(spec_home, raw_id)
    with HomeLock(spec_home.learning_dir, "specdistill reject"):
        item = _queued(store, store.load(item.session_id), item.edit.id)
        landed = committed_edit(CheckpointStore(spec_home), item.session_id, item.edit.id)
        if landed is not None:
            raise InvalidInput(
                f"{item.queue_id} is already in the spec (commit {landed[:10]}, from an "
                "approval interrupted before it was recorded); nothing was changed",
                hint=f"approve it to record it, or roll back its session: "
                f"specdistill rollback {item.session_id}",
            )
        outcome = EditOutcome(edit_id=item.edit.id, status="rejected_by_user", error=reason.strip())
        notes: list[str] = []
        previous = _previous_evidence(store, item, notes)
        evidence = rejected_evidence(previous, item.edit.id, reason.strip())
        session, reports = _record(store, item.session, outcome, notes, evidence)
    return Resolution(item, outcome, session, None, reports, notes)


__all__ = [
    "AlreadyResolved",
    "EditPreview",
    "QueuedEdit",
    "Resolution",
    "StaleEdit",
    "approve",
    "check_approvable",
    "list_queue",
    "preview_queued",
    "reject",
    "resolve_queue_id",
    "review_queue",
    "show_queued",
]
