"""The gate's issue-10 statistics: mixture bets that make small samples decisive, tasks
the edit leaves unchanged, errors that count against the edit, three-way verdicts in plain
words, and sizing computed from the tests themselves."""

from __future__ import annotations

import math
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specdistill.gate import (
    GateConfig,
    Pair,
    decide,
    decide_sequential,
    finish,
    min_tasks,
    stake_grid,
    start,
    step,
)
from specdistill.gate.eprocess import mixture_log_wealth

TARGET, OTHERS = "target", ("units", "capitals", "dates")
CLUSTERS = (TARGET, *OTHERS)
SCORES = {"W": (0.0, 1.0), "L": (1.0, 0.0), "T": (1.0, 1.0), "t": (0.0, 0.0)}


def pairs_of(cluster: str, letters: str, *, unchanged: bool = False) -> list[Pair]:
    out = []
    for i, x in enumerate(letters):
        b, c = SCORES[x]
        out.append(Pair(f"{cluster}-{i}", cluster, b, c, unchanged=unchanged))
    return out


def small_benchmark(target: str, *, others_unchanged: bool) -> list[Pair]:
    """10 tasks per cluster: the target's letters, the others all tied."""
    pairs = pairs_of(TARGET, target)
    for c in OTHERS:
        pairs += pairs_of(c, "T" * 10, unchanged=others_unchanged)
    return pairs


# --- small samples ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "target",
    ["WWWWWWWWTT", "TWWTWWWWWW", "WWWWWWWWWt", "ttWWWWWWWW", "WWWWWWWTTT"],
    ids=["8-fixed-first", "8-fixed-mixed", "9-fixed", "8-fixed-last", "7-fixed"],
)
def test_fixing_most_of_ten_target_tasks_with_the_others_unchanged_is_accepted(target):
    d = decide_sequential(small_benchmark(target, others_unchanged=True), TARGET, final=True)
    assert d.accepted and d.code == "proven", d.render()
    assert d.efficacy_e is not None and d.efficacy_e >= 20.0
    assert d.runs_used == 20 and d.unchanged == 30  # only the target's tasks were run
    assert all(not c.affected for c in d.clusters[1:])
    assert "'units': not changed by the edit (10 tasks unchanged) — cannot be worse" in d.summary


def test_eight_wins_and_two_ties_reach_one_over_alpha_with_the_grid():
    """The constants: 8 wins + 2 ties must reach 1/alpha = 20 for the default grid."""
    assert mixture_log_wealth([1.0] * 8 + [0.0] * 2, 0.0) >= math.log(20.0)
    assert mixture_log_wealth([1.0] * 6 + [0.0] * 4, 0.0) < math.log(20.0)
    assert stake_grid()[0] == 0.9 and len(stake_grid()) == 4


def test_six_of_ten_or_one_loss_is_not_enough():
    for target in ("WWWWWWTTTT", "WWWLWWWWWT"):
        d = decide_sequential(small_benchmark(target, others_unchanged=True), TARGET, final=True)
        assert not d.accepted and d.verdict == "inconclusive", target
        assert "improvement not proven, needs " in d.summary
        assert "better task in a row" in d.summary or "better tasks in a row" in d.summary


def test_the_same_edit_with_the_others_changed_but_tied_says_what_is_missing():
    d = decide_sequential(small_benchmark("WWWWWWWWWT", others_unchanged=False), TARGET, final=True)
    sizing = min_tasks()
    assert d.verdict == "inconclusive" and d.code == "inconclusive"
    units = next(x for x in d.sentences if x.startswith("'units'"))
    need = sizing.cluster_ties - 10  # type: ignore[operator]
    assert units == (
        f"'units': 10 of 10 tasks tied, none worse — not enough to rule out a 0.10 drop, "
        f"needs ≥ {need} more tied tasks"
    )
    assert d.sentences[0].startswith(
        "target 'target': 9 of 10 tasks better, none worse — improvement proven"
    )


# --- sizing -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "cfg",
    [GateConfig(), GateConfig(alpha=0.01), GateConfig(eps=0.2, cluster_alpha=0.1),
     GateConfig(lam=0.5), GateConfig(cluster_alpha=None)],
    ids=["defaults", "alpha-0.01", "eps-0.2", "lam-0.5", "pooled-only"],
)  # fmt: skip
def test_min_tasks_is_exactly_what_the_tests_need(cfg):
    s = min_tasks(cfg)
    assert s.efficacy_wins is not None and s.pooled_ties is not None
    bar = math.log(1.0 / cfg.alpha)
    assert mixture_log_wealth([1.0] * s.efficacy_wins, 0.0, 1.0, stake_grid(cfg.lam)) >= bar
    assert mixture_log_wealth([1.0] * (s.efficacy_wins - 1), 0.0, 1.0, stake_grid(cfg.lam)) < bar
    grid = stake_grid(cfg.lam)
    assert mixture_log_wealth([0.0] * s.pooled_ties, -cfg.eps, 1.0, grid) >= bar
    assert mixture_log_wealth([0.0] * (s.pooled_ties - 1), -cfg.eps, 1.0, grid) < bar
    # and the gate itself: that many wins, and ties for each cluster and the pool, accept
    per = max(s.cluster_ties or 0, math.ceil(s.pooled_ties / 2))
    pairs = pairs_of(TARGET, "W" * s.efficacy_wins)
    pairs += pairs_of("a", "T" * per) + pairs_of("b", "T" * per)
    d = decide_sequential(pairs, TARGET, cfg, final=True)
    assert d.accepted, d.render()


def test_min_tasks_defaults_and_shortfalls():
    s = min_tasks()
    assert (s.efficacy_wins, s.cluster_ties, s.pooled_ties) == (7, 26, 44)
    assert s.off_target_ties(0) == 0 and s.off_target_ties(3) == 78
    notes = s.shortfalls({"target": 10, "units": 10})
    assert any("'units' has 10 tasks" in x and "needs ≥ 26 tied" in x for x in notes)
    assert not any("improvement to it cannot be proven" in x for x in notes)
    assert min_tasks(GateConfig(eps=0.0)).pooled_ties is None


# --- unchanged tasks --------------------------------------------------------------------


def test_a_cluster_with_no_changed_task_needs_no_proof_and_has_no_alarm():
    s = start(TARGET, CLUSTERS, changed={"units": 0, "capitals": 0, "dates": 0},
              unchanged={"units": 10, "capitals": 10, "dates": 10})  # fmt: skip
    assert s.active == () and s.ni_pooled and s.noninferior and s.wanted == {TARGET}
    with pytest.raises(ValueError, match="does not change"):
        step(s, Pair("u1", "units", 1.0, 0.0))
    with pytest.raises(ValueError, match="declare unchanged tasks to start"):
        step(s, Pair("t1", TARGET, None, None, unchanged=True))
    d = decide(s)
    assert d.harm_threshold is None and d.pooled is not None and not d.pooled.affected


def test_pooled_non_inferiority_covers_only_the_changed_clusters():
    s = start(TARGET, CLUSTERS, changed={"units": 0}, unchanged={"units": 10})
    assert s.active == ("capitals", "dates") and s.harm_threshold == 3 / 0.05
    for p in pairs_of("capitals", "L" * 12):
        s = step(s, p)
        if s.done:
            break
    assert s.done and s.code in ("not_non_inferior", "harm") and "'units'" not in s.reason


def test_a_target_the_edit_does_not_change_is_futile_at_once():
    s = start(TARGET, CLUSTERS, changed={TARGET: 0}, unchanged={TARGET: 10})
    assert s.done and s.code == "futile" and "changes none of the target's 10 tasks" in s.reason
    d = decide(s)
    assert d.verdict == "reject" and "cannot improve them" in d.summary


def test_unchanged_target_tasks_rescale_delta_min():
    cfg = GateConfig(delta_min=0.1)
    s = start(TARGET, CLUSTERS, cfg, changed={TARGET: 5}, unchanged={TARGET: 5})
    assert s.eff_m == pytest.approx(0.2)
    with pytest.raises(ValueError, match="need changed\\[target\\]"):
        start(TARGET, CLUSTERS, cfg, unchanged={TARGET: 5})
    assert start(TARGET, CLUSTERS, cfg, changed={TARGET: 1}, unchanged={TARGET: 9}).done


def test_finish_accepts_proofs_that_held_when_the_pool_ran_out_before_min_pairs():
    pairs = pairs_of(TARGET, "WWWWWWWW") + pairs_of("units", "T" * 10, unchanged=True)
    d = decide_sequential(pairs, TARGET, GateConfig(min_pairs=10), clusters=(TARGET, "units"))
    assert d.outcome == "continue"  # 8 pairs < min_pairs: not yet
    d = decide_sequential(pairs, TARGET, GateConfig(min_pairs=10), clusters=(TARGET, "units"),
                          final=True)  # fmt: skip
    assert d.accepted


# --- errors that lie --------------------------------------------------------------------


def test_a_candidate_that_errors_exactly_where_it_would_lose_is_not_accepted():
    """The issue's case: W=8 L=0 n=40 errors=4, the errors hiding 4 losses."""
    letters = "W" * 8 + "T" * 28
    pairs = pairs_of(TARGET, letters)
    pairs += [Pair(f"e{i}", TARGET, 1.0, None, error=True) for i in range(4)]
    pairs += pairs_of("units", "T" * 200)
    rng = random.Random(3)
    rng.shuffle(pairs)
    d = decide_sequential(pairs, TARGET, clusters=(TARGET, "units"), final=True)
    dropped = decide_sequential([p for p in pairs if not p.error], TARGET,
                                clusters=(TARGET, "units"), final=True)  # fmt: skip
    assert dropped.accepted  # dropping the errors would have been fooled
    assert not d.accepted and d.errors == 4
    assert "4 errored (counted as losses)" in d.summary


def _hidden_losses_edit(rng: random.Random, cfg: GateConfig) -> bool:
    """A useless edit (psi 0.2 on the target, 0.06 elsewhere) whose candidate errors on
    every task it would lose; the gate samples adaptively like the driver."""
    s = start(TARGET, CLUSTERS, cfg)
    k = 0
    while not s.done:
        if TARGET in s.wanted and (k % 2 == 0 or s.wanted == {TARGET}):
            c, psi = TARGET, 0.2
        else:
            c, psi = OTHERS[k // 2 % 3], 0.06
        u = rng.random()
        if u < psi / 2:
            p = Pair("", c, 0.0, 1.0)
        elif u < psi:
            p = Pair("", c, 1.0, None, error=True)  # it would have lost: it errors instead
        else:
            p = Pair("", c, 1.0, 1.0)
        s = step(s, p)
        k += 1
    return s.outcome == "accept"


def test_informative_errors_keep_the_false_accept_rate_below_alpha():
    """Monte-Carlo, seeded: at most alpha + 3 SE accepted (dropping errors: ~100%)."""
    rng, n = random.Random(20261129), 300
    rate = sum(_hidden_losses_edit(rng, GateConfig()) for _ in range(n)) / n
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n)


# --- the mixture under a null, and monotonicity ----------------------------------------


def _noisy_null_edit(rng: random.Random, cfg: GateConfig, r: int) -> bool:
    """A null edit for a noisy student (per-task p ~ Beta(2, 2), r runs per side), graded
    task means; the other clusters unchanged except one."""
    s = start(TARGET, (TARGET, "units", "dates"), cfg, changed={"dates": 0},
              unchanged={"dates": 40})  # fmt: skip
    k = 0
    while not s.done and s.attempted < 120:
        c = TARGET if TARGET in s.wanted and (k % 2 == 0 or s.wanted == {TARGET}) else "units"
        p = rng.betavariate(2.0, 2.0)
        base = sum(rng.random() < p for _ in range(r)) / r
        cand = sum(rng.random() < p for _ in range(r)) / r
        s = step(s, Pair("", c, base, cand, repeats=r, runs=2 * r))
        k += 1
    return finish(s).outcome == "accept"


@pytest.mark.parametrize("r", [1, 3])
def test_mixture_false_accept_under_a_noisy_null_is_at_most_alpha(r):
    rng, n = random.Random(7 + r), 300
    rate = sum(_noisy_null_edit(rng, GateConfig(repeats=r), r) for _ in range(n)) / n
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n)


FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
score = st.sampled_from([0.0, 0.25, 0.5, 0.75, 1.0])
row = st.tuples(st.sampled_from(CLUSTERS), score, score, st.booleans())


@FAST
@given(st.lists(row, min_size=1, max_size=120), st.data())
def test_more_evidence_of_improvement_never_turns_an_accept_into_a_reject(rows, data):
    """Raise any one candidate score (any cluster, graded, errors included): an accept at
    some look stays an accept, at that look or earlier."""

    def pairs(rs):
        return [Pair(f"x{i}", c, b, y, error=e and i % 5 == 0 and y > 0.0)
                for i, (c, b, y, e) in enumerate(rs)]  # fmt: skip

    i = data.draw(st.integers(0, len(rows) - 1))
    c, b, y, e = rows[i]
    better = [*rows[:i], (c, b, min(1.0, y + 0.25), e), *rows[i + 1 :]]
    cfg = GateConfig(min_pairs=1)
    before = decide_sequential(pairs(rows), TARGET, cfg, clusters=CLUSTERS, intervals=False)
    after = decide_sequential(pairs(better), TARGET, cfg, clusters=CLUSTERS, intervals=False)
    if before.accepted:
        assert after.accepted and after.pairs_used <= before.pairs_used
    if after.outcome == "reject" and after.verdict == "reject":
        assert before.outcome == "reject" and before.pairs_used <= after.pairs_used
