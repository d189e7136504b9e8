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
    table: TableLike = node
    return table


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
        if last:
            new.add(tomlkit.nl())  # a blank line before whatever table follows
        node[key] = new
        node = node[key]
    table: TableLike = node
    return table


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


#: Params whose value is naturally a float even when a user wrote it as ``1``.
FLOAT_PARAMS = frozenset({"temperature", "top_p", "presence_penalty", "frequency_penalty"})


def _a(kind: str) -> str:
    return f"an {kind}" if kind[0] in "aeiou" else f"a {kind}"


def coerce_to_existing(existing: Any, new: Any, *, label: str, edit_id: str) -> Any:
    """The value to write over ``existing``: the key keeps its type.

    An int for a float key is written as a float (int to float is compatible).
    A float for an int key is refused, except for params that are floats by
    nature (``temperature = 1`` may become ``0.7``). Any other change of type (a
    string where a number was, an array where a bool was) is refused: it would
    silently change what the agent reads.
    """
    if existing is None:
        return new
    old_kind, new_kind = _kind(existing), _kind(new)
    if old_kind == new_kind:
        return new
    key = label.rsplit(".", 1)[-1]
    if (old_kind, new_kind) == ("float", "int") or (
        (old_kind, new_kind) == ("int", "float") and key in FLOAT_PARAMS
    ):
        return float(new)
    raise InvalidEdit(
        f"{label} is {_a(old_kind)} ({existing!r}); refusing to replace it with {_a(new_kind)}",
        edit_id=edit_id,
        field="payload.value",
    )


def set_value(table: TableLike, key: str, value: Any, *, label: str, edit_id: str) -> None:
    """Set ``key`` (exactly) to a typed value, keeping the key's place and comment."""
    existing: Any = table.get(key)
    plain = existing.unwrap() if hasattr(existing, "unwrap") else existing
    value = coerce_to_existing(plain, value, label=label, edit_id=edit_id)
    if isinstance(existing, tomlkit.items.Item) and existing.trivia.comment:
        item = tomlkit.item(value)
        item.trivia.comment = existing.trivia.comment
        item.trivia.comment_ws = existing.trivia.comment_ws
        table[key] = item
    elif existing is None:
        add_key_before_trailing_trivia(table, key, value)
    else:
        table[key] = value


def add_key_before_trailing_trivia(table: TableLike, key: str, value: Any) -> None:
    """Add a new key after the table's last key, not after its trailing blank lines and
    comments: those introduce the next table (``# The coding agent.`` / ``[agent.coder]``)."""
    container = table.value if isinstance(table, Table) else None
    body = getattr(container, "body", None)
    if container is None or not body or body[-1][0] is not None:
        table[key] = value
        return
    last_key = next((k for k, _ in reversed(body) if k is not None), None)
    if last_key is None:
        container._insert_at(0, key, value)  # tomlkit has no public insert
    else:
        container._insert_after(last_key, key, value)


def string_array(table: TableLike, key: str, *, label: str, edit_id: str) -> Array | None:
    """``table[key]`` as a TOML array of strings, or None when absent."""
    value = table.get(key)
    if value is None:
        return None
    if not isinstance(value, Array) or not all(isinstance(v, str) for v in value):
        raise InvalidEdit(f"{label} is not an array of strings", edit_id=edit_id)
    return value
