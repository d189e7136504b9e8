"""What the gate decided and why: frozen records and their human-readable report.

A decision carries everything a person (or the session record) needs to audit it: the
outcome, a machine-readable ``code``, one human line of reason, what it cost (pairs,
runs, errors) and the per-cluster estimates with the intervals that back the claims.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

Outcome = Literal["accept", "reject", "continue"]
Code = Literal[
    "proven",  # accept: efficacy and non-inferiority proven
    "rule_met",  # accept: the reference (mean) rule's thresholds were met
    "futile",  # reject: the target's wealth fell to beta, an improvement is unlikely
    "not_non_inferior",  # reject: the off-target wealth fell to beta
    "harm",  # reject: a harm alarm fired for some cluster
    "vetoed",  # reject: proofs held, but an observed drop beyond eps held it up to n_max
    "rule_failed",  # reject: the reference (mean) rule's thresholds were not met
    "inconclusive",  # reject: budget (n_max) or task pool exhausted without a proof
    "abstain",  # reject: too many errors, "insufficient evidence"
    "pending",  # continue: nothing settled yet
]
Role = Literal["target", "off_target", "pooled"]


@dataclass(frozen=True, slots=True)
class ClusterEstimate:
    """The evidence about one cluster (or the pooled off-target clusters).

    ``mean_delta`` is the mean of candidate minus baseline over scored pairs (NaN with no
    data); ``ci_low``/``ci_high`` a confidence sequence at ``level`` (NaN if not
    computed). ``e_value`` is the role's test (the largest wealth reached): efficacy for
    the target, non-inferiority for the pool and for each off-target cluster;
    ``harm_e`` the harm alarm's. ``wins``/``losses`` count pairs
    with D > 0 and D < 0 (W and L for pass/fail scores).
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

    @property
    def accepted(self) -> bool:
        """True when the edit should be kept."""
        return self.outcome == "accept"

    @property
    def inconclusive(self) -> bool:
        """True when the budget ran out before anything was proven either way."""
        return self.code == "inconclusive"

    @property
    def abstained(self) -> bool:
        """True when errors made the evidence insufficient to decide."""
        return self.code == "abstain"

    def render(self) -> str:
        """Return a multi-line report a person can read (see GATE_STATISTICS.md)."""
        head = self.outcome.upper()
        if self.outcome == "continue":
            head = "CONTINUE"
        lines = [
            f"{head} after {self.pairs_used} pairs / {self.runs_used} runs "
            f"(max {self.n_max}): {self.reason}"
        ]
        t = self.target
        line = f"target '{t.cluster}': {_estimate(t)}"
        if t.e_value is not None:
            line += f"  e={_num(t.e_value)} (p ≤ {_p(t.p_value)})"
        lines.append(line + _counts(t))
        if self.pooled is not None:
            p = self.pooled
            line = f"other clusters (pooled): {_estimate(p)}"
            if p.e_value is not None:
                proven = "non-inferior" if p.e_value * self.alpha >= 1.0 else "not yet non-inferior"
                line += f"  {proven} at eps {self.eps:.2f} (e={_num(p.e_value)})"
            else:
                line += f"  n={p.n}"
            lines.append(line)
        for c in self.clusters:
            if c.role != "off_target":
                continue
            line = f"  '{c.cluster}': {_estimate(c)}{_counts(c)}"
            if c.e_value is not None:
                line += f"  non-inferiority e={_num(c.e_value)}"
            if c.harm_e is not None:
                line += f"  harm e={_num(c.harm_e)}"
            lines.append(line)
        if self.harm_threshold is not None and self.max_harm_e is not None:
            fired = f"'{self.harm_cluster}'" if self.harm_cluster else "none"
            lines.append(
                f"harm alarms: {fired} (max e {_num(self.max_harm_e)}; "
                f"threshold {_num(self.harm_threshold)})"
            )
        share = self.errors / self.pairs_used if self.pairs_used else 0.0
        lines.append(
            f"errors: {self.errors} of {self.pairs_used} pairs ({share:.0%}; "
            f"abstain above {self.max_error_rate:.0%})"
        )
        return "\n".join(lines)


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
