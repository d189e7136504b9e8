"""Rendering sessions and their outcomes with rich: the tables and lines that ``apply``,
``run``, ``quickstart``, ``approve``/``reject`` and ``show`` print.

Everything here takes a library result and prints it; nothing reads the home.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from specdistill.cli.app import err, out
from specdistill.cli.invocation import prog
from specdistill.diffpatch import diff_line_kind

if TYPE_CHECKING:
    from specdistill.apply import ApplyReport
    from specdistill.commands import SessionRun, SessionView
    from specdistill.models import Edit, LearningSession
    from specdistill.sessions.report_facts import SessionFacts
    from specdistill.sessions.review import Resolution

STATUS_STYLE = {
    "applied": "green",
    "rejected_by_gate": "red",
    "pending_review": "yellow",
    "rejected_by_user": "red",
    "rolled_back": "magenta",
    "skipped": "dim",
}

SESSION_STYLE = {
    "completed": "green",
    "awaiting_review": "yellow",
    "failed": "red",
    "rolled_back": "magenta",
}


def print_table(table: Table, console: Console | None = None) -> None:
    """Print ``table`` if it fits the console's width without splitting a word of any
    cell (an id, a number, a status); otherwise as a list, one ``column: value`` line
    each, which never wraps (piped output stays greppable)."""
    console = console or out
    if _fits(table, console.width):
        console.print(table)
        return
    if table.title:
        console.print(table.title, soft_wrap=True)
    headers = [str(c.header) for c in table.columns]
    rows = zip(*(list(c.cells) for c in table.columns), strict=True)
    for row in rows:
        for i, (header, cell) in enumerate(zip(headers, row, strict=True)):
            lead = "- " if i == 0 else "  "
            text = cell if isinstance(cell, str) else str(cell)
            console.print(f"{lead}{escape(header)}: {text}", soft_wrap=True)


def _fits(table: Table, width: int) -> bool:
    """True when ``table`` renders at ``width`` with every word of every cell whole."""
    probe = Console(file=io.StringIO(), width=width, no_color=True, highlight=False)
    probe.print(table)
    lines = probe.file.getvalue().splitlines()  # type: ignore[attr-defined]
    if any(len(line) > width for line in lines):
        return False
    for column in table.columns:
        for cell in column.cells:
            plain = Text.from_markup(cell).plain if isinstance(cell, str) else str(cell)
            for word in plain.split():
                if not any(word in line for line in lines):
                    return False
    return True


def styled(status: str) -> str:
    """An outcome or session status, coloured (plain when it has no colour)."""
    style = STATUS_STYLE.get(status) or SESSION_STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


DIFF_STYLE = {"file": "bold", "hunk": "cyan", "add": "green", "del": "red", "ctx": ""}


def print_diff(diff: str) -> None:
    """A unified diff, coloured by line kind; long lines wrap rather than crop."""
    for line in diff.splitlines():
        style = DIFF_STYLE[diff_line_kind(line)]
        out.print(line, style=style, markup=False, soft_wrap=True)


def render_apply_report(report: ApplyReport) -> None:
    """The outcome table of ``apply``, then each gate report and each applied edit's diff."""
    title = "Dry run: nothing was written" if report.dry_run else f"Applied to {report.home}"
    table = Table(title=title, title_justify="left")
    table.add_column("edit", overflow="fold")
    table.add_column("op", overflow="fold")
    table.add_column("tier", no_wrap=True)
    table.add_column("status", no_wrap=True)
    gated = any(o.gate_report for o in report.outcomes)
    if gated:
        table.add_column("Δ target", no_wrap=True, justify="right")
    table.add_column("reason", overflow="fold", min_width=24)
    for edit, outcome in zip(report.edits, report.outcomes, strict=True):
        status: str = outcome.status
        if report.dry_run and status == "applied":
            status = "would apply"
        style = STATUS_STYLE.get(outcome.status, "")
        delta = outcome.benchmark_delta
        cells = [escape(edit.id), edit.op.value, edit.risk_tier.value, f"[{style}]{status}[/]"]
        if gated:
            cells.append("" if delta is None else f"{delta:+.3f}")
        table.add_row(*cells, escape(outcome.error or ""))
    print_table(table)
    for edit, outcome in zip(report.edits, report.outcomes, strict=True):
        if outcome.gate_report:
            out.print(f"[bold]gate on {escape(edit.id)}[/]")
            out.print(outcome.gate_report, markup=False, highlight=False, soft_wrap=True)
    for edit_id, diff in report.diffs.items():
        if not diff:
            out.print(f"[bold]{escape(edit_id)}[/]: no change (already as proposed)")
            continue
        out.print(f"[bold]{escape(edit_id)}[/]")
        print_diff(diff)


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def render_benchmark(session: LearningSession) -> None:
    """Per-cluster scores before and after the session."""
    before, after = session.benchmark_before, session.benchmark_after
    if before is None:
        return
    table = Table(title="benchmark (mean score per cluster)", title_justify="left")
    for column in ("cluster", "before", "after", "Δ"):
        table.add_column(column, justify="left" if column == "cluster" else "right")
    rows = [(name, score) for name, score in before.cluster_scores.items()]
    rows.append(("(overall)", before.overall_score))
    for name, score in rows:
        if after is None:
            new = None
        elif name == "(overall)":
            new = after.overall_score
        else:
            new = after.cluster_scores.get(name)
        delta = None if new is None else new - score
        style = "green" if delta and delta > 0 else "red" if delta and delta < 0 else ""
        shown = f"[{style}]{_fmt(delta, True)}[/]" if style else _fmt(delta, True)
        table.add_row(escape(name), _fmt(score), _fmt(new), shown)
    print_table(table)


def render_outcomes(session: LearningSession, edits: dict[str, Edit],
                    facts: SessionFacts | None = None) -> None:  # fmt: skip
    """One row per edit: its op, tier, target cluster, status and the gate's deltas (the
    reports' numbers: :func:`~specdistill.sessions.report_facts.target_cell`)."""
    from specdistill.models import LearningPlan
    from specdistill.sessions.report_facts import (
        DELTA_NOTE,
        GATE_OTHERS_LABEL,
        GATE_TARGET_LABEL,
        others_cell,
        session_facts,
        target_cell,
    )

    facts = facts or session_facts(session, LearningPlan(), edits)
    table = Table(title="edits", title_justify="left")
    columns = ("edit", "op", "tier", "target", "status", GATE_TARGET_LABEL, GATE_OTHERS_LABEL)
    for column in columns:
        table.add_column(column, justify="right" if column.startswith("gate") else "left")
    reasons = []
    for row in facts.edits:
        style = STATUS_STYLE.get(row.status, "")
        table.add_row(
            escape(row.edit_id),
            row.op,
            row.tier,
            escape(row.target_cluster),
            f"[{style}]{row.status}[/]",
            target_cell(row),
            others_cell(row),
        )
        if row.error:
            reasons.append((row.edit_id, row.error))
    print_table(table)
    out.print(f"[dim]{escape(DELTA_NOTE)}[/]", soft_wrap=True)
    for edit_id, reason in reasons:
        out.print(f"  [bold]{escape(edit_id)}[/]: {escape(reason)}", soft_wrap=True)


def render_session(run: SessionRun, *, undo_hint: bool = True) -> None:
    """The session's benchmark, outcomes, where its report is and how to undo it."""
    from specdistill.sessions.report_facts import summarize

    session, home = run.session, run.home
    render_benchmark(session)
    render_outcomes(session, run.edits, run.facts)
    sid = escape(session.id)
    summary = run.facts.summary if run.facts and run.facts.summary else summarize(session)
    applied = summary.kept
    out.print(f"session {sid}: {session.status.value}; {escape(summary.line())}", soft_wrap=True)
    if run.report is not None:
        out.print(f"report: {escape(str(run.report))} (and report.html beside it)", soft_wrap=True)
    if session.error:
        err.print(f"[yellow]{escape(session.error)}[/]", soft_wrap=True)
    if applied and undo_hint:
        undo = f"{escape(prog())} rollback {sid} --home {escape(str(home))}"
        out.print(f"undo the session: {undo}", soft_wrap=True)


def render_teacher(session: LearningSession) -> None:
    """What the teacher cost and what it proposed that was dropped, with the reasons."""
    from specdistill.sessions.teacher_log import teacher_summary

    summary = teacher_summary(session.trigger_metadata)
    if summary is None:
        return
    rounds = summary.get("rounds") or 0
    out.print(
        f"teacher {escape(str(summary.get('model')))}: {summary.get('calls', 0)} call(s), "
        + (f"{rounds} round(s), " if rounds else "")
        + f"${session.teacher_cost_usd:.4f}; clusters kept: "
        f"{escape(', '.join(summary.get('clusters') or [])) or 'none'}",
        soft_wrap=True,
    )
    for line in summary.get("dropped") or []:
        out.print(f"  dropped {escape(str(line))}", soft_wrap=True)
    for edit_id in summary.get("converted") or []:
        out.print(f"  {escape(str(edit_id))}: patch shown whole as a replace", soft_wrap=True)
    for note in summary.get("notes") or []:
        out.print(f"  note: {escape(str(note))}", soft_wrap=True)


def session_line(index: int, session: LearningSession) -> str:
    """One line per loop session: status, score before -> after, edits, teacher cost."""
    before, after = session.benchmark_before, session.benchmark_after
    score = "score –"
    if before is not None:
        end = after.overall_score if after is not None else before.overall_score
        score = f"score {before.overall_score:.3f} -> {end:.3f} ({end - before.overall_score:+.3f})"
    applied = sum(o.status == "applied" for o in session.edit_outcomes)
    pending = sum(o.status == "pending_review" for o in session.edit_outcomes)
    line = (
        f"{index}. session {session.id}: {session.status.value}, {score}, "
        f"{applied} applied, {pending} pending, teacher ${session.teacher_cost_usd:.4f}"
    )
    return line + (f" ({session.error})" if session.error else "")


def render_resolution(result: Resolution) -> None:
    """What approve/reject did: the outcome, its commit and gate report, the session."""
    from specdistill.sessions.report import REPORT_HTML
    from specdistill.sessions.report_facts import fmt_delta

    outcome, qid = result.outcome, escape(result.item.queue_id)
    line = f"{qid}: {styled(outcome.status)}"
    if outcome.benchmark_delta is not None:
        line += f" (Δ target {fmt_delta(outcome.benchmark_delta)})"
    if result.commit:
        line += f", commit {result.commit[:10]}"
    out.print(line, soft_wrap=True)
    if outcome.error:
        out.print(f"  reason: {escape(outcome.error)}", soft_wrap=True)
    if outcome.status == "rejected_by_gate":
        out.print("  the spec is unchanged")
    elif outcome.status == "pending_review":
        out.print("  the gate could not decide: the spec is unchanged and the edit stays queued")
    if outcome.gate_report:
        out.print(outcome.gate_report, markup=False, highlight=False, soft_wrap=True)
    session = result.session
    waiting = sum(o.status == "pending_review" for o in session.edit_outcomes)
    out.print(
        f"session {escape(session.id)}: {session.status.value}"
        + (f" ({waiting} edit(s) still queued)" if waiting else ""),
        soft_wrap=True,
    )
    for path in result.reports:
        if path.name == REPORT_HTML:
            out.print(f"report: {escape(str(path))}", soft_wrap=True)


def render_session_view(view: SessionView) -> None:
    """``show``: the session's header, benchmark, edits with reasons, queue, commits, report."""
    from specdistill.sessions.report_facts import (
        DELTA_NOTE,
        GATE_OTHERS_LABEL,
        GATE_TARGET_LABEL,
        ended_text,
        fmt_delta,
        fmt_score,
        fmt_time,
        others_cell,
        summarize,
        target_cell,
    )

    if view.plan_error is not None:
        err.print(
            f"warning: {escape(view.plan_error.message)}; ops and tiers are unknown",
            soft_wrap=True,
        )
    s, facts = view.session, view.facts
    out.print(f"[bold]session {escape(s.id)}[/]")
    summary = facts.summary or summarize(s)
    out.print(f"  {escape(summary.line())}", soft_wrap=True)
    lines = [
        ("status", styled(s.status.value) + (f" — {escape(s.error)}" if s.error else "")),
        ("trigger", s.trigger.value),
        ("mode", s.autonomy_mode.value),
        ("started", fmt_time(s.started_at)),
        ("ended", escape(ended_text(s))),
        ("checkpoint before", escape(s.git_checkpoint_pre or "–")),
        ("checkpoint after", escape(s.git_checkpoint_post or "–")),
        ("teacher cost", f"${s.teacher_cost_usd:.4f}"),
    ]
    for name, value in lines:
        out.print(f"  {name}: {value}", soft_wrap=True)
    if facts.clusters:
        bench = Table(title="benchmark", title_justify="left")
        for column in ("cluster", "before", "after", "Δ"):
            bench.add_column(column, justify="left" if column == "cluster" else "right")
        for c in facts.clusters:
            bench.add_row(escape(c.cluster), fmt_score(c.before), fmt_score(c.after),
                          fmt_delta(c.delta))  # fmt: skip
        before, after = s.benchmark_before, s.benchmark_after
        bench.add_row(
            "[bold]overall[/]",
            fmt_score(before.overall_score if before else None),
            fmt_score(after.overall_score if after else None),
            fmt_delta(after.overall_score - before.overall_score if before and after else None),
        )
        print_table(bench)
    else:
        out.print("  benchmark: not measured")
    edits = Table(title="edits", title_justify="left")
    for column in ("edit", "op", "tier", "outcome", GATE_TARGET_LABEL, GATE_OTHERS_LABEL):
        edits.add_column(column, justify="right" if column.startswith("gate") else "left")
    for row in facts.edits:
        edits.add_row(
            escape(row.edit_id),
            row.op,
            row.tier,
            styled(row.status),
            target_cell(row),
            others_cell(row),
        )
    print_table(edits)
    out.print(f"[dim]{escape(DELTA_NOTE)}[/]", soft_wrap=True)
    for row in facts.edits:  # reasons in full, below the table (they are long)
        if row.error:
            out.print(f"  {escape(row.edit_id)}: {escape(row.error)}", soft_wrap=True)
    for row in facts.queue:
        out.print(f"  queued for review: {escape(s.id)}:{escape(row.edit_id)}", soft_wrap=True)
    if view.commits:
        out.print("commits:")
    for entry in view.commits:
        out.print(f"  {entry.short} {entry.kind} {escape(entry.subject)}", soft_wrap=True)
    if view.report is not None:
        out.print(f"report: {escape(str(view.report))}", soft_wrap=True)
