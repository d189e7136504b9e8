"""specdistill: safely apply a teacher model's typed edits to a small agent's spec.

The public API is what this module exports; everything else is internal. The names are
imported on first use (PEP 562), so ``import specdistill`` (and the ``specdistill``
command's ``--help``) does not load pydantic, the gate or an HTTP client until a name
that needs them is touched. Each command of the CLI is a function here too (from
:mod:`specdistill.commands`): ``specdistill.run_session``, ``specdistill.approve``, ...
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from specdistill.appliers.base import EditApplier, FileEditApplier, ValidationResult
    from specdistill.appliers.registry import EditApplierRegistry, default_registry
    from specdistill.apply import ApplyReport
    from specdistill.changeset import FileChange
    from specdistill.checkpoint import (
        CheckpointRun,
        CheckpointStore,
        RollbackReport,
        checkpointed_run,
        recover_home,
        rollback_session,
    )
    from specdistill.commands import (
        History,
        HistoryEntry,
        InitResult,
        SessionRun,
        SessionView,
        apply_plan,
        approve,
        bench_run,
        benchmark_build,
        benchmark_check,
        cache_clear,
        cache_stats,
        commit_diff,
        doctor,
        history,
        init,
        log,
        loop,
        quickstart,
        recover,
        reject,
        review,
        review_show,
        rollback,
        run_session,
        show,
        student_json_schema,
        traces_check,
    )
    from specdistill.context import ApplyContext, ApplyResult
    from specdistill.errors import (
        ApplyError,
        CheckpointError,
        ConfigError,
        DirtyTree,
        EndpointError,
        InvalidEdit,
        InvalidInput,
        InvalidPlan,
        LockHeld,
        NotReversible,
        RuntimeFailure,
        SpecdistillError,
        UnsafePath,
    )
    from specdistill.execute import execute_edits
    from specdistill.home import SpecHome, init_home
    from specdistill.models import (
        AutonomyMode,
        BenchmarkSnapshot,
        Edit,
        EditOp,
        EditOutcome,
        EditPillar,
        EditRiskTier,
        FailureCluster,
        LearningPlan,
        LearningSession,
        SessionStatus,
        TriggerKind,
    )
    from specdistill.plan import load_plan, parse_plan, plan_json_schema

__version__ = "0.1.0"

#: Where each public name lives: imported from there on first use.
_EXPORTS: dict[str, str] = {
    "EditApplier": "specdistill.appliers.base",
    "FileEditApplier": "specdistill.appliers.base",
    "ValidationResult": "specdistill.appliers.base",
    "EditApplierRegistry": "specdistill.appliers.registry",
    "default_registry": "specdistill.appliers.registry",
    "ApplyReport": "specdistill.apply",
    "apply_plan": "specdistill.commands",
    "FileChange": "specdistill.changeset",
    "CheckpointRun": "specdistill.checkpoint",
    "CheckpointStore": "specdistill.checkpoint",
    "RollbackReport": "specdistill.checkpoint",
    "checkpointed_run": "specdistill.checkpoint",
    "recover_home": "specdistill.checkpoint",
    "rollback_session": "specdistill.checkpoint",
    "History": "specdistill.commands",
    "HistoryEntry": "specdistill.commands",
    "InitResult": "specdistill.commands",
    "SessionRun": "specdistill.commands",
    "SessionView": "specdistill.commands",
    "approve": "specdistill.commands",
    "bench_run": "specdistill.commands",
    "benchmark_build": "specdistill.commands",
    "benchmark_check": "specdistill.commands",
    "cache_clear": "specdistill.commands",
    "cache_stats": "specdistill.commands",
    "commit_diff": "specdistill.commands",
    "doctor": "specdistill.commands",
    "history": "specdistill.commands",
    "init": "specdistill.commands",
    "log": "specdistill.commands",
    "loop": "specdistill.commands",
    "quickstart": "specdistill.commands",
    "recover": "specdistill.commands",
    "reject": "specdistill.commands",
    "review": "specdistill.commands",
    "review_show": "specdistill.commands",
    "rollback": "specdistill.commands",
    "run_session": "specdistill.commands",
    "show": "specdistill.commands",
    "student_json_schema": "specdistill.commands",
    "traces_check": "specdistill.commands",
    "ApplyContext": "specdistill.context",
    "ApplyResult": "specdistill.context",
    "ApplyError": "specdistill.errors",
    "CheckpointError": "specdistill.errors",
    "ConfigError": "specdistill.errors",
    "DirtyTree": "specdistill.errors",
    "EndpointError": "specdistill.errors",
    "InvalidEdit": "specdistill.errors",
    "InvalidInput": "specdistill.errors",
    "InvalidPlan": "specdistill.errors",
    "LockHeld": "specdistill.errors",
    "NotReversible": "specdistill.errors",
    "RuntimeFailure": "specdistill.errors",
    "SpecdistillError": "specdistill.errors",
    "UnsafePath": "specdistill.errors",
    "execute_edits": "specdistill.execute",
    "SpecHome": "specdistill.home",
    "init_home": "specdistill.home",
    "AutonomyMode": "specdistill.models",
    "BenchmarkSnapshot": "specdistill.models",
    "Edit": "specdistill.models",
    "EditOp": "specdistill.models",
    "EditOutcome": "specdistill.models",
    "EditPillar": "specdistill.models",
    "EditRiskTier": "specdistill.models",
    "FailureCluster": "specdistill.models",
    "LearningPlan": "specdistill.models",
    "LearningSession": "specdistill.models",
    "SessionStatus": "specdistill.models",
    "TriggerKind": "specdistill.models",
    "load_plan": "specdistill.plan",
    "parse_plan": "specdistill.plan",
    "plan_json_schema": "specdistill.plan",
}

__all__ = [
    "ApplyContext",
    "ApplyError",
    "ApplyReport",
    "ApplyResult",
    "AutonomyMode",
    "BenchmarkSnapshot",
    "CheckpointError",
    "CheckpointRun",
    "CheckpointStore",
    "ConfigError",
    "DirtyTree",
    "Edit",
    "EditApplier",
    "EditApplierRegistry",
    "EditOp",
    "EditOutcome",
    "EditPillar",
    "EditRiskTier",
    "EndpointError",
    "FailureCluster",
    "FileChange",
    "FileEditApplier",
    "History",
    "HistoryEntry",
    "InitResult",
    "InvalidEdit",
    "InvalidInput",
    "InvalidPlan",
    "LearningPlan",
    "LearningSession",
    "LockHeld",
    "NotReversible",
    "RollbackReport",
    "RuntimeFailure",
    "SessionRun",
    "SessionStatus",
    "SessionView",
    "SpecHome",
    "SpecdistillError",
    "TriggerKind",
    "UnsafePath",
    "ValidationResult",
    "__version__",
    "apply_plan",
    "approve",
    "bench_run",
    "benchmark_build",
    "benchmark_check",
    "cache_clear",
    "cache_stats",
    "checkpointed_run",
    "commit_diff",
    "default_registry",
    "doctor",
    "execute_edits",
    "history",
    "init",
    "init_home",
    "load_plan",
    "log",
    "loop",
    "parse_plan",
    "plan_json_schema",
    "quickstart",
    "recover",
    "recover_home",
    "reject",
    "review",
    "review_show",
    "rollback",
    "rollback_session",
    "run_session",
    "show",
    "student_json_schema",
    "traces_check",
]


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use (and keep it here)."""
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
