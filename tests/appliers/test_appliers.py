"""The 11 appliers over real files: exact output, validation against the current files,
exact rollback, the registry, and I/O fault injection on the write path."""

from __future__ import annotations

import json
import os
import tomllib
from pathlib import Path
from typing import Any

import pytest

import specdistill.changeset as changeset
import specdistill.fsio as fsio
from conftest import (
    CODER_PROMPT,
    HOME_CONFIG,
    HOME_TOOLS,
    VALID_PAYLOADS,
    make_edit,
    tree_bytes,
    valid_edit,
)
from specdistill import (
    ApplyContext,
    ApplyResult,
    Edit,
    EditApplier,
    EditApplierRegistry,
    EditOp,
    FileChange,
    FileEditApplier,
    ValidationResult,
    default_registry,
)
from specdistill.errors import ApplyError, InvalidEdit, NotReversible
from specdistill.payloads import Payload

REGISTRY = default_registry(plugins=False)
APPLYING_OPS = [op for op in EditOp if op is not EditOp.LORA_FINETUNE]


def applier(op: EditOp | str) -> FileEditApplier:
    found = REGISTRY.get(EditOp(op))
    assert isinstance(found, FileEditApplier)
    return found


def edited(text: str, old: str, new: str) -> str:
    """``text`` with the one occurrence of ``old`` replaced by ``new``."""
    assert text.count(old) == 1, f"{old!r} occurs {text.count(old)} times"
    return text.replace(old, new)


def apply_ok(edit: Edit, ctx: ApplyContext) -> ApplyResult:
    validation = applier(edit.op).validate(edit, ctx)
    assert validation.ok, validation.reason
    return applier(edit.op).apply(edit, ctx)


# --- valid edits: exact output ---------------------------------------------------------------

CONFIG_CASES: list[Any] = [
    pytest.param(
        EditOp.SET_MODEL_FOR_QUERY_CLASS,
        {"query_class": "code", "model": "qwen2.5:7b"},
        ('\'math\' = "small-model"   # literal-string key\n',
         '\'math\' = "small-model"   # literal-string key\ncode = "qwen2.5:7b"\n'),
        id="route-new-class",
    ),
    pytest.param(
        EditOp.SET_MODEL_FOR_QUERY_CLASS,
        {"query_class": "general", "model": "qwen2.5:7b"},
        ('general = "small-model"\n', 'general = "qwen2.5:7b"\n'),
        id="route-existing-class",
    ),
    pytest.param(
        EditOp.SET_MODEL_FOR_QUERY_CLASS,
        {"query_class": "math", "model": "big"},
        ('\'math\' = "small-model"   # literal-string key\n',
         '\'math\' = "big"   # literal-string key\n'),
        id="route-literal-key-keeps-comment",
    ),
    pytest.param(
        EditOp.SET_MODEL_FOR_QUERY_CLASS,
        {"query_class": 'a.b "c"', "model": "m"},
        ('\'math\' = "small-model"   # literal-string key\n',
         '\'math\' = "small-model"   # literal-string key\n"a.b \\"c\\"" = "m"\n'),
        id="route-key-needing-quotes",
    ),
    pytest.param(
        EditOp.SET_MODEL_PARAM,
        {"model": "small-model", "param": "temperature", "value": 0.7},
        ("temperature = 0.2\nmax_tokens = 512\n", "temperature = 0.7\nmax_tokens = 512\n"),
        id="model-param-float",
    ),
    pytest.param(
        EditOp.SET_MODEL_PARAM,
        {"model": "small-model", "param": "temperature", "value": 1},
        ("temperature = 0.2\nmax_tokens = 512\n", "temperature = 1.0\nmax_tokens = 512\n"),
        id="model-param-int-into-float-key-stays-float",
    ),
    pytest.param(
        EditOp.SET_MODEL_PARAM,
        {"model": "qwen2.5:3b", "param": "top_p", "value": 0.5},
        ("top_p = 0.9  # nucleus\n", "top_p = 0.5  # nucleus\n"),
        id="model-param-keeps-inline-comment",
    ),
    pytest.param(
        EditOp.SET_MODEL_PARAM,
        {"model": "small-model", "param": "stop", "value": 'a"b\nc\'\'\'"""] #x'},
        ("max_tokens = 512\n", "max_tokens = 512\n" + r'stop = "a\"b\nc' + "'''" +
         r'\"\"\"] #x"' + "\n"),
        id="model-param-hostile-string-is-quoted-and-escaped",
    ),
    pytest.param(
        EditOp.SET_MODEL_PARAM,
        {"model": "small-model", "param": "stop", "value": ["\n\n", "]"]},
        ("max_tokens = 512\n", 'max_tokens = 512\nstop = ["\\n\\n", "]"]\n'),
        id="model-param-array",
    ),
    pytest.param(
        EditOp.SET_MODEL_PARAM,
        {"model": "small-model", "param": "stream", "value": False},
        ("max_tokens = 512\n", "max_tokens = 512\nstream = false\n"),
        id="model-param-bool",
    ),
    pytest.param(
        EditOp.SET_AGENT_PARAM,
        {"agent": "assistant", "param": "max_turns", "value": 6},
        ("max_turns = 4\nmax_turns_hard = 10\n", "max_turns = 6\nmax_turns_hard = 10\n"),
        id="agent-param-exact-key-max_turns",
    ),
    pytest.param(
        EditOp.SET_AGENT_PARAM,
        {"agent": "assistant", "param": "max_turns_hard", "value": 20},
        ("max_turns = 4\nmax_turns_hard = 10\n", "max_turns = 4\nmax_turns_hard = 20\n"),
        id="agent-param-exact-key-max_turns_hard",
    ),
    pytest.param(
        EditOp.SET_AGENT_PARAM,
        {"agent": "coder", "param": "max_turns", "value": 9},
        ("max_turns = 8\n\n[learning", "max_turns = 9\n\n[learning"),
        id="agent-param-second-agent",
    ),
    pytest.param(
        EditOp.SET_AGENT_PARAM,
        {"agent": "coder", "param": "note", "value": "it's \"fine\""},
        ("max_turns = 8\n\n[learning", 'max_turns = 8\nnote = "it\'s \\"fine\\""\n\n[learning'),
        id="agent-param-new-string-key",
    ),
    pytest.param(
        EditOp.SET_AGENT_CLASS,
        {"agent": "coder", "new_class": "orchestrator"},
        ('class      =   "react"      # aligned on purpose\n',
         'class      =   "orchestrator"      # aligned on purpose\n'),
        id="agent-class-keeps-alignment-and-comment",
    ),
    pytest.param(
        EditOp.ADD_TOOL_TO_AGENT,
        {"agent": "assistant", "tool_name": "web_search"},
        ('tools = ["calculator"]  # what it may call\n',
         'tools = ["calculator", "web_search"]  # what it may call\n'),
        id="add-tool-inline-array",
    ),
    pytest.param(
        EditOp.REMOVE_TOOL_FROM_AGENT,
        {"agent": "assistant", "tool_name": "calculator"},
        ('tools = ["calculator"]  # what it may call\n', "tools = []  # what it may call\n"),
        id="remove-tool-inline-array",
    ),
    pytest.param(
        EditOp.REMOVE_TOOL_FROM_AGENT,
        {"agent": "coder", "tool_name": "calculator"},
        ('    "calculator",\n    "web_search",  # network\n', '    "web_search",  # network\n'),
        id="remove-tool-multiline-array-keeps-other-comment",
    ),
]  # fmt: skip


@pytest.mark.parametrize(("op", "payload", "replacement"), CONFIG_CASES)
def test_config_edit_exact_text(
    ctx: ApplyContext, home: Path, op: EditOp, payload: dict, replacement: tuple[str, str]
) -> None:
    before = tree_bytes(home)
    result = apply_ok(make_edit(op, payload), ctx)
    expected = edited(HOME_CONFIG, *replacement)
    assert (home / "config.toml").read_text() == expected
    tomllib.loads(expected)
    # only config.toml changed, and the result says so
    after = tree_bytes(home)
    assert {k for k in after if after[k] != before.get(k)} == {"config.toml"}
    assert [c.path for c in result.changes] == [home / "config.toml"]
    assert result.changes[0].before == before["config.toml"]
    assert result.changes[0].after == expected.encode()


def test_add_tool_to_multiline_array(ctx: ApplyContext, home: Path) -> None:
    (home / "tools" / "descriptions.toml").write_text(HOME_TOOLS + '\n[shell]\ndescription = "x"\n')
    apply_ok(make_edit(EditOp.ADD_TOOL_TO_AGENT, {"agent": "coder", "tool_name": "shell"}), ctx)
    assert (home / "config.toml").read_text() == edited(
        HOME_CONFIG,
        '    "web_search",  # network\n]',
        '    "web_search",  # network\n    "shell",\n]',
    )


def test_add_tool_creates_the_tools_key(ctx: ApplyContext, home: Path) -> None:
    config = edited(HOME_CONFIG, 'tools = ["calculator"]  # what it may call\n', "")
    (home / "config.toml").write_text(config)
    apply_ok(valid_edit(EditOp.ADD_TOOL_TO_AGENT), ctx)
    data = tomllib.loads((home / "config.toml").read_text())
    assert data["agent"]["assistant"]["tools"] == ["web_search"]


def test_new_model_table_is_created(ctx: ApplyContext, home: Path) -> None:
    payload = {"model": "qwen2.5:7b", "param": "temperature", "value": 0.5}
    apply_ok(make_edit(EditOp.SET_MODEL_PARAM, payload), ctx)
    text = (home / "config.toml").read_text()
    data = tomllib.loads(text)
    assert data["models"]["qwen2.5:7b"] == {"temperature": 0.5}
    assert data["models"]["small-model"] == {"temperature": 0.2, "max_tokens": 512}
    assert data["models"]["qwen2.5:3b"] == {"top_p": 0.9}
    assert '[models."qwen2.5:7b"]\ntemperature = 0.5\n' in text
    # every original line is still there, in order
    lines = iter(text.splitlines())
    assert all(line in lines for line in HOME_CONFIG.splitlines())


def test_new_model_table_is_separated_by_a_blank_line(ctx: ApplyContext, home: Path) -> None:
    payload = {"model": "qwen2.5:7b", "param": "temperature", "value": 0.5}
    apply_ok(make_edit(EditOp.SET_MODEL_PARAM, payload), ctx)
    assert "temperature = 0.5\n\n[specdistill.tier_overrides]" in (home / "config.toml").read_text()


def test_new_key_goes_before_the_next_tables_leading_comment(ctx: ApplyContext, home: Path) -> None:
    payload = {"agent": "assistant", "param": "retries", "value": 3}
    apply_ok(make_edit(EditOp.SET_AGENT_PARAM, payload), ctx)
    assert "\n\n# The coding agent.\n[agent.coder]" in (home / "config.toml").read_text()


def test_new_policy_map_is_created_when_absent(ctx: ApplyContext, home: Path) -> None:
    (home / "config.toml").write_text("# just a comment\n[agent.assistant]\nclass = 'simple'\n")
    apply_ok(valid_edit(EditOp.SET_MODEL_FOR_QUERY_CLASS), ctx)
    text = (home / "config.toml").read_text()
    assert text.startswith("# just a comment\n[agent.assistant]\nclass = 'simple'\n")
    assert "[learning]" not in text  # no empty parent headers
    assert tomllib.loads(text)["learning"]["routing"]["policy_map"] == {"code": "qwen2.5:7b"}


def test_tool_description_exact_text(ctx: ApplyContext, home: Path) -> None:
    payload = {"tool_name": "web_search", "new_description": 'Search "the" web.\nTwo lines.'}
    apply_ok(make_edit(EditOp.EDIT_TOOL_DESCRIPTION, payload), ctx)
    assert (home / "tools" / "descriptions.toml").read_text() == edited(
        HOME_TOOLS,
        "description = 'Search the web.'",
        'description = "Search \\"the\\" web.\\nTwo lines."',
    )
    data = tomllib.loads((home / "tools" / "descriptions.toml").read_text())
    assert data["web_search"]["description"] == 'Search "the" web.\nTwo lines.'


def test_tool_description_without_a_catalog(ctx: ApplyContext, home: Path) -> None:
    (home / "tools" / "descriptions.toml").unlink()
    apply_ok(valid_edit(EditOp.EDIT_TOOL_DESCRIPTION), ctx)
    assert tomllib.loads((home / "tools" / "descriptions.toml").read_text()) == {
        "calculator": {"description": "Do math."}
    }
    # without a catalog, only a tool some agent uses may be described
    edit = make_edit(EditOp.EDIT_TOOL_DESCRIPTION, {"tool_name": "ghost", "new_description": "x"})
    (home / "tools" / "descriptions.toml").unlink()
    validation = applier(edit.op).validate(edit, ctx)
    assert not validation.ok
    assert "unknown tool 'ghost'" in (validation.reason or "")


def test_patch_system_prompt_exact_text(ctx: ApplyContext, home: Path) -> None:
    apply_ok(valid_edit(EditOp.PATCH_SYSTEM_PROMPT), ctx)
    assert (home / "agents" / "coder" / "system_prompt.md").read_text() == edited(
        CODER_PROMPT, "Think step by step.\n", "Think step by step, then test.\n"
    )


def test_patch_applies_at_an_offset(ctx: ApplyContext, home: Path) -> None:
    diff = "--- a/p\n+++ b/p\n@@ -10,2 +10,2 @@\n Think step by step.\n-Answer with code.\n+Code.\n"
    apply_ok(make_edit(EditOp.PATCH_SYSTEM_PROMPT, {"agent": "coder", "diff": diff}), ctx)
    prompt = (home / "agents" / "coder" / "system_prompt.md").read_text()
    assert prompt == "You are a careful coder.\nThink step by step.\nCode.\n"


def test_replace_system_prompt_via_target(ctx: ApplyContext, home: Path) -> None:
    edit = make_edit(
        EditOp.REPLACE_SYSTEM_PROMPT,
        {"new_content": "Ünïcode ✓ and\r\nCRLF kept"},
        target="agents.assistant.system_prompt",
    )
    apply_ok(edit, ctx)
    path = home / "agents" / "assistant" / "system_prompt.md"
    assert path.read_bytes() == "Ünïcode ✓ and\r\nCRLF kept".encode()


def test_few_shot_exact_json(ctx: ApplyContext, home: Path) -> None:
    exemplars = [{"input": "2+2?", "output": "4"}, {"input": "ünï", "output": 'say "hi"\n'}]
    payload = {"agent": "assistant", "exemplars": exemplars}
    apply_ok(make_edit(EditOp.EDIT_FEW_SHOT_EXEMPLARS, payload), ctx)
    text = (home / "agents" / "assistant" / "few_shot.json").read_text(encoding="utf-8")
    assert text == json.dumps(exemplars, ensure_ascii=False, indent=2) + "\n"
    assert json.loads(text) == exemplars


def test_few_shot_empty_list_clears(ctx: ApplyContext, home: Path) -> None:
    apply_ok(make_edit(EditOp.EDIT_FEW_SHOT_EXEMPLARS, {"agent": "coder", "exemplars": []}), ctx)
    assert (home / "agents" / "coder" / "few_shot.json").read_text() == "[]\n"


# --- idempotence and no-ops ------------------------------------------------------------------


def test_add_tool_is_idempotent(ctx: ApplyContext, home: Path) -> None:
    edit = make_edit(EditOp.ADD_TOOL_TO_AGENT, {"agent": "coder", "tool_name": "calculator"})
    before = tree_bytes(home)
    result = apply_ok(edit, ctx)
    assert result.changes == ()
    assert tree_bytes(home) == before
    once = valid_edit(EditOp.ADD_TOOL_TO_AGENT)
    apply_ok(once, ctx)
    after_once = tree_bytes(home)
    again = make_edit(EditOp.ADD_TOOL_TO_AGENT, VALID_PAYLOADS[EditOp.ADD_TOOL_TO_AGENT])
    assert apply_ok(again, ctx).changes == ()
    assert tree_bytes(home) == after_once
    tools = tomllib.loads((home / "config.toml").read_text())["agent"]["assistant"]["tools"]
    assert tools == ["calculator", "web_search"]


def test_setting_the_same_value_changes_nothing(ctx: ApplyContext, home: Path) -> None:
    before = tree_bytes(home)
    edit = make_edit(
        EditOp.SET_MODEL_PARAM, {"model": "small-model", "param": "max_tokens", "value": 512}
    )
    assert apply_ok(edit, ctx).changes == ()
    assert tree_bytes(home) == before


# --- validation against the current files ----------------------------------------------------

#: (op, payload, field, substring of the reason); run against the ``home`` fixture.
INVALID_NOW: list[Any] = [
    pytest.param(EditOp.SET_AGENT_PARAM, {"agent": "ghost", "param": "x", "value": 1},
                 "payload.agent", "unknown agent 'ghost'", id="agent-param-unknown-agent"),
    pytest.param(EditOp.SET_AGENT_CLASS, {"agent": "ghost", "new_class": "x"},
                 "payload.agent", "unknown agent 'ghost'", id="agent-class-unknown-agent"),
    pytest.param(EditOp.ADD_TOOL_TO_AGENT, {"agent": "ghost", "tool_name": "calculator"},
                 "payload.agent", "unknown agent 'ghost'", id="add-tool-unknown-agent"),
    pytest.param(EditOp.REMOVE_TOOL_FROM_AGENT, {"agent": "ghost", "tool_name": "calculator"},
                 "payload.agent", "unknown agent 'ghost'", id="remove-tool-unknown-agent"),
    pytest.param(EditOp.REPLACE_SYSTEM_PROMPT, {"agent": "ghost", "new_content": "x"},
                 "payload.agent", "unknown agent 'ghost'", id="replace-prompt-unknown-agent"),
    pytest.param(EditOp.PATCH_SYSTEM_PROMPT, {"agent": "ghost", "diff": "@@ -1 +1 @@\n-a\n+b\n"},
                 "payload.agent", "unknown agent 'ghost'", id="patch-prompt-unknown-agent"),
    pytest.param(EditOp.EDIT_FEW_SHOT_EXEMPLARS, {"agent": "ghost", "exemplars": []},
                 "payload.agent", "unknown agent 'ghost'", id="few-shot-unknown-agent"),
    pytest.param(EditOp.ADD_TOOL_TO_AGENT, {"agent": "coder", "tool_name": "shell"},
                 "payload.tool_name", "unknown tool 'shell'", id="add-tool-not-in-catalog"),
    pytest.param(EditOp.EDIT_TOOL_DESCRIPTION, {"tool_name": "shell", "new_description": "x"},
                 "payload.tool_name", "unknown tool 'shell'", id="describe-tool-not-in-catalog"),
    pytest.param(EditOp.REMOVE_TOOL_FROM_AGENT, {"agent": "assistant", "tool_name": "web_search"},
                 "payload.tool_name", "has no tool 'web_search'", id="remove-absent-tool"),
    pytest.param(EditOp.PATCH_SYSTEM_PROMPT,
                 {"agent": "coder", "diff": "@@ -2 +2 @@\n-Think fast.\n+Think slow.\n"},
                 "payload.diff", "patch does not apply", id="patch-does-not-apply"),
    pytest.param(EditOp.PATCH_SYSTEM_PROMPT, {"agent": "coder", "diff": "make it better"},
                 "payload.diff", "patch does not apply", id="patch-not-a-diff"),
    pytest.param(EditOp.SET_AGENT_PARAM, {"agent": "coder", "param": "class", "value": "x"},
                 "payload.param", "set_agent_class", id="agent-param-on-class"),
    pytest.param(EditOp.SET_AGENT_PARAM, {"agent": "coder", "param": "tools", "value": ["x"]},
                 "payload.param", "add/remove_tool", id="agent-param-on-tools"),
    pytest.param(EditOp.SET_AGENT_PARAM, {"agent": "coder", "param": "max_turns", "value": 0},
                 "payload.value", "max_turns must be", id="agent-max-turns-0"),
    pytest.param(EditOp.SET_AGENT_PARAM,
                 {"agent": "coder", "param": "temperature", "value": 2.5},
                 "payload.value", "temperature must be", id="agent-temperature-2.5"),
    pytest.param(EditOp.SET_MODEL_PARAM,
                 {"model": "small-model", "param": "temperature", "value": -1},
                 "payload.value", "temperature must be", id="model-temperature-negative"),
    pytest.param(EditOp.SET_MODEL_PARAM, {"model": "m", "param": "top_p", "value": 0},
                 "payload.value", "top_p must be", id="model-top-p-0"),
    pytest.param(EditOp.SET_MODEL_PARAM, {"model": "m", "param": "max_tokens", "value": "512"},
                 "payload.value", "max_tokens must be", id="model-max-tokens-str"),
    pytest.param(EditOp.SET_MODEL_PARAM, {"model": "m", "param": "max_tokens", "value": True},
                 "payload.value", "max_tokens must be", id="model-max-tokens-bool"),
    pytest.param(EditOp.SET_AGENT_PARAM,
                 {"agent": "assistant", "param": "max_turns_hard", "value": "ten"},
                 "payload.value", "is an int (10); refusing to replace it with a string",
                 id="type-change-int-to-string"),
    pytest.param(EditOp.SET_AGENT_PARAM,
                 {"agent": "assistant", "param": "max_turns_hard", "value": [10]},
                 "payload.value", "replace it with an array", id="type-change-to-array"),
    pytest.param(EditOp.LORA_FINETUNE, VALID_PAYLOADS[EditOp.LORA_FINETUNE],
                 "op", "lora_finetune is never applied", id="lora-refused"),
]  # fmt: skip


@pytest.mark.parametrize(("op", "payload", "field", "reason"), INVALID_NOW)
def test_validation_against_current_files(
    ctx: ApplyContext, home: Path, op: EditOp, payload: dict, field: str, reason: str
) -> None:
    edit = make_edit(op, payload, id="v1")
    before = tree_bytes(home)
    validation = applier(op).validate(edit, ctx)
    assert not validation.ok
    assert validation.field == field
    assert reason in (validation.reason or "")
    assert "\n" not in (validation.reason or "")
    with pytest.raises(ApplyError) as info:
        applier(op).apply(edit, ctx)
    assert reason in info.value.message
    assert info.value.edit_id == "v1"
    with pytest.raises(InvalidEdit):
        applier(op).preview(edit, ctx)
    assert tree_bytes(home) == before
    assert ctx.applied_result("v1") is None


@pytest.mark.parametrize(
    ("op", "target", "field"),
    [
        pytest.param(EditOp.REPLACE_SYSTEM_PROMPT, "agents.ghost.system_prompt", "target", id="rp"),
        pytest.param(EditOp.SET_AGENT_CLASS, "agents.ghost", "target", id="class"),
        pytest.param(EditOp.EDIT_FEW_SHOT_EXEMPLARS, "", "payload.agent", id="few-shot-no-agent"),
        pytest.param(EditOp.REPLACE_SYSTEM_PROMPT, "agents.../x", "target", id="target-escape"),
    ],
)
def test_agent_from_target_is_validated(
    ctx: ApplyContext, home: Path, op: EditOp, target: str, field: str
) -> None:
    payload = {k: v for k, v in VALID_PAYLOADS[op].items() if k != "agent"}
    before = tree_bytes(home)
    validation = applier(op).validate(make_edit(op, payload, target=target), ctx)
    assert not validation.ok
    assert validation.field == field
    assert tree_bytes(home) == before


def test_agent_known_only_by_its_directory(ctx: ApplyContext, home: Path) -> None:
    # config.toml need not declare an agent whose files exist in agents/
    (home / "agents" / "solo").mkdir()
    edit = make_edit(EditOp.REPLACE_SYSTEM_PROMPT, {"agent": "solo", "new_content": "hi\n"})
    apply_ok(edit, ctx)
    assert (home / "agents" / "solo" / "system_prompt.md").read_text() == "hi\n"


def test_symlinked_agent_dir_pointing_outside_is_refused(
    ctx: ApplyContext, home: Path, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (home / "agents" / "evil").symlink_to(outside, target_is_directory=True)
    config = HOME_CONFIG + '\n[agent.evil]\nclass = "simple"\n'
    (home / "config.toml").write_text(config)
    before_home, before_out = tree_bytes(home), tree_bytes(outside)
    for op in (EditOp.REPLACE_SYSTEM_PROMPT, EditOp.EDIT_FEW_SHOT_EXEMPLARS):
        edit = make_edit(op, {**VALID_PAYLOADS[op], "agent": "evil"})
        validation = applier(op).validate(edit, ctx)
        assert not validation.ok
        assert "outside the spec home" in (validation.reason or "")
        with pytest.raises(ApplyError):
            applier(op).apply(edit, ctx)
    assert tree_bytes(home) == before_home
    assert tree_bytes(outside) == before_out == {}


CONFIG_OPS = [
    EditOp.SET_MODEL_FOR_QUERY_CLASS,
    EditOp.SET_MODEL_PARAM,
    EditOp.SET_AGENT_CLASS,
    EditOp.SET_AGENT_PARAM,
    EditOp.ADD_TOOL_TO_AGENT,
    EditOp.REMOVE_TOOL_FROM_AGENT,
]


@pytest.mark.parametrize("op", CONFIG_OPS, ids=lambda op: op.value)
def test_invalid_config_toml_is_refused(ctx: ApplyContext, home: Path, op: EditOp) -> None:
    (home / "config.toml").write_text(HOME_CONFIG + "\n[agent.broken\nx = 1\n")
    before = tree_bytes(home)
    validation = applier(op).validate(valid_edit(op), ctx)
    assert not validation.ok
    assert "config.toml is not valid TOML" in (validation.reason or "")
    with pytest.raises(ApplyError):
        applier(op).apply(valid_edit(op), ctx)
    assert tree_bytes(home) == before


def test_invalid_descriptions_toml_is_refused(ctx: ApplyContext, home: Path) -> None:
    (home / "tools" / "descriptions.toml").write_text('[calculator]\ndescription = "open\n')
    before = tree_bytes(home)
    for op in (EditOp.EDIT_TOOL_DESCRIPTION, EditOp.ADD_TOOL_TO_AGENT):
        validation = applier(op).validate(valid_edit(op), ctx)
        assert not validation.ok
        assert "tools/descriptions.toml is not valid TOML" in (validation.reason or "")
    assert tree_bytes(home) == before


@pytest.mark.parametrize(
    ("config", "op", "reason"),
    [
        pytest.param("[learning]\nrouting = 'fixed'\n", EditOp.SET_MODEL_FOR_QUERY_CLASS,
                     "learning.routing exists but is not a table", id="routing-not-a-table"),
        pytest.param("models = 3\n", EditOp.SET_MODEL_PARAM, "models exists but is not a table",
                     id="models-not-a-table"),
        pytest.param("[agent.assistant]\ntools = 'calculator'\n", EditOp.ADD_TOOL_TO_AGENT,
                     "is not an array of strings", id="tools-not-an-array"),
        pytest.param("[agent.coder]\ntools = [1, 2]\n", EditOp.REMOVE_TOOL_FROM_AGENT,
                     "is not an array of strings", id="tools-not-strings"),
        # agents/assistant/ makes the agent known; its key is still not a table.
        pytest.param("[agent]\nassistant = 'x'\n", EditOp.SET_AGENT_PARAM,
                     "agent.assistant exists but is not a table", id="agent-not-a-table"),
    ],
)  # fmt: skip
def test_unexpected_config_shapes_are_refused(
    ctx: ApplyContext, home: Path, config: str, op: EditOp, reason: str
) -> None:
    (home / "config.toml").write_text(config)
    before = tree_bytes(home)
    validation = applier(op).validate(valid_edit(op), ctx)
    assert not validation.ok
    assert reason in (validation.reason or "")
    assert tree_bytes(home) == before


def test_non_utf8_prompt_is_refused_for_patching(ctx: ApplyContext, home: Path) -> None:
    (home / "agents" / "coder" / "system_prompt.md").write_bytes(b"caf\xe9\n")
    validation = applier(EditOp.PATCH_SYSTEM_PROMPT).validate(
        valid_edit(EditOp.PATCH_SYSTEM_PROMPT), ctx
    )
    assert not validation.ok
    assert "not UTF-8" in (validation.reason or "")


@pytest.mark.parametrize("op", list(EditOp), ids=lambda op: op.value)
def test_validate_never_writes(ctx: ApplyContext, home: Path, op: EditOp) -> None:
    before = tree_bytes(home)
    applier(op).validate(valid_edit(op), ctx)
    if op is not EditOp.LORA_FINETUNE:
        applier(op).preview(valid_edit(op), ctx)
    assert tree_bytes(home) == before


def test_lora_finetune_refuses_with_a_clear_reason(ctx: ApplyContext, home: Path) -> None:
    edit = valid_edit(EditOp.LORA_FINETUNE)
    validation = applier(EditOp.LORA_FINETUNE).validate(edit, ctx)
    assert not validation.ok
    assert "never applied by specdistill" in (validation.reason or "")
    assert "set_model_for_query_class" in (validation.reason or "")  # says what to do instead
    with pytest.raises(NotReversible):
        applier(EditOp.LORA_FINETUNE).rollback(edit, ctx)


def test_applier_refuses_an_edit_of_another_op(ctx: ApplyContext) -> None:
    wrong = applier(EditOp.SET_MODEL_PARAM)
    validation = wrong.validate(valid_edit(EditOp.SET_AGENT_PARAM), ctx)
    assert not validation.ok
    assert validation.field == "op"


# --- rollback --------------------------------------------------------------------------------


@pytest.mark.parametrize("op", APPLYING_OPS, ids=lambda op: op.value)
def test_apply_then_rollback_is_byte_identical(ctx: ApplyContext, home: Path, op: EditOp) -> None:
    os.chmod(home / "config.toml", 0o640)
    before = tree_bytes(home)
    modes = {p: p.stat().st_mode for p in home.rglob("*")}
    edit = valid_edit(op)
    result = apply_ok(edit, ctx)
    assert result.changes, "the valid edit must change something for this test to mean anything"
    assert tree_bytes(home) != before
    assert ctx.applied_result(edit.id) is result
    applier(op).rollback(edit, ctx)
    assert tree_bytes(home) == before
    assert {p: p.stat().st_mode for p in home.rglob("*")} == modes
    assert ctx.applied_result(edit.id) is None
    with pytest.raises(NotReversible):  # the pre-image is consumed
        applier(op).rollback(edit, ctx)


def test_rollback_removes_a_file_that_was_absent(ctx: ApplyContext, home: Path) -> None:
    path = home / "agents" / "coder" / "few_shot.json"
    assert not path.exists()
    before = tree_bytes(home)
    edit = valid_edit(EditOp.EDIT_FEW_SHOT_EXEMPLARS)
    apply_ok(edit, ctx)
    assert path.exists()
    applier(edit.op).rollback(edit, ctx)
    assert not path.exists()
    assert tree_bytes(home) == before


def test_rollback_removes_a_new_agent_dir(ctx: ApplyContext, home: Path) -> None:
    (home / "config.toml").write_text(HOME_CONFIG + '\n[agent.planner]\nclass = "simple"\n')
    before = tree_bytes(home)
    edit = make_edit(EditOp.REPLACE_SYSTEM_PROMPT, {"agent": "planner", "new_content": "Plan.\n"})
    apply_ok(edit, ctx)
    assert (home / "agents" / "planner" / "system_prompt.md").read_text() == "Plan.\n"
    applier(edit.op).rollback(edit, ctx)
    assert not (home / "agents" / "planner").exists()
    assert tree_bytes(home) == before


def test_rollback_removes_a_new_tools_dir(ctx: ApplyContext, home: Path) -> None:
    (home / "tools" / "descriptions.toml").unlink()
    (home / "tools").rmdir()
    before = tree_bytes(home)
    edit = valid_edit(EditOp.EDIT_TOOL_DESCRIPTION)
    apply_ok(edit, ctx)
    assert (home / "tools" / "descriptions.toml").is_file()
    applier(edit.op).rollback(edit, ctx)
    assert not (home / "tools").exists()
    assert tree_bytes(home) == before


@pytest.mark.parametrize("op", list(EditOp), ids=lambda op: op.value)
def test_rollback_without_apply_is_not_reversible(ctx: ApplyContext, op: EditOp) -> None:
    edit = valid_edit(op)
    with pytest.raises(NotReversible) as info:
        applier(op).rollback(edit, ctx)
    assert info.value.edit_id == edit.id


def test_rollback_in_another_context_is_not_reversible(ctx: ApplyContext, home: Path) -> None:
    edit = valid_edit(EditOp.SET_MODEL_PARAM)
    apply_ok(edit, ctx)
    with pytest.raises(NotReversible):
        applier(edit.op).rollback(edit, ApplyContext(home=home))


def test_a_sequence_rolled_back_newest_first_restores_everything(
    ctx: ApplyContext, home: Path
) -> None:
    before = tree_bytes(home)
    edits = [valid_edit(op) for op in APPLYING_OPS]
    for edit in edits:
        apply_ok(edit, ctx)
    for edit in reversed(edits):
        applier(edit.op).rollback(edit, ctx)
    assert tree_bytes(home) == before


def test_rollback_of_a_no_op_apply_is_harmless(ctx: ApplyContext, home: Path) -> None:
    edit = make_edit(EditOp.ADD_TOOL_TO_AGENT, {"agent": "coder", "tool_name": "calculator"})
    before = tree_bytes(home)
    apply_ok(edit, ctx)
    applier(edit.op).rollback(edit, ctx)
    assert tree_bytes(home) == before


# --- registry --------------------------------------------------------------------------------


def test_default_registry_has_an_applier_for_every_op() -> None:
    for registry in (default_registry(), default_registry(plugins=False)):
        assert set(registry.ops()) == set(EditOp), "a new EditOp needs a built-in applier"
        assert len(registry) == len(EditOp)
        for op in EditOp:
            assert registry.is_supported(op)
            assert registry.get(op).op is op


def test_default_registry_is_a_new_registry_each_time() -> None:
    first, second = default_registry(plugins=False), default_registry(plugins=False)
    first.unregister(EditOp.SET_MODEL_PARAM)
    assert not first.is_supported(EditOp.SET_MODEL_PARAM)
    assert second.is_supported(EditOp.SET_MODEL_PARAM)


def test_registry_refuses_duplicates_unless_replace() -> None:
    registry = default_registry(plugins=False)
    original = registry.get(EditOp.SET_MODEL_PARAM)
    other = type(original)()
    with pytest.raises(ValueError, match=r"already registered.*replace=True"):
        registry.register(other)
    assert registry.get(EditOp.SET_MODEL_PARAM) is original
    registry.register(other, replace=True)
    assert registry.get(EditOp.SET_MODEL_PARAM) is other


def test_registry_get_of_a_missing_op_names_it() -> None:
    registry = EditApplierRegistry()
    assert not registry.is_supported(EditOp.SET_MODEL_PARAM)
    with pytest.raises(KeyError, match="set_model_param"):
        registry.get(EditOp.SET_MODEL_PARAM)
    assert list(registry) == []


# --- I/O fault injection on the write path ---------------------------------------------------


class FailingWrites:
    """Replaces ``changeset.write_change``: the ``fail_on``-th call raises OSError, others write."""

    def __init__(self, fail_on: int) -> None:
        self.fail_on = fail_on
        self.calls = 0
        self.real = changeset.write_change

    def __call__(self, change: FileChange) -> None:
        self.calls += 1
        if self.calls == self.fail_on:
            raise OSError(28, "No space left on device (injected)")
        self.real(change)


@pytest.mark.parametrize("op", APPLYING_OPS, ids=lambda op: op.value)
def test_failing_first_write_leaves_files_identical(
    ctx: ApplyContext, home: Path, op: EditOp, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Every built-in op writes exactly one file, so the fault goes on the first write.
    assert len(applier(op).preview(valid_edit(op), ctx)) == 1
    before = tree_bytes(home)
    faults = FailingWrites(fail_on=1)
    monkeypatch.setattr(changeset, "write_change", faults)
    edit = valid_edit(op)
    with pytest.raises(ApplyError, match=r"writing failed, files restored.*injected"):
        applier(op).apply(edit, ctx)
    assert faults.calls == 1
    assert tree_bytes(home) == before
    assert not [p for p in home.rglob("*.tmp")]
    assert ctx.applied_result(edit.id) is None


class TwoFileApplier(FileEditApplier):
    """A real applier that writes two files: the prompt, then config.toml."""

    op = EditOp.REPLACE_SYSTEM_PROMPT

    def plan_changes(self, edit: Edit, payload: Payload, ctx: ApplyContext) -> list[FileChange]:
        prompt = ctx.spec_home.system_prompt_path("planner")  # absent: a new dir and file
        config = ctx.spec_home.config_path
        return [
            FileChange(prompt, None, b"Plan.\n"),
            FileChange(config, config.read_bytes(), config.read_bytes() + b"\n# touched\n"),
        ]


def test_failing_second_write_restores_the_first(
    ctx: ApplyContext, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tree_bytes(home)
    faults = FailingWrites(fail_on=2)
    monkeypatch.setattr(changeset, "write_change", faults)
    edit = make_edit(EditOp.REPLACE_SYSTEM_PROMPT, {"agent": "coder", "new_content": "x"})
    with pytest.raises(ApplyError, match="files restored"):
        TwoFileApplier().apply(edit, ctx)
    assert faults.calls == 2
    assert tree_bytes(home) == before
    assert not (home / "agents" / "planner").exists()


def test_two_file_applier_rolls_back_both(ctx: ApplyContext, home: Path) -> None:
    before = tree_bytes(home)
    edit = make_edit(EditOp.REPLACE_SYSTEM_PROMPT, {"agent": "coder", "new_content": "x"})
    TwoFileApplier().apply(edit, ctx)
    assert (home / "agents" / "planner" / "system_prompt.md").exists()
    TwoFileApplier().rollback(edit, ctx)
    assert tree_bytes(home) == before
    assert not (home / "agents" / "planner").exists()


def test_failing_rename_leaves_no_temp_file(
    ctx: ApplyContext, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_replace = os.replace
    calls = []

    def failing_replace(src: Any, dst: Any) -> None:
        calls.append(dst)
        if len(calls) == 1:
            raise OSError(5, "Input/output error (injected)")
        real_replace(src, dst)

    monkeypatch.setattr(fsio.os, "replace", failing_replace)
    before = tree_bytes(home)
    with pytest.raises(ApplyError):
        applier(EditOp.SET_MODEL_PARAM).apply(valid_edit(EditOp.SET_MODEL_PARAM), ctx)
    assert tree_bytes(home) == before
    assert sorted(p.name for p in home.rglob(".*.tmp")) == []


def _chmod_is_enforced(directory: Path) -> bool:
    probe = directory / "probe"
    probe.mkdir()
    os.chmod(probe, 0o500)
    try:
        (probe / "x").write_text("x")
    except PermissionError:
        return True
    else:
        (probe / "x").unlink()
        return False
    finally:
        os.chmod(probe, 0o700)
        probe.rmdir()


def test_read_only_agent_dir(ctx: ApplyContext, home: Path, tmp_path: Path) -> None:
    if not _chmod_is_enforced(tmp_path):
        pytest.skip("chmod 0o500 is not enforced here (running as root): nothing to test")
    agent_dir = home / "agents" / "coder"
    before = tree_bytes(home)
    os.chmod(agent_dir, 0o500)
    try:
        edit = valid_edit(EditOp.REPLACE_SYSTEM_PROMPT)
        with pytest.raises(ApplyError, match="files restored"):
            applier(edit.op).apply(edit, ctx)
    finally:
        os.chmod(agent_dir, 0o755)
    assert tree_bytes(home) == before


# --- the interface is usable by third parties ------------------------------------------------


def test_edit_applier_is_abstract() -> None:
    with pytest.raises(TypeError):
        EditApplier()  # type: ignore[abstract]


def test_validation_result_helpers() -> None:
    assert ValidationResult.success() == ValidationResult(ok=True)
    failure = ValidationResult.failure("why", "payload.x")
    assert (failure.ok, failure.reason, failure.field) == (False, "why", "payload.x")


def test_apply_result_diff_names_the_file(ctx: ApplyContext, home: Path) -> None:
    result = apply_ok(valid_edit(EditOp.SET_AGENT_PARAM), ctx)
    diff = result.unified_diff(home)
    assert diff.startswith("--- a/config.toml\n+++ b/config.toml\n")
    assert "-max_turns = 4\n+max_turns = 6\n" in diff
    created = apply_ok(valid_edit(EditOp.EDIT_FEW_SHOT_EXEMPLARS), ctx).unified_diff(home)
    assert created.startswith("--- /dev/null\n+++ b/agents/coder/few_shot.json\n")


def test_agent_name_with_dots_is_read_whole_from_the_target(ctx: ApplyContext, home: Path) -> None:
    (home / "agents" / "v1.2").mkdir()
    edit = make_edit(
        EditOp.REPLACE_SYSTEM_PROMPT,
        {"new_content": "dotted\n"},
        target="agents.v1.2.system_prompt",
    )
    apply_ok(edit, ctx)
    assert (home / "agents" / "v1.2" / "system_prompt.md").read_text() == "dotted\n"


@pytest.mark.parametrize(
    ("agent_param", "value", "expected"),
    [
        ("temperature", 1, "temperature = 1.0"),  # float key given an int: stays a float
        ("max_turns", 6, "max_turns = 6"),
    ],
    ids=["int-into-float-key", "int-into-int-key"],
)
def test_numeric_values_keep_the_key_type(
    ctx: ApplyContext, home: Path, agent_param: str, value: int, expected: str
) -> None:
    payload = {"agent": "assistant", "param": agent_param, "value": value}
    apply_ok(make_edit(EditOp.SET_AGENT_PARAM, payload), ctx)
    assert expected in (home / "config.toml").read_text()


def test_a_float_for_an_int_key_is_refused_unless_the_param_is_a_float_by_nature(
    ctx: ApplyContext, home: Path
) -> None:
    bad = make_edit(
        EditOp.SET_AGENT_PARAM, {"agent": "assistant", "param": "max_turns_hard", "value": 12.5}
    )
    result = applier(bad.op).validate(bad, ctx)
    assert not result.ok and "is an int" in (result.reason or "")
    (home / "config.toml").write_text(
        (home / "config.toml").read_text().replace("temperature = 0.2\n\n#", "temperature = 1\n\n#")
    )
    good = make_edit(
        EditOp.SET_AGENT_PARAM, {"agent": "assistant", "param": "temperature", "value": 0.7}
    )
    apply_ok(good, ctx)
    assert "temperature = 0.7" in (home / "config.toml").read_text()
