"""The benchmark gate: keep an edit only if its target improved and nothing else broke.

The statistics are pure (:mod:`specdistill.gate.stats` and the modules behind it); the
driver that runs the agents lives elsewhere and only feeds results in.
"""

from specdistill.gate.stats import (
    ClusterEstimate,
    GateConfig,
    GateDecision,
    GateState,
    Pair,
    confidence_sequence,
    decide,
    decide_mean,
    decide_sequential,
    finish,
    next_task,
    p_value,
    start,
    step,
    task_order,
)

__all__ = [
    "ClusterEstimate",
    "GateConfig",
    "GateDecision",
    "GateState",
    "Pair",
    "confidence_sequence",
    "decide",
    "decide_mean",
    "decide_sequential",
    "finish",
    "next_task",
    "p_value",
    "start",
    "step",
    "task_order",
]
