"""Where a student run happens: in this process (``local``) or as a Ray task (``ray``).

The runner keeps everything that decides anything on the driver: the task list, the
cache, retries and backoff, scoring, error accounting, the gate. An executor only runs
``student.run(task, view)`` for it. :meth:`Executor.bind` is called once per
:meth:`Runner.run <specdistill.evaluation.runner.Runner.run>` with the student and the
spec home being scored, and returns the function that runs one (task, view) there;
:meth:`Executor.aclose` cancels whatever is still running.

``[specdistill.runner] executor = "ray"`` (with ``address``) picks
:class:`~specdistill.evaluation.ray_executor.RayExecutor`; Ray is imported only then,
so specdistill without the ``ray`` extra works as before. A failure an executor reports
is a :class:`~specdistill.evaluation.errors.TaskRunError` like any student's (retryable
when a worker died or a run timed out), so the runner retries it the same way and a run
that fails for good is an error, never a score.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from specdistill.evaluation.ray_executor import RayExecutor
from specdistill.evaluation.scoring import Task
from specdistill.evaluation.spec_view import StudentSpec
from specdistill.evaluation.students import Student, StudentAnswer
from specdistill.home import SpecHome

#: Runs one (task, view) for the student and home an executor was bound to.
RunStudent = Callable[[Task, StudentSpec], Awaitable[StudentAnswer]]

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    """Runs student runs for the runner (see the module docstring)."""

    name: str

    def bind(self, student: Student, home: SpecHome) -> RunStudent:
        """The function that runs ``student`` on one task of the spec at ``home``."""
        ...

    async def aclose(self) -> None:
        """Cancel runs still outstanding; the executor may be bound again later."""
        ...


class LocalExecutor:
    """Today's runner: the student runs in this process (its own subprocesses, threads or
    HTTP calls)."""

    name = "local"

    def __repr__(self) -> str:
        return "LocalExecutor()"

    def bind(self, student: Student, home: SpecHome) -> RunStudent:
        return student.run

    async def aclose(self) -> None:
        return None


def make_executor(kind: str = "local", *, address: str = "auto") -> Executor:
    """The executor ``[specdistill.runner] executor`` names (``address``: the Ray cluster)."""
    if kind == "ray":
        return RayExecutor(address)
    return LocalExecutor()
