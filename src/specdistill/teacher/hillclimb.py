"""Hill-climbing support: one edit per round, and when a loop of sessions should stop.

The reference system's lesson: a teacher that sees the *measured* outcome of its earlier
edits proposes edits that hold up. :func:`propose_next_edit` therefore sends the teacher
every earlier edit with its outcome (status, the gate's target-cluster delta and
per-cluster deltas, the reason if it was rejected) and asks for ONE edit, screened
exactly like a plan's edits (:func:`specdistill.teacher.plan.screen_edits`) plus two
history checks: its id must be new and it must not repeat an earlier edit.

How the session engine drives these (``specdistill run`` / ``loop``; the real code is in
:mod:`specdistill.sessions.teach` and :mod:`specdistill.sessions.loop`), in outline:

``run`` (one session)::

    ledger = settings.ledger()                      # max_cost_per_session_usd
    client = settings.client(ledger)
    diagnosis = await diagnose(client, ...)         # BudgetExceeded: stop, record what we have
    result = await plan_edits(client, clusters=diagnosis.clusters, ...)
    store.create(session, result.plan)              # plan.json frozen before anything runs
    execute_edits(edits=result.plan.edits, ..., gate=gate, checkpoint=run)

``run --rounds N`` (hill-climb inside one session)::

    history = []
    for round in range(N):
        try:
            proposal = await propose_next_edit(client, history, home=..., clusters=...)
        except BudgetExceeded:
            break                                   # stop cleanly with the rounds done
        if proposal.edit is None:
            continue                                # dropped; the reasons go to the session
        [outcome] = execute_edits(edits=[proposal.edit], ..., gate=gate)
        history.append((proposal.edit, outcome))    # the teacher sees it next round

``loop`` (sessions until stagnation or the total budget)::

    total = CostLedger(total_budget_usd)            # each session's ledger has parent=total
    scores = []
    while not should_stop(scores, k, min_gain):
        session = run_session(ledger=settings.ledger(parent=total))
        scores.append(session.benchmark_after.overall_score)
        # BudgetExceeded from the total ledger ends the loop the same clean way
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specdistill.context import ApplyContext
from specdistill.evaluation.spec_view import SpecFiles
from specdistill.home import SpecHome
from specdistill.models import Edit, EditOp, EditOutcome, EditRiskTier, FailureCluster
from specdistill.plan import plan_json_schema
from specdistill.screen import Reach
from specdistill.teacher.client import InvalidReply, TeacherClient
from specdistill.teacher.plan import cluster_brief, screen_edits
from specdistill.teacher.prompts import render
from specdistill.teacher.records import Dropped
from specdistill.teacher.share import SharePolicy, spec_context

#: Characters of an earlier edit's payload shown to the teacher.
HISTORY_PAYLOAD_CHARS = 4000


@dataclass(frozen=True)
class NextEdit:
    """The round's edit (None when every proposal was dropped) and what was dropped."""

    edit: Edit | None
    dropped: list[Dropped]


def history_entry(edit: Edit, outcome: EditOutcome, policy: SharePolicy) -> dict[str, Any]:
    """An earlier edit and its measured outcome, as the teacher sees it (scrubbed)."""
    text = json.dumps(edit.payload, ensure_ascii=False, sort_keys=True)
    payload = policy.text(text, HISTORY_PAYLOAD_CHARS, Counter())
    reason = outcome.error or ""
    if not reason and outcome.gate_report:
        reason = outcome.gate_report.splitlines()[0]
    return {
        "id": edit.id,
        "op": edit.op.value,
        "target": edit.target,
        "payload": payload,
        "rationale": edit.rationale,
        "expected_improvement": edit.expected_improvement,
        "status": outcome.status,
        "target_cluster_delta": outcome.benchmark_delta,
        "cluster_deltas": dict(outcome.cluster_deltas),
        "reason": reason,
    }


def _check_reply(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidReply(f"expected a JSON object, got {type(data).__name__}")
    edits = data.get("edits")
    if not isinstance(edits, list) or not edits:
        raise InvalidReply("the object needs an 'edits' array holding one edit")
    return data


async def propose_next_edit(
    client: TeacherClient,
    history: Sequence[tuple[Edit, EditOutcome]],
    *,
    home: SpecHome | Path,
    clusters: Sequence[FailureCluster],
    policy: SharePolicy | None = None,
    overrides: Mapping[EditOp, EditRiskTier] | None = None,
    reach: Reach | None = None,
) -> NextEdit:
    """Ask the teacher for ONE edit, given every earlier edit and its measured deltas.

    Extra edits in the reply are dropped ("one edit per round"); the first that passes
    every check is the round's edit.
    """
    home = home if isinstance(home, SpecHome) else SpecHome(home)
    policy = policy or SharePolicy()
    if overrides is None:
        overrides = ApplyContext(home=home.root).tier_overrides()
    reply = await client.complete_json(
        "next_edit",
        system=render("next_edit_system"),
        user=render(
            "next_edit_user",
            clusters=[cluster_brief(c) for c in clusters],
            history=[history_entry(e, o, policy) for e, o in history],
            spec=spec_context(SpecFiles(home), policy),
        ),
        check=_check_reply,
        schema=plan_json_schema(),
        schema_name="one_edit",
    )
    screened = screen_edits(
        reply["edits"],
        home=home,
        clusters=[c.id for c in clusters],
        max_edits=1,
        overrides=overrides,
        history=[edit for edit, _ in history],
        reach=reach,
    )
    dropped = [
        Dropped(d.kind, d.id, "one edit per round") if d.reason.startswith("over the limit") else d
        for d in screened.dropped
    ]
    return NextEdit(screened.edits[0] if screened.edits else None, dropped)


def should_stop(scores: Sequence[float], k: int, min_gain: float) -> bool:
    """True when the last ``k`` scores did not beat the best earlier score by more than
    ``min_gain`` (stagnation for ``k`` sessions). Pure.

    With ``k`` or fewer scores there is nothing to compare against yet: False.

    >>> should_stop([0.50, 0.60, 0.60, 0.61], k=2, min_gain=0.02)
    True
    >>> should_stop([0.50, 0.60, 0.60, 0.65], k=2, min_gain=0.02)
    False
    """
    if k < 1:
        raise ValueError(f"k={k!r}: must be >= 1")
    if not (min_gain >= 0 and math.isfinite(min_gain)):
        raise ValueError(f"min_gain={min_gain!r}: must be a finite number >= 0")
    if any(not math.isfinite(s) for s in scores):
        raise ValueError("scores must be finite numbers")
    if len(scores) <= k:
        return False
    return max(scores[-k:]) - max(scores[:-k]) <= min_gain
