"""The benchmark gate: keep an edit only if its target improved and nothing else broke.

The statistics are pure (:mod:`specdistill.gate.stats` and the modules behind it); the
driver that runs the agents lives elsewhere and only feeds results in.
"""

from specdistill.gate.config import GateConfig, Pair
from specdistill.gate.decision import ClusterEstimate, GateDecision, Verdict
from specdistill.gate.eprocess import confidence_sequence, p_value, stake_grid
from specdistill.gate.sequential import (
    GateState,
    decide,
    decide_sequential,
    finish,
    next_task,
    start,
    step,
)
from specdistill.gate.sizing import Sizing, min_tasks
from specdistill.gate.stats import decide_mean, task_order

__all__ = [
    "ClusterEstimate",
    "GateConfig",
    "GateDecision",
    "GateState",
    "Pair",
    "Sizing",
    "Verdict",
    "confidence_sequence",
    "decide",
    "decide_mean",
    "decide_sequential",
    "finish",
    "min_tasks",
    "next_task",
    "p_value",
    "stake_grid",
    "start",
    "step",
    "task_order",
]
