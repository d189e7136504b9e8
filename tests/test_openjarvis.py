"""``specdistill.openjarvis``: OpenJarvis's facts as data. The query-class rule on its
boundaries (first match wins: code, math, then by length), the built-in tools, where a
home keeps its traces, and OpenJarvis's session-id form; and the tool catalog and agent
rules built on them, on real files."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from conftest import make_edit, tree_bytes
from specdistill import ApplyContext, EditOp
from specdistill.appliers.registry import default_registry
from specdistill.appliers.tools import tool_catalog
from specdistill.openjarvis import (
    BUILTIN_TOOLS,
    SOURCE_COMMIT,
    classify_query,
    is_openjarvis_session_id,
    traces_db,
)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        pytest.param("```print(1)```", "code", id="fence"),
        pytest.param("what does `x` mean", "code", id="inline-code"),
        pytest.param("def f(x): calculate it", "code", id="code-before-math"),
        pytest.param("Imports matter", "short", id="import-needs-a-space-after"),
        pytest.param("import os", "code", id="import-word"),
        pytest.param("undefined behaviour", "short", id="def-inside-a-word"),
        pytest.param("Please SOLVE it", "math", id="math-any-case"),
        pytest.param("recompute", "short", id="math-inside-a-word"),
        pytest.param("x" * 49, "short", id="49-chars"),
        pytest.param("x" * 50, "general", id="50-chars"),
        pytest.param("x" * 500, "general", id="500-chars"),
        pytest.param("x" * 501, "long", id="501-chars"),
        pytest.param("", "short", id="empty"),
    ],
)
def test_classify_query_follows_openjarvis_rule(query: str, expected: str) -> None:
    assert classify_query(query) == expected


def test_builtin_tools_are_data_with_their_source() -> None:
    assert len(SOURCE_COMMIT) == 40
    assert {"calculator", "code_interpreter", "web_search", "shell_exec", "think"} <= BUILTIN_TOOLS
    assert "name" not in BUILTIN_TOOLS  # the registry's docstring example is not a tool
    assert len(BUILTIN_TOOLS) == 63


def test_traces_db_location(tmp_path: Path) -> None:
    assert traces_db(tmp_path, {}) is None
    (tmp_path / "traces.db").write_bytes(b"")
    assert traces_db(tmp_path, {}) == tmp_path / "traces.db"
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "t.db").write_bytes(b"")
    assert traces_db(tmp_path, {"traces": {"db_path": "data/t.db"}}) == tmp_path / "data/t.db"
    assert traces_db(tmp_path, {"traces": {"db_path": "missing.db"}}) is None


def test_session_id_forms() -> None:
    assert is_openjarvis_session_id("session-20260822T101500_1a2b3c4d")
    assert not is_openjarvis_session_id("20260822-101500-1a2b3c")
    assert not is_openjarvis_session_id("session-20260822T101500_1a2b3c4d/..")


# --- the tool catalog and agents, on the conftest home --------------------------------------


def validate(ctx: ApplyContext, op: EditOp, payload: dict[str, object]) -> tuple[bool, str]:
    result = default_registry(plugins=False).get(op).validate(make_edit(op, payload), ctx)
    return result.ok, result.reason


def test_the_catalog_says_where_each_tool_is_known_from(ctx: ApplyContext, home: Path) -> None:
    config = home / "config.toml"
    config.write_text(config.read_text() + '\n[tools]\nenabled = "pdf_reader, notes"\n')
    catalog = tool_catalog(ctx, make_edit(EditOp.EDIT_TOOL_DESCRIPTION, {}))
    assert catalog["web_search"] == "tools/descriptions.toml"
    assert catalog["notes"] == catalog["pdf_reader"] == "config.toml [tools] enabled"
    assert catalog["code_interpreter"].startswith("OpenJarvis's built-in tools (620f20cc")


def test_a_builtin_tool_is_accepted_and_an_unknown_one_refused(
    ctx: ApplyContext, home: Path
) -> None:
    assert validate(ctx, EditOp.ADD_TOOL_TO_AGENT, {"agent": "coder", "tool_name": "think"})[0]
    ok, reason = validate(ctx, EditOp.ADD_TOOL_TO_AGENT, {"agent": "coder", "tool_name": "rm_rf"})
    assert not ok and "unknown tool 'rm_rf'" in reason


def test_describing_a_known_tool_creates_descriptions_toml(ctx: ApplyContext, home: Path) -> None:
    (home / "tools" / "descriptions.toml").unlink()
    config = home / "config.toml"
    config.write_text(config.read_text() + '\n[tools]\nenabled = ["notes"]\n')
    applier = default_registry(plugins=False).get(EditOp.EDIT_TOOL_DESCRIPTION)
    edit = make_edit(EditOp.EDIT_TOOL_DESCRIPTION, {"tool_name": "notes", "new_description": "N"})
    applier.apply(edit, ctx)
    written = tomllib.loads((home / "tools" / "descriptions.toml").read_text())
    assert written == {"notes": {"description": "N"}}
    before = tree_bytes(home)
    unknown = make_edit(EditOp.EDIT_TOOL_DESCRIPTION, {"tool_name": "nope", "new_description": "x"})
    assert not applier.validate(unknown, ctx).ok
    assert tree_bytes(home) == before
