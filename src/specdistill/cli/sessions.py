"""The session commands: ``review``, ``approve``, ``reject``, ``history``, ``show``, ``doctor``.

Each calls one :mod:`specdistill.commands` function and renders the result; errors go
through the shared :func:`~specdistill.cli.app.handle_errors` (one line, exit 2 for bad
input, 1 for runtime failures).

``--json`` prints machine-readable output: ``show --json`` prints exactly the
session's ``session.json``; ``history --json`` a list of those records, newest first.
"""

from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.table import Table

from specdistill.cli.app import (
    AllowDirtyOption,
    BenchmarkOption,
    GateOption,
    HomeOption,
    app,
    echo_json,
    err,
    handle_errors,
    out,
)
from specdistill.cli.invocation import prog
from specdistill.cli.progress import gate_progress, notify, print_notes
from specdistill.cli.render import (
    print_diff,
    print_table,
    render_resolution,
    render_session_view,
    styled,
)
from specdistill.gate.config import GateMode

if TYPE_CHECKING:
    from specdistill.sessions.review import Resolution

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
QueueIdArgument = Annotated[str, typer.Argument(metavar="ID", help="<session_id>:<edit_id>.")]

review_app = typer.Typer(
    rich_markup_mode=None,
    help="The review queue: edits waiting for a person (list, or 'show ID').",
    no_args_is_help=False,
)
app.add_typer(review_app, name="review")


# -- review ------------------------------------------------------------------------------


@review_app.callback(invoke_without_command=True)
@handle_errors
def review_command(
    ctx: typer.Context, home: HomeOption = None, as_json: JsonOption = False
) -> None:
    """List the edits waiting for review, each re-checked against the current spec."""
    if ctx.invoked_subcommand is not None:
        return
    from specdistill import commands

    previews = commands.review(home)
    if as_json:
        echo_json([p.to_json() for p in previews])
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
            escape(edit.gate_cluster),
            state,
        )
    print_table(table)
    name = prog()
    out.print(
        f"next: {name} review show ID | {name} approve ID | {name} reject ID --reason TEXT",
        markup=False,
    )


@review_app.command("show")
@handle_errors
def review_show_command(
    queue_id: QueueIdArgument, home: HomeOption = None, as_json: JsonOption = False
) -> None:
    """Show a queued edit: rationale, references and its diff against the current spec."""
    from specdistill import commands

    preview = commands.review_show(home, queue_id=queue_id)
    if as_json:
        echo_json(preview.to_json())
        return
    edit, item = preview.item.edit, preview.item
    out.print(f"[bold]{escape(item.queue_id)}[/]", soft_wrap=True)
    rows = [
        ("session", item.session_id),
        ("op", f"{edit.op.value} ({edit.risk_tier.value} tier)"),
        ("target", edit.target or "–"),
        ("expected improvement", edit.expected_improvement or "–"),
        *([("measured on", edit.benchmark_cluster)] if edit.benchmark_cluster else []),
        ("rationale", edit.rationale or "–"),
    ]
    for name, value in rows:
        out.print(f"  {name}: {escape(value)}", soft_wrap=True)
    out.print("  references:" + ("" if edit.references else " –"))
    for ref in edit.references:
        out.print(f"    - {escape(ref)}", soft_wrap=True)
    if preview.state == "stale":
        out.print(f"  state: [red]STALE[/]: {escape(preview.reason or '')}", soft_wrap=True)
        reject = f"{escape(prog())} reject {escape(item.queue_id)} --reason stale"
        out.print(f"  it no longer applies; reject it: {reject}", soft_wrap=True)
        return
    if preview.state == "manual":
        out.print(f"  state: [yellow]MANUAL[/]: {escape(preview.reason or '')}", soft_wrap=True)
        return
    note = ""
    if preview.changed_since_queued:
        note = f" (target changed since queued: {', '.join(preview.changed_since_queued)})"
    out.print(f"  state: [green]ready[/]: applies to the current spec{escape(note)}")
    if preview.gate_report is not None:
        out.print("queued because the gate could not decide it; its evidence:")
        if preview.gate_reason:
            out.print(f"  {escape(preview.gate_reason)}", soft_wrap=True)
        out.print(preview.gate_report, markup=False, highlight=False, soft_wrap=True)
        out.print("approving it runs the gate again (e.g. with more tasks: --benchmark FILE)")
    if preview.diff:
        out.print("diff against the current spec:")
        print_diff(preview.diff)
    else:
        out.print("no change: the spec already is as proposed")


# -- approve / reject ----------------------------------------------------------------------


@app.command("approve")
@handle_errors
def approve_command(
    queue_id: QueueIdArgument,
    home: HomeOption = None,
    gate: GateOption = GateMode.sequential,
    benchmark: BenchmarkOption = None,
    allow_dirty: AllowDirtyOption = False,
    as_json: JsonOption = False,
) -> None:
    """Try a queued edit THROUGH THE GATE: kept only if the benchmark shows it helps."""
    from specdistill import commands

    with gate_progress(gate) as progress:
        result = commands.approve(
            home,
            queue_id=queue_id,
            gate=gate,
            benchmark=benchmark,
            allow_dirty=allow_dirty,
            notify=notify,
            gate_progress=progress,
        )
    print_notes(result.notes)
    if result.interrupted_by is not None:
        err.print("interrupted before the edit ran: nothing was recorded")
        raise typer.Exit(128 + result.interrupted_by)
    if as_json:
        echo_json(resolution_json(result))
        return
    render_resolution(result)


@app.command("reject")
@handle_errors
def reject_command(
    queue_id: QueueIdArgument,
    reason: Annotated[str, typer.Option("--reason", help="Why (recorded in the session).")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Reject a queued edit: recorded as rejected_by_user with your reason (spec untouched)."""
    from specdistill import commands

    result = commands.reject(home, queue_id=queue_id, reason=reason)
    print_notes(result.notes)
    if as_json:
        echo_json(resolution_json(result))
        return
    render_resolution(result)


def resolution_json(result: "Resolution") -> dict[str, object]:
    """What approve/reject did, as JSON: the outcome, its commit, the session's status."""
    return {
        "queue_id": result.item.queue_id,
        "outcome": result.outcome.model_dump(mode="json"),
        "commit": result.commit,
        "session_id": result.session.id,
        "session_status": result.session.status.value,
        "reports": [str(p) for p in result.reports],
    }


# -- history / show --------------------------------------------------------------------------


NO_WRAP = ("session", "status", "started (UTC)")

#: Compact outcome labels for the history table.
SHORT_STATUS = {
    "pending_review": "queued",
    "rejected_by_gate": "gate-rejected",
    "rejected_by_user": "user-rejected",
    "rolled_back": "rolled back",
}


@app.command("history")
@handle_errors
def history_command(
    home: HomeOption = None,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", min=1, metavar="N", help="Show at most N sessions."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """List the learning sessions, newest first (--json: their session.json records)."""
    from specdistill import commands
    from specdistill.sessions.report_facts import overall_text

    result = commands.history(home, limit=limit)
    if as_json:
        import json

        records = [json.loads(s.model_dump_json()) for s in result.sessions]
        echo_json(records)
    elif result.entries:
        table = Table(title_justify="left")
        for column in ("session", "status", "trigger", "mode", "started (UTC)", "edits", "overall"):
            table.add_column(column, overflow="fold", no_wrap=column in NO_WRAP)
        for entry in result.entries:
            session = entry.session
            if session is None:
                table.add_row(escape(entry.id), entry.status, "", "", "", "[red]unreadable[/]", "")
                continue
            counts: dict[str, int] = {}
            for o in session.edit_outcomes:
                label = SHORT_STATUS.get(o.status, o.status)
                counts[label] = counts.get(label, 0) + 1
            edits = ", ".join(f"{n} {label}" for label, n in counts.items()) or "none"
            overall = escape(overall_text(session))  # says "rolled back" when undone
            table.add_row(
                escape(session.id),
                styled(session.status.value),
                session.trigger.value,
                session.autonomy_mode.value,
                session.started_at.strftime("%Y-%m-%d %H:%M"),
                edits,
                overall,
            )
        print_table(table)
    else:
        out.print("no sessions yet")

    for exc in result.unreadable:
        err.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
    if result.unreadable:
        err.print(f"[dim]hint: '{escape(prog())} doctor' checks every session file[/]")
        raise typer.Exit(1)


@app.command("show")
@handle_errors
def show_command(
    session_id: Annotated[str, typer.Argument(metavar="SESSION_ID", help="The session.")],
    home: HomeOption = None,
    as_json: JsonOption = False,
) -> None:
    """Show one session: outcomes, deltas, reasons, checkpoints, cost (--json: session.json)."""
    from specdistill import commands

    view = commands.show(home, session_id=session_id)
    if as_json:
        typer.echo(view.record, nl=False)
        return
    render_session_view(view)


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
    """Check the spec home's own state (config, repository, index, sessions, lock,
    journal) and that git, every session.json and the index agree."""
    from specdistill import commands

    report = commands.doctor(home, reindex=reindex)
    if as_json:
        echo_json(report.to_json())
    else:
        if report.reindexed is not None:
            out.print(f"reindexed {report.reindexed} session(s) into learning/learning.db")
            for line in report.skipped:
                out.print(f"  [yellow]skipped[/]: {escape(line)}", soft_wrap=True)
            for line in report.repaired:
                out.print(f"  repaired: {escape(line)}", soft_wrap=True)
        marks = {
            "ok": "[green]   ok[/]",
            "note": "[cyan] note[/]",
            "warn": "[yellow] warn[/]",
            "error": "[red]error[/]",
        }
        for check in report.checks:
            out.print(f"{marks[check.level]} {check.name}: {escape(check.detail)}", soft_wrap=True)
            if check.hint and check.level != "ok":
                out.print(f"      [dim]hint: {escape(check.hint)}[/]", soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)
