"""The HTML form of a session report: one self-contained file, viewable offline.

It opens with a summary line (kept / rejected / waiting / skipped, the overall change
with its interval); then the benchmark before and after per cluster; then one section
per edit: the verdict in plain words, the gate's estimate on *every* cluster with its
interval (so harm shows), the unified diff of the edit, and a few tasks that flipped;
then the review queue, each edit with its diff.

No external asset, no script: the styles are inline and the charts are inline SVG. A
Content-Security-Policy meta tag forbids scripts and remote loads, as a second line of
defence behind escaping: every text and attribute value, most of them written by the
teacher, goes through :func:`html.escape`.
"""

from __future__ import annotations

from html import escape

from specdistill.diffpatch import diff_line_kind
from specdistill.models import LearningSession
from specdistill.sessions.report_facts import (
    GATE_OTHERS_LABEL,
    GATE_TARGET_LABEL,
    TIERS_REDERIVED,
    EditRow,
    SessionFacts,
    ended_text,
    fmt_delta,
    fmt_estimate,
    fmt_score,
    fmt_time,
    others_cell,
    queue_id,
    summarize,
    target_cell,
    teacher_lines,
)

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"

STYLE = """
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 980px;
       color: #1f2328; padding: 0 1rem; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0; }
th, td { border: 1px solid #d0d7de; padding: .25rem .5rem; text-align: left;
         vertical-align: top; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
dl { display: grid; grid-template-columns: max-content auto; gap: .15rem 1rem; }
dt { font-weight: 600; } dd { margin: 0; }
pre { background: #f6f8fa; padding: .5rem; overflow-x: auto; white-space: pre-wrap; }
code { background: #f6f8fa; padding: 0 .2rem; }
.applied { color: #1a7f37; } .rejected_by_gate, .rejected_by_user { color: #cf222e; }
.pending_review { color: #9a6700; } .skipped { color: #6e7781; }
.rolled_back { color: #8250df; }
svg text { font: 12px system-ui, sans-serif; fill: #1f2328; }
rect.before { fill: #afb8c1; } rect.after { fill: #0969da; }
rect.bar-applied { fill: #1a7f37; } rect.bar-rejected { fill: #cf222e; }
line.axis { stroke: #57606a; stroke-width: 1; }
line.ci { stroke: #24292f; stroke-width: 1.5; }
rect.up { fill: #1a7f37; } rect.down { fill: #cf222e; } rect.flat { fill: #afb8c1; }
p.summary { font-size: 1.1rem; padding: .5rem .75rem; background: #f6f8fa;
            border-left: 4px solid #0969da; }
section.edit { border-top: 1px solid #d0d7de; margin-top: 1.5rem; padding-top: .5rem; }
section.edit h3 { margin-bottom: .25rem; }
pre.diff { white-space: pre; padding: .5rem 0; }
pre.diff span { display: block; padding: 0 .5rem; }
pre.diff .add { background: #dafbe1; } pre.diff .del { background: #ffebe9; }
pre.diff .hunk { color: #0550ae; } pre.diff .file { font-weight: 600; }
.muted { color: #6e7781; }
table.flips td { max-width: 22rem; white-space: pre-wrap; }
"""

LABEL_W = 180
BAR_W = 380
VALUE_W = 70
CHART_W = LABEL_W + BAR_W + VALUE_W


def _e(value: object) -> str:
    """Escape for both text content and quoted attribute values."""
    return escape(str(value), quote=True)


def _short(value: str, limit: int = 28) -> str:
    return value if len(value) <= limit else value[: limit - 1] + "…"


def cluster_chart(facts: SessionFacts) -> str:
    """Grouped horizontal bars: each cluster's score before (grey) and after (blue)."""
    rows = facts.clusters
    if not rows:
        return "<p>Not measured.</p>"
    top = max([1.0, *(v for c in rows for v in (c.before, c.after) if v is not None)])
    row_h, bar_h = 40, 14
    height = row_h * len(rows) + 24
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_W}" height="{height}" '
        f'role="img" aria-label="benchmark score per cluster, before and after">'
    ]
    for i, c in enumerate(rows):
        y = i * row_h + 4
        parts.append(
            f'<text x="0" y="{y + bar_h + 4}"><title>{_e(c.cluster)}</title>'
            f"{_e(_short(c.cluster))}</text>"
        )
        for j, (kind, value) in enumerate((("before", c.before), ("after", c.after))):
            by = y + j * (bar_h + 2)
            width = 0.0 if value is None else max(0.0, value) / top * BAR_W
            parts.append(
                f'<rect class="{kind}" x="{LABEL_W}" y="{by}" width="{width:.1f}" '
                f'height="{bar_h}"><title>{kind}: {fmt_score(value)}</title></rect>'
            )
            parts.append(
                f'<text x="{LABEL_W + width + 4:.1f}" y="{by + bar_h - 3}">'
                f"{kind[0]} {fmt_score(value)}</text>"
            )
    legend_y = row_h * len(rows) + 16
    parts.append(
        f'<rect class="before" x="{LABEL_W}" y="{legend_y - 10}" width="12" height="12"/>'
        f'<text x="{LABEL_W + 16}" y="{legend_y}">before</text>'
        f'<rect class="after" x="{LABEL_W + 80}" y="{legend_y - 10}" width="12" height="12"/>'
        f'<text x="{LABEL_W + 96}" y="{legend_y}">after</text>'
    )
    parts.append("</svg>")
    return "".join(parts)


def estimates_chart(row: EditRow) -> str:
    """Diverging bars around zero, one per cluster (target first, then each other cluster
    and their pool): the gate's mean delta there, with its interval as a whisker."""
    rows = list(row.cluster_estimates)
    if row.others_estimate is not None:
        rows.append(row.others_estimate)
    if not rows:
        return ""
    bounds = [abs(v) for c in rows for v in (c.mean_delta, c.ci_low, c.ci_high) if v is not None]
    scale = min(1.0, max([0.05, *bounds]))
    row_h, bar_h = 24, 14
    mid = LABEL_W + BAR_W / 2
    height = row_h * len(rows) + 8
    parts = [
        f'<svg class="estimates" xmlns="http://www.w3.org/2000/svg" width="{CHART_W + 200}" '
        f'height="{height}" role="img" aria-label="the gate\'s delta on every cluster, '
        f'with its interval">'
    ]

    def x_of(value: float) -> float:
        return mid + max(-1.0, min(1.0, value / scale)) * (BAR_W / 2)

    for i, c in enumerate(rows):
        y = i * row_h + 4
        name = "other clusters (pooled)" if c.role == "pooled" else c.cluster
        label = f"{name} (target)" if c.role == "target" else name
        parts.append(f'<g class="cluster" data-cluster="{_e(name)}">')
        parts.append(
            f'<text x="0" y="{y + bar_h - 3}"><title>{_e(label)}</title>{_e(_short(label))}</text>'
        )
        value = c.mean_delta
        if c.affected and value is not None:
            left, right = sorted((mid, x_of(value)))
            kind = "up" if value > 0 else "down" if value < 0 else "flat"
            parts.append(
                f'<rect class="{kind}" x="{left:.1f}" y="{y}" width="{max(right - left, 1.0):.1f}" '
                f'height="{bar_h}"><title>{_e(label)}: {_e(fmt_estimate(c))}</title></rect>'
            )
            if c.ci_low is not None and c.ci_high is not None:
                cy = y + bar_h / 2
                parts.append(
                    f'<line class="ci" x1="{x_of(c.ci_low):.1f}" y1="{cy}" '
                    f'x2="{x_of(c.ci_high):.1f}" y2="{cy}"/>'
                )
        parts.append(
            f'<text x="{LABEL_W + BAR_W + 6}" y="{y + bar_h - 3}">{_e(fmt_estimate(c))}</text>'
        )
        parts.append("</g>")
    parts.append(f'<line class="axis" x1="{mid}" y1="0" x2="{mid}" y2="{height}"/>')
    parts.append("</svg>")
    return "".join(parts)


def diff_html(diff: str, truncated: bool = False) -> str:
    """A unified diff, one escaped line per span, coloured by kind."""
    if not diff:
        return '<p class="muted">No diff: the edit changes no spec file, or none was recorded.</p>'
    lines = []
    for line in diff.splitlines():
        lines.append(f'<span class="{diff_line_kind(line)}">{_e(line) or " "}</span>')
    cut = '<p class="muted">(diff cut: it was longer)</p>' if truncated else ""
    return f'<pre class="diff">{"".join(lines)}</pre>{cut}'


def _flips(row: EditRow) -> str:
    flips = row.evidence.flips if row.evidence else []
    if not flips:
        return ""
    head = "<tr><th>task</th><th>cluster</th><th>question</th><th>before</th><th>after</th></tr>"
    body = "".join(
        f"<tr><td>{_e(f.task_id)}</td><td>{_e(f.cluster)}</td><td>{_e(f.question)}</td>"
        f'<td>{_e(f.before_answer or "–")} <span class="muted">({fmt_score(f.before_score)})'
        f'</span></td><td>{_e(f.after_answer or "–")} <span class="muted">'
        f"({fmt_score(f.after_score)})</span></td></tr>"
        for f in flips
    )
    return f'<h4>Tasks that flipped (a sample)</h4><table class="flips">{head}{body}</table>'


def _edit_section(facts: SessionFacts, row: EditRow) -> str:
    ev = row.evidence
    parts = [
        '<section class="edit">',
        f'<h3>{_e(row.edit_id)}: <span class="{_e(row.status)}">'
        f"{_e(row.verdict_words)}</span></h3>",
        f"<p>{_e(row.op)}, {_e(row.tier)} tier; target cluster "
        f"<code>{_e(row.target_cluster or '–')}</code></p>",
    ]
    if row.rationale:
        parts.append(f"<p><em>Rationale:</em> {_e(row.rationale)}</p>")
    if row.review_words:
        parts.append(f'<p class="review"><strong>Review:</strong> {_e(row.review_words)}</p>')
    sentences = ev.sentences if ev and ev.sentences else []
    if sentences:
        parts.append(
            '<ul class="verdict">' + "".join(f"<li>{_e(x)}</li>" for x in sentences) + "</ul>"
        )
    elif row.error:
        parts.append(f"<p>Why: {_e(row.error)}</p>")
    chart = estimates_chart(row)
    if chart:
        parts.append(
            "<h4>The gate's delta on every cluster, with its confidence interval</h4>" + chart
        )
    if row.status == "pending_review":
        parts.append(
            f"<p>Waits for review as <code>{_e(queue_id(facts.session.id, row.edit_id))}</code>"
            " (diff below, against the spec it was queued on).</p>"
        )
    parts.append("<h4>Diff</h4>" + diff_html(row.diff, ev.diff_truncated if ev else False))
    parts.append(_flips(row))
    if row.gate_report:
        parts.append(
            f"<details><summary>gate report</summary><pre>{_e(row.gate_report)}</pre></details>"
        )
    parts.append("</section>")
    return "".join(parts)


def _benchmark_table(facts: SessionFacts) -> str:
    s = facts.session
    items = []
    for label, snap in (("before", s.benchmark_before), ("after", s.benchmark_after)):
        if snap is not None:
            items.append(
                f"<li>{label}: overall {snap.overall_score:.3f} over {snap.task_count} tasks "
                f"({snap.error_count} errors, {snap.elapsed_seconds:.1f}s; benchmark "
                f"<code>{_e(snap.benchmark_version[:19])}</code>)</li>"
            )
    rows = "".join(
        f'<tr><td>{_e(c.cluster)}</td><td class="num">{fmt_score(c.before)}</td>'
        f'<td class="num">{fmt_score(c.after)}</td><td class="num">{fmt_delta(c.delta)}</td></tr>'
        for c in facts.clusters
    )
    table = (
        f"<table><tr><th>cluster</th><th>before</th><th>after</th><th>Δ</th></tr>{rows}</table>"
        if rows
        else ""
    )
    return f"<ul>{''.join(items)}</ul>{table}"


def _edits_table(facts: SessionFacts) -> str:
    if not facts.edits:
        return "<p>No edits.</p>"
    head = (
        "<tr><th>edit</th><th>op</th><th>tier</th><th>outcome</th>"
        f"<th>{_e(GATE_TARGET_LABEL)}</th><th>{_e(GATE_OTHERS_LABEL)}</th><th>reason</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{_e(r.edit_id)}</td><td>{_e(r.op)}</td><td>{_e(r.tier)}</td>"
        f'<td class="{_e(r.status)}">{_e(r.status)}</td>'
        f'<td class="num">{_e(target_cell(r))}</td>'
        f'<td class="num">{_e(others_cell(r))}</td><td>{_e(r.short_reason)}</td></tr>'
        for r in facts.edits
    )
    sections = "".join(_edit_section(facts, r) for r in facts.edits)
    return f"<table>{head}{rows}</table>{sections}"


def _queue(facts: SessionFacts) -> str:
    if not facts.queue:
        return "<p>Nothing waits for review.</p>"
    items = "".join(
        f"<li><code>{_e(queue_id(facts.session.id, r.edit_id))}</code> "
        f"({_e(r.op)}, {_e(r.tier)} tier): {_e(r.rationale)}"
        f"{diff_html(r.diff, r.evidence.diff_truncated if r.evidence else False)}</li>"
        for r in facts.queue
    )
    return (
        f"<ul>{items}</ul><p>Inspect with <code>specdistill review show ID</code>, then "
        "<code>specdistill approve ID</code> (applied through the gate) or "
        "<code>specdistill reject ID --reason TEXT</code>.</p>"
    )


def _teacher(session: LearningSession) -> str:
    lines = teacher_lines(session)
    if not lines:
        return ""
    return "<h2>Teacher</h2><ul>" + "".join(f"<li>{_e(line)}</li>" for line in lines) + "</ul>\n"


def render_html(facts: SessionFacts) -> str:
    """The whole report as one HTML document (no scripts, no external resources)."""
    s = facts.session
    status = _e(s.status.value) + (f" — {_e(s.error)}" if s.error else "")
    summary = facts.summary or summarize(s)
    facts_list = [
        ("status", status),
        ("trigger", _e(s.trigger.value)),
        ("mode", _e(s.autonomy_mode.value)),
        ("started", fmt_time(s.started_at)),
        ("ended", _e(ended_text(s))),
        ("checkpoint before", f"<code>{_e(s.git_checkpoint_pre or '–')}</code>"),
        ("checkpoint after", f"<code>{_e(s.git_checkpoint_post or '–')}</code>"),
        ("teacher cost", f"${s.teacher_cost_usd:.4f}"),
    ]
    if s.parent_session_id:
        facts_list.append(("parent session", _e(s.parent_session_id)))
    if not facts.tiers_recorded:
        facts_list.append(("tiers", _e(TIERS_REDERIVED)))
    dl = "".join(f"<dt>{name}</dt><dd>{value}</dd>" for name, value in facts_list)
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>specdistill session {_e(s.id)}</title><style>{STYLE}</style></head>\n"
        f"<body><h1>Session {_e(s.id)}</h1>"
        f'<p class="summary"><strong>{_e(summary.counts_line())}</strong>; '
        f"{_e(summary.change_line())}</p>\n"
        + (f'<p class="muted">{_e(facts.evidence_note)}</p>' if facts.evidence_note else "")
        + f"<dl>{dl}</dl>\n"
        f"{_teacher(s)}"
        f"<h2>Benchmark before and after, per cluster</h2>{_benchmark_table(facts)}"
        f"{cluster_chart(facts)}\n"
        f"<h2>Edits</h2>{_edits_table(facts)}\n"
        f"<h2>Review queue</h2>{_queue(facts)}\n"
        "</body></html>\n"
    )
