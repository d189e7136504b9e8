"""The benchmark gate's statistics: configuration, inputs, task order, the reference rule.

Pure functions and frozen records, no I/O: a driver runs the agents and feeds
:class:`Pair` results to :func:`specdistill.gate.sequential.step`, or hands a fixed
subsample to :func:`decide_mean`. See /work/shared/GATE_STATISTICS.md for the design.

The sequential gate (the default) accepts an edit only once both of these are *proven*
with anytime-valid betting e-processes, each at level ``alpha``:

- efficacy: the target cluster's mean paired difference exceeds ``delta_min``;
- non-inferiority: the other clusters, pooled, lost at most ``eps`` (and, at the more
  lenient level ``cluster_alpha``, so did each of them that the edit changes).

Requiring all of them is an intersection-union test (Berger 1982), so a false accept has
probability <= ``alpha`` without any multiplicity correction.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Mapping, Sequence
from typing import Literal

from specdistill.gate.config import GateConfig, Pair, abstain_reason, too_many_errors
from specdistill.gate.decision import ClusterEstimate, Code, GateDecision, Outcome
from specdistill.gate.eprocess import confidence_sequence, stake_grid

__all__ = ["decide_mean", "task_order"]


def _digest(*parts: str) -> str:
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def task_order(
    task_ids_by_cluster: Mapping[str, Sequence[str]], target: str, seed: str
) -> list[str]:
    """Return every task id in a seeded order that interleaves the target with the rest.

    Within each cluster tasks are ordered by ``sha256(seed, cluster, task_id)``, so the
    order depends only on its inputs, never on the process (unlike ``hash()``). The result
    alternates target, off-target, target, ... with the off-target slots taking the other
    clusters round-robin (from a seeded starting cluster); once one side runs out the
    other continues alone. Raises ValueError if ``target`` is unknown or a task id repeats.
    """
    if target not in task_ids_by_cluster:
        raise ValueError(f"task_order: target={target!r} is not one of the clusters")
    seen: set[str] = set()
    queues: dict[str, list[str]] = {}
    for cluster in sorted(task_ids_by_cluster):
        ids = list(task_ids_by_cluster[cluster])
        for tid in ids:
            if tid in seen:
                raise ValueError(f"task_order: task id {tid!r} appears twice")
            seen.add(tid)
        keys = {t: _digest(seed, cluster, t) for t in ids}
        queues[cluster] = sorted(ids, key=lambda t: (keys[t], t))
    others = [c for c in sorted(queues) if c != target]
    if others:
        start = int(_digest(seed, "start"), 16) % len(others)
        others = others[start:] + others[:start]
    off: list[str] = []  # off-target round-robin
    cursors = dict.fromkeys(others, 0)
    while any(cursors[c] < len(queues[c]) for c in others):
        for c in others:
            if cursors[c] < len(queues[c]):
                off.append(queues[c][cursors[c]])
                cursors[c] += 1
    tgt = queues[target]
    order: list[str] = []
    for i in range(max(len(tgt), len(off))):
        if i < len(tgt):
            order.append(tgt[i])
        if i < len(off):
            order.append(off[i])
    return order


def _mean_delta_estimate(
    cluster: str,
    role: Literal["target", "off_target", "pooled"],
    ds: Sequence[float],
    binary: bool,
    errors: int,
    level: float,
    cfg: GateConfig,
    intervals: bool,
) -> ClusterEstimate:
    """Build a :class:`ClusterEstimate` (no e-values) from the scored deltas of a cluster."""
    n = len(ds)
    mean = sum(ds) / n if n else math.nan
    lo = hi = math.nan
    if intervals and n:
        lo, hi = confidence_sequence(ds, (1.0 - level) / 2.0, stake_grid(cfg.lam))
    return ClusterEstimate(
        cluster=cluster,
        role=role,
        n=n,
        errors=errors,
        mean_delta=mean,
        ci_low=lo,
        ci_high=hi,
        level=level,
        wins=sum(1 for d in ds if d > 0),
        losses=sum(1 for d in ds if d < 0),
        binary=binary,
    )


def decide_mean(
    pairs: Sequence[Pair],
    target: str,
    cfg: GateConfig | None = None,
    *,
    intervals: bool = True,
) -> GateDecision:
    """Apply the reference rule to the first ``cfg.subsample`` pairs (kept for comparison).

    Accept if the target's mean delta is > 0 and no cluster's mean delta is below
    ``-eps``; errors are counted and too many make it abstain. Pass ``pairs`` in
    :func:`task_order`. The intervals are reported only to show how little a fixed
    subsample knows; they play no part in the rule.
    """
    cfg = cfg or GateConfig(mode="mean")
    use = list(pairs[: cfg.subsample])
    by: dict[str, list[float]] = {}
    errs: dict[str, int] = {}
    binary: dict[str, bool] = {}
    for p in use:
        by.setdefault(p.cluster, [])
        d = p.delta
        if d is None:
            errs[p.cluster] = errs.get(p.cluster, 0) + 1
            continue
        by[p.cluster].append(d)
        both = (p.baseline, p.candidate)
        binary[p.cluster] = binary.get(p.cluster, True) and all(s in (0, 1) for s in both)
    by.setdefault(target, [])
    errors = sum(errs.values())
    attempted = len(use)
    others = sorted(c for c in by if c != target)
    level = 1.0 - 2.0 * cfg.alpha  # each end a one-sided 1 - alpha bound

    def est(
        c: str, role: Literal["target", "off_target", "pooled"], ds: list[float]
    ) -> ClusterEstimate:
        return _mean_delta_estimate(
            c, role, ds, binary.get(c, True), errs.get(c, 0), level, cfg, intervals
        )

    tgt = est(target, "target", by[target])
    pooled_ds = [d for c in others for d in by[c]]
    pooled = est("pooled", "pooled", pooled_ds) if others else None
    per = tuple([tgt, *(est(c, "off_target", by[c]) for c in others)])
    dropped = [c for c in per if c.n and c.mean_delta < -cfg.eps]
    outcome: Outcome
    code: Code
    if too_many_errors(errors, attempted, cfg, final=True):
        outcome, code, reason = "reject", "abstain", abstain_reason(errors, attempted, cfg)
    elif tgt.n == 0:
        outcome, code, reason = "reject", "rule_failed", "no scored pair in the target cluster"
    elif not tgt.mean_delta > 0.0:
        outcome, code = "reject", "rule_failed"
        reason = f"target mean delta {tgt.mean_delta:+.3f} is not > 0 (reference rule)"
    elif dropped:
        worst = min(dropped, key=lambda c: c.mean_delta)
        outcome, code = "reject", "rule_failed"
        reason = (
            f"cluster '{worst.cluster}' dropped by {-worst.mean_delta:.3f} > eps {cfg.eps:.2f}"
            " (reference rule)"
        )
    else:
        outcome, code = "accept", "rule_met"
        reason = f"target mean delta > 0 and no cluster dropped by more than {cfg.eps:.2f}"
    return GateDecision(
        outcome=outcome,
        code=code,
        reason=reason,
        mode="mean",
        pairs_used=attempted,
        scored_pairs=attempted - errors,
        runs_used=sum(p.runs for p in use),
        errors=errors,
        n_max=cfg.subsample,
        alpha=cfg.alpha,
        eps=cfg.eps,
        target=tgt,
        pooled=pooled,
        clusters=per,
        max_error_rate=cfg.max_error_rate,
    )
