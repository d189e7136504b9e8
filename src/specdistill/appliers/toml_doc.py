"""Style-preserving TOML edits through tomlkit, with typed values and exact keys.

Edits go through tomlkit's document model, never string splicing, so users'
comments, key order and formatting survive, a string value is always written
quoted and escaped, and a key matches only itself (``max_turns`` never touches
``max_turns_hard``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Array, InlineTable, Table
from tomlkit.toml_document import TOMLDocument

from specdistill.errors import InvalidEdit

TableLike = Table | InlineTable | Container | TOMLDocument


def parse_document(data: bytes | None, *, label: str, edit_id: str) -> TOMLDocument:
    """Parse current bytes (absent → empty document); unparsable input is refused."""
    if data is None:
        return tomlkit.document()
    try:
        return tomlkit.parse(data.decode("utf-8"))
    except (UnicodeDecodeError, TOMLKitError) as exc:
        raise InvalidEdit(
            f"{label} is not valid TOML ({exc}); fix it before applying edits", edit_id=edit_id
        ) from None


def dump_document(doc: TOMLDocument) -> bytes:
    return tomlkit.dumps(doc).encode("utf-8")


def find_table(doc: TOMLDocument, keys: Sequence[str]) -> TableLike | None:
    """The table at ``keys`` (e.g. ``["agent", "assistant"]``), or None if absent."""
    node: Any = doc
    for key in keys:
        if not hasattr(node, "get") or key not in node:
            return None
        node = node[key]
    if isinstance(node, AoT) or not hasattr(node, "get"):
        return None
    return node


def ensure_table(doc: TOMLDocument, keys: Sequence[str], *, label: str, edit_id: str) -> TableLike:
    """The table at ``keys``, created (as ``[a.b.c]`` without empty parent headers) if absent."""
    node: Any = doc
    for depth, key in enumerate(keys):
        if key in node:
            node = node[key]
            if not hasattr(node, "get") or isinstance(node, AoT):
                path = ".".join(keys[: depth + 1])
                raise InvalidEdit(f"{label}: {path} exists but is not a table", edit_id=edit_id)
            continue
        last = depth == len(keys) - 1
        new = tomlkit.table(is_super_table=not last)
        node[key] = new
        node = node[key]
    return node


def _kind(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int):
        return "int"
    if isinstance(value, float):
        return "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return type(value).__name__


def coerce_to_existing(existing: Any, new: Any, *, label: str, edit_id: str) -> Any:
    """The value to write over ``existing``: same kind, or int↔float (kept as float).

    Changing a key's type (a string where a number was, an array where a bool
    was) is refused: it would silently change what the agent reads.
    """
    if existing is None:
        return new
    old_kind, new_kind = _kind(existing), _kind(new)
    if old_kind == new_kind:
        return new
    if {old_kind, new_kind} == {"int", "float"}:
        return float(new)
    raise InvalidEdit(
        f"{label} is a {old_kind} ({existing!r}); refusing to replace it with a {new_kind}",
        edit_id=edit_id,
        field="payload.value",
    )


def set_value(table: TableLike, key: str, value: Any, *, label: str, edit_id: str) -> None:
    """Set ``key`` (exactly) to a typed value, keeping the key's place and comment."""
    existing = table.get(key)
    plain = existing.unwrap() if hasattr(existing, "unwrap") else existing
    value = coerce_to_existing(plain, value, label=label, edit_id=edit_id)
    if isinstance(existing, tomlkit.items.Item) and existing.trivia.comment:
        item = tomlkit.item(value)
        item.trivia.comment = existing.trivia.comment
        item.trivia.comment_ws = existing.trivia.comment_ws
        table[key] = item
    else:
        table[key] = value


def string_array(table: TableLike, key: str, *, label: str, edit_id: str) -> Array | None:
    """``table[key]`` as a TOML array of strings, or None when absent."""
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, Array) or not all(isinstance(v, str) for v in value):
        raise InvalidEdit(f"{label} is not an array of strings", edit_id=edit_id)
    return value
