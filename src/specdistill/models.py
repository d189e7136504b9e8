"""The data of a learning session: edits, plans, outcomes, snapshots, sessions.

Field names, enum values and outcome statuses follow OpenJarvis's spec-search
models (``learning/spec_search/models.py``), so plans and session records written
by either tool read in the other, both ways:

- every field OpenJarvis's models have is accepted and kept, with its values
  (``FailureCluster.addressed_by_edit_ids``, ``LearningPlan.teacher_model``,
  ``TriggerKind.CLUSTER`` = ``"cluster"``, ``EditPillar.ENGINE``), even where
  specdistill does not use it;
- what OpenJarvis's models require is always written: a session record never holds
  ``null`` where OpenJarvis needs a value (see :class:`LearningSession`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, field_validator


def utc_now() -> datetime:
    return datetime.now(UTC)


class EditPillar(StrEnum):
    """Which part of the agent an edit changes."""

    INTELLIGENCE = "intelligence"
    AGENT = "agent"
    TOOLS = "tools"
    #: OpenJarvis's fourth pillar: accepted in plans, but no op of the vocabulary is in it.
    ENGINE = "engine"


class EditRiskTier(StrEnum):
    """How much scrutiny an edit needs. Assigned by specdistill, never by the teacher."""

    AUTO = "auto"
    REVIEW = "review"
    MANUAL = "manual"


class AutonomyMode(StrEnum):
    """How aggressively a session applies edits."""

    AUTO = "auto"  # apply every auto- and review-tier edit (through the gate)
    TIERED = "tiered"  # apply auto-tier edits; queue review-tier ones
    MANUAL = "manual"  # queue every edit for a person


class EditOp(StrEnum):
    """The edit vocabulary: one applier per op."""

    SET_MODEL_FOR_QUERY_CLASS = "set_model_for_query_class"
    SET_MODEL_PARAM = "set_model_param"
    PATCH_SYSTEM_PROMPT = "patch_system_prompt"
    REPLACE_SYSTEM_PROMPT = "replace_system_prompt"
    SET_AGENT_CLASS = "set_agent_class"
    SET_AGENT_PARAM = "set_agent_param"
    EDIT_FEW_SHOT_EXEMPLARS = "edit_few_shot_exemplars"
    ADD_TOOL_TO_AGENT = "add_tool_to_agent"
    REMOVE_TOOL_FROM_AGENT = "remove_tool_from_agent"
    EDIT_TOOL_DESCRIPTION = "edit_tool_description"
    LORA_FINETUNE = "lora_finetune"


class SessionStatus(StrEnum):
    INITIATED = "initiated"
    DIAGNOSING = "diagnosing"
    PLANNING = "planning"
    EXECUTING = "executing"
    AWAITING_REVIEW = "awaiting_review"
    COMPLETED = "completed"
    FAILED = "failed"
    ROLLED_BACK = "rolled_back"


class TriggerKind(StrEnum):
    """What started a session (OpenJarvis's values; ``"cluster_detected"``, the name
    specdistill used before, still reads as :attr:`CLUSTER`)."""

    SCHEDULED = "scheduled"
    CLUSTER = "cluster"
    USER_FLAG = "user_flag"
    ON_DEMAND = "on_demand"

    @classmethod
    def _missing_(cls, value: object) -> TriggerKind | None:
        return cls.CLUSTER if value == "cluster_detected" else None


OutcomeStatus = Literal[
    "applied",
    "rejected_by_gate",
    "pending_review",
    "rejected_by_user",
    "rolled_back",
    "skipped",
]

OUTCOME_STATUSES: tuple[str, ...] = OutcomeStatus.__args__  # type: ignore[attr-defined]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class Edit(_Model):
    """One typed change to the spec, proposed by the teacher.

    ``payload`` holds the op's arguments; its shape per op is in
    :mod:`specdistill.payloads` and is checked before anything is written.
    """

    id: str = Field(min_length=1, max_length=200)
    pillar: EditPillar
    op: EditOp
    target: str = Field(default="", max_length=1000)
    payload: dict[str, Any] = Field(default_factory=dict)
    rationale: str = ""
    expected_improvement: str = ""  # the failure cluster this edit should fix
    risk_tier: EditRiskTier = EditRiskTier.AUTO
    references: list[str] = Field(default_factory=list)
    #: specdistill's: the benchmark cluster the gate measures the edit on, when the plan
    #: screen resolved ``expected_improvement`` from an OpenJarvis failure-cluster id
    #: (``"c1"``) to one; ``""`` when ``expected_improvement`` names it itself.
    #: OpenJarvis ignores it; ``expected_improvement`` stays as written.
    benchmark_cluster: str = Field(default="", max_length=200)

    @property
    def gate_cluster(self) -> str:
        """The benchmark cluster the gate measures this edit on."""
        return self.benchmark_cluster or self.expected_improvement


class EditOutcome(_Model):
    """What happened to one edit."""

    edit_id: str
    status: OutcomeStatus
    benchmark_delta: float | None = None
    cluster_deltas: dict[str, float] = Field(default_factory=dict)
    error: str | None = None
    applied_at: datetime | None = None
    #: The gate's readable report for this edit (specdistill's addition; None ungated).
    gate_report: str | None = None


class FailureCluster(_Model):
    """A group of failing traces with a shared cause."""

    id: str = Field(min_length=1)
    description: str = ""
    sample_trace_ids: list[str] = Field(default_factory=list)
    student_failure_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    teacher_success_rate: float = Field(default=0.0, ge=0.0, le=1.0)
    skill_gap: str = ""
    #: Ids of the plan's edits aimed at this cluster (OpenJarvis's planner fills it in).
    addressed_by_edit_ids: list[str] = Field(default_factory=list)


class LearningPlan(_Model):
    """The teacher's frozen list of edits for a session."""

    session_id: str = ""
    diagnosis_summary: str = ""
    failure_clusters: list[FailureCluster] = Field(default_factory=list)
    edits: list[Edit] = Field(default_factory=list)
    #: The teacher's model id ("" for a plan no teacher wrote, e.g. one written by hand).
    teacher_model: str = ""
    estimated_cost_usd: float = Field(default=0.0, ge=0.0)
    created_at: datetime = Field(default_factory=utc_now)


class BenchmarkSnapshot(_Model):
    """A spec's score on a benchmark, overall and per failure cluster."""

    benchmark_version: str
    overall_score: float
    cluster_scores: dict[str, float] = Field(default_factory=dict)
    task_count: int = Field(default=0, ge=0)
    error_count: int = Field(default=0, ge=0)
    elapsed_seconds: float = Field(default=0.0, ge=0.0)


#: What a session record holds for "no benchmark run": OpenJarvis requires a snapshot.
UNMEASURED_SNAPSHOT: dict[str, Any] = {
    "benchmark_version": "",
    "overall_score": 0.0,
    "cluster_scores": {},
    "task_count": 0,
    "error_count": 0,
    "elapsed_seconds": 0.0,
}


class LearningSession(_Model):
    """A session's authoritative record.

    In memory, what a session does not have is ``None``. On the wire, OpenJarvis
    requires ``diagnosis_path``, ``plan_path``, ``benchmark_before`` and
    ``git_checkpoint_pre``, so they are always written: a missing path or checkpoint
    as ``""``, a missing snapshot as :data:`UNMEASURED_SNAPSHOT` (no version, no
    tasks). Reading maps those back to ``None``, so a record round-trips exactly.
    (``model_dump()`` in Python mode keeps ``None``; only JSON is the wire.)
    """

    id: str
    parent_session_id: str | None = None
    trigger: TriggerKind = TriggerKind.ON_DEMAND
    trigger_metadata: dict[str, Any] = Field(default_factory=dict)
    status: SessionStatus = SessionStatus.INITIATED
    autonomy_mode: AutonomyMode = AutonomyMode.TIERED
    started_at: datetime = Field(default_factory=utc_now)
    ended_at: datetime | None = None
    diagnosis_path: Path | None = None
    plan_path: Path | None = None
    benchmark_before: BenchmarkSnapshot | None = None
    benchmark_after: BenchmarkSnapshot | None = None
    edit_outcomes: list[EditOutcome] = Field(default_factory=list)
    error: str | None = None
    git_checkpoint_pre: str | None = None
    git_checkpoint_post: str | None = None
    teacher_cost_usd: float = Field(default=0.0, ge=0.0)

    @field_validator("diagnosis_path", "plan_path", "git_checkpoint_pre", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value == "" else value

    @field_validator("benchmark_before", mode="before")
    @classmethod
    def _unmeasured_is_none(cls, value: Any) -> Any:
        unmeasured = isinstance(value, dict) and value.get("benchmark_version") == ""
        return None if unmeasured and not value.get("task_count") else value

    @field_serializer("diagnosis_path", "plan_path", when_used="json")
    def _path_or_empty(self, value: Path | None) -> str:
        return "" if value is None else str(value)

    @field_serializer("git_checkpoint_pre", when_used="json")
    def _sha_or_empty(self, value: str | None) -> str:
        return "" if value is None else value

    @field_serializer("benchmark_before", when_used="json")
    def _snapshot_or_unmeasured(self, value: BenchmarkSnapshot | None) -> dict[str, Any]:
        return dict(UNMEASURED_SNAPSHOT) if value is None else value.model_dump(mode="json")
