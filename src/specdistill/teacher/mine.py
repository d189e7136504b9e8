"""Mine high-feedback traces into a benchmark (the JSONL format of
:mod:`specdistill.evaluation.benchmark`), versioned by content hash.

1. **Select** traces with feedback ``>= high_feedback`` (``[specdistill.traces]``).
2. **Deduplicate** by normalised query (NFKC, case-folded, punctuation removed, whitespace
   collapsed: :func:`~specdistill.evaluation.scorers.normalize_text`). Of a group the
   best-rated trace wins, then the newest (``ended_at``, else ``started_at``), then a
   stable hash of the id; the task's ``metadata.trace_ids`` lists the whole group.
3. **Cluster** by query class: ``cluster`` = the trace's ``query_class``, or ``"general"``
   without one; ``query_class`` and ``agent`` carry over, ``id`` is the winning trace's.
4. **Reference** = the winning trace's answer, or, with teacher-written references
   (:func:`teacher_references`), the teacher's short canonical answer (the trace's
   answer is then kept in ``metadata.trace_answer``).
5. **Scorer**, by the reference (first match wins):

   ======================================  ======================  =====================
   the reference (stripped) is             scorer                  reference written as
   ======================================  ======================  =====================
   empty                                   – (trace skipped)
   a JSON object or array                  ``json_equal``          the parsed value
   a number (``42``, ``-3.5``, ``1,234``)  ``numeric``             the number
   one line of at most 80 characters       ``normalized_exact``    the text
   anything longer, a judge configured     ``judge`` (+ a rubric)  the text
   anything longer, no judge               – (trace skipped)
   ======================================  ======================  =====================

   Free text needs a judge: exact matching would fail every paraphrase. Configure
   ``[specdistill.judge]``, or ask for teacher-written references, which are short.

The file is written with tasks ordered by cluster then id, validated by loading it back
(:func:`~specdistill.evaluation.benchmark.parse_benchmark`), and its ``version`` is
:attr:`Benchmark.version <specdistill.evaluation.benchmark.Benchmark.version>`.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import Any

from specdistill.evaluation.benchmark import Benchmark, parse_benchmark
from specdistill.evaluation.scorers import normalize_text
from specdistill.evaluation.scoring import Task
from specdistill.evaluation.settings import benchmark_path, judge_from_config
from specdistill.fsio import atomic_write_bytes
from specdistill.home import SpecHome
from specdistill.teacher.client import InvalidReply, TeacherClient
from specdistill.teacher.errors import BudgetExceeded, NotReady, TeacherReplyError
from specdistill.teacher.prompts import render
from specdistill.teacher.records import Dropped
from specdistill.teacher.settings import share_policy, teacher_settings, trace_thresholds
from specdistill.teacher.share import SharePolicy
from specdistill.teacher.traces import (
    Readiness,
    Trace,
    TraceThresholds,
    check_readiness,
    load_traces,
)

DEFAULT_CLUSTER = "general"
SHORT_ANSWER_CHARS = 80
JUDGE_RUBRIC = (
    "Pass (score 1) if the answer reaches the same final result as the reference answer; "
    "wording, length and extra explanation do not matter. Fail (score 0) otherwise."
)
_NUMBER_ONLY = re.compile(
    r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?|[-+]?\.\d+(?:[eE][-+]?\d+)?"
)


def choose_scorer(reference: str, *, judge_available: bool) -> tuple[str, Any, dict[str, Any]]:
    """(scorer, reference value, scorer options) for a reference text, by the rule above.

    Raises ValueError (the reason to skip) for an empty reference, or a free-form one
    without a judge.
    """
    text = reference.strip()
    if not text:
        raise ValueError("empty answer")
    if text[0] in "[{":
        try:
            value = json.loads(text)
        except ValueError:
            value = None
        if isinstance(value, dict | list):
            return "json_equal", value, {}
    if _NUMBER_ONLY.fullmatch(text):
        digits = text.replace(",", "")
        if re.fullmatch(r"[-+]?\d+", digits):
            return "numeric", int(digits), {}
        return "numeric", float(digits), {}
    if "\n" not in text and len(text) <= SHORT_ANSWER_CHARS:
        return "normalized_exact", text, {}
    if judge_available:
        return "judge", text, {"rubric": JUDGE_RUBRIC}
    raise ValueError(
        f"free-form answer ({len(text)} characters) needs the judge scorer and no judge is "
        "configured ([specdistill.judge])"
    )


def _when(trace: Trace) -> float:
    moment = trace.ended_at or trace.started_at
    if moment is None:
        return float("-inf")
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def _rank(trace: Trace) -> tuple[float, float, str]:
    digest = hashlib.sha256(trace.id.encode("utf-8")).hexdigest()
    return (-(trace.feedback or 0.0), -_when(trace), digest)


def dedupe(traces: Sequence[Trace]) -> list[list[Trace]]:
    """Groups of traces with the same normalised query, best first (see the module doc)."""
    groups: dict[str, list[Trace]] = {}
    for trace in traces:
        key = normalize_text(trace.query) or trace.query.strip()
        groups.setdefault(key, []).append(trace)
    return [sorted(group, key=_rank) for group in groups.values()]


@dataclass(frozen=True)
class BenchmarkBuild:
    """A mined benchmark, its JSONL text, and the traces left out with their reasons."""

    benchmark: Benchmark
    text: str
    skipped: list[Dropped]
    duplicates: int
    notes: list[str] = field(default_factory=list)

    @property
    def version(self) -> str:
        return self.benchmark.version

    def cluster_counts(self) -> dict[str, int]:
        return dict(Counter(task.cluster for task in self.benchmark.tasks))


def build_benchmark(
    traces: Sequence[Trace],
    *,
    thresholds: TraceThresholds | None = None,
    judge_available: bool = False,
    references: Mapping[str, str] | None = None,
    label: str = "benchmark.jsonl",
) -> BenchmarkBuild:
    """Mine ``traces`` into a benchmark; ``references`` maps trace ids to teacher answers."""
    limits = thresholds or TraceThresholds()
    high = [t for t in traces if limits.is_high(t)]
    groups = dedupe(high)
    tasks: list[Task] = []
    skipped: list[Dropped] = []
    for group in groups:
        best = group[0]
        teacher = (references or {}).get(best.id)
        reference = teacher if teacher is not None else best.answer
        try:
            scorer, value, options = choose_scorer(reference, judge_available=judge_available)
        except ValueError as exc:
            skipped.append(Dropped("trace", best.id, str(exc)))
            continue
        metadata: dict[str, Any] = {
            "source": "traces",
            "trace_ids": sorted(t.id for t in group),
            "feedback": best.feedback,
            "reference_source": "teacher" if teacher is not None else "trace",
        }
        if teacher is not None:
            metadata["trace_answer"] = best.answer
        tasks.append(
            Task(
                id=best.id,
                input=best.query,
                cluster=best.query_class or DEFAULT_CLUSTER,
                reference=value,
                scorer=scorer,
                scorer_options=options,
                query_class=best.query_class,
                agent=best.agent,
                metadata=metadata,
            )
        )
    if not tasks:
        first = f" (first: {skipped[0]})" if skipped else ""
        raise NotReady(
            [f"no task could be mined from {len(high)} high-feedback traces{first}"],
            hint="configure [specdistill.judge] for free-form answers, or use --teacher-references",
        )
    tasks.sort(key=lambda task: (task.cluster, task.id))
    text = "".join(json.dumps(task.as_json(), ensure_ascii=False) + "\n" for task in tasks)
    benchmark = parse_benchmark(text, label=label)  # what we write must load back
    return BenchmarkBuild(benchmark, text, skipped, duplicates=len(high) - len(groups))


def write_benchmark(build: BenchmarkBuild, path: str | os.PathLike[str]) -> Path:
    """Write the benchmark's JSONL atomically (parent directories created)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(target, build.text.encode("utf-8"))
    return target


@dataclass(frozen=True)
class TeacherReferences:
    """Teacher-written references by trace id, and notes on what could not be had."""

    references: dict[str, str]
    notes: list[str]


def _check_references(data: Any) -> list[Any]:
    if not isinstance(data, dict) or not isinstance(data.get("references"), list):
        raise InvalidReply("expected an object with a 'references' array")
    references: list[Any] = data["references"]
    return references


async def teacher_references(
    client: TeacherClient,
    traces: Sequence[Trace],
    *,
    policy: SharePolicy | None = None,
    batch_size: int = 20,
) -> TeacherReferences:
    """Ask the teacher for a short canonical answer per trace, ``batch_size`` per call.

    Only the scrubbed query (and answer, if ``share`` allows) leaves the machine, under an
    alias. A batch whose reply stays invalid keeps the traces' own answers; when the
    budget is reached the remaining batches are not asked (noted, not raised).
    """
    policy = policy or SharePolicy()
    found: dict[str, str] = {}
    notes: list[str] = []
    batches = [traces[i : i + batch_size] for i in range(0, len(traces), batch_size)]
    for number, batch in enumerate(batches, start=1):
        aliases = {f"R{i}": trace.id for i, trace in enumerate(batch, start=1)}
        items = []
        for alias, trace in zip(aliases, batch, strict=True):
            limit, counts = policy.max_field_chars, Counter[str]()
            item = {"id": alias, "query": policy.text(trace.query, limit, counts)}
            if "answer" in policy.share:
                item["rated_answer"] = policy.text(trace.answer, limit, counts)
            items.append(item)
        try:
            reply = await client.complete_json(
                "references",
                system=render("references_system"),
                user=render("references_user", items=items),
                check=_check_references,
                schema={
                    "type": "object",
                    "properties": {"references": {"type": "array"}},
                    "required": ["references"],
                },
                schema_name="references",
            )
        except BudgetExceeded as exc:
            notes.append(f"stopped before batch {number} of {len(batches)}: {exc.message}")
            break
        except TeacherReplyError as exc:
            notes.append(f"batch {number}: kept the traces' answers ({exc.message})")
            continue
        for entry in reply:
            entry_id = entry.get("id") if isinstance(entry, dict) else None
            text = entry.get("reference") if isinstance(entry, dict) else None
            if entry_id not in aliases or not isinstance(text, str) or not text.strip():
                notes.append(f"batch {number}: ignored an entry with unknown id or no text")
                continue
            found[aliases[entry_id]] = text.strip()
    return TeacherReferences(found, notes)


@dataclass(frozen=True)
class BuildReport:
    """What ``specdistill benchmark build`` did: where it wrote, what, and at what cost."""

    path: Path
    build: BenchmarkBuild
    readiness: Readiness
    teacher_cost_usd: float = 0.0

    def to_json(self) -> dict[str, Any]:
        """What ``specdistill benchmark build`` shows, as data."""
        build = self.build
        return {
            "path": str(self.path),
            "tasks": len(build.benchmark),
            "version": build.version,
            "clusters": dict(sorted(build.cluster_counts().items())),
            "high_feedback": self.readiness.high,
            "duplicates": build.duplicates,
            "skipped": [dropped.as_json() for dropped in build.skipped],
            "notes": list(build.notes),
            "teacher_cost_usd": round(self.teacher_cost_usd, 6),
        }


def build_benchmark_file(
    traces_path: str | os.PathLike[str],
    *,
    home: str | os.PathLike[str],
    out: str | os.PathLike[str] | None = None,
    teacher: bool = False,
    environ: Mapping[str, str] | None = None,
) -> BuildReport:
    """Load traces, check readiness, mine (optionally with teacher references) and write.

    ``out`` defaults to the home's benchmark path (``[specdistill.benchmark] path``). The
    judge scorer is used for free-form answers only when ``[specdistill.judge]`` is set.
    """
    spec_home = SpecHome(home)
    traces = load_traces(traces_path)
    thresholds = trace_thresholds(spec_home)
    readiness = check_readiness(traces, thresholds)
    readiness.require_benchmark()
    judge_available = judge_from_config(spec_home, environ=environ) is not None
    references: dict[str, str] | None = None
    notes: list[str] = []
    cost = 0.0
    if teacher:
        client = teacher_settings(spec_home, environ=environ).client()
        winners = [group[0] for group in dedupe([t for t in traces if thresholds.is_high(t)])]

        async def ask() -> TeacherReferences:
            try:
                return await teacher_references(client, winners, policy=share_policy(spec_home))
            finally:
                await client.aclose()

        result = asyncio.run(ask())
        references, notes, cost = result.references, result.notes, client.ledger.spent_usd
    target = Path(out) if out is not None else benchmark_path(spec_home)
    build = build_benchmark(
        traces,
        thresholds=thresholds,
        judge_available=judge_available,
        references=references,
        label=target.name,
    )
    build.notes.extend(notes)
    write_benchmark(build, target)
    return BuildReport(target, build, readiness, cost)
