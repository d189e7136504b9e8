"""Student runs as Ray tasks: ``[specdistill.runner] executor = "ray"``.

Each student run (one task, one spec, one repeat) is one Ray task. What runs where:

========================  ===========================================================
on the driver             the benchmark, the spec home, the result cache, the runner's
                          retries and backoff, scoring (and the judge), error
                          accounting, the gate and every decision
in a Ray task (a worker)  ``student.run(task, view)`` and nothing else
========================  ===========================================================

**What travels with a run.** The task and its :class:`StudentSpec` (the student's view:
model, params, prompt, exemplars, tools), never the home's path. An ``openai`` student
needs nothing else: it is rebuilt on the worker from its endpoint URL, timeout and the
*name* of the variable its API key came from; the key itself never travels (a
:class:`~specdistill.evaluation.endpoint.Secret` cannot be pickled) and is read from
the worker's own environment. A ``command`` or ``python`` student reads the home, so
the spec's files (``config.toml``, ``agents/``, ``tools/``, and the files ``argv``
names inside the home) are shipped once per batch as a bounded snapshot
(:data:`SNAPSHOT_MAX_BYTES`, :data:`SNAPSHOT_MAX_FILES`; ``learning/`` is never
shipped) put in Ray's object store; the worker writes it to a fresh temporary directory,
runs the agent there (``spec_home`` and the view's ``home`` point at it) and deletes it.

**Faults.** Ray never retries on its own (``max_retries=0``): a worker or node that
dies, a lost object or a run that outlasts its guard comes back as a retryable
:class:`TaskRunError`, and the runner retries it exactly as it retries a local timeout;
a run that fails for good is an error, never a score. The student's own failures
(timeouts, exit codes, HTTP errors) come back as data with their ``retryable`` flag
unchanged. **Cancellation.** When the runner's await is cancelled (Ctrl-C in
``asyncio.run``) the Ray task is cancelled: on the worker this interrupts the run, and
a ``command`` student's process group is killed as it is locally.

Ray is imported only when this executor is built; without it (``pip install
'specdistill[ray]'``) the setting fails with one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import os
import tempfile
import time
from collections.abc import Awaitable, Callable, Coroutine
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

from specdistill.errors import RuntimeFailure, SpecdistillError
from specdistill.evaluation.endpoint import ChatEndpoint, Secret
from specdistill.evaluation.errors import EvaluationConfigError, TaskRunError
from specdistill.evaluation.scoring import Task
from specdistill.evaluation.spec_view import StudentSpec
from specdistill.evaluation.students import CommandStudent, OpenAIStudent, Student, StudentAnswer
from specdistill.home import SPEC_PATHS, SpecHome

log = logging.getLogger("specdistill.evaluation")

#: Bounds on the spec snapshot a command/python run carries.
SNAPSHOT_MAX_BYTES = 32 * 1024 * 1024
SNAPSHOT_MAX_FILES = 5000
#: Seconds a run may take beyond the student's own timeout before the driver gives up on
#: its Ray task (queueing for a CPU, starting a worker): only a hung worker reaches it.
GUARD_GRACE = 120.0
#: Seconds between wake-ups of a worker's event loop, so a cancel is noticed promptly.
TICK = 0.1
#: Ray failures that say nothing about the run itself: retried like a timeout.
RETRYABLE_RAY_ERRORS = frozenset(
    {
        "WorkerCrashedError",
        "NodeDiedError",
        "LocalRayletDiedError",
        "ObjectLostError",
        "OwnerDiedError",
        "ObjectFetchTimedOutError",
        "ObjectReconstructionFailedError",
        "OutOfMemoryError",
        "TaskCancelledError",
        "RpcError",
    }
)

Snapshot = dict[str, bytes]


def import_ray() -> Any:
    """The ``ray`` module, or one configuration error saying how to get it."""
    try:
        import ray  # only when the ray executor is chosen
    except ImportError:
        raise EvaluationConfigError(
            "[specdistill.runner] executor = 'ray' needs Ray, which is not installed",
            hint="pip install 'specdistill[ray]' (or set executor = 'local')",
        ) from None
    return ray


# --- what travels ------------------------------------------------------------------------


def spec_snapshot(
    home: SpecHome,
    extra: tuple[str, ...] = (),
    *,
    max_bytes: int = SNAPSHOT_MAX_BYTES,
    max_files: int = SNAPSHOT_MAX_FILES,
) -> Snapshot:
    """The spec's files (and ``extra`` home-relative files), bounded: {posix path: bytes}.

    Regular files only (a symlink is not followed); ``learning/`` is never included.
    """
    paths: list[Path] = []
    for top in (*SPEC_PATHS, *extra):
        root = home.root / top
        if root.is_symlink():
            continue
        if root.is_file():
            paths.append(root)
        elif root.is_dir():
            paths += sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())
    snapshot: Snapshot = {}
    total = 0
    for path in paths:
        if len(snapshot) >= max_files:
            raise EvaluationConfigError(
                f"the spec has more than {max_files} files to ship to Ray workers"
            )
        data = path.read_bytes()
        total += len(data)
        if total > max_bytes:
            raise EvaluationConfigError(
                f"the spec's files exceed {max_bytes} bytes "
                f"(at {path.relative_to(home.root)}): too big to ship to Ray workers"
            )
        snapshot[path.relative_to(home.root).as_posix()] = data
    return snapshot


def write_snapshot(snapshot: Snapshot, root: Path) -> None:
    """Write ``snapshot`` under ``root``, refusing any path that would leave it."""
    for name, data in snapshot.items():
        relative = PurePosixPath(name)
        if relative.is_absolute() or ".." in relative.parts or not relative.parts:
            raise TaskRunError(f"spec snapshot: refused path {name!r}")
        target = root.joinpath(*relative.parts)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)


def _home_files(student: Student, home: SpecHome) -> tuple[str, ...]:
    """Files a command's argv names inside the home (``["python", "agent.py"]``)."""
    if not isinstance(student, CommandStudent):
        return ()
    base = student.cwd or home.root
    found = []
    for item in student.argv[1:]:
        path = (base / item).resolve()
        if path.is_file() and path.is_relative_to(home.root.resolve()):
            found.append(path.relative_to(home.root.resolve()).as_posix())
    return tuple(found)


def _view_for_wire(view: StudentSpec) -> StudentSpec:
    # A MappingProxyType cannot be pickled; the worker puts it back.
    return dataclasses.replace(view, params=dict(view.params), home=Path("."))


def _openai_recipe(student: OpenAIStudent, index: int) -> dict[str, Any]:
    endpoint = student.endpoints[index]
    return {
        "base_url": endpoint.base_url,
        "timeout": endpoint.timeout,
        "name": endpoint.name,
        "key_env": endpoint.key_env,
        "has_key": endpoint.has_key,
    }


# --- on the worker -----------------------------------------------------------------------


def _worker_endpoint(recipe: dict[str, Any]) -> ChatEndpoint:
    key = None
    if recipe["has_key"]:
        name = recipe["key_env"]
        value = os.environ.get(name) if name else None
        if not value:
            where = f"{name} is not set" if name else "the key was given in code, not by name"
            raise TaskRunError(
                f"the student's API key is not available on the Ray worker ({where}): set "
                "the variable in the environment `ray start` runs in on every node"
            )
        key = Secret(value)
    return ChatEndpoint(
        recipe["base_url"], api_key=key, timeout=recipe["timeout"], name=recipe["name"]
    )


def _drive(coroutine: Coroutine[Any, Any, StudentAnswer]) -> StudentAnswer:
    """Run the student's coroutine; on Ray's cancel (a KeyboardInterrupt in this thread)
    cancel it inside its loop first, so a command's process group is killed."""
    loop = asyncio.new_event_loop()
    job = loop.create_task(coroutine)

    def tick() -> None:
        # Ray's cancel is a KeyboardInterrupt raised when Python code next runs; a loop
        # asleep in select() for a long timeout would not notice it until then.
        loop.call_later(TICK, tick)

    tick()
    try:
        return loop.run_until_complete(job)
    except KeyboardInterrupt:
        job.cancel()
        with contextlib.suppress(BaseException):
            loop.run_until_complete(job)
        raise
    finally:
        loop.close()


def run_on_worker(
    task: Task,
    view: StudentSpec,
    student: Student | None,
    recipe: dict[str, Any] | None,
    snapshot: Snapshot | None,
) -> dict[str, Any]:
    """One student run on a Ray worker. Returns the answer or the failure as data."""
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="specdistill-run-") as tmp:
            home = Path(tmp) / "home"
            home.mkdir()
            if snapshot is not None:
                write_snapshot(snapshot, home)
            if recipe is not None:
                student = OpenAIStudent(_worker_endpoint(recipe))
            assert student is not None
            if isinstance(student, CommandStudent):
                student.cwd = home
            local_view = dataclasses.replace(
                view, params=MappingProxyType(dict(view.params)), home=home
            )
            answer = _drive(student.run(task, local_view))
    except TaskRunError as exc:
        return {"ok": False, "message": exc.message, "retryable": exc.retryable}
    except SpecdistillError as exc:
        return {"ok": False, "message": exc.message, "retryable": False}
    except Exception as exc:  # a plug-in's bug is this run's error
        return {"ok": False, "message": f"{type(exc).__name__}: {exc}", "retryable": False}
    return {
        "ok": True,
        "text": answer.text,
        "usage": dict(answer.usage) if answer.usage is not None else None,
        "latency": answer.latency,
        "pid": os.getpid(),
        "seconds": time.perf_counter() - started,
    }


# --- on the driver -----------------------------------------------------------------------


class ExecutorUnavailable(RuntimeFailure):
    """The Ray cluster cannot be reached."""


def _ray_failure(exc: BaseException) -> TaskRunError:
    """A Ray exception as this run's error: retryable when the infrastructure failed."""
    names = {cls.__name__ for cls in type(exc).__mro__}
    retryable = bool(names & RETRYABLE_RAY_ERRORS)
    first = next((line for line in str(exc).splitlines() if line.strip()), "")
    return TaskRunError(
        f"ray task failed ({type(exc).__name__}: {first[:200]})", retryable=retryable
    )


class RayExecutor:
    """Runs each student run as a Ray task on the cluster at ``address``.

    ``address``: ``"auto"`` (the cluster ``ray start`` runs on this machine),
    ``"host:port"`` (a head node's GCS address) or ``"ray://host:10001"`` (Ray Client).
    The driver connects on first use and stays connected; :meth:`shutdown` disconnects.
    """

    name = "ray"

    def __init__(self, address: str = "auto", *, num_cpus: float = 1.0) -> None:
        self.address = address
        self.num_cpus = num_cpus
        self._ray = import_ray()
        self._remote: Any = None
        # Submission order (a dict keeps it): cancels go newest first, see _cancel_queued.
        self._outstanding: dict[Any, None] = {}
        #: pid of the worker that served each successful run, for the bench and tests
        self.last_pids: list[int] = []

    def __repr__(self) -> str:
        return f"RayExecutor({self.address!r})"

    def _connect(self) -> Any:
        ray = self._ray
        if not ray.is_initialized():
            try:
                ray.init(
                    address=self.address,
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                    configure_logging=False,
                )
            except Exception as exc:  # ConnectionError, ValueError, Ray's own
                raise ExecutorUnavailable(
                    f"cannot connect to the Ray cluster at {self.address!r} "
                    f"({type(exc).__name__}: {str(exc).strip().splitlines()[0][:200]})",
                    hint="start one with `ray start --head` or set [specdistill.runner] address",
                ) from None
        if self._remote is None:
            self._remote = ray.remote(num_cpus=self.num_cpus, max_retries=0)(run_on_worker)
        return ray

    def bind(
        self, student: Student, home: SpecHome
    ) -> Callable[[Task, StudentSpec], Awaitable[StudentAnswer]]:
        ray = self._connect()
        if isinstance(student, OpenAIStudent):
            student_ref, snapshot_ref = None, None
        else:
            try:
                student_ref = ray.put(student)
            except Exception as exc:
                raise EvaluationConfigError(
                    f"the {student.kind} student cannot be sent to Ray workers "
                    f"({type(exc).__name__}: {exc})"
                ) from None
            snapshot_ref = ray.put(spec_snapshot(home, _home_files(student, home)))
        timeout = _student_timeout(student)
        guard = None if timeout is None else timeout + GUARD_GRACE

        async def run(task: Task, view: StudentSpec) -> StudentAnswer:
            if not isinstance(student, OpenAIStudent):
                return await self._submit(task, view, student_ref, None, snapshot_ref, guard)
            index = student.acquire()
            failed: bool | None = None
            try:
                answer = await self._submit(
                    task, view, None, _openai_recipe(student, index), None, guard
                )
                failed = False
                return answer
            except TaskRunError as exc:
                failed = True if exc.retryable else None
                raise
            finally:
                student.release(index, failed=failed)

        return run

    async def _submit(
        self,
        task: Task,
        view: StudentSpec,
        student_ref: Any,
        recipe: dict[str, Any] | None,
        snapshot_ref: Any,
        guard: float | None,
    ) -> StudentAnswer:
        ray = self._ray
        ref = self._remote.remote(task, _view_for_wire(view), student_ref, recipe, snapshot_ref)
        self._outstanding[ref] = None
        try:
            wire = await asyncio.wait_for(asyncio.wrap_future(ref.future()), guard)
        except TimeoutError:
            ray.cancel(ref, force=True)
            raise TaskRunError(
                f"ray task gave no answer within {guard:g}s (cancelled)", retryable=True
            ) from None
        except asyncio.CancelledError:
            self._cancel_queued()
            await self._cancel(ref)
            raise
        except Exception as exc:
            if isinstance(exc, TaskRunError):
                raise
            raise _ray_failure(exc) from None
        finally:
            self._outstanding.pop(ref, None)
        if not wire["ok"]:
            raise TaskRunError(wire["message"], retryable=wire["retryable"])
        self.last_pids.append(wire["pid"])
        del self.last_pids[:-1000]
        return StudentAnswer(text=wire["text"], usage=wire["usage"], latency=wire["latency"])

    def _cancel_queued(self) -> None:
        """Cancel every outstanding task now, newest first: the queued ones go before a
        running one frees its CPU, so none of them starts after a cancel."""
        for ref in reversed(list(self._outstanding)):
            with contextlib.suppress(Exception):
                self._ray.cancel(ref)

    async def _cancel(self, ref: Any) -> None:
        """Cancel one Ray task (interrupting it on its worker) and give it a moment to end."""
        with contextlib.suppress(Exception):
            self._ray.cancel(ref)
        with contextlib.suppress(BaseException):
            await asyncio.wait_for(asyncio.wrap_future(ref.future()), 5.0)

    async def aclose(self) -> None:
        """Cancel every Ray task still outstanding (the connection stays open)."""
        pending = list(self._outstanding)
        self._cancel_queued()
        self._outstanding.clear()
        if pending:
            await asyncio.gather(*(self._cancel(ref) for ref in pending))

    def shutdown(self) -> None:
        """Disconnect this process from the cluster (the cluster keeps running)."""
        self._remote = None
        if self._ray.is_initialized():
            self._ray.shutdown()


def _student_timeout(student: Student) -> float | None:
    if isinstance(student, OpenAIStudent):
        return max(e.timeout for e in student.endpoints)
    timeout = getattr(student, "timeout", None)
    return float(timeout) if isinstance(timeout, int | float) else None
