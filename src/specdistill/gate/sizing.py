"""How many tasks the gate needs, computed from its own tests (not from prose).

:func:`min_tasks` answers, for a :class:`GateConfig`, the best case of each test: the
fewest wins in a row that prove an improvement of the target, and the fewest tied pairs
that rule out a drop of more than ``eps`` in one off-target cluster (at
``cluster_alpha``) and in the pool (at ``alpha``). Fewer tasks than that and the test
cannot succeed, whatever the edit does. Off-target clusters that an edit provably leaves
unchanged need nothing (see :func:`specdistill.gate.start`).

>>> s = min_tasks()
>>> (s.efficacy_wins, s.cluster_ties, s.pooled_ties)
(7, 26, 44)
>>> s.off_target_ties(3)   # three changed off-target clusters
78
"""

from __future__ import annotations

import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass

from specdistill.gate.config import GateConfig
from specdistill.gate.eprocess import more_needed, stake_grid, stakes_for, start_logs


@dataclass(frozen=True)
class Sizing:
    """The fewest tasks each test of the gate needs in its best case (see :func:`min_tasks`).

    ``efficacy_wins``: target tasks better, none worse, that prove the improvement (None
    if no number does, e.g. ``delta_min`` too high). ``cluster_ties``: tied tasks in one
    changed off-target cluster that rule out a drop of more than ``eps`` at
    ``cluster_alpha`` (0 without a per-cluster test; None if no number does, i.e.
    ``eps`` 0). ``pooled_ties``: the same for the changed off-target tasks together, at
    ``alpha``. ``harm_losses``: losses in a row that fire a harm alarm with one changed
    off-target cluster (more clusters raise the threshold).
    """

    config: GateConfig
    efficacy_wins: int | None
    cluster_ties: int | None
    pooled_ties: int | None
    harm_losses: int | None

    def off_target_ties(self, changed_clusters: int) -> int | None:
        """Fewest tied off-target tasks for an edit that changes ``changed_clusters``
        off-target clusters: enough for the pool and for each cluster (0 if none)."""
        if changed_clusters <= 0:
            return 0
        if self.pooled_ties is None or self.cluster_ties is None:
            return None
        return max(self.pooled_ties, changed_clusters * self.cluster_ties)

    def shortfalls(self, task_counts: Mapping[str, int]) -> list[str]:
        """Plain sentences on what a benchmark with ``task_counts`` (per cluster) cannot
        prove with these settings; empty when every cluster can be a target and every
        other cluster can be shown not to have dropped."""
        out = []
        eps = f"{self.config.eps:.2f}"
        total = sum(task_counts.values())
        for name, n in sorted(task_counts.items()):
            wins, ties = self.efficacy_wins, self.cluster_ties
            if wins is None or n < wins:
                need = "no number of tasks" if wins is None else f"needs ≥ {wins}"
                out.append(
                    f"'{name}' has {n} tasks: an improvement to it cannot be proven ({need})"
                )
            if ties is None or n < ties:
                need = "no number of tasks" if ties is None else f"needs ≥ {ties} tied"
                out.append(
                    f"'{name}' has {n} tasks: an edit that changes them cannot rule out a "
                    f"{eps} drop there ({need}); only edits that leave them unchanged can pass"
                )
            rest = total - n
            pooled = self.pooled_ties
            if len(task_counts) > 1 and (pooled is None or rest < pooled):
                need = "no number of tasks" if pooled is None else f"need ≥ {pooled} tied"
                out.append(
                    f"with '{name}' as the target, the other clusters have {rest} tasks: an "
                    f"edit that changes them cannot rule out a {eps} drop ({need})"
                )
        return out


def min_tasks(config: GateConfig | None = None) -> Sizing:
    """Return the :class:`Sizing` of the gate with ``config`` (defaults if None).

    Computed with the gate's own mixtures (:mod:`specdistill.gate.eprocess`): the first n
    at which n wins (or ties) lift the mixture wealth to its threshold.
    """
    cfg = config or GateConfig()
    grid = stake_grid(cfg.lam)
    fresh = start_logs(len(grid))
    m = cfg.delta_min
    wins = more_needed(fresh, stakes_for(grid, m), 1.0 - m, math.log(1.0 / cfg.alpha))
    ni_stakes = stakes_for(grid, -cfg.eps)

    def ties(level: float) -> int | None:
        return more_needed(fresh, ni_stakes, cfg.eps, math.log(1.0 / level))

    cluster = 0 if cfg.cluster_alpha is None else ties(cfg.cluster_alpha)
    harm = more_needed(fresh, stakes_for(grid, 0.0), 1.0, math.log(2.0 / cfg.harm_alpha))
    return Sizing(cfg, wins, cluster, ties(cfg.alpha), harm)


@dataclass(frozen=True)
class ClusterSize:
    """One cluster of a benchmark against what the gate's tests need (see
    :func:`size_clusters`): ``tasks`` it has; ``target_needs`` to prove an improvement
    when it is the target; ``guard_needs`` to rule out a drop of ``eps`` in it when an
    edit can change it; with it as the target, ``others`` tasks in the other clusters
    against ``others_need``, what an edit that changes all of them needs (the pool and
    each cluster's own test). A None need means no number of tasks suffices."""

    cluster: str
    tasks: int
    target_needs: int | None
    guard_needs: int | None
    others: int
    others_need: int | None

    @property
    def can_be_target(self) -> bool:
        """An improvement to this cluster can be proven."""
        return self.target_needs is not None and self.tasks >= self.target_needs

    @property
    def can_be_guarded(self) -> bool:
        """A drop of more than eps here can be ruled out, when an edit changes its tasks."""
        return self.guard_needs is not None and self.tasks >= self.guard_needs

    @property
    def others_guarded(self) -> bool:
        """With this cluster as the target, an edit that changes every other cluster can
        still be shown not to have hurt them."""
        return self.others_need is not None and self.others >= self.others_need


def size_clusters(sizing: Sizing, task_counts: Mapping[str, int]) -> list[ClusterSize]:
    """Each cluster of a benchmark with ``task_counts`` against ``sizing``, by name.

    >>> [c.can_be_target for c in size_clusters(min_tasks(), {"a": 5, "b": 40})]
    [False, True]
    """
    total = sum(task_counts.values())
    out = []
    for name, n in sorted(task_counts.items()):
        others = [k for c, k in task_counts.items() if c != name and k > 0]
        out.append(
            ClusterSize(
                cluster=name,
                tasks=n,
                target_needs=sizing.efficacy_wins,
                guard_needs=sizing.cluster_ties,
                others=total - n,
                others_need=sizing.off_target_ties(len(others)),
            )
        )
    return out


def edit_shortfall(
    sizing: Sizing,
    target: str,
    task_counts: Mapping[str, int],
    changed: Collection[str] | None = None,
) -> str | None:
    """Why a benchmark with ``task_counts`` cannot accept an edit aimed at ``target`` that
    may change the off-target clusters ``changed`` (None: every one), or None if it can
    (in the best case: every changed target task better, every other one tied).

    >>> edit_shortfall(min_tasks(), "a", {"a": 10, "b": 10})
    "'b' has 10 tasks: ruling out a 0.10 drop there needs ≥ 26"
    >>> edit_shortfall(min_tasks(), "a", {"a": 10, "b": 10}, changed=()) is None
    True
    """
    eps = f"{sizing.config.eps:.2f}"
    if target not in task_counts:
        return f"its target cluster {target!r} is not in the benchmark"
    wins, n = sizing.efficacy_wins, task_counts[target]
    if wins is None or n < wins:
        need = "no number of tasks can" if wins is None else f"needs ≥ {wins}"
        return f"{target!r} has {n} tasks: proving an improvement {need}"
    names = [c for c in task_counts if c != target and task_counts[c] > 0]
    guarded = sorted(names if changed is None else set(names) & set(changed))
    ties = sizing.cluster_ties
    for name in guarded:
        if ties is None or task_counts[name] < ties:
            need = "no number of tasks can" if ties is None else f"needs ≥ {ties}"
            return f"{name!r} has {task_counts[name]} tasks: ruling out a {eps} drop there {need}"
    pooled, together = sizing.pooled_ties, sum(task_counts[c] for c in guarded)
    if guarded and (pooled is None or together < pooled):
        need = "no number of tasks can" if pooled is None else f"needs ≥ {pooled}"
        return (
            f"the other clusters it can change have {together} tasks: ruling out a {eps} "
            f"drop {need}"
        )
    return None
