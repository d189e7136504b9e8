"""``specdistill benchmark run`` and ``specdistill cache stats|clear``: scoring a spec.

``benchmark run`` joins ``benchmark build`` and ``benchmark check`` in one group;
``bench run``, its name before, stays as a hidden alias so scripts keep working.

Each calls one :mod:`specdistill.commands` function (:func:`~specdistill.commands.
bench_run`, :func:`~specdistill.commands.cache_stats`, :func:`~specdistill.commands.
cache_clear`) and renders the result.
"""

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.table import Table

from specdistill.cli.app import HomeOption, app, echo_json, handle_errors, out
from specdistill.cli.progress import task_progress
from specdistill.cli.render import print_table
from specdistill.cli.teacher import benchmark_app

bench_app = typer.Typer(
    rich_markup_mode=None,
    help="Deprecated alias of 'specdistill benchmark' (bench run = benchmark run).",
    no_args_is_help=True,
)
cache_app = typer.Typer(
    rich_markup_mode=None,
    help="The result cache of benchmark runs (learning/cache.db).",
    no_args_is_help=True,
)
app.add_typer(bench_app, name="bench", hidden=True)
app.add_typer(cache_app, name="cache")

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


@benchmark_app.command("run")
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
        int | None, typer.Option("--concurrency", min=1, metavar="N", help="Tasks run at once.")
    ] = None,
    repeats: Annotated[
        int, typer.Option("--repeats", min=1, metavar="N", help="Runs per task.")
    ] = 1,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Run every task; neither read nor write the cache.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Score the spec with the student configured in config.toml; print a per-cluster table."""
    from specdistill import commands
    from specdistill.evaluation.errors import NothingScored

    with task_progress(enabled=not as_json) as progress:
        run = commands.bench_run(
            home, benchmark=benchmark, concurrency=concurrency, repeats=repeats,
            use_cache=not no_cache, progress=progress,
        )  # fmt: skip
    errors = [(r.task_id, r.error) for r in run.results if r.error]
    if as_json:
        echo_json({
            "snapshot": run.snapshot.model_dump(mode="json") if run.snapshot else None,
            "clusters": [vars(s) for s in run.summaries],
            "errors": [{"task_id": t, "error": e} for t, e in errors],
        })  # fmt: skip
    else:
        table = Table(title=f"benchmark {run.benchmark.version[:19]}", title_justify="left")
        for column in ("cluster", "runs", "scored", "errors", "cached", "mean"):
            table.add_column(column, justify="left" if column == "cluster" else "right")
        for s in run.summaries:
            mean = "–" if s.mean is None else f"{s.mean:.3f}"
            style = "red" if s.errors else ""
            errs = f"[{style}]{s.errors}[/]" if style else str(s.errors)
            table.add_row(escape(s.cluster), str(s.n), str(s.scored), errs, str(s.cached), mean)
        print_table(table)
        out.print(f"{len(run.results)} runs in {run.elapsed:.1f}s")
        for task_id, error in errors[:5]:
            out.print(f"[red]error[/] {escape(task_id)}: {escape(error or '')}", soft_wrap=True)
        if len(errors) > 5:
            out.print(f"… and {len(errors) - 5} more errors")
    if run.snapshot is None:
        raise NothingScored(run.error or "no task was scored")


@cache_app.command("stats")
@handle_errors
def cache_stats_command(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Show how many results the cache holds."""
    from specdistill import commands

    stats = commands.cache_stats(home)
    if as_json:
        echo_json({"path": str(stats.path), "entries": stats.entries, "tasks": stats.tasks,
                   "size_bytes": stats.size_bytes})  # fmt: skip
        return
    out.print(f"cache: {escape(str(stats.path))}", soft_wrap=True)
    out.print(f"  {stats.entries} results for {stats.tasks} tasks, {stats.size_bytes} bytes")


@cache_app.command("clear")
@handle_errors
def cache_clear_command(home: HomeOption = None, as_json: JsonOption = False) -> None:
    """Delete the cache (works on a corrupt file too); cached tasks run again next time."""
    from specdistill import commands

    removed = commands.cache_clear(home)
    if as_json:
        echo_json({"removed": removed, "unreadable": removed is None})
    elif removed is None:
        out.print("removed an unreadable cache file")
    else:
        out.print(f"removed {removed} cached results")
