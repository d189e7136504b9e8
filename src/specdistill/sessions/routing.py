"""Each edit's tier and route, frozen when execute routes it: ``routing.json``.

The execute loop re-assigns every edit's tier (the default table plus the home's
``[specdistill.tier_overrides]``) and routes it by that tier and the session's autonomy
mode. A session records that routing in ``routing.json``, beside its frozen
``plan.json``, as each edit's outcome is recorded (:func:`save_routing`). ``show``,
the reports and ``review`` read it back (:func:`load_routing`) and never re-derive it
from today's config, which may have changed since (an override edited afterwards does
not rewrite history).

A session recorded before ``routing.json`` existed has no record: its tiers are then
re-derived from today's config, as they always were, and :attr:`SessionRouting.recorded`
is False so a view can say so. (The tier in such a session's ``plan.json`` is the
plan's claim, which the execute loop overrode, so it is no better a guess.)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, ValidationError

from specdistill.context import ApplyContext
from specdistill.errors import ConfigError
from specdistill.execute import GATE_STOPPED, INTERRUPTED_REASON, route_edit
from specdistill.models import (
    AutonomyMode,
    Edit,
    EditOp,
    EditOutcome,
    EditRiskTier,
    LearningPlan,
    LearningSession,
)
from specdistill.sessions.store import CorruptSessionData, SessionStore
from specdistill.tiers import assign_tiers

ROUTING_FILE = "routing.json"


class Route(StrEnum):
    """Which way the execute loop sent an edit."""

    GATE = "gate"  # validated, applied and judged by the gate
    APPLY = "apply"  # validated and applied, with the gate off
    REVIEW = "review"  # queued for a person (review tier, or manual autonomy)
    SKIP = "skip"  # never applied by specdistill (manual tier, or no applier)
    NOT_ATTEMPTED = "not_attempted"  # the run stopped (Ctrl-C) before it


class RoutedEdit(BaseModel):
    """One edit as it was routed: its op, the tier it was given, the way it went."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    edit_id: str
    op: EditOp
    tier: EditRiskTier
    route: Route

    @classmethod
    def of(
        cls, edit: Edit, outcome: EditOutcome, *, autonomy_mode: AutonomyMode, gated: bool
    ) -> RoutedEdit:
        """The routing of ``edit`` as execute just routed it (``edit`` carries our tier)."""
        return cls(
            edit_id=edit.id,
            op=edit.op,
            tier=edit.risk_tier,
            route=route_taken(edit, outcome, autonomy_mode=autonomy_mode, gated=gated),
        )


class RoutingRecord(BaseModel):
    """The content of ``routing.json``: the session's edits in the order they were routed."""

    model_config = ConfigDict(extra="forbid")

    edits: list[RoutedEdit] = []


def route_taken(
    edit: Edit, outcome: EditOutcome, *, autonomy_mode: AutonomyMode, gated: bool
) -> Route:
    """The way execute sent ``edit``: its first decisions (:func:`~specdistill.execute.
    route_edit`, pure) replayed on the tier it was given, plus what its outcome says."""
    if outcome.error == INTERRUPTED_REASON:
        return Route.NOT_ATTEMPTED
    stopped = route_edit(edit, autonomy_mode, supported=True)
    if stopped is not None:
        return Route.REVIEW if stopped.status == "pending_review" else Route.SKIP
    # Past the tier checks only two things skip an edit: no applier for its op, or a
    # Ctrl-C while the gate judged it (it was on its way through the gate).
    if outcome.status == "skipped" and outcome.error != GATE_STOPPED:
        return Route.SKIP
    return Route.GATE if gated else Route.APPLY


def save_routing(store: SessionStore, session_id: str, routed: list[RoutedEdit]) -> None:
    """Write ``routing.json`` (atomically; entries are only ever appended)."""
    data = RoutingRecord(edits=routed).model_dump_json(indent=2).encode() + b"\n"
    store.write_file(session_id, ROUTING_FILE, data)


def read_routing(store: SessionStore, session_id: str) -> RoutingRecord | None:
    """The session's ``routing.json``, or None when it has none (an older session)."""
    path = store.session_dir(session_id) / ROUTING_FILE
    try:
        return RoutingRecord.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except ValidationError as exc:
        raise CorruptSessionData(
            f"session {session_id}: {path} is corrupt ({exc.error_count()} problems)",
            hint=f"delete {path}: the session's tiers are then re-derived from today's config",
        ) from None


@dataclass(frozen=True)
class SessionRouting:
    """A session's plan with the tier each edit was routed with, and its route.

    ``edits`` maps edit id to the plan's edit carrying the recorded tier; ``routes``
    holds the recorded routes. ``recorded`` is False when some routed edit (one with an
    outcome) has no record, so its tier was re-derived from today's config.
    """

    edits: dict[str, Edit]
    routes: dict[str, Route] = field(default_factory=dict)
    recorded: bool = True


def load_routing(
    store: SessionStore, session: LearningSession, plan: LearningPlan
) -> SessionRouting:
    """The routing of ``plan``'s edits in ``session``, as recorded; edits without a
    record get the tier today's config gives them (``recorded`` says if any did)."""
    edits, frozen = _routed(store, session.id, plan)
    recorded = all(o.edit_id in frozen for o in session.edit_outcomes)
    routes = {edit_id: r.route for edit_id, r in frozen.items()}
    return SessionRouting(edits, routes, recorded)


def routed_edits(
    plan: LearningPlan, store: SessionStore, session_id: str | None = None
) -> dict[str, Edit]:
    """``plan``'s edits, each with the tier it was routed with in session ``session_id``
    (default: the plan's own ``session_id``); see :func:`load_routing`."""
    return _routed(store, session_id if session_id is not None else plan.session_id, plan)[0]


def _routed(
    store: SessionStore, session_id: str, plan: LearningPlan
) -> tuple[dict[str, Edit], dict[str, RoutedEdit]]:
    record = read_routing(store, session_id) if session_id else None
    frozen = {r.edit_id: r for r in record.edits} if record else {}
    unrecorded = [edit for edit in plan.edits if edit.id not in frozen]
    derived = {edit.id: edit for edit in assign_tiers(unrecorded, _today_overrides(store))}
    edits: dict[str, Edit] = {}
    for edit in plan.edits:
        routed = frozen.get(edit.id)
        if routed is None:
            edits[edit.id] = derived[edit.id]
        elif edit.risk_tier != routed.tier:
            edits[edit.id] = edit.model_copy(update={"risk_tier": routed.tier})
        else:
            edits[edit.id] = edit
    return edits, frozen


def _today_overrides(store: SessionStore) -> dict[EditOp, EditRiskTier]:
    """Today's tier overrides; the defaults when config.toml is unreadable (a report must
    still be writable then)."""
    try:
        return ApplyContext(home=store.home.root).tier_overrides()
    except ConfigError:
        return {}


__all__ = [
    "ROUTING_FILE",
    "Route",
    "RoutedEdit",
    "RoutingRecord",
    "SessionRouting",
    "load_routing",
    "read_routing",
    "route_taken",
    "routed_edits",
    "save_routing",
]
