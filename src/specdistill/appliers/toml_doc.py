"""Style-preserving TOML edits through tomlkit, with typed values and exact keys.

Edits go through tomlkit's document model, never string splicing, so users'
comments, key order and formatting survive, a string value is always written
quoted and escaped, and a key matches only itself (``max_turns`` never touches
``max_turns_hard``).

Parsing is most of an edit's cost, so documents are kept between edits, keyed
by the exact bytes they stand for (:mod:`specdistill.appliers.doc_cache`), so
that a change made outside specdistill is a miss and a fresh parse.
:func:`parse_document` hands out the kept document; tomlkit documents are
mutable, so a document handed out before is handed out again only after
checking that it still dumps to exactly its key (one dump, ~20x cheaper than a
parse); an edit refused half-way therefore never leaks into the next one.
:func:`dump_and_keep` keeps an edited document under the bytes it now dumps to
(the next edit reads those bytes from disk). :func:`plain_document` is
tomllib's parse, cached the same way, for code that only looks.
"""

from __future__ import annotations

import tomllib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import tomlkit
from tomlkit.container import Container
from tomlkit.exceptions import TOMLKitError
from tomlkit.items import AoT, Array, InlineTable, Table
from tomlkit.toml_document import TOMLDocument

from specdistill.appliers.doc_cache import BytesKeyedCache
from specdistill.errors import InvalidEdit

TableLike = Table | InlineTable | Container | TOMLDocument


@dataclass
class _Kept:
    doc: TOMLDocument
    #: Handed out since it was kept: its holder may have changed it.
    handed_out: bool = False


#: tomlkit documents by the exact bytes they dump to.
DOCUMENTS: BytesKeyedCache[_Kept] = BytesKeyedCache(8)
#: tomllib's parse by the exact bytes parsed; shared, never mutated.
PLAIN: BytesKeyedCache[dict[str, Any]] = BytesKeyedCache(16)


def parse_document(data: bytes | None, *, label: str, edit_id: str) -> TOMLDocument:
    """The document of ``data`` (absent → empty document); unparsable input is refused.

    From the cache when these exact bytes were parsed or kept before, else
    parsed. The caller may change it (that is how edits are made); a changed
    document is never handed out again for ``data``. A document is valid until
    the next ``parse_document`` of the same bytes.
    """
    if data is None:
        return tomlkit.document()
    kept = DOCUMENTS.get(data)
    if kept is not None:
        if not kept.handed_out or dump_document(kept.doc) == data:
            kept.handed_out = True
            return kept.doc
        DOCUMENTS.take(data)  # changed by whoever had it: parse afresh
    try:
        doc = tomlkit.parse(data.decode("utf-8"))
    except (UnicodeDecodeError, TOMLKitError) as exc:
        raise InvalidEdit(
            f"{label} is not valid TOML ({exc}); fix it before applying edits", edit_id=edit_id
        ) from None
    DOCUMENTS.put(data, _Kept(doc, handed_out=True))
    return doc


def dump_document(doc: TOMLDocument) -> bytes:
    return tomlkit.dumps(doc).encode("utf-8")


def dump_and_keep(doc: TOMLDocument) -> bytes:
    """:func:`dump_document`, keeping ``doc`` as the document of the bytes returned.

    The caller gives ``doc`` up: the next :func:`parse_document` of these bytes
    (e.g. the next edit, reading the file this one wrote) takes it over.
    """
    data = dump_document(doc)
    DOCUMENTS.put(data, _Kept(doc))  # an entry of the bytes it was parsed from fails its check
    return data


def plain_loads(data: bytes) -> dict[str, Any]:
    """tomllib's parse of ``data``, cached by its bytes: shared, so never mutate it.

    Raises UnicodeDecodeError or tomllib.TOMLDecodeError (never cached).
    """
    plain = PLAIN.get(data)
    if plain is None:
        plain = tomllib.loads(data.decode("utf-8"))
        PLAIN.put(data, plain)
    return plain


def plain_document(data: bytes | None, *, label: str, edit_id: str) -> dict[str, Any]:
    """:func:`plain_loads` for code that only looks (absent → ``{}``); unparsable is refused."""
    if data is None:
        return {}
    try:
        return plain_loads(data)
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InvalidEdit(
            f"{label} is not valid TOML ({exc}); fix it before applying edits", edit_id=edit_id
        ) from None


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
