"""Session reports: ``report.md`` and a self-contained, well-formed ``report.html``.

Teacher text is hostile here: an edit id, a rationale, a reason and a cluster name
carry markup meant to run in the reader's browser or break the markdown table. It
must come out as inert text.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path

import pytest

from session_helpers import gated_home, prompt_edit, record_session
from specdistill import (
    BenchmarkSnapshot,
    Edit,
    EditOp,
    EditOutcome,
    LearningPlan,
    LearningSession,
    init_home,
)
from specdistill.models import SessionStatus
from specdistill.sessions.evidence import (
    ClusterEvidence,
    EditEvidence,
    EvidenceRecord,
    FlipEvidence,
    save_evidence,
)
from specdistill.sessions.report import write_reports
from specdistill.sessions.store import SessionStore

VOID = {"meta", "br", "hr", "img", "input", "link", "area", "base", "col", "source", "wbr"}
SCRIPT = "<script>alert('x')</script>"
HOSTILE_ID = 'e1"><img src=x onerror=alert(1)>|'
HOSTILE_RATIONALE = f"Helps. {SCRIPT} | also `code` [link](javascript:alert(1))"
HOSTILE_CLUSTER = "math<b>bold</b>"


class Collector(HTMLParser):
    """Parse a document, checking nesting; keep every tag, attribute and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.text: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, dict(attrs)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
        else:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(html: str) -> Collector:
    collector = Collector()
    collector.feed(html)
    collector.close()
    assert not collector.problems, collector.problems
    assert collector.stack == [], f"unclosed: {collector.stack}"
    return collector


def hostile_session(tmp_path: Path) -> tuple[SessionStore, LearningSession, LearningPlan]:
    init_home(tmp_path / "home")
    store = SessionStore(tmp_path / "home")
    edits = [
        Edit(
            id=HOSTILE_ID,
            pillar="agent",
            op=EditOp.REPLACE_SYSTEM_PROMPT,
            payload={"new_content": "x"},
            rationale=HOSTILE_RATIONALE,
            expected_improvement=HOSTILE_CLUSTER,
        ),
        prompt_edit("kept", "HELP\n"),
        prompt_edit("queued", "maybe\n", rationale=SCRIPT),
    ]
    snapshot = BenchmarkSnapshot(
        benchmark_version="sha256:" + "a" * 64,
        overall_score=0.4,
        cluster_scores={HOSTILE_CLUSTER: 0.2, "other": 0.6},
        task_count=40,
    )
    session = LearningSession(
        id="20260105-000000-eeeeee",
        status=SessionStatus.AWAITING_REVIEW,
        benchmark_before=snapshot,
        benchmark_after=snapshot.model_copy(
            update={"overall_score": 0.55, "cluster_scores": {HOSTILE_CLUSTER: 0.5, "other": 0.6}}
        ),
        edit_outcomes=[
            EditOutcome(
                edit_id=HOSTILE_ID,
                status="rejected_by_gate",
                benchmark_delta=-0.25,
                cluster_deltas={HOSTILE_CLUSTER: -0.25},
                error=f"worse {SCRIPT}",
                gate_report=f"REJECT {SCRIPT}\nline two",
            ),
            EditOutcome(edit_id="kept", status="applied", benchmark_delta=0.3),
            EditOutcome(edit_id="queued", status="pending_review"),
        ],
        git_checkpoint_pre="1" * 40,
        git_checkpoint_post="2" * 40,
        teacher_cost_usd=0.42,
    )
    session = session.model_copy(update={"ended_at": session.started_at + timedelta(seconds=75)})
    plan = LearningPlan(session_id=session.id, edits=edits)
    store.create(session, plan)
    save_evidence(store, session.id, hostile_evidence())
    return store, session, plan


def hostile_evidence() -> EvidenceRecord:
    """Evidence as a gated run records it: the rejected edit harmed 'other'."""

    def est(cluster: str, role: str, mean: float, low: float, high: float) -> ClusterEvidence:
        return ClusterEvidence(
            cluster=cluster, role=role, n=8, mean_delta=mean, ci_low=low, ci_high=high
        )

    return EvidenceRecord(
        edits=[
            EditEvidence(
                edit_id=HOSTILE_ID,
                diff=f"--- a/x\n+++ b/x\n@@ -1 +1 @@\n-old\n+{SCRIPT}\n",
                diff_source="gate",
                verdict="reject",
                sentences=[f"'other' got worse {SCRIPT}"],
                clusters=[
                    est(HOSTILE_CLUSTER, "target", 0.0, -0.2, 0.2),
                    est("other", "off_target", -0.5, -0.9, -0.1),
                    est("other", "pooled", -0.5, -0.9, -0.1),
                ],
                flips=[
                    FlipEvidence(
                        task_id="t1",
                        cluster="other",
                        question=f"Q {SCRIPT}",
                        before_score=1.0,
                        after_score=0.0,
                        before_answer="right",
                        after_answer=f"wrong {SCRIPT}",
                    )
                ],
            ),
            EditEvidence(
                edit_id="kept",
                diff="--- a/agents/a/system_prompt.md\n+++ b/agents/a/system_prompt.md\n"
                "@@ -1 +1 @@\n-old\n+HELP\n",
                diff_source="gate",
                verdict="accept",
                clusters=[est(HOSTILE_CLUSTER, "target", 0.3, 0.1, 0.5)],
            ),
            EditEvidence(edit_id="queued", diff="--- a/p\n+++ b/p\n@@ -1 +1 @@\n-a\n+maybe\n"),
        ]
    )


def test_html_report_is_well_formed_self_contained_and_escapes_the_teacher(
    tmp_path: Path,
) -> None:
    store, session, plan = hostile_session(tmp_path)
    html_path = write_reports(store, session, plan)[1]
    assert html_path.name == "report.html" and html_path.parent == store.session_dir(session.id)
    html = html_path.read_text()
    doc = parse(html)
    names = [tag for tag, _ in doc.tags]
    assert "script" not in names and "img" not in names and "b" not in names
    assert "link" not in names and "iframe" not in names
    for tag, attrs in doc.tags:
        assert "src" not in attrs and "href" not in attrs, (tag, attrs)
        assert not any(key.startswith("on") for key in attrs), (tag, attrs)
    csp = next(a for t, a in doc.tags if t == "meta" and a.get("http-equiv"))
    assert "default-src 'none'" in (csp["content"] or "")
    text = "".join(doc.text)
    # The hostile strings survive as the exact text a reader sees.
    for literal in (HOSTILE_ID, SCRIPT, HOSTILE_CLUSTER, f"worse {SCRIPT}"):
        assert literal in text
    assert "<script" not in html.lower()


def test_html_charts_draw_each_cluster_and_each_measured_edit(tmp_path: Path) -> None:
    store, session, plan = hostile_session(tmp_path)
    doc = parse(write_reports(store, session, plan)[1].read_text())
    rects = [a for t, a in doc.tags if t == "rect"]
    bars = {kind: [r for r in rects if r.get("class") == kind] for kind in ("before", "after")}
    # two clusters, one bar each, plus one legend swatch
    assert len(bars["before"]) == len(bars["after"]) == 3
    width = [float(r["width"] or 0) for r in bars["after"][:1] + bars["before"][:1]]
    assert width[0] > width[1]  # the first cluster improved 0.2 → 0.5
    # one chart per gated edit, a bar per cluster: the harm on 'other' is a red bar
    charts = [a for t, a in doc.tags if t == "svg" and a.get("class") == "estimates"]
    assert len(charts) == 2  # 'queued' was never measured
    groups = [a["data-cluster"] for t, a in doc.tags if t == "g" and "data-cluster" in a]
    assert groups == [HOSTILE_CLUSTER, "other", "other clusters (pooled)", HOSTILE_CLUSTER]
    kinds = [r["class"] for r in rects if r.get("class") in ("up", "down", "flat")]
    assert kinds == ["flat", "down", "down", "up"]
    assert [t for t, _ in doc.tags].count("svg") == 3


def test_markdown_report_has_the_facts_and_no_live_markup(tmp_path: Path) -> None:
    store, session, plan = hostile_session(tmp_path)
    md = write_reports(store, session, plan)[0].read_text()
    # Outside code fences (where markdown shows text verbatim) no markup is live.
    prose = re.sub(r"```(text|diff)\n.*?\n```", "", md, flags=re.S)
    assert "<script" not in prose and "<img" not in prose and "<b>" not in prose
    assert "&lt;script&gt;" in md
    for fact in (
        "**status:** awaiting_review",
        "**teacher cost:** $0.4200",
        "took 1m 15.0s",
        "1" * 40,
        "| other | 0.600 | 0.600 | +0.000 |",
        "| kept | replace_system_prompt | review | applied | +0.300 (n=8) | – |",
        "**1 kept, 1 rejected, 1 waiting for review, 0 skipped**; overall 0.400 → 0.550 (+0.150)",
        "| other | -0.500 \\[95%: -0.900, -0.100\\] over 8 tasks |",
        "```diff\n--- a/p\n+++ b/p\n@@ -1 +1 @@\n-a\n+maybe\n```",
        "20260105-000000-eeeeee:queued (replace_system_prompt, review tier)",
    ):
        assert fact in md
    # Every edit row keeps the table's 8 cell borders: a '|' from the teacher is escaped.
    rows = [line for line in md.splitlines() if line.startswith("| ") and "review |" in line]
    assert len(rows) == 3
    for row in rows:
        assert row.replace("\\|", "").count("|") == 8, row
    assert f"```text\nREJECT {SCRIPT}\nline two\n```" in md  # the gate report, verbatim


def test_reports_of_a_real_session_list_its_queue(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = gated_home(tmp_path / "home", monkeypatch)
    sid = "20260106-000000-ffffff"
    record_session(home, sid, [prompt_edit("later", "HELP\n")])
    directory = home / "learning/sessions" / sid
    md = (directory / "report.md").read_text()
    assert f"- {sid}:later (replace_system_prompt, review tier)" in md
    assert "| target | 0.000 | 0.000 | +0.000 |" in md  # measured before and after
    doc = parse((directory / "report.html").read_text())
    assert f"{sid}:later" in "".join(doc.text)
