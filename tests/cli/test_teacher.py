"""``specdistill benchmark build --json``: one JSON document on stdout, the same facts as
the text output, checked against the benchmark file it wrote (real files, real CLI)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from typer.testing import CliRunner

from eval_helpers import write_jsonl
from specdistill.cli import app
from specdistill.evaluation import load_benchmark
from teacher_helpers import trace

LONG = "The answer depends on context. " * 8
TRACES = [
    trace("h1", "What is 2+2?", "4", 0.9, query_class="math", ended_at=100),
    trace("h2", "what is 2+2", "4.0", 1.0, query_class="math", ended_at=50),
    trace("h3", "Capital of France?", "Paris", 0.85, query_class="geo"),
    trace("h4", "Give the config as JSON", '{"a": 1}', 0.9, query_class="json"),
    trace("h5", "Explain the plan", LONG, 0.95, query_class="math"),  # free-form: skipped
    trace("l1", "What is 3+3?", "7", 0.3, query_class="math"),
]


def test_benchmark_build_json_matches_the_file_it_wrote(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    (home / "config.toml").write_text(
        "[specdistill.traces]\nmin_traces = 4\nmin_high_feedback = 3\n"
    )
    source = write_jsonl(tmp_path / "t.jsonl", TRACES)
    out = tmp_path / "b.jsonl"
    args = ["benchmark", "build", "--traces", str(source), "--out", str(out), "--home", str(home)]
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)  # the whole of stdout is one document
    written = load_benchmark(out)
    assert data["path"] == str(out) and data["version"] == written.version
    assert data["tasks"] == len(written) == 3
    assert data["clusters"] == dict(Counter(t.cluster for t in written.tasks))
    assert data["clusters"] == {"geo": 1, "json": 1, "math": 1}
    assert (data["high_feedback"], data["duplicates"]) == (5, 1)
    assert [(s["id"], s["kind"]) for s in data["skipped"]] == [("h5", "trace")]
    assert "judge" in data["skipped"][0]["reason"]
    assert data["teacher_cost_usd"] == 0.0 and data["notes"] == []
    # The text output says the same.
    text = CliRunner().invoke(app, args).stdout
    assert f"version {written.version}" in text and "wrote 3 tasks" in text
    assert "5 high-feedback traces; 1 duplicates merged; 1 skipped" in text
