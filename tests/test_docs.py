"""The documentation against the code: the configuration reference lists every key the
code reads (with the gate's and the trace thresholds' defaults), every relative link in
README.md and docs/ resolves, the README stays a front page, and its Python snippet runs.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import os
import pkgutil
import re
import tomllib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import specdistill
from specdistill.gate.config import GateConfig
from specdistill.teacher.traces import TraceThresholds

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
CONFIGURATION = DOCS / "configuration.md"

SECTION = re.compile(r"^## `\[specdistill\.([a-z_.]+)\]`\s*$")
ROW = re.compile(r"^\| `([a-z_0-9]+)`[^|]* \| [^|]+ \| ([^|]+) \|")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def documented() -> dict[str, dict[str, str]]:
    """``{table: {key: default cell}}`` from the tables of docs/configuration.md."""
    tables: dict[str, dict[str, str]] = {}
    current: dict[str, str] | None = None
    for line in CONFIGURATION.read_text(encoding="utf-8").splitlines():
        if match := SECTION.match(line):
            current = tables.setdefault(match.group(1), {})
        elif line.startswith("## "):
            current = None
        elif current is not None and (match := ROW.match(line)):
            current[match.group(1)] = match.group(2).strip()
    return tables


def toml_literal(value: object) -> str:
    """How the reference writes a default: as TOML, in backticks."""
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, str):
        return f"`{json.dumps(value)}`"
    return f"`{value!r}`"


def test_the_reference_has_the_tables_the_code_reads() -> None:
    tables = documented()
    expected = {
        "student", "judge", "runner", "benchmark", "gate",
        "teacher", "teacher.scrub", "traces", "tier_overrides",
    }  # fmt: skip
    assert expected <= set(tables), sorted(expected - set(tables))
    assert all(tables[name] for name in expected), "a table section with no key rows"


def test_every_gate_config_field_is_documented_with_its_default() -> None:
    gate = documented()["gate"]
    fields = {f.name: f.default for f in dataclasses.fields(GateConfig)}
    assert set(fields) | {"seed"} == set(gate), "keys differ from GateConfig's fields + seed"
    for name, default in fields.items():
        if default is None:
            continue
        assert gate[name] == toml_literal(default), f"[specdistill.gate] {name}"


def test_every_trace_threshold_is_documented_with_its_default() -> None:
    traces = documented()["traces"]
    for field in dataclasses.fields(TraceThresholds):
        assert field.name in traces, f"[specdistill.traces] {field.name} is not documented"
        assert traces[field.name] == toml_literal(field.default), field.name


def settings_modules() -> Iterator[Any]:
    """Every ``*settings`` / ``*config`` module of the package (found, not listed, so a
    module that moves is still checked)."""
    for info in pkgutil.walk_packages(specdistill.__path__, "specdistill."):
        leaf = info.name.rsplit(".", 1)[-1]
        if leaf.endswith(("settings", "config")) or leaf == "tiers":
            yield importlib.import_module(info.name)


def test_every_known_key_set_is_documented() -> None:
    """A module-level ``*_KEYS`` set of known config keys (gate/settings.py's GATE_KEYS
    today; issue 11 adds more) lists nothing the reference leaves out."""
    all_keys = {key for table in documented().values() for key in table}
    sets = {
        f"{module.__name__}.{name}": value
        for module in settings_modules()
        for name, value in vars(module).items()
        if name.endswith("_KEYS") and isinstance(value, set | frozenset | tuple | list)
    }
    assert sets, "no known-key set found (GATE_KEYS expected at least)"
    for where, keys in sets.items():
        missing = sorted(str(k) for k in keys if k not in all_keys)
        assert not missing, f"{where}: not in docs/configuration.md: {missing}"


class Recording(dict[str, Any]):
    """A parsed TOML table that notes every key the code asks it for."""

    def __init__(self, data: dict[str, Any], path: tuple[str, ...], seen: set[tuple[str, str]]):
        super().__init__(
            {
                k: Recording(v, (*path, k), seen) if isinstance(v, dict) else v
                for k, v in data.items()
            }
        )
        self.path = path
        self.seen = seen

    def get(self, key: str, default: Any = None) -> Any:
        self.seen.add((".".join(self.path), key))
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.seen.add((".".join(self.path), key))
        return super().__getitem__(key)


SPY_CONFIG = """\
[agent.assistant]
class = "simple"

[specdistill.student]
kind = "openai"
base_url = "http://127.0.0.1:9/v1"
argv = ["python", "agent.py"]
function = "specdistill.example.agent:answer"

[specdistill.judge]
base_url = "http://127.0.0.1:9/v1"
model = "judge"

[specdistill.teacher]
base_url = "http://127.0.0.1:9/v1"
model = "teacher"

[specdistill.teacher.scrub]
disable = []

[specdistill.traces]
path = "traces.jsonl"

[specdistill.runner]
[specdistill.benchmark]
"""


def test_every_key_the_settings_readers_ask_for_is_documented(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Run each reader of config.toml on a spy and compare the keys it asked for, per
    table, with the reference. Keys asked for but absent count too (they are defaults)."""
    from specdistill.evaluation import (
        benchmark_path,
        judge_from_config,
        runner_settings,
        student_from_config,
    )
    from specdistill.evaluation.spec_view import SpecFiles
    from specdistill.home import SpecHome
    from specdistill.sessions.home_traces import traces_path
    from specdistill.teacher import share_policy, teacher_settings, trace_thresholds

    (tmp_path / "config.toml").write_text(SPY_CONFIG, encoding="utf-8")
    home = SpecHome(tmp_path)
    seen: set[tuple[str, str]] = set()
    real_load = tomllib.load
    monkeypatch.setattr(tomllib, "load", lambda fp, **kw: Recording(real_load(fp, **kw), (), seen))
    readers: list[Callable[[], object]] = [
        lambda: student_from_config(home, environ={}),
        *(
            lambda k=k: student_from_config(home, kind=k, environ={})
            for k in ("openai", "command", "python")
        ),
        lambda: judge_from_config(home, environ={}),
        lambda: runner_settings(home),
        lambda: benchmark_path(home),
        lambda: teacher_settings(home, environ={}),
        lambda: share_policy(home),
        lambda: trace_thresholds(home),
        lambda: traces_path(home),
        lambda: SpecFiles(home).resolve_agent(None),
    ]
    for read in readers:
        read()
    asked = {
        (table.removeprefix("specdistill."), key)
        for table, key in seen
        if table.startswith("specdistill.")
    }
    # An absent table reads as a plain {}: every table above is present, so none is missed.
    assert {t for t, _ in asked} >= {"student", "judge", "runner", "benchmark", "teacher"}
    assert len(asked) > 40, f"the spy saw too little: {sorted(asked)}"
    tables = documented()
    missing = sorted(f"[specdistill.{t}] {k}" for t, k in asked if k not in tables.get(t, {}))
    assert not missing, f"read by the code, not in docs/configuration.md: {missing}"
    read_tables = {key for table, key in seen if table == "specdistill"}
    assert read_tables <= set(tables), sorted(read_tables - set(tables))


def markdown_files() -> list[Path]:
    return [README, *sorted(DOCS.glob("*.md"))]


def outside_code_blocks(text: str) -> str:
    """The prose of a markdown page: links and headings inside code blocks are examples."""
    return re.sub(r"^```.*?^```", "", text, flags=re.S | re.M)


def anchors(doc: Path) -> set[str]:
    """The heading anchors of a page, as GitHub makes them (lower case, punctuation
    dropped, spaces to hyphens)."""
    found = set()
    for line in outside_code_blocks(doc.read_text(encoding="utf-8")).splitlines():
        if match := re.match(r"^#{1,6} (.+?)\s*$", line):
            slug = re.sub(r"[^\w\- ]", "", match.group(1).lower()).replace(" ", "-")
            found.add(slug)
    return found


@pytest.mark.parametrize("doc", markdown_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_points_to_an_existing_file_and_heading(doc: Path) -> None:
    broken = []
    for target in LINK.findall(outside_code_blocks(doc.read_text(encoding="utf-8"))):
        if re.match(r"[a-z][a-z0-9+.-]*:", target):
            continue  # a URL
        file_part, _, anchor = target.partition("#")
        path = (doc.parent / file_part).resolve() if file_part else doc
        if not path.exists() or (path.suffix == ".md" and anchor and anchor not in anchors(path)):
            broken.append(target)
    assert not broken, f"{doc.name}: broken links {broken}"


def test_the_readme_is_a_front_page_that_links_every_doc() -> None:
    data = README.read_bytes()
    assert len(data) < 8000, f"README.md is {len(data)} bytes; move detail to docs/"
    text = data.decode("utf-8")
    assert text.split("```bash\n", 1)[1].startswith(
        "./scripts/quickstart     # set up (first run only) and run the offline quickstart\n"
        "./scripts/test           # set up (first run only) and run lint + the whole test suite\n"
    ), "the README must open with the two commands"
    unlinked = [p.name for p in DOCS.glob("*.md") if f"(docs/{p.name})" not in text]
    assert not unlinked, f"docs not linked from the README: {unlinked}"


def test_the_readme_python_snippet_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    text = README.read_text(encoding="utf-8")
    snippets = re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)
    assert len(snippets) == 1, "expected one Python snippet in the README"
    monkeypatch.chdir(ROOT)  # the snippet reads examples/plan.json
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    monkeypatch.delenv("SPECDISTILL_HOME", raising=False)
    exec(compile(snippets[0], "README.md", "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    assert "applied" in printed and "pending_review" in printed, printed
    assert os.listdir(tmp_path), "the snippet should work in a temporary home"


def test_the_sizing_advice_is_what_the_gate_computes() -> None:
    """docs/gate.md's "Size the benchmark" table states gate.min_tasks() for the default
    config: change the gate's tests or defaults and this fails until the doc follows."""
    from specdistill.gate import min_tasks

    text = (DOCS / "gate.md").read_text(encoding="utf-8")
    section = text[text.index("## Size the benchmark for the claim") :]
    rows = re.findall(r"^\| ([^|]+) \| \*\*(\d+)\*\* ([^|]+) \|$", section, re.MULTILINE)
    figures = {claim.strip(): int(n) for claim, n, _ in rows}
    sizing = min_tasks()
    changed = int(re.search(r"changes (\d+) off-target clusters", section).group(1))  # type: ignore[union-attr]
    assert list(figures.values()) == [
        sizing.efficacy_wins,
        sizing.cluster_ties,
        sizing.pooled_ties,
        sizing.off_target_ties(changed),
    ], figures
    assert "`alpha = 0.05`" in section and "`eps = 0.10`" in section
