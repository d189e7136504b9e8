"""Tests for the gate's pure statistics (specdistill.gate).

Tables for the decisions a person cares about (accept, futility, harm, inconclusive,
abstain, bad configuration), determinism of the task order across processes, and
properties that hold for any data: monotonicity in evidence, valid e-values and
p-values, well-formed confidence sequences, and a small Monte-Carlo check of the
false-accept rate under nulls.
"""

from __future__ import annotations

import json
import math
import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specdistill.gate import (
    GateConfig,
    Pair,
    decide,
    decide_mean,
    decide_sequential,
    next_task,
    start,
    step,
    task_order,
)
from specdistill.gate.eprocess import confidence_sequence, p_value

TARGET, OTHERS = "timeouts", ("math", "parsing")
CLUSTERS = (TARGET, *OTHERS)
# outcome letters: W candidate wins, L loses, T tie (both pass), t tie (both fail), E error
SCORES = {"W": (0.0, 1.0), "L": (1.0, 0.0), "T": (1.0, 1.0), "t": (0.0, 0.0)}


def pair(letter: str, cluster: str, i: int) -> Pair:
    if letter == "E":
        return Pair(f"{cluster}-{i}", cluster, None, None, error=True)
    b, c = SCORES[letter]
    return Pair(f"{cluster}-{i}", cluster, b, c)


def interleave(target: str, others: dict[str, str]) -> list[Pair]:
    """Target, off-target, target, ... with the off-target clusters round-robin."""
    off: list[Pair] = []
    queues = {c: [pair(x, c, i) for i, x in enumerate(s)] for c, s in others.items()}
    while any(queues.values()):
        for c in sorted(queues):
            if queues[c]:
                off.append(queues[c].pop(0))
    tgt = [pair(x, TARGET, i) for i, x in enumerate(target)]
    out: list[Pair] = []
    for i in range(max(len(tgt), len(off))):
        out += tgt[i : i + 1] + off[i : i + 1]
    return out


def run(target: str, others: dict[str, str], cfg: GateConfig | None = None, **kw: object):
    return decide_sequential(interleave(target, others), TARGET, cfg, clusters=CLUSTERS, **kw)  # type: ignore[arg-type]


# --- decisions -------------------------------------------------------------------------

# the drop veto alone: no per-cluster test, no harm alarm, accept not before 150 pairs
VETO_CFG = GateConfig(n_max=200, min_pairs=150, harm_alpha=1e-9, cluster_alpha=None)


@pytest.mark.parametrize(
    ("target", "others", "cfg", "outcome", "code"),
    [
        pytest.param("W" * 100, {"math": "T" * 100, "parsing": "T" * 100}, GateConfig(),
                     "accept", "proven", id="clear-accept"),
        pytest.param("L" * 50, {"math": "T" * 50, "parsing": "T" * 50}, GateConfig(),
                     "reject", "futile", id="futility-target-lost"),
        pytest.param("W" * 100, {"math": "L" * 100, "parsing": "L" * 100}, GateConfig(),
                     "reject", "not_non_inferior", id="others-lost"),
        pytest.param("W" * 100, {"math": "T" * 100, "parsing": "L" * 100},
                     GateConfig(beta=0.0), "reject", "harm", id="harm-alarm"),
        pytest.param("T" * 100, {"math": "T" * 100, "parsing": "T" * 100},
                     GateConfig(n_max=40), "reject", "inconclusive", id="inconclusive-n_max"),
        pytest.param("WWE" * 40, {"math": "TTE" * 40, "parsing": "TTE" * 40}, GateConfig(),
                     "reject", "abstain", id="abstain-errors"),
        pytest.param("W" * 100, {"math": "T" * 30 + "L" * 70, "parsing": "T" * 100},
                     VETO_CFG, "reject", "vetoed",
                     id="drop-veto-held-to-n_max"),
    ],
)  # fmt: skip
def test_decision_table(target, others, cfg, outcome, code):
    d = run(target, others, cfg, final=True)
    assert (d.outcome, d.code) == (outcome, code), d.reason
    assert d.pairs_used <= cfg.n_max
    assert d.runs_used == 2 * d.pairs_used


def test_clear_accept_details():
    d = run("W" * 100, {"math": "T" * 100, "parsing": "T" * 100})
    assert d.accepted and d.reason == "efficacy and non-inferiority proven"
    assert d.verdict == "accept"
    assert d.efficacy_e >= 20 and d.noninferiority_e >= 20
    assert d.target.ci_low > 0 and d.target.wins == d.target.n
    assert d.pooled is not None and d.pooled.ci_low > -0.15  # the test, not the CS, decides
    assert d.max_harm_e < d.harm_threshold == 3 / 0.05  # (C + 1)/alpha_h with C = 2
    assert d.pairs_used < 150


def test_futility_stops_fast():
    d = run("L" * 50, {"math": "T" * 50, "parsing": "T" * 50})
    assert d.target.n <= 6 and d.reason.startswith("futility")
    assert d.verdict == "reject"
    assert "a gain of 0.10 or more is ruled out (level 0.2)" in d.summary


def test_drop_veto_holds_and_samples_the_dropped_cluster():
    pairs = interleave("W" * 100, {"math": "T" * 30 + "L" * 70, "parsing": "T" * 100})
    state = start(TARGET, CLUSTERS, VETO_CFG)
    for p in pairs[:150]:
        state = step(state, p)
    assert not state.done and state.holding == ("math",)
    assert state.wanted == {"math"} and state.reason.startswith("holding: proofs held")


def test_a_regression_hidden_by_a_good_pool_is_caught_per_cluster():
    """'math' at -0.15 while the pool is at -0.05 (within eps): the per-cluster tests catch
    it (its harm alarm or its non-inferiority test, whichever stops first)."""
    m, p = "TTTTTTLTTTTTTLTTTTTL" * 10, "TTTTTTTTTWTTTTTTTTTT" * 10
    d = run("W" * 150, {"math": m, "parsing": p}, final=True)
    assert d.code in ("harm", "not_non_inferior") and "'math'" in d.reason
    assert d.verdict == "reject"
    assert not run("W" * 150, {"math": m, "parsing": p}, VETO_CFG, final=True).accepted


def test_harm_names_the_cluster():
    d = run("W" * 100, {"math": "T" * 100, "parsing": "L" * 100}, GateConfig(beta=0.0))
    assert d.harm_cluster == "parsing" and "'parsing' got worse" in d.reason


def test_abstain_reason_and_mean_mode():
    d = run("WWE" * 40, {"math": "TTE" * 40, "parsing": "TTE" * 40})
    assert d.abstained and d.reason.startswith("insufficient evidence")
    assert GateConfig().min_pairs <= d.pairs_used <= 12 and d.errors / d.pairs_used > 0.2
    pairs = interleave("WWE" * 20, {"math": "TTE" * 20, "parsing": "TTE" * 20})
    m = decide_mean(pairs, TARGET, GateConfig(mode="mean"))
    assert m.abstained and m.reason.startswith("insufficient evidence") and m.errors > 0


def test_inconclusive_is_flagged():
    d = run("T" * 100, {"math": "T" * 100, "parsing": "T" * 100}, GateConfig(n_max=40))
    assert d.inconclusive and d.pairs_used == 40 and not d.accepted
    assert d.verdict == "inconclusive" and d.outcome == "reject"
    assert d.render().startswith("REJECT (inconclusive) after 40 pairs")


def test_reference_rule_accepts_noise_the_gate_does_not():
    """The reference's "6.0% vs 6.7%" case: one extra pass among 15 tasks."""
    target = "t" * 7 + "W"
    others = {"math": "t" * 4, "parsing": "t" * 3}
    pairs = interleave(target, others)
    assert len(pairs) == 15
    ref = decide_mean(pairs, TARGET, GateConfig(mode="mean", subsample=15))
    assert ref.accepted and ref.code == "rule_met"
    seq = decide_sequential(pairs, TARGET, clusters=CLUSTERS)
    assert seq.outcome == "continue"
    assert decide_sequential(pairs, TARGET, clusters=CLUSTERS, final=True).inconclusive


def test_reference_rule_rejects_a_dropped_cluster():
    pairs = interleave("W" * 25, {"math": "L" * 5 + "T" * 8, "parsing": "T" * 12})
    d = decide_mean(pairs, TARGET, GateConfig(mode="mean"))
    assert d.code == "rule_failed" and "'math' dropped" in d.reason
    assert d.pairs_used == 50 and d.runs_used == 100


def test_render_reads_like_the_note():
    text = run("W" * 100, {"math": "T" * 100, "parsing": "T" * 100}).render()
    lines = text.splitlines()
    assert lines[0].startswith("ACCEPT after ") and "runs (max 300)" in lines[0]
    # the plain-words sentences come first, one per part ...
    assert re.fullmatch(
        r"  target 'timeouts': (\d+) of \1 tasks better, none worse — improvement proven "
        r"\(e=[\d.e+]+ ≥ 20\)",
        lines[1],
    ), lines[1]
    assert lines[2].startswith("  'math': ") and "a drop of more than 0.10 ruled out" in lines[2]
    assert lines[4].startswith("  other clusters together: ")
    # ... then the statistics
    lines = lines[5:]
    assert lines[0].startswith("target 'timeouts': +1.00 [90% CS ")
    assert "e=" in lines[0] and "p ≤" in lines[0] and "W=" in lines[0]
    assert lines[1].startswith("other clusters (pooled): ") and "non-inferior at eps 0.10" in text
    assert any(x.startswith("harm alarms: none (max e ") for x in lines)
    assert lines[-1].startswith("errors: 0 of ")
    mean_text = decide_mean(interleave("W" * 5, {"math": "T" * 5}), TARGET).render()
    assert mean_text.startswith("ACCEPT after 10 pairs / 20 runs")


def test_step_is_pure_and_ignores_pairs_after_the_decision():
    s0 = start(TARGET, CLUSTERS)
    s1 = step(s0, pair("W", TARGET, 0))
    assert s0.attempted == 0 and s1.attempted == 1 and s0 != s1
    assert step(s0, pair("W", TARGET, 0)) == s1
    done = step(start(TARGET, CLUSTERS, GateConfig(n_max=1, min_pairs=1)), pair("T", "math", 0))
    assert done.done and step(done, pair("W", TARGET, 1)) is done
    with pytest.raises(ValueError, match="cluster='nope'"):
        step(s0, pair("W", "nope", 0))


def test_next_task_skips_a_settled_side():
    ids = {c: [f"{c}-{i}" for i in range(60)] for c in CLUSTERS}
    order = task_order(ids, TARGET, "seed")
    cluster_of = {t: c for c, ts in ids.items() for t in ts}
    state, used = start(TARGET, CLUSTERS), set()
    while not state.efficacy_proven:
        tid = next_task(order, cluster_of, used, state)
        assert tid is not None
        used.add(tid)
        state = step(state, pair("W" if cluster_of[tid] == TARGET else "T", cluster_of[tid], 0))
    assert state.wanted == frozenset(OTHERS)
    tid = next_task(order, cluster_of, used, state)
    assert tid is not None and cluster_of[tid] != TARGET


# --- configuration and inputs ----------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param({"alpha": 0.0}, "alpha=0.0", id="alpha-zero"),
        pytest.param({"alpha": 0.7}, "alpha=0.7", id="alpha-large"),
        pytest.param({"alpha": math.nan}, "alpha=nan", id="alpha-nan"),
        pytest.param({"beta": 1.0}, "beta=1.0", id="beta-one"),
        pytest.param({"mde": 0.0}, "mde=0.0", id="mde-zero"),
        pytest.param({"eps": -0.1}, "eps=-0.1", id="eps-negative"),
        pytest.param({"lam": 1.5}, "lam=1.5", id="lam-large"),
        pytest.param({"n_max": 0}, "n_max=0", id="n_max-zero"),
        pytest.param({"n_max": 10.5}, "n_max=10.5", id="n_max-float"),
        pytest.param({"min_pairs": 301}, "min_pairs=301", id="min_pairs-above-n_max"),
        pytest.param({"cluster_alpha": 1.0}, "cluster_alpha=1.0", id="cluster_alpha-one"),
        pytest.param({"harm_alpha": 0.0}, "harm_alpha=0.0", id="harm_alpha-zero"),
        pytest.param({"max_error_rate": 1.2}, "max_error_rate=1.2", id="error-rate-large"),
        pytest.param({"mode": "bayes"}, "mode='bayes'", id="mode-unknown"),
        pytest.param({"subsample": 0}, "subsample=0", id="subsample-zero"),
        pytest.param({"veto_min_pairs": True}, "veto_min_pairs=True", id="veto-bool"),
        pytest.param({"repeats": 0}, "repeats=0", id="repeats-zero"),
    ],
)
def test_config_validation(kwargs, message):
    with pytest.raises(ValueError, match=f"GateConfig: {re.escape(message)}: must be"):
        GateConfig(**kwargs)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        pytest.param(
            {"baseline": 0.0, "candidate": 0.0, "repeats": 2, "candidate_errors": 3},
            "candidate_errors=3",
            id="more-errors-than-runs",
        ),
        pytest.param(
            {"baseline": 0.0, "candidate": 0.0, "repeats": 0}, "repeats=0", id="no-repeats"
        ),
        pytest.param(
            {"baseline": None, "candidate": None, "unchanged": True, "error": True},
            "unchanged=True with error=True",
            id="unchanged-errored",
        ),
        pytest.param({"baseline": 1.5, "candidate": 0.0}, "baseline=1.5", id="above-one"),
        pytest.param({"baseline": 0.0, "candidate": None}, "candidate=None", id="missing"),
        pytest.param({"baseline": True, "candidate": 0.0}, "baseline=True", id="bool"),
        pytest.param({"baseline": 0.0, "candidate": 0.0, "runs": -1}, "runs=-1", id="runs"),
    ],
)
def test_pair_validation(kwargs, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        Pair("t1", TARGET, **kwargs)


def test_errored_pair_is_counted_never_scored_and_counts_against_the_edit():
    p = Pair("t1", TARGET, None, None, error=True)
    assert p.delta is None and p.decision_delta == -1.0  # both sides failed: worst case
    s = step(start(TARGET, CLUSTERS), p)
    assert (s.attempted, s.errors, s.tracks[0].n, s.tracks[0].errors) == (1, 1, 0, 1)
    assert s.eff_log < 0.0  # the tests saw a loss


@pytest.mark.parametrize(
    ("pair", "decision"),
    [
        pytest.param(Pair("t", TARGET, 1.0, None, error=True), -1.0, id="candidate-failed"),
        pytest.param(Pair("t", TARGET, 0.0, None, error=True), 0.0, id="cand-failed-base-0"),
        pytest.param(Pair("t", TARGET, None, 1.0, error=True), 0.0, id="baseline-failed"),
        pytest.param(Pair("t", TARGET, None, 0.5, error=True), -0.5, id="baseline-failed-5"),
        pytest.param(Pair("t", TARGET, 0.3, 0.9, error=True), -1.0, id="both-given-untrusted"),
        pytest.param(Pair("t", TARGET, 0.5, 1.0, repeats=4, candidate_errors=2), 0.0,
                     id="repeats-half-errored"),
        pytest.param(Pair("t", TARGET, 0.5, 1.0, repeats=4), 0.5, id="repeats-clean"),
        pytest.param(Pair("t", TARGET, None, None, unchanged=True), 0.0, id="unchanged"),
    ],
)  # fmt: skip
def test_errors_are_imputed_as_the_worst_case_for_the_edit(pair, decision):
    assert pair.decision_delta == pytest.approx(decision)
    assert pair.error == (pair.delta is None and not pair.unchanged)


# --- task order ------------------------------------------------------------------------

IDS = {
    "timeouts": [f"t{i}" for i in range(7)],
    "math": [f"m{i}" for i in range(4)],
    "parsing": [f"p{i}" for i in range(5)],
    "shell": [f"s{i}" for i in range(2)],
}


def test_task_order_interleaves_and_is_complete():
    order = task_order(IDS, "timeouts", "session-1")
    assert sorted(order) == sorted(t for ts in IDS.values() for t in ts)
    assert [t[0] for t in order[:10:2]] == ["t"] * 5  # target every other slot
    off = [t[0] for t in order if not t.startswith("t")]
    assert set(off[:3]) == {"m", "p", "s"}  # off-target clusters round-robin
    assert task_order(IDS, "timeouts", "session-1") == order
    assert task_order(IDS, "timeouts", "session-2") != order


def test_task_order_rejects_bad_input():
    with pytest.raises(ValueError, match="target='nope'"):
        task_order(IDS, "nope", "s")
    with pytest.raises(ValueError, match="'x' appears twice"):
        task_order({"a": ["x"], "b": ["x"]}, "a", "s")


def test_task_order_is_stable_across_processes():
    code = (
        "import json; from specdistill.gate import task_order; "
        f"print(json.dumps(task_order({IDS!r}, 'timeouts', 'session-1')))"
    )
    src = str(Path(__file__).resolve().parents[2] / "src")
    outs = []
    for seed in ("1", "4242"):
        env = {**os.environ, "PYTHONHASHSEED": seed, "PYTHONPATH": src}
        done = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        outs.append(json.loads(done.stdout))
    assert outs[0] == outs[1] == task_order(IDS, "timeouts", "session-1")


# --- properties ------------------------------------------------------------------------

FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
target_seq = st.text(alphabet="WWWWTTtL", min_size=1, max_size=150)
off_seq = st.text(alphabet="TTTTTTtWL", min_size=0, max_size=150)


@FAST
@given(target_seq, off_seq, off_seq, st.data())
def test_more_evidence_of_improvement_never_turns_accept_into_reject(tg, m, p, data):
    """Turning one lost target pair into a won one keeps an accept an accept, no later."""
    before = run(tg, {"math": m, "parsing": p}, intervals=False)
    losses = [i for i, x in enumerate(tg) if x == "L"]
    if not losses:
        return
    i = data.draw(st.sampled_from(losses))
    after = run(tg[:i] + "W" + tg[i + 1 :], {"math": m, "parsing": p}, intervals=False)
    if before.accepted:
        assert after.accepted and after.pairs_used <= before.pairs_used
    assert after.efficacy_e >= before.efficacy_e or after.pairs_used < before.pairs_used


graded = st.floats(min_value=0.0, max_value=1.0, allow_nan=False)


@FAST
@given(st.lists(st.tuples(st.sampled_from(CLUSTERS), graded, graded, st.booleans()), max_size=120))
def test_e_values_and_p_values_are_valid(rows):
    pairs = [Pair(f"x{i}", c, b, y, error=e and i % 4 == 0) for i, (c, b, y, e) in enumerate(rows)]
    d = decide_sequential(pairs, TARGET, clusters=CLUSTERS)
    for c in (d.target, d.pooled, *d.clusters):
        assert c is not None
        # The p-value is min(1, 1/e) of the largest wealth reached, so each bounds the other.
        if c.e_value is not None and c.p_value is not None:
            assert c.p_value == pytest.approx(min(1.0, 1.0 / c.e_value) if c.e_value > 1 else 1.0)
        if c.n and not c.errors:
            # The sample mean lies inside its own confidence sequence.
            assert c.ci_low - 1e-6 <= c.mean_delta <= c.ci_high + 1e-6
    assert d.outcome in ("accept", "reject", "continue")
    assert d.runs_used == 2 * d.pairs_used and d.errors <= d.pairs_used


@FAST
@given(st.floats(-0.8, 0.8), st.lists(st.floats(-0.2, 0.2), min_size=1, max_size=300))
def test_confidence_sequence_contains_the_mean_of_steady_data(center, noise):
    """The sample mean is always inside (log(1 + x) <= x), whatever the data."""
    ds = [center + x for x in noise]
    lo, hi = confidence_sequence(ds, 0.05)
    mean = sum(ds) / len(ds)
    assert lo <= mean + 1e-9 and mean - 1e-9 <= hi


@FAST
@given(st.lists(st.floats(-1.0, 1.0), max_size=200), st.floats(0.001, 0.4))
def test_confidence_sequence_is_an_interval(ds, alpha):
    lo, hi = confidence_sequence(ds, alpha)
    assert -1.0 <= lo <= hi <= 1.0
    if ds:
        mean = sum(ds) / len(ds)
        assert lo - 1e-9 <= mean <= hi + 1e-9
    # Wealth exactly at the bar 1/alpha gives p = alpha; no wealth gives p = 1.
    assert p_value(math.log(1 / alpha)) == pytest.approx(alpha)
    assert p_value(0.0) == 1.0


def _simulate(rng: random.Random, target: tuple[float, float], off: tuple[float, float]) -> bool:
    """One edit through the gate with its adaptive sampling; (p10, p01) per side."""

    def draw(c: str, p10: float, p01: float) -> Pair:
        u = rng.random()
        b, y = (0.0, 1.0) if u < p10 else (1.0, 0.0) if u < p10 + p01 else (1.0, 1.0)
        return Pair("", c, b, y)

    s, k = start(TARGET, CLUSTERS), 0
    while not s.done:
        if TARGET in s.wanted and (k % 2 == 0 or s.wanted == {TARGET}):
            s = step(s, draw(TARGET, *target))
        else:
            s = step(s, draw(OTHERS[k // 2 % 2], *off))
        k += 1
    return s.outcome == "accept"


@pytest.mark.parametrize(
    ("target", "off"),
    [
        pytest.param((0.1, 0.1), (0.03, 0.03), id="no-effect"),
        pytest.param((0.25, 0.0), (0.05, 0.15), id="others-at-the-margin"),
    ],
)
def test_false_accept_rate_is_at_most_alpha(target, off):
    """Monte-Carlo: at a null's boundary the gate accepts at most alpha (+3 SE)."""
    rng, n = random.Random(7), 300
    rate = sum(_simulate(rng, target, off) for _ in range(n)) / n
    assert rate <= 0.05 + 3 * math.sqrt(0.05 * 0.95 / n)


def test_confidence_sequence_covers_the_true_mean():
    rng, covered, n = random.Random(11), 0, 200
    for _ in range(n):
        ds = [1.0 if (u := rng.random()) < 0.2 else -1.0 if u < 0.3 else 0.0 for _ in range(80)]
        lo, hi = confidence_sequence(ds, 0.05)
        covered += lo <= 0.1 <= hi
    assert covered / n >= 0.90
    assert decide(start(TARGET, CLUSTERS)).target.n == 0
