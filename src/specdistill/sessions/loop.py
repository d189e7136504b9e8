"""``specdistill loop``: teacher-driven sessions until the score stops improving.

Each session is a whole :func:`~specdistill.sessions.teach.teach_session` (diagnose,
plan or hill-climb, execute, gate, record) on the spec as the previous one left it, with
``parent_session_id`` naming the previous session. The loop ends at the first of:

* **stagnation** – :func:`~specdistill.teacher.should_stop` over the scores: the first
  session's *before* score, then every session's *after* score (its before score if the
  after snapshot was not taken). It stops when the last ``stagnation`` sessions did not
  beat the best earlier score by more than ``min_gain``;
* **the total budget** – every session's ledger has the loop's ledger (``budget_usd``)
  as parent, so a call that could pass the total is not made; the session that met it
  completes with what it has and the loop ends;
* ``max_sessions`` sessions; a failed session (its error is the reason); a Ctrl-C.

Sessions that leave edits waiting for review count like any other: their score is the
spec as it stands, without the queued edits.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from specdistill.checkpoint.run import Notify, new_session_id
from specdistill.errors import InvalidInput, SpecdistillError
from specdistill.gate.config import GateMode
from specdistill.gate.settings import parse_gate_mode
from specdistill.home import SpecHome
from specdistill.models import AutonomyMode, LearningSession, SessionStatus, TriggerKind
from specdistill.sessions.run import Progress, interrupted_by
from specdistill.sessions.store import SessionStore
from specdistill.sessions.teach import teach_session
from specdistill.sessions.teacher_log import teacher_summary
from specdistill.teacher import CostLedger, should_stop


@dataclass
class LoopResult:
    """The sessions run, the scores the stop rule saw, why the loop ended, what it cost."""

    sessions: list[LearningSession] = field(default_factory=list)
    scores: list[float] = field(default_factory=list)
    stopped: str = ""
    cost_usd: float = 0.0
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        """What ``specdistill loop`` shows, as data: one entry per session (its line), then
        the summary (``score_first``/``score_last`` are the ends of ``scores``)."""
        return {
            "sessions": [session_summary(s) for s in self.sessions],
            "scores": list(self.scores),
            "score_first": self.scores[0] if self.scores else None,
            "score_last": self.scores[-1] if self.scores else None,
            "stopped": self.stopped,
            "cost_usd": round(self.cost_usd, 6),
            "error": self.error,
        }


def session_summary(session: LearningSession) -> dict[str, Any]:
    """One loop session as data: status, overall score before and after, edits kept and
    waiting, teacher cost, error (what its line in ``specdistill loop`` says)."""
    before = session.benchmark_before
    return {
        "id": session.id,
        "status": session.status.value,
        "score_before": before.overall_score if before is not None else None,
        "score_after": _score(session),
        "applied": sum(o.status == "applied" for o in session.edit_outcomes),
        "pending_review": sum(o.status == "pending_review" for o in session.edit_outcomes),
        "teacher_cost_usd": round(session.teacher_cost_usd, 6),
        "error": session.error,
    }


def _score(session: LearningSession) -> float | None:
    snapshot = session.benchmark_after or session.benchmark_before
    return None if snapshot is None else snapshot.overall_score


def run_loop(
    home: str | os.PathLike[str] | SpecHome,
    *,
    traces: str | os.PathLike[str] | None = None,
    max_sessions: int = 5,
    stagnation: int = 2,
    min_gain: float = 0.01,
    budget_usd: float | None = None,
    rounds: int | None = None,
    mode: AutonomyMode | str = AutonomyMode.TIERED,
    gate_mode: GateMode | str = GateMode.sequential,
    benchmark: str | os.PathLike[str] | None = None,
    allow_dirty: bool = False,
    progress: Progress | None = None,
    notify: Notify | None = None,
    on_session: Callable[[LearningSession], None] | None = None,
) -> LoopResult:
    """Run sessions until stagnation, the total budget or ``max_sessions`` (module doc).

    ``on_session`` is called after each session (the CLI prints its line). An error before
    the first session started (bad config, no traces) is raised; a session that fails
    later ends the loop with ``error`` set, the sessions before it kept.
    """
    if max_sessions < 1 or stagnation < 1:
        raise InvalidInput("--max-sessions and --stagnation must be at least 1")
    if not min_gain >= 0:
        raise InvalidInput("--min-gain must be a number >= 0")
    if budget_usd is not None and not budget_usd >= 0:
        raise InvalidInput("--budget must be a number of USD >= 0")
    gate = parse_gate_mode(gate_mode)
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    total = CostLedger(budget_usd)
    result = LoopResult()
    parent: str | None = None
    for index in range(1, max_sessions + 1):
        if total.remaining_usd == 0:
            result.stopped = "the total budget is spent"
            break
        sid = new_session_id()
        try:
            session = teach_session(
                spec_home, traces=traces, rounds=rounds, mode=mode, gate_mode=gate,
                benchmark=benchmark, allow_dirty=allow_dirty and index == 1,
                trigger=TriggerKind.SCHEDULED, session_id=sid, parent_session_id=parent,
                total_ledger=total, metadata={"command": "loop", "loop_session": index},
                progress=progress, notify=notify,
            )  # fmt: skip
        except SpecdistillError as exc:
            if not result.sessions:
                raise
            store = SessionStore(spec_home)
            if store.session_dir(sid).exists():
                result.sessions.append(store.load(sid))
            result.error = exc.message
            result.stopped = f"session {sid} failed"
            break
        finally:
            result.cost_usd = total.spent_usd
        result.sessions.append(session)
        parent = session.id
        if on_session is not None:
            on_session(session)
        if not result.scores and session.benchmark_before is not None:
            result.scores.append(session.benchmark_before.overall_score)
        score = _score(session)
        if score is not None:
            result.scores.append(score)
        summary = teacher_summary(session.trigger_metadata) or {}
        if interrupted_by(session) is not None:
            result.stopped = "interrupted"
            break
        if session.status is SessionStatus.FAILED:
            result.stopped = f"session {session.id} failed"
            break
        if summary.get("budget_exhausted") == "total":
            result.stopped = "the total budget is spent"
            break
        if len(result.scores) > stagnation and should_stop(result.scores, stagnation, min_gain):
            result.stopped = (
                f"stagnation: the last {stagnation} session(s) gained no more than "
                f"{min_gain:g} over the best earlier score"
            )
            break
    else:
        result.stopped = f"{max_sessions} session(s) run (--max-sessions)"
    return result
