"""The session commands: ``review``, ``approve``, ``reject``, ``history``, ``show``, ``doctor``.

A thin layer like the rest of the CLI: each command calls one library function
(:mod:`specdistill.sessions.review`, :mod:`specdistill.sessions.store`,
:mod:`specdistill.sessions.doctor`) and renders the result; errors go through the
shared :func:`~specdistill.cli.handle_errors` (one line, exit 2 for bad input, 1
for runtime failures). Imported at the end of :mod:`specdistill.cli`, which
registers these commands on the shared ``app``.

``--json`` prints machine-readable output: ``show --json`` prints exactly the
session's ``session.json``; ``history --json`` a list of those records, newest first.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from specdistill.apply import require_spec_home
from specdistill.checkpoint.store import CheckpointStore
from specdistill.cli import (
    STATUS_STYLE,
    AllowDirtyOption,
    BenchmarkOption,
    GateMode,
    GateOption,
    HomeOption,
    app,
    err,
    gate_session,
    handle_errors,
    out,
    print_diff,
)
from specdistill.errors import RuntimeFailure, SpecdistillError
from specdistill.home import SpecHome, default_home
from specdistill.models import LearningPlan, LearningSession
from specdistill.sessions.report import (
    REPORT_HTML,
    fmt_cluster_deltas,
    fmt_delta,
    fmt_duration,
    fmt_score,
    fmt_time,
    routed_edits,
    session_facts,
)
from specdistill.sessions.review import (
    Resolution,
    approve,
    check_approvable,
    reject,
    review_queue,
    show_queued,
)
from specdistill.sessions.store import SESSION_FILE, CorruptSessionData, SessionStore

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]

review_app = typer.Typer(
    help="The review queue: edits waiting for a person (list, or 'show ID').",
    no_args_is_help=False,
)
app.add_typer(review_app, name="review")


def _home(home: Path | None) -> Path:
    root = (home or default_home()).absolute()
    require_spec_home(SpecHome(root))
    return root


SESSION_STYLE = {
    "completed": "green",
    "awaiting_review": "yellow",
    "failed": "red",
    "rolled_back": "magenta",
}


def _style(status: str) -> str:
    """An outcome or session status, coloured (plain when it has no colour)."""
    style = STATUS_STYLE.get(status) or SESSION_STYLE.get(status)
    return f"[{style}]{status}[/]" if style else status


def _notify(message: str) -> None:
    err.print(escape(message), soft_wrap=True)


# -- review ------------------------------------------------------------------------------


@review_app.callback(invoke_without_command=True)
@handle_errors
def review_command(
    ctx: typer.Context, home: HomeOption = None, as_json: JsonOption = False
) -> None:
    """List the edits waiting for review, each re-checked against the current spec."""
    if ctx.invoked_subcommand is not None:
        return
    previews = review_queue(_home(home))
    if as_json:
        typer.echo(json.dumps([p.to_json() for p in previews], indent=2))
        return
    if not previews:
        out.print("nothing waits for review")
        return
    table = Table(title=f"{len(previews)} edit(s) wait for review", title_justify="left")
    for column in ("id", "op", "tier", "target cluster", "state"):
        table.add_column(column, overflow="fold", no_wrap=column in ("id", "op"))
    for p in previews:
        edit = p.item.edit
        state = "ready" if p.state == "ready" else f"[red]{p.state.upper()}[/]"
        if p.state == "ready" and p.changed_since_queued:
            state = "ready (target changed)"
        table.add_row(
            escape(p.item.queue_id),
            edit.op.value,
            edit.risk_tier.value,
            escape(edit.expected_improvement),
            state,
        )
    out.print(table)
    out.print(
        "next: specdistill review show ID | specdistill approve ID | "
        "specdistill reject ID --reason TEXT",
        markup=False,
    )


@review_app.command("show")
@handle_errors
def review_show_command(
    queue_id: Annotated[str, typer.Argument(metavar="ID", help="<session_id>:<edit_id>.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show a queued edit: rationale, references and its diff against the current spec."""
    preview = show_queued(_home(home), queue_id)
    if as_json:
        typer.echo(json.dumps(preview.to_json(), indent=2))
        return
    edit, item = preview.item.edit, preview.item
    out.print(f"[bold]{escape(item.queue_id)}[/]", soft_wrap=True)
    rows = [
        ("session", item.session_id),
        ("op", f"{edit.op.value} ({edit.risk_tier.value} tier)"),
        ("target", edit.target or "–"),
        ("expected improvement", edit.expected_improvement or "–"),
        ("rationale", edit.rationale or "–"),
    ]
    for name, value in rows:
        out.print(f"  {name}: {escape(value)}", soft_wrap=True)
    out.print("  references:" + ("" if edit.references else " –"))
    for ref in edit.references:
        out.print(f"    - {escape(ref)}", soft_wrap=True)
    if preview.state == "stale":
        out.print(f"  state: [red]STALE[/]: {escape(preview.reason or '')}", soft_wrap=True)
        out.print(f"  it no longer applies; reject it: specdistill reject {escape(item.queue_id)}"
                  " --reason stale", soft_wrap=True)  # fmt: skip
        return
    if preview.state == "manual":
        out.print(f"  state: [yellow]MANUAL[/]: {escape(preview.reason or '')}", soft_wrap=True)
        return
    note = ""
    if preview.changed_since_queued:
        note = f" (target changed since queued: {', '.join(preview.changed_since_queued)})"
    out.print(f"  state: [green]ready[/]: applies to the current spec{escape(note)}")
    if preview.diff:
        out.print("diff against the current spec:")
        print_diff(preview.diff)
    else:
        out.print("no change: the spec already is as proposed")


# -- approve / reject ----------------------------------------------------------------------


def _print_resolution(result: Resolution) -> None:
    outcome, qid = result.outcome, escape(result.item.queue_id)
    line = f"{qid}: {_style(outcome.status)}"
    if outcome.benchmark_delta is not None:
        line += f" (Δ target {fmt_delta(outcome.benchmark_delta)})"
    if result.commit:
        line += f", commit {result.commit[:10]}"
    out.print(line, soft_wrap=True)
    if outcome.error:
        out.print(f"  reason: {escape(outcome.error)}", soft_wrap=True)
    if outcome.status == "rejected_by_gate":
        out.print("  the spec is unchanged")
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


@app.command("approve")
@handle_errors
def approve_command(
    queue_id: Annotated[str, typer.Argument(metavar="ID", help="<session_id>:<edit_id>.")],
    home: HomeOption = None,
    gate: GateOption = GateMode.sequential,
    benchmark: BenchmarkOption = None,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Try a queued edit THROUGH THE GATE: kept only if the benchmark shows it helps."""
    root = _home(home)
    if gate is not GateMode.off:
        check_approvable(root, queue_id)  # fail fast, before a student is built
    with gate_session(root, gate, benchmark) as edit_gate:
        result = approve(
            root,
            queue_id,
            gate_mode=gate.value,
            benchmark=benchmark,
            allow_dirty=allow_dirty,
            gate=edit_gate,
            notify=_notify,
        )
    for note in result.notes:
        err.print(escape(note), soft_wrap=True)
    if result.interrupted_by is not None:
        err.print("interrupted before the edit ran: nothing was recorded")
        raise typer.Exit(128 + result.interrupted_by)
    _print_resolution(result)


@app.command("reject")
@handle_errors
def reject_command(
    queue_id: Annotated[str, typer.Argument(metavar="ID", help="<session_id>:<edit_id>.")],
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the session).")],
    home: HomeOption = None,
) -> None:
    """Reject a queued edit: recorded as rejected_by_user with your reason (spec untouched)."""
    result = reject(_home(home), queue_id, reason)
    for note in result.notes:
        err.print(escape(note), soft_wrap=True)
    _print_resolution(result)


# -- history / show --------------------------------------------------------------------------


NO_WRAP = ("session", "status", "started (UTC)")

#: Compact outcome labels for the history table.
SHORT_STATUS = {
    "pending_review": "queued",
    "rejected_by_gate": "gate-rejected",
    "rejected_by_user": "user-rejected",
    "rolled_back": "rolled back",
}


def _session_json(session: LearningSession) -> dict[str, object]:
    return json.loads(session.model_dump_json())  # type: ignore[no-any-return]


@app.command("history")
@handle_errors
def history_command(
    home: HomeOption = None,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Show at most N sessions.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the learning sessions, newest first (--json: their session.json records)."""
    store = SessionStore(_home(home))
    rows = store.list(limit)
    if not rows and store.session_ids_on_disk():
        raise CorruptSessionData(
            f"the session index is empty, but {len(store.session_ids_on_disk())} session(s) "
            "are on disk",
            hint="run 'specdistill doctor --reindex' to rebuild it from the session files",
        )
    sessions: list[LearningSession] = []
    unreadable: list[SpecdistillError] = []
    table = Table(title_justify="left")
    for column in ("session", "status", "trigger", "mode", "started (UTC)", "edits", "overall"):
        table.add_column(column, overflow="fold", no_wrap=column in NO_WRAP)
    for row in rows:
        try:
            session = store.load(row.id)
        except SpecdistillError as exc:
            unreadable.append(exc)
            table.add_row(escape(row.id), row.status, "", "", "", "[red]unreadable[/]", "")
            continue
        sessions.append(session)
        counts: dict[str, int] = {}
        for o in session.edit_outcomes:
            label = SHORT_STATUS.get(o.status, o.status)
            counts[label] = counts.get(label, 0) + 1
        edits = ", ".join(f"{n} {label}" for label, n in counts.items()) or "none"
        before, after = session.benchmark_before, session.benchmark_after
        overall = (
            f"{fmt_score(before.overall_score if before else None)} → "
            f"{fmt_score(after.overall_score if after else None)}"
        )
        table.add_row(
            escape(session.id),
            _style(session.status.value),
            session.trigger.value,
            session.autonomy_mode.value,
            session.started_at.strftime("%Y-%m-%d %H:%M"),
            edits,
            overall,
        )
    if as_json:
        typer.echo(json.dumps([_session_json(s) for s in sessions], indent=2))
    elif rows:
        out.print(table)
    else:
        out.print("no sessions yet")

    for exc in unreadable:
        err.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    if unreadable:
        err.print("[dim]hint: 'specdistill doctor' checks every session file[/]")
        raise typer.Exit(1)


@app.command("show")
@handle_errors
def show_command(
    session_id: Annotated[str, typer.Argument(metavar="SESSION_ID", help="The session.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one session: outcomes, deltas, reasons, checkpoints, cost (--json: session.json)."""
    root = _home(home)
    store = SessionStore(root)
    session = store.load(session_id)  # validates; raises a clear error if missing/corrupt
    if as_json:
        typer.echo(
            (store.session_dir(session_id) / SESSION_FILE).read_text(encoding="utf-8"), nl=False
        )
        return
    try:
        plan = store.load_plan(session_id)
    except RuntimeFailure as exc:
        err.print(f"warning: {escape(exc.message)}; ops and tiers are unknown", soft_wrap=True)
        plan = LearningPlan()
    facts = session_facts(session, plan, routed_edits(plan, store))
    s = session
    out.print(f"[bold]session {escape(s.id)}[/]")
    lines = [
        ("status", _style(s.status.value) + (f" — {escape(s.error)}" if s.error else "")),
        ("trigger", s.trigger.value),
        ("mode", s.autonomy_mode.value),
        ("started", fmt_time(s.started_at)),
        ("ended", f"{fmt_time(s.ended_at)} (took {fmt_duration(facts.duration_seconds)})"),
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
        out.print(bench)
    else:
        out.print("  benchmark: not measured")
    edits = Table(title="edits", title_justify="left")
    for column in ("edit", "op", "tier", "outcome", "Δ target", "Δ per cluster"):
        edits.add_column(column, overflow="fold", no_wrap=column in ("op", "outcome"))
    for row in facts.edits:
        edits.add_row(
            escape(row.edit_id),
            row.op,
            row.tier,
            _style(row.status),
            fmt_delta(row.benchmark_delta),
            escape(fmt_cluster_deltas(row.cluster_deltas)),
        )
    out.print(edits)
    for row in facts.edits:  # reasons in full, below the table (they are long)
        if row.error:
            out.print(f"  {escape(row.edit_id)}: {escape(row.error)}", soft_wrap=True)
    for row in facts.queue:
        out.print(f"  queued for review: {escape(s.id)}:{escape(row.edit_id)}", soft_wrap=True)
    _print_commits(root, s.id)
    report = store.session_dir(s.id) / REPORT_HTML
    if report.exists():
        out.print(f"report: {escape(str(report))}", soft_wrap=True)


def _print_commits(root: Path, session_id: str) -> None:
    """The session's commits in the spec's history (its run's and its approvals')."""
    try:
        entries = [e for e in CheckpointStore(root).log() if e.session_id == session_id]
    except SpecdistillError:
        return
    if entries:
        out.print("commits:")
    for entry in entries:
        out.print(f"  {entry.short} {entry.kind} {escape(entry.subject)}", soft_wrap=True)


# -- doctor ------------------------------------------------------------------------------------


@app.command("doctor")
@handle_errors
def doctor_command(
    home: HomeOption = None,
    reindex: Annotated[
        bool, typer.Option("--reindex", help="Rebuild learning/learning.db from the session files.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Check the spec home's own state (config, repository, index, sessions, lock, journal)."""
    from specdistill.sessions.doctor import diagnose

    report = diagnose(_home(home), reindex=reindex)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        if report.reindexed is not None:
            out.print(f"reindexed {report.reindexed} session(s) into learning/learning.db")
            for line in report.skipped:
                out.print(f"  [yellow]skipped[/]: {escape(line)}", soft_wrap=True)
        marks = {"ok": "[green]   ok[/]", "warn": "[yellow] warn[/]", "error": "[red]error[/]"}
        for check in report.checks:
            out.print(f"{marks[check.level]} {check.name}: {escape(check.detail)}", soft_wrap=True)
            if check.hint and check.level != "ok":
                out.print(f"      [dim]hint: {escape(check.hint)}[/]", soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)
