"""The plan screen: every edit of a plan checked against the home and the benchmark
before anything runs. ``run``, ``apply``, ``approve`` and the teacher call it.

For each edit, in plan order, the first failed check refuses it with an
:class:`~specdistill.errors.InvalidEdit` naming the edit and the field (the allowed
values in the message):

1. ``pillar`` is the op's pillar (the allowed values are the three pillars);
2. the payload matches its op (:func:`~specdistill.payloads.parse_payload`);
3. ``expected_improvement`` names a cluster of the benchmark, when there is one (the
   gate measures the edit there: anything else could never be accepted). OpenJarvis's
   planner writes a *failure cluster's* id there (``"c1"``); such an edit is measured on
   the benchmark cluster :func:`resolve_cluster` finds for it, recorded in the edit's
   ``benchmark_cluster`` (``expected_improvement`` stays as written);
4. an edit that may name its agent and names none (no ``payload.agent``, no
   ``agents.<agent>.…`` target) gets the home's only agent, written into its payload;
   in a home with several agents it is refused, listing them;
5. the op's own applier validates it (:meth:`EditApplier.validate`: agents, tools,
   ranges, patches; the one source of truth), on a scratch copy of the spec that the
   earlier edits of the plan were applied to, so a plan whose edits build on each
   other passes, and a ``patch_system_prompt`` is checked against the prompt as the
   plan leaves it. Edits the execute loop would skip (manual tier, no applier) are not
   validated: they never apply;
6. a ``set_model_param`` or ``set_agent_param`` value reaches the student on at least one
   benchmark task (:class:`Reach`): the student sends the param (the ``openai`` student
   sends only :data:`~specdistill.evaluation.students.OPENAI_PARAMS`), and after the edit
   some task's view carries the edited value. Agent params win over model params (the
   more specific setting), so a model param every agent using the model sets itself
   never reaches the student, and is refused with that reason.

Nothing here writes to the home: the scratch copy is a temporary directory, removed on
exit. :func:`screen_plan` refuses a plan at its first bad edit; the teacher uses
:class:`PlanScreen` edit by edit and drops the bad ones instead.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections import Counter
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

from specdistill.appliers.agent import known_agents
from specdistill.appliers.registry import EditApplierRegistry, default_registry
from specdistill.appliers.toml_doc import parse_document
from specdistill.context import ApplyContext
from specdistill.errors import InvalidEdit, SpecdistillError
from specdistill.evaluation.errors import EvaluationConfigError
from specdistill.evaluation.spec_view import SpecFiles, StudentSpec
from specdistill.evaluation.students import OPENAI_PARAMS
from specdistill.execute import route_edit
from specdistill.fsio import read_bytes_or_none
from specdistill.home import SpecHome, copy_spec
from specdistill.models import (
    AutonomyMode,
    Edit,
    EditOp,
    EditPillar,
    EditRiskTier,
    FailureCluster,
    LearningPlan,
)
from specdistill.payloads import DECLARED, AgentRef, parse_payload
from specdistill.tiers import PILLARS, assign_tiers

#: The ops whose value must reach the student (check 6), and where the value goes.
PARAM_OPS = (EditOp.SET_MODEL_PARAM, EditOp.SET_AGENT_PARAM)
#: Where the docs explain which params reach a student and which value wins.
PARAMS_DOC = "docs/your-agent.md#what-your-agent-receives"
#: Trace ids -> the query class of each one found (the I/O edge of check 3).
TraceLookup = Callable[[Sequence[str]], Mapping[str, str | None]]


@dataclass(frozen=True)
class Reach:
    """What decides whether a param edit reaches the student: the params the student
    sends (None: all of them; a command or python agent gets every param) and the
    (query class, agent) of each benchmark task."""

    student: str = "command"
    sent: frozenset[str] | None = None
    tasks: tuple[tuple[str | None, str | None], ...] = ()

    @classmethod
    def of(cls, student: Any, tasks: Iterable[Any] = ()) -> Reach:
        """For a student (its ``kind``) and benchmark tasks (their ``query_class``, ``agent``)."""
        kind = str(getattr(student, "kind", "command"))
        sent = frozenset(OPENAI_PARAMS) if kind == "openai" else None
        keys = dict.fromkeys((t.query_class, t.agent) for t in tasks)
        return cls(kind, sent, tuple(keys))


@dataclass
class PlanScreen:
    """Checks edits one by one against ``home`` (see the module docstring); use as a
    context manager (the scratch copy is removed on exit).

    ``clusters``: the benchmark's clusters (None: no benchmark, check 3 is skipped).
    ``reach``: the student and tasks for check 6 (None: skipped).
    ``failure_clusters`` and ``trace_classes`` (trace id -> query class): what check 3
    resolves a failure-cluster id with (:func:`resolve_cluster`).
    """

    home: SpecHome
    clusters: Collection[str] | None = None
    reach: Reach | None = None
    mode: AutonomyMode = AutonomyMode.TIERED
    registry: EditApplierRegistry | None = None
    overrides: Mapping[EditOp, EditRiskTier] | None = None
    failure_clusters: Sequence[FailureCluster] = ()
    trace_classes: Mapping[str, str | None] | None = None
    _scratch: Path | None = field(default=None, init=False, repr=False)
    _ctx: ApplyContext | None = field(default=None, init=False, repr=False)

    def __enter__(self) -> PlanScreen:
        self._scratch = Path(tempfile.mkdtemp(prefix="specdistill-screen-"))
        (self._scratch / "home").mkdir()
        copy_spec(self.home, self._scratch / "home")
        self._ctx = ApplyContext(home=self._scratch / "home")
        if self.overrides is None:
            self.overrides = ApplyContext(home=self.home.root).tier_overrides()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        value: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._scratch is not None:
            shutil.rmtree(self._scratch, ignore_errors=True)
            self._scratch = None

    def check(self, edit: Edit) -> Edit:
        """The edit as it will run (its agent filled in), or InvalidEdit; a passing edit
        is applied to the scratch copy, so the next edit sees the spec it will see."""
        if self._ctx is None:
            raise RuntimeError("use PlanScreen as a context manager")
        ctx = self._ctx
        _check_pillar(edit)
        payload = parse_payload(edit)
        if self.clusters is not None:
            edit = resolve_cluster(
                edit, self.clusters, self.failure_clusters, self.trace_classes or {}
            )
        edit = _with_agent(edit, getattr(payload, "agent", None), ctx)
        if not self.registry:  # once per plan: loading plug-ins scans every package
            self.registry = default_registry()
        registry = self.registry
        [tiered] = assign_tiers([edit], self.overrides)
        routed = route_edit(tiered, self.mode, registry.is_supported(edit.op))
        never = tiered.risk_tier is EditRiskTier.MANUAL  # never applied, even approved
        if never or (routed is not None and routed.status == "skipped"):
            return edit  # it never applies, so there is nothing to validate
        applier = registry.get(edit.op)
        result = applier.validate(edit, ctx)
        if not result.ok:
            reason = result.reason or "refused by its applier"
            reason = reason.removeprefix(f"field {result.field!r}: ")
            raise InvalidEdit(reason, edit_id=edit.id, field=result.field)
        try:
            applier.apply(edit, ctx)
        except SpecdistillError as exc:
            raise InvalidEdit(exc.message, edit_id=edit.id) from None
        if self.reach is not None and edit.op in PARAM_OPS:
            _check_reach(edit, payload, ctx.spec_home, self.reach)
        return edit


def screen_plan(
    plan: LearningPlan,
    home: str | os.PathLike[str] | SpecHome,
    *,
    clusters: Collection[str] | None = None,
    reach: Reach | None = None,
    mode: AutonomyMode | str = AutonomyMode.TIERED,
    registry: EditApplierRegistry | None = None,
    traces: TraceLookup | None = None,
) -> LearningPlan:
    """``plan`` with every edit checked (module docstring), agents filled in and
    failure-cluster ids resolved to benchmark clusters (``traces`` gives the query
    classes of the sample traces :func:`traces_to_resolve` names; called only when
    there are some); the first bad edit raises InvalidEdit (exit 2 at the CLI) and
    nothing has been written."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    wanted = traces_to_resolve(plan, clusters)
    trace_classes = traces(wanted) if wanted and traces is not None else {}
    with PlanScreen(
        spec_home,
        clusters=clusters,
        reach=reach,
        mode=AutonomyMode(mode),
        registry=registry,
        failure_clusters=plan.failure_clusters,
        trace_classes=trace_classes,
    ) as screen:
        edits = [screen.check(edit) for edit in plan.edits]
    return plan.model_copy(update={"edits": edits})


# -- the checks ---------------------------------------------------------------------------


def _check_pillar(edit: Edit) -> None:
    pillar = PILLARS[edit.op]
    if edit.pillar is not pillar:
        allowed = ", ".join(p.value for p in EditPillar)
        raise InvalidEdit(
            f"op {edit.op.value} belongs to pillar {pillar.value!r}, not "
            f"{edit.pillar.value!r} (pillars: {allowed})",
            edit_id=edit.id,
            field="pillar",
        )


#: At most this many sample trace ids are named in a refusal.
_SHOWN_SAMPLES = 5


def traces_to_resolve(plan: LearningPlan, clusters: Collection[str] | None) -> list[str]:
    """The sample trace ids :func:`resolve_cluster` needs the query classes of: those of
    each failure cluster an edit names in ``expected_improvement`` that is not a
    benchmark cluster (none without a benchmark), so a caller reads no traces otherwise."""
    if clusters is None:
        return []
    named = {e.expected_improvement for e in plan.edits if not e.benchmark_cluster}
    named -= set(clusters)
    ids = (t for c in plan.failure_clusters if c.id in named for t in c.sample_trace_ids)
    return list(dict.fromkeys(ids))


def _names(text: str, cluster: str) -> bool:
    """Whether ``text`` names ``cluster`` as a word (case-insensitive)."""
    return re.search(rf"(?<![\w-]){re.escape(cluster)}(?![\w-])", text, re.IGNORECASE) is not None


def resolve_cluster(
    edit: Edit,
    clusters: Collection[str],
    failure_clusters: Sequence[FailureCluster] = (),
    trace_classes: Mapping[str, str | None] | None = None,
) -> Edit:
    """Check 3: ``edit`` with the benchmark cluster the gate measures it on, or InvalidEdit.

    ``expected_improvement`` naming a benchmark cluster is that cluster. OpenJarvis's
    planner writes the id of one of the plan's ``failure_clusters`` there instead; it
    resolves to the query class of the strict majority of that failure cluster's
    ``sample_trace_ids`` (``trace_classes``: trace id -> query class, as the trace
    readers give it, derived from the query for an OpenJarvis ``traces.db``), when that
    class is a benchmark cluster; else to the one benchmark cluster the failure
    cluster's id or description names as a word. The result goes into
    ``benchmark_cluster``; anything else is refused, saying what was tried.
    """
    known = ", ".join(clusters) or "none"
    where = f"(the gate measures the edit there; clusters: {known})"
    if edit.benchmark_cluster:
        if edit.benchmark_cluster in clusters:
            return edit
        raise InvalidEdit(
            f"{edit.benchmark_cluster!r} is not a cluster of the benchmark {where}",
            edit_id=edit.id,
            field="benchmark_cluster",
        )
    wanted = edit.expected_improvement
    if wanted in clusters:
        return edit
    if not wanted:
        raise InvalidEdit(
            f"is empty: name the benchmark cluster this edit should improve {where}",
            edit_id=edit.id,
            field="expected_improvement",
        )
    failure = next((c for c in failure_clusters if c.id == wanted), None)
    if failure is None:
        raise InvalidEdit(
            f"{wanted!r} is not a cluster of the benchmark {where}",
            edit_id=edit.id,
            field="expected_improvement",
        )
    classes = trace_classes or {}
    samples = failure.sample_trace_ids
    counts = Counter(classes.get(t) or "(not found)" for t in samples)
    top, votes = counts.most_common(1)[0] if counts else ("", 0)
    if top in clusters and votes * 2 > len(samples):
        return edit.model_copy(update={"benchmark_cluster": top})
    named = [c for c in clusters if _names(failure.id, c) or _names(failure.description, c)]
    if len(named) == 1:
        return edit.model_copy(update={"benchmark_cluster": named[0]})
    shown = ", ".join(t[:60] for t in samples[:_SHOWN_SAMPLES])
    more = f" and {len(samples) - _SHOWN_SAMPLES} more" if len(samples) > _SHOWN_SAMPLES else ""
    found = ", ".join(f"{c[:40]} x{n}" for c, n in counts.most_common()) or "none"
    tried = (
        f"its sample traces {shown}{more} have query classes {found}, no majority among the "
        "benchmark's clusters"
        if samples
        else "it lists no sample traces"
    )
    said = "name several" if named else "name none"
    raise InvalidEdit(
        f"{wanted!r} is not a cluster of the benchmark, and as the plan's failure cluster "
        f"it resolves to none: {tried}, and its id and description {said} {where}",
        edit_id=edit.id,
        field="expected_improvement",
    )


def _with_agent(edit: Edit, payload_agent: str | None, ctx: ApplyContext) -> Edit:
    """Check 4: a missing agent in a one-agent home is that agent, written down."""
    if DECLARED[edit.op].agent is not AgentRef.PAYLOAD_OR_TARGET or payload_agent is not None:
        return edit
    if edit.target.split(".", 1)[0] == "agents":
        return edit  # the target names it; the applier checks it
    config = parse_document(
        read_bytes_or_none(ctx.spec_home.config_path), label="config.toml", edit_id=edit.id
    )
    agents = known_agents(config, ctx.spec_home)
    if len(agents) != 1:
        raise InvalidEdit(
            f"names no agent and the home has {len(agents)} (agents: "
            f"{', '.join(agents) or 'none'}): set payload.agent, or a target like "
            "'agents.<agent>.system_prompt'",
            edit_id=edit.id,
            field="payload.agent",
        )
    return edit.model_copy(update={"payload": {**edit.payload, "agent": agents[0]}})


def _views(home: SpecHome, reach: Reach) -> list[StudentSpec]:
    files = SpecFiles(home)
    views = []
    for query_class, agent in reach.tasks:
        try:
            views.append(files.view(query_class=query_class, agent=agent))
        except EvaluationConfigError:
            continue  # a task this spec cannot serve: the run reports it, not the screen
    return views


def _check_reach(edit: Edit, payload: Any, home: SpecHome, reach: Reach) -> None:
    """Check 6, on the scratch spec the edit was just applied to."""
    param, value = payload.param, payload.value
    if reach.sent is not None and param not in reach.sent:
        raise InvalidEdit(
            f"the {reach.student} student never sends {param!r}, so this value cannot "
            f"reach it (it sends: {', '.join(sorted(reach.sent))}; see {PARAMS_DOC})",
            edit_id=edit.id,
            field="payload.param",
        )
    if not reach.tasks:
        return
    views = _views(home, reach)
    if edit.op is EditOp.SET_MODEL_PARAM:
        mine = [v for v in views if v.model == payload.model]
        if not mine:
            used = ", ".join(sorted({v.model for v in views})) or "none"
            raise InvalidEdit(
                f"no benchmark task is served by model {payload.model!r} (models used: "
                f"{used}), so this value never reaches the student",
                edit_id=edit.id,
                field="payload.model",
            )
    else:
        mine = [v for v in views if v.agent == payload.agent]
        if not mine:
            raise InvalidEdit(
                f"no benchmark task is served by agent {payload.agent!r}, so this value "
                "never reaches the student",
                edit_id=edit.id,
                field="payload.agent",
            )
    if edit.op is EditOp.SET_AGENT_PARAM or any(v.params.get(param) == value for v in mine):
        return
    shadows = sorted({v.agent for v in mine})
    raise InvalidEdit(
        f"{param} = {value!r} on model {payload.model!r} never reaches the student: "
        f"agent(s) {', '.join(shadows)} set their own {param}, and an agent's param wins "
        f"over its model's (see {PARAMS_DOC}); edit it with set_agent_param, or remove "
        f"{param} from [agent.{shadows[0]}]",
        edit_id=edit.id,
        field="payload.param",
    )
