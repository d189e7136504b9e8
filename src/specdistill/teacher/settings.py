"""The teacher's settings from config.toml and the environment.

``config.toml`` (every key optional but ``base_url`` and ``model``)::

    [specdistill.teacher]
    base_url = "http://localhost:11434/v1"   # any OpenAI-compatible endpoint
    model = "qwen2.5:32b"
    api_key_env = "OPENAI_API_KEY"           # the NAME of an env var; never the key
    timeout = 300                            # seconds per call
    price_per_1k_input = 0.0                 # USD per 1000 prompt tokens
    price_per_1k_output = 0.0                # USD per 1000 completion tokens
    max_cost_per_session_usd = 1.0           # absent: no limit
    max_tokens = 4096                        # per reply (also bounds its cost)
    temperature = 0.0
    structured_output = "json_schema"        # or "json_object", "off"
    bytes_per_token = 1.0                    # cost estimate; 1 is a safe upper bound
    max_attempts = 3                         # transport retries per call
    share = ["query", "answer", "feedback", "query_class"]   # see teacher.share
    max_sample_traces = 40
    max_field_chars = 2000
    max_sample_chars = 60000
    max_spec_chars = 20000
    tasks_per_cluster = 8                    # student runs per cluster in diagnose
    max_edits = 8                            # edits kept from one plan

    [specdistill.teacher.scrub]
    disable = []                             # built-in kinds to turn off
    patterns = { customer = "CUST-[0-9]+" }  # your own, added to the built-ins

    [specdistill.traces]
    min_traces = 20
    min_high_feedback = 10
    high_feedback = 0.8
    low_feedback = 0.5

The environment overrides the file: ``SPECDISTILL_TEACHER_BASE_URL``,
``SPECDISTILL_TEACHER_MODEL``, ``SPECDISTILL_TEACHER_API_KEY`` (else the variable that
``api_key_env`` names). An ``api_key`` written into config.toml is refused.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from specdistill.evaluation.endpoint import ChatEndpoint, Secret, check_base_url
from specdistill.evaluation.runner import RetryPolicy
from specdistill.evaluation.settings import _key as resolve_key
from specdistill.evaluation.settings import check_known_keys, config_section
from specdistill.home import SpecHome
from specdistill.teacher.client import CostLedger, Pricing, StructuredOutput, TeacherClient
from specdistill.teacher.errors import TeacherConfigError
from specdistill.teacher.share import DEFAULT_SHARE, Scrubber, SharePolicy
from specdistill.teacher.traces import TraceThresholds

Home = str | os.PathLike[str] | SpecHome

#: The keys of ``[specdistill.teacher]`` (``scrub`` is its sub-table) and of
#: ``[specdistill.teacher.scrub]``: the readers below ask for no other.
TEACHER_KEYS = frozenset(
    {"base_url", "model", "api_key_env", "timeout", "price_per_1k_input",
     "price_per_1k_output", "max_cost_per_session_usd", "max_tokens", "temperature",
     "structured_output", "bytes_per_token", "max_attempts", "share", "max_sample_traces",
     "max_field_chars", "max_sample_chars", "max_spec_chars", "tasks_per_cluster",
     "max_edits"}
)  # fmt: skip
SCRUB_KEYS = frozenset({"disable", "patterns"})
#: ``[specdistill.traces]``: the thresholds, and ``path`` (read by ``sessions/teach.py``).
TRACES_KEYS = frozenset({f.name for f in dataclasses.fields(TraceThresholds)} | {"path"})


def _home(home: Home) -> SpecHome:
    return home if isinstance(home, SpecHome) else SpecHome(home)


def _number(
    section: Mapping[str, Any],
    key: str,
    default: float,
    *,
    minimum: float = 0.0,
    integer: bool = False,
) -> Any:
    value = section.get(key, default)
    kinds = int if integer else int | float
    if isinstance(value, bool) or not isinstance(value, kinds) or value < minimum:
        kind = "an integer" if integer else "a number"
        raise TeacherConfigError(f"[specdistill.teacher] {key} must be {kind} >= {minimum:g}")
    return value


@dataclass(frozen=True)
class TeacherSettings:
    """Everything needed to build a :class:`TeacherClient` (the key is a masked Secret)."""

    base_url: str
    model: str
    api_key: Secret | None = None
    timeout: float = 300.0
    pricing: Pricing = field(default_factory=Pricing)
    max_cost_per_session_usd: float | None = None
    max_tokens: int = 4096
    temperature: float = 0.0
    structured_output: StructuredOutput = "json_schema"
    bytes_per_token: float = 1.0
    max_attempts: int = 3
    tasks_per_cluster: int = 8
    max_edits: int = 8

    def ledger(self, parent: CostLedger | None = None) -> CostLedger:
        """A fresh ledger holding this session's budget."""
        return CostLedger(self.max_cost_per_session_usd, parent=parent)

    def client(self, ledger: CostLedger | None = None) -> TeacherClient:
        """A client on this endpoint, charging ``ledger`` (default: a new session ledger)."""
        endpoint = ChatEndpoint(
            self.base_url, api_key=self.api_key, timeout=self.timeout, name="teacher"
        )
        return TeacherClient(
            endpoint,
            self.model,
            pricing=self.pricing,
            ledger=ledger if ledger is not None else self.ledger(),
            max_tokens=self.max_tokens,
            temperature=self.temperature,
            structured_output=self.structured_output,
            bytes_per_token=self.bytes_per_token,
            retry=RetryPolicy(max_attempts=self.max_attempts),
        )


def teacher_settings(home: Home, *, environ: Mapping[str, str] | None = None) -> TeacherSettings:
    """``[specdistill.teacher]`` with the environment's overrides (see the module doc)."""
    env = os.environ if environ is None else environ
    section = config_section(_home(home), "teacher", TEACHER_KEYS, tables=["scrub"])
    base_url = env.get("SPECDISTILL_TEACHER_BASE_URL") or section.get("base_url")
    if not base_url:
        raise TeacherConfigError(
            "no teacher endpoint: set [specdistill.teacher] base_url or "
            "SPECDISTILL_TEACHER_BASE_URL"
        )
    model = env.get("SPECDISTILL_TEACHER_MODEL") or section.get("model")
    if not isinstance(model, str) or not model:
        raise TeacherConfigError(
            "no teacher model: set [specdistill.teacher] model or SPECDISTILL_TEACHER_MODEL"
        )
    structured = section.get("structured_output", "json_schema")
    if structured not in ("json_schema", "json_object", "off"):
        raise TeacherConfigError(
            "[specdistill.teacher] structured_output must be json_schema, json_object or off"
        )
    budget = section.get("max_cost_per_session_usd")
    return TeacherSettings(
        base_url=check_base_url(base_url, what="teacher"),
        model=model,
        api_key=resolve_key(section, env, "SPECDISTILL_TEACHER_API_KEY", "teacher"),
        timeout=float(_number(section, "timeout", 300.0, minimum=0.001)),
        pricing=Pricing(
            float(_number(section, "price_per_1k_input", 0.0)),
            float(_number(section, "price_per_1k_output", 0.0)),
        ),
        max_cost_per_session_usd=(
            None if budget is None else float(_number(section, "max_cost_per_session_usd", 0))
        ),
        max_tokens=_number(section, "max_tokens", 4096, minimum=1, integer=True),
        temperature=float(_number(section, "temperature", 0.0)),
        structured_output=structured,
        bytes_per_token=float(_number(section, "bytes_per_token", 1.0, minimum=0.01)),
        max_attempts=_number(section, "max_attempts", 3, minimum=1, integer=True),
        tasks_per_cluster=_number(section, "tasks_per_cluster", 8, minimum=1, integer=True),
        max_edits=_number(section, "max_edits", 8, minimum=1, integer=True),
    )


def share_policy(home: Home) -> SharePolicy:
    """What ``[specdistill.teacher]`` lets leave the machine, and the scrubber."""
    section = config_section(_home(home), "teacher", TEACHER_KEYS, tables=["scrub"])
    share = section.get("share", sorted(DEFAULT_SHARE))
    if not isinstance(share, list) or not all(isinstance(s, str) for s in share):
        raise TeacherConfigError("[specdistill.teacher] share must be a list of field names")
    scrub = section.get("scrub", {})
    if isinstance(scrub, dict):
        check_known_keys("teacher.scrub", scrub, SCRUB_KEYS)
    extra = scrub.get("patterns", {}) if isinstance(scrub, dict) else None
    disable = scrub.get("disable", []) if isinstance(scrub, dict) else None
    if not isinstance(extra, dict) or not all(isinstance(v, str) for v in extra.values()):
        raise TeacherConfigError("[specdistill.teacher.scrub] patterns must map names to regexes")
    if not isinstance(disable, list):
        raise TeacherConfigError("[specdistill.teacher.scrub] disable must be a list of kinds")
    try:
        return SharePolicy(
            share=frozenset(share),
            scrubber=Scrubber.build(extra, disable),
            max_traces=_number(section, "max_sample_traces", 40, minimum=1, integer=True),
            max_field_chars=_number(section, "max_field_chars", 2000, minimum=1, integer=True),
            max_sample_chars=_number(section, "max_sample_chars", 60000, minimum=1, integer=True),
            max_spec_chars=_number(section, "max_spec_chars", 20000, minimum=1, integer=True),
        )
    except ValueError as exc:
        raise TeacherConfigError(f"[specdistill.teacher] {exc}") from None


def trace_thresholds(home: Home) -> TraceThresholds:
    """``[specdistill.traces]``: what counts as good or failing, and how many are needed."""
    section = config_section(_home(home), "traces", TRACES_KEYS)
    values: dict[str, Any] = {}
    for key, default, integer in (
        ("min_traces", 20, True),
        ("min_high_feedback", 10, True),
        ("high_feedback", 0.8, False),
        ("low_feedback", 0.5, False),
    ):
        value = section.get(key, default)
        kinds = int if integer else int | float
        if isinstance(value, bool) or not isinstance(value, kinds) or value < 0:
            raise TeacherConfigError(f"[specdistill.traces] {key} must be a number >= 0")
        values[key] = value
    try:
        return TraceThresholds(**values)
    except ValueError as exc:
        raise TeacherConfigError(f"[specdistill.traces] {exc}") from None
