"""Agent-pillar appliers that live in config.toml: ``[agent.<agent>]`` keys."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tomlkit.toml_document import TOMLDocument

from specdistill.appliers.base import FileEditApplier
from specdistill.appliers.routing import config_change
from specdistill.appliers.toml_doc import TableLike, ensure_table, find_table, set_value
from specdistill.changeset import FileChange
from specdistill.context import ApplyContext
from specdistill.errors import InvalidEdit
from specdistill.home import AGENTS_DIR, NAME_PATTERN, SpecHome
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


def agent_names(doc: Mapping[str, Any]) -> list[str]:
    """The ``[agent.<name>]`` tables of a parsed config.toml (tomlkit's or tomllib's), not
    the scalar keys of ``[agent]`` such as OpenJarvis's ``default_agent``."""
    agents = doc.get("agent")
    if not isinstance(agents, Mapping):
        return []
    return sorted(key for key, value in agents.items() if isinstance(value, Mapping))


def known_agents(doc: Mapping[str, Any], home: SpecHome) -> list[str]:
    """Every agent the home knows: ``[agent.<name>]`` tables, ``agents/<name>/`` folders
    and OpenJarvis's ``[agent] default_agent`` (a fresh OpenJarvis home has the last two
    and no table)."""
    names = set(agent_names(doc))
    agents_dir = home.root / AGENTS_DIR
    if agents_dir.is_dir():
        for entry in agents_dir.iterdir():
            if entry.is_dir() and NAME_PATTERN.fullmatch(entry.name):
                names.add(entry.name)
    agents = doc.get("agent")
    default = agents.get("default_agent") if isinstance(agents, Mapping) else None
    if isinstance(default, str) and NAME_PATTERN.fullmatch(default):
        names.add(default)
    return sorted(names)


def unknown_agent(agent: str, known: list[str], edit: Edit, field: str) -> InvalidEdit:
    """The error for an agent the home does not know, listing the ones it does."""
    return InvalidEdit(
        f"unknown agent {agent!r} (known agents: {', '.join(known) or 'none'}; from "
        "[agent.<name>] tables, agents/<name>/ folders and [agent] default_agent)",
        edit_id=edit.id,
        field=field,
    )


def agent_table(
    doc: TOMLDocument, agent: str, edit: Edit, field: str, home: SpecHome | None = None
) -> TableLike:
    """``[agent.<agent>]``; created when ``home`` knows the agent without a table (as
    OpenJarvis does), else a validation error naming the known agents."""
    table = find_table(doc, ("agent", agent))
    if table is not None:
        return table
    known = known_agents(doc, home) if home is not None else agent_names(doc)
    if home is None or agent not in known:
        raise unknown_agent(agent, known, edit, field)
    return ensure_table(doc, ("agent", agent), label="config.toml", edit_id=edit.id)


class SetAgentClassApplier(FileEditApplier):
    """``[agent.<agent>] class = "<new_class>"``."""

    op = EditOp.SET_AGENT_CLASS

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, SetAgentClass)
        agent = resolve_agent(edit, payload.agent)

        def mutate(doc: TOMLDocument) -> None:
            field = "payload.agent" if payload.agent else "target"
            table = agent_table(doc, agent, edit, field, ctx.spec_home)
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
            table = agent_table(doc, payload.agent, edit, "payload.agent", ctx.spec_home)
            set_value(
                table,
                payload.param,
                payload.value,
                label=f"agent.{payload.agent}.{payload.param}",
                edit_id=edit.id,
            )

        return config_change(ctx, edit, mutate)
