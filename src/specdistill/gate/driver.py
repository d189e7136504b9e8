"""The gate's I/O side: run the real student on the baseline and the candidate spec,
pair the results, and feed them to the pure decision (:mod:`specdistill.gate.sequential`).

The baseline is the spec as last accepted (it moves as edits are accepted), never the
session's starting score. Tasks are drawn in a seeded order (sha256, stable across
processes) that interleaves the edit's target cluster with the others; a batch of
``concurrency`` tasks runs at a time and the decision is checked after every pair, in
order, so the outcome does not depend on which request finished first. Results are
cached, so a baseline task is paid for once and an accepted candidate's results become
the next baseline's for free.

Each task runs ``GateConfig.repeats`` times per spec (default: 3 for an ``openai``
student, 1 otherwise); its pair is the mean over those runs, errored runs counted against
the edit (see :class:`Pair`).

Unchanged tasks: before running anything the gate asks which tasks the edit leaves
unchanged (``unchanged=``, see :func:`fingerprint_unchanged`); those are exact ties, are
not run, and are listed in the verdict. The default (``"auto"``) compares fingerprints of
what the student can read, the same ones its results are cached under
(``student.fingerprint_scope``): for an ``openai`` student, what its request carries
from the spec (a param it never sends changes nothing); for a ``command`` or ``python``
student, which is handed the home's path and may read any of it, the whole home (so only
an edit that changes no spec file leaves tasks unchanged), unless the user declared that
the agent reads only its view (``[specdistill.student] fingerprint_scope = "view"``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field, replace
from typing import Literal

from specdistill.errors import GateInterrupted
from specdistill.evaluation.benchmark import Benchmark, Task
from specdistill.evaluation.cache import ResultCache
from specdistill.evaluation.errors import EvaluationConfigError
from specdistill.evaluation.executor import Executor
from specdistill.evaluation.judge import Judge
from specdistill.evaluation.runner import RetryPolicy, Runner, TaskResult, home_fingerprint
from specdistill.evaluation.scorers import ScorerRegistry
from specdistill.evaluation.spec_view import SpecFiles
from specdistill.evaluation.students import OpenAIStudent, Student
from specdistill.gate.config import GateConfig, Pair
from specdistill.gate.decision import GateDecision, Verdict
from specdistill.gate.sequential import GateState, decide, finish, next_task, start, step
from specdistill.gate.stats import decide_mean, task_order
from specdistill.home import SpecHome
from specdistill.models import Edit

#: Called as (runs so far, the gate's budget in runs, the latest result).
GateProgress = Callable[[int, int, TaskResult], None]

#: How many flipped tasks a verdict keeps per direction (better, worse): a sample for
#: reports, not evidence (the decision uses every pair).
FLIPS_KEPT = 3
#: Characters kept of a flipped task's question and of each answer.
FLIP_TEXT_CHARS = 400


@dataclass(frozen=True)
class Flip:
    """A task whose score moved between the baseline and the candidate spec.

    The question and answers are untrusted (the benchmark's and the student's text),
    cut to :data:`FLIP_TEXT_CHARS`; a caller that shows them scrubs and escapes them.
    """

    task_id: str
    cluster: str
    question: str
    baseline_score: float
    candidate_score: float
    baseline_answer: str | None
    candidate_answer: str | None

    @property
    def better(self) -> bool:
        return self.candidate_score > self.baseline_score


@dataclass(frozen=True)
class GateTally:
    """Where the gate stands on one edit after each pair, for a live line.

    Counts are of scored pairs (``errors`` apart); ``others_*`` pool the off-target
    clusters. ``leaning`` reads the means so far (a hint, not the decision): accept when
    the target is up and the others are down by less than ``eps``; ``verdict`` is set
    once the gate has decided.
    """

    target: str
    target_better: int = 0
    target_worse: int = 0
    target_tied: int = 0
    others_better: int = 0
    others_worse: int = 0
    others_tied: int = 0
    errors: int = 0
    leaning: Literal["accept", "reject", "undecided"] = "undecided"
    verdict: Verdict | None = None

    def counts(self) -> str:
        """``target 7↑ 1↓, others 24 = 1↓`` (plain text)."""
        target = f"target {self.target_better}↑ {self.target_worse}↓"
        if self.target_tied:
            target += f" {self.target_tied} ="
        others = f"others {self.others_tied} ="
        if self.others_better:
            others += f" {self.others_better}↑"
        if self.others_worse:
            others += f" {self.others_worse}↓"
        errors = f", {self.errors} errored" if self.errors else ""
        return f"{target}, {others}{errors}"

    def line(self) -> str:
        """``target 7↑ 1↓, others 24 = 1↓, leaning reject`` (or the verdict once decided)."""
        if self.verdict is not None:
            word = {"accept": "kept", "reject": "rejected"}.get(self.verdict, self.verdict)
            return f"{self.counts()}, {word}"
        return f"{self.counts()}, leaning {self.leaning}"


#: Called after each pair the gate judged (and once more when it has decided).
GateWatch = Callable[[GateTally], None]

#: Given (baseline home, candidate home, tasks), the ids of the tasks whose student-visible
#: inputs the edit does not change. Must err towards "changed": a task wrongly called
#: unchanged is a tie the gate never checks.
UnchangedTasks = Callable[[SpecHome, SpecHome, Sequence[Task]], AbstractSet[str]]


def fingerprint_unchanged(
    student: Student, *, scope: Literal["view", "home"] | None = None
) -> UnchangedTasks:
    """Return the rule that calls a task unchanged when its fingerprint is the same on both
    specs, over the ``scope`` the student can read.

    ``scope=None`` takes the student's own ``fingerprint_scope`` (the one its results are
    cached under): ``"view"`` compares :meth:`Student.view_fingerprint` per task (for an
    :class:`OpenAIStudent`, what its request carries from the spec); ``"home"`` compares
    every spec file, the default of command and python students, which are handed the
    home's path. Pass ``scope="view"`` only for an agent known to read just what the view
    resolves (the bundled example agent does). A view that cannot be built counts as
    changed.
    """
    chosen = scope or student.fingerprint_scope

    def unchanged(base: SpecHome, cand: SpecHome, tasks: Sequence[Task]) -> AbstractSet[str]:
        if home_fingerprint(base) == home_fingerprint(cand):
            return {t.id for t in tasks}  # no spec byte differs
        if chosen == "home":
            return set()
        before, after = SpecFiles(base), SpecFiles(cand)
        same = set()
        for t in tasks:
            try:
                a = student.view_fingerprint(before.view(query_class=t.query_class, agent=t.agent))
                b = student.view_fingerprint(after.view(query_class=t.query_class, agent=t.agent))
            except EvaluationConfigError:
                continue
            if a == b:
                same.add(t.id)
        return same

    return unchanged


@dataclass(frozen=True)
class GateVerdict:
    """What the execute loop needs from a gate: keep or undo, and why.

    ``accepted`` is what the loop acts on today; ``outcome`` tells the three endings
    apart (``"inconclusive"``: the pool or budget ran out, errors made the gate abstain,
    or an observed drop held it up), for callers that queue inconclusive edits for a
    person. ``reason`` is the deciding rule, then one plain sentence per part of the
    decision; ``unchanged`` lists the tasks the edit provably left unchanged (not run).
    """

    accepted: bool
    reason: str
    benchmark_delta: float | None
    cluster_deltas: dict[str, float]
    report: str
    runs_used: int
    decision: GateDecision | None = field(default=None, repr=False)
    outcome: Verdict = "reject"
    unchanged: tuple[str, ...] = ()
    #: A bounded sample of tasks whose score moved (see :class:`Flip`).
    flips: tuple[Flip, ...] = ()

    @classmethod
    def from_decision(
        cls,
        decision: GateDecision,
        unchanged: Collection[str] = (),
        flips: Sequence[Flip] = (),
    ) -> GateVerdict:
        """The verdict of a finished decision."""
        deltas = {c.cluster: round(c.mean_delta, 6) for c in decision.clusters if c.n > 0}
        target = decision.target
        summary = decision.summary
        return cls(
            accepted=decision.accepted,
            reason=f"{decision.reason}. {summary}" if summary else decision.reason,
            benchmark_delta=round(target.mean_delta, 6) if target.n > 0 else None,
            cluster_deltas=deltas,
            report=decision.render(),
            runs_used=decision.runs_used,
            decision=decision,
            outcome="reject" if decision.verdict == "continue" else decision.verdict,
            unchanged=tuple(sorted(unchanged)),
            flips=tuple(flips),
        )

    @classmethod
    def refused(cls, reason: str) -> GateVerdict:
        """A verdict reached without running anything (e.g. no such target cluster)."""
        return cls(False, reason, None, {}, f"REJECT (inconclusive): {reason}", 0,
                   outcome="inconclusive")  # fmt: skip


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
        unchanged: UnchangedTasks | Literal["auto", "off"] = "auto",
        executor: Executor | None = None,
    ) -> None:
        self.benchmark = benchmark
        self.cache = cache
        self.config = config or GateConfig()
        self.concurrency = concurrency
        self.seed = seed
        self.progress = progress
        #: Told where the gate stands after each pair (a live line); None: nobody asks.
        self.watch: GateWatch | None = None
        self._runs = 0
        self._flips: list[Flip] = []
        self._should_stop: Callable[[], bool] | None = None
        #: runs per task and spec: the config's, or 3 for an LLM student and 1 otherwise
        self.repeats = self.config.repeats or (3 if isinstance(student, OpenAIStudent) else 1)
        if unchanged == "auto":
            self.unchanged_tasks: UnchangedTasks | None = fingerprint_unchanged(student)
        else:
            self.unchanged_tasks = None if unchanged == "off" else unchanged
        self.runner = Runner(
            student,
            judge=judge,
            registry=registry,
            cache=cache,
            concurrency=concurrency,
            retry=retry,
            executor=executor,  # where runs happen; verdicts never depend on it
        )

    def evaluate(
        self,
        edit: Edit,
        *,
        baseline: SpecHome,
        candidate: SpecHome,
        should_stop: Callable[[], bool] | None = None,
        unchanged: Collection[str] | None = None,
    ) -> GateVerdict:
        """Decide whether ``candidate`` (the spec with ``edit``) beats ``baseline``.

        ``should_stop`` is asked between batches; when it says so (a Ctrl-C), the gate
        raises GateInterrupted instead of running on for minutes. ``unchanged`` (task
        ids) overrides the gate's own rule for which tasks the edit leaves unchanged.
        """
        return asyncio.run(
            self.aevaluate(
                edit,
                baseline=baseline,
                candidate=candidate,
                should_stop=should_stop,
                unchanged=unchanged,
            )
        )

    async def aevaluate(
        self,
        edit: Edit,
        *,
        baseline: SpecHome,
        candidate: SpecHome,
        should_stop: Callable[[], bool] | None = None,
        unchanged: Collection[str] | None = None,
    ) -> GateVerdict:
        """The coroutine behind :meth:`evaluate`."""
        self._should_stop = should_stop
        try:
            return await self._evaluate(edit, baseline, candidate, unchanged)
        finally:
            await self.runner.aclose()

    async def _evaluate(
        self,
        edit: Edit,
        baseline: SpecHome,
        candidate: SpecHome,
        unchanged: Collection[str] | None,
    ) -> GateVerdict:
        self._runs = 0
        self._flips = []
        target = edit.gate_cluster
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
            decision = decide_mean(pairs, target, self.config)
            self._tell(_mean_tally(pairs, target, decision.verdict))
            return GateVerdict.from_decision(decision, flips=self._flips)
        if unchanged is None and self.unchanged_tasks is not None:
            unchanged = self.unchanged_tasks(baseline, candidate, self.benchmark.tasks)
        same = frozenset(unchanged or ()) & tasks.keys()
        decision = await self._sequential(order, tasks, target, baseline, candidate, same)
        return GateVerdict.from_decision(decision, same, self._flips)

    def _tell(self, tally: GateTally) -> None:
        if self.watch is not None:
            self.watch(tally)

    def _check_stop(self) -> None:
        if self._should_stop is not None and self._should_stop():
            raise GateInterrupted("stopped while gating (Ctrl-C); the edit was undone")

    async def _sequential(
        self,
        order: Sequence[str],
        tasks: Mapping[str, Task],
        target: str,
        baseline: SpecHome,
        candidate: SpecHome,
        same: AbstractSet[str],
    ) -> GateDecision:
        cluster_of = {tid: tasks[tid].cluster for tid in order}
        changed: dict[str, int] = dict.fromkeys(cluster_of.values(), 0)
        kept: dict[str, int] = dict.fromkeys(cluster_of.values(), 0)
        for task_id, cluster in cluster_of.items():
            (kept if task_id in same else changed)[cluster] += 1
        state = start(
            target, set(cluster_of.values()), self.config, changed=changed, unchanged=kept
        )
        order = [t for t in order if t not in same]  # exact ties: never run
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
                self._tell(state_tally(state))
            used.update(batch)
        decision = decide(state)
        self._tell(replace(state_tally(state), verdict=decision.verdict))
        return decision

    async def _pairs(
        self, chosen: Sequence[Task], baseline: SpecHome, candidate: SpecHome
    ) -> list[Pair]:
        # Baseline first, then candidate (the baseline is usually all cache hits).
        # Connections stay open across batches; aevaluate closes them once.
        r = self.repeats
        self._check_stop()
        before = await self.runner.run(baseline, chosen, repeats=r, keep_open=True)
        self._check_stop()
        after = await self.runner.run(candidate, chosen, repeats=r, keep_open=True)
        pairs = []
        for i, task in enumerate(chosen):  # the runner returns each task's r runs in a row
            base, cand = before[i * r : (i + 1) * r], after[i * r : (i + 1) * r]
            runs = sum(x.attempts for x in (*base, *cand))
            pairs.append(
                Pair(
                    task_id=task.id,
                    cluster=task.cluster,
                    baseline=_mean_score(base),
                    candidate=_mean_score(cand),
                    runs=runs,
                    repeats=r,
                    baseline_errors=sum(not x.scored for x in base),
                    candidate_errors=sum(not x.scored for x in cand),
                )
            )
            self._runs += runs
            self._keep_flip(task, base, cand)
            if self.progress is not None:
                self.progress(self._runs, 2 * r * self.config.n_max, cand[-1])
        return pairs

    def _keep_flip(
        self, task: Task, base: Sequence[TaskResult], cand: Sequence[TaskResult]
    ) -> None:
        """Keep ``task`` as a flip if its score moved and its direction has room."""
        before, after = _mean_score(base), _mean_score(cand)
        if before is None or after is None or before == after:
            return
        better = after > before
        if sum(f.better == better for f in self._flips) >= FLIPS_KEPT:
            return
        self._flips.append(
            Flip(
                task_id=task.id,
                cluster=task.cluster,
                question=_cut(task.input),
                baseline_score=before,
                candidate_score=after,
                baseline_answer=_answer(base),
                candidate_answer=_answer(cand),
            )
        )


def state_tally(state: GateState) -> GateTally:
    """The live counts of a sequential gate's state (pure)."""
    target, others = state.tracks[0], state.pooled
    cfg = state.cfg
    if target.n == 0:
        leaning: Literal["accept", "reject", "undecided"] = "undecided"
    elif target.mean > cfg.delta_min and (others.n == 0 or others.mean > -cfg.eps):
        leaning = "accept"
    else:
        leaning = "reject"
    return GateTally(
        target=state.target,
        target_better=target.wins,
        target_worse=target.losses,
        target_tied=target.ties,
        others_better=others.wins,
        others_worse=others.losses,
        others_tied=others.ties,
        errors=state.errors,
        leaning=leaning,
    )


def _mean_tally(pairs: Sequence[Pair], target: str, verdict: Verdict) -> GateTally:
    counts = {"tb": 0, "tw": 0, "tt": 0, "ob": 0, "ow": 0, "ot": 0}
    errors = 0
    for p in pairs:
        d = p.delta
        if d is None:
            errors += 1
            continue
        side = "t" if p.cluster == target else "o"
        counts[side + ("b" if d > 0 else "w" if d < 0 else "t")] += 1
    return GateTally(
        target, counts["tb"], counts["tw"], counts["tt"], counts["ob"], counts["ow"],
        counts["ot"], errors, verdict=verdict,
    )  # fmt: skip


def _cut(text: str) -> str:
    return text if len(text) <= FLIP_TEXT_CHARS else text[:FLIP_TEXT_CHARS] + "…"


def _answer(results: Sequence[TaskResult]) -> str | None:
    """The first scored run's answer (cut), or None."""
    for x in results:
        if x.scored and x.answer is not None:
            return _cut(x.answer)
    return None


def _mean_score(results: Sequence[TaskResult]) -> float | None:
    """Mean score over the runs that produced one, None if none did."""
    scores = [x.score for x in results if x.scored and x.score is not None]
    return sum(scores) / len(scores) if scores else None
