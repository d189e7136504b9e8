"""Helpers for the review, history/show and report tests: real sessions, made for real.

:func:`gated_home` builds a spec home with a git repository, a benchmark of two
clusters and a Python student that reads the spec's system prompt (``HELP`` fixes
cluster ``target``; ``BREAK`` breaks cluster ``other``). :func:`record_session`
runs a session the way ``specdistill run`` does — benchmark before, the edits
through the real gate inside a checkpointed run, benchmark after — and records
it with the real :class:`~specdistill.sessions.store.SessionStore` and reports.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from checkpoint_helpers import isolate_git
from specdistill import (
    ApplyContext,
    AutonomyMode,
    Edit,
    EditOp,
    LearningPlan,
    LearningSession,
    checkpointed_run,
    execute_edits,
    init_home,
)
from specdistill.checkpoint import init_checkpoints
from specdistill.evaluation.command import bench_run
from specdistill.gate.settings import open_gate
from specdistill.models import SessionStatus, TriggerKind
from specdistill.sessions.lifecycle import transition
from specdistill.sessions.report import write_reports
from specdistill.sessions.store import SessionStore

PROMPT = "You are a helpful assistant.\nAnswer concisely.\n"
STUDENT_CONFIG = """
[specdistill.student]
kind = "python"
function = "session_helpers:student"

[specdistill.runner]
concurrency = 4
"""


def student(task: dict, home: str) -> str:
    """Answers depend on the system prompt: HELP fixes 'target', BREAK breaks 'other'."""
    prompt = (Path(home) / "agents/assistant/system_prompt.md").read_text()
    if task["cluster"] == "target":
        return "yes" if "HELP" in prompt else "no"
    return "no" if "BREAK" in prompt else "yes"


def benchmark_text(per_cluster: int = 60) -> str:
    lines = []
    for cluster in ("target", "other"):
        for i in range(per_cluster):
            task = {"id": f"{cluster}-{i:03d}", "input": f"q{i}", "cluster": cluster}
            task |= {"reference": "yes", "scorer": "exact", "agent": "assistant"}
            lines.append(json.dumps(task))
    return "\n".join(lines) + "\n"


def gated_home(root: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A spec home under git, with a benchmark and a prompt-reading Python student."""
    isolate_git(monkeypatch, root.parent)
    init_home(root)
    (root / "agents/assistant/system_prompt.md").write_text(PROMPT)
    config = root / "config.toml"
    config.write_text(config.read_text() + STUDENT_CONFIG)
    (root / "benchmark.jsonl").write_text(benchmark_text())
    init_checkpoints(root)
    return root


def prompt_edit(edit_id: str, text: str, *, rationale: str = "") -> Edit:
    """A review-tier edit: replace the assistant's prompt; it targets cluster 'target'."""
    return Edit(
        id=edit_id,
        pillar="agent",
        op=EditOp.REPLACE_SYSTEM_PROMPT,
        target="agents.assistant.system_prompt",
        payload={"agent": "assistant", "new_content": text},
        rationale=rationale or f"the prompt should say {text.strip()!r}",
        expected_improvement="target",
        references=[f"trace-{edit_id}-1", f"trace-{edit_id}-2"],
    )


def patch_edit(edit_id: str) -> Edit:
    """A review-tier patch whose context is the prompt's first line (stale once it changes)."""
    diff = "@@ -1,2 +1,2 @@\n You are a helpful assistant.\n-Answer concisely.\n+HELP concisely.\n"
    return Edit(
        id=edit_id,
        pillar="agent",
        op=EditOp.PATCH_SYSTEM_PROMPT,
        target="agents.assistant.system_prompt",
        payload={"agent": "assistant", "diff": diff},
        rationale="ask for help",
        expected_improvement="target",
    )


def temperature_edit(edit_id: str, value: float = 0.0) -> Edit:
    """An auto-tier edit the student does not read (the gate sees no gain)."""
    return Edit(
        id=edit_id,
        pillar="intelligence",
        op=EditOp.SET_MODEL_PARAM,
        payload={"model": "small-model", "param": "temperature", "value": value},
        expected_improvement="target",
    )


def record_session(
    home: Path,
    session_id: str,
    edits: list[Edit],
    *,
    mode: AutonomyMode = AutonomyMode.TIERED,
    cost: float = 0.0123,
) -> LearningSession:
    """Run ``edits`` as one gated, checkpointed session and record it (with its reports)."""
    store = SessionStore(home)
    plan = LearningPlan(session_id=session_id, edits=edits, estimated_cost_usd=cost)
    session = LearningSession(
        id=session_id,
        trigger=TriggerKind.USER_FLAG,
        autonomy_mode=mode,
        teacher_cost_usd=cost,
        trigger_metadata={"by": "test"},
    )
    session = transition(session, SessionStatus.EXECUTING)
    store.create(session, plan)
    before = bench_run(home).snapshot
    gate = open_gate(home)
    try:
        with checkpointed_run(home, command="test-run", session_id=session_id, notify=None) as run:
            pre = run.head
            ctx = ApplyContext(home=home, session_id=session_id)
            outcomes = execute_edits(
                edits=edits, ctx=ctx, autonomy_mode=mode, checkpoint=run, gate=gate
            )
            post = run.store.head()
    finally:
        if gate.cache is not None:
            gate.cache.close()
    after = bench_run(home).snapshot
    session = store.load(session_id).model_copy(
        update={
            "edit_outcomes": outcomes,
            "benchmark_before": before,
            "benchmark_after": after,
            "git_checkpoint_pre": pre,
            "git_checkpoint_post": post,
        }
    )
    pending = any(o.status == "pending_review" for o in outcomes)
    session = transition(
        session, SessionStatus.AWAITING_REVIEW if pending else SessionStatus.COMPLETED
    )
    store.save(session)
    write_reports(store, session, plan)
    return session


def session_json(home: Path, session_id: str) -> dict:
    return json.loads((home / "learning/sessions" / session_id / "session.json").read_text())


def outcome(home: Path, session_id: str, edit_id: str) -> dict:
    return next(
        o for o in session_json(home, session_id)["edit_outcomes"] if o["edit_id"] == edit_id
    )
