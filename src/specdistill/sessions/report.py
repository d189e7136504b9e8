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

import contextlib
import html
import re
from dataclasses import replace
from pathlib import Path

from specdistill.models import LearningPlan, LearningSession
from specdistill.sessions.report_facts import (
    DELTA_NOTE,
    GATE_OTHERS_LABEL,
    GATE_TARGET_LABEL,
    QUEUE_SEPARATOR,
    TIERS_REDERIVED,
    ClusterRow,
    EditRow,
    SessionFacts,
    ended_text,
    fmt_cluster_deltas,
    fmt_delta,
    fmt_duration,
    fmt_estimate,
    fmt_score,
    fmt_time,
    load_evidence,
    others_cell,
    queue_id,
    session_facts,
    summarize,
    target_cell,
    teacher_lines,
)
from specdistill.sessions.report_html import render_html
from specdistill.sessions.routing import load_routing, routed_edits
from specdistill.sessions.store import RecordNotWritten, SessionStore

REPORT_MD = "report.md"
REPORT_HTML = "report.html"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|#])")


def md_text(value: object) -> str:
    """Untrusted text as inert inline markdown: no HTML, no table break, one line."""
    text = html.escape(str(value), quote=False)
    text = " ".join(text.split())
    return _MD_SPECIAL.sub(r"\\\1", text)


def md_block(value: str, language: str = "text") -> str:
    """Untrusted multi-line text as a fenced block (a fence longer than any inside it)."""
    longest = max((len(run) for run in re.findall(r"`+", value)), default=0)
    fence = "`" * max(3, longest + 1)
    return f"{fence}{language}\n{value.rstrip()}\n{fence}"


# -- markdown --------------------------------------------------------------------------


def render_markdown(facts: SessionFacts) -> str:
    """The session as markdown (GitHub-flavoured tables)."""
    s = facts.session
    summary = facts.summary or summarize(s)
    lines = [
        f"# Session {md_text(s.id)}",
        "",
        f"**{md_text(summary.counts_line())}**; {md_text(summary.change_line())}",
        "",
    ]
    if facts.evidence_note:
        lines += [f"_{md_text(facts.evidence_note)}_", ""]
    lines += [
        f"- **status:** {s.status.value}" + (f" — {md_text(s.error)}" if s.error else ""),
        f"- **trigger:** {s.trigger.value}",
        f"- **mode:** {s.autonomy_mode.value}",
        f"- **started:** {fmt_time(s.started_at)}",
        f"- **ended:** {md_text(ended_text(s))}",
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
            f"| edit | op | tier | outcome | {GATE_TARGET_LABEL} | {GATE_OTHERS_LABEL} | reason |",
            "|---|---|---|---|---:|---:|---|",
        ]
        for row in facts.edits:
            lines.append(
                f"| {md_text(row.edit_id)} | {row.op} | {row.tier} | {row.status} "
                f"| {target_cell(row)} | {others_cell(row)} "
                f"| {md_text(row.short_reason)} |"
            )
        lines += ["", f"_{DELTA_NOTE}_"]
    else:
        lines.append("No edits.")
    for row in facts.edits:
        lines += ["", *_md_edit(facts, row)]
    lines += ["", "## Review queue", ""]
    if facts.queue:
        for row in facts.queue:
            qid = md_text(queue_id(s.id, row.edit_id))
            lines.append(f"- {qid} ({row.op}, {row.tier} tier)")
            if row.diff:
                lines += ["", md_block(row.diff, "diff"), ""]
        lines += ["", "Inspect with `specdistill review show ID`, then "
                  "`specdistill approve ID` (applied through the gate) or "
                  "`specdistill reject ID --reason TEXT`."]  # fmt: skip
    else:
        lines.append("Nothing waits for review.")
    return "\n".join(lines) + "\n"


def _md_edit(facts: SessionFacts, row: EditRow) -> list[str]:
    """One edit's section: verdict in words, the estimate on every cluster, diff, flips."""
    ev = row.evidence
    lines = [f"### {md_text(row.edit_id)}: {md_text(row.verdict_words)}", ""]
    lines.append(f"{row.op}, {row.tier} tier; target cluster {md_text(row.target_cluster or '–')}")
    if row.rationale:
        lines += ["", f"> {md_text(row.rationale)}"]
    if row.review_words:
        lines += ["", f"**Review:** {md_text(row.review_words)}"]
    if ev is not None and ev.sentences:
        lines += ["", *(f"- {md_text(x)}" for x in ev.sentences)]
    elif row.error:
        lines += ["", f"Why: {md_text(row.error)}"]
    estimates = list(row.cluster_estimates)
    if row.others_estimate is not None:
        estimates.append(row.others_estimate)
    if estimates:
        lines += ["", "| cluster | gate Δ [confidence interval] over n tasks |", "|---|---|"]
        for c in estimates:
            name = "other clusters (pooled)" if c.role == "pooled" else c.cluster
            name += " (target)" if c.role == "target" else ""
            lines.append(f"| {md_text(name)} | {md_text(fmt_estimate(c))} |")
    if row.status == "pending_review":
        lines += ["", f"Waits for review as {md_text(queue_id(facts.session.id, row.edit_id))}."]
    lines += ["", md_block(row.diff, "diff") if row.diff else "No diff recorded."]
    if ev is not None and ev.diff_truncated:
        lines.append("(diff cut: it was longer)")
    if ev is not None and ev.flips:
        lines += ["", "Tasks that flipped (a sample):", ""]
        for f in ev.flips:
            lines.append(
                f"- {md_text(f.task_id)} ({md_text(f.cluster)}): {md_text(f.question)} — "
                f"before {md_text(f.before_answer or '–')} ({fmt_score(f.before_score)}), "
                f"after {md_text(f.after_answer or '–')} ({fmt_score(f.after_score)})"
            )
    if row.gate_report:
        lines += ["", md_block(row.gate_report)]
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
    match ``session.json``. If either cannot be written (RecordNotWritten: disk full,
    read-only), both are removed before the error propagates: no report is left
    describing a state the session has moved past.
    """
    evidence, note = load_evidence(store, session.id)
    facts = session_facts(session, plan, load_routing(store, session, plan), evidence=evidence)
    if note is not None:
        facts = replace(facts, evidence_note=note)
    markdown, html = render_markdown(facts).encode(), render_html(facts).encode()
    try:
        return [
            store.write_file(session.id, REPORT_MD, markdown),
            store.write_file(session.id, REPORT_HTML, html),
        ]
    except RecordNotWritten as exc:
        for name in (REPORT_MD, REPORT_HTML):
            with contextlib.suppress(OSError):
                (store.session_dir(session.id) / name).unlink(missing_ok=True)
        exc.hint = (
            f"free disk space (or fix the permissions under learning/); the session itself is "
            f"recorded ('specdistill show {session.id}'), its reports are rewritten when it "
            "next changes"
        )
        raise


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
