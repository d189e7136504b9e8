"""Named kill points for crash tests: a deliberate, documented test hook.

Setting ``SPECDISTILL_FAULT_POINT=<name>`` (or ``<name>@<n>`` for the n-th time
the point is reached, counting from 1) makes the process SIGKILL itself when it
reaches that point, so a test can stop a real process exactly between two steps
of an edit and then check that recovery in a new process restores a consistent
spec. The variable is read once, at import; when it is unset,
:func:`fault_point` is one comparison with ``None``.

The points, in the order an edit reaches them:

``edit:before-write``
    the journal holds the edit's intent; no file has changed yet.
``edit:between-files``
    the first of several files is written, the others are not.
``edit:after-write``
    every file is written; nothing is committed.
``edit:ref-locked``
    the commit is written, ``HEAD.lock`` and the branch's ``.lock`` hold its id and
    the reflogs have its line; the branch is not moved yet (in-process ref updates only).
``edit:after-commit``
    HEAD carries the edit's commit; the index and the journal are not updated.
``edit:after-index``
    the index is updated; the journal is not cleared.

``rollback:before-write``, ``rollback:between-files``, ``rollback:after-write``,
``rollback:after-commit`` and ``checkpoint:after-commit`` (baseline and
"manual changes" commits) are the same steps of the other journaled operations.

The records' steps (run, approve, reject, rollback and reindex write them):

``record:before-index``
    a session's ``session.json`` is written; its index row is not.
``reindex:before-replace``
    the rebuilt index is complete beside the old one; the old one is not replaced.
"""

from __future__ import annotations

import os
import signal

FAULT_ENV = "SPECDISTILL_FAULT_POINT"

FAULT_POINTS = (
    "edit:before-write",
    "edit:between-files",
    "edit:after-write",
    "edit:ref-locked",
    "edit:after-commit",
    "edit:after-index",
    "rollback:before-write",
    "rollback:between-files",
    "rollback:after-write",
    "rollback:after-commit",
    "checkpoint:after-commit",
    "record:before-index",
    "reindex:before-replace",
)


def _parse(value: str | None) -> tuple[str, int] | None:
    if not value:
        return None
    name, _, nth = value.partition("@")
    return name, int(nth) if nth else 1


_ARMED = _parse(os.environ.get(FAULT_ENV))
_hits: dict[str, int] = {}


def fault_point(name: str) -> None:
    """SIGKILL this process here if ``$SPECDISTILL_FAULT_POINT`` names this point."""
    if _ARMED is None or _ARMED[0] != name:
        return
    _hits[name] = _hits.get(name, 0) + 1
    if _hits[name] == _ARMED[1]:
        os.kill(os.getpid(), signal.SIGKILL)
