"""The spec's own commands: ``init``, ``schema``, ``apply``, ``log``, ``rollback``, ``recover``.

Each parses its options, calls one :mod:`specdistill.commands` function (imported when
the command runs, so ``--help`` stays fast) and renders the result.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from specdistill.cli.app import (
    AllowDirtyOption,
    BenchmarkOption,
    GateOption,
    HomeOption,
    ModeOption,
    app,
    echo_json,
    err,
    handle_errors,
    out,
)
from specdistill.cli.progress import gate_progress, notify, print_notes
from specdistill.cli.render import render_apply_report
from specdistill.gate.config import GateMode


@app.command()
@handle_errors
def init(home: HomeOption = None) -> None:
    """Create a minimal valid spec home (existing files are left alone)."""
    from specdistill import commands

    result = commands.init(home)
    out.print(f"spec home: {result.home}")
    for path in result.created:
        out.print(f"  created {path.relative_to(result.home)}")
    if not result.created:
        out.print("  nothing to create: the home already has its files")
    for note in result.notes:
        out.print(f"  {escape(note)}")


@app.command()
@handle_errors
def schema() -> None:
    """Print the JSON Schema of a plan: what a teacher's structured output must match."""
    from specdistill import commands

    echo_json(commands.plan_json_schema())


@app.command("apply")
@handle_errors
def apply_command(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN.json", help="The plan to apply.")],
    home: HomeOption = None,
    mode: ModeOption = "tiered",
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change; write nothing.")
    ] = False,
    allow_dirty: AllowDirtyOption = False,
    no_checkpoint: Annotated[
        bool,
        typer.Option(
            "--no-checkpoint",
            help="Write without git commits, lock or crash journal (not recommended).",
        ),
    ] = False,
    gate: GateOption = GateMode.off,
    benchmark: BenchmarkOption = None,
) -> None:
    """Apply a plan's edits to the spec home, one git commit per applied edit.

    With --gate, each applied edit is kept only if the benchmark shows it helps.
    """
    from specdistill import commands

    with gate_progress(gate) as progress:
        report = commands.apply_plan(
            plan_file,
            home,
            mode=mode,
            dry_run=dry_run,
            checkpoint=not no_checkpoint,
            allow_dirty=allow_dirty,
            notify=notify,
            gate=gate,
            benchmark=benchmark,
            gate_progress=progress,
        )
    print_notes(report.notes)
    render_apply_report(report)
    if report.commits:
        sid = escape(report.session_id)
        out.print(
            f"session {sid}: {len(report.commits)} commit(s); undo with: specdistill rollback {sid}"
        )
    if report.interrupted_by is not None:
        err.print(
            f"interrupted: stopped after the edit in flight; {report.not_attempted} edit(s) "
            "not attempted",
            soft_wrap=True,
        )
        raise typer.Exit(128 + report.interrupted_by)


@app.command()
@handle_errors
def rollback(
    session_id: Annotated[
        str | None, typer.Argument(metavar="[SESSION_ID]", help="The session to roll back.")
    ] = None,
    last: Annotated[bool, typer.Option("--last", help="Roll back the newest session.")] = False,
    home: HomeOption = None,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Revert a session's edit commits, newest first, as new commits."""
    from specdistill import commands

    report = commands.rollback(home, session_id, last=last, allow_dirty=allow_dirty, notify=notify)
    print_notes(report.notes)
    out.print(
        f"rolled back session {escape(report.session_id)}: "
        f"{len(report.reverted)} edit(s) reverted as new commits"
    )
    for entry, commit in zip(report.reverted, report.commits, strict=True):
        out.print(f"  {commit[:10]} reverts {entry.short} {escape(entry.subject)}", soft_wrap=True)


@app.command()
@handle_errors
def recover(home: HomeOption = None) -> None:
    """Finish or undo an edit a crash interrupted (every writing command does this first)."""
    from specdistill import commands

    notes = commands.recover(home)
    for note in notes:
        out.print(escape(note), soft_wrap=True)
    if not notes:
        out.print("nothing to recover")


@app.command("log")
@handle_errors
def log_command(
    home: HomeOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
    limit: Annotated[
        int | None, typer.Option("--limit", "-n", min=1, help="Show at most N commits.")
    ] = None,
) -> None:
    """List the spec changes specdistill committed, newest first."""
    from specdistill import commands

    entries = commands.log(home, limit=limit)
    if as_json:
        echo_json([entry.to_json() for entry in entries])
        return
    if not entries:
        out.print("no spec changes recorded yet")
        return
    table = Table(title_justify="left")
    for column in ("commit", "kind", "edit", "op", "session", "tier", "when"):
        table.add_column(column, overflow="fold")
    for entry in entries:
        table.add_row(
            *(
                escape(value or "")
                for value in (
                    entry.short,
                    entry.kind,
                    entry.edit_id,
                    entry.op,
                    entry.session_id,
                    entry.tier,
                    entry.when[:19].replace("T", " "),
                )
            )
        )
    out.print(table)
