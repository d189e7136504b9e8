"""The benchmark gate: keep an edit only if its target improved and nothing else broke.

The rule is :func:`specdistill.gate.sequential.decide` (its ``_settle`` step says when to
stop and why); the e-values behind it are in :mod:`specdistill.gate.eprocess`, sizing in
:mod:`specdistill.gate.sizing`, and the driver that runs the student and feeds results in
is :mod:`specdistill.gate.driver`. Names are imported on first use (PEP 562), so that
``GateMode`` costs the command line nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from specdistill.gate.config import GateConfig, GateMode, Pair
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
    from specdistill.gate.sizing import (
        ClusterSize,
        Sizing,
        edit_shortfall,
        min_tasks,
        size_clusters,
    )
    from specdistill.gate.stats import decide_mean, task_order

#: Where each public name lives: imported from there on first use.
_EXPORTS: dict[str, str] = {
    "GateConfig": "specdistill.gate.config",
    "GateMode": "specdistill.gate.config",
    "Pair": "specdistill.gate.config",
    "ClusterEstimate": "specdistill.gate.decision",
    "GateDecision": "specdistill.gate.decision",
    "Verdict": "specdistill.gate.decision",
    "confidence_sequence": "specdistill.gate.eprocess",
    "p_value": "specdistill.gate.eprocess",
    "stake_grid": "specdistill.gate.eprocess",
    "GateState": "specdistill.gate.sequential",
    "decide": "specdistill.gate.sequential",
    "decide_sequential": "specdistill.gate.sequential",
    "finish": "specdistill.gate.sequential",
    "next_task": "specdistill.gate.sequential",
    "start": "specdistill.gate.sequential",
    "step": "specdistill.gate.sequential",
    "ClusterSize": "specdistill.gate.sizing",
    "Sizing": "specdistill.gate.sizing",
    "edit_shortfall": "specdistill.gate.sizing",
    "min_tasks": "specdistill.gate.sizing",
    "size_clusters": "specdistill.gate.sizing",
    "decide_mean": "specdistill.gate.stats",
    "task_order": "specdistill.gate.stats",
}

__all__ = [
    "ClusterEstimate",
    "ClusterSize",
    "GateConfig",
    "GateDecision",
    "GateMode",
    "GateState",
    "Pair",
    "Sizing",
    "Verdict",
    "confidence_sequence",
    "decide",
    "decide_mean",
    "decide_sequential",
    "edit_shortfall",
    "finish",
    "min_tasks",
    "next_task",
    "p_value",
    "size_clusters",
    "stake_grid",
    "start",
    "step",
    "task_order",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'specdistill.gate' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
