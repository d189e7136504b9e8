"""``specdistill run``, ``loop`` and ``quickstart``: whole sessions from the command line.

``run --plan`` runs a ready plan; ``run`` without it asks the teacher (``--rounds N`` to
hill-climb); ``loop`` runs teacher sessions until the score stagnates; ``quickstart``
runs the bundled example offline. Each calls one :mod:`specdistill.commands` function
(:func:`~specdistill.commands.run_session`, :func:`~specdistill.commands.loop`,
:func:`~specdistill.commands.quickstart`) and renders the session.
"""

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape

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
from specdistill.cli.progress import notify, session_progress
from specdistill.cli.render import render_session, render_teacher, session_line
from specdistill.gate.config import GateMode

if TYPE_CHECKING:
    from specdistill.models import LearningSession

JsonOption = Annotated[bool, typer.Option("--json", help="Print session.json instead of tables.")]
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
        "--rounds",
        min=1,
        metavar="N",
        help="Hill-climb: one teacher edit per round, each gated, N rounds.",
    ),
]


def exit_if_interrupted(signum: int | None) -> None:
    """Exit 128 + the signal when a session was stopped by one (the shell's convention)."""
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
    mode: ModeOption = "tiered",
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
    from specdistill import commands

    with session_progress(enabled=not as_json) as progress:
        result = commands.run_session(
            home, plan=plan_file, traces=traces, rounds=rounds, mode=mode, gate=gate,
            benchmark=benchmark, allow_dirty=allow_dirty, progress=progress, notify=notify,
        )  # fmt: skip
    if as_json:
        from specdistill.sessions.store import dump_session_json

        typer.echo(dump_session_json(result.session))
    else:
        render_teacher(result.session)
        if result.plan_error is not None:
            raise result.plan_error
        render_session(result)
    exit_if_interrupted(result.interrupted_by)


@app.command("loop")
@handle_errors
def loop_command(
    traces: TracesOption = None,
    max_sessions: Annotated[
        int, typer.Option("--max-sessions", min=1, metavar="N", help="At most this many sessions.")
    ] = 5,
    stagnation: Annotated[
        int,
        typer.Option(
            "--stagnation", min=1, metavar="K", help="Stop after K sessions without a gain."
        ),
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
    mode: ModeOption = "tiered",
    gate: GateOption = GateMode.sequential,
    benchmark: BenchmarkOption = None,
    allow_dirty: AllowDirtyOption = False,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json", help="Print one JSON document (each session, scores, why it stopped)."
        ),
    ] = False,
) -> None:
    """Run teacher sessions until the gate score stagnates or the total budget is spent.

    Each session diagnoses the spec as the last one left it; one line per session, then
    a summary. 'specdistill rollback ID' undoes any one of them.
    """
    from specdistill import commands

    count = 0

    def show(session: "LearningSession") -> None:
        nonlocal count
        count += 1
        if not as_json:
            out.print(escape(session_line(count, session)), soft_wrap=True)

    with session_progress(enabled=not as_json) as progress:
        result = commands.loop(
            home, traces=traces, max_sessions=max_sessions, stagnation=stagnation,
            min_gain=min_gain, budget_usd=budget, rounds=rounds, mode=mode, gate=gate,
            benchmark=benchmark, allow_dirty=allow_dirty, progress=progress, notify=notify,
            on_session=show,
        )  # fmt: skip
    if as_json:
        echo_json(result.as_json())
    else:
        scores = result.scores
        moved = f"score {scores[0]:.3f} -> {scores[-1]:.3f}" if scores else "no score"
        out.print(
            f"loop: {len(result.sessions)} session(s), {moved}, teacher "
            f"${result.cost_usd:.4f}; stopped: {escape(result.stopped)}",
            soft_wrap=True,
        )
    if result.error:
        if not as_json:
            err.print(f"[red]{escape(result.error)}[/]", soft_wrap=True)
        raise typer.Exit(1)
    if result.sessions:
        from specdistill.sessions.run import interrupted_by

        exit_if_interrupted(interrupted_by(result.sessions[-1]))


@app.command("quickstart")
@handle_errors
def quickstart_command(
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Where to create the example home (new or empty; default: a new temporary "
            "folder; $SPECDISTILL_HOME is not read, so it never lands in your real home).",
        ),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Argument(metavar="DIR", help="Deprecated: use --home DIR.", hidden=True),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create an example spec home and run a full gated session on it, offline.

    The student is a small deterministic agent bundled with specdistill that reads the
    spec (prompt, tools, params, routing), so edits really change its answers.
    """
    from specdistill import commands
    from specdistill.errors import InvalidInput

    if directory is not None:
        if home is not None and home != directory:
            raise InvalidInput(
                f"quickstart got two homes: --home {home} and DIR {directory}",
                hint="pass only --home DIR",
            )
        err.print("note: 'quickstart DIR' is deprecated; use 'quickstart --home DIR'")
        home = directory
    with session_progress(enabled=not as_json) as progress:
        result = commands.quickstart(home, progress=progress, notify=notify)
    if as_json:
        from specdistill.sessions.store import dump_session_json

        typer.echo(dump_session_json(result.session))
        exit_if_interrupted(result.interrupted_by)
        return
    home = result.home
    out.print(f"example spec home: {escape(str(home))}", soft_wrap=True)
    for note in result.notes:
        out.print(f"  {escape(note)}", soft_wrap=True)
    if result.plan_error is not None:
        raise result.plan_error
    render_session(result, undo_hint=False)
    sid, h = escape(result.session.id), escape(str(home))
    pending = [o.edit_id for o in result.session.edit_outcomes if o.status == "pending_review"]
    name = escape(prog())
    commands_to_try = [
        (f"{name} review --home {h}", "the edits waiting for you"),
        (f"{name} show {sid} --home {h}", "the session in detail"),
    ]
    if pending:
        approve = f"{name} approve {sid}:{escape(pending[0])} --home {h}"
        commands_to_try.append((approve, "try a queued edit, through the gate"))
    commands_to_try.append((f"{name} rollback {sid} --home {h}", "undo the session"))
    out.print("\nnext, try:")
    for command, what in commands_to_try:
        out.print(f"  {command}   [dim]# {what}[/]", soft_wrap=True)
    exit_if_interrupted(result.interrupted_by)
