"""The ``specdistill`` command: a thin typer layer over the library.

Each command parses its options, calls one library function and renders the
result with rich. A SpecdistillError becomes one line on stderr (plus a hint)
and a non-zero exit: 2 for bad input, 1 for runtime failures; ``--verbose``
adds the traceback.
"""

from __future__ import annotations

import functools
import json
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.table import Table

from specdistill.apply import ApplyReport, apply_plan
from specdistill.errors import InvalidInput, SpecdistillError
from specdistill.home import default_home, init_home
from specdistill.models import AutonomyMode
from specdistill.plan import load_plan, plan_json_schema

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
            err.print(f"[bold red]error:[/] {exc.message}", markup=True, soft_wrap=True)
            if exc.hint:
                err.print(f"[dim]hint: {exc.hint}[/]", soft_wrap=True)
            raise typer.Exit(2 if isinstance(exc, InvalidInput) else 1) from None

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
    table.add_column("reason", overflow="fold", min_width=24)
    for edit, outcome in zip(report.edits, report.outcomes, strict=True):
        status = outcome.status
        if report.dry_run and status == "applied":
            status = "would apply"
        style = STATUS_STYLE.get(outcome.status, "")
        table.add_row(
            edit.id,
            edit.op.value,
            edit.risk_tier.value,
            f"[{style}]{status}[/]",
            outcome.error or "",
        )
    out.print(table)
    for edit_id, diff in report.diffs.items():
        if not diff:
            out.print(f"[bold]{edit_id}[/]: no change (already as proposed)")
            continue
        out.print(f"[bold]{edit_id}[/]")
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
) -> None:
    """Apply a plan's edits to the spec home and show what changed."""
    plan = load_plan(plan_file)
    report = apply_plan(plan, home or default_home(), mode=mode, dry_run=dry_run)
    render_apply_report(report)


def main() -> None:
    """Console-script entry point."""
    app()
