"""The parse cache (``specdistill.appliers.doc_cache`` and its use in ``toml_doc``).

The property that matters: with documents kept between edits, every step of a
random plan writes exactly the bytes it writes when every file is parsed afresh,
and reports the same outcome. The plans mix applied edits, edits refused by
validation (some after the document was already touched), edits validated and
never applied (a dry run), edits applied then rolled back (a gate reject), and
changes made by hand between edits (the cache must never miss one).
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import pytest
import tomlkit
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import make_edit, tree_bytes
from specdistill import ApplyContext, AutonomyMode, Edit, EditOp, default_registry, execute_edits
from specdistill.appliers import toml_doc
from specdistill.appliers.doc_cache import BytesKeyedCache
from specdistill.appliers.routing import config_change
from specdistill.errors import InvalidEdit

# -- the cache itself ------------------------------------------------------------------


def test_take_gives_ownership_and_put_gives_back() -> None:
    cache: BytesKeyedCache[list[int]] = BytesKeyedCache(4)
    cache.put(b"a", [1])
    owned = cache.take(b"a")
    assert owned == [1]
    owned.append(2)  # the owner mutates it: nobody else can see it
    assert cache.take(b"a") is None
    cache.put(b"b", owned)
    assert cache.get(b"b") == [1, 2] and cache.get(b"a") is None


def test_bounded_least_recently_used_first() -> None:
    cache: BytesKeyedCache[int] = BytesKeyedCache(2)
    cache.put(b"one", 1)
    cache.put(b"two", 2)
    assert cache.get(b"one") == 1  # "two" is now the least recently used
    cache.put(b"three", 3)
    assert len(cache) == 2
    assert cache.get(b"two") is None and cache.get(b"one") == 1 and cache.get(b"three") == 3


def test_disabled_keeps_nothing() -> None:
    cache: BytesKeyedCache[int] = BytesKeyedCache(2)
    cache.put(b"x", 1)
    with cache.disabled():
        assert cache.get(b"x") is None
        cache.put(b"y", 2)
        assert cache.take(b"y") is None
    assert len(cache) == 0
    with pytest.raises(ValueError):
        BytesKeyedCache(0)


def test_a_document_is_found_only_by_its_exact_bytes() -> None:
    text = b"[agent.a]\nmax_turns = 4\n"
    doc = toml_doc.parse_document(text, label="config.toml", edit_id="e1")
    doc["agent"]["a"]["max_turns"] = 5
    after = toml_doc.dump_and_keep(doc)
    assert after == b"[agent.a]\nmax_turns = 5\n"
    # The bytes it was parsed from no longer find it: it was changed since.
    again = toml_doc.parse_document(text, label="config.toml", edit_id="e2")
    assert again is not doc and again["agent"]["a"]["max_turns"] == 4
    # A change made by hand (one byte) is a miss too.
    by_hand = toml_doc.parse_document(after + b"# x\n", label="config.toml", edit_id="e3")
    assert by_hand is not doc
    assert toml_doc.parse_document(after, label="config.toml", edit_id="e4") is doc
    # Handed out again (unchanged, so it still dumps to its key).
    assert toml_doc.parse_document(after, label="config.toml", edit_id="e5") is doc
    doc["agent"]["a"]["max_turns"] = 6  # changed by a holder, not kept
    fresh = toml_doc.parse_document(after, label="config.toml", edit_id="e6")
    assert fresh is not doc and fresh["agent"]["a"]["max_turns"] == 5


def test_refused_edit_leaves_no_touched_document(ctx: ApplyContext) -> None:
    """A mutation refused half-way drops the document it touched: the next parse
    of the same bytes is clean (nothing of the refused edit leaks into a later one)."""
    before = ctx.spec_home.config_path.read_bytes()
    warm = toml_doc.parse_document(before, label="config.toml", edit_id="w")
    assert toml_doc.parse_document(before, label="config.toml", edit_id="w") is warm
    edit = make_edit(EditOp.SET_AGENT_PARAM, {"agent": "coder", "param": "x", "value": 1})

    def touch_then_refuse(doc: tomlkit.TOMLDocument) -> None:
        doc["learning"]["routing"]["policy_map"]["general"] = "half-applied"
        raise InvalidEdit("refused after touching the document", edit_id=edit.id)

    with pytest.raises(InvalidEdit):
        config_change(ctx, edit, touch_then_refuse)
    again = toml_doc.parse_document(before, label="config.toml", edit_id="a")
    assert again is not warm
    assert toml_doc.dump_document(again) == before


# -- the property: cached and uncached runs write the same bytes ------------------------

AGENTS = ["assistant", "coder", "ghost"]
TOOLS = ["calculator", "web_search", "ghost_tool"]
MODELS = ["small-model", "qwen2.5:3b", "new-model"]
VALUES: list[Any] = [0.5, 0.0, 7, 512, 3000, "fast", True, 1, -1, 2.5]

payloads = st.one_of(
    st.builds(
        lambda q, m: (EditOp.SET_MODEL_FOR_QUERY_CLASS, {"query_class": q, "model": m}),
        st.sampled_from(["general", "math", "code"]),
        st.sampled_from(MODELS),
    ),
    st.builds(
        lambda m, p, v: (EditOp.SET_MODEL_PARAM, {"model": m, "param": p, "value": v}),
        st.sampled_from(MODELS),
        st.sampled_from(["temperature", "max_tokens", "top_p", "style"]),
        st.sampled_from(VALUES),
    ),
    st.builds(
        lambda a, p, v: (EditOp.SET_AGENT_PARAM, {"agent": a, "param": p, "value": v}),
        st.sampled_from(AGENTS),
        st.sampled_from(["max_turns", "max_turns_hard", "temperature", "note"]),
        st.sampled_from(VALUES),
    ),
    st.builds(
        lambda a, c: (EditOp.SET_AGENT_CLASS, {"agent": a, "new_class": c}),
        st.sampled_from(AGENTS),
        st.sampled_from(["react", "simple", 'quo"ted']),
    ),
    st.builds(
        lambda op, a, t: (op, {"agent": a, "tool_name": t}),
        st.sampled_from([EditOp.ADD_TOOL_TO_AGENT, EditOp.REMOVE_TOOL_FROM_AGENT]),
        st.sampled_from(AGENTS),
        st.sampled_from(TOOLS),
    ),
    st.builds(
        lambda t, d: (EditOp.EDIT_TOOL_DESCRIPTION, {"tool_name": t, "new_description": d}),
        st.sampled_from(TOOLS),
        st.sampled_from(["Do math.", 'Say "hi"\nthen stop.', "Search."]),
    ),
    st.builds(
        lambda a, c: (EditOp.REPLACE_SYSTEM_PROMPT, {"agent": a, "new_content": c}),
        st.sampled_from(AGENTS),
        st.sampled_from(["Be brief.\n", "Think.\n"]),
    ),
)

#: Changes made by hand between edits: (file, text to append, or (old, new) to replace).
BY_HAND = [
    ("config.toml", "# a comment added by hand\n"),
    ("config.toml", ("max_turns = 4", "max_turns = 9")),
    ("config.toml", '\n[agent.helper]\nclass = "simple"\ntools = []\n'),
    ("tools/descriptions.toml", '\n[ghost_tool]\ndescription = "Now known."\n'),
    ("config.toml", ('general = "small-model"', 'general = "qwen2.5:3b"')),
]

steps = st.lists(
    st.one_of(
        st.tuples(st.sampled_from(["apply", "apply", "apply", "validate", "undo"]), payloads),
        st.tuples(st.just("by_hand"), st.sampled_from(range(len(BY_HAND)))),
    ),
    min_size=1,
    max_size=25,
)


def _by_hand(home: Path, index: int) -> None:
    name, change = BY_HAND[index]
    path = home / name
    text = path.read_text(encoding="utf-8")
    if isinstance(change, str):
        if change.lstrip().startswith("[") and change in text:
            return  # a table added twice would leave the file unparsable
        text += change
    else:
        text = text.replace(*change, 1)
    path.write_text(text, encoding="utf-8")


def _run(home: Path, plan: list[tuple[str, Any]]) -> Iterator[tuple[Any, dict[str, bytes]]]:
    """Each step's outcome and the home's bytes after it."""
    ctx = ApplyContext(home=home, session_id="cache")
    registry = default_registry(plugins=False)
    for number, (kind, arg) in enumerate(plan):
        result: Any = None
        if kind == "by_hand":
            _by_hand(home, arg)
        else:
            op, payload = arg
            edit: Edit = make_edit(op, payload, id=f"s{number}")
            applier = registry.get(op)
            if kind == "apply":
                (outcome,) = execute_edits(
                    edits=[edit], ctx=ctx, autonomy_mode=AutonomyMode.AUTO, registry=registry
                )
                result = (outcome.status, outcome.error)
            elif kind == "validate":  # a dry run: validated, never applied
                validation = applier.validate(edit, ctx)
                result = (validation.ok, validation.reason)
            else:  # applied, then undone (as a gate reject does)
                validation = applier.validate(edit, ctx)
                result = (validation.ok, validation.reason)
                if validation.ok:
                    applier.apply(edit, ctx)
                    applier.rollback(edit, ctx)
        yield result, tree_bytes(home)


@pytest.mark.slow
@settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(plan=steps)
def test_cached_path_writes_the_bytes_the_uncached_path_writes(
    home: Path, plan: list[tuple[str, Any]]
) -> None:
    with ExitStack() as stack:
        shm = "/dev/shm" if Path("/dev/shm").is_dir() else None  # appliers fsync each write
        scratch = Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="sd-cache-", dir=shm))
        )
        cached, fresh = scratch / "cached", scratch / "fresh"
        shutil.copytree(home, cached)
        shutil.copytree(home, fresh)
        with_cache = list(_run(cached, plan))
        with toml_doc.DOCUMENTS.disabled(), toml_doc.PLAIN.disabled():
            without_cache = list(_run(fresh, plan))
    for step, (got, want) in enumerate(zip(with_cache, without_cache, strict=True)):
        assert got == want, f"step {step} ({plan[step]}) differs"


def test_the_cache_is_used(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A 12-edit plan over one config parses it with tomlkit once, not once per edit."""
    plan = [
        ("apply", (EditOp.SET_AGENT_PARAM, {"agent": "coder", "param": "max_turns", "value": n}))
        for n in range(1, 13)
    ]
    parses = 0
    real_parse = tomlkit.parse

    def counting_parse(text: str) -> tomlkit.TOMLDocument:
        nonlocal parses
        parses += 1
        return real_parse(text)

    toml_doc.DOCUMENTS.clear()  # other tests parsed the same bytes
    monkeypatch.setattr(tomlkit, "parse", counting_parse)  # a spy: the parse is the real one
    list(_run(home, plan))
    assert parses == 1
    assert b"max_turns = 12" in (home / "config.toml").read_bytes()
