"""Library functions behind ``specdistill bench run`` and ``specdistill cache stats|clear``.

The CLI parses options, calls one of these and renders the result; everything here is
usable (and tested) without the CLI.
"""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass
from pathlib import Path

from specdistill.evaluation.benchmark import Benchmark, load_benchmark
from specdistill.evaluation.cache import ResultCache
from specdistill.evaluation.errors import NothingScored
from specdistill.evaluation.runner import ProgressCallback, TaskResult, score_spec
from specdistill.evaluation.settings import (
    benchmark_path,
    judge_from_config,
    runner_settings,
    student_from_config,
)
from specdistill.evaluation.summary import ClusterSummary, summarize, to_snapshot
from specdistill.home import SpecHome
from specdistill.models import BenchmarkSnapshot


@dataclass(frozen=True)
class BenchRun:
    """A benchmark run: its results, per-cluster summaries (overall last) and snapshot.

    ``snapshot`` is None when no task was scored (``error`` then says why).
    """

    benchmark: Benchmark
    results: list[TaskResult]
    summaries: list[ClusterSummary]
    snapshot: BenchmarkSnapshot | None
    elapsed: float
    error: str | None = None


def bench_run(
    home: str | os.PathLike[str],
    benchmark: str | os.PathLike[str] | None = None,
    *,
    concurrency: int | None = None,
    repeats: int = 1,
    use_cache: bool = True,
    progress: ProgressCallback | None = None,
) -> BenchRun:
    """Score the spec at ``home`` with the student and judge its config describes.

    ``benchmark`` defaults to :func:`~specdistill.evaluation.settings.benchmark_path`.
    Results are cached in ``learning/cache.db`` unless ``use_cache`` is false.
    """
    spec_home = SpecHome(home)
    bench = load_benchmark(Path(benchmark) if benchmark else benchmark_path(spec_home))
    settings = runner_settings(spec_home)
    executor = settings.make_executor()
    student = student_from_config(spec_home)
    judge = judge_from_config(spec_home)
    cache = ResultCache.for_home(spec_home) if use_cache else None
    started = time.perf_counter()
    try:
        results = asyncio.run(
            score_spec(
                spec_home,
                bench,
                student,
                concurrency=concurrency or settings.concurrency,
                cache=cache,
                repeats=repeats,
                judge=judge,
                retry=settings.retry,
                progress=progress,
                executor=executor,
            )
        )
    finally:
        if cache is not None:
            cache.close()
    elapsed = time.perf_counter() - started
    try:
        snapshot: BenchmarkSnapshot | None = to_snapshot(bench, results, elapsed_seconds=elapsed)
        error = None
    except NothingScored as exc:
        snapshot, error = None, exc.message
    return BenchRun(bench, results, summarize(results), snapshot, elapsed, error)
