"""The ``specdistill`` command: a thin typer layer over the library.

Each command parses its options, calls one library function and renders the
result with rich. A SpecdistillError becomes one line on stderr (plus a hint)
and a non-zero exit: 2 for bad input, 1 for runtime failures; ``--verbose``
adds the traceback.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from specdistill.apply import ApplyReport, apply_plan, require_spec_home
from specdistill.checkpoint import (
    CheckpointStore,
    init_checkpoints,
    recover_home,
)
from specdistill.errors import InvalidInput, SpecdistillError
from specdistill.execute import INTERRUPTED_REASON
from specdistill.home import SpecHome, default_home, init_home
from specdistill.models import AutonomyMode
from specdistill.plan import load_plan, plan_json_schema
from specdistill.sessions.rollback import rollback_learning_session

if TYPE_CHECKING:
    from specdistill.evaluation.runner import TaskResult
    from specdistill.gate.driver import BenchmarkGate

app = typer.Typer(
    name="specdistill",
    help="Safely apply a teacher model's typed edits to your agent's spec.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
# Wide enough for the outcome table when piped; a terminal uses its own width.
out = Console(highlight=False, width=None if sys.stdout.isatty() else 120)
err = Console(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])
_state = {"verbose": False}

AllowDirtyOption = Annotated[
    bool,
    typer.Option(
        "--allow-dirty",
        help="Commit uncommitted changes to the spec as a 'manual changes' checkpoint first.",
    ),
]
HomeOption = Annotated[
    Path | None,
    typer.Option(
        "--home", help="The spec home (default: $SPECDISTILL_HOME, else the current directory)."
    ),
]


def handle_errors(command: F) -> F:
    """Print a SpecdistillError as one line (plus hint) and exit non-zero."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except SpecdistillError as exc:
            if _state["verbose"]:
                err.print_exception()
            # The message may quote user or teacher text ("[specdistill.x]"): never markup.
            err.print(f"[bold red]error:[/] {escape(exc.message)}", markup=True, soft_wrap=True)
            if exc.hint:
                err.print(f"[dim]hint: {escape(exc.hint)}[/]", soft_wrap=True)
            raise typer.Exit(2 if isinstance(exc, InvalidInput) else 1) from None
        except OSError as exc:  # disk full, permissions, a path that cannot exist
            if _state["verbose"]:
                err.print_exception()
            err.print(f"[bold red]error:[/] {escape(str(exc))}", markup=True, soft_wrap=True)
            err.print("[dim]hint: check the path and its permissions; --verbose shows more[/]")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


@app.callback()
def main_options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug logs.")
    ] = False,
) -> None:
    _state["verbose"] = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )


@app.command()
@handle_errors
def init(home: HomeOption = None) -> None:
    """Create a minimal valid spec home (existing files are left alone)."""
    root = (home or default_home()).absolute()
    written = init_home(root)
    out.print(f"spec home: {root}")
    for path in written:
        out.print(f"  created {path.relative_to(root)}")
    if not written:
        out.print("  nothing to create: the home already has its files")
    for note in init_checkpoints(root):
        out.print(f"  {escape(note)}")


@app.command()
@handle_errors
def schema() -> None:
    """Print the JSON Schema of a plan: what a teacher's structured output must match."""
    typer.echo(json.dumps(plan_json_schema(), indent=2))


STATUS_STYLE = {
    "applied": "green",
    "rejected_by_gate": "red",
    "pending_review": "yellow",
    "rejected_by_user": "red",
    "rolled_back": "magenta",
    "skipped": "dim",
}


def render_apply_report(report: ApplyReport) -> None:
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
        status = outcome.status
        if report.dry_run and status == "applied":
            status = "would apply"
        style = STATUS_STYLE.get(outcome.status, "")
        delta = outcome.benchmark_delta
        cells = [escape(edit.id), edit.op.value, edit.risk_tier.value, f"[{style}]{status}[/]"]
        if gated:
            cells.append("" if delta is None else f"{delta:+.3f}")
        table.add_row(*cells, escape(outcome.error or ""))
    out.print(table)
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


def print_diff(diff: str) -> None:
    """A unified diff, coloured by line kind; long lines wrap rather than crop."""
    for line in diff.splitlines():
        style = ""
        if line.startswith(("+++", "---")):
            style = "bold"
        elif line.startswith("+"):
            style = "green"
        elif line.startswith("-"):
            style = "red"
        elif line.startswith("@@"):
            style = "cyan"
        out.print(line, style=style, markup=False, soft_wrap=True)


class GateMode(enum.StrEnum):
    off = "off"
    sequential = "sequential"
    mean = "mean"


GateOption = Annotated[
    GateMode,
    typer.Option(
        "--gate",
        help="sequential (a sound sequential test), mean (the reference rule) or off.",
    ),
]
BenchmarkOption = Annotated[
    Path | None,
    typer.Option(
        "--benchmark",
        help="The benchmark JSONL (default: [specdistill.benchmark] path, else "
        "<home>/benchmark.jsonl).",
    ),
]


@contextlib.contextmanager
def gate_session(
    home: Path, mode: GateMode, benchmark: Path | None
) -> Iterator[BenchmarkGate | None]:
    """A gate built from the home's config, with a progress bar on stderr; None if off."""
    if mode is GateMode.off:
        yield None
        return
    from specdistill.gate.settings import gate_from_config

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} runs"),
        TimeElapsedColumn(),
        console=err,
        transient=True,
    ) as bars:
        bar = bars.add_task("gating", total=None)

        def progress(runs: int, budget: int, result: TaskResult) -> None:
            bars.update(bar, completed=runs, total=budget, description=f"gating ({result.cluster})")

        edit_gate = gate_from_config(home, mode=mode.value, benchmark=benchmark, progress=progress)
        try:
            yield edit_gate
        finally:
            if edit_gate.cache is not None:
                edit_gate.cache.close()


@app.command("apply")
@handle_errors
def apply_command(
    plan_file: Annotated[Path, typer.Argument(metavar="PLAN.json", help="The plan to apply.")],
    home: HomeOption = None,
    mode: Annotated[
        AutonomyMode, typer.Option("--mode", help="auto, tiered or manual.")
    ] = AutonomyMode.TIERED,
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
    plan = load_plan(plan_file)
    root = home or default_home()
    with gate_session(root, gate, benchmark) as edit_gate:
        report = apply_plan(
            plan,
            root,
            mode=mode,
            dry_run=dry_run,
            checkpoint=not no_checkpoint,
            allow_dirty=allow_dirty,
            notify=_notify,
            gate=edit_gate,
        )
    _print_notes(report.notes)
    render_apply_report(report)
    if report.commits:
        sid = escape(report.session_id)
        out.print(
            f"session {sid}: {len(report.commits)} commit(s); undo with: specdistill rollback {sid}"
        )
    if report.interrupted_by is not None:
        skipped = sum(1 for o in report.outcomes if o.error == INTERRUPTED_REASON)
        err.print(
            f"interrupted: stopped after the edit in flight; {skipped} edit(s) not attempted",
            soft_wrap=True,
        )
        raise typer.Exit(128 + report.interrupted_by)


def _notify(message: str) -> None:
    err.print(escape(message), soft_wrap=True)


def _print_notes(notes: list[str]) -> None:
    for note in notes:
        err.print(escape(note), soft_wrap=True)


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
    if last == (session_id is not None):  # exactly one of them
        raise InvalidInput("give either a SESSION_ID or --last", hint="see: specdistill log")
    root = home or default_home()
    require_spec_home(SpecHome(root))
    report = rollback_learning_session(
        root, session_id, last=last, allow_dirty=allow_dirty, notify=_notify
    )
    _print_notes(report.notes)
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
    root = home or default_home()
    require_spec_home(SpecHome(root))
    notes = recover_home(root)
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
    root = home or default_home()
    require_spec_home(SpecHome(root))
    entries = CheckpointStore(root).log(limit)
    if as_json:
        typer.echo(json.dumps([entry.to_json() for entry in entries], indent=2))
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


def main() -> None:
    """Console-script entry point."""
    app()


# --- evaluation: `bench run`, `cache stats|clear` ---------------------------------------
# One additive block (issue 4); the library side is specdistill.evaluation.command.

bench_app = typer.Typer(help="Score a spec on a benchmark.", no_args_is_help=True)
cache_app = typer.Typer(
    help="The result cache of benchmark runs (learning/cache.db).", no_args_is_help=True
)
app.add_typer(bench_app, name="bench")
app.add_typer(cache_app, name="cache")


@bench_app.command("run")
@handle_errors
def bench_run_command(
    home: HomeOption = None,
    benchmark: Annotated[
        Path | None,
        typer.Option(
            "--benchmark",
            help="Tasks JSONL (default: specdistill.benchmark.path in config.toml, else "
            "<home>/benchmark.jsonl).",
        ),
    ] = None,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Tasks run at once.")
    ] = None,
    repeats: Annotated[int, typer.Option("--repeats", min=1, help="Runs per task.")] = 1,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every task; neither read nor write the cache.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Score the spec with the student configured in config.toml; print a per-cluster table."""
    from rich.markup import escape
    from rich.progress import Progress

    from specdistill.evaluation.command import bench_run
    from specdistill.evaluation.errors import NothingScored

    root = (home or default_home()).absolute()
    with Progress(console=err, transient=True, disable=as_json) as bar:
        job = bar.add_task("running tasks", total=None)

        def progress(done: int, total: int, result: Any) -> None:
            bar.update(job, completed=done, total=total)

        run = bench_run(
            root, benchmark, concurrency=concurrency, repeats=repeats,
            use_cache=not no_cache, progress=progress,
        )  # fmt: skip
    errors = [(r.task_id, r.error) for r in run.results if r.error]
    if as_json:
        typer.echo(json.dumps({
            "snapshot": run.snapshot.model_dump(mode="json") if run.snapshot else None,
            "clusters": [vars(s) for s in run.summaries],
            "errors": [{"task_id": t, "error": e} for t, e in errors],
        }, indent=2))  # fmt: skip
    else:
        table = Table(title=f"benchmark {run.benchmark.version[:19]}", title_justify="left")
        for column in ("cluster", "runs", "scored", "errors", "cached", "mean"):
            table.add_column(column, justify="left" if column == "cluster" else "right")
        for s in run.summaries:
            mean = "–" if s.mean is None else f"{s.mean:.3f}"
            style = "red" if s.errors else ""
            errs = f"[{style}]{s.errors}[/]" if style else str(s.errors)
            table.add_row(escape(s.cluster), str(s.n), str(s.scored), errs, str(s.cached), mean)
        out.print(table)
        out.print(f"{len(run.results)} runs in {run.elapsed:.1f}s")
        for task_id, error in errors[:5]:
            out.print(f"[red]error[/] {escape(task_id)}: {escape(error or '')}", soft_wrap=True)
        if len(errors) > 5:
            out.print(f"… and {len(errors) - 5} more errors")
    if run.snapshot is None:
        raise NothingScored(run.error or "no task was scored")


@cache_app.command("stats")
@handle_errors
def cache_stats_command(home: HomeOption = None) -> None:
    """Show how many results the cache holds."""
    from specdistill.evaluation.cache import cache_stats

    stats = cache_stats((home or default_home()).absolute())
    out.print(f"cache: {stats.path}")
    out.print(f"  {stats.entries} results for {stats.tasks} tasks, {stats.size_bytes} bytes")


@cache_app.command("clear")
@handle_errors
def cache_clear_command(home: HomeOption = None) -> None:
    """Delete the cache (works on a corrupt file too); cached tasks run again next time."""
    from specdistill.evaluation.cache import cache_clear

    removed = cache_clear((home or default_home()).absolute())
    if removed is None:
        out.print("removed an unreadable cache file")
    else:
        out.print(f"removed {removed} cached results")


# Command groups defined in their own modules register themselves on ``app``.
from specdistill import cli_run as _cli_run  # noqa: E402,F401  (run, quickstart)
from specdistill import cli_sessions as _cli_sessions  # noqa: E402,F401  (review, history, ...)
from specdistill import cli_teacher as _cli_teacher  # noqa: E402,F401  (benchmark build, traces)
