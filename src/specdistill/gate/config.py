"""Configuration and input records of the gate: :class:`GateConfig` and :class:`Pair`.

Validation happens here, once, so the statistics can trust their inputs: a bad setting
raises ``ValueError`` naming the field and its value (``alpha=1.5: must be in (0, 0.5]``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Literal


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the gate. Defaults chosen with ``bench/gate_sim.py`` (see
    ``bench/results/gate_sim.txt``): with them no null or regression scenario is accepted
    more than alpha of the time, including one off-target cluster at -0.15 hidden by a
    good pool and a candidate that errors exactly where it would fail.

    Sequential mode (the default); every test is a mixture of betting martingales over a
    fixed grid of stakes (:mod:`specdistill.gate.eprocess`):

    - ``alpha`` 0.05: bound on the false-accept rate (efficacy and pooled
      non-inferiority each at alpha; requiring both keeps the total at alpha).
    - ``beta`` 0.2: a test whose wealth falls to beta stops the gate (futility). 0
      disables.
    - ``lam`` 0.9: the largest stake of the grid, as a fraction of the largest valid bet
      1 / (1 + m); the others are lam / 1.7^k, k = 1..5. With 0.9, 8 wins in a row prove
      an improvement (1.9^8 / 6 = 28 >= 1/alpha).
    - ``mde`` 0.10: the smallest gain worth detecting. The mixture adapts its bets, so
      this no longer sizes them; it is the effect the simulation bench and the sizing
      report speak of.
    - ``delta_min`` 0: the target must improve by more than this (any improvement).
    - ``eps`` 0.10: the non-inferiority margin for the other clusters.
    - ``n_max`` 300 pairs attempted at most, then "inconclusive".
    - ``min_pairs`` 10: no accept, and no abstention, before that many pairs, unless the
      task pool runs out first (the proofs stand on their own; this guards the error
      rate, which needs a few pairs to mean anything).
    - ``harm_alpha`` 0.05: spent over the C + 1 harm alarms (C off-target clusters the
      edit can change, and their pool), each firing at wealth (C + 1) / harm_alpha.
    - ``cluster_alpha`` 0.2: each off-target cluster the edit changes must also pass its
      own non-inferiority test at this level. Pooling alone cannot see one cluster at
      -0.15 when the others are fine (the pool is at -0.05, within eps). ``None`` gives
      the pooled-only gate; ``alpha`` a strict one.
    - ``drop_veto`` on, ``veto_min_pairs`` 5: an accept waits while an off-target cluster
      with that many scored pairs *observed* a drop larger than ``eps``, sampling that
      cluster further; if the drop lasts to ``n_max`` the edit is left inconclusive
      ("vetoed"). A heuristic guard, never a source of false accepts.
    - ``max_error_rate`` 0.2: more errored pairs than this (after ``min_pairs``) and the
      gate abstains, "insufficient evidence" (both modes). Below it errors still count
      *against* the edit: an errored candidate run scores 0 and an errored baseline run
      1 in the tests, so errors that hide failures cannot make an edit look good.
    - ``repeats`` None (auto): runs of each task per spec; the task's difference is the
      mean over its runs (the task stays the unit, so the bound holds for the task
      population). Auto is 3 for an ``openai`` student (an LLM, noisy unless its
      temperature is 0) and 1 for a ``command`` or ``python`` one (set it if your agent
      is noisy). Simulated with a null discordance of 0.4 and 40 tasks per cluster, a
      +0.25 edit is accepted ~47% of the time with 1 run, ~89% with 3, ~97% with 5; for
      a deterministic student every repeat is a wasted run.

    - ``on_inconclusive`` None (by mode): what a session does with an edit the gate could
      not decide (the pool or budget ran out, errors made it abstain, a drop held it up):
      ``"review"`` restores the spec and queues the edit for a person with the gate's
      report as its evidence (Argo Rollouts and Kayenta pause on "inconclusive" for the
      same reason); ``"reject"`` records ``rejected_by_gate``. None: ``review`` in tiered
      autonomy and when a person approves a queued edit, ``reject`` in auto. Not a
      statistic: the decision is the same either way, only where it goes differs.

    Tasks the edit provably leaves unchanged (the student receives the same inputs) are
    exact ties: they are not run, and a cluster with no changed task needs no proof.

    Mean mode is the reference system's rule, kept for comparison: accept if the target's
    mean delta on the first ``subsample`` (50) pairs is > 0 and no cluster dropped by more
    than ``eps``. It has no error control: it accepted 20-30% of useless edits in the
    simulations (the note measured ~43% with one noisier cluster).
    """

    mode: Literal["sequential", "mean"] = "sequential"
    alpha: float = 0.05
    beta: float = 0.2
    mde: float = 0.10
    delta_min: float = 0.0
    eps: float = 0.10
    lam: float = 0.9
    n_max: int = 300
    min_pairs: int = 10
    harm_alpha: float = 0.05
    max_error_rate: float = 0.2
    cluster_alpha: float | None = 0.2
    drop_veto: bool = True
    veto_min_pairs: int = 5
    subsample: int = 50
    repeats: int | None = None
    on_inconclusive: Literal["review", "reject"] | None = None

    def __post_init__(self) -> None:
        checks: list[tuple[str, object, bool, str]] = [
            ("mode", self.mode, self.mode in ("sequential", "mean"), "'sequential' or 'mean'"),
            ("alpha", self.alpha, 0.0 < self.alpha <= 0.5, "in (0, 0.5]"),
            ("beta", self.beta, 0.0 <= self.beta < 1.0, "in [0, 1)"),
            ("mde", self.mde, 0.0 < self.mde <= 1.0, "in (0, 1]"),
            ("delta_min", self.delta_min, 0.0 <= self.delta_min < 1.0, "in [0, 1)"),
            ("eps", self.eps, 0.0 <= self.eps < 1.0, "in [0, 1)"),
            ("lam", self.lam, 0.0 < self.lam <= 1.0, "in (0, 1]"),
            ("cluster_alpha", self.cluster_alpha,
             self.cluster_alpha is None or 0.0 < self.cluster_alpha < 1.0, "None or in (0, 1)"),
            ("harm_alpha", self.harm_alpha, 0.0 < self.harm_alpha <= 1.0, "in (0, 1]"),
            ("max_error_rate", self.max_error_rate, 0.0 <= self.max_error_rate <= 1.0,
             "in [0, 1]"),
            ("n_max", self.n_max, _is_int(self.n_max) and self.n_max >= 1, "an int >= 1"),
            ("min_pairs", self.min_pairs,
             _is_int(self.min_pairs) and 1 <= self.min_pairs <= self.n_max,
             "an int in [1, n_max]"),
            ("veto_min_pairs", self.veto_min_pairs,
             _is_int(self.veto_min_pairs) and self.veto_min_pairs >= 1, "an int >= 1"),
            ("subsample", self.subsample, _is_int(self.subsample) and self.subsample >= 1,
             "an int >= 1"),
            ("repeats", self.repeats,
             self.repeats is None or (_is_int(self.repeats) and 1 <= self.repeats <= 100),
             "None (auto) or an int in [1, 100]"),
            ("on_inconclusive", self.on_inconclusive,
             self.on_inconclusive in (None, "review", "reject"), "'review' or 'reject'"),
        ]  # fmt: skip
        for name, value, ok, want in checks:
            if not ok or (isinstance(value, float) and math.isnan(value)):
                raise ValueError(f"GateConfig: {name}={value!r}: must be {want}")


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True, slots=True)
class Pair:
    """One task run on the baseline and on the candidate spec (``repeats`` times each).

    Scores are in [0, 1] (1 = pass for pass/fail tasks); with repeats, each side's score is
    the mean over its runs that produced one. ``runs`` is how many agent runs the pair
    cost (fewer when results came from the cache).

    Errors: ``candidate_errors`` / ``baseline_errors`` count the runs of each side that
    failed to produce a score (``error`` is True when any did). An errored run is neither
    a pass nor a fail in the report (scores are reported over scored pairs, errors apart),
    but the *decision* counts it against the edit: an errored candidate run scores 0 and
    an errored baseline run 1 (:attr:`decision_delta`), so the gate stays valid whatever
    the relation between errors and answers. Without counts, ``error=True`` means the
    side given as None failed all its runs, and if both scores are given, neither is
    trusted (both sides count as failed).

    ``unchanged``: the edit does not change what this task's student receives (its
    fingerprint), so its outcome distribution is the same under both specs: an exact tie
    known without running (scores may be None). See :func:`specdistill.gate.start`.
    """

    task_id: str
    cluster: str
    baseline: float | None
    candidate: float | None
    error: bool = False
    runs: int = 2
    repeats: int = 1
    baseline_errors: int | None = None
    candidate_errors: int | None = None
    unchanged: bool = False

    def __post_init__(self) -> None:
        name = f"Pair {self.task_id!r}"
        if self.unchanged:
            if self.error:
                raise ValueError(
                    f"{name}: unchanged=True with error=True: an unchanged task "
                    "is not run, so it cannot error"
                )
            return
        for key in ("runs", "repeats"):
            v = getattr(self, key)
            if not _is_int(v) or v < (0 if key == "runs" else 1):
                want = ">= 0" if key == "runs" else ">= 1"
                raise ValueError(f"{name}: {key}={v!r}: must be an int {want}")
        r = self.repeats
        counts = {}
        for side in ("baseline", "candidate"):
            given = getattr(self, f"{side}_errors")
            if given is not None and (not _is_int(given) or not 0 <= given <= r):
                raise ValueError(
                    f"{name}: {side}_errors={given!r}: must be an int in [0, repeats={r}]"
                )
            counts[side] = given
        if counts["baseline"] is None and counts["candidate"] is None and self.error:
            b_none, c_none = self.baseline is None, self.candidate is None
            both = not (b_none or c_none)  # error with both scores: trust neither
            counts = {
                "baseline": r if b_none or both else 0,
                "candidate": r if c_none or both else 0,
            }
        for side in ("baseline", "candidate"):
            failed = counts[side] or 0
            object.__setattr__(self, f"{side}_errors", failed)
            v = getattr(self, side)
            if failed == r:
                continue  # no scored run on this side: its score is not used
            if not isinstance(v, int | float) or isinstance(v, bool) or not 0.0 <= v <= 1.0:
                raise ValueError(
                    f"{name}: {side}={v!r}: must be a score in [0, 1] (or mark the pair error=True)"
                )
        if self.baseline_errors or self.candidate_errors:
            object.__setattr__(self, "error", True)

    @property
    def delta(self) -> float | None:
        """Candidate minus baseline over scored runs, or None for an errored pair (what the
        report shows; the decision uses :attr:`decision_delta`)."""
        if self.unchanged:
            return 0.0
        if self.error or self.baseline is None or self.candidate is None:
            return None
        return float(self.candidate) - float(self.baseline)

    @property
    def decision_delta(self) -> float:
        """The difference the tests use: errored candidate runs score 0, errored baseline
        runs 1, the worst case for the edit (a lower bound on the true difference)."""
        if self.unchanged:
            return 0.0
        r = self.repeats
        ce, be = self.candidate_errors or 0, self.baseline_errors or 0
        cand = (
            float(self.candidate) * (r - ce) / r if ce < r and self.candidate is not None else 0.0
        )
        base = float(self.baseline) * (r - be) / r if be < r and self.baseline is not None else 0.0
        return cand - (base + be / r)


def too_many_errors(errors: int, attempted: int, cfg: GateConfig, final: bool = False) -> bool:
    """True when errors exceed ``max_error_rate`` of attempted pairs (after ``min_pairs``,
    or at the final look)."""
    if attempted == 0 or (attempted < cfg.min_pairs and not final):
        return False
    return errors / attempted > cfg.max_error_rate


def abstain_reason(errors: int, attempted: int, cfg: GateConfig) -> str:
    """The one-line reason of an abstention."""
    return (
        f"insufficient evidence: {errors} of {attempted} pairs errored "
        f"(more than {cfg.max_error_rate:.0%})"
    )


class GateMode(StrEnum):
    """How a session gates its edits: ``sequential`` (the sound sequential test, the
    default), ``mean`` (the reference rule, for comparison) or ``off`` (no gate: every
    edit its tier allows is kept). A plain string of these values is accepted wherever a
    mode is taken, and converted once by :func:`specdistill.gate.settings.parse_gate_mode`."""

    off = "off"
    sequential = "sequential"
    mean = "mean"
