"""Hill-climb support: the teacher sees every earlier edit with its measured deltas and gets
one edit in; `should_stop` detects stagnation over k sessions."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from eval_helpers import make_home
from specdistill.models import Edit, EditOutcome, FailureCluster
from specdistill.teacher import NextEdit, propose_next_edit, should_stop
from teacher_helpers import TeacherServer, make_client, teacher_server

CLUSTERS = [FailureCluster(id="math", student_failure_rate=0.5, skill_gap="products")]
PROMPT_EDIT = Edit(
    id="e1", pillar="agent", op="replace_system_prompt", target="agents.alpha.system_prompt",
    payload={"agent": "alpha", "new_content": "Multiply carefully.\n"},
    rationale="products", expected_improvement="math",
)  # fmt: skip
TEMP_EDIT = Edit(
    id="e2", pillar="intelligence", op="set_model_param",
    payload={"model": "math-model", "param": "temperature", "value": 0.7},
    expected_improvement="math",
)  # fmt: skip
HISTORY = [
    (PROMPT_EDIT, EditOutcome(edit_id="e1", status="applied", benchmark_delta=0.25,
                              cluster_deltas={"math": 0.25, "capitals": 0.0})),
    (TEMP_EDIT, EditOutcome(edit_id="e2", status="rejected_by_gate", benchmark_delta=-0.1,
                            cluster_deltas={"math": -0.1}, error="REJECT: math got worse")),
]  # fmt: skip


def proposal(id: str, value: float, **extra: Any) -> dict[str, Any]:
    return {"id": id, "pillar": "intelligence", "op": "set_model_param",
            "payload": {"model": "math-model", "param": "temperature", "value": value},
            "expected_improvement": "math", **extra}  # fmt: skip


@pytest.fixture
def server() -> Any:
    with teacher_server() as running:
        yield running


def next_edit(server: TeacherServer, home: Path) -> NextEdit:
    client = make_client(server)

    async def run() -> NextEdit:
        try:
            return await propose_next_edit(client, HISTORY, home=home, clusters=CLUSTERS)
        finally:
            await client.aclose()

    return asyncio.run(run())


def test_the_teacher_sees_the_history_and_one_edit_gets_in(
    server: TeacherServer, tmp_path: Path
) -> None:
    home = make_home(tmp_path / "home")
    server.add(
        "next_edit",
        {"edits": [
            proposal("e3", 0.7),  # the rejected e2 again
            proposal("e1", 0.1),  # a used id
            proposal("e4", 0.0),
            proposal("e5", 0.2),
        ]},
    )  # fmt: skip
    result = next_edit(server, home)
    assert result.edit is not None and result.edit.id == "e4"
    assert result.edit.payload["value"] == 0.0 and result.edit.risk_tier.value == "auto"
    assert [(d.id, d.reason) for d in result.dropped] == [
        ("e3", "repeats earlier edit 'e2'"),
        ("e1", "duplicate id: already used by an earlier edit"),
        ("e5", "one edit per round"),
    ]
    user = server.bodies("next_edit")[0]["messages"][1]["content"]
    block = user.split("## Earlier edits, oldest first, with their measured outcomes")[1]
    history = json.loads(block.split("## The student's current spec")[0])
    assert [(h["id"], h["status"], h["target_cluster_delta"]) for h in history] == [
        ("e1", "applied", 0.25),
        ("e2", "rejected_by_gate", -0.1),
    ]
    assert history[0]["cluster_deltas"] == {"math": 0.25, "capitals": 0.0}
    assert history[1]["reason"] == "REJECT: math got worse"
    assert json.loads(history[0]["payload"])["new_content"] == "Multiply carefully.\n"


def test_all_proposals_dropped_gives_no_edit(server: TeacherServer, tmp_path: Path) -> None:
    server.add("next_edit", {"edits": [proposal("e9", 0.7)]})
    result = next_edit(server, make_home(tmp_path / "home"))
    assert result.edit is None and result.dropped[0].reason == "repeats earlier edit 'e2'"


@pytest.mark.parametrize(
    ("scores", "k", "min_gain", "stop"),
    [
        ([], 2, 0.0, False),
        ([0.5, 0.6], 2, 0.0, False),
        ([0.5, 0.5], 1, 0.0, True),
        ([0.5, 0.6], 1, 0.0, False),
        ([0.5, 0.6, 0.6, 0.61], 2, 0.02, True),
        ([0.5, 0.6, 0.6, 0.65], 2, 0.02, False),
        ([0.7, 0.5, 0.6], 2, 0.0, True),
        ([0.7, 0.5, 0.6, 0.71], 3, 0.0, False),
    ],
    ids=["empty", "too-few", "flat", "gain", "small-gain", "big-gain", "below-best", "recovered"],
)
def test_should_stop(scores: list[float], k: int, min_gain: float, stop: bool) -> None:
    assert should_stop(scores, k, min_gain) is stop


@pytest.mark.parametrize(
    ("scores", "k", "min_gain"),
    [([0.5], 0, 0.0), ([0.5], 1, -0.1), ([float("nan"), 0.5], 1, 0.0), ([0.5], 1, float("inf"))],
    ids=["k-zero", "negative-gain", "nan-score", "infinite-gain"],
)
def test_should_stop_refuses_nonsense(scores: list[float], k: int, min_gain: float) -> None:
    with pytest.raises(ValueError):
        should_stop(scores, k, min_gain)


@given(
    st.lists(st.floats(0, 1), min_size=1, max_size=12),
    st.integers(1, 4),
    st.floats(0, 0.1),
)
def test_a_new_best_by_more_than_min_gain_never_stops(
    scores: list[float], k: int, min_gain: float
) -> None:
    better = max(scores) + min_gain + 0.001
    assert not should_stop([*scores, better], k, min_gain)
