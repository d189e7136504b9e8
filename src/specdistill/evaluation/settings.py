"""Build students, the judge and runner settings from a spec home's config and the environment.

``config.toml`` (every key optional)::

    [specdistill.student]
    kind = "openai"                 # "openai" | "command" | "python"
    base_url = "http://localhost:11434/v1"
    base_urls = ["http://gpu1:8000/v1", "http://gpu2:8000/v1"]  # instead: several
                                    # equivalent servers, spread by outstanding load
    api_key_env = "OPENAI_API_KEY"  # the NAME of an env var; never the key itself
    timeout = 120                   # seconds per call / per command run
    argv = ["python", "my_agent.py"]  # command: run in the spec home
    function = "my_pkg.agent:answer"  # python
    fingerprint_scope = "view"      # command/python: the agent reads only its view
                                    # (default "home": it may read any spec file)
    agent = "assistant"             # the agent of tasks that name none (spec_view)

    [specdistill.judge]
    base_url = "http://localhost:11434/v1"
    model = "judge-model"
    api_key_env = "JUDGE_API_KEY"
    timeout = 120

    [specdistill.runner]
    concurrency = 8
    max_attempts = 3
    executor = "local"              # or "ray": each student run is a Ray task
    address = "auto"                # ray: "auto", "host:port" or "ray://host:10001"

    [specdistill.benchmark]
    path = "benchmark.jsonl"        # relative to the spec home (this is the default)

The environment overrides the file (so CI can point elsewhere without editing the spec):
``SPECDISTILL_STUDENT_BASE_URL``, ``SPECDISTILL_STUDENT_API_KEY``,
``SPECDISTILL_JUDGE_BASE_URL``, ``SPECDISTILL_JUDGE_API_KEY``, ``SPECDISTILL_JUDGE_MODEL``.
A key is taken from ``SPECDISTILL_*_API_KEY`` if set, else from the variable that
``api_key_env`` names; with neither, no ``Authorization`` header is sent (local
servers need none). An ``api_key`` written into config.toml is refused.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specdistill.evaluation.endpoint import ChatEndpoint, Secret
from specdistill.evaluation.errors import EvaluationConfigError
from specdistill.evaluation.executor import EXECUTORS, Executor, make_executor
from specdistill.evaluation.judge import Judge
from specdistill.evaluation.runner import RetryPolicy
from specdistill.evaluation.students import CommandStudent, OpenAIStudent, PythonStudent, Student
from specdistill.home import SpecHome

DEFAULT_BENCHMARK = "benchmark.jsonl"


#: The keys each reader of a ``[specdistill.<table>]`` declares: the one list a table's
#: unknown keys are checked against (with a did-you-mean), and a reader may only ask a
#: table for a key it declared (:class:`Section` refuses any other), so a key cannot be
#: read without being known. Other modules declare theirs beside their readers
#: (``GATE_KEYS``, ``TEACHER_KEYS``, ``TRACES_KEYS``, ...).
STUDENT_KEYS = frozenset(
    {"kind", "base_url", "base_urls", "api_key_env", "timeout", "argv", "function",
     "fingerprint_scope", "agent"}
)  # fmt: skip
JUDGE_KEYS = frozenset({"base_url", "model", "api_key_env", "timeout"})
RUNNER_KEYS = frozenset({"concurrency", "max_attempts", "executor", "address"})
BENCHMARK_KEYS = frozenset({"path"})


def did_you_mean(word: str, known: Collection[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest of ``known``, or ``""``."""
    close = difflib.get_close_matches(word, sorted(known), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def unknown_key_error(table: str, key: str, known: Collection[str]) -> str:
    """The one line for an unknown key of ``[specdistill.<table>]``."""
    return (
        f"config.toml: [specdistill.{table}] has an unknown key {key!r}{did_you_mean(key, known)}"
        f"; known keys: {', '.join(sorted(known))}"
    )


def check_known_keys(
    table: str, section: Mapping[str, Any], known: Collection[str], *, tables: Collection[str] = ()
) -> None:
    """Refuse a key of ``section`` that is not in ``known`` (sub-tables named in
    ``tables`` are allowed), naming the closest known key."""
    allowed = {*known, *tables}
    for key in section:
        if key not in allowed:
            raise EvaluationConfigError(unknown_key_error(table, key, allowed))


class Section(Mapping[str, Any]):
    """A ``[specdistill.<table>]`` as read, restricted to the keys its reader declared.

    Reading a key that was not declared is a programming error (``KeyError`` naming the
    declaration to extend), so every key the code reads is a known key.
    """

    def __init__(self, table: str, data: Mapping[str, Any], known: Collection[str]) -> None:
        self.table = table
        self._data = data
        self.known = frozenset(known)

    def _declared(self, key: str) -> None:
        if key not in self.known:
            raise KeyError(
                f"[specdistill.{self.table}] {key!r} is read but not declared: add it to the "
                "reader's known keys (e.g. RUNNER_KEYS in evaluation/settings.py)"
            )

    def get(self, key: str, default: Any = None) -> Any:
        self._declared(key)
        return self._data.get(key, default)

    def __getitem__(self, key: str) -> Any:
        self._declared(key)
        return self._data[key]

    def __contains__(self, key: object) -> bool:
        return key in self._data

    def __iter__(self) -> Iterator[str]:
        return iter(self._data)

    def __len__(self) -> int:
        return len(self._data)


def config_section(
    home: SpecHome, name: str, known: Collection[str], *, tables: Collection[str] = ()
) -> Section:
    """``[specdistill.<name>]`` of the home's config.toml (empty when absent), its keys
    checked against ``known`` (and sub-tables ``tables``): an unknown key is an error
    with a did-you-mean; an ``api_key`` is refused (secrets do not belong in the spec)."""
    try:
        with home.config_path.open("rb") as handle:
            config = tomllib.load(handle)
    except FileNotFoundError:
        return Section(name, {}, known)
    except tomllib.TOMLDecodeError as exc:
        raise EvaluationConfigError(f"config.toml is not valid TOML ({exc})") from None
    section = config.get("specdistill", {}).get(name, {})
    if not isinstance(section, dict):
        raise EvaluationConfigError(f"config.toml: specdistill.{name} is not a table")
    if "api_key" in section:
        raise EvaluationConfigError(
            f"config.toml: [specdistill.{name}] api_key is refused (a secret does not belong "
            "in the spec); set api_key_env to the name of an environment variable"
        )
    check_known_keys(name, section, known, tables=tables)
    return Section(name, section, {*known, *tables})


def _key(
    section: Mapping[str, Any], env: Mapping[str, str], env_name: str, what: str
) -> Secret | None:
    if value := env.get(env_name):
        return Secret(value)
    named = section.get("api_key_env")
    if named is None:
        return None
    if not isinstance(named, str) or not named:
        raise EvaluationConfigError(f"[specdistill.{what}] api_key_env must be a variable name")
    if not env.get(named):
        raise EvaluationConfigError(
            f"[specdistill.{what}] api_key_env names {named!r}, which is not set"
        )
    return Secret(env[named])


def _key_env(section: Mapping[str, Any], env: Mapping[str, str], env_name: str) -> str | None:
    """The NAME of the variable :func:`_key` took the key from (a Ray worker reads its own)."""
    if env.get(env_name):
        return env_name
    named = section.get("api_key_env")
    return named if isinstance(named, str) and named else None


def _base_urls(section: Mapping[str, Any], env: Mapping[str, str]) -> list[str]:
    """The student's endpoints: the environment's one URL, else ``base_url`` or ``base_urls``."""
    if override := env.get("SPECDISTILL_STUDENT_BASE_URL"):
        return [override]
    one, many = section.get("base_url"), section.get("base_urls")
    if one is not None and many is not None:
        raise EvaluationConfigError("[specdistill.student] set base_url or base_urls, not both")
    if many is not None:
        if (
            not isinstance(many, list)
            or not many
            or not all(isinstance(u, str) and u for u in many)
        ):
            raise EvaluationConfigError(
                "[specdistill.student] base_urls must be a non-empty list of URLs"
            )
        if len(set(many)) != len(many):
            raise EvaluationConfigError("[specdistill.student] base_urls lists a URL twice")
        return list(many)
    if not one:
        raise EvaluationConfigError(
            "no student endpoint: set [specdistill.student] base_url (or base_urls) or "
            "SPECDISTILL_STUDENT_BASE_URL"
        )
    return [one]


def _number(section: Mapping[str, Any], key: str, default: float, what: str) -> float:
    value = section.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise EvaluationConfigError(f"[specdistill.{what}] {key} must be a number > 0")
    return float(value)


def student_from_config(
    home: str | os.PathLike[str] | SpecHome,
    *,
    kind: str | None = None,
    environ: Mapping[str, str] | None = None,
) -> Student:
    """The student ``[specdistill.student]`` describes (``kind`` overrides the file's)."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    env = os.environ if environ is None else environ
    section = config_section(spec_home, "student", STUDENT_KEYS)
    kind = kind or section.get("kind", "openai")
    timeout = _number(section, "timeout", 120.0, "student")
    # What the student reads decides its cache key and which tasks an edit leaves
    # unchanged. An openai student reads only what it sends ("view"); a command or python
    # agent is handed the home's path, so "home" unless the user declares otherwise.
    scope = section.get("fingerprint_scope", "view" if kind == "openai" else "home")
    if scope not in ("view", "home"):
        raise EvaluationConfigError(
            "[specdistill.student] fingerprint_scope must be 'view' or 'home'"
        )
    if kind == "openai":
        urls = _base_urls(section, env)
        key = _key(section, env, "SPECDISTILL_STUDENT_API_KEY", "student")
        key_env = _key_env(section, env, "SPECDISTILL_STUDENT_API_KEY")
        endpoints = [
            ChatEndpoint(url, api_key=key, timeout=timeout, name="student", key_env=key_env)
            for url in urls
        ]
        return OpenAIStudent(endpoints, fingerprint_scope=scope)
    if kind == "command":
        argv = section.get("argv")
        if not isinstance(argv, list):
            raise EvaluationConfigError("[specdistill.student] argv must be a list of strings")
        return CommandStudent(argv, timeout=timeout, cwd=spec_home.root, fingerprint_scope=scope)
    if kind == "python":
        function = section.get("function")
        if not isinstance(function, str):
            raise EvaluationConfigError("[specdistill.student] function must be 'module:function'")
        return PythonStudent(
            function, timeout=timeout, fingerprint_scope=scope, search_path=spec_home.root
        )
    raise EvaluationConfigError(
        f"[specdistill.student] kind {kind!r} is unknown (use openai, command or python)"
    )


def judge_from_config(
    home: str | os.PathLike[str] | SpecHome, *, environ: Mapping[str, str] | None = None
) -> Judge | None:
    """The judge ``[specdistill.judge]`` describes, or None when no base_url is set."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    env = os.environ if environ is None else environ
    section = config_section(spec_home, "judge", JUDGE_KEYS)
    base_url = env.get("SPECDISTILL_JUDGE_BASE_URL") or section.get("base_url")
    if not base_url:
        return None
    model = env.get("SPECDISTILL_JUDGE_MODEL") or section.get("model")
    if not isinstance(model, str) or not model:
        raise EvaluationConfigError("[specdistill.judge] model is required with a base_url")
    key = _key(section, env, "SPECDISTILL_JUDGE_API_KEY", "judge")
    timeout = _number(section, "timeout", 120.0, "judge")
    return Judge(ChatEndpoint(base_url, api_key=key, timeout=timeout, name="judge"), model)


@dataclass(frozen=True)
class RunnerSettings:
    """``[specdistill.runner]``: how many runs at once, retries, and where runs happen."""

    concurrency: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    executor: str = "local"
    address: str = "auto"

    def make_executor(self) -> Executor:
        """The executor these settings name (Ray is imported only for ``"ray"``)."""
        return make_executor(self.executor, address=self.address)


def _runner_place(section: Mapping[str, Any]) -> tuple[str, str]:
    executor = section.get("executor", "local")
    if executor not in EXECUTORS:
        raise EvaluationConfigError(
            f"[specdistill.runner] executor must be one of {', '.join(EXECUTORS)} "
            f"(got {executor!r})"
        )
    address = section.get("address", "auto")
    if not isinstance(address, str) or not address or any(c.isspace() for c in address):
        raise EvaluationConfigError(
            "[specdistill.runner] address must be 'auto', 'host:port' or 'ray://host:port'"
        )
    return executor, address


def runner_settings(home: str | os.PathLike[str] | SpecHome) -> RunnerSettings:
    """``[specdistill.runner]`` concurrency, max_attempts, executor and address."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    section = config_section(spec_home, "runner", RUNNER_KEYS)
    values = {}
    for key in ("concurrency", "max_attempts"):
        value = section.get(key, 8 if key == "concurrency" else 3)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 1024:
            raise EvaluationConfigError(
                f"[specdistill.runner] {key} must be an integer in [1, 1024]"
            )
        values[key] = value
    executor, address = _runner_place(section)
    return RunnerSettings(
        values["concurrency"],
        RetryPolicy(max_attempts=values["max_attempts"]),
        executor=executor,
        address=address,
    )


def benchmark_path(home: str | os.PathLike[str] | SpecHome) -> Path:
    """``[specdistill.benchmark] path`` (relative to the home), else ``<home>/benchmark.jsonl``."""
    spec_home = home if isinstance(home, SpecHome) else SpecHome(home)
    path = config_section(spec_home, "benchmark", BENCHMARK_KEYS).get("path", DEFAULT_BENCHMARK)
    if not isinstance(path, str) or not path:
        raise EvaluationConfigError("[specdistill.benchmark] path must be a file path")
    return spec_home.root / Path(path).expanduser()
