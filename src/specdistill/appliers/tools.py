"""Tools-pillar appliers: agents' tool lists and the tool descriptions catalog."""

from __future__ import annotations

import tomlkit
from tomlkit.toml_document import TOMLDocument

from specdistill.appliers.agent import agent_table
from specdistill.appliers.base import FileEditApplier
from specdistill.appliers.routing import config_change
from specdistill.appliers.toml_doc import (
    dump_document,
    ensure_table,
    find_table,
    parse_document,
    set_value,
    string_array,
)
from specdistill.changeset import FileChange
from specdistill.context import ApplyContext
from specdistill.errors import InvalidEdit
from specdistill.fsio import read_bytes_or_none
from specdistill.models import Edit, EditOp
from specdistill.payloads import AddToolToAgent, EditToolDescription, Payload, RemoveToolFromAgent


def tool_catalog(ctx: ApplyContext, edit: Edit) -> list[str] | None:
    """Tools declared in tools/descriptions.toml, or None when the home keeps no catalog."""
    data = read_bytes_or_none(ctx.spec_home.tool_descriptions_path)
    if data is None:
        return None
    doc = parse_document(data, label="tools/descriptions.toml", edit_id=edit.id)
    return sorted(key for key in doc if find_table(doc, (key,)) is not None)


def check_known_tool(ctx: ApplyContext, edit: Edit, tool: str) -> None:
    catalog = tool_catalog(ctx, edit)
    if catalog is not None and tool not in catalog:
        known = ", ".join(catalog) or "none"
        raise InvalidEdit(
            f"unknown tool {tool!r} (tools/descriptions.toml declares: {known})",
            edit_id=edit.id,
            field="payload.tool_name",
        )


class AddToolToAgentApplier(FileEditApplier):
    """Append a tool to ``[agent.<agent>] tools``; adding one already there changes nothing."""

    op = EditOp.ADD_TOOL_TO_AGENT

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, AddToolToAgent)
        check_known_tool(ctx, edit, payload.tool_name)

        def mutate(doc: TOMLDocument) -> None:
            table = agent_table(doc, payload.agent, edit, "payload.agent")
            label = f"agent.{payload.agent}.tools"
            tools = string_array(table, "tools", label=label, edit_id=edit.id)
            if tools is None:
                table["tools"] = [payload.tool_name]
            elif payload.tool_name not in tools:
                tools.append(payload.tool_name)

        return config_change(ctx, edit, mutate)


class RemoveToolFromAgentApplier(FileEditApplier):
    """Remove a tool from ``[agent.<agent>] tools``; removing one that is absent is an error."""

    op = EditOp.REMOVE_TOOL_FROM_AGENT

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, RemoveToolFromAgent)

        def mutate(doc: TOMLDocument) -> None:
            table = agent_table(doc, payload.agent, edit, "payload.agent")
            label = f"agent.{payload.agent}.tools"
            tools = string_array(table, "tools", label=label, edit_id=edit.id)
            if tools is None or payload.tool_name not in tools:
                raise InvalidEdit(
                    f"agent {payload.agent!r} has no tool {payload.tool_name!r}",
                    edit_id=edit.id,
                    field="payload.tool_name",
                )
            del tools[list(tools).index(payload.tool_name)]

        return config_change(ctx, edit, mutate)


class EditToolDescriptionApplier(FileEditApplier):
    """``[<tool>] description = "..."`` in tools/descriptions.toml."""

    op = EditOp.EDIT_TOOL_DESCRIPTION

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, EditToolDescription)
        path = ctx.spec_home.tool_descriptions_path
        before = read_bytes_or_none(path)
        label = "tools/descriptions.toml"
        doc = parse_document(before, label=label, edit_id=edit.id)
        if before is not None:
            check_known_tool(ctx, edit, payload.tool_name)
        else:
            # No catalog yet: only describe a tool some agent actually uses.
            config = parse_document(
                read_bytes_or_none(ctx.spec_home.config_path), label="config.toml", edit_id=edit.id
            )
            used: set[str] = set()
            for name in find_table(config, ("agent",)) or ():
                agent = find_table(config, ("agent", name))
                if agent is not None:
                    used.update(agent.get("tools", ()))
            if payload.tool_name not in used:
                raise InvalidEdit(
                    f"unknown tool {payload.tool_name!r}: no agent uses it and the home has "
                    "no tools/descriptions.toml",
                    edit_id=edit.id,
                    field="payload.tool_name",
                )
            doc = tomlkit.document()
        table = ensure_table(doc, (payload.tool_name,), label=label, edit_id=edit.id)
        set_value(
            table,
            "description",
            payload.new_description,
            label=f"{payload.tool_name}.description",
            edit_id=edit.id,
        )
        return [FileChange(path, before, dump_document(doc))]
