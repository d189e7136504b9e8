"""Build a BenchmarkGate from a spec home's config: ``[specdistill.gate]`` plus the
student, judge, runner and benchmark settings of :mod:`specdistill.evaluation.settings`.

``config.toml`` (every key optional; defaults are :class:`~specdistill.gate.GateConfig`'s)::

    [specdistill.gate]
    mode = "sequential"   # or "mean" (the reference rule, for comparison); --gate wins
    alpha = 0.05          # bound on the false-accept rate
    eps = 0.10            # how much another cluster may lose
    mde = 0.10            # the smallest gain worth detecting (sizes the bets)
    n_max = 300           # most task pairs per edit (2 runs each, fewer when cached)
    max_error_rate = 0.2  # past this share of errored tasks the gate abstains
    seed = "specdistill"  # task order: sha256(seed, edit id, task id)
    on_inconclusive = "review"  # or "reject"; default: review in tiered mode, else reject

:func:`benchmark_sizing` holds a benchmark against these settings (``specdistill
benchmark check``): per cluster, the fewest tasks that can prove an improvement and rule
out a regression (:func:`specdistill.gate.sizing.min_tasks`), against what it has.
"""

from __future__ import annotations

import dataclasses
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from specdistill.errors import InvalidInput
from specdistill.evaluation.benchmark import load_benchmark
from specdistill.evaluation.cache import ResultCache
from specdistill.evaluation.errors import EvaluationConfigError
from specdistill.evaluation.settings import (
    benchmark_path,
    config_section,
    judge_from_config,
    runner_settings,
    student_from_config,
)
from specdistill.gate.config import GateConfig, GateMode
from specdistill.gate.driver import BenchmarkGate, GateProgress, fingerprint_unchanged
from specdistill.gate.sizing import ClusterSize, Sizing, min_tasks, size_clusters
from specdistill.home import SpecHome

#: ``[specdistill.gate]``: GateConfig's fields, and the task-order seed.
GATE_KEYS = frozenset({f.name for f in dataclasses.fields(GateConfig)} | {"seed"})


def gate_config_from(home: SpecHome, mode: str | None = None) -> GateConfig:
    """``[specdistill.gate]`` as a GateConfig; ``mode`` (from the command line) wins."""
    section: dict[str, Any] = dict(config_section(home, "gate", GATE_KEYS))
    section.pop("seed", None)
    if mode is not None:
        section["mode"] = mode
    try:
        return GateConfig(**section)
    except (TypeError, ValueError) as exc:
        raise EvaluationConfigError(f"[specdistill.gate]: {exc}") from None


def parse_gate_mode(value: GateMode | str) -> GateMode:
    """``value`` as a :class:`GateMode`, or one error listing the modes there are.

    >>> parse_gate_mode("mean")
    <GateMode.mean: 'mean'>
    """
    try:
        return GateMode(value)
    except ValueError:
        raise InvalidInput(
            f"gate mode {value!r} is unknown (use one of: {', '.join(GateMode)})"
        ) from None


def open_gate(
    home: str | os.PathLike[str] | SpecHome,
    *,
    mode: GateMode | str | None = None,
    benchmark: str | os.PathLike[str] | None = None,
    progress: GateProgress | None = None,
    use_cache: bool = True,
) -> BenchmarkGate:
    """The gate a home's config describes: the one place a session, an approval or the
    CLI opens a gate. The caller closes ``gate.cache`` when done.

    ``mode`` (``sequential`` or ``mean``, a :class:`GateMode` or its value) wins over
    ``[specdistill.gate] mode``; None keeps the config's. Mode ``off`` opens no gate, so
    it is refused here: a caller that may run ungated checks for it first.
    """
    chosen = None if mode is None else parse_gate_mode(mode)
    if chosen is GateMode.off:
        raise InvalidInput(
            "gate mode 'off' opens no gate",
            hint=f"open the gate with {GateMode.sequential} or {GateMode.mean}",
        )
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    config = gate_config_from(spec_home, None if chosen is None else chosen.value)
    seed = config_section(spec_home, "gate", GATE_KEYS).get("seed", "specdistill")
    if not isinstance(seed, str):
        raise EvaluationConfigError("[specdistill.gate] seed must be a string")
    settings = runner_settings(spec_home)
    executor = settings.make_executor()  # before the cache opens: Ray may be missing
    bench = load_benchmark(Path(benchmark) if benchmark else benchmark_path(spec_home))
    # The student's fingerprint scope ([specdistill.student] fingerprint_scope: what it
    # reads) keys its cached results and decides which tasks an edit leaves unchanged.
    student = student_from_config(spec_home)
    return BenchmarkGate(
        bench,
        student,
        unchanged=fingerprint_unchanged(student),
        config=config,
        cache=ResultCache.for_home(spec_home) if use_cache else None,
        concurrency=settings.concurrency,
        judge=judge_from_config(spec_home),
        retry=settings.retry,
        progress=progress,
        seed=seed,
        executor=executor,
    )


@dataclass(frozen=True)
class BenchmarkSizing:
    """A benchmark held against the gate's settings (``specdistill benchmark check``).

    ``clusters``: each cluster's tasks against what the tests need (best case: every
    target task better, every other changed task tied); ``problems``: plain sentences on
    what it cannot prove (empty: every cluster can be a target and be guarded).
    ``scope`` is the student's fingerprint scope (None: no usable student settings):
    with ``"view"``, a cluster whose tasks an edit leaves unchanged needs nothing.
    """

    path: Path
    tasks: int
    config: GateConfig
    sizing: Sizing
    clusters: list[ClusterSize]
    problems: list[str]
    scope: Literal["view", "home"] | None

    def to_json(self) -> dict[str, Any]:
        s = self.sizing
        return {
            "benchmark": str(self.path),
            "tasks": self.tasks,
            "settings": {
                "alpha": self.config.alpha,
                "eps": self.config.eps,
                "cluster_alpha": self.config.cluster_alpha,
                "delta_min": self.config.delta_min,
                "lam": self.config.lam,
            },
            "fingerprint_scope": self.scope,
            "needs": {
                "target_wins": s.efficacy_wins,
                "cluster_ties": s.cluster_ties,
                "pooled_ties": s.pooled_ties,
            },
            "clusters": [
                {
                    "cluster": c.cluster,
                    "tasks": c.tasks,
                    "target_needs": c.target_needs,
                    "can_be_target": c.can_be_target,
                    "guard_needs": c.guard_needs,
                    "can_be_guarded": c.can_be_guarded,
                    "others": c.others,
                    "others_need": c.others_need,
                    "others_guarded": c.others_guarded,
                }
                for c in self.clusters
            ],
            "problems": self.problems,
        }


def benchmark_sizing(
    home: str | os.PathLike[str] | SpecHome, benchmark: str | os.PathLike[str] | None = None
) -> BenchmarkSizing:
    """Hold the home's benchmark (or ``benchmark``) against its ``[specdistill.gate]``
    settings: what each cluster can prove, computed by the gate's own tests. Runs nothing."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    config = gate_config_from(spec_home)
    path = Path(benchmark) if benchmark else benchmark_path(spec_home)
    bench = load_benchmark(path)
    counts = dict(Counter(task.cluster for task in bench.tasks))
    sizing = min_tasks(config)
    try:
        scope: Literal["view", "home"] | None = student_from_config(spec_home).fingerprint_scope
    except EvaluationConfigError:
        scope = None
    return BenchmarkSizing(
        path=path.absolute(),
        tasks=len(bench.tasks),
        config=config,
        sizing=sizing,
        clusters=size_clusters(sizing, counts),
        problems=sizing.shortfalls(counts),
        scope=scope,
    )
