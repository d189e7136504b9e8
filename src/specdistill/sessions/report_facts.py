"""The facts of a session's report, computed once for every view of it.

``report.md`` (:mod:`specdistill.sessions.report`), ``report.html``
(:mod:`specdistill.sessions.report_html`) and the CLI's ``show`` render the same
:class:`SessionFacts`: the session's record joined with its plan's edits, each with the
tier and route it was *routed* with (:mod:`specdistill.sessions.routing`, never today's
config), and its benchmark before and after per cluster. Plain data and plain-text
formatting only: escaping belongs to each format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from specdistill.errors import RuntimeFailure
from specdistill.models import Edit, LearningPlan, LearningSession
from specdistill.sessions.routing import Route, SessionRouting, load_routing
from specdistill.sessions.store import SessionStore

#: Said in place of the tiers' provenance when a session predates ``routing.json``.
TIERS_REDERIVED = "re-derived from today's config (this session predates recorded routing)"

#: The separator of a review-queue id: ``<session_id>:<edit_id>``. Session ids are
#: plain names (no ':'), so the first ':' always ends the session id.
QUEUE_SEPARATOR = ":"


def queue_id(session_id: str, edit_id: str) -> str:
    """The review-queue id of an edit: ``<session_id>:<edit_id>``."""
    return f"{session_id}{QUEUE_SEPARATOR}{edit_id}"


@dataclass(frozen=True)
class ClusterRow:
    """One failure cluster's score before and after the session (None: not measured)."""

    cluster: str
    before: float | None
    after: float | None

    @property
    def delta(self) -> float | None:
        if self.before is None or self.after is None:
            return None
        return self.after - self.before


@dataclass(frozen=True)
class EditRow:
    """One edit joined with its outcome (the edit may be missing from a damaged plan)."""

    edit_id: str
    op: str
    tier: str
    status: str
    target_cluster: str
    rationale: str
    benchmark_delta: float | None
    cluster_deltas: dict[str, float]
    error: str | None
    gate_report: str | None
    applied_at: datetime | None
    #: The way execute sent it (None: not recorded, an older session).
    route: Route | None = None


@dataclass(frozen=True)
class SessionFacts:
    """What a report shows, computed once for both formats."""

    session: LearningSession
    clusters: list[ClusterRow]
    edits: list[EditRow]
    queue: list[EditRow] = field(default_factory=list)
    #: False when some edit's tier was re-derived from today's config (no record).
    tiers_recorded: bool = True

    @property
    def duration_seconds(self) -> float | None:
        s = self.session
        return (s.ended_at - s.started_at).total_seconds() if s.ended_at else None


def load_facts(store: SessionStore, session: LearningSession) -> SessionFacts:
    """The facts of a stored session: its plan and the routing it recorded, joined.

    A missing or unreadable plan leaves ops and tiers unknown (``?``) rather than
    failing: the session's own record is still worth showing.
    """
    try:
        plan = store.load_plan(session.id)
    except RuntimeFailure:
        plan = LearningPlan()
    return session_facts(session, plan, load_routing(store, session, plan))


def session_facts(
    session: LearningSession,
    plan: LearningPlan,
    edits: SessionRouting | dict[str, Edit] | None = None,
) -> SessionFacts:
    """Join outcomes with the plan's edits, and scores before with scores after.

    ``edits``: the session's routing (:func:`~specdistill.sessions.routing.load_routing`),
    or the edits by id as they should be shown; default: ``plan``'s edits as written.
    """
    routing = edits if isinstance(edits, SessionRouting) else None
    if isinstance(edits, SessionRouting):
        edits = edits.edits
    edits = edits if edits is not None else {e.id: e for e in plan.edits}
    before = session.benchmark_before.cluster_scores if session.benchmark_before else {}
    after = session.benchmark_after.cluster_scores if session.benchmark_after else {}
    names = list(dict.fromkeys([*before, *after]))
    clusters = [ClusterRow(name, before.get(name), after.get(name)) for name in names]
    rows = []
    for outcome in session.edit_outcomes:
        edit = edits.get(outcome.edit_id)
        rows.append(
            EditRow(
                edit_id=outcome.edit_id,
                op=edit.op.value if edit else "?",
                tier=edit.risk_tier.value if edit else "?",
                status=outcome.status,
                target_cluster=edit.expected_improvement if edit else "",
                rationale=edit.rationale if edit else "",
                benchmark_delta=outcome.benchmark_delta,
                cluster_deltas=dict(outcome.cluster_deltas),
                error=outcome.error,
                gate_report=outcome.gate_report,
                applied_at=outcome.applied_at,
                route=routing.routes.get(outcome.edit_id) if routing else None,
            )
        )
    queue = [row for row in rows if row.status == "pending_review"]
    recorded = routing.recorded if routing else True
    return SessionFacts(session, clusters, rows, queue, tiers_recorded=recorded)


# -- plain-text formatting (shared by the reports and the CLI) ------------------------


def fmt_score(value: float | None) -> str:
    return "–" if value is None else f"{value:.3f}"


def fmt_delta(value: float | None) -> str:
    return "–" if value is None else f"{value:+.3f}"


def fmt_time(value: datetime | None) -> str:
    return "–" if value is None else value.strftime("%Y-%m-%d %H:%M:%S UTC")


def fmt_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m {rest:.1f}s" if minutes else f"{rest:.1f}s"


def fmt_cluster_deltas(deltas: dict[str, float]) -> str:
    """The clusters that moved (``arithmetic +0.700``); ``all +0.000`` when none did."""
    moved = [f"{name} {value:+.3f}" for name, value in deltas.items() if round(value, 3) != 0]
    if not moved and deltas:
        return "all +0.000"
    return ", ".join(moved)


def teacher_lines(session: LearningSession) -> list[str]:
    """What the teacher did (teacher-driven sessions only), one plain-text line each:
    model, calls and clusters kept, then everything dropped with its reason, the notes."""
    teacher = session.trigger_metadata.get("teacher")
    if not isinstance(teacher, dict):
        return []
    clusters = ", ".join(str(c) for c in teacher.get("clusters") or []) or "none"
    rounds = teacher.get("rounds") or 0
    climbed = f", {rounds} hill-climb round(s)" if rounds else ""
    lines = [
        f"model {teacher.get('model')}, {teacher.get('calls', 0)} call(s){climbed}; "
        f"clusters kept: {clusters}"
    ]
    lines += [f"dropped {line}" for line in teacher.get("dropped") or []]
    lines += [
        f"converted {edit_id} (a patch shown whole)" for edit_id in teacher.get("converted") or []
    ]
    lines += [f"note: {note}" for note in teacher.get("notes") or []]
    return lines


__all__ = [
    "QUEUE_SEPARATOR",
    "TIERS_REDERIVED",
    "ClusterRow",
    "EditRow",
    "SessionFacts",
    "fmt_cluster_deltas",
    "fmt_delta",
    "fmt_duration",
    "fmt_score",
    "fmt_time",
    "load_facts",
    "queue_id",
    "session_facts",
    "teacher_lines",
]
