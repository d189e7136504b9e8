"""Diagnose: failure clusters the teacher proposes and the student's own runs confirm.

1. Build the bounded, scrubbed sample of failing traces and the spec context
   (:mod:`specdistill.teacher.share`: that, and nothing else, is sent).
2. Ask the teacher for clusters: each names one *benchmark* cluster (where it will be
   measured, and what an edit's ``expected_improvement`` must name for the gate), cites
   sample trace aliases as evidence and states the skill gap.
3. Check the evidence; a cluster is dropped, with the reason recorded, when it is not an
   object, names no benchmark cluster or one the benchmark lacks, cites no trace or any
   trace id not in the sample, repeats a cluster already kept, or is over the limit.
4. Measure: run the student (the evaluation runner, on the spec as it is) on up to
   ``tasks_per_cluster`` tasks of each remaining cluster, chosen by a stable hash, and
   attach the failure rate (1 − mean score over scored runs). A cluster none of whose
   runs scored, or on which the student failed nothing, is dropped too.

The result's clusters carry real trace ids (aliases mapped back) and measured rates; the
teacher's own claims about rates are never used.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from specdistill.evaluation.benchmark import Benchmark
from specdistill.evaluation.cache import ResultCache
from specdistill.evaluation.judge import Judge
from specdistill.evaluation.runner import Runner, TaskResult
from specdistill.evaluation.scorers import ScorerRegistry
from specdistill.evaluation.scoring import Task
from specdistill.evaluation.spec_view import SpecFiles
from specdistill.evaluation.students import Student
from specdistill.home import SpecHome
from specdistill.models import FailureCluster
from specdistill.teacher.client import InvalidReply, TeacherClient
from specdistill.teacher.errors import NotReady
from specdistill.teacher.prompts import render
from specdistill.teacher.records import Dropped
from specdistill.teacher.share import SharePolicy, TraceSample, build_sample, spec_context
from specdistill.teacher.traces import Trace, TraceThresholds

MAX_TEXT = 2000

DIAGNOSIS_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "summary": {"type": "string"},
        "clusters": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "cluster": {"type": "string"},
                    "description": {"type": "string"},
                    "sample_trace_ids": {"type": "array", "items": {"type": "string"}},
                    "skill_gap": {"type": "string"},
                },
                "required": ["cluster", "description", "sample_trace_ids", "skill_gap"],
            },
        },
    },
    "required": ["summary", "clusters"],
}


@dataclass(frozen=True)
class ClusterMeasurement:
    """The student's runs on one cluster's sample tasks."""

    cluster: str
    task_ids: tuple[str, ...]
    scored: int
    errors: int
    failure_rate: float | None
    first_error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {**asdict(self), "task_ids": list(self.task_ids)}


@dataclass(frozen=True)
class Diagnosis:
    """Kept clusters (with measured failure rates), what was dropped and why, and the
    exact sample that was sent."""

    summary: str
    clusters: list[FailureCluster]
    dropped: list[Dropped]
    sample: TraceSample
    measurements: dict[str, ClusterMeasurement] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {
            "summary": self.summary,
            "clusters": [c.model_dump(mode="json") for c in self.clusters],
            "dropped": [d.as_json() for d in self.dropped],
            "sample": self.sample.as_json(),
            "measurements": {name: m.as_json() for name, m in self.measurements.items()},
        }


def _check_reply(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidReply(f"expected a JSON object, got {type(data).__name__}")
    if not isinstance(data.get("clusters"), list):
        raise InvalidReply("the object needs a 'clusters' array")
    return data


def _text(value: Any) -> str:
    return value[:MAX_TEXT] if isinstance(value, str) else ""


def sample_tasks(benchmark: Benchmark, cluster: str, n: int, seed: str) -> list[Task]:
    """Up to ``n`` tasks of ``cluster``, chosen by a hash of (seed, task id): the same in
    every process, different for another seed."""

    def rank(task: Task) -> str:
        return hashlib.sha256(f"{seed}:{task.id}".encode()).hexdigest()

    return sorted((t for t in benchmark.tasks if t.cluster == cluster), key=rank)[:n]


@dataclass
class _Candidate:
    name: str
    description: str
    trace_ids: list[str]
    skill_gap: str


def screen_clusters(
    raw: Sequence[Any], *, sample: TraceSample, benchmark_clusters: Sequence[str], limit: int
) -> tuple[list[_Candidate], list[Dropped]]:
    """The clusters whose evidence holds up, and the others with their reasons."""
    kept: list[_Candidate] = []
    dropped: list[Dropped] = []
    known = ", ".join(benchmark_clusters)
    for index, item in enumerate(raw):
        name = item.get("cluster") if isinstance(item, dict) else None
        label = name if isinstance(name, str) and name else f"#{index}"

        def drop(reason: str, label: str = label) -> None:
            dropped.append(Dropped("cluster", label, reason))

        if not isinstance(item, dict):
            drop("not a JSON object")
            continue
        if not isinstance(name, str) or not name:
            drop("names no benchmark cluster")
            continue
        if name not in benchmark_clusters:
            drop(f"no benchmark tasks: {name!r} is not a benchmark cluster (clusters: {known})")
            continue
        cited = item.get("sample_trace_ids")
        if not isinstance(cited, list) or not all(isinstance(c, str) for c in cited):
            drop("no evidence: sample_trace_ids is not a list of trace ids")
            continue
        if not cited:
            drop("no evidence: cites no sample trace")
            continue
        unknown = [c for c in cited if sample.trace_id(c) is None]
        if unknown:
            drop(f"cites trace ids that are not in the sample: {', '.join(unknown[:10])}")
            continue
        if any(c.name == name for c in kept):
            drop(f"duplicate: cluster {name!r} was already diagnosed")
            continue
        if len(kept) >= limit:
            drop(f"over the limit of {limit} clusters")
            continue
        ids = [sample.aliases[c] for c in dict.fromkeys(cited)]
        kept.append(
            _Candidate(name, _text(item.get("description")), ids, _text(item.get("skill_gap")))
        )
    return kept, dropped


def measure(cluster: str, results: Sequence[TaskResult]) -> ClusterMeasurement:
    """Failure rate = 1 − mean score over the scored runs (errors are counted apart)."""
    scores = [r.score for r in results if r.scored and r.score is not None]
    errors = [r.error for r in results if r.error is not None]
    return ClusterMeasurement(
        cluster=cluster,
        task_ids=tuple(r.task_id for r in results),
        scored=len(scores),
        errors=len(errors),
        failure_rate=1.0 - sum(scores) / len(scores) if scores else None,
        first_error=errors[0] if errors else None,
    )


async def diagnose(
    client: TeacherClient,
    *,
    home: SpecHome | Path,
    traces: Sequence[Trace],
    benchmark: Benchmark,
    student: Student,
    policy: SharePolicy | None = None,
    thresholds: TraceThresholds | None = None,
    judge: Judge | None = None,
    cache: ResultCache | None = None,
    registry: ScorerRegistry | None = None,
    tasks_per_cluster: int = 8,
    max_clusters: int = 8,
    concurrency: int = 4,
    seed: str = "specdistill",
) -> Diagnosis:
    """Ask the teacher for failure clusters, check their evidence and measure the student.

    Raises NotReady when there is no failing trace to show, BudgetExceeded before a call
    the budget cannot cover, TeacherReplyError when the reply stays unusable.
    """
    home = home if isinstance(home, SpecHome) else SpecHome(home)
    policy = policy or SharePolicy()
    thresholds = thresholds or TraceThresholds()
    sample = build_sample(traces, policy, thresholds)
    if not sample.entries:
        raise NotReady(
            [f"no failing traces to diagnose: none has feedback < {thresholds.low_feedback:g}"]
        )
    spec = spec_context(SpecFiles(home), policy)
    reply = await client.complete_json(
        "diagnose",
        system=render("diagnose_system"),
        user=render(
            "diagnose_user",
            clusters=benchmark.clusters,
            max_clusters=str(max_clusters),
            sample=list(sample.entries),
            spec=spec,
        ),
        check=_check_reply,
        schema=DIAGNOSIS_SCHEMA,
        schema_name="diagnosis",
    )
    candidates, dropped = screen_clusters(
        reply["clusters"], sample=sample, benchmark_clusters=benchmark.clusters, limit=max_clusters
    )
    chosen = {c.name: sample_tasks(benchmark, c.name, tasks_per_cluster, seed) for c in candidates}
    runner = Runner(student, judge=judge, cache=cache, registry=registry, concurrency=concurrency)
    tasks = [task for group in chosen.values() for task in group]
    results = await runner.run(home, tasks) if tasks else []
    kept: list[FailureCluster] = []
    measurements: dict[str, ClusterMeasurement] = {}
    for candidate in candidates:
        mine = [r for r in results if r.cluster == candidate.name]
        measured = measure(candidate.name, mine)
        measurements[candidate.name] = measured
        if measured.failure_rate is None:
            reason = f"could not measure: all {measured.errors} runs errored"
            if measured.first_error:
                reason += f" (first: {measured.first_error})"
            dropped.append(Dropped("cluster", candidate.name, reason))
            continue
        if measured.failure_rate <= 0.0:
            dropped.append(
                Dropped(
                    "cluster",
                    candidate.name,
                    f"no measured failures: the student passed all {measured.scored} sample tasks",
                )
            )
            continue
        kept.append(
            FailureCluster(
                id=candidate.name,
                description=candidate.description,
                sample_trace_ids=candidate.trace_ids,
                student_failure_rate=round(measured.failure_rate, 6),
                skill_gap=candidate.skill_gap,
            )
        )
    summary = _text(reply.get("summary"))
    return Diagnosis(summary, kept, dropped, sample, measurements)
