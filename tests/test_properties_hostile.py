"""Hostile-input evidence for issue 2: what a teacher's edits can and cannot do to a home.

The teacher is untrusted. Hypothesis throws random edits of all 11 ops at a real spec
home on disk: payloads that are sometimes valid and often hostile (quotes, TOML
injection, control characters, lone surrogates, 1 MiB strings, path-like names, wrong
types, unknown and missing keys), hostile targets, and homes holding symlinks that
point outside. After every edit we check that

(a) nothing outside the home changed (a sentinel directory beside it, the symlinks'
    targets, /etc/passwd);
(b) config.toml, tools/descriptions.toml and every few_shot.json still parse, and the
    user's comments in config.toml survive;
(c) an edit not reported ``applied`` left the home's tree byte-identical;
(d) an applied edit's ``rollback`` restores the exact tree (absent files absent), and
    applying it again gives the same bytes;
(e) ``execute_edits`` never raises for a bad payload: it reports an outcome;
(f) a string written to TOML reads back exactly equal through tomllib.

Then tables of specific hostile edits: those refused (the message names the field) and
those that are legal and must round-trip exactly. Last, a property of plan loading:
``parse_plan`` either returns a plan or raises InvalidPlan / InvalidEdit.

Homes live in ``tempfile`` directories (hypothesis and the ``tmp_path`` fixture do not
mix), on /dev/shm when it exists: appliers fsync every write, which is slow on disk.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
import tomllib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from specdistill import (
    ApplyContext,
    AutonomyMode,
    Edit,
    EditOp,
    EditOutcome,
    EditPillar,
    EditRiskTier,
    InvalidEdit,
    InvalidInput,
    InvalidPlan,
    LearningPlan,
    default_registry,
    execute_edits,
    parse_plan,
)

REGISTRY = default_registry(plugins=False)
TMP_BASE = "/dev/shm" if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK) else None

# --- the home ---------------------------------------------------------------------------

CONFIG = """\
# A user's spec home. Every comment here must survive every edit.

[agent.assistant]  # the main agent
class = "simple"
tools = ["calculator", "search"]
max_turns = 4
max_turns_hard = 10  # never touched by a max_turns edit
temperature = 0.2
style = "terse"  # a string param

# helper is declared but has no agents/helper directory yet
[agent.helper]
class = "react"
tools = []

[agent.evil]
class = "simple"
tools = []

[learning.routing.policy_map]
# query_class = "model"
general = "small-model"

[models."small-model"]
temperature = 0.2
max_tokens = 512
rope_scale = 1.5
stop = ["\\n\\n", "END"]
note = "plain"

[specdistill.tier_overrides]
# op = "auto" | "review" | "manual"
"""

DESCRIPTIONS = """\
# The tool catalog: agents may only use tools declared here.
[calculator]
description = "Evaluate an arithmetic expression."

[search]
description = 'Search the web for "facts".'  # a literal string
"""

PROMPT = "You are a helpful assistant.\nAnswer concisely.\n"
FEW_SHOT = '[{"input": "2+2", "output": "4"}]\n'

#: Which symlinks pointing outside the home a layout holds.
LAYOUTS = ("plain", "agent_dir_out", "catalog_out", "prompt_out", "all_out")


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def build_home(root: Path, layout: str = "plain") -> Path:
    """A real spec home at root/jail/cell/home, with a sentinel directory root/outside.

    The home is nested so that ``../..`` from inside it still lands under ``root``,
    where the sentinel snapshot sees it. Symlinks are relative, so two homes built
    under two roots have identical trees.
    """
    outside = root / "outside"
    write(outside / "secret.txt", "do not touch\n")
    write(outside / "evil_agent" / "system_prompt.md", "outside prompt\n")
    write(outside / "evil_agent" / "few_shot.json", "[]\n")
    write(outside / "descriptions.toml", DESCRIPTIONS)
    write(outside / "prompt.md", PROMPT)

    home = root / "jail" / "cell" / "home"
    write(home / "config.toml", CONFIG)
    write(home / "agents" / "assistant" / "system_prompt.md", PROMPT)
    write(home / "agents" / "assistant" / "few_shot.json", FEW_SHOT)
    write(home / "tools" / "descriptions.toml", DESCRIPTIONS)
    (home / "learning").mkdir()

    def link(path: Path, target: Path) -> None:
        path.unlink(missing_ok=True)
        path.symlink_to(os.path.relpath(target, path.parent), target.is_dir())

    if layout in ("agent_dir_out", "all_out"):
        link(home / "agents" / "evil", outside / "evil_agent")
    if layout in ("catalog_out", "all_out"):
        link(home / "tools" / "descriptions.toml", outside / "descriptions.toml")
    if layout in ("prompt_out", "all_out"):
        link(home / "agents" / "assistant" / "system_prompt.md", outside / "prompt.md")
    return home


Tree = dict[str, tuple[Any, ...]]


def snapshot_tree(top: Path, *, skip: tuple[Path, ...] = ()) -> Tree:
    """Every entry under ``top`` (not following symlinks): files with bytes and mode,
    directories, and symlinks with their target."""
    entries: Tree = {}
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        descend = []
        for name in sorted(dirnames):
            path = here / name
            if path in skip:
                continue
            rel = path.relative_to(top).as_posix()
            if path.is_symlink():
                entries[rel] = ("symlink", os.readlink(path))
            else:
                entries[rel] = ("dir",)
                descend.append(name)
        dirnames[:] = descend
        for name in filenames:
            path = here / name
            rel = path.relative_to(top).as_posix()
            if path.is_symlink():
                entries[rel] = ("symlink", os.readlink(path))
            else:
                mode = stat.S_IMODE(path.lstat().st_mode)
                entries[rel] = ("file", path.read_bytes(), mode)
    return entries


def home_tree(home: Path) -> Tree:
    return snapshot_tree(home, skip=(home / "learning",))


def outside_tree(home: Path) -> Tree:
    """Everything under the temp root except the home, plus /etc/passwd."""
    root = home.parents[2]
    tree = snapshot_tree(root, skip=(home,))
    passwd = Path("/etc/passwd")
    tree["/etc/passwd"] = ("file", passwd.read_bytes() if passwd.exists() else None)
    return tree


def assert_same_tree(before: Tree, after: Tree, what: str) -> None:
    changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    assert not changed, f"{what}: changed entries {changed}"


def comment_lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip().startswith("#")]


def is_subsequence(small: list[str], big: list[str]) -> bool:
    rest = iter(big)
    return all(any(line == other for other in rest) for line in small)


def assert_spec_parses(home: Path) -> None:
    """(b): every structured file still parses, and the user's comments survive."""
    config = (home / "config.toml").read_text(encoding="utf-8")
    tomllib.loads(config)
    assert is_subsequence(comment_lines(CONFIG), comment_lines(config)), config
    catalog = home / "tools" / "descriptions.toml"
    if catalog.exists():
        tomllib.loads(catalog.read_text(encoding="utf-8"))
    for few_shot in (home / "agents").glob("*/few_shot.json"):
        json.loads(few_shot.read_text(encoding="utf-8"))


def run_one(edit: Edit, ctx: ApplyContext) -> EditOutcome:
    outcomes = execute_edits(
        edits=[edit], ctx=ctx, autonomy_mode=AutonomyMode.AUTO, registry=REGISTRY
    )
    assert len(outcomes) == 1
    assert outcomes[0].edit_id == edit.id
    return outcomes[0]


# --- strategies -------------------------------------------------------------------------

LONE_SURROGATES = ["\ud800", "a\udfffb"]
#: Fragments a hostile teacher would try, to break out of a TOML string, key or path.
PIECES = [
    '"',
    "'",
    '"""',
    "'''",
    "\n",
    "\r\n",
    "\r",
    "]",
    "[",
    "[table]",
    "[[aot]]",
    'key = "x"',
    '"]\n[evil]\nx = 1\n#',
    "#",
    "# comment",
    "\\",
    "\\n",
    "\\u0000",
    "\\x",
    "\t",
    "\x00",
    "\x1b",
    "\x7f",
    "\x85",
    "\u202e",
    "\u200f",
    "e\u0301",
    "\U0001f600",
    "\u2028",
    "\u2029",
    "\ufeff",
    "../x",
    "../../etc",
    "/etc/passwd",
    "a/b",
    "a\\b",
    ".",
    "..",
    "~",
    "",
    " ",
    "=",
    "{",
    "}",
]
#: Fixed huge strings (generating them would blow hypothesis's data budget).
ONE_MIB = 2**20
HUGE = [
    "A" * ONE_MIB,
    ('"""\n]' * (ONE_MIB // 5 + 1))[:ONE_MIB],
    "\U0001f600" * ONE_MIB,
    "a" * 128,
    "a" * 129,
    "a" * 201,
]

HOSTILE_PIECES = [*PIECES, *LONE_SURROGATES]
hostile_text = st.one_of(
    st.sampled_from(HOSTILE_PIECES),
    st.lists(st.sampled_from([*HOSTILE_PIECES, "a", "b"]), max_size=6).map("".join),
    st.text(max_size=30),
    # Ordinary text with one poisoned character inside it.
    st.tuples(
        st.text(max_size=8),
        st.sampled_from([*LONE_SURROGATES, "\x00", "\n", "\u2028"]),
        st.text(max_size=8),
    ).map("".join),
    st.sampled_from(HUGE),
)
hostile_value = st.one_of(
    hostile_text,
    st.integers(),
    st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**400]),
    st.floats(),  # includes nan and +-inf
    st.booleans(),
    st.none(),
    st.lists(st.one_of(st.integers(-5, 5), st.text(max_size=5), st.none()), max_size=3),
    st.lists(st.lists(st.integers(), max_size=2), max_size=2),
    st.dictionaries(st.text(max_size=5), st.integers(), max_size=2),
)

agents = st.sampled_from(["assistant", "assistant", "helper", "evil", "ghost"])
tools = st.sampled_from(["calculator", "search", "calculator", "search", "web", "ghost_tool"])
_model_names = st.sampled_from(["small-model", "big-model", 'we"ird.model]'])
models = st.one_of(_model_names, _model_names, hostile_text)
_query_names = st.sampled_from(["general", "math", "code"])
query_classes = st.one_of(_query_names, _query_names, hostile_text)
params = st.sampled_from(
    [
        "temperature",
        "top_p",
        "top_k",
        "max_tokens",
        "max_turns",
        "max_turns_hard",
        "rope_scale",
        "stop",
        "note",
        "style",
        "class",
        "tools",
        "seed",
        "new_param",
        "x-y",
    ]
)
values = st.one_of(
    st.booleans(),
    st.integers(-3, 2000),
    st.floats(0.0, 1.0),
    st.floats(-1.0, 3.0),
    hostile_text,
    st.lists(st.one_of(st.integers(0, 9), st.text(max_size=5)), max_size=3),
)

DIFF_TEMPLATE = """\
--- a/system_prompt.md
+++ b/system_prompt.md
@@ -1,2 +1,3 @@
 You are a helpful assistant.
 Answer concisely.
+{line}
"""
VALID_DIFFS = [
    DIFF_TEMPLATE.format(line="Show your work."),
    "@@ -2 +2 @@\n-Answer concisely.\n+Answer in one word.\n",
    "@@ -1,2 +1,1 @@\n-You are a helpful assistant.\n Answer concisely.\n",
    "@@ -1 +1 @@\n-You are a cat.\n+You are a dog.\n",  # does not apply
]
diffs = st.one_of(
    st.sampled_from(VALID_DIFFS),
    hostile_text.map(lambda line: DIFF_TEMPLATE.format(line=line[:1000])),
)
short_text = st.one_of(st.sampled_from(PIECES), st.text(max_size=12))
exemplars = st.lists(st.fixed_dictionaries({"input": short_text, "output": short_text}), max_size=3)

#: Per op: each payload key and a strategy of mostly sensible values for it.
PAYLOAD_FIELDS: dict[EditOp, dict[str, st.SearchStrategy[Any]]] = {
    EditOp.SET_MODEL_FOR_QUERY_CLASS: {"query_class": query_classes, "model": models},
    EditOp.SET_MODEL_PARAM: {"model": models, "param": params, "value": values},
    EditOp.PATCH_SYSTEM_PROMPT: {"diff": diffs, "agent": agents},
    EditOp.REPLACE_SYSTEM_PROMPT: {"new_content": hostile_text, "agent": agents},
    EditOp.SET_AGENT_CLASS: {
        "new_class": st.sampled_from(["react", "simple", "pkg.mod:Agent", "x\n[evil]"]),
        "agent": agents,
    },
    EditOp.SET_AGENT_PARAM: {"agent": agents, "param": params, "value": values},
    EditOp.EDIT_FEW_SHOT_EXEMPLARS: {"exemplars": exemplars, "agent": agents},
    EditOp.ADD_TOOL_TO_AGENT: {"agent": agents, "tool_name": tools},
    EditOp.REMOVE_TOOL_FROM_AGENT: {"agent": agents, "tool_name": tools},
    EditOp.EDIT_TOOL_DESCRIPTION: {"tool_name": tools, "new_description": hostile_text},
    EditOp.LORA_FINETUNE: {"target_model": models, "data_source": hostile_text},
}
# "good" first, so hypothesis shrinks a failure towards a sensible payload.
FIELD_MODES = ("good",) * 10 + ("hostile", "missing")
UNKNOWN_KEYS = ["extra", "path", "__class__", "agent ", "risk_tier", "Model"]
targets = st.one_of(
    st.sampled_from(
        [
            "",
            "agents.assistant.system_prompt",
            "agents.helper.few_shot",
            "agents.evil.system_prompt",
            "agents.ghost.system_prompt",
            "agents/../../x.system_prompt",
            "agents.../../x.system_prompt",
            "agents../etc/passwd.x",
            "agents.~.x",
            "agents..",
            "agents",
            "agents.a/b.system_prompt",
            "tools.calculator",
        ]
    ),
    st.text(max_size=40),
)


@st.composite
def payloads(draw: st.DrawFn, op: EditOp) -> dict[str, Any]:
    payload: dict[str, Any] = {}
    for key, good in PAYLOAD_FIELDS[op].items():
        mode = draw(st.sampled_from(FIELD_MODES))
        if mode == "good":
            payload[key] = draw(good)
        elif mode == "hostile":
            payload[key] = draw(hostile_value)
    if draw(st.sampled_from((False,) * 9 + (True,))):
        payload[draw(st.sampled_from(UNKNOWN_KEYS))] = draw(hostile_value)
    return payload


@st.composite
def edit_specs(draw: st.DrawFn) -> dict[str, Any]:
    """Keyword arguments of an Edit, minus its id (ids must be unique in a batch)."""
    op = draw(st.sampled_from(list(EditOp)))
    return {
        "op": op,
        "payload": draw(payloads(op)),
        "target": draw(targets),
        # The teacher's claims: tiers and pillars are re-assigned by specdistill.
        "pillar": draw(st.sampled_from(list(EditPillar))),
        "risk_tier": draw(st.sampled_from(list(EditRiskTier))),
    }


HYPOTHESIS = settings(
    deadline=None,
    database=None,  # write nothing into the repository
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# --- (a)-(e): the main property -----------------------------------------------------------


@pytest.mark.slow
@settings(HYPOTHESIS, max_examples=150)
@given(layout=st.sampled_from(LAYOUTS), specs=st.lists(edit_specs(), min_size=1, max_size=6))
def test_hostile_edits_never_escape_corrupt_or_half_apply(
    layout: str, specs: list[dict[str, Any]]
) -> None:
    edits = [Edit(id=f"e{i}", **spec) for i, spec in enumerate(specs)]
    with tempfile.TemporaryDirectory(dir=TMP_BASE) as tmp:
        # The same edits as one batch on a twin home: the seed's one-call contract.
        batch_home = build_home(Path(tmp) / "batch", layout)
        batch_outside = outside_tree(batch_home)
        batch = execute_edits(
            edits=edits,
            ctx=ApplyContext(home=batch_home, session_id="batch"),
            autonomy_mode=AutonomyMode.AUTO,
            registry=REGISTRY,
        )
        assert [o.edit_id for o in batch] == [e.id for e in edits]
        assert_same_tree(batch_outside, outside_tree(batch_home), "outside the batch home")
        assert_spec_parses(batch_home)

        home = build_home(Path(tmp) / "seq", layout)
        outside = outside_tree(home)
        ctx = ApplyContext(home=home, session_id="seq")
        statuses = []
        for edit in edits:
            before = home_tree(home)
            outcome = run_one(edit, ctx)  # (e): any exception fails the test
            after = home_tree(home)
            statuses.append(outcome.status)
            event(f"{edit.op.value}: {outcome.status}")
            if outcome.status == "applied":
                assert outcome.error is None and outcome.applied_at is not None
                # (d) rollback restores the exact tree; applying again is deterministic.
                REGISTRY.get(edit.op).rollback(edit, ctx)
                assert_same_tree(before, home_tree(home), f"after rollback of {edit!r}")
                assert run_one(edit, ctx).status == "applied"
                assert_same_tree(after, home_tree(home), f"after re-applying {edit!r}")
            else:
                # (c) an edit that was not applied changed nothing.
                assert outcome.status in ("rejected_by_gate", "skipped"), outcome
                assert outcome.error, outcome
                assert_same_tree(before, after, f"after {outcome.status} {edit!r}")
            assert_spec_parses(home)  # (b)
            assert_same_tree(outside, outside_tree(home), f"outside the home after {edit!r}")  # (a)

        assert [o.status for o in batch] == statuses
        assert_same_tree(home_tree(batch_home), home_tree(home), "batch vs one at a time")


# --- (f): hostile strings round-trip through TOML exactly ---------------------------------

_CONTROL_CHARS = [chr(c) for c in range(0x20)] + ["\x7f", "\x85", "\u2028", "\u2029"]
#: Strings a value may legally be: anything but lone surrogates (and NUL in raw files).
legal_strings = st.one_of(
    st.text(max_size=60),
    st.lists(st.sampled_from([*PIECES, "a"]), max_size=8).map("".join),
    st.sampled_from(['"' * 16384, "\\" * 16384, "\U0001f600" * 16384]),
)
#: What a TOML key (query class, model name) may be: printable, not blank, <= 200 chars.
legal_keys = st.one_of(
    st.text(st.characters(exclude_categories=["Cs"], exclude_characters=_CONTROL_CHARS)),
    st.lists(
        st.sampled_from([p for p in PIECES if not any(c in p for c in _CONTROL_CHARS)] + ["k"]),
        max_size=8,
    ).map("".join),
).filter(lambda s: s.strip() and len(s) <= 200)


def _toml(home: Path, name: str) -> dict[str, Any]:
    return tomllib.loads((home / name).read_text(encoding="utf-8"))


def _config(home: Path) -> dict[str, Any]:
    return _toml(home, "config.toml")


def _new_routing_key(home: Path) -> str:
    """The one query class the edit added, as tomllib reads it (mapped to model 'm')."""
    policy_map = _config(home)["learning"]["routing"]["policy_map"]
    added = [key for key, model in policy_map.items() if model == "m"]
    assert len(added) == 1, policy_map
    return added[0]


#: name -> (op, payload made from a string, how to read it back, the field that carries it)
RoundTrip = tuple[EditOp, Callable[[str], dict[str, Any]], Callable[[Path, str], Any], str]
VALUE_ROUND_TRIPS: dict[str, RoundTrip] = {
    "model_param": (
        EditOp.SET_MODEL_PARAM,
        lambda s: {"model": "small-model", "param": "note", "value": s},
        lambda home, s: _config(home)["models"]["small-model"]["note"],
        "payload.value",
    ),
    "model_param_new_key": (
        EditOp.SET_MODEL_PARAM,
        lambda s: {"model": "small-model", "param": "brand_new", "value": s},
        lambda home, s: _config(home)["models"]["small-model"]["brand_new"],
        "payload.value",
    ),
    "model_param_array": (
        EditOp.SET_MODEL_PARAM,
        lambda s: {"model": "small-model", "param": "stop", "value": [s, "2"]},
        lambda home, s: _config(home)["models"]["small-model"]["stop"][0],
        "payload.value",
    ),
    "agent_param": (
        EditOp.SET_AGENT_PARAM,
        lambda s: {"agent": "assistant", "param": "style", "value": s},
        lambda home, s: _config(home)["agent"]["assistant"]["style"],
        "payload.value",
    ),
    "tool_description": (
        EditOp.EDIT_TOOL_DESCRIPTION,
        lambda s: {"tool_name": "search", "new_description": s},
        lambda home, s: _toml(home, "tools/descriptions.toml")["search"]["description"],
        "payload.new_description",
    ),
}
KEY_ROUND_TRIPS: dict[str, RoundTrip] = {
    "routing_model": (
        EditOp.SET_MODEL_FOR_QUERY_CLASS,
        lambda s: {"query_class": "general", "model": s},
        lambda home, s: _config(home)["learning"]["routing"]["policy_map"]["general"],
        "payload.model",
    ),
    "routing_query_class_key": (
        EditOp.SET_MODEL_FOR_QUERY_CLASS,
        lambda s: {"query_class": s, "model": "m"},
        lambda home, s: _new_routing_key(home),
        "payload.query_class",
    ),
    "model_name_table": (
        EditOp.SET_MODEL_PARAM,
        lambda s: {"model": s, "param": "note", "value": "n"},
        lambda home, s: next(iter(set(_config(home)["models"]) - {"small-model"}), "small-model"),
        "payload.model",
    ),
}


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def legal_value(case: str, text: str) -> bool:
    """The documented rule for a string value: at most 16384 characters of real Unicode
    (and a tool description is not empty). Quotes, newlines, NUL etc. are all fine."""
    empty_ok = VALUE_ROUND_TRIPS[case][0] != EditOp.EDIT_TOOL_DESCRIPTION
    return len(text) <= 16384 and _encodable(text) and (empty_ok or text != "")


def legal_key(text: str) -> bool:
    """The documented rule for a key (query class, model name): printable, not blank,
    at most 200 characters."""
    printable = not any(c in _CONTROL_CHARS for c in text)
    return bool(text.strip()) and len(text) <= 200 and printable and _encodable(text)


def check_string_edit(case: RoundTrip, text: str, legal: bool) -> None:
    """A legal string is applied and reads back exactly; any other is rejected, naming
    its field, with the home untouched."""
    op, make_payload, read_back, field = case
    edit = Edit(id="rt", pillar=EditPillar.AGENT, op=op, payload=make_payload(text))
    with tempfile.TemporaryDirectory(dir=TMP_BASE) as tmp:
        home = build_home(Path(tmp))
        before = home_tree(home)
        outcome = run_one(edit, ApplyContext(home=home))
        assert_spec_parses(home)
        if not legal:
            assert outcome.status == "rejected_by_gate", f"{text!r:.80} was {outcome.status}"
            assert f"field {field!r}" in (outcome.error or ""), outcome.error
            assert_same_tree(before, home_tree(home), "home after a rejected edit")
            return
        assert outcome.status == "applied", outcome.error
        got = read_back(home, text)
        assert type(got) is str and got == text


@settings(HYPOTHESIS, max_examples=100)
@given(case=st.sampled_from(sorted(VALUE_ROUND_TRIPS)), text=st.one_of(legal_strings, hostile_text))
def test_any_string_value_round_trips_through_toml_or_is_refused(case: str, text: str) -> None:
    check_string_edit(VALUE_ROUND_TRIPS[case], text, legal_value(case, text))


@settings(HYPOTHESIS, max_examples=100)
@given(case=st.sampled_from(sorted(KEY_ROUND_TRIPS)), text=st.one_of(legal_keys, hostile_text))
def test_any_string_key_round_trips_through_toml_or_is_refused(case: str, text: str) -> None:
    check_string_edit(KEY_ROUND_TRIPS[case], text, legal_key(text))


@settings(HYPOTHESIS, max_examples=30)
@given(text=legal_strings.filter(lambda s: "\x00" not in s))
def test_hostile_prompts_and_exemplars_are_written_exactly(text: str) -> None:
    prompt = Edit(
        id="p",
        pillar=EditPillar.AGENT,
        op=EditOp.REPLACE_SYSTEM_PROMPT,
        target="agents.helper.system_prompt",
        payload={"new_content": text},
    )
    shots = [{"input": text, "output": text[::-1]}]
    few_shot = Edit(
        id="f",
        pillar=EditPillar.AGENT,
        op=EditOp.EDIT_FEW_SHOT_EXEMPLARS,
        payload={"agent": "assistant", "exemplars": shots},
    )
    with tempfile.TemporaryDirectory(dir=TMP_BASE) as tmp:
        home = build_home(Path(tmp))
        ctx = ApplyContext(home=home)
        assert [run_one(e, ctx).status for e in (prompt, few_shot)] == ["applied"] * 2
        assert (home / "agents/helper/system_prompt.md").read_bytes() == text.encode("utf-8")
        few_shot_text = (home / "agents/assistant/few_shot.json").read_text(encoding="utf-8")
        assert json.loads(few_shot_text) == shots


# --- tables: hostile edits refused, naming the field ------------------------------------


def _reject(op: EditOp, payload: dict[str, Any], field: str, *, target: str = "", **kw: Any):
    return pytest.param(op, payload, target, kw.get("layout", "plain"), field, kw.get("text", ""))


SMP = EditOp.SET_MODEL_PARAM
SAP = EditOp.SET_AGENT_PARAM
RSP = EditOp.REPLACE_SYSTEM_PROMPT
ETD = EditOp.EDIT_TOOL_DESCRIPTION
QC = EditOp.SET_MODEL_FOR_QUERY_CLASS
FEW = EditOp.EDIT_FEW_SHOT_EXEMPLARS
ADD = EditOp.ADD_TOOL_TO_AGENT

REJECTED = {
    # agent names that would become paths
    "agent-dotdot-etc": _reject(RSP, {"new_content": "x", "agent": "../../etc"}, "payload.agent"),
    "agent-absolute": _reject(RSP, {"new_content": "x", "agent": "/etc/passwd"}, "payload.agent"),
    "agent-separator": _reject(RSP, {"new_content": "x", "agent": "a/b"}, "payload.agent"),
    "agent-backslash": _reject(RSP, {"new_content": "x", "agent": "a\\b"}, "payload.agent"),
    "agent-dot": _reject(RSP, {"new_content": "x", "agent": "."}, "payload.agent"),
    "agent-dotdot": _reject(RSP, {"new_content": "x", "agent": ".."}, "payload.agent"),
    "agent-tilde": _reject(RSP, {"new_content": "x", "agent": "~"}, "payload.agent"),
    "agent-empty": _reject(RSP, {"new_content": "x", "agent": ""}, "payload.agent"),
    "agent-too-long": _reject(RSP, {"new_content": "x", "agent": "a" * 129}, "payload.agent"),
    "agent-nul": _reject(RSP, {"new_content": "x", "agent": "a\x00b"}, "payload.agent"),
    "agent-int": _reject(RSP, {"new_content": "x", "agent": 7}, "payload.agent"),
    "agent-unknown": _reject(ADD, {"agent": "ghost", "tool_name": "search"}, "payload.agent"),
    "target-dotdot-empty-agent": _reject(
        RSP, {"new_content": "x"}, "target", target="agents.../../x.system_prompt"
    ),
    "target-slashes-no-agent": _reject(
        RSP, {"new_content": "x"}, "payload.agent", target="agents/../../x.system_prompt"
    ),
    "target-tilde": _reject(RSP, {"new_content": "x"}, "target", target="agents.~.system_prompt"),
    # symlinks out of the home
    "agent-dir-symlinked-out": _reject(
        RSP,
        {"new_content": "x", "agent": "evil"},
        "payload",
        layout="agent_dir_out",
        text="resolves outside the spec home",
    ),
    "prompt-symlinked-out": _reject(
        RSP,
        {"new_content": "x", "agent": "assistant"},
        "payload",
        layout="prompt_out",
        text="resolves outside the spec home",
    ),
    "catalog-symlinked-out": _reject(
        ETD,
        {"tool_name": "calculator", "new_description": "x"},
        "payload",
        layout="catalog_out",
        text="resolves outside the spec home",
    ),
    # raw text files refuse NUL
    "prompt-nul": _reject(
        RSP, {"new_content": "a\x00b", "agent": "assistant"}, "payload.new_content"
    ),
    "exemplar-nul": _reject(
        FEW,
        {"agent": "assistant", "exemplars": [{"input": "a\x00", "output": "b"}]},
        "payload.exemplars.0.input",
    ),
    "exemplar-missing-output": _reject(
        FEW, {"agent": "assistant", "exemplars": [{"input": "a"}]}, "payload.exemplars.0.output"
    ),
    "exemplars-not-a-list": _reject(
        FEW, {"agent": "assistant", "exemplars": {"input": "a", "output": "b"}}, "payload.exemplars"
    ),
    "prompt-1mib": _reject(
        RSP, {"new_content": "A" * ONE_MIB, "agent": "assistant"}, "payload.new_content"
    ),
    "prompt-lone-surrogate": _reject(
        RSP, {"new_content": "a\ud800", "agent": "assistant"}, "payload.new_content"
    ),
    # tool descriptions
    "description-empty": _reject(
        ETD, {"tool_name": "search", "new_description": ""}, "payload.new_description"
    ),
    "description-1mib": _reject(
        ETD, {"tool_name": "search", "new_description": "A" * ONE_MIB}, "payload.new_description"
    ),
    "description-list": _reject(
        ETD, {"tool_name": "search", "new_description": ["a"]}, "payload.new_description"
    ),
    "tool-dotdot": _reject(
        ETD, {"tool_name": "../descriptions", "new_description": "x"}, "payload.tool_name"
    ),
    "tool-table-injection": _reject(
        ETD, {"tool_name": 'x"]\n[evil', "new_description": "x"}, "payload.tool_name"
    ),
    "tool-unknown": _reject(ADD, {"agent": "assistant", "tool_name": "web"}, "payload.tool_name"),
    # model names, query classes and params: TOML keys, never TOML text
    "model-table-injection": _reject(
        SMP, {"model": 'm"]\n[evil]', "param": "note", "value": "x"}, "payload.model"
    ),
    "model-blank": _reject(SMP, {"model": "  ", "param": "note", "value": "x"}, "payload.model"),
    "model-too-long": _reject(
        SMP, {"model": "m" * 201, "param": "note", "value": "x"}, "payload.model"
    ),
    "model-u2028": _reject(
        SMP, {"model": "m\u2028", "param": "note", "value": "x"}, "payload.model"
    ),
    "query-class-lone-surrogate": _reject(
        QC, {"query_class": "q\ud800", "model": "m"}, "payload.query_class"
    ),
    "query-class-crlf": _reject(QC, {"query_class": "q\r\n", "model": "m"}, "payload.query_class"),
    "query-class-int": _reject(QC, {"query_class": 3, "model": "m"}, "payload.query_class"),
    "param-trailing-newline": _reject(
        SMP, {"model": "small-model", "param": "temperature\n", "value": 1.0}, "payload.param"
    ),
    "param-dotted": _reject(
        SMP, {"model": "small-model", "param": "a.b", "value": 1}, "payload.param"
    ),
    "param-assignment": _reject(
        SMP, {"model": "small-model", "param": 'x = "y"', "value": 1}, "payload.param"
    ),
    "param-class-reserved": _reject(
        SAP, {"agent": "assistant", "param": "class", "value": "react"}, "payload.param"
    ),
    "param-tools-reserved": _reject(
        SAP, {"agent": "assistant", "param": "tools", "value": ["web"]}, "payload.param"
    ),
    # values: typed, finite, 64-bit, in range, same type as what is there
    "value-nan": _reject(
        SMP, {"model": "small-model", "param": "x", "value": float("nan")}, "payload.value"
    ),
    "value-inf": _reject(
        SMP, {"model": "small-model", "param": "x", "value": float("inf")}, "payload.value"
    ),
    "value-int-over-64-bit": _reject(
        SMP, {"model": "small-model", "param": "x", "value": 2**64}, "payload.value"
    ),
    "value-int-10e400": _reject(
        SMP, {"model": "small-model", "param": "x", "value": 10**400}, "payload.value"
    ),
    "value-none": _reject(
        SMP, {"model": "small-model", "param": "x", "value": None}, "payload.value"
    ),
    "value-dict": _reject(
        SMP, {"model": "small-model", "param": "x", "value": {"a": 1}}, "payload.value"
    ),
    "value-nested-list": _reject(
        SMP, {"model": "small-model", "param": "x", "value": [[1]]}, "payload.value"
    ),
    "value-1mib": _reject(
        SMP, {"model": "small-model", "param": "x", "value": "A" * ONE_MIB}, "payload.value"
    ),
    "temperature-out-of-range": _reject(
        SMP, {"model": "small-model", "param": "temperature", "value": 3.0}, "payload.value"
    ),
    "temperature-as-string": _reject(
        SAP, {"agent": "assistant", "param": "temperature", "value": "0.5"}, "payload.value"
    ),
    "max-turns-bool-for-int": _reject(
        SAP, {"agent": "assistant", "param": "max_turns", "value": True}, "payload.value"
    ),
    "max-turns-float": _reject(
        SAP, {"agent": "assistant", "param": "max_turns", "value": 4.0}, "payload.value"
    ),
    "string-over-float": _reject(
        SMP, {"model": "small-model", "param": "rope_scale", "value": "2x"}, "payload.value"
    ),
    "array-over-string": _reject(
        SAP, {"agent": "assistant", "param": "style", "value": ["a"]}, "payload.value"
    ),
    "new-class-injection": _reject(
        EditOp.SET_AGENT_CLASS,
        {"new_class": 'x"\n[evil]', "agent": "assistant"},
        "payload.new_class",
    ),
    "patch-does-not-apply": _reject(
        EditOp.PATCH_SYSTEM_PROMPT,
        {"diff": "@@ -1 +1 @@\n-You are a cat.\n+You are a dog.\n", "agent": "assistant"},
        "payload.diff",
    ),
    # the payload's shape
    "unknown-key": _reject(
        SMP,
        {"model": "small-model", "param": "x", "value": 1, "path": "/etc"},
        "payload.path",
        text="unknown key",
    ),
    "missing-key": _reject(
        SMP, {"param": "x", "value": 1}, "payload.model", text="required key is missing"
    ),
}


@pytest.mark.parametrize(
    ("op", "payload", "target", "layout", "field", "text"),
    list(REJECTED.values()),
    ids=list(REJECTED),
)
def test_hostile_edit_is_rejected_naming_the_field(
    op: EditOp, payload: dict[str, Any], target: str, layout: str, field: str, text: str
) -> None:
    edit = Edit(id="bad", pillar=EditPillar.AGENT, op=op, target=target, payload=payload)
    with tempfile.TemporaryDirectory(dir=TMP_BASE) as tmp:
        home = build_home(Path(tmp), layout)
        before, outside = home_tree(home), outside_tree(home)
        outcome = run_one(edit, ApplyContext(home=home))
        assert outcome.status == "rejected_by_gate"
        assert f"field {field!r}" in (outcome.error or ""), outcome.error
        assert text in (outcome.error or "")
        assert len(outcome.error or "") < 1000  # a 1 MiB payload is not echoed back
        assert_same_tree(before, home_tree(home), "home")
        assert_same_tree(outside, outside_tree(home), "outside")


def test_lora_finetune_is_skipped_whatever_the_teacher_claims() -> None:
    edit = Edit(
        id="lora",
        pillar=EditPillar.INTELLIGENCE,
        op=EditOp.LORA_FINETUNE,
        risk_tier=EditRiskTier.AUTO,  # a lie: the op is manual-tier
        payload={"target_model": "small-model", "data_source": "../../etc/passwd"},
    )
    with tempfile.TemporaryDirectory(dir=TMP_BASE) as tmp:
        home = build_home(Path(tmp))
        before = home_tree(home)
        outcome = run_one(edit, ApplyContext(home=home))
        assert (outcome.status, outcome.error) == (
            "skipped",
            "manual tier, requires explicit approval",
        )
        assert_same_tree(before, home_tree(home), "home")


# --- tables: hostile-but-legal values are applied and round-trip exactly ----------------

LEGAL = {
    "double-quote": 'say "hi"',
    "single-quote": "it's",
    "triple-double": 'a """ b',
    "triple-single": "a ''' b",
    "newline": "line 1\nline 2\n",
    "crlf": "line 1\r\nline 2",
    "bare-cr": "a\rb",
    "bracket-table": ']\n[evil]\nkey = "x"',
    "aot": "[[tools]]",
    "hash": "# not a comment",
    "backslashes": "C:\\path\\n \\u0000 \\",
    "tab": "a\tb",
    "nul": "a\x00b",
    "escape-char": "\x1b[31mred\x1b[0m",
    "del": "a\x7fb",
    "rtl-override": "abc\u202edef",
    "combining": "e\u0301",
    "emoji": "\U0001f600\U0001f469\u200d\U0001f4bb",
    "line-separator": "a\u2028b\u2029c",
    "nel": "a\x85b",
    "bom": "\ufeffstart",
    "16k-quotes": '"' * 16384,
}
#: Raw-file ops refuse NUL by design (the table above covers that).
RAW_FILE_LEGAL = {k: v for k, v in LEGAL.items() if "\x00" not in v}


@pytest.mark.parametrize("case", sorted(VALUE_ROUND_TRIPS))
@pytest.mark.parametrize("value", list(LEGAL.values()), ids=list(LEGAL))
def test_hostile_but_legal_value_is_applied_exactly(value: str, case: str) -> None:
    assert legal_value(case, value)
    check_string_edit(VALUE_ROUND_TRIPS[case], value, legal=True)


LEGAL_KEYS = {
    "double-quote": 'we"ird',
    "single-quote": "it's",
    "dots": "a.b.c",
    "brackets": "[x]",
    "spaces": " padded key ",
    "hash": "# k",
    "equals": "a = b",
    "backslash": "a\\b",
    "unicode": "mod\u00e8le-\U0001f600",
    "rtl": "\u202ekey",
}


@pytest.mark.parametrize("case", sorted(KEY_ROUND_TRIPS))
@pytest.mark.parametrize("key", list(LEGAL_KEYS.values()), ids=list(LEGAL_KEYS))
def test_hostile_but_legal_key_is_applied_exactly(key: str, case: str) -> None:
    assert legal_key(key)
    check_string_edit(KEY_ROUND_TRIPS[case], key, legal=True)


@pytest.mark.parametrize("value", list(RAW_FILE_LEGAL.values()), ids=list(RAW_FILE_LEGAL))
def test_hostile_but_legal_prompt_is_written_byte_for_byte(value: str) -> None:
    edit = Edit(
        id="p",
        pillar=EditPillar.AGENT,
        op=EditOp.REPLACE_SYSTEM_PROMPT,
        target="agents.assistant.system_prompt",
        payload={"new_content": value},
    )
    with tempfile.TemporaryDirectory(dir=TMP_BASE) as tmp:
        home = build_home(Path(tmp))
        ctx = ApplyContext(home=home)
        before = home_tree(home)
        assert run_one(edit, ctx).status == "applied"
        path = home / "agents/assistant/system_prompt.md"
        assert path.read_bytes() == value.encode("utf-8")
        REGISTRY.get(edit.op).rollback(edit, ctx)
        assert_same_tree(before, home_tree(home), "after rollback")


def test_rollback_keeps_a_symlink_inside_the_home() -> None:
    edit = Edit(
        id="p",
        pillar=EditPillar.AGENT,
        op=EditOp.REPLACE_SYSTEM_PROMPT,
        payload={"new_content": "new prompt\n", "agent": "assistant"},
    )
    with tempfile.TemporaryDirectory(dir=TMP_BASE) as tmp:
        home = build_home(Path(tmp))
        write(home / "prompts" / "assistant.md", PROMPT)
        prompt = home / "agents" / "assistant" / "system_prompt.md"
        prompt.unlink()
        prompt.symlink_to("../../prompts/assistant.md")
        ctx = ApplyContext(home=home)
        before = home_tree(home)
        assert run_one(edit, ctx).status == "applied"
        REGISTRY.get(edit.op).rollback(edit, ctx)
        assert_same_tree(before, home_tree(home), "after rollback")


# --- plan loading: any JSON either is a plan or is refused cleanly ----------------------

PLAN_KEYS = sorted(
    {
        "session_id",
        "diagnosis_summary",
        "failure_clusters",
        "edits",
        "estimated_cost_usd",
        "created_at",
        "id",
        "op",
        "pillar",
        "target",
        "payload",
        "risk_tier",
        "rationale",
        "references",
        "description",
        "student_failure_rate",
        *(key for fields in PAYLOAD_FIELDS.values() for key in fields),
    }
)
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.sampled_from([2**64, 10**400, -0.0, 1e308]),
    st.floats(),
    st.text(max_size=10),
    st.sampled_from([*PIECES, *LONE_SURROGATES, *(op.value for op in EditOp)]),
)
json_values = st.recursive(
    json_scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(st.sampled_from(PLAN_KEYS), st.text(max_size=6)), children, max_size=5
        ),
    ),
    max_leaves=25,
)


def _containers(node: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [path] if isinstance(node, dict | list) else []
    children = (
        node.items()
        if isinstance(node, dict)
        else enumerate(node)
        if isinstance(node, list)
        else []
    )
    for key, child in children:
        found.extend(_containers(child, (*path, key)))
    return found


@st.composite
def mutated_plans(draw: st.DrawFn) -> Any:
    """A valid-looking plan (edits of every op), then a few random mutations anywhere."""
    specs = draw(st.lists(edit_specs(), max_size=4))
    plan: dict[str, Any] = {
        "session_id": "s1",
        "diagnosis_summary": "d",
        "failure_clusters": [{"id": "c1", "description": "x", "student_failure_rate": 0.5}],
        "edits": [
            {"id": f"e{i}", **{k: (v.value if hasattr(v, "value") else v) for k, v in s.items()}}
            for i, s in enumerate(specs)
        ],
    }
    for _ in range(draw(st.integers(0, 3))):
        path = draw(st.sampled_from(_containers(plan)))
        node: Any = plan
        for key in path:
            node = node[key]
        action = draw(st.sampled_from(["set", "delete", "add"]))
        if isinstance(node, dict):
            keys = sorted(node, key=str)
            if action == "delete" and keys:
                del node[draw(st.sampled_from(keys))]
            elif action == "set" and keys:
                node[draw(st.sampled_from(keys))] = draw(json_values)
            else:
                node[draw(st.sampled_from(PLAN_KEYS))] = draw(json_values)
        elif action == "delete" and node:
            del node[draw(st.integers(0, len(node) - 1))]
        elif action == "set" and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(json_values)
        else:
            node.append(draw(json_values))
    return plan


@settings(HYPOTHESIS, max_examples=300)
@given(raw=st.one_of(json_values, mutated_plans()))
def test_parse_plan_returns_a_plan_or_raises_invalid_input(raw: Any) -> None:
    try:
        plan = parse_plan(raw)
    except InvalidEdit as exc:
        event(f"InvalidEdit, field {exc.field.split('.')[0] if exc.field else None}")
        assert isinstance(exc, InvalidInput)
        assert exc.field, f"InvalidEdit without a field: {exc}"
        assert exc.edit_id
        assert str(exc)
    except InvalidPlan as exc:
        event("InvalidPlan")
        assert isinstance(exc, InvalidInput)
        assert str(exc)
    else:
        event(f"a plan with {len(plan.edits)} edits")
        assert isinstance(plan, LearningPlan)
        assert len(plan.edits) == len(raw.get("edits", []))
