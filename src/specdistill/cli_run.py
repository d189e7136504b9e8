"""``specdistill run``, ``loop`` and ``quickstart``: whole sessions from the command line.

A thin layer, like the rest of the CLI: parse, call one library function, render.
``run --plan`` runs a ready plan (:func:`~specdistill.sessions.run.run_session`); ``run``
without it asks the teacher (:func:`~specdistill.sessions.teach.teach_session`, with
``--rounds N`` to hill-climb); ``loop`` runs teacher sessions until the score stagnates
(:func:`~specdistill.sessions.loop.run_loop`); ``quickstart`` is
:func:`~specdistill.example.quickstart.run_quickstart`. Registered on the shared ``app``
by the import at the end of :mod:`specdistill.cli`.
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
from specdistill.errors import ConfigError, InvalidInput
from specdistill.home import default_home
from specdistill.models import AutonomyMode, Edit, LearningPlan, LearningSession
from specdistill.plan import load_plan
from specdistill.sessions.run import Progress as RunProgress
from specdistill.sessions.run import interrupted_by
from specdistill.sessions.store import SessionStore, dump_session_json
from specdistill.sessions.teacher_log import teacher_summary
from specdistill.tiers import assign_tiers

JsonOption = Annotated[bool, typer.Option("--json", help="Print session.json instead of tables.")]
ModeOption = Annotated[AutonomyMode, typer.Option("--mode", help="auto, tiered or manual.")]
TracesOption = Annotated[
    Path | None,
    typer.Option(
        "--traces",
        help="Traces for the teacher: JSONL or an OpenJarvis traces.db "
        "(default: [specdistill.traces] path).",
    ),
]
RoundsOption = Annotated[
    int | None,
    typer.Option(
        "--rounds", min=1, help="Hill-climb: one teacher edit per round, each gated, N rounds."
    ),
]


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


def render_teacher(session: LearningSession) -> None:
    """What the teacher cost and what it proposed that was dropped, with the reasons."""
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


def _exit_if_interrupted(session: LearningSession) -> None:
    signum = interrupted_by(session)
    if signum is not None:
        raise typer.Exit(128 + signum)


@app.command("run")
@handle_errors
def run_command(
    plan_file: Annotated[
        Path | None,
        typer.Option(
            "--plan", metavar="PLAN.json", help="A ready plan of edits (no teacher is asked)."
        ),
    ] = None,
    traces: TracesOption = None,
    rounds: RoundsOption = None,
    home: HomeOption = None,
    mode: ModeOption = AutonomyMode.TIERED,
    gate: GateOption = GateMode.sequential,
    benchmark: BenchmarkOption = None,
    allow_dirty: AllowDirtyOption = False,
    as_json: JsonOption = False,
) -> None:
    """Run a session: diagnose and plan with the teacher (or take --plan), then apply the
    edits through the gate and record.

    Each kept edit is a git commit; rejected ones leave the files byte-identical;
    review-tier edits (every edit, in manual mode) wait in 'specdistill review'.
    """
    root = (home or default_home()).absolute()
    if plan_file is not None and (traces is not None or rounds is not None):
        raise InvalidInput(
            "--plan runs a ready plan; --traces and --rounds ask the teacher: use one or the other"
        )
    with progress_bar(enabled=not as_json) as progress:
        if plan_file is not None:
            from specdistill.sessions.run import run_session

            session = run_session(
                root, load_plan(plan_file), mode=mode, gate_mode=gate.value,
                benchmark=benchmark, allow_dirty=allow_dirty, progress=progress, notify=_notify,
            )  # fmt: skip
        else:
            from specdistill.sessions.teach import teach_session

            session = teach_session(
                root, traces=traces, rounds=rounds, mode=mode, gate_mode=gate.value,
                benchmark=benchmark, allow_dirty=allow_dirty, progress=progress, notify=_notify,
            )  # fmt: skip
    if as_json:
        typer.echo(dump_session_json(session))
    else:
        render_teacher(session)
        render_session(session, SessionStore(root).load_plan(session.id), root)
    _exit_if_interrupted(session)


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


@app.command("loop")
@handle_errors
def loop_command(
    traces: TracesOption = None,
    max_sessions: Annotated[
        int, typer.Option("--max-sessions", min=1, help="At most this many sessions.")
    ] = 5,
    stagnation: Annotated[
        int,
        typer.Option("--stagnation", min=1, help="Stop after K sessions without a gain."),
    ] = 2,
    min_gain: Annotated[
        float,
        typer.Option("--min-gain", min=0.0, help="A smaller gain in overall score is none."),
    ] = 0.01,
    budget: Annotated[
        float | None,
        typer.Option("--budget", min=0.0, metavar="USD", help="Total teacher budget."),
    ] = None,
    rounds: RoundsOption = None,
    home: HomeOption = None,
    mode: ModeOption = AutonomyMode.TIERED,
    gate: GateOption = GateMode.sequential,
    benchmark: BenchmarkOption = None,
    allow_dirty: AllowDirtyOption = False,
) -> None:
    """Run teacher sessions until the gate score stagnates or the total budget is spent.

    Each session diagnoses the spec as the last one left it; one line per session, then
    a summary. 'specdistill rollback ID' undoes any one of them.
    """
    from specdistill.sessions.loop import run_loop

    root = (home or default_home()).absolute()
    count = 0

    def show(session: LearningSession) -> None:
        nonlocal count
        count += 1
        out.print(escape(session_line(count, session)), soft_wrap=True)

    with progress_bar() as progress:
        result = run_loop(
            root, traces=traces, max_sessions=max_sessions, stagnation=stagnation,
            min_gain=min_gain, budget_usd=budget, rounds=rounds, mode=mode,
            gate_mode=gate.value, benchmark=benchmark, allow_dirty=allow_dirty,
            progress=progress, notify=_notify, on_session=show,
        )  # fmt: skip
    scores = result.scores
    moved = f"score {scores[0]:.3f} -> {scores[-1]:.3f}" if scores else "no score"
    out.print(
        f"loop: {len(result.sessions)} session(s), {moved}, teacher ${result.cost_usd:.4f}; "
        f"stopped: {escape(result.stopped)}",
        soft_wrap=True,
    )
    if result.error:
        err.print(f"[red]{escape(result.error)}[/]", soft_wrap=True)
        raise typer.Exit(1)
    if result.sessions:
        _exit_if_interrupted(result.sessions[-1])


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
