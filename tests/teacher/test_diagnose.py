"""Diagnose against a scripted loopback teacher and a real python student: clusters without
evidence are dropped with reasons, failure rates are measured by running the student, and
nothing but the scrubbed, bounded sample leaves the machine."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from eval_helpers import make_home
from specdistill.evaluation import PythonStudent, load_benchmark
from specdistill.evaluation.benchmark import Benchmark
from specdistill.teacher import (
    Diagnosis,
    NotReady,
    Scrubber,
    SharePolicy,
    TeacherConfigError,
    Trace,
    TraceThresholds,
    build_sample,
    diagnose,
    parse_traces_jsonl,
    sample_tasks,
    share_policy,
)
from teacher_helpers import (
    CAREFUL,
    STUDENT_CALLS,
    TeacherServer,
    arithmetic_student,
    failing_traces,
    make_client,
    teacher_server,
    trace,
    write_benchmark_file,
)


def as_traces(lines: list[dict[str, Any]]) -> list[Trace]:
    return parse_traces_jsonl("".join(json.dumps(line) + "\n" for line in lines))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return make_home(tmp_path / "home")


@pytest.fixture
def bench(tmp_path: Path) -> Benchmark:
    return load_benchmark(write_benchmark_file(tmp_path / "bench.jsonl"))


@pytest.fixture
def server() -> Any:
    with teacher_server() as running:
        yield running


def run_diagnose(
    server: TeacherServer,
    home: Path,
    bench: Benchmark,
    traces: list[Trace],
    policy: SharePolicy | None = None,
) -> Diagnosis:
    client = make_client(server)

    async def run() -> Diagnosis:
        try:
            return await diagnose(
                client,
                home=home,
                traces=traces,
                benchmark=bench,
                student=PythonStudent(arithmetic_student),
                policy=policy,
                tasks_per_cluster=10,
            )
        finally:
            await client.aclose()

    return asyncio.run(run())


def cluster(name: Any, ids: Any, **extra: Any) -> dict[str, Any]:
    return {"cluster": name, "description": f"about {name}", "sample_trace_ids": ids,
            "skill_gap": "multiplication", **extra}  # fmt: skip


# Sampling order: round-robin over query classes (capitals, math), worst-rated first:
# T1 = tr-3 (capitals), T2 = tr-1 (math, 0.0), T3 = tr-2 (math, 0.1). tr-4 is not failing.
REPLY = {
    "summary": "Products are off by one.",
    "clusters": [
        cluster("math", ["T2", "T3"]),
        cluster("capitals", ["T1"]),
        cluster("weather", ["T1"]),
        cluster("math", ["T99", "T2"]),
        cluster("math", []),
        cluster("math", ["T3"]),
        "not a cluster",
    ],
}


def test_clusters_without_evidence_are_dropped_and_rates_are_measured(
    server: TeacherServer, home: Path, bench: Benchmark
) -> None:
    server.add("diagnose", REPLY)
    STUDENT_CALLS.clear()
    result = run_diagnose(server, home, bench, as_traces(failing_traces()))
    [math_cluster] = result.clusters
    assert math_cluster.id == "math"
    assert math_cluster.sample_trace_ids == ["tr-1", "tr-2"]  # aliases mapped back
    assert math_cluster.student_failure_rate == 0.5  # m3, m4 wrong; m1, m2 right
    assert math_cluster.skill_gap == "multiplication"
    assert sorted(STUDENT_CALLS) == ["c1", "m1", "m2", "m3", "m4"]  # the student really ran
    reasons = {(d.id, d.reason) for d in result.dropped}
    assert reasons == {
        ("capitals", "no measured failures: the student passed all 1 sample tasks"),
        ("weather", "no benchmark tasks: 'weather' is not a benchmark cluster "
                    "(clusters: math, capitals)"),
        ("math", "cites trace ids that are not in the sample: T99"),
        ("math", "no evidence: cites no sample trace"),
        ("math", "duplicate: cluster 'math' was already diagnosed"),
        ("#6", "not a JSON object"),
    }  # fmt: skip
    assert result.summary == "Products are off by one."
    assert result.measurements["math"].scored == 4
    assert set(result.sample.aliases.values()) == {"tr-1", "tr-2", "tr-3"}


def test_the_rate_follows_the_spec_the_student_runs_on(
    server: TeacherServer, home: Path, bench: Benchmark
) -> None:
    """With a prompt that fixes products, the same cluster has no measured failures."""
    (home / "agents" / "alpha" / "system_prompt.md").write_text(f"You are alpha. {CAREFUL}.\n")
    server.add("diagnose", {"summary": "", "clusters": [cluster("math", ["T2"])]})
    result = run_diagnose(server, home, bench, as_traces(failing_traces()))
    assert result.clusters == []
    assert [d.reason for d in result.dropped] == [
        "no measured failures: the student passed all 4 sample tasks"
    ]


def test_no_failing_trace_means_no_teacher_call(
    server: TeacherServer, home: Path, bench: Benchmark
) -> None:
    good = as_traces([trace("a", "What is 2 + 2?", "4", 1.0)])
    with pytest.raises(NotReady, match="no failing traces to diagnose"):
        run_diagnose(server, home, bench, good)
    assert server.count == 0


# (kind, the secret as written in a trace, the part that must never be sent)
SECRETS = [
    ("email", "mail alice.smith@example.com now", "alice.smith@example.com"),
    ("openai-key", "key sk-proj-abcDEF1234567890abcdef", "abcDEF1234567890abcdef"),
    ("github-token", "ghp_abcdefghijklmnopqrstuvwxyz0123456789", "abcdefghijklmnopqrstuvwxyz0123"),
    ("aws-key", "AKIAIOSFODNN7EXAMPLE", "AKIAIOSFODNN7EXAMPLE"),
    ("slack", "xoxb-1234567890-abcdefghij", "1234567890-abcdefghij"),
    ("bearer", "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.cGF5bG9hZA.c2ln",
     "eyJhbGciOiJIUzI1NiJ9"),
    ("password", "my password=hunter2hunter2 ok", "hunter2hunter2"),
    ("card", "card 4111 1111 1111 1111 exp", "4111 1111 1111 1111"),
    ("phone", "call +1 415 555 0134", "415 555 0134"),
    ("iban-digits", "acct 000123456789012", "000123456789012"),
    ("hex-token", "token a3f9c2e1b4d5a6f7e8d9c0b1a2f3e4d5c6b7a8f9", "a3f9c2e1b4d5a6f7e8d9c0b1"),
]  # fmt: skip


def test_scrubber_table_never_reaches_the_server(
    server: TeacherServer, home: Path, bench: Benchmark
) -> None:
    (home / "agents" / "alpha" / "system_prompt.md").write_text(
        "You are alpha. Escalate to root@corp.example.org.\n"
    )
    lines = []
    for i, (kind, text, _) in enumerate(SECRETS):
        lines.append(
            trace(
                f"s{i}", f"What is 3 * {i}? {text}", f"answer {text}", 0.0, query_class="math",
                tool_calls=[{"name": "search", "arguments": {"q": text}, "result": text}],
                metadata={"kind": kind},
            )
        )  # fmt: skip
    policy = SharePolicy(
        share=frozenset({"query", "answer", "feedback", "tool_calls", "query_class"})
    )
    server.add("diagnose", {"summary": "", "clusters": []})
    result = run_diagnose(server, home, bench, as_traces(lines), policy)
    [raw] = server.raw
    sent = raw.decode("utf-8")
    text = "\n".join(m["content"] for m in server.bodies()[0]["messages"])
    for kind, _, secret in SECRETS:
        assert secret not in sent and secret not in text, kind
    assert "root@corp.example.org" not in text  # the spec is scrubbed too
    assert "[redacted:email]" in text and "[redacted:long_digits]" in text
    stored = json.dumps(result.as_json())  # what a session may keep on disk
    for kind, _, secret in SECRETS:
        assert secret not in stored, kind
    # one trace's query, answer, and tool call (its arguments and its result)
    assert result.sample.redactions["email"] == 4


@pytest.mark.parametrize(
    ("kind", "text", "secret"), SECRETS, ids=[s[0] for s in SECRETS]
)  # fmt: skip
def test_each_secret_is_scrubbed(kind: str, text: str, secret: str) -> None:
    assert secret not in Scrubber.build().scrub(text)


def test_only_shared_fields_and_aliases_leave(
    server: TeacherServer, home: Path, bench: Benchmark
) -> None:
    lines = [
        trace("tr-private-id-1", "What is 9 * 9?", "ANSWER-MARKER", 0.0, query_class="math",
              agent="alpha", metadata={"note": "METADATA-MARKER"}),
    ]  # fmt: skip
    server.add("diagnose", {"summary": "", "clusters": []})
    run_diagnose(server, home, bench, as_traces(lines), SharePolicy(share=frozenset({"query"})))
    sent = server.raw[0].decode()
    user = server.bodies()[0]["messages"][1]["content"]
    block = user.split("## Failing traces")[1].split("## The student's current spec")[0]
    [entry] = json.loads(block.partition("\n")[2])
    assert entry == {"id": "T1", "query": "What is 9 * 9?"}  # no answer, rating, class, agent
    for private in ("ANSWER-MARKER", "METADATA-MARKER", "tr-private-id-1"):
        assert private not in sent


def test_sample_caps_and_cut_after_scrub() -> None:
    key = "sk-proj-abcDEF1234567890abcdef"
    lines = [
        trace(f"t{i}", "x" * 40 + f" {key} " + "y" * 400, "a", 0.1 * (i % 4)) for i in range(8)
    ]
    policy = SharePolicy(max_traces=3, max_field_chars=50)
    sample = build_sample(as_traces(lines), policy, TraceThresholds())
    assert len(sample.entries) == 3 and sample.omitted == 5  # 8 failing, 3 sent
    assert [e["feedback"] for e in sample.entries] == [0.0, 0.0, 0.1]  # worst first
    for entry in sample.entries:
        assert entry["query"].endswith("…[truncated]") and len(entry["query"]) <= 50 + 12
        assert "sk-proj" not in entry["query"]  # scrubbed before it was cut
    small = SharePolicy(max_sample_chars=200)
    assert len(build_sample(as_traces(lines), small, TraceThresholds()).entries) == 1


def test_share_settings_from_config(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        "[specdistill.teacher]\nshare = ['query', 'tool_calls']\nmax_sample_traces = 5\n"
        "[specdistill.teacher.scrub]\ndisable = ['long_digits']\n"
        "patterns = { customer = 'CUST-[0-9]+' }\n"
    )
    policy = share_policy(tmp_path)
    assert policy.share == {"query", "tool_calls"} and policy.max_traces == 5
    assert policy.scrubber.scrub("CUST-42 at 4111 1111 1111 1111") == (
        "[redacted:customer] at 4111 1111 1111 1111"
    )
    (tmp_path / "config.toml").write_text("[specdistill.teacher]\nshare = ['answer']\n")
    with pytest.raises(TeacherConfigError, match="share must include 'query'"):
        share_policy(tmp_path)


def test_sample_tasks_are_stable_and_seeded(bench: Benchmark) -> None:
    first = [t.id for t in sample_tasks(bench, "math", 2, "s1")]
    assert first == [t.id for t in sample_tasks(bench, "math", 2, "s1")]
    assert len(first) == 2 and all(t.startswith("m") for t in first)
    seeds = {tuple(t.id for t in sample_tasks(bench, "math", 2, f"s{i}")) for i in range(10)}
    assert len(seeds) > 1
