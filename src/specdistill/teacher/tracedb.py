"""Read traces from an OpenJarvis ``traces.db`` (SQLite), mapping columns by name.

The database is opened read-only; nothing is ever written to it. The expected schema is
OpenJarvis's ``TraceStore``'s (extra columns are ignored, column order does not matter)::

    CREATE TABLE traces (
        trace_id    TEXT NOT NULL UNIQUE,   -- required  -> Trace.id
        query       TEXT NOT NULL,          -- required  -> Trace.query
        result      TEXT NOT NULL,          -- required  -> Trace.answer  (or a column "answer")
        feedback    REAL,                   -- required  -> Trace.feedback (NULL = unrated)
        agent       TEXT,                   -- optional  -> Trace.agent ('' = none)
        query_class TEXT,                   -- optional  -> Trace.query_class
        started_at  REAL,                   -- optional  Unix seconds or ISO text (0 = unknown)
        ended_at    REAL,                   -- optional  idem
        model       TEXT,                   -- optional  -> metadata.model
        outcome     TEXT,                   -- optional  -> metadata.outcome
        metadata    TEXT                    -- optional  a JSON object -> Trace.metadata
    );
    CREATE TABLE trace_steps (              -- optional: tool calls
        trace_id TEXT, step_index INTEGER, step_type TEXT, input TEXT, output TEXT
    );

Without a ``query_class`` column, the class is ``metadata.query_class`` when present.
OpenJarvis's own ``traces.db`` has neither: OpenJarvis derives a query's class from its
text when it needs one, and so does this reader for a row without one
(:func:`specdistill.openjarvis.classify_query`: ``code``, ``math``, ``short``, ``long``
or ``general``), noting ``metadata.query_class_derived = true``. A benchmark built from
such a database then has clusters, and routing edits are measured.
Steps whose ``step_type`` is ``'tool_call'`` become :class:`~.trace_model.ToolCall` objects:
the name is the step input's ``tool``, ``name`` or ``tool_name`` (else ``"unknown"``),
the arguments its ``arguments`` or ``args``, the result the step's output.

A missing table or required column is refused with one message naming what is absent
and what the file has; each row that does not make a valid trace is reported by its row
number and ``trace_id``, all at once.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from specdistill.openjarvis import classify_query
from specdistill.teacher.errors import TraceError
from specdistill.teacher.trace_model import ToolCall, Trace, row_problem

TABLE = "traces"
STEPS_TABLE = "trace_steps"
#: Trace field -> the column names that may hold it, in order of preference.
COLUMNS: dict[str, tuple[str, ...]] = {
    "id": ("trace_id",),
    "query": ("query",),
    "answer": ("result", "answer"),
    "feedback": ("feedback",),
    "agent": ("agent",),
    "query_class": ("query_class",),
    "started_at": ("started_at",),
    "ended_at": ("ended_at",),
    "model": ("model",),
    "outcome": ("outcome",),
    "metadata": ("metadata",),
}
REQUIRED = ("id", "query", "answer", "feedback")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _columns(db: sqlite3.Connection, table: str) -> list[str]:
    return [row[1] for row in db.execute(f"PRAGMA table_info({_quote(table)})")]


def _tables(db: sqlite3.Connection) -> list[str]:
    rows = db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")
    return sorted(row[0] for row in rows)


def _mapping(label: str, db: sqlite3.Connection) -> dict[str, str]:
    tables = _tables(db)
    if TABLE not in tables:
        raise TraceError(
            [
                f"{label}: no table {TABLE!r} (expected an OpenJarvis traces.db; "
                f"tables: {', '.join(tables) or 'none'})"
            ]
        )
    present = _columns(db, TABLE)
    mapping = {}
    for field_name, candidates in COLUMNS.items():
        found = next((c for c in candidates if c in present), None)
        if found is not None:
            mapping[field_name] = found
    missing = ["/".join(COLUMNS[f]) for f in REQUIRED if f not in mapping]
    if missing:
        raise TraceError(
            [
                f"{label}: table {TABLE!r} lacks column(s) {', '.join(missing)} "
                f"(required: trace_id, query, result, feedback; has: {', '.join(present)})"
            ]
        )
    return mapping


def _time(value: Any) -> Any:
    if value is None or value == 0 or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return datetime.fromtimestamp(value, tz=UTC)
    return value  # text: pydantic parses ISO 8601 and reports anything else


def _json(value: Any, default: Any) -> Any:
    if value is None or value == "":
        return default
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


def _tool_calls(db: sqlite3.Connection) -> dict[str, list[ToolCall]]:
    if STEPS_TABLE not in _tables(db):
        return {}
    present = set(_columns(db, STEPS_TABLE))
    if not {"trace_id", "step_type", "input", "output"} <= present:
        return {}
    order = "trace_id, step_index" if "step_index" in present else "trace_id, rowid"
    calls: dict[str, list[ToolCall]] = {}
    query = (
        f"SELECT trace_id, input, output FROM {STEPS_TABLE} "
        f"WHERE step_type = 'tool_call' ORDER BY {order}"
    )
    for trace_id, raw_input, raw_output in db.execute(query):
        step = _json(raw_input, {})
        step = step if isinstance(step, dict) else {"arguments": step}
        name = next(
            (step[k] for k in ("tool", "name", "tool_name") if isinstance(step.get(k), str)),
            "unknown",
        )
        arguments = step.get("arguments", step.get("args"))
        call = ToolCall(
            name=name[:200] or "unknown", arguments=arguments, result=_json(raw_output, None)
        )
        calls.setdefault(str(trace_id), []).append(call)
    return calls


def _row_to_data(row: Mapping[str, Any], tools: dict[str, list[ToolCall]]) -> dict[str, Any]:
    metadata = _json(row.get("metadata"), {})
    metadata = dict(metadata) if isinstance(metadata, dict) else {"metadata": metadata}
    for extra in ("model", "outcome"):
        if row.get(extra) not in (None, ""):
            metadata[extra] = row[extra]
    query_class = row.get("query_class")
    if query_class in (None, "") and isinstance(metadata.get("query_class"), str):
        query_class = metadata["query_class"]
    if query_class in (None, "") and isinstance(row["query"], str):
        query_class = classify_query(row["query"])
        metadata["query_class_derived"] = True
    agent = row.get("agent")
    return {
        "id": row["id"],
        "query": row["query"],
        "answer": row["answer"] if row["answer"] is not None else "",
        "feedback": row["feedback"],
        "agent": agent if agent not in ("", None) else None,
        "query_class": query_class if query_class not in ("", None) else None,
        "started_at": _time(row.get("started_at")),
        "ended_at": _time(row.get("ended_at")),
        "tool_calls": tools.get(str(row["id"]), []),
        "metadata": metadata,
    }


def read_traces_db(path: str | Path) -> list[Trace]:
    """Every row of ``traces`` as a Trace; TraceError naming each bad row (see module doc)."""
    path = Path(path)
    label = path.name
    try:
        db = sqlite3.connect(f"{path.absolute().as_uri()}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise TraceError([f"{label}: cannot open as SQLite ({exc})"], path=path) from None
    try:
        mapping = _mapping(label, db)
        fields = list(mapping)
        select = ", ".join(_quote(mapping[f]) for f in fields)
        rows = db.execute(f"SELECT {select} FROM {TABLE} ORDER BY rowid").fetchall()
        tools = _tool_calls(db)
    except sqlite3.Error as exc:
        raise TraceError([f"{label}: not a readable traces database ({exc})"], path=path) from None
    except TraceError as exc:
        raise TraceError(list(exc.problems), path=path) from None
    finally:
        db.close()
    traces: list[Trace] = []
    problems: list[str] = []
    seen: set[str] = set()
    for number, values in enumerate(rows, start=1):
        row = dict(zip(fields, values, strict=True))
        where = f"row {number} (trace_id {row['id']!r})"
        try:
            trace = Trace.model_validate(_row_to_data(row, tools))
        except ValidationError as exc:
            problems.append(row_problem(label, where, exc))
            continue
        if trace.id in seen:
            problems.append(f"{label} {where}: field 'id': duplicate trace id")
            continue
        seen.add(trace.id)
        traces.append(trace)
    if problems:
        raise TraceError(problems, path=path)
    return traces
