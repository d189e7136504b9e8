"""The spec's own commands: ``init``, ``schema``, ``apply``, ``log``, ``rollback``, ``recover``.

Each parses its options, calls one :mod:`specdistill.commands` function (imported when
the command runs, so ``--help`` stays fast) and renders the result.
"""

import shlex
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
from specdistill.cli.invocation import prog
from specdistill.cli.progress import gate_progress, notify, print_notes
from specdistill.cli.render import print_table, render_apply_report
from specdistill.gate.config import GateMode

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@app.command()
@handle_errors
def init(
    home: HomeOption = None,
    student: Annotated[
        str,
        typer.Option(
            "--student",
            metavar="KIND",
            help="The student to configure: command (your agent as a program), python "
            "(a function) or openai (an OpenAI-compatible endpoint).",
        ),
    ] = "command",
    as_json: JsonOption = False,
) -> None:
    """Scaffold a working home for your agent and commit it as the baseline.

    Writes config.toml (a student block for each kind, KIND active), an example agent
    (agent.py), a benchmark skeleton sized for the gate and a plan template (plan.json);
    existing files are left alone. Then prints the next three commands.
    """
    from specdistill import commands

    result = commands.init(home, student=student)
    if as_json:
        created = [p.relative_to(result.home).as_posix() for p in result.created]
        echo_json({"home": str(result.home), "created": created, "notes": result.notes})
        return
    out.print(f"spec home: {escape(str(result.home))}", soft_wrap=True)
    for path in result.created:
        out.print(f"  created {escape(path.relative_to(result.home).as_posix())}")
    if not result.created:
        out.print("  nothing to create: the home already has its files")
    for note in result.notes:
        out.print(f"  {escape(note)}")
    out.print("\nnext:")
    for command, what in next_commands(result.home, result.student):
        out.print(f"  {escape(command)}   [dim]# {what}[/]", soft_wrap=True)


def next_commands(home: Path, student: str) -> list[tuple[str, str]]:
    """The three commands after ``init``, runnable as printed (from the current folder)."""
    name = prog()
    where = "" if home == Path.cwd().absolute() else f" --home {shlex.quote(str(home))}"
    plan = "plan.json" if not where else shlex.quote(str(home / "plan.json"))
    first = (
        "score the example agent on the benchmark skeleton"
        if student != "openai"
        else "score the model at base_url on the benchmark skeleton"
    )
    return [
        (f"{name} benchmark run{where}", first),
        (f"{name} run --plan {plan}{where}", "try the plan template's edit through the gate"),
        (f"{name} log{where}", "the edit it kept, as a git commit"),
    ]


@app.command()
@handle_errors
def schema(
    student: Annotated[
        bool,
        typer.Option(
            "--student",
            help="Print the JSON Schema of what a command student reads on stdin instead.",
        ),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Accepted everywhere: the schema is JSON already.")
    ] = False,
) -> None:
    """Print the JSON Schema of a plan: what a teacher's structured output must match."""
    from specdistill import commands

    echo_json(commands.student_json_schema() if student else commands.plan_json_schema())


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
    as_json: JsonOption = False,
) -> None:
    """Apply a plan's edits to the spec home, one git commit per applied edit.

    With --gate sequential (or mean), each applied edit is kept only if the benchmark
    shows it helps. The gate is off by default here (a plan applies without a
    benchmark); run and approve gate by default.
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
    if as_json:
        echo_json({
            "home": str(report.home), "dry_run": report.dry_run,
            "session_id": report.session_id, "commits": report.commits,
            "outcomes": [o.model_dump(mode="json") for o in report.outcomes],
            "diffs": report.diffs,
        })  # fmt: skip
        if report.interrupted_by is not None:
            raise typer.Exit(128 + report.interrupted_by)
        return
    render_apply_report(report)
    if report.commits:
        sid = escape(report.session_id)
        out.print(
            f"session {sid}: {len(report.commits)} commit(s); undo with: {prog()} rollback {sid}"
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
        str | None, typer.Argument(metavar="SESSION_ID", help="The session to roll back.")
    ] = None,
    last: Annotated[bool, typer.Option("--last", help="Roll back the newest session.")] = False,
    home: HomeOption = None,
    allow_dirty: AllowDirtyOption = False,
    as_json: JsonOption = False,
) -> None:
    """Revert a session's edit commits, newest first, as new commits."""
    from specdistill import commands

    report = commands.rollback(home, session_id, last=last, allow_dirty=allow_dirty, notify=notify)
    print_notes(report.notes)
    if as_json:
        echo_json({
            "session_id": report.session_id, "rollback_id": report.rollback_id,
            "reverted": [e.to_json() for e in report.reverted], "commits": report.commits,
        })  # fmt: skip
        return
    out.print(
        f"rolled back session {escape(report.session_id)}: "
        f"{len(report.reverted)} edit(s) reverted as new commits"
    )
    for entry, commit in zip(report.reverted, report.commits, strict=True):
        out.print(f"  {commit[:10]} reverts {entry.short} {escape(entry.subject)}", soft_wrap=True)


@app.command()
@handle_errors
def recover(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Finish or undo an edit a crash interrupted (every writing command does this first)."""
    from specdistill import commands

    notes = commands.recover(home)
    if as_json:
        echo_json({"notes": notes})
        return
    for note in notes:
        out.print(escape(note), soft_wrap=True)
    if not notes:
        out.print("nothing to recover")


@app.command("log")
@handle_errors
def log_command(
    home: HomeOption = None,
    as_json: JsonOption = False,
    limit: Annotated[
        int | None,
        typer.Option("--limit", "-n", min=1, metavar="N", help="Show at most N commits."),
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
    print_table(table)
