"""specdistill: safely apply a teacher model's typed edits to a small agent's spec.

The public API is what this module exports; everything else is internal.
"""

from specdistill.appliers.base import (
    ApplyResult,
    EditApplier,
    FileChange,
    FileEditApplier,
    ValidationResult,
)
from specdistill.appliers.registry import EditApplierRegistry, default_registry
from specdistill.checkpoint import (
    CheckpointRun,
    CheckpointStore,
    RollbackReport,
    checkpointed_run,
    recover_home,
    rollback_session,
)
from specdistill.context import ApplyContext
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

__all__ = [
    "ApplyContext",
    "ApplyError",
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
    "InvalidEdit",
    "InvalidInput",
    "InvalidPlan",
    "LearningPlan",
    "LearningSession",
    "LockHeld",
    "NotReversible",
    "RollbackReport",
    "RuntimeFailure",
    "SessionStatus",
    "SpecHome",
    "SpecdistillError",
    "TriggerKind",
    "UnsafePath",
    "ValidationResult",
    "__version__",
    "checkpointed_run",
    "default_registry",
    "execute_edits",
    "init_home",
    "load_plan",
    "parse_plan",
    "plan_json_schema",
    "recover_home",
    "rollback_session",
]
