"""What the CLI shows while a command runs: one-line notices and progress bars on stderr.

Each bar is a context manager yielding the callback the library takes (or None when
there is nothing to show), so a command passes it through and knows nothing of rich.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from rich.markup import escape

from specdistill.cli.app import err
from specdistill.gate.config import GateMode
from specdistill.inert import inert

if TYPE_CHECKING:
    from specdistill.evaluation.runner import ProgressCallback, TaskResult
    from specdistill.gate.driver import GateProgress
    from specdistill.sessions.run import Progress as SessionProgress


def notify(message: str) -> None:
    """A one-line notice from the library (a deferred Ctrl-C, a recovery, a warning)."""
    err.print(escape(message), soft_wrap=True)


def print_notes(notes: list[str]) -> None:
    """What setting up a run did (recovery, baseline, manual changes), one line each."""
    for note in notes:
        notify(note)


@contextmanager
def gate_progress(mode: GateMode) -> Iterator[GateProgress | None]:
    """A transient bar of the gate's task runs (None if the gate is off)."""
    if mode is GateMode.off:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

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
            shown = escape(inert(result.cluster))  # a cluster name is untrusted text
            bars.update(bar, completed=runs, total=budget, description=f"gating ({shown})")

        yield progress


@contextmanager
def session_progress(enabled: bool = True) -> Iterator[SessionProgress | None]:
    """A transient bar fed by a session's progress callback (none when piped)."""
    if not enabled or not err.is_terminal:  # piped: no bar (rich would leave a blank line)
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

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
            bars.update(bar, description=escape(inert(label)), completed=done, total=shown)

        yield progress


@contextmanager
def task_progress(enabled: bool = True) -> Iterator[ProgressCallback]:
    """A transient bar of a benchmark run's tasks (hidden when ``enabled`` is false)."""
    from rich.progress import Progress

    with Progress(console=err, transient=True, disable=not enabled) as bar:
        job = bar.add_task("running tasks", total=None)

        def progress(done: int, total: int, result: TaskResult) -> None:
            bar.update(job, completed=done, total=total)

        yield progress
