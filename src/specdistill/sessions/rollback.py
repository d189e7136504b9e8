"""Roll back a session: its commits reverted (checkpoint layer), its record updated.

Both happen under the home's lock, the record read *before* anything is reverted (a
corrupt ``session.json`` stops the rollback with nothing changed). The session is then
marked ``rolled_back``, each reverted edit's outcome too, and its reports rewritten, so
``history``/``show`` tell the same story as ``git log``. Sessions made by
``specdistill apply`` have no record; their rollback is the git side alone. A recorded
session that committed nothing (all its edits queued or rejected) is simply closed.
"""

from __future__ import annotations

import os

from specdistill.checkpoint import RollbackReport
from specdistill.checkpoint.rollback import last_session, new_rollback_id, revert_session
from specdistill.checkpoint.run import Notify, checkpointed_run
from specdistill.checkpoint.store import CheckpointStore
from specdistill.errors import InvalidInput
from specdistill.home import SpecHome
from specdistill.models import LearningSession, SessionStatus
from specdistill.sessions.lifecycle import can_transition, transition
from specdistill.sessions.report import write_reports
from specdistill.sessions.store import RecordNotWritten, SessionStore


def rollback_learning_session(
    home: str | os.PathLike[str],
    session_id: str | None,
    *,
    last: bool = False,
    allow_dirty: bool = False,
    notify: Notify | None = None,
) -> RollbackReport:
    """Revert ``session_id`` (or the newest session) and record it in the session."""
    if (session_id is None) == (not last):
        raise TypeError("pass either a session id or last=True")
    spec_home = SpecHome(home)
    with checkpointed_run(
        spec_home, command="rollback", allow_dirty=allow_dirty, notify=notify
    ) as run:
        target = session_id if session_id is not None else last_session(run.store)
        store = SessionStore(spec_home)
        session = store.load(target) if store.session_dir(target).is_dir() else None
        if session is not None and session.status is SessionStatus.ROLLED_BACK:
            raise InvalidInput(
                f"session {target} is already rolled back",
                hint="'specdistill history' lists the sessions; 'specdistill log' the "
                "commits that undid it",
            )
        committed = any(
            entry.kind == "edit" and entry.session_id == target for entry in run.store.log()
        )
        if session is not None and not committed:
            report = RollbackReport(session_id=target, rollback_id=new_rollback_id())
        elif session is not None and _reverted_unrecorded(run.store, session):
            # A rollback killed after its commit, before its record: record it now.
            report = RollbackReport(session_id=target, rollback_id=new_rollback_id())
            report.reverted = [
                e for e in run.store.log() if e.kind == "edit" and e.session_id == target
            ]
            run.notes.append(f"recovered: session {target} was rolled back in git; recorded it")
        else:
            report = revert_session(run.store, target)
        report.notes = run.notes
        if session is not None:
            _record_rollback(store, session, report)
        return report


def _reverted_unrecorded(checkpoints: CheckpointStore, session: LearningSession) -> bool:
    """Every edit commit of ``session`` is reverted, but its record does not say so."""
    entries = checkpoints.log()
    reverted = {e.reverts_commit for e in entries if e.kind == "revert"}
    ours = [e for e in entries if e.kind == "edit" and e.session_id == session.id]
    if not ours or any(e.commit not in reverted for e in ours):
        return False
    edit_ids = {e.edit_id for e in ours}
    unrecorded = any(o.edit_id in edit_ids and o.status == "applied" for o in session.edit_outcomes)
    return unrecorded or can_transition(session.status, SessionStatus.ROLLED_BACK)


def _record_rollback(store: SessionStore, session: LearningSession, report: RollbackReport) -> None:
    reverted = {entry.edit_id for entry in report.reverted}
    outcomes = [
        o.model_copy(update={"status": "rolled_back"}) if o.edit_id in reverted else o
        for o in session.edit_outcomes
    ]
    session = session.model_copy(update={"edit_outcomes": outcomes})
    if can_transition(session.status, SessionStatus.ROLLED_BACK):
        session = transition(session, SessionStatus.ROLLED_BACK)
    store.save(session)
    try:
        write_reports(store, session, store.load_plan(session.id))
    except RecordNotWritten:  # a record not written fails the command, reports included
        raise
    except Exception as exc:  # the rollback itself is done and recorded
        report.notes.append(f"warning: the session's reports were not rewritten ({exc})")
