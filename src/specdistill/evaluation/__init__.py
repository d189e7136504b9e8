"""Evaluation: score a spec on a benchmark by running the real student built from it.

Pipeline: :func:`load_benchmark` (JSONL tasks) → :func:`student_spec` (what the student
reads for each task) → a :class:`Student` (openai, command, python) → scorers by name
(the types they share, :class:`Task` and :class:`Scorer` among them, in :mod:`.scoring`) →
:func:`score_spec` (concurrent, retried, cached) → :func:`summarize` /
:func:`to_snapshot`. The gate's statistics live in :mod:`specdistill.gate`.
"""

from specdistill.evaluation.benchmark import Benchmark, load_benchmark, parse_benchmark
from specdistill.evaluation.cache import (
    CacheKey,
    CacheStats,
    ResultCache,
    cache_clear,
    cache_path,
    cache_stats,
)
from specdistill.evaluation.command import BenchRun, bench_run
from specdistill.evaluation.endpoint import ChatEndpoint, Secret
from specdistill.evaluation.errors import (
    BenchmarkError,
    CacheCorrupt,
    EndpointCallError,
    EvaluationConfigError,
    NothingScored,
    TaskRunError,
)
from specdistill.evaluation.judge import Judge, parse_verdict
from specdistill.evaluation.runner import (
    ProgressCallback,
    RetryPolicy,
    Runner,
    TaskResult,
    score_spec,
)
from specdistill.evaluation.scorers import ScorerRegistry, default_registry, normalize_text
from specdistill.evaluation.scoring import JudgeVerdict, ScoreInput, Scorer, Task
from specdistill.evaluation.settings import (
    RunnerSettings,
    benchmark_path,
    judge_from_config,
    runner_settings,
    student_from_config,
)
from specdistill.evaluation.spec_view import (
    Exemplar,
    SpecFiles,
    StudentSpec,
    ToolSpec,
    student_spec,
)
from specdistill.evaluation.students import (
    CommandStudent,
    OpenAIStudent,
    PythonStudent,
    Student,
    StudentAnswer,
    build_chat_request,
)
from specdistill.evaluation.summary import ClusterSummary, summarize, to_snapshot

__all__ = [
    "BenchRun",
    "Benchmark",
    "BenchmarkError",
    "CacheCorrupt",
    "CacheKey",
    "CacheStats",
    "ChatEndpoint",
    "ClusterSummary",
    "CommandStudent",
    "EndpointCallError",
    "EvaluationConfigError",
    "Exemplar",
    "Judge",
    "JudgeVerdict",
    "NothingScored",
    "OpenAIStudent",
    "ProgressCallback",
    "PythonStudent",
    "ResultCache",
    "RetryPolicy",
    "Runner",
    "RunnerSettings",
    "ScoreInput",
    "Scorer",
    "ScorerRegistry",
    "Secret",
    "SpecFiles",
    "Student",
    "StudentAnswer",
    "StudentSpec",
    "Task",
    "TaskResult",
    "TaskRunError",
    "ToolSpec",
    "bench_run",
    "benchmark_path",
    "build_chat_request",
    "cache_clear",
    "cache_path",
    "cache_stats",
    "default_registry",
    "judge_from_config",
    "load_benchmark",
    "normalize_text",
    "parse_benchmark",
    "parse_verdict",
    "runner_settings",
    "score_spec",
    "student_from_config",
    "student_spec",
    "summarize",
    "to_snapshot",
]
