"""Betting e-processes on paired score differences: the arithmetic under the gate.

Every test here is a *betting martingale*: to test H0: mu <= m for the mean mu of paired
differences D_i in [-1, 1], a gambler starts with wealth 1 and stakes a fraction lambda_i
of it on each new D_i, chosen from the past only (*predictably*):

    K_n(m) = prod_{i <= n} (1 + lambda_i * (D_i - m)),   0 <= lambda_i <= 1 / (1 + m).

Under H0 each factor has conditional expectation <= 1, so K is a non-negative
supermartingale and Ville's inequality gives P(sup_n K_n >= 1/alpha) <= alpha: the
wealth may be checked after every pair and the test stopped at any time. With pass/fail
scores, m = 0 and a fixed lambda this is Wald's SPRT on discordant pairs (a win multiplies
the wealth by 1 + lambda, a loss by 1 - lambda, a tie leaves it alone).

Bet size: the growth rate E log(1 + lambda (D - m)) is about lambda g - lambda^2 v / 2 for
an effect g = mu - m and second moment v = E[(D - m)^2], maximal at lambda = g / v. As in
the design note we take g = ``gap``, the smallest effect worth detecting (the MDE), and a
running estimate of v shrunk towards ``gap / cap``, then cap lambda at ``cap / (1 + m)``.
Everything is computed from sums of past values, so the bets are predictable and the
tests valid. For pass/fail scores and m = 0, v estimates the discordance rate psi and the
test is Wald's SPRT on discordant pairs with lambda = min(cap, MDE / psi).

References: Wald (1947); Howard et al., Ann. Stat. 49(2), 2021; Waudby-Smith & Ramdas,
JRSSB 2024 (predictable plug-in bets).

Everything works in log space; a factor <= 0 (possible only at the largest valid bet)
yields ``-inf``, meaning the gambler went broke and the test can never reject.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

PRIOR_WEIGHT = 4.0
"""Pseudo-observations behind the prior guesses used to size the first bets."""

NEG_INF = float("-inf")
_BISECT_STEPS = 40


def bet_size(
    gap: float,
    m: float,
    n: int,
    s1: float,
    s2: float,
    cap: float,
    sign: float = 1.0,
    adapt: bool = False,
) -> float:
    """Return the predictable stake for testing ``H0: sign * mu <= m`` after ``n`` values.

    ``lambda = gap / v`` capped at ``cap / (1 + m)``, where ``v`` estimates
    E[(sign D - m)^2] from the past sums ``s1`` (of D) and ``s2`` (of D^2), shrunk towards
    ``gap / limit`` with :data:`PRIOR_WEIGHT` pseudo-observations (so the first stake is
    the cap). ``sign = -1`` bets on the differences getting *worse* (harm alarms).

    By default the stake ignores the running mean: at m = 0 it depends on the past only
    through the sum of squares, so turning a lost pair into a won one never lowers the
    wealth at any later time (the gate's monotonicity property). With ``adapt`` the
    effect is ``max(gap, shrunk running mean of sign D - m)`` instead, which bets harder
    on a large effect (used by the harm alarms, to stop a clear regression early).
    """
    limit = cap / (1.0 + m)
    t2 = s2 - 2.0 * m * sign * s1 + n * m * m  # sum of (sign*D - m)^2
    w = PRIOR_WEIGHT
    effect = max(gap, (w * gap + sign * s1 - n * m) / (w + n)) if adapt else gap
    second = (w * (gap / limit) + t2) / (w + n)
    if second <= 0.0:
        return limit
    return min(limit, effect / second)


def log_factor(stake: float, d: float, m: float, sign: float = 1.0) -> float:
    """Return ``log(1 + stake * (sign * d - m))``, or ``-inf`` if the factor is <= 0."""
    f = 1.0 + stake * (sign * d - m)
    return math.log(f) if f > 0.0 else NEG_INF


def e_value(log_k: float) -> float:
    """Return the wealth ``exp(log_k)`` without overflowing (capped at 1e300)."""
    return math.exp(min(log_k, 690.0))


def p_value(max_log_k: float) -> float:
    """Anytime-valid p-value ``min(1, 1 / max_k K_k)`` from the running maximum of log K."""
    return min(1.0, math.exp(-max_log_k)) if max_log_k > 0.0 else 1.0


def cs_stakes(ds: Sequence[float], gap: float, cap: float) -> list[float]:
    """Return m-free predictable stakes for a confidence sequence over ``ds``.

    The stake depends on the past spread of D (not on m), is at most ``min(cap, 0.5)``,
    so every factor ``1 +/- lambda (D - m)`` stays >= 0 for all m in [-1, 1] and the wealth
    is monotone in m: the interval ends can then be found by bisection.
    """
    limit = min(cap, 0.5)
    w = PRIOR_WEIGHT
    prior = gap / limit
    stakes: list[float] = []
    s1 = s2 = 0.0
    for n, d in enumerate(ds):
        spread = s2 - (s1 * s1 / n if n else 0.0)  # sum of squared deviations
        v = (w * prior + spread) / (w + n)
        stakes.append(min(limit, gap / v) if v > 0.0 else limit)
        s1 += d
        s2 += d * d
    return stakes


def _log_wealth(ds: Sequence[float], stakes: Sequence[float], m: float, sign: float) -> float:
    """Log wealth after all of ``ds``, betting that sign * (mean - m) > 0."""
    total = 0.0
    for d, lam in zip(ds, stakes, strict=True):
        f = 1.0 + sign * lam * (d - m)
        if f <= 0.0:
            return NEG_INF
        total += math.log(f)
    return total


def confidence_sequence(
    ds: Sequence[float], alpha: float, gap: float, cap: float
) -> tuple[float, float]:
    """Return a confidence sequence ``(low, high)`` for the mean of ``ds``.

    Each end is a one-sided ``1 - alpha`` bound, matching the level of the tests (so the
    pair is a two-sided ``1 - 2 alpha`` interval): ``low`` is the smallest m whose "mean >
    m" wealth is now below ``1 / alpha``, ``high`` the mirror image; by Ville's inequality
    the interval covers the mean at every n simultaneously. Both ends are found by
    bisection on [-1, 1] (40 halvings, ~1e-12), exact because the wealth is monotone in
    m. The two wealths share their stakes, so their product is <= 1 and ``low <= high``
    always. Returns (-1, 1) for no data.
    """
    if not ds:
        return (-1.0, 1.0)
    stakes = cs_stakes(ds, gap, cap)
    bar = math.log(1.0 / alpha)

    def rejects_below(m: float) -> bool:  # evidence that mean > m
        return _log_wealth(ds, stakes, m, 1.0) >= bar

    def rejects_above(m: float) -> bool:  # evidence that mean < m
        return _log_wealth(ds, stakes, m, -1.0) >= bar

    return (_bisect(rejects_below, True), _bisect(rejects_above, False))


def _bisect(rejects: Callable[[float], bool], lower: bool) -> float:
    """Find the boundary of the rejected region of m on [-1, 1] (monotone predicate)."""
    if lower:
        # rejects(m) is true for small m; the end is the first m where it turns false.
        if not rejects(-1.0):
            return -1.0
        lo, hi = -1.0, 1.0
        for _ in range(_BISECT_STEPS):
            mid = (lo + hi) / 2.0
            if rejects(mid):
                lo = mid
            else:
                hi = mid
        return hi
    if not rejects(1.0):
        return 1.0
    lo, hi = -1.0, 1.0
    for _ in range(_BISECT_STEPS):
        mid = (lo + hi) / 2.0
        if rejects(mid):
            hi = mid
        else:
            lo = mid
    return lo
