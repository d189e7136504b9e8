"""The session state machine: which status may follow which. Pure, no I/O."""

from __future__ import annotations

from specdistill.errors import InvalidInput
from specdistill.models import LearningSession, SessionStatus, utc_now

S = SessionStatus

#: Allowed transitions. A session given a ready plan skips diagnosing/planning;
#: any unfinished session can fail; only a finished one can be rolled back.
TRANSITIONS: dict[SessionStatus, frozenset[SessionStatus]] = {
    S.INITIATED: frozenset({S.DIAGNOSING, S.PLANNING, S.EXECUTING, S.FAILED}),
    S.DIAGNOSING: frozenset({S.PLANNING, S.FAILED}),
    S.PLANNING: frozenset({S.EXECUTING, S.FAILED}),
    S.EXECUTING: frozenset({S.AWAITING_REVIEW, S.COMPLETED, S.FAILED}),
    S.AWAITING_REVIEW: frozenset({S.COMPLETED, S.ROLLED_BACK, S.FAILED}),
    S.COMPLETED: frozenset({S.ROLLED_BACK}),
    S.FAILED: frozenset(),
    S.ROLLED_BACK: frozenset(),
}

ENDED = frozenset({S.COMPLETED, S.FAILED, S.ROLLED_BACK})
#: Statuses only a live process holds a session in (values, for index queries).
RUNNING = frozenset(s.value for s in (S.INITIATED, S.DIAGNOSING, S.PLANNING, S.EXECUTING))


class IllegalTransition(InvalidInput):
    """A session was asked to move to a status that cannot follow its current one."""

    def __init__(self, session_id: str, current: SessionStatus, requested: SessionStatus) -> None:
        self.session_id = session_id
        self.current = current
        self.requested = requested
        allowed = ", ".join(sorted(s.value for s in TRANSITIONS[current])) or "none"
        super().__init__(
            f"session {session_id}: cannot go from {current.value} to {requested.value} "
            f"(allowed: {allowed})"
        )


def can_transition(current: SessionStatus, requested: SessionStatus) -> bool:
    return requested in TRANSITIONS[current]


def transition(
    session: LearningSession, requested: SessionStatus, *, error: str | None = None
) -> LearningSession:
    """A copy of ``session`` in status ``requested``; raise IllegalTransition if not allowed.

    Entering an ended status stamps ``ended_at``; entering ``failed`` records ``error``.
    """
    requested = SessionStatus(requested)
    if not can_transition(session.status, requested):
        raise IllegalTransition(session.id, session.status, requested)
    update: dict[str, object] = {"status": requested}
    if requested in ENDED:
        update["ended_at"] = utc_now()
    if error is not None:
        update["error"] = error
    return session.model_copy(update=update)
