"""The facts of a session's report, computed once for every view of it.

``report.md`` (:mod:`specdistill.sessions.report`), ``report.html``
(:mod:`specdistill.sessions.report_html`) and the CLI's ``show`` render the same
:class:`SessionFacts`: the session's record joined with its plan's edits, each with the
tier and route it was *routed* with (:mod:`specdistill.sessions.routing`, never today's
config), and its benchmark before and after per cluster. Plain data and plain-text
formatting only: escaping belongs to each format.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

from specdistill.errors import RuntimeFailure
from specdistill.models import Edit, LearningPlan, LearningSession, SessionStatus
from specdistill.sessions.evidence import (
    ClusterEvidence,
    EditEvidence,
    EvidenceRecord,
    OverallChange,
    read_evidence,
)
from specdistill.sessions.routing import Route, SessionRouting, load_routing
from specdistill.sessions.store import CorruptSessionData, SessionStore

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
    #: Its diff and what the gate saw (None: not recorded, an older session).
    evidence: EditEvidence | None = None

    @property
    def diff(self) -> str:
        return self.evidence.diff if self.evidence else ""

    @property
    def target_estimate(self) -> ClusterEvidence | None:
        """The gate's estimate on the edit's target cluster (the tasks it ran there)."""
        if self.evidence is None:
            return None
        return next((c for c in self.evidence.clusters if c.role == "target"), None)

    @property
    def others_estimate(self) -> ClusterEvidence | None:
        """The gate's estimate on the other clusters, pooled (None: none measured)."""
        return self.evidence.pooled if self.evidence else None

    @property
    def cluster_estimates(self) -> list[ClusterEvidence]:
        """The gate's estimate on every cluster (target first), pooled one apart."""
        if self.evidence is None:
            return []
        return [c for c in self.evidence.clusters if c.role != "pooled"]

    @property
    def short_reason(self) -> str:
        """The deciding rule alone, for a table cell: the gate's sentences that follow it
        in ``error`` are shown in the edit's own section (when recorded)."""
        if not self.error:
            return ""
        if self.evidence is not None and self.evidence.sentences:
            return self.error.split(". ", 1)[0]
        return self.error

    @property
    def verdict_words(self) -> str:
        """What happened to the edit, in plain words (one line)."""
        words = OUTCOME_WORDS.get(self.status, self.status)
        if self.evidence is not None and self.evidence.verdict == "inconclusive":
            words += " (inconclusive: the gate could not tell)"
        return words

    @property
    def review_words(self) -> str | None:
        """A person's decision on the queued edit, in plain words (None: not reviewed)."""
        ev = self.evidence
        if ev is None or ev.review is None:
            return None
        if ev.review == "rejected":
            return f"Rejected in review: {ev.review_note or '(no reason given)'}"
        if ev.verdict is None:
            return "Approved in review; the gate did not run on it."
        return (
            "Approved in review and run through the gate again: the verdict, estimates, "
            "diff and flipped tasks shown are that run's."
        )


#: Outcome statuses in plain words: what happened to the spec.
OUTCOME_WORDS = {
    "applied": "kept",
    "rejected_by_gate": "rejected by the gate (the spec is unchanged)",
    "pending_review": "waiting for your review",
    "rejected_by_user": "rejected by you",
    "rolled_back": "kept, then undone by a rollback",
    "skipped": "skipped (never applied)",
}


@dataclass(frozen=True)
class SessionSummary:
    """The counts and the overall change a report opens with."""

    kept: int
    rejected: int
    waiting: int
    skipped: int
    rolled_back: int
    before: float | None
    after: float | None
    overall: OverallChange | None
    session_rolled_back: bool = False

    @property
    def delta(self) -> float | None:
        if self.overall is not None:
            return self.overall.delta
        if self.before is None or self.after is None:
            return None
        return self.after - self.before

    def counts_line(self) -> str:
        """``2 kept, 3 rejected, 2 waiting for review, 1 skipped`` (and rolled back)."""
        parts = [f"{self.kept} kept", f"{self.rejected} rejected"]
        parts.append(f"{self.waiting} waiting for review")
        parts.append(f"{self.skipped} skipped")
        if self.rolled_back:
            parts.append(f"{self.rolled_back} rolled back")
        return ", ".join(parts)

    def change_line(self) -> str:
        """``overall 0.388 → 0.750 (+0.362, 95% CI +0.270 to +0.455, 80 tasks)``."""
        if self.before is None:
            return "overall: not measured"
        if self.after is None:
            return f"overall {fmt_score(self.before)} → – (no score after)"
        line = (
            f"overall {fmt_score(self.before)} → {fmt_score(self.after)} ({fmt_delta(self.delta)}"
        )
        o = self.overall
        if o is not None and o.ci_low is not None and o.ci_high is not None:
            line += (
                f", {round(o.level * 100)}% CI {fmt_delta(o.ci_low)} to {fmt_delta(o.ci_high)}"
                f", {o.n} tasks"
            )
        line += ")"
        if self.session_rolled_back:
            line += "; the session was rolled back: the spec is as it was before it"
        return line

    def line(self) -> str:
        return f"{self.counts_line()}; {self.change_line()}"


def summarize(session: LearningSession, overall: OverallChange | None = None) -> SessionSummary:
    """The summary of ``session`` (one place computes these counts and the change)."""
    statuses = [o.status for o in session.edit_outcomes]
    before, after = session.benchmark_before, session.benchmark_after
    return SessionSummary(
        kept=statuses.count("applied"),
        rejected=statuses.count("rejected_by_gate") + statuses.count("rejected_by_user"),
        waiting=statuses.count("pending_review"),
        skipped=statuses.count("skipped"),
        rolled_back=statuses.count("rolled_back"),
        before=before.overall_score if before else None,
        after=after.overall_score if after else None,
        overall=overall,
        session_rolled_back=session.status is SessionStatus.ROLLED_BACK,
    )


def overall_text(session: LearningSession) -> str:
    """``0.388 → 0.750`` (``…, rolled back`` once the session was undone)."""
    before, after = session.benchmark_before, session.benchmark_after
    text = (
        f"{fmt_score(before.overall_score if before else None)} → "
        f"{fmt_score(after.overall_score if after else None)}"
    )
    if session.status is SessionStatus.ROLLED_BACK:
        text += ", rolled back"
    return text


def ended_text(session: LearningSession) -> str:
    """When the session ended, and how long it took; or why it has not ended."""
    if session.ended_at is None:
        if session.status is SessionStatus.AWAITING_REVIEW:
            return "not yet: edits wait for review"
        return f"not yet ({session.status.value})"
    took = fmt_duration((session.ended_at - session.started_at).total_seconds())
    return f"{fmt_time(session.ended_at)} (took {took})"


@dataclass(frozen=True)
class SessionFacts:
    """What a report shows, computed once for both formats."""

    session: LearningSession
    clusters: list[ClusterRow]
    edits: list[EditRow]
    queue: list[EditRow] = field(default_factory=list)
    #: False when some edit's tier was re-derived from today's config (no record).
    tiers_recorded: bool = True
    #: The counts and overall change the reports open with.
    summary: SessionSummary | None = None
    #: Why the evidence (diffs, estimates) is missing, when it is.
    evidence_note: str | None = None

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
    evidence, note = load_evidence(store, session.id)
    facts = session_facts(session, plan, load_routing(store, session, plan), evidence=evidence)
    return facts if note is None else replace(facts, evidence_note=note)


def load_evidence(store: SessionStore, session_id: str) -> tuple[EvidenceRecord | None, str | None]:
    """The session's evidence, or None and why (an older session, a corrupt file)."""
    try:
        record = read_evidence(store, session_id)
    except CorruptSessionData as exc:
        return None, exc.message
    if record is None:
        return None, "this session has no recorded evidence (diffs, per-cluster estimates)"
    return record, None


def session_facts(
    session: LearningSession,
    plan: LearningPlan,
    edits: SessionRouting | dict[str, Edit] | None = None,
    *,
    evidence: EvidenceRecord | None = None,
) -> SessionFacts:
    """Join outcomes with the plan's edits, and scores before with scores after.

    ``edits``: the session's routing (:func:`~specdistill.sessions.routing.load_routing`),
    or the edits by id as they should be shown; default: ``plan``'s edits as written.
    ``evidence``: the session's recorded diffs and gate estimates, if any.
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
                target_cluster=edit.gate_cluster if edit else "",
                rationale=edit.rationale if edit else "",
                benchmark_delta=outcome.benchmark_delta,
                cluster_deltas=dict(outcome.cluster_deltas),
                error=outcome.error,
                gate_report=outcome.gate_report,
                applied_at=outcome.applied_at,
                route=routing.routes.get(outcome.edit_id) if routing else None,
                evidence=evidence.for_edit(outcome.edit_id) if evidence else None,
            )
        )
    queue = [row for row in rows if row.status == "pending_review"]
    recorded = routing.recorded if routing else True
    summary = summarize(session, evidence.overall if evidence else None)
    return SessionFacts(session, clusters, rows, queue, tiers_recorded=recorded, summary=summary)


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


def fmt_interval(low: float | None, high: float | None) -> str:
    """``[+0.100, +0.900]`` (``–`` when not computed)."""
    if low is None or high is None:
        return "–"
    return f"[{low:+.3f}, {high:+.3f}]"


def fmt_estimate(c: ClusterEvidence | None) -> str:
    """``+0.800 [95%: +0.210, +1.000] over 5 tasks``: a gate estimate with its confidence
    sequence (its level is the gate's: 1 - alpha for the target and the pool)."""
    if c is None:
        return "–"
    if not c.affected:
        return f"unchanged ({c.unchanged} tasks not run)"
    if c.mean_delta is None:
        return f"no scored task ({c.errors} errored)" if c.errors else "no task run"
    text = fmt_delta(c.mean_delta)
    if c.ci_low is not None and c.ci_high is not None:
        text += f" [{round(c.level * 100)}%: {c.ci_low:+.3f}, {c.ci_high:+.3f}]"
    text += f" over {c.n} task{'s' if c.n != 1 else ''}"
    if c.errors:
        text += f", {c.errors} errored"
    return text


#: Column labels of the gate's numbers: the mean change on the tasks the gate ran for one
#: edit (against the spec as it stood), not the session's before/after on the benchmark.
GATE_TARGET_LABEL = "gate Δ target"
GATE_OTHERS_LABEL = "gate Δ others"
#: Said under tables that show both kinds of delta.
DELTA_NOTE = (
    "gate Δ: mean change on the tasks the gate ran for that edit (n tasks; others pooled); "
    "the benchmark table's Δ: the whole benchmark after the session minus before"
)


def target_cell(row: EditRow) -> str:
    """``+0.800 (n=5)``: the gate's mean delta on the target, over the tasks it ran."""
    est = row.target_estimate
    if est is None or est.mean_delta is None:
        return fmt_delta(row.benchmark_delta)
    return f"{fmt_delta(est.mean_delta)} (n={est.n})"


def others_cell(row: EditRow) -> str:
    """``-0.714 (n=7)``: the gate's pooled mean delta on the other clusters."""
    est = row.others_estimate
    if est is None:
        return "–"
    if not est.affected:
        return "unchanged"
    if est.mean_delta is None:
        return "–"
    return f"{fmt_delta(est.mean_delta)} (n={est.n})"


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
    "DELTA_NOTE",
    "GATE_OTHERS_LABEL",
    "GATE_TARGET_LABEL",
    "OUTCOME_WORDS",
    "QUEUE_SEPARATOR",
    "TIERS_REDERIVED",
    "ClusterRow",
    "EditRow",
    "SessionFacts",
    "SessionSummary",
    "ended_text",
    "fmt_cluster_deltas",
    "fmt_delta",
    "fmt_duration",
    "fmt_estimate",
    "fmt_interval",
    "fmt_score",
    "fmt_time",
    "load_evidence",
    "load_facts",
    "others_cell",
    "overall_text",
    "queue_id",
    "session_facts",
    "summarize",
    "target_cell",
    "teacher_lines",
]
