"""Plans and session records round-trip with OpenJarvis, both ways.

OpenJarvis -> specdistill: the plan and session record its models wrote (fixtures) load,
and every field they hold is written back unchanged. specdistill -> OpenJarvis: the
records specdistill writes (a real quickstart session, and the sparsest records our models
can make) validate against a copy of OpenJarvis's field lists
(``openjarvis_fields.json``): every required field present and not null, every enum value
one of OpenJarvis's, rates and scores within [0, 1].
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from openjarvis_helpers import FIXTURES, PLAN, SESSION_ID
from specdistill import commands
from specdistill.models import (
    EditPillar,
    FailureCluster,
    LearningPlan,
    LearningSession,
    TriggerKind,
)
from specdistill.plan import parse_plan
from specdistill.sessions.store import SessionStore

OJ: dict[str, Any] = json.loads((FIXTURES / "openjarvis_fields.json").read_text())
ENUM_OF = {
    (model, field): enum
    for key, enum in OJ["enum_fields"].items()
    for model, field in [key.split(".")]
}
NESTED = {  # field -> the OpenJarvis model of its value(s)
    ("LearningPlan", "edits"): "Edit",
    ("LearningPlan", "failure_clusters"): "FailureCluster",
    ("LearningSession", "edit_outcomes"): "EditOutcome",
    ("LearningSession", "benchmark_before"): "BenchmarkSnapshot",
    ("LearningSession", "benchmark_after"): "BenchmarkSnapshot",
}


def kept(written: Any, read: Any) -> bool:
    """Whether ``written`` holds everything ``read`` did (our additions allowed)."""
    if isinstance(read, dict):
        return isinstance(written, dict) and all(
            k in written and kept(written[k], v) for k, v in read.items()
        )
    if isinstance(read, list):
        return (
            isinstance(written, list)
            and len(written) == len(read)
            and all(kept(w, r) for w, r in zip(written, read, strict=True))
        )
    return bool(written == read)


def enum_values(name: str) -> list[str]:
    return OJ["enums"].get(name) or OJ["literals"][name]


def problems(record: dict[str, Any], model: str, where: str = "$") -> list[str]:
    """What OpenJarvis's ``model`` would refuse in ``record`` (required, nullability of
    required fields, enum values, [0, 1] bounds), recursing into nested models."""
    found = []
    fields = OJ["models"][model]
    for name in fields["required"]:
        if name not in record:
            found.append(f"{where}.{name}: missing")
        elif record[name] is None:
            found.append(f"{where}.{name}: null")
    for name, value in record.items():
        if value is None:
            continue
        enum = ENUM_OF.get((model, name))
        if enum is not None and value not in enum_values(enum):
            found.append(f"{where}.{name}: {value!r} not in {enum}")
        if f"{model}.{name}" in OJ["bounded_0_1"] and not 0.0 <= value <= 1.0:
            found.append(f"{where}.{name}: {value} outside [0, 1]")
        nested = NESTED.get((model, name))
        if nested is not None:
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                found += problems(item, nested, f"{where}.{name}[{i}]")
    return found


# --- OpenJarvis -> specdistill --------------------------------------------------------------


def test_openjarvis_plan_loads_and_keeps_every_field() -> None:
    raw = json.loads((FIXTURES / "home" / PLAN).read_text())
    plan = parse_plan(raw)
    assert plan.teacher_model == "claude-opus-4-6"
    assert plan.failure_clusters[0].addressed_by_edit_ids == [
        "edit-001",
        "edit-002",
        "edit-004",
        "edit-005",
    ]
    assert kept(json.loads(plan.model_dump_json()), raw)  # nothing dropped, nothing changed


def test_openjarvis_session_record_loads_and_keeps_every_field() -> None:
    path = (FIXTURES / "home" / PLAN).with_name("session.json")
    raw = json.loads(path.read_text())
    session = LearningSession.model_validate(raw)
    assert session.trigger is TriggerKind.CLUSTER
    back = json.loads(session.model_dump_json())
    assert kept(back, raw)
    assert not kept({**back, "trigger": "cluster_detected"}, raw)  # the check can fail
    assert problems(back, "LearningSession") == []


def test_older_specdistill_records_still_read() -> None:
    assert TriggerKind("cluster_detected") is TriggerKind.CLUSTER
    old = {"id": "s", "trigger": "cluster_detected", "diagnosis_path": None}
    assert LearningSession.model_validate(old).trigger is TriggerKind.CLUSTER


def test_our_enums_hold_all_of_openjarvis_values() -> None:
    from specdistill import models

    for name, values in OJ["enums"].items():
        assert [m.value for m in getattr(models, name)] == values, name
    assert list(models.OUTCOME_STATUSES) == OJ["literals"]["EditOutcomeStatus"]
    for model, fields in OJ["models"].items():
        ours = set(getattr(models, model).model_fields)
        assert set(fields["required"]) | set(fields["optional"]) <= ours, model


# --- specdistill -> OpenJarvis --------------------------------------------------------------


@pytest.fixture(scope="module")
def quickstart_records(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    """The plan and session record of a real (offline, gated) quickstart session."""
    root = tmp_path_factory.mktemp("qs") / "home"
    result = commands.quickstart(root)
    directory = SessionStore(result.home).session_dir(result.session.id)
    plan = json.loads((directory / "plan.json").read_text())
    session = json.loads((directory / "session.json").read_text())
    return plan, session


def test_a_plan_we_write_is_one_openjarvis_reads(quickstart_records: tuple[dict, dict]) -> None:
    plan, _ = quickstart_records
    assert plan["edits"], "the quickstart plan has edits"
    assert problems(plan, "LearningPlan") == []


def test_a_session_record_we_write_is_one_openjarvis_reads(
    quickstart_records: tuple[dict, dict],
) -> None:
    _, session = quickstart_records
    assert session["edit_outcomes"]
    assert problems(session, "LearningSession") == []


def test_our_sparsest_records_still_write_what_openjarvis_requires() -> None:
    session = LearningSession(id="s1")
    data = json.loads(session.model_dump_json())
    assert problems(data, "LearningSession") == []
    # ... and read back as what they were: nothing measured, no paths, no checkpoint.
    assert LearningSession.model_validate(data) == session
    plan = LearningPlan(failure_clusters=[FailureCluster(id="c1")])
    assert problems(json.loads(plan.model_dump_json()), "LearningPlan") == []


def test_the_checker_catches_what_openjarvis_would_refuse() -> None:
    good = json.loads(LearningSession(id="s1").model_dump_json())
    assert problems({**good, "diagnosis_path": None}, "LearningSession") == [
        "$.diagnosis_path: null"
    ]
    assert problems({**good, "trigger": "cluster_detected"}, "LearningSession") == [
        "$.trigger: 'cluster_detected' not in TriggerKind"
    ]
    plan = json.loads(LearningPlan().model_dump_json())
    del plan["teacher_model"]
    assert problems(plan, "LearningPlan") == ["$.teacher_model: missing"]
    assert EditPillar("engine") is EditPillar.ENGINE


def test_a_session_openjarvis_wrote_is_indexed_and_shown_in_its_home(oj_home: Path) -> None:
    store = SessionStore(oj_home)
    [summary] = store.list()
    assert summary.id == SESSION_ID and summary.n_pending == 1
