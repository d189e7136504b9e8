"""The example agent: small, offline, deterministic, and it genuinely reads its spec.

``quickstart`` gates real edits on this agent, so every answer depends on the spec it is
given, read through :func:`specdistill.evaluation.student_spec` (the same view every
student gets: the task's route, params, prompt, exemplars, tools and descriptions).
It is a ``python`` student: ``[specdistill.student] function =
"specdistill.example.agent:answer"``.

It understands four kinds of question (anything else: "I don't know how to answer that."):

========================================  ==========================================
question                                  how the answer is found
========================================  ==========================================
``What is 4 + 5 * 3?``                    **tools**: with a ``calculator`` tool whose
                                          description says it is *exact*, evaluated
                                          with operator precedence (19); otherwise the
                                          agent does it in its head, strictly left to
                                          right (27). Only ``+``, ``-``, ``*``.
``What is the capital of Peru?``          **routing**: the model of the task's route
                                          decides what it knows. ``big-model`` knows
                                          every capital in :data:`CAPITALS`; any other
                                          model only the first :data:`SMALL_KNOWS`.
                                          An unknown capital is confidently wrong (the
                                          capital of another country it does know).
``How many grams are in 7 kilograms?``    a table of unit factors (:data:`UNITS`) every
                                          model knows; one multiplication.
``Reverse the letters of 'planet'.``      every model can ("tenalp").
========================================  ==========================================

Then, in this order:

- **params**: a ``temperature`` above 0.5 makes it slip (answer "Hmm, I am not sure
  about that one.") with probability ``min(0.9, (temperature - 0.5) / 1.5)``; whether
  a task slips is decided by sha256 of the task id and the temperature, so the same
  task at the same temperature always slips or never does.
- **prompt and exemplars**: a system prompt containing the word "concise", or few-shot
  exemplars whose outputs are all at most three words, make it answer with the bare
  answer (``19``). Otherwise it is chatty (``Sure! The answer is 19. Happy to help
  with anything else!``), which still passes ``numeric`` and ``contains`` scorers but
  fails ``exact`` ones.

Params other than ``temperature`` (``max_turns``, ``max_tokens``, ...) and the agent's
class are read but have no effect: an edit to them changes nothing, and the gate should
say so. There is no randomness beyond the sha256 above.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from specdistill.evaluation.spec_view import StudentSpec, student_spec

#: (country, capital); no capital is a substring of another, or of its country.
CAPITALS: tuple[tuple[str, str], ...] = (
    ("France", "Paris"),
    ("Japan", "Tokyo"),
    ("Italy", "Rome"),
    ("Germany", "Berlin"),
    ("Spain", "Madrid"),
    ("Egypt", "Cairo"),
    ("Canada", "Ottawa"),
    ("Russia", "Moscow"),
    ("China", "Beijing"),
    ("India", "New Delhi"),
    ("Greece", "Athens"),
    ("Norway", "Oslo"),
    ("Peru", "Lima"),
    ("Chile", "Santiago"),
    ("Kenya", "Nairobi"),
    ("Ghana", "Accra"),
    ("Nepal", "Kathmandu"),
    ("Mongolia", "Ulaanbaatar"),
    ("Finland", "Helsinki"),
    ("Portugal", "Lisbon"),
    ("Hungary", "Budapest"),
    ("Austria", "Vienna"),
    ("Poland", "Warsaw"),
    ("Ireland", "Dublin"),
    ("Sweden", "Stockholm"),
    ("Denmark", "Copenhagen"),
    ("Turkey", "Ankara"),
    ("Australia", "Canberra"),
    ("Argentina", "Buenos Aires"),
    ("Colombia", "Bogota"),
    ("Vietnam", "Hanoi"),
    ("Thailand", "Bangkok"),
    ("Nigeria", "Abuja"),
    ("Morocco", "Rabat"),
    ("Ethiopia", "Addis Ababa"),
    ("Iceland", "Reykjavik"),
    ("Cuba", "Havana"),
    ("Jamaica", "Kingston"),
    ("Bolivia", "Sucre"),
    ("Latvia", "Riga"),
)
#: How many of :data:`CAPITALS` (from the top) a model other than ``big-model`` knows.
SMALL_KNOWS = 12
BIG_MODEL = "big-model"

#: (unit asked for, unit given) -> factor.
UNITS: dict[tuple[str, str], int] = {
    ("grams", "kilograms"): 1000,
    ("meters", "kilometers"): 1000,
    ("centimeters", "meters"): 100,
    ("milliliters", "liters"): 1000,
    ("minutes", "hours"): 60,
    ("seconds", "minutes"): 60,
    ("hours", "days"): 24,
    ("days", "weeks"): 7,
}

SLIP_ANSWER = "Hmm, I am not sure about that one."
UNKNOWN_ANSWER = "I don't know how to answer that."
#: Above this temperature the agent starts to slip.
SLIP_THRESHOLD = 0.5

_ARITHMETIC = re.compile(r"What is (\d+(?:\s*[-+*]\s*\d+)+)\?")
_CAPITAL = re.compile(r"What is the capital of ([A-Za-z .'-]+)\?")
_UNITS = re.compile(r"How many (\w+) are in (\d+) (\w+)\?")
_REVERSE = re.compile(r"Reverse the letters of '(\w+)'\.")
_TOKEN = re.compile(r"\d+|[-+*]")


def answer(task: dict[str, Any], spec_home: str) -> str:
    """Answer one benchmark task as the spec at ``spec_home`` configures the agent."""
    spec = student_spec(spec_home, query_class=task.get("query_class"), agent=task.get("agent"))
    if slips(str(task.get("id", "")), temperature(spec)):
        return SLIP_ANSWER
    core = solve(str(task.get("input", "")), spec)
    if core is None:
        return UNKNOWN_ANSWER
    return core if is_concise(spec) else f"Sure! The answer is {core}. Happy to help further!"


def solve(question: str, spec: StudentSpec) -> str | None:
    """The bare answer to ``question`` under ``spec``, or None if the agent cannot parse it."""
    question = question.strip()
    if match := _ARITHMETIC.fullmatch(question):
        tokens = _TOKEN.findall(match.group(1))
        value = evaluate(tokens) if trusts_calculator(spec) else evaluate_left_to_right(tokens)
        return str(value)
    if match := _CAPITAL.fullmatch(question):
        return capital(match.group(1).strip(), spec.model)
    if match := _UNITS.fullmatch(question):
        factor = UNITS.get((match.group(1), match.group(3)))
        return None if factor is None else str(int(match.group(2)) * factor)
    if match := _REVERSE.fullmatch(question):
        return match.group(1)[::-1]
    return None


def trusts_calculator(spec: StudentSpec) -> bool:
    """True if the agent has a ``calculator`` tool whose description says it is exact."""
    return any(t.name == "calculator" and "exact" in t.description.lower() for t in spec.tools)


def evaluate(tokens: list[str]) -> int:
    """``+``, ``-``, ``*`` with the usual precedence (what the exact calculator does)."""
    terms: list[int] = [int(tokens[0])]
    for op, number in zip(tokens[1::2], tokens[2::2], strict=True):
        value = int(number)
        if op == "*":
            terms[-1] *= value
        else:
            terms.append(value if op == "+" else -value)
    return sum(terms)


def evaluate_left_to_right(tokens: list[str]) -> int:
    """The agent's guess without a calculator it trusts: strictly left to right."""
    value = int(tokens[0])
    for op, number in zip(tokens[1::2], tokens[2::2], strict=True):
        n = int(number)
        value = value + n if op == "+" else value - n if op == "-" else value * n
    return value


def known_capitals(model: str) -> dict[str, str]:
    """What ``model`` knows: every capital for ``big-model``, the first few otherwise."""
    known = CAPITALS if model == BIG_MODEL else CAPITALS[:SMALL_KNOWS]
    return dict(known)


def capital(country: str, model: str) -> str:
    """The capital of ``country`` as ``model`` believes it (wrong when it does not know)."""
    known = known_capitals(model)
    if country in known:
        return known[country]
    others = list(known.values())
    return others[_unit_hash(country) % len(others)] if others else "Springfield"


def temperature(spec: StudentSpec) -> float:
    value = spec.params.get("temperature", 0.0)
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else 0.0


def slip_probability(temp: float) -> float:
    return min(0.9, max(0.0, (temp - SLIP_THRESHOLD) / 1.5))


def slips(task_id: str, temp: float) -> bool:
    """Whether the task slips at this temperature: sha256-decided, the same every time."""
    p = slip_probability(temp)
    return p > 0.0 and _unit_hash(f"{task_id}|{temp:.6g}") / 2**64 < p


def is_concise(spec: StudentSpec) -> bool:
    """A prompt that asks for concision, or exemplars that show it."""
    if re.search(r"\bconcise", spec.system_prompt, re.IGNORECASE):
        return True
    return bool(spec.few_shot) and all(len(e.output.split()) <= 3 for e in spec.few_shot)


def _unit_hash(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
