"""The public API: ``specdistill.__all__`` is sorted, is exactly what issue 2 lists plus
the current extras, and every name in it imports."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

import specdistill

#: What issue 2 ("Public API importable from specdistill itself") requires.
ISSUE_NAMES = {
    # models
    "Edit",
    "EditOp",
    "EditPillar",
    "EditRiskTier",
    "AutonomyMode",
    "EditOutcome",
    "LearningPlan",
    "FailureCluster",
    "BenchmarkSnapshot",
    "LearningSession",
    "SessionStatus",
    "TriggerKind",
    # execution
    "ApplyContext",
    "EditApplier",
    "EditApplierRegistry",
    "ValidationResult",
    "ApplyResult",
    "execute_edits",
    "default_registry",
}

#: What __init__ exports beyond the issue's list: errors, helpers and the version.
#: Adding a public name is a deliberate act: add it here too.
EXTRA_NAMES = {
    "ApplyError",
    "CheckpointError",
    "ConfigError",
    "EndpointError",
    "FileChange",
    "FileEditApplier",
    "InvalidEdit",
    "InvalidInput",
    "InvalidPlan",
    "NotReversible",
    "RuntimeFailure",
    "SpecHome",
    "SpecdistillError",
    "UnsafePath",
    "__version__",
    "init_home",
    "load_plan",
    "parse_plan",
    "plan_json_schema",
    # git checkpoints (the checkpoint issue)
    "CheckpointRun",
    "CheckpointStore",
    "DirtyTree",
    "LockHeld",
    "RollbackReport",
    "checkpointed_run",
    "recover_home",
    "rollback_session",
    # one function per CLI command (specdistill.commands, issue 9), and their results
    "ApplyReport",
    "History",
    "HistoryEntry",
    "InitResult",
    "SessionRun",
    "SessionView",
    "apply_plan",
    "approve",
    "bench_run",
    "benchmark_build",
    "benchmark_check",
    "cache_clear",
    "cache_stats",
    "commit_diff",
    "doctor",
    "history",
    "init",
    "log",
    "loop",
    "quickstart",
    "recover",
    "reject",
    "review",
    "review_show",
    "rollback",
    "run_session",
    "show",
    "student_json_schema",
    "traces_check",
}


def test_all_is_sorted_and_unique() -> None:
    assert specdistill.__all__ == sorted(specdistill.__all__)
    assert len(set(specdistill.__all__)) == len(specdistill.__all__)


def test_all_is_exactly_the_public_names() -> None:
    assert set(specdistill.__all__) == ISSUE_NAMES | EXTRA_NAMES


def test_every_public_name_imports() -> None:
    module = importlib.import_module("specdistill")
    for name in specdistill.__all__:
        assert getattr(module, name, None) is not None, name
    namespace: dict[str, object] = {}
    exec("from specdistill import *", namespace)
    assert set(namespace) >= ISSUE_NAMES


def test_every_command_is_public() -> None:
    """Each function of specdistill.commands (one per CLI command) is exported, the same
    object (``apply_plan`` is the command: the home's recovery, then the library's
    apply), and ``plan_json_schema`` is the library's own function."""
    from specdistill import commands, plan

    assert set(commands.__all__) <= set(specdistill.__all__)
    for name in commands.__all__:
        assert getattr(specdistill, name) is getattr(commands, name), name
    assert specdistill.plan_json_schema is plan.plan_json_schema


def test_names_load_lazily_and_dir_lists_them() -> None:
    """``import specdistill`` loads none of its heavy modules; ``dir()`` shows every name."""
    code = (
        "import sys, specdistill; "
        "print(sorted(m for m in sys.modules if m.startswith(('pydantic', 'specdistill.'))))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert proc.stdout.strip() == "[]"
    assert set(specdistill.__all__) <= set(dir(specdistill))
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = specdistill.no_such_name  # type: ignore[attr-defined]


def test_public_names_are_the_real_objects() -> None:
    from specdistill.appliers.registry import default_registry
    from specdistill.context import ApplyContext
    from specdistill.execute import execute_edits
    from specdistill.models import Edit

    assert specdistill.execute_edits is execute_edits
    assert specdistill.default_registry is default_registry
    assert specdistill.ApplyContext is ApplyContext
    assert specdistill.Edit is Edit


def test_errors_share_one_root() -> None:
    for name in specdistill.__all__:
        obj = getattr(specdistill, name)
        if isinstance(obj, type) and issubclass(obj, Exception):
            assert issubclass(obj, specdistill.SpecdistillError), name
    assert issubclass(specdistill.InvalidEdit, ValueError)


def test_version_is_a_string() -> None:
    assert isinstance(specdistill.__version__, str) and specdistill.__version__
