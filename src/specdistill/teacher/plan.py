"""Plan: the teacher's edits, each checked on its own; a bad one is dropped, never trimmed.

The teacher is asked for a plan as structured output (``response_format`` carries
:func:`specdistill.plan.plan_json_schema`). A reply that is not a JSON object with an
``edits`` array is retried once (:class:`~specdistill.teacher.client.TeacherClient`).
Then every edit goes through :func:`screen_edits`, in order, and is **dropped whole, with
the reason recorded**, at the first check it fails:

1. it is a JSON object that makes a valid :class:`~specdistill.models.Edit` (unknown keys
   refused; the teacher's ``pillar`` is replaced by the op's and an unknown ``risk_tier``
   ignored) whose payload matches its op (:func:`specdistill.payloads.parse_payload`);
2. its id is not used by an earlier edit of the plan (or of the hill-climb history);
3. it names no path outside the spec home: a ``target`` with ``..`` components or an
   absolute / home-relative path, a ``lora_finetune`` ``data_source`` like that, or an
   agent whose files resolve outside the home (symlinks included);
4. its ``expected_improvement`` is one of the diagnosed clusters (the gate measures it
   there, so anything else could never be accepted);
5. it does not repeat an earlier edit of the hill-climb history (same op, target, payload);
6. it passes the plan screen that ``run``, ``apply`` and ``approve`` use
   (:class:`specdistill.screen.PlanScreen`: pillar, its applier's own validation of
   agents, tools and ranges on the spec *as the plan leaves it*, so a
   ``patch_system_prompt`` must apply cleanly after the plan's earlier prompt edits; a
   missing agent in a one-agent home becomes that agent; a param value that would never
   reach the student is refused) — *before* it counts against ``max_edits``, so a bad
   edit never pushes a good one out;
7. the plan holds fewer than ``max_edits`` edits so far.

A patch whose result rewrites more than half of the prompt becomes a
``replace_system_prompt`` carrying the full new text, so a reviewer sees the whole prompt;
its id is listed in ``converted``. The rewritten fraction is
``1 − (lines kept) / max(lines before, lines after)`` (difflib's matching lines).

Finally our tiers overwrite the teacher's (:func:`specdistill.tiers.assign_tiers`, with
the user's ``[specdistill.tier_overrides]``), the clusters attached are the measured ones
from the diagnosis (never the teacher's echo), and the plan is round-tripped through
:func:`specdistill.plan.parse_plan`, so what is frozen is what will load.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from specdistill.context import ApplyContext
from specdistill.diffpatch import PatchError, apply_unified_diff
from specdistill.errors import InvalidEdit, UnsafePath
from specdistill.evaluation.hashing import canonical_json
from specdistill.evaluation.spec_view import SpecFiles
from specdistill.home import SpecHome
from specdistill.models import (
    Edit,
    EditOp,
    EditPillar,
    EditRiskTier,
    FailureCluster,
    LearningPlan,
)
from specdistill.payloads import (
    AgentRef,
    Payload,
    SpecArea,
    ops_where,
    parse_payload,
    resolve_agent,
)
from specdistill.plan import parse_plan, plan_json_schema
from specdistill.screen import PlanScreen, Reach
from specdistill.teacher.client import InvalidReply, TeacherClient
from specdistill.teacher.prompts import render
from specdistill.teacher.records import Dropped
from specdistill.teacher.share import SharePolicy, spec_context
from specdistill.tiers import PILLARS, assign_tiers
from specdistill.validation import describe_validation_error

#: A patch rewriting more than this fraction of a prompt becomes a replace.
REWRITE_LIMIT = 0.5
#: ``..`` as a path component, an absolute or home-relative path, a drive letter, a NUL.
PATHLIKE = re.compile(r"(?:^|[/\\])\.\.(?:[/\\]|$)|^\s*[/\\~]|^[A-Za-z]:[/\\]|\x00")
#: The op sets below come from the op declarations (specdistill.payloads.DECLARATIONS).
PROMPT_OPS = ops_where(area=SpecArea.SYSTEM_PROMPT)
AGENT_FILE_OPS = ops_where(agent=AgentRef.PAYLOAD_OR_TARGET)  # agent from payload or target
AGENT_OPS = ops_where(agent=AgentRef.PAYLOAD)  # payload.agent required
TOOL_CATALOG_OPS = ops_where(area=SpecArea.TOOL_CATALOG)
TIERS = frozenset(tier.value for tier in EditRiskTier)


class _Drop(Exception):
    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


@dataclass(frozen=True)
class Screened:
    """Edits that passed every check (tiers assigned), the dropped ones, the converted ids."""

    edits: list[Edit]
    dropped: list[Dropped]
    converted: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class PlanResult:
    """A plan ready to freeze, and what was dropped or converted on the way."""

    plan: LearningPlan
    dropped: list[Dropped]
    converted: list[str]

    def as_json(self) -> dict[str, Any]:
        return {
            "plan": self.plan.model_dump(mode="json"),
            "dropped": [d.as_json() for d in self.dropped],
            "converted": list(self.converted),
        }


def rewrite_fraction(before: str, after: str) -> float:
    """How much of a prompt a change rewrote: 1 − kept lines / max(lines before, after)."""
    a, b = before.splitlines(), after.splitlines()
    if not a or not b:
        return 0.0 if a == b else 1.0
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    kept = sum(block.size for block in matcher.get_matching_blocks())
    return 1.0 - kept / max(len(a), len(b))


def _parse(raw: Any) -> tuple[Edit, Payload]:
    if not isinstance(raw, dict):
        raise _Drop(f"not a JSON object ({type(raw).__name__})")
    data = dict(raw)
    if data.get("risk_tier") not in TIERS:
        data.pop("risk_tier", None)
    op = data.get("op")
    if isinstance(op, str) and op in EditOp._value2member_map_:
        data["pillar"] = PILLARS[EditOp(op)].value
    try:
        edit = Edit.model_validate(data)
    except ValidationError as exc:
        where, reason = describe_validation_error(exc, prefix="")
        raise _Drop(f"field {where.lstrip('.') or 'edit'!r}: {reason}") from None
    try:
        return edit, parse_payload(edit)
    except InvalidEdit as exc:
        raise _Drop(f"field {exc.field!r}: {exc.reason}") from None


def path_problem(edit: Edit, payload: Payload, home: SpecHome) -> str | None:
    """Why ``edit`` names a path outside the home, or None (see the module docstring)."""
    if PATHLIKE.search(edit.target):
        return f"target {edit.target!r} names a path outside the spec home"
    source = getattr(payload, "data_source", None)
    if isinstance(source, str) and PATHLIKE.search(source):
        return f"payload.data_source {source!r} names a path outside the spec home"
    try:
        if edit.op in AGENT_FILE_OPS:
            agent = resolve_agent(edit, getattr(payload, "agent", None))
            home.system_prompt_path(agent)
            home.few_shot_path(agent)
        elif edit.op in AGENT_OPS:
            home.agent_dir(payload.agent)  # type: ignore[attr-defined]
        elif edit.op in TOOL_CATALOG_OPS:
            _ = home.tool_descriptions_path
        else:
            _ = home.config_path
    except InvalidEdit as exc:
        return f"field {exc.field!r}: {exc.reason}"
    except UnsafePath as exc:
        return f"{exc.message} (outside the spec home)"
    return None


def _signature(edit: Edit) -> str:
    return canonical_json([edit.op.value, edit.target, edit.payload])


class _Prompts:
    """The agents' system prompts as the plan so far leaves them."""

    def __init__(self, home: SpecHome) -> None:
        self.home = home
        self.texts: dict[str, str] = {}

    def get(self, agent: str) -> str:
        if agent not in self.texts:
            try:
                self.texts[agent] = self.home.system_prompt_path(agent).read_text("utf-8")
            except FileNotFoundError:
                self.texts[agent] = ""
            except UnicodeDecodeError:
                raise _Drop(f"agents/{agent}/system_prompt.md is not UTF-8 text") from None
        return self.texts[agent]


def _prompt_edit(edit: Edit, payload: Payload, prompts: _Prompts) -> tuple[Edit, bool]:
    """Track the prompt; a patch that rewrites more than half of it becomes a replace."""
    agent = resolve_agent(edit, getattr(payload, "agent", None))
    if edit.op is EditOp.REPLACE_SYSTEM_PROMPT:
        prompts.texts[agent] = payload.new_content  # type: ignore[attr-defined]
        return edit, False
    before = prompts.get(agent)
    try:
        after = apply_unified_diff(before, payload.diff)  # type: ignore[attr-defined]
    except PatchError as exc:
        raise _Drop(
            f"field 'payload.diff': patch does not apply to agents/{agent}/system_prompt.md: {exc}"
        ) from None
    prompts.texts[agent] = after
    fraction = rewrite_fraction(before, after)
    if fraction <= REWRITE_LIMIT:
        return edit, False
    note = (
        f"(The proposed patch rewrote {fraction:.0%} of the prompt, so it is shown whole as "
        "a replace_system_prompt.)"
    )
    replaced = Edit(
        id=edit.id,
        pillar=EditPillar.AGENT,
        op=EditOp.REPLACE_SYSTEM_PROMPT,
        target=edit.target,
        payload={"new_content": after, "agent": agent},
        rationale=f"{edit.rationale} {note}".strip(),
        expected_improvement=edit.expected_improvement,
        references=list(edit.references),
    )
    try:
        parse_payload(replaced)
    except InvalidEdit as exc:
        raise _Drop(f"the patched prompt is not a valid prompt: {exc.reason}") from None
    return replaced, True


def screen_edits(
    raw_edits: Sequence[Any],
    *,
    home: SpecHome | Path,
    clusters: Collection[str],
    max_edits: int,
    overrides: Mapping[EditOp, EditRiskTier] | None = None,
    history: Sequence[Edit] = (),
    reach: Reach | None = None,
) -> Screened:
    """Check each proposed edit on its own (module docstring); keep, convert or drop it.

    ``reach`` (the student and the benchmark's tasks) lets the plan screen refuse a param
    edit whose value would never reach the student."""
    home = home if isinstance(home, SpecHome) else SpecHome(home)
    used_ids = {edit.id: "an earlier edit" for edit in history}
    earlier = {_signature(edit): edit.id for edit in history}
    prompts = _Prompts(home)
    kept: list[Edit] = []
    dropped: list[Dropped] = []
    converted: list[str] = []
    known = ", ".join(clusters) or "none"
    with PlanScreen(home, reach=reach, overrides=overrides) as screen:
        for index, raw in enumerate(raw_edits):
            raw_id = raw.get("id") if isinstance(raw, dict) else None
            label = raw_id if isinstance(raw_id, str) and raw_id else f"#{index}"
            try:
                edit, payload = _parse(raw)
                if edit.id in used_ids:
                    raise _Drop(f"duplicate id: already used by {used_ids[edit.id]}")
                if (problem := path_problem(edit, payload, home)) is not None:
                    raise _Drop(problem)
                if edit.expected_improvement not in clusters:
                    raise _Drop(
                        f"expected_improvement {edit.expected_improvement!r} is not a diagnosed "
                        f"cluster (clusters: {known})"
                    )
                if (same := earlier.get(_signature(edit))) is not None:
                    raise _Drop(f"repeats earlier edit {same!r}")
                try:  # the plan screen run, apply and approve use; before max_edits counts
                    edit = screen.check(edit)
                except InvalidEdit as exc:
                    raise _Drop(exc.field_message) from None
                if len(kept) >= max_edits:
                    raise _Drop(f"over the limit of {max_edits} edits")
                if edit.op in PROMPT_OPS:
                    edit, was_converted = _prompt_edit(edit, parse_payload(edit), prompts)
                    if was_converted:
                        converted.append(edit.id)
            except _Drop as drop:
                dropped.append(Dropped("edit", label, drop.reason))
                continue
            used_ids[edit.id] = "another edit of this plan"
            kept.append(edit)
    return Screened(assign_tiers(kept, overrides), dropped, converted)


def _check_reply(data: Any) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InvalidReply(f"expected a JSON object, got {type(data).__name__}")
    if not isinstance(data.get("edits"), list):
        raise InvalidReply("the object needs an 'edits' array")
    return data


def cluster_brief(cluster: FailureCluster) -> dict[str, Any]:
    """A cluster as the teacher sees it in a plan prompt (trace ids never leave)."""
    return {
        "cluster": cluster.id,
        "description": cluster.description,
        "skill_gap": cluster.skill_gap,
        "student_failure_rate": cluster.student_failure_rate,
        "evidence_traces": len(cluster.sample_trace_ids),
    }


async def plan_edits(
    client: TeacherClient,
    *,
    home: SpecHome | Path,
    clusters: Sequence[FailureCluster],
    session_id: str = "",
    summary: str = "",
    policy: SharePolicy | None = None,
    max_edits: int = 8,
    overrides: Mapping[EditOp, EditRiskTier] | None = None,
    reach: Reach | None = None,
) -> PlanResult:
    """Ask the teacher for edits fixing ``clusters``; return the screened, tiered plan.

    With no cluster nothing is asked and the plan is empty. ``estimated_cost_usd`` is
    what the client's ledger has spent so far (diagnosis included when shared).
    """
    home = home if isinstance(home, SpecHome) else SpecHome(home)
    policy = policy or SharePolicy()
    if overrides is None:
        overrides = ApplyContext(home=home.root).tier_overrides()
    screened = Screened([], [])
    reply: dict[str, Any] = {}
    if clusters:
        reply = await client.complete_json(
            "plan",
            system=render("plan_system"),
            user=render(
                "plan_user",
                clusters=[cluster_brief(c) for c in clusters],
                max_edits=str(max_edits),
                spec=spec_context(SpecFiles(home), policy),
            ),
            check=_check_reply,
            schema=plan_json_schema(),
            schema_name="learning_plan",
        )
        screened = screen_edits(
            reply["edits"],
            home=home,
            clusters=[c.id for c in clusters],
            max_edits=max_edits,
            overrides=overrides,
            reach=reach,
        )
    teacher_summary = reply.get("diagnosis_summary")
    plan = LearningPlan(
        session_id=session_id,
        diagnosis_summary=summary or (teacher_summary if isinstance(teacher_summary, str) else ""),
        failure_clusters=list(clusters),
        edits=screened.edits,
        estimated_cost_usd=round(client.ledger.spent_usd, 6),
    )
    plan = parse_plan(json.loads(plan.model_dump_json()))  # what is frozen must load back
    return PlanResult(plan, screened.dropped, screened.converted)
