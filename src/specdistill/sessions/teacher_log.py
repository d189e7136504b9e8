"""What the teacher did in a session: calls and cost, what was dropped and why, why it stopped.

A teacher-driven session (:mod:`specdistill.sessions.teach`) keeps one :class:`TeacherLog`.
It is written whole to ``teacher.json`` in the session directory after every teacher
step, and summarised (:meth:`TeacherLog.summary`) into ``session.json``'s
``trigger_metadata["teacher"]``, which ``run``'s output and the reports show. Everything
in it came from the teacher or is about it: it is data to show, escaped by every view.

``teacher.json``::

    {"model": "...", "cost_usd": 0.0125, "calls": [TeacherCall, ...],
     "clusters": ["arithmetic"],                     # kept by the diagnosis
     "dropped": [{"stage": "diagnose"|"plan"|"round K", "kind": "cluster"|"edit",
                  "id": "...", "reason": "..."}],
     "converted": ["e3"],                            # patches shown whole as replaces
     "rounds": [{"round": 1, "edit_id": "e1"|null}],
     "notes": ["..."], "stopped": "teacher budget reached: ..."|null,
     "budget_exhausted": "session"|"total"|null}
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from specdistill.models import Edit
from specdistill.sessions.store import SessionStore
from specdistill.teacher import BudgetExceeded, CostLedger, Dropped

TEACHER_FILE = "teacher.json"
DIAGNOSIS_FILE = "diagnosis.json"


@dataclass
class TeacherLog:
    """The teacher's record for one session (see the module docstring)."""

    model: str
    ledger: CostLedger
    clusters: list[str] = field(default_factory=list)
    dropped: list[dict[str, str]] = field(default_factory=list)
    converted: list[str] = field(default_factory=list)
    rounds: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: str | None = None
    budget_exhausted: str | None = None

    def drop(self, stage: str, items: Sequence[Dropped]) -> None:
        """Record what ``stage`` dropped, in order."""
        self.dropped.extend({"stage": stage, **item.as_json()} for item in items)

    def round(self, number: int, edit: Edit | None) -> None:
        self.rounds.append({"round": number, "edit_id": edit.id if edit else None})

    def note(self, text: str) -> None:
        if text not in self.notes:
            self.notes.append(text)

    def stop(self, exc: Exception, consequence: str) -> str:
        """Record why the teacher stopped (a budget, a failed call); return the reason."""
        message = getattr(exc, "message", None) or str(exc)
        self.stopped = f"{message}; {consequence}"
        if isinstance(exc, BudgetExceeded):
            self.budget_exhausted = "session"
            parent = self.ledger.parent
            if parent is not None:
                try:
                    parent.check(exc.purpose, exc.estimate_usd)
                except BudgetExceeded:
                    self.budget_exhausted = "total"
        return self.stopped

    def summary(self) -> dict[str, Any]:
        """The compact view kept in ``trigger_metadata["teacher"]``."""
        return {
            "model": self.model,
            "calls": len(self.ledger.calls),
            "cost_usd": round(self.ledger.spent_usd, 6),
            "clusters": list(self.clusters),
            "dropped": [
                f"{d['stage']}: {d['kind']} {d['id']}: {d['reason']}" for d in self.dropped
            ],
            "converted": list(self.converted),
            "rounds": len(self.rounds),
            "notes": list(self.notes),
            "stopped": self.stopped,
            "budget_exhausted": self.budget_exhausted,
        }

    def as_json(self) -> dict[str, Any]:
        return {
            "model": self.model,
            "cost_usd": round(self.ledger.spent_usd, 6),
            "calls": [call.as_json() for call in self.ledger.calls],
            "clusters": list(self.clusters),
            "dropped": list(self.dropped),
            "converted": list(self.converted),
            "rounds": list(self.rounds),
            "notes": list(self.notes),
            "stopped": self.stopped,
            "budget_exhausted": self.budget_exhausted,
        }

    @staticmethod
    def dump(data: Any) -> bytes:
        return json.dumps(data, indent=2, ensure_ascii=False).encode("utf-8") + b"\n"

    def write(self, store: SessionStore, session_id: str) -> None:
        store.write_file(session_id, TEACHER_FILE, self.dump(self.as_json()))


def teacher_summary(metadata: dict[str, Any]) -> dict[str, Any] | None:
    """``trigger_metadata["teacher"]`` when the session was teacher-driven, else None."""
    value = metadata.get("teacher")
    return value if isinstance(value, dict) else None
