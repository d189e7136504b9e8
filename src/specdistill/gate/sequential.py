"""The sequential gate as a pure step function: ``state = step(state, pair)``.

A thin driver does the I/O: it picks the next task with :func:`next_task` (the first
task of :func:`task_order` from a cluster the gate still ``wanted``), runs the baseline
and the candidate, feeds the :class:`Pair` to :func:`step`, and stops once
``state.done``; :func:`decide` then turns the state into a :class:`GateDecision`.
Feed pairs in :func:`task_order` order (buffer results that finish out of order): the
tests are valid for any order fixed in advance, not for one that depends on outcomes,
such as "fastest task first" when failures are slow.

Tests run after every pair; each is a mixture of betting martingales over a fixed grid of
stakes (anytime-valid and monotone in every difference, see
:mod:`specdistill.gate.eprocess`):

- efficacy on the target: K(delta_min) >= 1/alpha proves it improved; K <= beta stops
  for futility;
- non-inferiority on the pooled off-target pairs: mixture of prod(1 + lambda (D + eps))
  >= 1/alpha proves they lost at most eps; <= beta stops (they very likely lost more).
  With ``cluster_alpha`` the same test also runs per off-target cluster and each must
  reach 1/cluster_alpha (or stops the gate at beta);
- harm alarms on each of the C off-target clusters and on their pool:
  mixture of prod(1 - lambda D) >= (C + 1)/harm_alpha (Bonferroni over the C + 1 alarms)
  rejects as soon as one clearly got worse.

Unchanged tasks (the edit does not change what the student receives) are exact ties,
declared to :func:`start` and never run: a cluster with no changed task needs no proof and
has no alarm; the pooled test covers the changed off-target tasks only (proving their
mean is above -eps proves it for the whole pool, whose other tasks have difference 0);
the target's efficacy is tested on its changed tasks at the equivalent threshold.

Errored runs count against the edit (:attr:`Pair.decision_delta`), so the tests hold
whatever the relation between errors and answers; the report shows them apart.

Accept once efficacy and non-inferiority have both been proven (intersection-union: a
false accept has probability <= alpha), at least ``min_pairs`` pairs were attempted (or
the pool ran out) and, with ``drop_veto``, no off-target cluster observed a drop beyond
eps (while one does, the gate holds and samples that cluster; still holding at ``n_max``
it ends as "vetoed"). Holding rather than rejecting keeps the gate monotone: a better
target never turns an accept into a reject. Stop at ``n_max`` attempted pairs as
inconclusive, or as soon as errors exceed ``max_error_rate`` ("insufficient evidence").
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import NamedTuple

from specdistill.gate.config import GateConfig, Pair, abstain_reason, too_many_errors
from specdistill.gate.decision import ClusterEstimate, Code, GateDecision, Outcome, Role
from specdistill.gate.eprocess import (
    Logs,
    confidence_sequence,
    e_value,
    grow,
    mixture,
    more_needed,
    p_value,
    stake_grid,
    stakes_for,
    start_logs,
)


class Track(NamedTuple):
    """One stream of paired differences: what the report shows (scored pairs, errors
    apart) and the per-stake log wealth of its tests (off-target streams only): the harm
    alarm (betting that D < 0) and non-inferiority at eps.

    ``ds`` are the differences the tests used, in order (errored pairs imputed as the
    worst case for the edit). Immutable; a NamedTuple rather than a frozen dataclass
    because the gate builds two per pair and this is 4x cheaper (the simulation bench).
    """

    n: int = 0  # scored pairs
    s1: float = 0.0  # sum of their differences
    wins: int = 0
    losses: int = 0
    errors: int = 0  # pairs with an errored run
    binary: bool = True
    ds: tuple[float, ...] = ()
    harm: Logs = ()
    harm_log: float = 0.0
    harm_max: float = 0.0
    ni: Logs = ()
    ni_log: float = 0.0
    ni_max: float = 0.0
    lost: Logs = ()  # the mirror of ni: evidence that the mean is below -eps
    lost_log: float = 0.0

    def add(self, pair: Pair, bets: Bets | None) -> Track:
        """Return the track with ``pair`` added; ``bets`` (off-target only) runs its tests."""
        d = pair.decision_delta
        shown = pair.delta
        harm, ni, lost = self.harm, self.ni, self.lost
        harm_log, ni_log, lost_log = self.harm_log, self.ni_log, self.lost_log
        if bets is not None:
            harm = grow(harm or bets.fresh, bets.harm, -d)
            ni = grow(ni or bets.fresh, bets.ni, d + bets.eps)
            lost = grow(lost or bets.fresh, bets.lost, -bets.eps - d)
            harm_log, ni_log, lost_log = mixture(harm), mixture(ni), mixture(lost)
        scored = shown is not None
        value = shown if shown is not None else 0.0
        return Track(
            n=self.n + scored,
            s1=self.s1 + value,
            wins=self.wins + (value > 0.0),
            losses=self.losses + (value < 0.0),
            errors=self.errors + (not scored),
            binary=self.binary
            and (not scored or (pair.baseline in (0, 1) and pair.candidate in (0, 1))),
            ds=(*self.ds, d),
            harm=harm,
            harm_log=harm_log,
            harm_max=max(self.harm_max, harm_log),
            ni=ni,
            ni_log=ni_log,
            ni_max=max(self.ni_max, ni_log),
            lost=lost,
            lost_log=lost_log,
        )

    @property
    def mean(self) -> float:
        """Mean paired difference over scored pairs, NaN without data."""
        return self.s1 / self.n if self.n else math.nan

    @property
    def ties(self) -> int:
        """Scored pairs with no difference."""
        return self.n - self.wins - self.losses


class Bets(NamedTuple):
    """The stakes of the off-target tests for one configuration."""

    fresh: Logs
    harm: tuple[float, ...]  # betting D < 0 (m = 0)
    ni: tuple[float, ...]  # betting D > -eps
    lost: tuple[float, ...]  # betting D < -eps
    eps: float


POOLED = "other clusters (pooled)"  # how the pool is named in reasons


@dataclass(frozen=True, slots=True)
class GateState:
    """Everything the sequential gate knows after some pairs; create with :func:`start`.

    ``changed[i]`` is how many tasks of ``clusters[i]`` the edit may change (None:
    unknown, so at least one), ``unchanged[i]`` how many it provably leaves unchanged.
    """

    cfg: GateConfig
    target: str
    clusters: tuple[str, ...]  # the target first, then the others sorted
    tracks: tuple[Track, ...]  # aligned with ``clusters``
    pooled: Track  # the changed off-target clusters together
    changed: tuple[int | None, ...]
    unchanged: tuple[int, ...]
    eff_m: float  # the efficacy null on the changed target tasks (delta_min rescaled)
    eff_stakes: tuple[float, ...]
    fut_m: float  # futility: the target improved by less than mde (rescaled the same way)
    fut_stakes: tuple[float, ...]  # () when fut_m >= 1 (no such test)
    bets: Bets
    eff: Logs = ()
    eff_log: float = 0.0
    eff_max: float = 0.0
    fut: Logs = ()
    fut_log: float = 0.0
    efficacy_proven: bool = False
    ni_pooled: bool = False  # non-inferiority proven for the pool
    ni_proven: frozenset[str] = frozenset()  # ... and for these off-target clusters
    attempted: int = 0
    errors: int = 0
    runs: int = 0
    outcome: Outcome = "continue"
    code: Code = "pending"
    reason: str = "collecting evidence"
    harm_cluster: str | None = None
    holding: tuple[str, ...] = ()  # clusters whose observed drop is holding up an accept

    @property
    def done(self) -> bool:
        """True once a decision was reached; later pairs are ignored."""
        return self.outcome != "continue"

    @property
    def active(self) -> tuple[str, ...]:
        """Off-target clusters the edit may change (the others cannot regress)."""
        return tuple(c for c, k in zip(self.clusters[1:], self.changed[1:], strict=True) if k != 0)

    @property
    def noninferior(self) -> bool:
        """Non-inferiority proven for the pool and, with ``cluster_alpha``, per cluster."""
        if not self.ni_pooled:
            return False
        return self.cfg.cluster_alpha is None or all(c in self.ni_proven for c in self.active)

    @property
    def wanted(self) -> frozenset[str]:
        """Clusters whose tasks would still help; a settled test needs no more data."""
        if self.done:
            return frozenset()
        if self.holding:
            return frozenset(self.holding)
        want = set() if self.efficacy_proven else {self.target}
        active = self.active
        if not self.ni_pooled:
            want.update(active)
        elif self.cfg.cluster_alpha is not None:
            want.update(c for c in active if c not in self.ni_proven)
        # both settled but not decided yet (min_pairs): anything that can change helps
        return frozenset(want or (self.target, *active))

    @property
    def harm_threshold(self) -> float:
        """Wealth at which a harm alarm fires: (C + 1) / harm_alpha for the C off-target
        clusters the edit may change (Bonferroni over their alarms and the pooled one)."""
        return (len(self.active) + 1) / self.cfg.harm_alpha


def _cluster_bar(cfg: GateConfig) -> float:
    """Log wealth proving one cluster non-inferior; -inf (always) without ``cluster_alpha``."""
    return -math.inf if cfg.cluster_alpha is None else math.log(1.0 / cfg.cluster_alpha)


def start(
    target: str,
    clusters: Iterable[str],
    cfg: GateConfig | None = None,
    *,
    changed: Mapping[str, int] | None = None,
    unchanged: Mapping[str, int] | None = None,
) -> GateState:
    """Return the empty state for gating an edit aimed at ``target`` over ``clusters``.

    ``unchanged`` counts, per cluster, the tasks the edit provably leaves unchanged (same
    student-visible fingerprint on both specs): exact ties, never run or fed to
    :func:`step`. ``changed`` counts the tasks it may change; a cluster given 0 is
    unaffected by construction (no proof needed, no alarm); a cluster left out is
    "unknown", treated as changed. If the target has no changed task the edit cannot
    improve it and the state is already decided (futile). With ``delta_min > 0`` and
    unchanged target tasks, the efficacy null is rescaled to the changed ones
    (``delta_min * all / changed``), which needs the target's ``changed`` count.

    With no changed off-target cluster there is nothing to protect and non-inferiority
    holds by construction.
    """
    cfg = cfg or GateConfig()
    changed, unchanged = dict(changed or {}), dict(unchanged or {})
    names_set = set(clusters) | {target}
    for label, counts in (("changed", changed), ("unchanged", unchanged)):
        for c, k in counts.items():
            if c not in names_set:
                raise ValueError(
                    f"start: {label}[{c!r}]: not one of the clusters {sorted(names_set)}"
                )
            if not isinstance(k, int) or isinstance(k, bool) or k < 0:
                raise ValueError(f"start: {label}[{c!r}]={k!r}: must be an int >= 0")
    others = tuple(sorted(names_set - {target}))
    names = (target, *others)
    n_changed = tuple(changed.get(c) for c in names)
    n_unchanged = tuple(unchanged.get(c, 0) for c in names)
    scale = 1.0  # all target tasks / changed ones: the effect on the changed is that larger
    if n_unchanged[0] and n_changed[0] is None:
        raise ValueError(
            f"start: {n_unchanged[0]} unchanged target tasks need changed[target] too (the "
            "thresholds are rescaled to the changed tasks)"
        )
    if n_unchanged[0] and n_changed[0]:
        scale = (n_changed[0] + n_unchanged[0]) / n_changed[0]
    eff_m, fut_m = cfg.delta_min * scale, (cfg.delta_min + cfg.mde) * scale
    grid = stake_grid(cfg.lam)
    fresh = start_logs(len(grid))
    state = GateState(
        cfg=cfg,
        target=target,
        clusters=names,
        tracks=tuple(Track() for _ in names),
        pooled=Track(),
        changed=n_changed,
        unchanged=n_unchanged,
        eff_m=eff_m,
        eff_stakes=stakes_for(grid, min(eff_m, 1.0)),
        fut_m=fut_m,
        fut_stakes=stakes_for(grid, -fut_m) if fut_m < 1.0 else (),
        bets=Bets(
            fresh,
            harm=stakes_for(grid, 0.0),
            ni=stakes_for(grid, -cfg.eps),
            lost=stakes_for(grid, cfg.eps),
            eps=cfg.eps,
        ),
        eff=fresh,
        fut=fresh,
    )
    active = state.active
    state = replace(
        state,
        ni_pooled=not active,
        ni_proven=frozenset(c for c in others if c not in active),
    )
    n0 = n_changed[0]
    if n0 == 0 or eff_m >= 1.0:
        why = (
            f"futility: the edit changes none of the target's {n_unchanged[0]} tasks"
            if n0 == 0
            else f"futility: delta_min {cfg.delta_min} cannot be reached on the "
            f"{n0} changed of {(n0 or 0) + n_unchanged[0]} target tasks"
        )
        return _stop(state, "reject", "futile", why)
    return state


def step(state: GateState, pair: Pair) -> GateState:
    """Return the state after one more pair, with the decision if one was reached.

    Pure and deterministic. A pair arriving after the decision is ignored (returns
    ``state`` unchanged). Raises ValueError for a cluster the state does not know, for a
    cluster declared unaffected, and for an unchanged pair (declare those to
    :func:`start` instead: they are not run).
    """
    if state.done:
        return state
    cfg = state.cfg
    try:
        idx = state.clusters.index(pair.cluster)
    except ValueError:
        raise ValueError(
            f"step: pair {pair.task_id!r} has cluster={pair.cluster!r}, "
            f"not one of {list(state.clusters)}"
        ) from None
    if pair.unchanged:
        raise ValueError(
            f"step: pair {pair.task_id!r} is unchanged: declare unchanged tasks to start() "
            "(they are exact ties and are not run)"
        )
    if state.changed[idx] == 0:
        raise ValueError(
            f"step: pair {pair.task_id!r} is in cluster {pair.cluster!r}, which start() "
            "was told the edit does not change"
        )
    tracks = list(state.tracks)
    off = idx != 0
    eff, eff_log = state.eff, state.eff_log
    fut, fut_log = state.fut, state.fut_log
    pooled = state.pooled
    if off:
        tracks[idx] = tracks[idx].add(pair, state.bets)
        pooled = pooled.add(pair, state.bets)
    else:
        tracks[idx] = tracks[idx].add(pair, None)
        eff = grow(eff, state.eff_stakes, pair.decision_delta - state.eff_m)
        eff_log = mixture(eff)
        if state.fut_stakes:
            fut = grow(fut, state.fut_stakes, state.fut_m - pair.decision_delta)
            fut_log = mixture(fut)
    bar = math.log(1.0 / cfg.alpha)
    proven = state.ni_proven
    if off and pair.cluster not in proven and tracks[idx].ni_log >= _cluster_bar(cfg):
        proven = proven | {pair.cluster}
    new = GateState(  # not replace(): this runs once per pair and replace() is slow
        cfg=cfg,
        target=state.target,
        clusters=state.clusters,
        tracks=tuple(tracks),
        pooled=pooled,
        changed=state.changed,
        unchanged=state.unchanged,
        eff_m=state.eff_m,
        eff_stakes=state.eff_stakes,
        fut_m=state.fut_m,
        fut_stakes=state.fut_stakes,
        bets=state.bets,
        eff=eff,
        eff_log=eff_log,
        eff_max=max(state.eff_max, eff_log),
        fut=fut,
        fut_log=fut_log,
        efficacy_proven=state.efficacy_proven or eff_log >= bar,
        ni_pooled=state.ni_pooled or pooled.ni_log >= bar,
        ni_proven=proven,
        attempted=state.attempted + 1,
        errors=state.errors + pair.error,
        runs=state.runs + pair.runs,
    )
    return _settle(new)


def _named(s: GateState) -> list[tuple[str, Track]]:
    """The off-target clusters the edit may change with their tracks, then the pool."""
    active = set(s.active)
    named = [(c, t) for c, t in zip(s.clusters[1:], s.tracks[1:], strict=True) if c in active]
    if named:
        named.append((POOLED, s.pooled))
    return named


def _settle(s: GateState) -> GateState:
    """Apply the stopping rules, first match wins, to a freshly updated state."""
    cfg = s.cfg
    if too_many_errors(s.errors, s.attempted, cfg):
        return _stop(s, "reject", "abstain", abstain_reason(s.errors, s.attempted, cfg))
    named = _named(s)
    floor = math.log(cfg.beta) if cfg.beta > 0.0 else -math.inf
    ceiling = -floor  # the mirror tests prove a shortfall at level beta
    tgt = s.tracks[0]
    if not s.efficacy_proven and s.fut_log >= ceiling:
        why = (
            f"futility: a gain of {cfg.mde:.2f} or more is ruled out for the target "
            f"(e={e_value(s.fut_log):.2g} ≥ 1/beta; mean delta {tgt.mean:+.3f} over {tgt.n})"
        )
        return _stop(s, "reject", "futile", why)
    if not s.efficacy_proven and (s.eff_log <= floor or s.eff_log == -math.inf):
        why = (
            f"futility: the target's evidence fell to e={e_value(s.eff_log):.2g} "
            f"≤ beta {cfg.beta:g} (mean delta {tgt.mean:+.3f} over {tgt.n})"
        )
        return _stop(s, "reject", "futile", why)
    # A non-inferiority test at beta says more than a harm alarm (a loss beyond eps, not
    # just below 0), so it is reported first when both stop the gate at the same pair.
    ni_tests = [] if s.ni_pooled or not named else [named[-1]]
    if cfg.cluster_alpha is not None:
        ni_tests += [(c, t) for c, t in named[:-1] if c not in s.ni_proven]
    for name, tr in ni_tests:
        if tr.lost_log >= ceiling:
            why = (
                f"'{name}' likely lost more than eps {cfg.eps:.2f}: evidence of a larger "
                f"drop e={e_value(tr.lost_log):.2g} ≥ 1/beta (mean delta {tr.mean:+.3f})"
            )
            return _stop(s, "reject", "not_non_inferior", why)
        if tr.ni_log <= floor:
            why = (
                f"'{name}' likely lost more than eps {cfg.eps:.2f}: its non-inferiority "
                f"evidence fell to e={e_value(tr.ni_log):.2g} (mean delta {tr.mean:+.3f})"
            )
            return _stop(s, "reject", "not_non_inferior", why)
    alarm = math.log(s.harm_threshold)
    for name, tr in named:
        if tr.harm_log >= alarm:
            counted = f", {tr.errors} errored counted as losses" if tr.errors else ""
            why = (
                f"harm alarm: '{name}' got worse (mean delta {tr.mean:+.3f} over {tr.n}"
                f"{counted}, e={e_value(tr.harm_log):.0f} ≥ {s.harm_threshold:.0f})"
            )
            return replace(_stop(s, "reject", "harm", why), harm_cluster=name)
    if s.attempted - s.errors >= cfg.min_pairs:
        accepted = _try_accept(s)
        if accepted is not None:
            return accepted
    if s.attempted >= cfg.n_max:
        return finish(s, f"inconclusive: nothing proven within n_max={cfg.n_max} pairs")
    return s


def _try_accept(s: GateState) -> GateState | None:
    """Accept if both proofs hold and no observed drop vetoes it (then hold instead);
    None if the proofs do not hold yet."""
    cfg = s.cfg
    if not (s.efficacy_proven and s.noninferior):
        return None
    dropped = [
        (name, tr)
        for name, tr in _named(s)[:-1]
        if cfg.drop_veto and tr.n >= cfg.veto_min_pairs and tr.mean < -cfg.eps
    ]
    if not dropped:
        return _stop(s, "accept", "proven", "efficacy and non-inferiority proven")
    name, tr = min(dropped, key=lambda x: x[1].mean)
    why = (
        f"proofs held but '{name}' dropped by {-tr.mean:.3f} > eps {cfg.eps:.2f} over {tr.n} pairs"
    )
    s = replace(
        s,
        holding=tuple(c for c, _ in dropped),
        reason=f"holding: {why}; sampling it further",
    )
    return finish(s) if s.attempted >= cfg.n_max else s


def _stop(s: GateState, outcome: Outcome, code: Code, reason: str) -> GateState:
    return replace(s, outcome=outcome, code=code, reason=reason)


def finish(state: GateState, reason: str = "inconclusive: the task pool ran out") -> GateState:
    """Close an undecided state (budget or tasks exhausted): accept if the proofs hold
    (the pool ran out before ``min_pairs``), else vetoed, abstain or inconclusive."""
    if state.done:
        return state
    if state.holding:
        why = state.reason.removeprefix("holding: ").removesuffix("; sampling it further")
        return _stop(state, "reject", "vetoed", f"vetoed: {why}")
    if too_many_errors(state.errors, state.attempted, state.cfg, final=True):
        why = abstain_reason(state.errors, state.attempted, state.cfg)
        return _stop(state, "reject", "abstain", why)
    accepted = _try_accept(state)
    if accepted is not None:
        return accepted if accepted.done else finish(accepted, reason)
    return _stop(state, "reject", "inconclusive", reason)


def next_task(
    order: Sequence[str],
    cluster_of: Mapping[str, str],
    used: AbstractSet[str],
    state: GateState,
) -> str | None:
    """Return the first unused task of ``order`` that the gate still wants, or None.

    Once a test is settled its clusters are no longer sampled (``state.wanted``): a
    valid choice since it depends on past data only, and it saves the runs a settled
    test no longer needs. None means stop: decided, or no useful task left (then call
    :func:`finish`). ``order`` should hold the changed tasks only.
    """
    wanted = state.wanted
    for tid in order:
        if tid not in used and cluster_of[tid] in wanted:
            return tid
    return None


def _needed(logs: Logs, stakes: tuple[float, ...], x: float, bar: float) -> int | None:
    return more_needed(logs or (0.0,) * len(stakes), stakes, x, bar)


def decide(state: GateState, *, intervals: bool = True) -> GateDecision:
    """Turn a state into a :class:`GateDecision` with per-cluster estimates.

    Intervals are confidence sequences (mixtures over the same grid) whose ends are
    one-sided ``1 - alpha`` bounds, the tests' own level (so a ``1 - 2 alpha`` two-sided
    interval: 90% at alpha 0.05), for the target and the pool; per off-target cluster they
    are Bonferroni-corrected over those clusters, so the claims in the report hold
    together. They are computed from the differences the tests used (errors as losses).
    ``intervals=False`` skips them (NaN) for speed.
    """
    cfg = state.cfg
    grid = stake_grid(cfg.lam)
    active = set(state.active)
    n_off = max(len(active), 1)
    bar = math.log(1.0 / cfg.alpha)
    cbar = _cluster_bar(cfg)

    def est(name: str, role: Role, tr: Track, level: float, **extra: object) -> ClusterEstimate:
        lo = hi = math.nan
        if intervals and tr.ds:
            lo, hi = confidence_sequence(tr.ds, (1.0 - level) / 2.0, grid)
        return ClusterEstimate(
            cluster=name, role=role, n=tr.n, errors=tr.errors, mean_delta=tr.mean,
            ci_low=lo, ci_high=hi, level=level, wins=tr.wins, losses=tr.losses,
            binary=tr.binary, **extra,  # type: ignore[arg-type]
        )  # fmt: skip

    level = 1.0 - 2.0 * cfg.alpha  # each end at the tests' one-sided level
    per_level = 1.0 - 2.0 * cfg.alpha / n_off
    wins_needed = _needed(state.eff, state.eff_stakes, 1.0 - state.eff_m, bar)
    tgt = est(
        state.target, "target", state.tracks[0], level,
        e_value=e_value(state.eff_max), p_value=p_value(state.eff_max),
        unchanged=state.unchanged[0], affected=state.changed[0] != 0,
        proven=state.efficacy_proven, needed=0 if state.efficacy_proven else wins_needed,
    )  # fmt: skip
    others = []
    for i, (name, tr) in enumerate(zip(state.clusters[1:], state.tracks[1:], strict=True), 1):
        affected = name in active
        proven = cfg.cluster_alpha is not None and name in state.ni_proven
        needed = None
        if affected and cfg.cluster_alpha is not None and not proven:
            needed = _needed(tr.ni, state.bets.ni, cfg.eps, cbar)
        others.append(
            est(
                name,
                "off_target",
                tr,
                per_level,
                e_value=e_value(tr.ni_max) if affected else None,
                harm_e=e_value(tr.harm_max) if affected else None,
                unchanged=state.unchanged[i],
                affected=affected,
                proven=(proven or not affected) if cfg.cluster_alpha is not None else None,
                needed=0 if proven or not affected else needed,
            )
        )
    pooled = None
    if len(state.clusters) > 1:
        p = state.pooled
        pooled = est(
            "pooled", "pooled", p, level,
            e_value=e_value(p.ni_max) if active else None,
            p_value=p_value(p.ni_max) if active else None,
            harm_e=e_value(p.harm_max) if active else None,
            unchanged=sum(state.unchanged[1:]), affected=bool(active),
            proven=state.ni_pooled,
            needed=0 if state.ni_pooled else _needed(p.ni, state.bets.ni, cfg.eps, bar),
        )  # fmt: skip
    harms = [tr.harm_max for c, tr in _named(state)]
    return GateDecision(
        outcome=state.outcome,
        code=state.code,
        reason=state.reason,
        mode="sequential",
        pairs_used=state.attempted,
        scored_pairs=state.attempted - state.errors,
        runs_used=state.runs,
        errors=state.errors,
        n_max=cfg.n_max,
        alpha=cfg.alpha,
        eps=cfg.eps,
        target=tgt,
        pooled=pooled,
        clusters=(tgt, *others),
        efficacy_e=tgt.e_value,
        noninferiority_e=pooled.e_value if pooled else None,
        max_harm_e=e_value(max(harms)) if harms else None,
        harm_threshold=state.harm_threshold if harms else None,
        harm_cluster=state.harm_cluster,
        max_error_rate=cfg.max_error_rate,
        cluster_alpha=cfg.cluster_alpha,
        beta=cfg.beta,
        unchanged=sum(state.unchanged),
        mde=cfg.mde,
    )


def decide_sequential(
    pairs: Iterable[Pair],
    target: str,
    cfg: GateConfig | None = None,
    *,
    clusters: Iterable[str] | None = None,
    final: bool = False,
    intervals: bool = True,
) -> GateDecision:
    """Feed ``pairs`` in order until the gate decides; a convenience over :func:`step`.

    ``clusters`` defaults to those seen in ``pairs`` plus the target. Pairs flagged
    ``unchanged`` are declared to :func:`start` (not fed): for a cluster with any such
    pair, ``pairs`` is taken as its whole pool, so a cluster whose pairs are all
    unchanged needs no proof. With ``final`` an undecided run is closed by :func:`finish`
    (accept if proven, else inconclusive or abstain) instead of returning ``continue``.
    """
    pairs = list(pairs)
    names = set(clusters) if clusters is not None else {p.cluster for p in pairs}
    flagged = {p.cluster for p in pairs if p.unchanged}
    unchanged = {c: sum(p.unchanged for p in pairs if p.cluster == c) for c in flagged}
    changed = {c: sum(not p.unchanged for p in pairs if p.cluster == c) for c in flagged}
    state = start(target, names | {target}, cfg, changed=changed, unchanged=unchanged)
    for p in pairs:
        if state.done:
            break
        if not p.unchanged:
            state = step(state, p)
    if final:
        state = finish(state)
    return decide(state, intervals=intervals)
