"""Agent-pillar appliers that live in config.toml: ``[agent.<agent>]`` keys."""

from __future__ import annotations

from tomlkit.toml_document import TOMLDocument

from specdistill.appliers.base import FileEditApplier
from specdistill.appliers.routing import config_change
from specdistill.appliers.toml_doc import TableLike, find_table, set_value
from specdistill.changeset import FileChange
from specdistill.context import ApplyContext
from specdistill.errors import InvalidEdit
from specdistill.models import Edit, EditOp
from specdistill.payloads import (
    Payload,
    SetAgentClass,
    SetAgentParam,
    check_param_value,
    resolve_agent,
)

#: Keys that have their own ops (and tiers): set_agent_param may not reach them,
#: or a review-tier change could pass as an auto-tier one.
RESERVED_AGENT_KEYS = {"class": "set_agent_class", "tools": "add/remove_tool_to_agent"}


def agent_names(doc: TOMLDocument) -> list[str]:
    agents = find_table(doc, ("agent",))
    return sorted(agents.keys()) if agents is not None else []


def agent_table(doc: TOMLDocument, agent: str, edit: Edit, field: str) -> TableLike:
    """``[agent.<agent>]``, or a validation error naming the unknown agent."""
    table = find_table(doc, ("agent", agent))
    if table is None:
        known = ", ".join(agent_names(doc)) or "none"
        raise InvalidEdit(
            f"unknown agent {agent!r} (config.toml declares: {known})",
            edit_id=edit.id,
            field=field,
        )
    return table


class SetAgentClassApplier(FileEditApplier):
    """``[agent.<agent>] class = "<new_class>"``."""

    op = EditOp.SET_AGENT_CLASS

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, SetAgentClass)
        agent = resolve_agent(edit, payload.agent)

        def mutate(doc: TOMLDocument) -> None:
            field = "payload.agent" if payload.agent else "target"
            table = agent_table(doc, agent, edit, field)
            set_value(
                table, "class", payload.new_class, label=f"agent.{agent}.class", edit_id=edit.id
            )

        return config_change(ctx, edit, mutate)


class SetAgentParamApplier(FileEditApplier):
    """``[agent.<agent>] <param> = <value>``, range-checked for well-known params."""

    op = EditOp.SET_AGENT_PARAM

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, SetAgentParam)
        if payload.param in RESERVED_AGENT_KEYS:
            raise InvalidEdit(
                f"{payload.param!r} is changed by {RESERVED_AGENT_KEYS[payload.param]}, "
                "not set_agent_param",
                edit_id=edit.id,
                field="payload.param",
            )
        problem = check_param_value(payload.param, payload.value)
        if problem:
            raise InvalidEdit(problem, edit_id=edit.id, field="payload.value")

        def mutate(doc: TOMLDocument) -> None:
            table = agent_table(doc, payload.agent, edit, "payload.agent")
            set_value(
                table,
                payload.param,
                payload.value,
                label=f"agent.{payload.agent}.{payload.param}",
                edit_id=edit.id,
            )

        return config_change(ctx, edit, mutate)
