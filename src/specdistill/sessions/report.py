"""A session's report: ``report.md`` and a self-contained ``report.html``.

Both are rendered from the same facts (:mod:`specdistill.sessions.report_facts`): the
session's status, trigger, mode and timings, its checkpoints, the teacher's cost, the
benchmark before and after per cluster, every edit's outcome (op, the tier it was
routed with, deltas, reason, gate report) and the review queue. ``session.json`` stays
the authoritative record; a report is a view of it, rewritten whenever the session
changes (:func:`write_reports`).

Everything the teacher wrote (edit ids, rationales, references) is untrusted: the
markdown escapes HTML and table syntax, the HTML escapes every text and attribute
(see :mod:`specdistill.sessions.report_html`).
"""

from __future__ import annotations

import html
import re
from pathlib import Path

from specdistill.models import LearningPlan, LearningSession
from specdistill.sessions.report_facts import (
    QUEUE_SEPARATOR,
    TIERS_REDERIVED,
    ClusterRow,
    EditRow,
    SessionFacts,
    fmt_cluster_deltas,
    fmt_delta,
    fmt_duration,
    fmt_score,
    fmt_time,
    queue_id,
    session_facts,
    teacher_lines,
)
from specdistill.sessions.report_html import render_html
from specdistill.sessions.routing import load_routing, routed_edits
from specdistill.sessions.store import SessionStore

REPORT_MD = "report.md"
REPORT_HTML = "report.html"


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
    if not facts.tiers_recorded:
        lines.append(f"- **tiers:** {TIERS_REDERIVED}")
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
    facts = session_facts(session, plan, load_routing(store, session, plan))
    return [
        store.write_file(session.id, REPORT_MD, render_markdown(facts).encode()),
        store.write_file(session.id, REPORT_HTML, render_html(facts).encode()),
    ]


# The facts' names stay importable from here for the CLI, which imported them from this
# module before report_facts existed; new code imports them from report_facts.
__all__ = [
    "QUEUE_SEPARATOR",
    "REPORT_HTML",
    "REPORT_MD",
    "ClusterRow",
    "EditRow",
    "SessionFacts",
    "fmt_cluster_deltas",
    "fmt_delta",
    "fmt_duration",
    "fmt_score",
    "fmt_time",
    "md_block",
    "md_text",
    "queue_id",
    "render_markdown",
    "routed_edits",
    "session_facts",
    "teacher_lines",
    "write_reports",
]
