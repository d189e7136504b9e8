"""A session's report: ``report.md`` and a self-contained ``report.html``.

Both are rendered from the same facts (:func:`session_facts`): the session's status,
trigger, mode and timings, its checkpoints, the teacher's cost, the benchmark before
and after per cluster, every edit's outcome (op, tier, deltas, reason, gate report)
and the review queue. ``session.json`` stays the authoritative record; a report is
a view of it, rewritten whenever the session changes (:func:`write_reports`).

Everything the teacher wrote (edit ids, rationales, references) is untrusted: the
markdown escapes HTML and table syntax, the HTML escapes every text and attribute
(see :mod:`specdistill.sessions.report_html`).
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from specdistill.context import ApplyContext
from specdistill.errors import ConfigError
from specdistill.models import Edit, LearningPlan, LearningSession
from specdistill.sessions.store import SessionStore
from specdistill.tiers import assign_tiers

REPORT_MD = "report.md"
REPORT_HTML = "report.html"

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


@dataclass(frozen=True)
class SessionFacts:
    """What a report shows, computed once for both formats."""

    session: LearningSession
    clusters: list[ClusterRow]
    edits: list[EditRow]
    queue: list[EditRow] = field(default_factory=list)

    @property
    def duration_seconds(self) -> float | None:
        s = self.session
        return (s.ended_at - s.started_at).total_seconds() if s.ended_at else None


def routed_edits(plan: LearningPlan, store: SessionStore) -> dict[str, Edit]:
    """The plan's edits with the tiers specdistill routes by (the teacher's are ignored).

    The home's tier overrides apply; an unreadable config falls back to the defaults
    (a report must still be writable when config.toml is broken).
    """
    try:
        overrides = ApplyContext(home=store.home.root).tier_overrides()
    except ConfigError:
        overrides = {}
    return {edit.id: edit for edit in assign_tiers(plan.edits, overrides)}


def session_facts(
    session: LearningSession, plan: LearningPlan, edits: dict[str, Edit] | None = None
) -> SessionFacts:
    """Join outcomes with the plan's edits, and scores before with scores after."""
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
            )
        )
    queue = [row for row in rows if row.status == "pending_review"]
    return SessionFacts(session, clusters, rows, queue)


# -- formatting helpers (shared with the CLI) ----------------------------------------


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


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def md_text(value: object) -> str:
    """Untrusted text as inert inline markdown: no HTML, no table break, one line."""
    text = html.escape(str(value), quote=False)
    text = " ".join(text.split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_block(value: str) -> str:
    """Untrusted multi-line text as a fenced block (a fence longer than any inside it)."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}text\n{value.rstrip()}\n{fence}"


# -- markdown --------------------------------------------------------------------------


def render_markdown(facts: SessionFacts) -> str:
    """The session as markdown (GitHub-flavoured tables)."""
    s = facts.session
    lines = [
        f"# Session {md_text(s.id)}",
        "",
        f"- **status:** {s.status.value}" + (f" — {md_text(s.error)}" if s.error else ""),
        f"- **trigger:** {s.trigger.value}",
        f"- **mode:** {s.autonomy_mode.value}",
        f"- **started:** {fmt_time(s.started_at)}",
        f"- **ended:** {fmt_time(s.ended_at)} (took {fmt_duration(facts.duration_seconds)})",
        f"- **checkpoint before:** {md_text(s.git_checkpoint_pre or '–')}",
        f"- **checkpoint after:** {md_text(s.git_checkpoint_post or '–')}",
        f"- **teacher cost:** ${s.teacher_cost_usd:.4f}",
    ]
    if s.parent_session_id:
        lines.append(f"- **parent session:** {md_text(s.parent_session_id)}")
    lines += _md_teacher(s)
    lines += ["", "## Benchmark", ""]
    lines += _md_benchmark(facts)
    lines += ["", "## Edits", ""]
    if facts.edits:
        lines += [
            "| edit | op | tier | outcome | Δ target | Δ per cluster | reason |",
            "|---|---|---|---|---:|---|---|",
        ]
        for row in facts.edits:
            lines.append(
                f"| {md_text(row.edit_id)} | {row.op} | {row.tier} | {row.status} "
                f"| {fmt_delta(row.benchmark_delta)} "
                f"| {md_text(fmt_cluster_deltas(row.cluster_deltas))} "
                f"| {md_text(row.error or '')} |"
            )
    else:
        lines.append("No edits.")
    for row in facts.edits:
        if row.rationale or row.gate_report:
            lines += ["", f"### {md_text(row.edit_id)}", ""]
            if row.rationale:
                lines += [f"> {md_text(row.rationale)}", ""]
            if row.gate_report:
                lines += [md_block(row.gate_report)]
    lines += ["", "## Review queue", ""]
    if facts.queue:
        for row in facts.queue:
            qid = md_text(queue_id(s.id, row.edit_id))
            lines.append(f"- {qid} ({row.op}, {row.tier} tier)")
        lines += ["", "Inspect with `specdistill review show ID`, then "
                  "`specdistill approve ID` (applied through the gate) or "
                  "`specdistill reject ID --reason TEXT`."]  # fmt: skip
    else:
        lines.append("Nothing waits for review.")
    return "\n".join(lines) + "\n"


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


def _md_teacher(session: LearningSession) -> list[str]:
    lines = teacher_lines(session)
    if not lines:
        return []
    return ["", "## Teacher", "", *(f"- {md_text(line)}" for line in lines)]


def _md_benchmark(facts: SessionFacts) -> list[str]:
    s = facts.session
    if not facts.clusters:
        return ["Not measured."]
    lines = []
    for label, snap in (("before", s.benchmark_before), ("after", s.benchmark_after)):
        if snap is not None:
            lines.append(
                f"- {label}: overall {snap.overall_score:.3f} over {snap.task_count} tasks "
                f"({snap.error_count} errors, {snap.elapsed_seconds:.1f}s; "
                f"benchmark {md_text(snap.benchmark_version[:19])})"
            )
    lines += ["", "| cluster | before | after | Δ |", "|---|---:|---:|---:|"]
    for c in facts.clusters:
        lines.append(
            f"| {md_text(c.cluster)} | {fmt_score(c.before)} | {fmt_score(c.after)} "
            f"| {fmt_delta(c.delta)} |"
        )
    return lines


# -- writing -----------------------------------------------------------------------------


def write_reports(store: SessionStore, session: LearningSession, plan: LearningPlan) -> list[Path]:
    """Write ``report.md`` and ``report.html`` into the session's directory; return both paths.

    Called at the end of a run and after every approve/reject, so the reports always
    match ``session.json``.
    """
    from specdistill.sessions.report_html import render_html

    facts = session_facts(session, plan, routed_edits(plan, store))
    return [
        store.write_file(session.id, REPORT_MD, render_markdown(facts).encode()),
        store.write_file(session.id, REPORT_HTML, render_html(facts).encode()),
    ]


__all__ = [
    "REPORT_HTML",
    "REPORT_MD",
    "ClusterRow",
    "EditRow",
    "SessionFacts",
    "queue_id",
    "render_markdown",
    "routed_edits",
    "session_facts",
    "teacher_lines",
    "write_reports",
]
