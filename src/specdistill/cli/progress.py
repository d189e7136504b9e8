"""What the CLI shows while a command runs: one-line notices and progress bars on stderr.

Each bar is a context manager yielding the callback the library takes (or None when
there is nothing to show), so a command passes it through and knows nothing of rich.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from rich.markup import escape

from specdistill.cli.app import err
from specdistill.gate.config import GateMode
from specdistill.inert import inert

if TYPE_CHECKING:
    from rich.progress import ProgressColumn, Task

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
    if mode is GateMode.off or not err.is_terminal:
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed} runs (at most {task.fields[budget]})"),
        clock_column(),
        console=err,
        transient=True,
    ) as bars:
        bar = bars.add_task("gating", total=None, budget="?")

        def progress(runs: int, budget: int, result: TaskResult) -> None:
            shown = escape(inert(result.cluster))  # a cluster name is untrusted text
            # The budget is a ceiling the gate rarely reaches: a pulse, not a fake total.
            bars.update(bar, completed=runs, budget=budget, description=f"gating ({shown})")

        yield progress


@contextmanager
def session_progress(enabled: bool = True) -> Iterator[SessionProgress | None]:
    """A session's progress on stderr: a bar per phase (with its total where one is known:
    the baseline and after snapshots), the live line of the edit being gated (``edit 3/8
    e3-warmer: target 7↑ 1↓, others 24 = 1↓, leaning reject``) kept as one line per edit
    once decided, and a clock that runs from the start. Quiet when stderr is not a
    terminal (piped output stays clean)."""
    if not enabled or not err.is_terminal:  # piped: no bar (rich would leave a blank line)
        yield None
        return
    from rich.progress import BarColumn, Progress, TextColumn

    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[count]}"),
        clock_column(),
        console=err,
        transient=True,
    ) as bars:
        bar = bars.add_task("starting", total=None, count="")

        def progress(label: str, done: int, total: int) -> None:
            shown = escape(inert(label))
            if label.startswith("edit ") and (done, total) == (0, 0):
                bars.console.print(shown, soft_wrap=True)  # the edit's outcome: kept
                bars.update(bar, description="next edit", completed=0, total=None, count="")
                return
            if label in ("baseline", "after"):  # the whole benchmark: the total is known
                count = f"{done}/{total} runs"
                bars.update(bar, description=shown, completed=done, total=total, count=count)
                return
            # The gate's total is its budget, which it rarely uses: no fake total.
            count = f"{done} runs (at most {total})" if total else f"{done} runs"
            bars.update(bar, description=shown, completed=done, total=None, count=count)

        yield progress


def clock_column() -> ProgressColumn:
    """A column showing the time since the display started; unlike rich's elapsed
    column it keeps running when a bar's task completes (the baseline's, say)."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class Clock(ProgressColumn):
        def __init__(self) -> None:
            super().__init__()
            self.started = time.monotonic()

        def render(self, task: Task) -> Text:
            seconds = int(time.monotonic() - self.started)
            return Text(str(timedelta(seconds=seconds)), style="progress.elapsed")

    return Clock()


@contextmanager
def task_progress(enabled: bool = True) -> Iterator[ProgressCallback]:
    """A transient bar of a benchmark run's tasks (hidden when ``enabled`` is false)."""
    from rich.progress import Progress

    with Progress(console=err, transient=True, disable=not enabled) as bar:
        job = bar.add_task("running tasks", total=None)

        def progress(done: int, total: int, result: TaskResult) -> None:
            bar.update(job, completed=done, total=total)

        yield progress
