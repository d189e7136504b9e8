"""Session lifecycle (pure) and the session store (real files, real SQLite)."""

from __future__ import annotations

import json
import sqlite3

import pytest

from specdistill.home import init_home
from specdistill.models import (
    AutonomyMode,
    EditOutcome,
    LearningPlan,
    LearningSession,
    SessionStatus,
)
from specdistill.sessions.lifecycle import (
    TRANSITIONS,
    IllegalTransition,
    can_transition,
    transition,
)
from specdistill.sessions.store import (
    CorruptSessionData,
    SessionNotFound,
    SessionStore,
    new_session_id,
)

S = SessionStatus

HAPPY_PATHS = [
    [S.DIAGNOSING, S.PLANNING, S.EXECUTING, S.COMPLETED, S.ROLLED_BACK],
    [S.DIAGNOSING, S.PLANNING, S.EXECUTING, S.AWAITING_REVIEW, S.COMPLETED],
    [S.EXECUTING, S.AWAITING_REVIEW, S.ROLLED_BACK],
    [S.PLANNING, S.FAILED],
]


@pytest.mark.parametrize("path", HAPPY_PATHS, ids=lambda p: ">".join(s.value for s in p))
def test_legal_paths(path: list[SessionStatus]) -> None:
    session = LearningSession(id="s1")
    for status in path:
        session = transition(session, status)
        assert session.status == status
    assert (session.ended_at is not None) == (path[-1] in {S.COMPLETED, S.ROLLED_BACK, S.FAILED})


ILLEGAL = [
    (S.INITIATED, S.COMPLETED),
    (S.INITIATED, S.ROLLED_BACK),
    (S.EXECUTING, S.PLANNING),
    (S.COMPLETED, S.EXECUTING),
    (S.FAILED, S.ROLLED_BACK),
    (S.ROLLED_BACK, S.COMPLETED),
    (S.FAILED, S.FAILED),
]


@pytest.mark.parametrize(("start", "end"), ILLEGAL, ids=lambda s: s.value)
def test_illegal_transitions_raise_and_name_both_states(start: S, end: S) -> None:
    session = LearningSession(id="s1", status=start)
    with pytest.raises(IllegalTransition) as info:
        transition(session, end)
    assert start.value in str(info.value) and end.value in str(info.value)
    assert session.status == start  # the original is untouched


def test_every_status_has_a_rule_and_failure_is_reachable_until_the_end() -> None:
    assert set(TRANSITIONS) == set(SessionStatus)
    for status in (S.INITIATED, S.DIAGNOSING, S.PLANNING, S.EXECUTING, S.AWAITING_REVIEW):
        assert can_transition(status, S.FAILED)


def test_failed_records_the_error() -> None:
    session = transition(LearningSession(id="s1"), S.FAILED, error="teacher unreachable")
    assert session.error == "teacher unreachable"


@pytest.fixture
def store(tmp_path) -> SessionStore:
    init_home(tmp_path)
    return SessionStore(tmp_path)


def make_session(session_id: str, **kw) -> LearningSession:
    return LearningSession(
        id=session_id,
        autonomy_mode=AutonomyMode.AUTO,
        edit_outcomes=[
            EditOutcome(edit_id="a", status="applied"),
            EditOutcome(edit_id="b", status="pending_review"),
            EditOutcome(edit_id="c", status="rejected_by_gate", error="worse"),
        ],
        **kw,
    )


def test_create_writes_frozen_plan_session_json_and_index(store: SessionStore) -> None:
    session_id = new_session_id()
    directory = store.create(make_session(session_id), LearningPlan(session_id=session_id))
    assert (directory / "plan.json").stat().st_mode & 0o222 == 0  # read-only: frozen
    loaded = store.load(session_id)
    assert loaded.plan_path == directory / "plan.json"
    assert store.load_plan(session_id).session_id == session_id
    [row] = store.list()
    assert (row.id, row.n_edits, row.n_applied, row.n_pending) == (session_id, 3, 1, 1)
    with pytest.raises(Exception, match="already exists"):
        store.create(make_session(session_id), LearningPlan())


def test_listing_is_newest_first_and_limited(store: SessionStore) -> None:
    ids = ["20260101-000000-aaaaaa", "20260102-000000-bbbbbb", "20260103-000000-cccccc"]
    for i, session_id in enumerate(ids):
        session = make_session(session_id)
        session = session.model_copy(
            update={"started_at": session.started_at.replace(year=2026, month=1, day=i + 1)}
        )
        store.create(session, LearningPlan())
    assert [row.id for row in store.list()] == ids[::-1]
    assert [row.id for row in store.list(limit=2)] == ids[:0:-1]


def test_reindex_rebuilds_a_corrupt_index_from_the_json_files(store: SessionStore) -> None:
    store.create(make_session("s-one"), LearningPlan())
    store.create(make_session("s-two"), LearningPlan())
    store.db_path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(CorruptSessionData, match="cannot be used") as info:
        store.list()
    assert "doctor --reindex" in (info.value.hint or "")
    assert store.reindex() == (2, [])
    assert sorted(row.id for row in store.list()) == ["s-one", "s-two"]
    # the index agrees with the files it was built from
    with sqlite3.connect(store.db_path) as db:
        statuses = db.execute(
            "SELECT status FROM edit_outcomes WHERE session_id='s-one' ORDER BY position"
        ).fetchall()
    assert [s for (s,) in statuses] == ["applied", "pending_review", "rejected_by_gate"]


def test_reindex_skips_and_reports_a_corrupt_session(store: SessionStore) -> None:
    store.create(make_session("s-good"), LearningPlan())
    store.create(make_session("s-bad"), LearningPlan())
    (store.session_dir("s-bad") / "session.json").write_text("{not json")
    count, skipped = store.reindex()
    assert count == 1 and len(skipped) == 1 and "s-bad" in skipped[0]


def test_unknown_missing_and_corrupt_sessions_are_clear_errors(store: SessionStore) -> None:
    with pytest.raises(SessionNotFound, match="no session 'nope'"):
        store.load("nope")
    with pytest.raises(SessionNotFound):
        store.load("../../etc")
    store.create(make_session("s-x"), LearningPlan())
    path = store.session_dir("s-x") / "session.json"
    path.write_text(json.dumps({"id": "s-x", "status": "exploded"}))
    with pytest.raises(CorruptSessionData, match="corrupt"):
        store.load("s-x")
    path.unlink()
    with pytest.raises(CorruptSessionData, match="missing"):
        store.load("s-x")


def test_session_ids_sort_by_time_and_are_safe_names() -> None:
    a, b = new_session_id(), new_session_id()
    assert a != b
    assert a[:15] <= b[:15]
