"""The HTML form of a session report: one self-contained file, viewable offline.

No external asset, no script: the styles are inline and the two charts (benchmark
before/after per cluster, and each edit's delta on its target cluster) are inline
SVG. A Content-Security-Policy meta tag forbids scripts and remote loads, as a
second line of defence behind escaping: every text and attribute value, most of
them written by the teacher, goes through :func:`html.escape`.
"""

from __future__ import annotations

from html import escape

from specdistill.models import LearningSession
from specdistill.sessions.report_facts import (
    TIERS_REDERIVED,
    EditRow,
    SessionFacts,
    fmt_cluster_deltas,
    fmt_delta,
    fmt_duration,
    fmt_score,
    fmt_time,
    queue_id,
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


def delta_chart(rows: list[EditRow]) -> str:
    """Diverging bars around zero: each gated edit's delta on its target cluster."""
    measured = [r for r in rows if r.benchmark_delta is not None]
    if not measured:
        return "<p>No edit was measured by the gate.</p>"
    scale = max([0.05, *(abs(r.benchmark_delta or 0.0) for r in measured)])
    row_h, bar_h = 24, 16
    mid = LABEL_W + BAR_W / 2
    height = row_h * len(measured) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{CHART_W}" height="{height}" '
        f'role="img" aria-label="each gated edit\'s delta on its target cluster">'
    ]
    for i, r in enumerate(measured):
        delta = r.benchmark_delta or 0.0
        y = i * row_h + 4
        width = abs(delta) / scale * (BAR_W / 2)
        x = mid if delta >= 0 else mid - width
        kind = "bar-applied" if r.status == "applied" else "bar-rejected"
        parts.append(
            f'<text x="0" y="{y + bar_h - 3}"><title>{_e(r.edit_id)}</title>'
            f"{_e(_short(r.edit_id))}</text>"
            f'<rect class="{kind}" x="{x:.1f}" y="{y}" width="{width:.1f}" height="{bar_h}">'
            f"<title>{_e(r.edit_id)}: {fmt_delta(delta)} ({_e(r.status)})</title></rect>"
            f'<text x="{LABEL_W + BAR_W + 6}" y="{y + bar_h - 3}">{fmt_delta(delta)}</text>'
        )
    parts.append(f'<line class="axis" x1="{mid}" y1="0" x2="{mid}" y2="{height}"/>')
    parts.append("</svg>")
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
        "<tr><th>edit</th><th>op</th><th>tier</th><th>outcome</th><th>Δ target</th>"
        "<th>Δ per cluster</th><th>reason</th></tr>"
    )
    rows = "".join(
        f"<tr><td>{_e(r.edit_id)}</td><td>{_e(r.op)}</td><td>{_e(r.tier)}</td>"
        f'<td class="{_e(r.status)}">{_e(r.status)}</td>'
        f'<td class="num">{fmt_delta(r.benchmark_delta)}</td>'
        f"<td>{_e(fmt_cluster_deltas(r.cluster_deltas))}</td><td>{_e(r.error or '')}</td></tr>"
        for r in facts.edits
    )
    details = "".join(
        f"<details><summary>{_e(r.edit_id)}</summary>"
        + (f"<p>{_e(r.rationale)}</p>" if r.rationale else "")
        + (f"<pre>{_e(r.gate_report)}</pre>" if r.gate_report else "")
        + "</details>"
        for r in facts.edits
        if r.rationale or r.gate_report
    )
    return f"<table>{head}{rows}</table>{details}"


def _queue(facts: SessionFacts) -> str:
    if not facts.queue:
        return "<p>Nothing waits for review.</p>"
    items = "".join(
        f"<li><code>{_e(queue_id(facts.session.id, r.edit_id))}</code> "
        f"({_e(r.op)}, {_e(r.tier)} tier)</li>"
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
    facts_list = [
        ("status", status),
        ("trigger", _e(s.trigger.value)),
        ("mode", _e(s.autonomy_mode.value)),
        ("started", fmt_time(s.started_at)),
        ("ended", f"{fmt_time(s.ended_at)} (took {fmt_duration(facts.duration_seconds)})"),
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
        f"<body><h1>Session {_e(s.id)}</h1><dl>{dl}</dl>\n"
        f"{_teacher(s)}"
        f"<h2>Benchmark before and after, per cluster</h2>{_benchmark_table(facts)}"
        f"{cluster_chart(facts)}\n"
        f"<h2>Edits</h2>{delta_chart(facts.edits)}{_edits_table(facts)}\n"
        f"<h2>Review queue</h2>{_queue(facts)}\n"
        "</body></html>\n"
    )
