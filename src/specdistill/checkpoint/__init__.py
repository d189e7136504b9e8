"""Checkpoints: every applied edit a git commit, exact rollback, crash safety.

* :mod:`~specdistill.checkpoint.git` — the git CLI, where its errors become CheckpointError;
* :mod:`~specdistill.checkpoint.store` — the home's repository and safe commits;
* :mod:`~specdistill.checkpoint.commits` — commit messages and trailers, read and written;
* :mod:`~specdistill.checkpoint.lock` — one writer per home;
* :mod:`~specdistill.checkpoint.journal` — each operation's intent, before files change;
* :mod:`~specdistill.checkpoint.recovery` — finishing or undoing an interrupted operation;
* :mod:`~specdistill.checkpoint.rollback` — reverting a session as new commits;
* :mod:`~specdistill.checkpoint.run` — a locked, recovered, checkpointed run;
* :mod:`~specdistill.checkpoint.faults` — the kill points crash tests use.
"""

from specdistill.checkpoint.commits import LogEntry
from specdistill.checkpoint.lock import HomeLock, LockInfo
from specdistill.checkpoint.recovery import recover
from specdistill.checkpoint.rollback import RollbackReport, revert_session
from specdistill.checkpoint.run import (
    CheckpointRun,
    DeferredSignals,
    checkpointed_run,
    init_checkpoints,
    new_session_id,
    recover_home,
    rollback_session,
)
from specdistill.checkpoint.store import CheckpointStore

__all__ = [
    "CheckpointRun",
    "CheckpointStore",
    "DeferredSignals",
    "HomeLock",
    "LockInfo",
    "LogEntry",
    "RollbackReport",
    "checkpointed_run",
    "init_checkpoints",
    "new_session_id",
    "recover",
    "recover_home",
    "revert_session",
    "rollback_session",
]
