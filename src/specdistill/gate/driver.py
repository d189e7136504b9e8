"""The gate's I/O side: run the real student on the baseline and the candidate spec,
pair the results, and feed them to the pure decision (:mod:`specdistill.gate.sequential`).

The baseline is the spec as last accepted (it moves as edits are accepted), never the
session's starting score. Tasks are drawn in a seeded order (sha256, stable across
processes) that interleaves the edit's target cluster with the others; a batch of
``concurrency`` tasks runs at a time and the decision is checked after every pair, in
order, so the outcome does not depend on which request finished first. Results are
cached, so a baseline task is paid for once and an accepted candidate's results become
the next baseline's for free.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from specdistill.errors import GateInterrupted
from specdistill.evaluation.benchmark import Benchmark, Task
from specdistill.evaluation.cache import ResultCache
from specdistill.evaluation.judge import Judge
from specdistill.evaluation.runner import RetryPolicy, Runner, TaskResult
from specdistill.evaluation.scorers import ScorerRegistry
from specdistill.evaluation.students import Student
from specdistill.gate.config import GateConfig, Pair
from specdistill.gate.decision import GateDecision
from specdistill.gate.sequential import decide, finish, next_task, start, step
from specdistill.gate.stats import decide_mean, task_order
from specdistill.home import SpecHome
from specdistill.models import Edit

#: Called as (runs so far, the gate's budget in runs, the latest result).
GateProgress = Callable[[int, int, TaskResult], None]


@dataclass(frozen=True)
class GateVerdict:
    """What the execute loop needs from a gate: keep or undo, and why."""

    accepted: bool
    reason: str
    benchmark_delta: float | None
    cluster_deltas: dict[str, float]
    report: str
    runs_used: int
    decision: GateDecision | None = field(default=None, repr=False)

    @classmethod
    def from_decision(cls, decision: GateDecision) -> GateVerdict:
        deltas = {c.cluster: round(c.mean_delta, 6) for c in decision.clusters if c.n > 0}
        target = decision.target
        return cls(
            accepted=decision.accepted,
            reason=decision.reason,
            benchmark_delta=round(target.mean_delta, 6) if target.n > 0 else None,
            cluster_deltas=deltas,
            report=decision.render(),
            runs_used=decision.runs_used,
            decision=decision,
        )

    @classmethod
    def refused(cls, reason: str) -> GateVerdict:
        """A verdict reached without running anything (e.g. no such target cluster)."""
        return cls(False, reason, None, {}, f"REJECT: {reason}", 0)


class BenchmarkGate:
    """Gate edits on a benchmark by running ``student`` on both specs.

    >>> gate = BenchmarkGate(load_benchmark("tasks.jsonl"), student,
    ...                      cache=ResultCache.for_home(home))      # doctest: +SKIP
    >>> execute_edits(edits=..., ctx=..., autonomy_mode=..., gate=gate)  # doctest: +SKIP
    """

    def __init__(
        self,
        benchmark: Benchmark,
        student: Student,
        *,
        config: GateConfig | None = None,
        cache: ResultCache | None = None,
        concurrency: int = 8,
        judge: Judge | None = None,
        registry: ScorerRegistry | None = None,
        retry: RetryPolicy | None = None,
        progress: GateProgress | None = None,
        seed: str = "specdistill",
    ) -> None:
        self.benchmark = benchmark
        self.cache = cache
        self.config = config or GateConfig()
        self.concurrency = concurrency
        self.seed = seed
        self.progress = progress
        self._runs = 0
        self._should_stop: Callable[[], bool] | None = None
        self.runner = Runner(
            student,
            judge=judge,
            registry=registry,
            cache=cache,
            concurrency=concurrency,
            retry=retry,
        )

    def evaluate(
        self,
        edit: Edit,
        *,
        baseline: SpecHome,
        candidate: SpecHome,
        should_stop: Callable[[], bool] | None = None,
    ) -> GateVerdict:
        """Decide whether ``candidate`` (the spec with ``edit``) beats ``baseline``.

        ``should_stop`` is asked between batches; when it says so (a Ctrl-C), the gate
        raises GateInterrupted instead of running on for minutes.
        """
        return asyncio.run(
            self.aevaluate(edit, baseline=baseline, candidate=candidate, should_stop=should_stop)
        )

    async def aevaluate(
        self,
        edit: Edit,
        *,
        baseline: SpecHome,
        candidate: SpecHome,
        should_stop: Callable[[], bool] | None = None,
    ) -> GateVerdict:
        self._should_stop = should_stop
        try:
            return await self._evaluate(edit, baseline, candidate)
        finally:
            await self.runner.aclose()

    async def _evaluate(self, edit: Edit, baseline: SpecHome, candidate: SpecHome) -> GateVerdict:
        self._runs = 0
        target = edit.expected_improvement
        clusters = self.benchmark.clusters
        if target not in clusters:
            known = ", ".join(clusters)
            return GateVerdict.refused(
                f"insufficient evidence: the edit's target cluster {target!r} is not in the "
                f"benchmark (clusters: {known})"
            )
        tasks = self.benchmark.by_id
        ids_by_cluster: dict[str, list[str]] = {}
        for task in self.benchmark.tasks:
            ids_by_cluster.setdefault(task.cluster, []).append(task.id)
        # The seed names the edit, so each edit sees its own (reproducible) order.
        order = task_order(ids_by_cluster, target, f"{self.seed}:{edit.id}")
        if self.config.mode == "mean":
            chosen = [tasks[t] for t in order[: self.config.subsample]]
            pairs = await self._pairs(chosen, baseline, candidate)
            return GateVerdict.from_decision(decide_mean(pairs, target, self.config))
        return GateVerdict.from_decision(
            await self._sequential(order, tasks, target, baseline, candidate)
        )

    def _check_stop(self) -> None:
        if self._should_stop is not None and self._should_stop():
            raise GateInterrupted("stopped while gating (Ctrl-C); the edit was undone")

    async def _sequential(
        self,
        order: Sequence[str],
        tasks: dict[str, Task],
        target: str,
        baseline: SpecHome,
        candidate: SpecHome,
    ) -> GateDecision:
        cluster_of = {tid: tasks[tid].cluster for tid in order}
        state = start(target, set(cluster_of.values()), self.config)
        used: set[str] = set()
        while not state.done:
            batch: list[str] = []
            while len(batch) < self.concurrency:
                tid = next_task(order, cluster_of, used | set(batch), state)
                if tid is None:
                    break
                batch.append(tid)
            if not batch:
                state = finish(state)
                break
            for pair in await self._pairs([tasks[t] for t in batch], baseline, candidate):
                state = step(state, pair)
            used.update(batch)
        return decide(state)

    async def _pairs(
        self, chosen: Sequence[Task], baseline: SpecHome, candidate: SpecHome
    ) -> list[Pair]:
        # Baseline first, then candidate (the baseline is usually all cache hits).
        # Connections stay open across batches; aevaluate closes them once.
        self._check_stop()
        before = await self.runner.run(baseline, chosen, keep_open=True)
        self._check_stop()
        after = await self.runner.run(candidate, chosen, keep_open=True)
        pairs = []
        for base, cand in zip(before, after, strict=True):
            error = base.score is None or cand.score is None
            pairs.append(
                Pair(
                    task_id=base.task_id,
                    cluster=base.cluster,
                    baseline=None if error else base.score,
                    candidate=None if error else cand.score,
                    error=error,
                    runs=base.attempts + cand.attempts,
                )
            )
            self._runs += base.attempts + cand.attempts
            if self.progress is not None:
                self.progress(self._runs, 2 * self.config.n_max, cand)
        return pairs
