"""What specdistill knows of OpenJarvis, as data: its built-in tools, how it names
query classes and sessions, and where its home keeps the traces.

Everything here is a fact read from OpenJarvis's source at one commit
(:data:`SOURCE_COMMIT`, 2026-08-22), restated in our own code; nothing imports
OpenJarvis. It is used where an OpenJarvis home meets specdistill:

- the tool catalog (``appliers/tools.py``) knows :data:`BUILTIN_TOOLS`, because in
  OpenJarvis ``tools/descriptions.toml`` only *overrides* the descriptions of tools
  that exist anyway;
- a trace without a query class gets :func:`classify_query`'s, the class
  OpenJarvis's router gives the same query text;
- ``run`` on an OpenJarvis home reads its ``traces.db`` (:func:`traces_db`) when no
  ``--traces`` is given;
- ``doctor`` recognises a session folder OpenJarvis left without a record
  (:func:`is_openjarvis_session_id`).

Standard library only, so that any layer may use it.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Any

#: The OpenJarvis commit (open-jarvis/OpenJarvis, 2026-08-22) these facts were read from.
SOURCE_COMMIT = "620f20cc6ba37371d97d380b9fbbe782be757966"

#: Every tool OpenJarvis registers with ``@ToolRegistry.register(<name>)`` under
#: ``src/openjarvis/`` at :data:`SOURCE_COMMIT` (the ``tools`` package and the
#: scheduler's tools).
BUILTIN_TOOLS: frozenset[str] = frozenset(
    {
        "agent_kill",
        "agent_list",
        "agent_send",
        "agent_spawn",
        "apply_patch",
        "audio_transcribe",
        "browser_axtree",
        "browser_click",
        "browser_extract",
        "browser_navigate",
        "browser_screenshot",
        "browser_type",
        "calculator",
        "calendar_search",
        "calendar_upcoming",
        "cancel_scheduled_task",
        "channel_list",
        "channel_send",
        "channel_status",
        "check_permission",
        "code_interpreter",
        "code_interpreter_docker",
        "db_query",
        "digest_collect",
        "docker_shell_exec",
        "execute_pending_actions",
        "file_read",
        "file_write",
        "get_pending_actions",
        "git_commit",
        "git_diff",
        "git_log",
        "git_status",
        "http_request",
        "image_generate",
        "kg_add_entity",
        "kg_add_relation",
        "kg_neighbors",
        "kg_query",
        "knowledge_search",
        "knowledge_sql",
        "list_scheduled_tasks",
        "llm",
        "memory_index",
        "memory_manage",
        "memory_retrieve",
        "memory_search",
        "memory_store",
        "pause_scheduled_task",
        "pdf_extract",
        "queue_action",
        "record_decision",
        "repl",
        "resume_scheduled_task",
        "retrieval",
        "scan_chunks",
        "schedule_task",
        "shell_exec",
        "skill_manage",
        "text_to_speech",
        "think",
        "user_profile_manage",
        "web_search",
    }
)

# --- query classes ---------------------------------------------------------------------------

# OpenJarvis's router (learning/routing/_utils.py) sorts a query into one of five
# classes, first match wins: code (a code fence, inline code, or def/class/import/
# function followed by a space), math (solve, integral, equation, calculate, compute as
# words), then by length: short (< 50 characters), long (> 500), else general.
_CODE = re.compile(r"```|`[^`]+`|\b(?:def|class|import|function)\s", re.IGNORECASE)
_MATH = re.compile(r"\b(?:solve|integral|equation|calculate|compute)\b", re.IGNORECASE)
QUERY_CLASSES = ("code", "math", "short", "long", "general")


def classify_query(query: str) -> str:
    """The query class OpenJarvis's router gives ``query`` (one of :data:`QUERY_CLASSES`).

    >>> classify_query("Please compute 17 * 3 for me")
    'math'
    >>> classify_query("hi")
    'short'
    """
    if _CODE.search(query):
        return "code"
    if _MATH.search(query):
        return "math"
    if len(query) < 50:
        return "short"
    if len(query) > 500:
        return "long"
    return "general"


# --- the home --------------------------------------------------------------------------------

#: The traces database a home keeps unless ``[traces] db_path`` says otherwise.
TRACES_DB = "traces.db"

#: ``session-<UTC yyyymmddThhmmss>_<8 hex>``: the folder name OpenJarvis's orchestrator
#: gives a session under ``learning/sessions/``.
_SESSION_ID = re.compile(r"session-\d{8}T\d{6}_[0-9a-f]{8}")


def is_openjarvis_session_id(name: str) -> bool:
    """Whether ``name`` is a session id in OpenJarvis's form (not specdistill's)."""
    return _SESSION_ID.fullmatch(name) is not None


def env_home() -> Path | None:
    """``$OPENJARVIS_HOME``, when set (OpenJarvis's own override of ``~/.openjarvis``)."""
    value = os.environ.get("OPENJARVIS_HOME")
    return Path(value).expanduser() if value else None


def traces_db(root: Path, config: dict[str, Any]) -> Path | None:
    """The home's OpenJarvis traces database, if it exists: ``[traces] db_path`` (relative
    paths from the home), else ``<home>/traces.db``. ``config`` is the parsed config.toml.
    """
    section = config.get("traces")
    configured = section.get("db_path") if isinstance(section, dict) else None
    if isinstance(configured, str) and configured:
        path = Path(configured).expanduser()
        path = path if path.is_absolute() else root / path
    else:
        path = root / TRACES_DB
    return path if path.is_file() else None


def read_config(root: Path) -> dict[str, Any]:
    """``<root>/config.toml`` parsed, or ``{}`` when it is absent or unreadable."""
    try:
        return tomllib.loads((root / "config.toml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}
