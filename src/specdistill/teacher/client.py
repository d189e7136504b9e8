"""The teacher: any OpenAI-compatible chat-completions endpoint, asked for JSON, on a budget.

:class:`TeacherClient` sends one system and one user message and expects one JSON object
back. It asks for structured output (``response_format`` ``json_schema``) and downgrades
to ``json_object``, then to none, when a server answers HTTP 400/422 to it; whatever the
server promises, the reply is parsed and checked here. A reply that is not JSON, or not
the asked shape, is retried **once** with the reason; a second bad reply raises
:class:`~specdistill.teacher.errors.TeacherReplyError`. Transport failures that may pass
(timeouts, 5xx, 429, garbage bodies) are retried with backoff like the student's.

**Cost.** Every HTTP attempt is recorded in a :class:`CostLedger` as a
:class:`TeacherCall`: tokens from the reply's ``usage``, cost from the configured
prices. The budget is enforced *before* each attempt: the attempt's worst case is

    prompt bytes / bytes_per_token × price_per_1k_input / 1000
    + max_tokens × price_per_1k_output / 1000

where the prompt bytes are the UTF-8 size of the messages and the response format. With
``bytes_per_token = 1`` (the default) this bounds byte-level BPE tokenizers from above.
If ``spent + worst case`` would pass the limit, :class:`BudgetExceeded` is raised and
nothing is sent, so the caller keeps what earlier calls produced. A reply without usable
``usage`` is charged its worst case; an attempt that timed out or lost its connection is
charged its worst case too (the server may have done, and billed, the work); an HTTP
error status is charged nothing. A ledger may have a parent (a ``loop``'s total budget):
both limits are checked and both are charged.

The API key lives in the endpoint's :class:`~specdistill.evaluation.endpoint.Secret`: it
is sent only in the ``Authorization`` header, and neither ledger records nor errors
carry it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import random
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, TypeVar

from specdistill.evaluation.endpoint import ChatEndpoint, message_text
from specdistill.evaluation.errors import EndpointCallError
from specdistill.evaluation.runner import RetryPolicy
from specdistill.teacher.errors import BudgetExceeded, TeacherReplyError

log = logging.getLogger("specdistill.teacher")
T = TypeVar("T")
StructuredOutput = Literal["json_schema", "json_object", "off"]
#: Downgrade order when a server refuses a response_format.
DOWNGRADE: dict[str, StructuredOutput] = {"json_schema": "json_object", "json_object": "off"}
#: Characters of a bad reply quoted back to the teacher (and in errors).
QUOTE = 2000


class InvalidReply(ValueError):
    """A teacher reply is not the asked shape; the message says why (sent back once)."""


@dataclass(frozen=True)
class Pricing:
    """USD per 1000 prompt and completion tokens (0 for a local model)."""

    per_1k_input: float = 0.0
    per_1k_output: float = 0.0

    def cost(self, prompt_tokens: float, completion_tokens: float) -> float:
        return (prompt_tokens * self.per_1k_input + completion_tokens * self.per_1k_output) / 1000


@dataclass(frozen=True)
class TeacherCall:
    """One HTTP attempt at the teacher: what it was for, its tokens and what it cost."""

    purpose: str
    model: str
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    estimate_usd: float
    usage_reported: bool
    seconds: float
    error: str | None = None

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class CostLedger:
    """Calls made and money spent, against an optional limit (None: unlimited)."""

    limit_usd: float | None = None
    parent: CostLedger | None = None
    calls: list[TeacherCall] = field(default_factory=list)
    spent_usd: float = 0.0

    def __post_init__(self) -> None:
        if self.limit_usd is not None and not self.limit_usd >= 0:
            raise ValueError(f"limit_usd={self.limit_usd!r}: must be >= 0 or None")

    def check(self, purpose: str, estimate_usd: float) -> None:
        """Raise BudgetExceeded if a call costing ``estimate_usd`` could pass any limit."""
        ledger: CostLedger | None = self
        while ledger is not None:
            limit = ledger.limit_usd
            if limit is not None and ledger.spent_usd + estimate_usd > limit + 1e-12:
                raise BudgetExceeded(
                    purpose=purpose,
                    spent_usd=ledger.spent_usd,
                    estimate_usd=estimate_usd,
                    limit_usd=limit,
                )
            ledger = ledger.parent

    def record(self, call: TeacherCall) -> None:
        self.calls.append(call)
        self.spent_usd += call.cost_usd
        if self.parent is not None:
            self.parent.record(call)

    @property
    def remaining_usd(self) -> float | None:
        return None if self.limit_usd is None else max(0.0, self.limit_usd - self.spent_usd)


def parse_json_reply(text: str) -> Any:
    """The JSON value of a reply: surrounding whitespace and one code fence allowed."""
    body = text.strip()
    if body.startswith("```") and body.endswith("```") and len(body) >= 6:
        body = body[3:-3]
        first_line, _, rest = body.partition("\n")
        body = rest if first_line.strip().isalpha() or not first_line.strip() else body
    try:
        return json.loads(body, parse_constant=_refuse_constant)
    except ValueError as exc:
        raise InvalidReply(f"not JSON ({exc})") from None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _usage(reply: dict[str, Any]) -> tuple[int, int] | None:
    usage = reply.get("usage")
    if not isinstance(usage, dict):
        return None
    prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens")
    valid = all(
        isinstance(v, int) and not isinstance(v, bool) and v >= 0 for v in (prompt, completion)
    )
    return (prompt, completion) if valid else None  # type: ignore[return-value]


class TeacherClient:
    """Ask the teacher for JSON; record and bound the cost (see the module docstring).

    >>> client = TeacherClient(ChatEndpoint(url), "qwen2.5:32b", ledger=CostLedger(0.50))
    >>> data = await client.complete_json("plan", system=..., user=..., schema=...,
    ...                                   check=lambda d: d)            # doctest: +SKIP
    """

    def __init__(
        self,
        endpoint: ChatEndpoint,
        model: str,
        *,
        pricing: Pricing | None = None,
        ledger: CostLedger | None = None,
        max_tokens: int = 4096,
        temperature: float = 0.0,
        structured_output: StructuredOutput = "json_schema",
        bytes_per_token: float = 1.0,
        retry: RetryPolicy | None = None,
        seed: int | None = None,
    ) -> None:
        if max_tokens < 1 or bytes_per_token <= 0:
            raise ValueError("max_tokens must be >= 1 and bytes_per_token > 0")
        self.endpoint = endpoint
        self.model = model
        self.pricing = pricing or Pricing()
        self.ledger = ledger if ledger is not None else CostLedger()
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.structured_output: StructuredOutput = structured_output
        self.bytes_per_token = bytes_per_token
        self.retry = retry or RetryPolicy()
        self._rng = random.Random(seed)

    def __repr__(self) -> str:
        return f"TeacherClient({self.endpoint!r}, model={self.model!r})"

    def request_body(
        self, messages: list[dict[str, str]], schema: dict[str, Any] | None, schema_name: str
    ) -> dict[str, Any]:
        """The chat-completions body for ``messages`` under the current structured mode."""
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": self.max_tokens,
            "temperature": self.temperature,
        }
        if self.structured_output == "json_schema" and schema is not None:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": False},
            }
        elif self.structured_output in ("json_schema", "json_object"):
            body["response_format"] = {"type": "json_object"}
        return body

    def estimate_usd(self, body: dict[str, Any]) -> float:
        """The worst-case cost of sending ``body`` (see the module docstring)."""
        sized = [body["messages"], body.get("response_format")]
        size = len(json.dumps(sized, ensure_ascii=False).encode("utf-8"))
        return self.pricing.cost(math.ceil(size / self.bytes_per_token), self.max_tokens)

    async def complete_json(
        self,
        purpose: str,
        *,
        system: str,
        user: str,
        check: Callable[[Any], T],
        schema: dict[str, Any] | None = None,
        schema_name: str = "reply",
    ) -> T:
        """The checked JSON reply; one retry (quoting the problem) on an invalid reply.

        ``check`` turns the decoded JSON into the caller's value or raises InvalidReply.
        """
        messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
        for attempt in (1, 2):
            text = await self._send(purpose, messages, schema, schema_name)
            try:
                return check(parse_json_reply(text))
            except InvalidReply as exc:
                reason = str(exc)
            if attempt == 2:
                break
            log.warning("teacher %s reply invalid (%s); asking once more", purpose, reason)
            messages = [
                *messages,
                {"role": "assistant", "content": text[:QUOTE]},
                {
                    "role": "user",
                    "content": f"That reply was not usable: {reason}. Reply again with ONLY "
                    "one JSON object that matches the schema: no prose, no code fence.",
                },
            ]
        raise TeacherReplyError(
            f"the teacher's {purpose} reply was not usable twice: {reason}",
            hint="use a stronger teacher model, or one that supports structured output",
        )

    async def _send(
        self,
        purpose: str,
        messages: list[dict[str, str]],
        schema: dict[str, Any] | None,
        schema_name: str,
    ) -> str:
        attempt = 0
        while True:
            attempt += 1
            body = self.request_body(messages, schema, schema_name)
            estimate = self.estimate_usd(body)
            self.ledger.check(purpose, estimate)  # before anything is sent
            started = time.perf_counter()
            try:
                reply = await self.endpoint.complete(body)
            except EndpointCallError as exc:
                lost = exc.status is None  # timeout or connection: maybe billed
                self._record(purpose, started, estimate, None, error=exc.message, lost=lost)
                if exc.status in (400, 422) and self.structured_output in DOWNGRADE:
                    downgraded = DOWNGRADE[self.structured_output]
                    log.warning(
                        "teacher refused response_format %s (HTTP %s); retrying with %s",
                        self.structured_output,
                        exc.status,
                        downgraded,
                    )
                    self.structured_output = downgraded
                    continue
                if exc.retryable and attempt < self.retry.max_attempts:
                    await asyncio.sleep(self.retry.delay(attempt, self._rng))
                    continue
                raise
            self._record(purpose, started, estimate, reply)
            return self.endpoint.redact(message_text(reply))

    def _record(
        self,
        purpose: str,
        started: float,
        estimate: float,
        reply: dict[str, Any] | None,
        *,
        error: str | None = None,
        lost: bool = False,
    ) -> None:
        usage = _usage(reply) if reply is not None else None
        if usage is not None:
            prompt, completion = usage
            cost = self.pricing.cost(prompt, completion)
        else:
            prompt = completion = 0
            cost = estimate if (reply is not None or lost) else 0.0
        call = TeacherCall(
            purpose=purpose,
            model=self.model,
            prompt_tokens=prompt,
            completion_tokens=completion,
            cost_usd=cost,
            estimate_usd=estimate,
            usage_reported=usage is not None,
            seconds=round(time.perf_counter() - started, 4),
            error=error,
        )
        self.ledger.record(call)
        log.info(
            "teacher %s: %d+%d tokens, $%.5f (worst case $%.5f)%s",
            purpose,
            prompt,
            completion,
            cost,
            estimate,
            f", failed: {error}" if error else "",
        )

    async def aclose(self) -> None:
        await self.endpoint.aclose()
