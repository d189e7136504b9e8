"""Roll back a session: its commits reverted (checkpoint layer), its record updated.

The git side (:func:`specdistill.checkpoint.rollback_session`) writes the revert
commits; this layer then marks the session ``rolled_back`` and each reverted edit's
outcome ``rolled_back``, and rewrites the session's reports, so ``history``/``show``
tell the same story as ``git log``. Sessions made by ``specdistill apply`` have no
record; their rollback is the git side alone.
"""

from __future__ import annotations

import os

from specdistill.checkpoint import RollbackReport, rollback_session
from specdistill.checkpoint.run import Notify
from specdistill.home import SpecHome
from specdistill.models import SessionStatus
from specdistill.sessions.lifecycle import can_transition, transition
from specdistill.sessions.store import SessionStore


def rollback_learning_session(
    home: str | os.PathLike[str],
    session_id: str | None,
    *,
    last: bool = False,
    allow_dirty: bool = False,
    notify: Notify | None = None,
) -> RollbackReport:
    """Revert ``session_id`` (or the newest session) and record it in the session."""
    report = rollback_session(home, session_id, last=last, allow_dirty=allow_dirty, notify=notify)
    store = SessionStore(SpecHome(home))
    if report.session_id not in store.session_ids_on_disk():
        return report
    session = store.load(report.session_id)
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
        from specdistill.sessions.report import write_reports

        write_reports(store, session, store.load_plan(session.id))
    except Exception as exc:  # the rollback itself is done and recorded
        report.notes.append(f"warning: the session's reports were not rewritten ({exc})")
    return report
