"""Mixtures of betting martingales on paired score differences: the arithmetic under the gate.

To test H0: mu <= m for the mean mu of paired differences D_i in [-1, 1], a gambler
starting with wealth 1 stakes a fixed fraction lambda of it on each new D_i:

    K_n(lambda, m) = prod_{i <= n} (1 + lambda * (D_i - m)),   0 <= lambda < 1 / (1 + m).

Under H0 each factor has conditional expectation <= 1, so K is a non-negative
supermartingale and Ville's inequality gives P(sup_n K_n >= 1/alpha) <= alpha: the wealth
may be checked after every pair and the test stopped at any time. With pass/fail scores,
m = 0 and one lambda this is Wald's SPRT on discordant pairs (a win multiplies the wealth
by 1 + lambda, a loss by 1 - lambda, a tie leaves it alone).

The gate bets on a fixed *grid* of J stakes at once and averages the wealths:

    K_n(m) = (1/J) sum_j K_n(lambda_j, m),   lambda_j = c_j / (1 + m),

with fractions ``c_j`` = ``top / 1.7^k`` (k = 0..3; 0.9, 0.53, 0.31, 0.18 at the default
``top`` 0.9). An average of test supermartingales is one, so the mixture is
anytime-valid with no predictable plug-in; it is monotone in every D_i (each factor is,
and every factor stays positive for D in [-1, 1] since c_j < 1); and it tracks the best
stake of the grid up to a factor J (log 4 = 1.4 nats). The top stake makes small samples
decisive: 7 straight wins give (1.9^7 + 1.53^7 + 1.31^7 + 1.18^7) / 4 = 30 >= 20 =
1/alpha (a bet sized for a 0.10 effect needed 16 or more); the smaller ones keep power
for small or noisy effects. Smaller stakes would only help effects too small to prove
within the gate's budget (a stake c grows the wealth by about c * effect / 2 per pair at
best, and 300 pairs need ~0.015 nats a pair), while each one costs every test evidence.

References: Wald (1947); Howard et al., Ann. Stat. 49(2), 2021; Waudby-Smith & Ramdas,
JRSSB 2024 (betting confidence sequences, mixtures over stakes).

Everything works in log space; a factor <= 0 (only possible at a stake of 1) yields
``-inf`` for that stake: that gambler went broke, the others play on.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

NEG_INF = float("-inf")
GRID_SIZE = 4
"""Stakes in the grid: each costs log(GRID_SIZE) nats of evidence, the price of adapting."""
GRID_RATIO = 1.7
"""Ratio between neighbouring stakes: a growth rate within ~7% of the best fixed stake."""
TOP_STAKE = 0.9
"""Default largest stake, as a fraction of the largest valid bet 1 / (1 + m)."""
_BISECT_STEPS = 36  # ~3e-11 on [-1, 1]
_LOG_CAP = 690.0  # exp() of more overflows

Logs = tuple[float, ...]
"""Log wealth of each stake of the grid, in grid order."""


def stake_grid(top: float = TOP_STAKE) -> tuple[float, ...]:
    """Return the grid of stake fractions ``top / GRID_RATIO**k``, largest first.

    >>> [round(c, 3) for c in stake_grid(0.9)]
    [0.9, 0.529, 0.311, 0.183]
    """
    if not 0.0 < top <= 1.0:
        raise ValueError(f"stake_grid: top={top!r}: must be in (0, 1]")
    return tuple(top / GRID_RATIO**k for k in range(GRID_SIZE))


def stakes_for(fractions: Sequence[float], m: float) -> tuple[float, ...]:
    """Return the actual bets ``c_j / (1 + m)`` for testing ``mean <= m`` (factor
    ``1 + lambda (x)`` with ``x = D - m`` in [-(1 + m), 1 - m])."""
    room = max(1.0 + m, 1e-9)  # m = -1: any D above -1 is infinite evidence
    return tuple(c / room for c in fractions)


def start_logs(size: int = GRID_SIZE) -> Logs:
    """Every gambler of the grid starts with wealth 1 (log 0)."""
    return (0.0,) * size


def grow(logs: Logs, stakes: Sequence[float], x: float) -> Logs:
    """Return the log wealths after one more outcome ``x`` (already centred: D - m, or
    m - D when betting that the mean is *below* m)."""
    out = []
    for lg, lam in zip(logs, stakes, strict=True):
        f = 1.0 + lam * x
        out.append(lg + math.log(f) if f > 0.0 and lg > NEG_INF else NEG_INF)
    return tuple(out)


def mixture(logs: Logs) -> float:
    """Return log of the mixture wealth, ``log((1/J) sum_j exp(logs_j))``."""
    top = max(logs)
    if top == NEG_INF:
        return NEG_INF
    return top + math.log(sum(math.exp(lg - top) for lg in logs)) - math.log(len(logs))


def more_needed(
    logs: Logs, stakes: Sequence[float], x: float, bar: float, limit: int = 100_000
) -> int | None:
    """Fewest further outcomes equal to ``x`` that lift the mixture to log wealth ``bar``.

    0 if it is there already; None if no number up to ``limit`` does (``x <= 0`` never
    helps). Used to say what would decide a test ("needs 6 more tied tasks").
    """
    if mixture(logs) >= bar:
        return 0
    steps = [math.log1p(lam * x) if 1.0 + lam * x > 0.0 else NEG_INF for lam in stakes]
    if x <= 0.0 or max(steps) <= 0.0:
        return None

    def reaches(k: int) -> bool:
        return mixture(tuple(lg + k * s for lg, s in zip(logs, steps, strict=True))) >= bar

    if not reaches(limit):
        return None
    lo, hi = 0, limit  # reaches(hi), not reaches(lo)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if reaches(mid) else (mid, hi)
    return hi


def e_value(log_k: float) -> float:
    """Return the wealth ``exp(log_k)`` without overflowing (capped at ~1e300)."""
    return math.exp(min(log_k, _LOG_CAP))


def p_value(max_log_k: float) -> float:
    """Anytime-valid p-value ``min(1, 1 / max_k K_k)`` from the running maximum of log K."""
    return min(1.0, math.exp(-max_log_k)) if max_log_k > 0.0 else 1.0


def mixture_log_wealth(
    ds: Sequence[float], m: float, sign: float = 1.0, fractions: Sequence[float] | None = None
) -> float:
    """Log mixture wealth after all of ``ds`` betting that ``sign * (mean - m) > 0``.

    ``sign = 1``: stakes ``c / (1 + m)`` on ``D - m``; ``sign = -1``: stakes ``c / (1 - m)``
    on ``m - D``, the mirror test (is the mean below m?).
    """
    grid = tuple(fractions) if fractions is not None else stake_grid()
    stakes = stakes_for(grid, sign * m)
    logs = start_logs(len(grid))
    for d in ds:
        logs = grow(logs, stakes, sign * (d - m))
    return mixture(logs)


def confidence_sequence(
    ds: Sequence[float], alpha: float, fractions: Sequence[float] | None = None
) -> tuple[float, float]:
    """Return a confidence sequence ``(low, high)`` for the mean of ``ds``.

    ``low`` is the smallest m whose "mean > m" mixture is now below ``1 / alpha``, ``high``
    the mirror image: each end a one-sided ``1 - alpha`` bound (so the pair is a two-sided
    ``1 - 2 alpha`` interval), and by Ville's inequality it covers the mean at every n at
    once. Each factor ``1 + c (D - m) / (1 + m)`` falls as m grows, so the wealth is
    monotone in m and both ends are found by bisection on [-1, 1]. The sample mean is
    always inside (log(1 + x) <= x), so ``low <= mean <= high``. Returns (-1, 1) for no
    data.
    """
    if not ds:
        return (-1.0, 1.0)
    bar = math.log(1.0 / alpha)

    def rejects_below(m: float) -> bool:  # evidence that mean > m
        return mixture_log_wealth(ds, m, 1.0, fractions) >= bar

    def rejects_above(m: float) -> bool:  # evidence that mean < m
        return mixture_log_wealth(ds, m, -1.0, fractions) >= bar

    low, high = _bisect(rejects_below, True), _bisect(rejects_above, False)
    return (min(low, high), max(low, high))  # equal up to bisection noise if they cross


def _bisect(rejects: Callable[[float], bool], lower: bool) -> float:
    """Find the boundary of the rejected region of m on [-1, 1] (monotone predicate)."""
    edge = -1.0 if lower else 1.0
    if not rejects(edge):
        return edge
    lo, hi = -1.0, 1.0
    for _ in range(_BISECT_STEPS):
        mid = (lo + hi) / 2.0
        # lower: rejected for small m, the end is the first m where it stops
        if rejects(mid) == lower:
            lo = mid
        else:
            hi = mid
    return hi if lower else lo
