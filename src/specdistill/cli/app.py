"""The ``specdistill`` typer app: its consoles, shared options and error handling.

Every command module registers on :data:`app`; none of them is imported here, so
this module imports nothing of the CLI and nothing heavy of the library. A
SpecdistillError becomes one line on stderr (plus a hint) and a non-zero exit: 2 for
bad input, 1 for runtime failures; ``--verbose`` adds the traceback.
"""

import functools
import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from specdistill.errors import InvalidInput, SpecdistillError
from specdistill.gate.config import GateMode
from specdistill.inert import inert

app = typer.Typer(
    rich_markup_mode=None,
    name="specdistill",
    help="Safely apply a teacher model's typed edits to your agent's spec.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


class InertConsole(Console):
    """A rich console that shows control characters in any string it renders as escapes
    (:func:`specdistill.inert.inert`): every printed string and table cell goes through
    ``render_str``, so untrusted text (edit ids, rationales, diffs, endpoint replies)
    cannot drive the terminal, whoever prints it."""

    def render_str(self, text: str, **options: Any) -> Any:
        return super().render_str(inert(text), **options)


# Wide enough for the outcome table when piped; a terminal uses its own width.
out = InertConsole(highlight=False, width=None if sys.stdout.isatty() else 120)
err = InertConsole(stderr=True, highlight=False)

F = TypeVar("F", bound=Callable[..., Any])
_state = {"verbose": False}

#: The values of :class:`specdistill.models.AutonomyMode`, spelled here so that building
#: the command line does not import pydantic (tests/test_commands.py pins them equal).
AutonomyModeName = Literal["auto", "tiered", "manual"]

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
ModeOption = Annotated[AutonomyModeName, typer.Option("--mode", help="auto, tiered or manual.")]
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


def echo_json(data: object) -> None:
    """Print ``data`` as indented JSON on stdout (json is imported only when needed)."""
    import json

    typer.echo(json.dumps(data, indent=2))


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


def main() -> None:
    """Console-script entry point (the commands are registered by :mod:`specdistill.cli`)."""
    app()
