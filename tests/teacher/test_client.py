"""The teacher client against a real loopback server: structured output, the one retry on
an invalid reply, cost from usage, the budget enforced before a call, settings and keys."""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import pytest

from specdistill.evaluation import EvaluationConfigError
from specdistill.teacher import (
    BudgetExceeded,
    CostLedger,
    InvalidReply,
    Pricing,
    TeacherClient,
    TeacherConfigError,
    TeacherReplyError,
    parse_json_reply,
    teacher_settings,
)
from teacher_helpers import Reply, TeacherServer, make_client, teacher_server

SCHEMA = {"type": "object", "properties": {"x": {"type": "integer"}}, "required": ["x"]}
USER = "TASK: plan\nGive me x."


def need_x(data: Any) -> int:
    if not isinstance(data, dict) or not isinstance(data.get("x"), int):
        raise InvalidReply("needs an integer 'x'")
    return data["x"]


def ask(client: TeacherClient, purpose: str = "plan") -> int:
    async def run() -> int:
        try:
            return await client.complete_json(
                purpose, system="sys", user=USER, check=need_x, schema=SCHEMA, schema_name="x"
            )
        finally:
            await client.aclose()

    return asyncio.run(run())


@pytest.fixture
def server() -> Any:
    with teacher_server() as running:
        yield running


def test_structured_request_and_recorded_cost(server: TeacherServer) -> None:
    server.add("plan", Reply({"x": 7}, usage=(1200, 300)))
    pricing = Pricing(per_1k_input=0.01, per_1k_output=0.03)
    client = make_client(server, pricing=pricing, api_key="sk-test-SECRET-123456789")
    assert ask(client) == 7
    [body] = server.bodies()
    assert body["model"] == "teacher-model" and body["max_tokens"] == 1000
    assert body["response_format"]["type"] == "json_schema"
    assert body["response_format"]["json_schema"]["schema"] == SCHEMA
    assert server.headers[0]["Authorization"] == "Bearer sk-test-SECRET-123456789"
    [call] = client.ledger.calls
    assert (call.prompt_tokens, call.completion_tokens) == (1200, 300)
    assert math.isclose(call.cost_usd, 1.2 * 0.01 + 0.3 * 0.03)
    assert call.usage_reported and call.purpose == "plan"
    assert math.isclose(client.ledger.spent_usd, call.cost_usd)
    # the key is never in what we keep or show
    assert "SECRET" not in json.dumps([c.as_json() for c in client.ledger.calls])
    assert "SECRET" not in repr(client) + repr(client.endpoint)


def test_invalid_json_is_retried_once_with_the_reason(server: TeacherServer) -> None:
    server.add("plan", "Sure! Here is x: 7", {"x": 8})
    client = make_client(server)
    assert ask(client) == 8
    first, second = server.bodies()
    assert second["messages"][:2] == first["messages"]
    assert second["messages"][2] == {"role": "assistant", "content": "Sure! Here is x: 7"}
    assert second["messages"][3]["content"].startswith("That reply was not usable: not JSON")
    assert len(client.ledger.calls) == 2


def test_wrong_shape_twice_is_a_clear_error(server: TeacherServer) -> None:
    server.add("plan", {"y": 1}, '```json\n{"x": "seven"}\n```', {"x": 1})
    client = make_client(server)
    with pytest.raises(TeacherReplyError, match="plan reply was not usable twice: needs an int"):
        ask(client)
    assert server.count == 2  # exactly one retry, then stop


def test_code_fence_is_accepted_and_constants_refused() -> None:
    assert parse_json_reply('```json\n{"x": 1}\n```') == {"x": 1}
    assert parse_json_reply('  ```\n{"x": 2}```  ') == {"x": 2}
    with pytest.raises(InvalidReply, match="not JSON"):
        parse_json_reply('{"x": NaN}')


def test_structured_output_downgrades_when_refused(server: TeacherServer) -> None:
    server.add("plan", Reply(status=400), Reply(status=400), {"x": 3})
    client = make_client(server)
    assert ask(client) == 3
    formats = [b.get("response_format", {}).get("type") for b in server.bodies()]
    assert formats == ["json_schema", "json_object", None]
    assert [c.cost_usd for c in client.ledger.calls[:2]] == [0.0, 0.0]  # errors cost nothing


def test_budget_is_enforced_before_the_call(server: TeacherServer) -> None:
    """The second call's worst case does not fit: BudgetExceeded, and it is never sent."""
    pricing = Pricing(per_1k_input=1.0, per_1k_output=1.0)  # $0.001 per token
    client = make_client(server, pricing=pricing, max_tokens=100)
    body = client.request_body(
        [{"role": "system", "content": "sys"}, {"role": "user", "content": USER}], SCHEMA, "x"
    )
    worst = client.estimate_usd(body)
    size = len(json.dumps([body["messages"], body["response_format"]]).encode())
    assert math.isclose(worst, (size + 100) / 1000)
    server.add("plan", Reply({"x": 1}, usage=(50, 10)), Reply({"x": 2}, usage=(50, 10)))
    client.ledger = CostLedger(limit_usd=0.060 + worst - 0.001)  # room for one call only
    assert ask(client) == 1
    assert math.isclose(client.ledger.spent_usd, 0.060)
    with pytest.raises(BudgetExceeded) as caught:
        ask(client, "plan")
    assert server.count == 1  # the server never saw the call that could exceed the budget
    assert math.isclose(caught.value.spent_usd, 0.060)
    assert math.isclose(caught.value.estimate_usd, worst)
    assert "the call was not made" in caught.value.message


def test_a_budget_too_small_for_any_call_sends_nothing(server: TeacherServer) -> None:
    server.add("plan", {"x": 1})
    client = make_client(server, pricing=Pricing(0.5, 0.5), limit=0.001)
    with pytest.raises(BudgetExceeded):
        ask(client)
    assert server.count == 0 and client.ledger.calls == []


def test_missing_usage_is_charged_the_worst_case(server: TeacherServer) -> None:
    server.add("plan", Reply({"x": 1}, usage=None))
    client = make_client(server, pricing=Pricing(1.0, 1.0))
    ask(client)
    [call] = client.ledger.calls
    assert not call.usage_reported and call.cost_usd == call.estimate_usd > 0


def test_a_parent_ledger_bounds_every_session(server: TeacherServer) -> None:
    """A loop's total budget (the parent) stops the third session's call before it is sent."""
    pricing = Pricing(per_1k_input=0.1)  # $0.01 per call as billed
    probe = make_client(server, pricing=pricing, max_tokens=1)
    messages = [{"role": "system", "content": "sys"}, {"role": "user", "content": USER}]
    worst = probe.estimate_usd(probe.request_body(messages, SCHEMA, "x"))
    assert worst > 0.01
    total = CostLedger(limit_usd=0.02 + worst - 1e-6)  # two calls fit, a third could not
    server.add("plan", *[Reply({"x": i}, usage=(100, 0)) for i in range(5)])
    spent = []
    for _ in range(3):
        client = make_client(server, pricing=pricing, max_tokens=1, ledger=CostLedger(parent=total))
        try:
            ask(client)
        except BudgetExceeded as exc:
            assert exc.limit_usd == total.limit_usd and client.ledger.calls == []
            break
        spent.append(client.ledger.spent_usd)
    assert spent == [pytest.approx(0.01), pytest.approx(0.01)]
    assert math.isclose(total.spent_usd, 0.02) and server.count == 2


def test_teacher_settings_and_environment(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[specdistill.teacher]\n"
        'base_url = "http://localhost:11434/v1/"\nmodel = "qwen2.5:32b"\n'
        'api_key_env = "MY_TEACHER_KEY"\nprice_per_1k_input = 0.003\n'
        "price_per_1k_output = 0.015\nmax_cost_per_session_usd = 0.5\nmax_tokens = 2048\n"
    )
    settings = teacher_settings(tmp_path, environ={"MY_TEACHER_KEY": "sk-from-env-1234567890"})
    assert (settings.base_url, settings.model) == ("http://localhost:11434/v1", "qwen2.5:32b")
    assert settings.pricing == Pricing(0.003, 0.015) and settings.max_tokens == 2048
    assert settings.api_key is not None and settings.api_key.reveal() == "sk-from-env-1234567890"
    assert "sk-from-env" not in repr(settings)
    assert settings.ledger().limit_usd == 0.5
    env = {
        "SPECDISTILL_TEACHER_BASE_URL": "https://api.example.com/v1",
        "SPECDISTILL_TEACHER_MODEL": "big",
        "SPECDISTILL_TEACHER_API_KEY": "sk-override-0987654321",
    }
    overridden = teacher_settings(tmp_path, environ=env)
    assert (overridden.base_url, overridden.model) == ("https://api.example.com/v1", "big")
    assert overridden.api_key is not None and overridden.api_key.reveal().startswith("sk-over")


@pytest.mark.parametrize(
    ("section", "error", "message"),
    [
        ("", TeacherConfigError, "no teacher endpoint"),
        ('base_url = "http://x/v1"', TeacherConfigError, "no teacher model"),
        ('base_url = "http://x/v1"\nmodel = "m"\napi_key = "sk-literal"', EvaluationConfigError,
         "api_key is refused"),
        ('base_url = "http://x/v1"\nmodel = "m"\nmax_tokens = 0', TeacherConfigError,
         "max_tokens must be an integer >= 1"),
        ('base_url = "http://x/v1"\nmodel = "m"\nstructured_output = "xml"', TeacherConfigError,
         "structured_output must be"),
        ('base_url = "http://x/v1"\nmodel = "m"\napi_key_env = "UNSET_VAR"',
         EvaluationConfigError, "names 'UNSET_VAR', which is not set"),
    ],
    ids=["no-url", "no-model", "literal-key", "max-tokens", "structured", "unset-key"],
)  # fmt: skip
def test_bad_teacher_settings(tmp_path: Path, section: str, error: type, message: str) -> None:
    (tmp_path / "config.toml").write_text(f"[specdistill.teacher]\n{section}\n")
    with pytest.raises(error, match=message):
        teacher_settings(tmp_path, environ={})


def test_prompts_are_package_data_with_their_placeholders() -> None:
    from importlib import resources

    from specdistill.teacher import prompts

    folder = resources.files("specdistill.teacher").joinpath("prompts")
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{n}.md" for n in prompts.NAMES)
    values = {"clusters": [], "max_clusters": "3", "sample": [], "spec": {}, "max_edits": "2",
              "history": [], "items": []}  # fmt: skip
    for name in prompts.NAMES:
        text = prompts.render(name, **values)
        assert "$" not in text, name  # every placeholder was filled
        if name.endswith("_user"):
            assert text.startswith(f"TASK: {name.removesuffix('_user')}\n")
    with pytest.raises(KeyError):
        prompts.render("plan_user", clusters=[])


def test_teacher_package_exports_are_sorted_and_exact() -> None:
    import types

    import specdistill.teacher as teacher

    assert teacher.__all__ == sorted(teacher.__all__)
    public = {
        name
        for name, value in vars(teacher).items()
        if not name.startswith("_") and not isinstance(value, types.ModuleType)
    }
    assert public == set(teacher.__all__)


def test_server_errors_are_retried_and_cost_nothing(server: TeacherServer) -> None:
    server.add("plan", Reply(status=503), {"x": 5})
    client = make_client(server, pricing=Pricing(1.0, 1.0))
    assert ask(client) == 5
    failed, ok = client.ledger.calls
    assert failed.cost_usd == 0.0 and "HTTP 503" in (failed.error or "")
    assert ok.error is None and ok.cost_usd > 0


def test_a_lost_connection_is_charged_its_worst_case() -> None:
    from eval_helpers import closed_port
    from specdistill.evaluation import ChatEndpoint, EndpointCallError
    from specdistill.evaluation.runner import RetryPolicy

    client = TeacherClient(
        ChatEndpoint(f"http://127.0.0.1:{closed_port()}/v1", timeout=2, name="teacher"),
        "m",
        pricing=Pricing(1.0, 1.0),
        retry=RetryPolicy(max_attempts=2, base_delay=0.0, max_delay=0.0),
    )
    with pytest.raises(EndpointCallError, match="connection failed"):
        ask(client)
    assert len(client.ledger.calls) == 2  # retried once, then the error is the caller's
    assert all(c.cost_usd == c.estimate_usd > 0 for c in client.ledger.calls)
