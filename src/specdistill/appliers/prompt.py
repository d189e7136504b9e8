"""Agent-pillar appliers over the agent's own files: system prompt and few-shot exemplars."""

from __future__ import annotations

import json

from specdistill.appliers.agent import known_agents, unknown_agent
from specdistill.appliers.base import FileEditApplier
from specdistill.appliers.toml_doc import plain_document
from specdistill.changeset import FileChange
from specdistill.context import ApplyContext
from specdistill.diffpatch import PatchError, apply_unified_diff
from specdistill.errors import InvalidEdit
from specdistill.fsio import read_bytes_or_none
from specdistill.models import Edit, EditOp
from specdistill.payloads import (
    EditFewShotExemplars,
    PatchSystemPrompt,
    Payload,
    ReplaceSystemPrompt,
    resolve_agent,
)


def known_agent(ctx: ApplyContext, edit: Edit, payload_agent: str | None) -> str:
    """The edit's agent, which the home must know (:func:`~.agent.known_agents`).

    These edits never touch config.toml: its agents are read with tomllib's
    cached parse, not a style-preserving one.
    """
    agent = resolve_agent(edit, payload_agent)
    config = plain_document(
        read_bytes_or_none(ctx.spec_home.config_path), label="config.toml", edit_id=edit.id
    )
    known = known_agents(config, ctx.spec_home)
    if agent not in known:
        raise unknown_agent(agent, known, edit, "payload.agent" if payload_agent else "target")
    return agent


def _text(data: bytes | None, edit: Edit, label: str) -> str:
    if data is None:
        return ""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidEdit(f"{label} is not UTF-8 text", edit_id=edit.id) from None


def _no_nul(text: str, edit: Edit, field: str) -> None:
    if "\x00" in text:
        raise InvalidEdit("text contains a NUL character", edit_id=edit.id, field=field)


class PatchSystemPromptApplier(FileEditApplier):
    """Apply a unified diff to ``agents/<agent>/system_prompt.md``; it must apply cleanly."""

    op = EditOp.PATCH_SYSTEM_PROMPT

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, PatchSystemPrompt)
        agent = known_agent(ctx, edit, payload.agent)
        path = ctx.spec_home.system_prompt_path(agent)
        before = read_bytes_or_none(path)
        label = f"agents/{agent}/system_prompt.md"
        try:
            after = apply_unified_diff(_text(before, edit, label), payload.diff)
        except PatchError as exc:
            raise InvalidEdit(
                f"patch does not apply to {label}: {exc}", edit_id=edit.id, field="payload.diff"
            ) from None
        _no_nul(after, edit, "payload.diff")
        return [FileChange(path, before, after.encode("utf-8"))]


class ReplaceSystemPromptApplier(FileEditApplier):
    """Replace ``agents/<agent>/system_prompt.md`` whole."""

    op = EditOp.REPLACE_SYSTEM_PROMPT

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, ReplaceSystemPrompt)
        _no_nul(payload.new_content, edit, "payload.new_content")
        agent = known_agent(ctx, edit, payload.agent)
        path = ctx.spec_home.system_prompt_path(agent)
        return [FileChange(path, read_bytes_or_none(path), payload.new_content.encode("utf-8"))]


class EditFewShotExemplarsApplier(FileEditApplier):
    """Write the agent's exemplars (the payload's list replaces the current one)."""

    op = EditOp.EDIT_FEW_SHOT_EXEMPLARS

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        assert isinstance(payload, EditFewShotExemplars)
        agent = known_agent(ctx, edit, payload.agent)
        path = ctx.spec_home.few_shot_path(agent)
        exemplars = [{"input": e.input, "output": e.output} for e in payload.exemplars]
        for index, exemplar in enumerate(exemplars):
            for key, text in exemplar.items():
                _no_nul(text, edit, f"payload.exemplars.{index}.{key}")
        after = json.dumps(exemplars, ensure_ascii=False, indent=2) + "\n"
        return [FileChange(path, read_bytes_or_none(path), after.encode("utf-8"))]
