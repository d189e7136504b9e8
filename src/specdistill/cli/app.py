"""The ``specdistill`` typer app: its consoles, shared options and error handling.

Every command module registers on :data:`app`; none of them is imported here, so
this module imports nothing of the CLI and nothing heavy of the library. Every error
looks the same: one ``error:`` line on stderr, a ``hint:`` line, and exit 2 for bad
input (a SpecdistillError that is :class:`~specdistill.errors.InvalidInput`, or a usage
error: an unknown option, a missing argument, a bad value) or 1 for a failed operation;
``--verbose`` adds the traceback.

Output: the consoles honour ``COLUMNS`` (piped output without it is 80 columns wide);
tables that would split an id or a number fall back to a list
(:func:`specdistill.cli.render.print_table`).
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
from typer._click.exceptions import ClickException
from typer.core import TyperArgument, TyperGroup

from specdistill.cli.invocation import runnable
from specdistill.errors import InvalidInput, SpecdistillError
from specdistill.gate.config import GateMode
from specdistill.inert import inert


def _usage_name(self: TyperArgument) -> str:
    """An argument in a usage line: ``ID`` when required, ``[ID]`` when not (typer 0.29
    writes ``{ID}``, and ``[[ID]]`` for a bracketed metavar)."""
    name = self.display_name_raw
    if not self.required:
        name = f"[{name}]"
    return name + ("..." if self.nargs != 1 else "")


TyperArgument._usage_display_name = _usage_name  # type: ignore[method-assign]


class SpecdistillGroup(TyperGroup):
    """The root command group: usage errors in the CLI's one error style.

    Typer prints a usage error as click's ``Usage: … Error: …`` block; here it becomes
    ``error: <what>`` and ``hint: <where to look>``, exit 2 (click's code for usage).
    """

    def main(
        self,
        args: Any = None,
        prog_name: str | None = None,
        complete_var: str | None = None,
        standalone_mode: bool = True,
        windows_expand_args: bool = True,
        **extra: Any,
    ) -> Any:
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, False, windows_expand_args, **extra)
        except ClickException as exc:
            command = getattr(getattr(exc, "ctx", None), "command_path", None) or "specdistill"
            print_error(exc.format_message(), f"'{command} --help' shows the usage")
            sys.exit(exc.exit_code)
        except typer.Abort:
            print_error("aborted", None)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) else 0)


def print_error(message: str, hint: str | None) -> None:
    """The CLI's one error style: ``error: …`` then ``hint: …`` on stderr."""
    err.print(f"[bold red]error:[/] {escape(message)}", markup=True, soft_wrap=True)
    if hint:
        err.print(f"[dim]hint: {escape(runnable(hint))}[/]", soft_wrap=True)


app = typer.Typer(
    cls=SpecdistillGroup,
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


# A terminal's own width, else $COLUMNS, else 80 (rich's rules); nothing is cut to fit:
# long lines are printed with soft_wrap and tables that do not fit become lists.
out = InertConsole(highlight=False)
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
        help="sequential (a sound sequential test), mean (the reference rule) or off. "
        "run, loop and approve default to sequential; apply to off (a plan applies "
        "without a benchmark).",
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
            print_error(exc.message, exc.hint or "--verbose shows more")
            raise typer.Exit(2 if isinstance(exc, InvalidInput) else 1) from None
        except OSError as exc:  # disk full, permissions, a path that cannot exist
            if _state["verbose"]:
                err.print_exception()
            print_error(str(exc), "check the path and its permissions; --verbose shows more")
            raise typer.Exit(1) from None

    return wrapper  # type: ignore[return-value]


def _print_version(value: bool) -> None:
    if value:
        try:
            from importlib import metadata  # only here: it costs ~12 ms of every start

            version = metadata.version("specdistill")
        except metadata.PackageNotFoundError:  # running from a source tree
            version = "unknown"
        typer.echo(f"specdistill {version}")
        raise typer.Exit()


@app.callback()
def main_options(
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show tracebacks and debug logs.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", is_eager=True, callback=_print_version, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    _state["verbose"] = verbose
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s %(message)s"
    )


def main() -> None:
    """Console-script entry point (the commands are registered by :mod:`specdistill.cli`)."""
    app()
