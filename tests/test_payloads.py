"""Typed payloads per op: valid ones parse; each invalid one raises InvalidEdit naming the
edit id and the exact field; resolve_agent; check_param_value ranges."""

from __future__ import annotations

from typing import Any

import pytest

from conftest import VALID_PAYLOADS, make_edit
from specdistill.errors import InvalidEdit
from specdistill.models import EditOp
from specdistill.payloads import (
    MAX_ARRAY_ITEMS,
    MAX_EXEMPLARS,
    MAX_PROMPT_CHARS,
    MAX_SHORT_TEXT_CHARS,
    PAYLOAD_MODELS,
    Payload,
    check_param_value,
    parse_payload,
    resolve_agent,
)

OPS = list(EditOp)


def test_every_op_has_a_payload_model() -> None:
    assert set(PAYLOAD_MODELS) == set(EditOp)


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.value)
def test_valid_payload_parses(op: EditOp) -> None:
    payload = parse_payload(make_edit(op, VALID_PAYLOADS[op]))
    assert isinstance(payload, PAYLOAD_MODELS[op])
    assert payload.model_dump(exclude_unset=True) == VALID_PAYLOADS[op]


@pytest.mark.parametrize("op", OPS, ids=lambda op: op.value)
def test_payload_is_frozen(op: EditOp) -> None:
    payload: Payload = parse_payload(make_edit(op, VALID_PAYLOADS[op]))
    key = next(iter(VALID_PAYLOADS[op]))
    with pytest.raises(Exception, match="frozen"):
        setattr(payload, key, "other")


# --- the invalid-payload table ---------------------------------------------------------------

#: Fields whose value becomes a path component or a TOML table name.
NAME_FIELDS: dict[EditOp, list[str]] = {
    EditOp.PATCH_SYSTEM_PROMPT: ["agent"],
    EditOp.REPLACE_SYSTEM_PROMPT: ["agent"],
    EditOp.SET_AGENT_CLASS: ["agent"],
    EditOp.SET_AGENT_PARAM: ["agent"],
    EditOp.EDIT_FEW_SHOT_EXEMPLARS: ["agent"],
    EditOp.ADD_TOOL_TO_AGENT: ["agent", "tool_name"],
    EditOp.REMOVE_TOOL_FROM_AGENT: ["agent", "tool_name"],
    EditOp.EDIT_TOOL_DESCRIPTION: ["tool_name"],
}
BAD_NAMES: dict[str, Any] = {
    "dotdot-slash": "../x",
    "dotdot": "..",
    "dot": ".",
    "absolute": "/abs",
    "separator": "a/b",
    "backslash": "a\\b",
    "empty": "",
    "newline": "a\nb",
    "nul": "a\x00b",
    "line-separator": "a\u2028b",
    "cyrillic-a-lookalike": "\u0430gent",
    "fullwidth-solidus": "a\uff0fb",
    "one-dot-leader": "a\u2024\u2024b",
    "zero-width-space": "a\u200bb",
    "200-chars": "a" * 200,
    "leading-dash": "-rf",
    "space": "a b",
    "toml-header": "x]\n[evil",
    "int-for-str": 1,
    "bool-for-str": True,
    "list-for-str": ["a"],
}

#: Fields that are TOML keys or values only (never paths): printable, bounded.
TEXT_KEY_FIELDS: dict[EditOp, list[str]] = {
    EditOp.SET_MODEL_FOR_QUERY_CLASS: ["query_class", "model"],
    EditOp.SET_MODEL_PARAM: ["model"],
    EditOp.LORA_FINETUNE: ["target_model"],
}
BAD_TEXT_KEYS: dict[str, Any] = {
    "empty": "",
    "blank": "   ",
    "newline": "a\nb",
    "nul": "a\x00b",
    "del": "a\x7fb",
    "201-chars": "m" * 201,
    "lone-surrogate": "a\ud800b",
    "int-for-str": 1,
    "none": None,
}

PARAM_FIELDS = {EditOp.SET_MODEL_PARAM: "param", EditOp.SET_AGENT_PARAM: "param"}
BAD_PARAMS: dict[str, Any] = {
    "empty": "",
    "space": "max turns",
    "dotted": "a.b",
    "starts-with-digit": "1x",
    "65-chars": "p" * 65,
    "quote": 'a"b',
    "bracket": "a]",
    "newline": "a\nb",
    "int-for-str": 1,
}

VALUE_FIELDS = {EditOp.SET_MODEL_PARAM: "value", EditOp.SET_AGENT_PARAM: "value"}
BAD_VALUES: dict[str, Any] = {
    "null": None,
    "table": {"a": 1},
    "nan": float("nan"),
    "inf": float("inf"),
    "minus-inf": float("-inf"),
    "nested-array": [[1]],
    "array-of-tables": [{"a": 1}],
    "array-with-nan": [1.0, float("nan")],
    "int-beyond-int64": 2**63,
    "int-below-int64": -(2**63) - 1,
    "oversize-string": "x" * (MAX_SHORT_TEXT_CHARS + 1),
    "oversize-array": [1] * (MAX_ARRAY_ITEMS + 1),
}

#: (op, field, bad value, case id) for the op's other free-text fields.
OTHER_BAD: list[tuple[EditOp, str, Any, str]] = [
    (EditOp.PATCH_SYSTEM_PROMPT, "diff", "", "empty"),
    (EditOp.PATCH_SYSTEM_PROMPT, "diff", "x" * (MAX_PROMPT_CHARS + 1), "oversize"),
    (EditOp.PATCH_SYSTEM_PROMPT, "diff", 1, "int-for-str"),
    (EditOp.PATCH_SYSTEM_PROMPT, "diff", ["@@ -1 +1 @@"], "list-for-str"),
    (EditOp.REPLACE_SYSTEM_PROMPT, "new_content", "x" * (MAX_PROMPT_CHARS + 1), "oversize"),
    (EditOp.REPLACE_SYSTEM_PROMPT, "new_content", None, "null"),
    (EditOp.REPLACE_SYSTEM_PROMPT, "new_content", b"bytes", "bytes"),
    (EditOp.SET_AGENT_CLASS, "new_class", "", "empty"),
    (EditOp.SET_AGENT_CLASS, "new_class", "a b", "space"),
    (EditOp.SET_AGENT_CLASS, "new_class", 'react"\nevil = 1', "toml-injection"),
    (EditOp.SET_AGENT_CLASS, "new_class", "c" * 129, "129-chars"),
    (EditOp.SET_AGENT_CLASS, "new_class", 3, "int-for-str"),
    (EditOp.EDIT_FEW_SHOT_EXEMPLARS, "exemplars", "nope", "str-for-list"),
    (EditOp.EDIT_FEW_SHOT_EXEMPLARS, "exemplars", {"input": "a", "output": "b"}, "dict-for-list"),
    (
        EditOp.EDIT_FEW_SHOT_EXEMPLARS,
        "exemplars",
        [{"input": "a", "output": "b"}] * (MAX_EXEMPLARS + 1),
        "too-many",
    ),
    (EditOp.EDIT_TOOL_DESCRIPTION, "new_description", "", "empty"),
    (
        EditOp.EDIT_TOOL_DESCRIPTION,
        "new_description",
        "d" * (MAX_SHORT_TEXT_CHARS + 1),
        "oversize",
    ),
    (EditOp.EDIT_TOOL_DESCRIPTION, "new_description", 1.5, "float-for-str"),
    (EditOp.LORA_FINETUNE, "data_source", "s" * (MAX_SHORT_TEXT_CHARS + 1), "oversize"),
    (EditOp.LORA_FINETUNE, "data_source", False, "bool-for-str"),
]

#: Exemplar items: (bad item, field under payload.exemplars.0, case id).
BAD_EXEMPLARS: list[tuple[Any, str, str]] = [
    ({"input": "a"}, "output", "missing-output"),
    ({"output": "b"}, "input", "missing-input"),
    ({"input": "a", "output": "b", "note": "x"}, "note", "unknown-key"),
    ({"input": "a", "output": 4}, "output", "int-for-str"),
    ({"input": None, "output": "b"}, "input", "null-input"),
    ({"input": "i" * (2 * MAX_SHORT_TEXT_CHARS + 1), "output": "b"}, "input", "oversize"),
    ("a -> b", "", "str-for-object"),
]


def _invalid_cases() -> list[Any]:
    cases: list[Any] = []

    def add(op: EditOp, payload: dict[str, Any], field: str, case: str) -> None:
        cases.append(pytest.param(op, payload, field, id=f"{op.value}-{case}"))

    for op in OPS:
        valid = VALID_PAYLOADS[op]
        required = [
            name for name, info in PAYLOAD_MODELS[op].model_fields.items() if info.is_required()
        ]
        assert required, op
        for key in required:
            add(
                op, {k: v for k, v in valid.items() if k != key}, f"payload.{key}", f"missing-{key}"
            )
        add(op, {**valid, "extra": 1}, "payload.extra", "unknown-key")
        add(op, {**valid, "Agent": "coder"}, "payload.Agent", "unknown-key-case")
        add(op, {}, f"payload.{required[0]}", "empty-payload")
        for field in NAME_FIELDS.get(op, []):
            for case, bad in BAD_NAMES.items():
                add(op, {**valid, field: bad}, f"payload.{field}", f"{field}-{case}")
        for field in TEXT_KEY_FIELDS.get(op, []):
            for case, bad in BAD_TEXT_KEYS.items():
                add(op, {**valid, field: bad}, f"payload.{field}", f"{field}-{case}")
        if op in PARAM_FIELDS:
            for case, bad in BAD_PARAMS.items():
                add(op, {**valid, "param": bad}, "payload.param", f"param-{case}")
        if op in VALUE_FIELDS:
            for case, bad in BAD_VALUES.items():
                add(op, {**valid, "value": bad}, "payload.value", f"value-{case}")
    for op, field, bad, case in OTHER_BAD:
        add(op, {**VALID_PAYLOADS[op], field: bad}, f"payload.{field}", f"{field}-{case}")
    for item, field, case in BAD_EXEMPLARS:
        payload = {**VALID_PAYLOADS[EditOp.EDIT_FEW_SHOT_EXEMPLARS], "exemplars": [item]}
        where = "payload.exemplars.0" + (f".{field}" if field else "")
        add(EditOp.EDIT_FEW_SHOT_EXEMPLARS, payload, where, f"exemplar-{case}")
    return cases


@pytest.mark.parametrize(("op", "payload", "field"), _invalid_cases())
def test_invalid_payload_names_edit_and_field(op: EditOp, payload: dict, field: str) -> None:
    edit = make_edit(op, payload, id="bad-edit-7")
    with pytest.raises(InvalidEdit) as info:
        parse_payload(edit)
    error = info.value
    assert error.edit_id == "bad-edit-7"
    assert error.field == field, error.message
    # One line, bounded, and it names both: hostile input cannot break the message.
    assert "\n" not in error.message
    assert len(error.message) < 600
    assert "bad-edit-7" in error.message
    assert field in error.message


def test_invalid_payload_error_is_a_value_error() -> None:
    # InvalidEdit is "misuse": callers catching ValueError see it too.
    with pytest.raises(ValueError):
        parse_payload(make_edit(EditOp.SET_MODEL_PARAM, {"model": "m"}))


def test_error_reason_says_what_is_wrong() -> None:
    with pytest.raises(InvalidEdit) as info:
        parse_payload(make_edit(EditOp.ADD_TOOL_TO_AGENT, {"agent": "a", "tool_name": "t", "x": 1}))
    assert info.value.reason == "unknown key"
    with pytest.raises(InvalidEdit) as info:
        parse_payload(make_edit(EditOp.ADD_TOOL_TO_AGENT, {"agent": "a"}))
    assert info.value.reason == "required key is missing"
    with pytest.raises(InvalidEdit) as info:
        parse_payload(make_edit(EditOp.ADD_TOOL_TO_AGENT, {"agent": "../x", "tool_name": "t"}))
    assert "'../x'" in info.value.reason


@pytest.mark.parametrize(
    "value",
    [True, False, 0, -1, 2**63 - 1, -(2**63), 0.5, -0.0, 1e300, "", "x" * MAX_SHORT_TEXT_CHARS,
     'quote " ] """ \n newline', "ünïcødé ✓", [], [1, "a", 2.5, True], [1] * MAX_ARRAY_ITEMS],
    ids=lambda v: type(v).__name__ + (f"-len{len(v)}" if isinstance(v, list | str) else f"-{v}"),
)  # fmt: skip
def test_typed_values_accepted(value: Any) -> None:
    payload = {"agent": "assistant", "param": "custom_param", "value": value}
    parsed = parse_payload(make_edit(EditOp.SET_AGENT_PARAM, payload))
    assert parsed.value == value  # type: ignore[attr-defined]
    assert type(parsed.value) is type(value)  # type: ignore[attr-defined]  # "1" stays a str


@pytest.mark.parametrize(
    "name", ["coder", "Agent_2", "qwen2.5", "a-b", "a" * 128, "0day"], ids=str.__str__
)
def test_good_names_accepted(name: str) -> None:
    payload = {"agent": name, "tool_name": name}
    parsed = parse_payload(make_edit(EditOp.ADD_TOOL_TO_AGENT, payload))
    assert parsed.agent == name  # type: ignore[attr-defined]


def test_model_names_may_hold_colons_and_dots() -> None:
    payload = {"query_class": "math word problems", "model": "qwen2.5:7b-instruct"}
    parsed = parse_payload(make_edit(EditOp.SET_MODEL_FOR_QUERY_CLASS, payload))
    assert parsed.model == "qwen2.5:7b-instruct"  # type: ignore[attr-defined]


# --- resolve_agent ---------------------------------------------------------------------------


def test_resolve_agent_prefers_the_payload() -> None:
    edit = make_edit(EditOp.REPLACE_SYSTEM_PROMPT, {}, target="agents.coder.system_prompt")
    assert resolve_agent(edit, "assistant") == "assistant"


@pytest.mark.parametrize(
    ("target", "agent"),
    [
        ("agents.coder.system_prompt", "coder"),
        ("agents.coder", "coder"),
        ("agents.coder.few_shot", "coder"),
    ],
)
def test_resolve_agent_from_target(target: str, agent: str) -> None:
    edit = make_edit(EditOp.REPLACE_SYSTEM_PROMPT, {}, target=target)
    assert resolve_agent(edit, None) == agent


@pytest.mark.parametrize(
    ("target", "field"),
    [
        pytest.param("", "payload.agent", id="no-target"),
        pytest.param("agents", "payload.agent", id="agents-only"),
        pytest.param("models.x.temperature", "payload.agent", id="not-an-agent-target"),
        pytest.param("agents..system_prompt", "target", id="empty-agent"),
        pytest.param("agents.co/der.system_prompt", "target", id="separator"),
        pytest.param("agents.\u0430gent.system_prompt", "target", id="lookalike"),
        pytest.param("agents.a\nb.system_prompt", "target", id="newline"),
    ],
)
def test_resolve_agent_refusals(target: str, field: str) -> None:
    edit = make_edit(EditOp.REPLACE_SYSTEM_PROMPT, {}, id="t1", target=target)
    with pytest.raises(InvalidEdit) as info:
        resolve_agent(edit, None)
    assert info.value.edit_id == "t1"
    assert info.value.field == field


# --- check_param_value -----------------------------------------------------------------------

PARAM_OK: list[tuple[str, Any]] = [
    ("temperature", 0),
    ("temperature", 0.0),
    ("temperature", 2),
    ("temperature", 2.0),
    ("temperature", 0.7),
    ("top_p", 1),
    ("top_p", 1e-9),
    ("top_k", 0),
    ("top_k", 40),
    ("max_tokens", 1),
    ("max_tokens", 1_000_000),
    ("max_turns", 1),
    ("max_turns", 1000),
    ("presence_penalty", -2),
    ("frequency_penalty", 2.0),
    ("seed", -5),
    ("max_turns_hard", 5000),  # not well known: any value
    ("custom", "anything"),
    ("custom", [1, 2]),
]

PARAM_BAD: list[tuple[str, Any]] = [
    ("temperature", -0.1),
    ("temperature", 2.01),
    ("temperature", True),
    ("temperature", "0.5"),
    ("temperature", [0.5]),
    ("top_p", 0),
    ("top_p", 1.5),
    ("top_k", -1),
    ("top_k", 1.0),
    ("max_tokens", 0),
    ("max_tokens", 1_000_001),
    ("max_tokens", 512.0),
    ("max_tokens", "1"),
    ("max_tokens", True),
    ("max_turns", 0),
    ("max_turns", 1001),
    ("max_turns", True),
    ("max_turns", "4"),
    ("presence_penalty", -2.5),
    ("frequency_penalty", 3),
    ("seed", "1"),
    ("seed", 1.5),
]


@pytest.mark.parametrize(("param", "value"), PARAM_OK, ids=lambda x: repr(x)[:20])
def test_check_param_value_accepts(param: str, value: Any) -> None:
    assert check_param_value(param, value) is None


@pytest.mark.parametrize(("param", "value"), PARAM_BAD, ids=lambda x: repr(x)[:20])
def test_check_param_value_refuses(param: str, value: Any) -> None:
    problem = check_param_value(param, value)
    assert problem is not None
    assert problem.startswith(f"{param} must be")
    assert repr(value) in problem
