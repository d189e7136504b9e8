"""Scorers: turn a student's answer into a score in [0, 1], looked up by name.

=====================  ==========================  =========================================
name                   reference                   options (all optional unless noted)
=====================  ==========================  =========================================
``exact``              string or list of strings   ``strip`` (bool, default true): strip the
                                                   answer's surrounding whitespace first
``normalized_exact``   string or list of strings   – (both sides normalised, see below)
``contains``           string or list of strings   ``normalize`` (bool, default false),
                                                   ``all`` (bool, default false: any one)
``regex``              a pattern (≤ 1000 chars)    ``flags`` (letters of "ims"),
                                                   ``fullmatch`` (bool, default false: search)
``numeric``            number or numeric string    ``abs_tol`` (default 1e-6), ``rel_tol``
                                                   (default 0): pass iff |a − r| ≤
                                                   max(abs_tol, rel_tol·|r|)
``json_equal``         any JSON                    –
``judge``              any JSON (shown to judge)   ``rubric`` (string, required); see
                                                   :mod:`.judge`
=====================  ==========================  =========================================

A list of references passes if the answer matches any of them (``contains`` with
``all`` needs every one). Every scorer but ``judge`` returns 1.0 or 0.0.

*Normalised* text (:func:`normalize_text`): Unicode NFKC, case-folded, punctuation
(Unicode category P*) removed, runs of whitespace collapsed to one space, stripped.
So ``"  The U.S.A.!"`` equals ``"the usa"``.

*Numeric* reads the **last** number in the answer (models reason first, answer last):
an optional sign directly before the digits, thousands separators ``1,234``, decimals
and exponents. No number in the answer scores 0 (a fail, not an error).

*json_equal* parses the answer (whitespace and one surrounding Markdown code fence are
stripped) and compares it with the reference: numbers by value (``1 == 1.0``), booleans
never equal to numbers. Unparsable answers score 0.

*regex* patterns are compiled when the benchmark loads (a bad pattern is an error on its
line); the answer is truncated to :data:`MAX_REGEX_INPUT` characters before matching,
bounding the time a pathological pattern can take.

Options are checked when the benchmark loads: an unknown scorer or option, or a
reference of the wrong type, is an error naming the line and field.
"""

from __future__ import annotations

import functools
import inspect
import json
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

from specdistill.evaluation.errors import TaskRunError
from specdistill.evaluation.judge import JUDGE_SCORER
from specdistill.evaluation.scoring import BadTask, Grader, ScoreInput, Scorer, Task

MAX_PATTERN = 1000
MAX_REGEX_INPUT = 100_000
#: Bump when a scorer's behaviour changes, so cached scores stop matching.
SCORERS_VERSION = 1


# --- load-time checks ---------------------------------------------------------------


def _check_texts(reference: Any, options: Mapping[str, Any]) -> None:
    ok = isinstance(reference, str) or (
        isinstance(reference, list) and reference and all(isinstance(r, str) for r in reference)
    )
    if not ok:
        raise BadTask("reference", "must be a string or a non-empty list of strings")
    for key, value in options.items():
        if not isinstance(value, bool):
            raise BadTask(f"scorer_options.{key}", f"must be true or false (got {value!r})")


def _flags(options: Mapping[str, Any]) -> int:
    letters = options.get("flags", "")
    if not isinstance(letters, str) or set(letters) - set("ims"):
        raise BadTask("scorer_options.flags", f"must be letters of 'ims' (got {letters!r})")
    table = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL}
    return functools.reduce(lambda acc, c: acc | table[c], letters, 0)


@functools.lru_cache(maxsize=1024)
def _compile(pattern: str, flags: int) -> re.Pattern[str]:
    return re.compile(pattern, flags)


def _check_regex(reference: Any, options: Mapping[str, Any]) -> None:
    if not isinstance(reference, str):
        raise BadTask("reference", "must be a regular expression (a string)")
    if len(reference) > MAX_PATTERN:
        raise BadTask("reference", f"pattern longer than {MAX_PATTERN} characters")
    if not isinstance(options.get("fullmatch", False), bool):
        raise BadTask("scorer_options.fullmatch", "must be true or false")
    try:
        _compile(reference, _flags(options))
    except re.error as exc:
        raise BadTask("reference", f"pattern does not compile ({exc})") from None


def _number_option(options: Mapping[str, Any], key: str, default: float) -> float:
    value = options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise BadTask(f"scorer_options.{key}", f"must be a number >= 0 (got {value!r})")
    return float(value)


def _reference_number(reference: Any) -> float:
    if isinstance(reference, int | float) and not isinstance(reference, bool):
        value = float(reference)
    elif isinstance(reference, str) and (found := last_number(reference)) is not None:
        value = found
    else:
        raise BadTask("reference", f"must be a number or a numeric string (got {reference!r})")
    if not math.isfinite(value):
        raise BadTask("reference", "must be finite")
    return value


def _check_numeric(reference: Any, options: Mapping[str, Any]) -> None:
    _reference_number(reference)
    _number_option(options, "abs_tol", 1e-6)
    _number_option(options, "rel_tol", 0.0)


# --- scoring ------------------------------------------------------------------------


def normalize_text(text: str) -> str:
    """NFKC, case-fold, drop punctuation, collapse whitespace (see the module docstring)."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(c for c in text if not unicodedata.category(c).startswith("P"))
    return " ".join(text.split())


_NUMBER = re.compile(
    r"(?<![\w.])[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?(?:[eE][-+]?\d+)?"
    r"|(?<![\w.])[-+]?\.\d+(?:[eE][-+]?\d+)?"
)


def last_number(text: str) -> float | None:
    """The last number written in ``text``, or None."""
    matches = _NUMBER.findall(text)
    if not matches:
        return None
    value = float(matches[-1].replace(",", ""))
    return value if math.isfinite(value) else None


def _refs(reference: Any) -> list[str]:
    return [reference] if isinstance(reference, str) else list(reference)


def _exact(inp: ScoreInput) -> float:
    answer = inp.answer.strip() if inp.options.get("strip", True) else inp.answer
    return float(answer in _refs(inp.reference))


def _normalized_exact(inp: ScoreInput) -> float:
    answer = normalize_text(inp.answer)
    return float(any(answer == normalize_text(r) for r in _refs(inp.reference)))


def _contains(inp: ScoreInput) -> float:
    norm = normalize_text if inp.options.get("normalize", False) else (lambda s: s)
    answer = norm(inp.answer)
    hits = [norm(r) in answer for r in _refs(inp.reference)]
    return float(all(hits) if inp.options.get("all", False) else any(hits))


def _regex(inp: ScoreInput) -> float:
    pattern = _compile(inp.reference, _flags(inp.options))
    answer = inp.answer[:MAX_REGEX_INPUT]
    match = pattern.fullmatch if inp.options.get("fullmatch", False) else pattern.search
    return float(match(answer) is not None)


def _numeric(inp: ScoreInput) -> float:
    reference = _reference_number(inp.reference)
    value = last_number(inp.answer)
    if value is None:
        return 0.0
    tolerance = max(
        _number_option(inp.options, "abs_tol", 1e-6),
        _number_option(inp.options, "rel_tol", 0.0) * abs(reference),
    )
    return float(abs(value - reference) <= tolerance)


_FENCE = re.compile(r"\A```[A-Za-z0-9_-]*\n(.*)\n?```\Z", re.DOTALL)


def json_equal(a: Any, b: Any) -> bool:
    """JSON equality: numbers by value, booleans apart from numbers, containers deep."""
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b, strict=True))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def _json_equal(inp: ScoreInput) -> float:
    text = inp.answer.strip()
    if fenced := _FENCE.match(text):
        text = fenced.group(1).strip()
    try:
        answer = json.loads(text)
    except ValueError:
        return 0.0
    return float(json_equal(answer, inp.reference))


# --- the registry -------------------------------------------------------------------


class ScorerRegistry:
    """Scorers by name. ``register`` refuses a duplicate unless ``replace=True``."""

    def __init__(self, scorers: tuple[Scorer, ...] = ()) -> None:
        self._scorers: dict[str, Scorer] = {}
        for scorer in scorers:
            self.register(scorer)

    def register(self, scorer: Scorer, *, replace: bool = False) -> None:
        if scorer.name in self._scorers and not replace:
            raise ValueError(f"a scorer named {scorer.name!r} is already registered")
        self._scorers[scorer.name] = scorer

    def names(self) -> list[str]:
        return sorted(self._scorers)

    def get(self, name: str) -> Scorer:
        try:
            return self._scorers[name]
        except KeyError:
            known = ", ".join(self.names())
            raise KeyError(f"unknown scorer {name!r} (known: {known})") from None

    def check_task(self, task: Task) -> tuple[str, str] | None:
        """(field, reason) if the task's scorer, options or reference are wrong, else None."""
        if task.scorer not in self._scorers:
            return "scorer", f"unknown scorer {task.scorer!r} (known: {', '.join(self.names())})"
        scorer = self._scorers[task.scorer]
        for key in task.scorer_options:
            if key not in scorer.options:
                allowed = ", ".join(sorted(scorer.options)) or "none"
                return f"scorer_options.{key}", f"unknown option (allowed: {allowed})"
        try:
            scorer.check(task.reference, task.scorer_options)
        except BadTask as exc:
            return exc.field, str(exc)
        return None

    def needs_judge(self, task: Task) -> bool:
        return self.get(task.scorer).needs_judge

    async def score(self, task: Task, answer: str, *, judge: Grader | None = None) -> float:
        """Score ``answer`` for ``task``; the result is checked to be in [0, 1]."""
        scorer = self.get(task.scorer)
        inp = ScoreInput(answer, task.reference, task.scorer_options, task.input, judge)
        value = scorer.score(inp)
        if inspect.isawaitable(value):
            value = await value
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 1:
            raise TaskRunError(f"scorer {task.scorer!r} returned {value!r}, not a score in [0, 1]")
        return float(value)


BUILTIN_SCORERS = (
    Scorer("exact", _exact, _check_texts, frozenset({"strip"})),
    Scorer("normalized_exact", _normalized_exact, _check_texts),
    Scorer("contains", _contains, _check_texts, frozenset({"normalize", "all"})),
    Scorer("regex", _regex, _check_regex, frozenset({"flags", "fullmatch"})),
    Scorer("numeric", _numeric, _check_numeric, frozenset({"abs_tol", "rel_tol"})),
    Scorer("json_equal", _json_equal),
)


def default_registry() -> ScorerRegistry:
    """A new registry holding the built-in scorers, the LLM judge included."""
    return ScorerRegistry((*BUILTIN_SCORERS, JUDGE_SCORER))
