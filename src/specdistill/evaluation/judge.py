"""The LLM judge: a rubric-based scorer over an OpenAI-compatible endpoint.

The judge model receives the rubric, the task's input, the reference and the answer, and
must reply with **only** a JSON object::

    {"score": 0.75, "reason": "one sentence"}

``score`` must be a number in [0, 1] (booleans are refused); ``reason`` is optional and
other keys are ignored. Anything else — prose around the JSON, a code fence, a missing
or out-of-range score — is a *malformed verdict*: an **error** for that task (neither a
pass nor a fail) and not retried, since the same prompt would most likely get the same
reply. HTTP failures follow :mod:`.endpoint` (timeouts, 5xx and garbage bodies retry).

Task options: ``rubric`` (string, required, at most 16 KiB). The request is sent with
``temperature = 0`` and ``max_tokens`` = :attr:`Judge.max_tokens`.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

from specdistill.evaluation.endpoint import ChatEndpoint, message_text
from specdistill.evaluation.errors import TaskRunError
from specdistill.evaluation.scoring import BadTask, JudgeVerdict, ScoreInput, Scorer

MAX_RUBRIC = 16 * 1024

JUDGE_SYSTEM_PROMPT = """\
You grade an assistant's answer against a rubric and a reference answer.
Reply with ONLY a JSON object, no prose and no code fence:
{"score": <a number from 0 to 1>, "reason": "<one sentence>"}
1 means the answer fully meets the rubric; 0 means it does not meet it at all."""


def parse_verdict(text: str) -> JudgeVerdict:
    """A strict verdict from the judge's reply, or TaskRunError (not retryable)."""
    shown = text.strip()
    shown = shown if len(shown) <= 200 else shown[:200] + "…"
    try:
        data = json.loads(text)
    except ValueError:
        raise TaskRunError(f"malformed judge reply (not JSON): {shown!r}") from None
    score = data.get("score") if isinstance(data, dict) else None
    if (
        isinstance(score, bool)
        or not isinstance(score, int | float)
        or not math.isfinite(score)
        or not 0 <= score <= 1
    ):
        raise TaskRunError(f"malformed judge reply (needs a 'score' in [0, 1]): {shown!r}")
    reason = data.get("reason", "")
    return JudgeVerdict(float(score), reason if isinstance(reason, str) else "")


def build_judge_request(
    model: str, *, rubric: str, task_input: str, reference: Any, answer: str, max_tokens: int
) -> dict[str, Any]:
    """The chat-completions body sent to the judge."""
    user = (
        f"## Rubric\n{rubric}\n\n## Task\n{task_input}\n\n"
        f"## Reference answer\n{json.dumps(reference, ensure_ascii=False)}\n\n"
        f"## Answer to grade\n{answer}"
    )
    return {
        "model": model,
        "messages": [
            {"role": "system", "content": JUDGE_SYSTEM_PROMPT},
            {"role": "user", "content": user},
        ],
        "temperature": 0,
        "max_tokens": max_tokens,
    }


class Judge:
    """A judge model behind an OpenAI-compatible endpoint (a :class:`.scoring.Grader`)."""

    def __init__(self, endpoint: ChatEndpoint, model: str, *, max_tokens: int = 256) -> None:
        self.endpoint = endpoint
        self.model = model
        self.max_tokens = max_tokens

    def __repr__(self) -> str:
        return f"Judge({self.endpoint!r}, model={self.model!r})"

    def identity(self) -> dict[str, Any]:
        """What distinguishes this judge in a cache key (never the key)."""
        return {**self.endpoint.identity(), "model": self.model, "prompt": JUDGE_SYSTEM_PROMPT}

    async def grade(
        self, *, rubric: str, task_input: str, reference: Any, answer: str
    ) -> JudgeVerdict:
        body = build_judge_request(
            self.model,
            rubric=rubric,
            task_input=task_input,
            reference=reference,
            answer=answer,
            max_tokens=self.max_tokens,
        )
        reply = await self.endpoint.complete(body)
        return parse_verdict(self.endpoint.redact(message_text(reply)))

    async def aclose(self) -> None:
        await self.endpoint.aclose()


def _check(reference: Any, options: Mapping[str, Any]) -> None:
    rubric = options.get("rubric")
    if not isinstance(rubric, str) or not rubric.strip():
        raise BadTask("scorer_options.rubric", "the judge needs a non-empty rubric string")
    if len(rubric) > MAX_RUBRIC:
        raise BadTask("scorer_options.rubric", f"longer than {MAX_RUBRIC} characters")


async def _score(inp: ScoreInput) -> float:
    if inp.judge is None:
        raise TaskRunError(
            "the 'judge' scorer needs a judge: set [specdistill.judge] base_url and model "
            "(or SPECDISTILL_JUDGE_BASE_URL and SPECDISTILL_JUDGE_MODEL)"
        )
    verdict = await inp.judge.grade(
        rubric=inp.options["rubric"],
        task_input=inp.task_input,
        reference=inp.reference,
        answer=inp.answer,
    )
    return verdict.score


#: The ``judge`` scorer: grades through the :class:`Judge` the runner passes in.
JUDGE_SCORER = Scorer("judge", _score, _check, frozenset({"rubric"}), needs_judge=True)
