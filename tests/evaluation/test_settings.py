"""Every ``[specdistill.*]`` table refuses a key it does not know, with a did-you-mean,
through the one helper all settings readers use (``evaluation/settings.config_section``);
a reader cannot ask for a key it did not declare."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from specdistill.errors import SpecdistillError
from specdistill.evaluation.settings import (
    RUNNER_KEYS,
    STUDENT_KEYS,
    Section,
    benchmark_path,
    judge_from_config,
    runner_settings,
    student_from_config,
)
from specdistill.gate.settings import gate_config_from
from specdistill.home import SpecHome, init_home
from specdistill.teacher.settings import share_policy, teacher_settings, trace_thresholds
from specdistill.tiers import parse_tier_overrides

Reader = Callable[[SpecHome], object]

# (table, a misspelt key, the key it should suggest, the reader that reads the table)
TYPOS: list[tuple[str, str, str, Reader]] = [
    ("student", "argvs", "argv", lambda h: student_from_config(h, environ={})),
    ("student", "fingerprint_scop", "fingerprint_scope", lambda h: student_from_config(h)),
    ("runner", "concurency", "concurrency", runner_settings),
    ("runner", "max_atempts", "max_attempts", runner_settings),
    ("judge", "modle", "model", lambda h: judge_from_config(h, environ={})),
    ("benchmark", "pth", "path", benchmark_path),
    ("gate", "alpah", "alpha", gate_config_from),
    ("teacher", "max_edit", "max_edits", lambda h: teacher_settings(h, environ={})),
    ("teacher.scrub", "pattern", "patterns", share_policy),
    ("traces", "min_trace", "min_traces", trace_thresholds),
]


def _home(tmp_path: Path, table: str, body: str) -> SpecHome:
    init_home(tmp_path)
    config = tmp_path / "config.toml"
    extra = ""
    if table == "teacher.scrub":
        extra = '[specdistill.teacher]\nbase_url = "http://127.0.0.1:9/v1"\nmodel = "t"\n'
    with config.open("a", encoding="utf-8") as handle:
        handle.write(f"\n{extra}[specdistill.{table}]\n{body}\n")
    return SpecHome(tmp_path)


@pytest.mark.parametrize(
    ("table", "typo", "suggestion", "read"), TYPOS, ids=[f"{t[0]}-{t[1]}" for t in TYPOS]
)
def test_a_misspelt_key_is_refused_with_a_did_you_mean(
    tmp_path: Path, table: str, typo: str, suggestion: str, read: Reader
) -> None:
    home = _home(tmp_path, table, f"{typo} = 1")
    with pytest.raises(SpecdistillError) as caught:
        read(home)
    message = caught.value.message
    assert f"[specdistill.{table}] has an unknown key {typo!r}" in message
    assert f"(did you mean {suggestion!r}?)" in message
    assert "\n" not in message


def test_a_key_of_another_table_is_named_unknown_with_the_known_ones(tmp_path: Path) -> None:
    """The issue's case: a ``model =`` line in [specdistill.student]."""
    home = _home(tmp_path, "student", 'kind = "command"\nargv = ["true"]\nmodel = "m"')
    with pytest.raises(SpecdistillError) as caught:
        student_from_config(home, environ={})
    assert "unknown key 'model'" in caught.value.message
    assert "known keys: " + ", ".join(sorted(STUDENT_KEYS)) in caught.value.message


def test_tier_overrides_suggest_the_op(tmp_path: Path) -> None:
    with pytest.raises(SpecdistillError) as caught:
        parse_tier_overrides({"set_model_parm": "auto"})
    assert "(did you mean 'set_model_param'?)" in caught.value.message


def test_known_keys_are_accepted_and_read(tmp_path: Path) -> None:
    home = _home(tmp_path, "runner", "concurrency = 3\nmax_attempts = 2")
    settings = runner_settings(home)
    assert settings.concurrency == 3 and settings.retry.max_attempts == 2


def test_a_reader_cannot_ask_for_an_undeclared_key() -> None:
    section = Section("runner", {"concurrency": 2}, RUNNER_KEYS)
    assert section.get("concurrency") == 2 and section.get("max_attempts", 3) == 3
    with pytest.raises(KeyError, match="'executorr' is read but not declared"):
        section.get("executorr")


def test_the_cli_refuses_a_typo_with_exit_2_and_one_line(tmp_path: Path) -> None:
    home = _home(tmp_path, "runner", "concurency = 4")
    (tmp_path / "benchmark.jsonl").write_text(
        '{"id": "t1", "input": "x", "cluster": "c", "reference": "y", "scorer": "exact"}\n'
    )
    result = subprocess.run(
        [sys.executable, "-m", "specdistill.cli", "bench", "run", "--home", str(home.root)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    first = next(line for line in result.stderr.splitlines() if line.strip())
    assert "unknown key 'concurency' (did you mean 'concurrency'?)" in first
