#!/usr/bin/env python3
"""Simulation bench for the benchmark gate ("Measuring a gate" in GATE_STATISTICS.md).

Simulates many edits per scenario and measures how often the gate accepts (the
false-accept rate when nothing improved or something regressed; the power when the
target really improved), what a decision costs in agent runs, and how that compares with
a valid fixed-n paired test of equal power on the same tasks. All gates see the same
simulated results (common random numbers).

Generators, per cluster (one "run" is one agent answer; a pair has ``repeats`` runs per
side):

- binary: pass/fail with base pass rate p_base, effect Δ and discordance psi;
  P(baseline fails, candidate passes) = (psi + Δ)/2, the reverse (psi - Δ)/2;
- correlated: task difficulty a ~ N(0, s²), P(pass) = sigmoid(a + logit(p_base) + d),
  the two runs independent given a; d is solved so that the mean effect is Δ;
- graded: judge scores, quality q = sigmoid(N(logit(p_base), 1.5²)), each run scored
  clip(q (+ Δ) + N(0, σ²)) to [0, 1];
- noisy: an LLM-like student. Each task has a pass probability p ~ Beta(2, 2) (so two runs
  of the same spec disagree 40% of the time: null discordance 0.4); the candidate's is
  p + 2Δ(1 - p) (Δ > 0) or p (1 + 2Δ) (Δ < 0), a mean effect Δ; every run is a fresh
  Bernoulli draw, so repeats shrink the noise but not the task-to-task spread;
- fixed: a deterministic student on a finite pool: the target has exactly ``wins`` tasks
  fixed and the rest tied; the other clusters are all tied (or unchanged by the edit).

Errors: ``error_rate`` errors whole pairs at random; ``hide`` makes a candidate run error
(with that probability) exactly where it would have lost: informative errors, which
make a gate that drops errored pairs see only the candidate's wins and ties.

Gates compared:

- reference-50: the reference rule (``decide_mean``) on the first 50 tasks;
- fixed-N: a valid fixed-n paired test on the first N tasks of the same interleaved order
  at the same alpha, with the sequential gate's contract: efficacy on the target AND
  non-inferiority on the pooled changed off-target pairs at alpha AND on each at
  ``cluster_alpha``. Binary scores: exact one-sided sign (McNemar) test and exact
  non-inferiority (Tango's statistic, critical value from the sup of its tail over the
  boundary); otherwise one-sided z-tests on the task differences (approximate). Errors
  are imputed as for the gate (so the test stays valid under informative errors);
- sequential: the e-process gate (``specdistill.gate``) with its defaults (and the
  scenario's ``repeats``), told which clusters the edit leaves unchanged, sampling target
  and off-target tasks alternately and skipping clusters it no longer wants.

Usage: ``python3 bench/gate_sim.py [--reps N] [--slow-reps N] [--quick] [--json]
[--workers W] [--only TEXT]``. The full run (1,000 edits per scenario, 400 for the slow
ones) takes ~6 minutes on 2 cores (~12 on one); its output is kept in
``bench/results/gate_sim.txt``.
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import Pool
from pathlib import Path
from statistics import NormalDist
from typing import Any

try:
    import specdistill  # noqa: F401
except ImportError:  # running from a checkout without installing the package
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
from specdistill import gate
from specdistill.gate.config import too_many_errors

Runs = tuple[list[float], list[float]]  # baseline runs, candidate runs (one task)
Draw = Callable[[random.Random], Runs]
TARGET = "T"
OFF_NAMES = ("A", "B", "C")


@dataclass(frozen=True)
class Cl:
    """One cluster's truth: effect ``delta``; ``spread`` is psi (binary), the difficulty
    sd s (correlated) or the judge noise σ (graded); unused by noisy and fixed."""

    delta: float
    spread: float = 0.0
    p_base: float = 0.5


@dataclass(frozen=True)
class Scenario:
    """A simulated edit. ``kind``: null / regression (any accept is false), gain /
    tolerable (accept wanted), errors (abstain wanted). ``pool`` tasks per cluster (None:
    unlimited); ``unchanged``: the edit leaves the off-target clusters' inputs unchanged;
    ``wins``: for the fixed variant, target tasks fixed (of ``pool``; the rest tie)."""

    name: str
    kind: str
    variant: str
    target: Cl
    others: tuple[Cl, ...]
    error_rate: float = 0.0
    hide: float = 0.0
    pool: int | None = None
    repeats: int = 1
    unchanged: bool = False
    wins: int = 0
    slow: bool = False  # simulated with fewer repetitions (see --slow-reps)


def _scenarios() -> list[Scenario]:
    o06 = (Cl(0.0, 0.06),) * 3
    up = Cl(0.25, 0.3)  # target +0.25 (psi 0.3 so that p01 = 0.025 stays >= 0)
    c_off, g_off = (Cl(0.0, 12.0),) * 3, (Cl(0.0, 0.08),) * 3
    low = Cl(0.0, 0.04, 0.06)
    n0, n25 = (Cl(0.0),) * 3, Cl(0.25)
    noisy = [
        Scenario(f"noisy null, r={r}, 40/cluster", "null", "noisy", Cl(0.0), n0,
                 pool=40, repeats=r, unchanged=True)
        for r in (1, 3, 5)
    ] + [
        Scenario(f"noisy +0.25, r={r}, 40/cluster", "gain", "noisy", n25, n0,
                 pool=40, repeats=r, unchanged=True)
        for r in (1, 3, 5)
    ]  # fmt: skip
    return [
        # the existing scenarios (unlimited pools, every cluster changed)
        Scenario("null", "null", "binary", Cl(0.0, 0.2), o06),
        Scenario("null, 6% base rate", "null", "binary", Cl(0.0, 0.08, 0.06), (low,) * 3),
        Scenario("target +0.05", "gain", "binary", Cl(0.05, 0.2), o06),
        Scenario("target +0.10", "gain", "binary", Cl(0.10, 0.2), o06),
        Scenario("target +0.25", "gain", "binary", up, o06),
        Scenario("+0.25, one other -0.15", "regression", "binary", up,
                 (Cl(-0.15, 0.2), Cl(0.0, 0.06), Cl(0.0, 0.06))),
        Scenario("+0.25, all others -0.15", "regression", "binary", up, (Cl(-0.15, 0.2),) * 3),
        Scenario("+0.25, others -0.03", "tolerable", "binary", up, (Cl(-0.03, 0.06),) * 3),
        Scenario("target 0, others +0.10", "null", "binary", Cl(0.0, 0.2), (Cl(0.1, 0.14),) * 3),
        Scenario("high noise, null", "null", "binary", Cl(0.0, 0.5), (Cl(0.0, 0.2),) * 3),
        Scenario("high noise, +0.25", "gain", "binary", Cl(0.25, 0.5), (Cl(0.0, 0.2),) * 3),
        Scenario("correlated null", "null", "correlated", Cl(0.0, 4.0), c_off),
        Scenario("correlated +0.25", "gain", "correlated", Cl(0.25, 4.0), c_off),
        Scenario("correlated, all -0.15", "regression", "correlated", Cl(0.25, 4.0),
                 (Cl(-0.15, 12.0),) * 3),
        Scenario("graded null", "null", "graded", Cl(0.0, 0.15), g_off),
        Scenario("graded +0.10", "gain", "graded", Cl(0.10, 0.15), g_off),
        Scenario("graded, all -0.15", "regression", "graded", Cl(0.10, 0.15),
                 (Cl(-0.15, 0.08),) * 3),
        Scenario("+0.25, 30% errors", "errors", "binary", up, o06, error_rate=0.3),
        # small benchmarks, deterministic student: 10 tasks per cluster
        Scenario("10/cluster: fixes 8 of 10, others unchanged", "gain", "fixed", Cl(0.8),
                 (Cl(0.0),) * 3, pool=10, unchanged=True, wins=8),
        Scenario("10/cluster: fixes 9 of 10, others tied", "gain", "fixed", Cl(0.9),
                 (Cl(0.0),) * 3, pool=10, wins=9),
        Scenario("10/cluster: null (psi 0.2), others unchanged", "null", "binary",
                 Cl(0.0, 0.2), o06, pool=10, unchanged=True),
        # edits that leave the other clusters unchanged (unlimited pools)
        Scenario("+0.25, others unchanged", "gain", "binary", up, o06, unchanged=True),
        Scenario("null, others unchanged", "null", "binary", Cl(0.0, 0.2), o06, unchanged=True),
        # informative errors: the candidate errors exactly where it would fail
        Scenario("null, candidate errors hide its losses", "null", "binary",
                 Cl(0.0, 0.2), o06, hide=1.0),
        Scenario("+0.25, all others -0.15, errors hide their losses", "regression", "binary",
                 up, (Cl(-0.15, 0.2),) * 3, hide=1.0),
        Scenario("graded null, errors hide half the losses", "null", "graded",
                 Cl(0.0, 0.15), g_off, hide=0.3),
        Scenario("noisy null, r=3, errors hide losses", "null", "noisy", Cl(0.0), n0,
                 pool=40, repeats=3, unchanged=True, hide=0.5),
        # noisy students (null discordance 0.4), 40 tasks per cluster
        *noisy,
        Scenario("noisy +0.25, r=3, 40/cluster, others changed", "gain", "noisy", n25, n0,
                 pool=40, repeats=3, slow=True),
        Scenario("noisy +0.25, r=5, 40/cluster, others changed", "gain", "noisy", n25, n0,
                 pool=40, repeats=5, slow=True),
        Scenario("noisy, r=3, one other -0.15", "regression", "noisy", n25,
                 (Cl(-0.15), Cl(0.0), Cl(0.0)), pool=40, repeats=3, slow=True),
    ]  # fmt: skip


def _sig(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x)) if x > -700 else 0.0


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


def _corr_effect(b: float, d: float, s: float) -> float:
    """Mean effect of logit shift d at base logit b, difficulty sd s (midpoint quadrature)."""
    tot = acc = 0.0
    for k in range(400):
        z = -6.0 + 12.0 * (k + 0.5) / 400
        w = math.exp(-z * z / 2.0)
        tot += w
        acc += w * (_sig(s * z + b + d) - _sig(s * z + b))
    return acc / tot


def _binary(c: Cl) -> Callable[[random.Random], tuple[float, float]]:
    p10, p01 = (c.spread + c.delta) / 2.0, (c.spread - c.delta) / 2.0
    p11 = c.p_base - p01
    if min(p10, p01, p11, 1.0 - p10 - p01 - p11) < 0.0:
        raise ValueError(f"impossible cluster {c}")
    a, b, e = p10, p10 + p01, p10 + p01 + p11

    def draw(rng: random.Random) -> tuple[float, float]:
        u = rng.random()
        if u < a:
            return (0.0, 1.0)
        if u < b:
            return (1.0, 0.0)
        return (1.0, 1.0) if u < e else (0.0, 0.0)

    return draw


def sampler(variant: str, c: Cl, repeats: int = 1) -> Draw:
    """Return a function drawing one task's runs (baseline, candidate) for cluster c."""
    r = repeats
    if variant == "noisy":
        d = c.delta

        def draw_n(rng: random.Random) -> Runs:
            p = rng.betavariate(2.0, 2.0)
            q = p + 2.0 * d * (1.0 - p) if d >= 0.0 else p * (1.0 + 2.0 * d)
            base = [float(rng.random() < p) for _ in range(r)]
            return base, [float(rng.random() < q) for _ in range(r)]

        return draw_n
    if r != 1:
        raise ValueError(f"repeats are simulated for the noisy variant only, not {variant}")
    if variant == "binary":
        one = _binary(c)
    elif variant == "correlated":
        base = _logit(c.p_base)
        lo, hi = -30.0, 30.0
        for _ in range(60):  # solve the logit shift for the wanted mean effect
            mid = (lo + hi) / 2.0
            lo, hi = (mid, hi) if _corr_effect(base, mid, c.spread) < c.delta else (lo, mid)
        shift, s = (lo + hi) / 2.0, c.spread

        def one(rng: random.Random) -> tuple[float, float]:
            a = rng.gauss(0.0, s) + base
            return (float(rng.random() < _sig(a)), float(rng.random() < _sig(a + shift)))

    elif variant == "graded":
        base = _logit(c.p_base)

        def one(rng: random.Random) -> tuple[float, float]:
            q = _sig(rng.gauss(base, 1.5))
            x = q + rng.gauss(0.0, c.spread)
            y = q + c.delta + rng.gauss(0.0, c.spread)
            return (min(1.0, max(0.0, x)), min(1.0, max(0.0, y)))

    else:
        raise ValueError(f"unknown variant {variant!r}")

    def draw(rng: random.Random) -> Runs:
        x, y = one(rng)
        return [x], [y]

    return draw


_SIGN: dict[tuple[float, int], int] = {}
_NI: dict[tuple[float, float, int], float] = {}


def _z(alpha: float) -> float:
    return NormalDist().inv_cdf(1.0 - alpha)


def sign_critical(alpha: float, n: int) -> int:
    """Smallest w with P(Bin(n, 1/2) >= w) <= alpha: the exact one-sided McNemar test."""
    key = (alpha, n)
    if key not in _SIGN:
        tail, w = 0.0, n + 1
        for k in range(n, -1, -1):
            tail += math.comb(n, k) / 2.0**n
            if tail > alpha:
                break
            w = k
        _SIGN[key] = w
    return _SIGN[key]


def tango_z(a: int, b: int, m: int, eps: float) -> float:
    """Tango's score statistic for H0: p10 - p01 <= -eps from n10 = a, n01 = b of m pairs.

    Uses the restricted maximum-likelihood p01 under p10 - p01 = -eps (a quadratic).
    """
    d0 = -eps
    t = m - a - b
    big = a * (1 - d0) + b * (1 - 3 * d0) - 2 * t * d0
    q = (big + math.sqrt(max(big * big + 8 * m * b * d0 * (1 - d0), 0.0))) / (4 * m)
    var = 2 * q + d0 - d0 * d0
    return (a - b - m * d0) / math.sqrt(m * var) if var > 0 else math.inf


def ni_critical(alpha: float, eps: float, m: int) -> float:
    """Critical value of Tango's z for an *exact* level-alpha test with m pairs.

    Exact unconditional: the rejection region {z >= c} is the largest set of top-ranked
    outcomes whose probability stays <= alpha for every null p01 = p10 + eps, p10 on a
    101-point grid of [0, (1 - eps)/2] (the boundary: a larger p01 only lowers z).
    Tango's asymptotic test alone over-rejects at small m (25 ties give z 1.67 > 1.645,
    yet 0.9^25 = 7% of null samples are all ties).
    """
    key = (alpha, eps, m)
    if key in _NI:
        return _NI[key]
    outs = sorted(
        ((tango_z(a, b, m, eps), a, b) for a in range(m + 1) for b in range(m + 1 - a)),
        reverse=True,
    )
    lf = [math.lgamma(k + 1) for k in range(m + 1)]
    worst = [0.0] * len(outs)
    for k in range(101):
        p10 = (1.0 - eps) / 2.0 * k / 100
        p01, p0 = p10 + eps, 1.0 - 2.0 * p10 - eps
        logs = [math.log(p) if p > 0 else -math.inf for p in (p10, p01, p0)]
        tail = 0.0
        for i, (_, a, b) in enumerate(outs):
            t = m - a - b
            terms = (a, logs[0]), (b, logs[1]), (t, logs[2])
            if all(n == 0 or lg > -math.inf for n, lg in terms):
                lp = lf[m] - lf[a] - lf[b] - lf[t] + sum(n * lg for n, lg in terms if n)
                tail += math.exp(lp)
            worst[i] = max(worst[i], tail)
    crit = math.inf
    for i, (z, _, _) in enumerate(outs):
        if worst[i] > alpha:
            break
        if i + 1 == len(outs) or outs[i + 1][0] < z:  # never split a tie
            crit = z
    _NI[key] = crit
    return crit


def _z_rejects(ds: list[float], m0: float, alpha: float) -> bool:
    """One-sided z-test of mean(ds) > m0 (approximate; used for graded scores)."""
    n = len(ds)
    if n < 2:
        return False
    mean = sum(ds) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in ds) / (n - 1))
    if sd == 0.0:
        return mean > m0
    return (mean - m0) / (sd / math.sqrt(n)) >= _z(alpha)


def make_pair(cluster: str, runs: Runs, rng: random.Random, sc: Scenario) -> gate.Pair:
    """The gate's view of one task: means over the runs that scored, errors counted."""
    base, cand = runs
    r = len(base)
    if sc.error_rate and rng.random() < sc.error_rate:
        return gate.Pair("", cluster, None, None, error=True, runs=2 * r, repeats=r,
                         baseline_errors=r, candidate_errors=r)  # fmt: skip
    # informative errors: a candidate run errors exactly where it would lose (scores
    # below the baseline's run), so a gate that drops errors sees only its wins and ties
    kept = [y for x, y in zip(base, cand, strict=True)
            if not (y < x and sc.hide and rng.random() < sc.hide)]  # fmt: skip
    ce = r - len(kept)
    return gate.Pair(
        "", cluster, sum(base) / r, sum(kept) / len(kept) if kept else None,
        runs=2 * r, repeats=r, baseline_errors=0, candidate_errors=ce,
    )  # fmt: skip


class Stream:
    """One simulated edit's tasks, drawn lazily per cluster and shared by every gate
    (common random numbers): ``get(c, k)`` is the k-th task of cluster c, or None past the
    pool. Off-target clusters the edit leaves unchanged are never drawn."""

    def __init__(self, rng: random.Random, sc: Scenario, draws: list[Draw]) -> None:
        self.rng, self.sc = rng, sc
        self.offs = () if sc.unchanged else OFF_NAMES[: len(sc.others)]
        self.draw = dict(zip((TARGET, *OFF_NAMES[: len(sc.others)]), draws, strict=True))
        self.rows: dict[str, list[gate.Pair]] = {c: [] for c in self.draw}
        if sc.variant == "fixed":  # an exact composition, in a random order
            n = sc.pool or 0
            wins = [gate.Pair("", TARGET, 0.0, 1.0)] * sc.wins
            ties = [gate.Pair("", TARGET, 1.0, 1.0)] * (n - sc.wins)
            self.rows[TARGET] = rng.sample(wins + ties, n)
            for c in self.offs:
                self.rows[c] = [gate.Pair("", c, 1.0, 1.0)] * n

    def get(self, c: str, k: int) -> gate.Pair | None:
        """The k-th task of cluster c, or None past the pool."""
        if self.sc.pool is not None and k >= self.sc.pool:
            return None
        rows = self.rows[c]
        while len(rows) <= k:
            rows.append(make_pair(c, self.draw[c](self.rng), self.rng, self.sc))
        return rows[k]

    def clusters(self) -> tuple[str, ...]:
        """The clusters that take part: the target and the changed off-target ones."""
        return (TARGET, *self.offs)

    def interleaved(self, n: int) -> list[gate.Pair]:
        """Up to n tasks of the gate's order: target and changed off-target tasks
        alternate, the off-target clusters round-robin (as ``task_order`` does)."""
        out: list[gate.Pair] = []
        tk = ok = 0
        m = len(self.offs)
        while len(out) < n:
            t = self.get(TARGET, tk)
            o = self.get(self.offs[ok % m], ok // m) if m else None
            if t is None and o is None:
                break
            if t is not None:
                out.append(t)
                tk += 1
            if o is not None and len(out) < n:
                out.append(o)
                ok += 1
        return out[:n]


def _fixed(pairs: list[gate.Pair], cfg: gate.GateConfig) -> tuple[bool, int, str]:
    """The valid fixed-n gate with the sequential gate's contract (errors imputed)."""
    errors = sum(p.error for p in pairs)
    runs = sum(p.runs for p in pairs)
    if too_many_errors(errors, len(pairs), cfg, final=True):
        return (False, runs, "abstain")
    by: dict[str, list[float]] = {}
    binary = True
    for p in pairs:
        d = p.decision_delta
        by.setdefault(p.cluster, []).append(d)
        binary = binary and d in (-1.0, 0.0, 1.0)
    tgt = by.pop(TARGET, [])
    off = [d for ds in by.values() for d in ds]

    def ni(ds: list[float], alpha: float) -> bool:
        if not binary:
            return _z_rejects(ds, -cfg.eps, alpha)
        a, b = sum(d > 0 for d in ds), sum(d < 0 for d in ds)
        return bool(ds) and tango_z(a, b, len(ds), cfg.eps) >= ni_critical(alpha, cfg.eps, len(ds))

    if binary:
        w, lo = sum(d > 0 for d in tgt), sum(d < 0 for d in tgt)
        eff = w >= sign_critical(cfg.alpha, w + lo)
    else:
        eff = _z_rejects(tgt, 0.0, cfg.alpha)
    if not eff:
        return (False, runs, "no_efficacy")
    if not by:  # no changed off-target cluster: nothing to prove
        return (True, runs, "proven")
    ok = ni(off, cfg.alpha)
    if ok and cfg.cluster_alpha is not None:
        ok = all(ni(ds, cfg.cluster_alpha) for ds in by.values())
    return (ok, runs, "proven" if ok else "not_non_inferior")


FIXED_N = (20, 50, 100, 200, 300, 400, 600)


def fixed_sizes(sc: Scenario) -> tuple[int, ...]:
    """Fixed-n sizes that fit the pool (the whole pool last)."""
    if sc.pool is None:
        return FIXED_N
    total = sc.pool * (1 if sc.unchanged else 1 + len(sc.others))
    return (*(n for n in FIXED_N if n < total), total)


def gates_of(sc: Scenario) -> tuple[str, ...]:
    return ("reference-50", *(f"fixed-{n}" for n in fixed_sizes(sc)), "sequential")


def _sequential(stream: Stream, cfg: gate.GateConfig) -> tuple[bool, int, str]:
    """Drive the gate like ``next_task`` over ``task_order``: alternate target and
    off-target (round-robin), skipping clusters it no longer wants or that ran out."""
    sc = stream.sc
    offs = stream.offs
    changed = {c: (0 if c not in offs else (sc.pool or 10**6)) for c in OFF_NAMES[: len(sc.others)]}
    unchanged = {c: sc.pool or 0 for c, k in changed.items() if k == 0}
    st = gate.start(TARGET, stream.draw, cfg, changed=changed, unchanged=unchanged)
    used = dict.fromkeys(stream.draw, 0)
    rr, last_target = 0, False
    while not st.done:
        want = {c for c in st.wanted if stream.get(c, used[c]) is not None}
        if not want:
            st = gate.finish(st)
            break
        live = [c for c in offs if c in want]
        if TARGET in want and (not live or not last_target):
            c, last_target = TARGET, True
        else:
            while offs[rr % len(offs)] not in want:
                rr += 1
            c, rr, last_target = offs[rr % len(offs)], rr + 1, False
        pair = stream.get(c, used[c])
        assert pair is not None
        st = gate.step(st, pair)
        used[c] += 1
    return (st.outcome == "accept", st.runs, st.code)


@dataclass
class Tally:
    """Raw outcomes of one gate in one scenario."""

    accepts: int = 0
    runs: list[int] = field(default_factory=list)
    codes: Counter[str] = field(default_factory=Counter)

    def add(self, other: Tally) -> None:
        self.accepts += other.accepts
        self.runs.extend(other.runs)
        self.codes.update(other.codes)

    def summary(self) -> dict[str, Any]:
        """Accept rate with its standard error, runs per decision, decision reasons."""
        runs = sorted(self.runs)
        n = len(runs)
        p = self.accepts / n
        return {
            "n": n,
            "accept": p,
            "se": math.sqrt(p * (1.0 - p) / n),
            "runs_mean": sum(runs) / n,
            "runs_median": runs[(n - 1) // 2],
            "runs_p90": runs[math.ceil(0.9 * n) - 1],
            "reasons": {c: k / n for c, k in self.codes.most_common()},
        }


def simulate(job: tuple[int, int, int, int]) -> dict[str, Tally]:
    """Run ``reps`` simulated edits of scenario ``si`` (chunk ``ci``); return tallies."""
    si, ci, reps, seed = job
    sc = _scenarios()[si]
    key = f"{seed}|{sc.name}|{ci}".encode()
    rng = random.Random(int(hashlib.sha256(key).hexdigest()[:16], 16))
    clusters = (sc.target, *sc.others)
    if sc.variant == "fixed":  # Stream draws the exact composition itself
        draws: list[Draw] = [sampler("binary", Cl(0.0)) for _ in clusters]
    else:
        draws = [sampler(sc.variant, c, sc.repeats) for c in clusters]
    cfg = gate.GateConfig(repeats=sc.repeats)
    ref = gate.GateConfig(mode="mean", subsample=50)
    names = gates_of(sc)
    out = {g: Tally() for g in names}
    for _ in range(reps):
        stream = Stream(rng, sc, draws)
        results: dict[str, tuple[bool, int, str]] = {}
        d = gate.decide_mean(stream.interleaved(50), TARGET, ref, intervals=False)
        results["reference-50"] = (d.accepted, d.runs_used, d.code)
        for n in fixed_sizes(sc):
            results[f"fixed-{n}"] = _fixed(stream.interleaved(n), cfg)
        results["sequential"] = _sequential(stream, cfg)
        for g, (acc, runs, code) in results.items():
            out[g].accepts += acc
            out[g].runs.append(runs)
            out[g].codes[code] += 1
    return out


def run(
    reps: int, workers: int, seed: int, slow_reps: int, only: str = "", chunk: int = 250
) -> dict[str, dict[str, Any]]:
    """Simulate every scenario (whose name contains ``only``) ``reps`` times
    (``slow_reps`` for the slow ones); return summaries by scenario and gate."""
    scen = _scenarios()
    jobs = []
    for si, sc in enumerate(scen):
        if only not in sc.name:
            continue
        n = slow_reps if sc.slow else reps
        jobs += [(si, ci, min(chunk, n - ci * chunk), seed) for ci in range(math.ceil(n / chunk))]
    cfg = gate.GateConfig()
    for n in FIXED_N:  # computed once here; forked workers inherit the cache
        ni_critical(cfg.alpha, cfg.eps, n // 2)
        if cfg.cluster_alpha is not None:
            for m in range(n // 6 - 1, n // 6 + 2):
                ni_critical(cfg.cluster_alpha, cfg.eps, m)
    if workers > 1:
        with Pool(workers) as pool:
            parts = pool.map(simulate, jobs, chunksize=1)
    else:
        parts = [simulate(j) for j in jobs]
    tallies = [{g: Tally() for g in gates_of(sc)} for sc in scen]
    for job, part in zip(jobs, parts, strict=True):
        for g, t in part.items():
            tallies[job[0]][g].add(t)
    return {
        sc.name: {"kind": sc.kind, "variant": sc.variant, "repeats": sc.repeats,
                  "pool": sc.pool, "unchanged": sc.unchanged,
                  "gates": {g: tallies[si][g].summary() for g in gates_of(sc)}}
        for si, sc in enumerate(scen)
        if only in sc.name
    }  # fmt: skip


def equal_power(r: dict[str, Any], power: float) -> tuple[float, float] | None:
    """(pairs, runs) a valid fixed-n test needs for ``power`` (linear between simulated
    n), or None if even the largest simulated n falls short."""
    pts = [
        (int(g.split("-")[1]), s["accept"], s["runs_mean"])
        for g, s in r["gates"].items()
        if g.startswith("fixed-")
    ]
    if pts[0][1] >= power:
        return (float(pts[0][0]), pts[0][2])
    for (n0, p0, r0), (n1, p1, r1) in itertools.pairwise(pts):
        if p0 < power <= p1:
            f = (power - p0) / (p1 - p0)
            return (n0 + (n1 - n0) * f, r0 + (r1 - r0) * f)
    return None


def checks(res: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The issue's targets: false accepts under nulls and regressions, and power."""
    bad = [k for k, r in res.items() if r["kind"] in ("null", "regression")]
    worst = max(bad, key=lambda k: res[k]["gates"]["sequential"]["accept"])
    seq = {k: r["gates"]["sequential"] for k, r in res.items()}
    rows = {}
    for k, r in res.items():
        s = seq[k]
        row: dict[str, Any] = {"kind": r["kind"], "accept": s["accept"], "se": s["se"],
                               "runs_mean": s["runs_mean"]}  # fmt: skip
        if r["kind"] in ("gain", "tolerable") and s["accept"] > 0:
            eq = equal_power(r, s["accept"])
            row["fixed_runs"] = eq[1] if eq else None
            row["ratio"] = s["runs_mean"] / eq[1] if eq else None
        rows[k] = row
    small = "10/cluster: fixes 8 of 10, others unchanged"
    noisy = [k for k in res if k.startswith("noisy +0.25") and "others changed" not in k]
    return {
        "max_false_accept": seq[worst]["accept"],
        "max_false_accept_se": seq[worst]["se"],
        "max_false_accept_scenario": worst,
        "false_accept_ok": seq[worst]["accept"] <= 0.05 + 2 * seq[worst]["se"],
        "small_sample_power": seq[small]["accept"],
        "noisy_power": {k: seq[k]["accept"] for k in noisy},
        "rows": rows,
    }


def render(res: dict[str, dict[str, Any]], chk: dict[str, Any]) -> str:
    """The key table, the per-scenario detail, and the check lines."""
    out = ["key table (sequential gate, GateConfig() defaults with the scenario's repeats):",
           f"  {'scenario':<52}{'kind':<11}{'accept':>8}{'±SE':>7}{'runs':>7}"
           f"{'fixed-n runs':>14}{'ratio':>7}"]  # fmt: skip
    for k, row in chk["rows"].items():
        fx = row.get("fixed_runs")
        ratio = row.get("ratio")
        fixed_txt = "" if "fixed_runs" not in row else ("none" if fx is None else f"{fx:.0f}")
        ratio_txt = "" if ratio is None else f"{ratio:.2f}"
        out.append(
            f"  {k:<52}{row['kind']:<11}{row['accept']:>7.1%}{row['se']:>7.1%}"
            f"{row['runs_mean']:>7.0f}{fixed_txt:>14}{ratio_txt:>7}"
        )
    out += [
        "",
        "  fixed-n runs: mean runs of a valid fixed-n paired test with the same power",
        "  (interpolated; 'none': no simulated n is that powerful); ratio = runs / that.",
        "",
    ]
    head = f"  {'gate':<15}{'accept':>8}{'±SE':>7}{'runs':>7}{'med':>6}{'p90':>6}  reasons"
    for name, r in res.items():
        out += [f"== {name}  [{r['kind']}, {r['variant']}, repeats {r['repeats']}, "
                f"pool {r['pool'] or 'unlimited'}{', others unchanged' if r['unchanged'] else ''}]",
                head]  # fmt: skip
        for g, s in r["gates"].items():
            reasons = ", ".join(f"{c} {p:.0%}" for c, p in list(s["reasons"].items())[:4])
            out.append(
                f"  {g:<15}{s['accept']:>7.1%}{s['se']:>7.1%}{s['runs_mean']:>7.0f}"
                f"{s['runs_median']:>6}{s['runs_p90']:>6}  {reasons}"
            )
    ok = {True: "met", False: "MISSED"}
    out += [
        "",
        f"sequential: max false-accept over null/regression scenarios = "
        f"{chk['max_false_accept']:.1%} ± {chk['max_false_accept_se']:.1%} "
        f"({chk['max_false_accept_scenario']}) (target ≤ 5%: {ok[chk['false_accept_ok']]})",
        f"10 tasks per cluster, 8 of 10 fixed, others unchanged: accepted "
        f"{chk['small_sample_power']:.1%}",
        "noisy student (null discordance 0.4), +0.25, 40 tasks per cluster: "
        + ", ".join(f"{k.split(', ')[1]} {p:.1%}" for k, p in chk["noisy_power"].items()),
    ]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, simulate, print the table (or JSON)."""
    ap = argparse.ArgumentParser(description="Simulate the benchmark gate.")
    ap.add_argument("--reps", type=int, default=None, help="edits per scenario (1000)")
    ap.add_argument("--slow-reps", type=int, default=None, help="for the slow scenarios (400)")
    ap.add_argument("--quick", action="store_true", help="200 edits per scenario")
    ap.add_argument("--json", action="store_true", help="print JSON instead of the table")
    ap.add_argument("--workers", type=int, default=2, help="processes (2)")
    ap.add_argument("--seed", type=int, default=20240601)
    ap.add_argument("--only", default=None, help="only the scenarios whose name has this")
    args = ap.parse_args(argv)
    reps = args.reps or (200 if args.quick else 1000)
    slow = args.slow_reps or (100 if args.quick else 400)
    t0 = time.time()
    res = run(reps, args.workers, args.seed, slow, args.only or "")
    chk = checks(res) if not args.only else {"rows": checks_rows(res)}
    if args.json:
        print(
            json.dumps({"reps": reps, "slow_reps": slow, "scenarios": res, "checks": chk}, indent=2)
        )
        return 0
    print(f"{reps} simulated edits per scenario ({slow} for the slow ones: the noisy students "
          "with changed off-target clusters); one pair = 2 x repeats runs")  # fmt: skip
    if args.only:
        print(json.dumps(chk, indent=1))
    else:
        print(render(res, chk))
    print(f"({time.time() - t0:.0f} s)")
    return 0


def checks_rows(res: dict[str, dict[str, Any]]) -> dict[str, Any]:
    return {k: {g: (round(s["accept"], 3), round(s["runs_mean"])) for g, s in r["gates"].items()}
            for k, r in res.items()}  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
