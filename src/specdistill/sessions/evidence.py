"""What each edit changed and what the gate saw, recorded as the session runs: ``evidence.json``.

``session.json`` keeps each edit's outcome; the reports need more to let a person judge
it, and that is only known while the session runs, so it is recorded then, beside
``routing.json``:

* the **diff** of the edit, as unified text: for a gated edit, the spec files of the
  baseline against the candidate (what the gate judged, kept or undone); for an edit
  applied without the gate, its change set; for a queued edit, its preview against the
  spec it was queued on. Cut to :data:`MAX_DIFF_CHARS`.
* the gate's **verdict**: accept, reject or inconclusive, its plain-word sentences, and the
  estimate with its confidence sequence on every cluster (the target, each other
  cluster, their pool), so a harmful edit and a neutral one look different.
* a few tasks that **flipped** (question, answers before and after), scrubbed of
  secrets (the teacher's scrubber) and cut.
* the session's **overall change** with an interval (paired per task, before vs after).
* a person's **review** of a queued edit: an approval appends the edit's new record (the
  diff the approval's gate run judged, its verdict, estimates and flips) marked
  ``review = "approved"``; a rejection appends the queue-time record marked
  ``review = "rejected"`` with the reason. The newest record of an edit is the one shown.

The record is plain data; the reports read it through
:mod:`specdistill.sessions.report_facts`. Sessions recorded before it existed have none:
the reports then say that the evidence was not recorded.
"""

from __future__ import annotations

import difflib
import functools
import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import BaseModel, ConfigDict, ValidationError

from specdistill.gate.decision import ClusterEstimate
from specdistill.gate.driver import Flip, GateVerdict
from specdistill.home import SPEC_PATHS, SpecHome
from specdistill.sessions.store import CorruptSessionData, SessionStore
from specdistill.teacher.share import Scrubber

if TYPE_CHECKING:
    from specdistill.execute import EditGate
    from specdistill.models import Edit

EVIDENCE_FILE = "evidence.json"
#: Characters of a diff kept in the record (a longer one is cut, and says so).
MAX_DIFF_CHARS = 20_000
#: Characters kept of a flipped task's question and each of its answers.
MAX_FLIP_CHARS = 400
#: The normal quantile of the overall change's interval (95%).
Z95 = 1.959964


class ClusterEvidence(BaseModel):
    """The gate's estimate on one cluster: mean paired delta and its confidence sequence."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cluster: str
    role: str  # target | off_target | pooled
    n: int
    errors: int = 0
    mean_delta: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    level: float = 0.95
    wins: int = 0
    losses: int = 0
    unchanged: int = 0
    affected: bool = True


class FlipEvidence(BaseModel):
    """A task whose score moved: the question and both answers (scrubbed, cut)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    task_id: str
    cluster: str
    question: str
    before_score: float
    after_score: float
    before_answer: str | None = None
    after_answer: str | None = None


class EditEvidence(BaseModel):
    """One edit's diff and, when gated, the gate's verdict, estimates and flipped tasks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    edit_id: str
    diff: str = ""
    diff_truncated: bool = False
    #: Where the diff comes from: "gate" (baseline vs candidate), "applied" (the change
    #: set), "preview" (against the spec it was queued on), or "" (none).
    diff_source: str = ""
    verdict: str | None = None
    sentences: list[str] = []
    clusters: list[ClusterEvidence] = []
    runs_used: int | None = None
    flips: list[FlipEvidence] = []
    #: A person's decision on a queued edit: "approved" (this record is the approval's
    #: gate run) or "rejected" (``review_note`` is the reason); None before any review.
    review: str | None = None
    review_note: str | None = None

    @property
    def pooled(self) -> ClusterEvidence | None:
        return next((c for c in self.clusters if c.role == "pooled"), None)


class OverallChange(BaseModel):
    """The session's overall change (after - before) with a normal interval over tasks."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    delta: float
    ci_low: float | None
    ci_high: float | None
    n: int
    level: float = 0.95


class EvidenceRecord(BaseModel):
    """The content of ``evidence.json``."""

    model_config = ConfigDict(extra="forbid")

    edits: list[EditEvidence] = []
    overall: OverallChange | None = None

    def for_edit(self, edit_id: str) -> EditEvidence | None:
        return next((e for e in reversed(self.edits) if e.edit_id == edit_id), None)


# -- building the record (pure) ----------------------------------------------------------


def cut_diff(diff: str) -> tuple[str, bool]:
    """``diff`` cut to :data:`MAX_DIFF_CHARS` at a line end; (text, was it cut)."""
    if len(diff) <= MAX_DIFF_CHARS:
        return diff, False
    head = diff[:MAX_DIFF_CHARS]
    return head[: head.rfind("\n") + 1], True


def cluster_evidence(estimate: ClusterEstimate) -> ClusterEvidence:
    """A gate :class:`~specdistill.gate.decision.ClusterEstimate` as plain data (NaN → None)."""

    def num(value: float | None) -> float | None:
        return None if value is None or math.isnan(value) else float(value)

    return ClusterEvidence(
        cluster=estimate.cluster,
        role=estimate.role,
        n=estimate.n,
        errors=estimate.errors,
        mean_delta=num(estimate.mean_delta),
        ci_low=num(estimate.ci_low),
        ci_high=num(estimate.ci_high),
        level=estimate.level,
        wins=estimate.wins,
        losses=estimate.losses,
        unchanged=estimate.unchanged,
        affected=estimate.affected,
    )


def edit_evidence(
    edit_id: str, diff: str, source: str, verdict: GateVerdict | None
) -> EditEvidence:
    """One edit's record: its diff (cut) and, when gated, what the gate saw."""
    text, cut = cut_diff(diff)
    if verdict is None:
        return EditEvidence(edit_id=edit_id, diff=text, diff_truncated=cut, diff_source=source)
    decision = verdict.decision
    clusters: list[ClusterEvidence] = []
    if decision is not None:
        clusters = [cluster_evidence(c) for c in decision.clusters]
        if decision.pooled is not None:
            clusters.append(cluster_evidence(decision.pooled))
    return EditEvidence(
        edit_id=edit_id,
        diff=text,
        diff_truncated=cut,
        diff_source=source,
        verdict=verdict.outcome,
        sentences=list(decision.sentences) if decision is not None else [verdict.reason],
        clusters=clusters,
        runs_used=verdict.runs_used,
        flips=flip_evidence(verdict.flips),
    )


def paired_change(
    before: Mapping[str, float], after: Mapping[str, float], delta: float
) -> OverallChange | None:
    """The overall change ``delta`` with a 95% normal interval from the per-task paired
    differences (tasks scored on both sides); no interval with fewer than 2 such tasks."""
    ds = [after[t] - before[t] for t in before if t in after]
    n = len(ds)
    if n == 0:
        return None
    if n < 2:
        return OverallChange(delta=delta, ci_low=None, ci_high=None, n=n)
    mean = sum(ds) / n
    sd = math.sqrt(sum((d - mean) ** 2 for d in ds) / (n - 1))
    half = Z95 * sd / math.sqrt(n)
    return OverallChange(delta=delta, ci_low=delta - half, ci_high=delta + half, n=n)


def spec_diff(before: Path, after: Path) -> str:
    """Unified diff of the spec files (config.toml, agents/, tools/) of two homes."""

    def files(root: Path) -> dict[str, bytes]:
        found: dict[str, bytes] = {}
        for name in SPEC_PATHS:
            path = root / name
            if path.is_file():
                found[name] = path.read_bytes()
            elif path.is_dir():
                for child in sorted(path.rglob("*")):
                    if child.is_file():
                        found[child.relative_to(root).as_posix()] = child.read_bytes()
        return found

    a, b = files(before), files(after)
    parts = []
    for name in sorted(a.keys() | b.keys()):
        old, new = a.get(name), b.get(name)
        if old == new:
            continue
        lines = difflib.unified_diff(
            (old or b"").decode("utf-8", errors="replace").splitlines(keepends=True),
            (new or b"").decode("utf-8", errors="replace").splitlines(keepends=True),
            fromfile=f"a/{name}" if old is not None else "/dev/null",
            tofile=f"b/{name}" if new is not None else "/dev/null",
        )
        parts.append("".join(x if x.endswith("\n") else x + "\n" for x in lines))
    return "".join(parts)


@functools.cache
def _scrubber() -> Scrubber:
    return Scrubber.build()


def scrub(text: str | None) -> str | None:
    """Secrets out (the teacher's scrubber, default patterns), then cut."""
    if text is None:
        return None
    clean = _scrubber().scrub(text)
    return clean if len(clean) <= MAX_FLIP_CHARS else clean[:MAX_FLIP_CHARS] + "…"


def flip_evidence(flips: Sequence[Flip]) -> list[FlipEvidence]:
    """The gate's sample of flipped tasks, scrubbed."""
    return [
        FlipEvidence(
            task_id=f.task_id,
            cluster=f.cluster,
            question=scrub(f.question) or "",
            before_score=f.baseline_score,
            after_score=f.candidate_score,
            before_answer=scrub(f.baseline_answer),
            after_answer=scrub(f.candidate_answer),
        )
        for f in flips
    ]


class RecordingGate:
    """A gate that keeps, per edit, the diff it judged (baseline vs candidate spec files)
    and its verdict, so an approval can record what its gate run saw."""

    def __init__(self, gate: EditGate) -> None:
        self._gate = gate
        self.verdicts: dict[str, GateVerdict] = {}
        self.diffs: dict[str, str] = {}

    def evaluate(
        self,
        edit: Edit,
        *,
        baseline: SpecHome,
        candidate: SpecHome,
        should_stop: Callable[[], bool] | None = None,
    ) -> GateVerdict:
        self.diffs[edit.id] = spec_diff(baseline.root, candidate.root)
        verdict = self._gate.evaluate(
            edit, baseline=baseline, candidate=candidate, should_stop=should_stop
        )
        self.verdicts[edit.id] = verdict
        return verdict

    def evidence(self, edit_id: str, *, fallback_diff: str = "") -> EditEvidence:
        """The approval's record of ``edit_id``: the gate's diff and verdict (the diff of
        ``fallback_diff`` when the gate never saw the edit, e.g. it failed to apply)."""
        diff = self.diffs.get(edit_id)
        source = "gate" if diff is not None else ("preview" if fallback_diff else "")
        record = edit_evidence(
            edit_id, fallback_diff if diff is None else diff, source, self.verdicts.get(edit_id)
        )
        return record.model_copy(update={"review": "approved"})


def rejected_evidence(previous: EditEvidence | None, edit_id: str, reason: str) -> EditEvidence:
    """The record of a rejected queued edit: what it was queued with, plus the reason."""
    base = previous if previous is not None else EditEvidence(edit_id=edit_id)
    return base.model_copy(update={"review": "rejected", "review_note": reason})


# -- the file -------------------------------------------------------------------------------


def save_evidence(store: SessionStore, session_id: str, record: EvidenceRecord) -> None:
    """Write ``evidence.json`` atomically."""
    data = record.model_dump_json(indent=2).encode() + b"\n"
    store.write_file(session_id, EVIDENCE_FILE, data)


def read_evidence(store: SessionStore, session_id: str) -> EvidenceRecord | None:
    """The session's ``evidence.json``, or None when it has none (an older session)."""
    path = store.session_dir(session_id) / EVIDENCE_FILE
    try:
        return EvidenceRecord.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValidationError as exc:
        raise CorruptSessionData(
            f"session {session_id}: {path} is corrupt ({exc.error_count()} problems)",
            hint=f"delete {path}: the reports then show no diffs or per-cluster evidence",
        ) from None


__all__ = [
    "EVIDENCE_FILE",
    "ClusterEvidence",
    "EditEvidence",
    "EvidenceRecord",
    "FlipEvidence",
    "OverallChange",
    "RecordingGate",
    "cluster_evidence",
    "cut_diff",
    "edit_evidence",
    "flip_evidence",
    "paired_change",
    "read_evidence",
    "rejected_evidence",
    "save_evidence",
    "scrub",
    "spec_diff",
]
