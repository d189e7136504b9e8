"""``specdistill run`` and ``specdistill quickstart``: a whole session from the command line.

A thin layer, like the rest of the CLI: parse, call :func:`~specdistill.sessions.run.run_session`
(or :func:`~specdistill.example.quickstart.run_quickstart`), render. Registered on the
shared ``app`` by the import at the end of :mod:`specdistill.cli`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from specdistill.cli import (
    STATUS_STYLE,
    AllowDirtyOption,
    BenchmarkOption,
    GateMode,
    GateOption,
    HomeOption,
    app,
    err,
    handle_errors,
    out,
)
from specdistill.context import ApplyContext
from specdistill.errors import ConfigError
from specdistill.home import default_home
from specdistill.models import AutonomyMode, Edit, LearningPlan, LearningSession
from specdistill.plan import load_plan
from specdistill.sessions.run import Progress as RunProgress
from specdistill.sessions.run import interrupted_by
from specdistill.sessions.store import SessionStore, dump_session_json
from specdistill.tiers import assign_tiers

JsonOption = Annotated[bool, typer.Option("--json", help="Print session.json instead of tables.")]


@contextmanager
def progress_bar(enabled: bool = True) -> Iterator[RunProgress | None]:
    """A transient progress bar on stderr fed by the session's progress callback."""
    if not enabled or not err.is_terminal:  # piped: no bar (rich would leave a blank line)
        yield None
        return
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} runs"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bars:
        bar = bars.add_task("starting", total=None)

        def progress(label: str, done: int, total: int) -> None:
            # The gate's total is its budget, which it rarely uses: show no fake total.
            shown = total if label in ("baseline", "after") else None
            bars.update(bar, description=label, completed=done, total=shown)

        yield progress


def _notify(message: str) -> None:
    err.print(escape(message), soft_wrap=True)


def _fmt(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "–"
    return f"{value:+.3f}" if signed else f"{value:.3f}"


def _routed(plan: LearningPlan, home: Path) -> dict[str, Edit]:
    """The plan's edits with the tiers they were routed by (the home's overrides applied)."""
    try:
        overrides = ApplyContext(home=home).tier_overrides()
    except ConfigError:
        overrides = {}
    return {edit.id: edit for edit in assign_tiers(plan.edits, overrides)}


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
    out.print(table)


def render_outcomes(session: LearningSession, edits: dict[str, Edit]) -> None:
    """One row per edit: its op, tier, target cluster, status and the gate's deltas."""
    table = Table(title="edits", title_justify="left")
    for column in ("edit", "op", "tier", "target", "status", "Δ target", "Δ others (min)"):
        table.add_column(column, justify="right" if column.startswith("Δ") else "left")
    reasons = []
    for outcome in session.edit_outcomes:
        edit = edits.get(outcome.edit_id)
        target = edit.expected_improvement if edit else ""
        others = [d for c, d in outcome.cluster_deltas.items() if c != target]
        style = STATUS_STYLE.get(outcome.status, "")
        table.add_row(
            escape(outcome.edit_id),
            edit.op.value if edit else "?",
            edit.risk_tier.value if edit else "?",
            escape(target),
            f"[{style}]{outcome.status}[/]",
            _fmt(outcome.benchmark_delta, True),
            _fmt(min(others) if others else None, True),
        )
        if outcome.error:
            reasons.append((outcome.edit_id, outcome.error))
    out.print(table)
    for edit_id, reason in reasons:
        out.print(f"  [bold]{escape(edit_id)}[/]: {escape(reason)}", soft_wrap=True)


def render_session(
    session: LearningSession, plan: LearningPlan, home: Path, *, undo_hint: bool = True
) -> None:
    """The session's benchmark, outcomes, where its report is and how to undo it."""
    render_benchmark(session)
    render_outcomes(session, _routed(plan, home))
    sid = escape(session.id)
    applied = sum(o.status == "applied" for o in session.edit_outcomes)
    pending = sum(o.status == "pending_review" for o in session.edit_outcomes)
    out.print(
        f"session {sid}: {session.status.value}; {applied} edit(s) applied, "
        f"{pending} waiting for review",
        soft_wrap=True,
    )
    directory = SessionStore(home).session_dir(session.id)
    report = directory / "report.md"
    if report.exists():
        out.print(f"report: {escape(str(report))} (and report.html beside it)", soft_wrap=True)
    if session.error:
        err.print(f"[yellow]{escape(session.error)}[/]", soft_wrap=True)
    if applied and undo_hint:
        undo = f"specdistill rollback {sid} --home {escape(str(home))}"
        out.print(f"undo the session: {undo}", soft_wrap=True)


def _exit_if_interrupted(session: LearningSession) -> None:
    signum = interrupted_by(session)
    if signum is not None:
        raise typer.Exit(128 + signum)


@app.command("run")
@handle_errors
def run_command(
    plan_file: Annotated[
        Path, typer.Option("--plan", metavar="PLAN.json", help="The plan of edits to run.")
    ],
    home: HomeOption = None,
    mode: Annotated[
        AutonomyMode, typer.Option("--mode", help="auto, tiered or manual.")
    ] = AutonomyMode.TIERED,
    gate: GateOption = GateMode.sequential,
    benchmark: BenchmarkOption = None,
    allow_dirty: AllowDirtyOption = False,
    as_json: JsonOption = False,
) -> None:
    """Run a session: benchmark the spec, apply the plan's edits through the gate, record.

    Each kept edit is a git commit; rejected ones leave the files byte-identical;
    review-tier edits (every edit, in manual mode) wait in 'specdistill review'.
    """
    from specdistill.sessions.run import run_session

    plan = load_plan(plan_file)
    root = (home or default_home()).absolute()
    with progress_bar(enabled=not as_json) as progress:
        session = run_session(
            root,
            plan,
            mode=mode,
            gate_mode=gate.value,
            benchmark=benchmark,
            allow_dirty=allow_dirty,
            progress=progress,
            notify=_notify,
        )
    if as_json:
        typer.echo(dump_session_json(session))
    else:
        render_session(session, plan, root)
    _exit_if_interrupted(session)


@app.command("quickstart")
@handle_errors
def quickstart_command(
    directory: Annotated[
        Path | None,
        typer.Argument(
            metavar="[DIR]", help="Where to create the example home (new or empty; default: temp)."
        ),
    ] = None,
) -> None:
    """Create an example spec home and run a full gated session on it, offline.

    The student is a small deterministic agent bundled with specdistill that reads the
    spec (prompt, tools, params, routing), so edits really change its answers.
    """
    from specdistill.example.quickstart import run_quickstart

    with progress_bar() as progress:
        result = run_quickstart(directory, progress=progress, notify=_notify)
    home = result.home
    out.print(f"example spec home: {escape(str(home))}", soft_wrap=True)
    for note in result.notes:
        out.print(f"  {escape(note)}", soft_wrap=True)
    plan = SessionStore(home).load_plan(result.session.id)
    render_session(result.session, plan, home, undo_hint=False)
    sid, h = escape(result.session.id), escape(str(home))
    pending = [o.edit_id for o in result.session.edit_outcomes if o.status == "pending_review"]
    commands = [
        (f"specdistill review --home {h}", "the edits waiting for you"),
        (f"specdistill show {sid} --home {h}", "the session in detail"),
    ]
    if pending:
        approve = f"specdistill approve {sid}:{escape(pending[0])} --home {h}"
        commands.append((approve, "try a queued edit, through the gate"))
    commands.append((f"specdistill rollback {sid} --home {h}", "undo the session"))
    out.print("\nnext, try:")
    for command, what in commands:
        out.print(f"  {command}   [dim]# {what}[/]", soft_wrap=True)
    _exit_if_interrupted(result.session)
