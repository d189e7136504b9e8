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
    """Thresholds of the gate. Defaults chosen with ``bench/gate_sim.py`` (1,000 simulated
    edits per scenario): with them no null or regression scenario is accepted more than
    ~4% of the time, including one off-target cluster at -0.15 hidden by a good pool.

    Sequential mode (the default):

    - ``alpha`` 0.05: bound on the false-accept rate (efficacy and pooled
      non-inferiority each at alpha; requiring both keeps the total at alpha).
    - ``beta`` 0.2: a test whose wealth falls to beta stops the gate (futility); this is
      Wald's lower boundary, so power is about 1 - beta at an effect of ``mde``. 0 disables.
    - ``mde`` 0.10: the effect the bets are sized for, lambda = mde / E[(D - m)^2].
    - ``delta_min`` 0: the target must improve by more than this (any improvement).
    - ``eps`` 0.10: the non-inferiority margin for the other clusters.
    - ``lam`` 0.5: bet cap, lambda <= lam / (1 + m), half the largest valid bet: one lost
      pair costs at most half the wealth (the note's choice; larger caps cost power).
    - ``n_max`` 300 pairs (600 runs) attempted at most, then "inconclusive". 300 rather than
      the note's 200 because the per-cluster test below needs the room (at 200 it loses
      ~8 points of power at +0.25).
    - ``min_pairs`` 10: no accept, and no abstention, before that many pairs.
    - ``harm_alpha`` 0.05: spent over the C + 1 harm alarms (C off-target clusters and
      their pool), each firing at wealth (C + 1) / harm_alpha.
    - ``cluster_alpha`` 0.2: each off-target cluster must also pass its own
      non-inferiority test at this level. Pooling alone cannot see one cluster at -0.15
      when the others are fine (the pool is at -0.05, within eps): the note's pooled-only
      gate accepted ~30% of such edits, this one ~2% (~4% at 0.25, for ~8% fewer runs).
      A cluster exactly at -eps still passes with probability <= cluster_alpha. ``None``
      gives the pooled-only gate; ``alpha`` a strict one (every cluster proven, about
      three times the off-target pairs).
    - ``drop_veto`` on, ``veto_min_pairs`` 5: an accept waits while an off-target cluster
      with that many scored pairs *observed* a drop larger than ``eps``, sampling that
      cluster further, and becomes a reject if the drop lasts to ``n_max``. A heuristic
      guard, never a source of false accepts; waiting rather than rejecting keeps the
      gate monotone in the evidence.
    - ``max_error_rate`` 0.2: more errored pairs than this (after ``min_pairs``) and the
      gate abstains, "insufficient evidence" (both modes).

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
    lam: float = 0.5
    n_max: int = 300
    min_pairs: int = 10
    harm_alpha: float = 0.05
    max_error_rate: float = 0.2
    cluster_alpha: float | None = 0.2
    drop_veto: bool = True
    veto_min_pairs: int = 5
    subsample: int = 50

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
        ]  # fmt: skip
        for name, value, ok, want in checks:
            if not ok or (isinstance(value, float) and math.isnan(value)):
                raise ValueError(f"GateConfig: {name}={value!r}: must be {want}")


def _is_int(x: object) -> bool:
    return isinstance(x, int) and not isinstance(x, bool)


@dataclass(frozen=True, slots=True)
class Pair:
    """One task run on the baseline and on the candidate spec.

    Scores are in [0, 1] (1 = pass for pass/fail tasks). An errored pair (either run
    failed to produce a score) is neither a pass nor a fail: it is counted, never
    scored, and its scores are ignored. ``runs`` is how many agent runs it cost (1 when
    the baseline's result came from a cache).
    """

    task_id: str
    cluster: str
    baseline: float | None
    candidate: float | None
    error: bool = False
    runs: int = 2

    def __post_init__(self) -> None:
        if not _is_int(self.runs) or self.runs < 0:
            raise ValueError(f"Pair {self.task_id!r}: runs={self.runs!r}: must be an int >= 0")
        if self.error:
            return
        for name in ("baseline", "candidate"):
            v = getattr(self, name)
            if not isinstance(v, int | float) or isinstance(v, bool) or not 0.0 <= v <= 1.0:
                raise ValueError(
                    f"Pair {self.task_id!r}: {name}={v!r}: must be a score in [0, 1] "
                    "(or mark the pair error=True)"
                )

    @property
    def delta(self) -> float | None:
        """Candidate minus baseline, or None for an errored pair."""
        if self.error or self.baseline is None or self.candidate is None:
            return None
        return float(self.candidate) - float(self.baseline)


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
