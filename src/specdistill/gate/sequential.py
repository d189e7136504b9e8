"""The sequential gate as a pure step function: ``state = step(state, pair)``.

A thin driver does the I/O: it picks the next task with :func:`next_task` (the first
task of :func:`task_order` from a cluster the gate still ``wanted``), runs the baseline
and the candidate, feeds the :class:`Pair` to :func:`step`, and stops once
``state.done``; :func:`decide` then turns the state into a :class:`GateDecision`.
Feed pairs in :func:`task_order` order (buffer results that finish out of order): the
tests are valid for any order fixed in advance, not for one that depends on outcomes,
such as "fastest task first" when failures are slow.

Tests run after every pair (all anytime-valid, see :mod:`specdistill.gate.eprocess`):

- efficacy on the target: K(delta_min) >= 1/alpha proves it improved; K <= beta stops
  for futility;
- non-inferiority on the pooled off-target pairs: prod(1 + lambda (D + eps)) >= 1/alpha
  proves they lost at most eps; <= beta stops (they very likely lost more). With
  ``cluster_alpha`` the same test also runs per off-target cluster and each must reach
  1/cluster_alpha (or stops the gate at beta);
- harm alarms on each of the C off-target clusters and on their pool:
  prod(1 - lambda D) >= (C + 1)/harm_alpha (Bonferroni over the C + 1 alarms) rejects as
  soon as one clearly got worse.

Accept once efficacy and non-inferiority have both been proven (intersection-union: a
false accept has probability <= alpha), at least ``min_pairs`` pairs were scored and,
with ``drop_veto``, no off-target cluster observed a drop beyond eps (while one does, the
gate holds and samples that cluster; still holding at ``n_max`` it rejects as
"vetoed"). Holding rather than rejecting keeps the gate monotone: a better target
never turns an accept into a reject. Reject at ``n_max`` attempted pairs as
inconclusive, or as soon as errors exceed ``max_error_rate`` ("insufficient
evidence").
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
    bet_size,
    confidence_sequence,
    e_value,
    log_factor,
    p_value,
)


class Track(NamedTuple):
    """Running sums of one stream of paired differences, with the wealth of its tests:
    the harm alarm (betting that D < 0) and non-inferiority at eps (off-target only).

    Immutable; a NamedTuple rather than a frozen dataclass because the gate builds two per
    pair and this is 4x cheaper (it matters for the simulation bench).
    """

    n: int = 0
    s1: float = 0.0
    s2: float = 0.0
    wins: int = 0
    losses: int = 0
    errors: int = 0
    binary: bool = True
    ds: tuple[float, ...] = ()
    harm_log: float = 0.0
    harm_max: float = 0.0
    ni_log: float = 0.0
    ni_max: float = 0.0

    def add(self, d: float, binary: bool, cfg: GateConfig, off: bool) -> Track:
        """Return the track with ``d`` added; every bet is sized before seeing ``d``.

        Only off-target streams run the harm alarm and the non-inferiority test (the
        target has its own efficacy test, whose futility stop covers harm to it).
        """
        harm, ni_log = self.harm_log, self.ni_log
        if off:
            n, s1, s2, lam = self.n, self.s1, self.s2, cfg.lam
            stake = bet_size(cfg.mde, 0.0, n, s1, s2, lam, sign=-1.0, adapt=True)
            harm += log_factor(stake, d, 0.0, sign=-1.0)
            gap = cfg.eps if cfg.eps > 0.0 else cfg.mde
            ni_log += log_factor(bet_size(gap, -cfg.eps, n, s1, s2, lam), d, -cfg.eps)
        return Track(
            n=self.n + 1,
            s1=self.s1 + d,
            s2=self.s2 + d * d,
            wins=self.wins + (d > 0.0),
            losses=self.losses + (d < 0.0),
            errors=self.errors,
            binary=self.binary and binary,
            ds=(*self.ds, d),
            harm_log=harm,
            harm_max=max(self.harm_max, harm),
            ni_log=ni_log,
            ni_max=max(self.ni_max, ni_log),
        )

    @property
    def mean(self) -> float:
        """Mean paired difference, NaN without data."""
        return self.s1 / self.n if self.n else math.nan


POOLED = "other clusters (pooled)"  # how the pool is named in reasons


@dataclass(frozen=True, slots=True)
class GateState:
    """Everything the sequential gate knows after some pairs; create with :func:`start`."""

    cfg: GateConfig
    target: str
    clusters: tuple[str, ...]  # the target first, then the others sorted
    tracks: tuple[Track, ...]  # aligned with ``clusters``
    pooled: Track  # the off-target clusters together
    eff_log: float = 0.0
    eff_max: float = 0.0
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
    def noninferior(self) -> bool:
        """Non-inferiority proven for the pool and, with ``cluster_alpha``, per cluster."""
        if len(self.clusters) == 1:
            return True
        return self.ni_pooled and len(self.ni_proven) == len(self.clusters) - 1

    @property
    def wanted(self) -> frozenset[str]:
        """Clusters whose tasks would still help; a settled test needs no more data."""
        if self.done:
            return frozenset()
        if self.holding:
            return frozenset(self.holding)
        want = set() if self.efficacy_proven else {self.target}
        if not self.ni_pooled:
            want.update(self.clusters[1:])
        else:
            want.update(c for c in self.clusters[1:] if c not in self.ni_proven)
        # both settled but not decided yet (min_pairs): anything helps
        return frozenset(want or self.clusters)

    @property
    def harm_threshold(self) -> float:
        """Wealth at which a harm alarm fires: (C + 1) / harm_alpha for C off-target
        clusters (Bonferroni over their C alarms and the pooled one)."""
        return len(self.clusters) / self.cfg.harm_alpha


def _cluster_bar(cfg: GateConfig) -> float:
    """Log wealth proving one cluster non-inferior; 0 (always) without ``cluster_alpha``."""
    return -math.inf if cfg.cluster_alpha is None else math.log(1.0 / cfg.cluster_alpha)


def start(target: str, clusters: Iterable[str], cfg: GateConfig | None = None) -> GateState:
    """Return the empty state for gating an edit aimed at ``target`` over ``clusters``.

    With no off-target cluster there is nothing to protect and non-inferiority holds
    vacuously.
    """
    cfg = cfg or GateConfig()
    others = tuple(sorted(set(clusters) - {target}))
    names = (target, *others)
    return GateState(
        cfg=cfg,
        target=target,
        clusters=names,
        tracks=tuple(Track() for _ in names),
        pooled=Track(),
    )


def step(state: GateState, pair: Pair) -> GateState:
    """Return the state after one more pair, with the decision if one was reached.

    Pure and deterministic. A pair arriving after the decision is ignored (returns
    ``state`` unchanged). Raises ValueError for a cluster the state does not know.
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
    tracks = list(state.tracks)
    track, pooled = tracks[idx], state.pooled
    off = idx != 0
    eff_log = state.eff_log
    errors = state.errors
    d = pair.delta
    if d is None:
        errors += 1
        tracks[idx] = track._replace(errors=track.errors + 1)
        if off:
            pooled = pooled._replace(errors=pooled.errors + 1)
    else:
        binary = pair.baseline in (0, 1) and pair.candidate in (0, 1)
        if off:
            pooled = pooled.add(d, binary, cfg, off=True)
        else:
            stake = bet_size(cfg.mde, cfg.delta_min, track.n, track.s1, track.s2, cfg.lam)
            eff_log += log_factor(stake, d, cfg.delta_min)
        tracks[idx] = track.add(d, binary, cfg, off=off)
    bar = math.log(1.0 / cfg.alpha)
    proven = set(state.ni_proven)
    if off and tracks[idx].ni_log >= _cluster_bar(cfg):
        proven.add(pair.cluster)
    new = GateState(  # not replace(): this runs once per pair and replace() is slow
        cfg=cfg,
        target=state.target,
        clusters=state.clusters,
        tracks=tuple(tracks),
        pooled=pooled,
        eff_log=eff_log,
        eff_max=max(state.eff_max, eff_log),
        efficacy_proven=state.efficacy_proven or eff_log >= bar,
        ni_pooled=state.ni_pooled or pooled.ni_log >= bar,
        ni_proven=state.ni_proven if len(proven) == len(state.ni_proven) else frozenset(proven),
        attempted=state.attempted + 1,
        errors=errors,
        runs=state.runs + pair.runs,
    )
    return _settle(new)


def _settle(s: GateState) -> GateState:
    """Apply the stopping rules, first match wins, to a freshly updated state."""
    cfg = s.cfg
    if too_many_errors(s.errors, s.attempted, cfg):
        return _stop(s, "reject", "abstain", abstain_reason(s.errors, s.attempted, cfg))
    alarm = math.log(s.harm_threshold)
    named = [*zip(s.clusters, s.tracks, strict=True)]
    if len(s.clusters) > 1:
        named.append((POOLED, s.pooled))
    for name, tr in named[1:]:
        if tr.harm_log >= alarm:
            why = (
                f"harm alarm: '{name}' got worse (mean delta {tr.mean:+.3f} over {tr.n}, "
                f"e={e_value(tr.harm_log):.0f} ≥ {s.harm_threshold:.0f})"
            )
            return replace(_stop(s, "reject", "harm", why), harm_cluster=name)
    floor = math.log(cfg.beta) if cfg.beta > 0.0 else -math.inf
    tgt = s.tracks[0]
    if not s.efficacy_proven and (s.eff_log <= floor or s.eff_log == -math.inf):
        why = (
            f"futility: the target's evidence fell to e={e_value(s.eff_log):.2g} "
            f"≤ beta {cfg.beta:g} (mean delta {tgt.mean:+.3f} over {tgt.n})"
        )
        return _stop(s, "reject", "futile", why)
    ni_tests = [] if s.ni_pooled or len(named) == 1 else [named[-1]]
    if cfg.cluster_alpha is not None:
        ni_tests += [(c, t) for c, t in named[1 : len(s.clusters)] if c not in s.ni_proven]
    for name, tr in ni_tests:
        if tr.ni_log <= floor:
            why = (
                f"'{name}' likely lost more than eps {cfg.eps:.2f}: its non-inferiority "
                f"evidence fell to e={e_value(tr.ni_log):.2g} (mean delta {tr.mean:+.3f})"
            )
            return _stop(s, "reject", "not_non_inferior", why)
    if s.efficacy_proven and s.noninferior and s.attempted - s.errors >= cfg.min_pairs:
        dropped = [
            (name, tr)
            for name, tr in named[1 : len(s.clusters)]
            if cfg.drop_veto and tr.n >= cfg.veto_min_pairs and tr.mean < -cfg.eps
        ]
        if not dropped:
            return _stop(s, "accept", "proven", "efficacy and non-inferiority proven")
        name, tr = min(dropped, key=lambda x: x[1].mean)
        why = (
            f"proofs held but '{name}' dropped by {-tr.mean:.3f} > eps {cfg.eps:.2f} "
            f"over {tr.n} pairs"
        )
        s = replace(
            s,
            holding=tuple(c for c, _ in dropped),
            reason=f"holding: {why}; sampling it further",
        )
        return finish(s) if s.attempted >= cfg.n_max else s
    if s.attempted >= cfg.n_max:
        return finish(s, f"inconclusive: nothing proven within n_max={cfg.n_max} pairs")
    return s


def _stop(s: GateState, outcome: Outcome, code: Code, reason: str) -> GateState:
    return replace(s, outcome=outcome, code=code, reason=reason)


def finish(state: GateState, reason: str = "inconclusive: the task pool ran out") -> GateState:
    """Close an undecided state (budget or tasks exhausted): abstain or inconclusive."""
    if state.done:
        return state
    if state.holding:
        why = state.reason.removeprefix("holding: ").removesuffix("; sampling it further")
        return _stop(state, "reject", "vetoed", f"vetoed: {why}")
    if too_many_errors(state.errors, state.attempted, state.cfg, final=True):
        why = abstain_reason(state.errors, state.attempted, state.cfg)
        return _stop(state, "reject", "abstain", why)
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
    :func:`finish`).
    """
    wanted = state.wanted
    for tid in order:
        if tid not in used and cluster_of[tid] in wanted:
            return tid
    return None


def decide(state: GateState, *, intervals: bool = True) -> GateDecision:
    """Turn a state into a :class:`GateDecision` with per-cluster estimates.

    Intervals are confidence sequences whose ends are one-sided ``1 - alpha`` bounds, the
    tests' own level (so a ``1 - 2 alpha`` two-sided interval: 90% at alpha 0.05), for the
    target and the pool; per off-target cluster they are Bonferroni-corrected over those
    clusters, so the claims in the report hold together. The intervals bet the same way
    for every m (so their ends can be found by bisection) while each test bets for its
    own null, so near a boundary an interval end and a test may disagree slightly: the
    tests decide. ``intervals=False`` skips them (NaN) for speed.
    """
    cfg = state.cfg
    n_off = len(state.clusters) - 1

    def est(
        name: str, role: Role, tr: Track, level: float, **extra: float | None
    ) -> ClusterEstimate:
        lo = hi = math.nan
        if intervals and tr.n:
            lo, hi = confidence_sequence(tr.ds, (1.0 - level) / 2.0, cfg.mde, cfg.lam)
        return ClusterEstimate(
            cluster=name, role=role, n=tr.n, errors=tr.errors, mean_delta=tr.mean,
            ci_low=lo, ci_high=hi, level=level, wins=tr.wins, losses=tr.losses,
            binary=tr.binary, **extra,
        )  # fmt: skip

    level = 1.0 - 2.0 * cfg.alpha  # each end at the tests' one-sided level
    per_level = 1.0 - 2.0 * cfg.alpha / max(n_off, 1)
    tgt = est(
        state.target, "target", state.tracks[0], level,
        e_value=e_value(state.eff_max), p_value=p_value(state.eff_max),
    )  # fmt: skip
    others = [
        est(
            name,
            "off_target",
            tr,
            per_level,
            e_value=e_value(tr.ni_max),
            harm_e=e_value(tr.harm_max),
        )
        for name, tr in zip(state.clusters[1:], state.tracks[1:], strict=True)
    ]
    pooled = None
    if n_off:
        pooled = est(
            "pooled", "pooled", state.pooled, level,
            e_value=e_value(state.pooled.ni_max), p_value=p_value(state.pooled.ni_max),
            harm_e=e_value(state.pooled.harm_max),
        )  # fmt: skip
    harms = [tr.harm_max for tr in (*state.tracks[1:], state.pooled)]
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
        max_harm_e=e_value(max(harms)),
        harm_threshold=state.harm_threshold,
        harm_cluster=state.harm_cluster,
        max_error_rate=cfg.max_error_rate,
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

    ``clusters`` defaults to those seen in ``pairs`` plus the target. With ``final`` an
    undecided run is closed by :func:`finish` (inconclusive or abstain) instead of
    returning ``continue``.
    """
    pairs = list(pairs)
    names = set(clusters) if clusters is not None else {p.cluster for p in pairs}
    state = start(target, names | {target}, cfg)
    for p in pairs:
        if state.done:
            break
        state = step(state, p)
    if final:
        state = finish(state)
    return decide(state, intervals=intervals)
