"""Tools-pillar appliers: agents' tool lists and the tool descriptions catalog."""

from __future__ import annotations

from tomlkit.toml_document import TOMLDocument

from specdistill.appliers.agent import agent_names, agent_table
from specdistill.appliers.base import FileEditApplier
from specdistill.appliers.routing import config_change
from specdistill.appliers.toml_doc import (
    add_key_before_trailing_trivia,
    dump_and_keep,
    ensure_table,
    parse_document,
    plain_document,
    set_value,
    string_array,
)
from specdistill.changeset import FileChange
from specdistill.context import ApplyContext
from specdistill.errors import InvalidEdit
from specdistill.fsio import read_bytes_or_none
from specdistill.models import Edit, EditOp
from specdistill.openjarvis import BUILTIN_TOOLS, SOURCE_COMMIT
from specdistill.payloads import AddToolToAgent, EditToolDescription, Payload, RemoveToolFromAgent


def _names(value: object) -> set[str]:
    """Tool names from an array of strings, or OpenJarvis's comma-separated string."""
    if isinstance(value, str):
        return {part.strip() for part in value.split(",") if part.strip()}
    if isinstance(value, list):
        return {item for item in value if isinstance(item, str)}
    return set()


def tool_catalog(ctx: ApplyContext, edit: Edit) -> dict[str, str]:
    """Every tool the home knows, each with where it is known from (the first of):

    - ``tools/descriptions.toml``: a ``[<tool>]`` table;
    - ``config.toml [tools] enabled``;
    - ``config.toml`` agents: ``[agent.<name>] tools``, or ``[agent] tools``;
    - OpenJarvis's built-in tools (:data:`specdistill.openjarvis.BUILTIN_TOOLS`), whose
      descriptions ``descriptions.toml`` only overrides.

    A tool in none of these is unknown, and refused.
    """
    catalog: dict[str, str] = {}
    descriptions = plain_document(
        read_bytes_or_none(ctx.spec_home.tool_descriptions_path),
        label="tools/descriptions.toml",
        edit_id=edit.id,
    )
    for key, value in descriptions.items():
        if isinstance(value, dict):
            catalog.setdefault(key, "tools/descriptions.toml")
    config = plain_document(
        read_bytes_or_none(ctx.spec_home.config_path), label="config.toml", edit_id=edit.id
    )
    tools = config.get("tools")
    for name in sorted(_names(tools.get("enabled") if isinstance(tools, dict) else None)):
        catalog.setdefault(name, "config.toml [tools] enabled")
    agents = config.get("agent")
    used = _names(agents.get("tools") if isinstance(agents, dict) else None)
    for agent in agent_names(config):
        used |= _names(config["agent"][agent].get("tools"))
    for name in sorted(used):
        catalog.setdefault(name, "an agent's tools in config.toml")
    for name in sorted(BUILTIN_TOOLS):
        catalog.setdefault(name, f"OpenJarvis's built-in tools ({SOURCE_COMMIT[:12]})")
    return catalog


def check_known_tool(ctx: ApplyContext, edit: Edit, tool: str) -> None:
    """Refuse a tool the home does not know (see :func:`tool_catalog`)."""
    catalog = tool_catalog(ctx, edit)
    if tool not in catalog:
        own = sorted(name for name in catalog if name not in BUILTIN_TOOLS)
        known = ", ".join(own) or "none"
        raise InvalidEdit(
            f"unknown tool {tool!r}: not one of OpenJarvis's built-in tools, nor declared in "
            f"tools/descriptions.toml, [tools] enabled or an agent's tools (declared: {known})",
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
            table = agent_table(doc, payload.agent, edit, "payload.agent", ctx.spec_home)
            label = f"agent.{payload.agent}.tools"
            tools = string_array(table, "tools", label=label, edit_id=edit.id)
            if tools is None:  # before the table's trailing blank line, if it has one
                add_key_before_trailing_trivia(table, "tools", [payload.tool_name])
            elif payload.tool_name not in tools:
                tools.append(payload.tool_name)

        return config_change(ctx, edit, mutate)


class RemoveToolFromAgentApplier(FileEditApplier):
    """Remove a tool from ``[agent.<agent>] tools``; removing one that is absent is an error."""

    op = EditOp.REMOVE_TOOL_FROM_AGENT

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, RemoveToolFromAgent)

        def mutate(doc: TOMLDocument) -> None:
            table = agent_table(doc, payload.agent, edit, "payload.agent", ctx.spec_home)
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
        check_known_tool(ctx, edit, payload.tool_name)
        # No file yet: it is created (in OpenJarvis it holds optional overrides).
        doc = parse_document(before, label=label, edit_id=edit.id)
        table = ensure_table(doc, (payload.tool_name,), label=label, edit_id=edit.id)
        set_value(
            table,
            "description",
            payload.new_description,
            label=f"{payload.tool_name}.description",
            edit_id=edit.id,
        )
        return [FileChange(path, before, dump_and_keep(doc))]
