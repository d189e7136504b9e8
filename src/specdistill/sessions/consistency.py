"""Git, ``session.json`` and the index agree: the check, the repair, and the markers
that say when a repair is due.

A multi-step command (run, approve, reject, rollback, reindex) changes up to three
records: the spec's git history (through the crash journal, which keeps the work tree
and HEAD in step on its own), each session's ``session.json`` (the authority) and the
SQLite index (a cache of the session files). A kill between two of those steps leaves
them disagreeing; nothing else can. So before its first step such a command leaves an
*operation marker* (``learning/journal/op-<nonce>.json``: who, doing what) and removes
it only once every record is written. The next command that finds the marker of a
process that is gone (the same staleness rule as the lock) repairs, under the lock:

1. the crash journal (:func:`specdistill.checkpoint.recover`): work tree = HEAD;
2. sessions a dead process left running are marked ``failed``;
3. git -> ``session.json`` (:func:`check`): a session whose edit commits are all
   reverted is recorded ``rolled_back`` (a rollback killed after its commit), an edit
   whose commit is in the spec is recorded ``applied`` (a run or an approval killed
   after its commit, before the record);
4. ``session.json`` -> index: each session's row and outcomes re-indexed from its file.

Finding nothing to repair costs one directory listing; ``doctor`` runs the full check
whatever the markers say, and ``doctor --reindex`` repairs.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from specdistill.checkpoint.commits import LogEntry
from specdistill.checkpoint.journal import JOURNAL_DIR
from specdistill.checkpoint.lock import LockInfo
from specdistill.checkpoint.recovery import recover
from specdistill.checkpoint.store import CheckpointStore
from specdistill.errors import CheckpointError, InvalidInput, LockHeld, SpecdistillError
from specdistill.fsio import atomic_write_bytes
from specdistill.home import LEARNING_DIR, SpecHome
from specdistill.models import EditOutcome, LearningSession, SessionStatus, utc_now
from specdistill.sessions.lifecycle import RUNNING, can_transition, transition
from specdistill.sessions.report import write_reports
from specdistill.sessions.store import CorruptSessionData, SessionStore

MARKER_PREFIX = "op-"


@dataclass(frozen=True)
class Finding:
    """One disagreement between the records of a session: what, and whether it was fixed."""

    session_id: str
    detail: str
    repaired: bool = False


# -- operation markers ---------------------------------------------------------------------


def _journal_dir(home: SpecHome) -> Path:
    return home.resolve(LEARNING_DIR, JOURNAL_DIR)


@contextlib.contextmanager
def operation(home: SpecHome, kind: str) -> Iterator[None]:
    """Mark a multi-step operation in flight for its whole duration.

    The marker is written (durably) before the first step and removed when the block
    ends without an exception. After an exception it stays: the records may disagree,
    and the next command repairs them. Failing to write it fails the command, before
    anything changed.
    """
    directory = _journal_dir(home)
    info = LockInfo.mine(f"specdistill {kind}")
    path = directory / f"{MARKER_PREFIX}{info.nonce}.json"
    data = json.dumps({"kind": kind, **info.__dict__}).encode()
    try:
        directory.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data, mode=0o600)
    except OSError as exc:
        raise CheckpointError(
            f"cannot record the {kind} in {directory} ({exc.strerror or exc}); nothing was changed",
            hint="make learning/journal writable (disk full? permissions?), then run again",
        ) from None
    try:
        yield
    except (InvalidInput, LockHeld):
        path.unlink(missing_ok=True)  # refused before anything changed: nothing to repair
        raise
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def stale_markers(home: SpecHome) -> list[Path]:
    """Markers of operations whose process is gone (or unreadable ones)."""
    try:
        directory = _journal_dir(home)
        candidates = sorted(directory.glob(f"{MARKER_PREFIX}*.json"))
    except (OSError, SpecdistillError):
        return []
    stale = []
    for path in candidates:
        try:
            raw = path.read_bytes()
        except OSError:
            continue
        holder = LockInfo.parse(raw)
        if holder is None or holder.is_stale():
            stale.append(path)
    return stale


def live_operation(home: SpecHome) -> bool:
    """Whether another live process has an operation marked in flight."""
    with contextlib.suppress(OSError, SpecdistillError):
        for path in _journal_dir(home).glob(f"{MARKER_PREFIX}*.json"):
            with contextlib.suppress(OSError):
                holder = LockInfo.parse(path.read_bytes())
                if holder is not None and not holder.is_stale() and holder.pid != os.getpid():
                    return True
    return False


# -- the check -----------------------------------------------------------------------------


def _sessions(store: SessionStore) -> dict[str, LearningSession]:
    sessions = {}
    for session_id in store.session_ids_on_disk():
        with contextlib.suppress(CorruptSessionData):
            sessions[session_id] = store.load(session_id)
    return sessions


def _git_view(home: SpecHome) -> tuple[dict[str, list[LogEntry]], set[str]]:
    """Each session's edit commits (oldest first) and the commits that were reverted."""
    checkpoints = CheckpointStore(home)
    if not checkpoints.find_repo():
        return {}, set()
    entries = list(reversed(checkpoints.log()))
    reverted = {e.reverts_commit for e in entries if e.kind == "revert" and e.reverts_commit}
    edits: dict[str, list[LogEntry]] = {}
    for entry in entries:
        if entry.kind == "edit" and entry.session_id:
            edits.setdefault(entry.session_id, []).append(entry)
    return edits, reverted


def _agreed(
    session: LearningSession, commits: list[LogEntry], reverted: set[str]
) -> tuple[LearningSession, list[str]]:
    """``session`` as git says it must be recorded, and what differed (pure)."""
    problems: list[str] = []
    if not commits:
        return session, problems
    outcomes = list(session.edit_outcomes)
    by_id = {o.edit_id: i for i, o in enumerate(outcomes)}
    live = [c for c in commits if c.commit not in reverted]
    if not live:  # every commit reverted: a rollback landed
        for commit in commits:
            i = by_id.get(commit.edit_id or "")
            if i is not None and outcomes[i].status == "applied":
                outcomes[i] = outcomes[i].model_copy(update={"status": "rolled_back"})
                problems.append(f"edit {commit.edit_id} is reverted in git but recorded applied")
        if session.status != SessionStatus.ROLLED_BACK and can_transition(
            session.status, SessionStatus.ROLLED_BACK
        ):
            problems.append(f"git has rolled it back, but it is recorded {session.status.value}")
            session = transition(
                session.model_copy(update={"edit_outcomes": outcomes}), SessionStatus.ROLLED_BACK
            )
        return session.model_copy(update={"edit_outcomes": outcomes}), problems
    for commit in live:
        edit_id = commit.edit_id or ""
        i = by_id.get(edit_id)
        if i is None:
            problems.append(f"edit {edit_id} is committed ({commit.short}) but has no outcome")
            outcomes.append(EditOutcome(edit_id=edit_id, status="applied", applied_at=utc_now()))
            by_id[edit_id] = len(outcomes) - 1
        elif outcomes[i].status in ("pending_review", "skipped", "rejected_by_gate"):
            was = outcomes[i].status
            problems.append(f"edit {edit_id} is committed ({commit.short}) but recorded {was}")
            outcomes[i] = EditOutcome(edit_id=edit_id, status="applied", applied_at=utc_now())
    session = session.model_copy(update={"edit_outcomes": outcomes})
    if (
        session.status == SessionStatus.AWAITING_REVIEW
        and problems
        and not any(o.status == "pending_review" for o in outcomes)
    ):
        session = transition(session, SessionStatus.COMPLETED)
    return session, problems


def _index_disagrees(store: SessionStore, session: LearningSession) -> str | None:
    """How the index row of ``session`` differs from its file, or None."""
    with store._db() as db:
        row = db.execute("SELECT status FROM sessions WHERE id = ?", (session.id,)).fetchone()
        if row is None:
            return "not in the index"
        rows = db.execute(
            "SELECT edit_id, status FROM edit_outcomes WHERE session_id = ? ORDER BY position",
            (session.id,),
        ).fetchall()
    if row[0] != session.status.value:
        return f"indexed as {row[0]}, recorded {session.status.value}"
    if [tuple(r) for r in rows] != [(o.edit_id, o.status) for o in session.edit_outcomes]:
        return "its indexed outcomes differ from session.json"
    return None


def check(home: SpecHome | str | os.PathLike[str], *, repair: bool = False) -> list[Finding]:
    """Every disagreement between git, ``session.json`` and the index; with ``repair``
    (call it holding the home's lock), each is fixed by writing the record git implies
    and re-indexing the session from its file. Sessions still running are left alone
    unless ``repair`` (then their process is gone: they are marked failed first)."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    store = SessionStore(spec_home)
    findings: list[Finding] = []
    if repair:
        findings += [Finding("", note, True) for note in store.close_interrupted()]
    edits, reverted = _git_view(spec_home)
    for session_id, session in _sessions(store).items():
        if session.status.value in RUNNING and not repair:
            continue  # a live run's commits run ahead of its record by design
        agreed, problems = _agreed(session, edits.get(session_id, []), reverted)
        for problem in problems:
            findings.append(Finding(session_id, problem, repair))
        if problems and repair:
            store.save(agreed)  # session.json, then the index
            _rewrite_reports(store, agreed)
            continue
        try:
            index_problem = _index_disagrees(store, agreed)
        except CorruptSessionData as exc:
            findings.append(Finding("", exc.message))
            break
        if index_problem is not None:
            findings.append(Finding(session_id, index_problem, repair))
            if repair:
                store.reindex_session(agreed)
    if repair:
        findings += [Finding("", f"removed the stale index row of {sid}", True)
                     for sid in store.drop_orphan_rows()]  # fmt: skip
    return findings


def _rewrite_reports(store: SessionStore, session: LearningSession) -> None:
    with contextlib.suppress(Exception):  # views of session.json, which is saved
        write_reports(store, session, store.load_plan(session.id))


def repair_if_needed(home: SpecHome) -> list[str]:
    """With the home's lock held: recover the journal, then, if a dead operation left its
    marker, make git, session.json and the index agree. Returns what was done."""
    notes = recover(home)
    markers = stale_markers(home)
    if markers or notes:
        notes += [
            f"recovered: session {f.session_id}: {f.detail}" if f.session_id else f.detail
            for f in check(home, repair=True)
        ]
        for marker in markers:
            marker.unlink(missing_ok=True)
    return notes


__all__ = ["Finding", "check", "live_operation", "operation", "repair_if_needed", "stale_markers"]
