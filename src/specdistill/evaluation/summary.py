"""Per-cluster summaries of task results, and the BenchmarkSnapshot they make.

Means are over *scored* results only (repeats count as separate samples); errors are
counted beside them, never folded in as zeros or dropped, so a run that mostly errored
cannot pass for a high score. A cluster with no scored result has no mean (``None``)
and is left out of the snapshot's ``cluster_scores``; a run with nothing scored at all
has no snapshot (:class:`NothingScored`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from specdistill.evaluation.benchmark import Benchmark
from specdistill.evaluation.errors import NothingScored
from specdistill.evaluation.runner import TaskResult
from specdistill.models import BenchmarkSnapshot

OVERALL = "(overall)"


@dataclass(frozen=True)
class ClusterSummary:
    """A cluster's results: ``n`` runs, of which ``scored`` have a score and ``errors`` not."""

    cluster: str
    n: int
    scored: int
    errors: int
    cached: int
    mean: float | None

    @property
    def error_rate(self) -> float:
        return self.errors / self.n if self.n else 0.0


def _summary(cluster: str, results: Sequence[TaskResult]) -> ClusterSummary:
    scores = [r.score for r in results if r.scored and r.score is not None]
    return ClusterSummary(
        cluster=cluster,
        n=len(results),
        scored=len(scores),
        errors=sum(1 for r in results if r.error is not None),
        cached=sum(1 for r in results if r.cached),
        mean=sum(scores) / len(scores) if scores else None,
    )


def summarize(results: Sequence[TaskResult]) -> list[ClusterSummary]:
    """One summary per cluster (in order of first appearance), then the overall one."""
    clusters: dict[str, list[TaskResult]] = {}
    for result in results:
        clusters.setdefault(result.cluster, []).append(result)
    return [_summary(name, rs) for name, rs in clusters.items()] + [_summary(OVERALL, results)]


def to_snapshot(
    benchmark: Benchmark, results: Sequence[TaskResult], *, elapsed_seconds: float = 0.0
) -> BenchmarkSnapshot:
    """The BenchmarkSnapshot of a run: micro-averaged overall score, per-cluster means.

    ``task_count`` counts runs (tasks × repeats) and ``error_count`` the errored ones.
    """
    *clusters, overall = summarize(results)
    if overall.mean is None:
        first = next((r.error for r in results if r.error), "no results")
        raise NothingScored(
            f"no task was scored ({overall.errors} of {overall.n} errored; first: {first})"
        )
    return BenchmarkSnapshot(
        benchmark_version=benchmark.version,
        overall_score=overall.mean,
        cluster_scores={c.cluster: c.mean for c in clusters if c.mean is not None},
        task_count=overall.n,
        error_count=overall.errors,
        elapsed_seconds=max(0.0, elapsed_seconds),
    )
