"""What the gate decided and why: frozen records and their human-readable report.

A decision carries everything a person (or the session record) needs to audit it: the
outcome, a machine-readable ``code``, one human line of reason, a plain-words
:attr:`GateDecision.summary` (one sentence per part: what was shown, what was not, and
what would decide it), what it cost (pairs, runs, errors) and the per-cluster estimates
with the intervals that back the claims. :attr:`GateDecision.verdict` tells the three
endings apart: accept, reject (harm or futility shown) and inconclusive (the evidence
ran out, or errors made it insufficient), which a caller may queue for a person.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["accept", "reject", "continue"]
Verdict = Literal["accept", "reject", "inconclusive", "continue"]
Code = Literal[
    "proven",  # accept: efficacy and non-inferiority proven
    "rule_met",  # accept: the reference (mean) rule's thresholds were met
    "futile",  # reject: the target's wealth fell to beta, an improvement is unlikely
    "not_non_inferior",  # reject: the off-target wealth fell to beta
    "harm",  # reject: a harm alarm fired for some cluster
    "vetoed",  # inconclusive: proofs held, but an observed drop beyond eps held it to n_max
    "rule_failed",  # reject: the reference (mean) rule's thresholds were not met
    "inconclusive",  # inconclusive: budget (n_max) or task pool exhausted without a proof
    "abstain",  # inconclusive: too many errors, "insufficient evidence"
    "pending",  # continue: nothing settled yet
]
Role = Literal["target", "off_target", "pooled"]
INCONCLUSIVE_CODES: frozenset[Code] = frozenset({"inconclusive", "abstain", "vetoed"})


@dataclass(frozen=True, slots=True)
class ClusterEstimate:
    """The evidence about one cluster (or the pooled off-target clusters).

    ``mean_delta`` is the mean of candidate minus baseline over scored pairs (NaN with no
    data); ``ci_low``/``ci_high`` a confidence sequence at ``level`` (NaN if not
    computed). ``e_value`` is the role's test (the largest wealth reached): efficacy for
    the target, non-inferiority for the pool and for each off-target cluster;
    ``harm_e`` the harm alarm's. ``wins``/``losses`` count pairs
    with D > 0 and D < 0 (W and L for pass/fail scores); ``errors`` pairs with an errored
    run (not in ``n``, counted as losses by the tests).

    ``unchanged`` counts tasks the edit provably leaves unchanged (not run); ``affected``
    is False when it changes none of the cluster's tasks. ``proven`` says whether this
    part's test succeeded (efficacy for the target, non-inferiority otherwise; None when
    there is no such test) and ``needed`` how many more wins (target) or ties (others)
    in a row would prove it (0 when proven, None when none would or unknown).
    """

    cluster: str
    role: Role
    n: int
    errors: int
    mean_delta: float
    ci_low: float
    ci_high: float
    level: float
    wins: int
    losses: int
    binary: bool
    e_value: float | None = None
    p_value: float | None = None
    harm_e: float | None = None
    unchanged: int = 0
    affected: bool = True
    proven: bool | None = None
    needed: int | None = None

    @property
    def ties(self) -> int:
        """Scored pairs with no difference."""
        return self.n - self.wins - self.losses


@dataclass(frozen=True, slots=True)
class GateDecision:
    """A gate's verdict on one candidate spec, with the evidence behind it.

    ``outcome`` is what the caller acts on; ``code`` says which rule produced it (see
    :data:`Code`); ``reason`` is one human line. ``pairs_used`` counts attempted pairs
    (errored ones too, since they cost runs) and ``runs_used`` the agent runs they took.
    """

    outcome: Outcome
    code: Code
    reason: str
    mode: Literal["sequential", "mean"]
    pairs_used: int
    scored_pairs: int
    runs_used: int
    errors: int
    n_max: int
    alpha: float
    eps: float
    target: ClusterEstimate
    pooled: ClusterEstimate | None
    clusters: tuple[ClusterEstimate, ...]
    efficacy_e: float | None = None
    noninferiority_e: float | None = None
    max_harm_e: float | None = None
    harm_threshold: float | None = None
    harm_cluster: str | None = None
    max_error_rate: float = 0.2
    cluster_alpha: float | None = None
    beta: float = 0.2
    unchanged: int = 0
    mde: float = 0.1

    @property
    def accepted(self) -> bool:
        """True when the edit should be kept."""
        return self.outcome == "accept"

    @property
    def verdict(self) -> Verdict:
        """accept, reject (harm, futility or a likely loss shown; a failed reference
        rule), inconclusive (pool or budget ran out, abstained, vetoed), or continue."""
        if self.outcome == "reject" and self.code in INCONCLUSIVE_CODES:
            return "inconclusive"
        return self.outcome

    @property
    def inconclusive(self) -> bool:
        """True when the budget ran out before anything was proven either way."""
        return self.code == "inconclusive"

    @property
    def abstained(self) -> bool:
        """True when errors made the evidence insufficient to decide."""
        return self.code == "abstain"

    @property
    def sentences(self) -> tuple[str, ...]:
        """One plain sentence per part (target, each other cluster, their pool): what was
        shown and what not, with numbers, and what would decide it."""
        return _sentences(self)

    @property
    def summary(self) -> str:
        """:attr:`sentences` on one line."""
        return "; ".join(self.sentences)

    def render(self) -> str:
        """Return a multi-line report a person can read: the outcome, the plain-words
        sentences, then the statistics (see GATE_STATISTICS.md)."""
        head = {"accept": "ACCEPT", "reject": "REJECT", "continue": "CONTINUE"}[self.outcome]
        if self.verdict == "inconclusive":
            head = "REJECT (inconclusive)"
        lines = [
            f"{head} after {self.pairs_used} pairs / {self.runs_used} runs "
            f"(max {self.n_max}): {self.reason}"
        ]
        lines += [f"  {x}" for x in self.sentences]
        # Below, "max e" is the largest evidence each test reached (its p-value's); a
        # stopping reason above may quote the evidence as it stands now.
        t = self.target
        line = f"target '{t.cluster}': {_estimate(t)}"
        if t.e_value is not None:
            line += f"  max e={_num(t.e_value)} (p ≤ {_p(t.p_value)})"
        lines.append(line + _counts(t))
        if self.pooled is not None:
            p = self.pooled
            line = f"other clusters (pooled): {_estimate(p)}"
            if p.e_value is not None:
                proven = "non-inferior" if p.e_value * self.alpha >= 1.0 else "not yet non-inferior"
                line += f"  {proven} at eps {self.eps:.2f} (max e={_num(p.e_value)})"
            elif not p.affected:
                line += "  not changed by the edit"
            else:
                line += f"  n={p.n}"
            lines.append(line)
        for c in self.clusters:
            if c.role != "off_target":
                continue
            if not c.affected:
                lines.append(f"  '{c.cluster}': not changed by the edit ({c.unchanged} tasks)")
                continue
            line = f"  '{c.cluster}': {_estimate(c)}{_counts(c)}"
            if c.e_value is not None:
                line += f"  non-inferiority max e={_num(c.e_value)}"
            if c.harm_e is not None:
                line += f"  harm max e={_num(c.harm_e)}"
            lines.append(line)
        if self.harm_threshold is not None and self.max_harm_e is not None:
            fired = f"'{self.harm_cluster}'" if self.harm_cluster else "none"
            lines.append(
                f"harm alarms: {fired} (max e {_num(self.max_harm_e)}; "
                f"threshold {_num(self.harm_threshold)})"
            )
        share = self.errors / self.pairs_used if self.pairs_used else 0.0
        counted = (
            "; counted as losses in the tests" if self.errors and self.mode == "sequential" else ""
        )
        lines.append(
            f"errors: {self.errors} of {self.pairs_used} pairs ({share:.0%}; "
            f"abstain above {self.max_error_rate:.0%}{counted})"
        )
        return "\n".join(lines)


def _tally(c: ClusterEstimate) -> str:
    """'9 of 10 tasks better, none worse, 1 errored (counted as a loss), 4 unchanged'."""
    ran = c.n + c.errors
    if ran == 0:
        words = "no task run"
    else:
        worse = "none" if c.losses == 0 else str(c.losses)
        words = f"{c.wins} of {ran} tasks better, {worse} worse"
        if c.errors:
            words += f", {c.errors} errored (counted as {'a loss' if c.errors == 1 else 'losses'})"
    if c.unchanged:
        words += f", {c.unchanged} unchanged (not run)"
    return words


def _tied(c: ClusterEstimate) -> str:
    """'10 tasks tied' / '8 tied, 1 better of 9' for the off-target clusters."""
    ran = c.n + c.errors
    if ran == 0:
        return "no task run"
    parts = [f"{c.ties} of {ran} tasks tied"]
    if c.wins:
        parts.append(f"{c.wins} better")
    parts.append(f"{c.losses or 'none'} worse")
    if c.errors:
        parts.append(f"{c.errors} errored (counted as losses)")
    if c.unchanged:
        parts.append(f"{c.unchanged} unchanged (not run)")
    return ", ".join(parts)


def _more(k: int | None, what: str) -> str:
    """'needs ≥ 3 more tied tasks' / 'needs 1 more tied task'."""
    if k is None:
        return f"no number of further {what.format(s='s')} would prove it"
    if k == 1:
        return f"needs 1 more {what.format(s='')}"
    return f"needs ≥ {k} more {what.format(s='s')}"


def _sentences(d: GateDecision) -> tuple[str, ...]:
    t, out = d.target, []
    bar = 1.0 / d.alpha
    if d.mode == "mean":
        for c in d.clusters:
            name = f"target '{c.cluster}'" if c.role == "target" else f"'{c.cluster}'"
            mean = "no scored pair" if c.n == 0 else f"mean delta {_signed(c.mean_delta)}"
            out.append(f"{name}: {_tally(c)} ({mean}) — the reference rule proves nothing")
        return tuple(out)
    if not t.affected:
        status = "the edit changes none of them, so it cannot improve them"
    elif t.proven:
        status = f"improvement proven (e={_num(t.e_value or 0.0)} ≥ {_num(bar)})"
    elif d.code == "futile" and d.reason.startswith("futility: a gain"):
        status = f"a gain of {d.mde:.2f} or more is ruled out (level {d.beta:g})"
    elif d.code == "futile":
        status = f"an improvement is unlikely (its evidence fell to beta {d.beta:g})"
    else:
        status = "improvement not proven, " + _more(t.needed, "better task{s} in a row")
    out.append(f"target '{t.cluster}': {_tally(t)} — {status}")
    lost = d.reason if d.code == "not_non_inferior" else ""
    eps = f"{d.eps:.2f}"
    for c in d.clusters[1:]:
        if not c.affected:
            out.append(
                f"'{c.cluster}': not changed by the edit ({c.unchanged} tasks unchanged) "
                "— cannot be worse"
            )
            continue
        if d.harm_cluster == c.cluster:
            status = f"got worse (harm alarm, e={_num(c.harm_e or 0.0)})"
        elif lost.startswith(f"'{c.cluster}'"):
            status = f"likely lost more than {eps}"
        elif d.cluster_alpha is None:
            status = "checked with the others (pooled)"
        elif c.proven:
            status = f"a drop of more than {eps} ruled out (level {d.cluster_alpha:g})"
        else:
            status = f"not enough to rule out a {eps} drop, " + _more(c.needed, "tied task{s}")
        out.append(f"'{c.cluster}': {_tied(c)} — {status}")
    p = d.pooled
    if p is not None and p.affected:
        if d.harm_cluster is not None and d.harm_cluster.startswith("other clusters"):
            status = f"got worse together (harm alarm, e={_num(p.harm_e or 0.0)})"
        elif lost.startswith("'other clusters"):
            status = f"likely lost more than {eps} together"
        elif p.proven:
            status = (
                f"a drop of more than {eps} ruled out (e={_num(p.e_value or 0.0)} ≥ {_num(bar)})"
            )
        else:
            status = f"not enough to rule out a {eps} drop, " + _more(p.needed, "tied task{s}")
        out.append(f"other clusters together: {_tied(p)} — {status}")
    elif p is not None:
        out.append("other clusters: the edit changes none of their tasks — nothing to rule out")
    return tuple(out)


def _signed(x: float) -> str:
    return f"{x:+.2f}".replace("-", "−")


def _estimate(c: ClusterEstimate) -> str:
    if c.n == 0 or math.isnan(c.mean_delta):
        return "no scored pairs"
    if math.isnan(c.ci_low):
        return _signed(c.mean_delta)
    label = f"{round(c.level * 100):.0f}% CS "
    return f"{_signed(c.mean_delta)} [{label}{_signed(c.ci_low)}, {_signed(c.ci_high)}]"


def _counts(c: ClusterEstimate) -> str:
    extra = f"  errors={c.errors}" if c.errors else ""
    if c.binary:
        return f"  W={c.wins} L={c.losses} n={c.n}{extra}"
    return f"  n={c.n}{extra}"


def _num(x: float) -> str:
    """Format an e-value or threshold with two significant digits."""
    if x >= 1e6:
        return f"{x:.1e}"
    if x >= 10.0:
        return f"{x:.0f}"
    return f"{x:.2g}"


def _p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return f"{p:.2g}" if p >= 0.001 else f"{p:.1e}"
