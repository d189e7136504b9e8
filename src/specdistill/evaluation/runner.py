"""The runner: score a spec on a benchmark, concurrently, with retries and a cache.

Each (task, repeat) is one job. A job first looks in the :class:`ResultCache`; on a miss
it runs the student (built from the spec under test) and scores the answer, retrying
*retryable* failures (timeouts, HTTP 5xx/429, connection errors, garbage bodies) up to
``RetryPolicy.max_attempts`` times with exponential backoff and jitter. At most
``concurrency`` jobs run at once.

Errors are kept apart from scores: a :class:`TaskResult` has either a ``score`` or an
``error``, never both. An errored task is neither a pass nor a fail; it is counted and
reported, and it is never cached, so the next run tries it again. Problems that would
make every task fail the same way (the spec cannot be read, an agent is unknown, the
judge is missing, the cache is corrupt) raise before or instead of producing results.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import random
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TypedDict, TypeVar

from specdistill.errors import SpecdistillError
from specdistill.evaluation.benchmark import Benchmark
from specdistill.evaluation.cache import CacheKey, ResultCache
from specdistill.evaluation.errors import BenchmarkError, EvaluationConfigError, TaskRunError
from specdistill.evaluation.executor import Executor, LocalExecutor, RunStudent
from specdistill.evaluation.hashing import sha256_hex
from specdistill.evaluation.judge import Judge
from specdistill.evaluation.scorers import SCORERS_VERSION, ScorerRegistry, default_registry
from specdistill.evaluation.scoring import Task
from specdistill.evaluation.spec_view import SpecFiles, StudentSpec
from specdistill.evaluation.students import Student
from specdistill.home import SPEC_PATHS, SpecHome

log = logging.getLogger("specdistill.evaluation")
T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """Bounded retries: attempt n waits ``d/2 + U(0, d/2)``, d = min(max, base·2^(n-1))."""

    max_attempts: int = 3
    base_delay: float = 0.5
    max_delay: float = 8.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.max_delay < 0:
            raise ValueError(f"RetryPolicy: bad settings {self!r}")

    def delay(self, attempt: int, rng: random.Random) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** (attempt - 1))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


class _ResultIdentity(TypedDict):
    """The fields of a TaskResult that say which run it is (shared by every outcome)."""

    task_id: str
    cluster: str
    repeat: int
    fingerprint: str


@dataclass(frozen=True)
class TaskResult:
    """One (task, repeat) outcome: a score in [0, 1] *or* an error, never both.

    ``attempts`` counts student runs (0 when ``cached``); ``latency`` is the seconds the
    successful run took (the original run's, when cached) or, for an error, the seconds
    spent on all attempts. ``fingerprint`` is the spec fingerprint the result belongs to.
    """

    task_id: str
    cluster: str
    score: float | None
    error: str | None
    attempts: int
    latency: float
    cached: bool
    repeat: int = 0
    answer: str | None = None
    fingerprint: str = ""

    @property
    def scored(self) -> bool:
        return self.error is None and self.score is not None


#: Called after each job with (jobs done, jobs total, the result).
ProgressCallback = Callable[[int, int, TaskResult], None]


def home_fingerprint(home: SpecHome) -> str:
    """sha256 over every spec file (config.toml, agents/, tools/): for students that read
    the whole home (``fingerprint_scope = "home"``)."""
    entries: list[list[str]] = []
    for top in SPEC_PATHS:
        root = home.root / top
        paths = [root] if root.is_file() else sorted(p for p in root.rglob("*") if p.is_file())
        for path in paths:
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            entries.append([path.relative_to(home.root).as_posix(), digest])
    return sha256_hex(entries)


class Runner:
    """Runs tasks for one student (and optional judge), sharing a cache and a retry policy."""

    def __init__(
        self,
        student: Student,
        *,
        judge: Judge | None = None,
        registry: ScorerRegistry | None = None,
        cache: ResultCache | None = None,
        concurrency: int = 8,
        retry: RetryPolicy | None = None,
        progress: ProgressCallback | None = None,
        seed: int | None = None,
        executor: Executor | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency={concurrency!r}: must be >= 1")
        self.student = student
        self.judge = judge
        self.registry = registry or default_registry()
        self.cache = cache
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        self.progress = progress
        #: where student runs happen (local, or Ray tasks); all else stays here
        self.executor: Executor = executor or LocalExecutor()
        self._rng = random.Random(seed)
        self._student_identity: dict[str, object] | None = None

    def runner_hash(self, task: Task) -> str:
        """The runner part of a cache key: student identity, scorer code, judge if used."""
        judge = self.judge.identity() if self.judge and self.registry.needs_judge(task) else None
        student = self._student_identity or self.student.identity()
        return sha256_hex({"student": student, "scorers": SCORERS_VERSION, "judge": judge})

    def _views(self, home: SpecHome, tasks: Sequence[Task]) -> dict[str, tuple[StudentSpec, str]]:
        files = SpecFiles(home)
        whole = home_fingerprint(home) if self.student.fingerprint_scope == "home" else None
        views = {}
        for task in tasks:
            try:
                view = files.view(query_class=task.query_class, agent=task.agent)
            except EvaluationConfigError as exc:
                raise EvaluationConfigError(f"task {task.id!r}: {exc.message}") from None
            views[task.id] = (view, whole or self.student.view_fingerprint(view))
        return views

    async def run(
        self,
        home: str | Path | SpecHome,
        tasks: Sequence[Task],
        *,
        repeats: int = 1,
        keep_open: bool = False,
    ) -> list[TaskResult]:
        """Run every task ``repeats`` times on the spec at ``home``; results in task order.

        The student's (and judge's) connections are closed at the end unless
        ``keep_open``: a caller running many small batches (the gate) keeps them
        and calls :meth:`aclose` once, instead of reconnecting every batch.
        """
        if repeats < 1:
            raise ValueError(f"repeats={repeats!r}: must be >= 1")
        spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
        problems = [
            f"task {t.id!r}: field {p[0]!r}: {p[1]}"
            for t in tasks
            if (p := self.registry.check_task(t)) is not None
        ]
        if problems:  # tasks checked against another registry than this runner's
            raise BenchmarkError(problems)
        if self.judge is None and (judged := [t.id for t in tasks if self.registry.needs_judge(t)]):
            raise EvaluationConfigError(
                f"{len(judged)} task(s) use the 'judge' scorer (first: {judged[0]!r}) but no "
                "judge is configured: set [specdistill.judge] base_url and model"
            )
        views = self._views(spec_home, tasks)
        # Once per run: it may hash the agent's code files.
        self._student_identity = self.student.identity()
        run_student = self.executor.bind(self.student, spec_home)
        jobs = [(task, r) for task in tasks for r in range(repeats)]
        semaphore = asyncio.Semaphore(self.concurrency)
        done = 0

        async def job(task: Task, repeat: int) -> TaskResult:
            nonlocal done
            async with semaphore:
                result = await self._job(task, repeat, *views[task.id], run_student)
            done += 1
            if self.progress is not None:
                self.progress(done, len(jobs), result)
            return result

        try:
            async with asyncio.TaskGroup() as group:
                futures = [group.create_task(job(task, r)) for task, r in jobs]
        except BaseExceptionGroup as failure:
            raise failure.exceptions[0] from None
        finally:
            if not keep_open:
                await self.aclose()
        return [future.result() for future in futures]

    async def aclose(self) -> None:
        """Close the student's and the judge's connections (a later run reopens them) and
        cancel the executor's outstanding runs."""
        await self.executor.aclose()
        await self.student.aclose()
        if self.judge is not None:
            await self.judge.aclose()

    async def _job(
        self, task: Task, repeat: int, view: StudentSpec, fingerprint: str, run: RunStudent
    ) -> TaskResult:
        key = CacheKey(task.id, task.content_hash(), fingerprint, self.runner_hash(task), repeat)
        base: _ResultIdentity = {
            "task_id": task.id,
            "cluster": task.cluster,
            "repeat": repeat,
            "fingerprint": fingerprint,
        }
        if self.cache is not None and (hit := self.cache.get(key)) is not None:
            return TaskResult(
                score=hit.score,
                error=None,
                attempts=0,
                latency=hit.latency,
                cached=True,
                answer=hit.answer,
                **base,
            )
        started = time.perf_counter()
        attempts = 0
        try:
            answer, attempts = await self._retrying(task, "student", lambda: run(task, view))
            score, _ = await self._retrying(
                task, "scoring", lambda: self.registry.score(task, answer.text, judge=self.judge)
            )
        except _Failed as failure:
            return TaskResult(
                score=None,
                error=failure.message,
                attempts=attempts or failure.attempts,
                latency=time.perf_counter() - started,
                cached=False,
                **base,
            )
        if self.cache is not None:
            self.cache.put(key, score=score, answer=answer.text, latency=answer.latency)
        return TaskResult(
            score=score,
            error=None,
            attempts=attempts,
            latency=answer.latency,
            cached=False,
            answer=answer.text,
            **base,
        )

    async def _retrying(
        self, task: Task, phase: str, call: Callable[[], Awaitable[T]]
    ) -> tuple[T, int]:
        """(result, attempts made), retrying retryable TaskRunErrors; else raise _Failed."""
        attempt = 0
        while True:
            attempt += 1
            try:
                return await call(), attempt
            except TaskRunError as exc:
                if exc.retryable and attempt < self.retry.max_attempts:
                    wait = self.retry.delay(attempt, self._rng)
                    log.info(
                        "task %s: %s attempt %d failed (%s); retrying in %.2fs",
                        task.id,
                        phase,
                        attempt,
                        exc.message,
                        wait,
                    )
                    await asyncio.sleep(wait)
                    continue
                raise _Failed(phase, exc.message, attempt) from None
            except SpecdistillError as exc:
                raise _Failed(phase, exc.message, attempt) from None
            except Exception as exc:  # a plug-in's bug is this task's error, not the run's
                raise _Failed(phase, f"{type(exc).__name__}: {exc}", attempt) from None


class _Failed(Exception):
    """A phase of a job failed for good; carries the one-line message and the attempts."""

    def __init__(self, phase: str, message: str, attempts: int) -> None:
        tried = f" (after {attempts} attempts)" if attempts > 1 else ""
        prefix = "scoring failed: " if phase == "scoring" else ""
        self.message = f"{prefix}{message}{tried}"
        self.attempts = attempts
        super().__init__(self.message)


async def score_spec(
    home: str | Path | SpecHome,
    benchmark: Benchmark | Sequence[Task],
    student: Student,
    *,
    concurrency: int = 8,
    cache: ResultCache | None = None,
    repeats: int = 1,
    judge: Judge | None = None,
    registry: ScorerRegistry | None = None,
    retry: RetryPolicy | None = None,
    progress: ProgressCallback | None = None,
    executor: Executor | None = None,
) -> list[TaskResult]:
    """Score the spec at ``home`` on ``benchmark`` (or a subset of its tasks).

    >>> results = asyncio.run(score_spec(home, bench, student, cache=cache))  # doctest: +SKIP
    >>> to_snapshot(bench, results)                                           # doctest: +SKIP
    """
    runner = Runner(
        student,
        judge=judge,
        registry=registry,
        cache=cache,
        concurrency=concurrency,
        retry=retry,
        progress=progress,
        executor=executor,
    )
    tasks = benchmark.tasks if isinstance(benchmark, Benchmark) else tuple(benchmark)
    return await runner.run(home, tasks, repeats=repeats)
