"""Approvals run in the background: the gate takes seconds to minutes, so the page
starts :func:`specdistill.commands.approve` in a thread and shows its progress live.

A :class:`Job` is what the page polls: the gate's runs so far and its budget, the
cluster of the last run, the notices the command gave, then its result or its error.
The command itself is the CLI's, unchanged: the same lock, gate and checkpoint; a
second writer (another approval, or a CLI command) is refused by the lock, and the
job shows that refusal as its error. Threads are not daemons: stopping the server
lets a running approval finish (or be refused) rather than die half-way.
"""

from __future__ import annotations

import logging
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from specdistill.errors import SpecdistillError

if TYPE_CHECKING:
    from specdistill.evaluation.runner import TaskResult
    from specdistill.sessions.review import Resolution

log = logging.getLogger(__name__)

#: How many finished jobs the board remembers (the oldest are forgotten first).
KEEP_JOBS = 50

Approve = Callable[..., "Resolution"]


@dataclass
class Job:
    """One approval as it runs: updated by the worker thread, read by requests."""

    id: str
    queue_id: str
    state: Literal["running", "done", "failed"] = "running"
    runs: int = 0
    budget: int = 0
    cluster: str = ""
    notes: list[str] = field(default_factory=list)
    resolution: Resolution | None = None
    error: str | None = None
    hint: str | None = None
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def progress(self, runs: int, budget: int, result: TaskResult) -> None:
        """The gate's progress callback (:data:`specdistill.gate.driver.GateProgress`)."""
        with self._lock:
            self.runs, self.budget, self.cluster = runs, budget, result.cluster

    def note(self, message: str) -> None:
        """The command's notice callback (a recovery, a deferred signal, a warning)."""
        with self._lock:
            self.notes.append(message)

    def finish(self, resolution: Resolution) -> None:
        with self._lock:
            self.resolution, self.state, self.ended = resolution, "done", time.monotonic()
            self.notes.extend(resolution.notes)

    def fail(self, message: str, hint: str | None = None) -> None:
        with self._lock:
            self.error, self.hint = message, hint
            self.state, self.ended = "failed", time.monotonic()

    @property
    def elapsed(self) -> float:
        return (self.ended or time.monotonic()) - self.started

    def status(self) -> dict[str, Any]:
        """What the page polls, as JSON-ready data (plain values only)."""
        with self._lock:
            data: dict[str, Any] = {
                "id": self.id,
                "queue_id": self.queue_id,
                "state": self.state,
                "runs": self.runs,
                "budget": self.budget,
                "cluster": self.cluster,
                "elapsed": round(self.elapsed, 1),
                "notes": list(self.notes),
                "error": self.error,
                "hint": self.hint,
            }
            if self.resolution is not None:
                outcome = self.resolution.outcome
                data["outcome"] = {
                    "status": outcome.status,
                    "error": outcome.error,
                    "benchmark_delta": outcome.benchmark_delta,
                    "commit": self.resolution.commit,
                }
            return data


class JobBoard:
    """The approvals this page started, by id."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def start_approval(self, approve: Approve, home: Path, queue_id: str) -> Job:
        """Run ``approve(home, queue_id=..., notify=..., gate_progress=...)`` in a thread."""
        job = Job(secrets.token_hex(8), queue_id)
        with self._lock:
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP_JOBS:
                self._jobs.popitem(last=False)

        def work() -> None:
            try:
                job.finish(
                    approve(home, queue_id=queue_id, notify=job.note, gate_progress=job.progress)
                )
            except SpecdistillError as exc:
                job.fail(exc.message, exc.hint)
            except OSError as exc:
                job.fail(str(exc), "check the path and its permissions")
            except Exception as exc:  # a bug: say so on the page, keep the traceback in the log
                log.exception("approval of %s failed", queue_id)
                job.fail(f"internal error: {type(exc).__name__}: {exc}")

        threading.Thread(target=work, name=f"approve-{job.id}", daemon=False).start()
        return job


__all__ = ["KEEP_JOBS", "Job", "JobBoard"]
